//! `vmctl agent`: publish this host's VMs to the fleet registry until stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::error::Error;
use crate::fleet::{Fleet, agent};

/// Publish this host's VMs to the fleet registry and keep them alive (runs until stopped)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl config registry etcd://10.0.0.5:2379,10.0.0.6:2379,10.0.0.7:2379
  sudo vmctl agent                 one per host; contrib/ has a systemd unit and a launchd plist
The records live on an etcd lease of 10 s that the agent renews: killed, or cut off, the host's
VMs leave the fleet within 10 s. SIGTERM (or Ctrl-C) leaves at once. Local commands never wait
for the agent or the registry: it notices their changes by itself within about 50 ms.")]
pub struct AgentArgs {}

pub fn run(ctx: &Ctx, _args: &AgentArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let fleet = Fleet::require(&settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::host(format!("handling signals: {e}"), "try again"))?;
    }
    let began = Instant::now();
    let quiet = ctx.out.quiet;
    let log = move |line: &str| {
        if !quiet {
            crate::output::diag(&format!(
                "{} agent: {line}\n",
                super::shared::view::format_time(crate::sys::now())
            ));
        }
    };
    log(&format!(
        "host '{}', registry {}",
        fleet.host,
        fleet
            .etcd
            .url()
            .endpoints
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    ));
    let stats = agent::run(&ctx.store, &fleet, || ctx.settings(), &stop, &log)?;
    let seconds = began.elapsed().as_secs_f64();
    let requests = fleet.etcd.requests.load(Ordering::Relaxed);
    let bytes_out = fleet.etcd.bytes_out.load(Ordering::Relaxed);
    let bytes_in = fleet.etcd.bytes_in.load(Ordering::Relaxed);
    let body = json!({
        "host": fleet.host,
        "seconds": seconds,
        "publishes": stats.publishes,
        "keepalives": stats.keepalives,
        "failures": stats.failures,
        "requests": requests,
        "bytes_out": bytes_out,
        "bytes_in": bytes_in,
    });
    #[allow(clippy::cast_precision_loss)]
    let message = format!(
        "agent stopped after {seconds:.1} s: {requests} requests to etcd ({:.2}/s), {bytes_out} bytes out ({:.0} B/s), {bytes_in} in",
        requests as f64 / seconds.max(0.001),
        bytes_out as f64 / seconds.max(0.001),
    );
    ctx.out.done(&body, &message);
    Ok(())
}
