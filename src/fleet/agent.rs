//! `vmctl agent`: keep this host's records in the registry alive and current.
//!
//! Its records (the host's and one per VM) are bound to an etcd lease of `TTL` seconds that it
//! renews every third of that; killed, or cut off, its records leave the registry within the
//! TTL. Local commands do not talk to it: it looks at `vms/`, `run/` and `networks/` every
//! `POLL` (an atomic write renames a file there, which moves the folder's time) and publishes
//! what changed, so a change shows in the fleet within about `POLL` plus one etcd round trip,
//! and a command never waits for, or fails because of, the registry. After any failure it
//! starts over: the lease renewed (or a new one), what etcd has read back, only what differs
//! written (`sync_ops`), and each VM's MAC reserved if no VM holds it (a VM made before the
//! registry was set); a MAC another VM holds is said in the log.

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

/// What the agent knows between rounds.
struct Agent<'a> {
    store: &'a Store,
    fleet: &'a Fleet,
    log: &'a dyn Fn(&str),
    started: u64,
    stats: Stats,
    /// The lease its records are bound to (0: none yet).
    lease: i64,
    /// Whether `published` is what etcd has (false after any failure: start over).
    in_sync: bool,
    published: BTreeMap<String, (Vec<u8>, i64)>,
    /// Every VM name it has published (their name index entries are found by name).
    names: BTreeSet<String>,
    address: Option<std::net::Ipv4Addr>,
    last_stamp: Vec<Option<SystemTime>>,
    last_publish: Instant,
    last_keepalive: Instant,
    last_seen: Instant,
}

impl Agent<'_> {
    /// Start over: a lease that still lives, or a new one; then what etcd has, brought to
    /// what this host has.
    fn start_over(&mut self, settings: &Settings) -> Result<(), Error> {
        let fleet = self.fleet;
        if self.lease != 0 {
            let left = fleet
                .etcd
                .lease_keepalive(self.lease)
                .map_err(|e| fleet.fail(e))?;
            if left <= 0 {
                (self.log)(&format!(
                    "lease {:x} expired: publishing everything on a new one",
                    self.lease
                ));
                self.lease = 0;
            }
        }
        if self.lease == 0 {
            self.lease = fleet.etcd.lease_grant(TTL).map_err(|e| fleet.fail(e))?;
        }
        self.last_keepalive = Instant::now();
        self.address = fleet.etcd.local_address().and_then(|ip| match ip {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        });
        let snap = snapshot(self.store, settings, &fleet.host)?;
        self.names.extend(snap.vms.iter().map(|vm| vm.name.clone()));
        let there = published(fleet, self.names.iter().cloned())?;
        let want = wanted(fleet, self.address, self.started, &snap);
        apply(fleet, sync_ops(&want, &there, self.lease))?;
        self.published = want
            .into_iter()
            .map(|(k, v)| (k, (v, self.lease)))
            .collect();
        put_seen(fleet)?;
        for conflict in super::ensure_reservations(fleet, &snap)? {
            (self.log)(&conflict);
        }
        self.last_seen = Instant::now();
        self.last_stamp = stamp(self.store);
        self.last_publish = Instant::now();
        self.in_sync = true;
        self.stats.publishes += 1;
        (self.log)(&format!(
            "published {} VM(s) of host '{}' (lease {:x}, TTL {TTL} s)",
            snap.vms.len(),
            fleet.host,
            self.lease
        ));
        Ok(())
    }

    /// One round in sync: renew the lease when due, publish what changed, say `seen`.
    fn round(&mut self, settings: impl Fn() -> Result<Settings, Error>) -> Result<(), Error> {
        let fleet = self.fleet;
        let keepalive_every = Duration::from_secs(TTL / 3).max(Duration::from_secs(1));
        if self.last_keepalive.elapsed() >= keepalive_every {
            let left = fleet
                .etcd
                .lease_keepalive(self.lease)
                .map_err(|e| fleet.fail(e))?;
            self.stats.keepalives += 1;
            self.last_keepalive = Instant::now();
            if left <= 0 {
                self.in_sync = false;
                return Ok(());
            }
        }
        let now_stamp = stamp(self.store);
        if now_stamp != self.last_stamp || self.last_publish.elapsed() >= REFRESH {
            let snap = snapshot(self.store, &settings()?, &fleet.host)?;
            self.names.extend(snap.vms.iter().map(|vm| vm.name.clone()));
            let want = wanted(fleet, self.address, self.started, &snap);
            let ops = sync_ops(&want, &self.published, self.lease);
            if !ops.is_empty() {
                apply(fleet, ops)?;
                self.stats.publishes += 1;
            }
            self.published = want
                .into_iter()
                .map(|(k, v)| (k, (v, self.lease)))
                .collect();
            self.last_stamp = now_stamp;
            self.last_publish = Instant::now();
        }
        if self.last_seen.elapsed() >= SEEN_EVERY {
            put_seen(fleet)?;
            self.last_seen = Instant::now();
        }
        Ok(())
    }

    /// Leave: the records go now rather than at the end of the TTL.
    fn leave(&self) {
        if self.lease == 0 {
            return;
        }
        match self.fleet.etcd.lease_revoke(self.lease) {
            Ok(()) => (self.log)(&format!("left the fleet: lease {:x} revoked", self.lease)),
            Err(e) => (self.log)(&format!(
                "could not revoke lease {:x} ({}): the records leave within {TTL} s",
                self.lease,
                self.fleet.fail(e)
            )),
        }
        let _ = put_seen(self.fleet);
    }
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
    let mut agent = Agent {
        store,
        fleet,
        log,
        started: crate::sys::now(),
        stats: Stats::default(),
        lease: 0,
        in_sync: false,
        published: BTreeMap::new(),
        names: BTreeSet::new(),
        address: None,
        last_stamp: Vec::new(),
        last_publish: Instant::now(),
        last_keepalive: Instant::now(),
        last_seen: Instant::now(),
    };
    let mut outage: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let result = if agent.in_sync {
            agent.round(&settings)
        } else {
            settings().and_then(|s| agent.start_over(&s))
        };
        match result {
            Ok(()) => {
                if let Some(why) = outage.take() {
                    log(&format!("the registry answers again (after: {why})"));
                }
                sleep_unless(stop, POLL);
            }
            Err(e) => {
                agent.stats.failures += 1;
                agent.in_sync = false;
                let why = e.to_string();
                if outage.is_none() {
                    log(&format!(
                        "{why}; retrying (local commands are not affected)"
                    ));
                }
                outage = Some(why);
                sleep_unless(stop, Duration::from_millis(500));
            }
        }
    }
    agent.leave();
    Ok(agent.stats)
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
