//! Test helpers shared by the unit tests: snapshot files under `src/plan/snapshots/` (bless with `VMCTL_BLESS=1`) and
//! `nft -c` inside a private network namespace.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Compare `text` with the stored snapshot `name`; `VMCTL_BLESS=1` rewrites it.
#[track_caller]
pub fn assert_snapshot(name: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/plan/snapshots")
        .join(name);
    if std::env::var_os("VMCTL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        crate::store::write_atomic(&path, text.as_bytes()).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != text {
        let first = stored
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| stored.lines().count().min(text.lines().count()));
        panic!(
            "snapshot {name} differs at line {}:\n  stored: {:?}\n  now:    {:?}\nreview, then bless with VMCTL_BLESS=1 cargo test",
            first + 1,
            stored.lines().nth(first),
            text.lines().nth(first)
        );
    }
}

/// A function that checks an nft file with `nft -c -f -` in a new network namespace, or
/// `None` (said loudly) when nft or the privilege is missing; `VMCTL_REQUIRE_NETNS=1` makes
/// that a failure instead.
pub fn nft_checker() -> Option<impl Fn(&str)> {
    let ok = Command::new("unshare")
        .args(["-n", "nft", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = "SKIPPED: `unshare -n nft` does not run here (needs root and nftables)";
        assert!(
            std::env::var_os("VMCTL_REQUIRE_NETNS").is_none(),
            "{why}, and VMCTL_REQUIRE_NETNS is set"
        );
        say_skipped(why);
        return None;
    }
    Some(|text: &str| {
        let mut child = Command::new("unshare")
            .args(["-n", "nft", "-c", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "nft -c refused the file:\n{}\n--- file ---\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
}

/// Say that a test skipped its real work, where `cargo test` shows it without `--nocapture`:
/// the harness captures `eprintln!`, not writes to fd 2.
pub fn say_skipped(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "\n*** {text} ***");
}
