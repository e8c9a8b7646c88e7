//! What the namespace suites share: their prerequisites, said on the terminal when missing,
//! and running a suite script inside a fresh `unshare -n -m` namespace.

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Printed straight to the terminal: the harness captures `eprintln!`, not fd 2.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// True when `tools` (and root) are here; else says what is missing and returns false, or
/// fails when `VMCTL_REQUIRE_NETNS=1` (CI) demands the suite.
pub fn ready(suite: &str, tools: &[&str], how: &str) -> bool {
    let on_path = |tool: &&str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    });
    let mut missing: Vec<&str> = tools.iter().filter(|t| !on_path(t)).copied().collect();
    if !root {
        missing.insert(0, "root");
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "SKIPPED the {suite}: it needs {} ({how})",
        missing.join(", ")
    );
    assert!(
        std::env::var_os("VMCTL_REQUIRE_NETNS").is_none(),
        "{why}, and VMCTL_REQUIRE_NETNS is set"
    );
    say(&format!("\n*** {why} ***\n"));
    false
}

/// Run `script ARGS...` in a fresh network and mount namespace with VMCTL set; fail with its
/// output unless it succeeds; say its last line.
pub fn run_suite(name: &str, script: &Path, args: &[&str]) {
    let out = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private", "bash"])
        .arg(script)
        .args(args)
        .env("VMCTL", env!("CARGO_BIN_EXE_vmctl"))
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or("no output");
    assert!(
        out.status.success(),
        "the {name} failed ({summary}):\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    say(&format!("{name}: {summary}"));
}
