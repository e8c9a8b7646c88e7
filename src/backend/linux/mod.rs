//! The Linux backend: a bridge per vmctl network with the gateway address, dnsmasq for DHCP and
//! DNS, a TAP (for a hypervisor) or a veth into a network namespace per VM, macvtap / macvlan
//! for bridge mode, and the plan's nftables file loaded whole on every change.
//!
//! The plan is computed from `run/` (every started VM of this boot, with the address DHCP gave
//! it) each time, so the firewall never drifts from the state files: `start` and `stop` move
//! the tables from the old plan to the new one, element by element when only elements differ,
//! else by reloading both tables atomically. A lease event changes its VM's elements only
//! (nothing else depends on a VM's address), without a plan.
//!
//! Leases reach the firewall through dnsmasq's `--dhcp-script` (`lease-hook`, which calls
//! `vmctl lease-event`): dnsmasq runs it as soon as it has committed a lease, in order, with
//! the event's action, so no process of vmctl has to stay running to watch a file.

pub mod dnsmasq;
mod doctor;
pub mod host;
mod identity;
pub mod netlink;
mod network;
pub mod nft;

use std::path::PathBuf;

use host::Host;
use identity::{Found, link_alias, netns_identity, no_ipv6};
use netlink::{Netlink, NetlinkError};

use super::{Backend, Finding, LeaseEvent, Started, Stopped};
use crate::discovery::routes::HostRoute;
use crate::error::Error;
use crate::model::mac::parse_mac;
use crate::model::names::vm_link_name;
use crate::model::{Attach, Mac};
use crate::model::{Mode, VmProfile};
use crate::plan::PlanInput;
use crate::plan::linux::{Link, LinuxPlan, bridge_mac};
use crate::settings::Settings;
use crate::settings::change::effective_mac;
use crate::store::StartedVm;
use crate::store::{Store, StoreLock};

pub struct Linux<'a> {
    store: &'a Store,
    settings: &'a Settings,
    host: Box<dyn Host + 'a>,
}

/// What one `start` made, undone in reverse order when a later step fails.
#[derive(Default)]
pub(super) struct Undo {
    made: Vec<Made>,
}

enum Made {
    Link(String),
    Helper(u32, PathBuf),
    NetnsLink { netns: String, name: String },
    Daemon(PathBuf),
    File(PathBuf),
}

impl Undo {
    fn rollback(self, nl: &dyn Host) {
        for made in self.made.into_iter().rev() {
            match made {
                Made::Link(name) => {
                    let _ = nl.delete_link(&name);
                }
                Made::NetnsLink { netns, name } => {
                    let _ = nl.delete_in_netns(&netns, &name);
                }
                Made::Daemon(dir) => {
                    let _ = nl.dnsmasq_stop(&dir);
                }
                Made::File(path) => {
                    let _ = std::fs::remove_file(path);
                }
                Made::Helper(pid, socket) => nl.stop_relay(Some(pid), Some(&socket)),
            }
        }
    }
}

impl<'a> Linux<'a> {
    pub fn new(store: &'a Store, settings: &'a Settings) -> Linux<'a> {
        Self::on(store, settings, Box::new(host::System::default()))
    }

    /// The backend working through `host` (the recording host in tests).
    pub fn on(store: &'a Store, settings: &'a Settings, host: Box<dyn Host + 'a>) -> Linux<'a> {
        Linux {
            store,
            settings,
            host,
        }
    }

    fn plan_input(&self, runs: &[StartedVm]) -> Result<PlanInput, Error> {
        let mut input = super::started_plan_input(self.store, self.settings, runs)?;
        // Filter rules' `local` covers the host's own addresses (its WAN address too).
        if runs.iter().any(|vm| vm.filter.is_some()) {
            input.host_addresses = self.host.host_addresses()?;
        }
        Ok(input)
    }

    /// The host plan for these started VMs.
    pub(super) fn plan_for(&self, runs: &[StartedVm]) -> Result<LinuxPlan, Error> {
        crate::plan::linux::plan(&self.plan_input(runs)?)
    }

    /// Load the plan's rules, or remove vmctl's tables when no VM is on a vmctl network.
    pub(super) fn apply_rules(&self, plan: &LinuxPlan) -> Result<(), Error> {
        if plan.links.iter().any(|l| matches!(l, Link::Bridge { .. })) {
            self.host.nft_load(&plan.nft)
        } else {
            self.host.nft_remove()
        }
    }

    fn reload(&self, runs: &[StartedVm]) -> Result<(), Error> {
        self.apply_rules(&self.plan_for(runs)?)
    }

    /// Move the rules from the VMs `old` to `new`: element by element when only elements
    /// differ (a few milliseconds, whatever the number of VMs), else (or when the tables turn
    /// out not to match `old`) by reloading the whole file.
    fn change_rules(&self, old: &[StartedVm], new: &[StartedVm]) -> Result<(), Error> {
        let (before, after) = (self.plan_input(old)?, self.plan_input(new)?);
        // The tables are touched too: one deleted behind vmctl's back fails the update, and
        // the whole file brings it back.
        if let Some(text) = crate::plan::linux::update(&before, &after)
            && (text.is_empty()
                || self
                    .host
                    .nft_load(&(crate::plan::linux::touch_tables(&after) + &text))
                    .is_ok())
        {
            return Ok(());
        }
        self.apply_rules(&crate::plan::linux::plan(&after)?)
    }

    /// The host interface of a bridge-mode VM: its own, `bridge_name`, else the default route's.
    fn bridge_parent(&self, nl: &dyn Host, profile: &VmProfile) -> Result<String, Error> {
        let chosen = profile
            .network
            .bridge
            .clone()
            .or_else(|| self.settings.bridge_name.clone());
        let Some(parent) = chosen.map_or_else(|| nl.default_route_interface(), |p| Ok(Some(p)))?
        else {
            return Err(Error::host(
                format!(
                    "VM '{}' is bridged, but no host interface is named and there is no default route",
                    profile.name
                ),
                format!(
                    "name one: vmctl modify {} network -b IF, or vmctl config bridge_name IF (ANKA_BRIDGE_NAME=IF)",
                    profile.name
                ),
            ));
        };
        if nl.link_index(&parent)?.is_none() {
            return Err(Error::host(
                format!(
                    "host interface '{parent}' (bridge mode of VM '{}') does not exist",
                    profile.name
                ),
                format!(
                    "`ip link` lists the interfaces; choose one with vmctl modify {} network -b IF or ANKA_BRIDGE_NAME=IF",
                    profile.name
                ),
            ));
        }
        Ok(parent)
    }

    /// Make a VM's link from the plan.
    fn make_link(nl: &dyn Host, link: &Link, undo: &mut Undo) -> Result<(), Error> {
        let master = |nl: &dyn Host, master: &Option<String>| -> Result<Option<u32>, Error> {
            match master {
                Some(m) => Ok(Some(nl.link_index(m)?.ok_or_else(|| {
                    Error::host(format!("bridge {m} vanished"), "run `vmctl doctor --fix`")
                })?)),
                None => Ok(None),
            }
        };
        match link {
            Link::Bridge { .. } => unreachable!("bridges are made by network_up"),
            Link::Tap {
                name,
                vm,
                host_mac,
                master: m,
                owner,
                ..
            } => {
                Self::clear_link_name(nl, name, vm, &[parse_mac(host_mac)?])?;
                // Undone even when only half made (persistent, then refused an owner).
                undo.made.push(Made::Link(name.clone()));
                nl.create_tap(name, *owner)?;
                let index = nl.link_index(name)?.unwrap_or_default();
                nl.set_alias(index, &link_alias(vm))?;
                nl.set_mac(index, mac_bytes(host_mac)?)?;
                if let Some(bridge) = master(nl, m)? {
                    nl.set_master(index, bridge)?;
                }
                no_ipv6(nl, name)?;
                nl.set_up(index)
            }
            Link::Veth {
                name,
                vm,
                host_mac,
                guest_mac,
                master: m,
                netns,
            } => {
                Self::clear_link_name(nl, name, vm, &[parse_mac(host_mac)?])?;
                nl.check_netns(netns)?;
                let index =
                    nl.add_veth(name, mac_bytes(host_mac)?, mac_bytes(guest_mac)?, netns)?;
                undo.made.push(Made::Link(name.clone()));
                nl.set_alias(index, &link_alias(vm))?;
                if let Some(bridge) = master(nl, m)? {
                    nl.set_master(index, bridge)?;
                }
                no_ipv6(nl, name)?;
                nl.set_up(index)
            }
            Link::Macvlan {
                name,
                vm,
                mac,
                parent,
                netns,
                owner,
            } => {
                let parent = parent.as_deref().expect("start resolves the parent first");
                let parent_index = nl.link_index(parent)?.ok_or_else(|| {
                    Error::host(
                        format!("host interface '{parent}' does not exist"),
                        "`ip link` lists the interfaces",
                    )
                })?;
                if let Some(netns) = netns {
                    nl.check_netns(netns)?;
                    nl.add_macvlan("eth0", parent_index, mac_bytes(mac)?, Some(netns))?;
                    undo.made.push(Made::NetnsLink {
                        netns: netns.clone(),
                        name: "eth0".into(),
                    });
                    return Ok(());
                }
                Self::clear_link_name(nl, name, vm, &[parse_mac(mac)?])?;
                let index = nl
                    .add_macvlan(name, parent_index, mac_bytes(mac)?, None)?
                    .unwrap_or_default();
                undo.made.push(Made::Link(name.clone()));
                nl.set_alias(index, &link_alias(vm))?;
                if let Some(uid) = owner {
                    nl.chown_macvtap(index, *uid)?;
                }
                no_ipv6(nl, name)?;
                nl.set_up(index)
            }
        }
    }

    /// The VM's state when it is started already (as asked); a start a crash left behind is
    /// taken down first, with a warning.
    fn already_started(
        &self,
        lock: &StoreLock,
        nl: &dyn Host,
        profile: &VmProfile,
        attach: &Attach,
        warnings: &mut Vec<String>,
    ) -> Result<Option<StartedVm>, Error> {
        if let Some(state) = self.store.load_run(&profile.name)? {
            let earlier_boot = state.from_earlier_boot();
            if !earlier_boot && !state.orphaned() && Self::link_present(nl, &state)? {
                if state.attach != *attach {
                    return Err(Error::conflict(format!(
                        "VM '{}' is started already, attached as {}, not {attach}",
                        profile.name, state.attach
                    ))
                    .with_hint(format!(
                        "`vmctl stop {}` first to attach it another way",
                        profile.name
                    )));
                }
                return Ok(Some(state));
            }
            // A reboot or a crash left it: take down what remains, then start afresh.
            warnings.push(match state.gone_process() {
                _ if earlier_boot => format!(
                    "VM '{}' was started before the last reboot: starting it afresh",
                    profile.name
                ),
                Some(pid) => format!(
                    "VM '{}' was held by a process (pid {pid}) that is gone: starting it afresh",
                    profile.name
                ),
                _ => format!(
                    "VM '{}' was recorded as started but its link {} is gone: starting it afresh",
                    profile.name, state.link
                ),
            });
            self.stop(lock, &state)?;
        }
        Ok(None)
    }

    /// Under 10% of a network's pool free: say so, and how to widen it.
    fn pool_warning(&self, net: &str) -> Option<String> {
        let plan = self.settings.address_plan(net)?;
        let leases =
            crate::discovery::read_leases(&self.store.networks_dir().join(net).join("leases"))
                .ok()?;
        super::pool_warning(net, plan, &leases, crate::sys::now())
    }
}

impl Backend for Linux<'_> {
    fn start(
        &self,
        lock: &StoreLock,
        profile: &VmProfile,
        attach: Attach,
        holder: Option<u32>,
    ) -> Result<Started, Error> {
        self.host.require_net_admin("start")?;
        let mut warnings = Vec::new();
        let nl = &*self.host;
        if let Some(state) = self.already_started(lock, nl, profile, &attach, &mut warnings)? {
            return Ok(Started {
                state,
                already: true,
                warnings,
            });
        }
        let network = profile.network.network_name();
        if network.is_some() {
            self.host.require_tool("nft", "nftables")?;
            self.host.require_tool("dnsmasq", "dnsmasq-base")?;
        }
        let found = self.store.load_runs()?;
        warnings.extend(super::run_warnings(self.settings, &found));
        let others = found.started;
        super::refuse_clashes(profile, effective_mac(profile, self.settings), &others)?;
        if let Attach::Netns { netns } = &attach {
            self.host.check_netns(netns)?;
        }
        if attach == Attach::Socket && profile.network.mode == Mode::Bridge {
            return Err(Error::host(
                format!(
                    "VM '{}' is bridged: --attach socket relays to a TAP on a vmctl network",
                    profile.name
                ),
                "use --attach tap for a bridged VM, or put it on shared / host",
            ));
        }
        let parent = match profile.network.mode {
            Mode::Bridge => Some(self.bridge_parent(nl, profile)?),
            _ => None,
        };
        let mut state = super::started_vm(profile, self.settings, attach, parent)?;
        warnings.extend(super::assign_auto_ports(
            &mut state,
            &others,
            self.settings.portfwd_base,
        )?);
        state.holder = holder;
        let mut runs = others.clone();
        runs.push(state.clone());
        let plan = self.plan_for(&runs)?;
        let about_this_vm = format!("VM '{}':", profile.name);
        warnings.extend(
            plan.notes
                .iter()
                .filter(|n| n.starts_with(&about_this_vm) && !n.contains("when DHCP hands it out"))
                .cloned(),
        );
        let mut undo = Undo::default();
        let result = (|| {
            if let Some(net) = network {
                self.network_up(nl, &plan, net, Some(&state.name), &mut undo, &mut warnings)?;
            }
            let link = plan
                .links
                .iter()
                .find(|l| l.vm() == Some(state.name.as_str()))
                .expect("the plan has a link for every VM");
            Self::make_link(nl, link, &mut undo)?;
            let mut state = state.clone();
            if let Attach::Netns { netns } = &state.attach {
                state.netns_id = netns_identity(netns);
            }
            if state.attach == Attach::Socket {
                let socket = super::socket_path(self.store, &state.name, crate::sys::Os::Linux);
                super::check_socket_path(&socket, &state.name, crate::sys::Os::Linux)?;
                let mut port = vec!["--tap".to_owned(), vm_link_name(&state.name)];
                if let Some(net) = &state.network {
                    // The gateway is the network's bridge: DHCP replies come from its MAC.
                    port.extend(["--gateway-mac".to_owned(), Mac(bridge_mac(net)).to_string()]);
                }
                let pid = nl.spawn_relay(self.store, self.settings, &state, &socket, &port)?;
                undo.made.push(Made::Helper(pid, socket.clone()));
                state.helper = Some(pid);
                state.helper_start = crate::sys::process::start_time(pid);
                state.socket = Some(socket);
            }
            self.change_rules(&others, &runs)?;
            self.store.save_run(lock, &state)?;
            Ok(state)
        })();
        let state = match result {
            Ok(state) => state,
            Err(err) => {
                undo.rollback(nl);
                // The VMs that stay get their rules back as they were.
                let _ = self.reload(&others);
                return Err(err);
            }
        };
        warnings.extend(network.and_then(|n| self.pool_warning(n)));
        Ok(Started {
            state,
            already: false,
            warnings,
        })
    }

    fn stop(&self, lock: &StoreLock, state: &StartedVm) -> Result<Stopped, Error> {
        if state.from_earlier_boot() {
            return super::forget_earlier_boot(self.store, lock, state)
                .map(|()| Stopped::default());
        }
        self.host.require_net_admin("stop")?;
        let nl = &*self.host;
        let found = self.store.load_runs()?;
        let mut warnings = super::run_warnings(self.settings, &found);
        let runs = found.started;
        let remaining: Vec<StartedVm> = runs
            .iter()
            .filter(|r| r.name != state.name)
            .cloned()
            .collect();
        // Teardown goes on past a failed step, so as much as possible is gone; the first
        // failure is reported.
        let mut errors = Vec::new();
        let (pid, socket) =
            super::verified_relay(self.store, state, crate::sys::Os::Linux, &mut warnings);
        if pid.is_some() || socket.is_some() {
            nl.stop_relay(pid, socket.as_deref());
        }
        if let Err(e) = Self::remove_vm_link(nl, state, &mut warnings) {
            errors.push(e);
        }
        // A VM the plan left out (its network's file is bad) is in no element to take out:
        // the rules are loaded whole, so its network's go when it was that network's last VM.
        let rules = if super::plannable(self.settings, state) {
            self.change_rules(&runs, &remaining)
        } else {
            self.reload(&remaining)
        };
        if let Err(e) = rules {
            errors.push(e);
        }
        if let Some(net) = &state.network
            && !remaining.iter().any(|r| r.network == state.network)
            && let Err(e) = self.network_down(nl, net)
        {
            errors.push(e);
        }
        if errors.is_empty() || !Self::link_present(nl, state).unwrap_or(true) {
            self.store.remove_run(lock, &state.name)?;
        }
        match errors.into_iter().next() {
            Some(err) => Err(err),
            None => Ok(Stopped { warnings }),
        }
    }

    /// One VM's elements change, and nothing else: no plan is made (a VM's address is in its
    /// own elements only), and the one nft batch forgets what it lets go of too.
    fn lease_event(&self, lock: &StoreLock, network: &str, event: LeaseEvent) -> Result<(), Error> {
        let (mac, ip, bound) = match event {
            LeaseEvent::Bound { mac, ip } => (mac, ip, true),
            LeaseEvent::Released { mac, ip } => (mac, ip, false),
        };
        let refused = |what, value: String, why: String| {
            Err(Error::invalid(what, value, why)
                .with_hint("nothing was changed; lease events come from the network's dnsmasq"))
        };
        // dnsmasq reports it, but anything that can run vmctl could: the MAC must be a VM
        // started on this network, the address one a VM of it may hold.
        let Some(run) = self
            .store
            .load_runs_with_mac(mac)?
            .into_iter()
            .find(|r| r.network.as_deref() == Some(network))
        else {
            return refused(
                "lease event",
                Mac(mac).to_string(),
                format!("no VM started on network '{network}' has this MAC"),
            );
        };
        let Some(plan) = self.settings.address_plan(network) else {
            return refused(
                "lease event",
                network.to_owned(),
                "the network has no address plan to check the address against".to_owned(),
            );
        };
        let subnet = plan.subnet();
        if !subnet.contains(ip)
            || ip == plan.gateway()
            || ip == subnet.network()
            || ip == subnet.broadcast()
        {
            return refused(
                "lease address",
                ip.to_string(),
                format!(
                    "is not an address a VM of network '{network}' can hold ({subnet}, gateway {})",
                    plan.gateway()
                ),
            );
        }
        // An address it lets go of (released, or replaced by a new lease) may have been learned
        // from the ACK as it passed: forget it now, not when it expires, since the pool may
        // hand it to another VM.
        let let_go = if bound {
            run.ip.filter(|old| *old != ip)
        } else {
            Some(ip)
        };
        let mut after = run.clone();
        after.ip = match (bound, run.ip == Some(ip)) {
            (true, _) => Some(ip),
            (false, true) => run.static_ip,
            // The end of a lease it no longer holds.
            (false, false) => run.ip,
        };
        let moved = after.ip != run.ip;
        let mut batch = let_go.map_or_else(String::new, |old| {
            crate::plan::linux::forget_learned(&run, old)
        });
        batch.push_str(&crate::plan::linux::vm_update(&run, &after));
        if batch.is_empty() {
            return Ok(());
        }
        // The firewall first: the state never claims an address the rules do not have. Tables
        // that refuse the batch do not match run/ (edited, or gone): they are loaded whole.
        if self.host.nft_load(&batch).is_err() && moved {
            let runs: Vec<StartedVm> = self
                .store
                .load_runs()?
                .started
                .into_iter()
                .map(|r| {
                    if r.name == after.name {
                        after.clone()
                    } else {
                        r
                    }
                })
                .collect();
            self.apply_rules(&self.plan_for(&runs)?)?;
        }
        if moved {
            self.store.save_run(lock, &after)?;
        }
        Ok(())
    }

    fn forget(&self, _lock: &StoreLock, profile: &VmProfile) -> Result<(), Error> {
        let nl = &*self.host;
        let mac = effective_mac(profile, self.settings);
        let runs = self.store.load_runs()?.started;
        for (net, dir) in self.store.network_dirs() {
            let leased = crate::discovery::read_leases(&dir.join("leases"))
                .unwrap_or_default()
                .iter()
                .any(|l| l.mac == Some(mac));
            let reserved = dir.join("hosts").join(&profile.name).exists();
            let running = nl.dnsmasq_running(&dir).is_some();
            if running && (leased || reserved) {
                // Checked before anything changes: a refused delete leaves every file.
                nl.require_net_admin("delete (it has dnsmasq let go of the VM's address)")?;
            }
            if !leased && !reserved {
                continue;
            }
            // dnsmasq keeps its leases in memory and never forgets a reservation it has read:
            // both change only while it is stopped, and its start reads them before it serves
            // (a SIGHUP would reread them too, but at a moment nobody can wait for).
            if running {
                nl.dnsmasq_stop(&dir)?;
            }
            let removed = dnsmasq::remove_reservation(&dir, &profile.name)
                .and_then(|_| dnsmasq::remove_leases(&dir, mac));
            if running {
                let plan = self.plan_for(&runs)?;
                if let Some(dns) = plan.dnsmasq_of(&net) {
                    nl.dnsmasq_start(dns)?;
                }
            }
            removed?;
        }
        Ok(())
    }

    fn doctor(&self, lock: &StoreLock, fix: bool) -> Result<Vec<Finding>, Error> {
        doctor::Checkup::new(self, lock, fix).run()
    }
}

/// The host's routes and interface networks: the main routing table and every IPv4 address,
/// through rtnetlink.
pub fn host_routes() -> Result<Vec<HostRoute>, Error> {
    let cannot = |e: NetlinkError| {
        Error::host(
            format!("cannot read the host's routes: {e}"),
            "give the subnet with --subnet and check it against `ip route` by hand",
        )
    };
    let mut netlink = Netlink::open().map_err(cannot)?;
    let table: Vec<_> = netlink
        .routes()
        .map_err(cannot)?
        .into_iter()
        .map(|r| (r.destination, r.device, r.gateway))
        .collect();
    let addresses = netlink.ipv4_addresses().map_err(cannot)?;
    Ok(crate::discovery::routes::from_table(&table, &addresses))
}

fn mac_bytes(text: &str) -> Result<[u8; 6], Error> {
    Ok(parse_mac(text)?.into_array())
}

#[cfg(test)]
mod tests;
