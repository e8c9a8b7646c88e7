//! Changing a stored VM: take the lock and load it with every other VM (the uniqueness rules
//! span the host), and the note that a started VM sees the change only at its next start
//! (`modify`, `clone`).

use crate::cli::Ctx;
use crate::error::Error;
use crate::model::VmProfile;
use crate::store::StoreLock;

/// Take the lock, then load the VM and every other VM (the uniqueness rules span the host).
pub fn load_for_change(
    ctx: &Ctx,
    vm: &str,
) -> Result<(StoreLock, VmProfile, Vec<VmProfile>), Error> {
    let lock = ctx.store.lock()?;
    let profile = ctx.store.load(vm)?;
    let others = ctx
        .store
        .load_all()?
        .into_iter()
        .filter(|p| p.name != profile.name)
        .collect();
    Ok((lock, profile, others))
}

/// A started VM keeps the rules it started with until its next start.
pub fn started_note(ctx: &Ctx, profile: &VmProfile) {
    if ctx.store.is_started(&profile.name) {
        ctx.out.note(&format!(
            "VM '{}' is started: the change takes effect when it is next started",
            profile.name
        ));
    }
}
