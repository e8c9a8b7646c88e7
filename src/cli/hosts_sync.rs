//! `vmctl hosts-sync`: keep a marked block of the hosts file (`# BEGIN vmctl` ... `# END vmctl`)
//! in step with the VMs' current addresses. A dry run (the diff) unless `--apply`.

use std::io::IsTerminal;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::Ctx;
use super::shared::address::discover;
use crate::discovery::{AddressSource, Found, hosts};
use crate::error::Error;
use crate::store::{StoreLock, resolve_links, write_through};

/// Keep a marked block of /etc/hosts in step with the VMs' addresses (dry run without --apply)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl hosts-sync                         print the diff it would make
  sudo vmctl hosts-sync --apply            write it (asks first unless --yes)
  vmctl hosts-sync --apply web db          only these VMs' lines; the others stay
  vmctl hosts-sync --hosts-file ./hosts --apply --yes

Everything outside the block is kept byte for byte. On macOS flush the cache afterwards:
  sudo dscacheutil -flushcache && sudo killall -HUP mDNSResponder")]
pub struct HostsSyncArgs {
    /// VMs to sync [default: every VM]
    vms: Vec<String>,
    /// Write the change
    #[arg(long)]
    apply: bool,
    /// The hosts file
    #[arg(long, value_name = "PATH", default_value = "/etc/hosts")]
    hosts_file: PathBuf,
    /// Lease file to read instead of the default ones
    #[arg(long, value_name = "PATH")]
    leases_file: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &HostsSyncArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let profiles = ctx.store.load_named(&args.vms)?;
    let path = &args.hosts_file;
    let found = discover(
        ctx,
        &settings,
        &profiles,
        AddressSource::Lease,
        args.leases_file.as_ref(),
    )?;
    let named: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    let change =
        |old: String| Change::new(path, old, &found, (!args.vms.is_empty()).then_some(&named));
    let planned = change(read_hosts(path)?)?;
    for profile in &profiles {
        if !found.iter().any(|(name, _)| name == &profile.name) {
            ctx.out.note(&format!(
                "VM '{}' has no current address: no line for it",
                profile.name
            ));
        }
    }
    let shown = path.display().to_string();
    let body = |c: &Change, applied: bool| {
        json!({"file": shown, "changed": c.old != c.new, "applied": applied, "diff": c.diff(&shown),
               "entries": c.entries.iter().map(|(n, ip)| json!({"name": n, "ip": ip.to_string()})).collect::<Vec<_>>()})
    };
    if planned.old == planned.new {
        ctx.out.data(&body(&planned, false), String::new);
        ctx.out.note(&format!("{shown} is up to date"));
        return Ok(());
    }
    if !args.apply {
        ctx.out
            .data(&body(&planned, false), || planned.diff(&shown));
        ctx.out.note("dry run: add --apply to write it");
        return Ok(());
    }
    if !ctx.yes {
        let what = format!("rewriting the vmctl block of {shown}");
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        crate::output::diag(&planned.diff(&shown));
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("Write these changes to {shown}?"))
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    // Read, change and write under one lock, or two runs at once lose each other's lines. The
    // file is read again under it: another run may have written it since the diff above.
    let _lock = StoreLock::acquire(&lock_path(&resolve_links(path)), ctx.out.quiet)?;
    let applied = change(read_hosts(path)?)?;
    if applied.old != applied.new {
        write_through(path, applied.new.as_bytes())?;
    }
    ctx.out.done(
        &body(&applied, true),
        &format!(
            "updated {shown}: {} line(s) in the vmctl block",
            applied.entries.len()
        ),
    );
    Ok(())
}

/// The hosts file's text: it must be there (a hosts file that is missing is a wrong path, not
/// an empty file), a regular file, and of a sane size.
fn read_hosts(path: &Path) -> Result<String, Error> {
    crate::store::read_input_text(path, "hosts file").map_err(|e| match e {
        Error::Invalid { reason, .. } if reason == "no such file" => {
            Error::invalid("hosts file", path.display().to_string(), "no such file")
                .with_hint("give the path of an existing hosts file (--hosts-file)")
        }
        other => other,
    })
}

/// The hosts file before and after, and the block's entries.
struct Change {
    old: String,
    new: String,
    entries: Vec<(String, Ipv4Addr)>,
}

impl Change {
    /// The block of `old` holding the `found` addresses; with `only` (VMs named on the command
    /// line), the other VMs' lines stay as they are.
    fn new(
        path: &Path,
        old: String,
        found: &[(String, Found)],
        only: Option<&Vec<&str>>,
    ) -> Result<Change, Error> {
        let hosts_error = |e: hosts::HostsError| {
            Error::corrupt(path, e).with_hint(
                "fix or delete vmctl's marked block (from '# BEGIN vmctl' to '# END vmctl') by hand; the rest of the file is not vmctl's",
            )
        };
        let mut entries: Vec<(String, Ipv4Addr)> = match only {
            None => Vec::new(),
            Some(named) => hosts::block_entries(&old)
                .map_err(hosts_error)?
                .into_iter()
                .filter(|(name, _)| !named.contains(&name.as_str()))
                .collect(),
        };
        entries.extend(found.iter().map(|(name, f)| (name.clone(), f.ip)));
        let new = hosts::update_block(&old, &entries).map_err(hosts_error)?;
        Ok(Change { old, new, entries })
    }

    fn diff(&self, shown: &str) -> String {
        hosts::diff(&self.old, &self.new, shown)
    }
}

/// `.hosts.vmctl-lock` beside `hosts`: the file itself is replaced on each write, so a lock on
/// it would not outlive the write.
fn lock_path(hosts: &Path) -> PathBuf {
    let name = hosts
        .file_name()
        .map_or_else(|| "hosts".into(), |n| n.to_string_lossy());
    hosts.with_file_name(format!(".{name}.vmctl-lock"))
}
