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

/// With a fleet registry, reserve `profile`'s MAC (and its static IP on a named bridge network)
/// fleet-wide before it is saved, each in one etcd transaction; `before` is the VM as it was,
/// whose MAC and address are let go when they change. A MAC vmctl made that another host holds
/// is made again (a new salt), as on one host; a MAC or an address the user gave is refused,
/// naming the holder. Without a registry this does nothing; with one that cannot be reached,
/// it fails: a duplicate on the LAN is worse than a refused command.
pub fn reserve_in_fleet(
    ctx: &Ctx,
    settings: &crate::settings::Settings,
    profile: &mut VmProfile,
    before: Option<&VmProfile>,
) -> Result<Option<crate::fleet::Fleet>, Error> {
    use crate::model::MacPolicy;
    use crate::settings::change::effective_mac;
    let Some(fleet) = crate::fleet::Fleet::from_settings(settings)? else {
        return Ok(None);
    };
    let old_mac = before.map(|b| effective_mac(b, settings));
    let mut tries = 0;
    loop {
        let mac = effective_mac(profile, settings);
        if old_mac == Some(mac) {
            break;
        }
        match crate::fleet::reserve_mac(&fleet, profile, mac, old_mac) {
            Ok(()) => break,
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
    if crate::fleet::ip_key_of(profile) != before.and_then(crate::fleet::ip_key_of)
        && let Err(e) = crate::fleet::reserve_ip(&fleet, profile, before)
    {
        // The MAC just taken goes back as it was.
        unreserve_in_fleet(ctx, settings, Some(&fleet), profile, before);
        return Err(e);
    }
    Ok(Some(fleet))
}

/// Undo what `reserve_in_fleet` took for a VM that was not saved after all (best effort: a
/// leftover only blocks that MAC or address, and says who holds it); `before`'s MAC is taken
/// back.
pub fn unreserve_in_fleet(
    ctx: &Ctx,
    settings: &crate::settings::Settings,
    fleet: Option<&crate::fleet::Fleet>,
    profile: &VmProfile,
    before: Option<&VmProfile>,
) {
    use crate::settings::change::effective_mac;
    let Some(fleet) = fleet else { return };
    let mac = effective_mac(profile, settings);
    let old_mac = before.map(|b| effective_mac(b, settings));
    let undone = if old_mac == Some(mac) {
        Ok(())
    } else {
        crate::fleet::release_mac(fleet, profile, mac).and_then(|()| match (before, old_mac) {
            (Some(before), Some(old)) => crate::fleet::reserve_mac(fleet, before, old, None),
            _ => Ok(()),
        })
    };
    let undone = undone.and_then(|()| {
        if crate::fleet::ip_key_of(profile) == before.and_then(crate::fleet::ip_key_of) {
            Ok(())
        } else {
            crate::fleet::release_ip(fleet, profile)
        }
    });
    if let Err(e) = undone {
        ctx.out.warn(&format!(
            "the fleet's reservations for VM '{}' may be left as they were: {e}",
            profile.name
        ));
    }
}
