//! `vmctl network create NAME [--mode] [--subnet CIDR|auto] [--mask] [--interface]`: make a
//! named network, its subnet checked against the host's routes and vmctl's other networks.

use std::net::Ipv4Addr;

use clap::Args;
use ipnetwork::Ipv4Network;

use super::shared::{net_entry, network_json, taken_subnets};
use crate::cli::Ctx;
use crate::discovery::routes::{self, HostRoute};
use crate::error::Error;
use crate::model::Mode;
use crate::model::named_network::{NETWORK_SCHEMA_VERSION, NetworkDef};
use crate::model::network::AddressPlan;

/// Make a named network
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network create ci --mode shared --subnet 10.77.0.0/24
  vmctl network create ci2 --subnet auto                      shared, the first free /24
  vmctl network create lab --mode host --mask 255.255.255.240  the first free /28
  vmctl network create lan --mode bridge --interface eth1
A subnet that collides with a route or an address of the host, or with another vmctl network,
is refused with a free one to use instead.")]
pub(super) struct CreateArgs {
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

/// A /N network's addresses: the host takes the first, DHCP the rest up to the last.
fn plan_of(subnet: Ipv4Network) -> Result<AddressPlan, Error> {
    let first = Ipv4Addr::from(u32::from(subnet.network()) + 1);
    let last = Ipv4Addr::from(u32::from(subnet.broadcast()).saturating_sub(1));
    AddressPlan::new(first, last, subnet.mask()).map_err(|reason| {
        Error::invalid("subnet", subnet.to_string(), reason)
            .with_hint("give a subnet of at least 4 addresses, e.g. 10.77.0.0/24")
    })
}

pub(super) fn run(ctx: &Ctx, args: &CreateArgs) -> Result<(), Error> {
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
        crate::backend::check_network_range(&args.name, &plan)?;
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
