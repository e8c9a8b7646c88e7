//! The Linux plan's nftables file: `table inet vmctl` and `table bridge vmctl`, each deleted
//! and recreated in one transaction, with each filtered VM's rules in chains of its own.
//!
//! Each function below writes one part of the file, one line of code per line of nft.

use ipnetwork::Ipv4Network;

use self::counters as c;
use super::elements::{Element, chain_name, quoted, vm_elements};
use super::filter_nft::render_nft;
use super::on_network;
use crate::model::filter::Direction;
use crate::model::names::bridge_name;
use crate::plan::{LOCAL_RANGES, PlanInput};
use crate::store::StartedVm;

/// `elements = { a, b }`, or nothing for an empty set (nft rejects `{ }`).
fn elements(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }};", items.join(", "))
    }
}

/// Comments of the counted drop rules: `nft list table bridge vmctl` (or `inet vmctl`) shows
/// what each stopped. The macOS frame policy (`relay::policy`) says why it drops a frame in the
/// same words.
pub mod counters {
    // The floor: every VM on a vmctl network is pinned to its identity.
    pub const FORGED_MAC: &str = "frame from a MAC not the VM's";
    pub const TAGGED: &str = "802.1Q/802.1ad tagged frame from a VM";
    pub const IPV6: &str = "IPv6 (vmctl networks are IPv4 only)";
    pub const OTHER_ETHERTYPE: &str = "neither IPv4 nor ARP";
    pub const ARP_MAC: &str = "ARP with a MAC not the VM's";
    pub const ARP_IP: &str = "ARP for an address not the VM's";
    pub const FORGED_IP: &str = "IPv4 from an address not the VM's";
    pub const DHCP_CHADDR: &str = "DHCP for a MAC not the VM's";
    pub const DHCP_SERVER: &str = "DHCP server traffic from a VM";
    // Isolation.
    pub const VM_TO_VM: &str = "no-local: VM to VM";
    pub const ROUTED_TO_VM: &str = "no-local: routed from another VM";
    pub const VM_TO_HOST: &str = "no-local: VM to host";
    pub const VM_TO_VM_ROUTED: &str = "no-local: VM to another VM network";
    pub const HOST_ONLY_OUT: &str = "host-only: no route out";
    pub const HOST_ONLY_IN: &str = "host-only: no route in";
    pub const BETWEEN_NETWORKS: &str = "VM to another vmctl network (no filter rules pass it)";
    pub const OTHER_GATEWAY: &str = "VM to another network's gateway";
    // From outside.
    pub const LOOPBACK: &str = "to the host's loopback from outside it";
    pub const INTO_VM_NETS: &str = "from outside to a VM network, not a port forward";
}

/// `\tset NAME { type TYPE; elements = { ... }; }`.
fn set(name: &str, ty: &str, items: &[String]) -> String {
    format!("\tset {name} {{ type {ty};{} }}", elements(items))
}

/// An interval set of IPv4 networks.
fn interval(name: &str, items: &[String]) -> String {
    format!(
        "\tset {name} {{ type ipv4_addr; flags interval;{} }}",
        elements(items)
    )
}

/// A counted drop, with the comment `nft list` shows.
fn drop(why: &str) -> String {
    format!("counter drop comment \"{why}\"")
}

/// What the file is made of: the sets' elements, and which hooks need chains.
struct Ruleset<'a> {
    /// `local` of the filter rules: the private ranges, plus each network they miss.
    local: Vec<String>,
    vm_nets: Vec<String>,
    nat_nets: Vec<String>,
    gateways: Vec<String>,
    /// Every vmctl bridge, quoted.
    bridges: Vec<String>,
    host_only: Vec<String>,
    /// Elements that exist because of one VM (see `vm_elements`).
    per_vm: Vec<Element>,
    /// VMs on a network with filter rules, in plan order.
    filtered: Vec<&'a StartedVm>,
    any_nolocal: bool,
    /// A host-only network exists.
    host_net: bool,
    /// VMs of different networks meet only through the host's routing: that is refused (their
    /// replies pass), unless the VM that starts it has filter rules, which then decide.
    between_networks: bool,
}

impl<'a> Ruleset<'a> {
    fn new(input: &'a PlanInput) -> Self {
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
        Ruleset {
            local,
            vm_nets: subnets.iter().map(ToString::to_string).collect(),
            nat_nets: networks
                .iter()
                .filter(|n| !input.host_only(n))
                .map(|n| input.address_plan(n).subnet().to_string())
                .collect(),
            gateways: networks
                .iter()
                .map(|n| input.address_plan(n).gateway().to_string())
                .collect(),
            bridges: networks.iter().map(|n| quoted(&bridge_name(n))).collect(),
            host_only: networks
                .iter()
                .filter(|n| input.host_only(n))
                .map(|n| quoted(&bridge_name(n)))
                .collect(),
            per_vm: on_net.iter().flat_map(|vm| vm_elements(vm)).collect(),
            filtered: on_net
                .iter()
                .copied()
                .filter(|vm| vm.filter.is_some())
                .collect(),
            any_nolocal: on_net.iter().any(|vm| vm.no_local),
            host_net: networks.iter().any(|n| input.host_only(n)),
            between_networks: networks.len() > 1,
        }
    }

    fn any_filtered(&self) -> bool {
        !self.filtered.is_empty()
    }

    /// The per-VM elements of one set or map.
    fn of(&self, family: &str, set: &str) -> Vec<String> {
        self.per_vm
            .iter()
            .filter(|e| e.family == family && e.set == set)
            .map(|e| e.value.clone())
            .collect()
    }
}

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
pub(super) fn nft(input: &PlanInput) -> String {
    let r = Ruleset::new(input);
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
    inet_sets(&mut w, &r);
    nat_chains(&mut w);
    inet_filter_chains(&mut w, &r);
    w("}");
    w("table bridge vmctl");
    w("delete table bridge vmctl");
    w("table bridge vmctl {");
    bridge_sets(&mut w, &r);
    bridge_hooks(&mut w, &r);
    if r.any_nolocal {
        nolocal_chains(&mut w);
    }
    write_filter_chains(&mut w, &r.filtered);
    w("}");
    out
}

/// The inet table's sets and the port-forward maps.
fn inet_sets(w: &mut impl FnMut(&str), r: &Ruleset) {
    w(&interval("vm_nets", &r.vm_nets));
    w(&interval("nat_nets", &r.nat_nets));
    w(&set("gateways", "ipv4_addr", &r.gateways));
    w(&set("vm_bridges", "ifname", &r.bridges));
    w(&set("host_only", "ifname", &r.host_only));
    w(&set(
        "nolocal_macs",
        "ether_addr",
        &r.of("inet", "nolocal_macs"),
    ));
    w(&set(
        "filtered_macs",
        "ether_addr",
        &r.of("inet", "filtered_macs"),
    ));
    // Every ordered pair of two different vmctl bridges (nft cannot compare iifname with
    // oifname).
    let cross: Vec<String> = r
        .bridges
        .iter()
        .flat_map(|a| {
            r.bridges
                .iter()
                .filter(move |b| *b != a)
                .map(move |b| format!("{a} . {b}"))
        })
        .collect();
    w(&set("cross_nets", "ifname . ifname", &cross));
    w(&format!(
        "\tmap fwd_any {{ type inet_proto . inet_service : ipv4_addr . inet_service;{} }}",
        elements(&r.of("inet", "fwd_any"))
    ));
    w(&format!(
        "\tmap fwd_addr {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;{} }}",
        elements(&r.of("inet", "fwd_addr"))
    ));
}

/// Port forwards (from outside and from the host itself) and the masquerade.
fn nat_chains(w: &mut impl FnMut(&str)) {
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
}

/// The inet filter hooks: no-local VMs to the host, host-only networks, between networks.
///
/// Base chains cost every packet that passes their hook, so a hook gets one only when some
/// started VM needs it: VMs without no-local or filter rules (and without the host
/// network) are not slowed down at all.
fn inet_filter_chains(w: &mut impl FnMut(&str), r: &Ruleset) {
    if r.any_nolocal {
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
    if r.host_net || r.any_nolocal || r.between_networks {
        w("\tchain forward {");
        w("\t\ttype filter hook forward priority filter; policy accept;");
        if r.host_net {
            w(&format!(
                "\t\tiifname @host_only oifname != @host_only {}",
                drop(c::HOST_ONLY_OUT)
            ));
            w(&format!(
                "\t\toifname @host_only iifname != @host_only {}",
                drop(c::HOST_ONLY_IN)
            ));
        }
        if r.between_networks {
            w(&format!(
                "\t\tiifname . oifname @cross_nets ct state new ether saddr != @filtered_macs {}",
                drop(c::BETWEEN_NETWORKS)
            ));
        }
        if r.any_nolocal {
            w(&format!(
                "\t\tether saddr @nolocal_macs ip daddr @vm_nets {}",
                drop(c::VM_TO_VM_ROUTED)
            ));
        }
        w("\t}");
    }
}

/// The bridge table's sets, and the verdict maps that send a VM's frames to its chains.
fn bridge_sets(w: &mut impl FnMut(&str), r: &Ruleset) {
    w(&interval("local_nets", &r.local));
    w(&interval("vm_nets", &r.vm_nets));
    w(&set("gateways", "ipv4_addr", &r.gateways));
    w(&set("vm_ports", "ifname", &r.of("bridge", "vm_ports")));
    w(&set("nolocal", "ifname", &r.of("bridge", "nolocal")));
    w(&set(
        "own_mac",
        "ifname . ether_addr",
        &r.of("bridge", "own_mac"),
    ));
    w(&set(
        "own_ip",
        "ifname . ipv4_addr",
        &r.of("bridge", "own_ip"),
    ));
    w(&set("ip_known", "ifname", &r.of("bridge", "ip_known")));
    // One verdict-map lookup per hook sends a no-local or filtered VM's frames to its chains.
    w(&format!(
        "\tmap from_vm {{ type ifname : verdict;{} }}",
        elements(&r.of("bridge", "from_vm"))
    ));
    w(&format!(
        "\tmap to_vm {{ type ifname : verdict;{} }}",
        elements(&r.of("bridge", "to_vm"))
    ));
    w(&format!(
        "\tmap filter_in {{ type ifname : verdict;{} }}",
        elements(&r.of("bridge", "filter_in"))
    ));
}

/// The bridge hooks, when a no-local or filtered VM needs them.
fn bridge_hooks(w: &mut impl FnMut(&str), r: &Ruleset) {
    if !(r.any_nolocal || r.any_filtered()) {
        return;
    }
    w("\tchain prerouting {");
    w("\t\ttype filter hook prerouting priority filter; policy accept;");
    w("\t\tiifname vmap @from_vm");
    w("\t}");
    // To a VM: frames bridged from another port pass `forward` (every port is a VM's),
    // frames from the host (its own or routed) pass `output`.
    w("\tchain forward {");
    w("\t\ttype filter hook forward priority filter; policy accept;");
    if r.any_nolocal {
        w(&format!("\t\tiifname @nolocal {}", drop(c::VM_TO_VM)));
    }
    w("\t\toifname vmap @to_vm");
    w("\t}");
    w("\tchain output {");
    w("\t\ttype filter hook output priority filter; policy accept;");
    if r.any_nolocal {
        w(&format!(
            "\t\toifname @nolocal ip saddr @vm_nets ip saddr != @gateways {}",
            drop(c::ROUTED_TO_VM)
        ));
    }
    if r.any_filtered() {
        w("\t\toifname vmap @filter_in");
    }
    w("\t}");
}

/// The no-local chains: isolation, and the anti-spoofing guard.
fn nolocal_chains(w: &mut impl FnMut(&str)) {
    w("\tchain nolocal_isolated {");
    w(&format!("\t\t{}", drop(c::VM_TO_VM)));
    w("\t}");
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
    w(&format!("\t\tiifname != @ip_known {}", drop(c::FORGED_IP)));
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
    w(&format!("\t\tiifname != @ip_known {}", drop(c::ARP_IP)));
    w(&format!(
        "\t\tiifname . arp saddr ip != @own_ip {}",
        drop(c::ARP_IP)
    ));
    w("\t}");
    w("\tchain nolocal_ip6 {");
    w(&format!("\t\t{}", drop(c::IPV6)));
    w("\t}");
}

/// Each filtered VM's rules, in rule order, as two chains: from the VM and to it.
fn write_filter_chains(w: &mut impl FnMut(&str), vms: &[&StartedVm]) {
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
            for rule in render_nft(rules, direction, "local_nets") {
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
