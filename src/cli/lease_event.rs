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
    let hint = "lease-event is run by dnsmasq's lease hook: ACTION MAC IPV4";
    let event = match args.action.as_str() {
        "add" | "old" | "del" => {
            let (Some(mac), Some(ip)) = (&args.mac, &args.ip) else {
                return Err(Error::invalid(
                    "lease event",
                    &args.action,
                    "needs a MAC and an IPv4 address",
                )
                .with_hint(hint));
            };
            let mac = parse_mac(mac).map_err(|e| e.with_hint(hint))?;
            let ip = ip.parse().map_err(|_| {
                Error::invalid("lease address", ip, "is not an IPv4 address").with_hint(hint)
            })?;
            if args.action == "del" {
                LeaseEvent::Released { mac, ip }
            } else {
                LeaseEvent::Bound { mac, ip }
            }
        }
        // dnsmasq's other actions (`tftp`, `arp`, `init`...) are not lease changes.
        _ => return Ok(()),
    };
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    backend::host(&ctx.store, &settings).lease_event(&lock, &args.network, event)
}
