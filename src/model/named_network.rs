//! Named networks (`vmctl network create ...`): a network besides the built-in `shared` and
//! `host`, kept as `VMCTL_HOME/networks/<name>.plist`. A shared or host network has its own
//! addresses (gateway = vmnet's start address, last DHCP address, mask) and, on Linux, its own
//! bridge and dnsmasq; a bridge network names a host interface. Profiles refer to it by name
//! (`modify VM network --network NAME`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::Mode;
use super::network::AddressPlan;

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
}

/// A network name as a profile refers to it: the checks that need no file (the file is read
/// when the change is applied).
pub fn validate_network_reference(name: &str) -> Result<(), crate::error::Error> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(crate::error::Error::invalid(
            "network",
            name,
            "network names are 1-32 letters, digits, '-' or '_', starting with a letter or digit",
        )
        .with_hint("`vmctl network list` shows the networks"))
    }
}
