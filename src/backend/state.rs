//! `run/<vm>.plist`: what a `start` made for one VM, so that `stop`, `show`, `list --running`,
//! lease events and `doctor` agree with the host. Written atomically under the store lock when
//! the VM's link is up and its rules are loaded; removed when `stop` has taken them down.
//!
//! The state keeps the NIC as it was resolved at start (MAC, no-local, filter text, forwards):
//! a `modify` of a started VM takes effect at its next start, and every reload of the firewall
//! in between renders the same rules for it.

use std::net::Ipv4Addr;

use macaddr::MacAddr6;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::change::{effective_mac, effective_no_local};
use crate::model::filter::FilterRules;
use crate::model::mac::parse_mac;
use crate::model::{Mac, Mode, PortForward, VmProfile};
use crate::plan::{Attach, PlanVm, vm_link_name};
use crate::settings::Settings;

pub const RUN_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub schema_version: u32,
    pub vm: String,
    pub uuid: String,
    /// Unix seconds.
    pub started: u64,
    pub mode: Mode,
    /// The vmctl network the VM joined (`shared`, `host`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The host-side link (`vmt-...`); for a macvlan inside a namespace, the name it had here.
    pub link: String,
    pub attach: Attach,
    /// The MAC the guest uses.
    pub mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_ip: Option<Ipv4Addr>,
    /// The address the VM has now: the static IP, or the last lease dnsmasq reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    pub no_local: bool,
    /// The host interface of a bridge-mode VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub vlan: u16,
    /// The filter rules in force (the VM's own, else `net_filter`'s), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default)]
    pub port_forwards: Vec<PortForward>,
    /// The pid of the `vmctl run` that holds the VM (it stops the VM when its command exits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<u32>,
    /// With `--attach socket`: the relay helper's pid and the socket the hypervisor uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<std::path::PathBuf>,
}

impl RunState {
    /// The state a start of `profile` will record (`parent`: the bridge-mode interface).
    pub fn new(
        profile: &VmProfile,
        settings: &Settings,
        filter: Option<String>,
        attach: Attach,
        parent: Option<String>,
    ) -> RunState {
        let nic = &profile.network;
        RunState {
            schema_version: RUN_SCHEMA_VERSION,
            vm: profile.name.clone(),
            uuid: profile.uuid.clone(),
            started: crate::sys::now(),
            mode: nic.mode,
            network: nic.network_name().map(str::to_owned),
            link: vm_link_name(&profile.name),
            attach,
            mac: Mac(effective_mac(profile, settings)).to_string(),
            static_ip: nic.ip,
            ip: nic.ip,
            no_local: effective_no_local(nic, settings),
            parent,
            vlan: nic.vlan,
            filter,
            port_forwards: nic.port_forwarding_rules.clone(),
            holder: None,
            helper: None,
            socket: None,
        }
    }

    /// Held by a `vmctl run` that is gone (killed -9), or its relay helper died: the VM is
    /// started for nobody.
    pub fn orphaned(&self) -> bool {
        self.gone_process().is_some()
    }

    /// The pid of its `vmctl run` or relay helper when that process is gone.
    pub fn gone_process(&self) -> Option<u32> {
        [self.holder, self.helper]
            .into_iter()
            .flatten()
            .find(|pid| !crate::sys::process::alive(*pid))
    }

    /// The namespace the VM's link lives in (as `eth0`) when it is not here: a bridge-mode
    /// VM's macvlan (a veth's host end, and a TAP, are here).
    pub fn inner_netns(&self) -> Option<&str> {
        match (&self.attach, self.mode) {
            (Attach::Netns { netns }, Mode::Bridge) => Some(netns),
            _ => None,
        }
    }

    pub fn mac(&self) -> Result<MacAddr6, Error> {
        parse_mac(&self.mac)
    }

    /// The VM as the plan sees it.
    pub fn plan_vm(&self, path: &std::path::Path) -> Result<PlanVm, Error> {
        let filter = match &self.filter {
            Some(text) => Some(
                text.parse::<FilterRules>()
                    .map_err(|e| Error::corrupt(path, format!("filter rules: {e}")))?,
            ),
            None => None,
        };
        Ok(PlanVm {
            name: self.vm.clone(),
            mode: self.mode,
            network: self.network.clone(),
            mac: self.mac().map_err(|e| Error::corrupt(path, e))?,
            ip: self.ip,
            static_ip: self.static_ip.is_some(),
            no_local: self.no_local,
            bridge: self.parent.clone(),
            vlan: self.vlan,
            filter: filter.filter(|f| !f.is_empty()),
            port_forwards: self.port_forwards.clone(),
            attach: self.attach.clone(),
        })
    }
}
