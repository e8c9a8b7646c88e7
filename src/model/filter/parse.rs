//! Filter rules, parsing: rules-file text to `FilterRules`, with line-and-column errors.

use std::net::Ipv4Addr;
use std::str::FromStr;

use super::{
    Action, Addr, Direction, Endpoint, FilterParseError, FilterRule, FilterRules, PortRange, Proto,
    prefix_mask,
};

const END_OF_LINE: &str = "end of line";
const ADDRESS: &str = "an address ('any', 'local', IPv4 or IPv4/len)";
const PORT_SYNTAX: &str = "a port number or range (N or N-M)";
const PORT_VALUE: &str = "a port number between 1 and 65535";
const PORT_ORDER: &str = "a port range N-M with N <= M";
pub(super) const PREFIX_LEN: &str = "a prefix length between 0 and 32";
const ICMP_NOTE: &str = " (proto icmp takes no port)";

/// Parses a rules file.
///
/// # Errors
///
/// Returns the first syntax error, with its line, column, what was expected
/// and what was found. Never panics, whatever the input.
pub fn parse(text: &str) -> Result<FilterRules, FilterParseError> {
    let mut rules = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let mut parser = LineParser::new(raw, index + 1);
        if !parser.tokens.is_empty() {
            parser.parse_rule(&mut rules)?;
        }
    }
    Ok(FilterRules { rules })
}

impl FromStr for FilterRules {
    type Err = FilterParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

struct Token<'a> {
    text: &'a str,
    column: usize,
}

/// Joins alternatives as `'a', 'b' or c`.
fn one_of(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Whether `text` is a non-empty run of ASCII digits (`str::parse` would
/// also accept a leading `+`).
fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The last part of a rule's head that was parsed; a later part excludes the
/// keywords of earlier ones (`from`/`to` count as after `proto`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Action,
    Direction,
    Proto,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    From,
    To,
}

/// State of the rule being parsed, used to build "expected ..." messages.
struct RuleState {
    rule: FilterRule,
    stage: Stage,
    from_seen: bool,
    to_seen: bool,
    /// The side whose address was the last token (a `port` may follow).
    after_addr: Option<Side>,
}

impl RuleState {
    fn icmp(&self) -> bool {
        self.rule.proto == Some(Proto::Icmp)
    }

    fn port_allowed(&self) -> bool {
        self.after_addr.is_some() && !self.icmp()
    }

    /// What may come next, in the order it would be written.
    fn expected(&self) -> String {
        let mut items = Vec::new();
        if self.stage < Stage::Direction {
            items.extend(["'in'", "'out'", "'any'", "'local'"]);
        }
        if self.stage < Stage::Proto {
            items.push("'proto'");
        }
        if self.port_allowed() {
            items.push("'port'");
        }
        if !self.from_seen {
            items.push("'from'");
        }
        if !self.to_seen {
            items.push("'to'");
        }
        items.push(END_OF_LINE);
        one_of(&items)
    }

    /// The message for an unexpected token, with a hint for common mistakes.
    fn unexpected(&self, token: &str) -> String {
        let mut message = self.expected();
        match token {
            "from" if self.from_seen => message.push_str(" (only one 'from' is allowed)"),
            "to" if self.to_seen => message.push_str(" (only one 'to' is allowed)"),
            "port" if self.after_addr.is_some() && self.icmp() => message.push_str(ICMP_NOTE),
            _ => {}
        }
        message
    }
}

struct LineParser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    line: usize,
    /// Column just past the last token.
    eol_column: usize,
}

impl<'a> LineParser<'a> {
    fn new(raw: &'a str, line: usize) -> Self {
        let content = raw.split('#').next().unwrap_or_default();
        let mut tokens = Vec::new();
        let mut start: Option<(usize, usize)> = None;
        let mut column = 0;
        let mut eol_column = 1;
        for (byte, c) in content.char_indices() {
            column += 1;
            if c.is_ascii_whitespace() {
                if let Some((begin, col)) = start.take() {
                    tokens.push(Token {
                        text: &content[begin..byte],
                        column: col,
                    });
                }
            } else {
                eol_column = column + 1;
                if start.is_none() {
                    start = Some((byte, column));
                }
            }
        }
        if let Some((begin, col)) = start {
            tokens.push(Token {
                text: &content[begin..],
                column: col,
            });
        }
        LineParser {
            tokens,
            pos: 0,
            line,
            eol_column,
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.pos).map(|t| t.text)
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    /// An error at the current token (or at the end of the line).
    fn error(&self, expected: impl Into<String>) -> FilterParseError {
        let (column, found) = match self.tokens.get(self.pos) {
            Some(token) => (token.column, token.text.to_string()),
            None => (self.eol_column, END_OF_LINE.to_string()),
        };
        FilterParseError {
            line: self.line,
            column,
            expected: expected.into(),
            found,
        }
    }

    fn parse_rule(&mut self, out: &mut Vec<FilterRule>) -> Result<(), FilterParseError> {
        let action = match self.peek() {
            Some("block") => Action::Block,
            Some("pass") => Action::Pass,
            _ => return Err(self.error("'block' or 'pass'")),
        };
        self.bump();
        let rule = FilterRule {
            action,
            direction: Direction::Any,
            proto: None,
            from: Endpoint::ANY,
            to: Endpoint::ANY,
            line: self.line,
        };
        if self.peek() == Some("local") {
            self.bump();
            if self.peek().is_some() {
                return Err(self.error(END_OF_LINE));
            }
            let local = Endpoint {
                addr: Addr::Local,
                ports: None,
            };
            out.push(FilterRule {
                direction: Direction::Out,
                to: local,
                ..rule
            });
            out.push(FilterRule {
                direction: Direction::In,
                from: local,
                ..rule
            });
            return Ok(());
        }
        let mut state = RuleState {
            rule,
            stage: Stage::Action,
            from_seen: false,
            to_seen: false,
            after_addr: None,
        };
        while let Some(token) = self.peek() {
            self.parse_clause(token, &mut state)?;
        }
        out.push(state.rule);
        Ok(())
    }

    /// Parses one keyword (and its arguments) at the current position.
    fn parse_clause(&mut self, token: &str, state: &mut RuleState) -> Result<(), FilterParseError> {
        let direction = match token {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            "any" => Some(Direction::Any),
            _ => None,
        };
        match (token, direction) {
            (_, Some(direction)) if state.stage == Stage::Action => {
                self.bump();
                state.rule.direction = direction;
                state.stage = Stage::Direction;
            }
            ("proto", _) if state.stage < Stage::Proto => {
                self.bump();
                state.rule.proto = Some(self.parse_proto()?);
                state.stage = Stage::Proto;
            }
            ("port", _) if state.port_allowed() => {
                self.bump();
                let ports = Some(self.parse_ports()?);
                match state.after_addr.take() {
                    Some(Side::From) => state.rule.from.ports = ports,
                    Some(Side::To) => state.rule.to.ports = ports,
                    None => {}
                }
            }
            // ipf's `pass in all`: from any to any.
            ("all", _) if !state.from_seen && !state.to_seen => {
                self.bump();
                state.from_seen = true;
                state.to_seen = true;
                state.after_addr = None;
                state.stage = Stage::Proto;
            }
            ("from", _) if !state.from_seen => {
                self.bump();
                let (endpoint, addr_given) = self.parse_endpoint(state.icmp())?;
                state.rule.from = endpoint;
                state.from_seen = true;
                state.after_addr = addr_given.then_some(Side::From);
                state.stage = Stage::Proto;
            }
            ("to", _) if !state.to_seen => {
                self.bump();
                let (endpoint, addr_given) = self.parse_endpoint(state.icmp())?;
                state.rule.to = endpoint;
                state.to_seen = true;
                state.after_addr = addr_given.then_some(Side::To);
                state.stage = Stage::Proto;
            }
            _ => return Err(self.error(state.unexpected(token))),
        }
        Ok(())
    }

    fn parse_proto(&mut self) -> Result<Proto, FilterParseError> {
        let proto = match self.peek() {
            Some("tcp") => Proto::Tcp,
            Some("udp") => Proto::Udp,
            Some("icmp") => Proto::Icmp,
            _ => return Err(self.error("'tcp', 'udp' or 'icmp'")),
        };
        self.bump();
        Ok(proto)
    }

    /// Parses what follows `from`/`to`; also says whether an address was
    /// given (only then may a `port` clause follow).
    fn parse_endpoint(&mut self, icmp: bool) -> Result<(Endpoint, bool), FilterParseError> {
        match self.peek() {
            Some("port") if !icmp => {
                self.bump();
                let ports = Some(self.parse_ports()?);
                Ok((
                    Endpoint {
                        addr: Addr::Any,
                        ports,
                    },
                    false,
                ))
            }
            Some("port") => Err(self.error(format!("{ADDRESS}{ICMP_NOTE}"))),
            Some(token) => {
                let addr = self.parse_addr(token, icmp)?;
                self.bump();
                Ok((Endpoint { addr, ports: None }, true))
            }
            None => Err(self.error(Self::address_expected(icmp))),
        }
    }

    fn address_expected(icmp: bool) -> String {
        if icmp {
            ADDRESS.to_string()
        } else {
            format!("{ADDRESS} or 'port'")
        }
    }

    /// Validates an address token (the caller consumes it on success).
    fn parse_addr(&self, token: &str, icmp: bool) -> Result<Addr, FilterParseError> {
        match token {
            "any" | "all" => return Ok(Addr::Any),
            "local" => return Ok(Addr::Local),
            _ => {}
        }
        let (ip_text, prefix_text) = match token.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix)),
            None => (token, None),
        };
        let ip: Ipv4Addr = ip_text
            .parse()
            .map_err(|_| self.error(Self::address_expected(icmp)))?;
        let prefix = match prefix_text {
            None => 32,
            Some(text) => Some(text)
                .filter(|text| is_digits(text))
                .and_then(|text| text.parse::<u8>().ok())
                .filter(|&n| n <= 32)
                .ok_or_else(|| self.error(PREFIX_LEN))?,
        };
        let mask = prefix_mask(prefix);
        if u32::from(ip) & !mask != 0 {
            let network = Ipv4Addr::from(u32::from(ip) & mask);
            return Err(self.error(format!(
                "a network address without host bits (did you mean {network}/{prefix}?)"
            )));
        }
        Ok(Addr::Net { ip, prefix })
    }

    /// Parses and consumes `N` or `N-M`.
    fn parse_ports(&mut self) -> Result<PortRange, FilterParseError> {
        let Some(token) = self.peek() else {
            return Err(self.error(PORT_SYNTAX));
        };
        let (first, last) = token.split_once('-').unwrap_or((token, token));
        if !is_digits(first) || !is_digits(last) {
            return Err(self.error(PORT_SYNTAX));
        }
        // All digits, so parsing fails only on overflow.
        let port = |text: &str| text.parse::<u16>().ok().filter(|&p| p != 0);
        let (Some(first), Some(last)) = (port(first), port(last)) else {
            return Err(self.error(PORT_VALUE));
        };
        if first > last {
            return Err(self.error(PORT_ORDER));
        }
        self.bump();
        Ok(PortRange { first, last })
    }
}
