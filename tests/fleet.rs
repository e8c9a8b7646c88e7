//! The fleet suite (`tests/fleet/fleet.sh`): a real 3-member etcd cluster with TLS client
//! certificates and etcd auth, and 3 "hosts" (network namespaces with their own `VMCTL_HOME`,
//! `vmctl agent` and netns VMs getting real leases), inside a fresh `unshare -n -m` namespace.
//! Needs root, the namespace suite's tools, `etcd`, `etcdctl` and `openssl`; without them it is
//! skipped with a message on the terminal, unless `VMCTL_REQUIRE_NETNS=1` (CI) makes that a
//! failure.

mod common;

use std::path::Path;

#[test]
fn fleet_on_etcd() {
    if !cfg!(target_os = "linux")
        || !common::ready(
            "fleet suite",
            &[
                "unshare", "ip", "nft", "dnsmasq", "busybox", "python3", "etcd", "etcdctl",
                "openssl",
            ],
            "as root: apt-get install nftables dnsmasq-base busybox iproute2 etcd-server etcd-client openssl",
        )
    {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fleet/fleet.sh");
    common::run_suite("fleet suite (etcd, namespaces)", &script, &[]);
}
