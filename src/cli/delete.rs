//! `vmctl delete VM`: remove a stopped VM's profile, after confirmation.

use std::io::IsTerminal;

use clap::Args;

use super::Ctx;
use crate::error::Error;

/// Delete a VM's profile (asks first unless --yes)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl delete web2
  vmctl delete web2 --yes        no question (needed when stdin is not a terminal)")]
pub struct DeleteArgs {
    /// The VM
    vm: String,
}

pub fn run(ctx: &Ctx, args: &DeleteArgs) -> Result<(), Error> {
    let lock = ctx.store.lock()?;
    let profile = ctx.store.load(&args.vm)?;
    if ctx.store.is_started(&profile.name) {
        return Err(Error::VmStarted(profile.name));
    }
    if !ctx.yes {
        let what = format!("deleting VM '{}'", profile.name);
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("Delete VM '{}' ({})?", profile.name, profile.uuid))
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    ctx.store.remove(&lock, &profile.name)?;
    ctx.out.done(
        &serde_json::json!({"name": profile.name, "uuid": profile.uuid}),
        &format!("deleted VM '{}'", profile.name),
    );
    Ok(())
}
