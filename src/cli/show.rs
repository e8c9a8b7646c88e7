//! `vmctl show VM [network [FIELD] | port]`: a VM, its NIC or its port forwards, as a table, a
//! bare value or JSON.

use std::net::Ipv4Addr;

use clap::Args;
use clap::builder::PossibleValuesParser;
use serde_json::{Value, json};

use super::Ctx;
use super::shared::address::address_now;
use super::shared::view::{RunView, creation_date, creation_date_json, format_time, nic_json};
use crate::error::{Error, printable};
use crate::model::port_forward::PortForward;
use crate::model::{Mode, VmProfile};
use crate::output::{field_table, grid};
use crate::settings::Settings;
use crate::store::StartedVm;

/// Show a VM, its network settings, or its port forwards
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl show web                  the VM in short
  vmctl show web network          its NIC as a table (ip: static, lease or none)
  vmctl show web network mac      the bare value, for scripts
  vmctl show web network ip       the address it has now; exit 10 when it has none yet
  vmctl show web port             its port forwards as a table
  vmctl -j show web tag           [] (vmctl keeps no images, so no tags; for anklet)
  vmctl -j show web network       {\"status\":\"OK\",\"body\":{...}}")]
pub struct ShowArgs {
    /// The VM
    vm: String,
    /// What to show
    #[arg(value_parser = PossibleValuesParser::new(["network", "port", "tag"]))]
    section: Option<String>,
    /// Print only this field of `network`, bare
    #[arg(value_parser = PossibleValuesParser::new(NIC_FIELDS.iter().chain(&["ip_source", "filter_file"])))]
    field: Option<String>,
    /// Print the VM's IP filter rules (its own, else the host's net_filter)
    #[arg(short = 'f', long, conflicts_with = "field")]
    filter: bool,
}

/// The fields of `show VM network`, in table order.
pub const NIC_FIELDS: [&str; 12] = [
    "mode",
    "controller",
    "mac",
    "mac_policy",
    "ip",
    "network",
    "bridge",
    "no_local",
    "vlan",
    "filter",
    "port_forwarding_rules",
    "status",
];

/// The columns of `show VM port`, as in `port_forwarding_rules`.
const PORT_FIELDS: [&str; 5] = ["name", "protocol", "guest_port", "host_ip", "host_port"];

pub fn run(ctx: &Ctx, args: &ShowArgs) -> Result<(), Error> {
    let profile = ctx.store.load(&args.vm)?;
    let settings = ctx.settings()?;
    if args.field.is_some() && args.section.as_deref() != Some("network") {
        return Err(Error::Usage(
            "a field can be shown only from `network`: vmctl show VM network FIELD".into(),
        ));
    }
    if args.filter && matches!(args.section.as_deref(), Some("port" | "tag")) {
        return Err(Error::Usage(
            "-f shows filter rules: vmctl show VM network -f".into(),
        ));
    }
    match args.section.as_deref() {
        None if args.filter => show_filter(ctx, &profile, &settings),
        None => show_vm(ctx, &settings, &profile),
        Some("port") => show_ports(ctx, &profile),
        Some("tag") => {
            // vmctl keeps no disk images, so no tags: an empty list, as Anka gives for a VM
            // without local tags (anklet then says "(using latest)").
            ctx.out.data(&Value::Array(Vec::new()), String::new);
            Ok(())
        }
        Some(_) if args.filter => show_filter(ctx, &profile, &settings),
        Some(_) => show_network(ctx, &settings, &profile, args.field.as_deref()),
    }
}

/// `show VM`: the VM in short, like `anka show`.
fn show_vm(ctx: &Ctx, settings: &Settings, profile: &VmProfile) -> Result<(), Error> {
    let RunView { run, status, stale } = RunView::read(ctx, &profile.name)?;
    let address = address_now(ctx, settings, profile, run.as_ref())?;
    let nic = nic_json(profile, settings);
    let mut body = json!({
        "uuid": profile.uuid,
        "name": profile.name,
        "created": profile.created,
        "creation_date": creation_date_json(profile.created),
        "mode": nic["mode"],
        "network": nic["network"],
        "bridge": nic["bridge"],
        "ip": address.map(|(ip, _)| ip.to_string()),
        "ip_source": address.map_or("none", |(_, origin)| origin.name()),
        "status": status,
    });
    if let Some(why) = stale {
        body["stale"] = Value::from(why);
    }
    ctx.out.data(&body, || {
        field_table([
            ("uuid", profile.uuid.clone()),
            ("name", profile.name.clone()),
            (
                "created",
                creation_date(profile.created).unwrap_or_else(|| "-".into()),
            ),
            (
                "network",
                network_summary(profile, address.map(|(ip, _)| ip)),
            ),
            ("status", status_text(status, stale)),
        ])
    });
    Ok(())
}

/// `show VM network [FIELD]`.
fn show_network(
    ctx: &Ctx,
    settings: &Settings,
    profile: &VmProfile,
    field: Option<&str>,
) -> Result<(), Error> {
    let mut body = nic_json(profile, settings);
    let RunView { run, status, stale } = RunView::read(ctx, &profile.name)?;
    body["status"] = Value::from(status);
    if let Some(why) = stale {
        body["stale"] = Value::from(why);
    }
    if let Some(run) = &run {
        body["started"] = Value::from(run.started);
        body["link"] = Value::from(run.link.as_str());
        body["attach"] = Value::from(run.attach.to_string());
        if let Some(socket) = &run.socket {
            body["socket"] = Value::from(socket.display().to_string());
        }
        // The MAC and forwards in use are those recorded at start (a later modify waits for
        // a restart; a host port vmctl chose can move for a run).
        body["mac"] = Value::from(crate::model::Mac(run.mac).to_string());
        body["port_forwarding_rules"] =
            serde_json::to_value(&run.port_forwards).unwrap_or_default();
    }
    let address = address_now(ctx, settings, profile, run.as_ref())?;
    body["ip"] = address.map_or(Value::Null, |(ip, _)| Value::from(ip.to_string()));
    body["ip_source"] = Value::from(address.map_or("none", |(_, origin)| origin.name()));
    match field {
        Some("ip") if address.is_none() => Err(no_address(profile, run.is_some())),
        Some(field) => {
            let value = &body[field];
            ctx.out.data(value, || format!("{}\n", bare(field, value)));
            Ok(())
        }
        None => {
            ctx.out.data(&body, || {
                // The port forwards under the table, as a table of their own (as Anka draws
                // them).
                let mut text = field_table(
                    NIC_FIELDS
                        .iter()
                        .filter(|&&f| f != "port_forwarding_rules")
                        .map(|&f| (f, table_value(f, &body))),
                );
                let forwards = forwards_of(run.as_ref(), profile);
                if !forwards.is_empty() {
                    text.push_str("\nport_forwarding_rules:\n");
                    text.push_str(&ports_grid(forwards));
                }
                text
            });
            Ok(())
        }
    }
}

/// `show VM network ip` without an address: not there yet, and what would give it one.
fn no_address(profile: &VmProfile, started: bool) -> Error {
    let name = &profile.name;
    if started {
        Error::NotAvailable {
            message: format!("VM '{name}' is started but has no address yet: no unexpired lease"),
            hint: Some(format!(
                "`vmctl ip {name} --wait 60s` waits for one; is the guest's DHCP client running?"
            )),
        }
    } else {
        Error::NotAvailable {
            message: format!("VM '{name}' has no address: it is stopped and has no static IP"),
            hint: Some(format!(
                "start it (`vmctl start {name}`), or give it one: vmctl modify {name} network --ip ADDRESS"
            )),
        }
    }
}

/// `show VM port`: the port forwards, one row each.
fn show_ports(ctx: &Ctx, profile: &VmProfile) -> Result<(), Error> {
    let RunView { run, .. } = RunView::read(ctx, &profile.name)?;
    let rules = forwards_of(run.as_ref(), profile);
    let body = serde_json::to_value(rules).unwrap_or_default();
    if rules.is_empty() && !ctx.out.json {
        ctx.out.note(&format!(
            "VM '{}' has no port forwards: `vmctl modify {} add port NAME GUEST_PORT` adds one",
            profile.name, profile.name
        ));
    }
    ctx.out.data(&body, || {
        if rules.is_empty() {
            return String::new();
        }
        ports_grid(rules)
    });
    Ok(())
}

/// A VM's port forwards: those it runs with (a host port vmctl chose can move for a run), else
/// its profile's.
fn forwards_of<'a>(run: Option<&'a StartedVm>, profile: &'a VmProfile) -> &'a [PortForward] {
    run.map_or(&profile.network.port_forwarding_rules, |run| {
        &run.port_forwards
    })
}

/// Port forwards as a table, one row each.
fn ports_grid(rules: &[PortForward]) -> String {
    grid(
        &PORT_FIELDS,
        rules.iter().map(|pf| {
            vec![
                pf.name.clone(),
                pf.protocol.name().to_owned(),
                pf.guest_port.to_string(),
                pf.host_ip.to_string(),
                pf.host_port.to_string(),
            ]
        }),
    )
}

/// `show VM network -f`: the rules text as the user wrote it.
fn show_filter(ctx: &Ctx, profile: &VmProfile, settings: &Settings) -> Result<(), Error> {
    let own = crate::backend::own_filter_text(profile)?;
    let (text, source) = match (own, &settings.net_filter) {
        (Some(text), _) => (
            text,
            profile
                .network
                .filter_file
                .as_ref()
                .map_or_else(|| "vm".to_owned(), |path| path.display().to_string()),
        ),
        (None, Some(path)) => (
            crate::store::read_input_text(path, "net_filter file")?,
            path.display().to_string(),
        ),
        (None, None) => {
            ctx.out.note(&format!(
                "VM '{}' has no filter rules: everything passes",
                profile.name
            ));
            (String::new(), String::new())
        }
    };
    let rules = text
        .parse::<crate::model::filter::FilterRules>()
        .map_err(|e| Error::corrupt(&source, format!("filter rules: {e}")))?;
    let body = json!({"source": if source.is_empty() { None } else { Some(source) }, "text": text, "rules": rules.to_string().lines().collect::<Vec<_>>()});
    ctx.out.data(&body, || text.clone());
    Ok(())
}

/// A stopped VM's status in a table, with why when its runtime state is still there.
fn status_text(status: &str, stale: Option<&str>) -> String {
    match stale {
        Some(_) => {
            format!("{status} (started before the last reboot; `vmctl start` starts it afresh)")
        }
        None => status.to_owned(),
    }
}

/// `shared 192.168.64.20` (with the address it has now), `bridge en0`, `disconnected`.
pub fn network_summary(profile: &VmProfile, ip: Option<Ipv4Addr>) -> String {
    let nic = &profile.network;
    match (nic.mode, ip, &nic.bridge) {
        (Mode::Bridge, Some(ip), Some(bridge)) => format!("bridge {bridge} {ip}"),
        (Mode::Bridge, None, Some(bridge)) => format!("bridge {bridge}"),
        (mode, Some(ip), _) => format!("{mode} {ip}"),
        (mode, ..) => mode.to_string(),
    }
}

fn table_value(field: &str, body: &Value) -> String {
    let value = &body[field];
    match (field, value) {
        ("no_local", Value::Bool(b)) => format!(
            "{} ({})",
            if *b { "yes" } else { "no" },
            if body["no_local_source"] == "vm" {
                "set on the VM"
            } else {
                "host default"
            }
        ),
        ("ip", Value::Null) => "none".into(),
        ("status", Value::String(s)) if s == "running" => format!(
            "running since {} ({} {}{})",
            format_time(body["started"].as_u64().unwrap_or(0)),
            body["attach"].as_str().unwrap_or(""),
            body["link"].as_str().unwrap_or(""),
            body["socket"]
                .as_str()
                .map(|s| format!(", socket {s}"))
                .unwrap_or_default()
        ),
        ("status", Value::String(s)) => status_text(s, body["stale"].as_str()),
        ("bridge" | "network" | "filter", Value::Null) => "-".into(),
        ("filter", Value::String(s)) if s == "vm" => "rules of its own (show -f)".into(),
        ("filter", Value::String(s)) if s == "file" => format!(
            "{}, read at every start (show -f)",
            printable(body["filter_file"].as_str().unwrap_or(""))
        ),
        ("filter", Value::String(_)) => "the host's net_filter (show -f)".into(),
        ("port_forwarding_rules", Value::Array(rules)) if rules.is_empty() => "-".into(),
        ("port_forwarding_rules", Value::Array(rules)) => rules
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}:{} -> {}",
                    r["name"].as_str().unwrap_or(""),
                    r["protocol"].as_str().unwrap_or(""),
                    r["host_ip"].as_str().unwrap_or(""),
                    r["host_port"],
                    r["guest_port"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => bare(field, value),
    }
}

/// A value as a script wants it: strings unquoted, null empty, booleans 0/1 like `config`.
fn bare(field: &str, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Array(_) if field == "port_forwarding_rules" => value
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}\t{}\t{}\t{}\t{}",
                    r["name"].as_str().unwrap_or(""),
                    r["protocol"].as_str().unwrap_or(""),
                    r["guest_port"],
                    r["host_ip"].as_str().unwrap_or(""),
                    r["host_port"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
