//! `vmctl modify VM network [flags]`, and Anka 2.x's `set network-card` and `delete
//! network-card`: one NIC change, checked against every VM under the lock, then written.

use clap::Args;

use crate::cli::Ctx;
use crate::cli::shared::network_flags::{NetworkFlags, mode_parser};
use crate::cli::shared::view::nic_json;
use crate::cli::shared::vm_change::{load_for_change, started_note};
use crate::error::Error;
use crate::model::Mode;
use crate::settings::change::{NicChange, apply_nic_change};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web network --ip 192.168.64.20     reserve a static IP (--ip auto: DHCP)
  vmctl modify web network -t host                host-only network
  vmctl modify web network -t bridge -b eth1      bridge to a host interface
  vmctl modify web network --network ci           a named network (vmctl network create)
  vmctl modify web network --no-local             isolate it from other VMs and the host
  vmctl modify web network -f rules.txt           filter rules, re-read at every start")]
pub(super) struct NetworkArgs {
    #[command(flatten)]
    flags: NetworkFlags,
}

#[derive(Debug, Args)]
pub(super) struct SetCardArgs {
    #[arg(short = 't', long = "type", value_parser = mode_parser())]
    mode: Option<String>,
    #[arg(short = 'b', long)]
    bridge: Option<String>,
    #[arg(short = 'm', long)]
    mac: Option<String>,
    #[arg(long, group = "locality")]
    local: bool,
    #[arg(long, group = "locality")]
    no_local: bool,
    #[command(flatten)]
    index: CardIndex,
}

#[derive(Debug, Args)]
pub(super) struct CardIndex {
    /// Always 0: a VM has one NIC
    #[arg(default_value_t = 0)]
    index: u32,
}

impl CardIndex {
    fn check(&self) -> Result<(), Error> {
        if self.index == 0 {
            Ok(())
        } else {
            Err(Error::invalid(
                "network card index",
                self.index.to_string(),
                "a VM has one NIC, index 0",
            )
            .with_hint("use index 0 or leave it out"))
        }
    }
}

/// `network [flags]`.
pub(super) fn network(ctx: &Ctx, vm: &str, args: &NetworkArgs) -> Result<(), Error> {
    let change = args.flags.to_change()?;
    let ignored = args.flags.ignored();
    apply(ctx, vm, &change, &ignored)
}

/// Anka 2.x's `set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`.
pub(super) fn set_card(ctx: &Ctx, vm: &str, card: &SetCardArgs) -> Result<(), Error> {
    card.index.check()?;
    let change = NetworkFlags {
        mode: card.mode.clone(),
        bridge: card.bridge.clone(),
        mac: card.mac.clone(),
        local: card.local,
        no_local: card.no_local,
        ..NetworkFlags::default()
    }
    .to_change()?;
    apply(ctx, vm, &change, &[])
}

/// Anka 2.x's `delete network-card [INDEX]`: the NIC disconnected.
pub(super) fn delete_card(ctx: &Ctx, vm: &str, index: &CardIndex) -> Result<(), Error> {
    index.check()?;
    let change = NicChange {
        mode: Some(Mode::Disconnected),
        ..NicChange::default()
    };
    apply(ctx, vm, &change, &[])
}

/// Apply `change` to the VM under the lock, and say what it did (`ignored`: warnings for
/// options that were accepted and change nothing).
fn apply(ctx: &Ctx, vm: &str, change: &NicChange, ignored: &[String]) -> Result<(), Error> {
    if *change == NicChange::default() && ignored.is_empty() {
        return Err(Error::Usage("no change given".into()));
    }
    for w in ignored {
        ctx.out.warn(w);
    }
    let settings = ctx.settings()?;
    let (lock, mut profile, others) = load_for_change(ctx, vm)?;
    let before = profile.clone();
    let warnings = apply_nic_change(&mut profile, change, &settings, &others)?;
    if profile != before {
        ctx.store.save(&lock, &profile)?;
    }
    for w in &warnings {
        ctx.out.warn(w);
    }
    if profile != before {
        started_note(ctx, &profile);
    }
    let message = if profile == before {
        format!("VM '{}': nothing changed", profile.name)
    } else {
        format!("VM '{}': network updated", profile.name)
    };
    ctx.out.done(&nic_json(&profile, &settings), &message);
    Ok(())
}
