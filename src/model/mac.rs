//! MAC addresses: parsing with precise errors, lowercase formatting, and the stable `auto` MAC
//! derived from a VM's uuid.

use std::fmt;
use std::str::FromStr;

use macaddr::MacAddr6;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// How a VM's MAC is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacPolicy {
    /// vmctl-managed: derived from the VM's uuid (and a salt bumped only on a collision), so the
    /// VM keeps one MAC and one DHCP lease across restarts.
    Auto,
    /// Set by the user with `--mac`.
    Static(MacAddr6),
}

impl MacPolicy {
    pub fn is_static(self) -> bool {
        matches!(self, MacPolicy::Static(_))
    }

    pub fn name(self) -> &'static str {
        match self {
            MacPolicy::Auto => "auto",
            MacPolicy::Static(_) => "static",
        }
    }
}

impl fmt::Display for MacPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacPolicy::Auto => f.write_str("auto"),
            MacPolicy::Static(mac) => write!(f, "{}", Mac(*mac)),
        }
    }
}

impl FromStr for MacPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s == "auto" {
            Ok(MacPolicy::Auto)
        } else {
            parse_static_mac(s).map(MacPolicy::Static)
        }
    }
}

impl Serialize for MacPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Lowercase, zero-padded, colon-separated display of a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub MacAddr6);

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0.as_bytes();
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Parse six hex octets separated by `:` or `-` (each one or two digits).
pub fn parse_mac(text: &str) -> Result<MacAddr6, Error> {
    let bad = |reason: &str| {
        Error::invalid("MAC address", text, reason)
            .with_hint("write six hex octets separated by colons, e.g. 52:54:00:12:34:56")
    };
    let sep = if text.contains('-') { '-' } else { ':' };
    let mut bytes = [0u8; 6];
    let mut count = 0;
    for part in text.split(sep) {
        if count == 6 {
            return Err(bad("more than six octets"));
        }
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(&format!("'{part}' is not a hex octet")));
        }
        bytes[count] = u8::from_str_radix(part, 16).map_err(|_| bad("not a hex octet"))?;
        count += 1;
    }
    if count != 6 {
        return Err(bad("fewer than six octets"));
    }
    Ok(MacAddr6::from(bytes))
}

/// Parse a MAC a user wants to give a VM: unicast and non-zero.
pub fn parse_static_mac(text: &str) -> Result<MacAddr6, Error> {
    let mac = parse_mac(text)?;
    if mac.is_nil() {
        return Err(
            Error::invalid("MAC address", text, "the all-zero MAC is not an address")
                .with_hint("use `--mac auto` to let vmctl pick one"),
        );
    }
    if mac.is_multicast() {
        return Err(Error::invalid(
            "MAC address",
            text,
            "it is a multicast address (the low bit of the first octet is set)",
        )
        .with_hint(format!(
            "clear that bit: {} would be unicast; or use `--mac auto`",
            Mac(clear_multicast(mac))
        )));
    }
    Ok(mac)
}

fn clear_multicast(mac: MacAddr6) -> MacAddr6 {
    let mut b = mac.into_array();
    b[0] &= !1;
    MacAddr6::from(b)
}

/// Parse `mac_prefix`: three octets, locally administered and unicast.
pub fn parse_mac_prefix(text: &str) -> Result<[u8; 3], Error> {
    let mac = parse_mac(&format!("{text}:00:00:00")).map_err(|_| {
        Error::invalid(
            "mac_prefix",
            text,
            "expected three hex octets like 0a:12:34",
        )
    })?;
    let b = mac.into_array();
    if b[0] & 1 != 0 || b[0] & 2 == 0 {
        return Err(Error::invalid(
            "mac_prefix",
            text,
            "vmctl-made MACs must be locally administered unicast (first octet like x2, x6, xa or xe)",
        )
        .with_hint("for example 0a:12:34"));
    }
    Ok([b[0], b[1], b[2]])
}

/// The `auto` MAC of a VM: a stable hash of its uuid and salt, locally administered unicast,
/// under `prefix` when one is configured.
pub fn auto_mac(uuid: &str, salt: u32, prefix: Option<[u8; 3]>) -> MacAddr6 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uuid.bytes().chain(salt.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser: spreads FNV's weak low bits over every output byte.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let r = h.to_le_bytes();
    let bytes = match prefix {
        Some(p) => [p[0], p[1], p[2], r[0], r[1], r[2]],
        None => [(r[0] & 0xfc) | 0x02, r[1], r[2], r[3], r[4], r[5]],
    };
    MacAddr6::from(bytes)
}

/// Serde for a MAC kept as lowercase text (`#[serde(with = "crate::model::mac::as_text")]`).
pub mod as_text {
    use macaddr::MacAddr6;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(mac: &MacAddr6, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::Mac(*mac))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MacAddr6, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_mac(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let mac = parse_mac("52:54:0:12:34:AB").unwrap();
        assert_eq!(Mac(mac).to_string(), "52:54:00:12:34:ab");
        assert_eq!(parse_mac("52-54-00-12-34-ab").unwrap(), mac);
    }

    #[test]
    fn refuses_malformed_multicast_and_zero() {
        for bad in [
            "",
            "52:54:00:12:34",
            "52:54:00:12:34:56:78",
            "52:54:00:12:34:zz",
            "525400123456",
        ] {
            assert!(parse_static_mac(bad).is_err(), "{bad}");
        }
        let err = parse_static_mac("01:00:5e:00:00:01").unwrap_err();
        assert!(err.to_string().contains("multicast"));
        assert!(err.hint().unwrap().contains("00:00:5e:00:00:01"));
        assert!(parse_static_mac("00:00:00:00:00:00").is_err());
    }

    #[test]
    fn auto_mac_is_stable_local_unicast() {
        let a = auto_mac("0b9f0e6a-5d1c-4e1b-9a33-3d0c3f1e2a10", 0, None);
        assert_eq!(a, auto_mac("0b9f0e6a-5d1c-4e1b-9a33-3d0c3f1e2a10", 0, None));
        assert!(a.is_local() && a.is_unicast());
        assert_ne!(a, auto_mac("0b9f0e6a-5d1c-4e1b-9a33-3d0c3f1e2a10", 1, None));
        let p = auto_mac("x", 0, Some([0x0a, 0x12, 0x34]));
        assert_eq!(&p.as_bytes()[..3], &[0x0a, 0x12, 0x34]);
    }

    #[test]
    fn mac_prefix_must_be_local_unicast() {
        assert_eq!(parse_mac_prefix("0a:12:34").unwrap(), [0x0a, 0x12, 0x34]);
        assert!(parse_mac_prefix("00:12:34").is_err());
        assert!(parse_mac_prefix("0b:12:34").is_err());
        assert!(parse_mac_prefix("0a:12").is_err());
    }
}
