//! `vmctl list [VM...]`: VMs with their creation date, mode, network, MAC, IP and status;
//! `-f` picks columns (`-f name,ip`) and filters rows (`-f status=stopped`).

use clap::Args;
use serde_json::{Map, Value};

use super::Ctx;
use super::shared::address::address_now;
use super::shared::view::{RunView, creation_date_cell, creation_date_json, nic_json, started_vms};
use crate::error::Error;
use crate::output::grid;

const FIELDS: [&str; 8] = [
    "name",
    "uuid",
    "creation_date",
    "mode",
    "network",
    "mac",
    "ip",
    "status",
];

/// List the VMs: name, uuid, creation_date, mode, network, mac, ip, status
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl list
  vmctl list web db                   only these (a missing one is an error)
  vmctl list -f name -f ip            only these columns
  vmctl list -f status=stopped        only the rows where status is stopped
  vmctl list -f name,mode -f mode=shared
  vmctl -j list -r                    only running VMs (-s: only stopped ones)
  vmctl -j list 1948dd37-e8ea-43b3-972f-b91860329eab   a VM by its uuid")]
pub struct ListArgs {
    /// VMs to list [default: every stored VM]
    vms: Vec<String>,
    /// Only running (started) VMs
    #[arg(short = 'r', long, conflicts_with = "stopped")]
    running: bool,
    /// Only stopped VMs
    #[arg(short = 's', long)]
    stopped: bool,
    /// Every VM: the default (Anka's `-a` adds its image cache, which vmctl does not have)
    #[arg(short = 'a', long)]
    all: bool,
    /// A column to show (FIELD), or a filter on rows (FIELD=VALUE); repeat or separate with commas
    #[arg(
        short = 'f',
        long,
        value_name = "FIELD|FIELD=VALUE",
        value_delimiter = ','
    )]
    field: Vec<String>,
}

/// `-f` split into the columns to show and the `field=value` filters rows must match.
struct Selection {
    columns: Vec<&'static str>,
    filters: Vec<(&'static str, String)>,
}

fn known_field(name: &str) -> Result<&'static str, Error> {
    FIELDS.iter().copied().find(|f| *f == name).ok_or_else(|| {
        Error::invalid("list field", name, "no such field")
            .with_hint(format!("the fields are: {}", FIELDS.join(", ")))
    })
}

impl Selection {
    fn parse(args: &[String]) -> Result<Selection, Error> {
        let mut columns = Vec::new();
        let mut filters = Vec::new();
        for arg in args {
            match arg.split_once('=') {
                Some((field, value)) => filters.push((known_field(field)?, value.to_owned())),
                None => {
                    let field = known_field(arg)?;
                    if !columns.contains(&field) {
                        columns.push(field);
                    }
                }
            }
        }
        if columns.is_empty() {
            columns = FIELDS.to_vec();
        }
        Ok(Selection { columns, filters })
    }
}

/// A value as a table cell and as a filter compares it.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The rows as a table (a date as Anka's tables show it); nothing for no rows.
fn table(columns: &[&str], rows: &[Map<String, Value>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    grid(
        columns,
        rows.iter().map(|row| {
            columns
                .iter()
                .map(|f| match (*f, &row[*f]) {
                    ("creation_date", Value::String(date)) => creation_date_cell(date),
                    (_, value) => cell(value),
                })
                .collect()
        }),
    )
}

pub fn run(ctx: &Ctx, args: &ListArgs) -> Result<(), Error> {
    let selection = Selection::parse(&args.field)?;
    let settings = ctx.settings()?;
    let profiles = if args.vms.is_empty() {
        let (profiles, unreadable) = ctx.store.load_all_lenient()?;
        for path in ctx.store.stray_files() {
            ctx.out
                .warn(&format!("ignored: {}", crate::store::stray(&path)));
        }
        for err in &unreadable {
            ctx.out.warn(&format!("skipped: {err}"));
        }
        profiles
    } else {
        ctx.store.load_named(&args.vms)?
    };
    // Each run file that cannot be used is a warning; an unreadable run/ is one too.
    if let Err(err) = started_vms(ctx) {
        ctx.out.warn(&err.to_string());
    }
    let mut rows: Vec<Map<String, Value>> = Vec::with_capacity(profiles.len());
    let mut earlier_boot = Vec::new();
    for profile in &profiles {
        // An unreadable run state or lease file costs that VM its address, not the whole
        // listing.
        let RunView { run, status, stale } = RunView::read_lenient(ctx, &profile.name);
        if stale.is_some() {
            earlier_boot.push(format!("'{}'", profile.name));
        }
        if (args.running && status != "running") || (args.stopped && status == "running") {
            continue;
        }
        let nic = nic_json(profile, &settings);
        // A started VM shows the address it has now.
        let ip = address_now(ctx, &settings, profile, run.as_ref())
            .ok()
            .flatten()
            .map_or(Value::Null, |(ip, _)| Value::from(ip.to_string()));
        let mac = run.map_or_else(
            || nic["mac"].clone(),
            |run| Value::from(crate::model::Mac(run.mac).to_string()),
        );
        let full = |field: &str| match field {
            "name" => Value::from(profile.name.as_str()),
            "uuid" => Value::from(profile.uuid.as_str()),
            "creation_date" => creation_date_json(profile.created).map_or(Value::Null, Value::from),
            "mode" | "network" => nic[field].clone(),
            "mac" => mac.clone(),
            "ip" => ip.clone(),
            _ => Value::from(status),
        };
        if !selection
            .filters
            .iter()
            .all(|(field, want)| cell(&full(field)) == *want)
        {
            continue;
        }
        let mut row: Map<String, Value> = selection
            .columns
            .iter()
            .map(|&field| (field.to_owned(), full(field)))
            .collect();
        if let Some(why) = stale.filter(|_| row.contains_key("status")) {
            row.insert("stale".to_owned(), Value::from(why));
        }
        rows.push(row);
    }
    if !earlier_boot.is_empty() {
        let (vms, were) = match earlier_boot.len() {
            1 => ("VM", "was"),
            _ => ("VMs", "were"),
        };
        ctx.out.warn(&format!(
            "{vms} {} {were} started before the last reboot, so stopped now: `vmctl start` starts one again, `vmctl doctor --fix` forgets the rest",
            earlier_boot.join(", ")
        ));
    }
    let body = Value::Array(rows.iter().cloned().map(Value::Object).collect());
    ctx.out.data(&body, || table(&selection.columns, &rows));
    if rows.is_empty() && !ctx.out.json {
        ctx.out.note(if !selection.filters.is_empty() {
            "no VM matches the filters"
        } else if args.running {
            "no VM is running"
        } else if args.stopped {
            "no VM is stopped"
        } else {
            "no VMs yet: `vmctl create NAME` makes one"
        });
    }
    Ok(())
}
