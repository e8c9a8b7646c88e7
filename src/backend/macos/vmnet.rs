//! The macOS backend. Each started VM gets a helper process (`vmctl relay-helper --vmnet`)
//! that holds its vmnet interface (shared, host, or bridged on an interface; vmnet's own
//! isolation when no-local) and relays frames, through the VM's frame policy, to a unix
//! datagram socket in `run/` for vfkit or QEMU. Static IPs are bootpd reservations in
//! vmctl's block of `/etc/bootptab`; filter rules and port forwards are a pf anchor per VM,
//! `com.apple/vmctl.<vm>`, which the stock `/etc/pf.conf` evaluates.
//!
//! Type-checked and linted on Linux in CI; the relay, the frame policy and the file edits it
//! uses are tested there. Run its own tests on a Mac with `sudo -E cargo test`.

use std::io::Write;
use std::process::{Command, Stdio};

use super::files::{BOOTPTAB, merge_bootptab};
use crate::backend::{Backend, Finding, LeaseEvent, Started, Stopped};
use crate::error::Error;
use crate::model::Attach;
use crate::model::{Mode, VmProfile};
use crate::plan::PlanInput;
use crate::plan::macos::MacosPlan;
use crate::settings::change::effective_mac;
use crate::settings::{Key, Settings};
use crate::store::StartedVm;
use crate::store::{Store, StoreLock, write_atomic};

pub struct Macos<'a> {
    store: &'a Store,
    settings: &'a Settings,
}

impl<'a> Macos<'a> {
    pub fn new(store: &'a Store, settings: &'a Settings) -> Macos<'a> {
        Macos { store, settings }
    }

    fn plan_for(&self, runs: &[StartedVm]) -> Result<MacosPlan, Error> {
        crate::plan::macos::plan(&crate::backend::started_plan_input(
            self.store,
            self.settings,
            runs,
        )?)
    }

    /// vmctl's block of `/etc/bootptab`: the static IPs of every stored VM but `except`
    /// (reservations outlive a stop, as on Linux).
    fn write_bootptab(&self, except: Option<&str>) -> Result<(), Error> {
        let profiles: Vec<VmProfile> = self
            .store
            .load_all()?
            .into_iter()
            .filter(|p| Some(p.name.as_str()) != except)
            .collect();
        let input = PlanInput::new(
            &profiles,
            self.settings,
            None,
            &std::collections::BTreeMap::new(),
            self.store.networks_dir(),
        )?;
        let plan = crate::plan::macos::plan(&input)?;
        let old = match std::fs::read_to_string(BOOTPTAB) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("reading", BOOTPTAB, e)),
        };
        let new = merge_bootptab(&old, &plan.bootptab)?;
        if new != old {
            write_atomic(std::path::Path::new(BOOTPTAB), new.as_bytes())?;
        }
        Ok(())
    }

    /// Load VM `vm`'s pf anchor as the plan of `runs` has it (pf knows VMs by address, so a
    /// VM without one yet has no anchor).
    fn load_anchor(&self, runs: &[StartedVm], vm: &str) -> Result<(), Error> {
        let plan = self.plan_for(runs)?;
        match plan.anchors.iter().find(|a| a.vm == vm) {
            Some(anchor) => pfctl(&["-a", &anchor.anchor, "-f", "-"], &anchor.rules).map(drop),
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
}

/// `pfctl` with `args`, `input` on its stdin.
/// The host's routes and interface networks: `netstat -rn -f inet`.
pub fn host_routes() -> Result<Vec<crate::discovery::routes::HostRoute>, Error> {
    let output = Command::new("netstat")
        .args(["-rn", "-f", "inet"])
        .output()
        .map_err(|e| {
            Error::host(
                format!("cannot run netstat -rn -f inet to read the host's routes: {e}"),
                "give the subnet with --subnet and check it against `netstat -rn` by hand",
            )
        })?;
    if !output.status.success() {
        return Err(Error::host(
            format!(
                "netstat -rn -f inet failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            "give the subnet with --subnet and check it against `netstat -rn` by hand",
        ));
    }
    Ok(crate::discovery::routes::parse_netstat_rn(
        &String::from_utf8_lossy(&output.stdout),
    ))
}

fn pfctl(args: &[&str], input: &str) -> Result<String, Error> {
    let mut child = Command::new("pfctl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::host(format!("running pfctl: {e}"), "run vmctl as root"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::host(format!("waiting for pfctl: {e}"), "try again"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(Error::host(
            format!("pfctl {} failed: {}", args.join(" "), text.trim()),
            "run vmctl as root; `vmctl doctor` checks pf",
        ))
    }
}

fn require_root(what: &str) -> Result<(), Error> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::host(
            format!("vmctl {what} needs root on macOS (vmnet, pf and bootptab are the system's)"),
            "run it with sudo",
        ))
    }
}

impl Backend for Macos<'_> {
    fn start(
        &self,
        lock: &StoreLock,
        profile: &VmProfile,
        attach: Attach,
        holder: Option<u32>,
    ) -> Result<Started, Error> {
        require_root("start")?;
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
            self.stop(lock, &state)?;
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
        self.write_bootptab(None)?;
        let socket = self.store.run_dir().join(format!("{}.sock", state.name));
        let pid = crate::backend::spawn_helper(self.store, self.settings, &state, &socket, &port)?;
        state.helper = Some(pid);
        state.helper_start = crate::sys::process::start_time(pid);
        state.socket = Some(socket.clone());
        let mut runs = others;
        runs.push(state.clone());
        let loaded = if state.ip.is_some() {
            self.load_anchor(&runs, &state.name)
        } else {
            // A DHCP VM's anchor is loaded when its relay sees the lease (`lease_event`).
            Ok(())
        };
        if let Err(e) = loaded.and_then(|()| self.store.save_run(lock, &state)) {
            crate::backend::stop_helper(Some(pid), Some(&socket));
            return Err(e);
        }
        Ok(Started {
            state,
            already: false,
            warnings,
        })
    }

    fn stop(&self, lock: &StoreLock, state: &StartedVm) -> Result<Stopped, Error> {
        if state.from_earlier_boot() {
            return crate::backend::forget_earlier_boot(self.store, lock, state)
                .map(|()| Stopped::default());
        }
        require_root("stop")?;
        let mut warnings = Vec::new();
        let (pid, socket) = crate::backend::verified_relay(self.store, state, &mut warnings);
        crate::backend::stop_helper(pid, socket.as_deref());
        let anchor = format!("com.apple/vmctl.{}", state.name);
        let flushed = pfctl(&["-a", &anchor, "-F", "all"], "");
        self.store.remove_run(lock, &state.name)?;
        flushed.map(|_| Stopped { warnings })
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
            require_root("delete (it edits /etc/bootptab)")?;
            self.write_bootptab(Some(&profile.name))?;
        }
        Ok(())
    }

    /// The shared range and the lease time live in the system's vmnet and Internet Sharing
    /// preferences too: write them there (as root), keeping every other key.
    fn config_changed(&self, keys: &[Key]) -> Vec<String> {
        use super::files::{SHARING_PLIST, VMNET_PLIST, set_lease_time, set_vmnet_range};
        let settings = self.settings;
        let mut warnings = Vec::new();
        for &key in keys {
            let path = match key {
                Key::StartAddress | Key::EndAddress | Key::SubnetMask => VMNET_PLIST,
                Key::DhcpLeaseTime => SHARING_PLIST,
                _ => continue,
            };
            let edit = |old: &[u8]| match key {
                Key::DhcpLeaseTime => set_lease_time(old, settings.dhcp_lease_time),
                _ => set_vmnet_range(old, settings.shared.gateway(), settings.shared.mask),
            };
            let result = std::fs::read(path)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(Vec::new())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| Error::io("reading", path, e))
                .and_then(|old| edit(&old))
                .and_then(|new| write_atomic(std::path::Path::new(path), &new));
            if let Err(e) = result {
                warnings.push(format!(
                    "{key} is set for vmctl, but not in {path}: {e} (run as root)"
                ));
            }
        }
        warnings
    }

    /// The system's vmnet and Internet Sharing preferences read back: where they disagree
    /// with vmctl (edited by hand, or by another tool), say so and how to align them.
    fn config_drift(&self) -> Vec<String> {
        use super::files::{SHARING_PLIST, VMNET_PLIST, system_drift};
        let read = |path: &str| std::fs::read(path).unwrap_or_default();
        system_drift(
            &read(VMNET_PLIST),
            &read(SHARING_PLIST),
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
        if require_root("doctor").is_err() {
            note(
                "not root: vmnet needs root (or the com.apple.vm.networking entitlement)".into(),
                "run vmctl with sudo",
                false,
            );
            return Ok(findings);
        }
        if pfctl(&["-s", "info"], "").is_ok_and(|info| info.contains("Status: Disabled")) {
            if fix {
                let _ = pfctl(&["-E"], "");
            }
            note(
                "pf is disabled: no filter rules or port forwards".into(),
                "enable it (pfctl -E)",
                fix,
            );
        }
        let pf_conf = std::fs::read_to_string("/etc/pf.conf").unwrap_or_default();
        if !pf_conf.contains("anchor \"com.apple/*\"") {
            note(
                "/etc/pf.conf does not evaluate the com.apple/* anchors, where vmctl's rules live"
                    .into(),
                "restore the stock lines: anchor \"com.apple/*\" and rdr-anchor \"com.apple/*\"",
                false,
            );
        }
        let firewall = Command::new("/usr/libexec/ApplicationFirewall/socketfilterfw")
            .args(["--getappblocked", "/usr/libexec/bootpd"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_lowercase());
        if firewall.is_ok_and(|text| text.contains("blocked") && !text.contains("permitted")) {
            note(
                "the application firewall blocks bootpd: VMs get no DHCP lease".into(),
                "socketfilterfw --add /usr/libexec/bootpd; socketfilterfw --unblock /usr/libexec/bootpd",
                false,
            );
        }
        for run in self.store.load_runs_of_any_boot()?.started {
            if run.from_earlier_boot() {
                if fix {
                    self.stop(lock, &run)?;
                }
                note(
                    format!(
                        "VM '{}' was started before the last reboot: its relay and pf rules are gone",
                        run.name
                    ),
                    "forget its runtime state (`vmctl start` starts it afresh)",
                    fix,
                );
            } else if let Some(pid) = run.gone_process() {
                if fix {
                    self.stop(lock, &run)?;
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
