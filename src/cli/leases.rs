//! `vmctl leases`: the DHCP leases with their owner VM (by MAC), expiry, and each pool's use.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use macaddr::MacAddr6;
use serde_json::{Value, json};

use super::Ctx;
use super::ip::load_leases;
use super::show::format_time;
use crate::discovery::{self, lease::pool_usage};
use crate::error::Error;
use crate::model::Mac;
use crate::model::change::effective_mac;
use crate::output::grid;

/// List DHCP leases with their owner VM, expiry and the pool's used/free count
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl leases                                 current leases of vmctl's networks
  vmctl leases --all                           expired ones too
  vmctl leases --file /var/db/dhcpd_leases --network shared
  vmctl -j leases")]
pub struct LeasesArgs {
    /// Only this network's leases and pool (shared, host, or a named network)
    #[arg(long, value_name = "NAME")]
    network: Option<String>,
    /// Lease file to read (bootpd or dnsmasq format) [default: dhcp_leases_file on macOS, vmctl's dnsmasq files on Linux]
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Include expired leases
    #[arg(long)]
    all: bool,
}

pub fn run(ctx: &Ctx, args: &LeasesArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let (mut leases, files) = load_leases(ctx, &settings, args.file.as_ref())?;
    let now = discovery::now();
    let owners: HashMap<MacAddr6, String> = ctx
        .store
        .load_all()?
        .into_iter()
        .map(|p| (effective_mac(&p, &settings), p.name))
        .collect();
    let networks: Vec<&str> = match &args.network {
        Some(n) => vec![n.as_str()],
        None => settings.network_names(),
    };
    if let Some(network) = &args.network {
        let subnet = settings
            .address_plan(network)
            .ok_or_else(|| {
                Error::invalid("network", network, "no such vmctl network")
                    .with_hint("`vmctl network list` shows them")
            })?
            .subnet();
        leases.retain(|l| subnet.contains(l.ip));
    }
    let pools: Vec<Value> = networks
        .iter()
        .map(|n| {
            let plan = settings.address_plan(n).expect("listed networks have plans");
            let usage = pool_usage(plan.pool_first(), plan.pool_last(), &leases, now);
            json!({"network": n, "first": plan.pool_first().to_string(), "last": plan.pool_last().to_string(),
                   "size": usage.size, "used": usage.used, "free": usage.free})
        })
        .collect();
    leases.sort_by_key(|l| (u32::from(l.ip), l.expiry));
    let rows: Vec<Value> = leases
        .iter()
        .filter(|l| args.all || !l.is_expired(now))
        .map(|l| {
            json!({
                "ip": l.ip.to_string(),
                "mac": l.mac.map(|m| Mac(m).to_string()),
                "client_id": l.client_id,
                "vm": l.mac.and_then(|m| owners.get(&m)),
                "hostname": l.hostname,
                "expiry": l.expiry,
                "expired": l.is_expired(now),
            })
        })
        .collect();
    let body = json!({"files": files, "leases": rows, "pools": pools});
    ctx.out.data(&body, || {
        let text = |v: &Value| v.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
        let mut out = if rows.is_empty() {
            String::new()
        } else {
            grid(
                &["address", "mac", "vm", "hostname", "expires"],
                rows.iter().map(|r| {
                    vec![
                        text(&r["ip"]),
                        text(&r["mac"]),
                        text(&r["vm"]),
                        text(&r["hostname"]),
                        r["expiry"]
                            .as_u64()
                            .map_or_else(|| "never".to_owned(), |t| expiry(t, now)),
                    ]
                }),
            ) + "\n"
        };
        for p in &pools {
            let _ = writeln!(
                out,
                "pool {} {}-{}: {} used, {} free of {}",
                text(&p["network"]),
                text(&p["first"]),
                text(&p["last"]),
                p["used"],
                p["free"],
                p["size"]
            );
        }
        out
    });
    if rows.is_empty() && !ctx.out.json {
        let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        ctx.out.note(&format!(
            "no {}leases in {}",
            if args.all { "" } else { "current " },
            shown.join(", ")
        ));
    }
    Ok(())
}

/// `in 23h 59m (2026-11-25 14:00:00 UTC)` or `expired 2h ago (...)`.
fn expiry(at: u64, now: u64) -> String {
    let span = |secs: u64| {
        let (d, h, m) = (secs / 86400, secs % 86400 / 3600, secs % 3600 / 60);
        if d > 0 {
            format!("{d}d {h}h")
        } else if h > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{m}m {}s", secs % 60)
        }
    };
    if at > now {
        format!("in {} ({})", span(at - now), format_time(at))
    } else {
        format!("expired {} ago ({})", span(now - at), format_time(at))
    }
}
