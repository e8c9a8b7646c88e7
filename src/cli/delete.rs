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
    // An unreadable profile can still be deleted: that is how a user gets rid of it.
    let (name, uuid) = match ctx.store.load(&args.vm) {
        Ok(profile) => (profile.name, profile.uuid),
        Err(err @ Error::CorruptFile { .. }) => {
            ctx.out.warn(&format!("{err}"));
            (args.vm.clone(), "unreadable profile".to_owned())
        }
        Err(err) => return Err(err),
    };
    if ctx.store.is_started(&name) {
        return Err(Error::VmStarted(name));
    }
    if !ctx.yes {
        let what = format!("deleting VM '{name}'");
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("Delete VM '{name}' ({uuid})?"))
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    if let Ok(profile) = ctx.store.load(&name) {
        // Its reservation and lease go too, so deleting VMs never exhausts the pool.
        let settings = ctx.settings()?;
        crate::backend::host(&ctx.store, &settings).forget(&lock, &profile)?;
    }
    ctx.store.remove(&lock, &name)?;
    ctx.out.done(
        &serde_json::json!({"name": name, "uuid": uuid}),
        &format!("deleted VM '{name}'"),
    );
    Ok(())
}
