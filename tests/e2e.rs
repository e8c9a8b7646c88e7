//! The Linux end-to-end suite (`tests/e2e/linux.sh`): real links, nftables rules, dnsmasq and
//! busybox udhcpc "VMs" in network namespaces, inside a fresh `unshare -n -m` namespace that
//! plays the host. Needs root, `unshare`, `ip`, `nft`, `dnsmasq` and `busybox`; without them
//! it is skipped with a message on the terminal, unless `VMCTL_REQUIRE_NETNS=1` (CI) makes
//! that a failure.

mod common;

use std::path::Path;

#[test]
fn linux_end_to_end() {
    if !cfg!(target_os = "linux")
        || !common::ready(
            "Linux end-to-end suite",
            &["unshare", "ip", "nft", "dnsmasq", "busybox", "python3"],
            "as root: apt-get install nftables dnsmasq-base busybox iproute2",
        )
    {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/linux.sh");
    common::run_suite("end-to-end suite (namespaces)", &script, &[]);
}
