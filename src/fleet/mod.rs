//! The fleet: hosts that publish their VMs to one etcd (`vmctl config registry etcd://...`).
//! `etcd` talks to it; this file says what a host publishes (`snapshot`, `desired`), how a
//! host's published records are brought to what it has (`sync_ops`, pure), how MACs are
//! reserved fleet-wide in one transaction, and how the fleet is read. `agent` keeps a host's
//! records alive. Without a registry none of this runs: local files stay the whole truth.

pub mod agent;
pub mod etcd;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::error::Error;
use crate::model::registry::{
    self, HostKey, HostRecord, RegistryUrl, Reservation, VmRecord, parse_host_key,
};
use crate::model::{Mac, VmProfile};
use crate::settings::change::effective_mac;
use crate::settings::{Key, Settings};
use crate::store::Store;
use etcd::{Etcd, Kv, TlsFiles};

/// The most operations etcd takes in one transaction (its `--max-txn-ops` default).
const TXN_OPS: usize = 128;

/// A host's handle on the fleet registry.
pub struct Fleet {
    pub etcd: Etcd,
    /// This host's name in the fleet.
    pub host: String,
}

/// This host's name: `host_name`, else the kernel's.
pub fn host_name(settings: &Settings) -> Result<String, Error> {
    let configured = settings.get(Key::HostName).0;
    let name = if configured.is_empty() {
        nix::unistd::gethostname()
            .ok()
            .and_then(|n| n.into_string().ok())
            .unwrap_or_default()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        configured.to_owned()
    };
    registry::validate_host_name(&name)?;
    Ok(name)
}

impl Fleet {
    /// The registry the settings name, or `None` when there is none (this host alone).
    pub fn from_settings(settings: &Settings) -> Result<Option<Fleet>, Error> {
        let Some(url) = RegistryUrl::parse(settings.get(Key::Registry).0)? else {
            return Ok(None);
        };
        let path = |key: Key| {
            let value = settings.get(key).0;
            (!value.is_empty()).then(|| std::path::PathBuf::from(value))
        };
        let (ca, cert, key) = (
            path(Key::RegistryCa),
            path(Key::RegistryCert),
            path(Key::RegistryKey),
        );
        let tls = match (&ca, &cert, &key) {
            (None, None, None) => None,
            (Some(ca), cert, key) => Some(TlsFiles {
                ca,
                cert: match (cert, key) {
                    (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
                    (None, None) => None,
                    _ => {
                        return Err(Error::invalid(
                            "registry_cert",
                            "",
                            "registry_cert and registry_key go together",
                        )
                        .with_hint("set both: vmctl config registry_cert CERT registry_key KEY"));
                    }
                },
            }),
            (None, ..) => {
                return Err(Error::invalid(
                    "registry_ca",
                    "",
                    "a client certificate needs TLS, and TLS needs the CA",
                )
                .with_hint("vmctl config registry_ca CA.pem"));
            }
        };
        let user = settings.get(Key::RegistryUser).0;
        let auth = if user.is_empty() {
            None
        } else {
            let file = path(Key::RegistryPasswordFile).ok_or_else(|| {
                Error::invalid(
                    "registry_password_file",
                    "",
                    "registry_user needs a password",
                )
                .with_hint("vmctl config registry_password_file PATH (a file holding it)")
            })?;
            let password = std::fs::read_to_string(&file)
                .map_err(|e| Error::io("reading the registry password file", &file, e))?;
            Some((
                user.to_owned(),
                password.trim_end_matches(['\n', '\r']).to_owned(),
            ))
        };
        Ok(Some(Fleet {
            etcd: Etcd::new(url, tls, auth)?,
            host: host_name(settings)?,
        }))
    }

    /// The registry, or an error saying how to name one.
    pub fn require(settings: &Settings) -> Result<Fleet, Error> {
        Fleet::from_settings(settings)?.ok_or_else(|| Error::NotAvailable {
            message: "no fleet registry is set: this host is alone".into(),
            hint: Some("name one: vmctl config registry etcd://HOST:2379[,HOST:2379...]".into()),
        })
    }

    fn fail(&self, e: etcd::EtcdError) -> Error {
        e.into_error(self.etcd.url())
    }
}

/// What one host has, as it publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub vms: Vec<VmRecord>,
}

/// This host's VMs as records: every stored VM, with what a running one runs with (its MAC,
/// forwards, and address: the lease hook's, its static IP, or for a bridged VM the neighbour
/// table's).
pub fn snapshot(store: &Store, settings: &Settings, host: &str) -> Result<Snapshot, Error> {
    let (profiles, _unreadable) = store.load_all_lenient()?;
    let runs = store.load_runs()?.started;
    let mut neighbours = None;
    let mut vms = Vec::with_capacity(profiles.len());
    for profile in &profiles {
        let run = runs.iter().find(|r| r.name == profile.name);
        let nic = &profile.network;
        let (mac, forwards, ip) = match run {
            Some(run) => {
                let ip = run.ip.or(run.static_ip).or_else(|| {
                    (nic.mode == crate::model::Mode::Bridge)
                        .then(|| {
                            neighbours
                                .get_or_insert_with(|| {
                                    crate::discovery::neighbours(crate::sys::HOST_OS)
                                })
                                .iter()
                                .find(|n| n.mac == run.mac)
                                .map(|n| n.ip)
                        })
                        .flatten()
                });
                (run.mac, run.port_forwards.clone(), ip)
            }
            None => (
                effective_mac(profile, settings),
                nic.port_forwarding_rules.clone(),
                nic.ip,
            ),
        };
        vms.push(VmRecord {
            host: host.to_owned(),
            name: profile.name.clone(),
            uuid: profile.uuid.clone(),
            mode: nic.mode.name().to_owned(),
            network: nic.network_name().map(str::to_owned),
            mac: Mac(mac).to_string(),
            ip,
            forwards,
            status: if run.is_some() { "running" } else { "stopped" }.to_owned(),
        });
    }
    Ok(Snapshot { vms })
}

/// Every key this host keeps alive under its lease, with its value.
pub fn desired(host: &HostRecord, snapshot: &Snapshot) -> BTreeMap<String, Vec<u8>> {
    let mut keys = BTreeMap::new();
    keys.insert(
        registry::host_info_key(&host.host),
        serde_json::to_vec(host).unwrap_or_default(),
    );
    keys.insert(
        registry::vms_key(&host.host),
        serde_json::to_vec(&snapshot.vms).unwrap_or_default(),
    );
    for vm in &snapshot.vms {
        keys.insert(registry::name_key(&vm.name, &host.host), Vec::new());
    }
    keys
}

/// The operations that bring `published` (what etcd has under this host's keys) to `desired`,
/// all bound to `lease`: a put for each key missing, different, or on another lease, a delete
/// for each key no longer wanted. Pure; batched by `apply`.
pub fn sync_ops(
    desired: &BTreeMap<String, Vec<u8>>,
    published: &BTreeMap<String, (Vec<u8>, i64)>,
    lease: i64,
) -> Vec<Value> {
    let mut ops = Vec::new();
    for (key, value) in desired {
        match published.get(key) {
            Some((old, old_lease)) if old == value && *old_lease == lease => {}
            _ => ops.push(etcd::put_op(key, value, lease)),
        }
    }
    for key in published.keys() {
        if !desired.contains_key(key) {
            ops.push(etcd::delete_op(key));
        }
    }
    ops
}

/// Run `ops` in transactions of at most `TXN_OPS`.
pub fn apply(fleet: &Fleet, ops: Vec<Value>) -> Result<(), Error> {
    let mut ops = ops;
    while !ops.is_empty() {
        let rest = ops.split_off(ops.len().min(TXN_OPS));
        fleet.etcd.txn(&[], &ops, &[]).map_err(|e| fleet.fail(e))?;
        ops = rest;
    }
    Ok(())
}

/// What etcd has now under this host's keys (its records and its name index entries): key →
/// (value, lease).
pub fn published(
    fleet: &Fleet,
    names: impl IntoIterator<Item = String>,
) -> Result<BTreeMap<String, (Vec<u8>, i64)>, Error> {
    let (kvs, _) = fleet
        .etcd
        .range_prefix(&registry::host_prefix(&fleet.host))
        .map_err(|e| fleet.fail(e))?;
    let mut out: BTreeMap<String, (Vec<u8>, i64)> = kvs
        .into_iter()
        .filter(|kv| !kv.key.ends_with("/seen"))
        .map(|kv| (kv.key, (kv.value, kv.lease)))
        .collect();
    // The name index entries of the VMs this host has, and had.
    let keys: Vec<String> = names
        .into_iter()
        .map(|vm| registry::name_key(&vm, &fleet.host))
        .collect();
    for chunk in keys.chunks(TXN_OPS) {
        let (_, responses) = fleet
            .etcd
            .txn(
                &[],
                &chunk.iter().map(|k| etcd::get_op(k)).collect::<Vec<_>>(),
                &[],
            )
            .map_err(|e| fleet.fail(e))?;
        for response in &responses {
            for kv in etcd::kvs_of_response(response) {
                out.insert(kv.key, (kv.value, kv.lease));
            }
        }
    }
    Ok(out)
}

/// The fleet-wide key of a VM's static IP: one on a named bridge network (a LAN several hosts
/// share), where two hosts' VMs must not be set to one address. Addresses on a vmctl network
/// are that host's own (NAT behind it), so they need none.
pub fn ip_key_of(vm: &VmProfile) -> Option<String> {
    match (
        vm.network.mode,
        vm.network.network.as_deref(),
        vm.network.ip,
    ) {
        (crate::model::Mode::Bridge, Some(network), Some(ip)) => {
            Some(registry::ip_key(network, ip))
        }
        _ => None,
    }
}

fn ours(fleet: &Fleet, vm: &VmProfile) -> Reservation {
    Reservation {
        host: fleet.host.clone(),
        vm: vm.name.clone(),
        uuid: vm.uuid.clone(),
    }
}

/// Take `key` for `ours` in one transaction: it succeeds when no VM holds it (or this very VM
/// does); otherwise the holder, named in the error (`what` says what is held).
fn reserve(fleet: &Fleet, ours: &Reservation, key: &str, what: &str) -> Result<(), Error> {
    let value = serde_json::to_vec(ours).unwrap_or_default();
    let (ok, responses) = fleet
        .etcd
        .txn(
            &[etcd::absent(key)],
            &[etcd::put_op(key, &value, 0)],
            &[etcd::get_op(key)],
        )
        .map_err(|e| fleet.fail(e))?;
    if ok {
        return Ok(());
    }
    let holder = responses
        .first()
        .and_then(|r| etcd::kvs_of_response(r).into_iter().next())
        .and_then(|kv| serde_json::from_slice::<Reservation>(&kv.value).ok());
    match holder {
        Some(holder) if holder == *ours => Ok(()),
        // Held by another VM (or one of the same name with another uuid: a VM deleted and made
        // again elsewhere waits for the old one's release).
        Some(holder) => Err(Error::conflict(format!(
            "{what} is reserved in the fleet for VM '{}' on host '{}'",
            holder.vm, holder.host
        ))
        .with_hint("pick another; `vmctl fleet list` shows who has which")),
        None => Err(Error::conflict(format!(
            "{what} changed hands in the fleet while it was being reserved"
        ))
        .with_hint("run the command again")),
    }
}

/// Let `key` go if the fleet has it for `vm`.
fn release(fleet: &Fleet, vm: &VmProfile, key: &str) -> Result<(), Error> {
    let value = serde_json::to_vec(&ours(fleet, vm)).unwrap_or_default();
    fleet
        .etcd
        .txn(&[etcd::holds(key, &value)], &[etcd::delete_op(key)], &[])
        .map(|_| ())
        .map_err(|e| fleet.fail(e))
}

/// Reserve `mac` for `vm` fleet-wide, in one transaction: it succeeds when no VM holds the MAC
/// (or this very VM does), and fails naming the holder otherwise. Then `release_old` (the MAC
/// the VM had) is let go, if the fleet has it for this VM.
pub fn reserve_mac(
    fleet: &Fleet,
    vm: &VmProfile,
    mac: macaddr::MacAddr6,
    release_old: Option<macaddr::MacAddr6>,
) -> Result<(), Error> {
    reserve(
        fleet,
        &ours(fleet, vm),
        &registry::mac_key(&Mac(mac).to_string()),
        &format!("MAC {}", Mac(mac)),
    )?;
    if let Some(old) = release_old.filter(|old| *old != mac) {
        release_mac(fleet, vm, old)?;
    }
    Ok(())
}

/// Reserve `vm`'s static IP on its bridge network (if it has one), releasing `before`'s (the
/// VM as it was) when that differs.
pub fn reserve_ip(fleet: &Fleet, vm: &VmProfile, before: Option<&VmProfile>) -> Result<(), Error> {
    let key = ip_key_of(vm);
    if let Some(key) = &key {
        let what = format!(
            "address {} on network '{}'",
            vm.network.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            vm.network.network.as_deref().unwrap_or_default()
        );
        reserve(fleet, &ours(fleet, vm), key, &what)?;
    }
    if let Some(old) = before
        .and_then(ip_key_of)
        .filter(|old| Some(old) != key.as_ref())
    {
        release(fleet, before.unwrap_or(vm), &old)?;
    }
    Ok(())
}

/// Release this VM's reservation of its static IP, if it has one.
pub fn release_ip(fleet: &Fleet, vm: &VmProfile) -> Result<(), Error> {
    match ip_key_of(vm) {
        Some(key) => release(fleet, vm, &key),
        None => Ok(()),
    }
}

/// Make sure each VM of this host holds its MAC in the fleet (a VM made before the registry
/// was set, or whose auto MAC moved with `mac_prefix`): a MAC no one holds is taken; one held
/// by another VM is a conflict, returned as a line to say. Each is one transaction.
pub fn ensure_reservations(fleet: &Fleet, snap: &Snapshot) -> Result<Vec<String>, Error> {
    let mut conflicts = Vec::new();
    for vm in &snap.vms {
        let ours = Reservation {
            host: fleet.host.clone(),
            vm: vm.name.clone(),
            uuid: vm.uuid.clone(),
        };
        let what = format!("MAC {} of VM '{}'", vm.mac, vm.name);
        match reserve(fleet, &ours, &registry::mac_key(&vm.mac), &what) {
            Ok(()) => {}
            Err(Error::Conflict { message, .. }) => conflicts.push(format!(
                "{message}: the two must not run at once on one LAN; give one another MAC"
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(conflicts)
}

/// Release this VM's reservation of `mac` (only if it is this VM's).
pub fn release_mac(fleet: &Fleet, vm: &VmProfile, mac: macaddr::MacAddr6) -> Result<(), Error> {
    release(fleet, vm, &registry::mac_key(&Mac(mac).to_string()))
}

/// A host as `fleet hosts` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostView {
    pub host: String,
    pub address: Option<Ipv4Addr>,
    pub vms: usize,
    pub alive: bool,
    /// Unix seconds the agent last said it was alive.
    pub seen: Option<u64>,
    pub agent_started: Option<u64>,
}

/// The fleet's records at one revision: hosts alive, hosts last seen, VMs.
pub struct FleetView {
    pub hosts: Vec<HostView>,
    pub vms: Vec<VmRecord>,
    pub revision: i64,
}

/// Read every host's records.
pub fn read_fleet(fleet: &Fleet) -> Result<FleetView, Error> {
    let (kvs, revision) = fleet
        .etcd
        .range_prefix(&registry::hosts_prefix())
        .map_err(|e| fleet.fail(e))?;
    Ok(view_of(&kvs, revision))
}

/// The records of a range over `hosts/`, read. Pure.
pub fn view_of(kvs: &[Kv], revision: i64) -> FleetView {
    fn host_view<'a>(hosts: &'a mut BTreeMap<String, HostView>, host: &str) -> &'a mut HostView {
        hosts.entry(host.to_owned()).or_insert_with(|| HostView {
            host: host.to_owned(),
            address: None,
            vms: 0,
            alive: false,
            seen: None,
            agent_started: None,
        })
    }
    let mut hosts: BTreeMap<String, HostView> = BTreeMap::new();
    let mut vms = Vec::new();
    for kv in kvs {
        match parse_host_key(&kv.key) {
            Some(HostKey::Info { host }) => {
                let view = host_view(&mut hosts, host);
                if let Ok(record) = serde_json::from_slice::<HostRecord>(&kv.value) {
                    view.address = record.address;
                    view.vms = record.vms;
                    view.agent_started = Some(record.agent_started);
                }
                view.alive = true;
            }
            Some(HostKey::Seen { host }) => {
                host_view(&mut hosts, host).seen =
                    String::from_utf8_lossy(&kv.value).trim().parse().ok();
            }
            Some(HostKey::Vms { .. }) => {
                if let Ok(records) = serde_json::from_slice::<Vec<VmRecord>>(&kv.value) {
                    vms.extend(records);
                }
            }
            None => {}
        }
    }
    FleetView {
        hosts: hosts.into_values().collect(),
        vms,
        revision,
    }
}

/// The VM named `name` wherever it is (one record per host that has it), with each host's
/// record: found through the name index, confirmed by the host's own records.
pub fn find_vm(fleet: &Fleet, name: &str) -> Result<Vec<(VmRecord, Option<HostRecord>)>, Error> {
    let (index, _) = fleet
        .etcd
        .range_prefix(&registry::name_prefix(name))
        .map_err(|e| fleet.fail(e))?;
    let hosts: Vec<String> = index
        .iter()
        .filter_map(|kv| kv.key.rsplit('/').next().map(str::to_owned))
        .collect();
    let mut found = Vec::new();
    for chunk in hosts.chunks(TXN_OPS / 2) {
        let ops: Vec<Value> = chunk
            .iter()
            .flat_map(|h| {
                [
                    etcd::get_op(&registry::vms_key(h)),
                    etcd::get_op(&registry::host_info_key(h)),
                ]
            })
            .collect();
        let (_, responses) = fleet.etcd.txn(&[], &ops, &[]).map_err(|e| fleet.fail(e))?;
        for pair in responses.chunks(2) {
            let vm = etcd::kvs_of_response(&pair[0])
                .into_iter()
                .next()
                .and_then(|kv| serde_json::from_slice::<Vec<VmRecord>>(&kv.value).ok())
                .and_then(|vms| vms.into_iter().find(|vm| vm.name == name));
            let host = pair.get(1).and_then(|r| {
                etcd::kvs_of_response(r)
                    .into_iter()
                    .next()
                    .and_then(|kv| serde_json::from_slice::<HostRecord>(&kv.value).ok())
            });
            // An index entry the host's own record does not confirm is passed over.
            if let Some(vm) = vm {
                found.push((vm, host));
            }
        }
    }
    Ok(found)
}

/// The VM named `name`, on `host` when given; an error when it is nowhere, or on several
/// hosts and none was given.
pub fn locate(
    fleet: &Fleet,
    name: &str,
    host: Option<&str>,
) -> Result<(VmRecord, Option<HostRecord>), Error> {
    let mut found = find_vm(fleet, name)?;
    if let Some(host) = host {
        found.retain(|(vm, _)| vm.host == host);
    }
    match found.len() {
        0 => Err(Error::VmNotFound {
            name: name.to_owned(),
            suggestion: None,
        }),
        1 => Ok(found.remove(0)),
        _ => Err(Error::conflict(format!(
            "VM '{name}' is on several hosts: {}",
            found
                .iter()
                .map(|(vm, _)| vm.host.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_hint("say which: --host HOST")),
    }
}

/// How to reach a VM from elsewhere: its own address when bridged, else its host's address and
/// each forward's host port.
pub fn reach(vm: &VmRecord, host: Option<&HostRecord>) -> Vec<String> {
    if vm.mode == "bridge" {
        return vm.ip.iter().map(ToString::to_string).collect();
    }
    let address = host.and_then(|h| h.address);
    vm.forwards
        .iter()
        .map(|pf| {
            let at = if pf.host_ip.is_unspecified() {
                address.map_or_else(|| "HOST".to_owned(), |a| a.to_string())
            } else {
                pf.host_ip.to_string()
            };
            format!(
                "{at}:{} ({} {} -> guest {})",
                pf.host_port,
                pf.name,
                pf.protocol.name(),
                pf.guest_port
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> VmRecord {
        VmRecord {
            host: "h1".into(),
            name: name.into(),
            uuid: format!("uuid-{name}"),
            mode: "shared".into(),
            network: Some("shared".into()),
            mac: "52:54:00:00:00:01".into(),
            ip: None,
            forwards: Vec::new(),
            status: "stopped".into(),
        }
    }

    fn host() -> HostRecord {
        HostRecord {
            host: "h1".into(),
            address: Some(Ipv4Addr::new(10, 0, 0, 1)),
            vms: 2,
            agent_started: 1,
            version: "0".into(),
            os: "linux".into(),
        }
    }

    #[test]
    fn sync_puts_what_differs_and_deletes_what_went() {
        let snapshot = Snapshot {
            vms: vec![record("a"), record("b")],
        };
        let want = desired(&host(), &snapshot);
        assert_eq!(want.len(), 4, "info, the VMs, two name entries: {want:?}");
        // Nothing published: everything is put.
        assert_eq!(sync_ops(&want, &BTreeMap::new(), 7).len(), 4);
        // All there on this lease: nothing to do.
        let same: BTreeMap<_, _> = want
            .iter()
            .map(|(k, v)| (k.clone(), (v.clone(), 7)))
            .collect();
        assert!(sync_ops(&want, &same, 7).is_empty());
        // On an old lease: put again (bound to the new one).
        assert_eq!(sync_ops(&want, &same, 8).len(), 4);
        // The VMs changed, and a name entry published that is no longer wanted.
        let mut changed = same.clone();
        changed.insert(registry::vms_key("h1"), (b"old".to_vec(), 7));
        changed.insert(registry::name_key("gone", "h1"), (Vec::new(), 7));
        let ops = sync_ops(&want, &changed, 7);
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(ops[0].get("request_put").is_some());
        assert!(ops[1].get("request_delete_range").is_some());
    }

    #[test]
    fn a_view_of_the_records() {
        let kv = |key: String, value: Vec<u8>| Kv {
            key,
            value,
            mod_revision: 1,
            create_revision: 1,
            lease: 0,
        };
        let kvs = vec![
            kv(
                registry::host_info_key("h1"),
                serde_json::to_vec(&host()).unwrap(),
            ),
            kv(registry::host_seen_key("h1"), b"100".to_vec()),
            kv(registry::host_seen_key("h2"), b"50".to_vec()),
            kv(
                registry::vms_key("h1"),
                serde_json::to_vec(&[record("a")]).unwrap(),
            ),
            kv(registry::vms_key("h2"), b"not json".to_vec()),
        ];
        let view = view_of(&kvs, 9);
        assert_eq!(view.revision, 9);
        assert_eq!(view.vms.len(), 1);
        assert_eq!(view.hosts.len(), 2);
        assert!(view.hosts[0].alive && view.hosts[0].seen == Some(100));
        assert!(!view.hosts[1].alive && view.hosts[1].seen == Some(50));
    }

    #[test]
    fn reach_by_forward_or_by_address() {
        let mut vm = record("a");
        vm.forwards = vec![crate::model::port_forward::PortForward {
            name: "ssh".into(),
            protocol: crate::model::Protocol::Tcp,
            guest_port: 22,
            host_port: 10000,
            host_ip: Ipv4Addr::UNSPECIFIED,
            auto_host_port: true,
        }];
        assert_eq!(
            reach(&vm, Some(&host())),
            ["10.0.0.1:10000 (ssh tcp -> guest 22)"]
        );
        vm.mode = "bridge".into();
        vm.ip = Some(Ipv4Addr::new(192, 168, 1, 9));
        assert_eq!(reach(&vm, None), ["192.168.1.9"]);
    }
}
