//! `vmctl modify VM port ...`, `add port` and `delete port`: add, change, rename or delete a
//! VM's port forwards, each checked against every VM under the lock.

use std::net::Ipv4Addr;

use clap::Args;
use serde_json::json;

use crate::cli::Ctx;
use crate::cli::shared::vm_change::{load_for_change, started_note};
use crate::error::{Error, printable};
use crate::model::Protocol;
use crate::model::VmProfile;
use crate::model::port_forward::{
    PortForward, PortForwardParts, PortForwardRequest, parse_host_port, parse_port,
};
use crate::settings::change::{
    add_port_forward, delete_named_port_forwards, delete_port_forwards, find_port_forward,
    host_port_sharers, update_port_forward,
};

/// The parts of a forward as flags (Anka's names); RULE gives the same parts in short.
#[derive(Debug, Args)]
struct PortFlags {
    /// Guest port (instead of RULE)
    #[arg(short = 'g', long, value_name = "N", value_parser = port_value)]
    guest_port: Option<u16>,
    /// Host port; 0 or none: the lowest free one from portfwd_base (a rule that has one keeps it)
    #[arg(short = 'p', long, value_name = "N", value_parser = host_port_value)]
    host_port: Option<u16>,
    /// Host address to listen on [default for a new rule: 0.0.0.0, every address]
    #[arg(short = 'l', long, value_name = "IP")]
    host_ip: Option<Ipv4Addr>,
    /// Protocol [default for a new rule: tcp]
    #[arg(long, value_parser = ["tcp", "udp"])]
    protocol: Option<String>,
    /// Anka 2.x's guest address: vmctl forwards to the address the VM has (accepted; a
    /// different one than its static IP is a warning)
    #[arg(long, value_name = "IP")]
    guest_ip: Option<Ipv4Addr>,
    /// Anka's reverse rule (guest to a host address or socket): refused with the reason, as
    /// vmctl forwards host ports into guests only
    #[arg(short = 'r', long)]
    reverse: bool,
}

fn port_value(text: &str) -> Result<u16, String> {
    parse_port(text).map_err(|e| e.to_string())
}

/// `-p N`, where 0 (`parts` takes it for "not given") means vmctl chooses, as in Anka.
fn host_port_value(text: &str) -> Result<u16, String> {
    parse_host_port(text)
        .map(|port| port.unwrap_or(0))
        .map_err(|e| e.to_string())
}

impl PortFlags {
    /// RULE's parts with the flags' (a part given both ways is refused).
    fn parts(&self, rule: Option<&str>) -> Result<PortForwardParts, Error> {
        if self.reverse {
            return Err(Error::invalid(
                "port forward",
                "--reverse",
                "vmctl forwards host ports into guests, not guests out to host addresses or sockets",
            )
            .with_hint(
                "a guest reaches the host at its network's gateway (`vmctl network show NAME`): serve the socket there over TCP, e.g. `socat TCP-LISTEN:PORT,bind=GATEWAY UNIX-CONNECT:PATH`",
            ));
        }
        let flags = PortForwardParts {
            guest_port: self.guest_port,
            host_ip: self.host_ip,
            host_port: self.host_port.filter(|&port| port != 0),
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
            || self.guest_ip.is_some()
            || self.reverse
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web port ssh 22                    forward a free host port to the guest's 22
  vmctl modify web port ssh 22:2222               ... from host port 2222
  vmctl modify web port ssh -p 2223               change the host port of rule ssh
  vmctl modify web port ssh --set-name admin      rename it
  vmctl modify web port -d ssh                    delete it (-d -a: every rule)")]
pub(super) struct PortArgs {
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

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web add port ssh 22
  vmctl modify web add port-forwarding web --guest-port 80 --host-port 8080")]
pub(super) struct AddPortArgs {
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
pub(super) struct DeletePortArgs {
    /// Names of the rules to delete
    names: Vec<String>,
    /// Every rule
    #[arg(short = 'a', long, conflicts_with = "names")]
    all: bool,
}

/// `add port NAME [RULE] [-g N] [-p N] [-l IP]`.
pub(super) fn add(ctx: &Ctx, vm: &str, add: &AddPortArgs) -> Result<(), Error> {
    let request = add
        .flags
        .parts(add.rule.as_deref())?
        .into_request(&add.name)?;
    guest_ip_note(ctx, vm, add.flags.guest_ip)?;
    add_port(ctx, vm, &request)
}

/// `--guest-ip`: vmctl forwards to the address the VM has; one other than its static IP
/// (the only address vmctl can promise) is said to be passed over.
fn guest_ip_note(ctx: &Ctx, vm: &str, guest_ip: Option<Ipv4Addr>) -> Result<(), Error> {
    let Some(guest_ip) = guest_ip else {
        return Ok(());
    };
    let profile = ctx.store.load(vm)?;
    if profile.network.ip != Some(guest_ip) {
        ctx.out.warn(&format!(
            "--guest-ip {guest_ip} is passed over: vmctl forwards to the address VM '{}' has (give it one with `vmctl modify {} network --ip {guest_ip}`)",
            profile.name, profile.name
        ));
    }
    Ok(())
}

/// `delete port [--all] [NAME...]`.
pub(super) fn delete(ctx: &Ctx, vm: &str, delete: &DeletePortArgs) -> Result<(), Error> {
    if !delete.all && delete.names.is_empty() {
        return Err(Error::Usage(
            "`delete port` needs rule names, or --all".into(),
        ));
    }
    delete_ports(ctx, vm, (!delete.all).then_some(&delete.names[..]))
}

/// `port NAME ...`: delete (-d), change (NAME exists) or add.
pub(super) fn modify_port(ctx: &Ctx, vm: &str, args: &PortArgs) -> Result<(), Error> {
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
    guest_ip_note(ctx, vm, args.flags.guest_ip)?;
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
        shared_port_note(ctx, &profile, &forward, &others);
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
    shared_port_note(ctx, &profile, &forward, &others);
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

/// A host port another stored VM forwards too is allowed, as in Anka: the two cannot run at
/// once, and the second start says so.
fn shared_port_note(ctx: &Ctx, profile: &VmProfile, forward: &PortForward, others: &[VmProfile]) {
    let sharers = host_port_sharers(forward, others);
    if !sharers.is_empty() {
        ctx.out.note(&format!(
            "host port {}/{} of VM '{}' is forwarded by {} too: they cannot run at once",
            forward.host_port,
            forward.protocol.name(),
            profile.name,
            sharers.join(", ")
        ));
    }
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
