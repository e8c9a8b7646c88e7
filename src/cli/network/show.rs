//! `vmctl network show NAME`: one network (built-in or named) as a table.

use clap::Args;
use serde_json::Value;

use super::shared::{entries, network_json, usage};
use crate::cli::Ctx;
use crate::error::Error;
use crate::output::field_table;

/// One network as a table
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network show ci
  vmctl -j network show shared")]
pub(super) struct ShowArgs {
    name: String,
}

pub(super) fn run(ctx: &Ctx, args: &ShowArgs) -> Result<(), Error> {
    let name = args.name.as_str();
    let settings = ctx.settings()?;
    let all = entries(&settings);
    let Some(entry) = all.iter().find(|e| e.name == name) else {
        // The store's error names what exists.
        ctx.store.load_network(name)?;
        return Ok(());
    };
    let (on, up) = usage(ctx)?;
    let vms: Vec<String> = on
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, vm)| vm.clone())
        .collect();
    let body = network_json(entry, &vms, up.iter().any(|n| n == name));
    ctx.out.data(&body, || {
        field_table(body.as_object().into_iter().flatten().map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                Value::Array(items) if items.is_empty() => "-".into(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.as_str(), text)
        }))
    });
    Ok(())
}
