//! Parsers for the kernel neighbour (ARP) table: Linux `/proc/net/arp` and macOS `arp -an`.

use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use super::lease::parse_mac_lenient;

/// One resolved IPv4 neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: Ipv4Addr,
    pub mac: MacAddr6,
    pub iface: String,
}

/// Only addresses that can belong to a single machine: not all-zero, broadcast or multicast.
fn is_host_mac(mac: MacAddr6) -> bool {
    !mac.is_nil() && !mac.is_broadcast() && !mac.is_multicast()
}

fn parse_proc_line(line: &str) -> Option<Neighbour> {
    let mut fields = line.split_ascii_whitespace();
    let ip: Ipv4Addr = fields.next()?.parse().ok()?;
    let _hw_type = fields.next()?;
    let flags = fields.next()?;
    let flags = u32::from_str_radix(flags.strip_prefix("0x").unwrap_or(flags), 16).ok()?;
    let mac = parse_mac_lenient(fields.next()?)?;
    let _mask = fields.next()?;
    let iface = fields.next()?;
    // flags 0x0: entry is incomplete (ATF_COM not set)
    (flags != 0 && is_host_mac(mac)).then(|| Neighbour {
        ip,
        mac,
        iface: iface.to_owned(),
    })
}

/// Parses Linux `/proc/net/arp`.
///
/// Skips the header, incomplete entries (flags `0x0`), and all-zero, broadcast or
/// multicast MACs. Lines that do not parse are skipped; this never fails.
pub fn parse_proc_net_arp(text: &str) -> Vec<Neighbour> {
    text.lines().filter_map(parse_proc_line).collect()
}

fn parse_arp_an_line(line: &str) -> Option<Neighbour> {
    let mut fields = line.split_ascii_whitespace();
    let _host = fields.next()?;
    let ip: Ipv4Addr = fields
        .next()?
        .strip_prefix('(')?
        .strip_suffix(')')?
        .parse()
        .ok()?;
    // macOS: `at MAC on IFACE ...`; Linux net-tools: `at MAC [ether] on IFACE`.
    fields.find(|&f| f == "at")?;
    let mac = parse_mac_lenient(fields.next()?)?;
    fields.find(|&f| f == "on")?;
    let iface = fields.next()?;
    is_host_mac(mac).then(|| Neighbour {
        ip,
        mac,
        iface: iface.to_owned(),
    })
}

/// Parses `arp -an` output (macOS format; the Linux net-tools variant also works).
///
/// Skips `(incomplete)` entries and all-zero, broadcast or multicast MACs. Lines that
/// do not parse are skipped; this never fails.
pub fn parse_arp_an(text: &str) -> Vec<Neighbour> {
    text.lines().filter_map(parse_arp_an_line).collect()
}

#[cfg(test)]
mod tests {
    use super::super::lease::fixture;
    use super::*;

    fn n(ip: [u8; 4], mac: &str, iface: &str) -> Neighbour {
        Neighbour {
            ip: Ipv4Addr::from(ip),
            mac: parse_mac_lenient(mac).unwrap(),
            iface: iface.to_owned(),
        }
    }

    #[test]
    fn proc_net_arp_skips_header_incomplete_and_zero_mac() {
        assert_eq!(
            parse_proc_net_arp(fixture!("proc_net_arp")),
            vec![
                n([192, 168, 122, 45], "52:54:00:12:34:56", "virbr0"),
                n([192, 168, 122, 47], "52:54:00:ab:cd:ef", "virbr0"),
                n([10, 0, 2, 2], "52:55:0a:00:02:02", "eth0"),
            ]
        );
    }

    #[test]
    fn arp_an_keeps_unicast_complete_entries() {
        assert_eq!(
            parse_arp_an(fixture!("arp_an.txt")),
            vec![
                n([192, 168, 64, 1], "3a:f9:d3:8e:5c:64", "bridge100"),
                n([192, 168, 64, 2], "8e:01:99:9c:54:b1", "bridge100"),
                n([192, 168, 1, 1], "00:0d:b9:4f:a2:10", "en0"),
                n([192, 168, 64, 3], "a2:0b:0c:0d:e0:0f", "bridge100"),
            ]
        );
    }

    #[test]
    fn arp_an_linux_variant_and_garbage() {
        let text = "? (10.0.0.1) at 00:11:22:33:44:55 [ether] on eth0\n\
                    garbage\n\
                    ? (10.0.0.2 at 00:11:22:33:44:56 on eth0\n\
                    ? (10.0.0.3) at 00:11:22:33:44:57\n\
                    \n";
        assert_eq!(
            parse_arp_an(text),
            vec![n([10, 0, 0, 1], "00:11:22:33:44:55", "eth0")]
        );
        assert!(
            parse_proc_net_arp("garbage\n1.2.3.4 0x1 0xZ 00:11:22:33:44:55 * eth0\n").is_empty()
        );
    }

    #[test]
    fn never_panics_on_prefixes() {
        for text in [fixture!("arp_an.txt"), fixture!("proc_net_arp")] {
            for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let _ = parse_arp_an(&text[..end]);
                let _ = parse_proc_net_arp(&text[..end]);
            }
        }
    }
}
