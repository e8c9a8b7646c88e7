//! Synthetic frames for tests: Ethernet (tagged or not), ARP, IPv4 with UDP/TCP/ICMP, DHCP,
//! IPv6.

use std::net::Ipv4Addr;

pub fn eth(src: [u8; 6], dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn arp(mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&mac);
    a.extend_from_slice(&sender.octets());
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target.octets());
    eth(mac, [0xff; 6], 0x0806, &a)
}

pub fn ipv4(mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + l4.len()).unwrap();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(l4);
    eth(mac, [2, 0, 0, 0, 0, 1], 0x0800, &p)
}

/// UDP or TCP (enough of a header for the ports) with a payload.
pub fn l4(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0; 16]);
    u.truncate(8);
    u.extend_from_slice(payload);
    u
}

/// `frame` with a VLAN tag of `tpid` (802.1Q 0x8100, 802.1ad 0x88a8), VID 0.
pub fn tagged(tpid: u16, frame: &[u8]) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&frame[12..]);
    f
}

/// IPv6 from a link-local address to all nodes, carrying `next` (58 ICMPv6, 17 UDP).
pub fn ipv6(mac: [u8; 6], next: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&u16::try_from(l4.len()).unwrap().to_be_bytes());
    p.extend_from_slice(&[next, 255]);
    p.extend_from_slice(&[
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0, 0, 0x10,
    ]);
    p.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(l4);
    eth(mac, [0x33, 0x33, 0, 0, 0, 1], 0x86dd, &p)
}

/// A DHCP message of `kind` (1 discover, 2 offer, 3 request, 5 ack, 7 release) for
/// `chaddr`, offering `yiaddr`.
pub fn dhcp(op: u8, chaddr: [u8; 6], yiaddr: Ipv4Addr, kind: u8) -> Vec<u8> {
    dhcp_from(op, chaddr, yiaddr, kind, None)
}

/// `dhcp`, naming its server (option 54) when `server` is given.
pub fn dhcp_from(
    op: u8,
    chaddr: [u8; 6],
    yiaddr: Ipv4Addr,
    kind: u8,
    server: Option<Ipv4Addr>,
) -> Vec<u8> {
    let mut b = vec![0u8; 240];
    b[0] = op;
    b[1] = 1;
    b[2] = 6;
    b[16..20].copy_from_slice(&yiaddr.octets());
    b[28..34].copy_from_slice(&chaddr);
    b[236..240].copy_from_slice(&[99, 130, 83, 99]);
    b.extend_from_slice(&[53, 1, kind]);
    if let Some(server) = server {
        b.extend_from_slice(&[54, 4]);
        b.extend_from_slice(&server.octets());
    }
    b.push(255);
    b
}
