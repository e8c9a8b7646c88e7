//! `vmctl modify VM network|port|set network-card|delete network-card`: change a VM's NIC and
//! port forwards. Every change is checked whole, under the store lock, then written atomically.

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::network_flags::{NetworkFlags, mode_parser};
use super::show::nic_json;
use crate::error::Error;
use crate::model::change::{NicChange, add_port_forward, apply_nic_change, delete_port_forwards};
use crate::model::port_forward::parse_port_spec;
use crate::model::{Mode, Protocol, VmProfile};
use crate::settings::Settings;
use crate::store::StoreLock;

/// Change a VM's network card or port forwards
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web network --mac 52:54:00:12:34:56
  vmctl modify web network -t bridge -b en0
  vmctl modify web network --ip 192.168.64.20
  vmctl modify web network --no-local
  vmctl modify web port ssh 22               host port chosen from portfwd_base
  vmctl modify web port vnc 5900:127.0.0.1:15900
  vmctl modify web port --delete ssh")]
pub struct ModifyArgs {
    /// The VM
    vm: String,
    #[command(subcommand)]
    what: ModifyCommand,
}

#[derive(Debug, Subcommand)]
enum ModifyCommand {
    /// Change the network card
    Network(NetworkArgs),
    /// Add a port forward, or delete one (--delete NAME) or all (--delete --all)
    Port(PortArgs),
    /// Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`
    #[command(hide = true)]
    Set {
        #[command(subcommand)]
        what: SetCommand,
    },
    /// Anka 2.x: `modify VM delete network-card [INDEX]` (same as `network -t disconnected`)
    #[command(hide = true)]
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
    },
}

#[derive(Debug, Args)]
struct NetworkArgs {
    #[command(flatten)]
    flags: NetworkFlags,
}

#[derive(Debug, Args)]
struct PortArgs {
    /// Name of the rule (e.g. ssh)
    name: Option<String>,
    /// GUEST[:HOST_IP][:HOST_PORT], e.g. 22, 22:2222, 22:127.0.0.1:2222
    #[arg(value_name = "GUEST[:HOST_IP][:HOST_PORT]")]
    spec: Option<String>,
    /// Protocol of the forward
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp"])]
    protocol: String,
    /// Delete the named rule (or every rule with --all)
    #[arg(long, conflicts_with_all = ["spec", "protocol"])]
    delete: bool,
    /// With --delete: every rule
    #[arg(long, requires = "delete", conflicts_with = "name")]
    all: bool,
}

#[derive(Debug, Subcommand)]
enum SetCommand {
    #[command(name = "network-card")]
    NetworkCard(SetCardArgs),
}

#[derive(Debug, Subcommand)]
enum DeleteCommand {
    #[command(name = "network-card")]
    NetworkCard(CardIndex),
}

#[derive(Debug, Args)]
struct SetCardArgs {
    #[arg(short = 't', long = "type", value_parser = mode_parser())]
    mode: Option<Mode>,
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
struct CardIndex {
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

pub fn run(ctx: &Ctx, args: ModifyArgs) -> Result<(), Error> {
    let change = match args.what {
        ModifyCommand::Network(n) => n.flags.to_change()?,
        ModifyCommand::Set {
            what: SetCommand::NetworkCard(card),
        } => {
            card.index.check()?;
            NetworkFlags {
                mode: card.mode,
                bridge: card.bridge,
                mac: card.mac,
                local: card.local,
                no_local: card.no_local,
                ..NetworkFlags::default()
            }
            .to_change()?
        }
        ModifyCommand::Delete {
            what: DeleteCommand::NetworkCard(index),
        } => {
            index.check()?;
            NicChange {
                mode: Some(Mode::Disconnected),
                ..NicChange::default()
            }
        }
        ModifyCommand::Port(port) => return modify_ports(ctx, &args.vm, &port),
    };
    if change == NicChange::default() {
        return Err(Error::Usage("no change given".into()));
    }
    let settings = ctx.settings()?;
    let (lock, mut profile, others) = load_for_change(ctx, &args.vm)?;
    let before = profile.clone();
    let warnings = apply_nic_change(&mut profile, &change, &settings, &others)?;
    if profile != before {
        ctx.store.save(&lock, &profile)?;
    }
    for w in &warnings {
        ctx.out.warn(w);
    }
    if profile != before && ctx.store.is_started(&profile.name) {
        ctx.out.note(&format!(
            "VM '{}' is started: the change takes effect when it is next started",
            profile.name
        ));
    }
    let message = if profile == before {
        format!("VM '{}': nothing changed", profile.name)
    } else {
        format!("VM '{}': network updated", profile.name)
    };
    ctx.out.done(&nic_json(&profile, &settings), &message);
    Ok(())
}

fn modify_ports(ctx: &Ctx, vm: &str, args: &PortArgs) -> Result<(), Error> {
    let settings: Settings = ctx.settings()?;
    if args.delete {
        let name = match (&args.name, args.all) {
            (Some(name), false) => Some(name.as_str()),
            (None, true) => None,
            _ => return Err(Error::Usage("--delete needs a rule name, or --all".into())),
        };
        let (lock, mut profile, _) = load_for_change(ctx, vm)?;
        let removed = delete_port_forwards(&mut profile, name)?;
        ctx.store.save(&lock, &profile)?;
        let names: Vec<&str> = removed.iter().map(|pf| pf.name.as_str()).collect();
        ctx.out.done(
            &json!({"deleted": removed}),
            &format!(
                "VM '{}': deleted {} port forward(s) {}",
                profile.name,
                removed.len(),
                names.join(", ")
            ),
        );
        return Ok(());
    }
    let (Some(name), Some(spec)) = (&args.name, &args.spec) else {
        return Err(Error::Usage(
            "a port forward needs NAME and GUEST[:HOST_IP][:HOST_PORT]".into(),
        ));
    };
    let protocol = if args.protocol == "udp" {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let request = parse_port_spec(name, spec, protocol)?;
    let (lock, mut profile, others) = load_for_change(ctx, vm)?;
    let forward = add_port_forward(&mut profile, &request, &settings, &others)?;
    ctx.store.save(&lock, &profile)?;
    ctx.out.done(
        &serde_json::to_value(&forward).unwrap_or_default(),
        &format!(
            "VM '{}': {} {}:{} -> guest port {} ({})",
            profile.name,
            forward.protocol.name(),
            forward.host_ip,
            forward.host_port,
            forward.guest_port,
            forward.name
        ),
    );
    Ok(())
}

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
