//! `vmctl ip VM [--wait DUR] [--source lease|arp|any]`: the best current IPv4 of a VM, found by
//! its MAC in the DHCP leases and the neighbour table (so VMs started by other tools count).

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use macaddr::MacAddr6;
use serde_json::json;

use super::Ctx;
use crate::discovery::lease::LeaseIndex;
use crate::discovery::{self, AddressSource, Found, LeaseFile};
use crate::error::Error;
use crate::model::{Mac, VmProfile};
use crate::settings::Settings;
use crate::settings::change::effective_mac;

/// Print the best current IPv4 address of a VM
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl ip web                       from the DHCP leases, else the neighbour table
  vmctl ip web --wait 2m             wait (with a spinner) until the VM has an address
  ssh admin@$(vmctl ip web --wait 60s)
  vmctl ip web --source any          prefer an address that answers on port 22")]
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

/// The lease files to read: `file` if given (then it must exist), else this platform's defaults.
pub fn lease_files(ctx: &Ctx, settings: &Settings, file: Option<&PathBuf>) -> Vec<LeaseFile> {
    match file {
        Some(file) => vec![LeaseFile::required(
            file,
            "check the path; without the option vmctl reads its default lease files",
        )],
        None => discovery::default_lease_files(ctx.store.home(), settings, crate::backend::HOST_OS),
    }
}

/// The current address of each profile that has one. An address found by a MAC that several
/// VMs share belongs to the one that is started; when that cannot be told (none or several
/// started), it is ambiguous: a warning, and no address for any of them.
pub fn discover(
    ctx: &Ctx,
    settings: &Settings,
    profiles: &[VmProfile],
    source: AddressSource,
    file: Option<&PathBuf>,
) -> Result<Vec<(String, Found)>, Error> {
    let now = crate::sys::now();
    let macs: Vec<MacAddr6> = profiles
        .iter()
        .map(|p| effective_mac(p, settings))
        .collect();
    let wanted: HashSet<MacAddr6> = macs.iter().copied().collect();
    let mut index = LeaseIndex::empty(now);
    // Read with `--source arp` too: a lease file named on the command line must be there.
    for file in lease_files(ctx, settings, file) {
        discovery::scan_leases(&file, |lease| {
            if lease.mac.is_some_and(|mac| wanted.contains(&mac)) {
                index.offer(lease);
            }
        })?;
    }
    let neighbours = if source == AddressSource::Lease {
        Vec::new()
    } else {
        discovery::neighbours(crate::backend::HOST_OS)
    };
    let owner = owners_of_shared_macs(ctx, settings, &wanted)?;
    Ok(profiles
        .iter()
        .zip(macs)
        .filter(|(p, mac)| owner.get(mac).is_none_or(|o| o.as_deref() == Some(&p.name)))
        .filter_map(|(p, mac)| {
            discovery::best_address(
                mac,
                &index,
                &neighbours,
                now,
                source,
                discovery::ssh_answers,
            )
            .map(|found| (p.name.clone(), found))
        })
        .collect())
}

/// For each of `macs` that more than one VM has: the VM its address belongs to (the started
/// one), or `None` when that cannot be told, with a warning.
fn owners_of_shared_macs(
    ctx: &Ctx,
    settings: &Settings,
    macs: &HashSet<MacAddr6>,
) -> Result<HashMap<MacAddr6, Option<String>>, Error> {
    let mut sharers: HashMap<MacAddr6, Vec<String>> = HashMap::new();
    // Every profile, not only those asked about: `ip web` must know that `web2` shares its MAC.
    for p in ctx.store.load_all_lenient()?.0 {
        let mac = effective_mac(&p, settings);
        if macs.contains(&mac) {
            sharers.entry(mac).or_default().push(p.name);
        }
    }
    let mut owners = HashMap::new();
    for (mac, names) in sharers.into_iter().filter(|(_, names)| names.len() > 1) {
        let started: Vec<&String> = names.iter().filter(|n| ctx.store.is_started(n)).collect();
        let owner = match started.as_slice() {
            [one] => Some((*one).clone()),
            _ => {
                // Once per MAC and run: `ip --wait` asks again every 50 ms.
                static WARNED: std::sync::Mutex<Vec<MacAddr6>> = std::sync::Mutex::new(Vec::new());
                let mut warned = WARNED
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if !warned.contains(&mac) {
                    warned.push(mac);
                    ctx.out.warn(&format!(
                        "VMs {} share the MAC {} and {} started: whose address it is cannot be told, so none of them gets one",
                        names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
                        Mac(mac),
                        if started.is_empty() { "none is" } else { "more than one is" }
                    ));
                }
                None
            }
        };
        owners.insert(mac, owner);
    }
    Ok(owners)
}

pub fn run(ctx: &Ctx, args: &IpArgs) -> Result<(), Error> {
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
    let found = loop {
        let found = discover(
            ctx,
            &settings,
            std::slice::from_ref(&profile),
            source,
            args.file.as_ref(),
        )?;
        if let Some((_, found)) = found.into_iter().next() {
            break Some(found);
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
            _ => break None,
        }
    };
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
