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
    let open = findings.iter().filter(|f| !f.fixed).count();
    let body = json!({"healthy": open == 0, "findings": findings});
    if ctx.out.json {
        ctx.out.data(&body, String::new);
    } else if findings.is_empty() {
        ctx.out
            .note("all good: the host has what vmctl recorded, and nothing more");
    } else {
        ctx.out.data(&body, || {
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
        });
    }
    if open > 0 {
        return Err(Error::host(
            format!("{open} problem(s) found"),
            if args.fix {
                "the ones left need a hand: see the fix column"
            } else {
                "`vmctl doctor --fix` repairs them"
            },
        ));
    }
    Ok(())
}
