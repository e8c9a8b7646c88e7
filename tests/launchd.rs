//! `contrib/launchd/install.sh --print`: the LaunchDaemon that brings a VM back after a reboot
//! parses as a plist and says what launchd needs (the arguments verbatim, XML escaped; start
//! once until it succeeds, or run kept alive); a vmctl binary others could replace is refused.
//! Installing it (`launchctl bootstrap`) needs a Mac: README says what has run where.

use std::path::Path;
use std::process::{Command, Output};

use plist::Value;

fn install(args: &[&str]) -> Output {
    Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/launchd/install.sh"))
        .args(args)
        .env_remove("VMCTL_HOME")
        .env_remove("SUDO_USER")
        .output()
        .unwrap()
}

fn printed(args: &[&str]) -> plist::Dictionary {
    let out = install(args);
    assert!(out.status.success(), "{out:?}");
    match Value::from_reader_xml(&out.stdout[..]).unwrap() {
        Value::Dictionary(dict) => dict,
        other => panic!("{other:?}"),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect()
}

// /bin/sh stands in for vmctl: root's on every system, in root's folders.
const VMCTL: &str = "/bin/sh";

#[test]
fn start_at_boot_until_it_succeeds() {
    let daemon = printed(&["--print", "--vmctl", VMCTL, "--home", "/var/vmctl", "web"]);
    assert_eq!(daemon["Label"].as_string(), Some("org.vmctl.vm.web"));
    assert_eq!(
        strings(&daemon["ProgramArguments"]),
        [VMCTL, "--home", "/var/vmctl", "start", "web"]
    );
    assert_eq!(daemon["RunAtLoad"].as_boolean(), Some(true));
    let keep_alive = daemon["KeepAlive"].as_dictionary().unwrap();
    assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
    assert_eq!(
        daemon["AbandonProcessGroup"].as_boolean(),
        Some(true),
        "the relay helper outlives vmctl start"
    );
}

#[test]
fn run_with_its_hypervisor_kept_alive_arguments_verbatim() {
    let home = "/Users/a b/Library/Application Support/vmctl";
    let device = "virtio-net,unixSocketPath={socket},mac={mac}";
    let daemon = printed(&[
        "--print", "--vmctl", VMCTL, "--home", home, "web", "--user", "alice", "--", "vfkit",
        "--device", device, "<&>'\"",
    ]);
    assert_eq!(
        strings(&daemon["ProgramArguments"]),
        [
            VMCTL, "--home", home, "run", "web", "--user", "alice", "--", "vfkit", "--device",
            device, "<&>'\""
        ]
    );
    assert_eq!(daemon["KeepAlive"].as_boolean(), Some(true));
    assert!(!daemon.contains_key("AbandonProcessGroup"));
}

#[test]
fn what_would_give_root_away_or_make_no_daemon_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let open = home.path().join("vmctl");
    write_script(&open);
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
    std::fs::set_permissions(&open, mode).unwrap();
    let open = open.to_str().unwrap();
    for (args, why) in [
        (
            vec!["--print", "--vmctl", open, "--home", "/h", "web"],
            "get root at boot",
        ),
        (vec!["--print", "--vmctl", VMCTL, "web"], "which vmctl home"),
        (
            vec!["--print", "--vmctl", VMCTL, "--home", "/h", "../x"],
            "not a VM name",
        ),
        (
            vec!["--print", "--vmctl", VMCTL, "--home", "/h", "web", "--"],
            "nothing after --",
        ),
        (
            vec![
                "--print", "--vmctl", VMCTL, "--home", "/h", "web", "--user", "a",
            ],
            "without a hypervisor",
        ),
        (
            vec!["--print", "--vmctl", "sh", "--home", "/h", "web"],
            "absolute path",
        ),
    ] {
        let out = install(&args);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(
            said.contains(why) && said.contains("hint:"),
            "{args:?}: {said}"
        );
        assert!(out.stdout.is_empty());
    }
}

fn write_script(path: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut file, b"#!/bin/sh\n").unwrap();
}
