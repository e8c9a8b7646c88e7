//! Where VMs are on the network: DHCP lease files (bootpd, dnsmasq), neighbour tables, the
//! best current address of a VM, and the hosts-file block kept in step with it.

pub mod bootpd;
pub mod dnsmasq;
pub mod hosts;
pub mod lease;
pub mod neighbours;
pub mod routes;
pub mod wifi;

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use macaddr::MacAddr6;

use crate::error::Error;
use crate::settings::{Key, Settings, Source};
use crate::sys::Os;
use lease::{Lease, LeaseIndex, LeaseRef};
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

/// The most bytes of one lease file vmctl reads (a million bootpd leases are about 75 MB).
pub const MAX_LEASE_FILE_BYTES: u64 = 512 << 20;

/// A lease file to read, and whether it must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFile {
    pub path: PathBuf,
    /// `None`: a missing file holds no leases (a default that may not exist yet). `Some`: the
    /// user named it, so a missing file is an error with this hint.
    pub missing_hint: Option<String>,
}

impl LeaseFile {
    /// A default lease file: missing means no leases.
    pub fn optional(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            missing_hint: None,
        }
    }

    /// A lease file the user asked for: missing is an error, with `hint`.
    pub fn required(path: impl Into<PathBuf>, hint: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            missing_hint: Some(hint.into()),
        }
    }
}

/// Read a lease file of either format (bootpd's `{ ... }` blocks, or dnsmasq's lines).
/// A missing file holds no leases; a malformed one is an error naming file and line.
pub fn read_leases(path: &Path) -> Result<Vec<Lease>, Error> {
    let mut leases = Vec::new();
    scan_leases(&LeaseFile::optional(path), |lease| {
        leases.push(lease.to_lease());
    })?;
    Ok(leases)
}

/// Hand each lease of `file` (either format) to `visit` as it is read, a line at a time, so
/// the caller keeps only what it needs. Only regular files are read (a FIFO or a device could
/// block or never end), and at most `MAX_LEASE_FILE_BYTES`. A malformed file is an error naming
/// file and line.
pub fn scan_leases(file: &LeaseFile, mut visit: impl FnMut(LeaseRef<'_>)) -> Result<(), Error> {
    let path = &file.path;
    let Some(reader) = open_lease_file(file)? else {
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader.take(MAX_LEASE_FILE_BYTES + 1));
    let corrupt = |e: lease::ParseError| {
        Error::corrupt(path, e).with_hint(
            "vmctl reads bootpd's dhcpd_leases and dnsmasq's lease files, and never changes them: is this one of them?",
        )
    };
    let mut bootpd: Option<bootpd::StreamParser> = None;
    let mut format_known = false;
    let mut bytes = Vec::with_capacity(256);
    let (mut line_no, mut total) = (0, 0);
    loop {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| Error::io("reading leases", path, e))?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > MAX_LEASE_FILE_BYTES {
            return Err(too_big(path));
        }
        line_no += 1;
        // A client chooses its host name: a byte that is not UTF-8 must not hide every lease.
        let text = String::from_utf8_lossy(&bytes);
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !format_known && !line.trim().is_empty() {
            format_known = true;
            if line.trim_start().starts_with('{') {
                bootpd = Some(bootpd::StreamParser::default());
            }
        }
        match &mut bootpd {
            Some(parser) => parser.line(line_no, line, &mut visit).map_err(corrupt)?,
            None => {
                if let Some(lease) = dnsmasq::parse_line(line_no, line).map_err(corrupt)? {
                    visit(lease);
                }
            }
        }
    }
    if let Some(parser) = &bootpd {
        parser.end().map_err(corrupt)?;
    }
    Ok(())
}

fn too_big(path: &Path) -> Error {
    Error::invalid(
        "lease file",
        path.display().to_string(),
        format!(
            "larger than the {} MB vmctl reads",
            MAX_LEASE_FILE_BYTES >> 20
        ),
    )
    .with_hint("is it the right file? a DHCP server's lease file is far smaller")
}

/// The open lease file, or `None` when an optional one is missing. Opened without blocking (a
/// FIFO would wait for a writer) and refused unless it is a regular file.
fn open_lease_file(file: &LeaseFile) -> Result<Option<std::fs::File>, Error> {
    use crate::sys::fs::{Refused, open_regular};
    let path = &file.path;
    match open_regular(path, MAX_LEASE_FILE_BYTES) {
        Ok((opened, _)) => Ok(Some(opened)),
        Err(Refused::NotFound) => match &file.missing_hint {
            None => Ok(None),
            Some(hint) => {
                Err(
                    Error::invalid("lease file", path.display().to_string(), "no such file")
                        .with_hint(hint.clone()),
                )
            }
        },
        Err(Refused::NotRegular) => Err(Error::invalid(
            "lease file",
            path.display().to_string(),
            "not a regular file (a FIFO, device or folder could block or never end)",
        )
        .with_hint("give the path of a bootpd or dnsmasq lease file")),
        Err(Refused::TooBig) => Err(too_big(path)),
        Err(Refused::Io(e)) => Err(Error::io("reading leases", path, e)),
    }
}

/// The lease files vmctl reads by default: bootpd's on macOS, each network's dnsmasq file on
/// Linux (`VMCTL_HOME/networks/<net>/leases`). An explicitly set `dhcp_leases_file` (config file
/// or environment) is read on every platform, and must exist.
pub fn default_lease_files(home: &Path, settings: &Settings, os: Os) -> Vec<LeaseFile> {
    let (value, source) = settings.get(Key::DhcpLeasesFile);
    let explicit = match source {
        Source::Default => None,
        Source::File => Some(LeaseFile::required(
            value,
            "dhcp_leases_file is set in vmctl's config: `vmctl config dhcp_leases_file PATH` fixes it, `vmctl config --unset dhcp_leases_file` drops it",
        )),
        Source::Env(var) => Some(LeaseFile::required(
            value,
            format!("dhcp_leases_file comes from the environment: fix or unset {var}"),
        )),
    };
    if os == Os::Macos {
        vec![explicit.unwrap_or_else(|| LeaseFile::optional(value))]
    } else {
        // Every network vmctl has run (built-in and named): each has its folder.
        crate::store::network_dirs(&home.join("networks"))
            .into_iter()
            .map(|(_, dir)| LeaseFile::optional(dir.join("leases")))
            .chain(explicit)
            .collect()
    }
}

/// The host's neighbour table (`/proc/net/arp` on Linux, `arp -an` on macOS).
/// `VMCTL_NEIGHBOURS_FILE` reads a saved table instead (for tests and bug reports).
pub fn neighbours(os: Os) -> Vec<Neighbour> {
    if let Some(path) = std::env::var_os("VMCTL_NEIGHBOURS_FILE") {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        return if text.starts_with("IP address") {
            neighbours::parse_proc_net_arp(&text)
        } else {
            neighbours::parse_arp_an(&text)
        };
    }
    if os == Os::Macos {
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
    leases: &LeaseIndex,
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
