//! Filter rules, test fixtures shared by the language's tests and the renderers' tests in
//! `plan`: example rules files and a deterministic generator of rules and rule-like text.

use std::net::Ipv4Addr;

use super::{Action, Addr, Direction, Endpoint, FilterRule, PortRange, Proto, prefix_mask};

pub(crate) const ANKA_EXAMPLES: [&str; 11] = [
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

/// Every clause the renderers handle, in one small file.
pub(crate) const RENDER_RULES: &str = "\
block out to 1.1.1.1 port 53
block in proto tcp to port 22
pass out proto udp from port 68 to port 67
block any proto icmp from local
block out to 10.0.0.0/8 port 1000-2000
block local
";

/// Rules written with ipf's `all`, each with its twin written with `any`.
pub(crate) const IPF_ALL_TWINS: [(&str, &str); 6] = [
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
];

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

/// The never-panics inputs: 20,000 texts, half random bytes mostly from the rules' alphabet,
/// half runs of keywords and awkward values, the same every run.
pub(crate) fn soup() -> impl Iterator<Item = String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..20_000).map(move |case| {
        if case % 2 == 0 {
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
        }
    })
}

/// Deterministic xorshift64 generator for the property tests.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
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

    pub(super) fn rule(&mut self) -> FilterRule {
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
