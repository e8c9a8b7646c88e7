//! A checker of the pf rules vmctl emits, written from pf.conf(5)'s grammar (the OpenBSD 4.x
//! pf that macOS carries) for the forms vmctl uses: `table`, `rdr` translation rules and
//! `pass`/`block` filter rules. It parses every line of an anchor, and checks what pfctl
//! checks on load for these forms: translation before filtering (pfctl: "Rules must be in
//! order"), tables defined in the anchor that uses them, ports 1-65535, ranges low:high,
//! prefixes 0-32, a redirection target for `rdr`. No Mac is needed to run it; `pfctl -nf` on
//! a Mac is the final word (README).
//!
//! ```text
//! table-rule  = "table" "<" name ">" { "const" | "persist" } [ "{" [ host { [","] host } ] "}" ]
//! trans-rule  = "rdr" [ "pass" ] [ "on" ifname ] [ "inet" ] [ protospec ] hosts
//!               "->" ipv4 [ "port" number [ ":" ( "*" | number ) ] ]
//! pf-rule     = ( "pass" | "block" [ "drop" | "return" ] ) [ "in" | "out" ] [ "quick" ]
//!               [ "on" ifname ] [ "inet" ] [ protospec ] hosts
//! protospec   = "proto" ( name | "{" name { [","] name } "}" )
//! hosts       = "all" | "from" target [ port ] "to" target [ port ]
//! target      = "any" | "self" | [ "!" ] ( ipv4 [ "/" bits ] | "<" name ">" | "(" ifname ")" )
//! port        = "port" ( number | number ":" number )
//! ```

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Check an anchor's text; the first problem, with its line.
pub fn check_anchor(text: &str) -> Result<(), String> {
    let mut tables = BTreeSet::new();
    let mut used = Vec::new();
    let mut filtering = false;
    for (number, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line}", number + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut p = Parser::new(line).map_err(at)?;
        match p.peek() {
            Some("table") => {
                tables.insert(p.table_rule().map_err(at)?);
            }
            Some("rdr") => {
                if filtering {
                    return Err(at(
                        "a translation rule after filtering (pfctl: Rules must be in order)".into(),
                    ));
                }
                p.trans_rule().map_err(at)?;
            }
            Some("pass" | "block") => {
                filtering = true;
                p.pf_rule().map_err(at)?;
            }
            other => return Err(at(format!("not a rule vmctl writes: {other:?}"))),
        }
        if let Some(extra) = p.peek() {
            return Err(at(format!("unexpected '{extra}'")));
        }
        used.extend(p.tables.into_iter().map(|t| (t, number + 1)));
    }
    match used.into_iter().find(|(t, _)| !tables.contains(t)) {
        Some((table, line)) => Err(format!(
            "line {line}: table <{table}> is not defined in this anchor"
        )),
        None => Ok(()),
    }
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
    /// The tables the line refers to.
    tables: Vec<String>,
}

impl Parser {
    /// pf's tokens: words, and `{ } ( ) , ! < > -> :` on their own.
    fn new(line: &str) -> Result<Parser, String> {
        let mut tokens = Vec::new();
        let mut word = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let single = match c {
                '-' if chars.peek() == Some(&'>') => {
                    chars.next();
                    Some("->".to_owned())
                }
                '{' | '}' | '(' | ')' | ',' | '!' | '<' | '>' | ':' => Some(c.to_string()),
                c if c.is_whitespace() => None,
                '"' | '\'' | '$' | '\\' => return Err(format!("'{c}' in a rule vmctl writes")),
                c => {
                    word.push(c);
                    continue;
                }
            };
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.extend(single);
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        Ok(Parser {
            tokens,
            at: 0,
            tables: Vec::new(),
        })
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("the line ends early")?;
        self.at += 1;
        Ok(token)
    }

    fn accept(&mut self, word: &str) -> bool {
        let found = self.peek() == Some(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, word: &str) -> Result<(), String> {
        match self.next()? {
            found if found == word => Ok(()),
            found => Err(format!("expected '{word}', found '{found}'")),
        }
    }

    fn table_rule(&mut self) -> Result<String, String> {
        self.expect("table")?;
        let name = self.table_name()?;
        while self.accept("const") || self.accept("persist") {}
        if self.accept("{") {
            while !self.accept("}") {
                self.accept(",");
                if self.peek() == Some("}") {
                    continue;
                }
                self.address()?;
            }
        }
        Ok(name)
    }

    fn trans_rule(&mut self) -> Result<(), String> {
        self.expect("rdr")?;
        self.accept("pass");
        self.interface_and_proto()?;
        self.hosts()?;
        self.expect("->")
            .map_err(|_| "rdr without a redirection target (-> address)".to_owned())?;
        ipv4(&self.next()?)?;
        if self.accept("port") {
            port_number(&self.next()?)?;
            if self.accept(":") {
                let end = self.next()?;
                if end != "*" {
                    port_number(&end)?;
                }
            }
        }
        Ok(())
    }

    fn pf_rule(&mut self) -> Result<(), String> {
        if self.accept("block") {
            let _ = self.accept("drop") || self.accept("return");
        } else {
            self.expect("pass")?;
        }
        let _ = self.accept("in") || self.accept("out");
        self.accept("quick");
        if matches!(self.peek(), Some("in" | "out")) {
            return Err("the direction comes before quick".into());
        }
        self.interface_and_proto()?;
        self.hosts()
    }

    /// `[ on IF ] [ inet ] [ proto ... ]`
    fn interface_and_proto(&mut self) -> Result<(), String> {
        if self.accept("on") {
            interface_name(&self.next()?)?;
        }
        self.accept("inet");
        if self.accept("proto") {
            if self.accept("{") {
                let mut any = false;
                while !self.accept("}") {
                    if !self.accept(",") {
                        protocol(&self.next()?)?;
                        any = true;
                    }
                }
                if !any {
                    return Err("an empty protocol list".into());
                }
            } else {
                protocol(&self.next()?)?;
            }
        }
        Ok(())
    }

    fn hosts(&mut self) -> Result<(), String> {
        if self.accept("all") {
            return Ok(());
        }
        self.expect("from")?;
        self.target()?;
        self.port()?;
        self.expect("to")?;
        self.target()?;
        self.port()
    }

    fn target(&mut self) -> Result<(), String> {
        if self.accept("any") || self.accept("self") {
            return Ok(());
        }
        self.accept("!");
        self.address()
    }

    /// An address, a `<table>` or a `(interface)` (its addresses, kept current).
    fn address(&mut self) -> Result<(), String> {
        match self.peek() {
            Some("<") => {
                let name = self.table_name()?;
                self.tables.push(name);
                Ok(())
            }
            Some("(") => {
                self.next()?;
                interface_name(&self.next()?)?;
                self.expect(")")
            }
            _ => cidr(&self.next()?),
        }
    }

    fn table_name(&mut self) -> Result<String, String> {
        self.expect("<")?;
        let name = self.next()?;
        if name.is_empty()
            || name.len() > 31
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("table name '{name}'"));
        }
        self.expect(">")?;
        Ok(name)
    }

    fn port(&mut self) -> Result<(), String> {
        if !self.accept("port") {
            return Ok(());
        }
        let first = port_number(&self.next()?)?;
        if self.accept(":") {
            let last = port_number(&self.next()?)?;
            if last < first {
                return Err(format!("port range {first}:{last} runs backwards"));
            }
        }
        Ok(())
    }
}

fn ipv4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not an IPv4 address"))
}

fn cidr(text: &str) -> Result<(), String> {
    let (address, bits) = text.split_once('/').unwrap_or((text, "32"));
    ipv4(address)?;
    match bits.parse::<u8>() {
        Ok(0..=32) => Ok(()),
        _ => Err(format!("'/{bits}' is not a prefix length")),
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("'{text}' is not a port (1-65535)")),
    }
}

fn protocol(text: &str) -> Result<(), String> {
    match text {
        "tcp" | "udp" | "icmp" => Ok(()),
        other => Err(format!("protocol '{other}'")),
    }
}

/// An interface name as pfctl takes it (`self` is every interface, in `(self)`).
fn interface_name(text: &str) -> Result<(), String> {
    if text == "self"
        || (!text.is_empty()
            && text.len() < 16
            && text.starts_with(|c: char| c.is_ascii_alphabetic())
            && text.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Ok(())
    } else {
        Err(format!("'{text}' is not an interface name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::parse;
    use crate::model::filter::testing::soup;
    use crate::plan::macos::pf::render_pf;

    /// Every anchor of the sample plan parses: its table, its `rdr` to the host's own
    /// addresses, its filter rules.
    #[test]
    fn the_plans_anchors_parse() {
        let plan = crate::plan::macos::plan(&crate::plan::tests::sample_input()).unwrap();
        assert!(!plan.anchors.is_empty());
        for anchor in &plan.anchors {
            check_anchor(&anchor.rules).unwrap_or_else(|e| panic!("{}: {e}", anchor.anchor));
        }
        let rdr: Vec<&str> = plan
            .anchors
            .iter()
            .flat_map(|a| a.rules.lines())
            .filter(|l| l.starts_with("rdr"))
            .collect();
        assert!(rdr.iter().all(|l| !l.contains(" to any ")), "{rdr:?}");
        assert!(
            rdr.iter().any(|l| l.contains(" to (self) port ")),
            "{rdr:?}"
        );
    }

    /// Every rule set the filter language can say renders to lines that parse, for a VM with
    /// an address and without, on an interface and not.
    #[test]
    fn every_rendered_filter_rule_parses() {
        let mut checked = 0;
        for rules in soup().filter_map(|text| parse(&text).ok()) {
            for (iface, vm) in [
                (None, Some(Ipv4Addr::new(192, 168, 64, 5))),
                (Some("bridge100"), None),
            ] {
                let mut anchor = String::from("table <vmctl_local> const { 10.0.0.0/8 }\n");
                for line in render_pf(&rules, iface, vm, "vmctl_local") {
                    anchor.push_str(&line);
                    anchor.push('\n');
                    checked += 1;
                }
                check_anchor(&anchor).unwrap_or_else(|e| panic!("{e}\n{anchor}"));
            }
        }
        assert!(checked > 100, "{checked} lines");
    }

    /// The checker has teeth: each of these is a mistake pfctl would refuse.
    #[test]
    fn it_refuses_what_pfctl_refuses() {
        let table = "table <t> const { 10.0.0.0/8, 192.168.64.0/24 }\n";
        for (bad, why) in [
            (
                "rdr pass inet proto tcp from any to any port 10000 -> 192.168.64.20:22",
                "unexpected ':'",
            ),
            (
                "rdr pass inet proto tcp from any to (self) port 10000",
                "redirection",
            ),
            ("block drop quick in all", "direction comes before quick"),
            ("pass in quick proto { tcp udp from any to any", "protocol"),
            (
                "block drop in quick from 192.168.64.20 to <nope>",
                "not defined",
            ),
            (
                "pass in quick all\nrdr pass inet proto tcp from any to (self) port 1 -> 10.0.0.2",
                "in order",
            ),
            ("block drop in quick from 300.1.1.1 to any", "not an IPv4"),
            (
                "block drop in quick proto tcp from any to any port 0",
                "not a port",
            ),
            (
                "block drop in quick proto tcp from any to any port 2000:1000",
                "backwards",
            ),
            ("block drop in quick from 10.0.0.0/33 to any", "prefix"),
            ("block drop in quick from any", "ends early"),
            ("pass in quick on bridge-100 all", "interface"),
            (
                "nat on en0 from any to any -> (en0)",
                "not a rule vmctl writes",
            ),
        ] {
            let err = check_anchor(&format!("{table}{bad}\n")).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        check_anchor(&format!(
            "{table}rdr pass on en0 inet proto udp from any to 127.0.0.1 port 10053 -> 192.168.64.20 port 53\n\
             pass out quick on bridge100 proto {{ tcp, udp }} from ! <t> port 1000:2000 to 192.168.64.20\n"
        ))
        .unwrap();
    }
}
