//! VM network filter rules: owns the Anka-compatible rule language (a superset
//! of ipf's `block`/`pass` lines): its types, parser (`parse`) and canonical
//! printer (`print`). The plans render parsed rules: nftables statements in
//! `plan::linux::filter_nft`, pf rules in `plan::macos::pf`.
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

mod parse;
mod print;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::Ipv4Addr;

pub use parse::parse;

/// An ordered list of filter rules, as parsed from a rules file.
///
/// Only [`parse`] (or [`FromStr`](std::str::FromStr)) creates non-empty lists, so every rule in
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
#[must_use]
pub fn prefix_mask(prefix: u8) -> u32 {
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

    /// Whether the rule names a port (it then means TCP and UDP when it has
    /// no `proto`).
    #[must_use]
    pub fn has_ports(&self) -> bool {
        self.from.ports.is_some() || self.to.ports.is_some()
    }

    /// Whether the rule belongs in the chain for `chain` traffic. Rules with
    /// direction `Any` belong everywhere; asking for `Any` selects only them.
    #[must_use]
    pub fn applies_to(&self, chain: Direction) -> bool {
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
