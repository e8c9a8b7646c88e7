//! `vmctl delete VM...`: remove stopped VMs' profiles, after confirmation.

use std::io::IsTerminal;

use clap::Args;

use serde_json::{Value, json};

use super::Ctx;
use crate::error::Error;

/// Delete VMs' profiles (asks first unless --yes)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl delete web2
  vmctl delete web2 --yes        no question (needed when stdin is not a terminal)
  vmctl delete web2 web3 --yes   several: every one is checked before any is deleted
  vmctl -j delete --yes 1948dd37-e8ea-43b3-972f-b91860329eab   by uuid")]
pub struct DeleteArgs {
    /// The VMs (names or uuids)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    vms: Vec<String>,
    /// Every stored VM (none may be started)
    #[arg(short = 'a', long)]
    all: bool,
}

pub fn run(ctx: &Ctx, args: &DeleteArgs) -> Result<(), Error> {
    let lock = ctx.store.lock()?;
    let ids = if args.all {
        ctx.store.names()?
    } else {
        args.vms.clone()
    };
    // Every VM is found and stopped before any is deleted.
    let mut doomed: Vec<(String, String)> = Vec::with_capacity(ids.len());
    for id in &ids {
        // An unreadable profile can still be deleted: that is how a user gets rid of it.
        let (name, uuid) = match ctx.store.load(id) {
            Ok(profile) => (profile.name, profile.uuid),
            Err(err @ Error::CorruptFile { .. }) => {
                ctx.out.warn(&format!("{err}"));
                (id.clone(), "unreadable profile".to_owned())
            }
            Err(err) => return Err(err),
        };
        if ctx.store.is_started(&name) {
            return Err(Error::VmStarted(name));
        }
        if !doomed.iter().any(|(n, _)| *n == name) {
            doomed.push((name, uuid));
        }
    }
    if doomed.is_empty() {
        if ctx.out.json {
            ctx.out.done(&Value::Array(Vec::new()), "");
        } else {
            ctx.out.note("no VMs to delete");
        }
        return Ok(());
    }
    if !ctx.yes {
        let what = match doomed.as_slice() {
            [(name, _)] => format!("deleting VM '{name}'"),
            many => format!("deleting {} VMs", many.len()),
        };
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        let prompt = match doomed.as_slice() {
            [(name, uuid)] => format!("Delete VM '{name}' ({uuid})?"),
            many => format!(
                "Delete {} VMs ({})?",
                many.len(),
                many.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let yes = dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    let settings = ctx.settings()?;
    let fleet = crate::fleet::Fleet::from_settings(&settings).unwrap_or_else(|e| {
        ctx.out
            .warn(&format!("the fleet's MAC reservations stay: {e}"));
        None
    });
    let mut bodies = Vec::with_capacity(doomed.len());
    for (name, uuid) in doomed {
        let profile = ctx.store.load(&name).ok();
        if let Some(profile) = &profile {
            // Its reservation and lease go too, so deleting VMs never exhausts the pool.
            crate::backend::host(&ctx.store, &settings).forget(&lock, profile)?;
        }
        ctx.store.remove(&lock, &name)?;
        // The fleet's hold on its MAC goes after the file: a failure here leaves a
        // reservation naming a VM that is gone, never a VM without one.
        if let (Some(fleet), Some(profile)) = (&fleet, &profile) {
            let mac = crate::settings::change::effective_mac(profile, &settings);
            if let Err(e) = crate::fleet::release_mac(fleet, profile, mac)
                .and_then(|()| crate::fleet::release_ip(fleet, profile))
            {
                ctx.out.warn(&format!(
                    "the fleet may still hold MAC {} (or the address) of deleted VM '{name}': {e}",
                    crate::model::Mac(mac)
                ));
            }
        }
        if !ctx.out.json {
            ctx.out.done(&Value::Null, &format!("deleted VM '{name}'"));
        }
        bodies.push(json!({"name": name, "uuid": uuid}));
    }
    if ctx.out.json {
        let body = match <[Value; 1]>::try_from(bodies) {
            Ok([one]) if !args.all => one,
            Ok([one]) => Value::Array(vec![one]),
            Err(all) => Value::Array(all),
        };
        ctx.out.done(&body, "");
    }
    Ok(())
}
