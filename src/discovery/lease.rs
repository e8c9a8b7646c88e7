//! Shared DHCP lease type, lease-file parse error, lenient MAC parsing, best-lease selection and pool usage.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use macaddr::MacAddr6;

/// Loads a test fixture; the only place that knows where `fixtures/` is relative to the sources.
#[cfg(test)]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../fixtures/", $name))
    };
}
#[cfg(test)]
pub(super) use fixture;

/// One DHCP lease as recorded by a DHCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    /// Ethernet address of the client; `None` when the server recorded something that is not a MAC.
    pub mac: Option<MacAddr6>,
    /// Raw client identifier as written by the server, if any.
    pub client_id: Option<String>,
    pub hostname: Option<String>,
    /// Unix seconds at which the lease ends; `None` = never expires.
    pub expiry: Option<u64>,
}

impl Lease {
    /// A lease is expired once `now` has reached its expiry time.
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        self.expiry.is_some_and(|expiry| expiry <= now)
    }
}

/// A lease as a parser yields it, borrowing its text from the line being read: a reader
/// keeps (and copies) only the leases it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRef<'t> {
    pub ip: Ipv4Addr,
    pub mac: Option<MacAddr6>,
    pub client_id: Option<&'t str>,
    pub hostname: Option<&'t str>,
    pub expiry: Option<u64>,
}

impl LeaseRef<'_> {
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        self.expiry.is_some_and(|expiry| expiry <= now)
    }

    #[must_use]
    pub fn to_lease(&self) -> Lease {
        Lease {
            ip: self.ip,
            mac: self.mac,
            client_id: self.client_id.map(str::to_owned),
            hostname: self.hostname.map(str::to_owned),
            expiry: self.expiry,
        }
    }
}

/// Error from a lease-file parser, naming the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(super) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses one octet written with one or two hex digits (`0`, `a`, `0a`, `FF`).
pub(super) fn parse_hex_octet(part: &[u8]) -> Option<u8> {
    match *part {
        [lo] => hex_digit(lo),
        [hi, lo] => Some((hex_digit(hi)? << 4) | hex_digit(lo)?),
        _ => None,
    }
}

/// Parses a MAC address whose octets may omit the leading zero (`8e:1:99:9c:54:b1`).
///
/// Octets are 1-2 hex digits, case-insensitive, separated consistently by `:` or `-`;
/// exactly six octets. No surrounding whitespace is accepted.
#[must_use]
pub fn parse_mac_lenient(s: &str) -> Option<MacAddr6> {
    let bytes = s.as_bytes();
    let sep = *bytes.iter().find(|b| !b.is_ascii_hexdigit())?;
    if sep != b':' && sep != b'-' {
        return None;
    }
    let mut octets = [0u8; 6];
    let mut count = 0;
    for part in bytes.split(|&b| b == sep) {
        *octets.get_mut(count)? = parse_hex_octet(part)?;
        count += 1;
    }
    (count == 6).then_some(MacAddr6::from(octets))
}

/// Ordering key: unexpired beats expired, then later expiry wins (`None` = infinite).
fn rank(expiry: Option<u64>, now: u64) -> (bool, u64) {
    match expiry {
        None => (true, u64::MAX),
        Some(expiry) => (expiry > now, expiry),
    }
}

/// The lease that best describes `mac` at `now`.
///
/// An unexpired lease beats an expired one; within the same class the latest expiry
/// wins, `None` counting as infinitely late. On a full tie the earlier lease in the
/// slice wins.
#[must_use]
pub fn best_lease(leases: &[Lease], mac: MacAddr6, now: u64) -> Option<&Lease> {
    let mut best: Option<&Lease> = None;
    for lease in leases.iter().filter(|lease| lease.mac == Some(mac)) {
        if best.is_none_or(|current| rank(lease.expiry, now) > rank(current.expiry, now)) {
            best = Some(lease);
        }
    }
    best
}

/// Best lease per MAC, built once (or as a file is read) so that many lookups cost O(1) each.
///
/// Selection follows [`best_lease`] exactly. It owns only the winning leases, so a large lease
/// file read through it costs memory per MAC, not per lease.
#[derive(Debug, Clone, Default)]
pub struct LeaseIndex {
    now: u64,
    by_mac: HashMap<MacAddr6, Lease>,
}

impl LeaseIndex {
    #[must_use]
    pub fn new(leases: &[Lease], now: u64) -> Self {
        let mut index = Self::empty(now);
        for lease in leases {
            index.offer(LeaseRef {
                ip: lease.ip,
                mac: lease.mac,
                client_id: lease.client_id.as_deref(),
                hostname: lease.hostname.as_deref(),
                expiry: lease.expiry,
            });
        }
        index
    }

    /// An index that ranks leases as of `now`.
    #[must_use]
    pub fn empty(now: u64) -> Self {
        Self {
            now,
            by_mac: HashMap::new(),
        }
    }

    /// Keep `lease` if it is the best one of its MAC so far (an earlier one wins a tie).
    pub fn offer(&mut self, lease: LeaseRef<'_>) {
        let Some(mac) = lease.mac else { return };
        match self.by_mac.entry(mac) {
            Entry::Vacant(slot) => {
                slot.insert(lease.to_lease());
            }
            Entry::Occupied(mut slot) => {
                if rank(lease.expiry, self.now) > rank(slot.get().expiry, self.now) {
                    slot.insert(lease.to_lease());
                }
            }
        }
    }

    #[must_use]
    pub fn get(&self, mac: MacAddr6) -> Option<&Lease> {
        self.by_mac.get(&mac)
    }

    /// Number of distinct MACs indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_mac.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_mac.is_empty()
    }
}

/// Occupancy of an address pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub used: u64,
    pub free: u64,
    pub size: u64,
}

/// Counts the distinct addresses in `[first, last]` held by an unexpired lease.
///
/// Leases without a MAC count too (the address is taken either way). An inverted
/// range (`first > last`) is an empty pool.
#[must_use]
pub fn pool_usage(first: Ipv4Addr, last: Ipv4Addr, leases: &[Lease], now: u64) -> PoolUsage {
    let (lo, hi) = (u32::from(first), u32::from(last));
    if lo > hi {
        return PoolUsage {
            used: 0,
            free: 0,
            size: 0,
        };
    }
    let size = u64::from(hi - lo) + 1;
    let used: HashSet<Ipv4Addr> = leases
        .iter()
        .filter(|lease| !lease.is_expired(now) && (lo..=hi).contains(&u32::from(lease.ip)))
        .map(|lease| lease.ip)
        .collect();
    let used = used.len() as u64;
    PoolUsage {
        used,
        free: size - used,
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(s: &str) -> MacAddr6 {
        parse_mac_lenient(s).unwrap()
    }

    fn lease(ip: [u8; 4], mac_str: Option<&str>, expiry: Option<u64>) -> Lease {
        Lease {
            ip: Ipv4Addr::from(ip),
            mac: mac_str.map(mac),
            client_id: None,
            hostname: None,
            expiry,
        }
    }

    #[test]
    fn lenient_mac_accepts_unpadded_and_mixed_case() {
        let want = MacAddr6::new(0x8e, 0x01, 0x99, 0x9c, 0x54, 0xb1);
        assert_eq!(parse_mac_lenient("8e:1:99:9c:54:b1"), Some(want));
        assert_eq!(parse_mac_lenient("8E:01:99:9C:54:B1"), Some(want));
        assert_eq!(parse_mac_lenient("8e-1-99-9c-54-b1"), Some(want));
        assert_eq!(
            parse_mac_lenient("0:0:0:0:0:0"),
            Some(MacAddr6::new(0, 0, 0, 0, 0, 0))
        );
    }

    #[test]
    fn lenient_mac_rejects_bad_input() {
        for bad in [
            "",
            "8e:1:99:9c:54",
            "8e:1:99:9c:54:b1:0",
            "8e:1:99:9c:54:",
            ":8e:1:99:9c:54",
            "8e:1:99:9c:54:b1x",
            "8e:001:99:9c:54:b1",
            "8e:1:99-9c:54:b1",
            "8e.1.99.9c.54.b1",
            "8e019 99c54b1",
            "8e0199c54b1",
            " 8e:1:99:9c:54:b1",
            "8e:+1:99:9c:54:b1",
            "g0:1:99:9c:54:b1",
            "é:1:2:3:4:5",
        ] {
            assert_eq!(parse_mac_lenient(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unexpired_beats_expired_even_with_earlier_expiry() {
        let leases = [
            lease([10, 0, 0, 1], Some("2:0:0:0:0:1"), Some(50)),
            lease([10, 0, 0, 2], Some("2:0:0:0:0:1"), Some(200)),
            lease([10, 0, 0, 3], Some("2:0:0:0:0:1"), Some(90)),
        ];
        let best = best_lease(&leases, mac("2:0:0:0:0:1"), 100).unwrap();
        assert_eq!(best.ip, Ipv4Addr::new(10, 0, 0, 2));
        // at now=40 all are unexpired: latest expiry still wins
        let best = best_lease(&leases, mac("2:0:0:0:0:1"), 40).unwrap();
        assert_eq!(best.ip, Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn among_expired_latest_expiry_wins() {
        let leases = [
            lease([10, 0, 0, 1], Some("2:0:0:0:0:1"), Some(80)),
            lease([10, 0, 0, 2], Some("2:0:0:0:0:1"), Some(20)),
        ];
        let best = best_lease(&leases, mac("2:0:0:0:0:1"), 100).unwrap();
        assert_eq!(best.ip, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn infinite_lease_counts_as_latest() {
        let leases = [
            lease([10, 0, 0, 1], Some("2:0:0:0:0:1"), Some(u64::MAX - 1)),
            lease([10, 0, 0, 2], Some("2:0:0:0:0:1"), None),
            lease([10, 0, 0, 3], Some("2:0:0:0:0:1"), Some(500)),
        ];
        let best = best_lease(&leases, mac("2:0:0:0:0:1"), 100).unwrap();
        assert_eq!(best.ip, Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn expiry_equal_to_now_is_expired() {
        let l = lease([10, 0, 0, 1], None, Some(100));
        assert!(l.is_expired(100));
        assert!(!l.is_expired(99));
        assert!(!lease([10, 0, 0, 1], None, None).is_expired(u64::MAX));
    }

    #[test]
    fn tie_keeps_first_and_unknown_mac_is_none() {
        let leases = [
            lease([10, 0, 0, 1], Some("2:0:0:0:0:1"), Some(200)),
            lease([10, 0, 0, 2], Some("2:0:0:0:0:1"), Some(200)),
            lease([10, 0, 0, 3], None, None),
        ];
        let m = mac("2:0:0:0:0:1");
        assert_eq!(
            best_lease(&leases, m, 100).unwrap().ip,
            Ipv4Addr::new(10, 0, 0, 1)
        );
        assert_eq!(best_lease(&leases, mac("2:0:0:0:0:2"), 100), None);
        let index = LeaseIndex::new(&leases, 100);
        assert_eq!(index.get(m).unwrap().ip, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn index_agrees_with_best_lease() {
        let macs = ["2:0:0:0:0:1", "2:0:0:0:0:2", "2:0:0:0:0:3"];
        let expiries = [Some(50), None, Some(150), Some(100), Some(20), Some(300)];
        let mut leases = Vec::new();
        for (i, expiry) in expiries.iter().enumerate() {
            for (j, m) in macs.iter().enumerate().take(i % 3 + 1) {
                let octet = u8::try_from(i * 3 + j).unwrap();
                leases.push(lease([10, 0, 1, octet], Some(m), *expiry));
            }
        }
        leases.push(lease([10, 0, 2, 1], None, None));
        for now in [0, 60, 100, 120, 1000] {
            let index = LeaseIndex::new(&leases, now);
            assert_eq!(index.len(), 3);
            for m in macs {
                assert_eq!(
                    index.get(mac(m)),
                    best_lease(&leases, mac(m), now),
                    "{m} at {now}"
                );
            }
            assert_eq!(index.get(mac("2:0:0:0:0:9")), None);
        }
        assert!(LeaseIndex::new(&[], 0).is_empty());
    }

    #[test]
    fn pool_usage_counts_distinct_unexpired_in_range() {
        let leases = [
            lease([192, 168, 64, 2], Some("2:0:0:0:0:1"), Some(200)),
            // same address twice: counted once
            lease([192, 168, 64, 2], Some("2:0:0:0:0:2"), None),
            // expired
            lease([192, 168, 64, 3], Some("2:0:0:0:0:3"), Some(100)),
            // no MAC still occupies the address
            lease([192, 168, 64, 4], None, None),
            // outside the pool
            lease([192, 168, 64, 1], Some("2:0:0:0:0:4"), None),
            lease([192, 168, 65, 2], Some("2:0:0:0:0:5"), None),
            // pool boundaries are inclusive
            lease([192, 168, 64, 254], Some("2:0:0:0:0:6"), None),
        ];
        let usage = pool_usage(
            Ipv4Addr::new(192, 168, 64, 2),
            Ipv4Addr::new(192, 168, 64, 254),
            &leases,
            100,
        );
        assert_eq!(
            usage,
            PoolUsage {
                used: 3,
                free: 250,
                size: 253
            }
        );
    }

    #[test]
    fn pool_usage_edge_ranges() {
        let full = pool_usage(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, &[], 0);
        assert_eq!(full.size, 1 << 32);
        assert_eq!(full.free, 1 << 32);
        let inverted = pool_usage(
            Ipv4Addr::new(10, 0, 0, 9),
            Ipv4Addr::new(10, 0, 0, 1),
            &[],
            0,
        );
        assert_eq!(
            inverted,
            PoolUsage {
                used: 0,
                free: 0,
                size: 0
            }
        );
        let single = [lease([10, 0, 0, 5], None, None)];
        let one = pool_usage(
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::new(10, 0, 0, 5),
            &single,
            0,
        );
        assert_eq!((one.used, one.free, one.size), (1, 0, 1));
    }

    #[test]
    fn parse_error_display() {
        let err = ParseError::new(12, "invalid ip_address \"x\"");
        assert_eq!(err.to_string(), "line 12: invalid ip_address \"x\"");
    }
}
