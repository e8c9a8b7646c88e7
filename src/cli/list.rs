//! `vmctl list`: every VM with its mode, MAC, IP and status.

use std::collections::HashSet;

use clap::Args;
use clap::builder::PossibleValuesParser;
use serde_json::{Map, Value};

use super::Ctx;
use crate::error::Error;
use crate::model::Mac;
use crate::model::change::effective_mac;
use crate::output::grid;

const FIELDS: [&str; 6] = ["name", "uuid", "mode", "mac", "ip", "status"];

/// List the VMs: name, uuid, mode, mac, ip, status
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl list
  vmctl list --field name,ip
  vmctl -j list --running")]
pub struct ListArgs {
    /// Only started VMs
    #[arg(long)]
    running: bool,
    /// Columns to show, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(FIELDS))]
    field: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &ListArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let (profiles, unreadable) = ctx.store.load_all_lenient()?;
    for err in &unreadable {
        ctx.out.warn(&format!("skipped: {err}"));
    }
    let fields: Vec<&str> = if args.field.is_empty() {
        FIELDS.to_vec()
    } else {
        args.field.iter().map(String::as_str).collect()
    };
    let started: HashSet<String> = ctx.store.started_names()?.into_iter().collect();
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(profiles.len());
    for profile in &profiles {
        let status = if started.contains(&profile.name) {
            "started"
        } else {
            "stopped"
        };
        if args.running && status != "started" {
            continue;
        }
        // A started VM shows the address it has now (a DHCP lease reaches run/ at once).
        let live_ip = if status == "started" {
            ctx.store
                .load_run(&profile.name)
                .ok()
                .flatten()
                .and_then(|r| r.ip)
        } else {
            None
        };
        let row = fields
            .iter()
            .map(|&field| match field {
                "name" => Value::from(profile.name.as_str()),
                "uuid" => Value::from(profile.uuid.as_str()),
                "mode" => Value::from(profile.network.mode.name()),
                "mac" => Value::from(Mac(effective_mac(profile, &settings)).to_string()),
                "ip" => live_ip
                    .or(profile.network.ip)
                    .map_or(Value::Null, |ip| Value::from(ip.to_string())),
                _ => Value::from(status),
            })
            .collect();
        rows.push(row);
    }
    if ctx.out.json {
        let body = Value::Array(
            rows.into_iter()
                .map(|row| {
                    Value::Object(
                        fields
                            .iter()
                            .map(|f| (*f).to_owned())
                            .zip(row)
                            .collect::<Map<_, _>>(),
                    )
                })
                .collect(),
        );
        ctx.out.data(&body, String::new);
        return Ok(());
    }
    let empty = rows.is_empty();
    ctx.out.data(&Value::Null, || {
        if empty {
            return String::new();
        }
        grid(
            &fields,
            rows.into_iter().map(|row| {
                row.into_iter()
                    .map(|value| match value {
                        Value::String(s) => s,
                        Value::Null => "-".to_owned(),
                        other => other.to_string(),
                    })
                    .collect()
            }),
        )
    });
    if empty {
        ctx.out.note(if args.running {
            "no VM is started"
        } else {
            "no VMs yet: `vmctl create NAME` makes one"
        });
    }
    Ok(())
}
