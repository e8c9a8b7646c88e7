//! Named networks (`vmctl network create ...`): a network besides the built-in `shared` and
//! `host`, kept as `VMCTL_HOME/networks/<name>.plist`. A shared or host network has its own
//! addresses (gateway = vmnet's start address, last DHCP address, mask) and, on Linux, its own
//! bridge and dnsmasq; a bridge network names a host interface. Profiles refer to it by name
//! (`modify VM network --network NAME`).

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use super::Mode;
use super::network::AddressPlan;
use super::profile::validate_interface_name;
use crate::error::Error;

/// The version of the network file format this vmctl writes.
pub const NETWORK_SCHEMA_VERSION: u32 = 1;

/// One named network as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkDef {
    pub schema_version: u32,
    pub name: String,
    /// `shared`, `host` or `bridge` (never `disconnected`).
    pub mode: Mode,
    /// Shared and host: the host's (gateway) address, first of the subnet's usable ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_address: Option<Ipv4Addr>,
    /// Shared and host: the last DHCP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_address: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<Ipv4Addr>,
    /// Bridge: the host interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
}

impl NetworkDef {
    /// The addresses of a shared or host network (`None` for a bridge network, or when a value
    /// is missing or inconsistent: `validate` says which).
    pub fn address_plan(&self) -> Option<AddressPlan> {
        AddressPlan::new(self.start_address?, self.end_address?, self.subnet_mask?).ok()
    }

    /// A shared or host network covering all of `subnet`: the gateway is its first host
    /// address, the DHCP pool runs to the last one before the broadcast address. `created` is
    /// left at 0 for the caller to stamp; `validate` says whether the subnet is usable.
    pub fn from_subnet(name: &str, mode: Mode, subnet: Ipv4Network) -> NetworkDef {
        let network = u32::from(subnet.network());
        let broadcast = u32::from(subnet.broadcast());
        NetworkDef {
            schema_version: NETWORK_SCHEMA_VERSION,
            name: name.to_owned(),
            mode,
            start_address: Some(Ipv4Addr::from(network.saturating_add(1))),
            end_address: Some(Ipv4Addr::from(broadcast.saturating_sub(1))),
            subnet_mask: Some(subnet.mask()),
            interface: None,
            description: None,
            created: 0,
        }
    }

    /// Check the whole definition: its name, and the values its mode needs (addresses for
    /// shared and host, an interface for bridge) and refuses (the other ones).
    pub fn validate(&self) -> Result<(), Error> {
        validate_network_name(&self.name)?;
        let name = self.name.as_str();
        if let Some(text) = &self.description
            && (text.chars().count() > 200 || text.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "description",
                text.as_str(),
                "a description is one line of at most 200 characters, without control characters",
            )
            .with_hint("shorten it to a line"));
        }
        let mode = self.mode;
        match mode {
            Mode::Shared | Mode::Host => {
                if let Some(interface) = &self.interface {
                    return Err(Error::invalid(
                        "network",
                        name,
                        format!(
                            "a {mode} network has no host interface, but '{}' is set",
                            crate::error::printable(interface)
                        ),
                    )
                    .with_hint("only a bridge network has a host interface: make it a bridge network, or drop the interface"));
                }
                let fields = [
                    ("start_address", self.start_address),
                    ("end_address", self.end_address),
                    ("subnet_mask", self.subnet_mask),
                ];
                let missing: Vec<&str> = fields
                    .iter()
                    .filter(|(_, value)| value.is_none())
                    .map(|(key, _)| *key)
                    .collect();
                let [(_, Some(start)), (_, Some(end)), (_, Some(mask))] = fields else {
                    return Err(Error::invalid(
                        "network",
                        name,
                        format!("a {mode} network needs {}", missing.join(", ")),
                    )
                    .with_hint("give it a subnet (--subnet 192.168.70.0/24, or --subnet auto)"));
                };
                AddressPlan::new(start, end, mask).map(drop).map_err(|reason| {
                    Error::invalid("network", name, reason).with_hint(
                        "give a gateway and last DHCP address inside one subnet, e.g. 192.168.70.1 - 192.168.70.254 / 255.255.255.0",
                    )
                })
            }
            Mode::Bridge => {
                let addresses = [self.start_address, self.end_address, self.subnet_mask];
                if addresses.iter().any(Option::is_some) {
                    return Err(Error::invalid(
                        "network",
                        name,
                        "a bridge network has no addresses of its own: the LAN's DHCP server hands them out",
                    )
                    .with_hint("drop the addresses, or make it a shared or host network, which vmctl addresses"));
                }
                let Some(interface) = &self.interface else {
                    return Err(Error::invalid(
                        "network",
                        name,
                        "a bridge network needs a host interface",
                    )
                    .with_hint(
                        "name the host interface to bridge to (`ip link` or `ifconfig -l` lists them)",
                    ));
                };
                validate_interface_name(interface)
            }
            Mode::Disconnected => Err(Error::invalid(
                "network",
                name,
                "a disconnected NIC joins no network, so no network can have that mode",
            )
            .with_hint("use mode shared, host or bridge")),
        }
    }
}

/// The refusal of a VM on a network that neither is built in nor has a file.
pub fn no_such_network(network: &str, vm: &str) -> Error {
    Error::invalid(
        "network",
        network,
        format!("VM '{vm}' joins a network that does not exist"),
    )
    .with_hint(format!(
        "create it (vmctl network create {network} ...), or move the VM: vmctl modify {vm} network -t shared"
    ))
}

/// The names of the networks vmctl has built in (and of the modes): no named network may take
/// one, in any letter case (a case-insensitive file system would mix their files up).
pub const RESERVED_NETWORK_NAMES: [&str; 4] = ["shared", "host", "bridge", "disconnected"];

/// The longest network name.
pub const NETWORK_NAME_MAX: usize = 32;

/// A network name: also a file name and part of link, chain and anchor names, so it is kept to
/// ASCII letters, digits, `-` and `_`, starting with a letter, and is none of the built-in names.
pub fn validate_network_name(name: &str) -> Result<(), Error> {
    let hint = format!(
        "use 1-{NETWORK_NAME_MAX} characters: letters, digits, '-' or '_', starting with a letter"
    );
    let reason = if name.is_empty() || name.len() > NETWORK_NAME_MAX {
        format!("it must be 1-{NETWORK_NAME_MAX} characters long")
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        "it must start with an ASCII letter".to_owned()
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        format!("{c:?} is not allowed")
    } else if RESERVED_NETWORK_NAMES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(Error::invalid(
            "network name",
            name,
            "it is the name of a built-in network or mode",
        )
        .with_hint(format!(
            "pick another name (the built-in ones are {})",
            RESERVED_NETWORK_NAMES.join(", ")
        )));
    } else {
        return Ok(());
    };
    Err(Error::invalid("network name", name, reason).with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Network {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn message(error: &Error) -> String {
        format!("{error} / hint: {}", error.hint().unwrap_or_default())
    }

    #[test]
    fn network_names() {
        for good in ["ci", "lima-shared", "a", "net_2", &"n".repeat(32)] {
            validate_network_name(good).unwrap();
        }
        for (bad, why) in [
            ("", "1-32 characters"),
            (&"n".repeat(33), "1-32 characters"),
            ("2net", "start with an ASCII letter"),
            ("-x", "start with an ASCII letter"),
            ("a.b", "'.' is not allowed"),
            ("a/b", "'/' is not allowed"),
            ("shared", "built-in"),
            ("Host", "built-in"),
            ("bridge", "built-in"),
            ("disconnected", "built-in"),
        ] {
            let error = validate_network_name(bad).unwrap_err();
            assert!(message(&error).contains(why), "{bad}: {}", message(&error));
            assert!(error.hint().is_some(), "{bad}");
        }
    }

    #[test]
    fn from_subnet_fills_gateway_pool_and_mask() {
        let def = NetworkDef::from_subnet("ci", Mode::Shared, net("192.168.70.0/24"));
        assert_eq!(def.start_address, Some(ip("192.168.70.1")));
        assert_eq!(def.end_address, Some(ip("192.168.70.254")));
        assert_eq!(def.subnet_mask, Some(ip("255.255.255.0")));
        def.validate().unwrap();
        assert_eq!(def.address_plan().unwrap().subnet(), net("192.168.70.0/24"));
        // The address given need not be the network's own: the subnet is what counts.
        let def = NetworkDef::from_subnet("tiny", Mode::Host, net("10.1.2.19/28"));
        assert_eq!(
            (def.start_address, def.end_address, def.subnet_mask),
            (
                Some(ip("10.1.2.17")),
                Some(ip("10.1.2.30")),
                Some(ip("255.255.255.240"))
            )
        );
        def.validate().unwrap();
        // Too small to hold a VM: validate says so.
        let def = NetworkDef::from_subnet("p2p", Mode::Shared, net("10.1.2.0/31"));
        assert!(message(&def.validate().unwrap_err()).contains("no room"));
    }

    #[test]
    fn shared_and_host_need_a_valid_address_plan() {
        let mut def = NetworkDef::from_subnet("ci", Mode::Host, net("192.168.70.0/24"));
        def.end_address = Some(ip("192.168.71.9"));
        let error = def.validate().unwrap_err();
        assert!(
            message(&error).starts_with(
                "invalid network 'ci': end address 192.168.71.9 is outside 192.168.70.0/24"
            ),
            "{}",
            message(&error)
        );
        def.end_address = None;
        def.subnet_mask = None;
        let error = def.validate().unwrap_err();
        assert!(
            message(&error).contains("a host network needs end_address, subnet_mask"),
            "{}",
            message(&error)
        );

        let mut def = NetworkDef::from_subnet("ci", Mode::Shared, net("192.168.70.0/24"));
        def.interface = Some("en0".into());
        let error = def.validate().unwrap_err();
        assert!(message(&error).contains("no host interface, but 'en0'"));
        def.interface = None;
        def.name = "shared".into();
        assert!(message(&def.validate().unwrap_err()).contains("built-in"));
    }

    #[test]
    fn bridge_needs_an_interface_and_no_addresses() {
        let mut def = NetworkDef {
            schema_version: NETWORK_SCHEMA_VERSION,
            name: "lan".into(),
            mode: Mode::Bridge,
            start_address: None,
            end_address: None,
            subnet_mask: None,
            interface: Some("en0".into()),
            description: None,
            created: 0,
        };
        def.validate().unwrap();
        assert!(def.address_plan().is_none());
        def.interface = Some("-en0".into());
        assert!(message(&def.validate().unwrap_err()).contains("never start with '-'"));
        def.interface = None;
        assert!(message(&def.validate().unwrap_err()).contains("needs a host interface"));
        def.interface = Some("en0".into());
        def.subnet_mask = Some(ip("255.255.255.0"));
        assert!(message(&def.validate().unwrap_err()).contains("no addresses of its own"));
        def.subnet_mask = None;
        def.mode = Mode::Disconnected;
        assert!(message(&def.validate().unwrap_err()).contains("joins no network"));
    }
}
