//! `vmctl network import lima|vmnet-broker PATH [--apply]`: networks from Lima's networks.yaml
//! or vmnet-broker's folder, every one checked before any is written.

use clap::Args;
use serde_json::json;

use super::shared::{Entry, columns, net_entry, network_json, taken_subnets};
use crate::cli::Ctx;
use crate::discovery::routes::{self, HostRoute};
use crate::error::Error;
use crate::output::grid;

/// Create networks from Lima's networks.yaml or vmnet-broker's folder (a dry run unless --apply)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network import lima ~/.lima/_config/networks.yaml           what it would create
  vmctl network import lima ~/.lima/_config/networks.yaml --apply
  vmctl network import vmnet-broker /etc/vmnet-broker.d/ --apply
Names vmctl has built in get a prefix (lima-shared); every value is checked as `network create`
checks it, and nothing is written unless all of them pass.")]
pub(super) struct ImportArgs {
    /// lima (networks.yaml) or vmnet-broker (a folder of *.json)
    #[arg(value_parser = ["lima", "vmnet-broker"])]
    from: String,
    /// The file (lima) or folder (vmnet-broker)
    path: std::path::PathBuf,
    /// Create the networks (without it: show what would be created)
    #[arg(long)]
    apply: bool,
}

pub(super) fn run(ctx: &Ctx, args: &ImportArgs) -> Result<(), Error> {
    let lock = ctx.store.lock()?;
    let settings = ctx.settings()?;
    let taken = taken_subnets(ctx, &settings, "");
    let imported = if args.from == "lima" {
        let text = crate::store::read_input_text(&args.path, "import file")?;
        crate::import::lima(&args.path, &text)?
    } else {
        crate::import::vmnet_broker(&args.path, &taken)?
    };
    // Every network checked before any is written: names free, subnets apart from the host's
    // routes, vmctl's networks and each other.
    let mut taken = taken;
    for net in &imported.networks {
        if ctx.store.network_path(&net.name).exists() {
            return Err(
                Error::conflict(format!("network '{}' exists", net.name)).with_hint(format!(
                    "delete it first (vmctl network delete {}), or leave it out of {}",
                    net.name,
                    args.path.display()
                )),
            );
        }
        if let Some(plan) = net.address_plan() {
            crate::backend::check_network_range(&net.name, &plan)?;
            let subnet = plan.subnet();
            if let Err((err, _)) = routes::check_subnet(subnet, &taken, &[]) {
                return Err(
                    Error::conflict(format!("network '{}': {err}", net.name)).with_hint(format!(
                        "change its subnet in {} ({})",
                        args.path.display(),
                        err.hint().unwrap_or_default()
                    )),
                );
            }
            taken.push(HostRoute::vmctl_network(&net.name, subnet));
        }
    }
    for note in &imported.notes {
        ctx.out.note(note);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if args.apply {
        for net in &imported.networks {
            let mut net = net.clone();
            net.created = now;
            ctx.store.save_network(&lock, &net)?;
        }
    }
    let entries: Vec<Entry> = imported
        .networks
        .iter()
        .map(|n| net_entry(&settings, n))
        .collect();
    let body = json!({
        "applied": args.apply,
        "networks": entries.iter().map(|e| network_json(e, &[], false)).collect::<Vec<_>>(),
        "notes": imported.notes,
    });
    ctx.out.data(&body, || {
        grid(
            &["name", "mode", "subnet", "gateway", "dhcp"],
            entries.iter().map(columns),
        )
    });
    ctx.out.note(if args.apply {
        "created them"
    } else {
        "a dry run: nothing was written (--apply creates them)"
    });
    Ok(())
}
