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

/// With a fleet registry, reserve `profile`'s MAC fleet-wide before it is saved (one etcd
/// transaction; `before` is the MAC it had, released in the same transaction). A MAC vmctl
/// made that another host holds is made again (a new salt), as on one host; a MAC the user
/// gave is refused, naming the holder. Without a registry this does nothing; with one that
/// cannot be reached, it fails: a duplicate MAC on the LAN is worse than a refused command.
pub fn reserve_in_fleet(
    ctx: &Ctx,
    settings: &crate::settings::Settings,
    profile: &mut VmProfile,
    before: Option<macaddr::MacAddr6>,
) -> Result<Option<crate::fleet::Fleet>, Error> {
    use crate::model::MacPolicy;
    use crate::settings::change::effective_mac;
    let Some(fleet) = crate::fleet::Fleet::from_settings(settings)? else {
        return Ok(None);
    };
    let mut tries = 0;
    loop {
        let mac = effective_mac(profile, settings);
        if before == Some(mac) {
            return Ok(Some(fleet));
        }
        match crate::fleet::reserve_mac(&fleet, profile, mac, before) {
            Ok(()) => return Ok(Some(fleet)),
            Err(Error::Conflict { .. }) if profile.network.mac == MacPolicy::Auto && tries < 16 => {
                tries += 1;
                profile.network.mac_salt = profile.network.mac_salt.wrapping_add(1);
                ctx.out.note(&format!(
                    "MAC {} is held elsewhere in the fleet: VM '{}' gets another",
                    crate::model::Mac(mac),
                    profile.name
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Undo a fleet reservation whose VM was not saved after all (best effort: a leftover only
/// blocks that MAC, and says who holds it).
pub fn unreserve_in_fleet(
    ctx: &Ctx,
    settings: &crate::settings::Settings,
    fleet: Option<&crate::fleet::Fleet>,
    profile: &VmProfile,
) {
    if let Some(fleet) = fleet {
        let mac = crate::settings::change::effective_mac(profile, settings);
        if let Err(e) = crate::fleet::release_mac(fleet, profile, mac) {
            ctx.out.warn(&format!(
                "the fleet still holds MAC {} for VM '{}': {e}",
                crate::model::Mac(mac),
                profile.name
            ));
        }
    }
}
