//! The names and MACs vmctl gives host objects: a VM's link, a network's bridge, the host end
//! of a link. Domain facts both the plan and the store rely on (15-character kernel limit).

use macaddr::MacAddr6;

/// The MAC of the host end of a VM's link: never the VM's own (the bridge would learn the
/// guest's MAC as its own port address), but `fe:` and the guest MAC's last five bytes, like
/// libvirt (`fa:` when the guest's MAC itself starts with `fe`).
pub fn host_end_mac(guest: MacAddr6) -> MacAddr6 {
    let mut b = guest.into_array();
    b[0] = if b[0] == 0xfe { 0xfa } else { 0xfe };
    MacAddr6::from(b)
}

/// A stable short hash of a name, for interface and chain names (15-character limit).
pub fn short_hash(name: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// The link a VM's NIC attaches through on Linux: `vmt-<hash>`.
pub fn vm_link_name(vm: &str) -> String {
    format!("vmt-{}", short_hash(vm))
}

/// The bridge of a network on Linux: `vmctl-<net>`, shortened with a hash past 15 characters.
pub fn bridge_name(network: &str) -> String {
    let name = format!("vmctl-{network}");
    if name.len() <= 15 {
        name
    } else {
        format!("vmctl-{}", &short_hash(network)[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_kernel() {
        assert_eq!(bridge_name("shared"), "vmctl-shared");
        assert!(bridge_name("a-very-long-network").len() <= 15);
        assert_eq!(vm_link_name("web").len(), 12);
        assert_eq!(vm_link_name("web"), vm_link_name("web"));
    }
}
