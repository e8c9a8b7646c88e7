//! `vmctl network delete NAME [--force]`: remove a named network; with --force its stopped
//! VMs move to the built-in network of its mode.

use clap::Args;
use serde_json::json;

use crate::cli::Ctx;
use crate::cli::shared::view::started_vms;
use crate::error::Error;

/// Delete a named network (refused while VMs use it, unless --force)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network delete ci
  vmctl network delete ci --force     its stopped VMs move to the built-in network of its mode")]
pub(super) struct DeleteArgs {
    name: String,
    /// Delete it although stored VMs use it: they move to the built-in network of its mode
    /// (started VMs must be stopped first)
    #[arg(long)]
    force: bool,
}

pub(super) fn run(ctx: &Ctx, args: &DeleteArgs) -> Result<(), Error> {
    if matches!(args.name.as_str(), "shared" | "host") {
        return Err(Error::invalid(
            "network",
            &args.name,
            "a built-in network cannot be deleted",
        )
        .with_hint("`vmctl config` sets its range"));
    }
    let lock = ctx.store.lock()?;
    let net = match ctx.store.load_network(&args.name) {
        Ok(net) => net,
        // A file vmctl cannot read can still be deleted (its VMs go back to a built-in
        // network of their mode).
        Err(err @ Error::CorruptFile { .. }) => {
            let users = ctx
                .store
                .load_all()?
                .into_iter()
                .filter(|p| p.network.network.as_deref() == Some(args.name.as_str()));
            for mut profile in users {
                if !args.force {
                    return Err(Error::conflict(format!(
                        "network '{}' is used by VM '{}'",
                        args.name, profile.name
                    ))
                    .with_hint("--force moves its VMs to the built-in network of their mode"));
                }
                profile.network.network = None;
                ctx.store.save(&lock, &profile)?;
            }
            ctx.store.remove_network(&lock, &args.name)?;
            ctx.out.warn(&format!("it could not be read: {err}"));
            ctx.out.done(
                &json!({"name": args.name, "deleted": true}),
                &format!("deleted network '{}'", args.name),
            );
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let started: Vec<String> = started_vms(ctx)?
        .into_iter()
        .filter(|r| r.network.as_deref() == Some(args.name.as_str()))
        .map(|r| r.name)
        .collect();
    if !started.is_empty() {
        return Err(Error::conflict(format!(
            "network '{}' is up: VMs {} run on it",
            args.name,
            started.join(", ")
        ))
        .with_hint("stop them first (vmctl stop VM)"));
    }
    let users: Vec<crate::model::VmProfile> = ctx
        .store
        .load_all()?
        .into_iter()
        .filter(|p| p.network.network.as_deref() == Some(args.name.as_str()))
        .collect();
    if !users.is_empty() && !args.force {
        return Err(Error::conflict(format!(
            "network '{}' is used by VMs {}",
            args.name,
            users.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint(format!(
            "move them (vmctl modify VM network -t {}), or --force moves them to the built-in {} network",
            net.mode, net.mode
        )));
    }
    let settings = ctx.settings()?;
    for mut profile in users {
        profile.network.network = None;
        let mut note = String::new();
        if let (Some(ip), Some(builtin)) = (profile.network.ip, profile.network.network_name())
            && settings
                .address_plan(builtin)
                .is_some_and(|plan| plan.check_static_ip(ip, builtin).is_err())
        {
            profile.network.ip = None;
            note = format!(" (its static IP {ip} is not on it: it uses DHCP now)");
        }
        ctx.store.save(&lock, &profile)?;
        ctx.out.warn(&format!(
            "VM '{}' moved to the built-in {} network{note}",
            profile.name, profile.network.mode
        ));
    }
    ctx.store.remove_network(&lock, &args.name)?;
    ctx.out.done(
        &json!({"name": args.name, "deleted": true}),
        &format!("deleted network '{}'", args.name),
    );
    Ok(())
}
