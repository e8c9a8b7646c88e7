//! The command line end to end: each case runs the real binary with its own VMCTL_HOME.
// Tests write fixture files (corrupt plists) directly, on purpose.
#![allow(
    clippy::disallowed_methods,
    clippy::too_many_lines,
    clippy::format_collect
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

struct Home {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vmctl"));
        for (var, _) in std::env::vars() {
            if var.starts_with("VMCTL_") || var.starts_with("ANKA_") {
                cmd.env_remove(var);
            }
        }
        cmd.env("VMCTL_HOME", self.path()).args(args);
        cmd
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.cmd(args);
        cmd.envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        let out: Output = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Every file under the home, with its bytes (the lock file's contents never change).
    fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.insert(path.clone(), std::fs::read(&path).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.path(), &mut out);
        out
    }

    /// Run a command that must fail with `code`, print `error:` and `hint:`, and change no file.
    #[track_caller]
    fn refuses(&self, args: &[&str], code: i32, message: &str) -> Run {
        self.refuses_in(&[], &[], args, code, message)
    }

    /// vmctl run under `wrapper` (e.g. `unshare -n`; none when empty) with `env` set.
    fn run_in(&self, wrapper: &[&str], env: &[(&str, &str)], args: &[&str]) -> Run {
        if wrapper.is_empty() {
            return self.run_env(args, env);
        }
        let inner = self.cmd(args);
        // Found on this process's PATH: `env` may give vmctl another one.
        let program = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(wrapper[0]))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(wrapper[0]));
        let mut cmd = std::process::Command::new(program);
        cmd.args(&wrapper[1..])
            .arg(inner.get_program())
            .args(inner.get_args())
            .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        for (var, _) in std::env::vars() {
            if var.starts_with("VMCTL_") || var.starts_with("ANKA_") {
                cmd.env_remove(&var);
            }
        }
        cmd.env("VMCTL_HOME", self.path());
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// `refuses`, with vmctl run under `wrapper` (e.g. `unshare -n`) and with `env` set.
    #[track_caller]
    fn refuses_in(
        &self,
        wrapper: &[&str],
        env: &[(&str, &str)],
        args: &[&str],
        code: i32,
        message: &str,
    ) -> Run {
        let before = self.files();
        let run = self.run_in(wrapper, env, args);
        assert_eq!(
            run.code, code,
            "{args:?}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(
            run.stdout.is_empty(),
            "stdout must stay empty: {}",
            run.stdout
        );
        let first = run.stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error: "), "{args:?}: {}", run.stderr);
        assert!(
            first.contains(message),
            "{args:?}: expected '{message}' in: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("\nhint: "),
            "{args:?}: no hint in: {}",
            run.stderr
        );
        assert_eq!(before, self.files(), "{args:?} changed a file");
        run
    }
}

fn with_vm() -> Home {
    let home = Home::new();
    home.run(&["create", "web"]).ok();
    home
}

#[test]
fn tour_of_the_issue() {
    let home = Home::new();
    home.run(&["create", "web"]).ok();
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json();
    assert_eq!(nic["status"], "OK");
    assert_eq!(nic["body"]["mode"], "shared");
    assert_eq!(nic["body"]["controller"], "virtio-net");
    assert_eq!(nic["body"]["mac_policy"], "auto");
    assert_eq!(
        home.run(&["show", "web", "network", "mode"]).ok().stdout,
        "shared\n"
    );
    let table = home.run(&["show", "web", "network"]).ok().stdout;
    assert!(
        table.contains("| mode ") && table.contains("virtio-net"),
        "{table}"
    );

    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    assert_eq!(
        home.run(&["show", "web", "network", "mac"]).ok().stdout,
        "52:54:00:12:34:56\n"
    );
    home.run(&["modify", "web", "network", "-t", "bridge", "-b", "en0"])
        .ok();
    assert_eq!(
        home.run(&["show", "web", "network", "bridge"]).ok().stdout,
        "en0\n"
    );
    home.run(&["modify", "web", "network", "-t", "shared"]).ok();
    home.run(&["modify", "web", "network", "--ip", "192.168.64.20"])
        .ok();
    assert_eq!(
        home.run(&["show", "web", "network", "ip"]).ok().stdout,
        "192.168.64.20\n"
    );
    assert_eq!(
        home.run(&["show", "web", "network", "ip_source"])
            .ok()
            .stdout,
        "static\n"
    );
    assert!(
        home.run(&["show", "web", "network"])
            .ok()
            .stdout
            .contains("| 192.168.64.20 ")
    );
    home.run(&["modify", "web", "network", "--no-local"]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "no_local"])
            .ok()
            .stdout,
        "1\n"
    );
    home.run(&["modify", "web", "network", "--local"]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "no_local"])
            .ok()
            .stdout,
        "0\n"
    );
    home.run(&["modify", "web", "network", "--local-default"])
        .ok();
    home.run(&["config", "no_local", "1"]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "no_local"])
            .ok()
            .stdout,
        "1\n"
    );

    let pf = home
        .run(&["-j", "modify", "web", "port", "ssh", "22"])
        .ok()
        .json();
    assert_eq!(pf["body"]["host_port"], 10000);
    home.run(&["modify", "web", "port", "--delete", "ssh"]).ok();
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json();
    assert_eq!(nic["body"]["port_forwarding_rules"], Value::Array(vec![]));

    home.run(&[
        "modify",
        "web",
        "set",
        "network-card",
        "0",
        "-t",
        "host",
        "--ip",
        "x",
    ])
    .code
    .eq(&2)
    .then_some(())
    .unwrap();
    home.run(&["modify", "web", "network", "--ip", "auto"]).ok();
    home.run(&["modify", "web", "set", "network-card", "0", "-t", "host"])
        .ok();
    assert_eq!(
        home.run(&["show", "web", "network", "mode"]).ok().stdout,
        "host\n"
    );
    home.run(&["modify", "web", "delete", "network-card"]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "mode"]).ok().stdout,
        "disconnected\n"
    );

    home.run(&["clone", "web", "web2"]).ok();
    let list = home.run(&["-j", "list"]).ok().json();
    let names: Vec<&str> = list["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "web2"]);
    assert_eq!(list["body"][0]["status"], "stopped");
    for field in ["name", "uuid", "mode", "mac", "ip", "status"] {
        assert!(list["body"][0].get(field).is_some(), "{field}");
    }
    home.run(&["delete", "web2", "--yes"]).ok();
    assert!(!home.path().join("vms/web2.plist").exists());
}

#[test]
fn static_mac_is_dropped_on_clone_unless_kept() {
    let home = with_vm();
    home.run(&[
        "modify",
        "web",
        "network",
        "--mac",
        "52:54:00:12:34:56",
        "--ip",
        "192.168.64.20",
    ])
    .ok();
    home.run(&["modify", "web", "port", "ssh", "22:2222"]).ok();
    home.run(&["clone", "web", "a"]).ok();
    let a = home.run(&["-j", "show", "a", "network"]).ok().json();
    assert_eq!(a["body"]["mac_policy"], "auto");
    assert_ne!(a["body"]["mac"], "52:54:00:12:34:56");
    assert_eq!(
        a["body"]["ip"],
        Value::Null,
        "a static IP belongs to one VM"
    );
    // A host port the user gave is kept, as Anka keeps it (the two cannot run at once).
    assert_eq!(a["body"]["port_forwarding_rules"][0]["host_port"], 2222);
    let run = home.run(&["clone", "web", "b", "--keep-mac"]).ok();
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("cannot run at once"),
        "{}",
        run.stderr
    );
    assert_eq!(
        home.run(&["show", "b", "network", "mac"]).ok().stdout,
        "52:54:00:12:34:56\n"
    );
}

#[test]
fn auto_macs_are_stable_and_distinct() {
    let home = Home::new();
    home.run(&["config", "mac_prefix", "0a:12:34"]).ok();
    for i in 0..20 {
        home.run(&["create", &format!("vm{i}")]).ok();
    }
    let list = home.run(&["-j", "list", "--field", "name,mac"]).ok().json();
    let macs: std::collections::HashSet<String> = list["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mac"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(macs.len(), 20);
    assert!(macs.iter().all(|m| m.starts_with("0a:12:34:")));
    let again = home.run(&["-j", "list", "--field", "name,mac"]).ok().json();
    assert_eq!(list, again, "an auto MAC never changes by itself");
}

#[test]
fn json_envelope_on_error() {
    let home = Home::new();
    let run = home.run(&["-j", "show", "nope", "network"]);
    assert_eq!(run.code, 3, "Anka's code for an unknown VM");
    let doc = run.json();
    assert_eq!(doc["status"], "ERROR");
    assert_eq!(doc["code"], 3);
    assert_eq!(
        doc["message"], "nope: not found",
        "anklet compares it exactly"
    );
    assert!(
        !run.stdout.ends_with('\n'),
        "no newline after JSON on a pipe"
    );
    home.run(&["create", "web"]).ok();
    let doc = home
        .run_env(&["create", "web"], &[("ANKA_MACHINE_READABLE", "1")])
        .json();
    assert_eq!(doc["code"], 18);
    let run = home.run(&["-j", "modify", "web", "network", "--mode", "nated"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["code"], 2);
    // Anka's nat is a value vmctl knows and refuses with its reason.
    let run = home.run(&["-j", "modify", "web", "network", "--mode", "nat"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["code"], 4);
}

#[test]
fn bad_macs() {
    let home = with_vm();
    home.refuses(
        &["modify", "web", "network", "--mac", "52:54:00:12:34"],
        1,
        "invalid MAC address",
    );
    home.refuses(
        &["modify", "web", "network", "--mac", "52:54:00:12:34:zz"],
        1,
        "invalid MAC address",
    );
    home.refuses(
        &["modify", "web", "network", "--mac", "01:00:5e:00:00:01"],
        1,
        "multicast",
    );
    home.refuses(
        &["modify", "web", "network", "--mac", "00:00:00:00:00:00"],
        1,
        "all-zero",
    );
    home.refuses(
        &["create", "x", "--mac", "ff:ff:ff:ff:ff:ff"],
        1,
        "multicast",
    );
    let run = home
        .run(&["modify", "web", "network", "--mac", "00:11:22:33:44:55"])
        .ok();
    assert!(
        run.stderr.contains("globally administered"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_static_ips() {
    let home = with_vm();
    home.refuses(
        &["modify", "web", "network", "--ip", "10.0.0.5"],
        1,
        "outside the shared network",
    );
    home.refuses(
        &["modify", "web", "network", "--ip", "192.168.64.1"],
        1,
        "gateway",
    );
    home.refuses(
        &["modify", "web", "network", "--ip", "192.168.64.255"],
        1,
        "broadcast",
    );
    home.refuses(
        &["modify", "web", "network", "--ip", "192.168.64.0"],
        1,
        "network address",
    );
    home.refuses(
        &["modify", "web", "network", "--ip", "192.168.64"],
        1,
        "not an IPv4 address",
    );
    home.run(&["modify", "web", "network", "--ip", "192.168.64.20"])
        .ok();
    home.run(&["create", "db"]).ok();
    home.refuses(
        &["modify", "db", "network", "--ip", "192.168.64.20"],
        1,
        "already reserved for VM 'web'",
    );
    home.refuses(
        &["modify", "web", "network", "-t", "bridge"],
        1,
        "bridge mode",
    );
    home.refuses(
        &[
            "modify",
            "db",
            "network",
            "-t",
            "bridge",
            "--ip",
            "192.168.64.30",
        ],
        1,
        "refused in bridge mode",
    );
    home.run(&["modify", "web", "network", "-t", "bridge", "--ip", "auto"])
        .ok();
}

#[test]
fn unknown_names_and_values() {
    let home = with_vm();
    home.refuses(
        &["modify", "web", "network", "--mode", "nated"],
        2,
        "invalid value 'nated'",
    );
    home.refuses(
        &["modify", "web", "network", "-c", "rtl8139"],
        2,
        "invalid value 'rtl8139'",
    );
    home.refuses(
        &["config", "no_such_key", "1"],
        2,
        "invalid value 'no_such_key'",
    );
    home.refuses(&["config", "no_local", "maybe"], 1, "no_local takes 0 or 1");
    home.refuses(&["config", "end_address", "10.0.0.9"], 1, "outside");
    home.refuses(
        &["config", "mac_prefix", "01:00:00"],
        1,
        "locally administered",
    );
    home.refuses(
        &["modify", "web", "network", "--network", "lab"],
        1,
        "no such network",
    );
    home.refuses(&["modify", "web", "network", "--vlan", "5000"], 2, "5000");
    home.refuses(&["modify", "web", "network"], 2, "no change given");
    let run = home.refuses(&["show", "wbe", "network"], 3, "wbe: not found");
    assert!(run.stderr.contains("did you mean 'web'?"), "{}", run.stderr);
    home.refuses(
        &["modify", "nope", "network", "--local"],
        3,
        "nope: not found",
    );
    home.refuses(&["create", "web"], 1, "a VM named 'web' already exists");
    home.refuses(&["create", "bad name"], 1, "invalid VM name");
    home.refuses(&["create", "../etc"], 1, "invalid VM name");
    home.refuses(&["clone", "web", "web"], 1, "already exists");
    home.refuses(&["delete", "web"], 1, "needs confirmation");
}

#[test]
fn bad_port_forwards() {
    let home = with_vm();
    home.run(&["create", "db"]).ok();
    home.refuses(
        &["modify", "web", "port", "ssh", "0"],
        1,
        "invalid port '0'",
    );
    home.refuses(
        &["modify", "web", "port", "ssh", "70000"],
        1,
        "invalid port",
    );
    home.refuses(
        &["modify", "web", "port", "ssh", "22:1.2.3"],
        1,
        "invalid host IP",
    );
    home.refuses(
        &["modify", "web", "port", "ssh", "22:2222:3333"],
        1,
        "too many",
    );
    home.refuses(&["modify", "web", "port", "ssh"], 1, "needs a guest port");
    home.refuses(&["modify", "web", "port"], 2, "needs NAME");
    home.run(&["modify", "web", "port", "ssh", "22:2222"]).ok();
    home.refuses(
        &["modify", "web", "add", "port", "ssh", "23"],
        1,
        "already has a port forward named 'ssh'",
    );
    // Another VM may forward the same host port, as in Anka: the two cannot run at once.
    let run = home.run(&["modify", "db", "port", "ssh", "22:2222"]).ok();
    assert!(
        run.stderr
            .contains("forwarded by 'web' (rule 'ssh') too: they cannot run at once"),
        "{}",
        run.stderr
    );
    home.refuses(
        &["modify", "db", "port", "ssh-again", "23:2222"],
        1,
        "VM 'db' forwards host port 2222/tcp already (rule 'ssh')",
    );
    home.run(&["modify", "db", "delete", "port", "ssh"]).ok();
    home.run(&[
        "modify",
        "db",
        "port",
        "dns",
        "53:2222",
        "--protocol",
        "udp",
    ])
    .ok();
    home.refuses(
        &["modify", "web", "port", "--delete", "nope"],
        1,
        "has no such rule",
    );
}

#[test]
fn corrupt_files_are_named_and_kept() {
    let home = with_vm();
    let path = home.path().join("vms/web.plist");
    std::fs::write(
        &path,
        b"<?xml version=\"1.0\"?><plist><dict><key>name</key>",
    )
    .unwrap();
    let run = home.refuses(&["show", "web", "network"], 1, "web.plist");
    assert!(run.stderr.contains("not a vmctl profile"), "{}", run.stderr);
    home.refuses(&["modify", "web", "network", "--local"], 1, "web.plist");
    let run = home.run(&["list"]).ok();
    assert!(
        run.stderr.contains("warning: skipped:") && run.stderr.contains("web.plist"),
        "{}",
        run.stderr
    );
    home.refuses(&["create", "other"], 1, "web.plist");
    std::fs::remove_file(&path).unwrap();
    std::fs::write(home.path().join("config.plist"), b"garbage").unwrap();
    home.refuses(&["config", "no_local", "1"], 1, "config.plist");
}

#[test]
fn config_precedence_and_sources() {
    let home = Home::new();
    home.run(&["config", "bridge_name", "en2"]).ok();
    assert_eq!(home.run(&["config", "bridge_name"]).ok().stdout, "en2\n");
    let env = [("ANKA_BRIDGE_NAME", "en1")];
    assert_eq!(
        home.run_env(&["config", "bridge_name"], &env).ok().stdout,
        "en1\n"
    );
    let env = [("ANKA_BRIDGE_NAME", "en1"), ("VMCTL_BRIDGE_NAME", "en3")];
    assert_eq!(
        home.run_env(&["config", "bridge_name"], &env).ok().stdout,
        "en3\n"
    );
    let list = home
        .run_env(&["-j", "config", "-l"], &[("ANKA_BRIDGE_NAME", "en1")])
        .ok()
        .json();
    let row = |key: &str| {
        list["body"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(row("bridge_name")["source"], "env ANKA_BRIDGE_NAME");
    assert_eq!(row("no_local")["source"], "default");
    home.run(&["config", "--unset", "bridge_name"]).ok();
    assert_eq!(home.run(&["config", "bridge_name"]).ok().stdout, "\n");
    home.run(&["config", "no_local", "1"]).ok();
    let list = home.run(&["-j", "config", "-l"]).ok().json();
    assert_eq!(list["body"][0]["source"], "config file");
    home.run(&["config", "-r", "--yes"]).ok();
    assert_eq!(home.run(&["config", "no_local"]).ok().stdout, "0\n");
    // A bad VMCTL_ value is an error; a bad or empty ANKA_ one is passed over, said once.
    let run = home.run_env(&["list"], &[("VMCTL_NO_LOCAL", "maybe")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("VMCTL_NO_LOCAL"), "{}", run.stderr);
    let run = home
        .run_env(
            &["list"],
            &[
                ("ANKA_NO_LOCAL", "maybe"),
                ("ANKA_BRIDGE_NAME", ""),
                ("ANKA_START_ADDRESS", "10.1.2.3"),
            ],
        )
        .ok();
    assert_eq!(
        run.stderr.matches("ANKA_NO_LOCAL is passed over").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ANKA_START_ADDRESS is passed over"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ANKA_BRIDGE_NAME"), "{}", run.stderr);
    let run = home
        .run_env(&["-j", "config", "no_local"], &[("ANKA_NO_LOCAL", "maybe")])
        .ok();
    assert_eq!(
        run.json()["body"]["no_local"],
        Value::Bool(false),
        "{}",
        run.stdout
    );
}

#[test]
fn concurrent_port_forwards_are_all_kept() {
    let home = with_vm();
    let children: Vec<_> = (0..8)
        .map(|p| {
            let exe = env!("CARGO_BIN_EXE_vmctl");
            let script = (0..25)
                .map(|i| {
                    format!(
                        "{exe} -q modify web port p{p}-{i} {} || exit 1",
                        1000 + p * 100 + i
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let mut cmd = std::process::Command::new("sh");
            cmd.env("VMCTL_HOME", home.path()).arg("-c").arg(script);
            cmd.spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json();
    let rules = nic["body"]["port_forwarding_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 200);
    let ports: std::collections::HashSet<u64> = rules
        .iter()
        .map(|r| r["host_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports.len(), 200, "host ports are unique");
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join("vms"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("web.plist")],
        "no temp files left"
    );
}

#[test]
fn generated_files_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("VMCTL_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, bytes) in vmctl::cli::generated_files() {
        let file = root.join(&path);
        if std::fs::read(&file).ok().as_deref() != Some(&bytes[..]) {
            if bless {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, &bytes).unwrap();
            }
            stale.push(path);
        }
    }
    assert!(
        bless || stale.is_empty(),
        "stale generated files {stale:?}: run `VMCTL_BLESS=1 cargo test --test cli generated`"
    );
}

#[test]
fn help_has_examples_and_hides_anka2_syntax() {
    let home = Home::new();
    let help = home.run(&["modify", "--help"]).ok().stdout;
    assert!(help.contains("Examples:"));
    assert!(!help.contains("network-card"));
    let help = home.run(&["--help"]).ok().stdout;
    assert!(!help.contains("completions"));
}

fn write_file(home: &Home, name: &str, text: &str) -> String {
    let path = home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn filter_rules_are_kept_shown_and_replaced_whole() {
    let home = with_vm();
    let rules = "# egress\nblock out to 1.1.1.1 port 53\nblock local\n";
    let file = write_file(&home, "rules.txt", rules);
    home.run(&["modify", "web", "network", "-f", &file]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "-f"]).ok().stdout,
        rules
    );
    assert_eq!(
        home.run(&["show", "web", "network", "filter"]).ok().stdout,
        "file\n"
    );
    assert_eq!(
        home.run(&["show", "web", "network", "filter_file"])
            .ok()
            .stdout,
        format!("{file}\n")
    );
    let json = home
        .run(&["-j", "show", "web", "network", "-f"])
        .ok()
        .json();
    assert_eq!(json["body"]["rules"][1], "block out to local");
    assert_eq!(json["body"]["source"], file.as_str());

    // The file is kept by its path and read again at every show, plan and start, as in Anka.
    std::fs::write(&file, "block out to 9.9.9.9\n").unwrap();
    assert_eq!(
        home.run(&["show", "web", "network", "-f"]).ok().stdout,
        "block out to 9.9.9.9\n"
    );
    let nft = home
        .run(&["plan", "web", "--platform", "linux", "--part", "nft"])
        .ok()
        .stdout;
    assert!(nft.contains("9.9.9.9") && !nft.contains("1.1.1.1"), "{nft}");
    // A file that stopped parsing refuses the plan (and a start), naming the file.
    std::fs::write(&file, "block out to 9.9.9.9 prot 53\n").unwrap();
    let run = home.refuses(
        &["plan", "web", "--platform", "linux"],
        1,
        "VM 'web' reads its rules from it, and it no longer parses",
    );
    assert!(run.stderr.contains("rules.txt"), "{}", run.stderr);
    home.refuses(&["show", "web", "network", "-f"], 1, "rules.txt");
    std::fs::remove_file(&file).unwrap();
    home.refuses(
        &["plan", "web", "--platform", "macos"],
        1,
        "it cannot be read",
    );
    std::fs::write(&file, rules).unwrap();

    let mut child = home
        .cmd(&["modify", "web", "network", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"block any\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        home.run(&["show", "web", "network", "-f"]).ok().stdout,
        "block any\n"
    );
    // `-f -` embeds the rules: the file no longer matters.
    assert_eq!(
        home.run(&["show", "web", "network", "filter"]).ok().stdout,
        "vm\n"
    );
    std::fs::remove_file(&file).unwrap();
    home.run(&["plan", "web", "--platform", "linux"]).ok();
    std::fs::write(&file, rules).unwrap();

    let bad = write_file(
        &home,
        "bad.txt",
        "block out to 1.1.1.1\n# fine\nblock out to 1.1.1.1 prot 53\n",
    );
    let run = home.refuses(
        &["modify", "web", "network", "-f", &bad],
        1,
        "line 3, column 22",
    );
    assert!(run.stderr.contains("bad.txt"), "{}", run.stderr);
    home.refuses(
        &["modify", "web", "network", "-f", "/nonexistent/rules"],
        1,
        "/nonexistent/rules",
    );

    home.run(&["modify", "web", "network", "-f", "off"]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "filter"]).ok().stdout,
        "\n"
    );
    home.refuses(&["config", "net_filter", &bad], 1, "line 3");
    home.run(&["config", "net_filter", &file]).ok();
    assert_eq!(
        home.run(&["show", "web", "network", "filter"]).ok().stdout,
        "net_filter\n"
    );
    assert_eq!(
        home.run(&["show", "web", "network", "-f"]).ok().stdout,
        rules
    );
}

#[test]
fn plan_prints_each_part() {
    let home = with_vm();
    home.run(&[
        "modify",
        "web",
        "network",
        "--ip",
        "192.168.64.20",
        "--no-local",
    ])
    .ok();
    home.run(&["modify", "web", "port", "ssh", "22"]).ok();
    let file = write_file(&home, "rules.txt", "block out to 169.254.169.254\n");
    home.run(&["modify", "web", "network", "-f", &file]).ok();
    home.run(&["create", "db", "-t", "host"]).ok();

    let nft = home
        .run(&["plan", "--platform", "linux", "--part", "nft"])
        .ok()
        .stdout;
    assert!(nft.starts_with("#!/usr/sbin/nft -f\n"), "{nft}");
    assert!(nft.contains("tcp . 10000 : 192.168.64.20 . 22"), "{nft}");
    assert!(
        nft.contains("ip daddr 169.254.169.254 counter drop"),
        "{nft}"
    );
    let links = home
        .run(&["plan", "--platform", "linux", "--part", "links"])
        .ok()
        .stdout;
    assert!(
        links.contains("bridge  vmctl-shared") && links.contains("bridge  vmctl-host"),
        "{links}"
    );
    let dnsmasq = home
        .run(&["plan", "db", "--platform", "linux", "--part", "dnsmasq"])
        .ok()
        .stdout;
    assert!(
        dnsmasq.contains("interface=vmctl-host") && !dnsmasq.contains("vmctl-shared"),
        "{dnsmasq}"
    );
    let pf = home
        .run(&["plan", "--platform", "macos", "--part", "pf"])
        .ok()
        .stdout;
    assert!(pf.contains("pfctl -a com.apple/vmctl.web"), "{pf}");
    assert!(
        pf.contains(
            "rdr pass inet proto tcp from any to (self) port 10000 -> 192.168.64.20 port 22"
        ),
        "{pf}"
    );
    let json = home.run(&["-j", "plan", "--platform", "linux"]).ok().json();
    assert_eq!(json["body"]["platform"], "linux");
    assert!(json["body"]["plan"]["links"].as_array().unwrap().len() >= 3);
    home.refuses(
        &["plan", "--platform", "linux", "--part", "pf"],
        1,
        "no such part",
    );
    home.refuses(&["plan", "nope"], 3, "nope: not found");
    let before = home.files();
    home.run(&["plan"]).ok();
    assert_eq!(before, home.files(), "plan writes nothing");
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

fn future_dnsmasq_leases(home: &Home, lines: &[(&str, &str, &str)]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let text: String = lines
        .iter()
        .map(|(mac, ip, host)| format!("{} {mac} {ip} {host} *\n", now + 3600))
        .collect();
    write_file(home, "dnsmasq.leases", &text)
}

#[test]
fn leases_show_owner_expiry_and_pool() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "8e:01:99:9c:54:b1"])
        .ok();
    let file = fixture("dhcpd_leases");
    let json = home
        .run(&["-j", "leases", "--file", &file, "--all"])
        .ok()
        .json();
    let rows = json["body"]["leases"].as_array().unwrap();
    let first = rows.iter().find(|r| r["ip"] == "192.168.64.2").unwrap();
    assert_eq!(first["vm"], "web");
    assert_eq!(first["mac"], "8e:01:99:9c:54:b1");
    assert_eq!(first["expired"], true);
    let odd = rows
        .iter()
        .find(|r| r["hostname"] == "debian-cloud")
        .unwrap();
    assert_eq!(
        odd["mac"],
        Value::Null,
        "a non-MAC client id is kept, owned by nothing"
    );
    assert_eq!(json["body"]["pools"][0]["network"], "shared");
    assert_eq!(json["body"]["pools"][0]["size"], 253);
    // The fixture's leases all expired in 2026-05: without --all none is current.
    let json = home.run(&["-j", "leases", "--file", &file]).ok().json();
    assert_eq!(json["body"]["leases"], Value::Array(vec![]));
    assert_eq!(json["body"]["pools"][0]["used"], 0);

    let current = future_dnsmasq_leases(
        &home,
        &[
            ("8e:1:99:9c:54:b1", "192.168.64.9", "web"),
            ("52:54:00:00:00:09", "192.168.128.5", "*"),
        ],
    );
    let json = home
        .run(&["-j", "leases", "--file", &current, "--network", "shared"])
        .ok()
        .json();
    assert_eq!(json["body"]["leases"].as_array().unwrap().len(), 1);
    assert_eq!(json["body"]["pools"][0]["used"], 1);
    assert_eq!(json["body"]["pools"].as_array().unwrap().len(), 1);
    let table = home.run(&["leases", "--file", &current]).ok().stdout;
    assert!(
        table.contains("192.168.64.9")
            && (table.contains("in 59m") || table.contains("in 1h 0m"))
            && table.contains("pool host"),
        "{table}"
    );

    let run = home.refuses(
        &["leases", "--file", &fixture("dhcpd_leases.malformed")],
        1,
        "dhcpd_leases.malformed",
    );
    assert!(run.stderr.contains("line 10"), "{}", run.stderr);
    home.refuses(
        &["leases", "--file", &fixture("dhcpd_leases.truncated")],
        1,
        "line 7",
    );
    // Only a default lease file may be missing; a named one is an error.
    let json = home.run(&["-j", "leases"]).ok().json();
    assert_eq!(
        json["body"]["leases"],
        Value::Array(vec![]),
        "a missing default file means no leases"
    );
    home.refuses(
        &["leases", "--file", "/nonexistent/leases"],
        1,
        "/nonexistent/leases",
    );
}

#[test]
fn lease_files_that_are_missing_endless_or_huge_are_refused() {
    let home = with_vm();
    for args in [
        &["leases", "--file", "/nonexistent/leases"][..],
        &["ip", "web", "--file", "/nonexistent/leases"],
        &[
            "hosts-sync",
            "--hosts-file",
            "/nonexistent/hosts",
            "--leases-file",
            "/nonexistent/leases",
        ],
    ] {
        let run = home.refuses(args, 1, "'/nonexistent/leases': no such file");
        assert!(run.stderr.contains("check the path"), "{}", run.stderr);
    }
    // A device or a FIFO would never end or never start: refused at once (the timeout
    // turns a hang into a failure).
    // Outside the home: `refuses` reads every file of the home to check that none changed.
    let outside = tempfile::tempdir().unwrap();
    let fifo = outside.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = fifo.display().to_string();
    for file in ["/dev/zero", fifo.as_str(), "/tmp"] {
        home.refuses_in(
            &["timeout", "20"],
            &[],
            &["leases", "--file", file],
            1,
            "not a regular file",
        );
        home.refuses_in(
            &["timeout", "20"],
            &[],
            &["ip", "web", "--source", "lease", "--file", file],
            1,
            "not a regular file",
        );
    }
    // Larger than vmctl reads: a sparse file, so the test writes nothing.
    let huge = outside.path().join("huge.leases");
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&huge)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    home.refuses(
        &["leases", "--file", &huge.display().to_string()],
        1,
        "larger than the 512 MB vmctl reads",
    );
}

#[test]
fn an_explicit_dhcp_leases_file_is_read_on_every_platform() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    let leases = future_dnsmasq_leases(&home, &[("52:54:00:12:34:56", "192.168.64.33", "web")]);
    for var in ["VMCTL_DHCP_LEASES_FILE", "ANKA_DHCP_LEASES_FILE"] {
        let env = [(var, leases.as_str())];
        let run = home.run_env(&["ip", "web", "--source", "lease"], &env).ok();
        assert_eq!(run.stdout, "192.168.64.33\n", "{var}");
        let json = home.run_env(&["-j", "leases"], &env).ok().json();
        assert_eq!(json["body"]["leases"][0]["vm"], "web", "{var}");
        // Set explicitly, it must be there.
        let run = home.refuses_in(
            &[],
            &[(var, "/nonexistent/dhcpd_leases")],
            &["leases"],
            1,
            "/nonexistent/dhcpd_leases",
        );
        assert!(run.stderr.contains(var), "{}", run.stderr);
    }
    home.run(&["config", "dhcp_leases_file", &leases]).ok();
    let run = home.run(&["ip", "web", "--source", "lease"]).ok();
    assert_eq!(run.stdout, "192.168.64.33\n");
    home.run(&["config", "dhcp_leases_file", "/nonexistent/dhcpd_leases"])
        .ok();
    let run = home.refuses(&["ip", "web"], 1, "/nonexistent/dhcpd_leases");
    assert!(
        run.stderr.contains("config --unset dhcp_leases_file"),
        "{}",
        run.stderr
    );
}

#[test]
fn lease_text_is_escaped_and_cut_before_it_is_shown() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let long = "h".repeat(100_000);
    let text = format!(
        "{{\n\tname=evil\u{1b}]0;pwned\u{7}\n\tip_address=192.168.64.9\n\thw_address=1,52:54:0:12:34:56\n\tlease=0x{:x}\n}}\n{{\n\tname={long}\n\tip_address=192.168.64.10\n\thw_address=1,52:54:0:12:34:57\n\tlease=0x{:x}\n}}\n",
        now + 3600,
        now + 3600
    );
    let file = write_file(&home, "dhcpd_leases", &text);
    let table = home.run(&["leases", "--file", &file]).ok().stdout;
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("evil\\u{1b}]0;pwned"), "{table}");
    assert!(
        table.len() < 5_000,
        "the long name is cut: {} bytes",
        table.len()
    );
    let json = home.run(&["-j", "leases", "--file", &file]).ok().json();
    assert_eq!(
        json["body"]["leases"][0]["hostname"],
        "evil\u{1b}]0;pwned\u{7}"
    );
    let cut = json["body"]["leases"][1]["hostname"].as_str().unwrap();
    assert!(cut.len() < 300 && cut.ends_with("more bytes)"), "{cut}");
    // A huge bad token is not echoed whole.
    let bad = write_file(
        &home,
        "bad_leases",
        &format!("{{\n\tip_address={long}\n}}\n"),
    );
    let run = home.refuses(&["leases", "--file", &bad], 1, "line 2");
    assert!(run.stderr.len() < 1_000, "{} bytes", run.stderr.len());
}

#[test]
fn hosts_sync_applies_at_once_keep_every_line() {
    let home = Home::new();
    let count = 8;
    let mut lines = Vec::new();
    for i in 0..count {
        let mac = format!("52:54:00:12:34:{i:02x}");
        home.run(&["create", &format!("vm{i}"), "--mac", &mac]).ok();
        lines.push((mac, format!("192.168.64.{}", 10 + i)));
    }
    let lines: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|(mac, ip)| (mac.as_str(), ip.as_str(), "*"))
        .collect();
    let leases = future_dnsmasq_leases(&home, &lines);
    let hosts = home.path().join("hosts");
    let hosts_arg = hosts.display().to_string();
    for round in 0..3 {
        std::fs::write(&hosts, "127.0.0.1\tlocalhost\n").unwrap();
        let children: Vec<_> = (0..count)
            .map(|i| {
                home.cmd(&[
                    "-q",
                    "hosts-sync",
                    &format!("vm{i}"),
                    "--hosts-file",
                    &hosts_arg,
                    "--leases-file",
                    &leases,
                    "--apply",
                    "--yes",
                ])
                .stdin(std::process::Stdio::null())
                .spawn()
                .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let text = std::fs::read_to_string(&hosts).unwrap();
        for i in 0..count {
            assert!(
                text.contains(&format!("192.168.64.{}\tvm{i}\n", 10 + i)),
                "round {round}: vm{i}'s line was lost:\n{text}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn hosts_sync_writes_through_a_symlink() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    let leases = future_dnsmasq_leases(&home, &[("52:54:00:12:34:56", "192.168.64.33", "web")]);
    let real = home.path().join("etc-real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("hosts");
    std::fs::write(&target, "127.0.0.1\tlocalhost\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&target).unwrap();
    if before.uid() == 0 {
        std::os::unix::fs::chown(&target, None, Some(4321)).unwrap();
    }
    let before = std::fs::metadata(&target).unwrap();
    let link = home.path().join("hosts");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    home.run(&[
        "hosts-sync",
        "--hosts-file",
        &link.display().to_string(),
        "--leases-file",
        &leases,
        "--apply",
        "--yes",
    ])
    .ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("192.168.64.33\tweb"), "{text}");
    let after = std::fs::metadata(&target).unwrap();
    assert_eq!(
        (after.uid(), after.gid(), after.mode()),
        (before.uid(), before.gid(), before.mode())
    );
}

#[test]
fn a_broken_hosts_block_hint_names_the_block_not_the_file() {
    let home = with_vm();
    let hosts = write_file(&home, "hosts", "127.0.0.1 localhost\n# BEGIN vmctl\n");
    let run = home.refuses(&["-q", "hosts-sync", "--hosts-file", &hosts], 1, "hosts");
    assert!(
        run.stderr.contains("vmctl's marked block") && !run.stderr.contains("remove the file"),
        "{}",
        run.stderr
    );
}

#[test]
fn ip_by_lease_by_arp_and_clear_when_missing() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    let leases = future_dnsmasq_leases(&home, &[("52:54:0:12:34:56", "192.168.64.33", "web")]);
    let run = home
        .run(&["ip", "web", "--source", "lease", "--file", &leases])
        .ok();
    assert_eq!(run.stdout, "192.168.64.33\n");
    let json = home
        .run(&["-j", "ip", "web", "--source", "lease", "--file", &leases])
        .ok()
        .json();
    assert_eq!(json["body"]["source"], "lease");

    let arp = [("VMCTL_NEIGHBOURS_FILE", fixture("proc_net_arp"))];
    let arp: Vec<(&str, &str)> = arp.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let empty = write_file(&home, "empty.leases", "");
    let run = home
        .run_env(&["ip", "web", "--source", "arp", "--file", &empty], &arp)
        .ok();
    assert_eq!(run.stdout, "192.168.122.45\n");

    home.run(&["create", "db"]).ok();
    let run = home.refuses(
        &["ip", "db", "--source", "lease", "--file", &leases],
        10,
        "no address found for VM 'db'",
    );
    assert!(run.stderr.contains("--wait"), "{}", run.stderr);
    let started = std::time::Instant::now();
    let run = home.run(&[
        "-j", "ip", "db", "--source", "lease", "--file", &leases, "--wait", "1s",
    ]);
    assert_eq!(run.code, 10);
    assert_eq!(run.json()["code"], 10);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    home.refuses(&["ip", "db", "--wait", "soon"], 2, "soon");
}

#[test]
fn hosts_sync_keeps_everything_outside_its_block() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    home.run(&["create", "db", "--mac", "52:54:00:12:34:57"])
        .ok();
    let leases = future_dnsmasq_leases(
        &home,
        &[
            ("52:54:00:12:34:56", "192.168.64.33", "web"),
            ("52:54:00:12:34:57", "192.168.64.34", "db"),
        ],
    );
    let original = std::fs::read(fixture("hosts.crlf_no_trailing_newline")).unwrap();
    let hosts = home.path().join("hosts");
    std::fs::write(&hosts, &original).unwrap();
    let hosts_arg = hosts.display().to_string();
    let args = [
        "hosts-sync",
        "--hosts-file",
        &hosts_arg,
        "--leases-file",
        &leases,
    ];

    let dry = home.run(&args).ok();
    assert!(dry.stdout.contains("+192.168.64.33\tweb"), "{}", dry.stdout);
    assert_eq!(
        std::fs::read(&hosts).unwrap(),
        original,
        "a dry run writes nothing"
    );
    home.refuses(&[&args[..], &["--apply"]].concat(), 1, "needs confirmation");

    home.run(&[&args[..], &["--apply", "--yes"]].concat()).ok();
    let written = std::fs::read_to_string(&hosts).unwrap();
    assert!(
        written.starts_with(std::str::from_utf8(&original).unwrap()),
        "outside bytes kept:\n{written:?}"
    );
    assert!(
        written.contains("192.168.64.34\tdb\r\n"),
        "CRLF kept:\n{written:?}"
    );
    let again = home.run(&[&args[..], &["--apply", "--yes"]].concat()).ok();
    assert!(again.stderr.contains("up to date"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        written,
        "a second run changes nothing"
    );

    // Only the named VM moves; db's line stays although db has no lease now.
    let moved = future_dnsmasq_leases(&home, &[("52:54:00:12:34:56", "192.168.64.40", "web")]);
    home.run(&[
        "hosts-sync",
        "web",
        "--hosts-file",
        &hosts_arg,
        "--leases-file",
        &moved,
        "--apply",
        "--yes",
    ])
    .ok();
    let text = std::fs::read_to_string(&hosts).unwrap();
    assert!(
        text.contains("192.168.64.40\tweb") && text.contains("192.168.64.34\tdb"),
        "{text:?}"
    );
}

#[test]
fn review_findings_stay_fixed() {
    let home = with_vm();
    // VMCTL_JSON takes 1/0 and beats ANKA_MACHINE_READABLE.
    let run = home
        .run_env(&["show", "web", "network", "mode"], &[("VMCTL_JSON", "1")])
        .ok();
    assert_eq!(run.json()["body"], "shared");
    let run = home
        .run_env(
            &["show", "web", "network", "mode"],
            &[("VMCTL_JSON", "0"), ("ANKA_MACHINE_READABLE", "1")],
        )
        .ok();
    assert_eq!(run.stdout, "shared\n");
    // clap's details stay in the one error line.
    home.refuses(&["show"], 2, "<VM>");
    home.refuses(
        &["config", "--unset", "no_local", "no_local", "1"],
        2,
        "cannot be used with",
    );
    // Names that differ only in case are one file on macOS.
    home.refuses(&["create", "WEB"], 1, "a VM named 'web' already exists");
    // Control characters are escaped, so the error stays one line.
    let run = home.refuses(
        &["create", "a\u{1b}[31mb"],
        1,
        "invalid VM name 'a\\u{1b}[31mb'",
    );
    assert!(!run.stderr.contains('\u{1b}'));
    // Port forwards need a network.
    home.run(&["create", "lan", "-t", "bridge"]).ok();
    home.refuses(&["modify", "lan", "port", "ssh", "22"], 1, "bridge mode");
    // A bad config value can be repaired with vmctl itself, and -r recovers from garbage.
    std::fs::write(
        home.path().join("config.plist"),
        "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>no_local</key><string>7</string></dict></plist>",
    )
    .unwrap();
    home.refuses(&["list"], 1, "config.plist");
    home.run(&["config", "no_local", "1"]).ok();
    std::fs::write(home.path().join("config.plist"), "garbage").unwrap();
    home.run(&["config", "-r", "--yes"]).ok();
    assert_eq!(home.run(&["config", "no_local"]).ok().stdout, "0\n");
    // Changing mac_prefix says that auto MACs move.
    let run = home.run(&["config", "mac_prefix", "0a:12:34"]).ok();
    assert!(run.stderr.contains("get a new MAC"), "{}", run.stderr);
    // A config change that invalidates a static IP says so.
    home.run(&["modify", "web", "network", "--ip", "192.168.64.20"])
        .ok();
    let run = home.run(&["config", "start_address", "192.168.64.20"]).ok();
    assert!(
        run.stderr.contains("VM 'web'") && run.stderr.contains("gateway"),
        "{}",
        run.stderr
    );
    // An unreadable profile is skipped by list (with a warning) and can be deleted.
    std::fs::write(home.path().join("vms/bad.plist"), "garbage").unwrap();
    let run = home.run(&["-j", "list"]).ok();
    assert!(run.stderr.contains("bad.plist"), "{}", run.stderr);
    assert_eq!(run.json()["body"].as_array().unwrap().len(), 2);
    home.run(&["delete", "bad", "--yes"]).ok();
    assert!(!home.path().join("vms/bad.plist").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn a_started_vm_shows_its_leased_address() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    // No address yet is "not there yet" (exit 10), never an empty line with exit 0.
    home.refuses(
        &["show", "web", "network", "ip"],
        10,
        "VM 'web' has no address: it is stopped and has no static IP",
    );
    let body = home.run(&["-j", "show", "web", "network", "ip"]).json();
    assert_eq!(body["code"], 10);
    let table = home.run(&["show", "web", "network"]).ok().stdout;
    assert!(table.contains("| ip         | none"), "{table}");
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    // Started without an address yet: `show` falls back to the leases, as `vmctl ip` does.
    std::fs::write(
        home.path().join("run/web.plist"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>schema_version</key><integer>1</integer><key>vm</key><string>web</string>
<key>uuid</key><string>x</string><key>started</key><integer>0</integer>
<key>mode</key><string>shared</string><key>network</key><string>shared</string>
<key>link</key><string>vmt-0fd9bc91</string>
<key>attach</key><dict><key>kind</key><string>tap</string></dict>
<key>mac</key><string>52:54:00:12:34:56</string><key>no_local</key><false/>
</dict></plist>"#,
    )
    .unwrap();
    home.refuses(
        &["show", "web", "network", "ip"],
        10,
        "VM 'web' is started but has no address yet",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::fs::create_dir_all(home.path().join("networks/shared")).unwrap();
    std::fs::write(
        home.path().join("networks/shared/leases"),
        format!("{} 52:54:00:12:34:56 192.168.64.50 web *\n", now + 600),
    )
    .unwrap();
    assert_eq!(
        home.run(&["show", "web", "network", "ip"]).ok().stdout,
        "192.168.64.50\n"
    );
    assert_eq!(
        home.run(&["show", "web", "network", "ip_source"])
            .ok()
            .stdout,
        "lease\n"
    );
    let table = home.run(&["show", "web", "network"]).ok().stdout;
    // The address bare, as Anka's table has it (`ip_source` says where it came from).
    assert!(
        table.contains("| 192.168.64.50 ") && !table.contains("(lease)"),
        "{table}"
    );
    let vm = home.run(&["-j", "show", "web"]).ok().json();
    assert_eq!(vm["body"]["ip"], "192.168.64.50");
    assert_eq!(vm["body"]["ip_source"], "lease");
    assert!(
        home.run(&["show", "web"])
            .ok()
            .stdout
            .contains("shared 192.168.64.50"),
    );
    assert_eq!(
        home.run(&["ip", "web", "--source", "lease"]).ok().stdout,
        "192.168.64.50\n"
    );
    home.refuses(&["delete", "web", "--yes"], 1, "is started");
}

/// After a reboot `run/` still holds the states of the VMs started before it: they are stopped.
#[test]
fn a_run_state_from_an_earlier_boot_is_a_stopped_vm() {
    let home = with_vm();
    let mac = home.run(&["show", "web", "network", "mac"]).ok().stdout;
    let run_file = |boot: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>schema_version</key><integer>1</integer><key>vm</key><string>web</string>
<key>uuid</key><string>x</string><key>started</key><integer>0</integer>
<key>boot</key><string>{boot}</string>
<key>mode</key><string>shared</string><key>network</key><string>shared</string>
<key>link</key><string>vmt-0fd9bc91</string>
<key>attach</key><dict><key>kind</key><string>tap</string></dict>
<key>mac</key><string>{}</string><key>ip</key><string>192.168.64.50</string>
<key>no_local</key><false/>
</dict></plist>"#,
            mac.trim()
        )
    };
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    std::fs::write(
        home.path().join("run/web.plist"),
        run_file("00000000-0000-0000-0000-000000000000"),
    )
    .unwrap();

    let running = home.run(&["-j", "list", "--running"]).ok();
    assert_eq!(running.json()["body"], serde_json::json!([]));
    assert!(
        running
            .stderr
            .contains("VM 'web' was started before the last reboot"),
        "{}",
        running.stderr
    );
    let row = &home.run(&["-j", "list"]).ok().json()["body"][0];
    assert_eq!(row["status"], "stopped", "{row}");
    assert_eq!(row["stale"], "earlier boot", "{row}");
    assert_eq!(
        row["ip"],
        Value::Null,
        "the address it had went with the boot"
    );
    let row = &home.run(&["-j", "list", "-f", "name"]).ok().json()["body"][0];
    assert_eq!(row, &serde_json::json!({"name": "web"}));
    let table = home.run(&["list", "-f", "status=stopped"]).ok().stdout;
    assert!(table.contains("web"), "{table}");

    let shown = home.run(&["-j", "show", "web"]).ok().json();
    assert_eq!(shown["body"]["status"], "stopped");
    assert_eq!(shown["body"]["stale"], "earlier boot");
    let table = home.run(&["show", "web"]).ok().stdout;
    assert!(
        table.contains("stopped (started before the last reboot"),
        "{table}"
    );
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json();
    assert_eq!(nic["body"]["status"], "stopped");
    assert_eq!(nic["body"]["stale"], "earlier boot");
    assert_eq!(nic["body"]["link"], Value::Null, "{}", nic["body"]);
    assert_eq!(
        home.run(&["show", "web", "network", "status"]).ok().stdout,
        "stopped\n"
    );
    home.refuses(&["show", "web", "network", "ip"], 10, "it is stopped");

    // The same file of this boot is a started VM.
    if let Ok(boot) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        std::fs::write(home.path().join("run/web.plist"), run_file(boot.trim())).unwrap();
        let row = &home.run(&["-j", "list", "--running"]).ok().json()["body"][0];
        assert_eq!(row["status"], "running", "{row}");
        assert_eq!(row["ip"], "192.168.64.50", "{row}");
        assert_eq!(row.get("stale"), None, "{row}");
    }

    // `stop` forgets an earlier boot's state, touching nothing on the host: it was not started.
    std::fs::write(
        home.path().join("run/web.plist"),
        run_file("00000000-0000-0000-0000-000000000000"),
    )
    .unwrap();
    let stopped = home.run(&["-j", "stop", "web"]).ok().json();
    assert_eq!(stopped["body"]["was_started"], false, "{stopped}");
    assert!(!home.path().join("run/web.plist").exists());
}

/// Root inside a private network namespace, or `None` (said on the terminal) where that cannot
/// run; `VMCTL_REQUIRE_NETNS=1` makes that a failure.
fn netns_wrapper() -> Option<Vec<&'static str>> {
    let ok = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = "SKIPPED start/stop refusal tests: `unshare -n` needs root";
        assert!(
            std::env::var_os("VMCTL_REQUIRE_NETNS").is_none(),
            "{why}, and VMCTL_REQUIRE_NETNS is set"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{why}\n").as_bytes());
        return None;
    }
    Some(vec!["unshare", "-n"])
}

#[test]
fn start_refusals_name_what_is_missing_and_leave_nothing() {
    let home = with_vm();
    // Refused before any privilege is needed.
    home.refuses(
        &["start", "web", "--attach", "vm1"],
        1,
        "invalid attachment 'vm1'",
    );
    home.refuses(
        &["start", "web", "--attach", "netns:a/b"],
        1,
        "invalid network namespace 'a/b'",
    );
    home.refuses(
        &["start", "web", "--attach", "netns:x", "--owner", "0"],
        1,
        "only a TAP has an owner",
    );
    home.refuses(&["start", "nope"], 3, "nope: not found");
    let stopped = home.run(&["stop", "web"]).ok();
    assert!(
        stopped.stderr.contains("is not started"),
        "{}",
        stopped.stderr
    );
    let Some(netns) = netns_wrapper() else {
        return;
    };
    // Everything below runs in a namespace of its own: a regression cannot reach this host.
    let no_admin = [
        netns.clone(),
        vec![
            "setpriv",
            "--inh-caps=-net_admin",
            "--bounding-set=-net_admin",
        ],
    ]
    .concat();
    home.refuses_in(&no_admin, &[], &["start", "web"], 1, "needs CAP_NET_ADMIN");
    let empty_path = home.path().join("empty-bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    home.refuses_in(
        &netns,
        &[("PATH", empty_path.to_str().unwrap())],
        &["start", "web"],
        1,
        "`nft` is not installed",
    );
    home.refuses_in(
        &netns,
        &[],
        &["start", "web", "--attach", "netns:vmctl-test-absent"],
        1,
        "network namespace 'vmctl-test-absent' does not exist",
    );
    home.run(&["create", "lan", "-t", "bridge", "-b", "vmtest9"])
        .ok();
    let run = home.refuses_in(
        &netns,
        &[],
        &["start", "lan"],
        1,
        "host interface 'vmtest9'",
    );
    assert!(run.stderr.contains("ANKA_BRIDGE_NAME"), "{}", run.stderr);
    let out = std::process::Command::new("unshare")
        .arg("-n")
        .arg(env!("CARGO_BIN_EXE_vmctl"))
        .args(["-j", "start", "lan"])
        .env("VMCTL_HOME", home.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["code"], 11, "{json}");
}

/// A program that must not abort: exit 134 (abort) or 101 (panic) is a crash.
#[track_caller]
fn no_crash(run: &Run, what: &str) {
    assert!(
        ![101, 134, -1].contains(&run.code),
        "{what} crashed ({}): {}",
        run.code,
        run.stderr
    );
}

#[test]
fn hostile_files_and_broken_outputs_do_not_crash() {
    let home = with_vm();
    // A profile nested 50,000 deep: an error naming it, skipped by list, removable by delete.
    let deep = format!(
        "<?xml version=\"1.0\"?><plist><dict><key>name</key><string>deep</string><key>x</key>{}{}</dict></plist>",
        "<array>".repeat(50_000),
        "</array>".repeat(50_000)
    );
    write_file(&home, "vms/deep.plist", &deep);
    let run = home.refuses(&["plan", "deep"], 1, "deep.plist");
    assert!(run.stderr.contains("nested more than"), "{}", run.stderr);
    home.refuses(&["modify", "deep", "network", "--local"], 1, "deep.plist");
    let run = home.run(&["list"]).ok();
    assert!(run.stderr.contains("deep.plist"), "{}", run.stderr);
    home.run(&["delete", "deep", "--yes"]).ok();
    assert!(!home.path().join("vms/deep.plist").exists());
    // The same in config.plist.
    write_file(&home, "config.plist", &deep.replace("deep", "x"));
    let run = home.refuses(&["list"], 1, "config.plist");
    no_crash(&run, "list with a deep config.plist");
    std::fs::remove_file(home.path().join("config.plist")).unwrap();

    // A wait that would overflow the clock is refused, not a panic.
    let run = home.run(&["ip", "web", "--wait", "9300000000000000000"]);
    no_crash(&run, "ip --wait huge");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("out of range"), "{}", run.stderr);

    // stderr on a full device: the change is made and reported by the exit status.
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = home
        .cmd(&["create", "fullerr"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "create with stderr on /dev/full"
    );
    assert!(home.path().join("vms/fullerr.plist").exists());
    let out = home
        .cmd(&["-j", "modify", "fullerr", "network", "--local"])
        .stdout(full())
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "modify -j with stdout on /dev/full"
    );
    // Output that is the whole job fails (exit 1) on a full disk, without a panic; a closed
    // pipe is not an error.
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let out = home
            .cmd(args)
            .stdout(full())
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} to /dev/full");
        let mut child = home
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} to a closed pipe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn config_moves_subnets_in_one_step_and_resets_by_key() {
    let home = with_vm();
    // A start address alone moves the whole range, as Anka moves it: the end keeps its
    // place in the subnet...
    let run = home.run(&["config", "start_address", "10.8.0.1"]).ok();
    assert!(
        run.stderr
            .contains("end_address = 10.8.0.254 (moved with start_address)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        home.run(&["config", "end_address"]).ok().stdout,
        "10.8.0.254\n"
    );
    // ...an end address that does not fit the subnet is refused, saying how...
    let run = home.refuses(
        &["config", "end_address", "10.9.0.200"],
        1,
        "outside 10.8.0.0/24",
    );
    assert!(
        run.stderr.contains("start_address"),
        "the hint says how: {}",
        run.stderr
    );
    // ...several at once are checked together and written once.
    home.run(&[
        "config",
        "start_address",
        "10.9.0.1",
        "end_address",
        "10.9.0.200",
    ])
    .ok();
    assert_eq!(
        home.run(&["config", "end_address"]).ok().stdout,
        "10.9.0.200\n"
    );
    home.refuses(&["config", "no_local", "1", "portfwd_base"], 1, "no value");
    home.refuses(&["config", "no_local", "1", "no_local", "0"], 1, "twice");
    // A bad environment value is refused before anything is written.
    home.refuses_in(
        &[],
        &[("VMCTL_NO_LOCAL", "maybe")],
        &["config", "portfwd_base", "2000"],
        1,
        "maybe",
    );
    // Typed JSON values.
    home.run(&["config", "no_local", "1"]).ok();
    let body = home.run(&["-j", "config"]).ok().json()["body"].clone();
    assert_eq!(body["no_local"], Value::Bool(true));
    assert_eq!(body["portfwd_base"], Value::from(10000));
    assert_eq!(body["start_address"], Value::from("10.9.0.1"));
    // -r KEY resets that key only; a bare -r asks (and refuses without a terminal).
    home.run(&["config", "-r", "start_address", "end_address"])
        .ok();
    assert_eq!(home.run(&["config", "no_local"]).ok().stdout, "1\n");
    assert_eq!(
        home.run(&["config", "start_address"]).ok().stdout,
        "192.168.64.1\n"
    );
    home.refuses(&["config", "-r"], 1, "confirmation");
    home.run(&["config", "-r", "--yes"]).ok();
    assert_eq!(home.run(&["config", "no_local"]).ok().stdout, "0\n");
}

#[test]
fn hand_added_profile_keys_survive_a_modify() {
    let home = with_vm();
    let path = home.path().join("vms/web.plist");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen(
            "<key>name</key>",
            "<key>owner_team</key>\n\t<string>ci</string>\n\t<key>name</key>",
            1,
        )
        .replacen(
            "<key>mode</key>",
            "<key>rx_ring</key>\n\t\t<integer>512</integer>\n\t\t<key>mode</key>",
            1,
        );
    std::fs::write(&path, text).unwrap();
    home.run(&["modify", "web", "network", "--no-local"]).ok();
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains("<key>owner_team</key>"), "{after}");
    assert!(after.contains("<key>rx_ring</key>"), "{after}");
    assert!(after.contains("<key>no_local</key>"), "{after}");
    // A key vmctl knows and removes stays removed.
    home.run(&["modify", "web", "network", "--local"]).ok();
    home.run(&["modify", "web", "network", "--ip", "192.168.64.9"])
        .ok();
    home.run(&["modify", "web", "network", "--ip", "auto"]).ok();
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(!after.contains("192.168.64.9"), "{after}");
    assert!(after.contains("<key>owner_team</key>"), "{after}");
}

#[test]
fn surprising_input_is_refused_where_it_enters() {
    let home = with_vm();
    // Interface names never start with '-'.
    home.refuses(&["modify", "web", "network", "--bridge=-rf"], 1, "-rf");
    // Hand-edited values the command line never writes are refused when the file is read.
    let path = home.path().join("vms/web.plist");
    let good = std::fs::read_to_string(&path).unwrap();
    let with_vlan = good.replacen(
        "<key>mode</key>",
        "<key>vlan</key>\n\t\t<integer>65535</integer>\n\t\t<key>mode</key>",
        1,
    );
    std::fs::write(&path, with_vlan).unwrap();
    let run = home.refuses(&["plan", "web"], 1, "web.plist");
    assert!(run.stderr.contains("VLAN 65535"), "{}", run.stderr);
    home.refuses(&["modify", "web", "network", "--local"], 1, "web.plist");
    std::fs::write(&path, &good).unwrap();
    home.run(&["modify", "web", "port", "ssh", "22"]).ok();
    let text = std::fs::read_to_string(&path).unwrap();
    let port0 = text.replacen(
        "<key>guest_port</key>\n\t\t\t\t<integer>22</integer>",
        "<key>guest_port</key>\n\t\t\t\t<integer>0</integer>",
        1,
    );
    assert_ne!(port0, text, "the fixture edit applies");
    std::fs::write(&path, port0).unwrap();
    let run = home.refuses(&["plan", "web"], 1, "web.plist");
    assert!(run.stderr.contains("guest port 0"), "{}", run.stderr);
    std::fs::write(&path, &good).unwrap();
    // Two names whose host link names collide: the second is refused at create and clone.
    home.run(&["create", "vm625978"]).ok();
    let run = home.refuses(&["create", "vm1056122"], 1, "vm625978");
    assert!(run.stderr.contains("vmt-"), "{}", run.stderr);
    home.refuses(&["clone", "web", "vm1056122"], 1, "vm625978");
    // A control character in a filter rule's comment: refused, the profile stays readable.
    // (Embedded with `-f -`; a rules file by path is read where it lies.)
    let before = home.files();
    let mut child = home
        .cmd(&["modify", "web", "network", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        b"block out from any to 10.0.0.0/8 # a\x01b\n",
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("U+0001") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(before, home.files(), "nothing written");
    home.run(&["show", "web", "network"]).ok();
    // A stray copy in vms/ is ignored (named by list), and naming it says what to do.
    std::fs::copy(&path, home.path().join("vms/web copy.plist")).unwrap();
    home.run(&["create", "other"]).ok();
    home.run(&["modify", "other", "network", "--no-local"]).ok();
    let run = home.run(&["list"]).ok();
    assert!(
        run.stderr.contains("web copy.plist is not a VM"),
        "{}",
        run.stderr
    );
    let run = home.refuses(&["show", "web copy"], 1, "web copy.plist is not a VM");
    assert!(run.stderr.contains("rename it"), "{}", run.stderr);
    assert!(!run.stderr.contains("did you mean"), "{}", run.stderr);
}

#[test]
fn anka_global_forms() {
    let home = with_vm();
    let body = home.run(&["show", "web", "--machine-readable"]).ok().json();
    assert_eq!(body["status"], "OK");
    let body = home.run(&["--machine-readable", "show", "nope"]).json();
    assert_eq!(body["code"], 3);
    let run = home.run_env(&["config", "bridge_name"], &[("ANKA_BRIDGE", "en4")]);
    assert_eq!(run.ok().stdout, "en4\n");
    let run = home.run_env(
        &["config", "bridge_name"],
        &[("ANKA_BRIDGE", "en4"), ("VMCTL_BRIDGE_NAME", "en3")],
    );
    assert_eq!(run.ok().stdout, "en3\n");
}

#[test]
fn list_names_vms_picks_columns_and_filters_rows() {
    let home = with_vm();
    home.run(&["create", "db", "-t", "host"]).ok();
    home.run(&["create", "lan", "-t", "bridge", "-b", "en0"])
        .ok();
    let one = home.run(&["-j", "list", "db"]).ok().json();
    assert_eq!(one["body"].as_array().unwrap().len(), 1);
    assert_eq!(one["body"][0]["name"], "db");
    let missing = home.run(&["-j", "list", "web", "nope"]);
    assert_eq!(missing.json()["code"], 3);
    home.refuses(&["list", "nope"], 3, "nope: not found");

    let run = home.run(&["-j", "list", "-f", "name", "-f", "mode"]).ok();
    let row = &run.json()["body"][0];
    assert_eq!(row.as_object().unwrap().len(), 2, "{row}");
    assert_eq!(row["mode"], "host"); // db: sorted by name
    let run = home
        .run(&["-j", "list", "--field", "name", "-f", "mode=host"])
        .ok();
    assert_eq!(run.json()["body"], serde_json::json!([{"name": "db"}]));
    let run = home.run(&["list", "-f", "status=stopped,name"]).ok();
    assert!(run.stdout.contains("web") && run.stdout.contains("lan"));
    let run = home.run(&["-j", "list", "-f", "status=started"]).ok();
    assert_eq!(run.json()["body"], serde_json::json!([]));
    home.refuses(&["list", "-f", "colour"], 1, "invalid list field 'colour'");
    home.refuses(
        &["list", "-f", "colour=red"],
        1,
        "invalid list field 'colour'",
    );

    // Anka's creation_date, also in `show`: RFC 3339 in JSON, `Jan 6 12:34:52 2022` in a
    // table; an old profile without one lists as null.
    let date = one["body"][0]["creation_date"].as_str().unwrap().to_owned();
    let shape = date
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect::<String>();
    assert_eq!(shape, "9999-99-99T99:99:99Z", "{date}");
    let table = home.run(&["list", "db"]).ok().stdout;
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = date[5..7].parse().unwrap();
    let day: u32 = date[8..10].parse().unwrap();
    let cell = format!(
        "{} {day} {} {}",
        months[month - 1],
        &date[11..19],
        &date[..4]
    );
    assert!(table.contains(&cell), "{cell} in {table}");
    let shown = home.run(&["-j", "show", "db"]).ok().json();
    assert_eq!(shown["body"]["creation_date"], date.as_str());
    let path = home.path().join("vms/db.plist");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("<key>created</key>").unwrap();
    let end = at + text[at..].find("</integer>").unwrap() + "</integer>".len();
    std::fs::write(&path, format!("{}{}", &text[..at], &text[end..])).unwrap();
    let old = home.run(&["-j", "list", "db"]).ok().json();
    assert_eq!(old["body"][0]["creation_date"], Value::Null);
    assert!(home.run(&["show", "db"]).ok().stdout.contains("db"));
}

#[test]
fn network_means_the_network_name_everywhere() {
    let home = with_vm();
    home.run(&["create", "db", "-t", "host"]).ok();
    home.run(&["create", "lan", "-t", "bridge", "-b", "en0"])
        .ok();
    home.run(&["create", "off", "-t", "disconnected"]).ok();
    let want = [
        ("web", "shared", Value::from("shared"), Value::Null),
        ("db", "host", Value::from("host"), Value::Null),
        ("lan", "bridge", Value::Null, Value::from("en0")),
        ("off", "disconnected", Value::Null, Value::Null),
    ];
    let list = home.run(&["-j", "list"]).ok().json();
    for (vm, mode, network, bridge) in want {
        let show = home.run(&["-j", "show", vm]).ok().json()["body"].clone();
        let nic = home.run(&["-j", "show", vm, "network"]).ok().json()["body"].clone();
        let row = list["body"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == vm)
            .unwrap()
            .clone();
        for body in [&show, &nic, &row] {
            assert_eq!(body["mode"], mode, "{vm}: {body}");
            assert_eq!(body["network"], network, "{vm}: {body}");
        }
        for body in [&show, &nic] {
            assert_eq!(body["bridge"], bridge, "{vm}: {body}");
        }
    }
    let created = home.run(&["-j", "create", "x"]).ok().json();
    assert_eq!(created["body"]["network"], "shared");
    assert_eq!(created["body"]["name"], "x");
    let cloned = home.run(&["-j", "clone", "lan", "lan2"]).ok().json();
    assert_eq!(cloned["body"]["network"], Value::Null);
    assert_eq!(cloned["body"]["bridge"], "en0");
}

#[test]
fn port_forwards_in_ankas_forms() {
    let home = with_vm();
    home.run(&["create", "db"]).ok();
    // Anka 3's add, with flags; Anka 2's add port-forwarding.
    let pf = home
        .run(&[
            "-j",
            "modify",
            "web",
            "add",
            "port",
            "ssh",
            "-g",
            "22",
            "-p",
            "2222",
            "-l",
            "127.0.0.1",
        ])
        .ok()
        .json();
    assert_eq!(
        pf["body"],
        serde_json::json!({"name": "ssh", "protocol": "tcp", "guest_port": 22, "host_port": 2222, "host_ip": "127.0.0.1"})
    );
    home.run(&[
        "modify",
        "web",
        "add",
        "port-forwarding",
        "vnc",
        "5900",
        "--host-port",
        "5901",
    ])
    .ok();
    home.run(&["modify", "web", "port", "http", "80"]).ok();
    home.run(&[
        "modify",
        "web",
        "add",
        "port",
        "dns",
        "53",
        "--protocol",
        "udp",
    ])
    .ok();
    let table = home.run(&["show", "web", "port"]).ok().stdout;
    assert!(
        table.contains("| name ") && table.contains("5901"),
        "{table}"
    );
    let rules = home.run(&["-j", "show", "web", "port"]).ok().json()["body"].clone();
    let names: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ssh", "vnc", "http", "dns"]);
    assert_eq!(rules[2]["host_port"], 10000);

    // Changing a rule keeps what is not named and its place; renaming checks the name.
    home.run(&["modify", "web", "port", "ssh", "-p", "2200"])
        .ok();
    home.run(&["modify", "web", "port", "ssh", "--set-name", "ssh2"])
        .ok();
    let rules = home.run(&["-j", "show", "web", "port"]).ok().json()["body"].clone();
    assert_eq!(
        rules[0],
        serde_json::json!({"name": "ssh2", "protocol": "tcp", "guest_port": 22, "host_port": 2200, "host_ip": "127.0.0.1"})
    );
    // Bad input changes nothing.
    home.refuses(
        &["modify", "web", "port", "ssh2", "--set-name", "vnc"],
        1,
        "already has a port forward named 'vnc'",
    );
    home.refuses(
        &["modify", "web", "port", "nope", "--set-name", "x"],
        1,
        "has no such rule",
    );
    home.run(&["modify", "db", "add", "port", "x", "-g", "22", "-p", "2200"])
        .ok();
    home.run(&["modify", "db", "delete", "port", "x"]).ok();
    home.refuses(
        &["modify", "web", "port", "ssh2", "22", "-g", "23"],
        1,
        "guest port is given twice",
    );
    home.refuses(
        &["modify", "web", "add", "port", "x", "22:2000", "-p", "2001"],
        1,
        "host port is given twice",
    );
    home.refuses(&["modify", "web", "port", "ssh2"], 2, "say what to change");
    // -p 0: vmctl chooses (the Packer plugin sends it for every rule without a port).
    let chosen = home
        .run(&[
            "-j", "modify", "web", "add", "port", "x", "-p", "0", "-g", "1",
        ])
        .ok()
        .json();
    assert!(
        chosen["body"]["host_port"].as_u64().unwrap() >= 10000,
        "{chosen}"
    );
    home.run(&["modify", "web", "delete", "port", "x"]).ok();
    home.refuses(
        &[
            "modify", "web", "add", "port", "x", "-p", "70000", "-g", "1",
        ],
        2,
        "invalid host port",
    );
    home.refuses(
        &["modify", "web", "delete", "port", "vnc", "nope"],
        1,
        "has no such rule",
    );
    home.refuses(&["modify", "web", "delete", "port"], 2, "needs rule names");
    home.refuses(
        &["modify", "web", "port", "vnc", "-d", "-p", "1"],
        2,
        "--delete takes only NAME",
    );

    // Deleting: several names, -d, --all.
    home.run(&["modify", "web", "delete", "port", "vnc", "http"])
        .ok();
    home.run(&["modify", "web", "port", "dns", "-d"]).ok();
    let rules = home.run(&["-j", "show", "web", "port"]).ok().json()["body"].clone();
    assert_eq!(rules.as_array().unwrap().len(), 1);
    home.run(&["modify", "web", "delete", "port-forwarding", "-a"])
        .ok();
    let empty = home.run(&["show", "web", "port"]).ok();
    assert_eq!(empty.stdout, "");
    assert!(
        empty.stderr.contains("no port forwards"),
        "{}",
        empty.stderr
    );
    assert_eq!(
        home.run(&["-j", "show", "web", "port"]).ok().json()["body"],
        serde_json::json!([])
    );
}

#[test]
fn anka_options_vmctl_cannot_honour_say_why() {
    let home = with_vm();
    // -t nat: refused with the reason, not a bare usage error.
    for args in [
        &["modify", "web", "network", "-t", "nat"][..],
        &["create", "x", "-t", "nat"],
        &["modify", "web", "set", "network-card", "-t", "nat"],
        &["config", "network_mode", "nat"],
    ] {
        let run = home.refuses(args, 1, "no separate nat mode");
        assert!(run.stderr.contains("-t shared"), "{}", run.stderr);
    }
    // --bond: accepted, ignored, said so.
    let run = home.run(&["modify", "web", "network", "-n", "bond0"]).ok();
    assert!(
        run.stderr.contains("warning: --bond is ignored"),
        "{}",
        run.stderr
    );
    let run = home
        .run(&["modify", "web", "network", "--bond", "-t", "host"])
        .ok();
    assert!(run.stderr.contains("--bond is ignored"), "{}", run.stderr);
    assert_eq!(
        home.run(&["show", "web", "network", "mode"]).ok().stdout,
        "host\n"
    );
    let run = home.run(&["create", "y", "--bond", "en0"]).ok();
    assert!(run.stderr.contains("--bond is ignored"), "{}", run.stderr);
    // Anka-only config keys: set is ignored with a warning (nothing written), get is refused.
    for key in ["network_failure_action", "shared_nat", "rx_cksum"] {
        let before = home.files();
        let run = home.run(&["config", key, "1"]).ok();
        assert!(
            run.stderr
                .contains(&format!("warning: {key} is an Anka setting vmctl ignores")),
            "{}",
            run.stderr
        );
        assert_eq!(before, home.files(), "{key} wrote a file");
        home.run(&["config", "--unset", key]).ok();
        home.refuses(&["config", key], 1, "an Anka setting vmctl does not have");
    }
    let help = home.run(&["config", "--help"]).ok().stdout;
    assert!(!help.contains("shared_nat"), "{help}");
}

#[test]
fn named_networks_are_created_checked_used_and_deleted() {
    let home = with_vm();
    home.run(&["network", "create", "ci", "--subnet", "10.77.0.0/24"])
        .ok();
    // auto: the first /24 free of the built-in networks and the others.
    home.run(&["network", "create", "ci2"]).ok();
    let body = home.run(&["-j", "network", "show", "ci2"]).ok().json()["body"].clone();
    assert_eq!(body["subnet"], "192.168.65.0/24", "{body}");
    assert_eq!(body["gateway"], "192.168.65.1");
    home.run(&[
        "network",
        "create",
        "lab",
        "--mode",
        "host",
        "--mask",
        "255.255.255.240",
    ])
    .ok();
    let body = home.run(&["-j", "network", "show", "lab"]).ok().json()["body"].clone();
    assert_eq!(body["subnet"], "192.168.66.0/28", "{body}");
    home.run(&[
        "network",
        "create",
        "lan",
        "--mode",
        "bridge",
        "--interface",
        "eth1",
    ])
    .ok();
    // Refusals change nothing and say what to do.
    let run = home.refuses(
        &["network", "create", "x", "--subnet", "10.77.0.128/25"],
        1,
        "collides with 10.77.0.0/24 (the vmctl network 'ci')",
    );
    assert!(
        run.stderr.contains("--subnet 192.168.66.128/25") || run.stderr.contains("--subnet auto"),
        "{}",
        run.stderr
    );
    home.refuses(&["network", "create", "shared"], 1, "built-in");
    home.refuses(&["network", "create", "ci"], 1, "exists");
    home.refuses(
        &["network", "create", "y", "--subnet", "10.1.2.3"],
        1,
        "10.1.2.3",
    );
    home.refuses(
        &["network", "create", "z", "--mode", "bridge"],
        1,
        "interface",
    );
    home.refuses(
        &["network", "create", "w", "--mask", "255.0.255.0"],
        1,
        "mask",
    );
    home.refuses(&["network", "create", "bad name"], 1, "bad name");
    // VMs join by name; the mode follows the network.
    home.run(&["modify", "web", "network", "--network", "lab"])
        .ok();
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json()["body"].clone();
    assert_eq!(nic["network"], "lab", "{nic}");
    assert_eq!(nic["mode"], "host", "{nic}");
    home.refuses(
        &["modify", "web", "network", "--network", "nope"],
        1,
        "nope",
    );
    home.refuses(
        &["modify", "web", "network", "--network", "ci", "-t", "host"],
        1,
        "shared network",
    );
    home.run(&["modify", "web", "network", "--ip", "192.168.66.5"])
        .ok();
    home.refuses(
        &["modify", "web", "network", "--ip", "192.168.64.5"],
        1,
        "192.168.64.5",
    );
    let plan = home.run(&["plan", "--platform", "linux"]).ok().stdout;
    assert!(
        plan.contains("vmctl-lab") && plan.contains("192.168.66.1"),
        "{plan}"
    );
    let list = home.run(&["-j", "network", "list"]).ok().json()["body"].clone();
    let lab = list
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "lab")
        .unwrap()
        .clone();
    assert_eq!(lab["vms"], serde_json::json!(["web"]), "{lab}");
    assert_eq!(lab["up"], false);
    // Delete: refused while used, --force moves the VMs to the built-in network of the mode.
    home.refuses(&["network", "delete", "lab"], 1, "used by VMs web");
    home.refuses(&["network", "delete", "host"], 1, "built-in");
    let run = home
        .run(&["network", "delete", "lab", "--force", "--yes"])
        .ok();
    assert!(run.stderr.contains("uses DHCP now"), "{}", run.stderr);
    let nic = home.run(&["-j", "show", "web", "network"]).ok().json()["body"].clone();
    assert_eq!(nic["network"], "host", "{nic}");
    home.run(&["plan", "web"]).ok();
    home.refuses(&["network", "show", "lab"], 1, "lab");

    // Imports: a dry run by default; --apply creates them all, or none when one is bad.
    let lima = fixture_path("lima-networks.yaml");
    let run = home.run(&["network", "import", "lima", &lima]).ok();
    assert!(run.stdout.contains("lima-shared"), "{}", run.stdout);
    assert!(run.stderr.contains("dry run"), "{}", run.stderr);
    assert!(run.stderr.contains("user-v2"), "{}", run.stderr);
    home.refuses(&["network", "show", "lima-shared"], 1, "lima-shared");
    home.run(&["network", "import", "lima", &lima, "--apply"])
        .ok();
    let body = home
        .run(&["-j", "network", "show", "lima-host"])
        .ok()
        .json()["body"]
        .clone();
    assert_eq!(body["subnet"], "192.168.106.0/24", "{body}");
    assert_eq!(body["mode"], "host");
    home.refuses(
        &["network", "import", "lima", &lima, "--apply"],
        1,
        "exists",
    );
    let bad = fixture_path("vmnet-broker.d-bad");
    let run = home.refuses(
        &["network", "import", "vmnet-broker", &bad, "--apply"],
        1,
        "255.255.255.28",
    );
    assert!(run.stderr.contains("shared-tiny.json"), "{}", run.stderr);
    let good = fixture_path("vmnet-broker.d");
    home.run(&["network", "import", "vmnet-broker", &good, "--apply"])
        .ok();
    let body = home
        .run(&["-j", "network", "show", "shared-static"])
        .ok()
        .json()["body"]
        .clone();
    assert_eq!(body["gateway"], "192.168.42.1", "{body}");
}

fn fixture_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_shared_mac_gives_its_address_to_the_started_vm_only() {
    let home = with_vm();
    home.run(&["modify", "web", "network", "--mac", "52:54:00:12:34:56"])
        .ok();
    home.run(&["clone", "web", "web2", "--keep-mac"]).ok();
    let leases = future_dnsmasq_leases(&home, &[("52:54:00:12:34:56", "192.168.64.33", "web")]);
    let hosts = write_file(&home, "hosts", "127.0.0.1\tlocalhost\n");
    let sync = [
        "-j",
        "hosts-sync",
        "--hosts-file",
        &hosts,
        "--leases-file",
        &leases,
    ];
    // Neither is started: whose address it is cannot be told.
    for vm in ["web", "web2"] {
        let run = home.run(&["ip", vm, "--source", "lease", "--file", &leases]);
        assert_eq!(run.code, 10, "{}", run.stdout);
        assert!(
            run.stderr.contains("share the MAC 52:54:00:12:34:56"),
            "{}",
            run.stderr
        );
    }
    let run = home.run(&sync).ok();
    assert!(run.stderr.contains("share the MAC"), "{}", run.stderr);
    assert_eq!(run.json()["body"]["entries"], Value::Array(vec![]));

    // web2 is started: the address is its own, not web's.
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    std::fs::write(home.path().join("run/web2.plist"), "").unwrap();
    let run = home
        .run(&["ip", "web2", "--source", "lease", "--file", &leases])
        .ok();
    assert_eq!(run.stdout, "192.168.64.33\n");
    home.refuses(
        &["ip", "web", "--source", "lease", "--file", &leases],
        10,
        "no address found for VM 'web'",
    );
    let run = home.run(&sync).ok();
    let entries = &run.json()["body"]["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["name"], "web2");
    std::fs::remove_file(home.path().join("run/web2.plist")).unwrap();

    // One DHCP reservation per MAC.
    let run = home.refuses(
        &["plan", "--platform", "linux", "--part", "dnsmasq"],
        1,
        "share the MAC 52:54:00:12:34:56",
    );
    assert!(run.stderr.contains("--mac auto"), "{}", run.stderr);
    home.refuses(&["plan", "--platform", "macos"], 1, "share the MAC");
}

#[test]
fn review_of_named_networks_stays_fixed() {
    let home = with_vm();
    // Ten creates at once: ten different subnets.
    let children: Vec<_> = (0..10)
        .map(|i| {
            home.cmd(&["-q", "network", "create", &format!("c{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let list = home.run(&["-j", "network", "list"]).ok().json()["body"].clone();
    let mut subnets: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["subnet"].as_str().unwrap_or("-").to_owned())
        .filter(|s| s != "-")
        .collect();
    let all = subnets.len();
    subnets.sort();
    subnets.dedup();
    assert_eq!(subnets.len(), all, "{list}");
    // Address space no VM network can use.
    for subnet in [
        "127.0.0.0/24",
        "224.0.0.0/24",
        "169.254.0.0/24",
        "0.0.0.0/24",
        "250.0.0.0/24",
    ] {
        home.refuses(
            &["network", "create", "sp", "--subnet", subnet],
            1,
            "address space",
        );
    }
    // Descriptions are one short line.
    home.refuses(
        &["network", "create", "d1", "--description", "evil\u{1b}[2J"],
        1,
        "description",
    );
    home.refuses(
        &[
            "network",
            "create",
            "d2",
            "--description",
            &"d".repeat(70_000),
        ],
        1,
        "description",
    );
    // A hand-broken network file: list names it and goes on, its VMs are refused at plan,
    // delete removes it.
    home.run(&["modify", "web", "network", "--network", "c0"])
        .ok();
    let path = home.path().join("networks/c0.plist");
    let text = std::fs::read_to_string(&path).unwrap();
    let end = text.find("<key>end_address</key>").unwrap();
    let broken = format!(
        "{}<key>end_address</key>\n\t<string>10.1.2.3</string>{}",
        &text[..end],
        &text[text[end..].find("</string>").unwrap() + end + "</string>".len()..]
    );
    std::fs::write(&path, broken).unwrap();
    let run = home.run(&["network", "list"]).ok();
    assert!(run.stderr.contains("c0.plist"), "{}", run.stderr);
    home.run(&["list"]).ok();
    home.refuses(&["plan", "web"], 1, "c0");
    home.refuses(&["network", "delete", "c0"], 1, "used by VM 'web'");
    home.run(&["network", "delete", "c0", "--force"]).ok();
    assert!(!path.exists());
    // A static IP the network no longer holds is refused at plan.
    home.run(&[
        "modify",
        "web",
        "network",
        "-t",
        "shared",
        "--ip",
        "192.168.64.20",
    ])
    .ok();
    let profile = home.path().join("vms/web.plist");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(&profile, text.replace("192.168.64.20", "8.8.8.8")).unwrap();
    home.refuses(&["plan", "web"], 1, "8.8.8.8");
    std::fs::write(&profile, text).unwrap();
    // Inputs that never end or block are refused at once.
    // (Outside the home: the helper that checks no file changed reads every file there.)
    let elsewhere = tempfile::tempdir().unwrap();
    let fifo = elsewhere.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.display().to_string();
    for args in [
        vec!["modify", "web", "network", "-f", "/dev/zero"],
        vec!["modify", "web", "network", "-f", fifo.as_str()],
        vec!["network", "import", "lima", "/dev/zero"],
        vec!["network", "import", "lima", fifo.as_str()],
        vec!["hosts-sync", "--hosts-file", fifo.as_str()],
    ] {
        home.refuses(&args, 1, "not a regular file");
    }
    home.refuses(
        &["hosts-sync", "--hosts-file", "/nonexistent/hosts"],
        1,
        "no such file",
    );
}

/// A wrapper under which vmctl cannot touch this machine's network: a private namespace, or
/// none when this process lacks CAP_NET_ADMIN anyway; `None` when neither holds.
fn host_safe_wrapper() -> Option<Vec<&'static str>> {
    if let Some(netns) = netns_wrapper() {
        return Some(netns);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    // Bit 12 is CAP_NET_ADMIN; without /proc (macOS) vmctl's doctor asks for root.
    (effective.is_some_and(|caps| caps & (1 << 12) == 0) || !cfg!(target_os = "linux"))
        .then(Vec::new)
}

/// `run/<vm>.plist` of a started shared VM, with `link` and `mac`, as `start` writes it.
fn run_file(vm: &str, network: &str, link: &str, mac: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>schema_version</key><integer>1</integer><key>vm</key><string>{vm}</string>
<key>uuid</key><string>x</string><key>started</key><integer>1700000000</integer>
<key>mode</key><string>shared</string><key>network</key><string>{network}</string>
<key>link</key><string>{link}</string>
<key>attach</key><dict><key>kind</key><string>tap</string></dict>
<key>mac</key><string>{mac}</string><key>no_local</key><false/>
<key>vlan</key><integer>0</integer>
</dict></plist>"#
    )
}

#[test]
fn one_bad_run_file_is_one_bad_vm() {
    let home = with_vm();
    home.run(&["create", "x"]).ok();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    let web = run_file("web", "shared", "vmt-0fd9bc91", "52:54:00:12:34:56");
    let good = run_file("x", "shared", "vmt-12345678", "52:54:00:12:34:57");
    let long_link = "x".repeat(65_536);
    // Each with what its error says.
    let cases = [
        (
            "a bad started",
            good.replace("<integer>1700000000</integer>", "<string>bad</string>"),
            "expected u64",
        ),
        (
            "a VLAN of 99999",
            good.replace("<integer>0</integer>", "<integer>99999</integer>"),
            "u16",
        ),
        (
            "truncated XML",
            good[..good.len() / 2].to_owned(),
            "not a vmctl runtime state",
        ),
        (
            "another VM's name",
            good.replace(
                "<key>vm</key><string>x</string>",
                "<key>vm</key><string>web</string>",
            ),
            "it holds VM 'web'",
        ),
        (
            "a 65,536-byte link",
            good.replace("vmt-12345678", &long_link),
            "link: invalid interface name",
        ),
        (
            "a malformed MAC",
            good.replace("52:54:00:12:34:57", "52:54:zz"),
            "invalid MAC address",
        ),
        (
            "filter rules that do not parse",
            good.replace(
                "<key>no_local",
                "<key>filter</key><string>garbage</string><key>no_local",
            ),
            "filter rules",
        ),
    ];
    let wrapper = host_safe_wrapper();
    for (what, text, why) in &cases {
        // (`doctor --fix` of the round before stopped web: its link is not in the namespace.)
        write_file(&home, "run/web.plist", &web);
        write_file(&home, "run/x.plist", text);
        let warned = |run: &Run| {
            assert!(
                run.stderr.contains("warning: ")
                    && run.stderr.contains("x.plist")
                    && run.stderr.contains("vmctl doctor --fix"),
                "{what}: {}",
                run.stderr
            );
        };
        // Everything about the other VMs works, with a warning; JSON stays one document.
        let list = home.run(&["-j", "list"]).ok();
        warned(&list);
        let rows = list.json()["body"].as_array().unwrap().len();
        assert_eq!(rows, 2, "{what}");
        home.run(&["show", "web"]).ok();
        let networks = home.run(&["-j", "network", "list"]).ok();
        warned(&networks);
        let shared = &networks.json()["body"][0];
        assert_eq!(shared["up"], true, "{what}: web is still up: {shared}");
        // The VM itself is refused, naming its file and the repair; nothing changes.
        for args in [&["show", "x"][..], &["stop", "x"]] {
            let run = home.refuses(args, 1, "x.plist");
            assert!(run.stderr.contains(why), "{what}: {}", run.stderr);
            assert!(
                run.stderr.contains("vmctl doctor --fix"),
                "{what}: {}",
                run.stderr
            );
        }
        assert_eq!(home.run(&["-j", "stop", "x"]).json()["code"], 5, "{what}");
        let Some(wrapper) = &wrapper else { continue };
        let start = home.refuses_in(wrapper, &[], &["start", "x"], 1, "x.plist");
        no_crash(&start, what);
        let doctor = home.run_in(wrapper, &[], &["-j", "doctor"]);
        no_crash(&doctor, what);
        let message = doctor.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("VM 'x': its run file"),
            "{what}: {message}"
        );
        let fixed = home.run_in(wrapper, &[], &["-j", "doctor", "--fix"]);
        no_crash(&fixed, what);
        // Without privilege the host's checks stay open (exit 1); the file is fixed anyway.
        let open = fixed.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!open.contains("x.plist"), "{what}: {open}");
        // Moved aside, never deleted: the VM counts as stopped.
        assert!(!home.path().join("run/x.plist").exists(), "{what}");
        let kept = std::fs::read_dir(home.path().join("run/quarantine"))
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t == *text));
        assert!(kept, "{what}: the file is kept in run/quarantine/");
        let list = home.run(&["-j", "list", "x"]).ok();
        assert_eq!(list.json()["body"][0]["status"], "stopped", "{what}");
        assert!(!list.stderr.contains("warning"), "{what}: {}", list.stderr);
    }
}

#[test]
fn interface_names_the_kernel_refuses_are_refused_where_they_enter() {
    let home = with_vm();
    let long = "x".repeat(65_536);
    for name in [long.as_str(), "x234567890123456", "a/b", "a:1", "a b", ".."] {
        home.refuses(
            &["modify", "web", "network", "-t", "bridge", "-b", name],
            1,
            "interface name",
        );
        home.refuses(
            &["create", "lan", "-t", "bridge", "-b", name],
            1,
            "interface name",
        );
        home.refuses(&["config", "bridge_name", name], 1, "interface name");
        home.refuses(
            &[
                "network",
                "create",
                "lan",
                "-t",
                "bridge",
                "--interface",
                name,
            ],
            1,
            "interface name",
        );
        // From the environment an ANKA_ value is passed over, saying why.
        let run = home.run_env(&["config", "bridge_name"], &[("ANKA_BRIDGE_NAME", name)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("ANKA_BRIDGE_NAME is passed over")
                && run.stderr.contains("interface name"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.len() < 2000,
            "the name is cut: {}",
            run.stderr.len()
        );
    }
}

#[test]
fn a_bad_network_file_affects_that_network_only() {
    let home = with_vm();
    home.run(&["network", "create", "lab", "--subnet", "10.213.7.0/24"])
        .ok();
    home.run(&["create", "labvm", "--network", "lab"]).ok();
    home.run(&["create", "lab2", "--network", "lab"]).ok();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    write_file(
        &home,
        "run/labvm.plist",
        &run_file("labvm", "lab", "vmt-12345678", "52:54:00:12:34:57"),
    );
    let path = home.path().join("networks/lab.plist");
    let text = std::fs::read_to_string(&path).unwrap();
    for (what, broken) in [
        ("mask 0.0.0.0", text.replace("255.255.255.0", "0.0.0.0")),
        ("a /32", text.replace("255.255.255.0", "255.255.255.255")),
        (
            "a wrong type",
            text.replace("<string>shared</string>", "<integer>3</integer>"),
        ),
    ] {
        assert_ne!(broken, text, "{what}");
        std::fs::write(&path, &broken).unwrap();
        // The others plan, list and show, with a warning naming the file.
        let plan = home.run(&["-j", "plan", "--platform", "linux"]).ok();
        assert!(plan.stderr.contains("lab.plist"), "{what}: {}", plan.stderr);
        assert!(
            plan.stderr.contains("left out VM 'labvm'"),
            "{what}: {}",
            plan.stderr
        );
        assert!(plan.json()["body"]["plan"]["nft"].is_string(), "{what}");
        home.run(&["plan", "web"]).ok();
        let list = home.run(&["-j", "network", "list"]).ok();
        assert!(list.stderr.contains("lab.plist"), "{what}: {}", list.stderr);
        home.run(&["list"]).ok();
        // Its own VMs are refused, naming the file and how to fix it.
        let run = home.refuses(&["plan", "labvm"], 1, "lab.plist");
        assert!(
            run.stderr.contains("network delete lab"),
            "{what}: {}",
            run.stderr
        );
        if let Some(wrapper) = host_safe_wrapper() {
            home.refuses_in(&wrapper, &[], &["start", "lab2"], 1, "lab.plist");
            let doctor = home.run_in(&wrapper, &[], &["-j", "doctor"]);
            let message = doctor.json()["message"].as_str().unwrap().to_owned();
            assert!(
                message.contains("network 'lab': its file"),
                "{what}: {message}"
            );
        }
    }
    std::fs::write(&path, &text).unwrap();
    home.run(&["plan", "labvm"]).ok();
}

/// The forms Anka's own docs give parse and do what they say; where vmctl differs on purpose,
/// the difference is a clear error or a warning, never a usage error.
#[test]
fn ankas_documented_forms_work() {
    let home = with_vm();
    let nic = |home: &Home| home.run(&["-j", "show", "web", "network"]).ok().json()["body"].clone();
    // `modify VM network --type bridge --mac M` (Anka's networking page).
    home.run(&[
        "modify",
        "web",
        "network",
        "--type",
        "bridge",
        "--mac",
        "52:54:00:aa:bb:cc",
    ])
    .ok();
    assert_eq!(nic(&home)["mode"], "bridge");
    assert_eq!(nic(&home)["mac"], "52:54:00:aa:bb:cc");
    // Anka 2.x: `set network-card -t bridged ... -c virtio-net -v 7 -n --direct-mac`.
    let run = home
        .run(&[
            "modify",
            "web",
            "set",
            "network-card",
            "0",
            "-t",
            "bridged",
            "-c",
            "virtio-net",
            "-v",
            "7",
            "-n",
            "--direct-mac",
        ])
        .ok();
    assert!(
        run.stderr.contains("--direct-mac changes nothing"),
        "{}",
        run.stderr
    );
    assert_eq!(nic(&home)["vlan"], 7);
    assert_eq!(
        nic(&home)["mac_policy"],
        "auto",
        "-n/--no-mac: a MAC vmctl makes"
    );
    // `delete network` disconnects the one NIC; `add network` connects it again (shared by
    // default); a second card is refused, saying why.
    home.run(&["modify", "web", "delete", "network"]).ok();
    assert_eq!(nic(&home)["mode"], "disconnected");
    home.run(&["modify", "web", "add", "network"]).ok();
    assert_eq!(nic(&home)["mode"], "shared");
    home.refuses(
        &["modify", "web", "add", "network-card", "-t", "host"],
        1,
        "has one NIC",
    );
    // `port -r` is refused with the reason; `--guest-ip` is accepted with a warning.
    home.refuses(
        &[
            "modify",
            "web",
            "port",
            "-r",
            "syslog",
            "/var/run/syslog:/var/run/syslog",
        ],
        1,
        "--reverse",
    );
    let run = home
        .run(&[
            "modify",
            "web",
            "add",
            "port-forwarding",
            "--guest-ip",
            "192.168.64.9",
            "-g",
            "22",
            "ssh",
        ])
        .ok();
    assert!(
        run.stderr
            .contains("--guest-ip 192.168.64.9 is passed over"),
        "{}",
        run.stderr
    );
    // `describe`: network_cards with the forward, as the Packer plugin reads it.
    let card = home.run(&["-j", "describe", "web"]).ok().json()["body"]["network_cards"][0].clone();
    assert_eq!(card["index"], 0);
    assert_eq!(card["type"], "virtio-net");
    assert_eq!(card["port_forwarding_rules"][0]["rule_name"], "ssh");
    assert_eq!(card["port_forwarding_rules"][0]["guest_port"], 22);
    let text = home.run(&["describe", "web"]).ok().stdout;
    assert!(
        text.contains("  - index: 0") && text.contains("rule_name: ssh"),
        "{text}"
    );
    // `list -s`, `-a`, `-r`; `stop` and `delete` of several, and of --all.
    home.run(&["create", "db"]).ok();
    let stopped = home.run(&["-j", "list", "-s", "-f", "name"]).ok().json();
    assert_eq!(stopped["body"].as_array().unwrap().len(), 2);
    assert_eq!(
        home.run(&["-j", "list", "-a"]).ok().json()["body"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        home.run(&["-j", "list", "-r"]).ok().json()["body"],
        serde_json::json!([])
    );
    let both = home.run(&["-j", "stop", "web", "db", "-f"]).ok().json();
    assert_eq!(both["body"].as_array().unwrap().len(), 2, "{both}");
    home.run(&["stop", "--all"]).ok();
    home.refuses(&["stop"], 2, "required");
    let before = home.files();
    home.refuses(&["delete", "--yes", "web", "nope"], 3, "nope: not found");
    assert_eq!(before, home.files(), "one unknown VM: none is deleted");
    let uuid = home.run(&["-j", "show", "db"]).ok().json()["body"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = home
        .run(&["-j", "delete", "--yes", "web", &uuid])
        .ok()
        .json();
    assert_eq!(gone["body"][1]["name"], "db", "{gone}");
    assert_eq!(
        home.run(&["-j", "list"]).ok().json()["body"],
        serde_json::json!([])
    );
}

/// The agent's service files name the command that exists, and the plist parses.
#[test]
fn contrib_service_files_run_the_agent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let unit = std::fs::read_to_string(root.join("systemd/vmctl-agent.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/local/bin/vmctl agent\n"),
        "{unit}"
    );
    let plist: plist::Value = plist::from_file(root.join("launchd/org.vmctl.agent.plist")).unwrap();
    let args: Vec<&str> = plist.as_dictionary().unwrap()["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(args, ["/usr/local/bin/vmctl", "agent"]);
    let home = Home::new();
    home.run(&["agent", "--help"]).ok();
    // Without a registry the agent says how to name one.
    home.refuses(&["agent"], 10, "no fleet registry is set");
    home.refuses(&["fleet", "list"], 10, "no fleet registry is set");
    home.refuses(&["config", "registry", "http://x:1"], 1, "etcd://");
    home.refuses(&["config", "host_name", "a/b"], 1, "host name");
}
