//! The frame policy's tests: one table of example frames for a no-local VM and a plain one,
//! and what the policy learns.

use super::frames::{arp, dhcp, dhcp_from, eth, ipv4, ipv6, l4, tagged};
use super::*;

const VM: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x10];
const OTHER: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x20];
const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const ICMP: u8 = 1;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 64, last)
}

fn policy(no_local: bool, address: Option<Ipv4Addr>) -> FramePolicy {
    let subnet = "192.168.64.0/24".parse().unwrap();
    FramePolicy::new(VM, no_local, ip(1), Some(GW_MAC), subnet, address)
}

#[derive(Clone, Copy)]
enum Way {
    FromVm,
    ToVm,
}

fn judge(policy: &mut FramePolicy, way: Way, frame: &[u8]) -> Verdict {
    match way {
        Way::FromVm => policy.from_vm(frame),
        Way::ToVm => policy.to_vm(frame),
    }
}

/// The one table of example frames and what a no-local VM's policy does with them. A VM
/// that is not no-local gets the same, but for the isolation drops (see below).
#[allow(clippy::type_complexity, clippy::too_many_lines)]
fn table() -> Vec<(&'static str, Way, Option<Ipv4Addr>, Vec<u8>, Verdict)> {
    use Way::{FromVm, ToVm};
    let any = Ipv4Addr::UNSPECIFIED;
    let bcast = Ipv4Addr::BROADCAST;
    let wan = Ipv4Addr::new(203, 0, 113, 2);
    let me = Some(ip(50));
    let udp = |s, d| l4(s, d, b"x");
    let client = |chaddr, kind| l4(68, 67, &dhcp(1, chaddr, any, kind));
    let server = |chaddr, kind| l4(67, 68, &dhcp(2, chaddr, ip(50), kind));
    let to_wan = ipv4(VM, ip(50), wan, TCP, &udp(40000, 80));
    let router_advertisement = ipv6(VM, 58, &[134, 0, 0, 0, 64, 0, 0x07, 0x08]);
    let dhcpv6_advertise = ipv6(VM, UDP, &l4(547, 546, &[2, 0, 0, 1]));
    vec![
        // IPv4 and its source.
        (
            "IPv4 to the WAN from its address",
            FromVm,
            me,
            to_wan.clone(),
            Ok(()),
        ),
        (
            "forged source IP",
            FromVm,
            me,
            ipv4(VM, ip(51), wan, ICMP, b"ping"),
            Err(Drop::ForgedIp),
        ),
        (
            "forged source MAC",
            FromVm,
            me,
            ipv4(OTHER, ip(50), wan, ICMP, b"ping"),
            Err(Drop::ForgedMac),
        ),
        (
            "IPv4 before a lease",
            FromVm,
            None,
            ipv4(VM, ip(50), wan, ICMP, b"ping"),
            Err(Drop::IpEarly),
        ),
        (
            "other UDP from 0.0.0.0",
            FromVm,
            None,
            ipv4(VM, any, wan, UDP, &udp(1000, 53)),
            Err(Drop::IpEarly),
        ),
        // Tags, IPv6, other ethertypes.
        (
            "802.1Q tag, VID 0",
            FromVm,
            me,
            tagged(0x8100, &to_wan),
            Err(Drop::Tagged),
        ),
        (
            "802.1ad tag",
            FromVm,
            me,
            tagged(0x88a8, &to_wan),
            Err(Drop::Tagged),
        ),
        (
            "pre-802.1ad QinQ tag",
            FromVm,
            me,
            tagged(0x9100, &to_wan),
            Err(Drop::Tagged),
        ),
        (
            "IPv6",
            FromVm,
            me,
            eth(VM, GW_MAC, 0x86dd, &[0x60; 40]),
            Err(Drop::Ipv6),
        ),
        (
            "IPv6 router advertisement",
            FromVm,
            me,
            router_advertisement.clone(),
            Err(Drop::Ipv6),
        ),
        (
            "DHCPv6 advertise",
            FromVm,
            me,
            dhcpv6_advertise,
            Err(Drop::Ipv6),
        ),
        (
            "LLDP",
            FromVm,
            me,
            eth(VM, GW_MAC, 0x88cc, &[0; 40]),
            Err(Drop::OtherEthertype),
        ),
        // DHCP from the VM: a client for its own MAC, never a server.
        (
            "DHCP discover from 0.0.0.0",
            FromVm,
            None,
            ipv4(VM, any, bcast, UDP, &client(VM, 1)),
            Ok(()),
        ),
        (
            "DHCP discover for another MAC",
            FromVm,
            None,
            ipv4(VM, any, bcast, UDP, &client(OTHER, 1)),
            Err(Drop::DhcpChaddr),
        ),
        (
            "DHCP request for its MAC",
            FromVm,
            None,
            ipv4(VM, any, bcast, UDP, &client(VM, 3)),
            Ok(()),
        ),
        (
            "DHCP request with a forged chaddr",
            FromVm,
            None,
            ipv4(VM, any, bcast, UDP, &client(OTHER, 3)),
            Err(Drop::DhcpChaddr),
        ),
        (
            "DHCP request after the lease",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(1), UDP, &client(VM, 3)),
            Ok(()),
        ),
        (
            "DHCP release of its lease",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(1), UDP, &client(VM, 7)),
            Ok(()),
        ),
        (
            "DHCP release for another MAC, from its address",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(1), UDP, &client(OTHER, 7)),
            Err(Drop::DhcpChaddr),
        ),
        (
            "DHCP to port 67 too short for a chaddr",
            FromVm,
            None,
            ipv4(VM, any, bcast, UDP, &udp(68, 67)),
            Err(Drop::DhcpChaddr),
        ),
        (
            "DHCP offer from the VM",
            FromVm,
            me,
            ipv4(VM, ip(50), bcast, UDP, &server(OTHER, 2)),
            Err(Drop::DhcpServer),
        ),
        (
            "DHCP ack from the VM",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(60), UDP, &server(OTHER, 5)),
            Err(Drop::DhcpServer),
        ),
        (
            "UDP to a DHCP client port from the VM",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(60), UDP, &udp(5000, 68)),
            Err(Drop::DhcpServer),
        ),
        // ARP from the VM.
        (
            "ARP probe from 0.0.0.0",
            FromVm,
            None,
            arp(VM, any, ip(50)),
            Ok(()),
        ),
        (
            "ARP for the gateway",
            FromVm,
            me,
            arp(VM, ip(50), ip(1)),
            Ok(()),
        ),
        (
            "gratuitous ARP",
            FromVm,
            me,
            arp(VM, ip(50), ip(50)),
            Ok(()),
        ),
        (
            "gratuitous ARP claiming another address",
            FromVm,
            me,
            arp(VM, ip(60), ip(60)),
            Err(Drop::ArpIp),
        ),
        (
            "ARP before a lease",
            FromVm,
            None,
            arp(VM, ip(50), ip(1)),
            Err(Drop::ArpEarly),
        ),
        (
            "ARP claiming another address",
            FromVm,
            me,
            arp(VM, ip(60), ip(1)),
            Err(Drop::ArpIp),
        ),
        (
            "ARP with a forged sender MAC",
            FromVm,
            me,
            {
                let mut f = arp(OTHER, ip(50), ip(1));
                f[6..12].copy_from_slice(&VM);
                f
            },
            Err(Drop::ArpMac),
        ),
        (
            "ARP from a forged source MAC",
            FromVm,
            me,
            {
                let mut f = arp(VM, ip(50), ip(1));
                f[6..12].copy_from_slice(&OTHER);
                f
            },
            Err(Drop::ForgedMac),
        ),
        ("runt", FromVm, None, vec![0; 10], Err(Drop::Runt)),
        // No-local isolation, from the VM.
        (
            "DNS to the gateway",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(1), UDP, &udp(5000, 53)),
            Ok(()),
        ),
        (
            "ssh to the host (gateway)",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(1), TCP, &udp(40000, 22)),
            Err(Drop::VmToHost),
        ),
        (
            "ping another VM",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(60), ICMP, b"ping"),
            Err(Drop::VmToVm),
        ),
        (
            "subnet broadcast",
            FromVm,
            me,
            ipv4(VM, ip(50), ip(255), UDP, &udp(1, 2)),
            Err(Drop::VmToVm),
        ),
        (
            "ARP for another VM",
            FromVm,
            me,
            arp(VM, ip(50), ip(60)),
            Err(Drop::ArpTarget),
        ),
        // To the VM.
        (
            "from the gateway",
            ToVm,
            me,
            ipv4(GW_MAC, ip(1), ip(50), UDP, &udp(53, 5000)),
            Ok(()),
        ),
        (
            "from the WAN",
            ToVm,
            me,
            ipv4(GW_MAC, wan, ip(50), TCP, &udp(80, 40000)),
            Ok(()),
        ),
        (
            "IPv6 to the VM",
            ToVm,
            me,
            eth(GW_MAC, VM, 0x86dd, &[0x60; 40]),
            Err(Drop::Ipv6),
        ),
        (
            "IPv6 router advertisement to the VM",
            ToVm,
            me,
            router_advertisement,
            Err(Drop::Ipv6),
        ),
        (
            "DHCP offer from the gateway",
            ToVm,
            None,
            ipv4(GW_MAC, ip(1), bcast, UDP, &server(VM, 2)),
            Ok(()),
        ),
        (
            "DHCP ack from the gateway",
            ToVm,
            None,
            ipv4(GW_MAC, ip(1), ip(50), UDP, &server(VM, 5)),
            Ok(()),
        ),
        (
            "DHCP ack from the gateway for another MAC",
            ToVm,
            me,
            ipv4(GW_MAC, ip(1), bcast, UDP, &server(OTHER, 5)),
            Ok(()),
        ),
        (
            "DHCP ack from another address",
            ToVm,
            None,
            ipv4(GW_MAC, ip(60), ip(50), UDP, &server(VM, 5)),
            Err(Drop::DhcpServer),
        ),
        (
            "DHCP ack from the gateway's address, another MAC",
            ToVm,
            None,
            ipv4(OTHER, ip(1), ip(50), UDP, &server(VM, 5)),
            Err(Drop::DhcpServer),
        ),
        (
            "DHCP ack from the WAN",
            ToVm,
            None,
            ipv4(GW_MAC, wan, ip(50), UDP, &server(VM, 5)),
            Err(Drop::DhcpServer),
        ),
        // No-local isolation, to the VM.
        (
            "from another VM",
            ToVm,
            me,
            ipv4(OTHER, ip(60), ip(50), ICMP, b"ping"),
            Err(Drop::VmToVm),
        ),
        (
            "ARP from another VM",
            ToVm,
            me,
            arp(OTHER, ip(60), ip(50)),
            Err(Drop::VmToVm),
        ),
    ]
}

#[test]
fn every_example_frame_gets_its_verdict() {
    for (what, way, address, frame, expected) in table() {
        let got = judge(&mut policy(true, address), way, &frame);
        assert_eq!(got, expected, "{what}");
    }
}

/// A VM that is not no-local reaches other VMs, the host and the WAN: the table's isolation
/// drops pass for it. Every other drop of the table, the floor, holds for it as well.
#[test]
fn a_plain_vm_reaches_other_vms_and_the_host_but_keeps_the_floor() {
    let mut isolation = 0;
    for (what, way, address, frame, no_local) in table() {
        let expected = match no_local {
            Err(Drop::VmToVm | Drop::VmToHost | Drop::ArpTarget) => {
                isolation += 1;
                Ok(())
            }
            floor => floor,
        };
        let got = judge(&mut policy(false, address), way, &frame);
        assert_eq!(got, expected, "a plain VM: {what}");
    }
    assert_eq!(isolation, 6, "the isolation rows of the table");
}

/// The DHCP replies a VM can be sent, whether each passes, and what address it teaches: only
/// the gateway's ACK for the VM's own MAC teaches one, so a forged ACK moves no rules.
#[allow(clippy::type_complexity)]
fn dhcp_replies() -> Vec<(&'static str, Vec<u8>, Verdict, Option<Ipv4Addr>)> {
    let gateway = ip(1);
    let reply = |src_mac: [u8; 6],
                 src: Ipv4Addr,
                 to_mac: [u8; 6],
                 chaddr: [u8; 6],
                 yiaddr: Ipv4Addr,
                 kind: u8,
                 server: Option<Ipv4Addr>| {
        let reply = l4(67, 68, &dhcp_from(2, chaddr, yiaddr, kind, server));
        let mut frame = ipv4(src_mac, src, yiaddr, UDP, &reply);
        frame[0..6].copy_from_slice(&to_mac);
        frame
    };
    let ack = |src_mac: [u8; 6], src: Ipv4Addr, chaddr: [u8; 6]| {
        reply(src_mac, src, VM, chaddr, ip(77), 5, Some(gateway))
    };
    let bcast = [0xff; 6];
    vec![
        (
            "the gateway's ack",
            ack(GW_MAC, gateway, VM),
            Ok(()),
            Some(ip(77)),
        ),
        (
            "the gateway's ack, broadcast, naming no server",
            reply(GW_MAC, gateway, bcast, VM, ip(77), 5, None),
            Ok(()),
            Some(ip(77)),
        ),
        (
            "the gateway's offer",
            reply(GW_MAC, gateway, VM, VM, ip(77), 2, Some(gateway)),
            Ok(()),
            None,
        ),
        (
            "the gateway's ack for another MAC",
            ack(GW_MAC, gateway, OTHER),
            Ok(()),
            None,
        ),
        (
            "the gateway's ack giving the gateway's address",
            reply(GW_MAC, gateway, VM, VM, gateway, 5, Some(gateway)),
            Ok(()),
            None,
        ),
        (
            "the gateway's ack giving an address off the network",
            reply(GW_MAC, gateway, VM, VM, Ipv4Addr::new(10, 0, 0, 7), 5, None),
            Ok(()),
            None,
        ),
        (
            "the gateway's ack giving the broadcast address",
            reply(GW_MAC, gateway, VM, VM, ip(255), 5, None),
            Ok(()),
            None,
        ),
        (
            "an ack from another VM",
            ack(OTHER, ip(60), VM),
            Err(Drop::DhcpServer),
            None,
        ),
        (
            "an ack from the gateway's address, another MAC",
            ack(OTHER, gateway, VM),
            Err(Drop::DhcpServer),
            None,
        ),
        (
            "an ack from the gateway's MAC, another address",
            ack(GW_MAC, ip(60), VM),
            Err(Drop::DhcpServer),
            None,
        ),
        (
            "an ack from the gateway naming another server",
            reply(GW_MAC, gateway, VM, VM, ip(77), 5, Some(ip(60))),
            Err(Drop::DhcpServer),
            None,
        ),
        (
            "an ack from the WAN",
            ack(GW_MAC, Ipv4Addr::new(203, 0, 113, 2), VM),
            Err(Drop::DhcpServer),
            None,
        ),
    ]
}

#[test]
fn the_address_is_learned_only_from_the_gateways_dhcp_ack_for_its_mac() {
    let wan = Ipv4Addr::new(203, 0, 113, 2);
    for no_local in [true, false] {
        for (what, frame, verdict, learns) in dhcp_replies() {
            let mut fresh = policy(no_local, None);
            assert_eq!(fresh.to_vm(&frame), verdict, "{what}");
            assert_eq!(fresh.address(), learns, "{what}");
            // A VM that has its address keeps it, whatever else comes.
            let mut leased = policy(no_local, None);
            let (_, gateways_ack, ..) = &dhcp_replies()[0];
            assert_eq!(leased.to_vm(gateways_ack), Ok(()));
            let _ = leased.to_vm(&frame);
            assert_eq!(leased.address(), Some(ip(77)), "{what} moves nothing");
            assert_eq!(
                leased.from_vm(&ipv4(VM, ip(77), wan, ICMP, b"ping")),
                Ok(()),
                "{what}"
            );
            assert_eq!(
                leased.from_vm(&ipv4(VM, ip(78), wan, ICMP, b"ping")),
                Err(Drop::ForgedIp),
                "{what}"
            );
        }
    }
}

/// Without the gateway's MAC its address decides; a bridged VM (no gateway vmctl knows)
/// takes the LAN's DHCP server's word, for its own MAC only.
#[test]
fn dhcp_replies_without_a_known_gateway_mac_or_gateway() {
    let ack = |src_mac, src, chaddr| {
        let reply = l4(67, 68, &dhcp(2, chaddr, ip(77), 5));
        ipv4(src_mac, src, ip(77), UDP, &reply)
    };
    let mut by_address = policy(false, None);
    by_address.gateway_mac = None;
    assert_eq!(
        by_address.to_vm(&ack(OTHER, ip(60), VM)),
        Err(Drop::DhcpServer)
    );
    assert_eq!(by_address.to_vm(&ack(OTHER, ip(1), VM)), Ok(()));
    assert_eq!(by_address.address(), Some(ip(77)));
    let any = Ipv4Addr::UNSPECIFIED;
    let lan = Ipv4Network::from(any);
    let mut bridged = FramePolicy::new(VM, false, any, None, lan, None);
    let lan_server = Ipv4Addr::new(10, 0, 0, 1);
    assert_eq!(bridged.to_vm(&ack(OTHER, lan_server, OTHER)), Ok(()));
    assert_eq!(bridged.address(), None, "another MAC's ack");
    assert_eq!(bridged.to_vm(&ack(OTHER, lan_server, VM)), Ok(()));
    assert_eq!(bridged.address(), Some(ip(77)));
    let offer = ipv4(
        VM,
        ip(77),
        Ipv4Addr::BROADCAST,
        UDP,
        &l4(67, 68, &dhcp(2, OTHER, ip(9), 2)),
    );
    assert_eq!(
        bridged.from_vm(&offer),
        Err(Drop::DhcpServer),
        "the floor holds"
    );
}

#[test]
fn garbage_never_panics() {
    for no_local in [true, false] {
        let mut policy = policy(no_local, Some(ip(50)));
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|i| u8::try_from(i * 7 % 251).unwrap())
                .collect();
            let _ = policy.to_vm(&junk);
            let _ = policy.from_vm(&junk);
        }
    }
}
