//! Where VMs are on the network: DHCP lease files (bootpd, dnsmasq), neighbour tables, the
//! best current address of a VM, and the hosts-file block kept in step with it.

pub mod bootpd;
pub mod dnsmasq;
pub mod hosts;
pub mod lease;
pub mod neighbours;
pub mod routes;
pub mod wifi;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use macaddr::MacAddr6;

use crate::error::Error;
use lease::{Lease, LeaseIndex};
use neighbours::Neighbour;

/// Where a VM's address may be learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressSource {
    /// DHCP leases only.
    Lease,
    /// The neighbour (ARP) table only.
    Arp,
    /// Leases, then the neighbour table, preferring an address that answers on port 22.
    Any,
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Read a lease file of either format (bootpd's `{ ... }` blocks, or dnsmasq's lines).
/// A missing file holds no leases; a malformed one is an error naming file and line.
pub fn read_leases(path: &Path) -> Result<Vec<Lease>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("reading leases", path, e)),
    };
    let bootpd = text.trim_start().starts_with('{');
    let parsed = if bootpd {
        bootpd::parse(&text)
    } else {
        dnsmasq::parse(&text)
    };
    parsed.map_err(|e| Error::corrupt(path, e))
}

/// The lease files vmctl reads by default: bootpd's on macOS, each network's dnsmasq file on
/// Linux (`VMCTL_HOME/networks/<net>/leases`).
pub fn default_lease_files(home: &Path, bootpd_file: &Path) -> Vec<PathBuf> {
    if cfg!(target_os = "macos") {
        vec![bootpd_file.to_path_buf()]
    } else {
        // Every network vmctl has run (built-in and named): each has its folder.
        let mut files: Vec<PathBuf> = std::fs::read_dir(home.join("networks"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path().join("leases"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            files = crate::model::BUILTIN_NETWORKS
                .iter()
                .map(|n| home.join("networks").join(n).join("leases"))
                .collect();
        }
        files
    }
}

/// The host's neighbour table (`/proc/net/arp` on Linux, `arp -an` on macOS).
/// `VMCTL_NEIGHBOURS_FILE` reads a saved table instead (for tests and bug reports).
pub fn neighbours() -> Vec<Neighbour> {
    if let Some(path) = std::env::var_os("VMCTL_NEIGHBOURS_FILE") {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        return if text.starts_with("IP address") {
            neighbours::parse_proc_net_arp(&text)
        } else {
            neighbours::parse_arp_an(&text)
        };
    }
    if cfg!(target_os = "macos") {
        std::process::Command::new("arp")
            .arg("-an")
            .output()
            .map(|out| neighbours::parse_arp_an(&String::from_utf8_lossy(&out.stdout)))
            .unwrap_or_default()
    } else {
        std::fs::read_to_string("/proc/net/arp")
            .map(|text| neighbours::parse_proc_net_arp(&text))
            .unwrap_or_default()
    }
}

/// A VM's address and how it was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub ip: Ipv4Addr,
    /// `lease`, `arp` or `probe`.
    pub via: &'static str,
}

/// The best current IPv4 of the VM with `mac`: an unexpired lease, then the neighbour table;
/// with `Any`, among the candidates the first that `reachable` says answers wins.
pub fn best_address(
    mac: MacAddr6,
    leases: &LeaseIndex<'_>,
    neighbours: &[Neighbour],
    now: u64,
    source: AddressSource,
    reachable: impl Fn(Ipv4Addr) -> bool,
) -> Option<Found> {
    let mut candidates: Vec<Found> = Vec::new();
    if source != AddressSource::Arp
        && let Some(lease) = leases.get(mac).filter(|l| !l.is_expired(now))
    {
        candidates.push(Found {
            ip: lease.ip,
            via: "lease",
        });
    }
    if source != AddressSource::Lease {
        for n in neighbours.iter().filter(|n| n.mac == mac) {
            if !candidates.iter().any(|c| c.ip == n.ip) {
                candidates.push(Found {
                    ip: n.ip,
                    via: "arp",
                });
            }
        }
    }
    if source == AddressSource::Any
        && candidates.len() > 1
        && let Some(c) = candidates.iter().find(|c| reachable(c.ip))
    {
        {
            return Some(Found {
                ip: c.ip,
                via: "probe",
            });
        }
    }
    candidates.first().copied()
}

/// Does `ip` accept a TCP connection on port 22 within a short time?
pub fn ssh_answers(ip: Ipv4Addr) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((ip, 22)), Duration::from_millis(300)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddr6 {
        MacAddr6::new(0x52, 0x54, 0, 0, 0, last)
    }

    fn lease(ip: [u8; 4], m: u8, expiry: u64) -> Lease {
        Lease {
            ip: Ipv4Addr::from(ip),
            mac: Some(mac(m)),
            client_id: None,
            hostname: None,
            expiry: Some(expiry),
        }
    }

    #[test]
    fn lease_then_arp_then_probe() {
        let leases = vec![lease([10, 0, 0, 5], 1, 2000), lease([10, 0, 0, 6], 2, 500)];
        let index = LeaseIndex::new(&leases, 1000);
        let arp = vec![
            Neighbour {
                ip: Ipv4Addr::new(10, 0, 0, 9),
                mac: mac(1),
                iface: "br0".into(),
            },
            Neighbour {
                ip: Ipv4Addr::new(10, 0, 0, 7),
                mac: mac(2),
                iface: "br0".into(),
            },
        ];
        let never = |_| false;
        let found = best_address(mac(1), &index, &arp, 1000, AddressSource::Any, never).unwrap();
        assert_eq!((found.ip, found.via), (Ipv4Addr::new(10, 0, 0, 5), "lease"));
        // An expired lease does not count: the neighbour table answers.
        let found = best_address(mac(2), &index, &arp, 1000, AddressSource::Any, never).unwrap();
        assert_eq!((found.ip, found.via), (Ipv4Addr::new(10, 0, 0, 7), "arp"));
        assert!(best_address(mac(2), &index, &arp, 1000, AddressSource::Lease, never).is_none());
        let found = best_address(mac(1), &index, &arp, 1000, AddressSource::Arp, never).unwrap();
        assert_eq!(found.ip, Ipv4Addr::new(10, 0, 0, 9));
        // With `any`, an address that answers wins over the lease.
        let only_9 = |ip: Ipv4Addr| ip == Ipv4Addr::new(10, 0, 0, 9);
        let found = best_address(mac(1), &index, &arp, 1000, AddressSource::Any, only_9).unwrap();
        assert_eq!((found.ip, found.via), (Ipv4Addr::new(10, 0, 0, 9), "probe"));
        assert!(best_address(mac(9), &index, &arp, 1000, AddressSource::Any, never).is_none());
    }
}
