//! `vmctl describe VM`: the VM as Anka's `describe` gives it to tools: its name, uuid and
//! `network_cards`, each with its mode, controller, MAC and port forwarding rules. The Packer
//! plugin reads `network_cards[].port_forwarding_rules[].host_port` to skip rules it has.

use clap::Args;
use serde_json::{Value, json};

use super::Ctx;
use super::shared::address::address_now;
use super::shared::view::RunView;
use crate::error::Error;
use crate::model::Mac;
use crate::settings::change::effective_mac;

/// Describe a VM as Anka's `describe` does: name, uuid, network_cards
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl describe web
  vmctl -j describe web        {\"status\":\"OK\",\"body\":{\"name\":\"web\",\"uuid\":...,\"network_cards\":[...]}}
A running VM shows the MAC and host ports it runs with; a stopped one, its profile's.")]
pub struct DescribeArgs {
    /// The VM (name or uuid)
    vm: String,
}

pub fn run(ctx: &Ctx, args: &DescribeArgs) -> Result<(), Error> {
    let profile = ctx.store.load(&args.vm)?;
    let settings = ctx.settings()?;
    let RunView { run, status, .. } = RunView::read(ctx, &profile.name)?;
    let nic = &profile.network;
    let (mac, forwards) = match &run {
        Some(run) => (run.mac, &run.port_forwards),
        None => (
            effective_mac(&profile, &settings),
            &nic.port_forwarding_rules,
        ),
    };
    let ip = address_now(ctx, &settings, &profile, run.as_ref())?.map(|(ip, _)| ip.to_string());
    let rules: Vec<Value> = forwards
        .iter()
        .map(|pf| {
            json!({
                "rule_name": pf.name,
                "protocol": pf.protocol.name(),
                "guest_port": pf.guest_port,
                "host_ip": pf.host_ip.to_string(),
                "host_port": pf.host_port,
            })
        })
        .collect();
    let body = json!({
        "name": profile.name,
        "uuid": profile.uuid,
        "status": status,
        "network_cards": [{
            "index": 0,
            "mode": nic.mode.name(),
            "type": nic.controller.name(),
            "mac_address": Mac(mac).to_string(),
            "network": nic.network_name(),
            "ip": ip,
            "vlan": nic.vlan,
            "port_forwarding_rules": rules,
        }],
    });
    ctx.out.data(&body, || indented(&body, 0));
    Ok(())
}

/// The body as indented `key: value` lines (lists as `- `), the way `anka describe` prints.
fn indented(value: &Value, depth: usize) -> String {
    use std::fmt::Write as _;
    let pad = "  ".repeat(depth);
    let mut text = String::new();
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let nested = match value {
                    Value::Object(_) => true,
                    Value::Array(items) => !items.is_empty(),
                    _ => false,
                };
                if nested {
                    let _ = write!(text, "{pad}{key}:\n{}", indented(value, depth + 1));
                } else {
                    let _ = writeln!(text, "{pad}{key}: {}", scalar(value));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let inner = indented(item, depth + 1);
                // The first line of each item carries the dash.
                let _ = write!(text, "{pad}- {}", inner.trim_start_matches(' '));
            }
        }
        other => {
            let _ = writeln!(text, "{pad}{}", scalar(other));
        }
    }
    text
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => crate::error::printable(s),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}
