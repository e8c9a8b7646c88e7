//! `vmctl doctor [--fix]`: compare the host with what vmctl recorded; repair with `--fix`.

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::backend;
use crate::error::Error;
use crate::output::grid;

/// Check the host: tools, privileges, dead dnsmasq, vanished or orphaned links and rules
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl doctor            list problems; exit 1 when there are any
  vmctl doctor --fix      repair them: restart dnsmasq, recreate bridges, delete leftovers
  vmctl -j doctor")]
pub struct DoctorArgs {
    /// Repair what is found
    #[arg(long)]
    fix: bool,
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    let findings = backend::host(&ctx.store, &settings).doctor(&lock, args.fix)?;
    drop(lock);
    for warning in wifi_bridges(ctx, &settings) {
        ctx.out.warn(&warning);
    }
    let open: Vec<&backend::Finding> = findings.iter().filter(|f| !f.fixed).collect();
    if findings.is_empty() {
        ctx.out.done(
            &json!({"healthy": true, "findings": []}),
            "all good: the host has what vmctl recorded, and nothing more",
        );
        return Ok(());
    }
    // With problems left, a script gets one ERROR document (below), people the table first.
    if !ctx.out.json || open.is_empty() {
        ctx.out.data(
            &json!({"healthy": open.is_empty(), "findings": findings}),
            || {
                grid(
                    &["problem", "fix", "fixed"],
                    findings.iter().map(|f| {
                        vec![
                            f.problem.clone(),
                            f.fix.clone(),
                            if f.fixed { "yes" } else { "no" }.to_owned(),
                        ]
                    }),
                )
            },
        );
    }
    if open.is_empty() {
        return Ok(());
    }
    let problems: Vec<&str> = open.iter().map(|f| f.problem.as_str()).collect();
    Err(Error::host(
        format!("{} problem(s): {}", open.len(), problems.join("; ")),
        if args.fix {
            "the ones left need a hand: see the fix column"
        } else {
            "`vmctl doctor --fix` (as root) repairs what vmctl made"
        },
    ))
}

/// Bridge networks, `bridge_name` and bridged VMs on a Wi-Fi interface: they work only where the
/// access point takes frames from MACs it did not associate (most drop them: no lease). A
/// warning, not a problem: some networks allow it.
fn wifi_bridges(ctx: &Ctx, settings: &crate::settings::Settings) -> Vec<String> {
    use crate::discovery::wifi::is_wifi;
    let mut users = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (name, (net, _)) in &settings.named {
        if let Some(interface) = &net.interface {
            users
                .entry(interface.clone())
                .or_default()
                .push(format!("network '{name}'"));
        }
    }
    if let Some(interface) = &settings.bridge_name {
        users
            .entry(interface.clone())
            .or_default()
            .push("bridge_name".into());
    }
    if let Ok((profiles, _)) = ctx.store.load_all_lenient() {
        for p in profiles
            .iter()
            .filter(|p| p.network.mode == crate::model::Mode::Bridge)
        {
            if let Some(interface) = &p.network.bridge {
                users
                    .entry(interface.clone())
                    .or_default()
                    .push(format!("VM '{}'", p.name));
            }
        }
    }
    users
        .into_iter()
        .filter(|(interface, _)| is_wifi(interface, crate::backend::HOST_OS))
        .map(|(interface, who)| {
            format!(
                "{} bridge(s) to {interface}, a Wi-Fi interface: access points usually drop frames from MACs that did not associate, so bridged VMs get no lease; use shared mode or an Ethernet interface",
                who.join(", ")
            )
        })
        .collect()
}
