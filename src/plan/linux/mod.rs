//! The Linux plan: bridges and TAP/macvtap links, dnsmasq configuration per network, and one
//! nftables file holding `table inet vmctl` and `table bridge vmctl` in atomic-reload form.
//!
//! Per-packet cost does not grow with the number of VMs: each hook does a fixed number of set
//! and map lookups keyed by interface or address; a VM's filter rules live in its own chains,
//! reached through a verdict map.
//!
//! Each kind of text has its module: `links`, `dnsmasq`, `nft` (the ruleset), `filter_nft` (a
//! VM's filter rules as nft statements) and `elements` (per-VM set elements and the
//! element-by-element update).

mod dnsmasq;
mod elements;
pub mod filter_nft;
mod links;
mod nft;

use serde::Serialize;

pub use dnsmasq::{DnsmasqNetwork, reservation};
pub use elements::{Element, forget_learned, touch_tables, update, vm_elements, vm_update};
pub use links::{Link, bridge_mac};
pub use nft::counters;

use super::PlanInput;
use crate::error::Error;
use crate::model::names::{bridge_name, vm_link_name};
use crate::model::{Mac, Mode};
use crate::store::StartedVm;

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
        links.push(links::vm_link(vm, name));
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
        if on_network(vm) && vm.ip.is_none() && !vm.port_forwards.is_empty() {
            notes.push(format!(
                "VM '{}': its port forwards take its address when DHCP hands it out",
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
    // masquerade in `postrouting` then gives it the gateway's address. The ruleset drops
    // anything for 127/8 that arrives from outside (see `nft`).
    // vmctl networks are IPv4 networks: the host takes no address, route or router
    // advertisement on them, and offers no IPv6 service there.
    for network in &networks {
        let bridge = bridge_name(network);
        sysctls.push((
            format!("net.ipv4.conf.{bridge}.route_localnet"),
            "1".to_owned(),
        ));
        sysctls.push((
            format!("net.ipv6.conf.{bridge}.disable_ipv6"),
            "1".to_owned(),
        ));
    }
    let dnsmasq = networks
        .iter()
        .map(|n| dnsmasq::dnsmasq(input, n))
        .collect();
    Ok(LinuxPlan {
        links,
        sysctls,
        dnsmasq,
        nft: nft::nft(input),
        notes,
    })
}

/// Does the VM join a network vmctl runs (a bridge, dnsmasq and the firewall)?
fn on_network(vm: &StartedVm) -> bool {
    vm.network.as_deref().is_some()
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
        // the floor and nothing of no-local's or the filters' chains.
        let mut input = sample_input();
        input.vms.clear();
        nft(&super::plan(&input).unwrap().nft);
        let mut input = sample_input();
        for vm in &mut input.vms {
            vm.no_local = false;
            vm.filter = None;
        }
        let hookless = super::plan(&input).unwrap().nft;
        assert!(hookless.contains(": goto floor"));
        assert!(
            !hookless.contains("nolocal_to_host")
                && !hookless.contains("@host_to_vm")
                && !hookless.contains(
                    "type filter hook forward priority filter; policy accept;\n\t\tiifname @nolocal"
                )
        );
        nft(&hookless);
    }
}
