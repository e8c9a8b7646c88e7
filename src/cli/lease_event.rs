//! `vmctl lease-event NETWORK add|old|del MAC IP [HOSTNAME]` (hidden): what dnsmasq's
//! `--dhcp-script` calls on every lease change, through `networks/<net>/lease-hook`.

use clap::Args;

use super::Ctx;
use crate::backend::{self, LeaseEvent};
use crate::error::Error;
use crate::model::mac::parse_mac;

/// Record a lease change reported by dnsmasq (run by dnsmasq, not by people)
#[derive(Debug, Args)]
pub struct LeaseEventArgs {
    /// The vmctl network whose dnsmasq reports
    network: String,
    /// dnsmasq's action: add, old, del (others are ignored)
    action: String,
    mac: Option<String>,
    ip: Option<String>,
    /// The client's hostname and anything else dnsmasq passes
    rest: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &LeaseEventArgs) -> Result<(), Error> {
    let (Some(mac), Some(ip)) = (&args.mac, &args.ip) else {
        return Ok(());
    };
    // DHCPv6 leases carry no MAC in this position and no IPv4: not vmctl's.
    let (Ok(mac), Ok(ip)) = (parse_mac(mac), ip.parse()) else {
        return Ok(());
    };
    let event = match args.action.as_str() {
        "add" | "old" => LeaseEvent::Bound { mac, ip },
        "del" => LeaseEvent::Released { mac, ip },
        _ => return Ok(()),
    };
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    backend::host(&ctx.store, &settings).lease_event(&lock, &args.network, event)
}
