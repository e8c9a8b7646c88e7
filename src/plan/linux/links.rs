//! The Linux plan's links: each network's bridge and each VM's TAP, veth or macvtap, and the
//! text `vmctl plan` shows for them (with the sysctls the plan needs).

use std::fmt::{self, Write};
use std::net::Ipv4Addr;

use serde::Serialize;

use super::LinuxPlan;
use crate::model::Attach;
use crate::model::names::{bridge_name, host_end_mac, short_hash};
use crate::model::{Mac, Mode};
use crate::store::StartedVm;

/// A link the backend creates. The host end of a VM's link never carries the VM's MAC (see
/// `host_end_mac`); the guest's MAC belongs to the hypervisor's NIC or the namespace's `eth0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Link {
    /// A network's bridge with the gateway address and a fixed MAC (a bridge otherwise takes
    /// the lowest port MAC, which changes as VMs come and go).
    Bridge {
        name: String,
        network: String,
        gateway: Ipv4Addr,
        prefix: u8,
        mac: String,
    },
    /// A VM's TAP for a hypervisor; on its network's bridge, or on none when disconnected.
    Tap {
        name: String,
        vm: String,
        host_mac: String,
        guest_mac: String,
        master: Option<String>,
        owner: Option<u32>,
    },
    /// A veth pair: the host end on the bridge (or none), `eth0` with the VM's MAC in `netns`.
    Veth {
        name: String,
        vm: String,
        host_mac: String,
        guest_mac: String,
        master: Option<String>,
        netns: String,
    },
    /// A bridge-mode VM's macvtap (tap) or macvlan (`netns`: `eth0` inside it) on a host
    /// interface (`None`: the default route's, chosen at start).
    Macvlan {
        name: String,
        vm: String,
        mac: String,
        parent: Option<String>,
        netns: Option<String>,
        owner: Option<u32>,
    },
}

impl Link {
    /// The VM a link belongs to (`None` for a bridge).
    pub fn vm(&self) -> Option<&str> {
        match self {
            Link::Bridge { .. } => None,
            Link::Tap { vm, .. } | Link::Veth { vm, .. } | Link::Macvlan { vm, .. } => Some(vm),
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let master = |m: &Option<String>| match m {
            Some(m) => format!(" master {m}"),
            None => " nomaster".to_owned(),
        };
        let owner = |o: &Option<u32>| o.map(|o| format!(" user {o}")).unwrap_or_default();
        match self {
            Link::Bridge {
                name,
                network,
                gateway,
                prefix,
                mac,
            } => write!(
                f,
                "bridge  {name} address {mac} addr {gateway}/{prefix} up  # network {network}"
            ),
            Link::Tap {
                name,
                vm,
                host_mac,
                guest_mac,
                master: m,
                owner: o,
            } => write!(
                f,
                "tap     {name} address {host_mac}{}{} up  # vm {vm}, guest mac {guest_mac}",
                master(m),
                owner(o)
            ),
            Link::Veth {
                name,
                vm,
                host_mac,
                guest_mac,
                master: m,
                netns,
            } => write!(
                f,
                "veth    {name} address {host_mac}{} up peer eth0 address {guest_mac} netns {netns}  # vm {vm}",
                master(m)
            ),
            Link::Macvlan {
                name,
                vm,
                mac,
                parent,
                netns,
                owner: o,
            } => {
                let parent = parent.as_deref().unwrap_or("<default route interface>");
                match netns {
                    Some(netns) => write!(
                        f,
                        "macvlan eth0 address {mac} link {parent} mode bridge netns {netns}  # vm {vm}"
                    ),
                    None => write!(
                        f,
                        "macvtap {name} address {mac} link {parent} mode bridge{} up  # vm {vm}",
                        owner(o)
                    ),
                }
            }
        }
    }
}

impl LinuxPlan {
    pub fn links_text(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.sysctls {
            let _ = writeln!(out, "sysctl  {key}={value}");
        }
        for link in &self.links {
            let _ = writeln!(out, "{link}");
        }
        out
    }
}

/// A VM's link, named `name`: a macvtap (or a macvlan in its namespace) in bridge mode, else a
/// veth into its namespace or a TAP.
pub(super) fn vm_link(vm: &StartedVm, name: String) -> Link {
    let guest_mac = Mac(vm.mac).to_string();
    let host_mac = Mac(host_end_mac(vm.mac)).to_string();
    let master = vm.network.as_deref().map(bridge_name);
    let owner = match vm.attach {
        Attach::OwnedTap { owner } => Some(owner),
        _ => None,
    };
    match (&vm.attach, vm.mode) {
        (Attach::Netns { netns }, Mode::Bridge) => Link::Macvlan {
            name,
            vm: vm.name.clone(),
            mac: guest_mac,
            parent: vm.parent.clone(),
            netns: Some(netns.clone()),
            owner: None,
        },
        (_, Mode::Bridge) => Link::Macvlan {
            name,
            vm: vm.name.clone(),
            mac: guest_mac,
            parent: vm.parent.clone(),
            netns: None,
            owner,
        },
        (Attach::Netns { netns }, _) => Link::Veth {
            name,
            vm: vm.name.clone(),
            host_mac,
            guest_mac,
            master,
            netns: netns.clone(),
        },
        _ => Link::Tap {
            name,
            vm: vm.name.clone(),
            host_mac,
            guest_mac,
            master,
            owner,
        },
    }
}

/// A network's bridge MAC: locally administered, stable, derived from its name.
pub fn bridge_mac(network: &str) -> macaddr::MacAddr6 {
    let hash = u32::from_str_radix(&short_hash(network), 16).unwrap_or(0);
    let [b2, b3, b4, b5] = hash.to_be_bytes();
    macaddr::MacAddr6::new(0x02, 0x76, b2, b3, b4, b5)
}
