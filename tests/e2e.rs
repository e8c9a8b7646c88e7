//! The Linux end-to-end suite (`tests/e2e/linux.sh`): real links, nftables rules, dnsmasq and
//! busybox udhcpc "VMs" in network namespaces, inside a fresh `unshare -n -m` namespace that
//! plays the host. Needs root, `unshare`, `ip`, `nft`, `dnsmasq` and `busybox`; without them
//! it is skipped with a message on the terminal, unless `VMCTL_REQUIRE_NETNS=1` (CI) makes
//! that a failure.

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
fn linux_end_to_end() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    });
    let mut missing: Vec<&str> = ["unshare", "ip", "nft", "dnsmasq", "busybox"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !root {
        missing.insert(0, "root");
    }
    if !missing.is_empty() {
        let why = format!(
            "SKIPPED the Linux end-to-end suite: it needs {} (as root: apt-get install nftables dnsmasq-base busybox iproute2)",
            missing.join(", ")
        );
        assert!(
            std::env::var_os("VMCTL_REQUIRE_NETNS").is_none(),
            "{why}, and VMCTL_REQUIRE_NETNS is set"
        );
        say(&format!("\n*** {why} ***\n"));
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/linux.sh");
    let out = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private", "bash"])
        .arg(&script)
        .env("VMCTL", env!("CARGO_BIN_EXE_vmctl"))
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or("no output");
    assert!(
        out.status.success(),
        "the end-to-end suite failed ({summary}):\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    say(&format!("end-to-end (namespaces): {summary}"));
}
