//! `vmctl doctor [--fix]`: compare the host with what vmctl recorded; repair with `--fix`.

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::backend;
use crate::error::Error;
use crate::output::grid;

/// Check the host: tools, privileges, dead dnsmasq, vanished or orphaned links and rules
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl doctor            list problems; exit 1 when there are any
  vmctl doctor --fix      repair them: restart dnsmasq, recreate bridges, delete leftovers
  vmctl -j doctor")]
pub struct DoctorArgs {
    /// Repair what is found
    #[arg(long)]
    fix: bool,
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    let findings = backend::host(&ctx.store, &settings).doctor(&lock, args.fix)?;
    drop(lock);
    let open: Vec<&backend::Finding> = findings.iter().filter(|f| !f.fixed).collect();
    if findings.is_empty() {
        ctx.out.done(
            &json!({"healthy": true, "findings": []}),
            "all good: the host has what vmctl recorded, and nothing more",
        );
        return Ok(());
    }
    // With problems left, a script gets one ERROR document (below), people the table first.
    if !ctx.out.json || open.is_empty() {
        ctx.out.data(
            &json!({"healthy": open.is_empty(), "findings": findings}),
            || {
                grid(
                    &["problem", "fix", "fixed"],
                    findings.iter().map(|f| {
                        vec![
                            f.problem.clone(),
                            f.fix.clone(),
                            if f.fixed { "yes" } else { "no" }.to_owned(),
                        ]
                    }),
                )
            },
        );
    }
    if open.is_empty() {
        return Ok(());
    }
    let problems: Vec<&str> = open.iter().map(|f| f.problem.as_str()).collect();
    Err(Error::host(
        format!("{} problem(s): {}", open.len(), problems.join("; ")),
        if args.fix {
            "the ones left need a hand: see the fix column"
        } else {
            "`vmctl doctor --fix` (as root) repairs what vmctl made"
        },
    ))
}
