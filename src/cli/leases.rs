//! `vmctl leases`: the DHCP leases with their owner VM (by MAC), expiry, and each pool's use.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Args;
use macaddr::MacAddr6;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::Ctx;
use super::shared::address::lease_files;
use super::shared::view::format_time;
use crate::discovery::{
    self,
    lease::{Lease, pool_usage},
};
use crate::error::{Error, cut, printable};
use crate::model::Mac;
use crate::output::grid;
use crate::settings::change::effective_mac;

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
    let files = lease_files(ctx, &settings, args.file.as_ref());
    let now = crate::sys::now();
    let subnet = match &args.network {
        Some(network) => Some(
            settings
                .address_plan(network)
                .ok_or_else(|| {
                    Error::invalid("network", network, "no such vmctl network")
                        .with_hint("`vmctl network list` shows them")
                })?
                .subnet(),
        ),
        None => None,
    };
    // Only the leases shown are kept: a large lease file costs what is printed, not its size.
    let mut leases: Vec<Lease> = Vec::new();
    for file in &files {
        discovery::scan_leases(file, |lease| {
            if (args.all || !lease.is_expired(now)) && subnet.is_none_or(|s| s.contains(lease.ip)) {
                leases.push(lease.to_lease());
            }
        })?;
    }
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
    let pools: Vec<Value> = networks
        .iter()
        .map(|n| {
            let plan = settings.address_plan(n).expect("listed networks have plans");
            let usage = pool_usage(plan.pool_first(), plan.pool_last(), &leases, now);
            json!({"network": n, "first": plan.pool_first().to_string(), "last": plan.pool_last().to_string(),
                   "size": usage.size, "used": usage.used, "free": usage.free})
        })
        .collect();
    leases.sort_unstable_by_key(|l| (u32::from(l.ip), l.expiry));
    let paths: Vec<&PathBuf> = files.iter().map(|f| &f.path).collect();
    let body = Body {
        files: &paths,
        leases: Rows {
            leases: &leases,
            owners: &owners,
            now,
        },
        pools: &pools,
    };
    ctx.out.data_streamed(&body, || {
        let text = |v: &Value| v.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
        let shown = |t: Option<&str>| t.map_or_else(|| "-".to_owned(), printable);
        let mut out = if leases.is_empty() {
            String::new()
        } else {
            grid(
                &["address", "mac", "vm", "hostname", "expires"],
                leases.iter().map(|l| {
                    vec![
                        l.ip.to_string(),
                        l.mac.map_or_else(|| "-".to_owned(), |m| Mac(m).to_string()),
                        shown(l.mac.and_then(|m| owners.get(&m)).map(String::as_str)),
                        shown(l.hostname.as_deref()),
                        l.expiry
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
    if leases.is_empty() && !ctx.out.json {
        let shown: Vec<String> = paths
            .iter()
            .map(|f| printable(&f.display().to_string()))
            .collect();
        ctx.out.note(&format!(
            "no {}leases in {}",
            if args.all { "" } else { "current " },
            shown.join(", ")
        ));
    }
    Ok(())
}

/// The JSON body, written field by field (keys in the order `json!` would sort them).
#[derive(Serialize)]
struct Body<'a> {
    files: &'a [&'a PathBuf],
    leases: Rows<'a>,
    pools: &'a [Value],
}

/// The lease rows, serialized one at a time rather than built as one large `Value`.
struct Rows<'a> {
    leases: &'a [Lease],
    owners: &'a HashMap<MacAddr6, String>,
    now: u64,
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.leases.iter().map(|l| Row {
            client_id: l.client_id.as_deref().map(cut),
            expired: l.is_expired(self.now),
            expiry: l.expiry,
            hostname: l.hostname.as_deref().map(cut),
            ip: l.ip,
            mac: l.mac.map(Mac),
            vm: l.mac.and_then(|m| self.owners.get(&m)),
        }))
    }
}

/// One lease in JSON. Text from the file is cut at an absurd length (JSON escapes the rest).
#[derive(Serialize)]
struct Row<'a> {
    client_id: Option<Cow<'a, str>>,
    expired: bool,
    expiry: Option<u64>,
    hostname: Option<Cow<'a, str>>,
    ip: Ipv4Addr,
    mac: Option<Mac>,
    vm: Option<&'a String>,
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
