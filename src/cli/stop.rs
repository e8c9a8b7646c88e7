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

/// Stop the VM its run file describes. A run file that cannot be trusted (unreadable, or a
/// value out of range: a malformed `mac`, `filter` rules that do not parse, a link name the
/// kernel refuses) is refused before anything is taken down: the error names the file, and
/// `vmctl doctor --fix` moves it aside, after which the VM counts as stopped and doctor's
/// leftover check removes what it made. Half a teardown driven by values vmctl cannot trust
/// would be worse than none. Other VMs' bad run files are warnings: they are left out.
pub fn run(ctx: &Ctx, args: &StopArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    // A deleted profile's leftovers can still be stopped by name: the runtime state is what
    // counts. A uuid names a stored VM.
    let name = match ctx.store.resolve(&args.vm) {
        Ok(name) => name,
        Err(Error::VmNotFound { .. } | Error::CorruptFile { .. }) => args.vm.clone(),
        Err(err) => return Err(err),
    };
    let state = ctx.store.load_run(&name)?;
    let Some(state) = state else {
        ctx.store.load(&name)?;
        ctx.out.done(
            &json!({"name": name, "was_started": false}),
            &format!("VM '{name}' is not started"),
        );
        return Ok(());
    };
    let stopped = backend::host(&ctx.store, &settings).stop(&lock, &state)?;
    drop(lock);
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
    for warning in &stopped.warnings {
        ctx.out.warn(warning);
    }
    ctx.out.done(
        &json!({"name": state.name, "was_started": true}),
        &format!("stopped VM '{}'", state.name),
    );
    Ok(())
}
