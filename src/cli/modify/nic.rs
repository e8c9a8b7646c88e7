//! `vmctl modify VM network [flags]`, and Anka 2.x's `set network-card` and `delete
//! network-card`: one NIC change, checked against every VM under the lock, then written.

use clap::Args;

use crate::cli::Ctx;
use crate::cli::shared::network_flags::{NetworkFlags, controller_parser, mode_parser};
use crate::cli::shared::view::nic_json;
use crate::cli::shared::vm_change::{
    load_for_change, reserve_in_fleet, started_note, unreserve_in_fleet,
};
use crate::error::Error;
use crate::model::{Controller, Mode};
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

/// Anka 2.x's `set network-card` flags.
#[derive(Debug, Args)]
pub(super) struct SetCardArgs {
    /// Network mode (`bridged` is `bridge`)
    #[arg(short = 't', long = "type", visible_alias = "mode", value_parser = mode_parser())]
    mode: Option<String>,
    /// Host interface for bridge mode, or `auto`
    #[arg(short = 'b', long)]
    bridge: Option<String>,
    /// Static MAC, or `auto`
    #[arg(short = 'm', long, conflicts_with = "no_mac")]
    mac: Option<String>,
    /// A MAC vmctl makes (Anka 2.x's dynamic MAC): same as `--mac auto`
    #[arg(short = 'n', long)]
    no_mac: bool,
    /// Anka 2.3.4's "expose the bridged VM's MAC on the host": always so in vmctl (accepted)
    #[arg(long)]
    direct_mac: bool,
    /// NIC model
    #[arg(short = 'c', long, value_parser = controller_parser())]
    controller: Option<Controller>,
    /// VLAN ID (0 = none)
    #[arg(short = 'v', long, value_parser = clap::value_parser!(u16).range(0..=4094))]
    vlan: Option<u16>,
    /// Allow traffic to other VMs and the host
    #[arg(long, group = "locality")]
    local: bool,
    /// Block traffic to other VMs and the host
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
        mac: if card.no_mac {
            Some("auto".to_owned())
        } else {
            card.mac.clone()
        },
        controller: card.controller,
        vlan: card.vlan,
        local: card.local,
        no_local: card.no_local,
        ..NetworkFlags::default()
    }
    .to_change()?;
    let ignored: Vec<String> = card
        .direct_mac
        .then(|| {
            "--direct-mac changes nothing: a vmctl VM on a bridge always shows its own MAC on the LAN, so DHCP sees it".to_owned()
        })
        .into_iter()
        .collect();
    apply(ctx, vm, &change, &ignored)
}

/// `add network [flags]` (Anka 3's `add network-card`): a vmctl VM has one NIC, so this
/// connects the card that `delete network` disconnected (to the shared network unless the
/// flags say otherwise). A VM whose card is connected is refused: a second card is not there
/// to add, and changing the one it has is `modify VM network`.
pub(super) fn add_card(ctx: &Ctx, vm: &str, args: &NetworkArgs) -> Result<(), Error> {
    let mut change = args.flags.to_change()?;
    let profile = ctx.store.load(vm)?;
    if profile.network.mode != Mode::Disconnected {
        return Err(Error::conflict(format!(
            "VM '{}' has its network card already ({} mode): a vmctl VM has one NIC",
            profile.name, profile.network.mode
        ))
        .with_hint(format!(
            "change it with `vmctl modify {} network ...`, or `vmctl modify {} delete network` first",
            profile.name, profile.name
        )));
    }
    if change.mode.is_none() && change.network.is_none() {
        change.mode = Some(Mode::Shared);
        change.network = Some(None);
    }
    let ignored = args.flags.ignored();
    apply(ctx, &profile.name, &change, &ignored)
}

/// `delete network [INDEX]` (Anka 2.x's `delete network-card`): the NIC disconnected.
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
        let fleet = reserve_in_fleet(ctx, &settings, &mut profile, Some(&before))?;
        if let Err(e) = ctx.store.save(&lock, &profile) {
            unreserve_in_fleet(ctx, &settings, fleet.as_ref(), &profile, Some(&before));
            return Err(e);
        }
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
