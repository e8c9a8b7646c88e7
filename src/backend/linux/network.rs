//! A vmctl network on the host: its bridge, address, kernel settings and dnsmasq brought up
//! as far as they are not (with the started VMs' ports back on the bridge), and taken down.

use super::host::Host;
use super::identity::is_vms_link;
use super::{Linux, Made, Undo, dnsmasq, host_routes, mac_bytes};
use crate::discovery::routes::HostRoute;
use crate::error::Error;
use crate::model::mac::parse_mac;
use crate::model::names::bridge_name;
use crate::plan::linux::{Link, LinuxPlan};

impl Linux<'_> {
    /// Bring the network `net` up as far as it is not: bridge, address, sysctls, dnsmasq.
    pub(super) fn network_up(
        &self,
        nl: &dyn Host,
        plan: &LinuxPlan,
        net: &str,
        vm: Option<&str>,
        undo: &mut Undo,
        warnings: &mut Vec<String>,
    ) -> Result<u32, Error> {
        let Some(Link::Bridge {
            name,
            gateway,
            prefix,
            mac,
            ..
        }) = plan
            .links
            .iter()
            .find(|l| matches!(l, Link::Bridge { network, .. } if network == net))
        else {
            unreachable!("the plan has a bridge for every network a VM joins");
        };
        let existing = nl.link_index(name)?;
        let created = existing.is_none();
        if created {
            // vmctl's other networks: the free subnet it suggests must not be one of them.
            refuse_route_clash(
                net,
                *gateway,
                *prefix,
                &crate::discovery::routes::vmctl_networks(self.settings, &[net]),
            )?;
        }
        let index = match existing {
            Some(index) => index,
            None => {
                let index = nl.add_bridge(name, mac_bytes(mac)?)?;
                undo.made.push(Made::Link(name.clone()));
                index
            }
        };
        nl.add_address(index, *gateway, *prefix)?;
        // Before it is up: no IPv6 link-local address, no router solicitation.
        for (key, value) in &plan.sysctls {
            nl.sysctl(key, value)?;
        }
        nl.set_up(index)?;
        Self::reattach_ports(nl, plan, name, index, vm, warnings)?;
        let dns = plan
            .dnsmasq_of(net)
            .expect("the plan has dnsmasq for every network a VM joins");
        // A network coming up gets every reservation; an up one only the starting VM's.
        let only = vm.map(|vm| [vm]);
        let only = only.as_ref().map(|one| &one[..]).filter(|_| !created);
        let written = dnsmasq::write_files(dns, self.store.home(), only)?;
        undo.made
            .extend(written.created.into_iter().map(Made::File));
        let running = nl.dnsmasq_running(&dns.dir).is_some();
        if running && created {
            // It was bound to a bridge that is gone (`bind-interfaces`): it serves nobody.
            nl.dnsmasq_stop(&dns.dir)?;
        }
        if !running || created {
            if !running && !created {
                warnings.push(format!(
                    "network {net}: its dnsmasq was not running; started it again"
                ));
            }
            nl.dnsmasq_start(dns)?;
            if created {
                undo.made.push(Made::Daemon(dns.dir.clone()));
            }
        } else if written.replaced {
            // A changed reservation: dnsmasq would keep the old one too (see `forget`).
            nl.dnsmasq_stop(&dns.dir)?;
            nl.dnsmasq_start(dns)?;
        }
        Ok(index)
    }

    /// The started VMs' ports of the bridge `bridge` (ifindex `index`), each attached to it and
    /// up: a bridge deleted and made again, or a port set `nomaster` or `down`, leaves VMs cut
    /// off that `doctor` would not otherwise see. Only links vmctl made are touched.
    fn reattach_ports(
        nl: &dyn Host,
        plan: &LinuxPlan,
        bridge: &str,
        index: u32,
        starting: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        for link in &plan.links {
            let (Link::Tap {
                name,
                vm,
                master: Some(m),
                host_mac,
                ..
            }
            | Link::Veth {
                name,
                vm,
                master: Some(m),
                host_mac,
                ..
            }) = link
            else {
                continue;
            };
            if m != bridge || Some(vm.as_str()) == starting {
                continue;
            }
            let Some(info) = nl.link(name)? else { continue };
            if !is_vms_link(&info, vm, &[parse_mac(host_mac)?]) {
                continue;
            }
            if info.master != Some(index) {
                nl.set_master(info.index, index)?;
                warnings.push(format!(
                    "VM '{vm}': its link {name} was not on {bridge}; attached it again"
                ));
            }
            if !info.up {
                nl.set_up(info.index)?;
                warnings.push(format!(
                    "VM '{vm}': its link {name} was down; brought it up"
                ));
            }
        }
        Ok(())
    }

    /// Take the network `net` down: dnsmasq, then the bridge. Its leases stay on disk, so VMs
    /// get their addresses back when it comes up again.
    pub(super) fn network_down(&self, nl: &dyn Host, net: &str) -> Result<(), Error> {
        nl.dnsmasq_stop(&self.store.networks_dir().join(net))?;
        nl.delete_link(&bridge_name(net))
    }
}

/// A network coming up must not take a subnet the host already routes elsewhere (a VPN, the
/// LAN, a docker bridge): its VMs would lose those routes, or the host its own. vmctl's own
/// bridges are left out (vmctl keeps its networks apart itself).
fn refuse_route_clash(
    net: &str,
    gateway: std::net::Ipv4Addr,
    prefix: u8,
    ours: &[HostRoute],
) -> Result<(), Error> {
    let subnet = ipnetwork::Ipv4Network::new(gateway, prefix)
        .and_then(|n| ipnetwork::Ipv4Network::new(n.network(), prefix))
        .map_err(|e| Error::invalid("subnet", gateway.to_string(), e.to_string()))?;
    let routes = crate::discovery::routes::foreign(host_routes()?);
    let Err((err, free)) = crate::discovery::routes::check_subnet(subnet, &routes, ours) else {
        return Ok(());
    };
    let hint = match (net, free) {
        ("shared" | "host", Some(free)) => {
            let (start, end, mask) = if net == "shared" {
                ("start_address", "end_address", "subnet_mask")
            } else {
                ("host_start_address", "host_end_address", "host_subnet_mask")
            };
            let first = std::net::Ipv4Addr::from(u32::from(free.network()) + 1);
            let last = std::net::Ipv4Addr::from(u32::from(free.broadcast()) - 1);
            format!(
                "move it: vmctl config {start} {first} {end} {last} {mask} {}",
                free.mask()
            )
        }
        (_, Some(free)) => format!(
            "recreate it on a free subnet: vmctl network delete {net} --force; vmctl network create {net} --subnet {free}; then move its VMs back (vmctl modify VM network --network {net})"
        ),
        (_, None) => err.hint().unwrap_or_default(),
    };
    Err(Error::conflict(format!("network '{net}' cannot come up: {err}")).with_hint(hint))
}
