//! The guest suite (`tests/guest/run.sh`): real QEMU guests (Debian's cloud kernel, a static
//! busybox, virtio-net) started by `vmctl run` on vmctl TAPs inside a fresh `unshare -n -m`
//! namespace. The guest is built once by `tests/guest/build.sh` and cached in
//! `target/guest`. Needs root, QEMU (`qemu-system-x86_64`), `apt-get download` and the
//! namespace suite's tools; without them it is skipped with a message on the terminal, unless
//! `VMCTL_REQUIRE_NETNS=1` (CI) makes that a failure.

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Printed straight to the terminal: the harness captures `eprintln!`, not fd 2.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[test]
fn qemu_guests_get_their_network_from_vmctl() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return;
    }
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    });
    let mut missing: Vec<&str> = [
        "qemu-system-x86_64",
        "apt-get",
        "dpkg-deb",
        "unshare",
        "ip",
        "nft",
        "dnsmasq",
        "busybox",
    ]
    .into_iter()
    .filter(|t| !on_path(t))
    .collect();
    if !root {
        missing.insert(0, "root");
    }
    if !missing.is_empty() {
        let why = format!(
            "SKIPPED the QEMU guest suite: it needs {} (QEMU: apt-get install -t bookworm-backports --no-install-recommends qemu-system-x86; see .ci/run)",
            missing.join(", ")
        );
        assert!(
            std::env::var_os("VMCTL_REQUIRE_NETNS").is_none(),
            "{why}, and VMCTL_REQUIRE_NETNS is set"
        );
        say(&format!("\n*** {why} ***\n"));
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
    let out = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private", "bash"])
        .arg(tests.join("run.sh"))
        .arg(&guest)
        .env("VMCTL", env!("CARGO_BIN_EXE_vmctl"))
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or("no output");
    assert!(
        out.status.success(),
        "the guest suite failed ({summary}):\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    say(&format!("QEMU guests: {summary}"));
}
