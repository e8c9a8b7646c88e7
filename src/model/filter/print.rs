//! Filter rules, canonical printing: the text `parse` reads back to the same rules.

use std::fmt;

use super::{Action, Addr, Direction, Endpoint, FilterRule, FilterRules, PortRange, Proto};

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
