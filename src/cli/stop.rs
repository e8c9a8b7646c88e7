//! `vmctl stop VM`: take a VM's NIC down (and its network after its last VM).

use clap::Args;
use serde_json::{Value, json};

use super::Ctx;
use crate::backend;
use crate::error::Error;
use crate::output::Output;

/// Take a VM's NIC down; the last VM off takes its network's bridge, dnsmasq and rules along
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl stop web
  vmctl stop web db        several (JSON: a list of the bodies)
  vmctl stop --all         every running VM
  vmctl -j stop web        {\"status\":\"OK\",\"body\":{\"name\":\"web\",\"was_started\":true}}
Stopping a VM that is not started changes nothing and succeeds.")]
pub struct StopArgs {
    /// The VMs (names or uuids)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    vms: Vec<String>,
    /// Every running VM
    #[arg(short = 'a', long)]
    all: bool,
    /// Anka's forceful stop: accepted; vmctl's stop takes only the VM's networking down,
    /// which is the same either way
    #[arg(short = 'f', long)]
    force: bool,
}

/// Stop the VM its run file describes. A run file that cannot be trusted (unreadable, or a
/// value out of range: a malformed `mac`, `filter` rules that do not parse, a link name the
/// kernel refuses) is refused before anything is taken down: the error names the file, and
/// `vmctl doctor --fix` moves it aside, after which the VM counts as stopped and doctor's
/// leftover check removes what it made. Half a teardown driven by values vmctl cannot trust
/// would be worse than none. Other VMs' bad run files are warnings: they are left out.
pub fn run(ctx: &Ctx, args: &StopArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let names = if args.all {
        crate::cli::shared::view::started_vms(ctx)?
            .into_iter()
            .map(|run| run.name)
            .collect()
    } else {
        args.vms.clone()
    };
    // One at a time, each under the lock: the first that fails stops the rest, and what is
    // stopped stays stopped.
    let mut bodies = Vec::with_capacity(names.len());
    for vm in &names {
        bodies.push(stop_one(ctx, &settings, vm)?);
    }
    let body = match <[Value; 1]>::try_from(bodies) {
        Ok([one]) if !args.all => one,
        Ok([one]) => Value::Array(vec![one]),
        Err(all) => Value::Array(all),
    };
    if ctx.out.json {
        ctx.out.done(&body, "");
    } else if args.all && names.is_empty() {
        ctx.out.note("no VM is running");
    }
    Ok(())
}

/// Stop one VM and say so (on stderr); the JSON body for it.
fn stop_one(ctx: &Ctx, settings: &crate::settings::Settings, vm: &str) -> Result<Value, Error> {
    // Each VM's line for people; scripts get one JSON document at the end.
    let human = Output {
        json: false,
        quiet: ctx.out.quiet || ctx.out.json,
    };
    let lock = ctx.store.lock()?;
    // A deleted profile's leftovers can still be stopped by name: the runtime state is what
    // counts. A uuid names a stored VM.
    let name = match ctx.store.resolve(vm) {
        Ok(name) => name,
        Err(Error::VmNotFound { .. } | Error::CorruptFile { .. }) => vm.to_owned(),
        Err(err) => return Err(err),
    };
    let state = ctx.store.load_run(&name)?;
    let Some(state) = state else {
        ctx.store.load(&name)?;
        let body = json!({"name": name, "was_started": false});
        human.done(&body, &format!("VM '{name}' is not started"));
        return Ok(body);
    };
    let stopped = backend::host(&ctx.store, settings).stop(&lock, &state)?;
    drop(lock);
    if state.from_earlier_boot() {
        let body = json!({"name": state.name, "was_started": false});
        human.done(
            &body,
            &format!(
                "VM '{}' is not started: it was started before the last reboot (its state is forgotten now)",
                state.name
            ),
        );
        return Ok(body);
    }
    for warning in &stopped.warnings {
        ctx.out.warn(warning);
    }
    let body = json!({"name": state.name, "was_started": true});
    human.done(&body, &format!("stopped VM '{}'", state.name));
    Ok(body)
}
