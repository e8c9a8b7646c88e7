//! `vmctl fleet hosts|list|show|watch`: the VMs of every host that publishes to the fleet
//! registry (`vmctl agent`), read from etcd.

use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Ctx;
use super::shared::view::format_time;
use crate::error::Error;
use crate::fleet::{self, Fleet};
use crate::model::registry::{self, HostKey, VmRecord, parse_host_key};
use crate::output::grid;

/// The VMs of every host in the fleet registry
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl fleet hosts                 host, address, VMs, alive / last seen
  vmctl fleet list                  every VM on every host
  vmctl fleet list -f status=running -f host=build-01
  vmctl fleet show build-7731       where it is and how to reach it
  vmctl fleet watch                 one JSON line per change, for schedulers
  vmctl ip build-7731 --fleet --wait 60s")]
pub struct FleetArgs {
    #[command(subcommand)]
    what: FleetCommand,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Every host: address, VMs, alive or when it was last seen
    Hosts,
    /// Every VM on every host
    List(ListArgs),
    /// Where a VM is and how to reach it
    Show(ShowArgs),
    /// One JSON line per change (a VM or a host came, changed or went), until interrupted
    Watch(WatchArgs),
    /// Write HOSTS x VMS made-up records through the agent's code (benchmarks)
    #[command(hide = true)]
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only rows where FIELD is VALUE (host, name, mode, network, mac, ip, status); repeat
    #[arg(short = 'f', long, value_name = "FIELD=VALUE")]
    field: Vec<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The VM's name
    vm: String,
    /// The host, when the name is on several
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
}

#[derive(Debug, Args)]
struct WatchArgs {
    /// Start after this revision (as a line printed before gave it) instead of now
    #[arg(long, value_name = "N")]
    revision: Option<i64>,
}

#[derive(Debug, Args)]
struct SimulateArgs {
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    #[arg(long, default_value_t = 50)]
    vms: usize,
    /// The lease of the made-up hosts, in seconds
    #[arg(long, default_value_t = 600)]
    ttl: u64,
}

pub fn run(ctx: &Ctx, args: &FleetArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let fleet = Fleet::require(&settings)?;
    match &args.what {
        FleetCommand::Hosts => hosts(ctx, &fleet),
        FleetCommand::List(list_args) => list(ctx, &fleet, list_args),
        FleetCommand::Show(show_args) => show(ctx, &fleet, show_args),
        FleetCommand::Watch(watch_args) => watch(ctx, &fleet, watch_args),
        FleetCommand::Simulate(sim) => simulate(ctx, &fleet, sim),
    }
}

fn hosts(ctx: &Ctx, fleet: &Fleet) -> Result<(), Error> {
    let view = fleet::read_fleet(fleet)?;
    let body = serde_json::to_value(&view.hosts).unwrap_or_default();
    ctx.out.data(&body, || {
        if view.hosts.is_empty() {
            return String::new();
        }
        grid(
            &["host", "address", "vms", "status"],
            view.hosts.iter().map(|h| {
                vec![
                    crate::error::printable(&h.host),
                    h.address.map_or_else(|| "-".into(), |a| a.to_string()),
                    if h.alive {
                        h.vms.to_string()
                    } else {
                        "-".into()
                    },
                    match (h.alive, h.seen) {
                        (true, _) => "alive".into(),
                        (false, Some(seen)) => format!("gone, last seen {}", format_time(seen)),
                        (false, None) => "gone".into(),
                    },
                ]
            }),
        )
    });
    if view.hosts.is_empty() && !ctx.out.json {
        ctx.out
            .note("no host has published yet: run `vmctl agent` on each host");
    }
    Ok(())
}

/// The fields `fleet list -f` filters on.
const FIELDS: [&str; 8] = [
    "host", "name", "uuid", "mode", "network", "mac", "ip", "status",
];

/// A field of a record as a table shows it. Records come from other hosts: what they say is
/// made printable, so no control character reaches the terminal.
fn field(vm: &VmRecord, name: &str) -> Option<String> {
    let text = |s: &str| Some(crate::error::printable(s));
    match name {
        "host" => text(&vm.host),
        "name" => text(&vm.name),
        "uuid" => text(&vm.uuid),
        "mode" => text(&vm.mode),
        "network" => Some(
            vm.network
                .as_deref()
                .map_or_else(|| "-".into(), crate::error::printable),
        ),
        "mac" => text(&vm.mac),
        "ip" => Some(vm.ip.map_or_else(|| "-".into(), |ip| ip.to_string())),
        "status" => text(&vm.status),
        _ => None,
    }
}

fn forwards_cell(vm: &VmRecord) -> String {
    if vm.forwards.is_empty() {
        return "-".into();
    }
    vm.forwards
        .iter()
        .map(|pf| format!("{}->{}", pf.host_port, pf.guest_port))
        .collect::<Vec<_>>()
        .join(" ")
}

fn list(ctx: &Ctx, fleet: &Fleet, args: &ListArgs) -> Result<(), Error> {
    let mut filters = Vec::new();
    for f in &args.field {
        let (name, value) = f.split_once('=').ok_or_else(|| {
            Error::invalid("fleet list filter", f.as_str(), "it needs FIELD=VALUE")
                .with_hint("e.g. -f status=running -f host=build-01")
        })?;
        if !FIELDS.contains(&name) {
            return Err(Error::invalid("fleet list field", name, "no such field")
                .with_hint(format!("the fields are: {}", FIELDS.join(", "))));
        }
        filters.push((name.to_owned(), value.to_owned()));
    }
    let view = fleet::read_fleet(fleet)?;
    let vms: Vec<&VmRecord> = view
        .vms
        .iter()
        .filter(|vm| {
            filters
                .iter()
                .all(|(name, value)| field(vm, name).as_deref() == Some(value.as_str()))
        })
        .collect();
    // 50,000 records are written straight to stdout, never built as one JSON value.
    ctx.out.data_streamed(&vms, || {
        if vms.is_empty() {
            return String::new();
        }
        grid(
            &[
                "host", "name", "mode", "network", "mac", "ip", "forwards", "status",
            ],
            vms.iter().map(|vm| {
                let mut row: Vec<String> = ["host", "name", "mode", "network", "mac", "ip"]
                    .iter()
                    .map(|f| field(vm, f).unwrap_or_default())
                    .collect();
                row.push(forwards_cell(vm));
                row.push(crate::error::printable(&vm.status));
                row
            }),
        )
    });
    if vms.is_empty() && !ctx.out.json {
        ctx.out.note(if filters.is_empty() {
            "no VM in the fleet"
        } else {
            "no VM in the fleet matches the filters"
        });
    }
    Ok(())
}

fn show(ctx: &Ctx, fleet: &Fleet, args: &ShowArgs) -> Result<(), Error> {
    let (vm, host) = fleet::locate(fleet, &args.vm, args.host.as_deref())?;
    let reach = fleet::reach(&vm, host.as_ref());
    let mut body = serde_json::to_value(&vm).unwrap_or_default();
    body["host_address"] = json!(host.as_ref().and_then(|h| h.address));
    body["reach"] = json!(reach);
    ctx.out.data(&body, || {
        crate::output::field_table([
            ("name", crate::error::printable(&vm.name)),
            ("host", crate::error::printable(&vm.host)),
            (
                "host address",
                host.as_ref()
                    .and_then(|h| h.address)
                    .map_or_else(|| "-".into(), |a| a.to_string()),
            ),
            ("mode", crate::error::printable(&vm.mode)),
            ("mac", crate::error::printable(&vm.mac)),
            ("ip", vm.ip.map_or_else(|| "-".into(), |ip| ip.to_string())),
            ("status", crate::error::printable(&vm.status)),
            (
                "reach",
                if reach.is_empty() {
                    "-".into()
                } else {
                    reach
                        .iter()
                        .map(|r| crate::error::printable(r))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            ),
        ])
    });
    Ok(())
}

/// One JSON line per event, flushed as it comes.
fn watch(ctx: &Ctx, fleet: &Fleet, args: &WatchArgs) -> Result<(), Error> {
    use std::io::Write;
    let mut next = args.revision.map_or(0, |r| r + 1);
    loop {
        let result = fleet
            .etcd
            .watch(&registry::hosts_prefix(), next, |events, revision| {
                let mut out = std::io::stdout().lock();
                for line in events.iter().flat_map(event_lines) {
                    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                        // The reader went away (`| head`): done.
                        return false;
                    }
                }
                next = revision + 1;
                true
            });
        match result {
            Ok(()) => return Ok(()),
            // A dropped connection: watch again from where it stopped, after a breath.
            Err(crate::fleet::etcd::EtcdError::Unreachable(why)) => {
                ctx.out
                    .warn(&format!("the watch was cut ({why}); watching again"));
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(e) => return Err(e.into_error(fleet.etcd.url())),
        }
    }
}

/// An event as `fleet watch` prints it: a line for the host, or one for each VM that came,
/// changed or went (a host's VMs are one value: the lines are the difference between its old
/// and new value); nothing for keys it does not report (`seen`).
fn event_lines(event: &crate::fleet::etcd::Event) -> Vec<String> {
    let line = |kind: &str,
                host: &str,
                name: Option<&str>,
                record: Option<Value>,
                previous: Option<Value>| {
        json!({
            "kind": kind,
            "event": if record.is_some() { "put" } else { "delete" },
            "host": host,
            "name": name,
            "record": record,
            "previous": previous,
            "revision": event.kv.mod_revision,
            "time": crate::sys::now(),
        })
        .to_string()
    };
    let current = (!event.deleted).then_some(&event.kv.value);
    let previous = event.prev.as_ref().map(|p| &p.value);
    match parse_host_key(&event.kv.key) {
        Some(HostKey::Info { host }) => {
            let parse = |bytes: &Vec<u8>| serde_json::from_slice::<Value>(bytes).ok();
            vec![line(
                "host",
                host,
                None,
                current.and_then(parse),
                previous.and_then(parse),
            )]
        }
        Some(HostKey::Vms { host }) => {
            let parse = |bytes: &Vec<u8>| -> Vec<VmRecord> {
                serde_json::from_slice(bytes).unwrap_or_default()
            };
            let now = current.map(parse).unwrap_or_default();
            let before = previous.map(parse).unwrap_or_default();
            let value = |vm: &VmRecord| serde_json::to_value(vm).ok();
            let mut lines = Vec::new();
            for vm in &now {
                let old = before.iter().find(|b| b.name == vm.name);
                if old != Some(vm) {
                    lines.push(line(
                        "vm",
                        host,
                        Some(&vm.name),
                        value(vm),
                        old.and_then(value),
                    ));
                }
            }
            for old in before
                .iter()
                .filter(|b| !now.iter().any(|n| n.name == b.name))
            {
                lines.push(line("vm", host, Some(&old.name), None, value(old)));
            }
            lines
        }
        Some(HostKey::Seen { .. }) | None => Vec::new(),
    }
}

/// Write `hosts` x `vms` made-up records as agents do (`desired` and `sync_ops` against an
/// empty registry, in transactions), each host on a lease of its own.
fn simulate(ctx: &Ctx, fleet: &Fleet, args: &SimulateArgs) -> Result<(), Error> {
    let began = Instant::now();
    for h in 0..args.hosts {
        let host = format!("sim-{h:05}");
        let lease = fleet
            .etcd
            .lease_grant(args.ttl)
            .map_err(|e| e.into_error(fleet.etcd.url()))?;
        let record = registry::HostRecord {
            host: host.clone(),
            address: Some(std::net::Ipv4Addr::new(
                10,
                u8::try_from(h >> 8).unwrap_or(0),
                u8::try_from(h & 0xff).unwrap_or(0),
                1,
            )),
            vms: args.vms,
            agent_started: crate::sys::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            os: "linux".to_owned(),
        };
        let snapshot = fleet::Snapshot {
            vms: (0..args.vms)
                .map(|v| VmRecord {
                    host: host.clone(),
                    name: format!("build-{h:05}-{v:03}"),
                    uuid: format!("00000000-0000-4000-8000-{h:06}{v:06}"),
                    mode: "shared".into(),
                    network: Some("shared".into()),
                    mac: format!(
                        "0a:00:{:02x}:{:02x}:{:02x}:{:02x}",
                        h >> 8,
                        h & 0xff,
                        v >> 8,
                        v & 0xff
                    ),
                    ip: Some(std::net::Ipv4Addr::new(
                        192,
                        168,
                        64,
                        u8::try_from(2 + v % 250).unwrap_or(2),
                    )),
                    forwards: Vec::new(),
                    status: "running".into(),
                })
                .collect(),
        };
        let want = fleet::desired(&record, &snapshot);
        fleet::apply(
            fleet,
            fleet::sync_ops(&want, &std::collections::BTreeMap::default(), lease),
        )?;
    }
    let seconds = began.elapsed().as_secs_f64();
    ctx.out.done(
        &json!({"hosts": args.hosts, "vms": args.hosts * args.vms, "seconds": seconds}),
        &format!(
            "wrote {} hosts x {} VMs in {seconds:.1} s",
            args.hosts, args.vms
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another host's record that carries terminal escapes is shown without them.
    #[test]
    fn a_hostile_record_reaches_no_terminal() {
        let vm = VmRecord {
            host: "h\x1b]0;owned\x07".into(),
            name: "web\x1b[2J".into(),
            uuid: String::new(),
            mode: "shared".into(),
            network: Some("net\r".into()),
            mac: "m".into(),
            ip: None,
            forwards: Vec::new(),
            status: "running".into(),
        };
        for f in FIELDS {
            let cell = field(&vm, f).unwrap();
            assert!(!cell.chars().any(char::is_control), "{f}: {cell:?}");
        }
        assert_eq!(field(&vm, "colour"), None);
    }
}
