//! Parser for macOS bootpd's lease database (`/var/db/dhcpd_leases`).

use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use super::lease::{Lease, LeaseRef, parse_hex_octet, parse_mac_lenient};
use crate::error::cut;

pub use super::lease::ParseError;

/// A lease block being read; borrows from the input until it is complete.
struct Block<'t> {
    start: usize,
    ip: Option<Ipv4Addr>,
    hw_address: Option<&'t str>,
    identifier: Option<&'t str>,
    name: Option<&'t str>,
    expiry: Option<u64>,
}

impl<'t> Block<'t> {
    fn new(start: usize) -> Self {
        Self {
            start,
            ip: None,
            hw_address: None,
            identifier: None,
            name: None,
            expiry: None,
        }
    }

    /// Applies one `key=value` line. Lines without `=` and keys with an empty value are ignored.
    fn apply(&mut self, line: &'t str, line_no: usize) -> Result<(), ParseError> {
        let Some((key, value)) = line.split_once('=') else {
            return Ok(());
        };
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        match key.trim() {
            "ip_address" => {
                let ip = value.parse().map_err(|_| {
                    ParseError::new(line_no, format!("invalid ip_address {:?}", cut(value)))
                })?;
                self.ip = Some(ip);
            }
            "lease" => {
                let expiry = parse_hex_u64(value).ok_or_else(|| {
                    ParseError::new(line_no, format!("invalid lease value {:?}", cut(value)))
                })?;
                self.expiry = Some(expiry);
            }
            "hw_address" => self.hw_address = Some(value),
            "identifier" => self.identifier = Some(value),
            "name" => self.name = Some(value),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<LeaseRef<'t>, ParseError> {
        let ip = self
            .ip
            .ok_or_else(|| ParseError::new(self.start, "lease block has no ip_address"))?;
        let mac = self.hw_address.and_then(ethernet_mac);
        // A hw_address that is not an Ethernet MAC is really the client's identifier.
        let client_id = self
            .identifier
            .or(self.hw_address.filter(|_| mac.is_none()));
        Ok(LeaseRef {
            ip,
            mac,
            client_id,
            hostname: self.name,
            expiry: self.expiry,
        })
    }
}

/// `1,8e:1:99:9c:54:b1` -> the MAC; any other hardware type or octet count -> `None`.
fn ethernet_mac(hw_address: &str) -> Option<MacAddr6> {
    let (hw_type, addr) = hw_address.split_once(',')?;
    if parse_hex_octet(hw_type.as_bytes())? != 1 {
        return None;
    }
    parse_mac_lenient(addr)
}

/// `0x597e1268` (prefix required, 1-16 hex digits).
fn parse_hex_u64(value: &str) -> Option<u64> {
    let digits = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Parses the whole lease database.
///
/// Errors name the 1-based line: for a block that is never closed or has no
/// `ip_address`, the line of its opening `{`; otherwise the offending line.
/// A lease without `lease=` never expires.
#[allow(clippy::missing_errors_doc)]
pub fn parse(text: &str) -> Result<Vec<Lease>, ParseError> {
    let mut leases = Vec::new();
    let mut parser = StreamParser::default();
    for (idx, line) in text.lines().enumerate() {
        parser.line(idx + 1, line, &mut |lease| leases.push(lease.to_lease()))?;
    }
    parser.end()?;
    Ok(leases)
}

/// The lease database read a line at a time, so a large file is never held whole: the lines
/// of the open block are kept until its `}`, then the lease is handed to the caller.
#[derive(Debug, Default)]
pub struct StreamParser {
    /// Line of the open block's `{`.
    open: Option<usize>,
    /// The open block's lines so far, each ending in `\n`.
    block: String,
}

impl StreamParser {
    /// Reads line `line_no` (1-based, without its line ending); a completed block goes to `visit`.
    #[allow(clippy::missing_errors_doc)]
    pub fn line(
        &mut self,
        line_no: usize,
        raw: &str,
        visit: &mut impl FnMut(LeaseRef<'_>),
    ) -> Result<(), ParseError> {
        let line = raw.trim();
        match (self.open, line) {
            (None, "") => {}
            (None, "{") => {
                self.open = Some(line_no);
                self.block.clear();
            }
            (None, "}") => {
                return Err(ParseError::new(line_no, "'}' without a matching '{'"));
            }
            (None, _) => {
                return Err(ParseError::new(
                    line_no,
                    "unexpected text outside a lease block",
                ));
            }
            (Some(start), "{") => {
                return Err(ParseError::new(
                    line_no,
                    format!(
                        "'{{' inside a lease block (block opened at line {start} is not closed)"
                    ),
                ));
            }
            (Some(start), "}") => {
                self.open = None;
                let mut block = Block::new(start);
                for (offset, line) in self.block.lines().enumerate() {
                    block.apply(line, start + 1 + offset)?;
                }
                visit(block.finish()?);
            }
            (Some(_), _) => {
                self.block.push_str(line);
                self.block.push('\n');
            }
        }
        Ok(())
    }

    /// Checks that the input did not stop inside a block.
    #[allow(clippy::missing_errors_doc)]
    pub fn end(&self) -> Result<(), ParseError> {
        match self.open {
            Some(start) => Err(ParseError::new(
                start,
                "lease block not closed before end of file",
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lease::{LeaseIndex, best_lease, fixture};
    use super::*;

    const NOW: u64 = 0x6800_0000;

    fn mac(s: &str) -> MacAddr6 {
        parse_mac_lenient(s).unwrap()
    }

    fn fixture_leases() -> Vec<Lease> {
        parse(fixture!("dhcpd_leases")).unwrap()
    }

    #[test]
    fn parses_normal_lease() {
        let leases = fixture_leases();
        assert_eq!(leases.len(), 7);
        assert_eq!(
            leases[0],
            Lease {
                ip: Ipv4Addr::new(192, 168, 64, 2),
                mac: Some(MacAddr6::new(0x8e, 0x01, 0x99, 0x9c, 0x54, 0xb1)),
                client_id: Some("1,8e:1:99:9c:54:b1".to_owned()),
                hostname: Some("builder-1".to_owned()),
                expiry: Some(0x6a00_0000),
            }
        );
    }

    #[test]
    fn empty_name_is_ignored_and_mac_case_insensitive() {
        let leases = fixture_leases();
        assert_eq!(leases[1].hostname, None);
        assert_eq!(
            leases[1].mac,
            Some(MacAddr6::new(0xa2, 0x0b, 0x0c, 0x0d, 0xe0, 0x0f))
        );
    }

    #[test]
    fn key_without_equals_and_unknown_keys_are_ignored() {
        let lease = &fixture_leases()[2];
        assert_eq!(lease.hostname.as_deref(), Some("runner"));
        assert_eq!(lease.ip, Ipv4Addr::new(192, 168, 64, 4));
        assert_eq!(lease.mac, Some(mac("2:42:ac:11:0:2")));
        assert_eq!(lease.client_id, None);
        assert_eq!(lease.expiry, Some(0x6a00_0200));
    }

    #[test]
    fn non_mac_client_id_keeps_lease_without_mac() {
        let lease = &fixture_leases()[3];
        assert_eq!(lease.mac, None);
        assert_eq!(
            lease.client_id.as_deref(),
            Some("ff,f1:f5:dd:7f:0:2:0:0:ab:11:5c:3b:8a:2e:1f:4d:90:61")
        );
        assert_eq!(lease.hostname.as_deref(), Some("debian-cloud"));
    }

    #[test]
    fn non_mac_hw_address_without_identifier_becomes_client_id() {
        for hw in [
            "ff,1:2:3:4:5:6",
            "1,1:2:3:4:5",
            "1,1:2:3:4:5:6:7",
            "6,1:2:3:4:5:6",
            "junk",
        ] {
            let text = format!("{{\n\tip_address=10.0.0.1\n\thw_address={hw}\n}}\n");
            let leases = parse(&text).unwrap();
            assert_eq!(leases[0].mac, None, "{hw}");
            assert_eq!(leases[0].client_id.as_deref(), Some(hw), "{hw}");
        }
        let leases = parse("{\n\tip_address=10.0.0.1\n\thw_address=01,1:2:3:4:5:6\n}\n").unwrap();
        assert_eq!(leases[0].mac, Some(mac("1:2:3:4:5:6")));
    }

    #[test]
    fn same_mac_picks_unexpired_latest() {
        let leases = fixture_leases();
        let m = mac("de:ad:be:ef:0:1");
        assert_eq!(leases.iter().filter(|l| l.mac == Some(m)).count(), 2);
        let best = best_lease(&leases, m, NOW).unwrap();
        assert_eq!(best.ip, Ipv4Addr::new(192, 168, 64, 7));
        assert_eq!(LeaseIndex::new(&leases, NOW).get(m).unwrap().ip, best.ip);
        // an expired lease is still returned when it is the only one
        let old = best_lease(&leases, mac("52:54:0:12:34:56"), NOW).unwrap();
        assert!(old.is_expired(NOW));
    }

    #[test]
    fn truncated_file_names_unclosed_block() {
        let err = parse(fixture!("dhcpd_leases.truncated")).unwrap_err();
        assert_eq!(err.line, 7);
        assert_eq!(
            err.to_string(),
            "line 7: lease block not closed before end of file"
        );
    }

    #[test]
    fn malformed_ip_names_its_line() {
        let err = parse(fixture!("dhcpd_leases.malformed")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 10: invalid ip_address \"192.168.64.300\""
        );
    }

    #[test]
    fn malformed_lease_value_names_its_line() {
        for bad in ["597e1268", "0x", "0xzz", "0x+5", "0x11112222333344445"] {
            let text = format!("{{\n\tip_address=10.0.0.1\n\tlease={bad}\n}}\n");
            let err = parse(&text).unwrap_err();
            assert_eq!(err.line, 3, "{bad}");
            assert_eq!(err.message, format!("invalid lease value {bad:?}"));
        }
        let ok = parse("{\n\tip_address=10.0.0.1\n\tlease=0XFFFFFFFFFFFFFFFF\n}\n").unwrap();
        assert_eq!(ok[0].expiry, Some(u64::MAX));
    }

    #[test]
    fn text_outside_block_is_an_error() {
        let err = parse("{\n\tip_address=10.0.0.1\n}\n\nip_address=10.0.0.2\n").unwrap_err();
        assert_eq!(err.line, 5);
        assert_eq!(err.message, "unexpected text outside a lease block");
        let err = parse("\n}\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: '}' without a matching '{'");
    }

    #[test]
    fn open_brace_inside_block_is_an_error() {
        let err = parse("{\n\tip_address=10.0.0.1\n{\n\tip_address=10.0.0.2\n}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: '{' inside a lease block (block opened at line 1 is not closed)"
        );
    }

    #[test]
    fn block_without_ip_names_its_opening_line() {
        let text = "{\n\tip_address=10.0.0.1\n}\n{\n\tname=x\n\tip_address=\n}\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.to_string(), "line 4: lease block has no ip_address");
    }

    #[test]
    fn missing_lease_key_never_expires_and_crlf_is_accepted() {
        let leases = parse("{\r\n  ip_address = 10.0.0.1 \r\n}\r\n").unwrap();
        assert_eq!(leases[0].ip, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(leases[0].expiry, None);
    }

    #[test]
    fn empty_input_has_no_leases() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("\n\n  \n"), Ok(vec![]));
    }

    #[test]
    fn never_panics_on_prefixes_or_garbage() {
        let text = fixture!("dhcpd_leases");
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse(&text[..end]);
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet = b"{}=,:\n\t x0f1ip_addresshwleasename\r\xc3\xa9";
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 64) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[usize::try_from(seed % alphabet.len() as u64).unwrap()]);
            }
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
