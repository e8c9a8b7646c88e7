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
    pub const OTHER_GATEWAY: &str = "to a gateway from outside its network";
    pub const LINK_LOCAL: &str = "link-local group frame from a VM (STP, LLDP, 802.1X, ...)";
    // From outside.
    pub const LOOPBACK: &str = "to the host's loopback from outside it";
    pub const INTO_VM_NETS: &str = "from outside to a VM network, not a port forward";
}

/// How long an address learned from a DHCP ACK as it passes stays usable without
/// `vmctl lease-event` confirming it.
pub const LEARNED_SECONDS: u32 = 120;

/// `\tset NAME { type TYPE; elements = { ... }; }`.
fn set(name: &str, ty: &str, items: &[String]) -> String {
    format!("\tset {name} {{ type {ty};{} }}", elements(items))
}

/// `\tmap NAME { type TYPE; elements = { ... }; }` of the per-VM elements of `family`.
fn map(r: &Ruleset, family: &str, name: &str, ty: &str) -> String {
    format!(
        "\tmap {name} {{ type {ty};{} }}",
        elements(&r.of(family, name))
    )
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
    /// `local` of the filter rules: the private ranges, each network they miss, and the
    /// host's own addresses outside them.
    local: Vec<String>,
    vm_nets: Vec<String>,
    nat_nets: Vec<String>,
    gateways: Vec<String>,
    /// Every vmctl bridge, quoted.
    bridges: Vec<String>,
    /// Each bridge with its own gateway: a VM talks to its own network's gateway only.
    own_gateway: Vec<String>,
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
        let mut local: Vec<Ipv4Network> = LOCAL_RANGES
            .iter()
            .filter_map(|r| r.parse::<Ipv4Network>().ok())
            .collect();
        let host: Vec<Ipv4Network> = input
            .host_addresses
            .iter()
            .filter(|a| !a.is_loopback() && !a.is_unspecified())
            .map(|a| Ipv4Network::from(*a))
            .collect();
        for net in subnets.iter().chain(&host) {
            // nft refuses overlapping intervals in one set.
            let covered = local
                .iter()
                .any(|r| r.contains(net.network()) && r.prefix() <= net.prefix());
            if !covered {
                local.push(*net);
            }
        }
        Ruleset {
            local: local.iter().map(ToString::to_string).collect(),
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
            own_gateway: networks
                .iter()
                .map(|n| {
                    format!(
                        "{} . {}",
                        quoted(&bridge_name(n)),
                        input.address_plan(n).gateway()
                    )
                })
                .collect(),
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
/// everything keyed on a VM's link lives in the bridge family: the floor every VM stands on
/// (its MAC, ARP, IPv4 source and DHCP identity pinned; no tags, no IPv6, no DHCP server) in
/// `prerouting`, isolation in `prerouting` / `forward` / `output`, the VM's filter rules in
/// `prerouting` (from the VM, to anywhere) and `forward` + `output` (to the VM). The inet hooks
/// guard the host: its loopback, other networks' gateways, and VM networks seen from outside.
/// A VM's MAC is pinned to its bridge port, so inet rules may key on `bridge . MAC`. The
/// ruleset is correct with `bridge-nf-call-iptables` on or off; with it off, hairpin port
/// forwards work through the masquerade in `postrouting`.
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
    floor_chains(&mut w);
    if r.any_nolocal {
        w("\tchain nolocal_isolated {");
        w(&format!("\t\t{}", drop(c::VM_TO_VM)));
        w("\t}");
        // From the host to a no-local VM: nothing another VM sent (routed between networks).
        w("\tchain nolocal_routed {");
        w(&format!(
            "\t\tip saddr @vm_nets ip saddr != @gateways {}",
            drop(c::ROUTED_TO_VM)
        ));
        w("\t}");
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
    w(&set("own_gateway", "ifname . ipv4_addr", &r.own_gateway));
    w(&set("vm_bridges", "ifname", &r.bridges));
    w(&set("host_only", "ifname", &r.host_only));
    w(&set(
        "nolocal_macs",
        "ether_addr",
        &r.of("inet", "nolocal_macs"),
    ));
    w(&set(
        "filtered_src",
        "ifname . ether_addr",
        &r.of("inet", "filtered_src"),
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
    w(&map(
        r,
        "inet",
        "fwd_any",
        "inet_proto . inet_service : ipv4_addr . inet_service",
    ));
    w(&map(
        r,
        "inet",
        "fwd_addr",
        "ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service",
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
        if hook == "prerouting" {
            // A forward bound to 127.0.0.1 is the host's own: no DNAT for 127/8 from outside.
            w(&format!(
                "\t\tip daddr 127.0.0.0/8 iif != \"lo\" {}",
                drop(c::LOOPBACK)
            ));
        }
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

/// The inet filter hooks: the host's loopback, other networks' gateways, VM networks from
/// outside; no-local VMs to the host; host-only networks; between networks.
fn inet_filter_chains(w: &mut impl FnMut(&str), r: &Ruleset) {
    w("\tchain input {");
    w("\t\ttype filter hook input priority filter; policy accept;");
    // Replies to the host's own forwards to 127.0.0.1 arrive from a bridge as 127.0.0.1.
    w("\t\tct state established,related accept");
    // The bridges allow loopback sources (`route_localnet`, for the host's own forwards to
    // 127.0.0.1), so nothing else from outside may reach 127/8 (what skips the NAT hook).
    w(&format!(
        "\t\tip daddr 127.0.0.0/8 iif != \"lo\" {}",
        drop(c::LOOPBACK)
    ));
    // DHCP, DNS and the host's services at a gateway: from its own network only (not from
    // another network's VMs, not from the WAN), or from the host itself.
    w(&format!(
        "\t\tip daddr @gateways iif != \"lo\" iifname . ip daddr != @own_gateway {}",
        drop(c::OTHER_GATEWAY)
    ));
    if r.any_nolocal {
        w("\t\tether saddr @nolocal_macs jump nolocal_to_host");
    }
    w("\t}");
    if r.any_nolocal {
        w("\tchain nolocal_to_host {");
        w("\t\tct state established,related accept");
        w("\t\tudp sport 68 udp dport 67 accept");
        w("\t\tip daddr @gateways meta l4proto { tcp, udp } th dport 53 accept");
        w(&format!("\t\t{}", drop(c::VM_TO_HOST)));
        w("\t}");
    }
    w("\tchain forward {");
    w("\t\ttype filter hook forward priority filter; policy accept;");
    // Every rule below is about what may start: the traffic that did passes at one compare.
    w("\t\tct state established,related accept");
    // From outside, only port forwards (DNAT) reach a VM network.
    w(&format!(
        "\t\toifname @vm_bridges iifname != @vm_bridges ct status ! dnat {}",
        drop(c::INTO_VM_NETS)
    ));
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
        // Keyed on the VM's bridge and MAC, which the bridge table pins to its port.
        w(&format!(
            "\t\tiifname . oifname @cross_nets ct state new iifname . ether saddr != @filtered_src {}",
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
    // A DHCP message's client MAC (`chaddr`, 36 bytes into the UDP header), as raw bits.
    w(&format!(
        "\tset own_chaddr {{ typeof iifname . @th,288,48;{} }}",
        elements(&r.of("bridge", "own_chaddr"))
    ));
    // A port's MAC and address together: one lookup passes a VM's ordinary IPv4 packet.
    w(&set(
        "own_ip",
        "ifname . ether_addr . ipv4_addr",
        &r.of("bridge", "own_ip"),
    ));
    // Addresses the gateway's DHCP ACKs gave, learned as the ACK passes, so a VM may use its
    // address at once, before `vmctl lease-event` has put it in `own_ip` (which is what
    // lasts): they expire after `LEARNED_SECONDS`.
    w("\tset learned { typeof iifname . @nh,96,32; flags timeout; }");
    // One verdict-map lookup per hook sends a VM's frames to its chains: from every VM to the
    // floor (through its filter chain when it has rules), to a no-local or filtered VM.
    w(&map(r, "bridge", "from_vm", "ifname : verdict"));
    w(&map(r, "bridge", "to_vm", "ifname : verdict"));
    w(&map(r, "bridge", "host_to_vm", "ifname : verdict"));
}

/// The bridge hooks: every VM's frames pass the floor; no-local and filtered VMs' frames then
/// their own chains.
fn bridge_hooks(w: &mut impl FnMut(&str), r: &Ruleset) {
    w("\tchain prerouting {");
    w("\t\ttype filter hook prerouting priority filter; policy accept;");
    w("\t\tiifname vmap @from_vm");
    w("\t}");
    // To a VM: frames bridged from another port pass `forward` (every port is a VM's),
    // frames from the host (its own or routed) pass `output`.
    if r.any_nolocal || r.any_filtered() {
        w("\tchain forward {");
        w("\t\ttype filter hook forward priority filter; policy accept;");
        if r.any_nolocal {
            w(&format!("\t\tiifname @nolocal {}", drop(c::VM_TO_VM)));
        }
        w("\t\toifname vmap @to_vm");
        w("\t}");
    }
    // Frames to an IEEE link-local group (01:80:c2:00:00:0X) skip `prerouting`: the bridge
    // hands them to the host through `input`, and learns their source MAC, unless dropped here.
    w("\tchain input {");
    w("\t\ttype filter hook input priority filter; policy accept;");
    w(&format!(
        "\t\tether daddr & ff:ff:ff:ff:ff:f0 == 01:80:c2:00:00:00 iifname @vm_ports {}",
        drop(c::LINK_LOCAL)
    ));
    w("\t}");
    w("\tchain output {");
    w("\t\ttype filter hook output priority filter; policy accept;");
    // The gateway's DHCP ACK (message type 5, dnsmasq's first option) for a VM's own MAC.
    w(&format!(
        "\t\tudp sport 67 udp dport 68 ip saddr @gateways @th,1984,24 0x350105 @th,192,32 != 0 oifname . @th,288,48 @own_chaddr update @learned {{ oifname . @th,192,32 timeout {LEARNED_SECONDS}s }}"
    ));
    w(&format!(
        "\t\tether type ip6 oifname @vm_ports {}",
        drop(c::IPV6)
    ));
    if r.any_nolocal || r.any_filtered() {
        w("\t\toifname vmap @host_to_vm");
    }
    w("\t}");
}

/// The floor under every VM: its frames carry its MAC; ARP and IPv4 its address (0.0.0.0
/// only for DHCP and ARP probes); DHCP its MAC as the client; nothing tagged, no IPv6, no
/// DHCP server. One ethertype dispatch, then only the checks of that kind of frame; `goto`,
/// so that a frame passing them returns to `prerouting`.
fn floor_chains(w: &mut impl FnMut(&str)) {
    w("\tchain floor {");
    // The common case first: TCP from the port's own MAC and address. `ether type ip`, not
    // `meta l4proto` alone, which sees through a VLAN tag the kernel took into metadata.
    w("\t\tether type ip meta l4proto tcp iifname . ether saddr . ip saddr @own_ip return");
    // `ether type` sees a VLAN tag the kernel has taken into the packet's metadata (VID 0
    // too).
    w(
        "\t\tether type vmap { ip : goto floor_ip, arp : goto floor_arp, ip6 : goto floor_ip6, 8021q : goto floor_tagged, 8021ad : goto floor_tagged }",
    );
    w(&format!("\t\t{}", drop(c::OTHER_ETHERTYPE)));
    w("\t}");
    w("\tchain floor_ip {");
    w("\t\tmeta l4proto icmp iifname . ether saddr . ip saddr @own_ip return");
    w(&format!(
        "\t\tiifname . ether saddr != @own_mac {}",
        drop(c::FORGED_MAC)
    ));
    // A first fragment could leave the client MAC to a later one, which no rule reads.
    w(&format!(
        "\t\tudp dport 67 ip frag-off & 0x2000 != 0 {}",
        drop(c::DHCP_CHADDR)
    ));
    w(&format!(
        "\t\tudp dport 67 iifname . @th,288,48 != @own_chaddr {}",
        drop(c::DHCP_CHADDR)
    ));
    w(&format!("\t\tudp sport 67 {}", drop(c::DHCP_SERVER)));
    w(&format!("\t\tudp dport 68 {}", drop(c::DHCP_SERVER)));
    w("\t\tiifname . ether saddr . ip saddr @own_ip return");
    w("\t\tip saddr 0.0.0.0 udp sport 68 udp dport 67 return");
    w("\t\tiifname . @nh,96,32 @learned return");
    w(&format!("\t\t{}", drop(c::FORGED_IP)));
    w("\t}");
    w("\tchain floor_arp {");
    w(&format!(
        "\t\tiifname . ether saddr != @own_mac {}",
        drop(c::FORGED_MAC)
    ));
    w(&format!(
        "\t\tiifname . arp saddr ether != @own_mac {}",
        drop(c::ARP_MAC)
    ));
    w("\t\tiifname . arp saddr ether . arp saddr ip @own_ip return");
    w("\t\tarp saddr ip 0.0.0.0 return");
    // The sender address, 14 bytes into the ARP header.
    w("\t\tiifname . @nh,112,32 @learned return");
    w(&format!("\t\t{}", drop(c::ARP_IP)));
    w("\t}");
    w("\tchain floor_ip6 {");
    w(&format!("\t\t{}", drop(c::IPV6)));
    w("\t}");
    w("\tchain floor_tagged {");
    w(&format!("\t\t{}", drop(c::TAGGED)));
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
            if dir == "out" {
                w("\t\tjump floor");
            } else if vm.no_local {
                w("\t\tjump nolocal_routed");
            }
            // Filter rules speak IPv4 (the floor drops IPv6 and tagged frames): ARP passes.
            w("\t\tether type != ip return");
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
