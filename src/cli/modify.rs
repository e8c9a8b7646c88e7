//! `vmctl modify VM network|port|add port|delete port`, and Anka 2.x's `set|delete network-card`:
//! change a VM's NIC and port forwards. Every change is checked whole, under the store lock, then written atomically.

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::network_flags::{NetworkFlags, mode_parser};
use super::show::nic_json;
use crate::error::Error;
use std::net::Ipv4Addr;

use crate::error::printable;
use crate::model::port_forward::{PortForwardParts, PortForwardRequest, parse_port};
use crate::model::{Mode, Protocol, VmProfile};
use crate::settings::change::{
    NicChange, add_port_forward, apply_nic_change, delete_named_port_forwards,
    delete_port_forwards, find_port_forward, update_port_forward,
};
use crate::store::StoreLock;

/// Change a VM's network card or port forwards
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web network --mac 52:54:00:12:34:56
  vmctl modify web network -t bridge -b en0
  vmctl modify web network --ip 192.168.64.20
  vmctl modify web network --no-local
  vmctl modify web network -f rules.txt      rules re-read from rules.txt at every start
  vmctl modify web port ssh 22               add: host port chosen from portfwd_base
  vmctl modify web port vnc 5900:127.0.0.1:15900
  vmctl modify web add port ssh -g 22 -p 2222 -l 127.0.0.1
  vmctl modify web port ssh -p 2200          change an existing rule's host port
  vmctl modify web port ssh --set-name ssh2  rename it
  vmctl modify web delete port ssh vnc       or: port ssh -d, delete port --all")]
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
    /// Add a port forward, change one (NAME exists), or delete one (-d NAME) or all (-d --all)
    Port(PortArgs),
    /// Add a port forward: `add port NAME [RULE] [-g N] [-p N] [-l IP]`
    Add {
        #[command(subcommand)]
        what: AddCommand,
    },
    /// Delete port forwards: `delete port [--all] [NAME...]`
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
    },
    /// Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`
    #[command(hide = true)]
    Set {
        #[command(subcommand)]
        what: SetCommand,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web network --ip 192.168.64.20     reserve a static IP (--ip auto: DHCP)
  vmctl modify web network -t host                host-only network
  vmctl modify web network -t bridge -b eth1      bridge to a host interface
  vmctl modify web network --network ci           a named network (vmctl network create)
  vmctl modify web network --no-local             isolate it from other VMs and the host
  vmctl modify web network -f rules.txt           filter rules, re-read at every start")]
struct NetworkArgs {
    #[command(flatten)]
    flags: NetworkFlags,
}

/// The parts of a forward as flags (Anka's names); RULE gives the same parts in short.
#[derive(Debug, Args)]
struct PortFlags {
    /// Guest port (instead of RULE)
    #[arg(short = 'g', long, value_name = "N", value_parser = port_value)]
    guest_port: Option<u16>,
    /// Host port [default for a new rule: the lowest free one from portfwd_base]
    #[arg(short = 'p', long, value_name = "N", value_parser = port_value)]
    host_port: Option<u16>,
    /// Host address to listen on [default for a new rule: 0.0.0.0, every address]
    #[arg(short = 'l', long, value_name = "IP")]
    host_ip: Option<Ipv4Addr>,
    /// Protocol [default for a new rule: tcp]
    #[arg(long, value_parser = ["tcp", "udp"])]
    protocol: Option<String>,
}

fn port_value(text: &str) -> Result<u16, String> {
    parse_port(text).map_err(|e| e.to_string())
}

impl PortFlags {
    /// RULE's parts with the flags' (a part given both ways is refused).
    fn parts(&self, rule: Option<&str>) -> Result<PortForwardParts, Error> {
        let flags = PortForwardParts {
            guest_port: self.guest_port,
            host_ip: self.host_ip,
            host_port: self.host_port,
            protocol: self.protocol.as_deref().map(|p| {
                if p == "udp" {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                }
            }),
        };
        match rule {
            Some(rule) => PortForwardParts::from_rule(rule)?.merge(flags),
            None => Ok(flags),
        }
    }

    fn given(&self) -> bool {
        self.guest_port.is_some()
            || self.host_port.is_some()
            || self.host_ip.is_some()
            || self.protocol.is_some()
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web port ssh 22                    forward a free host port to the guest's 22
  vmctl modify web port ssh 22:2222               ... from host port 2222
  vmctl modify web port ssh -p 2223               change the host port of rule ssh
  vmctl modify web port ssh --set-name admin      rename it
  vmctl modify web port -d ssh                    delete it (-d -a: every rule)")]
struct PortArgs {
    /// Name of the rule (e.g. ssh)
    name: Option<String>,
    /// GUEST[:HOST_IP][:HOST_PORT], e.g. 22, 22:2222, 22:127.0.0.1:2222
    #[arg(value_name = "RULE")]
    rule: Option<String>,
    #[command(flatten)]
    flags: PortFlags,
    /// New name of the rule NAME
    #[arg(long, value_name = "NEW")]
    set_name: Option<String>,
    /// Delete the named rule (or every rule with --all)
    #[arg(short = 'd', long, conflicts_with_all = ["rule", "set_name"])]
    delete: bool,
    /// With --delete: every rule
    #[arg(short = 'a', long, requires = "delete", conflicts_with = "name")]
    all: bool,
}

#[derive(Debug, Subcommand)]
enum AddCommand {
    /// Add a port forward (Anka 2.x: `add port-forwarding`)
    #[command(name = "port", visible_alias = "port-forwarding")]
    Port(AddPortArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web add port ssh 22
  vmctl modify web add port-forwarding web --guest-port 80 --host-port 8080")]
struct AddPortArgs {
    /// Name of the rule (e.g. ssh)
    name: String,
    /// GUEST[:HOST_IP][:HOST_PORT], e.g. 22, 22:2222, 22:127.0.0.1:2222
    #[arg(value_name = "RULE")]
    rule: Option<String>,
    #[command(flatten)]
    flags: PortFlags,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web delete port ssh web
  vmctl modify web delete port-forwarding --all")]
struct DeletePortArgs {
    /// Names of the rules to delete
    names: Vec<String>,
    /// Every rule
    #[arg(short = 'a', long, conflicts_with = "names")]
    all: bool,
}

#[derive(Debug, Subcommand)]
enum SetCommand {
    #[command(name = "network-card")]
    NetworkCard(SetCardArgs),
}

#[derive(Debug, Subcommand)]
enum DeleteCommand {
    /// Delete port forwards (Anka 2.x: `delete port-forwarding`)
    #[command(name = "port", visible_alias = "port-forwarding")]
    Port(DeletePortArgs),
    /// Anka 2.x: `modify VM delete network-card [INDEX]` (same as `network -t disconnected`)
    #[command(name = "network-card", hide = true)]
    NetworkCard(CardIndex),
}

#[derive(Debug, Args)]
struct SetCardArgs {
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
    let mut ignored = Vec::new();
    let change = match args.what {
        ModifyCommand::Network(n) => {
            let change = n.flags.to_change()?;
            ignored = n.flags.ignored();
            change
        }
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
        ModifyCommand::Port(port) => return modify_port(ctx, &args.vm, &port),
        ModifyCommand::Add {
            what: AddCommand::Port(add),
        } => {
            let request = add
                .flags
                .parts(add.rule.as_deref())?
                .into_request(&add.name)?;
            return add_port(ctx, &args.vm, &request);
        }
        ModifyCommand::Delete {
            what: DeleteCommand::Port(delete),
        } => {
            if !delete.all && delete.names.is_empty() {
                return Err(Error::Usage(
                    "`delete port` needs rule names, or --all".into(),
                ));
            }
            return delete_ports(ctx, &args.vm, (!delete.all).then_some(&delete.names[..]));
        }
    };
    if change == NicChange::default() && ignored.is_empty() {
        return Err(Error::Usage("no change given".into()));
    }
    for w in &ignored {
        ctx.out.warn(w);
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

/// `port NAME ...`: delete (-d), change (NAME exists) or add.
fn modify_port(ctx: &Ctx, vm: &str, args: &PortArgs) -> Result<(), Error> {
    if args.delete {
        if args.flags.given() {
            return Err(Error::Usage(
                "--delete takes only NAME (or --all): -g, -p, -l and --protocol change a rule"
                    .into(),
            ));
        }
        return match (&args.name, args.all) {
            (Some(name), false) => delete_ports(ctx, vm, Some(std::slice::from_ref(name))),
            (None, true) => delete_ports(ctx, vm, None),
            _ => Err(Error::Usage("--delete needs a rule name, or --all".into())),
        };
    }
    let Some(name) = &args.name else {
        return Err(Error::Usage(
            "a port forward needs NAME and RULE (GUEST[:HOST_IP][:HOST_PORT]) or -g N".into(),
        ));
    };
    let parts = args.flags.parts(args.rule.as_deref())?;
    let settings = ctx.settings()?;
    let (lock, mut profile, others) = load_for_change(ctx, vm)?;
    let exists = profile
        .network
        .port_forwarding_rules
        .iter()
        .any(|pf| &pf.name == name);
    if !exists {
        if args.set_name.is_some() {
            // Renaming needs the rule: this fails, saying which rules there are.
            find_port_forward(&profile, name)?;
        }
        drop(lock);
        return add_port(ctx, vm, &parts.into_request(name)?);
    }
    if parts == PortForwardParts::default() && args.set_name.is_none() {
        return Err(Error::Usage(format!(
            "rule '{}' exists: say what to change (RULE, -g, -p, -l, --protocol, --set-name) or -d to delete it",
            printable(name)
        )));
    }
    let before = profile.clone();
    let forward = update_port_forward(
        &mut profile,
        name,
        parts,
        args.set_name.as_deref(),
        &settings,
        &others,
    )?;
    if profile != before {
        ctx.store.save(&lock, &profile)?;
        started_note(ctx, &profile);
    }
    ctx.out.done(
        &serde_json::to_value(&forward).unwrap_or_default(),
        &format!(
            "VM '{}': rule {}: {} {}:{} -> guest port {}",
            profile.name,
            forward.name,
            forward.protocol.name(),
            forward.host_ip,
            forward.host_port,
            forward.guest_port
        ),
    );
    Ok(())
}

/// Add one forward, checked against every VM under the lock.
fn add_port(ctx: &Ctx, vm: &str, request: &PortForwardRequest) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let (lock, mut profile, others) = load_for_change(ctx, vm)?;
    let forward = add_port_forward(&mut profile, request, &settings, &others)?;
    ctx.store.save(&lock, &profile)?;
    started_note(ctx, &profile);
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

/// Delete the named forwards (all of them, or none when one is unknown), or every one.
fn delete_ports(ctx: &Ctx, vm: &str, names: Option<&[String]>) -> Result<(), Error> {
    let (lock, mut profile, _) = load_for_change(ctx, vm)?;
    let removed = match names {
        Some(names) => delete_named_port_forwards(&mut profile, names)?,
        None => delete_port_forwards(&mut profile, None)?,
    };
    if !removed.is_empty() {
        ctx.store.save(&lock, &profile)?;
        started_note(ctx, &profile);
    }
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
    Ok(())
}

/// A started VM keeps the rules it started with until its next start.
fn started_note(ctx: &Ctx, profile: &VmProfile) {
    if ctx.store.is_started(&profile.name) {
        ctx.out.note(&format!(
            "VM '{}' is started: the change takes effect when it is next started",
            profile.name
        ));
    }
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
