//! Changes to a VM's NIC and port forwards, checked against the host settings and every other
//! stored VM before anything is written.

use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use super::Settings;
use crate::error::Error;
use crate::model::mac::{Mac, MacPolicy, auto_mac};
use crate::model::port_forward::{
    PortForward, PortForwardParts, PortForwardRequest, host_port_owner, next_free_port,
    validate_rule_name,
};
use crate::model::profile::{Controller, Mode, Nic, VmProfile, validate_interface_name};

/// `--bridge IF|auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeChoice {
    Auto,
    Interface(String),
}

/// `--ip IPV4|auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpChoice {
    Auto,
    Static(Ipv4Addr),
}

/// A validated request to change a NIC; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NicChange {
    pub mode: Option<Mode>,
    /// `Some(None)`: the built-in network of the mode; `Some(Some(name))`: a named network.
    pub network: Option<Option<String>>,
    pub controller: Option<Controller>,
    pub bridge: Option<BridgeChoice>,
    pub mac: Option<MacPolicy>,
    pub ip: Option<IpChoice>,
    /// `Some(None)` = follow the host's `no_local`.
    pub no_local: Option<Option<bool>>,
    pub vlan: Option<u16>,
    pub filter: Option<FilterChoice>,
}

/// `-f FILE|-|off`: where a VM's own filter rules come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterChoice {
    /// No rules of its own (the host's `net_filter`, if any, applies).
    Off,
    /// Rules kept in the profile (`-f -`).
    Rules(String),
    /// A file read at every start and plan (checked when chosen).
    File(std::path::PathBuf),
}

impl BridgeChoice {
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text == "auto" {
            Ok(BridgeChoice::Auto)
        } else {
            validate_interface_name(text)?;
            Ok(BridgeChoice::Interface(text.to_owned()))
        }
    }
}

impl IpChoice {
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text == "auto" {
            return Ok(IpChoice::Auto);
        }
        text.parse::<Ipv4Addr>().map(IpChoice::Static).map_err(|_| {
            Error::invalid("static IP", text, "not an IPv4 address")
                .with_hint("write a dotted quad like 192.168.64.20, or `auto` for DHCP")
        })
    }
}

/// What a change did that the user should hear about (printed as warnings).
pub type Warnings = Vec<String>;

/// The MAC a VM uses: its static one, or its `auto` one.
pub fn effective_mac(profile: &VmProfile, settings: &Settings) -> MacAddr6 {
    match profile.network.mac {
        MacPolicy::Static(mac) => mac,
        MacPolicy::Auto => auto_mac(&profile.uuid, profile.network.mac_salt, settings.mac_prefix),
    }
}

/// Does the VM isolate itself (its own choice, else the host's `no_local`)?
pub fn effective_no_local(nic: &Nic, settings: &Settings) -> bool {
    nic.no_local.unwrap_or(settings.no_local)
}

/// Apply `change` to `profile`, checking the result against `others` (every other stored VM).
pub fn apply_nic_change(
    profile: &mut VmProfile,
    change: &NicChange,
    settings: &Settings,
    others: &[VmProfile],
) -> Result<Warnings, Error> {
    let mut warnings = Warnings::new();
    let mut nic = profile.network.clone();
    if let Some(mode) = change.mode {
        nic.mode = mode;
    }
    match &change.network {
        Some(Some(name)) => {
            let Some((net, _)) = settings.named.get(name) else {
                return Err(Error::invalid("network", name, "no such network").with_hint(
                    "`vmctl network list` shows them; `vmctl network create NAME ...` makes one",
                ));
            };
            if change.mode.is_some_and(|m| m != net.mode) {
                return Err(Error::conflict(format!(
                    "--network {name} is a {} network, but --mode says {}",
                    net.mode,
                    change.mode.map_or("", Mode::name)
                ))
                .with_hint("give one of them"));
            }
            nic.mode = net.mode;
            if net.mode == Mode::Bridge && change.bridge.is_none() {
                nic.bridge.clone_from(&net.interface);
            }
            nic.network = Some(name.clone());
        }
        Some(None) => nic.network = None,
        None => {}
    }
    if let Some(controller) = change.controller {
        nic.controller = controller;
    }
    if let Some(bridge) = &change.bridge {
        nic.bridge = match bridge {
            BridgeChoice::Auto => None,
            BridgeChoice::Interface(name) => Some(name.clone()),
        };
    }
    if let Some(no_local) = change.no_local {
        nic.no_local = no_local;
    }
    if let Some(vlan) = change.vlan {
        nic.vlan = vlan;
    }
    if let Some(filter) = &change.filter {
        (nic.filter, nic.filter_file) = match filter {
            FilterChoice::Off => (None, None),
            FilterChoice::Rules(text) => (Some(text.clone()), None),
            FilterChoice::File(path) => (None, Some(path.clone())),
        };
    }
    if let Some(ip) = change.ip {
        nic.ip = match ip {
            IpChoice::Auto => None,
            IpChoice::Static(ip) => Some(ip),
        };
    }
    if nic.bridge.is_some() && nic.mode != Mode::Bridge && change.bridge.is_some() {
        warnings.push(format!(
            "--bridge only matters in bridge mode; the VM is in {} mode",
            nic.mode
        ));
    }
    check_static_ip(&nic, change.ip.is_some(), settings, others)?;
    if nic.network_name().is_none()
        && !nic.port_forwarding_rules.is_empty()
        && change.mode.is_some()
    {
        warnings.push(format!(
            "its {} port forward(s) stay stored but do nothing in {} mode",
            nic.port_forwarding_rules.len(),
            nic.mode
        ));
    }
    if let Some(mac) = change.mac {
        nic.mac = mac;
        match mac {
            MacPolicy::Static(mac) => {
                if !mac.is_local() {
                    warnings.push(format!(
                        "{} is a globally administered MAC: make sure no real device uses it",
                        Mac(mac)
                    ));
                }
                for other in others.iter().filter(|o| effective_mac(o, settings) == mac) {
                    warnings.push(format!(
                        "VM '{}' has the same MAC {}: the two cannot run at once",
                        other.name,
                        Mac(mac)
                    ));
                }
                nic.mac_salt = 0;
            }
            MacPolicy::Auto => {}
        }
    }
    profile.network = nic;
    reroll_auto_mac(profile, settings, others);
    Ok(warnings)
}

/// Refuse a new VM name whose host link name (`vmt-<hash>`, also its firewall chains' names)
/// is another stored VM's: two such VMs could never run at once.
pub fn refuse_link_name_clash(name: &str, others: &[VmProfile]) -> Result<(), Error> {
    let link = crate::model::names::vm_link_name(name);
    match others
        .iter()
        .find(|o| o.name != name && crate::model::names::vm_link_name(&o.name) == link)
    {
        Some(other) => Err(Error::conflict(format!(
            "VM name '{name}' gives the same host link name ({link}) as VM '{}'",
            other.name
        ))
        .with_hint("choose another name (any small change will do)")),
        None => Ok(()),
    }
}

/// Make the VM's `auto` MAC unique among the stored VMs, bumping the salt only on a collision.
pub fn reroll_auto_mac(profile: &mut VmProfile, settings: &Settings, others: &[VmProfile]) {
    if profile.network.mac != MacPolicy::Auto {
        return;
    }
    let taken: std::collections::HashSet<MacAddr6> =
        others.iter().map(|o| effective_mac(o, settings)).collect();
    while taken.contains(&effective_mac(profile, settings)) {
        profile.network.mac_salt = profile.network.mac_salt.wrapping_add(1);
    }
}

fn check_static_ip(
    nic: &Nic,
    asked_now: bool,
    settings: &Settings,
    others: &[VmProfile],
) -> Result<(), Error> {
    let Some(ip) = nic.ip else { return Ok(()) };
    // On a named bridge network the address is the one the guest is set to itself: the LAN's
    // DHCP server does not hand it out, so vmctl keeps it, shows it, refuses it to a second
    // VM of that network, and with a fleet registry reserves it across hosts.
    if let (Mode::Bridge, Some(network)) = (nic.mode, nic.network.as_deref()) {
        if ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_loopback()
            || ip.is_multicast()
            || ip.is_link_local()
        {
            return Err(Error::invalid(
                "static IP",
                ip.to_string(),
                "not an address a VM on a LAN can have",
            )
            .with_hint("give the unicast address the guest is configured with"));
        }
        if let Some(other) = others.iter().find(|o| {
            o.network.ip == Some(ip)
                && o.network.mode == Mode::Bridge
                && o.network.network.as_deref() == Some(network)
        }) {
            return Err(Error::conflict(format!(
                "{ip} is already VM '{}''s address on the {network} network",
                other.name
            ))
            .with_hint("pick another address; `vmctl list` shows them"));
        }
        return Ok(());
    }
    let Some(network) = nic.network_name() else {
        let flag = if asked_now {
            "--ip"
        } else {
            "the VM's static IP"
        };
        let reason = match nic.mode {
            Mode::Bridge => format!(
                "{flag} is refused in bridge mode without a named network: the LAN's DHCP server decides the address"
            ),
            _ => format!("{flag} needs a network, and a disconnected VM has none"),
        };
        return Err(Error::conflict(reason).with_hint(if asked_now {
            "set a static IP in shared or host mode, or on a named bridge network (`vmctl network create lan -t bridge -i IF`, then --network lan --ip ADDRESS: the address the guest sets itself); or reserve it on the LAN's DHCP server".to_owned()
        } else {
            format!("add `--ip auto` to drop the static IP {ip}")
        }));
    };
    let plan = settings.address_plan(network).expect("built-in network");
    plan.check_static_ip(ip, network).map_err(|e| {
        if asked_now {
            e
        } else {
            e.with_hint(format!("the VM keeps static IP {ip}; add `--ip auto` or `--ip ADDRESS` on the {network} network"))
        }
    })?;
    if let Some(other) = others
        .iter()
        .find(|o| o.network.ip == Some(ip) && o.network.network_name() == Some(network))
    {
        return Err(Error::conflict(format!(
            "{ip} is already reserved for VM '{}' on the {network} network",
            other.name
        ))
        .with_hint("pick another address; `vmctl list` shows the reserved ones"));
    }
    Ok(())
}

/// Add a port forward, choosing the host port from `portfwd_base` when none was asked for.
pub fn add_port_forward(
    profile: &mut VmProfile,
    request: &PortForwardRequest,
    settings: &Settings,
    others: &[VmProfile],
) -> Result<PortForward, Error> {
    if profile.network.network_name().is_none() {
        return Err(Error::conflict(format!(
            "VM '{}' is in {} mode: port forwards need the shared or host network",
            profile.name, profile.network.mode
        ))
        .with_hint(format!(
            "switch it first: vmctl modify {} network -t shared",
            profile.name
        )));
    }
    if profile
        .network
        .port_forwarding_rules
        .iter()
        .any(|pf| pf.name == request.name)
    {
        return Err(Error::conflict(format!(
            "VM '{}' already has a port forward named '{}'",
            profile.name, request.name
        ))
        .with_hint(format!(
            "pick another name, change that rule (vmctl modify {0} port {1} ...), or delete it (vmctl modify {0} delete port {1})",
            profile.name, request.name
        )));
    }
    let own = profile.network.port_forwarding_rules.iter();
    let host_port = match request.host_port {
        // A port the user gave is refused only when this VM forwards it already: another VM
        // may forward it too, and then the two cannot run at once (the start refuses).
        Some(port) => {
            if let Some((_, pf)) = host_port_owner(
                own.map(|pf| (profile.name.as_str(), pf)),
                request.protocol,
                port,
            ) {
                return Err(Error::conflict(format!(
                    "VM '{}' forwards host port {port}/{} already (rule '{}')",
                    profile.name,
                    request.protocol.name(),
                    pf.name
                ))
                .with_hint("pick another host port, or 0 (or none) to get a free one"));
            }
            port
        }
        // A port vmctl chooses is free among every stored VM's forwards.
        None => {
            let used: Vec<_> = others
                .iter()
                .chain(std::iter::once(&*profile))
                .flat_map(|vm| &vm.network.port_forwarding_rules)
                .map(|pf| (pf.protocol, pf.host_port))
                .collect();
            next_free_port(&used, request.protocol, settings.portfwd_base).ok_or_else(|| {
                Error::conflict(format!(
                    "no free host port at or above {}",
                    settings.portfwd_base
                ))
                .with_hint("lower portfwd_base with `vmctl config portfwd_base N`")
            })?
        }
    };
    let forward = PortForward {
        name: request.name.clone(),
        protocol: request.protocol,
        guest_port: request.guest_port,
        host_port,
        host_ip: request.host_ip,
        auto_host_port: request.host_port.is_none(),
    };
    profile.network.port_forwarding_rules.push(forward.clone());
    Ok(forward)
}

/// Change the port forward `name`: the parts given, and its name with `new_name`. The result is
/// checked as a new forward would be (the mode, a unique name, a host port this VM does not
/// forward twice);
/// a host port left out keeps the rule's own. The rule keeps its place in the list.
pub fn update_port_forward(
    profile: &mut VmProfile,
    name: &str,
    parts: PortForwardParts,
    new_name: Option<&str>,
    settings: &Settings,
    others: &[VmProfile],
) -> Result<PortForward, Error> {
    if let Some(new_name) = new_name {
        validate_rule_name(new_name)?;
    }
    let mut changed = profile.clone();
    let at = find_port_forward(&changed, name)?;
    let old = changed.network.port_forwarding_rules.remove(at);
    let request = PortForwardRequest {
        name: new_name.unwrap_or(name).to_owned(),
        protocol: parts.protocol.unwrap_or(old.protocol),
        guest_port: parts.guest_port.unwrap_or(old.guest_port),
        host_ip: parts.host_ip.unwrap_or(old.host_ip),
        host_port: Some(parts.host_port.unwrap_or(old.host_port)),
    };
    let mut forward = add_port_forward(&mut changed, &request, settings, others)?;
    // A host port left as it was stays vmctl's choice, or the user's.
    forward.auto_host_port = parts.host_port.is_none() && old.auto_host_port;
    let rules = &mut changed.network.port_forwarding_rules;
    rules.pop();
    rules.insert(at, forward.clone());
    *profile = changed;
    Ok(forward)
}

/// The other stored VMs that forward `forward`'s host port too (the two cannot run at once),
/// as `'VM' (rule 'NAME')`.
pub fn host_port_sharers(forward: &PortForward, others: &[VmProfile]) -> Vec<String> {
    others
        .iter()
        .flat_map(|vm| {
            vm.network
                .port_forwarding_rules
                .iter()
                .filter(|pf| pf.clashes_with(forward))
                .map(|pf| format!("'{}' (rule '{}')", vm.name, pf.name))
        })
        .collect()
}

/// Where the rule `name` is, or an error listing the VM's rules.
pub fn find_port_forward(profile: &VmProfile, name: &str) -> Result<usize, Error> {
    let rules = &profile.network.port_forwarding_rules;
    rules.iter().position(|pf| pf.name == name).ok_or_else(|| {
        let names: Vec<&str> = rules.iter().map(|pf| pf.name.as_str()).collect();
        let hint = if names.is_empty() {
            format!("VM '{}' has no port forwards", profile.name)
        } else {
            format!("its port forwards are: {}", names.join(", "))
        };
        Error::invalid(
            "port forward",
            name,
            format!("VM '{}' has no such rule", profile.name),
        )
        .with_hint(hint)
    })
}

/// Remove the named port forwards, every one or none (an unknown name changes nothing).
pub fn delete_named_port_forwards(
    profile: &mut VmProfile,
    names: &[String],
) -> Result<Vec<PortForward>, Error> {
    let mut changed = profile.clone();
    let mut removed = Vec::with_capacity(names.len());
    for name in names {
        removed.extend(delete_port_forwards(&mut changed, Some(name))?);
    }
    *profile = changed;
    Ok(removed)
}

/// Remove the named port forward (or all with `None`); returns what was removed.
pub fn delete_port_forwards(
    profile: &mut VmProfile,
    name: Option<&str>,
) -> Result<Vec<PortForward>, Error> {
    let rules = &mut profile.network.port_forwarding_rules;
    match name {
        None => Ok(std::mem::take(rules)),
        Some(name) => {
            let at = find_port_forward(profile, name)?;
            Ok(vec![profile.network.port_forwarding_rules.remove(at)])
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_whose_link_names_clash_are_refused() {
        let settings =
            crate::settings::Settings::resolve(&std::collections::BTreeMap::new(), |_| None)
                .unwrap();
        let other = VmProfile::new(
            "vm625978",
            settings.network_mode,
            settings.network_controller,
        )
        .unwrap();
        assert_eq!(
            crate::model::names::vm_link_name("vm625978"),
            crate::model::names::vm_link_name("vm1056122"),
            "a known pair whose 32-bit hashes collide"
        );
        let err = refuse_link_name_clash("vm1056122", std::slice::from_ref(&other)).unwrap_err();
        assert!(err.to_string().contains("vm625978"), "{err}");
        assert!(refuse_link_name_clash("vm1056123", &[other]).is_ok());
    }
}
