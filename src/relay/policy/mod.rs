//! The frame policy of a VM, in userspace: what the macOS helper (and the Linux socket relay)
//! applies to every Ethernet frame between the VM and its network. It means what the Linux nft
//! plan means, and says why it drops a frame in the same words as the plan's counted rules
//! (`plan::linux::counters`).
//!
//! The floor, for every VM: it is pinned to its identity, and serves nobody DHCP.
//!
//! - from the VM: only its own MAC; no 802.1Q / 802.1ad tags; no IPv6 (vmctl networks are IPv4
//!   only, so no router advertisement and no DHCPv6 server either); ARP only with its MAC and
//!   its address (0.0.0.0 probes pass); IPv4 only from its address, except DHCP from 0.0.0.0;
//!   DHCP client messages only for its own MAC (chaddr); no DHCP server traffic; nothing else;
//! - to the VM: no IPv6; DHCP replies only from the gateway (its address, and its MAC when
//!   known);
//! - its address is the reservation, else what the gateway's DHCP ACK for its MAC says (naming
//!   the gateway as its server if it names one, giving an address of the network): a forged ACK moves no rules.
//!
//! A no-local VM is also kept apart:
//!
//! - from the VM: ARP asking only for the gateway; to the host only DHCP and DNS at the
//!   gateway; nothing to other VMs of its network;
//! - to the VM: nothing from other VMs of its network.
//!
//! A bridged VM (macOS) is on a LAN vmctl does not own: it has no gateway here (0.0.0.0), so
//! DHCP replies from the LAN's server pass, and teach its address when they are for its MAC.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::plan::linux::counters as c;

/// Why a frame was dropped (the words of the nft plan's counted rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drop {
    Runt,
    ForgedMac,
    Tagged,
    Ipv6,
    ArpMac,
    ArpEarly,
    ArpIp,
    ArpTarget,
    OtherEthertype,
    IpEarly,
    ForgedIp,
    DhcpChaddr,
    /// DHCP server traffic from the VM, or a DHCP reply to it not from the gateway (whoever
    /// else serves DHCP on a vmctl network is a VM).
    DhcpServer,
    VmToVm,
    VmToHost,
}

impl Drop {
    pub fn reason(self) -> &'static str {
        match self {
            Drop::Runt => "a frame too short to be Ethernet",
            Drop::ForgedMac => c::FORGED_MAC,
            Drop::Tagged => c::TAGGED,
            Drop::Ipv6 => c::IPV6,
            Drop::ArpMac => c::ARP_MAC,
            Drop::ArpEarly | Drop::ArpIp => c::ARP_IP,
            Drop::ArpTarget | Drop::VmToVm => c::VM_TO_VM,
            Drop::OtherEthertype => c::OTHER_ETHERTYPE,
            Drop::IpEarly | Drop::ForgedIp => c::FORGED_IP,
            Drop::DhcpChaddr => c::DHCP_CHADDR,
            Drop::DhcpServer => c::DHCP_SERVER,
            Drop::VmToHost => c::VM_TO_HOST,
        }
    }
}

pub type Verdict = Result<(), Drop>;

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad, and the QinQ tag that came before 802.1ad.
const ETH_TAGGED: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const UDP: u8 = 17;
const TCP: u8 = 6;
const DHCP_SERVER: u16 = 67;
const DHCP_CLIENT: u16 = 68;
const DHCP_MAGIC: [u8; 4] = [99, 130, 83, 99];

/// One VM's policy and what it has learned.
#[derive(Debug, Clone)]
pub struct FramePolicy {
    mac: [u8; 6],
    no_local: bool,
    /// The network's gateway, its DHCP server; 0.0.0.0 for a bridged VM (none vmctl knows).
    gateway: Ipv4Addr,
    /// The gateway's MAC, when known: DHCP replies must come from it too. On Linux the
    /// gateway is the network's bridge (`plan::linux::bridge_mac`); on macOS, the host's
    /// vmnet bridge, found by its address (`relay::ports::vmnet_gateway_mac`).
    gateway_mac: Option<[u8; 6]>,
    subnet: Ipv4Network,
    /// The VM's address: its reservation, else the gateway's last DHCP ACK for its MAC.
    address: Option<Ipv4Addr>,
}

/// The fields of an IPv4 packet the policy looks at.
struct Ipv4<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    /// Fragment offset 0: the payload starts with the transport header.
    first_fragment: bool,
    /// The transport header and payload.
    payload: &'a [u8],
}

impl Ipv4<'_> {
    fn ports(&self) -> Option<(u16, u16)> {
        (matches!(self.proto, UDP | TCP) && self.first_fragment && self.payload.len() >= 4)
            .then(|| (be16(self.payload, 0), be16(self.payload, 2)))
    }

    fn udp_ports(&self) -> Option<(u16, u16)> {
        self.ports().filter(|_| self.proto == UDP)
    }

    fn is_dhcp_request(&self) -> bool {
        self.udp_ports() == Some((DHCP_CLIENT, DHCP_SERVER))
    }

    fn is_dhcp_reply(&self) -> bool {
        self.udp_ports() == Some((DHCP_SERVER, DHCP_CLIENT))
    }

    /// The BOOTP message of a DHCP datagram (after the UDP header).
    fn bootp(&self) -> &[u8] {
        self.payload.get(8..).unwrap_or_default()
    }
}

/// The client hardware address of a BOOTP message.
fn chaddr(bootp: &[u8]) -> Option<&[u8]> {
    bootp.get(28..34)
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

fn source_mac(frame: &[u8]) -> &[u8] {
    &frame[6..12]
}

fn ipv4(frame: &[u8]) -> Option<Ipv4<'_>> {
    let ip = frame.get(14..)?;
    let header = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || header < 20 || ip.len() < header {
        return None;
    }
    let total = usize::from(be16(ip, 2)).clamp(header, ip.len());
    let fragment_offset = be16(ip, 6) & 0x1fff;
    Some(Ipv4 {
        src: ip_at(ip, 12),
        dst: ip_at(ip, 16),
        proto: ip[9],
        first_fragment: fragment_offset == 0,
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
    /// `gateway_mac`: `None` when it cannot be known (DHCP replies are then checked by the
    /// gateway's address alone).
    pub fn new(
        mac: [u8; 6],
        no_local: bool,
        gateway: Ipv4Addr,
        gateway_mac: Option<[u8; 6]>,
        subnet: Ipv4Network,
        reservation: Option<Ipv4Addr>,
    ) -> FramePolicy {
        FramePolicy {
            mac,
            no_local,
            gateway,
            gateway_mac,
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

    /// Did the gateway send this DHCP reply: its address, and its MAC when known? A bridged
    /// VM's DHCP server is the LAN's, which vmctl does not know.
    fn sent_by_gateway(&self, frame: &[u8], ip: &Ipv4) -> bool {
        self.gateway.is_unspecified()
            || (ip.src == self.gateway
                && self.gateway_mac.is_none_or(|mac| source_mac(frame) == mac))
    }

    /// A frame the VM sends.
    pub fn from_vm(&self, frame: &[u8]) -> Verdict {
        if frame.len() < 14 {
            return Err(Drop::Runt);
        }
        if source_mac(frame) != self.mac {
            return Err(Drop::ForgedMac);
        }
        match ethertype(frame) {
            ETH_ARP => self.arp_from_vm(frame),
            ETH_IPV4 => self.ipv4_from_vm(frame),
            ETH_IPV6 => Err(Drop::Ipv6),
            tagged if ETH_TAGGED.contains(&tagged) => Err(Drop::Tagged),
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
        if self.no_local && target != self.gateway && target != sender && self.other_vm(target) {
            return Err(Drop::ArpTarget);
        }
        Ok(())
    }

    fn ipv4_from_vm(&self, frame: &[u8]) -> Verdict {
        let ip = ipv4(frame).ok_or(Drop::OtherEthertype)?;
        match ip.udp_ports() {
            Some((DHCP_SERVER, _) | (_, DHCP_CLIENT)) => return Err(Drop::DhcpServer),
            // A RELEASE or REQUEST for another VM, even from its own address.
            Some((_, DHCP_SERVER)) if chaddr(ip.bootp()) != Some(&self.mac[..]) => {
                return Err(Drop::DhcpChaddr);
            }
            _ => {}
        }
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
        if !self.no_local {
            return Ok(());
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

    /// A frame for the VM; the gateway's DHCP ACK for the VM's MAC teaches the policy its
    /// address.
    pub fn to_vm(&mut self, frame: &[u8]) -> Verdict {
        if frame.len() < 14 {
            return Err(Drop::Runt);
        }
        match ethertype(frame) {
            ETH_IPV4 => match ipv4(frame) {
                Some(ip) if ip.is_dhcp_reply() => {
                    let reply = DhcpReply::parse(ip.bootp());
                    if !self.sent_by_gateway(frame, &ip)
                        || reply.as_ref().is_some_and(|r| !self.serves(r))
                    {
                        return Err(Drop::DhcpServer);
                    }
                    if let Some(reply) = reply {
                        self.learn(&reply);
                    }
                    Ok(())
                }
                Some(ip) if self.no_local && self.other_vm(ip.src) => Err(Drop::VmToVm),
                _ => Ok(()),
            },
            ETH_ARP => match arp(frame) {
                Some((_, sender, _)) if self.no_local && self.other_vm(sender) => Err(Drop::VmToVm),
                _ => Ok(()),
            },
            ETH_IPV6 => Err(Drop::Ipv6),
            _ => Ok(()),
        }
    }

    /// A reply that names its server (option 54) names the gateway (bootpd names the address
    /// of the interface it answers on); a bridged VM's server is the LAN's.
    fn serves(&self, reply: &DhcpReply) -> bool {
        self.gateway.is_unspecified() || reply.server.is_none_or(|id| id == self.gateway)
    }

    /// The gateway's ACK (its sender checked by the caller) teaches the VM's address when it
    /// is for this VM (its MAC in `chaddr`) and gives an address a VM of the network can have.
    fn learn(&mut self, reply: &DhcpReply) {
        let usable = self.gateway.is_unspecified()
            || (self.subnet.contains(reply.yiaddr)
                && reply.yiaddr != self.gateway
                && reply.yiaddr != self.subnet.network()
                && reply.yiaddr != self.subnet.broadcast());
        if reply.kind == Some(DHCP_ACK) && reply.chaddr == self.mac && usable {
            self.address = Some(reply.yiaddr);
        }
    }
}

/// DHCP's ACK message type (option 53).
const DHCP_ACK: u8 = 5;

/// What the policy reads of a BOOTP reply (op 2) with DHCP's magic cookie.
struct DhcpReply {
    chaddr: [u8; 6],
    yiaddr: Ipv4Addr,
    /// Option 53.
    kind: Option<u8>,
    /// Option 54, the server identifier.
    server: Option<Ipv4Addr>,
}

impl DhcpReply {
    fn parse(bootp: &[u8]) -> Option<DhcpReply> {
        if bootp.len() < 240 || bootp[0] != 2 || bootp[236..240] != DHCP_MAGIC {
            return None;
        }
        let mut reply = DhcpReply {
            chaddr: chaddr(bootp)?.try_into().ok()?,
            yiaddr: ip_at(bootp, 16),
            kind: None,
            server: None,
        };
        let mut options = &bootp[240..];
        while let [code, rest @ ..] = options {
            match code {
                0 => options = rest,
                255 => break,
                _ => {
                    let (&len, rest) = rest.split_first()?;
                    let value = rest.get(..usize::from(len))?;
                    match (code, value) {
                        (53, [kind]) => reply.kind = Some(*kind),
                        (54, &[a, b, c, d]) => reply.server = Some(Ipv4Addr::new(a, b, c, d)),
                        _ => {}
                    }
                    options = &rest[usize::from(len)..];
                }
            }
        }
        Some(reply)
    }
}

#[cfg(test)]
pub mod frames;
#[cfg(test)]
mod tests;
