//! `vmctl doctor [--fix]` on Linux: what `run/` says against what the host has. Each step
//! notes what it finds and, with `--fix`, repairs it; a step that cannot look (no privilege)
//! says so instead of guessing.

use super::host::Host;
use super::{Linux, Undo};
use crate::backend::{Backend, Finding};
use crate::error::Error;
use crate::model::names::bridge_name;
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
            self.rules(nl, &plan, !networks.is_empty())?;
        }
        self.leftovers(nl, &networks, &runs)?;
        Ok(self.findings)
    }

    /// Started VMs whose link is gone, and states from an earlier boot; returns the ones that
    /// count as started from here on (never an earlier boot's: its network is not expected).
    fn vms(&mut self, nl: &dyn Host) -> Result<Vec<StartedVm>, Error> {
        let mut runs = Vec::new();
        for run in self.backend.store.load_runs_of_any_boot()? {
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
            let bridge_gone = nl.link_index(&bridge)?.is_none();
            if !bridge_gone && nl.dnsmasq_running(&dns.dir).is_some() {
                continue;
            }
            let problem = if bridge_gone {
                format!("network {net}: its bridge {bridge} is gone")
            } else {
                format!("network {net}: its dnsmasq is not running (no DHCP or DNS for its VMs)")
            };
            if self.fix {
                let (mut undo, mut warnings) = (Undo::default(), Vec::new());
                let index =
                    self.backend
                        .network_up(nl, plan, net, None, &mut undo, &mut warnings)?;
                for run in runs.iter().filter(|r| r.network.as_ref() == Some(net)) {
                    if let Some(link) = nl.link_index(&run.link)? {
                        nl.set_master(link, index)?;
                    }
                }
            }
            let fixed = self.fix;
            self.note(
                problem,
                "bring the network up again and reattach its VMs",
                fixed,
            );
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
    /// networks without VMs.
    fn leftovers(
        &mut self,
        nl: &dyn Host,
        networks: &[String],
        runs: &[StartedVm],
    ) -> Result<(), Error> {
        let mut known: Vec<String> = networks.iter().map(|n| bridge_name(n)).collect();
        known.extend(runs.iter().map(|r| r.link.clone()));
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
