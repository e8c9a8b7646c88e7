//! VM network filter rules: owns the Anka-compatible rule language (a superset
//! of ipf's `block`/`pass` lines), its parser and canonical printer, and the
//! renderers that turn parsed rules into nftables statements (Linux) and pf
//! rules (macOS).
//!
//! # Language
//!
//! One rule per line; `#` starts a comment that runs to the end of the line;
//! blank lines are ignored; tokens are separated by ASCII whitespace.
//!
//! ```text
//! rule     := (block|pass) [in|out|any] [proto tcp|udp|icmp] [from ENDPOINT] [to ENDPOINT]
//!           | (block|pass) [in|out|any] [proto tcp|udp|icmp] all
//!           | (block|pass) local
//! ENDPOINT := ADDR [port P] | port P
//! ADDR     := any | all | local | IPv4 | IPv4/len
//! P        := N | N-M                       (1..=65535, N <= M)
//! ```
//!
//! * `in` is traffic toward the VM, `out` traffic from the VM, `any` (or no
//!   direction) both. `from`/`to` are the packet's source and destination in
//!   either direction; they may appear in either order, each at most once.
//! * A port without `proto` means TCP and UDP; a port with `proto icmp` is an
//!   error. A rule without `proto` and without ports matches every protocol.
//! * `local` is the RFC 1918 ranges, 169.254.0.0/16, 100.64.0.0/10 and the
//!   VM's own network. The renderers refer to it by the name of a set/table
//!   that the caller defines.
//! * `all` is ipf's word for any address: `from all` is `from any`, and a bare `all` (as in
//!   ipf's `pass in all`) stands for `from any to any`. The printer writes `any`.
//! * `block local` / `pass local` is shorthand for the two rules
//!   `block out to local` and `block in from local` (expanded while parsing;
//!   both keep the line number).
//! * Rules are evaluated in order and the first matching rule wins; traffic
//!   that matches no rule is left to the caller's default policy.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An ordered list of filter rules, as parsed from a rules file.
///
/// Only [`parse`] (or [`FromStr`]) creates non-empty lists, so every rule in
/// it is valid (for example, no port together with `proto icmp`).
///
/// The derived `PartialEq` compares everything, including line numbers; use
/// [`FilterRules::same_rules`] to compare the rules alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterRules {
    rules: Vec<FilterRule>,
}

/// One filter rule. `line` is the 1-based line it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterRule {
    pub action: Action,
    pub direction: Direction,
    pub proto: Option<Proto>,
    pub from: Endpoint,
    pub to: Endpoint,
    pub line: usize,
}

/// What to do with a matching packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Block,
    Pass,
}

/// Which traffic a rule applies to, seen from the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Traffic toward the VM.
    In,
    /// Traffic from the VM.
    Out,
    /// Both directions.
    Any,
}

/// Transport protocol a rule is restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP for IPv4 (not `ICMPv6`).
    Icmp,
}

/// A packet source or destination: an address and optional ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub addr: Addr,
    /// `None` means any port (and, with no `proto`, any protocol).
    pub ports: Option<PortRange>,
}

/// An address match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addr {
    /// Any address (IPv4 or IPv6).
    Any,
    /// The local networks (see the module documentation).
    Local,
    /// An IPv4 network without host bits; a bare address has prefix 32.
    Net { ip: Ipv4Addr, prefix: u8 },
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

/// A syntax error in a rules file.
///
/// `line` and `column` are 1-based; `column` counts characters (a tab is one
/// column) and points at the offending token, or just past the last token
/// when the line ended too early (`found` is then `end of line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterParseError {
    pub line: usize,
    pub column: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for FilterParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}, found '{}'",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for FilterParseError {}

// ---------------------------------------------------------------------------
// Small helpers on the value types
// ---------------------------------------------------------------------------

impl Endpoint {
    /// Any address, any port.
    pub const ANY: Endpoint = Endpoint {
        addr: Addr::Any,
        ports: None,
    };

    /// Whether this endpoint matches everything (it is then not printed).
    #[must_use]
    pub fn is_any(&self) -> bool {
        *self == Self::ANY
    }
}

/// Network mask for a prefix length; lengths above 32 count as 32.
fn prefix_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

impl Addr {
    /// Whether this address match includes `ip`. `Local` is taken to include
    /// every VM address, because it includes the VM's own network.
    #[must_use]
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        match *self {
            Addr::Any | Addr::Local => true,
            Addr::Net { ip: net, prefix } => {
                let mask = prefix_mask(prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
        }
    }
}

impl FilterRule {
    /// Compares two rules, ignoring `line`.
    #[must_use]
    pub fn same_rule(&self, other: &FilterRule) -> bool {
        let FilterRule {
            action,
            direction,
            proto,
            from,
            to,
            line: _,
        } = *self;
        action == other.action
            && direction == other.direction
            && proto == other.proto
            && from == other.from
            && to == other.to
    }

    fn has_ports(&self) -> bool {
        self.from.ports.is_some() || self.to.ports.is_some()
    }

    /// Whether the rule belongs in the chain for `chain` traffic. Rules with
    /// direction `Any` belong everywhere; asking for `Any` selects only them.
    fn applies_to(&self, chain: Direction) -> bool {
        self.direction == Direction::Any || self.direction == chain
    }
}

impl FilterRules {
    /// The rules, in file order (with `local` shorthands expanded).
    #[must_use]
    pub fn rules(&self) -> &[FilterRule] {
        &self.rules
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Compares the rules of two lists, ignoring line numbers. This is the
    /// equality under which printing and re-parsing is exact.
    #[must_use]
    pub fn same_rules(&self, other: &FilterRules) -> bool {
        self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.same_rule(b))
    }
}

// ---------------------------------------------------------------------------
// Canonical printing
// ---------------------------------------------------------------------------

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Block => "block",
            Action::Pass => "pass",
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Any => "any",
        })
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        })
    }
}

/// `any`, `local`, `1.2.3.4` (prefix 32) or `10.0.0.0/8`.
impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Addr::Any => f.write_str("any"),
            Addr::Local => f.write_str("local"),
            Addr::Net { ip, prefix: 32 } => write!(f, "{ip}"),
            Addr::Net { ip, prefix } => write!(f, "{ip}/{prefix}"),
        }
    }
}

/// `N` or `N-M` (also the nftables form).
impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// `ADDR`, `ADDR port P`, or `port P` when the address is `any`.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.addr, self.ports) {
            (Addr::Any, Some(ports)) => write!(f, "port {ports}"),
            (addr, Some(ports)) => write!(f, "{addr} port {ports}"),
            (addr, None) => write!(f, "{addr}"),
        }
    }
}

/// Canonical form: the direction is always written, `proto` when set, and
/// `from`/`to` (in that order) unless they match everything.
impl fmt::Display for FilterRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action, self.direction)?;
        if let Some(proto) = self.proto {
            write!(f, " proto {proto}")?;
        }
        if !self.from.is_any() {
            write!(f, " from {}", self.from)?;
        }
        if !self.to.is_any() {
            write!(f, " to {}", self.to)?;
        }
        Ok(())
    }
}

/// Canonical text: one rule per line, each ending in a newline. Parsing it
/// gives the same rules (see [`FilterRules::same_rules`]).
impl fmt::Display for FilterRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rule in &self.rules {
            writeln!(f, "{rule}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

const END_OF_LINE: &str = "end of line";
const ADDRESS: &str = "an address ('any', 'local', IPv4 or IPv4/len)";
const PORT_SYNTAX: &str = "a port number or range (N or N-M)";
const PORT_VALUE: &str = "a port number between 1 and 65535";
const PORT_ORDER: &str = "a port range N-M with N <= M";
const PREFIX_LEN: &str = "a prefix length between 0 and 32";
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

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

impl FilterRules {
    /// Renders the rules of one nftables chain: `Direction::Out` is the chain
    /// for packets from the VM, `Direction::In` the chain for packets to it.
    /// Rules with direction `Any` go into both; passing `Direction::Any`
    /// returns only those.
    ///
    /// Each string is one statement for an `inet` table, in rule order, e.g.
    /// `ip daddr 1.1.1.1 meta l4proto { tcp, udp } th dport 53 drop`.
    /// `local` is rendered as `@local_set`, which must name a set of type
    /// `ipv4_addr` with the `interval` flag. Rules naming an address only
    /// match IPv4 (through `ip saddr`/`ip daddr`); rules without an address
    /// match IPv6 as well.
    ///
    /// Consecutive rules that differ only in one address (same action, protocol, ports and
    /// other address) become one rule with an anonymous set: a packet walks one lookup
    /// instead of one rule each, and since the merged rules share a verdict, the first match
    /// still decides. Overlapping networks are left as separate rules (nft would refuse them
    /// in one interval set).
    #[must_use]
    pub fn render_nft(&self, chain: Direction, local_set: &str) -> Vec<String> {
        let rules: Vec<&FilterRule> = self.rules.iter().filter(|r| r.applies_to(chain)).collect();
        let mut out = Vec::new();
        let mut at = 0;
        while at < rules.len() {
            let (taken, statement) = merge_from(&rules[at..], local_set);
            out.push(statement);
            at += taken;
        }
        out
    }

    /// Renders the rules as pf rules for the VM-facing interface `iface`, in
    /// order, all `quick` so the first match wins.
    ///
    /// From the host's view the VM's `out` traffic is pf `in on IFACE` and the
    /// VM's `in` traffic is pf `out on IFACE`; direction `Any` has no
    /// direction keyword. `local` is rendered as `<local_table>`.
    ///
    /// With `vm_ip`, the VM-side address of an `out` rule (its `from`) or an
    /// `in` rule (its `to`) is narrowed to `vm_ip`; a rule whose VM-side
    /// address cannot contain `vm_ip` is left out. `any` and `local` contain
    /// every VM address. Rules with direction `Any` are not narrowed.
    #[must_use]
    pub fn render_pf(
        &self,
        iface: Option<&str>,
        vm_ip: Option<Ipv4Addr>,
        local_table: &str,
    ) -> Vec<String> {
        // With the VM's address known, an any-direction rule becomes one rule per direction, so
        // that it narrows to this VM instead of hitting every VM on the interface.
        self.rules
            .iter()
            .flat_map(|rule| match (rule.direction, vm_ip) {
                (Direction::Any, Some(_)) => vec![
                    FilterRule {
                        direction: Direction::Out,
                        ..*rule
                    },
                    FilterRule {
                        direction: Direction::In,
                        ..*rule
                    },
                ],
                _ => vec![*rule],
            })
            .filter_map(|rule| rule.pf_rule(iface, vm_ip, local_table))
            .collect()
    }
}

/// The longest run at the start of `rules` that renders as one statement, and that statement.
fn merge_from(rules: &[&FilterRule], local_set: &str) -> (usize, String) {
    let first = rules[0];
    let net = |addr: Addr| matches!(addr, Addr::Net { .. });
    for to_varies in [true, false] {
        let varying = |r: &FilterRule| if to_varies { r.to.addr } else { r.from.addr };
        let alike = |r: &FilterRule| {
            let same_rest = if to_varies {
                r.from == first.from && r.to.ports == first.to.ports
            } else {
                r.to == first.to && r.from.ports == first.from.ports
            };
            r.action == first.action && r.proto == first.proto && same_rest && net(varying(r))
        };
        let mut run: Vec<Addr> = Vec::new();
        for rule in rules.iter().take_while(|r| alike(r)) {
            let addr = varying(rule);
            if run.iter().any(|other| overlaps(*other, addr)) {
                break;
            }
            run.push(addr);
        }
        if run.len() >= 2 {
            let set = format!(
                "{{ {} }}",
                run.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let statement = if to_varies {
                first.nft_statement_with(local_set, None, Some(set))
            } else {
                first.nft_statement_with(local_set, Some(set), None)
            };
            return (run.len(), statement);
        }
    }
    (1, first.nft_statement(local_set))
}

/// Do two networks share an address?
fn overlaps(one: Addr, other: Addr) -> bool {
    match (one, other) {
        (
            Addr::Net { ip, prefix },
            Addr::Net {
                ip: other_ip,
                prefix: other_prefix,
            },
        ) => {
            let mask = prefix_mask(prefix.min(other_prefix));
            u32::from(ip) & mask == u32::from(other_ip) & mask
        }
        _ => true,
    }
}

impl FilterRule {
    fn nft_statement(&self, local_set: &str) -> String {
        self.nft_statement_with(local_set, None, None)
    }

    /// The statement, with the source or destination address replaced (by a set).
    fn nft_statement_with(
        &self,
        local_set: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> String {
        let addr = |addr: Addr| match addr {
            Addr::Any => None,
            Addr::Local => Some(format!("@{local_set}")),
            net @ Addr::Net { .. } => Some(net.to_string()),
        };
        let mut parts = Vec::new();
        if let Some(addr) = from.or_else(|| addr(self.from.addr)) {
            parts.push(format!("ip saddr {addr}"));
        }
        if let Some(addr) = to.or_else(|| addr(self.to.addr)) {
            parts.push(format!("ip daddr {addr}"));
        }
        match self.proto {
            Some(proto) => parts.push(format!("meta l4proto {proto}")),
            None if self.has_ports() => parts.push("meta l4proto { tcp, udp }".to_string()),
            None => {}
        }
        if let Some(ports) = self.from.ports {
            parts.push(format!("th sport {ports}"));
        }
        if let Some(ports) = self.to.ports {
            parts.push(format!("th dport {ports}"));
        }
        parts.push(
            match self.action {
                Action::Block => "drop",
                Action::Pass => "accept",
            }
            .to_string(),
        );
        parts.join(" ")
    }

    fn pf_rule(
        &self,
        iface: Option<&str>,
        vm_ip: Option<Ipv4Addr>,
        local_table: &str,
    ) -> Option<String> {
        let narrow = |addr: Addr| match vm_ip {
            None => Some(addr),
            Some(ip) if addr.contains(ip) => Some(Addr::Net { ip, prefix: 32 }),
            Some(_) => None,
        };
        let (mut from, mut to) = (self.from, self.to);
        let mut parts = vec![match self.action {
            Action::Block => "block drop".to_string(),
            Action::Pass => "pass".to_string(),
        }];
        match self.direction {
            Direction::Out => {
                from.addr = narrow(from.addr)?;
                parts.push("in".to_string());
            }
            Direction::In => {
                to.addr = narrow(to.addr)?;
                parts.push("out".to_string());
            }
            Direction::Any => {}
        }
        parts.push(match iface {
            Some(iface) => format!("quick on {iface}"),
            None => "quick".to_string(),
        });
        match self.proto {
            Some(proto) => parts.push(format!("proto {proto}")),
            None if self.has_ports() => parts.push("proto { tcp udp }".to_string()),
            None => {}
        }
        if from.is_any() && to.is_any() {
            parts.push("all".to_string());
        } else {
            let endpoint = |endpoint: Endpoint| {
                let addr = match endpoint.addr {
                    Addr::Local => format!("<{local_table}>"),
                    other => other.to_string(),
                };
                match endpoint.ports {
                    Some(PortRange { first, last }) if first == last => {
                        format!("{addr} port {first}")
                    }
                    Some(PortRange { first, last }) => format!("{addr} port {first}:{last}"),
                    None => addr,
                }
            };
            parts.push(format!("from {} to {}", endpoint(from), endpoint(to)));
        }
        Some(parts.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // scratch files for `nft -c`, not state
mod tests {
    use super::*;

    fn net(text: &str) -> Addr {
        let (ip, prefix) = text.split_once('/').unwrap_or((text, "32"));
        Addr::Net {
            ip: ip.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
        }
    }

    fn ep(addr: Addr, ports: Option<(u16, u16)>) -> Endpoint {
        Endpoint {
            addr,
            ports: ports.map(|(first, last)| PortRange { first, last }),
        }
    }

    fn rule(action: Action, direction: Direction, from: Endpoint, to: Endpoint) -> FilterRule {
        FilterRule {
            action,
            direction,
            proto: None,
            from,
            to,
            line: 1,
        }
    }

    fn one(text: &str) -> FilterRule {
        let rules = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(rules.len(), 1, "{text:?}");
        rules.rules()[0]
    }

    fn err(text: &str) -> String {
        parse(text).expect_err(text).to_string()
    }

    const ANKA_EXAMPLES: [&str; 11] = [
        "block out to 1.1.1.1 from any",
        "block out to 1.1.1.1 port 53",
        "block in to port 22",
        "block out from port 68 to port 67",
        "block in from any port 67 to any port 68",
        "block any from port 67 to port 68",
        "block any",
        "block local",
        "pass in from 10.20.30.40",
        "pass out to 10.20.30.40",
        "block out to 169.254.169.254",
    ];

    #[test]
    fn ipf_all_means_any_address() {
        // Each line with `all` parses, prints and renders exactly as its `any` twin.
        for (with_all, with_any) in [
            ("pass out from all", "pass out from any"),
            ("block in from all to any", "block in from any to any"),
            (
                "block in from 10.0.0.0/8 to all port 22",
                "block in from 10.0.0.0/8 to any port 22",
            ),
            ("pass in all", "pass in from any to any"),
            (
                "block out proto udp all",
                "block out proto udp from any to any",
            ),
            ("block all", "block from any to any"),
        ] {
            let (a, b) = (parse(with_all).unwrap(), parse(with_any).unwrap());
            assert!(a.same_rules(&b), "{with_all:?}");
            assert_eq!(a.to_string(), b.to_string(), "{with_all:?}");
            for chain in [Direction::In, Direction::Out, Direction::Any] {
                assert_eq!(a.render_nft(chain, "local"), b.render_nft(chain, "local"));
            }
            let vm = Some(Ipv4Addr::new(192, 168, 64, 5));
            assert_eq!(
                a.render_pf(Some("bridge100"), vm, "local"),
                b.render_pf(Some("bridge100"), vm, "local")
            );
        }
        assert_eq!(one("pass out from all").from, Endpoint::ANY);
        assert_eq!(
            parse("block in all")
                .unwrap()
                .render_nft(Direction::In, "local"),
            vec!["drop".to_owned()]
        );
        // A bare `all` replaces both addresses, so neither may follow it.
        assert!(err("pass in all from 1.2.3.4").contains("line 1"));
        assert!(parse("pass in from any all").is_err());
        assert!(parse("pass all port 22").is_err());
    }

    #[test]
    fn anka_examples_parse_to_the_expected_rules() {
        use Action::{Block, Pass};
        use Direction::{Any, In, Out};
        let any = Endpoint::ANY;
        let port = |p| ep(Addr::Any, Some((p, p)));
        let expected: [&[FilterRule]; 11] = [
            &[rule(Block, Out, any, ep(net("1.1.1.1"), None))],
            &[rule(Block, Out, any, ep(net("1.1.1.1"), Some((53, 53))))],
            &[rule(Block, In, any, port(22))],
            &[rule(Block, Out, port(68), port(67))],
            &[rule(Block, In, port(67), port(68))],
            &[rule(Block, Any, port(67), port(68))],
            &[rule(Block, Any, any, any)],
            &[
                rule(Block, Out, any, ep(Addr::Local, None)),
                rule(Block, In, ep(Addr::Local, None), any),
            ],
            &[rule(Pass, In, ep(net("10.20.30.40"), None), any)],
            &[rule(Pass, Out, any, ep(net("10.20.30.40"), None))],
            &[rule(Block, Out, any, ep(net("169.254.169.254"), None))],
        ];
        for (text, want) in ANKA_EXAMPLES.iter().zip(expected) {
            let got = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(got.rules(), want, "{text:?}");
        }
        // All together in one file: line numbers, and the shorthand keeps its line.
        let all = parse(&ANKA_EXAMPLES.join("\n")).unwrap();
        assert_eq!(all.len(), 12);
        let lines: Vec<usize> = all.rules().iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11]);
    }

    #[test]
    fn details_of_the_grammar() {
        let r = one("pass out proto udp from 192.168.0.0/16 port 1000-2000 to local port 53");
        assert_eq!(r.action, Action::Pass);
        assert_eq!(r.direction, Direction::Out);
        assert_eq!(r.proto, Some(Proto::Udp));
        assert_eq!(r.from, ep(net("192.168.0.0/16"), Some((1000, 2000))));
        assert_eq!(r.to, ep(Addr::Local, Some((53, 53))));
        // Direction omitted means any; to before from; tabs, CRLF and comments.
        let r = one("\tblock\tto 10.0.0.0/8 from 0.0.0.0/0 # no\r");
        assert_eq!(r.direction, Direction::Any);
        assert_eq!(r.from.addr, net("0.0.0.0/0"));
        assert_eq!(r.to.addr, net("10.0.0.0/8"));
        assert_eq!(one("block").direction, Direction::Any);
        assert_eq!(
            one("block in proto icmp from local").proto,
            Some(Proto::Icmp)
        );
        assert_eq!(one("block to 1.2.3.4/32").to.addr, net("1.2.3.4"));
        assert_eq!(
            one("block to port 00080").to.ports,
            Some(PortRange {
                first: 80,
                last: 80
            })
        );
        let pass_local = parse("pass local").unwrap();
        assert_eq!(pass_local.len(), 2);
        assert!(pass_local.rules().iter().all(|r| r.action == Action::Pass));
        assert_eq!(parse("").unwrap(), FilterRules::default());
        assert!(parse("# only\n\n   \t\n#comments\n").unwrap().is_empty());
        let rules: FilterRules = "block in\n\npass out # x\n".parse().unwrap();
        assert_eq!(
            rules.rules().iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 3]
        );
    }

    #[test]
    fn error_messages() {
        let cases = [
            (
                "blok out",
                "line 1, column 1: expected 'block' or 'pass', found 'blok'",
            ),
            (
                "block out from",
                "line 1, column 15: expected an address ('any', 'local', IPv4 or IPv4/len) \
                 or 'port', found 'end of line'",
            ),
            (
                "block out from to 1.1.1.1",
                "line 1, column 16: expected an address ('any', 'local', IPv4 or IPv4/len) \
                 or 'port', found 'to'",
            ),
            (
                "block in to port 0",
                "line 1, column 18: expected a port number between 1 and 65535, found '0'",
            ),
            (
                "block in to port 70000",
                "line 1, column 18: expected a port number between 1 and 65535, found '70000'",
            ),
            (
                "block in to port 5-3",
                "line 1, column 18: expected a port range N-M with N <= M, found '5-3'",
            ),
            (
                "block in to port +5",
                "line 1, column 18: expected a port number or range (N or N-M), found '+5'",
            ),
            (
                "block in to port",
                "line 1, column 17: expected a port number or range (N or N-M), found 'end of line'",
            ),
            (
                "block in proto icmp to 1.1.1.1 port 22",
                "line 1, column 32: expected 'from' or end of line (proto icmp takes no port), \
                 found 'port'",
            ),
            (
                "block in proto icmp from port 22",
                "line 1, column 26: expected an address ('any', 'local', IPv4 or IPv4/len) \
                 (proto icmp takes no port), found 'port'",
            ),
            (
                "block from 1.1.1.1 from 2.2.2.2",
                "line 1, column 20: expected 'port', 'to' or end of line \
                 (only one 'from' is allowed), found 'from'",
            ),
            (
                "block to 1.2.3.4/33",
                "line 1, column 10: expected a prefix length between 0 and 32, found '1.2.3.4/33'",
            ),
            (
                "block to 10.0.0.1/8",
                "line 1, column 10: expected a network address without host bits \
                 (did you mean 10.0.0.0/8?), found '10.0.0.1/8'",
            ),
            (
                "block in to port 22 please",
                "line 1, column 21: expected 'from' or end of line, found 'please'",
            ),
            (
                "block local now",
                "line 1, column 13: expected end of line, found 'now'",
            ),
            (
                "block in proto sctp",
                "line 1, column 16: expected 'tcp', 'udp' or 'icmp', found 'sctp'",
            ),
            (
                "pass in in",
                "line 1, column 9: expected 'proto', 'from', 'to' or end of line, found 'in'",
            ),
            (
                "pass frm 1.1.1.1",
                "line 1, column 6: expected 'in', 'out', 'any', 'local', 'proto', 'from', 'to' \
                 or end of line, found 'frm'",
            ),
            (
                "# vm rules\nblock out to 1.1.1.1 # dns\n  block in from any prot tcp # typo",
                "line 3, column 21: expected 'port', 'to' or end of line, found 'prot'",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text:?}");
        }
        let e = parse("\n\nblock to 1.2.3.4/99").unwrap_err();
        assert_eq!(
            e,
            FilterParseError {
                line: 3,
                column: 10,
                expected: PREFIX_LEN.to_string(),
                found: "1.2.3.4/99".to_string(),
            }
        );
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn canonical_printing() {
        let rules = parse(&ANKA_EXAMPLES.join("\n")).unwrap();
        let expected = "\
block out to 1.1.1.1
block out to 1.1.1.1 port 53
block in to port 22
block out from port 68 to port 67
block in from port 67 to port 68
block any from port 67 to port 68
block any
block out to local
block in from local
pass in from 10.20.30.40
pass out to 10.20.30.40
block out to 169.254.169.254
";
        assert_eq!(rules.to_string(), expected);
        let r = one("pass proto tcp to 10.0.0.0/8 port 1-65535 from local port 7-7");
        assert_eq!(
            r.to_string(),
            "pass any proto tcp from local port 7 to 10.0.0.0/8 port 1-65535"
        );
    }

    /// Deterministic xorshift64 generator for the property tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }

        fn port(&mut self) -> u16 {
            let [a, b, ..] = self.next().to_le_bytes();
            match self.below(3) {
                0 => u16::from(a).max(1),
                1 => u16::from_le_bytes([a, b]).max(1),
                _ => *self.pick(&[1, 22, 53, 65535]),
            }
        }

        fn endpoint(&mut self, ports_allowed: bool) -> Endpoint {
            let addr = match self.below(4) {
                0 => Addr::Any,
                1 => Addr::Local,
                _ => {
                    let prefix = if self.below(2) == 0 {
                        32
                    } else {
                        u8::try_from(self.below(33)).unwrap()
                    };
                    let [a, b, c, d, ..] = self.next().to_le_bytes();
                    let bits = u32::from_le_bytes([a, b, c, d]) & prefix_mask(prefix);
                    Addr::Net {
                        ip: Ipv4Addr::from(bits),
                        prefix,
                    }
                }
            };
            let ports = (ports_allowed && self.below(2) == 0).then(|| {
                let (x, y) = (self.port(), self.port());
                if self.below(2) == 0 {
                    PortRange { first: x, last: x }
                } else {
                    PortRange {
                        first: x.min(y),
                        last: x.max(y),
                    }
                }
            });
            Endpoint { addr, ports }
        }

        fn rule(&mut self) -> FilterRule {
            let proto = *self.pick(&[None, Some(Proto::Tcp), Some(Proto::Udp), Some(Proto::Icmp)]);
            let ports_allowed = proto != Some(Proto::Icmp);
            FilterRule {
                action: *self.pick(&[Action::Block, Action::Pass]),
                direction: *self.pick(&[Direction::In, Direction::Out, Direction::Any]),
                proto,
                from: self.endpoint(ports_allowed),
                to: self.endpoint(ports_allowed),
                line: 0,
            }
        }
    }

    #[test]
    fn print_then_parse_is_exact() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let count = rng.below(8);
            let rules = FilterRules {
                rules: (0..count).map(|_| rng.rule()).collect(),
            };
            let text = rules.to_string();
            let again = parse(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
            assert!(rules.same_rules(&again), "{rules:?}\n{text}\n{again:?}");
            assert_eq!(again.to_string(), text);
        }
    }

    #[test]
    fn parser_never_panics() {
        const SOUP: &[&str] = &[
            "block",
            "pass",
            "in",
            "out",
            "any",
            "local",
            "proto",
            "tcp",
            "udp",
            "icmp",
            "from",
            "to",
            "port",
            "0",
            "1",
            "65535",
            "65536",
            "99999999999999999999999",
            "1-2",
            "5-3",
            "-",
            "-1",
            "1-",
            "1--2",
            "1.2.3.4",
            "1.2.3.4/99",
            "1.2.3.4/",
            "/8",
            "10.0.0.1/8",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "1.2.3",
            "::1",
            "#",
            "é",
            "💥",
            "\u{a0}",
            "\0",
            "+1",
            "4294967296",
            "1.2.3.4/4294967296",
        ];
        const SEPARATORS: &[&str] = &[" ", " ", " ", "\t", "\n", "\r\n", "", "#", "  "];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for case in 0..20_000 {
            let text = if case % 2 == 0 {
                let len = rng.below(64);
                let bytes: Vec<u8> = (0..len)
                    .map(|_| match rng.below(3) {
                        0 => rng.next().to_le_bytes()[0],
                        _ => *rng.pick(b"blockpasinoutyrfmp0123456789.-/# \t\n"),
                    })
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                // Mostly start with an action so that parsing gets deep.
                let mut text = String::from(*rng.pick(&["block ", "pass ", ""]));
                for _ in 0..rng.below(10) {
                    text.push_str(rng.pick::<&str>(SOUP));
                    text.push_str(rng.pick::<&str>(SEPARATORS));
                }
                text
            };
            match parse(&text) {
                Ok(rules) => {
                    parsed += 1;
                    let again = parse(&rules.to_string()).unwrap();
                    assert!(rules.same_rules(&again), "{text:?}");
                    for chain in [Direction::In, Direction::Out, Direction::Any] {
                        let _ = rules.render_nft(chain, "local_nets");
                    }
                    let _ = rules.render_pf(
                        Some("bridge100"),
                        Some(Ipv4Addr::new(10, 0, 0, 5)),
                        "local",
                    );
                    let _ = rules.render_pf(Some("bridge100"), None, "local");
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        // The soup must reach the deep parts of the grammar, not only fail early.
        assert!(parsed > 1000, "only {parsed} inputs parsed");
    }

    const RENDER_RULES: &str = "\
block out to 1.1.1.1 port 53
block in proto tcp to port 22
pass out proto udp from port 68 to port 67
block any proto icmp from local
block out to 10.0.0.0/8 port 1000-2000
block local
";

    #[test]
    fn nft_rendering() {
        let rules = parse(RENDER_RULES).unwrap();
        assert_eq!(
            rules.render_nft(Direction::Out, "local_nets"),
            [
                "ip daddr 1.1.1.1 meta l4proto { tcp, udp } th dport 53 drop",
                "meta l4proto udp th sport 68 th dport 67 accept",
                "ip saddr @local_nets meta l4proto icmp drop",
                "ip daddr 10.0.0.0/8 meta l4proto { tcp, udp } th dport 1000-2000 drop",
                "ip daddr @local_nets drop",
            ]
        );
        assert_eq!(
            rules.render_nft(Direction::In, "local_nets"),
            [
                "meta l4proto tcp th dport 22 drop",
                "ip saddr @local_nets meta l4proto icmp drop",
                "ip saddr @local_nets drop",
            ]
        );
        assert_eq!(
            rules.render_nft(Direction::Any, "local_nets"),
            ["ip saddr @local_nets meta l4proto icmp drop"]
        );
        assert_eq!(
            parse("pass any").unwrap().render_nft(Direction::In, "l"),
            ["accept"]
        );
    }

    #[test]
    fn nft_accepts_rendered_rules() {
        let Some(nft_check) = crate::test_support::nft_checker() else {
            return;
        };
        let extra = "\
block out proto tcp to 10.0.0.0/8 port 1000-2000
pass in proto udp from 192.168.1.0/24 port 5353
block any proto icmp to local
block in proto icmp
pass out proto tcp from local port 1-65535 to 0.0.0.0/0 port 443
block out from 100.64.0.0/10 to 172.16.0.0/12
pass any proto udp
pass out proto tcp from 192.168.64.5 port 22 to local port 1024-65535
pass local
block
";
        let text = format!("{}\n{RENDER_RULES}{extra}", ANKA_EXAMPLES.join("\n"));
        let rules = parse(&text).unwrap();
        let chain = |direction| {
            let statements = rules.render_nft(direction, "local_nets");
            format!("    {}\n", statements.join("\n    "))
        };
        let ruleset = format!(
            "table inet t {{\n  set local_nets {{ type ipv4_addr; flags interval; \
             elements = {{ 10.0.0.0/8, 169.254.0.0/16 }} }}\n\
             \x20 chain vm_out {{\n{}  }}\n  chain vm_in {{\n{}  }}\n}}\n",
            chain(Direction::Out),
            chain(Direction::In),
        );
        nft_check(&ruleset);
    }

    #[test]
    fn runs_of_alike_rules_become_one_set_lookup() {
        let rules = parse(
            "block out proto tcp to 10.1.0.0/16 port 80\n\
             block out proto tcp to 10.2.0.0/16 port 80\n\
             block out proto tcp to 10.1.2.0/24 port 80\n\
             block out proto tcp to 10.4.0.0/16 port 443\n\
             pass out from 10.9.0.1\n\
             pass out from 10.9.0.2\n\
             block\n",
        )
        .unwrap();
        assert_eq!(
            rules.render_nft(Direction::Out, "l"),
            [
                // The third overlaps the first: nft would refuse it in the set, so it stays.
                "ip daddr { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto tcp th dport 80 drop",
                "ip daddr 10.1.2.0/24 meta l4proto tcp th dport 80 drop",
                "ip daddr 10.4.0.0/16 meta l4proto tcp th dport 443 drop",
                "ip saddr { 10.9.0.1, 10.9.0.2 } accept",
                "drop",
            ]
        );
    }

    #[test]
    fn pf_rendering() {
        let rules = parse(RENDER_RULES).unwrap();
        let vm = Some(Ipv4Addr::new(192, 168, 64, 5));
        assert_eq!(
            rules.render_pf(Some("bridge100"), vm, "vmctl_local"),
            [
                "block drop in quick on bridge100 proto { tcp udp } from 192.168.64.5 to 1.1.1.1 port 53",
                "block drop out quick on bridge100 proto tcp from any to 192.168.64.5 port 22",
                "pass in quick on bridge100 proto udp from 192.168.64.5 port 68 to any port 67",
                "block drop in quick on bridge100 proto icmp from 192.168.64.5 to any",
                "block drop out quick on bridge100 proto icmp from <vmctl_local> to 192.168.64.5",
                "block drop in quick on bridge100 proto { tcp udp } from 192.168.64.5 to 10.0.0.0/8 port 1000:2000",
                "block drop in quick on bridge100 from 192.168.64.5 to <vmctl_local>",
                "block drop out quick on bridge100 from <vmctl_local> to 192.168.64.5",
            ]
        );
        assert_eq!(
            rules.render_pf(Some("bridge100"), None, "vmctl_local"),
            [
                "block drop in quick on bridge100 proto { tcp udp } from any to 1.1.1.1 port 53",
                "block drop out quick on bridge100 proto tcp from any to any port 22",
                "pass in quick on bridge100 proto udp from any port 68 to any port 67",
                "block drop quick on bridge100 proto icmp from <vmctl_local> to any",
                "block drop in quick on bridge100 proto { tcp udp } from any to 10.0.0.0/8 port 1000:2000",
                "block drop in quick on bridge100 from any to <vmctl_local>",
                "block drop out quick on bridge100 from <vmctl_local> to any",
            ]
        );
        // Narrowing: a VM-side address that excludes the VM drops the rule.
        let rules = parse(
            "block out from 10.0.0.0/8 to 1.1.1.1\n\
             pass out from 192.168.64.0/24 to 1.1.1.1\n\
             block in from 1.1.1.1 to 192.168.65.5\n\
             block any from 10.0.0.0/8\n\
             block any\n",
        )
        .unwrap();
        assert_eq!(
            rules.render_pf(Some("bridge100"), vm, "t"),
            [
                "pass in quick on bridge100 from 192.168.64.5 to 1.1.1.1",
                "block drop out quick on bridge100 from 10.0.0.0/8 to 192.168.64.5",
                "block drop in quick on bridge100 from 192.168.64.5 to any",
                "block drop out quick on bridge100 from any to 192.168.64.5",
            ]
        );
        assert_eq!(
            rules.render_pf(Some("bridge100"), None, "t"),
            [
                "block drop in quick on bridge100 from 10.0.0.0/8 to 1.1.1.1",
                "pass in quick on bridge100 from 192.168.64.0/24 to 1.1.1.1",
                "block drop out quick on bridge100 from 1.1.1.1 to 192.168.65.5",
                "block drop quick on bridge100 from 10.0.0.0/8 to any",
                "block drop quick on bridge100 all",
            ]
        );
    }

    #[test]
    fn addr_contains() {
        let vm = Ipv4Addr::new(192, 168, 64, 5);
        assert!(net("0.0.0.0/0").contains(vm));
        assert!(net("192.168.64.0/24").contains(vm));
        assert!(net("192.168.64.5").contains(vm));
        assert!(!net("192.168.64.6").contains(vm));
        assert!(!net("10.0.0.0/8").contains(vm));
        assert!(Addr::Local.contains(vm) && Addr::Any.contains(vm));
    }
}
