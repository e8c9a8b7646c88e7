//! `vmctl network create|list|show|delete|import`: named networks beside the built-in `shared`
//! and `host`. Each is `networks/<name>.plist`; a shared or host network comes up with its
//! first started VM (its own bridge and dnsmasq on Linux) and goes down with its last.

use std::net::Ipv4Addr;

use clap::{Args, Subcommand};
use ipnetwork::Ipv4Network;
use serde_json::{Value, json};

use super::Ctx;
use crate::discovery::routes::{self, HostRoute};
use crate::error::Error;
use crate::model::Mode;
use crate::model::named_network::{NETWORK_SCHEMA_VERSION, NetworkDef};
use crate::model::network::AddressPlan;
use crate::output::{field_table, grid};
use crate::settings::Settings;

/// Named networks: create, list, show, delete, import (Lima, vmnet-broker)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network create ci --mode shared --subnet 10.77.0.0/24
  vmctl network create ci2 --mode shared --subnet auto      the first free /24
  vmctl network create lab --mode host --mask 255.255.255.240
  vmctl network create lan --mode bridge --interface eth1
  vmctl network list
  vmctl modify web network --network ci; sudo vmctl start web
  vmctl network delete ci")]
pub struct NetworkArgs {
    #[command(subcommand)]
    command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
enum NetworkCommand {
    Create(CreateArgs),
    List(ListArgs),
    Show(ShowArgs),
    Delete(DeleteArgs),
    Import(ImportArgs),
}

/// Create networks from Lima's networks.yaml or vmnet-broker's folder (a dry run unless --apply)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network import lima ~/.lima/_config/networks.yaml           what it would create
  vmctl network import lima ~/.lima/_config/networks.yaml --apply
  vmctl network import vmnet-broker /etc/vmnet-broker.d/ --apply
Names vmctl has built in get a prefix (lima-shared); every value is checked as `network create`
checks it, and nothing is written unless all of them pass.")]
struct ImportArgs {
    /// lima (networks.yaml) or vmnet-broker (a folder of *.json)
    #[arg(value_parser = ["lima", "vmnet-broker"])]
    from: String,
    /// The file (lima) or folder (vmnet-broker)
    path: std::path::PathBuf,
    /// Create the networks (without it: show what would be created)
    #[arg(long)]
    apply: bool,
}

/// Make a named network
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network create ci --mode shared --subnet 10.77.0.0/24
  vmctl network create ci2 --subnet auto                      shared, the first free /24
  vmctl network create lab --mode host --mask 255.255.255.240  the first free /28
  vmctl network create lan --mode bridge --interface eth1
A subnet that collides with a route or an address of the host, or with another vmctl network,
is refused with a free one to use instead.")]
struct CreateArgs {
    /// The network's name (letters, digits, '-', '_')
    name: String,
    /// shared (NAT to the outside), host (host-only) or bridge (a host interface)
    #[arg(short = 't', long, default_value = "shared", value_parser = ["shared", "host", "bridge"])]
    mode: String,
    /// The subnet, e.g. 10.77.0.0/24 (the host takes its first address, DHCP the rest), or
    /// `auto`: the first free one [default: auto]
    #[arg(long, value_name = "CIDR|auto", conflicts_with = "interface")]
    subnet: Option<String>,
    /// With --subnet auto (the default): the size of the subnet, as a mask
    #[arg(long, value_name = "MASK", conflicts_with = "interface")]
    mask: Option<Ipv4Addr>,
    /// Bridge mode: the host interface
    #[arg(long, value_name = "IF")]
    interface: Option<String>,
    /// A line saying what it is for
    #[arg(long)]
    description: Option<String>,
}

/// Every network: name, mode, subnet, gateway, DHCP range, VMs, up/down
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network list
  vmctl -j network list")]
struct ListArgs {}

/// One network as a table
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network show ci
  vmctl -j network show shared")]
struct ShowArgs {
    name: String,
}

/// Delete a named network (refused while VMs use it, unless --force)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network delete ci
  vmctl network delete ci --force     its stopped VMs move to the built-in network of its mode")]
struct DeleteArgs {
    name: String,
    /// Delete it although stored VMs use it: they move to the built-in network of its mode
    /// (started VMs must be stopped first)
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, args: &NetworkArgs) -> Result<(), Error> {
    match &args.command {
        NetworkCommand::Create(a) => create(ctx, a),
        NetworkCommand::List(_) => list(ctx),
        NetworkCommand::Show(a) => show(ctx, &a.name),
        NetworkCommand::Delete(a) => delete(ctx, a),
        NetworkCommand::Import(a) => import(ctx, a),
    }
}

/// Everything a new subnet must not overlap: the host's routes and interface networks, and
/// vmctl's other networks (built-in and named, up or not). A host whose routes cannot be read
/// gets a warning and the vmctl networks alone.
fn taken_subnets(ctx: &Ctx, settings: &Settings, except: &str) -> Vec<HostRoute> {
    let (taken, warning) = routes::taken(crate::backend::host_routes(), settings, &[except]);
    if let Some(warning) = warning {
        ctx.out.warn(&warning);
    }
    taken
}

/// A /N network's addresses: the host takes the first, DHCP the rest up to the last.
fn plan_of(subnet: Ipv4Network) -> Result<AddressPlan, Error> {
    let first = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    let last = Ipv4Addr::from(u32::from(subnet.broadcast()).saturating_sub(1));
    AddressPlan::new(first, last, subnet.mask()).map_err(|reason| {
        Error::invalid("subnet", subnet.to_string(), reason)
            .with_hint("give a subnet of at least 4 addresses, e.g. 10.77.0.0/24")
    })
}

fn create(ctx: &Ctx, args: &CreateArgs) -> Result<(), Error> {
    crate::model::named_network::validate_network_name(&args.name)?;
    let mode: Mode = args.mode.parse()?;
    // Under the lock from here: two creates at once must not both take the same free subnet.
    let lock = ctx.store.lock()?;
    let settings = ctx.settings()?;
    if ctx.store.network_path(&args.name).exists() {
        return Err(Error::conflict(format!("network '{}' exists", args.name))
            .with_hint("pick another name, or `vmctl network delete` it first"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut net = NetworkDef {
        schema_version: NETWORK_SCHEMA_VERSION,
        name: args.name.clone(),
        mode,
        start_address: None,
        end_address: None,
        subnet_mask: None,
        interface: None,
        description: args.description.clone(),
        created: now,
    };
    if mode == Mode::Bridge {
        let Some(interface) = &args.interface else {
            return Err(Error::invalid(
                "network",
                &args.name,
                "a bridge network needs a host interface",
            )
            .with_hint("name it: --interface eth1 (`ip link` lists them)"));
        };
        crate::model::profile::validate_interface_name(interface)?;
        if crate::backend::HOST_OS == crate::sys::Os::Linux
            && !std::path::Path::new("/sys/class/net")
                .join(interface)
                .exists()
        {
            ctx.out.warn(&format!(
                "there is no interface {interface} on this host now: its VMs cannot start until there is (`ip link` lists them)"
            ));
        }
        net.interface = Some(interface.clone());
    } else {
        if args.interface.is_some() {
            return Err(Error::invalid(
                "network",
                &args.name,
                "--interface is for bridge networks",
            )
            .with_hint("drop --interface, or use --mode bridge"));
        }
        let taken = taken_subnets(ctx, &settings, &args.name);
        let subnet = choose_subnet(args, &taken)?;
        let plan = plan_of(subnet)?;
        net.start_address = Some(plan.start);
        net.end_address = Some(plan.end);
        net.subnet_mask = Some(plan.mask);
    }
    net.validate()?;
    ctx.store.save_network(&lock, &net)?;
    let body = network_json(&net_entry(&settings, &net), &[], false);
    ctx.out.done(
        &body,
        &format!(
            "created network '{}' ({}{})",
            net.name,
            net.mode,
            net.address_plan()
                .map(|p| format!(", {}", p.subnet()))
                .or_else(|| net.interface.as_ref().map(|i| format!(" on {i}")))
                .unwrap_or_default()
        ),
    );
    Ok(())
}

/// The subnet `create` asked for, checked against `taken`; `auto` (the default) picks the first
/// free one of the size `--mask` gives (a /24 without it).
fn choose_subnet(args: &CreateArgs, taken: &[HostRoute]) -> Result<Ipv4Network, Error> {
    match args.subnet.as_deref() {
        None | Some("auto") => {
            let prefix = match args.mask {
                Some(mask) => Ipv4Network::with_netmask(Ipv4Addr::UNSPECIFIED, mask)
                    .map_err(|_| {
                        Error::invalid("mask", mask.to_string(), "not a contiguous mask")
                            .with_hint("e.g. 255.255.255.0 or 255.255.255.240")
                    })?
                    .prefix(),
                None => 24,
            };
            free_subnet(taken, prefix)
        }
        Some(text) => {
            if args.mask.is_some() {
                return Err(
                    Error::invalid("mask", text, "--mask goes with --subnet auto")
                        .with_hint("give the size in the subnet: --subnet 10.77.0.0/28"),
                );
            }
            let subnet: Ipv4Network = text.parse().map_err(|_| {
                Error::invalid("subnet", text, "not a subnet like 10.77.0.0/24")
                    .with_hint("write it as ADDRESS/PREFIX, or `auto`")
            })?;
            let subnet = Ipv4Network::new(subnet.network(), subnet.prefix())
                .map_err(|e| Error::invalid("subnet", text, e.to_string()))?;
            routes::check_subnet(subnet, taken, &[]).map_err(|(err, _)| err)?;
            Ok(subnet)
        }
    }
}

/// The first free /`prefix` subnet.
fn free_subnet(taken: &[HostRoute], prefix: u8) -> Result<Ipv4Network, Error> {
    routes::free_subnet(taken, prefix).ok_or_else(|| {
        Error::conflict(format!("no free /{prefix} subnet is left in vmctl's pools"))
            .with_hint("give one no route uses: --subnet CIDR")
    })
}

/// A network as `list` and `show` see it (built-in ones included).
struct Entry {
    name: String,
    mode: Mode,
    plan: Option<AddressPlan>,
    interface: Option<String>,
    description: Option<String>,
    builtin: bool,
}

fn net_entry(_settings: &Settings, net: &NetworkDef) -> Entry {
    Entry {
        name: net.name.clone(),
        mode: net.mode,
        plan: net.address_plan(),
        interface: net.interface.clone(),
        description: net.description.clone(),
        builtin: false,
    }
}

fn entries(settings: &Settings) -> Vec<Entry> {
    let mut out = vec![
        Entry {
            name: "shared".into(),
            mode: Mode::Shared,
            plan: Some(settings.shared),
            interface: None,
            description: Some("built in (vmctl config start_address ...)".into()),
            builtin: true,
        },
        Entry {
            name: "host".into(),
            mode: Mode::Host,
            plan: Some(settings.host),
            interface: None,
            description: Some("built in (vmctl config host_start_address ...)".into()),
            builtin: true,
        },
    ];
    out.extend(
        settings
            .named
            .values()
            .map(|(net, _)| net_entry(settings, net)),
    );
    out
}

/// name, mode, subnet, gateway (or a bridge network's interface), DHCP range: as table cells.
fn columns(e: &Entry) -> Vec<String> {
    vec![
        e.name.clone(),
        e.mode.name().to_owned(),
        e.plan
            .map_or_else(|| "-".into(), |p| p.subnet().to_string()),
        e.plan.map_or_else(
            || e.interface.clone().unwrap_or_else(|| "-".into()),
            |p| p.gateway().to_string(),
        ),
        e.plan.map_or_else(
            || "-".into(),
            |p| format!("{}-{}", p.pool_first(), p.pool_last()),
        ),
    ]
}

fn network_json(entry: &Entry, vms: &[String], up: bool) -> Value {
    json!({
        "name": entry.name,
        "mode": entry.mode.name(),
        "builtin": entry.builtin,
        "subnet": entry.plan.map(|p| p.subnet().to_string()),
        "gateway": entry.plan.map(|p| p.gateway().to_string()),
        "dhcp_first": entry.plan.map(|p| p.pool_first().to_string()),
        "dhcp_last": entry.plan.map(|p| p.pool_last().to_string()),
        "interface": entry.interface,
        "description": entry.description,
        "vms": vms,
        "up": up,
    })
}

/// The stored VMs on each network, and the networks up now (a started VM on them).
/// (network, VM) for every stored VM on a network, and the networks up now.
type Usage = (Vec<(String, String)>, Vec<String>);

fn usage(ctx: &Ctx) -> Result<Usage, Error> {
    let (profiles, _) = ctx.store.load_all_lenient()?;
    let on: Vec<(String, String)> = profiles
        .iter()
        .filter_map(|p| {
            let net = p
                .network
                .network
                .clone()
                .or_else(|| p.network.network_name().map(str::to_owned))?;
            Some((net, p.name.clone()))
        })
        .collect();
    let up: Vec<String> = ctx
        .store
        .load_runs()?
        .into_iter()
        .filter_map(|r| r.network)
        .collect();
    Ok((on, up))
}

fn list(ctx: &Ctx) -> Result<(), Error> {
    let settings = ctx.settings()?;
    for err in ctx.store.load_networks_lenient()?.1 {
        ctx.out.warn(&format!(
            "skipped: {err} (fix it, or `vmctl network delete` it)"
        ));
    }
    let (on, up) = usage(ctx)?;
    let all = entries(&settings);
    let vms_of = |name: &str| -> Vec<String> {
        on.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, vm)| vm.clone())
            .collect()
    };
    let body: Vec<Value> = all
        .iter()
        .map(|e| network_json(e, &vms_of(&e.name), up.contains(&e.name)))
        .collect();
    ctx.out.data(&Value::Array(body), || {
        grid(
            &["name", "mode", "subnet", "gateway", "dhcp", "vms", "state"],
            all.iter().map(|e| {
                let mut row = columns(e);
                row.push(vms_of(&e.name).len().to_string());
                row.push(if up.contains(&e.name) { "up" } else { "down" }.to_owned());
                row
            }),
        )
    });
    Ok(())
}

fn show(ctx: &Ctx, name: &str) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let all = entries(&settings);
    let Some(entry) = all.iter().find(|e| e.name == name) else {
        // The store's error names what exists.
        ctx.store.load_network(name)?;
        return Ok(());
    };
    let (on, up) = usage(ctx)?;
    let vms: Vec<String> = on
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, vm)| vm.clone())
        .collect();
    let body = network_json(entry, &vms, up.iter().any(|n| n == name));
    ctx.out.data(&body, || {
        field_table(body.as_object().into_iter().flatten().map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                Value::Array(items) if items.is_empty() => "-".into(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.as_str(), text)
        }))
    });
    Ok(())
}

fn delete(ctx: &Ctx, args: &DeleteArgs) -> Result<(), Error> {
    if matches!(args.name.as_str(), "shared" | "host") {
        return Err(Error::invalid(
            "network",
            &args.name,
            "a built-in network cannot be deleted",
        )
        .with_hint("`vmctl config` sets its range"));
    }
    let lock = ctx.store.lock()?;
    let net = match ctx.store.load_network(&args.name) {
        Ok(net) => net,
        // A file vmctl cannot read can still be deleted (its VMs go back to a built-in
        // network of their mode).
        Err(err @ Error::CorruptFile { .. }) => {
            let users = ctx
                .store
                .load_all()?
                .into_iter()
                .filter(|p| p.network.network.as_deref() == Some(args.name.as_str()));
            for mut profile in users {
                if !args.force {
                    return Err(Error::conflict(format!(
                        "network '{}' is used by VM '{}'",
                        args.name, profile.name
                    ))
                    .with_hint("--force moves its VMs to the built-in network of their mode"));
                }
                profile.network.network = None;
                ctx.store.save(&lock, &profile)?;
            }
            ctx.store.remove_network(&lock, &args.name)?;
            ctx.out.warn(&format!("it could not be read: {err}"));
            ctx.out.done(
                &json!({"name": args.name, "deleted": true}),
                &format!("deleted network '{}'", args.name),
            );
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let started: Vec<String> = ctx
        .store
        .load_runs()?
        .into_iter()
        .filter(|r| r.network.as_deref() == Some(args.name.as_str()))
        .map(|r| r.name)
        .collect();
    if !started.is_empty() {
        return Err(Error::conflict(format!(
            "network '{}' is up: VMs {} run on it",
            args.name,
            started.join(", ")
        ))
        .with_hint("stop them first (vmctl stop VM)"));
    }
    let users: Vec<crate::model::VmProfile> = ctx
        .store
        .load_all()?
        .into_iter()
        .filter(|p| p.network.network.as_deref() == Some(args.name.as_str()))
        .collect();
    if !users.is_empty() && !args.force {
        return Err(Error::conflict(format!(
            "network '{}' is used by VMs {}",
            args.name,
            users.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_hint(format!(
            "move them (vmctl modify VM network -t {}), or --force moves them to the built-in {} network",
            net.mode, net.mode
        )));
    }
    let settings = ctx.settings()?;
    for mut profile in users {
        profile.network.network = None;
        let mut note = String::new();
        if let (Some(ip), Some(builtin)) = (profile.network.ip, profile.network.network_name())
            && settings
                .address_plan(builtin)
                .is_some_and(|plan| plan.check_static_ip(ip, builtin).is_err())
        {
            profile.network.ip = None;
            note = format!(" (its static IP {ip} is not on it: it uses DHCP now)");
        }
        ctx.store.save(&lock, &profile)?;
        ctx.out.warn(&format!(
            "VM '{}' moved to the built-in {} network{note}",
            profile.name, profile.network.mode
        ));
    }
    ctx.store.remove_network(&lock, &args.name)?;
    ctx.out.done(
        &json!({"name": args.name, "deleted": true}),
        &format!("deleted network '{}'", args.name),
    );
    Ok(())
}

fn import(ctx: &Ctx, args: &ImportArgs) -> Result<(), Error> {
    let lock = ctx.store.lock()?;
    let settings = ctx.settings()?;
    let taken = taken_subnets(ctx, &settings, "");
    let imported = if args.from == "lima" {
        let text = crate::store::read_input_text(&args.path, "import file")?;
        crate::import::lima(&args.path, &text)?
    } else {
        crate::import::vmnet_broker(&args.path, &taken)?
    };
    // Every network checked before any is written: names free, subnets apart from the host's
    // routes, vmctl's networks and each other.
    let mut taken = taken;
    for net in &imported.networks {
        if ctx.store.network_path(&net.name).exists() {
            return Err(
                Error::conflict(format!("network '{}' exists", net.name)).with_hint(format!(
                    "delete it first (vmctl network delete {}), or leave it out of {}",
                    net.name,
                    args.path.display()
                )),
            );
        }
        if let Some(plan) = net.address_plan() {
            let subnet = plan.subnet();
            if let Err((err, _)) = routes::check_subnet(subnet, &taken, &[]) {
                return Err(
                    Error::conflict(format!("network '{}': {err}", net.name)).with_hint(format!(
                        "change its subnet in {} ({})",
                        args.path.display(),
                        err.hint().unwrap_or_default()
                    )),
                );
            }
            taken.push(HostRoute::vmctl_network(&net.name, subnet));
        }
    }
    for note in &imported.notes {
        ctx.out.note(note);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if args.apply {
        for net in &imported.networks {
            let mut net = net.clone();
            net.created = now;
            ctx.store.save_network(&lock, &net)?;
        }
    }
    let entries: Vec<Entry> = imported
        .networks
        .iter()
        .map(|n| net_entry(&settings, n))
        .collect();
    let body = json!({
        "applied": args.apply,
        "networks": entries.iter().map(|e| network_json(e, &[], false)).collect::<Vec<_>>(),
        "notes": imported.notes,
    });
    ctx.out.data(&body, || {
        grid(
            &["name", "mode", "subnet", "gateway", "dhcp"],
            entries.iter().map(columns),
        )
    });
    ctx.out.note(if args.apply {
        "created them"
    } else {
        "a dry run: nothing was written (--apply creates them)"
    });
    Ok(())
}
