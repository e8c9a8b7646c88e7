//! The fleet registry as data: where it is (`etcd://HOST:PORT,...`), the key layout under
//! `/vmctl/v1/`, and the records hosts publish there. No I/O: `fleet` talks to etcd.
//!
//! The layout (version 1; a new layout gets a new prefix, so old and new agents can share one
//! etcd while a fleet upgrades):
//!
//! ```text
//! /vmctl/v1/hosts/<host>/info                 HostRecord, bound to the host's lease
//! /vmctl/v1/hosts/<host>/seen                 unix seconds the agent last said it was alive
//! /vmctl/v1/hosts/<host>/vms                  [VmRecord], every VM of the host in one value,
//!                                             bound to the host's lease
//! /vmctl/v1/reservations/macs/<mac>           Reservation: one MAC, one VM, fleet-wide
//! /vmctl/v1/reservations/ips/<network>/<ip>   Reservation of a bridged named network's static IP
//! /vmctl/v1/reservations/names/<vm>/<host>    where VM <vm> runs (a hint; the host's own
//!                                             record confirms it), bound to the host's lease
//! ```
//!
//! A host writes only under its own `hosts/<host>/` and under `reservations/`; etcd's roles
//! enforce it. A host's VMs are one value, not one key each: etcd's JSON gateway spends most of
//! a large read on each key it returns (50,000 keys took 0.85 s to serve, the same records as
//! 1,000 values 0.19 s), and a host's VMs change together anyway (one transaction per change). Cross-host networks (VXLAN subnets leased per host) would go under
//! `/vmctl/v1/networks/<name>/...` beside these, without moving any of them.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::port_forward::PortForward;

/// The root of every key of layout version 1.
pub const PREFIX: &str = "/vmctl/v1/";

/// `etcd://HOST:PORT[,HOST:PORT...]`: the members vmctl may ask, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUrl {
    pub endpoints: Vec<(String, u16)>,
}

impl RegistryUrl {
    /// Parse `etcd://...`; an empty value is no registry (`None`).
    pub fn parse(text: &str) -> Result<Option<RegistryUrl>, Error> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let hint = "write etcd://HOST:PORT[,HOST:PORT...], e.g. etcd://10.0.0.5:2379,10.0.0.6:2379";
        let Some(list) = text.strip_prefix("etcd://") else {
            return Err(
                Error::invalid("registry", text, "it must start with etcd://").with_hint(hint),
            );
        };
        let mut endpoints = Vec::new();
        for member in list.split(',') {
            let member = member.trim().trim_end_matches('/');
            let (host, port) = member.rsplit_once(':').ok_or_else(|| {
                Error::invalid("registry member", member, "it needs HOST:PORT").with_hint(hint)
            })?;
            let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::invalid("registry member", member, "the port must be 1-65535")
                    .with_hint(hint)
            })?;
            let ok_host = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !ok_host {
                return Err(Error::invalid(
                    "registry member",
                    member,
                    "the host must be a name or an IPv4 address",
                )
                .with_hint(hint));
            }
            endpoints.push((host.to_owned(), port));
        }
        Ok(Some(RegistryUrl { endpoints }))
    }
}

/// A host's name in the fleet: what its keys are named after.
pub fn validate_host_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "host name",
            name,
            "use 1-63 letters, digits, '-', '_' or '.'",
        )
        .with_hint("set one: vmctl config host_name NAME"))
    }
}

/// Every host's records: `/vmctl/v1/hosts/`.
pub fn hosts_prefix() -> String {
    format!("{PREFIX}hosts/")
}

/// Everything of one host: `/vmctl/v1/hosts/<host>/`.
pub fn host_prefix(host: &str) -> String {
    format!("{PREFIX}hosts/{host}/")
}

pub fn host_info_key(host: &str) -> String {
    format!("{}info", host_prefix(host))
}

pub fn host_seen_key(host: &str) -> String {
    format!("{}seen", host_prefix(host))
}

/// One host's VMs, all in one value: `/vmctl/v1/hosts/<host>/vms`.
pub fn vms_key(host: &str) -> String {
    format!("{}vms", host_prefix(host))
}

pub fn mac_key(mac: &str) -> String {
    format!("{PREFIX}reservations/macs/{}", mac.to_ascii_lowercase())
}

pub fn ip_key(network: &str, ip: Ipv4Addr) -> String {
    format!("{PREFIX}reservations/ips/{network}/{ip}")
}

/// Where VM `vm` runs: `/vmctl/v1/reservations/names/<vm>/` (one key per host).
pub fn name_prefix(vm: &str) -> String {
    format!("{PREFIX}reservations/names/{vm}/")
}

pub fn name_key(vm: &str, host: &str) -> String {
    format!("{}{host}", name_prefix(vm))
}

/// What a key under `hosts/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKey<'a> {
    Info { host: &'a str },
    Seen { host: &'a str },
    Vms { host: &'a str },
}

/// Read a key under `/vmctl/v1/hosts/`; `None` for anything else.
pub fn parse_host_key(key: &str) -> Option<HostKey<'_>> {
    let rest = key.strip_prefix(PREFIX)?.strip_prefix("hosts/")?;
    let (host, what) = rest.split_once('/')?;
    match what {
        "info" => Some(HostKey::Info { host }),
        "seen" => Some(HostKey::Seen { host }),
        "vms" => Some(HostKey::Vms { host }),
        _ => None,
    }
}

/// What a host says about itself while its agent lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    pub host: String,
    /// The address this host reaches the registry from: where its port forwards answer.
    pub address: Option<Ipv4Addr>,
    pub vms: usize,
    /// When the agent started (unix seconds).
    pub agent_started: u64,
    pub version: String,
    pub os: String,
}

/// One VM as its host publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRecord {
    pub host: String,
    pub name: String,
    pub uuid: String,
    pub mode: String,
    pub network: Option<String>,
    pub mac: String,
    pub ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub forwards: Vec<PortForward>,
    /// `running` or `stopped`.
    pub status: String,
}

/// A fleet-wide reservation: who holds a MAC or an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub host: String,
    pub vm: String,
    pub uuid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls() {
        assert_eq!(RegistryUrl::parse("").unwrap(), None);
        let url = RegistryUrl::parse("etcd://10.0.0.5:2379, etcd-2.lan:2380/")
            .unwrap()
            .unwrap();
        assert_eq!(
            url.endpoints,
            [
                ("10.0.0.5".to_owned(), 2379),
                ("etcd-2.lan".to_owned(), 2380)
            ]
        );
        for bad in [
            "http://x:1",
            "etcd://x",
            "etcd://x:0",
            "etcd://:2379",
            "etcd://a b:1",
            "etcd://x:99999",
        ] {
            assert!(RegistryUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_layout() {
        assert_eq!(host_info_key("h1"), "/vmctl/v1/hosts/h1/info");
        assert_eq!(vms_key("h1"), "/vmctl/v1/hosts/h1/vms");
        assert_eq!(
            mac_key("52:54:00:AA:bb:cc"),
            "/vmctl/v1/reservations/macs/52:54:00:aa:bb:cc"
        );
        assert_eq!(
            ip_key("lan", Ipv4Addr::new(10, 0, 0, 5)),
            "/vmctl/v1/reservations/ips/lan/10.0.0.5"
        );
        assert_eq!(name_key("web", "h2"), "/vmctl/v1/reservations/names/web/h2");
        assert_eq!(
            parse_host_key("/vmctl/v1/hosts/h1/vms"),
            Some(HostKey::Vms { host: "h1" })
        );
        assert_eq!(
            parse_host_key("/vmctl/v1/hosts/h1/info"),
            Some(HostKey::Info { host: "h1" })
        );
        assert_eq!(parse_host_key("/vmctl/v1/hosts/h1/vms/web"), None);
        assert_eq!(parse_host_key("/vmctl/v1/reservations/macs/x"), None);
        // One host's prefix never covers another's whose name starts the same.
        assert!(!vms_key("h10").starts_with(&host_prefix("h1")));
        assert!(validate_host_name("build-01.lan").is_ok());
        assert!(validate_host_name("a/b").is_err());
        assert!(validate_host_name("").is_err());
    }
}
