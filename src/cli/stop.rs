//! `vmctl stop VM`: take a VM's NIC down (and its network after its last VM).

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::backend;
use crate::error::Error;

/// Take a VM's NIC down; the last VM off takes its network's bridge, dnsmasq and rules along
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl stop web
  vmctl -j stop web        {\"status\":\"OK\",\"body\":{\"name\":\"web\",\"was_started\":true}}
Stopping a VM that is not started changes nothing and succeeds.")]
pub struct StopArgs {
    /// The VM
    vm: String,
}

pub fn run(ctx: &Ctx, args: &StopArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    // A deleted profile's leftovers can still be stopped: the runtime state is what counts.
    let state = ctx.store.load_run(&args.vm)?;
    let Some(state) = state else {
        ctx.store.load(&args.vm)?;
        ctx.out.done(
            &json!({"name": args.vm, "was_started": false}),
            &format!("VM '{}' is not started", args.vm),
        );
        return Ok(());
    };
    backend::host(&ctx.store, &settings).stop(&lock, &state)?;
    if state.from_earlier_boot() {
        ctx.out.done(
            &json!({"name": state.name, "was_started": false}),
            &format!(
                "VM '{}' is not started: it was started before the last reboot (its state is forgotten now)",
                state.name
            ),
        );
        return Ok(());
    }
    ctx.out.done(
        &json!({"name": state.name, "was_started": true}),
        &format!("stopped VM '{}' ({} removed)", state.name, state.link),
    );
    Ok(())
}
