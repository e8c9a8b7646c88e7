//! The frame policy of a no-local VM, in userspace: what the macOS helper (and the Linux
//! socket relay) applies to every Ethernet frame between the VM and its network. It means what
//! the Linux nft plan means, and says why it drops a frame in the same words as the plan's
//! counted rules (`plan::linux::counters`):
//!
//! - from the VM: only its own MAC; ARP only with that MAC and its address (0.0.0.0 before
//!   it has one), and asking only for the gateway; IPv4 only from its address, except DHCP
//!   from 0.0.0.0; to the host only DHCP and DNS at the gateway; nothing to other VMs of its
//!   network; no IPv6, nothing else;
//! - to the VM: nothing from other VMs of its network; no IPv6;
//! - its address is the reservation, else what the DHCP server acknowledged for its MAC.
//!
//! A VM that is not no-local passes everything (its address is still learned).

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::plan::linux::counters as c;

/// Why a frame was dropped (the words of the nft plan's counted rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drop {
    Runt,
    ForgedMac,
    Ipv6,
    ArpMac,
    ArpEarly,
    ArpIp,
    ArpTarget,
    OtherEthertype,
    IpEarly,
    ForgedIp,
    VmToVm,
    VmToHost,
}

impl Drop {
    pub fn reason(self) -> &'static str {
        match self {
            Drop::Runt => "a frame too short to be Ethernet",
            Drop::ForgedMac => c::FORGED_MAC,
            Drop::Ipv6 => c::IPV6,
            Drop::ArpMac => c::ARP_MAC,
            Drop::ArpEarly => c::ARP_IP,
            Drop::ArpIp => c::ARP_IP,
            Drop::ArpTarget | Drop::VmToVm => c::VM_TO_VM,
            Drop::OtherEthertype => c::OTHER_ETHERTYPE,
            Drop::IpEarly => c::FORGED_IP,
            Drop::ForgedIp => c::FORGED_IP,
            Drop::VmToHost => c::VM_TO_HOST,
        }
    }
}

pub type Verdict = Result<(), Drop>;

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const UDP: u8 = 17;
const TCP: u8 = 6;

/// One VM's policy and what it has learned.
#[derive(Debug, Clone)]
pub struct FramePolicy {
    mac: [u8; 6],
    no_local: bool,
    gateway: Ipv4Addr,
    subnet: Ipv4Network,
    /// The VM's address: its reservation, else the last DHCP ACK for its MAC.
    address: Option<Ipv4Addr>,
}

/// The fields of an IPv4 packet the policy looks at.
struct Ipv4<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    /// The transport header and payload.
    payload: &'a [u8],
}

impl Ipv4<'_> {
    fn ports(&self) -> Option<(u16, u16)> {
        (matches!(self.proto, UDP | TCP) && self.payload.len() >= 4)
            .then(|| (be16(self.payload, 0), be16(self.payload, 2)))
    }

    fn is_dhcp_request(&self) -> bool {
        self.proto == UDP && self.ports() == Some((68, 67))
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ip_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

fn ethertype(frame: &[u8]) -> u16 {
    be16(frame, 12)
}

fn ipv4(frame: &[u8]) -> Option<Ipv4<'_>> {
    let ip = frame.get(14..)?;
    let header = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || header < 20 || ip.len() < header {
        return None;
    }
    let total = usize::from(be16(ip, 2)).clamp(header, ip.len());
    Some(Ipv4 {
        src: ip_at(ip, 12),
        dst: ip_at(ip, 16),
        proto: ip[9],
        payload: &ip[header..total],
    })
}

/// ARP over Ethernet/IPv4: (sender MAC, sender IP, target IP).
fn arp(frame: &[u8]) -> Option<([u8; 6], Ipv4Addr, Ipv4Addr)> {
    let a = frame.get(14..42)?;
    if be16(a, 0) != 1 || be16(a, 2) != ETH_IPV4 || a[4] != 6 || a[5] != 4 {
        return None;
    }
    Some((a[8..14].try_into().ok()?, ip_at(a, 14), ip_at(a, 24)))
}

impl FramePolicy {
    pub fn new(
        mac: [u8; 6],
        no_local: bool,
        gateway: Ipv4Addr,
        subnet: Ipv4Network,
        reservation: Option<Ipv4Addr>,
    ) -> FramePolicy {
        FramePolicy {
            mac,
            no_local,
            gateway,
            subnet,
            address: reservation,
        }
    }

    /// The VM's address as the policy knows it.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.address
    }

    /// Is `ip` another VM of this network (not the gateway, not outside it)?
    fn other_vm(&self, ip: Ipv4Addr) -> bool {
        self.subnet.contains(ip) && ip != self.gateway
    }

    /// A frame the VM sends.
    pub fn from_vm(&self, frame: &[u8]) -> Verdict {
        if frame.len() < 14 {
            return Err(Drop::Runt);
        }
        if !self.no_local {
            return Ok(());
        }
        if frame[6..12] != self.mac {
            return Err(Drop::ForgedMac);
        }
        match ethertype(frame) {
            ETH_ARP => self.arp_from_vm(frame),
            ETH_IPV4 => self.ipv4_from_vm(frame),
            ETH_IPV6 => Err(Drop::Ipv6),
            _ => Err(Drop::OtherEthertype),
        }
    }

    fn arp_from_vm(&self, frame: &[u8]) -> Verdict {
        let (sender_mac, sender, target) = arp(frame).ok_or(Drop::OtherEthertype)?;
        if sender_mac != self.mac {
            return Err(Drop::ArpMac);
        }
        if sender.is_unspecified() {
            // A probe for the address it is about to use (RFC 5227).
            return Ok(());
        }
        let Some(own) = self.address else {
            return Err(Drop::ArpEarly);
        };
        if sender != own {
            return Err(Drop::ArpIp);
        }
        // Asking for anyone but the gateway (or announcing itself) is reaching for a VM.
        if target != self.gateway && target != sender && self.other_vm(target) {
            return Err(Drop::ArpTarget);
        }
        Ok(())
    }

    fn ipv4_from_vm(&self, frame: &[u8]) -> Verdict {
        let ip = ipv4(frame).ok_or(Drop::OtherEthertype)?;
        if ip.src.is_unspecified() {
            return if ip.is_dhcp_request() {
                Ok(())
            } else {
                Err(Drop::IpEarly)
            };
        }
        match self.address {
            None => return Err(Drop::IpEarly),
            Some(own) if own != ip.src => return Err(Drop::ForgedIp),
            Some(_) => {}
        }
        if ip.dst == self.gateway {
            let to_port = ip.ports().map(|(_, dport)| dport);
            let dns = matches!(ip.proto, UDP | TCP) && to_port == Some(53);
            return if dns || ip.is_dhcp_request() {
                Ok(())
            } else {
                Err(Drop::VmToHost)
            };
        }
        if ip.dst.is_broadcast() || ip.dst == self.subnet.broadcast() {
            return if ip.is_dhcp_request() {
                Ok(())
            } else {
                Err(Drop::VmToVm)
            };
        }
        if self.other_vm(ip.dst) {
            return Err(Drop::VmToVm);
        }
        Ok(())
    }

    /// A frame for the VM; a DHCP ACK for the VM's MAC teaches the policy its address.
    pub fn to_vm(&mut self, frame: &[u8]) -> Verdict {
        if frame.len() < 14 {
            return Err(Drop::Runt);
        }
        self.learn(frame);
        if !self.no_local {
            return Ok(());
        }
        match ethertype(frame) {
            ETH_IPV4 => match ipv4(frame) {
                Some(ip) if self.other_vm(ip.src) => Err(Drop::VmToVm),
                _ => Ok(()),
            },
            ETH_ARP => match arp(frame) {
                Some((_, sender, _)) if self.other_vm(sender) => Err(Drop::VmToVm),
                _ => Ok(()),
            },
            ETH_IPV6 => Err(Drop::Ipv6),
            _ => Ok(()),
        }
    }

    /// DHCP: BOOTP reply (op 2) to the VM's hardware address with message type ACK (5).
    fn learn(&mut self, frame: &[u8]) {
        if ethertype(frame) != ETH_IPV4 {
            return;
        }
        let Some(ip) = ipv4(frame) else { return };
        if ip.proto != UDP || ip.ports() != Some((67, 68)) {
            return;
        }
        let Some(bootp) = ip.payload.get(8..) else {
            return;
        };
        if bootp.len() < 240 || bootp[0] != 2 || bootp[28..34] != self.mac {
            return;
        }
        if bootp[236..240] != [99, 130, 83, 99] {
            return;
        }
        let mut options = &bootp[240..];
        while let [code, rest @ ..] = options {
            match code {
                0 => options = rest,
                255 => return,
                _ => {
                    let Some((&len, rest)) = rest.split_first() else {
                        return;
                    };
                    let Some(value) = rest.get(..usize::from(len)) else {
                        return;
                    };
                    if *code == 53 && value == [5] {
                        self.address = Some(ip_at(bootp, 16));
                        return;
                    }
                    options = &rest[usize::from(len)..];
                }
            }
        }
    }
}

/// Synthetic frames for tests: Ethernet, ARP, IPv4 with UDP/TCP/ICMP, DHCP.
#[cfg(test)]
pub mod frames {
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

    /// A DHCP message of `kind` (1 discover, 5 ack) for `chaddr`, offering `yiaddr`.
    pub fn dhcp(op: u8, chaddr: [u8; 6], yiaddr: Ipv4Addr, kind: u8) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = op;
        b[1] = 1;
        b[2] = 6;
        b[16..20].copy_from_slice(&yiaddr.octets());
        b[28..34].copy_from_slice(&chaddr);
        b[236..240].copy_from_slice(&[99, 130, 83, 99]);
        b.extend_from_slice(&[53, 1, kind, 255]);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::frames::{arp, dhcp, eth, ipv4, l4};
    use super::*;

    const VM: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x10];
    const OTHER: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x20];
    const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 64, last)
    }

    fn policy(address: Option<Ipv4Addr>) -> FramePolicy {
        FramePolicy::new(VM, true, ip(1), "192.168.64.0/24".parse().unwrap(), address)
    }

    #[derive(Clone, Copy)]
    enum Way {
        FromVm,
        ToVm,
    }

    /// The one table of example frames and what a no-local VM's policy does with them.
    #[allow(clippy::type_complexity, clippy::too_many_lines)]
    fn table() -> Vec<(&'static str, Way, Option<Ipv4Addr>, Vec<u8>, Verdict)> {
        use Way::{FromVm, ToVm};
        let any = Ipv4Addr::UNSPECIFIED;
        let bcast = Ipv4Addr::BROADCAST;
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        let udp = |s, d| l4(s, d, b"x");
        let discover = l4(68, 67, &dhcp(1, VM, any, 1));
        vec![
            (
                "DHCP discover from 0.0.0.0",
                FromVm,
                None,
                ipv4(VM, any, bcast, UDP, &discover),
                Ok(()),
            ),
            (
                "DHCP request after the lease",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), ip(1), UDP, &discover),
                Ok(()),
            ),
            (
                "other UDP from 0.0.0.0",
                FromVm,
                None,
                ipv4(VM, any, wan, UDP, &udp(1000, 53)),
                Err(Drop::IpEarly),
            ),
            (
                "IPv4 before a lease",
                FromVm,
                None,
                ipv4(VM, ip(50), wan, 1, b"ping"),
                Err(Drop::IpEarly),
            ),
            (
                "IPv4 to the WAN from its address",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), wan, TCP, &udp(40000, 80)),
                Ok(()),
            ),
            (
                "forged source IP",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(51), wan, 1, b"ping"),
                Err(Drop::ForgedIp),
            ),
            (
                "forged source MAC",
                FromVm,
                Some(ip(50)),
                ipv4(OTHER, ip(50), wan, 1, b"ping"),
                Err(Drop::ForgedMac),
            ),
            (
                "DNS to the gateway",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), ip(1), UDP, &udp(5000, 53)),
                Ok(()),
            ),
            (
                "ssh to the host (gateway)",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), ip(1), TCP, &udp(40000, 22)),
                Err(Drop::VmToHost),
            ),
            (
                "ping another VM",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), ip(60), 1, b"ping"),
                Err(Drop::VmToVm),
            ),
            (
                "subnet broadcast",
                FromVm,
                Some(ip(50)),
                ipv4(VM, ip(50), ip(255), UDP, &udp(1, 2)),
                Err(Drop::VmToVm),
            ),
            (
                "IPv6",
                FromVm,
                Some(ip(50)),
                eth(VM, GW_MAC, 0x86dd, &[0x60; 40]),
                Err(Drop::Ipv6),
            ),
            (
                "VLAN tag",
                FromVm,
                Some(ip(50)),
                eth(VM, GW_MAC, 0x8100, &[0; 40]),
                Err(Drop::OtherEthertype),
            ),
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
                Some(ip(50)),
                arp(VM, ip(50), ip(1)),
                Ok(()),
            ),
            (
                "gratuitous ARP",
                FromVm,
                Some(ip(50)),
                arp(VM, ip(50), ip(50)),
                Ok(()),
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
                Some(ip(50)),
                arp(VM, ip(60), ip(1)),
                Err(Drop::ArpIp),
            ),
            (
                "ARP with another MAC inside",
                FromVm,
                Some(ip(50)),
                {
                    let mut f = arp(OTHER, ip(50), ip(1));
                    f[6..12].copy_from_slice(&VM);
                    f
                },
                Err(Drop::ArpMac),
            ),
            (
                "ARP for another VM",
                FromVm,
                Some(ip(50)),
                arp(VM, ip(50), ip(60)),
                Err(Drop::ArpTarget),
            ),
            ("runt", FromVm, None, vec![0; 10], Err(Drop::Runt)),
            (
                "from another VM",
                ToVm,
                Some(ip(50)),
                ipv4(OTHER, ip(60), ip(50), 1, b"ping"),
                Err(Drop::VmToVm),
            ),
            (
                "ARP from another VM",
                ToVm,
                Some(ip(50)),
                arp(OTHER, ip(60), ip(50)),
                Err(Drop::VmToVm),
            ),
            (
                "from the gateway",
                ToVm,
                Some(ip(50)),
                ipv4(GW_MAC, ip(1), ip(50), UDP, &udp(53, 5000)),
                Ok(()),
            ),
            (
                "from the WAN",
                ToVm,
                Some(ip(50)),
                ipv4(GW_MAC, wan, ip(50), TCP, &udp(80, 40000)),
                Ok(()),
            ),
            (
                "IPv6 to the VM",
                ToVm,
                Some(ip(50)),
                eth(GW_MAC, VM, 0x86dd, &[0x60; 40]),
                Err(Drop::Ipv6),
            ),
        ]
    }

    #[test]
    fn every_example_frame_gets_its_verdict() {
        for (what, way, address, frame, expected) in table() {
            let mut policy = policy(address);
            let got = match way {
                Way::FromVm => policy.from_vm(&frame),
                Way::ToVm => policy.to_vm(&frame),
            };
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn a_vm_that_is_not_no_local_passes_everything() {
        for (what, way, address, frame, _) in table() {
            let mut policy = policy(address);
            policy.no_local = false;
            let got = match way {
                Way::FromVm => policy.from_vm(&frame),
                Way::ToVm => policy.to_vm(&frame),
            };
            assert!(got.is_ok() || got == Err(Drop::Runt), "{what}: {got:?}");
        }
    }

    #[test]
    fn the_address_is_learned_from_the_dhcp_ack_for_its_mac() {
        let mut policy = policy(None);
        let ack = |chaddr, kind| {
            ipv4(
                GW_MAC,
                ip(1),
                ip(77),
                UDP,
                &l4(67, 68, &dhcp(2, chaddr, ip(77), kind)),
            )
        };
        assert_eq!(policy.to_vm(&ack(VM, 2)), Ok(()), "an offer");
        assert_eq!(policy.address(), None, "an offer teaches nothing");
        policy.to_vm(&ack(OTHER, 5)).unwrap();
        assert_eq!(policy.address(), None, "another VM's ack teaches nothing");
        policy.to_vm(&ack(VM, 5)).unwrap();
        assert_eq!(policy.address(), Some(ip(77)));
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        assert_eq!(policy.from_vm(&ipv4(VM, ip(77), wan, 1, b"ping")), Ok(()));
        assert_eq!(
            policy.from_vm(&ipv4(VM, ip(78), wan, 1, b"ping")),
            Err(Drop::ForgedIp)
        );
        // Garbage never panics.
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|i| u8::try_from(i * 7 % 251).unwrap())
                .collect();
            let _ = policy.to_vm(&junk);
            let _ = policy.from_vm(&junk);
        }
    }
}
