//! Parser for dnsmasq's lease file (`EXPIRY MAC IP HOSTNAME CLIENTID` per line).

use std::net::Ipv4Addr;

use super::lease::{Lease, LeaseRef, parse_hex_octet, parse_mac_lenient};
use crate::error::cut;

pub use super::lease::ParseError;

/// dnsmasq writes non-Ethernet hardware addresses as `TT-xx:xx:...` (`TT` = hardware
/// type, any number of octets, possibly none).
fn is_typed_hw_address(field: &str) -> bool {
    let Some((hw_type, addr)) = field.split_once('-') else {
        return false;
    };
    parse_hex_octet(hw_type.as_bytes()).is_some()
        && (addr.is_empty()
            || addr
                .split(':')
                .all(|octet| parse_hex_octet(octet.as_bytes()).is_some()))
}

fn star_is_none(field: Option<&str>) -> Option<&str> {
    field.filter(|f| *f != "*")
}

/// Parses a dnsmasq lease file.
///
/// Blank lines, the `duid ...` line and IPv6 leases (address containing `:`) are
/// skipped. Expiry `0` means the lease never expires; `*` as hostname or client id
/// means none. A non-Ethernet hardware address (`TT-...`) or `*` gives `mac: None`.
/// The client id field may be absent (four fields); more than five fields is an error.
#[allow(clippy::missing_errors_doc)]
pub fn parse(text: &str) -> Result<Vec<Lease>, ParseError> {
    let mut leases = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if let Some(lease) = parse_line(idx + 1, line)? {
            leases.push(lease.to_lease());
        }
    }
    Ok(leases)
}

/// One line of a dnsmasq lease file (`line_no` for errors): its IPv4 lease, or `None` for a
/// line that holds none. The rules are those of [`parse`].
#[allow(clippy::missing_errors_doc)]
pub fn parse_line(line_no: usize, line: &str) -> Result<Option<LeaseRef<'_>>, ParseError> {
    let mut fields = line.split_ascii_whitespace();
    let Some(expiry) = fields.next() else {
        return Ok(None);
    };
    if expiry == "duid" {
        return Ok(None);
    }
    let (Some(hw), Some(ip), Some(hostname)) = (fields.next(), fields.next(), fields.next()) else {
        if line
            .split_ascii_whitespace()
            .nth(2)
            .is_some_and(|ip| ip.contains(':'))
        {
            return Ok(None);
        }
        return Err(ParseError::new(
            line_no,
            "expected EXPIRY MAC IP HOSTNAME CLIENTID",
        ));
    };
    if ip.contains(':') {
        return Ok(None);
    }
    let client_id = fields.next();
    if fields.next().is_some() {
        return Err(ParseError::new(
            line_no,
            "too many fields (expected EXPIRY MAC IP HOSTNAME CLIENTID)",
        ));
    }
    let expiry: u64 = expiry
        .parse()
        .map_err(|_| ParseError::new(line_no, format!("invalid expiry {:?}", cut(expiry))))?;
    let mac = match parse_mac_lenient(hw) {
        Some(mac) => Some(mac),
        None if hw == "*" || is_typed_hw_address(hw) => None,
        None => {
            return Err(ParseError::new(
                line_no,
                format!("invalid hardware address {:?}", cut(hw)),
            ));
        }
    };
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| ParseError::new(line_no, format!("invalid ip address {:?}", cut(ip))))?;
    Ok(Some(LeaseRef {
        ip,
        mac,
        client_id: star_is_none(client_id),
        hostname: star_is_none(Some(hostname)),
        expiry: (expiry != 0).then_some(expiry),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::lease::fixture;
    use super::*;
    use macaddr::MacAddr6;

    fn fixture_leases() -> Vec<Lease> {
        parse(fixture!("dnsmasq.leases")).unwrap()
    }

    #[test]
    fn parses_normal_lease() {
        let leases = fixture_leases();
        assert_eq!(
            leases[0],
            Lease {
                ip: Ipv4Addr::new(192, 168, 122, 10),
                mac: Some(MacAddr6::new(0x52, 0x54, 0, 0xaa, 0xbb, 0x01)),
                client_id: Some("01:52:54:00:aa:bb:01".to_owned()),
                hostname: Some("web-1".to_owned()),
                expiry: Some(1_778_384_896),
            }
        );
    }

    #[test]
    fn skips_duid_and_ipv6_lines() {
        let leases = fixture_leases();
        assert_eq!(leases.len(), 5);
        let ips: Vec<Ipv4Addr> = leases.iter().map(|l| l.ip).collect();
        let want: Vec<Ipv4Addr> = (10..=14).map(|d| Ipv4Addr::new(192, 168, 122, d)).collect();
        assert_eq!(ips, want);
    }

    #[test]
    fn zero_expiry_and_stars_mean_none() {
        let lease = &fixture_leases()[1];
        assert_eq!(lease.expiry, None);
        assert_eq!(lease.hostname, None);
        assert_eq!(lease.client_id, None);
        let lease = &fixture_leases()[2];
        assert_eq!(lease.hostname, None);
        assert_eq!(
            lease.mac,
            Some(MacAddr6::new(0x52, 0x54, 0, 0xaa, 0xbb, 0x03))
        );
        assert!(lease.client_id.as_deref().unwrap().starts_with("ff:00:aa"));
    }

    #[test]
    fn typed_hardware_address_has_no_mac() {
        let lease = &fixture_leases()[4];
        assert_eq!(lease.ip, Ipv4Addr::new(192, 168, 122, 14));
        assert_eq!(lease.mac, None);
        assert_eq!(lease.hostname.as_deref(), Some("ib-host"));
        let leases = parse("100 00- 10.0.0.1 * *\n100 * 10.0.0.2 * *\n").unwrap();
        assert!(leases.iter().all(|l| l.mac.is_none()));
    }

    #[test]
    fn client_id_is_optional() {
        let leases = parse("100 1:2:3:4:5:6 10.0.0.1 host\n").unwrap();
        assert_eq!(leases[0].client_id, None);
        assert_eq!(leases[0].hostname.as_deref(), Some("host"));
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let good = "0 52:54:00:aa:bb:02 192.168.122.11 * *\n";
        let cases = [
            ("x 52:54:00:aa:bb:02 10.0.0.1 * *", "invalid expiry \"x\""),
            ("-1 52:54:00:aa:bb:02 10.0.0.1 * *", "invalid expiry \"-1\""),
            (
                "0 52:54:00:aa:bb 10.0.0.1 * *",
                "invalid hardware address \"52:54:00:aa:bb\"",
            ),
            ("0 zz-01 10.0.0.1 * *", "invalid hardware address \"zz-01\""),
            (
                "0 52:54:00:aa:bb:02 10.0.0.256 * *",
                "invalid ip address \"10.0.0.256\"",
            ),
            (
                "0 52:54:00:aa:bb:02 10.0.0.1",
                "expected EXPIRY MAC IP HOSTNAME CLIENTID",
            ),
            (
                "0 52:54:00:aa:bb:02 10.0.0.1 * * extra",
                "too many fields (expected EXPIRY MAC IP HOSTNAME CLIENTID)",
            ),
        ];
        for (bad, message) in cases {
            let text = format!("{good}\n{good}{bad}\n{good}");
            let err = parse(&text).unwrap_err();
            assert_eq!(err.to_string(), format!("line 4: {message}"), "{bad}");
        }
    }

    #[test]
    fn never_panics_on_prefixes() {
        let text = fixture!("dnsmasq.leases");
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse(&text[..end]);
        }
    }
}
