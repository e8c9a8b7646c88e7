//! What the Linux backend asks of the host, one operation at a time: links through netlink
//! (here and inside network namespaces), TAP and macvtap devices, sysctls, the dnsmasq and
//! relay processes, and nft. `System` does it for real; the recording host of
//! `backend::recording` stands in for it so the backend's decisions are tested without root.

use std::cell::RefCell;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::netlink::{LinkInfo, Netlink, NetlinkError};
use super::{dnsmasq, nft};
use crate::error::Error;
use crate::plan::linux::DnsmasqNetwork;
use crate::settings::Settings;
use crate::store::{StartedVm, Store};

/// The host operations of the Linux backend. Every name is a link name; a failure is the
/// error the user reads.
pub trait Host {
    /// Changing links and rules needs CAP_NET_ADMIN: say so before touching anything.
    fn require_net_admin(&self, what: &str) -> Result<(), Error>;
    /// A tool vmctl runs must be on PATH: say which package has it.
    fn require_tool(&self, tool: &str, package: &str) -> Result<(), Error>;

    fn link_index(&self, name: &str) -> Result<Option<u32>, Error>;
    /// The names of every link here.
    fn link_names(&self) -> Result<Vec<String>, Error>;
    /// The link named `name` here (its MAC, alias, master, up), None if absent.
    fn link(&self, name: &str) -> Result<Option<LinkInfo>, Error>;
    /// The link named `name` inside the namespace `/run/netns/<netns>`, None if absent.
    fn netns_link(&self, netns: &str, name: &str) -> Result<Option<LinkInfo>, Error>;
    /// Mark link `index` with `alias` (vmctl marks what it makes).
    fn set_alias(&self, index: u32, alias: &str) -> Result<(), Error>;
    fn default_route_interface(&self) -> Result<Option<String>, Error>;
    /// The host's own IPv4 addresses (for filter rules' `local`).
    fn host_addresses(&self) -> Result<Vec<Ipv4Addr>, Error>;
    fn add_bridge(&self, name: &str, mac: [u8; 6]) -> Result<u32, Error>;
    fn add_address(&self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<(), Error>;
    fn set_up(&self, index: u32) -> Result<(), Error>;
    fn set_mac(&self, index: u32, mac: [u8; 6]) -> Result<(), Error>;
    fn set_master(&self, index: u32, master: u32) -> Result<(), Error>;
    /// Delete the link `name` (absent is fine).
    fn delete_link(&self, name: &str) -> Result<(), Error>;
    /// A persistent TAP, down, usable by `owner` when given.
    fn create_tap(&self, name: &str, owner: Option<u32>) -> Result<(), Error>;
    /// Let `uid` open a macvtap's character device.
    fn chown_macvtap(&self, index: u32, uid: u32) -> Result<(), Error>;
    /// A veth pair: `name` here, `eth0` with `guest_mac` inside the namespace `netns`.
    fn add_veth(
        &self,
        name: &str,
        host_mac: [u8; 6],
        guest_mac: [u8; 6],
        netns: &str,
    ) -> Result<u32, Error>;
    /// A macvtap (`netns` None) or a macvlan `eth0` inside `netns` on the `parent` ifindex.
    fn add_macvlan(
        &self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
        netns: Option<&str>,
    ) -> Result<Option<u32>, Error>;
    /// The namespace `/run/netns/<netns>` must exist.
    fn check_netns(&self, netns: &str) -> Result<(), Error>;
    /// Is there a link `name` inside `netns` (false when the namespace is gone)?
    fn link_in_netns(&self, netns: &str, name: &str) -> Result<bool, Error>;
    /// Delete `name` inside `netns` (absent namespace or link is fine).
    fn delete_in_netns(&self, netns: &str, name: &str) -> Result<(), Error>;
    /// Set a kernel setting (`net.ipv4.ip_forward`) unless it has that value.
    fn sysctl(&self, key: &str, value: &str) -> Result<(), Error>;

    /// The pid of the network's dnsmasq (its folder `dir`) when it runs.
    fn dnsmasq_running(&self, dir: &Path) -> Option<u32>;
    /// The pid `dnsmasq.pid` of the network in `dir` names (whatever that process is).
    fn dnsmasq_pid_file(&self, dir: &Path) -> Option<u32>;
    fn dnsmasq_start(&self, net: &DnsmasqNetwork) -> Result<(), Error>;
    fn dnsmasq_stop(&self, dir: &Path) -> Result<(), Error>;

    /// Load an nft file in one transaction.
    fn nft_load(&self, text: &str) -> Result<(), Error>;
    /// Remove vmctl's tables (absent is fine).
    fn nft_remove(&self) -> Result<(), Error>;
    /// vmctl's tables that exist now.
    fn nft_tables(&self) -> Result<Vec<String>, Error>;
    /// vmctl's tables as the kernel has them, as `nft list table` prints them.
    fn nft_list(&self) -> Result<String, Error>;

    /// Start a socket-attached VM's relay; returns its pid once its socket is there.
    fn spawn_relay(
        &self,
        store: &Store,
        settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        port: &[String],
    ) -> Result<u32, Error>;
    /// End a relay (if that pid is still one) and remove its socket.
    fn stop_relay(&self, pid: Option<u32>, socket: Option<&Path>);
}

/// The real host: netlink opened on first use, `nft`, dnsmasq and relay processes.
#[derive(Default)]
pub struct System {
    netlink: RefCell<Option<Netlink>>,
}

impl System {
    /// Run `op` on the netlink socket, opened on first use; its failure read as `read` says.
    fn with_netlink_as<T>(
        &self,
        op: impl FnOnce(&mut Netlink) -> Result<T, NetlinkError>,
        read: impl FnOnce(NetlinkError) -> Error,
    ) -> Result<T, Error> {
        let mut slot = self.netlink.borrow_mut();
        if slot.is_none() {
            *slot = Some(Netlink::open().map_err(host_err)?);
        }
        op(slot.as_mut().expect("opened above")).map_err(read)
    }

    fn with_netlink<T>(
        &self,
        op: impl FnOnce(&mut Netlink) -> Result<T, NetlinkError>,
    ) -> Result<T, Error> {
        self.with_netlink_as(op, host_err)
    }
}

impl Host for System {
    fn require_net_admin(&self, what: &str) -> Result<(), Error> {
        const CAP_NET_ADMIN: u32 = 12;
        let caps = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapEff:"))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .unwrap_or(0);
        if caps & (1 << CAP_NET_ADMIN) != 0 {
            return Ok(());
        }
        Err(Error::host(
            format!(
                "vmctl {what} needs CAP_NET_ADMIN (links, nftables and dnsmasq are the host's)"
            ),
            "run it as root, e.g. sudo vmctl ...",
        ))
    }

    fn require_tool(&self, tool: &str, package: &str) -> Result<(), Error> {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
        if found {
            Ok(())
        } else {
            Err(nft::not_installed(tool, package))
        }
    }

    fn link_index(&self, name: &str) -> Result<Option<u32>, Error> {
        self.with_netlink(|nl| nl.link_index(name))
    }

    fn link_names(&self) -> Result<Vec<String>, Error> {
        self.with_netlink(|nl| Ok(nl.links()?.into_iter().map(|l| l.name).collect()))
    }

    fn default_route_interface(&self) -> Result<Option<String>, Error> {
        self.with_netlink(Netlink::default_route_interface)
    }

    fn link(&self, name: &str) -> Result<Option<LinkInfo>, Error> {
        self.with_netlink(|nl| nl.link_named(name))
    }

    fn netns_link(&self, netns: &str, name: &str) -> Result<Option<LinkInfo>, Error> {
        let Ok(ns) = open_netns(netns) else {
            return Ok(None);
        };
        netlink_in(&ns)?.link_named(name).map_err(host_err)
    }

    fn set_alias(&self, index: u32, alias: &str) -> Result<(), Error> {
        self.with_netlink(|nl| nl.set_alias(index, alias))
    }

    fn host_addresses(&self) -> Result<Vec<Ipv4Addr>, Error> {
        self.with_netlink(|nl| {
            Ok(nl
                .ipv4_addresses()?
                .into_iter()
                .map(|(_, net)| net.ip())
                .collect())
        })
    }

    fn add_bridge(&self, name: &str, mac: [u8; 6]) -> Result<u32, Error> {
        self.with_netlink(|nl| nl.add_bridge(name, Some(mac)))
    }

    fn add_address(&self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<(), Error> {
        self.with_netlink(|nl| nl.add_address(index, address, prefix))
    }

    fn set_up(&self, index: u32) -> Result<(), Error> {
        self.with_netlink(|nl| nl.set_up(index))
    }

    fn set_mac(&self, index: u32, mac: [u8; 6]) -> Result<(), Error> {
        self.with_netlink(|nl| nl.set_mac(index, mac))
    }

    fn set_master(&self, index: u32, master: u32) -> Result<(), Error> {
        self.with_netlink(|nl| nl.set_master(index, master))
    }

    fn delete_link(&self, name: &str) -> Result<(), Error> {
        self.with_netlink(|nl| nl.delete_named(name))
    }

    fn create_tap(&self, name: &str, owner: Option<u32>) -> Result<(), Error> {
        let failed = |e: tun::Error| {
            let text = e.to_string();
            let hint = if text.contains("ermission") || text.contains("not permitted") {
                "creating a TAP needs CAP_NET_ADMIN: run vmctl as root"
            } else {
                "is /dev/net/tun there? (modprobe tun)"
            };
            Error::host(format!("creating TAP {name}: {text}"), hint)
        };
        let mut config = tun::Configuration::default();
        config.tun_name(name).layer(tun::Layer::L2);
        let mut device = tun::create(&config).map_err(failed)?;
        device.persist().map_err(failed)?;
        if let Some(uid) = owner {
            device
                .user(i32::try_from(uid).unwrap_or(i32::MAX))
                .map_err(failed)?;
        }
        Ok(())
    }

    fn chown_macvtap(&self, index: u32, uid: u32) -> Result<(), Error> {
        let path = PathBuf::from(format!("/dev/tap{index}"));
        std::os::unix::fs::chown(&path, Some(uid), None).map_err(|e| {
            Error::host(
                format!("giving {} to uid {uid}: {e}", path.display()),
                "udev creates /dev/tapN for a macvtap; without udev, create it from /sys/class/net/<link>/macvtap",
            )
        })
    }

    fn add_veth(
        &self,
        name: &str,
        host_mac: [u8; 6],
        guest_mac: [u8; 6],
        netns: &str,
    ) -> Result<u32, Error> {
        let ns = open_netns(netns)?;
        self.with_netlink_as(
            |nl| nl.add_veth(name, host_mac, "eth0", guest_mac, &ns),
            |e| netns_err(e, netns),
        )
    }

    fn add_macvlan(
        &self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
        netns: Option<&str>,
    ) -> Result<Option<u32>, Error> {
        match netns {
            Some(netns) => {
                let ns = open_netns(netns)?;
                self.with_netlink_as(
                    |nl| nl.add_macvlan("eth0", parent, mac, false, Some(&ns)),
                    |e| netns_err(e, netns),
                )
            }
            None => self.with_netlink(|nl| nl.add_macvlan(name, parent, mac, true, None)),
        }
    }

    fn check_netns(&self, netns: &str) -> Result<(), Error> {
        open_netns(netns).map(drop)
    }

    fn link_in_netns(&self, netns: &str, name: &str) -> Result<bool, Error> {
        let Ok(ns) = open_netns(netns) else {
            return Ok(false);
        };
        Ok(netlink_in(&ns)?
            .link_index(name)
            .map_err(host_err)?
            .is_some())
    }

    fn delete_in_netns(&self, netns: &str, name: &str) -> Result<(), Error> {
        let Ok(ns) = open_netns(netns) else {
            return Ok(());
        };
        netlink_in(&ns)?.delete_named(name).map_err(host_err)
    }

    fn sysctl(&self, key: &str, value: &str) -> Result<(), Error> {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
            return Ok(());
        }
        // A kernel without IPv6 (ipv6.disable=1) has nothing to turn off.
        if key.starts_with("net.ipv6.") && !Path::new("/proc/sys/net/ipv6").exists() {
            return Ok(());
        }
        // A kernel setting, not a state file: written in place.
        #[allow(clippy::disallowed_methods)]
        std::fs::write(&path, value).map_err(|e| {
            Error::host(
                format!("setting {key}={value}: {e}"),
                "run vmctl as root (it needs CAP_NET_ADMIN and a writable /proc/sys)",
            )
        })
    }

    fn dnsmasq_running(&self, dir: &Path) -> Option<u32> {
        dnsmasq::running(dir)
    }

    fn dnsmasq_pid_file(&self, dir: &Path) -> Option<u32> {
        dnsmasq::recorded_pid(dir)
    }

    fn dnsmasq_start(&self, net: &DnsmasqNetwork) -> Result<(), Error> {
        dnsmasq::start(net).map(drop)
    }

    fn dnsmasq_stop(&self, dir: &Path) -> Result<(), Error> {
        dnsmasq::stop(dir)
    }

    fn nft_load(&self, text: &str) -> Result<(), Error> {
        nft::load(text)
    }

    fn nft_remove(&self) -> Result<(), Error> {
        nft::remove()
    }

    fn nft_tables(&self) -> Result<Vec<String>, Error> {
        nft::tables()
    }

    fn nft_list(&self) -> Result<String, Error> {
        nft::list()
    }

    fn spawn_relay(
        &self,
        store: &Store,
        settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        port: &[String],
    ) -> Result<u32, Error> {
        crate::backend::spawn_helper(store, settings, vm, socket, port, None)
    }

    fn stop_relay(&self, pid: Option<u32>, socket: Option<&Path>) {
        crate::backend::stop_helper(pid, socket);
    }
}

/// A netlink socket inside the namespace `ns` (a thread enters it; sockets keep their
/// namespace for life, so the socket works from here after the thread is gone).
fn netlink_in(ns: &File) -> Result<Netlink, Error> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                    Error::host(
                        format!("entering a network namespace: {e}"),
                        "run vmctl as root (it needs CAP_SYS_ADMIN to reach a namespace)",
                    )
                })?;
                Netlink::open().map_err(host_err)
            })
            .join()
            .expect("the netns thread does not panic")
    })
}

fn open_netns(name: &str) -> Result<File, Error> {
    let path = Path::new("/run/netns").join(name);
    File::open(&path).map_err(|_| {
        Error::host(
            format!(
                "network namespace '{name}' does not exist ({} is missing)",
                path.display()
            ),
            format!("create it first: ip netns add {name}"),
        )
    })
}

/// A netlink failure as the user should read it (by value: it is `map_err`'s argument).
#[allow(clippy::needless_pass_by_value)]
pub(super) fn host_err(err: NetlinkError) -> Error {
    let hint = if err.is_permission() {
        "changing links needs CAP_NET_ADMIN: run vmctl as root"
    } else {
        "`vmctl doctor` shows what the host has; `vmctl doctor --fix` repairs what vmctl left"
    };
    Error::host(err.to_string(), hint)
}

fn netns_err(err: NetlinkError, netns: &str) -> Error {
    if err.errno() == Some(17) {
        return Error::host(
            format!("network namespace '{netns}' already has an eth0"),
            format!(
                "give each VM its own namespace, or delete that link: ip -n {netns} link del eth0"
            ),
        );
    }
    host_err(err)
}
