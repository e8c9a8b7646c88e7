//! Where a VM's address is found: the lease files to read, discovery by MAC in the leases and
//! the neighbour table (`ip`, `show`, `list`, `hosts-sync`, `leases`), and the address a VM
//! has now (a started VM's, else its static IP).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use macaddr::MacAddr6;

use crate::cli::Ctx;
use crate::discovery::lease::LeaseIndex;
use crate::discovery::{self, AddressSource, Found, LeaseFile};
use crate::error::Error;
use crate::model::{Mac, VmProfile};
use crate::settings::Settings;
use crate::settings::change::effective_mac;
use crate::store::StartedVm;

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

/// Where the address a VM has now comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressOrigin {
    /// The VM's static IP (a DHCP reservation).
    Static,
    /// The DHCP lease of a started VM.
    Lease,
}

impl AddressOrigin {
    pub fn name(self) -> &'static str {
        match self {
            AddressOrigin::Static => "static",
            AddressOrigin::Lease => "lease",
        }
    }
}

/// The address a VM has now: a started VM's (as recorded at start or by a lease event, else
/// its unexpired lease), else its static IP.
pub fn address_now(
    ctx: &Ctx,
    settings: &Settings,
    profile: &VmProfile,
    run: Option<&StartedVm>,
) -> Result<Option<(Ipv4Addr, AddressOrigin)>, Error> {
    let Some(run) = run else {
        return Ok(profile.network.ip.map(|ip| (ip, AddressOrigin::Static)));
    };
    let origin = |ip| {
        if run.static_ip == Some(ip) {
            AddressOrigin::Static
        } else {
            AddressOrigin::Lease
        }
    };
    if let Some(ip) = run.ip.or(run.static_ip) {
        return Ok(Some((ip, origin(ip))));
    }
    // Started, and the lease hook has not recorded an address yet: the leases and the
    // neighbour table, exactly as `vmctl ip` looks, so that the two always agree (the guest's
    // first ARP can come before the hook runs).
    let found = discover(
        ctx,
        settings,
        std::slice::from_ref(profile),
        AddressSource::Any,
        None,
    )?;
    Ok(found
        .first()
        .map(|(_, found)| (found.ip, AddressOrigin::Lease)))
}
