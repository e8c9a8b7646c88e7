//! IPv4 addresses and routes: adding an address, the default route's interface, and the
//! read-only dumps of routes and addresses for subnet conflict checks.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::Ipv4Network;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::error::{EEXIST, failed};
use super::{Netlink, NetlinkError};

impl Netlink {
    /// Adds `addr/prefix_len` to link `index`; an address already there is fine.
    pub fn add_address(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet;
        message.header.prefix_len = prefix_len;
        message.header.index = index;
        message.attributes.extend([
            AddressAttribute::Local(IpAddr::V4(addr)),
            AddressAttribute::Address(IpAddr::V4(addr)),
        ]);
        let request = RouteNetlinkMessage::NewAddress(message);
        match self.request(request, NLM_F_CREATE | NLM_F_EXCL) {
            Err(source) if source.raw_os_error() != Some(EEXIST) => {
                Err(self.link_error("add address to", index, source))
            }
            _ => Ok(()),
        }
    }
    /// Name of the interface of the IPv4 default route of the main table (the one with the
    /// lowest metric), if any.
    pub fn default_route_interface(&mut self) -> Result<Option<String>, NetlinkError> {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        let replies = self
            .request(RouteNetlinkMessage::GetRoute(message), NLM_F_DUMP)
            .map_err(failed("list", "IPv4 routes"))?;
        let best = replies.iter().filter_map(default_route).min();
        let Some((_, index)) = best else {
            return Ok(None);
        };
        let link = self.link_by_index(index);
        Ok(link
            .map_err(failed("look up link", format!("ifindex {index}")))?
            .map(|link| link.name))
    }
}

/// One IPv4 route of the main table, as [`Netlink::routes`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub destination: Ipv4Network,
    /// The output interface's name.
    pub device: Option<String>,
    pub gateway: Option<Ipv4Addr>,
}

/// Read-only dumps of the IPv4 routes and addresses, for subnet conflict checks.
impl Netlink {
    /// The unicast IPv4 routes of the main table (the default route included).
    pub fn routes(&mut self) -> Result<Vec<RouteInfo>, NetlinkError> {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        let replies = self
            .request(RouteNetlinkMessage::GetRoute(message), NLM_F_DUMP)
            .map_err(failed("list", "IPv4 routes"))?;
        let names = self.link_names()?;
        Ok(replies
            .iter()
            .filter_map(main_table_route)
            .map(|(destination, oif, gateway)| RouteInfo {
                destination,
                device: oif.and_then(|index| names.get(&index).cloned()),
                gateway,
            })
            .collect())
    }

    /// Every IPv4 address of this namespace: the interface's name and the address with its
    /// prefix length.
    pub fn ipv4_addresses(&mut self) -> Result<Vec<(String, Ipv4Network)>, NetlinkError> {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet;
        let replies = self
            .request(RouteNetlinkMessage::GetAddress(message), NLM_F_DUMP)
            .map_err(failed("list", "IPv4 addresses"))?;
        let names = self.link_names()?;
        Ok(replies
            .iter()
            .filter_map(ipv4_address)
            .map(|(index, address)| {
                let name = names
                    .get(&index)
                    .cloned()
                    .unwrap_or_else(|| format!("ifindex {index}"));
                (name, address)
            })
            .collect())
    }

    fn link_names(&mut self) -> Result<HashMap<u32, String>, NetlinkError> {
        Ok(self
            .links()?
            .into_iter()
            .map(|link| (link.index, link.name))
            .collect())
    }
}

/// (destination, output ifindex, gateway) of a unicast IPv4 route of the main table.
fn main_table_route(
    reply: &RouteNetlinkMessage,
) -> Option<(Ipv4Network, Option<u32>, Option<Ipv4Addr>)> {
    let RouteNetlinkMessage::NewRoute(route) = reply else {
        return None;
    };
    let header = &route.header;
    if header.address_family != AddressFamily::Inet || header.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(header.table);
    let (mut destination, mut oif, mut gateway) = (Ipv4Addr::UNSPECIFIED, None, None);
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Destination(RouteAddress::Inet(address)) => destination = *address,
            RouteAttribute::Gateway(RouteAddress::Inet(address)) => gateway = Some(*address),
            RouteAttribute::Oif(index) => oif = Some(*index),
            RouteAttribute::MultiPath(hops) => {
                oif = oif.or(hops.first().map(|hop| hop.interface_index));
            }
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let destination = Ipv4Network::new(destination, header.destination_prefix_length).ok()?;
    let destination = Ipv4Network::new(destination.network(), destination.prefix()).ok()?;
    Some((destination, oif, gateway))
}

/// (ifindex, address/prefix) of an IPv4 RTM_NEWADDR reply. IFA_LOCAL is the interface's own
/// address; IFA_ADDRESS is the peer's on a point-to-point link, so it only counts without one.
fn ipv4_address(reply: &RouteNetlinkMessage) -> Option<(u32, Ipv4Network)> {
    let RouteNetlinkMessage::NewAddress(message) = reply else {
        return None;
    };
    if message.header.family != AddressFamily::Inet {
        return None;
    }
    let (mut local, mut address) = (None, None);
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(IpAddr::V4(ip)) => local = Some(*ip),
            AddressAttribute::Address(IpAddr::V4(ip)) => address = Some(*ip),
            _ => {}
        }
    }
    let network = Ipv4Network::new(local.or(address)?, message.header.prefix_len).ok()?;
    Some((message.header.index, network))
}
/// (metric, output ifindex) of an IPv4 default route of the main table.
fn default_route(reply: &RouteNetlinkMessage) -> Option<(u32, u32)> {
    let RouteNetlinkMessage::NewRoute(route) = reply else {
        return None;
    };
    let header = &route.header;
    if header.destination_prefix_length != 0 || header.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(header.table);
    let (mut metric, mut oif) = (0, None);
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Priority(value) => metric = *value,
            RouteAttribute::Oif(index) => oif = Some(*index),
            RouteAttribute::MultiPath(hops) => {
                oif = oif.or(hops.first().map(|hop| hop.interface_index));
            }
            _ => {}
        }
    }
    (table == u32::from(RouteHeader::RT_TABLE_MAIN))
        .then_some(oif)
        .flatten()
        .map(|oif| (metric, oif))
}
