//! What makes a link vmctl's: the VM's link is named for it and marked with an alias when
//! made, a bridged VM's macvlan lives in the namespace it was attached to. A run file that
//! names something else is not acted on (see `stop`).

use macaddr::MacAddr6;

use super::Linux;
use super::host::Host;
use super::netlink;
use crate::error::Error;
use crate::model::names::{host_end_mac, vm_link_name};
use crate::store::StartedVm;

impl Linux<'_> {
    /// A started VM's link as the host has it. The run file's `link` is not trusted: vmctl
    /// looks for the link it makes for that VM (named for the VM, marked with its alias; one
    /// made before vmctl marked its links is known by its MAC), in the namespace the VM was
    /// attached to (the same namespace, not one made under that name since).
    pub(super) fn find_vm_link(nl: &dyn Host, state: &StartedVm) -> Result<Found, Error> {
        if let Some(netns) = state.inner_netns() {
            if let Some(recorded) = &state.netns_id
                && netns_identity(netns).as_deref() != Some(recorded.as_str())
            {
                return Ok(Found::Foreign(format!(
                    "namespace {netns} is not the one VM '{}' was attached to",
                    state.name
                )));
            }
            return Ok(match nl.netns_link(netns, "eth0")? {
                None => Found::Absent,
                Some(info) if info.mac == Some(state.mac.into_array()) => Found::Ours,
                Some(_) => Found::Foreign(format!(
                    "eth0 in namespace {netns} is not VM '{}''s macvlan (its MAC differs)",
                    state.name
                )),
            });
        }
        let name = vm_link_name(&state.name);
        Ok(match nl.link(&name)? {
            None => Found::Absent,
            Some(info)
                if is_vms_link(&info, &state.name, &[host_end_mac(state.mac), state.mac]) =>
            {
                Found::Ours
            }
            Some(_) => Found::Foreign(format!(
                "link {name} is not the one vmctl made for VM '{}' (another alias or MAC)",
                state.name
            )),
        })
    }

    /// Is a started VM's link (the one vmctl made) still there?
    pub(super) fn link_present(nl: &dyn Host, state: &StartedVm) -> Result<bool, Error> {
        Ok(matches!(Self::find_vm_link(nl, state)?, Found::Ours))
    }

    /// Delete a started VM's link, if it is the one vmctl made (absent is fine); a warning
    /// when the run file names another, or another link has its name.
    pub(super) fn remove_vm_link(
        nl: &dyn Host,
        state: &StartedVm,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        let file = format!("run/{}.plist", state.name);
        let ours = vm_link_name(&state.name);
        if state.link != ours {
            warnings.push(format!(
                "{file} names link '{}', not vmctl's {ours}: left alone",
                crate::error::printable(&state.link)
            ));
        }
        match Self::find_vm_link(nl, state)? {
            Found::Absent => Ok(()),
            Found::Foreign(why) => {
                warnings.push(format!("{file}: {why}: left alone"));
                Ok(())
            }
            Found::Ours => match state.inner_netns() {
                Some(netns) => nl.delete_in_netns(netns, "eth0"),
                None => nl.delete_link(&ours),
            },
        }
    }

    /// Before making the link `name` for `vm`: a link of that name vmctl made (a crash left it)
    /// goes; one that is not vmctl's is refused, not deleted.
    pub(super) fn clear_link_name(
        nl: &dyn Host,
        name: &str,
        vm: &str,
        macs: &[MacAddr6],
    ) -> Result<(), Error> {
        match nl.link(name)? {
            None => Ok(()),
            Some(info) if is_vms_link(&info, vm, macs) => nl.delete_link(name),
            Some(_) => Err(Error::conflict(format!(
                "a link named {name} exists and is not the one vmctl made for VM '{vm}'"
            ))
            .with_hint(format!(
                "vmctl leaves it alone: `ip -d link show {name}` says what it is; remove or rename it, then start again"
            ))),
        }
    }
}

/// What a started VM's link is on the host (see `Linux::find_vm_link`).
pub(crate) enum Found {
    Ours,
    /// Something else holds its name (or its namespace's): why, for the user.
    Foreign(String),
    Absent,
}

/// A VM's host-side link carries no IPv6 of the host's: no address, no router advertisement
/// taken (vmctl networks are IPv4 networks; the bridge has IPv6 off too).
pub(super) fn no_ipv6(nl: &dyn Host, link: &str) -> Result<(), Error> {
    nl.sysctl(&format!("net.ipv6.conf.{link}.disable_ipv6"), "1")
}

/// The alias vmctl marks a VM's link with, so that it knows its own link from any other.
pub(super) fn link_alias(vm: &str) -> String {
    format!("vmctl:{vm}")
}

/// Is `info` the link vmctl made for VM `vm`? Its alias says; a link made before vmctl marked
/// its links has no alias, and then one of `macs` (the MACs vmctl gives that VM's link).
pub(super) fn is_vms_link(info: &netlink::LinkInfo, vm: &str, macs: &[MacAddr6]) -> bool {
    match info.alias.as_deref() {
        Some(alias) if !alias.is_empty() => alias == link_alias(vm),
        _ => info
            .mac
            .is_some_and(|mac| macs.iter().any(|m| m.into_array() == mac)),
    }
}

/// The identity of the network namespace `/run/netns/<name>` (its device and inode), which a
/// namespace made later under the same name does not share.
pub(super) fn netns_identity(name: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(std::path::Path::new("/run/netns").join(name)).ok()?;
    Some(format!("{}:{}", meta.dev(), meta.ino()))
}
