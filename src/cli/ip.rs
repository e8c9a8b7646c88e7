//! `vmctl ip VM [--wait DUR] [--source lease|arp|any]`: the best current IPv4 of a VM, found by
//! its MAC in the DHCP leases and the neighbour table (so VMs started by other tools count).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::Ctx;
use super::shared::address::discover;
use crate::discovery::AddressSource;
use crate::error::Error;
use crate::model::Mac;
use crate::settings::change::effective_mac;

/// Print the best current IPv4 address of a VM
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl ip web                       from the DHCP leases, else the neighbour table
  vmctl ip web --wait 2m             wait (with a spinner) until the VM has an address
  ssh admin@$(vmctl ip web --wait 60s)
  vmctl ip web --source any          prefer an address that answers on port 22
  vmctl ip build-7731 --fleet --wait 60s   on whichever host of the fleet it is")]
pub struct IpArgs {
    /// The VM
    vm: String,
    /// Wait this long for an address (e.g. 30s, 2m, 500ms; a bare number is seconds)
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    wait: Option<Duration>,
    /// Where to look: DHCP leases, the neighbour table, or both plus a port-22 probe
    #[arg(long, default_value = "any", value_parser = ["lease", "arp", "any"])]
    source: String,
    /// Lease file to read instead of the default ones
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Ask the fleet registry: the VM may be on any host (its address as its host publishes it)
    #[arg(long, conflicts_with_all = ["file", "source"])]
    fleet: bool,
    /// With --fleet: the host, when the name is on several
    #[arg(long, value_name = "HOST", requires = "fleet")]
    host: Option<String>,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |at| text.split_at(at));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 30s, 2m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit '{unit}' (use ms, s, m or h)")),
    };
    // A deadline is `now + wait`: a wait of centuries would overflow the clock.
    let week = 7.0 * 24.0 * 3600.0;
    if !(0.0..=week).contains(&seconds) {
        return Err(format!("'{text}' is out of range (at most a week, 168h)"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("'{text}' is out of range"))
}

/// A started VM's recorded address (the lease hook's, or its static IP), which `show VM network
/// ip` answers first too: the two commands must agree.
fn recorded_address(ctx: &Ctx, name: &str) -> Option<crate::discovery::Found> {
    let run = ctx.store.load_run(name).ok().flatten()?;
    if run.from_earlier_boot() {
        return None;
    }
    let ip = run.ip.or(run.static_ip)?;
    Some(crate::discovery::Found {
        ip,
        via: if run.static_ip == Some(ip) {
            "static"
        } else {
            "lease"
        },
    })
}

/// Look for the VM's address until it is there or `args.wait` has passed since `started`:
/// its recorded address first (unless a source or a lease file is asked for), then the leases
/// and the neighbour table.
fn find_address(
    ctx: &Ctx,
    settings: &crate::settings::Settings,
    profile: &crate::model::VmProfile,
    source: AddressSource,
    args: &IpArgs,
    started: Instant,
) -> Result<Option<crate::discovery::Found>, Error> {
    let deadline = args.wait.map(|d| started + d);
    loop {
        if source == AddressSource::Any
            && args.file.is_none()
            && let Some(found) = recorded_address(ctx, &profile.name)
        {
            return Ok(Some(found));
        }
        let found = discover(
            ctx,
            settings,
            std::slice::from_ref(profile),
            source,
            args.file.as_ref(),
        )?;
        if let Some((_, found)) = found.into_iter().next() {
            return Ok(Some(found));
        }
        match deadline {
            Some(deadline) if Instant::now() < deadline => {
                // Quick at first (a DHCP client takes tens of milliseconds), then gentler.
                let poll = if started.elapsed() < Duration::from_secs(5) {
                    50
                } else {
                    500
                };
                std::thread::sleep(Duration::from_millis(poll).min(deadline - Instant::now()));
            }
            _ => return Ok(None),
        }
    }
}

/// `ip VM --fleet`: the address the VM's host publishes, waited for as `--wait` says.
fn from_fleet(ctx: &Ctx, args: &IpArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let fleet = crate::fleet::Fleet::require(&settings)?;
    let started = Instant::now();
    let deadline = args.wait.map(|d| started + d);
    loop {
        let (vm, _) = match crate::fleet::locate(&fleet, &args.vm, args.host.as_deref()) {
            Ok(found) => found,
            Err(Error::VmNotFound { .. }) if deadline.is_some_and(|d| Instant::now() < d) => {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(ip) = vm.ip {
            ctx.out.data(
                &json!({"name": vm.name, "host": vm.host, "mac": vm.mac, "ip": ip.to_string(), "source": "fleet"}),
                || ip.to_string(),
            );
            return Ok(());
        }
        if deadline.is_none_or(|d| Instant::now() >= d) {
            return Err(Error::NotAvailable {
                message: format!(
                    "VM '{}' on host '{}' has no address in the fleet ({})",
                    vm.name, vm.host, vm.status
                ),
                hint: Some(format!(
                    "`vmctl ip {} --fleet --wait 60s` waits for one",
                    vm.name
                )),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn run(ctx: &Ctx, args: &IpArgs) -> Result<(), Error> {
    if args.fleet {
        return from_fleet(ctx, args);
    }
    let settings = ctx.settings()?;
    let profile = ctx.store.load(&args.vm)?;
    let source = match args.source.as_str() {
        "lease" => AddressSource::Lease,
        "arp" => AddressSource::Arp,
        _ => AddressSource::Any,
    };
    let mac = Mac(effective_mac(&profile, &settings));
    let started = Instant::now();
    let deadline = args.wait.map(|d| started + d);
    let spinner =
        (deadline.is_some() && std::io::stderr().is_terminal() && !ctx.out.quiet && !ctx.out.json)
            .then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_message(format!(
                    "waiting for an address of VM '{}' ({mac})",
                    profile.name
                ));
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            });
    let found = find_address(ctx, &settings, &profile, source, args, started)?;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    // A bridged VM's only address being link-local (169.254.x.x) means DHCP failed on the LAN.
    let link_local = found.as_ref().is_some_and(|f| {
        f.ip.is_link_local() && profile.network.mode == crate::model::Mode::Bridge
    });
    if profile.network.mode == crate::model::Mode::Bridge && (found.is_none() || link_local) {
        // A started VM's interface is the one it started on (its state), else its profile's.
        let interface = ctx
            .store
            .load_run(&profile.name)
            .ok()
            .flatten()
            .and_then(|run| run.parent)
            .or_else(|| profile.network.bridge.clone())
            .or_else(|| settings.bridge_name.clone())
            .unwrap_or_else(|| "the host's interface".to_owned());
        let wifi = crate::discovery::wifi::is_wifi(&interface, crate::backend::HOST_OS);
        let (why, what_to_do) =
            crate::discovery::wifi::no_lease_reason(&interface, wifi, link_local);
        return Err(Error::NotAvailable {
            message: format!("VM '{}' (mac {mac}): {why}", profile.name),
            hint: Some(what_to_do),
        });
    }
    let Some(found) = found else {
        let waited = args.wait.map_or(String::new(), |d| {
            format!(" after waiting {}s", d.as_secs())
        });
        return Err(Error::NotAvailable {
            message: format!(
                "no address found for VM '{}' (mac {mac}){waited}: no unexpired lease{}",
                profile.name,
                if source == AddressSource::Lease {
                    ""
                } else {
                    " and not in the neighbour table"
                }
            ),
            hint: None,
        }
        .with_hint(if args.wait.is_some() {
            "is the VM running and using DHCP? `vmctl leases --all` shows every lease".to_owned()
        } else {
            format!(
                "is the VM running? `vmctl ip {} --wait 60s` waits for it",
                profile.name
            )
        }));
    };
    ctx.out.data(
        &json!({"name": profile.name, "mac": mac.to_string(), "ip": found.ip.to_string(), "source": found.via}),
        || found.ip.to_string(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(
            parse_duration("9300000000000000000").is_err(),
            "no overflow of now + wait"
        );
        assert!(parse_duration("169h").is_err());
        assert!(parse_duration("168h").is_ok());
    }
}
