//! How commands show a VM: its NIC as JSON (`show`, `list`, `modify`, `create`, `clone`), its
//! status (and the started VMs), and times as `show`, `list` and `leases` print them.

use serde_json::{Value, json};

use crate::cli::Ctx;
use crate::error::Error;
use crate::model::{Mac, Mode, VmProfile};
use crate::settings::Settings;
use crate::settings::change::{effective_mac, effective_no_local};
use crate::store::StartedVm;

/// The started VMs as `run/` has them; each run file that cannot be used is a warning naming it
/// (one bad file is one bad VM: the command goes on without it).
pub fn started_vms(ctx: &Ctx) -> Result<Vec<crate::store::StartedVm>, Error> {
    let runs = ctx.store.load_runs()?;
    for bad in &runs.bad {
        ctx.out.warn(&bad.warning());
    }
    Ok(runs.started)
}

/// Why a VM whose runtime state is there is stopped (`stale` in JSON): the state is from an
/// earlier boot of the host.
pub const EARLIER_BOOT: &str = "earlier boot";

/// A VM's runtime state as `list` and `show` report it, read once.
pub struct RunView {
    /// The state of a VM started in this boot.
    pub run: Option<StartedVm>,
    /// `running` or `stopped` (Anka's words; Packer's `IsRunning` compares them).
    pub status: &'static str,
    /// Why a state that is there counts as stopped: `EARLIER_BOOT`.
    pub stale: Option<&'static str>,
}

impl RunView {
    /// Read the VM's state (one that cannot be read is the error).
    pub fn read(ctx: &Ctx, name: &str) -> Result<RunView, Error> {
        Ok(match ctx.store.load_run(name)? {
            Some(run) if run.from_earlier_boot() => RunView {
                run: None,
                status: "stopped",
                stale: Some(EARLIER_BOOT),
            },
            Some(run) => RunView {
                run: Some(run),
                status: "running",
                stale: None,
            },
            None => RunView {
                run: None,
                status: "stopped",
                stale: None,
            },
        })
    }

    /// `read`, where a state that cannot be read counts as started (it may be), without its
    /// details.
    pub fn read_lenient(ctx: &Ctx, name: &str) -> RunView {
        RunView::read(ctx, name).unwrap_or(RunView {
            run: None,
            status: "running",
            stale: None,
        })
    }
}

/// The NIC as `show VM network` reports it (Anka's field names where Anka has one).
pub fn nic_json(profile: &VmProfile, settings: &Settings) -> Value {
    let nic = &profile.network;
    let bridge = match nic.mode {
        Mode::Bridge => Some(
            nic.bridge
                .clone()
                .or_else(|| settings.bridge_name.clone())
                .unwrap_or_else(|| "auto".into()),
        ),
        _ => None,
    };
    json!({
        "mode": nic.mode.name(),
        "controller": nic.controller.name(),
        "mac": Mac(effective_mac(profile, settings)).to_string(),
        "mac_policy": nic.mac.name(),
        "ip": nic.ip.map(|ip| ip.to_string()),
        "network": nic.network_name(),
        "bridge": bridge,
        "no_local": effective_no_local(nic, settings),
        "no_local_source": if nic.no_local.is_some() { "vm" } else { "host" },
        "vlan": nic.vlan,
        "filter": match (&nic.filter, &nic.filter_file, &settings.net_filter) {
            (_, Some(_), _) => Some("file"),
            (Some(_), None, _) => Some("vm"),
            (None, None, Some(_)) => Some("net_filter"),
            (None, None, None) => None,
        },
        "filter_file": nic.filter_file.as_ref().map(|path| path.display().to_string()),
        "port_forwarding_rules": nic.port_forwarding_rules,
    })
}

/// A new VM as `create` and `clone` report it: its name and uuid beside its NIC.
pub fn vm_nic_json(profile: &VmProfile, settings: &Settings) -> Value {
    let mut body = nic_json(profile, settings);
    body["name"] = Value::from(profile.name.as_str());
    body["uuid"] = Value::from(profile.uuid.as_str());
    body
}

/// Anka's `creation_date` in a table: `Oct 12 17:14:31 2022`, `Jan 6 12:34:52 2022` (UTC
/// here); `None` when the profile predates creation times (0).
pub fn creation_date(created: u64) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if created == 0 {
        return None;
    }
    let (year, month, day, hms) = civil(created);
    let month = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    Some(format!("{month} {day} {hms} {year}"))
}

/// Anka's `creation_date` in JSON: RFC 3339 in UTC, `2022-01-06T12:34:52Z` (anklet parses
/// Anka's dates with Go's `time.RFC3339`).
pub fn creation_date_json(created: u64) -> Option<String> {
    if created == 0 {
        return None;
    }
    let (year, month, day, hms) = civil(created);
    Some(format!("{year:04}-{month:02}-{day:02}T{hms}Z"))
}

/// A JSON `creation_date` (`2022-01-06T12:34:52Z`) as a table shows it (`Jan 6 12:34:52
/// 2022`); anything else as it is.
pub fn creation_date_cell(json_date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts = (|| {
        let (date, time) = json_date.strip_suffix('Z')?.split_once('T')?;
        let mut ymd = date.splitn(3, '-');
        let year = ymd.next()?;
        let month: usize = ymd.next()?.parse().ok()?;
        let day: u32 = ymd.next()?.parse().ok()?;
        Some(format!(
            "{} {day} {time} {year}",
            MONTHS.get(month.checked_sub(1)?)?
        ))
    })();
    parts.unwrap_or_else(|| json_date.to_owned())
}

/// `2026-11-24 14:16:05 UTC` from unix seconds, without a time-zone database.
pub fn format_time(secs: u64) -> String {
    let (year, month, day, hms) = civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hms} UTC")
}

/// Year, month (1-12), day and `HH:MM:SS` of unix seconds, in UTC.
fn civil(secs: u64) -> (i64, i64, i64, String) {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let hms = format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    (year, month, day, hms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_533_365), "2026-11-24 15:16:05 UTC");
        // Anka's form, as in `anka show`'s "Oct 12 17:14:31 2022".
        assert_eq!(
            super::creation_date(1_665_594_871).as_deref(),
            Some("Oct 12 17:14:31 2022")
        );
        assert_eq!(
            super::creation_date(1_704_067_200).as_deref(),
            Some("Jan 1 00:00:00 2024")
        );
        assert_eq!(super::creation_date(0), None);
        // Anka's JSON form, as in `anka -j list`'s "2022-01-06T12:34:52Z".
        assert_eq!(
            super::creation_date_json(1_641_472_492).as_deref(),
            Some("2022-01-06T12:34:52Z")
        );
        assert_eq!(super::creation_date_json(0), None);
        assert_eq!(
            super::creation_date_cell("2022-01-06T12:34:52Z"),
            "Jan 6 12:34:52 2022"
        );
        assert_eq!(super::creation_date_cell("-"), "-");
    }
}
