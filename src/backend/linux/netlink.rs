//! Links through rtnetlink (synchronous): bridges, veth pairs, macvlan/macvtap, addresses, ...
//!
//! One request at a time on a blocking `NETLINK_ROUTE` socket: every request asks for an
//! acknowledgement and reads replies until the ACK, error or end of dump carrying its sequence
//! number. Kernel errors come back as `io::Error`s with the errno, so callers can tell EPERM
//! (no CAP_NET_ADMIN), EEXIST or ENODEV apart.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use ipnetwork::Ipv4Network;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoMacVtap, InfoVeth, LinkAttribute, LinkFlags,
    LinkInfo as Info, LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// A failed rtnetlink request: the operation, the interface it was about, and the kernel's errno.
#[derive(Debug, thiserror::Error)]
#[error("{op} {name}: {source}")]
pub struct NetlinkError {
    pub op: &'static str,
    pub name: String,
    #[source]
    pub source: io::Error,
}

impl NetlinkError {
    /// The kernel refused for lack of privilege (EPERM/EACCES): not root, or no CAP_NET_ADMIN.
    pub fn is_permission(&self) -> bool {
        self.source.kind() == io::ErrorKind::PermissionDenied
    }

    /// The errno the kernel answered with, if the failure came from the kernel or a syscall.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// One link of the current network namespace, as [`Netlink::links`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: "bridge", "veth", "tun", "macvtap", "macvlan", ...; None for physical NICs.
    pub kind: Option<String>,
    /// Index of the bridge (or bond, ...) this link is enslaved to.
    pub master: Option<u32>,
}

/// A `NETLINK_ROUTE` socket in the caller's network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;

impl Netlink {
    pub fn open() -> Result<Netlink, NetlinkError> {
        fn socket() -> io::Result<Socket> {
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            socket.bind_auto()?;
            socket.connect(&SocketAddr::new(0, 0))?; // only the kernel may talk to us
            Ok(socket)
        }
        let socket = socket().map_err(failed("open", "rtnetlink socket"))?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    /// ifindex of a link in this network namespace, None if absent.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, NetlinkError> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.into()));
        let link = self
            .get_link(message)
            .map_err(failed("look up link", name))?;
        Ok(link.map(|link| link.index))
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
    pub fn add_bridge(&mut self, name: &str, mac: Option<[u8; 6]>) -> Result<u32, NetlinkError> {
        let mut message = new_link(name, InfoKind::Bridge, None);
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

    fn link_by_index(&mut self, index: u32) -> io::Result<Option<LinkInfo>> {
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

    /// An error about link `index`, named by its name when it still has one.
    fn link_error(&mut self, op: &'static str, index: u32, source: io::Error) -> NetlinkError {
        let name = match self.link_by_index(index) {
            Ok(Some(link)) => format!("{} (ifindex {index})", link.name),
            _ => format!("ifindex {index}"),
        };
        NetlinkError { op, name, source }
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

    /// Sends `message` with NLM_F_REQUEST | NLM_F_ACK | `flags` and collects the replies up to
    /// the ACK (or NLMSG_DONE for a dump). A negative ACK becomes the error, with its errno.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buffer = vec![0; packet.buffer_len()];
        packet.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let mut replies = Vec::new();
        loop {
            let datagram = match self.socket.recv_from_full() {
                Ok((datagram, _)) => datagram,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            let mut rest = datagram.as_slice();
            while !rest.is_empty() {
                let length = NetlinkBuffer::new_checked(rest).map_err(invalid)?.length() as usize;
                let (this, next) = rest.split_at(length.next_multiple_of(4).min(rest.len()));
                rest = next;
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(this).map_err(invalid)?;
                // Anything else is left over from an earlier request that failed half-way.
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(error) if error.code.is_some() => {
                        return Err(error.to_io());
                    }
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(io::Error::from_raw_os_error(-done.code));
                    }
                    NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
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

/// For `map_err`: an error of `op` on `name`.
fn failed(op: &'static str, name: impl Into<String>) -> impl FnOnce(io::Error) -> NetlinkError {
    let name = name.into();
    move |source| NetlinkError { op, name, source }
}

#[allow(clippy::needless_pass_by_value)] // shaped for map_err
fn invalid(error: netlink_packet_core::DecodeError) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unreadable rtnetlink reply: {error}"),
    )
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
    for attribute in link.attributes {
        match attribute {
            LinkAttribute::IfName(value) => name = value,
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
    })
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

#[cfg(test)]
mod tests {
    //! Each `inner_*` test runs in a throw-away network and mount namespace: its outer test
    //! re-executes this test binary under `unshare -n -m` and the inner test refuses to run
    //! unless that outer test asked for it (and unless it finds a fresh namespace), so no link
    //! is ever made in the machine's own network namespace.

    use super::*;
    use std::process::Command;

    /// Set by the outer test for the re-executed binary.
    const GUARD: &str = "VMCTL_NETLINK_IN_PRIVATE_NETNS";

    /// Runs `inner` (a test of this module) in a new network and mount namespace, under the
    /// `wrapper` command if any. Skips when that cannot be done, unless VMCTL_REQUIRE_NETNS=1.
    fn in_private_netns(inner: &str, wrapper: &[&str]) {
        if let Some(why) = why_not_isolated(wrapper) {
            assert!(
                std::env::var_os("VMCTL_REQUIRE_NETNS").is_none_or(|v| v != "1"),
                "{inner}: {why}"
            );
            crate::test_support::say_skipped(&format!(
                "SKIPPED {inner}: {why} (set VMCTL_REQUIRE_NETNS=1 to fail instead)"
            ));
            return;
        }
        // module_path!() is crate::...::tests; test names leave the crate out.
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, path)| path);
        let output = Command::new("unshare")
            .args(["-n", "-m", "--propagation", "private"])
            .args(wrapper)
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &format!("{module}::{inner}"),
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(GUARD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{inner} failed in its namespace ({}):\n{stdout}\n{stderr}",
            output.status
        );
    }

    /// Why `in_private_netns` cannot run here, if it cannot.
    fn why_not_isolated(wrapper: &[&str]) -> Option<String> {
        if !is_root() {
            return Some("not root".to_owned());
        }
        for tool in ["unshare", "ip"]
            .into_iter()
            .chain(wrapper.first().copied())
        {
            if Command::new(tool).arg("-V").output().is_err() {
                return Some(format!("no {tool} command"));
            }
        }
        let probe = Command::new("unshare").args(["-n", "-m", "true"]).status();
        (!probe.is_ok_and(|status| status.success())).then(|| "unshare -n -m fails".to_owned())
    }

    fn is_root() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    }

    /// In the inner test: true when running where the outer test put it, with nothing but `lo`.
    fn isolated() -> bool {
        if std::env::var_os(GUARD).is_none() {
            eprintln!("skipped: runs only inside the namespace made by its outer test");
            return false;
        }
        let links = Netlink::open().unwrap().links().unwrap();
        assert!(
            links.len() == 1 && links[0].name == "lo",
            "refusing to run outside a fresh network namespace: {links:?}"
        );
        true
    }

    /// Runs `ip args`, which must succeed, and returns its output.
    fn ip(args: &str) -> String {
        let output = Command::new("ip")
            .args(args.split_whitespace())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "ip {args}: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// Asserts that the output of `ip args` contains every one of `parts`.
    fn ip_shows(args: &str, parts: &[&str]) {
        let shown = ip(args);
        let missing: Vec<_> = parts.iter().filter(|part| !shown.contains(*part)).collect();
        assert!(missing.is_empty(), "ip {args}: no {missing:?} in\n{shown}");
    }

    /// A named network namespace: mounts a tmpfs on /run first (this is a private mount
    /// namespace), so nothing shows up in the machine's /run.
    fn netns(name: &str) -> File {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs", "/run"])
            .status();
        assert!(status.unwrap().success(), "mount tmpfs on /run");
        ip(&format!("netns add {name}"));
        File::open(format!("/run/netns/{name}")).unwrap()
    }

    fn find(nl: &mut Netlink, name: &str) -> LinkInfo {
        nl.links()
            .unwrap()
            .into_iter()
            .find(|link| link.name == name)
            .unwrap()
    }

    const fn mac(last: u8) -> [u8; 6] {
        [0x52, 0x54, 0, 0, 0, last]
    }

    #[test]
    fn bridge_veth_and_addresses() {
        in_private_netns("inner_bridge_veth_and_addresses", &[]);
    }

    #[test]
    #[ignore = "run by bridge_veth_and_addresses in a private network namespace"]
    fn inner_bridge_veth_and_addresses() {
        if !isolated() {
            return;
        }
        let mut nl = Netlink::open().unwrap();
        assert_eq!(nl.link_index("vbr0").unwrap(), None);
        let bridge = nl.add_bridge("vbr0", Some(mac(1))).unwrap();
        assert_eq!(nl.link_index("vbr0").unwrap(), Some(bridge));
        assert_eq!(find(&mut nl, "vbr0").kind.as_deref(), Some("bridge"));
        ip_shows("-o link show vbr0", &["52:54:00:00:00:01", "state DOWN"]);
        let again = nl.add_bridge("vbr0", None).unwrap_err();
        assert_eq!(again.errno(), Some(EEXIST));
        assert!(
            again.to_string().starts_with("create bridge vbr0: "),
            "{again}"
        );
        assert!(nl.add_bridge("vbr1", None).unwrap() > bridge);

        let guest = netns("guest");
        let host = nl.add_veth("vm-a", [0xfe, 0x54, 0, 0, 0, 2], "eth0", mac(3), &guest);
        let host = host.unwrap();
        ip_shows("-o link show vm-a", &["vm-a@if", "fe:54:00:00:00:02"]);
        ip_shows("-n guest -o link show eth0", &["52:54:00:00:00:03"]);
        assert_eq!(nl.link_index("eth0").unwrap(), None);
        let taken = nl
            .add_veth("vm-b", mac(4), "eth0", mac(5), &guest)
            .unwrap_err();
        assert_eq!(taken.errno(), Some(EEXIST), "{taken}");
        assert_eq!(nl.link_index("vm-b").unwrap(), None);

        nl.set_master(host, bridge).unwrap();
        nl.set_up(bridge).unwrap();
        nl.set_up(host).unwrap();
        let listed = find(&mut nl, "vm-a");
        let expected = (host, Some("veth"), Some(bridge));
        assert_eq!(
            (listed.index, listed.kind.as_deref(), listed.master),
            expected
        );
        ip_shows("-o link show vm-a", &["master vbr0", ",UP"]);
        ip_shows("-o link show vbr0", &[",UP"]);

        nl.add_address(bridge, Ipv4Addr::new(10, 77, 0, 1), 24)
            .unwrap();
        nl.add_address(bridge, Ipv4Addr::new(10, 77, 0, 1), 24)
            .unwrap();
        assert_eq!(
            ip("-o -4 addr show dev vbr0")
                .matches("inet 10.77.0.1/24")
                .count(),
            1
        );
        ip_shows("-4 route show dev vbr0", &["10.77.0.0/24"]);
        nl.set_mac(bridge, mac(6)).unwrap();
        if std::path::Path::new("/dev/net/tun").exists() {
            ip("tuntap add dev vtap0 mode tap");
            let tap = find(&mut nl, "vtap0");
            nl.set_master(tap.index, bridge).unwrap();
            assert_eq!(find(&mut nl, "vtap0").kind.as_deref(), Some("tun"));
            assert_eq!(find(&mut nl, "vtap0").master, Some(bridge));
        }
        ip_shows("-o link show vbr0", &["52:54:00:00:00:06"]);

        let missing = nl.set_up(9999).unwrap_err();
        assert_eq!(missing.errno(), Some(ENODEV));
        let enodev = io::Error::from_raw_os_error(ENODEV);
        assert_eq!(
            missing.to_string(),
            format!("bring up ifindex 9999: {enodev}")
        );
        let error = nl.set_master(bridge, 9999).unwrap_err().to_string();
        assert!(error.starts_with(&format!("attach to bridge vbr0 (ifindex {bridge}): ")));

        nl.delete_link(host).unwrap();
        assert_eq!(nl.link_index("vm-a").unwrap(), None);
        assert!(
            !ip("-n guest -o link").contains("eth0"),
            "the peer goes with its pair"
        );
        nl.delete_link(host).unwrap();
        nl.delete_link(bridge).unwrap();
        assert_eq!(nl.link_index("vbr0").unwrap(), None);
    }

    #[test]
    fn macvlan_and_macvtap() {
        in_private_netns("inner_macvlan_and_macvtap", &[]);
    }

    #[test]
    #[ignore = "run by macvlan_and_macvtap in a private network namespace"]
    fn inner_macvlan_and_macvtap() {
        if !isolated() {
            return;
        }
        // The parent: a dummy would do, but not every kernel has one; a veth end always works.
        ip("link add d0 type veth peer name d0p");
        let mut nl = Netlink::open().unwrap();
        let parent = nl.link_index("d0").unwrap().unwrap();

        let vlan = nl.add_macvlan("mv0", parent, mac(1), false, None).unwrap();
        let listed = find(&mut nl, "mv0");
        assert_eq!(
            (Some(listed.index), listed.kind.as_deref()),
            (vlan, Some("macvlan"))
        );
        ip_shows(
            "-d -o link show mv0",
            &["mv0@d0", "52:54:00:00:00:01", "macvlan mode bridge"],
        );
        let vtap = nl
            .add_macvlan("mvt0", parent, mac(2), true, None)
            .unwrap()
            .unwrap();
        assert_eq!(find(&mut nl, "mvt0").kind.as_deref(), Some("macvtap"));
        ip_shows("-d -o link show mvt0", &["mvt0@d0", "macvtap mode bridge"]);
        nl.set_up(vtap).unwrap();

        let guest = netns("guest");
        let inside = nl.add_macvlan("eth0", parent, mac(3), false, Some(&guest));
        assert_eq!(inside.unwrap(), None);
        let inside = nl.add_macvlan("eth1", parent, mac(4), true, Some(&guest));
        assert_eq!(inside.unwrap(), None);
        let eth0 = ["eth0@if", "52:54:00:00:00:03", "macvlan mode bridge"];
        ip_shows("-n guest -d -o link show eth0", &eth0);
        let eth1 = ["eth1@if", "52:54:00:00:00:04", "macvtap mode bridge"];
        ip_shows("-n guest -d -o link show eth1", &eth1);
        assert_eq!(nl.link_index("eth1").unwrap(), None);

        let orphan = nl
            .add_macvlan("mv1", 9999, mac(5), false, None)
            .unwrap_err();
        assert!(
            orphan.to_string().starts_with("create macvlan mv1: "),
            "{orphan}"
        );
        nl.delete_link(vlan.unwrap()).unwrap();
        nl.delete_link(vtap).unwrap();
        assert_eq!(nl.link_index("mv0").unwrap(), None);
    }

    #[test]
    fn default_route() {
        in_private_netns("inner_default_route", &[]);
    }

    #[test]
    #[ignore = "run by default_route in a private network namespace"]
    fn inner_default_route() {
        if !isolated() {
            return;
        }
        let mut nl = Netlink::open().unwrap();
        assert_eq!(nl.default_route_interface().unwrap(), None);
        for args in [
            "link add d0 type veth peer name d1",
            "link set d0 up",
            "link set d1 up",
            "route add default dev d1 table 100",
            "route add 0.0.0.0/1 dev d1",
            "-6 route add default dev d1",
        ] {
            ip(args);
        }
        assert_eq!(nl.default_route_interface().unwrap(), None, "none of those");
        ip("addr add 10.9.0.2/24 dev d0");
        ip("route add default via 10.9.0.1 dev d0 metric 100");
        assert_eq!(nl.default_route_interface().unwrap().as_deref(), Some("d0"));
        ip("route add default dev d1 metric 50");
        assert_eq!(nl.default_route_interface().unwrap().as_deref(), Some("d1"));
    }

    #[test]
    fn routes_and_addresses() {
        in_private_netns("inner_routes_and_addresses", &[]);
    }

    #[test]
    #[ignore = "run by routes_and_addresses in a private network namespace"]
    fn inner_routes_and_addresses() {
        if !isolated() {
            return;
        }
        for args in [
            "link add d0 type veth peer name d1",
            "link set d0 up",
            "link set d1 up",
            "addr add 10.9.0.2/24 dev d0",
            "addr add 10.50.0.1/24 dev d1 noprefixroute",
            "route add default via 10.9.0.1 dev d0",
            "route add 192.168.64.0/22 via 10.9.0.1 dev d0",
            "route add 172.30.0.0/16 dev d1 table 100",
        ] {
            ip(args);
        }
        let mut nl = Netlink::open().unwrap();
        let net = |s: &str| s.parse::<Ipv4Network>().unwrap();
        let route = |dest: &str, dev: &str, via: Option<Ipv4Addr>| RouteInfo {
            destination: net(dest),
            device: Some(dev.to_owned()),
            gateway: via,
        };
        let gateway = Some(Ipv4Addr::new(10, 9, 0, 1));
        let mut routes = nl.routes().unwrap();
        routes.sort_by_key(|r| r.destination);
        assert_eq!(
            routes,
            [
                route("0.0.0.0/0", "d0", gateway),
                route("10.9.0.0/24", "d0", None),
                route("192.168.64.0/22", "d0", gateway),
            ],
            "the main table only"
        );
        let addresses = nl.ipv4_addresses().unwrap();
        assert!(
            addresses.contains(&("d0".to_owned(), net("10.9.0.2/24"))),
            "{addresses:?}"
        );
        assert!(
            addresses.contains(&("d1".to_owned(), net("10.50.0.1/24"))),
            "{addresses:?}"
        );

        let host = crate::backend::host_routes().unwrap();
        let shown: Vec<String> = host
            .iter()
            .map(|r| format!("{} {}", r.dest, r.what))
            .collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0/0 route via 10.9.0.1 on d0",
                "10.9.0.0/24 route on d0",
                "192.168.64.0/22 route via 10.9.0.1 on d0",
                "10.50.0.0/24 address of d1",
            ],
            "an address with a route of its own is not repeated"
        );
    }

    #[test]
    fn permission_denied() {
        let without_net_admin = [
            "setpriv",
            "--inh-caps=-net_admin",
            "--bounding-set=-net_admin",
        ];
        in_private_netns("inner_permission_denied", &without_net_admin);
    }

    #[test]
    #[ignore = "run by permission_denied in a private network namespace without CAP_NET_ADMIN"]
    fn inner_permission_denied() {
        if !isolated() {
            return;
        }
        let mut nl = Netlink::open().unwrap();
        let error = nl.add_bridge("vbr0", None).unwrap_err();
        assert!(error.is_permission(), "{error}");
        assert!(nl.set_up(1).unwrap_err().is_permission());
        assert!(
            nl.link_index("lo").unwrap().is_some(),
            "reading needs no privilege"
        );
    }
}
