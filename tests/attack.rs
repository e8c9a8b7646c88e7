//! The attack suite (`tests/attack/attack.sh`): hostile VMs and a hostile WAN neighbour, in
//! network namespaces inside a fresh `unshare -n -m` namespace that plays the host, send what an
//! attacker would (forged ARP, MACs, source addresses, DHCP, tagged frames, IPv6 router
//! advertisements, routes to the host's loopback, ...) with hand-made frames
//! (`tests/attack/frames.py`). Each attack must get nothing through and grow the nft counter that
//! stopped it; each has a positive control. Needs root, `unshare`, `ip`, `nft`, `dnsmasq`,
//! `busybox` and `python3`; without them it is skipped with a message on the terminal, unless
//! `VMCTL_REQUIRE_NETNS=1` (CI) makes that a failure.

mod common;

use std::path::Path;

#[test]
fn attacks_get_nothing_through() {
    if !cfg!(target_os = "linux")
        || !common::ready(
            "attack suite",
            &["unshare", "ip", "nft", "dnsmasq", "busybox", "python3"],
            "as root: apt-get install nftables dnsmasq-base busybox iproute2 python3",
        )
    {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attack/attack.sh");
    common::run_suite("attack suite (namespaces)", &script, &[]);
}
