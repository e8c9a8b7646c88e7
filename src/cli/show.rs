//! `vmctl show VM [network [FIELD]]`: a VM, or its NIC, as a table, a bare value or JSON.

use clap::Args;
use clap::builder::PossibleValuesParser;
use serde_json::{Value, json};

use super::Ctx;
use crate::discovery::AddressSource;
use crate::error::Error;
use crate::model::change::{effective_mac, effective_no_local};
use crate::model::{Mac, Mode, VmProfile};
use crate::output::field_table;
use crate::settings::Settings;

/// Show a VM, or its network settings
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl show web                  the VM in short
  vmctl show web network          its NIC as a table
  vmctl show web network mac      the bare value, for scripts
  vmctl -j show web network       {\"status\":\"OK\",\"body\":{...}}")]
pub struct ShowArgs {
    /// The VM
    vm: String,
    /// What to show
    #[arg(value_parser = PossibleValuesParser::new(["network"]))]
    section: Option<String>,
    /// Print only this field of the section, bare
    #[arg(value_parser = PossibleValuesParser::new(NIC_FIELDS))]
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

pub fn run(ctx: &Ctx, args: &ShowArgs) -> Result<(), Error> {
    let profile = ctx.store.load(&args.vm)?;
    let settings = ctx.settings()?;
    let status = status(ctx, &profile.name);
    if args.section.is_none() {
        let body = json!({
            "uuid": profile.uuid,
            "name": profile.name,
            "created": profile.created,
            "network": network_summary(&profile),
            "status": status,
        });
        ctx.out.data(&body, || {
            field_table([
                ("uuid", profile.uuid.clone()),
                ("name", profile.name.clone()),
                ("created", format_time(profile.created)),
                ("network", network_summary(&profile)),
                ("status", status.to_owned()),
            ])
        });
        return Ok(());
    }
    if args.filter {
        return show_filter(ctx, &profile, &settings);
    }
    let mut body = nic_json(&profile, &settings);
    let run = ctx.store.load_run(&profile.name)?;
    body["status"] = Value::from(status);
    if let Some(run) = &run {
        body["started"] = Value::from(run.started);
        body["link"] = Value::from(run.link.as_str());
        body["attach"] = Value::from(run.attach.to_string());
        if let Some(socket) = &run.socket {
            body["socket"] = Value::from(socket.display().to_string());
        }
        // The MAC in use is the one recorded at start (a later modify waits for a restart).
        body["mac"] = Value::from(run.mac.as_str());
        if let Some(ip) = run.ip {
            body["ip"] = Value::from(ip.to_string());
        }
    }
    if status == "started" && body["ip"].is_null() {
        // A started VM shows the address `vmctl ip` would choose.
        let found = super::ip::discover(
            ctx,
            &settings,
            std::slice::from_ref(&profile),
            AddressSource::Lease,
            None,
        )?;
        if let Some((_, found)) = found.first() {
            body["ip"] = Value::from(found.ip.to_string());
        }
    }
    match &args.field {
        Some(field) => {
            let value = &body[field.as_str()];
            ctx.out.data(value, || format!("{}\n", bare(field, value)));
        }
        None => ctx.out.data(&body, || {
            field_table(NIC_FIELDS.iter().map(|&f| (f, table_value(f, &body))))
        }),
    }
    Ok(())
}

/// `show VM network -f`: the rules text as the user wrote it.
fn show_filter(ctx: &Ctx, profile: &VmProfile, settings: &Settings) -> Result<(), Error> {
    let (text, source) = match (&profile.network.filter, &settings.net_filter) {
        (Some(text), _) => (text.clone(), "vm".to_owned()),
        (None, Some(path)) => (
            std::fs::read_to_string(path).map_err(|e| Error::io("reading net_filter", path, e))?,
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

/// `stopped` or `started`.
pub fn status(ctx: &Ctx, name: &str) -> &'static str {
    if ctx.store.is_started(name) {
        "started"
    } else {
        "stopped"
    }
}

/// `shared 192.168.64.20`, `bridge en0`, `disconnected`.
pub fn network_summary(profile: &VmProfile) -> String {
    let nic = &profile.network;
    match (nic.mode, nic.ip, &nic.bridge) {
        (Mode::Bridge, _, Some(bridge)) => format!("bridge {bridge}"),
        (mode, Some(ip), _) => format!("{mode} {ip}"),
        (mode, ..) => mode.to_string(),
    }
}

/// The NIC as `show VM network` reports it (Anka's field names where Anka has one).
pub fn nic_json(profile: &VmProfile, settings: &Settings) -> Value {
    let nic = &profile.network;
    let bridge = match nic.mode {
        Mode::Bridge => Some(
            nic.bridge
                .clone()
                .or_else(|| settings.bridge_name.clone())
                .unwrap_or_else(|| "auto".into()),
        ),
        _ => None,
    };
    let network = nic
        .mode
        .builtin_network()
        .map(str::to_owned)
        .or_else(|| bridge.clone());
    json!({
        "mode": nic.mode.name(),
        "controller": nic.controller.name(),
        "mac": Mac(effective_mac(profile, settings)).to_string(),
        "mac_policy": nic.mac.name(),
        "ip": nic.ip.map(|ip| ip.to_string()),
        "network": network,
        "bridge": bridge,
        "no_local": effective_no_local(nic, settings),
        "no_local_source": if nic.no_local.is_some() { "vm" } else { "host" },
        "vlan": nic.vlan,
        "filter": match (&nic.filter, &settings.net_filter) {
            (Some(_), _) => Some("vm"),
            (None, Some(_)) => Some("net_filter"),
            (None, None) => None,
        },
        "port_forwarding_rules": nic.port_forwarding_rules,
    })
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
        ("ip", Value::Null) => "dhcp".into(),
        ("status", Value::String(s)) if s == "started" => format!(
            "started since {} ({} {}{})",
            format_time(body["started"].as_u64().unwrap_or(0)),
            body["attach"].as_str().unwrap_or(""),
            body["link"].as_str().unwrap_or(""),
            body["socket"]
                .as_str()
                .map(|s| format!(", socket {s}"))
                .unwrap_or_default()
        ),
        ("bridge" | "network" | "filter", Value::Null) => "-".into(),
        ("filter", Value::String(s)) if s == "vm" => "rules of its own (show -f)".into(),
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

/// `2026-11-24 14:16:05 UTC` from unix seconds, without a time-zone database.
pub fn format_time(secs: u64) -> String {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_533_365), "2026-11-24 15:16:05 UTC");
    }
}
