//! Backends realise started VMs' NICs on the host: `start` brings a VM's link up on its
//! network (bringing the network up first when it is its first VM), `stop` takes it down (and
//! the network after its last VM), lease events move DHCP addresses into the firewall, and
//! `doctor` compares what the host has with what `run/` says it should have.
//!
//! A backend receives resolved values (profiles, settings, the `Plan`), never flags.

#[cfg(test)]
pub mod oplog;
#[cfg(all(test, target_os = "linux"))]
pub mod recording;

pub mod helper;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod macos;

use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use crate::error::Error;
use crate::model::port_forward::{PortForward, next_free_port};
use crate::model::rule_text::RuleText;
use crate::model::{Attach, Mac, VmProfile};
use crate::settings::change::{effective_mac, effective_no_local};
use crate::settings::{Key, Settings};
use crate::store::{Runs, StartedVm, Store, StoreLock};
use crate::sys::Os;

pub use helper::{check_socket_path, socket_path, spawn_helper, stop_helper, verified_relay};

/// What `start` did.
#[derive(Debug)]
pub struct Started {
    pub state: StartedVm,
    /// The VM was started already and its link is there: nothing was changed.
    pub already: bool,
    /// Things the user should know (a pool running low, a recovered network).
    pub warnings: Vec<String>,
}

/// What `stop` did besides taking the VM down.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Things the user should know (run files left out, networks that cannot be planned).
    pub warnings: Vec<String>,
}

/// One thing `doctor` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub problem: String,
    /// What `--fix` does about it.
    pub fix: String,
    pub fixed: bool,
}

/// A change dnsmasq reported through its lease hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEvent {
    /// A lease was handed out, renewed, or found at dnsmasq's start.
    Bound { mac: MacAddr6, ip: Ipv4Addr },
    /// A lease ended (expired or released).
    Released { mac: MacAddr6, ip: Ipv4Addr },
}

/// Two started VMs never share a MAC or a host port: refuse, naming the VM that has it.
pub fn refuse_clashes(
    profile: &VmProfile,
    mac: MacAddr6,
    others: &[StartedVm],
) -> Result<(), Error> {
    if let Some(other) = others.iter().find(|r| r.mac == mac) {
        return Err(Error::conflict(format!(
            "VM '{}' has MAC {}, which started VM '{}' uses",
            profile.name,
            Mac(mac),
            other.name
        ))
        .with_hint(format!(
            "stop '{}' first, or give '{}' its own MAC: vmctl modify {} network --mac auto",
            other.name, profile.name, profile.name
        )));
    }
    // A static IP another started VM of its network holds (a lease from before the
    // reservation existed): both would pass the floor with it.
    if let Some(ip) = profile.network.ip
        && let Some(other) = others
            .iter()
            .find(|r| r.ip == Some(ip) && r.network.as_deref() == profile.network.network_name())
    {
        return Err(Error::conflict(format!(
            "VM '{}' has static IP {ip}, which started VM '{}' holds (its DHCP lease)",
            profile.name, other.name
        ))
        .with_hint(format!(
            "stop '{0}', start '{1}' (its reservation then holds the address), start '{0}' again: it gets another address",
            other.name, profile.name
        )));
    }
    // A host port vmctl chose moves instead (`assign_auto_ports`).
    for pf in profile
        .network
        .port_forwarding_rules
        .iter()
        .filter(|pf| !pf.auto_host_port)
    {
        let clash = others.iter().find_map(|r| {
            r.port_forwards
                .iter()
                .find(|o| o.clashes_with(pf))
                .map(|_| &r.name)
        });
        if let Some(other) = clash {
            return Err(Error::conflict(format!(
                "VM '{}' forwards {} host port {}, which started VM '{other}' forwards already",
                profile.name,
                pf.protocol.name(),
                pf.host_port
            ))
            .with_hint(format!(
                "stop '{other}' first, or move the forward: vmctl modify {} port {} {}:HOST_PORT",
                profile.name, pf.name, pf.guest_port
            )));
        }
    }
    Ok(())
}

/// `profile` as a start records it: the MAC, no-local and rules the settings resolve, now. A
/// VM on a network that cannot be used (its file is bad, or gone) is refused here.
pub fn started_vm(
    profile: &VmProfile,
    settings: &Settings,
    attach: Attach,
    parent: Option<String>,
) -> Result<StartedVm, Error> {
    if let Some(network) = profile.network.network_name() {
        settings.require_network(network, &profile.name)?;
    }
    let mut vm = StartedVm::new(
        profile,
        effective_mac(profile, settings),
        effective_no_local(&profile.network, settings),
        filter_text(profile, settings)?,
        attach,
        parent,
    );
    vm.started = crate::sys::now();
    vm.boot = crate::sys::boot_id().map(str::to_owned);
    vm.started_by = Some(std::process::id());
    Ok(vm)
}

/// The host ports vmctl chose for `vm` (`auto_host_port`) that a running VM forwards already
/// move, for this run, to the next free one from `portfwd_base`, as Anka assigns them when a
/// VM starts; the profile keeps its port. Returns a note for each port moved.
pub fn assign_auto_ports(
    vm: &mut StartedVm,
    others: &[StartedVm],
    base: u16,
) -> Result<Vec<String>, Error> {
    let mut used: Vec<PortForward> = others
        .iter()
        .flat_map(|r| r.port_forwards.iter().cloned())
        .chain(
            vm.port_forwards
                .iter()
                .filter(|pf| !pf.auto_host_port)
                .cloned(),
        )
        .collect();
    let mut notes = Vec::new();
    for pf in &mut vm.port_forwards {
        if pf.auto_host_port && used.iter().any(|o| o.clashes_with(pf)) {
            let taken: Vec<_> = used.iter().map(|o| (o.protocol, o.host_port)).collect();
            let port = next_free_port(&taken, pf.protocol, base).ok_or_else(|| {
                Error::conflict(format!(
                    "VM '{}': host port {} is taken by a running VM and no port at or above {base} is free",
                    vm.name, pf.host_port
                ))
                .with_hint("stop a VM, or lower portfwd_base: vmctl config portfwd_base N")
            })?;
            notes.push(format!(
                "VM '{}': host port {}/{} is forwarded by a running VM: rule '{}' uses {port} for this run",
                vm.name,
                pf.host_port,
                pf.protocol.name(),
                pf.name
            ));
            pf.host_port = port;
        }
        used.push(pf.clone());
    }
    Ok(notes)
}

/// Forget a runtime state from an earlier boot. Its links, rules, daemons and relay went with
/// that boot, and a pid in it may be another process's now: only its files go (the state, and
/// the socket and relay log named for the VM).
pub fn forget_earlier_boot(
    store: &Store,
    lock: &StoreLock,
    state: &StartedVm,
) -> Result<(), Error> {
    let run = store.run_dir();
    for leftover in [
        format!("{}.sock", state.name),
        format!("{}.relay.log", state.name),
    ] {
        let _ = std::fs::remove_file(run.join(leftover));
    }
    // macOS: the socket's folder (`socket_path`), and whatever its owner left in it.
    let _ = std::fs::remove_dir_all(run.join(format!("{}.net", state.name)));
    store.remove_run(lock, &state.name)
}

/// Can the started VM be planned: is its network (if any) one the settings know?
pub fn plannable(settings: &Settings, vm: &StartedVm) -> bool {
    vm.network
        .as_deref()
        .is_none_or(|n| settings.address_plan(n).is_some())
}

/// The plan input of these started VMs, as `run/` recorded them. The VMs of a network whose
/// file is bad (or gone) are left out: nothing of that network can be planned, and the other
/// networks go on without it (`run_warnings` says so).
pub fn started_plan_input(
    store: &Store,
    settings: &Settings,
    runs: &[StartedVm],
) -> Result<crate::plan::PlanInput, Error> {
    Ok(crate::plan::PlanInput::from_vms(
        runs.iter()
            .filter(|vm| plannable(settings, vm))
            .cloned()
            .collect(),
        settings,
        store.networks_dir(),
    ))
}

/// A warning for each bad run file, and for each network whose started VMs are left out of
/// the plan because its file is bad or gone.
pub fn run_warnings(settings: &Settings, runs: &Runs) -> Vec<String> {
    let mut warnings: Vec<String> = runs
        .bad
        .iter()
        .map(crate::store::BadFile::warning)
        .collect();
    let mut left_out = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for vm in runs.started.iter().filter(|vm| !plannable(settings, vm)) {
        if let Some(network) = &vm.network {
            left_out.entry(network).or_default().push(&vm.name);
        }
    }
    for (network, vms) in left_out {
        let (why, hint) = match settings.bad_networks.get(network) {
            Some(bad) => (
                format!("{}: {}", bad.path.display(), bad.reason),
                bad.hint.clone(),
            ),
            None => (
                "its file is gone".to_owned(),
                format!("create it again (vmctl network create {network} ...), or stop its VMs"),
            ),
        };
        warnings.push(format!(
            "network '{network}': {why}: its started VMs ({}) are left out of vmctl's rules until it is fixed; hint: {hint}",
            vms.join(", ")
        ));
    }
    warnings
}

/// What `doctor` finds in the store, on any host and without privilege: each bad run file
/// (with `fix`, moved to `run/quarantine/`; the VM then counts as stopped, and what it made
/// is left over for the host checks that follow) and each bad network file (a hand's work: it
/// holds the user's settings).
pub fn store_findings(
    store: &Store,
    settings: &Settings,
    lock: &StoreLock,
    fix: bool,
) -> Result<Vec<Finding>, Error> {
    let mut findings = Vec::new();
    for bad in store.load_runs()?.bad {
        let moved = if fix {
            Some(store.quarantine_run(lock, &bad.name)?)
        } else {
            None
        };
        findings.push(Finding {
            problem: format!(
                "VM '{}': its run file {} cannot be used: {}",
                bad.name,
                bad.path.display(),
                bad.reason
            ),
            fix: match &moved {
                Some(to) => format!("moved it aside to {}", to.display()),
                None => "move it aside to run/quarantine/ (the VM then counts as stopped)".into(),
            },
            fixed: moved.is_some(),
        });
    }
    for bad in settings.bad_networks.values() {
        findings.push(Finding {
            problem: format!(
                "network '{}': its file {} cannot be used: {}",
                bad.name,
                bad.path.display(),
                bad.reason
            ),
            fix: bad.hint.clone(),
            fixed: false,
        });
    }
    Ok(findings)
}

/// The VM's own filter rules: kept in the profile, or read now from its rules file (which must
/// still parse: a start or plan with rules other than the user's would be worse than none).
pub fn own_filter_text(profile: &VmProfile) -> Result<Option<String>, Error> {
    let Some(path) = &profile.network.filter_file else {
        return Ok(profile.network.filter.clone());
    };
    let shown = path.display().to_string();
    let fix = || {
        format!(
            "fix the file, or give the VM other rules: vmctl modify {} network -f FILE|-|off",
            profile.name
        )
    };
    let text = crate::store::read_input_text(path, "filter rules file").map_err(|e| {
        Error::invalid(
            "filter rules file",
            shown.clone(),
            format!(
                "VM '{}' reads its rules from it, and it cannot be read: {e}",
                profile.name
            ),
        )
        .with_hint(fix())
    })?;
    text.parse::<crate::model::filter::FilterRules>()
        .map_err(|e| {
            Error::invalid(
                "filter rules file",
                shown.clone(),
                format!(
                    "VM '{}' reads its rules from it, and it no longer parses: {e}",
                    profile.name
                ),
            )
            .with_hint(fix())
        })?;
    Ok(Some(text))
}

/// The profile with its rules file read into `filter`, for the pure planner.
pub fn with_filter_file_read(profile: &VmProfile) -> Result<VmProfile, Error> {
    if profile.network.filter_file.is_none() {
        return Ok(profile.clone());
    }
    let mut read = profile.clone();
    read.network.filter = own_filter_text(profile)?;
    read.network.filter_file = None;
    Ok(read)
}

/// The filter rules a start puts in force: the VM's own, else `net_filter`'s.
pub fn filter_text(profile: &VmProfile, settings: &Settings) -> Result<Option<RuleText>, Error> {
    if let Some(text) = own_filter_text(profile)? {
        return RuleText::parse_non_empty(&text).map_err(|e| {
            Error::corrupt(
                format!("vms/{}.plist", profile.name),
                format!("filter rules: {e}"),
            )
        });
    }
    crate::settings::read_net_filter(settings.net_filter.as_deref())
}

/// The warning for a pool under 10% free, if it is.
pub fn pool_warning(
    net: &str,
    plan: &crate::model::network::AddressPlan,
    leases: &[crate::discovery::lease::Lease],
    now: u64,
) -> Option<String> {
    let size = u32::from(plan.pool_last()) - u32::from(plan.pool_first()) + 1;
    let used: std::collections::BTreeSet<Ipv4Addr> = leases
        .iter()
        .filter(|l| !l.is_expired(now))
        .map(|l| l.ip)
        .collect();
    let free = size.saturating_sub(u32::try_from(used.len()).unwrap_or(u32::MAX));
    (free * 10 < size).then(|| {
        let (start, end) = if net == "host" {
            ("host_start_address", "host_end_address")
        } else {
            ("start_address", "end_address")
        };
        format!(
            "network {net}: only {free} of its {size} addresses are free; widen the pool with `vmctl config {start} ...` / `{end} ...` (and the subnet mask), or delete VMs you no longer use"
        )
    })
}

/// The host's networking, as far as vmctl owns it.
pub trait Backend {
    /// Bring `profile`'s NIC up, attached as `attach`; `holder` is the pid of a `vmctl run`
    /// that will stop it again.
    fn start(
        &self,
        lock: &StoreLock,
        profile: &VmProfile,
        attach: Attach,
        holder: Option<u32>,
    ) -> Result<Started, Error>;
    /// Take a started VM's NIC down (and its network after its last VM). `state` comes from a
    /// run file that passed its checks: a bad one is refused before (`Store::load_run`), so a
    /// stop never acts on values it cannot trust.
    fn stop(&self, lock: &StoreLock, state: &StartedVm) -> Result<Stopped, Error>;
    /// Record a lease change of `network` and reload the rules that depend on it.
    fn lease_event(&self, lock: &StoreLock, network: &str, event: LeaseEvent) -> Result<(), Error>;
    /// Forget a deleted VM: its DHCP reservation and lease, so its address returns to the pool.
    fn forget(&self, lock: &StoreLock, profile: &VmProfile) -> Result<(), Error>;
    /// Compare the host with `run/`; with `fix`, repair what differs.
    fn doctor(&self, lock: &StoreLock, fix: bool) -> Result<Vec<Finding>, Error>;
    /// The config `keys` changed (the settings this backend was made with have the new
    /// values): carry them to where the host keeps them too. What failed is a warning.
    fn config_changed(&self, _keys: &[Key]) -> Vec<String> {
        Vec::new()
    }
    /// Where the host's own files disagree with the settings, a warning each.
    fn config_drift(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The operating system vmctl runs on.
pub use crate::sys::HOST_OS;

/// A network range this host's backend cannot use, refused where it enters (`config`,
/// `network create`, `network import`) rather than at start: on macOS, vmnet takes private
/// (RFC 1918) ranges only.
pub fn check_network_range(
    network: &str,
    plan: &crate::model::network::AddressPlan,
) -> Result<(), Error> {
    check_network_range_on(HOST_OS, network, plan)
}

/// `check_network_range` as `os` has it.
pub fn check_network_range_on(
    os: Os,
    network: &str,
    plan: &crate::model::network::AddressPlan,
) -> Result<(), Error> {
    match os {
        Os::Macos => macos::check_vmnet_range(network, plan),
        Os::Linux => Ok(()),
    }
}

/// The host's IPv4 routes and interface networks, for the subnet checks of
/// `discovery::routes`.
pub fn host_routes() -> Result<Vec<crate::discovery::routes::HostRoute>, Error> {
    #[cfg(target_os = "linux")]
    return linux::host_routes();
    #[cfg(target_os = "macos")]
    return macos::host_routes();
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    Err(Error::host(
        format!(
            "vmctl cannot read the routes of {} yet",
            std::env::consts::OS
        ),
        "give the subnet with --subnet and check it against the host's routes by hand",
    ))
}

/// This platform's backend.
#[cfg(target_os = "linux")]
pub fn host<'a>(store: &'a Store, settings: &'a Settings) -> Box<dyn Backend + 'a> {
    Box::new(linux::Linux::new(store, settings))
}

/// This platform's backend.
#[cfg(target_os = "macos")]
pub fn host<'a>(store: &'a Store, settings: &'a Settings) -> Box<dyn Backend + 'a> {
    Box::new(macos::Macos::new(store, settings))
}

/// This platform's backend.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn host<'a>(_store: &'a Store, _settings: &'a Settings) -> Box<dyn Backend + 'a> {
    Box::new(Unsupported)
}

/// Platforms whose backend is not written yet: every host change is refused, saying so.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
struct Unsupported;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
impl Unsupported {
    fn refuse<T>() -> Result<T, Error> {
        Err(Error::host(
            format!(
                "vmctl cannot change this host's network yet: the {} backend is not written",
                std::env::consts::OS
            ),
            "`vmctl plan` prints what it would apply; the Linux backend is complete",
        ))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
impl Backend for Unsupported {
    fn start(
        &self,
        _: &StoreLock,
        _: &VmProfile,
        _: Attach,
        _: Option<u32>,
    ) -> Result<Started, Error> {
        Self::refuse()
    }
    fn stop(&self, _: &StoreLock, _: &StartedVm) -> Result<Stopped, Error> {
        Self::refuse()
    }
    fn lease_event(&self, _: &StoreLock, _: &str, _: LeaseEvent) -> Result<(), Error> {
        Self::refuse()
    }
    fn forget(&self, _: &StoreLock, _: &VmProfile) -> Result<(), Error> {
        Ok(())
    }
    fn doctor(&self, _: &StoreLock, _: bool) -> Result<Vec<Finding>, Error> {
        Self::refuse()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    #[test]
    fn a_range_vmnet_refuses_is_refused_on_macos_only() {
        let ip = Ipv4Addr::new;
        let cgnat =
            AddressPlan::new(ip(100, 64, 0, 1), ip(100, 64, 0, 9), ip(255, 255, 255, 0)).unwrap();
        let err = super::check_network_range_on(super::Os::Macos, "lab", &cgnat).unwrap_err();
        assert!(err.to_string().contains("RFC 1918"), "{err}");
        assert!(
            err.hint().unwrap().contains("network create lab"),
            "{err:?}"
        );
        super::check_network_range_on(super::Os::Linux, "lab", &cgnat).unwrap();
        let private =
            AddressPlan::new(ip(10, 1, 0, 1), ip(10, 1, 0, 9), ip(255, 255, 255, 0)).unwrap();
        super::check_network_range_on(super::Os::Macos, "lab", &private).unwrap();
    }

    use crate::discovery::lease::Lease;
    use crate::model::network::AddressPlan;
    use crate::model::port_forward::{PortForward, Protocol};
    use crate::model::{Attach, Mode, VmProfile};
    use crate::store::StartedVm;

    fn started(name: &str, forwards: &[(u16, bool)]) -> StartedVm {
        let mut profile =
            VmProfile::new(name, Mode::Shared, crate::model::Controller::VirtioNet).unwrap();
        profile.network.port_forwarding_rules = forwards
            .iter()
            .enumerate()
            .map(|(i, &(host_port, auto))| PortForward {
                name: format!("r{i}"),
                protocol: Protocol::Tcp,
                guest_port: 22,
                host_port,
                host_ip: Ipv4Addr::UNSPECIFIED,
                auto_host_port: auto,
            })
            .collect();
        StartedVm::new(
            &profile,
            macaddr::MacAddr6::new(2, 0, 0, 0, 0, 1),
            false,
            None,
            Attach::Tap,
            None,
        )
    }

    #[test]
    fn chosen_ports_move_for_a_run_and_given_ones_stay() {
        let running = [started("a", &[(10000, false), (10001, true)])];
        // b's chosen 10000 and 10001 are held by a: they move to the next free ones; its
        // own given 10003 stays, and the moved ports skip it.
        let mut b = started("b", &[(10000, true), (10001, true), (10003, false)]);
        let notes = super::assign_auto_ports(&mut b, &running, 10000).unwrap();
        let ports: Vec<u16> = b.port_forwards.iter().map(|pf| pf.host_port).collect();
        assert_eq!(ports, [10002, 10004, 10003]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("rule 'r0' uses 10002 for this run"),
            "{notes:?}"
        );
        // Nothing held: nothing moves.
        let mut c = started("c", &[(10010, true)]);
        assert!(
            super::assign_auto_ports(&mut c, &running, 10000)
                .unwrap()
                .is_empty()
        );
        assert_eq!(c.port_forwards[0].host_port, 10010);
        // A given port a running VM holds is the start's refusal to make, not this one's.
        let mut d = started("d", &[(10000, false)]);
        assert!(
            super::assign_auto_ports(&mut d, &running, 10000)
                .unwrap()
                .is_empty()
        );
        assert_eq!(d.port_forwards[0].host_port, 10000);
    }

    #[test]
    fn pool_warning_below_a_tenth_free() {
        let ip = |last| Ipv4Addr::new(10, 0, 0, last);
        let plan = AddressPlan::new(ip(1), ip(21), Ipv4Addr::new(255, 255, 255, 0)).unwrap();
        let lease = |last, expiry| Lease {
            ip: ip(last),
            mac: None,
            client_id: None,
            hostname: None,
            expiry: Some(expiry),
        };
        // Pool .2-.21: 20 addresses. 18 live leases leave 2 (10%): no warning yet.
        let mut leases: Vec<Lease> = (2..20).map(|n| lease(n, 2000)).collect();
        assert_eq!(super::pool_warning("shared", &plan, &leases, 1000), None);
        leases.push(lease(20, 2000));
        let warning = super::pool_warning("shared", &plan, &leases, 1000).unwrap();
        assert!(warning.contains("only 1 of its 20"), "{warning}");
        assert!(warning.contains("start_address"), "{warning}");
        // Expired leases and duplicates of one address do not count.
        leases.push(lease(20, 2000));
        leases.push(lease(21, 500));
        assert!(
            super::pool_warning("host", &plan, &leases, 1000)
                .unwrap()
                .contains("host_end_address")
        );
        assert_eq!(
            super::pool_warning("shared", &plan, &leases[..17], 1000),
            None
        );
    }
}
