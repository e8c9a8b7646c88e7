//! A stand-in for the host that records every operation a backend asks of it and keeps the
//! little state its answers need (links, running daemons), so the Linux backend's decisions
//! (network up and down, element updates against whole reloads, rollback on failure) are
//! tested without root. An operation can be told to fail.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::linux::host::Host;
use super::linux::netlink::LinkInfo;
use crate::error::Error;
use crate::plan::linux::DnsmasqNetwork;
use crate::settings::Settings;
use crate::store::{StartedVm, Store};

/// Clones share one tape: a test keeps one, the backend owns the other.
#[derive(Clone, Default)]
pub struct Recording(Rc<Tape>);

#[derive(Default)]
pub struct Tape {
    log: crate::backend::oplog::OpLog,
    links: RefCell<BTreeMap<String, u32>>,
    next_index: Cell<u32>,
    daemons: RefCell<BTreeSet<PathBuf>>,
    aliases: RefCell<BTreeMap<u32, String>>,
    masters: RefCell<BTreeMap<u32, u32>>,
    tables: Cell<bool>,
}

impl Recording {
    /// The operations so far, each `name args`; nft loads as `nft_load` + the text (a whole
    /// ruleset by its first line).
    pub fn ops(&self) -> Vec<String> {
        self.0.log.ops()
    }

    /// Forget the operations so far.
    pub fn clear(&self) {
        self.0.log.clear();
    }

    /// The next operation whose record starts with `prefix` fails (once).
    pub fn fail_on(&self, prefix: &str) {
        self.0.log.fail_on(prefix);
    }

    /// Someone else's doing: the link `name` leaves its bridge.
    pub fn detach(&self, name: &str) {
        if let Some(index) = self.0.links.borrow().get(name) {
            self.0.masters.borrow_mut().remove(index);
        }
    }

    pub fn links(&self) -> Vec<String> {
        self.0.links.borrow().keys().cloned().collect()
    }

    pub fn daemons(&self) -> usize {
        self.0.daemons.borrow().len()
    }

    fn op(&self, record: String) -> Result<(), Error> {
        self.0.log.op(record)
    }

    fn add_link(&self, name: &str) -> u32 {
        let index = self.0.next_index.get() + 10;
        self.0.next_index.set(index);
        self.0.links.borrow_mut().insert(name.to_owned(), index);
        index
    }
}

impl Host for Recording {
    fn require_net_admin(&self, _what: &str) -> Result<(), Error> {
        Ok(())
    }

    fn require_tool(&self, _tool: &str, _package: &str) -> Result<(), Error> {
        Ok(())
    }

    fn link_index(&self, name: &str) -> Result<Option<u32>, Error> {
        Ok(self.0.links.borrow().get(name).copied())
    }

    fn link_names(&self) -> Result<Vec<String>, Error> {
        Ok(self.links())
    }

    fn default_route_interface(&self) -> Result<Option<String>, Error> {
        Ok(Some("eth0".into()))
    }

    fn link(&self, name: &str) -> Result<Option<LinkInfo>, Error> {
        Ok(self.0.links.borrow().get(name).map(|&index| LinkInfo {
            index,
            name: name.to_owned(),
            kind: None,
            master: self.0.masters.borrow().get(&index).copied(),
            mac: None,
            alias: self.0.aliases.borrow().get(&index).cloned(),
            up: true,
        }))
    }

    fn netns_link(&self, _netns: &str, _name: &str) -> Result<Option<LinkInfo>, Error> {
        Ok(None)
    }

    fn set_alias(&self, index: u32, alias: &str) -> Result<(), Error> {
        self.op(format!("set_alias {index} {alias}"))?;
        self.0.aliases.borrow_mut().insert(index, alias.to_owned());
        Ok(())
    }

    fn host_addresses(&self) -> Result<Vec<Ipv4Addr>, Error> {
        Ok(vec![Ipv4Addr::new(203, 0, 113, 1)])
    }

    fn add_bridge(&self, name: &str, _mac: [u8; 6]) -> Result<u32, Error> {
        self.op(format!("add_bridge {name}"))?;
        Ok(self.add_link(name))
    }

    fn add_address(&self, index: u32, address: Ipv4Addr, prefix: u8) -> Result<(), Error> {
        self.op(format!("add_address {index} {address}/{prefix}"))
    }

    fn set_up(&self, index: u32) -> Result<(), Error> {
        self.op(format!("set_up {index}"))
    }

    fn set_mac(&self, index: u32, _mac: [u8; 6]) -> Result<(), Error> {
        self.op(format!("set_mac {index}"))
    }

    fn set_master(&self, index: u32, master: u32) -> Result<(), Error> {
        self.op(format!("set_master {index} {master}"))?;
        self.0.masters.borrow_mut().insert(index, master);
        Ok(())
    }

    fn delete_link(&self, name: &str) -> Result<(), Error> {
        if self.0.links.borrow_mut().remove(name).is_some() {
            self.op(format!("delete_link {name}"))?;
        }
        Ok(())
    }

    fn create_tap(&self, name: &str, _owner: Option<u32>) -> Result<(), Error> {
        self.op(format!("create_tap {name}"))?;
        self.add_link(name);
        Ok(())
    }

    fn chown_macvtap(&self, index: u32, uid: u32) -> Result<(), Error> {
        self.op(format!("chown_macvtap {index} {uid}"))
    }

    fn add_veth(&self, name: &str, _h: [u8; 6], _g: [u8; 6], netns: &str) -> Result<u32, Error> {
        self.op(format!("add_veth {name} {netns}"))?;
        Ok(self.add_link(name))
    }

    fn add_macvlan(
        &self,
        name: &str,
        parent: u32,
        _mac: [u8; 6],
        netns: Option<&str>,
    ) -> Result<Option<u32>, Error> {
        self.op(format!("add_macvlan {name} {parent} {netns:?}"))?;
        Ok(netns.is_none().then(|| self.add_link(name)))
    }

    fn check_netns(&self, _netns: &str) -> Result<(), Error> {
        Ok(())
    }

    fn link_in_netns(&self, _netns: &str, _name: &str) -> Result<bool, Error> {
        Ok(false)
    }

    fn delete_in_netns(&self, netns: &str, name: &str) -> Result<(), Error> {
        self.op(format!("delete_in_netns {netns} {name}"))
    }

    fn sysctl(&self, key: &str, value: &str) -> Result<(), Error> {
        self.op(format!("sysctl {key}={value}"))
    }

    fn dnsmasq_running(&self, dir: &Path) -> Option<u32> {
        self.0.daemons.borrow().contains(dir).then_some(1)
    }

    fn dnsmasq_pid_file(&self, dir: &Path) -> Option<u32> {
        self.dnsmasq_running(dir)
    }

    fn dnsmasq_start(&self, net: &DnsmasqNetwork) -> Result<(), Error> {
        self.op(format!("dnsmasq_start {}", net.network))?;
        self.0.daemons.borrow_mut().insert(net.dir.clone());
        Ok(())
    }

    fn dnsmasq_stop(&self, dir: &Path) -> Result<(), Error> {
        if self.0.daemons.borrow_mut().remove(dir) {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            self.op(format!("dnsmasq_stop {name}"))?;
        }
        Ok(())
    }

    fn nft_load(&self, text: &str) -> Result<(), Error> {
        // A whole ruleset by its first line; an element batch (a few lines) whole.
        let shown = if text.starts_with("#!") {
            self.0.tables.set(true);
            text.lines().next().unwrap_or_default()
        } else {
            text.trim_end()
        };
        self.op(format!("nft_load {shown}"))?;
        // Elements need their tables, as nft does.
        if !text.starts_with("#!") && text.contains(" element ") && !self.0.tables.get() {
            return Err(Error::host("nft: no such table", "a test"));
        }
        Ok(())
    }

    fn nft_remove(&self) -> Result<(), Error> {
        self.op("nft_remove".into())?;
        self.0.tables.set(false);
        Ok(())
    }

    fn nft_list(&self) -> Result<String, Error> {
        Ok(String::new())
    }

    fn nft_tables(&self) -> Result<Vec<String>, Error> {
        Ok(if self.0.tables.get() {
            vec!["inet vmctl".into(), "bridge vmctl".into()]
        } else {
            Vec::new()
        })
    }

    fn spawn_relay(
        &self,
        _store: &Store,
        _settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        _port: &[String],
    ) -> Result<u32, Error> {
        self.op(format!("spawn_relay {} {}", vm.name, socket.display()))?;
        Ok(4242)
    }

    fn stop_relay(&self, pid: Option<u32>, _socket: Option<&Path>) {
        let _ = self.op(format!("stop_relay {pid:?}"));
    }
}
