//! The guest suite (`tests/guest/run.sh`): real QEMU guests (Debian's cloud kernel, a static
//! busybox, virtio-net) started by `vmctl run` on vmctl TAPs (and through the frame relay)
//! inside a fresh `unshare -n -m` namespace. The guest is built once by
//! `tests/guest/build.sh` and cached in `target/guest`. Needs root, QEMU, `apt-get download`
//! and the namespace suite's tools; without them it is skipped with a message on the
//! terminal, unless `VMCTL_REQUIRE_NETNS=1` (CI) makes that a failure.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn qemu_guests_get_their_network_from_vmctl() {
    let tools = [
        "qemu-system-x86_64",
        "apt-get",
        "dpkg-deb",
        "unshare",
        "ip",
        "nft",
        "dnsmasq",
        "busybox",
    ];
    let how = "QEMU: apt-get install -t bookworm-backports --no-install-recommends qemu-system-x86; see .ci/run";
    if !cfg!(all(target_os = "linux", target_arch = "x86_64"))
        || !common::ready("QEMU guest suite", &tools, how)
    {
        return;
    }
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest");
    let built = Command::new("bash")
        .arg(tests.join("build.sh"))
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("../guest"))
        .output()
        .expect("bash runs");
    assert!(
        built.status.success(),
        "building the test guest failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let guest = String::from_utf8_lossy(&built.stdout).trim().to_owned();
    common::run_suite("QEMU guest suite", &tests.join("run.sh"), &[&guest]);
}
