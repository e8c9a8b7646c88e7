//! Pure: stored profiles + host settings → the `Plan` a backend applies (links, dnsmasq
//! configuration, the nftables ruleset, pf anchors). Nothing here touches the host, so every
//! line a backend would apply can be checked by a test without root; `vmctl plan` prints it.

pub mod linux;
pub mod macos;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use macaddr::MacAddr6;

use crate::error::Error;
use crate::model::Attach;
use crate::model::network::AddressPlan;
use crate::model::profile::{validate_interface_name, validate_vm_name};
use crate::model::rule_text::RuleText;
use crate::model::{Mode, VmProfile};
use crate::settings::Settings;
use crate::settings::change::{effective_mac, effective_no_local};
use crate::store::StartedVm;

/// Everything a plan is computed from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub vms: Vec<StartedVm>,
    pub shared: AddressPlan,
    pub host: AddressPlan,
    /// The named shared and host networks: their mode and addresses.
    pub named: BTreeMap<String, (Mode, AddressPlan)>,
    pub dhcp_lease_time: u32,
    /// `VMCTL_HOME/networks`: where the Linux backend keeps dnsmasq's files.
    pub networks_dir: PathBuf,
    /// The user dnsmasq runs as when the default (`nobody`) cannot read `networks_dir`.
    pub dnsmasq_user: Option<String>,
    /// The host's own IPv4 addresses: filter rules' `local` covers them. Filled by the backend
    /// when a filtered VM needs them (reading them costs a netlink dump).
    pub host_addresses: Vec<Ipv4Addr>,
}

impl PlanInput {
    /// Resolve profiles against the settings. `default_filter` is the parsed `net_filter` file;
    /// `observed` maps VM names to the address they were last seen with.
    pub fn new(
        profiles: &[VmProfile],
        settings: &Settings,
        default_filter: Option<&RuleText>,
        observed: &BTreeMap<String, Ipv4Addr>,
        networks_dir: PathBuf,
    ) -> Result<PlanInput, Error> {
        let mut vms = Vec::with_capacity(profiles.len());
        for profile in profiles {
            let nic = &profile.network;
            let filter = match &nic.filter {
                Some(text) => Some(text.parse::<RuleText>().map_err(|e| {
                    Error::corrupt(
                        format!("vms/{}.plist", profile.name),
                        format!("filter rules: {e}"),
                    )
                })?),
                None => default_filter.cloned(),
            };
            let mut vm = StartedVm::new(
                profile,
                effective_mac(profile, settings),
                effective_no_local(nic, settings),
                filter,
                Attach::Tap,
                nic.bridge.clone().or_else(|| settings.bridge_name.clone()),
            );
            vm.ip = nic.ip.or_else(|| observed.get(&profile.name).copied());
            vms.push(vm);
        }
        Ok(PlanInput::from_vms(vms, settings, networks_dir))
    }

    /// A plan input for VMs already resolved (the backend's started VMs).
    pub fn from_vms(vms: Vec<StartedVm>, settings: &Settings, networks_dir: PathBuf) -> PlanInput {
        PlanInput {
            vms,
            shared: settings.shared,
            host: settings.host,
            named: settings
                .named
                .iter()
                .filter_map(|(name, (net, plan))| Some((name.clone(), (net.mode, (*plan)?))))
                .collect(),
            dhcp_lease_time: settings.dhcp_lease_time,
            dnsmasq_user: dnsmasq_user(&networks_dir),
            networks_dir,
            host_addresses: Vec::new(),
        }
    }

    /// Refuse anything that could not be written safely into nft, pf or dnsmasq text.
    pub fn validate(&self) -> Result<(), Error> {
        let networks = self.networks();
        for (i, a) in networks.iter().enumerate() {
            for b in &networks[i + 1..] {
                let (sa, sb) = (self.address_plan(a).subnet(), self.address_plan(b).subnet());
                if sa.contains(sb.network()) || sb.contains(sa.network()) {
                    return Err(Error::conflict(format!(
                        "the vmctl networks '{a}' ({sa}) and '{b}' ({sb}) overlap"
                    ))
                    .with_hint("move one: `vmctl config` for the built-in ones, `vmctl network delete` and `create --subnet` for a named one"));
                }
            }
        }
        for vm in &self.vms {
            if let (Some(ip), true, Some(network)) = (vm.ip, vm.static_ip.is_some(), &vm.network)
                && (matches!(network.as_str(), "shared" | "host")
                    || self.named.contains_key(network))
            {
                self.address_plan(network)
                    .check_static_ip(ip, network)
                    .map_err(|e| {
                        e.with_hint(format!(
                            "VM '{}' keeps static IP {ip}: give it one on the network (vmctl modify {} network --ip ADDRESS) or DHCP (--ip auto)",
                            vm.name, vm.name
                        ))
                    })?;
            }
        }
        // One DHCP reservation per MAC: dnsmasq and bootpd would give both VMs one address.
        let mut reserved: std::collections::HashMap<MacAddr6, &str> =
            std::collections::HashMap::new();
        for vm in self
            .vms
            .iter()
            .filter(|vm| vm.mode.builtin_network().is_some())
        {
            if let Some(other) = reserved.insert(vm.mac, &vm.name) {
                return Err(Error::conflict(format!(
                    "VMs '{other}' and '{}' share the MAC {}: a DHCP reservation is per MAC, so both would get one address",
                    vm.name,
                    crate::model::Mac(vm.mac)
                ))
                .with_hint(format!(
                    "give one of them its own MAC: `vmctl modify {} network --mac auto`",
                    vm.name
                )));
            }
        }
        for vm in &self.vms {
            validate_vm_name(&vm.name)?;
            if let Some(network) = &vm.network
                && !matches!(network.as_str(), "shared" | "host")
                && !self.named.contains_key(network)
            {
                return Err(crate::model::named_network::no_such_network(
                    network, &vm.name,
                ));
            }
            if let Some(bridge) = &vm.parent {
                validate_interface_name(bridge)?;
            }
            for pf in &vm.port_forwards {
                crate::model::port_forward::validate_rule_name(&pf.name)?;
            }
        }
        let dir = self.networks_dir.to_string_lossy();
        if dir
            .chars()
            // dnsmasq gets its paths as arguments (spaces and '#' are fine there); the lease
            // hook is a shell script that quotes them.
            .any(|c| c.is_control() || "\"'\\".contains(c))
        {
            return Err(Error::invalid(
                "home folder",
                dir.into_owned(),
                "the lease hook cannot be given a path with control characters, quotes or backslashes",
            )
            .with_hint("point --home / VMCTL_HOME at a plain path"));
        }
        Ok(())
    }

    /// The address plan of a vmctl network (a VM on a network the plan does not know is
    /// refused by `validate`).
    pub fn address_plan(&self, network: &str) -> &AddressPlan {
        match network {
            "host" => &self.host,
            "shared" => &self.shared,
            name => self.named.get(name).map_or(&self.shared, |(_, plan)| plan),
        }
    }

    /// Is it a host-only network (no route out)?
    pub fn host_only(&self, network: &str) -> bool {
        match network {
            "host" => true,
            "shared" => false,
            name => self.named.get(name).is_some_and(|(m, _)| *m == Mode::Host),
        }
    }

    /// The vmctl networks some VM joins, in a stable order: built-in first, then by name.
    pub fn networks(&self) -> Vec<&str> {
        crate::model::BUILTIN_NETWORKS
            .into_iter()
            .chain(self.named.keys().map(String::as_str))
            .filter(|n| self.vms.iter().any(|vm| vm.network.as_deref() == Some(*n)))
            .collect()
    }
}

/// dnsmasq drops to `nobody` and then rereads its reservations on every change: when `nobody`
/// cannot reach `dir` (a home under `/root`, say), it has to stay root.
fn dnsmasq_user(dir: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let traversable = dir
        .ancestors()
        .filter_map(|d| std::fs::metadata(d).ok())
        .all(|m| m.permissions().mode() & 0o001 != 0);
    (!traversable).then(|| "root".to_owned())
}

/// The private ranges `local` stands for in filter rules (plus each vmctl network).
pub const LOCAL_RANGES: [&str; 5] = [
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{PortForward, Protocol};

    fn mac(last: u8) -> MacAddr6 {
        MacAddr6::new(0x52, 0x54, 0, 0x12, 0x34, last)
    }

    /// A realistic host: every mode and feature.
    pub fn sample_input() -> PlanInput {
        let ip = Ipv4Addr::new;
        let vm = |name: &str, mode: Mode, last| StartedVm {
            schema_version: crate::store::run::RUN_SCHEMA_VERSION,
            name: name.into(),
            uuid: String::new(),
            started: 0,
            boot: None,
            started_by: None,
            mode,
            network: mode.builtin_network().map(str::to_owned),
            link: crate::model::names::vm_link_name(name),
            attach: Attach::Tap,
            mac: mac(last),
            static_ip: None,
            ip: None,
            no_local: false,
            parent: None,
            vlan: 0,
            filter: None,
            port_forwards: vec![],
            holder: None,
            helper: None,
            socket: None,
            helper_start: None,
            netns_id: None,
            pf_token: None,
        };
        let mut web = vm("web", Mode::Shared, 1);
        web.ip = Some(ip(192, 168, 64, 20));
        web.static_ip = web.ip;
        web.port_forwards = vec![
            PortForward {
                name: "ssh".into(),
                protocol: Protocol::Tcp,
                guest_port: 22,
                host_port: 10000,
                host_ip: Ipv4Addr::UNSPECIFIED,
                auto_host_port: true,
            },
            PortForward {
                name: "dns".into(),
                protocol: Protocol::Udp,
                guest_port: 53,
                host_port: 10053,
                host_ip: ip(127, 0, 0, 1),
                auto_host_port: false,
            },
        ];
        web.filter = Some(
            "block out to 169.254.169.254\nblock in to port 22\npass in from 10.20.30.40\nblock local\n"
                .parse()
                .unwrap(),
        );
        let mut ci = vm("ci-runner.1", Mode::Shared, 2);
        ci.no_local = true;
        ci.ip = Some(ip(192, 168, 64, 77));
        ci.filter = Some(
            "block out proto tcp to any port 25\nblock out to 1.1.1.1 port 53\n"
                .parse()
                .unwrap(),
        );
        let mut db = vm("db", Mode::Host, 3);
        db.ip = Some(ip(192, 168, 128, 10));
        db.static_ip = db.ip;
        db.no_local = true;
        let mut lan = vm("lan", Mode::Bridge, 4);
        lan.parent = Some("eth1".into());
        let off = vm("off", Mode::Disconnected, 5);
        let fresh = vm("fresh", Mode::Shared, 6);
        PlanInput {
            vms: vec![web, ci, db, lan, off, fresh],
            shared: AddressPlan::new(
                ip(192, 168, 64, 1),
                ip(192, 168, 64, 254),
                ip(255, 255, 255, 0),
            )
            .unwrap(),
            host: AddressPlan::new(
                ip(192, 168, 128, 1),
                ip(192, 168, 128, 254),
                ip(255, 255, 255, 0),
            )
            .unwrap(),
            named: BTreeMap::new(),
            dhcp_lease_time: 86400,
            networks_dir: PathBuf::from("/var/lib/vmctl/networks"),
            dnsmasq_user: None,
            // A WAN address (joins `local`) and one inside 10/8 (already covered).
            host_addresses: vec![ip(203, 0, 113, 1), ip(10, 1, 2, 3), ip(127, 0, 0, 1)],
        }
    }

    #[test]
    fn hostile_names_are_refused_before_any_text() {
        for name in ["a\"b", "a b", "a\nb", "a;b", "a}b", "a'b", "../x", ""] {
            let mut input = sample_input();
            input.vms[0].name = name.into();
            assert!(input.validate().is_err(), "{name:?}");
            assert!(linux::plan(&input).is_err(), "{name:?}");
            assert!(macos::plan(&input).is_err(), "{name:?}");
        }
        for bridge in ["eth0\"", "eth 0", "eth0;", "e}", "toolonginterface0"] {
            let mut input = sample_input();
            input.vms[3].parent = Some(bridge.into());
            assert!(linux::plan(&input).is_err(), "{bridge:?}");
        }
        let mut input = sample_input();
        input.vms[0].port_forwards[0].name = "x\"; drop".into();
        assert!(linux::plan(&input).is_err());
        let mut input = sample_input();
        input.networks_dir = PathBuf::from("/tmp/a\nb");
        assert!(linux::plan(&input).is_err());
    }
}
