//! The Linux plan's per-VM set and map elements, and the element-by-element nft update that
//! turns one plan's ruleset into another's without a reload.

use std::fmt::Write;

use super::on_network;
use crate::model::Mac;
use crate::model::names::{bridge_name, short_hash, vm_link_name};
use crate::plan::PlanInput;
use crate::store::StartedVm;

/// A name as an nft string.
pub(super) fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// The chain of a VM's filter rules in direction `dir` (`in` / `out`).
pub(super) fn chain_name(vm: &StartedVm, dir: &str) -> String {
    format!("vm_{}_{dir}", short_hash(&vm.name))
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
    let mac = Mac(vm.mac);
    // The floor: every VM's port is pinned to its MAC, its DHCP client MAC and its address.
    add("bridge", "vm_ports", port.clone());
    add("bridge", "own_mac", format!("{port} . {mac}"));
    let raw = vm
        .mac
        .as_bytes()
        .iter()
        .fold(0u64, |n, byte| n << 8 | u64::from(*byte));
    add("bridge", "own_chaddr", format!("{port} . 0x{raw:012x}"));
    if let Some(ip) = vm.ip {
        add("bridge", "own_ip", format!("{port} . {mac} . {ip}"));
    }
    if vm.no_local {
        add("bridge", "nolocal", port.clone());
        add("inet", "nolocal_macs", mac.to_string());
    }
    if vm.filter.is_some()
        && let Some(network) = &vm.network
    {
        // Its rules decide whether it may reach another vmctl network.
        add(
            "inet",
            "filtered_src",
            format!("{} . {mac}", quoted(&bridge_name(network))),
        );
    }
    let (out_chain, in_chain) = (chain_name(vm, "out"), chain_name(vm, "in"));
    if vm.no_local {
        add("bridge", "to_vm", format!("{port} : jump nolocal_isolated"));
    }
    if vm.filter.is_none() {
        add("bridge", "from_vm", format!("{port} : goto floor"));
        if vm.no_local {
            add(
                "bridge",
                "host_to_vm",
                format!("{port} : jump nolocal_routed"),
            );
        }
    } else {
        // Its chains start with the floor (out), and no-local's routed check (in).
        add("bridge", "from_vm", format!("{port} : goto {out_chain}"));
        if !vm.no_local {
            add("bridge", "to_vm", format!("{port} : jump {in_chain}"));
        }
        add("bridge", "host_to_vm", format!("{port} : jump {in_chain}"));
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

/// The nft command that forgets an address learned from a DHCP ACK for this VM's port (see
/// `nft::LEARNED_SECONDS`): run when its lease ends, so that it cannot keep using it.
pub fn forget_learned(vm: &StartedVm, ip: std::net::Ipv4Addr) -> String {
    format!(
        "delete element bridge vmctl learned {{ {} . 0x{:08x} }}\n",
        quoted(&vm_link_name(&vm.name)),
        u32::from(ip)
    )
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
        (networks, chains, nolocal, input.host_addresses.clone())
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
