//! `vmctl hosts-sync`: keep a marked block of the hosts file (`# BEGIN vmctl` ... `# END vmctl`)
//! in step with the VMs' current addresses. A dry run (the diff) unless `--apply`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::Ctx;
use super::ip::discover;
use crate::discovery::{AddressSource, hosts};
use crate::error::Error;
use crate::store::write_atomic;

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
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("reading", path, e)),
    };
    let hosts_error =
        |e: hosts::HostsError| Error::corrupt(path, e).with_hint("fix the vmctl block by hand");
    let found = discover(
        ctx,
        &settings,
        &profiles,
        AddressSource::Lease,
        args.leases_file.as_ref(),
    )?;
    let mut entries: Vec<(String, std::net::Ipv4Addr)> = if args.vms.is_empty() {
        Vec::new()
    } else {
        // Only the named VMs move; the others' lines stay as they are.
        hosts::block_entries(&old)
            .map_err(hosts_error)?
            .into_iter()
            .filter(|(name, _)| !profiles.iter().any(|p| &p.name == name))
            .collect()
    };
    for profile in &profiles {
        match found.iter().find(|(name, _)| name == &profile.name) {
            Some((_, f)) => entries.push((profile.name.clone(), f.ip)),
            None => ctx.out.note(&format!(
                "VM '{}' has no current address: no line for it",
                profile.name
            )),
        }
    }
    let new = hosts::update_block(&old, &entries).map_err(hosts_error)?;
    let shown = path.display().to_string();
    let diff = hosts::diff(&old, &new, &shown);
    let body = |applied: bool| {
        json!({"file": shown, "changed": old != new, "applied": applied, "diff": diff,
               "entries": entries.iter().map(|(n, ip)| json!({"name": n, "ip": ip.to_string()})).collect::<Vec<_>>()})
    };
    if old == new {
        ctx.out.data(&body(false), String::new);
        ctx.out.note(&format!("{shown} is up to date"));
        return Ok(());
    }
    if !args.apply {
        ctx.out.data(&body(false), || diff.clone());
        ctx.out.note("dry run: add --apply to write it");
        return Ok(());
    }
    if !ctx.yes {
        let what = format!("rewriting the vmctl block of {shown}");
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        crate::output::diag(&diff);
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("Write these changes to {shown}?"))
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    write_atomic(path, new.as_bytes())?;
    ctx.out.done(
        &body(true),
        &format!(
            "updated {shown}: {} line(s) in the vmctl block",
            entries.len()
        ),
    );
    Ok(())
}
