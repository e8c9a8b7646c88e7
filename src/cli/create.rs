//! `vmctl create VM [network flags]`: register a VM's network profile.

use clap::Args;

use super::Ctx;
use super::shared::network_flags::NetworkFlags;
use super::shared::view::vm_nic_json;
use super::shared::vm_change::{reserve_in_fleet, unreserve_in_fleet};
use crate::error::Error;
use crate::model::VmProfile;
use crate::settings::change::apply_nic_change;

/// Register a VM's network profile (defaults from `vmctl config`)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl create web
  vmctl create db -t host --ip 192.168.128.10 --no-local
  vmctl create lan -t bridge -b en0 --mac 52:54:00:12:34:56")]
pub struct CreateArgs {
    /// Name of the VM (letters, digits, '-', '_', '.')
    vm: String,
    #[command(flatten)]
    flags: NetworkFlags,
}

pub fn run(ctx: &Ctx, args: &CreateArgs) -> Result<(), Error> {
    let change = args.flags.to_change()?;
    for w in args.flags.ignored() {
        ctx.out.warn(&w);
    }
    let settings = ctx.settings()?;
    let mut profile = VmProfile::new(&args.vm, settings.network_mode, settings.network_controller)?;
    let lock = ctx.store.lock()?;
    if ctx.store.exists(&args.vm) {
        return Err(Error::VmExists(args.vm.clone()));
    }
    if let Some(twin) = ctx.store.case_twin(&args.vm) {
        return Err(Error::VmExists(twin));
    }
    let others = ctx.store.load_all()?;
    crate::settings::change::refuse_link_name_clash(&profile.name, &others)?;
    let warnings = apply_nic_change(&mut profile, &change, &settings, &others)?;
    let fleet = reserve_in_fleet(ctx, &settings, &mut profile, None)?;
    if let Err(e) = ctx.store.save(&lock, &profile) {
        unreserve_in_fleet(ctx, &settings, fleet.as_ref(), &profile, None);
        return Err(e);
    }
    for w in &warnings {
        ctx.out.warn(w);
    }
    let body = vm_nic_json(&profile, &settings);
    ctx.out.done(
        &body,
        &format!(
            "created VM '{}' ({}, mac {})",
            profile.name,
            profile.network.mode,
            body["mac"].as_str().unwrap_or("")
        ),
    );
    Ok(())
}
