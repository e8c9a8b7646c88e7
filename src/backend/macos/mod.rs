//! The macOS backend. Each started VM gets a relay helper (`vmctl relay-helper --vmnet`) that
//! holds its vmnet interface (shared, host, or bridged on an interface; vmnet's own isolation
//! when no-local) and relays frames, through the VM's frame policy, to a unix datagram socket
//! for vfkit or QEMU: `run/<vm>.net/vm.sock`, in a folder that belongs to the hypervisor's user
//! (`--owner`/`--user`, else the user who ran sudo). Static IPs are bootpd reservations in
//! vmctl's block of `/etc/bootptab` (bootpd restarted when it changes); filter rules and port
//! forwards are a pf anchor per VM, `com.apple/vmctl.<vm>`, which the stock `/etc/pf.conf`
//! evaluates, kept in force by a pf reference the VM holds (`pfctl -E`, its token in the run
//! state, released by `pfctl -X` at stop).
//!
//! Everything here but vmnet itself (`relay::vmnet`) is built and tested on Linux: the
//! decisions over a recording host (`recording.rs`, `tests.rs`), the files (`files.rs`).
//! `System` (`host.rs`) runs Apple's tools; it has run on no Mac yet (README says what was
//! checked against which reference).

pub mod files;
pub mod host;
#[cfg(test)]
mod recording;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use host::{MacHost, System, host_routes};

use crate::backend::{Backend, Finding, LeaseEvent, Started, Stopped};
use crate::error::Error;
use crate::model::network::AddressPlan;
use crate::model::{Attach, Mode, VmProfile};
use crate::plan::macos::MacosPlan;
use crate::plan::macos::bootptab::{lines_of, reservations, text};
use crate::settings::change::effective_mac;
use crate::settings::{Key, Settings};
use crate::store::{StartedVm, Store, StoreLock};
use crate::sys::{Os, Owner};

use files::{
    BOOTPTAB, SHARING_DOMAIN, SHARING_PLIST, VMNET_DOMAIN, VMNET_PLIST, block_lines,
    lease_time_write, merge_bootptab, system_drift, vmnet_range_writes,
};

pub struct Macos<'a, H: MacHost = System> {
    store: &'a Store,
    settings: &'a Settings,
    host: H,
}

impl<'a> Macos<'a, System> {
    pub fn new(store: &'a Store, settings: &'a Settings) -> Macos<'a, System> {
        Macos::with_host(store, settings, System)
    }
}

/// vmnet takes a network's range only if it is private (RFC 1918): refused before anything is
/// made, naming the network and how to move it.
pub fn check_vmnet_range(network: &str, plan: &AddressPlan) -> Result<(), Error> {
    let Some(why) = plan.vmnet_refusal() else {
        return Ok(());
    };
    let hint = match network {
        "shared" => "move it: vmctl config start_address 192.168.64.1 end_address 192.168.64.254 subnet_mask 255.255.255.0".to_owned(),
        "host" => "move it: vmctl config host_start_address 192.168.128.1 host_end_address 192.168.128.254 host_subnet_mask 255.255.255.0".to_owned(),
        named => format!(
            "give it a private range: vmctl network delete {named}, then vmctl network create {named} --subnet 192.168.70.0/24"
        ),
    };
    Err(Error::invalid("network", network, why).with_hint(hint))
}

/// Does the VM's anchor hold rules (filter rules or port forwards on a vmnet network)?
fn uses_pf(vm: &StartedVm) -> bool {
    matches!(vm.mode, Mode::Shared | Mode::Host)
        && (vm.filter.is_some() || !vm.port_forwards.is_empty())
}

fn anchor_of(vm: &str) -> String {
    format!("com.apple/vmctl.{vm}")
}

impl<'a, H: MacHost> Macos<'a, H> {
    pub fn with_host(store: &'a Store, settings: &'a Settings, host: H) -> Macos<'a, H> {
        Macos {
            store,
            settings,
            host,
        }
    }

    fn plan_for(&self, runs: &[StartedVm]) -> Result<MacosPlan, Error> {
        crate::plan::macos::plan(&crate::backend::started_plan_input(
            self.store,
            self.settings,
            runs,
        )?)
    }

    /// vmctl's block of `/etc/bootptab`: the static IPs of every stored VM but `except`
    /// (reservations outlive a stop, as on Linux), bootpd restarted when it changed. Each VM
    /// is checked on its own: one whose reservation cannot be made is left out with a warning
    /// (a profile that cannot be read keeps the lines it had), unless it is `starting`, which
    /// is refused before anything is written.
    fn write_bootptab(
        &self,
        except: Option<&str>,
        starting: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        let (mut profiles, mut unreadable) = (Vec::new(), Vec::new());
        for name in self.store.names()? {
            if Some(name.as_str()) == except {
                continue;
            }
            match self.store.load(&name) {
                Ok(profile) => profiles.push(profile),
                Err(e) => {
                    warnings.push(format!(
                        "{e}: VM '{name}' keeps the reservation it had in {BOOTPTAB}"
                    ));
                    unreadable.push(name);
                }
            }
        }
        let found = reservations(&profiles, self.settings);
        if let Some(vm) = starting
            && let Some(why) = found.why_left_out(vm)
        {
            return Err(Error::conflict(format!(
                "VM '{vm}' cannot have its static IP reserved in {BOOTPTAB}: {why}"
            ))
            .with_hint(format!(
                "give it another: vmctl modify {vm} network --ip ADDRESS|auto (or --mac auto)"
            )));
        }
        for (vm, why) in &found.left_out {
            warnings.push(format!("VM '{vm}' has no reservation in {BOOTPTAB}: {why}"));
        }
        let old = self.host.read_bootptab()?;
        let mut lines = found.lines;
        let block = block_lines(&old).join("\n");
        for name in &unreadable {
            lines.extend(lines_of(&block, name).into_iter().map(str::to_owned));
        }
        let new = merge_bootptab(&old, &text(&lines))?;
        if new != old {
            self.host.write_bootptab(&new)?;
            self.host.reload_bootpd()?;
        }
        Ok(warnings)
    }

    /// Load VM `vm`'s pf anchor as the plan of `runs` has it (pf knows VMs by address, so a
    /// VM without one yet has no anchor).
    fn load_anchor(&self, runs: &[StartedVm], vm: &str) -> Result<(), Error> {
        let plan = self.plan_for(runs)?;
        match plan.anchors.iter().find(|a| a.vm == vm) {
            Some(anchor) => self.host.pf_load(&anchor.anchor, &anchor.rules),
            None => Ok(()),
        }
    }

    /// The helper's network side for this VM.
    fn vmnet_args(state: &StartedVm) -> Result<Vec<String>, Error> {
        let mode = match (state.mode, &state.parent) {
            (Mode::Shared, _) => "shared".to_owned(),
            (Mode::Host, _) => "host".to_owned(),
            (Mode::Bridge, Some(interface)) => format!("bridged:{interface}"),
            (Mode::Bridge, None) => {
                return Err(Error::host(
                    format!("VM '{}' is bridged, but no interface is named", state.name),
                    format!(
                        "name one: vmctl modify {} network -b en0, or vmctl config bridge_name en0",
                        state.name
                    ),
                ));
            }
            (Mode::Disconnected, _) => {
                return Err(Error::host(
                    format!(
                        "VM '{}' is disconnected: it has no network to start",
                        state.name
                    ),
                    format!("give it one: vmctl modify {} network -t shared", state.name),
                ));
            }
        };
        Ok(vec!["--vmnet".into(), mode])
    }

    /// Who the VM's socket belongs to: the user `--owner`/`--user` named, else the one who ran
    /// sudo, else root.
    fn socket_owner(&self, attach: &Attach) -> Option<Owner> {
        match attach {
            Attach::OwnedTap { owner } => Some(Owner {
                uid: *owner,
                gid: self.host.primary_group(*owner),
            }),
            _ => self.host.invoking_user(),
        }
    }

    /// Everything of a start after the checks: the socket's folder, the pf reference, the
    /// helper, the anchor, the state. Undone when a step fails.
    fn bring_up(
        &self,
        lock: &StoreLock,
        mut state: StartedVm,
        others: Vec<StartedVm>,
        owner: Option<Owner>,
        socket: &Path,
        port: &[String],
    ) -> Result<StartedVm, Error> {
        let dir = socket.parent().expect("a socket in a folder");
        self.host.make_socket_dir(dir, owner)?;
        let result = (|| {
            if uses_pf(&state) {
                state.pf_token = Some(self.host.pf_enable()?);
            }
            let pid =
                self.host
                    .spawn_relay(self.store, self.settings, &state, socket, port, owner)?;
            state.helper = Some(pid);
            state.helper_start = crate::sys::process::start_time(pid);
            state.socket = Some(socket.to_path_buf());
            let mut runs = others;
            runs.push(state.clone());
            if state.ip.is_some() {
                self.load_anchor(&runs, &state.name)?;
            }
            // A DHCP VM's anchor is loaded when its relay sees the lease (`lease_event`).
            self.store.save_run(lock, &state)
        })();
        if let Err(e) = result {
            self.host.stop_relay(state.helper);
            if uses_pf(&state) && state.ip.is_some() {
                let _ = self.host.pf_flush(&anchor_of(&state.name));
            }
            if let Some(token) = &state.pf_token {
                let _ = self.host.pf_release(token);
            }
            self.host.remove_socket_dir(dir);
            return Err(e);
        }
        Ok(state)
    }
}

impl<H: MacHost> Backend for Macos<'_, H> {
    fn start(
        &self,
        lock: &StoreLock,
        profile: &VmProfile,
        attach: Attach,
        holder: Option<u32>,
    ) -> Result<Started, Error> {
        self.host.require_root("start")?;
        if let Attach::Netns { netns } = &attach {
            return Err(Error::invalid(
                "attachment",
                format!("netns:{netns}"),
                "macOS has no network namespaces",
            )
            .with_hint("macOS VMs attach by socket: --attach socket (the default there)"));
        }
        let mut warnings = Vec::new();
        if let Some(state) = self.store.load_run(&profile.name)? {
            let earlier_boot = state.from_earlier_boot();
            if !earlier_boot && !state.orphaned() {
                return Ok(Started {
                    state,
                    already: true,
                    warnings,
                });
            }
            warnings.push(if earlier_boot {
                format!(
                    "VM '{}' was started before the last reboot: starting it afresh",
                    profile.name
                )
            } else {
                format!(
                    "VM '{}' was held by a process that is gone: starting it afresh",
                    profile.name
                )
            });
            warnings.extend(self.stop(lock, &state)?.warnings);
        }
        let found = self.store.load_runs()?;
        warnings.extend(crate::backend::run_warnings(self.settings, &found));
        let others = found.started;
        crate::backend::refuse_clashes(profile, effective_mac(profile, self.settings), &others)?;
        let parent = (profile.network.mode == Mode::Bridge)
            .then(|| {
                profile
                    .network
                    .bridge
                    .clone()
                    .or_else(|| self.settings.bridge_name.clone())
            })
            .flatten();
        let mut state = crate::backend::started_vm(profile, self.settings, Attach::Socket, parent)?;
        warnings.extend(crate::backend::assign_auto_ports(
            &mut state,
            &others,
            self.settings.portfwd_base,
        )?);
        state.holder = holder;
        let port = Self::vmnet_args(&state)?;
        if let Some(network) = &state.network
            && let Some(plan) = self.settings.address_plan(network)
        {
            check_vmnet_range(network, plan)?;
        }
        let socket = crate::backend::socket_path(self.store, &state.name, Os::Macos);
        crate::backend::check_socket_path(&socket, &state.name, Os::Macos)?;
        warnings.extend(self.write_bootptab(None, Some(&profile.name))?);
        let owner = self.socket_owner(&attach);
        let state = self.bring_up(lock, state, others, owner, &socket, &port)?;
        Ok(Started {
            state,
            already: false,
            warnings,
        })
    }

    fn stop(&self, lock: &StoreLock, state: &StartedVm) -> Result<Stopped, Error> {
        if state.from_earlier_boot() {
            // pf's references and anchors, and the helper, went with that boot.
            return crate::backend::forget_earlier_boot(self.store, lock, state)
                .map(|()| Stopped::default());
        }
        self.host.require_root("stop")?;
        let mut warnings = Vec::new();
        let (pid, socket) =
            crate::backend::verified_relay(self.store, state, Os::Macos, &mut warnings);
        self.host.stop_relay(pid);
        if let Some(dir) = socket.as_deref().and_then(Path::parent) {
            self.host.remove_socket_dir(dir);
        }
        let _ = std::fs::remove_file(
            self.store
                .run_dir()
                .join(format!("{}.relay.log", state.name)),
        );
        let flushed = if uses_pf(state) || state.pf_token.is_some() {
            self.host.pf_flush(&anchor_of(&state.name))
        } else {
            Ok(())
        };
        if let Some(token) = &state.pf_token
            && let Err(e) = self.host.pf_release(token)
        {
            warnings.push(format!(
                "VM '{}': its pf reference (token {token}) was not released: {e} (`pfctl -d` since it started voids every reference)",
                state.name
            ));
        }
        self.store.remove_run(lock, &state.name)?;
        flushed.map(|()| Stopped { warnings })
    }

    /// bootpd calls no hook: the VM's relay reports the address it saw the DHCP server
    /// acknowledge, and the VM's pf anchor is loaded with it.
    fn lease_event(&self, lock: &StoreLock, network: &str, event: LeaseEvent) -> Result<(), Error> {
        let LeaseEvent::Bound { mac, ip } = event else {
            return Ok(());
        };
        let mut runs = self.store.load_runs()?.started;
        let Some(run) = runs
            .iter_mut()
            .find(|r| r.network.as_deref() == Some(network) && r.mac == mac)
        else {
            return Ok(());
        };
        if run.ip == Some(ip) {
            return Ok(());
        }
        run.ip = Some(ip);
        let updated = run.clone();
        // The anchor first: the state never claims an address the rules do not have.
        self.load_anchor(&runs, &updated.name)?;
        self.store.save_run(lock, &updated)
    }

    fn forget(&self, _lock: &StoreLock, profile: &VmProfile) -> Result<(), Error> {
        if profile.network.ip.is_some() {
            self.host.require_root("delete (it edits /etc/bootptab)")?;
            self.write_bootptab(Some(&profile.name), None)?;
        }
        Ok(())
    }

    /// The shared range and the lease time live in the system's vmnet and Internet Sharing
    /// preferences too: written there through `defaults` (as root), every other key kept.
    fn config_changed(&self, keys: &[Key]) -> Vec<String> {
        let settings = self.settings;
        let range = keys
            .iter()
            .any(|k| matches!(k, Key::StartAddress | Key::EndAddress | Key::SubnetMask));
        let mut writes: Vec<(&str, Vec<String>, Key)> = Vec::new();
        if range {
            for args in vmnet_range_writes(settings.shared.gateway(), settings.shared.mask) {
                writes.push((VMNET_DOMAIN, args, Key::StartAddress));
            }
        }
        if keys.contains(&Key::DhcpLeaseTime) {
            writes.push((
                SHARING_DOMAIN,
                lease_time_write(settings.dhcp_lease_time),
                Key::DhcpLeaseTime,
            ));
        }
        writes
            .into_iter()
            .filter_map(|(domain, args, key)| {
                self.host.defaults_write(domain, &args).err().map(|e| {
                    let what = if key == Key::DhcpLeaseTime {
                        "dhcp_lease_time".to_owned()
                    } else {
                        "the shared range".to_owned()
                    };
                    format!("{what} is set for vmctl, but not in {domain}.plist: {e} (run as root)")
                })
            })
            .collect()
    }

    /// The system's vmnet and Internet Sharing preferences read back: where they disagree
    /// with vmctl (edited by hand, or by another tool), say so and how to align them.
    fn config_drift(&self) -> Vec<String> {
        system_drift(
            &self.host.read_system_file(VMNET_PLIST),
            &self.host.read_system_file(SHARING_PLIST),
            self.settings.shared.gateway(),
            self.settings.shared.mask,
            self.settings.dhcp_lease_time,
        )
        .into_iter()
        .map(|line| format!("{line}; `sudo vmctl config KEY VALUE` writes vmctl's value there"))
        .collect()
    }

    fn doctor(&self, lock: &StoreLock, fix: bool) -> Result<Vec<Finding>, Error> {
        let mut findings = crate::backend::store_findings(self.store, self.settings, lock, fix)?;
        let mut note = |problem: String, fix_text: &str, fixed: bool| {
            findings.push(Finding {
                problem,
                fix: fix_text.to_owned(),
                fixed,
            });
        };
        if self.host.require_root("doctor").is_err() {
            note(
                "not root: vmnet needs root (or the com.apple.vm.networking entitlement)".into(),
                "run vmctl with sudo",
                false,
            );
            return Ok(findings);
        }
        let runs = self.store.load_runs_of_any_boot()?.started;
        let pf_users: Vec<&StartedVm> = runs
            .iter()
            .filter(|r| !r.from_earlier_boot() && r.gone_process().is_none() && uses_pf(r))
            .collect();
        let pf_on = self.host.pf_enabled();
        let without_reference: Vec<&&StartedVm> = pf_users
            .iter()
            .filter(|r| pf_on == Some(false) || r.pf_token.is_none())
            .collect();
        if !without_reference.is_empty() {
            let names: Vec<&str> = without_reference.iter().map(|r| r.name.as_str()).collect();
            let fixed = fix && self.take_pf_references(lock, &runs, &names).is_ok();
            note(
                if pf_on == Some(false) {
                    format!(
                        "pf is disabled (`pfctl -d` voids every reference): the rules and port forwards of {} do nothing",
                        names.join(", ")
                    )
                } else {
                    format!(
                        "{} hold no pf reference: pf goes off when the last other holder lets go",
                        names.join(", ")
                    )
                },
                "take a pf reference for each (pfctl -E, token kept in its run state) and reload its anchor",
                fixed,
            );
        }
        if !self.host.pf_conf().contains("anchor \"com.apple/*\"") {
            note(
                "/etc/pf.conf does not evaluate the com.apple/* anchors, where vmctl's rules live"
                    .into(),
                "restore the stock lines: anchor \"com.apple/*\" and rdr-anchor \"com.apple/*\"",
                false,
            );
        }
        if self.host.bootpd_blocked() {
            note(
                "the application firewall blocks bootpd: VMs get no DHCP lease".into(),
                "socketfilterfw --add /usr/libexec/bootpd; socketfilterfw --unblock /usr/libexec/bootpd",
                false,
            );
        }
        for run in &runs {
            if run.from_earlier_boot() {
                if fix {
                    self.stop(lock, run)?;
                }
                note(
                    format!(
                        "VM '{}' was started before the last reboot: its relay and pf rules are gone",
                        run.name
                    ),
                    "forget its runtime state (`vmctl start` starts it afresh; see contrib/launchd to start VMs at boot)",
                    fix,
                );
            } else if let Some(pid) = run.gone_process() {
                if fix {
                    self.stop(lock, run)?;
                }
                note(
                    format!(
                        "VM '{}': the process that held it (pid {pid}) is gone",
                        run.name
                    ),
                    "stop it",
                    fix,
                );
            }
        }
        let leases =
            crate::discovery::read_leases(&self.settings.dhcp_leases_file).unwrap_or_default();
        if let Some(warning) = crate::backend::pool_warning(
            "shared",
            &self.settings.shared,
            &leases,
            crate::sys::now(),
        ) {
            note(
                warning,
                "widen the range with vmctl config, or delete VMs",
                false,
            );
        }
        Ok(findings)
    }
}

impl<H: MacHost> Macos<'_, H> {
    /// A new pf reference for each of `names` (the old token, if any, is void or released),
    /// saved in its run state, and its anchor loaded again.
    fn take_pf_references(
        &self,
        lock: &StoreLock,
        runs: &[StartedVm],
        names: &[&str],
    ) -> Result<(), Error> {
        for name in names {
            let Some(run) = runs.iter().find(|r| r.name == *name) else {
                continue;
            };
            let mut run = run.clone();
            if let Some(old) = &run.pf_token {
                let _ = self.host.pf_release(old);
            }
            run.pf_token = Some(self.host.pf_enable()?);
            self.store.save_run(lock, &run)?;
            if run.ip.is_some() {
                self.load_anchor(runs, &run.name)?;
            }
        }
        Ok(())
    }
}
