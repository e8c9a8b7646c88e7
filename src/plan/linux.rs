//! The Linux plan: bridges and TAP/macvtap links, dnsmasq configuration per network, and one
//! nftables file holding `table inet vmctl` and `table bridge vmctl` in atomic-reload form.
//!
//! Per-packet cost does not grow with the number of VMs: each hook does a fixed number of set
//! and map lookups keyed by interface or address; a VM's filter rules live in its own chains,
//! reached through a verdict map.

use std::fmt::{self, Write};

use ipnetwork::Ipv4Network;
use serde::Serialize;

use super::{LOCAL_RANGES, PlanInput, PlanVm, bridge_name, short_hash, vm_link_name};
use crate::error::Error;
use crate::model::filter::Direction;
use crate::model::{Mac, Mode};

/// A link the backend creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Link {
    /// A network's bridge with the gateway address.
    Bridge {
        name: String,
        network: String,
        address: String,
    },
    /// A VM's TAP (or veth with `--attach netns:`) on its network's bridge.
    Tap {
        name: String,
        vm: String,
        mac: String,
        master: String,
    },
    /// A bridge-mode VM's macvtap on a host interface (`None`: the default route's).
    Macvtap {
        name: String,
        vm: String,
        mac: String,
        parent: Option<String>,
        vlan: u16,
    },
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Bridge {
                name,
                network,
                address,
            } => write!(f, "bridge  {name} address {address}  # network {network}"),
            Link::Tap {
                name,
                vm,
                mac,
                master,
            } => write!(f, "tap     {name} mac {mac} master {master}  # vm {vm}"),
            Link::Macvtap {
                name,
                vm,
                mac,
                parent,
                vlan,
            } => {
                let parent = parent.as_deref().unwrap_or("<default route interface>");
                let vlan = if *vlan == 0 {
                    String::new()
                } else {
                    format!(" vlan {vlan}")
                };
                write!(
                    f,
                    "macvtap {name} mac {mac} link {parent}{vlan} mode bridge  # vm {vm}"
                )
            }
        }
    }
}

/// dnsmasq's files for one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsmasqNetwork {
    pub network: String,
    /// `dnsmasq --conf-file` contents.
    pub conf: String,
    /// Files of `--dhcp-hostsdir`: (file name, contents), one per VM.
    pub hosts: Vec<(String, String)>,
}

/// Everything the Linux backend applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinuxPlan {
    pub links: Vec<Link>,
    pub dnsmasq: Vec<DnsmasqNetwork>,
    /// One `nft -f` file: both tables, deleted and recreated atomically.
    pub nft: String,
    /// What the plan could not do, for the user.
    pub notes: Vec<String>,
}

impl LinuxPlan {
    pub fn links_text(&self) -> String {
        self.links.iter().fold(String::new(), |mut out, l| {
            let _ = writeln!(out, "{l}");
            out
        })
    }

    pub fn dnsmasq_text(&self) -> String {
        let mut out = String::new();
        for net in &self.dnsmasq {
            let _ = writeln!(out, "# ==> networks/{}/dnsmasq.conf", net.network);
            out.push_str(&net.conf);
            for (file, line) in &net.hosts {
                let _ = writeln!(out, "# ==> networks/{}/hosts/{file}\n{line}", net.network);
            }
        }
        out
    }
}

/// Compute the Linux plan.
pub fn plan(input: &PlanInput) -> Result<LinuxPlan, Error> {
    input.validate()?;
    let mut notes = Vec::new();
    let mut links = Vec::new();
    for network in input.networks() {
        let addr = input.address_plan(network);
        links.push(Link::Bridge {
            name: bridge_name(network),
            network: network.into(),
            address: format!("{}/{}", addr.gateway(), addr.subnet().prefix()),
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
        let mac = Mac(vm.mac).to_string();
        match vm.mode {
            Mode::Shared | Mode::Host => links.push(Link::Tap {
                name,
                vm: vm.name.clone(),
                mac,
                master: bridge_name(vm.mode.builtin_network().unwrap_or("shared")),
            }),
            Mode::Bridge => {
                links.push(Link::Macvtap {
                    name,
                    vm: vm.name.clone(),
                    mac,
                    parent: vm.bridge.clone(),
                    vlan: vm.vlan,
                });
                if vm.no_local || vm.filter.is_some() {
                    notes.push(format!(
                        "VM '{}': bridge mode bypasses the host firewall, so its no-local and filter rules are not applied",
                        vm.name
                    ));
                }
            }
            Mode::Disconnected => {}
        }
        if matches!(vm.mode, Mode::Shared | Mode::Host) && vm.ip.is_none() {
            if !vm.port_forwards.is_empty() {
                notes.push(format!(
                    "VM '{}': port forwards wait for its address (give it a static IP with --ip to fix it in the plan)",
                    vm.name
                ));
            }
            if vm.no_local {
                notes.push(format!(
                    "VM '{}': IPv4 anti-spoofing waits for its address (MAC and ARP-MAC checks apply now)",
                    vm.name
                ));
            }
        }
    }
    let dnsmasq = input
        .networks()
        .into_iter()
        .map(|n| dnsmasq(input, n))
        .collect();
    Ok(LinuxPlan {
        links,
        dnsmasq,
        nft: nft(input),
        notes,
    })
}

fn dnsmasq(input: &PlanInput, network: &str) -> DnsmasqNetwork {
    let addr = input.address_plan(network);
    let dir = input.networks_dir.join(network);
    let dir = dir.display();
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
    if network == "host" {
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
    if network == "host" {
        line("no-resolv".into());
    }
    line(format!("dhcp-hostsdir={dir}/hosts"));
    line(format!("dhcp-leasefile={dir}/leases"));
    line(format!("pid-file={dir}/dnsmasq.pid"));
    let hosts = input
        .vms
        .iter()
        .filter(|vm| vm.mode.builtin_network() == Some(network))
        .map(|vm| {
            let mac = Mac(vm.mac);
            let entry = match vm.ip.filter(|_| vm.static_ip) {
                Some(ip) => format!("{mac},{ip},{}", vm.name),
                None => format!("{mac},{}", vm.name),
            };
            (vm.name.clone(), entry)
        })
        .collect();
    DnsmasqNetwork {
        network: network.into(),
        conf,
        hosts,
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

fn chain_name(vm: &PlanVm, dir: &str) -> String {
    format!("vm_{}_{dir}", short_hash(&vm.name))
}

// A template: one line of code per line of nft, easier to review whole than split.
#[allow(clippy::too_many_lines)]
/// The nftables file: `table inet vmctl` and `table bridge vmctl`, each deleted and recreated in
/// the same transaction (a bare flush would keep set elements).
fn nft(input: &PlanInput) -> String {
    let networks = input.networks();
    let on_network: Vec<&PlanVm> = input
        .vms
        .iter()
        .filter(|vm| matches!(vm.mode, Mode::Shared | Mode::Host))
        .collect();
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
        .filter(|n| **n == "host")
        .map(|n| quoted(&bridge_name(n)))
        .collect();
    let nat_nets: Vec<String> = networks
        .iter()
        .filter(|n| **n == "shared")
        .map(|n| input.address_plan(n).subnet().to_string())
        .collect();
    let ports: Vec<String> = on_network
        .iter()
        .map(|vm| quoted(&vm_link_name(&vm.name)))
        .collect();
    let nolocal: Vec<&&PlanVm> = on_network.iter().filter(|vm| vm.no_local).collect();
    let nolocal_ports: Vec<String> = nolocal
        .iter()
        .map(|vm| quoted(&vm_link_name(&vm.name)))
        .collect();
    let own_mac: Vec<String> = nolocal
        .iter()
        .map(|vm| format!("{} . {}", quoted(&vm_link_name(&vm.name)), Mac(vm.mac)))
        .collect();
    let own_ip: Vec<String> = nolocal
        .iter()
        .filter_map(|vm| {
            vm.ip
                .map(|ip| format!("{} . {ip}", quoted(&vm_link_name(&vm.name))))
        })
        .collect();
    let ip_known: Vec<String> = nolocal
        .iter()
        .filter(|vm| vm.ip.is_some())
        .map(|vm| quoted(&vm_link_name(&vm.name)))
        .collect();
    let filtered: Vec<&&PlanVm> = on_network.iter().filter(|vm| vm.filter.is_some()).collect();
    let jumps = |dir: &str| -> Vec<String> {
        filtered
            .iter()
            .map(|vm| {
                format!(
                    "{} : jump {}",
                    quoted(&vm_link_name(&vm.name)),
                    chain_name(vm, dir)
                )
            })
            .collect()
    };
    let (mut fwd_any, mut fwd_addr) = (Vec::new(), Vec::new());
    for vm in &on_network {
        let Some(ip) = vm.ip else { continue };
        for pf in &vm.port_forwards {
            let target = format!("{ip} . {}", pf.guest_port);
            if pf.host_ip.is_unspecified() {
                fwd_any.push(format!(
                    "{} . {} : {target}",
                    pf.protocol.name(),
                    pf.host_port
                ));
            } else {
                fwd_addr.push(format!(
                    "{} . {} . {} : {target}",
                    pf.host_ip,
                    pf.protocol.name(),
                    pf.host_port
                ));
            }
        }
    }

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
    w(&format!(
        "\tset local_nets {{ type ipv4_addr; flags interval;{} }}",
        elements(&local)
    ));
    w(&format!(
        "\tset vm_nets {{ type ipv4_addr; flags interval;{} }}",
        elements(&vm_nets)
    ));
    w(&format!(
        "\tset nat_nets {{ type ipv4_addr; flags interval;{} }}",
        elements(&nat_nets)
    ));
    w(&format!(
        "\tset gateways {{ type ipv4_addr;{} }}",
        elements(&gateways)
    ));
    w(&format!(
        "\tset vm_bridges {{ type ifname;{} }}",
        elements(&bridges)
    ));
    w(&format!(
        "\tset host_only {{ type ifname;{} }}",
        elements(&host_only)
    ));
    w(&format!(
        "\tset nolocal {{ type ifname;{} }}",
        elements(&nolocal_ports)
    ));
    w(&format!(
        "\tmap filter_out {{ type ifname : verdict;{} }}",
        elements(&jumps("out"))
    ));
    w(&format!(
        "\tmap filter_in {{ type ifname : verdict;{} }}",
        elements(&jumps("in"))
    ));
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
    w("\t}");
    w("\tchain input {");
    w("\t\ttype filter hook input priority filter; policy accept;");
    w("\t\tiifname @nolocal ct state established,related accept");
    w("\t\tiifname @nolocal udp sport 68 udp dport 67 accept");
    w("\t\tiifname @nolocal ip daddr @gateways meta l4proto { tcp, udp } th dport 53 accept");
    w("\t\tiifname @nolocal drop");
    w("\t\tiifname vmap @filter_out");
    w("\t}");
    w("\tchain forward {");
    w("\t\ttype filter hook forward priority filter; policy accept;");
    w("\t\tiifname @host_only oifname != @host_only drop");
    w("\t\toifname @host_only iifname != @host_only drop");
    w("\t\tiifname @nolocal ip daddr @vm_nets drop");
    w("\t\toifname @nolocal ip saddr @vm_nets drop");
    w("\t\tiifname vmap @filter_out");
    w("\t\toifname vmap @filter_in");
    w("\t}");
    w("\tchain output {");
    w("\t\ttype filter hook output priority filter; policy accept;");
    w("\t\toifname vmap @filter_in");
    w("\t}");
    write_filter_chains(&mut w, &filtered);
    w("}");
    w("table bridge vmctl");
    w("delete table bridge vmctl");
    w("table bridge vmctl {");
    w(&format!(
        "\tset local_nets {{ type ipv4_addr; flags interval;{} }}",
        elements(&local)
    ));
    w(&format!(
        "\tset vm_ports {{ type ifname;{} }}",
        elements(&ports)
    ));
    w(&format!(
        "\tset nolocal {{ type ifname;{} }}",
        elements(&nolocal_ports)
    ));
    w(&format!(
        "\tset own_mac {{ type ifname . ether_addr;{} }}",
        elements(&own_mac)
    ));
    w(&format!(
        "\tset own_ip {{ type ifname . ipv4_addr;{} }}",
        elements(&own_ip)
    ));
    w(&format!(
        "\tset ip_known {{ type ifname;{} }}",
        elements(&ip_known)
    ));
    w(&format!(
        "\tmap filter_out {{ type ifname : verdict;{} }}",
        elements(&jumps("out"))
    ));
    w(&format!(
        "\tmap filter_in {{ type ifname : verdict;{} }}",
        elements(&jumps("in"))
    ));
    w("\tchain prerouting {");
    w("\t\ttype filter hook prerouting priority filter; policy accept;");
    w("\t\tiifname @nolocal iifname . ether saddr != @own_mac drop");
    w("\t\tiifname @nolocal ether type ip6 drop");
    w("\t\tiifname @nolocal ether type arp iifname . arp saddr ether != @own_mac drop");
    w(
        "\t\tiifname @ip_known ether type arp arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @own_ip drop",
    );
    w("\t\tiifname @nolocal ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept");
    w("\t\tiifname @ip_known ether type ip iifname . ip saddr != @own_ip drop");
    w("\t}");
    w("\tchain forward {");
    w("\t\ttype filter hook forward priority filter; policy accept;");
    w("\t\tiifname @nolocal oifname @vm_ports drop");
    w("\t\toifname @nolocal iifname @vm_ports drop");
    w("\t\tiifname vmap @filter_out");
    w("\t\toifname vmap @filter_in");
    w("\t}");
    write_filter_chains(&mut w, &filtered);
    w("}");
    out
}

/// Each filtered VM's rules, in rule order, as two chains: from the VM and to it.
fn write_filter_chains(w: &mut impl FnMut(&str), vms: &[&&PlanVm]) {
    for vm in vms {
        let Some(rules) = &vm.filter else { continue };
        for (dir, direction) in [("out", Direction::Out), ("in", Direction::In)] {
            w(&format!("\tchain {} {{", chain_name(vm, dir)));
            w(&format!(
                "\t\t# vm {}: packets {} the VM",
                vm.name,
                if dir == "out" { "from" } else { "to" }
            ));
            for rule in rules.render_nft(direction, "local_nets") {
                w(&format!("\t\t{rule}"));
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
        // And an empty host: every set empty.
        let mut input = sample_input();
        input.vms.clear();
        nft(&super::plan(&input).unwrap().nft);
    }
}
