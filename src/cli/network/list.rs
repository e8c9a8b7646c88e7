//! `vmctl network list`: every network, built-in and named, with its VMs and whether it is up.

use clap::Args;
use serde_json::Value;

use super::shared::{columns, entries, network_json, usage};
use crate::cli::Ctx;
use crate::error::Error;
use crate::output::grid;

/// Every network: name, mode, subnet, gateway, DHCP range, VMs, up/down
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network list
  vmctl -j network list")]
pub(super) struct ListArgs {}

pub(super) fn run(ctx: &Ctx) -> Result<(), Error> {
    let settings = ctx.settings()?;
    for bad in settings.bad_networks.values() {
        ctx.out.warn(&format!("skipped: {}", bad.warning()));
    }
    let (on, up) = usage(ctx)?;
    let all = entries(&settings);
    let vms_of = |name: &str| -> Vec<String> {
        on.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, vm)| vm.clone())
            .collect()
    };
    let body: Vec<Value> = all
        .iter()
        .map(|e| network_json(e, &vms_of(&e.name), up.contains(&e.name)))
        .collect();
    ctx.out.data(&Value::Array(body), || {
        grid(
            &["name", "mode", "subnet", "gateway", "dhcp", "vms", "state"],
            all.iter().map(|e| {
                let mut row = columns(e);
                row.push(vms_of(&e.name).len().to_string());
                row.push(if up.contains(&e.name) { "up" } else { "down" }.to_owned());
                row
            }),
        )
    });
    Ok(())
}
