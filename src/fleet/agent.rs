//! `vmctl agent`: keep this host's records in the registry alive and current.
//!
//! Its records (the host's and one per VM) are bound to an etcd lease of `TTL` seconds that it
//! renews every third of that; killed, or cut off, its records leave the registry within the
//! TTL. Local commands do not talk to it: it looks at `vms/`, `run/` and `networks/` every
//! `POLL` (an atomic write renames a file there, which moves the folder's time) and publishes
//! what changed, so a change shows in the fleet within about `POLL` plus one etcd round trip,
//! and a command never waits for, or fails because of, the registry. After any failure it
//! starts over: the lease renewed (or a new one), what etcd has read back, and only what
//! differs written (`sync_ops`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::{Fleet, Snapshot, apply, desired, published, snapshot, sync_ops};
use crate::error::Error;
use crate::model::registry::{self, HostRecord};
use crate::settings::Settings;
use crate::store::Store;

/// The lease's time to live, in seconds: how long a dead host's VMs stay listed at most.
pub const TTL: u64 = 10;
/// How often the agent looks for local changes.
const POLL: Duration = Duration::from_millis(50);
/// How often it publishes anyway (a bridged VM's address comes from the neighbour table, which
/// no file records).
const REFRESH: Duration = Duration::from_secs(5);
/// How often it writes `seen` (the one record that outlives the lease).
const SEEN_EVERY: Duration = Duration::from_secs(30);

/// What the agent did, for its last words.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub publishes: u64,
    pub keepalives: u64,
    pub failures: u64,
}

/// The times of the folders whose files make the snapshot.
fn stamp(store: &Store) -> Vec<Option<SystemTime>> {
    [
        store.vms_dir(),
        store.run_dir(),
        store.home().join("networks"),
    ]
    .iter()
    .map(|dir| std::fs::metadata(dir).and_then(|m| m.modified()).ok())
    .collect()
}

/// Run until `stop` is set (SIGTERM): then revoke the lease, so that the records leave at once,
/// and write `seen`. `settings` is read again before each publish (a `vmctl config` edit is
/// seen); `log` gets one line per event worth a line.
pub fn run(
    store: &Store,
    fleet: &Fleet,
    settings: impl Fn() -> Result<Settings, Error>,
    stop: &Arc<AtomicBool>,
    log: &dyn Fn(&str),
) -> Result<Stats, Error> {
    let started = crate::sys::now();
    let mut stats = Stats::default();
    let mut lease: i64 = 0;
    let mut in_sync = false;
    let mut published_now: BTreeMap<String, (Vec<u8>, i64)> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut last_stamp = Vec::new();
    let mut last_publish = Instant::now();
    let mut last_keepalive = Instant::now();
    let mut last_seen = Instant::now();
    let mut address = None;
    let mut outage: Option<String> = None;
    let keepalive_every = Duration::from_secs(TTL / 3).max(Duration::from_secs(1));
    while !stop.load(Ordering::Relaxed) {
        let result = (|| -> Result<bool, Error> {
            if !in_sync {
                // Start over: a lease that still lives, or a new one; then what etcd has.
                if lease != 0 {
                    let left = fleet
                        .etcd
                        .lease_keepalive(lease)
                        .map_err(|e| fleet.fail(e))?;
                    if left <= 0 {
                        log(&format!(
                            "lease {lease:x} expired: publishing everything on a new one"
                        ));
                        lease = 0;
                    }
                }
                if lease == 0 {
                    lease = fleet.etcd.lease_grant(TTL).map_err(|e| fleet.fail(e))?;
                }
                last_keepalive = Instant::now();
                address = fleet.etcd.local_address().and_then(|ip| match ip {
                    std::net::IpAddr::V4(v4) => Some(v4),
                    std::net::IpAddr::V6(_) => None,
                });
                let snap = snapshot(store, &settings()?, &fleet.host)?;
                names.extend(snap.vms.iter().map(|vm| vm.name.clone()));
                let there = published(fleet, names.iter().cloned())?;
                let want = wanted(fleet, address, started, &snap);
                apply(fleet, sync_ops(&want, &there, lease))?;
                published_now = want.into_iter().map(|(k, v)| (k, (v, lease))).collect();
                put_seen(fleet)?;
                last_seen = Instant::now();
                last_stamp = stamp(store);
                last_publish = Instant::now();
                in_sync = true;
                stats.publishes += 1;
                log(&format!(
                    "published {} VM(s) of host '{}' (lease {lease:x}, TTL {TTL} s)",
                    snap.vms.len(),
                    fleet.host
                ));
                return Ok(true);
            }
            if last_keepalive.elapsed() >= keepalive_every {
                let left = fleet
                    .etcd
                    .lease_keepalive(lease)
                    .map_err(|e| fleet.fail(e))?;
                stats.keepalives += 1;
                last_keepalive = Instant::now();
                if left <= 0 {
                    in_sync = false;
                    return Ok(false);
                }
            }
            let now_stamp = stamp(store);
            if now_stamp != last_stamp || last_publish.elapsed() >= REFRESH {
                let snap = snapshot(store, &settings()?, &fleet.host)?;
                names.extend(snap.vms.iter().map(|vm| vm.name.clone()));
                let want = wanted(fleet, address, started, &snap);
                let ops = sync_ops(&want, &published_now, lease);
                if !ops.is_empty() {
                    apply(fleet, ops)?;
                    stats.publishes += 1;
                }
                published_now = want.into_iter().map(|(k, v)| (k, (v, lease))).collect();
                last_stamp = now_stamp;
                last_publish = Instant::now();
            }
            if last_seen.elapsed() >= SEEN_EVERY {
                put_seen(fleet)?;
                last_seen = Instant::now();
            }
            Ok(true)
        })();
        match result {
            Ok(_) => {
                if let Some(why) = outage.take() {
                    log(&format!("the registry answers again (after: {why})"));
                }
            }
            Err(e) => {
                stats.failures += 1;
                in_sync = false;
                let why = e.to_string();
                if outage.is_none() {
                    log(&format!(
                        "{why}; retrying (local commands are not affected)"
                    ));
                }
                outage = Some(why);
                sleep_unless(stop, Duration::from_millis(500));
                continue;
            }
        }
        sleep_unless(stop, POLL);
    }
    // Leave: the records go now rather than at the end of the TTL.
    if lease != 0 {
        match fleet.etcd.lease_revoke(lease) {
            Ok(()) => log(&format!("left the fleet: lease {lease:x} revoked")),
            Err(e) => log(&format!(
                "could not revoke lease {lease:x} ({}): the records leave within {TTL} s",
                fleet.fail(e)
            )),
        }
        let _ = put_seen(fleet);
    }
    Ok(stats)
}

fn wanted(
    fleet: &Fleet,
    address: Option<std::net::Ipv4Addr>,
    started: u64,
    snap: &Snapshot,
) -> BTreeMap<String, Vec<u8>> {
    let host = HostRecord {
        host: fleet.host.clone(),
        address,
        vms: snap.vms.len(),
        agent_started: started,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        os: std::env::consts::OS.to_owned(),
    };
    desired(&host, snap)
}

fn put_seen(fleet: &Fleet) -> Result<(), Error> {
    apply(
        fleet,
        vec![super::etcd::put_op(
            &registry::host_seen_key(&fleet.host),
            crate::sys::now().to_string().as_bytes(),
            0,
        )],
    )
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let end = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}
