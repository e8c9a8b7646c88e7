//! The Linux plan: bridges and TAP/macvtap links, dnsmasq configuration per network, and one
//! nftables file holding `table inet vmctl` and `table bridge vmctl` in atomic-reload form.
//!
//! Per-packet cost does not grow with the number of VMs: each hook does a fixed number of set
//! and map lookups keyed by interface or address; a VM's filter rules live in its own chains,
//! reached through a verdict map.

use std::fmt::{self, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnetwork::Ipv4Network;
use serde::Serialize;

use super::{
    Attach, LOCAL_RANGES, PlanInput, StartedVm, bridge_name, host_end_mac, short_hash, vm_link_name,
};
use crate::error::Error;
use crate::model::filter::Direction;
use crate::model::{Mac, Mode};

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

/// dnsmasq for one network: its folder, command line, configuration and reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsmasqNetwork {
    pub network: String,
    /// `VMCTL_HOME/networks/<network>`: configuration, hook, leases, pid file, `hosts/`.
    pub dir: PathBuf,
    /// The command that starts it (it daemonizes once it is serving).
    pub command: Vec<String>,
    /// `dnsmasq.conf` contents.
    pub conf: String,
    /// Files of `--dhcp-hostsdir`: (file name, contents), one per VM.
    pub hosts: Vec<(String, String)>,
}

/// Everything the Linux backend applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinuxPlan {
    pub links: Vec<Link>,
    /// Kernel settings the plan needs (`net.ipv4.ip_forward` for NAT).
    pub sysctls: Vec<(String, String)>,
    pub dnsmasq: Vec<DnsmasqNetwork>,
    /// One `nft -f` file: both tables, deleted and recreated atomically.
    pub nft: String,
    /// What the plan could not do, for the user.
    pub notes: Vec<String>,
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

    pub fn dnsmasq_text(&self) -> String {
        let mut out = String::new();
        for net in &self.dnsmasq {
            let dir = net.dir.display();
            let _ = writeln!(out, "# $ {}", net.command.join(" "));
            let _ = writeln!(out, "# ==> {dir}/dnsmasq.conf");
            out.push_str(&net.conf);
            for (file, line) in &net.hosts {
                let _ = writeln!(out, "# ==> {dir}/hosts/{file}\n{line}");
            }
        }
        out
    }

    /// The dnsmasq part of one network.
    pub fn dnsmasq_of(&self, network: &str) -> Option<&DnsmasqNetwork> {
        self.dnsmasq.iter().find(|d| d.network == network)
    }
}

/// Compute the Linux plan.
pub fn plan(input: &PlanInput) -> Result<LinuxPlan, Error> {
    input.validate()?;
    let mut notes = Vec::new();
    let mut links = Vec::new();
    let networks = input.networks();
    for network in &networks {
        let addr = input.address_plan(network);
        links.push(Link::Bridge {
            name: bridge_name(network),
            network: (*network).into(),
            gateway: addr.gateway(),
            prefix: addr.subnet().prefix(),
            mac: Mac(bridge_mac(network)).to_string(),
        });
    }
    let mut seen = std::collections::BTreeMap::new();
    for vm in &input.vms {
        let name = vm_link_name(&vm.name);
        if let Some(other) = seen.insert(name.clone(), vm.name.clone()) {
            return Err(Error::conflict(format!(
                "VMs '{other}' and '{}' hash to the same link name {name}",
                vm.name
            ))
            .with_hint("rename one of them"));
        }
        links.push(vm_link(vm, name));
        if vm.mode == Mode::Bridge && (vm.no_local || vm.filter.is_some()) {
            notes.push(format!(
                "VM '{}': bridge mode bypasses the host firewall, so its no-local and filter rules are not applied",
                vm.name
            ));
        }
        if vm.mode == Mode::Bridge && vm.vlan != 0 {
            notes.push(format!(
                "VM '{}': VLAN {} is not applied by the Linux backend (the macvtap is untagged)",
                vm.name, vm.vlan
            ));
        }
        if on_network(vm) && vm.ip.is_none() && (vm.no_local || !vm.port_forwards.is_empty()) {
            notes.push(format!(
                "VM '{}': its IPv4 anti-spoofing and port forwards take its address when DHCP hands it out",
                vm.name
            ));
        }
    }
    let mut sysctls = Vec::new();
    if networks.iter().any(|n| !input.host_only(n)) {
        sysctls.push(("net.ipv4.ip_forward".to_owned(), "1".to_owned()));
    }
    // A port forward used from the host itself (127.0.0.1:PORT) leaves through the bridge
    // with a loopback source, which the kernel drops unless the bridge allows it; the
    // masquerade in `postrouting` then gives it the gateway's address.
    for network in &networks {
        sysctls.push((
            format!("net.ipv4.conf.{}.route_localnet", bridge_name(network)),
            "1".to_owned(),
        ));
    }
    let dnsmasq = networks.iter().map(|n| dnsmasq(input, n)).collect();
    Ok(LinuxPlan {
        links,
        sysctls,
        dnsmasq,
        nft: nft(input),
        notes,
    })
}

/// Does the VM join a network vmctl runs (a bridge, dnsmasq and the firewall)?
fn on_network(vm: &StartedVm) -> bool {
    vm.network.as_deref().is_some()
}

fn vm_link(vm: &StartedVm, name: String) -> Link {
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

fn dnsmasq(input: &PlanInput, network: &str) -> DnsmasqNetwork {
    let addr = input.address_plan(network);
    let dir = input.networks_dir.join(network);
    let shown = dir.display();
    let mut conf = String::new();
    let mut line = |text: String| {
        conf.push_str(&text);
        conf.push('\n');
    };
    line(format!(
        "# vmctl network {network}: generated by vmctl, do not edit"
    ));
    line(format!("interface={}", bridge_name(network)));
    line("bind-interfaces".into());
    line("except-interface=lo".into());
    line(format!("listen-address={}", addr.gateway()));
    line(format!(
        "dhcp-range={},{},{},{}s",
        addr.pool_first(),
        addr.pool_last(),
        addr.mask,
        input.dhcp_lease_time
    ));
    if input.host_only(network) {
        // Host-only: no route out, so hand out no router.
        line("dhcp-option=option:router".into());
    } else {
        line(format!("dhcp-option=option:router,{}", addr.gateway()));
    }
    line(format!("dhcp-option=option:dns-server,{}", addr.gateway()));
    line("dhcp-authoritative".into());
    line("no-ping".into());
    line("no-hosts".into());
    line("domain=vmctl.internal".into());
    line("local=/vmctl.internal/".into());
    line("expand-hosts".into());
    // Upstream DNS: a shared VM resolves through the host's resolv.conf (it has a route out); a
    // host-only VM has none, so it gets only the names of its network.
    if input.host_only(network) {
        line("no-resolv".into());
    }
    if let Some(user) = &input.dnsmasq_user {
        line(format!("user={user}"));
    }
    let hosts = input
        .vms
        .iter()
        .filter(|vm| vm.network.as_deref() == Some(network))
        .map(|vm| (vm.name.clone(), reservation(vm)))
        .collect();
    DnsmasqNetwork {
        network: network.into(),
        // Paths go on the command line, one argument each, not into the configuration: there a
        // home such as "/home/a #b" would be cut at the " #" (a comment) or at whitespace.
        command: vec![
            "dnsmasq".into(),
            format!("--conf-file={shown}/dnsmasq.conf"),
            format!("--dhcp-hostsdir={shown}/hosts"),
            format!("--dhcp-leasefile={shown}/leases"),
            format!("--pid-file={shown}/dnsmasq.pid"),
            format!("--log-facility={shown}/dnsmasq.log"),
            // Every lease change reaches the firewall through this hook (see backend::linux).
            format!("--dhcp-script={shown}/lease-hook"),
        ],
        dir,
        conf,
        hosts,
    }
}

/// A VM's `--dhcp-hostsdir` line: its MAC and name, and its address when it is static.
pub fn reservation(vm: &StartedVm) -> String {
    let mac = Mac(vm.mac);
    match vm.ip.filter(|_| vm.static_ip.is_some()) {
        Some(ip) => format!("{mac},{ip},{}\n", vm.name),
        None => format!("{mac},{}\n", vm.name),
    }
}

/// `elements = { a, b }`, or nothing for an empty set (nft rejects `{ }`).
fn elements(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }};", items.join(", "))
    }
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

fn chain_name(vm: &StartedVm, dir: &str) -> String {
    format!("vm_{}_{dir}", short_hash(&vm.name))
}

/// Comments of the counted drop rules: `nft list table bridge vmctl` shows what each stopped.
pub mod counters {
    pub const FORGED_MAC: &str = "no-local: frame from a MAC not the VM's";
    pub const IPV6: &str = "no-local: IPv6";
    pub const ARP_MAC: &str = "no-local: ARP with a MAC not the VM's";
    pub const ARP_EARLY: &str = "no-local: ARP before the VM has an address";
    pub const ARP_IP: &str = "no-local: ARP for an address not the VM's";
    pub const OTHER_ETHERTYPE: &str = "no-local: neither IPv4 nor ARP";
    pub const IP_EARLY: &str = "no-local: IPv4 before the VM has an address";
    pub const FORGED_IP: &str = "no-local: IPv4 from an address not the VM's";
    pub const VM_TO_VM: &str = "no-local: VM to VM";
    pub const ROUTED_TO_VM: &str = "no-local: routed from another VM";
    pub const VM_TO_HOST: &str = "no-local: VM to host";
    pub const VM_TO_VM_ROUTED: &str = "no-local: VM to another VM network";
    pub const HOST_ONLY_OUT: &str = "host-only: no route out";
    pub const HOST_ONLY_IN: &str = "host-only: no route in";
    pub const BETWEEN_NETWORKS: &str = "VM to another vmctl network (no filter rules pass it)";
}

// A template: one line of code per line of nft, easier to review whole than split.
#[allow(clippy::too_many_lines)]
/// The nftables file: `table inet vmctl` and `table bridge vmctl`, each deleted and recreated in
/// the same transaction (a bare flush would keep set elements).
///
/// Who sees what: once a VM's link is a bridge port, the inet hooks see only the bridge, so
/// everything keyed on a VM's link lives in the bridge family: anti-spoofing and isolation in
/// `prerouting` / `forward` / `output`, the VM's filter rules in `prerouting` (from the VM, to
/// anywhere: other VMs, the host, the WAN) and `forward` + `output` (to the VM, from another
/// VM or from the host and beyond). The
/// inet hooks need a VM's identity only for no-local VMs (VM to host, VM to another network):
/// its MAC, which anti-spoofing pins. The ruleset is correct with `bridge-nf-call-iptables` on
/// or off; with it off, hairpin port forwards work through the masquerade in `postrouting`.
fn nft(input: &PlanInput) -> String {
    use counters as c;
    let networks = input.networks();
    let on_net: Vec<&StartedVm> = input.vms.iter().filter(|vm| on_network(vm)).collect();
    let subnets: Vec<Ipv4Network> = networks
        .iter()
        .map(|n| input.address_plan(n).subnet())
        .collect();
    let mut local: Vec<String> = LOCAL_RANGES.iter().map(|s| (*s).to_string()).collect();
    for subnet in &subnets {
        let covered = LOCAL_RANGES
            .iter()
            .filter_map(|r| r.parse::<Ipv4Network>().ok())
            .any(|r| r.contains(subnet.network()) && r.prefix() <= subnet.prefix());
        if !covered {
            local.push(subnet.to_string());
        }
    }
    let vm_nets: Vec<String> = subnets.iter().map(ToString::to_string).collect();
    let gateways: Vec<String> = networks
        .iter()
        .map(|n| input.address_plan(n).gateway().to_string())
        .collect();
    let bridges: Vec<String> = networks.iter().map(|n| quoted(&bridge_name(n))).collect();
    let host_only: Vec<String> = networks
        .iter()
        .filter(|n| input.host_only(n))
        .map(|n| quoted(&bridge_name(n)))
        .collect();
    let nat_nets: Vec<String> = networks
        .iter()
        .filter(|n| !input.host_only(n))
        .map(|n| input.address_plan(n).subnet().to_string())
        .collect();
    let filtered: Vec<&&StartedVm> = on_net.iter().filter(|vm| vm.filter.is_some()).collect();
    let (any_nolocal, any_filtered) = (on_net.iter().any(|vm| vm.no_local), !filtered.is_empty());
    let per_vm: Vec<Element> = on_net.iter().flat_map(|vm| vm_elements(vm)).collect();
    let of = |family: &str, set: &str| -> Vec<String> {
        per_vm
            .iter()
            .filter(|e| e.family == family && e.set == set)
            .map(|e| e.value.clone())
            .collect()
    };
    let (ports, nolocal_ports, own_mac, own_ip, ip_known) = (
        of("bridge", "vm_ports"),
        of("bridge", "nolocal"),
        of("bridge", "own_mac"),
        of("bridge", "own_ip"),
        of("bridge", "ip_known"),
    );
    let (nolocal_macs, fwd_any, fwd_addr) = (
        of("inet", "nolocal_macs"),
        of("inet", "fwd_any"),
        of("inet", "fwd_addr"),
    );
    let set = |name: &str, ty: &str, items: &[String]| {
        format!("\tset {name} {{ type {ty};{} }}", elements(items))
    };
    let interval = |name: &str, items: &[String]| {
        format!(
            "\tset {name} {{ type ipv4_addr; flags interval;{} }}",
            elements(items)
        )
    };
    let drop = |why: &str| format!("counter drop comment \"{why}\"");

    let mut out = String::new();
    let mut w = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    w("#!/usr/sbin/nft -f");
    w("# vmctl host plan: generated by vmctl, do not edit");
    w("table inet vmctl");
    w("delete table inet vmctl");
    w("table inet vmctl {");
    w(&interval("vm_nets", &vm_nets));
    w(&interval("nat_nets", &nat_nets));
    w(&set("gateways", "ipv4_addr", &gateways));
    w(&set("vm_bridges", "ifname", &bridges));
    w(&set("host_only", "ifname", &host_only));
    w(&set("nolocal_macs", "ether_addr", &nolocal_macs));
    w(&set(
        "filtered_macs",
        "ether_addr",
        &of("inet", "filtered_macs"),
    ));
    // Every ordered pair of two different vmctl bridges (nft cannot compare iifname with
    // oifname).
    let cross: Vec<String> = bridges
        .iter()
        .flat_map(|a| {
            bridges
                .iter()
                .filter(move |b| *b != a)
                .map(move |b| format!("{a} . {b}"))
        })
        .collect();
    w(&set("cross_nets", "ifname . ifname", &cross));
    w(&format!(
        "\tmap fwd_any {{ type inet_proto . inet_service : ipv4_addr . inet_service;{} }}",
        elements(&fwd_any)
    ));
    w(&format!(
        "\tmap fwd_addr {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;{} }}",
        elements(&fwd_addr)
    ));
    for hook in ["prerouting", "output"] {
        let (chain, prio) = if hook == "output" {
            ("output_nat", "-100")
        } else {
            ("prerouting", "dstnat")
        };
        w(&format!("\tchain {chain} {{"));
        w(&format!(
            "\t\ttype nat hook {hook} priority {prio}; policy accept;"
        ));
        w("\t\tfib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @fwd_addr");
        w("\t\tfib daddr type local dnat ip to meta l4proto . th dport map @fwd_any");
        w("\t}");
    }
    w("\tchain postrouting {");
    w("\t\ttype nat hook postrouting priority srcnat; policy accept;");
    w("\t\tip saddr @nat_nets oifname != @vm_bridges masquerade");
    w("\t\t# A VM reaching another VM's port forward: the reply must come back through the host.");
    w("\t\tct status dnat ip saddr @vm_nets oifname @vm_bridges masquerade");
    w("\t\tct status dnat ip saddr 127.0.0.0/8 oifname @vm_bridges masquerade");
    w("\t}");
    // Base chains cost every packet that passes their hook, so a hook gets one only when some
    // started VM needs it: VMs without no-local or filter rules (and without the host
    // network) are not slowed down at all.
    let host_net = networks.iter().any(|n| input.host_only(n));
    // VMs of different networks meet only through the host's routing: that is refused (their
    // replies pass), unless the VM that starts it has filter rules, which then decide.
    let between_networks = networks.len() > 1;
    if any_nolocal {
        w("\tchain input {");
        w("\t\ttype filter hook input priority filter; policy accept;");
        w("\t\tether saddr @nolocal_macs jump nolocal_to_host");
        w("\t}");
        w("\tchain nolocal_to_host {");
        w("\t\tct state established,related accept");
        w("\t\tudp sport 68 udp dport 67 accept");
        w("\t\tip daddr @gateways meta l4proto { tcp, udp } th dport 53 accept");
        w(&format!("\t\t{}", drop(c::VM_TO_HOST)));
        w("\t}");
    }
    if host_net || any_nolocal || between_networks {
        w("\tchain forward {");
        w("\t\ttype filter hook forward priority filter; policy accept;");
        if host_net {
            w(&format!(
                "\t\tiifname @host_only oifname != @host_only {}",
                drop(c::HOST_ONLY_OUT)
            ));
            w(&format!(
                "\t\toifname @host_only iifname != @host_only {}",
                drop(c::HOST_ONLY_IN)
            ));
        }
        if between_networks {
            w(&format!(
                "\t\tiifname . oifname @cross_nets ct state new ether saddr != @filtered_macs {}",
                drop(c::BETWEEN_NETWORKS)
            ));
        }
        if any_nolocal {
            w(&format!(
                "\t\tether saddr @nolocal_macs ip daddr @vm_nets {}",
                drop(c::VM_TO_VM_ROUTED)
            ));
        }
        w("\t}");
    }
    w("}");
    w("table bridge vmctl");
    w("delete table bridge vmctl");
    w("table bridge vmctl {");
    w(&interval("local_nets", &local));
    w(&interval("vm_nets", &vm_nets));
    w(&set("gateways", "ipv4_addr", &gateways));
    w(&set("vm_ports", "ifname", &ports));
    w(&set("nolocal", "ifname", &nolocal_ports));
    w(&set("own_mac", "ifname . ether_addr", &own_mac));
    w(&set("own_ip", "ifname . ipv4_addr", &own_ip));
    w(&set("ip_known", "ifname", &ip_known));
    // One verdict-map lookup per hook sends a no-local or filtered VM's frames to its chains.
    w(&format!(
        "\tmap from_vm {{ type ifname : verdict;{} }}",
        elements(&of("bridge", "from_vm"))
    ));
    w(&format!(
        "\tmap to_vm {{ type ifname : verdict;{} }}",
        elements(&of("bridge", "to_vm"))
    ));
    w(&format!(
        "\tmap filter_in {{ type ifname : verdict;{} }}",
        elements(&of("bridge", "filter_in"))
    ));
    if any_nolocal || any_filtered {
        w("\tchain prerouting {");
        w("\t\ttype filter hook prerouting priority filter; policy accept;");
        w("\t\tiifname vmap @from_vm");
        w("\t}");
        // To a VM: frames bridged from another port pass `forward` (every port is a VM's),
        // frames from the host (its own or routed) pass `output`.
        w("\tchain forward {");
        w("\t\ttype filter hook forward priority filter; policy accept;");
        if any_nolocal {
            w(&format!("\t\tiifname @nolocal {}", drop(c::VM_TO_VM)));
        }
        w("\t\toifname vmap @to_vm");
        w("\t}");
        w("\tchain output {");
        w("\t\ttype filter hook output priority filter; policy accept;");
        if any_nolocal {
            w(&format!(
                "\t\toifname @nolocal ip saddr @vm_nets ip saddr != @gateways {}",
                drop(c::ROUTED_TO_VM)
            ));
        }
        if any_filtered {
            w("\t\toifname vmap @filter_in");
        }
        w("\t}");
    }
    if any_nolocal {
        w("\tchain nolocal_isolated {");
        w(&format!("\t\t{}", drop(c::VM_TO_VM)));
        w("\t}");
    }
    if any_nolocal {
        // One ethertype dispatch, then only the checks of that kind of frame; `goto`, so
        // that a frame passing them returns to whoever jumped to the guard.
        w("\tchain nolocal_guard {");
        w(&format!(
            "\t\tiifname . ether saddr != @own_mac {}",
            drop(c::FORGED_MAC)
        ));
        w(
            "\t\tether type vmap { ip : goto nolocal_ip, arp : goto nolocal_arp, ip6 : goto nolocal_ip6 }",
        );
        w(&format!("\t\t{}", drop(c::OTHER_ETHERTYPE)));
        w("\t}");
        w("\tchain nolocal_ip {");
        w("\t\tip saddr 0.0.0.0 udp sport 68 udp dport 67 return");
        w(&format!("\t\tiifname != @ip_known {}", drop(c::IP_EARLY)));
        w(&format!(
            "\t\tiifname . ip saddr != @own_ip {}",
            drop(c::FORGED_IP)
        ));
        w("\t}");
        w("\tchain nolocal_arp {");
        w(&format!(
            "\t\tiifname . arp saddr ether != @own_mac {}",
            drop(c::ARP_MAC)
        ));
        w("\t\tarp saddr ip 0.0.0.0 return");
        w(&format!("\t\tiifname != @ip_known {}", drop(c::ARP_EARLY)));
        w(&format!(
            "\t\tiifname . arp saddr ip != @own_ip {}",
            drop(c::ARP_IP)
        ));
        w("\t}");
        w("\tchain nolocal_ip6 {");
        w(&format!("\t\t{}", drop(c::IPV6)));
        w("\t}");
    }
    write_filter_chains(&mut w, &filtered);
    w("}");
    out
}

/// One element of a set or map of vmctl's tables that exists because of one VM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Element {
    /// `inet` or `bridge` (the table is `vmctl` in both).
    pub family: &'static str,
    pub set: &'static str,
    pub value: String,
}

/// Every set and map element a VM on a vmctl network puts in the ruleset. The full file and
/// the incremental update (`update`) both come from here, so they cannot disagree.
pub fn vm_elements(vm: &StartedVm) -> Vec<Element> {
    let mut out = Vec::new();
    let mut add = |family, set, value: String| out.push(Element { family, set, value });
    let port = quoted(&vm_link_name(&vm.name));
    add("bridge", "vm_ports", port.clone());
    if vm.no_local {
        add("bridge", "nolocal", port.clone());
        add("bridge", "own_mac", format!("{port} . {}", Mac(vm.mac)));
        add("inet", "nolocal_macs", Mac(vm.mac).to_string());
        if let Some(ip) = vm.ip {
            add("bridge", "own_ip", format!("{port} . {ip}"));
            add("bridge", "ip_known", port.clone());
        }
    }
    if vm.filter.is_some() {
        // Its rules decide whether it may reach another vmctl network.
        add("inet", "filtered_macs", Mac(vm.mac).to_string());
    }
    let (out_chain, in_chain) = (chain_name(vm, "out"), chain_name(vm, "in"));
    match (vm.no_local, vm.filter.is_some()) {
        (false, false) => {}
        (true, false) => {
            add("bridge", "from_vm", format!("{port} : jump nolocal_guard"));
            add("bridge", "to_vm", format!("{port} : jump nolocal_isolated"));
        }
        (no_local, true) => {
            // The VM's own chain runs the no-local guard first (see `write_filter_chains`).
            add("bridge", "from_vm", format!("{port} : jump {out_chain}"));
            let to = if no_local {
                "nolocal_isolated"
            } else {
                &in_chain
            };
            add("bridge", "to_vm", format!("{port} : jump {to}"));
            add("bridge", "filter_in", format!("{port} : jump {in_chain}"));
        }
    }
    if let Some(ip) = vm.ip {
        for pf in &vm.port_forwards {
            let (proto, target) = (pf.protocol.name(), format!("{ip} . {}", pf.guest_port));
            if pf.host_ip.is_unspecified() {
                add(
                    "inet",
                    "fwd_any",
                    format!("{proto} . {} : {target}", pf.host_port),
                );
            } else {
                add(
                    "inet",
                    "fwd_addr",
                    format!("{} . {proto} . {} : {target}", pf.host_ip, pf.host_port),
                );
            }
        }
    }
    out
}

/// The nft commands that turn the ruleset of `old` into that of `new` element by element, or
/// `None` when more than elements differ (a network comes or goes, a VM's filter chains, the
/// first no-local VM, the address plan): then the whole file is reloaded. Adding an element costs a fraction of a
/// reload, whose table deletion waits for the kernel's RCU grace period.
pub fn update(old: &PlanInput, new: &PlanInput) -> Option<String> {
    let fixed = |input: &PlanInput| {
        let networks: Vec<_> = input
            .networks()
            .into_iter()
            .map(|n| (n.to_owned(), *input.address_plan(n), input.host_only(n)))
            .collect();
        let chains: Vec<_> = input
            .vms
            .iter()
            .filter(|vm| on_network(vm) && vm.filter.is_some())
            .map(|vm| (vm.name.clone(), vm.filter.clone(), vm.no_local))
            .collect();
        let nolocal = input.vms.iter().any(|vm| on_network(vm) && vm.no_local);
        (networks, chains, nolocal)
    };
    if fixed(old) != fixed(new) {
        return None;
    }
    let all = |input: &PlanInput| -> std::collections::BTreeSet<Element> {
        input
            .vms
            .iter()
            .filter(|vm| on_network(vm))
            .flat_map(vm_elements)
            .collect()
    };
    let (before, after) = (all(old), all(new));
    let mut text = String::new();
    for (verb, elements) in [
        ("delete", before.difference(&after)),
        ("add", after.difference(&before)),
    ] {
        for e in elements {
            // A map element is deleted by its key alone.
            let value = match (verb, e.value.split_once(" : ")) {
                ("delete", Some((key, _))) => key,
                _ => e.value.as_str(),
            };
            let _ = writeln!(
                text,
                "{verb} element {} vmctl {} {{ {value} }}",
                e.family, e.set
            );
        }
    }
    Some(text)
}

/// Each filtered VM's rules, in rule order, as two chains: from the VM and to it.
fn write_filter_chains(w: &mut impl FnMut(&str), vms: &[&&StartedVm]) {
    for vm in vms {
        let Some(rules) = &vm.filter else { continue };
        for (dir, direction) in [("out", Direction::Out), ("in", Direction::In)] {
            w(&format!("\tchain {} {{", chain_name(vm, dir)));
            w(&format!(
                "\t\t# vm {}: packets {} the VM",
                vm.name,
                if dir == "out" { "from" } else { "to" }
            ));
            if dir == "out" && vm.no_local {
                w("\t\tjump nolocal_guard");
            }
            // Filter rules speak IP: ARP and the like pass.
            w("\t\tether type != { ip, ip6 } return");
            for rule in rules.render_nft(direction, "local_nets") {
                // Counted, so `nft list table bridge vmctl` shows which rule did it.
                let counted = match rule.rsplit_once(' ') {
                    Some((matches, verdict)) => format!("{matches} counter {verdict}"),
                    None => format!("counter {rule}"),
                };
                w(&format!("\t\t{counted}"));
            }
            w("\t}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_input;
    use super::*;

    #[test]
    fn snapshot() {
        let plan = plan(&sample_input()).unwrap();
        let text = format!(
            "## links\n{}## dnsmasq\n{}## nft\n{}## notes\n{}\n",
            plan.links_text(),
            plan.dnsmasq_text(),
            plan.nft,
            plan.notes.join("\n")
        );
        crate::test_support::assert_snapshot("linux_plan.txt", &text);
    }

    #[test]
    fn per_packet_rules_do_not_grow_with_vms() {
        let mut input = sample_input();
        let small = plan(&input).unwrap().nft;
        let template = input.vms[1].clone();
        for i in 0..200 {
            let mut vm = template.clone();
            vm.name = format!("extra{i}");
            vm.filter = None;
            let [hi, lo] = u16::try_from(i).unwrap().to_be_bytes();
            vm.mac = macaddr::MacAddr6::new(0x52, 0x54, 1, 0, hi, lo);
            vm.ip = None;
            input.vms.push(vm);
        }
        let big = plan(&input).unwrap().nft;
        let rule_lines = |t: &str| {
            t.lines()
                .filter(|l| l.starts_with("\t\t") && !l.contains("type "))
                .count()
        };
        assert_eq!(
            rule_lines(&small),
            rule_lines(&big),
            "base-chain rules must not depend on the VM count"
        );
    }

    /// `nft -c` inside a private network namespace: the file must load as a whole.
    #[test]
    fn nft_accepts_the_plan() {
        let Some(nft) = crate::test_support::nft_checker() else {
            return;
        };
        let plan = plan(&sample_input()).unwrap();
        nft(&plan.nft);
        // And an empty host: every set empty; and VMs without no-local or filters, which get
        // no filter hooks at all.
        let mut input = sample_input();
        input.vms.clear();
        nft(&super::plan(&input).unwrap().nft);
        let mut input = sample_input();
        for vm in &mut input.vms {
            vm.no_local = false;
            vm.filter = None;
        }
        let hookless = super::plan(&input).unwrap().nft;
        assert!(
            !hookless.contains("hook input") && !hookless.contains("type filter hook prerouting")
        );
        nft(&hookless);
    }
}
