//! Links: listing and looking them up, creating bridges, veth pairs and macvlan/macvtap
//! links, changing (master, up, MAC) and deleting them.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoMacVlan, InfoMacVtap, InfoVeth, LinkAttribute, LinkFlags,
    LinkInfo as Info, LinkMessage, MacVlanMode,
};

use super::error::{ENODEV, failed};
use super::{Netlink, NetlinkError};
use crate::model::profile::kernel_refuses_interface_name;

/// One link of the current network namespace, as [`Netlink::links`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: "bridge", "veth", "tun", "macvtap", "macvlan", ...; None for physical NICs.
    pub kind: Option<String>,
    /// Index of the bridge (or bond, ...) this link is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// `IFLA_IFALIAS`: vmctl marks the links it makes (`vmctl:<vm>`).
    pub alias: Option<String>,
    pub up: bool,
}

impl Netlink {
    /// ifindex of a link in this network namespace, None if absent.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, NetlinkError> {
        kernel_name("look up link", name)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        let link = self
            .get_link(message)
            .map_err(failed("look up link", name))?;
        Ok(link.map(|link| link.index))
    }

    /// The link named `name`, None if absent.
    pub fn link_named(&mut self, name: &str) -> Result<Option<LinkInfo>, NetlinkError> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        self.get_link(message).map_err(failed("look up link", name))
    }

    /// Set link `index`'s alias (`ip link set ... alias`).
    pub fn set_alias(&mut self, index: u32, alias: &str) -> Result<(), NetlinkError> {
        self.change("mark", index, |link| {
            link.attributes
                .push(LinkAttribute::IfAlias(alias.to_owned()));
        })
    }

    /// Every link in this namespace.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let request = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let replies = self
            .request(request, NLM_F_DUMP)
            .map_err(failed("list", "links"))?;
        Ok(replies.into_iter().filter_map(link_info).collect())
    }

    /// A bridge, created down, with the given MAC address if Some (else the kernel's); returns
    /// its ifindex.
    ///
    /// LLDP frames (01:80:c2:00:00:0e) are forwarded like any other (`group_fwd_mask`), not
    /// handed to the host past every bridge netfilter hook, source MAC learned: so the rules
    /// see them (and drop them from a VM).
    pub fn add_bridge(&mut self, name: &str, mac: Option<[u8; 6]>) -> Result<u32, NetlinkError> {
        kernel_name("create bridge", name)?;
        let forward_lldp = InfoData::Bridge(vec![InfoBridge::GroupFwdMask(1 << 0x0e)]);
        let mut message = new_link(name, InfoKind::Bridge, Some(forward_lldp));
        message
            .attributes
            .extend(mac.map(|mac| LinkAttribute::Address(mac.to_vec())));
        self.create("create bridge", name, message)
    }

    /// A veth pair: `host` (with `host_mac`) stays in this namespace, its peer is created
    /// directly inside the network namespace `peer_netns` (e.g. an open `/run/netns/NAME`) as
    /// `peer_name` with `peer_mac`. Returns the host end's ifindex.
    pub fn add_veth(
        &mut self,
        host: &str,
        host_mac: [u8; 6],
        peer_name: &str,
        peer_mac: [u8; 6],
        peer_netns: &File,
    ) -> Result<u32, NetlinkError> {
        kernel_name("create veth pair", host)?;
        kernel_name("create veth pair", peer_name)?;
        // The peer is a whole ifinfomsg nested in VETH_INFO_PEER; its IFLA_NET_NS_FD moves only
        // the peer.
        let mut peer = LinkMessage::default();
        peer.attributes.extend([
            LinkAttribute::IfName(peer_name.into()),
            LinkAttribute::Address(peer_mac.to_vec()),
            LinkAttribute::NetNsFd(peer_netns.as_raw_fd()),
        ]);
        let data = InfoData::Veth(InfoVeth::Peer(peer));
        let mut message = new_link(host, InfoKind::Veth, Some(data));
        message
            .attributes
            .push(LinkAttribute::Address(host_mac.to_vec()));
        self.create("create veth pair", host, message)
    }

    /// A macvlan (`tap` false) or macvtap (`tap` true) link in bridge mode on the `parent`
    /// ifindex (of this namespace), with `mac`. Returns its ifindex, or None with `netns`: the
    /// link is then created directly inside that namespace as `name`, where its index is not
    /// known from here.
    pub fn add_macvlan(
        &mut self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
        tap: bool,
        netns: Option<&File>,
    ) -> Result<Option<u32>, NetlinkError> {
        kernel_name(
            if tap {
                "create macvtap"
            } else {
                "create macvlan"
            },
            name,
        )?;
        let bridge = MacVlanMode::Bridge;
        let (op, kind, data) = if tap {
            let data = InfoData::MacVtap(vec![InfoMacVtap::Mode(bridge)]);
            ("create macvtap", InfoKind::MacVtap, data)
        } else {
            let data = InfoData::MacVlan(vec![InfoMacVlan::Mode(bridge)]);
            ("create macvlan", InfoKind::MacVlan, data)
        };
        let mut message = new_link(name, kind, Some(data));
        message.attributes.extend([
            LinkAttribute::Link(parent),
            LinkAttribute::Address(mac.to_vec()),
        ]);
        let Some(netns) = netns else {
            return self.create(op, name, message).map(Some);
        };
        message
            .attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        self.request(
            RouteNetlinkMessage::NewLink(message),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(failed(op, name))?;
        Ok(None)
    }

    /// Enslaves link `index` to the bridge `master`.
    pub fn set_master(&mut self, index: u32, master: u32) -> Result<(), NetlinkError> {
        self.change("attach to bridge", index, |link| {
            link.attributes.push(LinkAttribute::Controller(master));
        })
    }

    pub fn set_up(&mut self, index: u32) -> Result<(), NetlinkError> {
        self.change("bring up", index, |link| {
            link.header.flags = LinkFlags::Up;
            link.header.change_mask = LinkFlags::Up;
        })
    }

    pub fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<(), NetlinkError> {
        self.change("set MAC address of", index, |link| {
            link.attributes.push(LinkAttribute::Address(mac.to_vec()));
        })
    }
    /// Deletes link `index` (a veth pair goes as a whole); a link already gone is fine.
    pub fn delete_link(&mut self, index: u32) -> Result<(), NetlinkError> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        match self.request(RouteNetlinkMessage::DelLink(message), 0) {
            Err(source) if source.raw_os_error() != Some(ENODEV) => {
                Err(self.link_error("delete", index, source))
            }
            _ => Ok(()),
        }
    }

    /// Deletes the link named `name`, if there is one.
    pub fn delete_named(&mut self, name: &str) -> Result<(), NetlinkError> {
        match self.link_index(name)? {
            Some(index) => self.delete_link(index),
            None => Ok(()),
        }
    }
    pub(super) fn link_by_index(&mut self, index: u32) -> io::Result<Option<LinkInfo>> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        self.get_link(message)
    }

    /// The link `message` (RTM_GETLINK) names, None if absent.
    fn get_link(&mut self, message: LinkMessage) -> io::Result<Option<LinkInfo>> {
        match self.request(RouteNetlinkMessage::GetLink(message), 0) {
            Ok(replies) => Ok(replies.into_iter().find_map(link_info)),
            Err(error) if error.raw_os_error() == Some(ENODEV) => Ok(None),
            Err(error) => Err(error),
        }
    }
    /// Creates the link `message` describes, in this namespace, and returns its ifindex.
    fn create(
        &mut self,
        op: &'static str,
        name: &str,
        message: LinkMessage,
    ) -> Result<u32, NetlinkError> {
        let request = RouteNetlinkMessage::NewLink(message);
        self.request(request, NLM_F_CREATE | NLM_F_EXCL)
            .map_err(failed(op, name))?;
        let gone = || io::Error::new(io::ErrorKind::NotFound, "created, but gone right after");
        self.link_index(name)?
            .ok_or_else(|| failed(op, name)(gone()))
    }

    fn change(
        &mut self,
        op: &'static str,
        index: u32,
        edit: impl FnOnce(&mut LinkMessage),
    ) -> Result<(), NetlinkError> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        edit(&mut message);
        self.request(RouteNetlinkMessage::SetLink(message), 0)
            .map(drop)
            .map_err(|source| self.link_error(op, index, source))
    }
}

/// A name the kernel would refuse never goes into a message: past 15 bytes the kernel answers
/// ERANGE, and past 64 KiB netlink-packet-route panics building the attribute.
fn kernel_name(op: &'static str, name: &str) -> Result<(), NetlinkError> {
    match kernel_refuses_interface_name(name) {
        None => Ok(()),
        Some(reason) => Err(failed(op, crate::error::printable(name))(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not an interface name: {reason}"),
        ))),
    }
}

/// An RTM_NEWLINK body for a new link `name` of `kind`.
fn new_link(name: &str, kind: InfoKind, data: Option<InfoData>) -> LinkMessage {
    let mut info = vec![Info::Kind(kind)];
    info.extend(data.map(Info::Data));
    let mut message = LinkMessage::default();
    message.attributes.extend([
        LinkAttribute::IfName(name.to_owned()),
        LinkAttribute::LinkInfo(info),
    ]);
    message
}

/// The link an RTM_NEWLINK reply describes.
fn link_info(reply: RouteNetlinkMessage) -> Option<LinkInfo> {
    let RouteNetlinkMessage::NewLink(link) = reply else {
        return None;
    };
    let (mut name, mut kind, mut master) = (String::new(), None, None);
    let (mut mac, mut alias) = (None, None);
    for attribute in link.attributes {
        match attribute {
            LinkAttribute::IfName(value) => name = value,
            LinkAttribute::Address(bytes) => mac = <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            LinkAttribute::IfAlias(value) => alias = Some(value),
            LinkAttribute::Controller(index) => master = Some(index),
            LinkAttribute::LinkInfo(infos) => {
                kind = infos.into_iter().find_map(|info| match info {
                    Info::Kind(value) => Some(value.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    Some(LinkInfo {
        index: link.header.index,
        name,
        kind,
        master,
        mac,
        alias,
        up: link.header.flags.contains(LinkFlags::Up),
    })
}
