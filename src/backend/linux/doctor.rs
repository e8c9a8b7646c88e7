//! `vmctl doctor [--fix]` on Linux: what `run/` says against what the host has. Each step
//! notes what it finds and, with `--fix`, repairs it; a step that cannot look (no privilege)
//! says so instead of guessing.

use super::host::Host;
use super::{Linux, Undo};
use crate::backend::{Backend, Finding};
use crate::error::Error;
use crate::model::names::{bridge_name, vm_link_name};
use crate::plan::linux::{Link, LinuxPlan};
use crate::store::StartedVm;
use crate::store::StoreLock;

pub(super) struct Checkup<'b, 'a> {
    backend: &'b Linux<'a>,
    lock: &'b StoreLock,
    fix: bool,
    findings: Vec<Finding>,
}

impl<'b, 'a> Checkup<'b, 'a> {
    pub(super) fn new(backend: &'b Linux<'a>, lock: &'b StoreLock, fix: bool) -> Self {
        Checkup {
            backend,
            lock,
            fix,
            findings: Vec::new(),
        }
    }

    fn note(&mut self, problem: String, fix: &str, fixed: bool) {
        self.findings.push(Finding {
            problem,
            fix: fix.to_owned(),
            fixed,
        });
    }

    pub(super) fn run(mut self) -> Result<Vec<Finding>, Error> {
        let backend = self.backend;
        self.findings.extend(crate::backend::store_findings(
            backend.store,
            backend.settings,
            self.lock,
            self.fix,
        )?);
        for (tool, package) in [("nft", "nftables"), ("dnsmasq", "dnsmasq-base")] {
            if self.backend.host.require_tool(tool, package).is_err() {
                let fix = format!("install it: apt-get install {package}");
                self.note(format!("`{tool}` is not installed"), &fix, false);
            }
        }
        if self.backend.host.require_net_admin("doctor").is_err() {
            self.note(
                "this process lacks CAP_NET_ADMIN: vmctl can neither inspect nor change the host's links and rules".into(),
                "run vmctl as root",
                false,
            );
            return Ok(self.findings);
        }
        let nl = &*self.backend.host;
        self.run_files_that_lie(nl)?;
        let runs = self.vms(nl)?;
        let plan = self.backend.plan_for(&runs)?;
        let networks: Vec<String> = plan
            .links
            .iter()
            .filter_map(|l| match l {
                Link::Bridge { network, .. } => Some(network.clone()),
                _ => None,
            })
            .collect();
        self.networks(nl, &plan, &networks, &runs)?;
        if nl.require_tool("nft", "nftables").is_ok() {
            if !networks.is_empty() && nl.nft_tables()?.len() == 2 {
                self.elements(nl, &runs)?;
            }
            self.rules(nl, &plan, !networks.is_empty())?;
        }
        self.leftovers(nl, &networks, &runs)?;
        Ok(self.findings)
    }

    /// Run files naming objects that are not what vmctl made for their VM (a link, a socket, a
    /// helper pid): vmctl acts on none of them; `--fix` writes back what the host confirms.
    fn run_files_that_lie(&mut self, nl: &dyn Host) -> Result<(), Error> {
        let store = self.backend.store;
        for mut run in store.load_runs()?.started {
            let mut problems = Vec::new();
            let (pid, socket) =
                crate::backend::verified_relay(store, &run, crate::sys::Os::Linux, &mut problems);
            let ours = vm_link_name(&run.name);
            if run.link != ours {
                problems.push(format!(
                    "run/{}.plist names link '{}', not vmctl's {ours}",
                    run.name,
                    crate::error::printable(&run.link)
                ));
            }
            if let super::Found::Foreign(why) = Linux::find_vm_link(nl, &run)? {
                self.note(
                    format!("run/{}.plist: {why}", run.name),
                    "vmctl leaves it alone: see what it is (`ip -d link`), then remove or rename it, or stop the VM",
                    false,
                );
            }
            if problems.is_empty() {
                continue;
            }
            if self.fix {
                run.link = ours;
                run.helper = pid;
                run.helper_start = pid.and(run.helper_start);
                run.socket = socket;
                store.save_run(self.lock, &run)?;
            }
            let fixed = self.fix;
            for problem in problems {
                self.note(
                    problem,
                    "vmctl left it alone; write back what the host confirms (the link vmctl makes, no foreign pid or socket)",
                    fixed,
                );
            }
        }
        Ok(())
    }

    /// Started VMs whose link is gone, and states from an earlier boot; returns the ones that
    /// count as started from here on (never an earlier boot's: its network is not expected).
    fn vms(&mut self, nl: &dyn Host) -> Result<Vec<StartedVm>, Error> {
        let mut runs = Vec::new();
        for run in self.backend.store.load_runs_of_any_boot()?.started {
            if run.from_earlier_boot() {
                if self.fix {
                    self.backend.stop(self.lock, &run)?;
                }
                let fixed = self.fix;
                self.note(
                    format!(
                        "VM '{}' was started before the last reboot: its links, rules and dnsmasq are gone",
                        run.name
                    ),
                    "forget its runtime state (`vmctl start` starts it afresh)",
                    fixed,
                );
                continue;
            }
            let orphaned = run.orphaned();
            if !orphaned && Linux::link_present(nl, &run)? {
                runs.push(run);
                continue;
            }
            let problem = match run.gone_process() {
                Some(pid) if run.holder == Some(pid) => format!(
                    "VM '{}' was started by `vmctl run` (pid {pid}), which is gone: its network is up for nobody",
                    run.name
                ),
                Some(pid) => format!(
                    "VM '{}': its frame relay (pid {pid}) is gone: its socket leads nowhere",
                    run.name
                ),
                _ => format!(
                    "VM '{}' is recorded as started, but its link {} is gone (its hypervisor or namespace went away?)",
                    run.name, run.link
                ),
            };
            if self.fix {
                self.backend.stop(self.lock, &run)?;
            } else {
                runs.push(run);
            }
            let fixed = self.fix;
            self.note(
                problem,
                "stop it: forget its runtime state and rules",
                fixed,
            );
        }
        Ok(runs)
    }

    /// Networks with started VMs whose bridge or dnsmasq is gone.
    fn networks(
        &mut self,
        nl: &dyn Host,
        plan: &LinuxPlan,
        networks: &[String],
        runs: &[StartedVm],
    ) -> Result<(), Error> {
        for net in networks {
            let dns = plan.dnsmasq_of(net).expect("a network has its dnsmasq");
            let bridge = bridge_name(net);
            let index = nl.link_index(&bridge)?;
            let running = nl.dnsmasq_running(&dns.dir);
            let mut problems = Vec::new();
            match index {
                None => problems.push(format!("network {net}: its bridge {bridge} is gone")),
                Some(index) => {
                    for run in runs.iter().filter(|r| r.network.as_ref() == Some(net)) {
                        let Some(info) = nl.link(&vm_link_name(&run.name))? else {
                            continue;
                        };
                        if !matches!(Linux::find_vm_link(nl, run)?, super::Found::Ours) {
                            continue;
                        }
                        if info.master != Some(index) {
                            problems.push(format!(
                                "VM '{}': its link {} is not on {bridge} (cut off from its network)",
                                run.name, info.name
                            ));
                        } else if !info.up {
                            problems
                                .push(format!("VM '{}': its link {} is down", run.name, info.name));
                        }
                    }
                }
            }
            match running {
                None => problems.push(format!(
                    "network {net}: its dnsmasq is not running (no DHCP or DNS for its VMs)"
                )),
                Some(pid) if nl.dnsmasq_pid_file(&dns.dir) != Some(pid) => {
                    problems.push(format!(
                        "network {net}: its dnsmasq (pid {pid}) runs without its pid file"
                    ));
                    if self.fix {
                        // A start from scratch writes the pid file again.
                        nl.dnsmasq_stop(&dns.dir)?;
                    }
                }
                Some(_) => {}
            }
            if problems.is_empty() {
                continue;
            }
            if self.fix {
                let (mut undo, mut warnings) = (Undo::default(), Vec::new());
                self.backend
                    .network_up(nl, plan, net, None, &mut undo, &mut warnings)?;
            }
            for problem in problems {
                let fixed = self.fix;
                self.note(
                    problem,
                    "bring the network up again and reattach its VMs",
                    fixed,
                );
            }
        }
        Ok(())
    }

    /// The sets and maps that hold one element per VM: what the kernel has against what
    /// `run/` says (an element added or deleted by hand, an update that went half way).
    /// `--fix` reloads the rules (see `rules`).
    fn elements(&mut self, nl: &dyn Host, runs: &[StartedVm]) -> Result<(), Error> {
        use std::collections::BTreeSet;
        const PER_VM: [(&str, &str); 12] = [
            ("bridge", "vm_ports"),
            ("bridge", "own_mac"),
            ("bridge", "own_chaddr"),
            ("bridge", "own_ip"),
            ("bridge", "nolocal"),
            ("bridge", "from_vm"),
            ("bridge", "to_vm"),
            ("bridge", "host_to_vm"),
            ("inet", "nolocal_macs"),
            ("inet", "filtered_src"),
            ("inet", "fwd_any"),
            ("inet", "fwd_addr"),
        ];
        let present = super::nft::set_elements(&nl.nft_list()?);
        let expected: Vec<(String, crate::plan::linux::Element)> = runs
            .iter()
            .filter(|r| r.network.is_some())
            .flat_map(|r| {
                crate::plan::linux::vm_elements(r)
                    .into_iter()
                    .map(move |e| (r.name.clone(), e))
            })
            .collect();
        for (family, set) in PER_VM {
            let key = (family.to_owned(), set.to_owned());
            let have: BTreeSet<String> = present.get(&key).into_iter().flatten().cloned().collect();
            let want: BTreeSet<(String, String)> = expected
                .iter()
                .filter(|(_, e)| e.family == family && e.set == set)
                .map(|(vm, e)| (super::nft::normal(&e.value), vm.clone()))
                .collect();
            for (value, vm) in &want {
                if !have.contains(value) {
                    let problem = format!("VM '{vm}': nft set {family} {set} lacks {value}");
                    self.note(problem, "reload the rules from run/", self.fix);
                }
            }
            for value in &have {
                if !want.iter().any(|(w, _)| w == value) {
                    let problem =
                        format!("nft set {family} {set} holds {value}, which no started VM has");
                    self.note(problem, "reload the rules from run/", self.fix);
                }
            }
        }
        Ok(())
    }

    /// vmctl's tables: present exactly when some VM is on a vmctl network. `--fix` reloads
    /// them from `run/` in any case (cheap, and it repairs edited sets too).
    fn rules(&mut self, nl: &dyn Host, plan: &LinuxPlan, wanted: bool) -> Result<(), Error> {
        let tables = nl.nft_tables()?;
        let problem = if wanted && tables.len() < 2 {
            Some(
                "vmctl's nftables tables are missing: no isolation, NAT or port forwards"
                    .to_owned(),
            )
        } else if !wanted && !tables.is_empty() {
            Some(format!(
                "nftables tables {} are left over: no VM is on a vmctl network",
                tables.join(", ")
            ))
        } else {
            None
        };
        if self.fix {
            self.backend.apply_rules(plan)?;
        }
        if let Some(problem) = problem {
            let fixed = self.fix;
            self.note(problem, "reload the rules from run/", fixed);
        }
        Ok(())
    }

    /// Links named like vmctl's that no started VM or network owns, and dnsmasq daemons of
    /// networks without VMs. A network the plan left out (its file is bad) is still owned by
    /// its started VMs: its bridge and dnsmasq stay.
    fn leftovers(
        &mut self,
        nl: &dyn Host,
        networks: &[String],
        runs: &[StartedVm],
    ) -> Result<(), Error> {
        let mut networks = networks.to_vec();
        networks.extend(runs.iter().filter_map(|r| r.network.clone()));
        let mut known: Vec<String> = networks.iter().map(|n| bridge_name(n)).collect();
        known.extend(runs.iter().map(|r| vm_link_name(&r.name)));
        for name in nl.link_names()? {
            let ours = name.starts_with("vmt-") || name.starts_with("vmctl-");
            if !ours || known.contains(&name) {
                continue;
            }
            if self.fix {
                nl.delete_link(&name)?;
            }
            let fixed = self.fix;
            self.note(
                format!("link {name} is left over: no started VM or network owns it"),
                "delete it",
                fixed,
            );
        }
        for (net, dir) in self.backend.store.network_dirs() {
            if networks.contains(&net) || nl.dnsmasq_running(&dir).is_none() {
                continue;
            }
            if self.fix {
                nl.dnsmasq_stop(&dir)?;
            }
            let fixed = self.fix;
            self.note(
                format!("network {net}: its dnsmasq runs, but no started VM is on it"),
                "stop it",
                fixed,
            );
        }
        Ok(())
    }
}
