//! The Linux plan's per-VM set and map elements, and the element-by-element nft update that
//! turns one plan's ruleset into another's without a reload.

use std::collections::BTreeSet;
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

/// The nft commands that forget an address learned from a DHCP ACK for this VM's port (see
/// `nft::LEARNED_SECONDS`): run when its lease ends, so that it cannot keep using it. Added,
/// then deleted: a delete alone fails when the set does not hold it (it expired, or no ACK
/// passed), and would take the batch it is part of down with it.
pub fn forget_learned(vm: &StartedVm, ip: std::net::Ipv4Addr) -> String {
    let key = format!(
        "{} . 0x{:08x}",
        quoted(&vm_link_name(&vm.name)),
        u32::from(ip)
    );
    format!(
        "add element bridge vmctl learned {{ {key} }}\ndelete element bridge vmctl learned {{ {key} }}\n"
    )
}

/// The nft commands that move one started VM's elements from `old` to `new`, the same VM with
/// another address (a lease event): nothing else in the ruleset depends on a VM's address, so
/// this is `update` of the whole host, for the price of one VM and without a plan.
pub fn vm_update(old: &StartedVm, new: &StartedVm) -> String {
    let elements = |vm: &StartedVm| -> BTreeSet<Element> {
        if on_network(vm) {
            vm_elements(vm).into_iter().collect()
        } else {
            BTreeSet::new()
        }
    };
    changes(&elements(old), &elements(new))
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
    let all = |input: &PlanInput| -> BTreeSet<Element> {
        input
            .vms
            .iter()
            .filter(|vm| on_network(vm))
            .flat_map(vm_elements)
            .collect()
    };
    Some(changes(&all(old), &all(new)))
}

/// An element of each of vmctl's tables added again (a no-op while the tables are there):
/// put in front of an element update, it makes the update fail when a table was deleted
/// behind vmctl's back, so the caller loads the whole file instead.
pub fn touch_tables(input: &PlanInput) -> String {
    let Some(network) = input.networks().first().copied() else {
        return String::new();
    };
    format!(
        "add element inet vmctl vm_bridges {{ {} }}\nadd element bridge vmctl gateways {{ {} }}\n",
        quoted(&bridge_name(network)),
        input.address_plan(network).gateway()
    )
}

/// The nft commands that turn the elements `before` into `after`: deletes first, then adds.
fn changes(before: &BTreeSet<Element>, after: &BTreeSet<Element>) -> String {
    let mut text = String::new();
    for (verb, elements) in [
        ("delete", before.difference(after)),
        ("add", after.difference(before)),
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
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::net::Ipv4Addr;

    use super::{forget_learned, update, vm_update};
    use crate::plan::tests::sample_input;

    fn lines(text: &str) -> BTreeSet<&str> {
        text.lines().collect()
    }

    /// A lease moves one VM's elements, and exactly those the whole host's update would move.
    #[test]
    fn one_vms_update_is_the_whole_hosts() {
        let ip = |last| Some(Ipv4Addr::new(192, 168, 64, last));
        let before = sample_input();
        for (i, vm) in before.vms.iter().enumerate() {
            for new_ip in [None, ip(30), ip(31), vm.ip] {
                let mut after = before.clone();
                after.vms[i].ip = new_ip;
                let whole = update(&before, &after).expect("only elements change");
                let one = vm_update(vm, &after.vms[i]);
                assert_eq!(lines(&one), lines(&whole), "{} to {new_ip:?}", vm.name);
            }
        }
        // web's address moves its anti-spoofing element and both its port forwards.
        let mut web = before.vms[0].clone();
        web.ip = ip(30);
        let moved = vm_update(&before.vms[0], &web);
        assert_eq!(moved.lines().count(), 6, "{moved}");
        assert!(
            moved.starts_with("delete element"),
            "deletes first: {moved}"
        );
    }

    /// The forget is one batch with the lease's other changes: it must not fail when the
    /// address was never learned.
    #[test]
    fn forgetting_a_learned_address_cannot_fail() {
        let text = forget_learned(&sample_input().vms[0], Ipv4Addr::new(192, 168, 64, 9));
        let [add, delete]: [&str; 2] = text.lines().collect::<Vec<_>>().try_into().unwrap();
        assert!(
            add.starts_with("add element bridge vmctl learned {"),
            "{text}"
        );
        assert!(
            delete.starts_with("delete element bridge vmctl learned {"),
            "{text}"
        );
        assert!(delete.contains(". 0xc0a84009 }"), "{text}");
    }

    /// Both load onto the tables of the plan they belong to.
    #[test]
    fn nft_accepts_a_lease_batch() {
        let Some(nft) = crate::test_support::nft_checker() else {
            return;
        };
        let input = sample_input();
        let mut web = input.vms[0].clone();
        web.ip = Some(Ipv4Addr::new(192, 168, 64, 30));
        let plan = crate::plan::linux::plan(&input).unwrap();
        let batch =
            forget_learned(&web, Ipv4Addr::new(192, 168, 64, 20)) + &vm_update(&input.vms[0], &web);
        nft(&format!("{}\n{batch}", plan.nft));
    }
}
