//! The macOS backend's decisions, on the recording host (the commands `System` would run, as
//! it would run them): bootptab and bootpd's reload, pf references, the socket's folder and
//! owner, what a failed start takes back, one bad profile among good ones, doctor after
//! `pfctl -d`, the system preferences through `defaults`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::Macos;
use super::recording::Recording;
use crate::backend::Backend;
use crate::model::port_forward::Protocol;
use crate::model::{Attach, Controller, MacPolicy, Mode, PortForward, VmProfile};
use crate::settings::{Key, Settings};
use crate::store::Store;

struct Host {
    _home: tempfile::TempDir,
    store: Store,
    settings: Settings,
    tape: Recording,
}

impl Host {
    fn new() -> Host {
        Host::with_config(&[])
    }

    fn with_config(values: &[(&str, &str)]) -> Host {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        let config: BTreeMap<String, String> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Host {
            _home: home,
            store,
            settings: Settings::resolve(&config, |_| None).unwrap(),
            tape: Recording::new(),
        }
    }

    fn macos(&self) -> Macos<'_, Recording> {
        Macos::with_host(&self.store, &self.settings, self.tape.clone())
    }

    /// Store a shared VM: its last MAC byte, static IP (last byte), filter rules, a forward.
    fn create(&self, name: &str, mac: u8, ip: Option<u8>, rules: bool) -> VmProfile {
        let mut p = VmProfile::new(name, Mode::Shared, Controller::VirtioNet).unwrap();
        p.network.mac = MacPolicy::Static(macaddr::MacAddr6::new(0x52, 0x54, 0, 0, 0, mac));
        p.network.ip = ip.map(|last| Ipv4Addr::new(192, 168, 64, last));
        if rules {
            p.network.filter = Some("block out to 1.1.1.1\n".into());
            p.network.port_forwarding_rules = vec![PortForward {
                name: "ssh".into(),
                protocol: Protocol::Tcp,
                guest_port: 22,
                host_port: 10022,
                host_ip: Ipv4Addr::UNSPECIFIED,
                auto_host_port: false,
            }];
        }
        let lock = self.store.lock().unwrap();
        self.store.save(&lock, &p).unwrap();
        p
    }

    fn start(&self, name: &str, attach: Attach) -> Result<crate::backend::Started, crate::Error> {
        let profile = self.store.load(name).unwrap();
        let lock = self.store.lock().unwrap();
        self.macos().start(&lock, &profile, attach, None)
    }

    fn stop(&self, name: &str) -> crate::backend::Stopped {
        let lock = self.store.lock().unwrap();
        let state = self.store.load_run(name).unwrap().unwrap();
        self.macos().stop(&lock, &state).unwrap()
    }

    /// The commands since the last call.
    fn take(&self) -> Vec<String> {
        let ops = self.tape.ops();
        self.tape.clear();
        ops
    }
}

const RELOAD: &str = "/bin/launchctl kickstart -kp system/com.apple.bootpd";

#[test]
fn a_static_ip_vm_gets_its_reservation_bootpd_reloaded_and_a_pf_reference() {
    let host = Host::new();
    host.create("web", 1, Some(20), true);
    let started = host.start("web", Attach::OwnedTap { owner: 502 }).unwrap();
    assert_eq!(
        host.take(),
        [
            "write /etc/bootptab",
            RELOAD,
            "mkdir -m 700 run/web.net (502:1502)",
            "/sbin/pfctl -E",
            "relay-helper web --vmnet shared run/web.net/vm.sock (502:1502)",
            "/sbin/pfctl -a com.apple/vmctl.web -f - <<< table <vmctl_local> const { 10.0.0.0/8, 100.64.0.0/10, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 192.168.64.0/24 }",
        ]
    );
    assert!(
        host.tape
            .bootptab()
            .contains("# BEGIN vmctl\nweb\t1\t52:54:00:00:00:01\t192.168.64.20\n# END vmctl"),
        "{}",
        host.tape.bootptab()
    );
    assert_eq!(started.state.pf_token.as_deref(), Some("1001"));
    assert_eq!(host.tape.held(), ["1001"]);
    let saved = host.store.load_run("web").unwrap().unwrap();
    assert_eq!(saved.pf_token.as_deref(), Some("1001"));
    assert!(saved.socket.unwrap().ends_with("run/web.net/vm.sock"));

    // A DHCP VM without rules: its socket is the sudo user's, bootptab stays, pf untouched.
    host.create("dhcp", 2, None, false);
    host.start("dhcp", Attach::Tap).unwrap();
    assert_eq!(
        host.take(),
        [
            "mkdir -m 700 run/dhcp.net (501:20)",
            "relay-helper dhcp --vmnet shared run/dhcp.net/vm.sock (501:20)",
        ]
    );

    // Run as root itself (no sudo), nobody named: root's.
    host.tape.set_invoking_user(None);
    host.create("rooted", 5, None, false);
    host.start("rooted", Attach::Socket).unwrap();
    assert_eq!(
        host.take(),
        [
            "mkdir -m 700 run/rooted.net (root)",
            "relay-helper rooted --vmnet shared run/rooted.net/vm.sock (root)",
        ]
    );

    // Stop: the helper, the socket's folder, the anchor, the reference. The reservation
    // outlives the stop; a delete takes it, and bootpd is told.
    host.stop("web");
    assert_eq!(
        host.take(),
        [
            "stop relay None",
            "rm -r run/web.net",
            "/sbin/pfctl -a com.apple/vmctl.web -F all",
            "/sbin/pfctl -X 1001",
        ]
    );
    assert!(host.tape.held().is_empty(), "pf may go off");
    assert!(host.tape.bootptab().contains("192.168.64.20"));
    let lock = host.store.lock().unwrap();
    let web = host.store.load("web").unwrap();
    host.store.remove(&lock, "web").unwrap();
    host.macos().forget(&lock, &web).unwrap();
    assert_eq!(host.take(), ["write /etc/bootptab", RELOAD]);
    assert!(!host.tape.bootptab().contains("192.168.64.20"));
}

/// Two VMs with one MAC (`clone --keep-mac`), a VM on a network that is gone, a profile that
/// cannot be read: every other VM starts. The readable problems are warnings; the unreadable
/// VM keeps its reservation line; the clone is refused only when it starts itself.
#[test]
fn one_bad_profile_blocks_no_other_start() {
    let host = Host::new();
    host.create("web", 1, Some(20), false);
    host.create("web-clone", 1, Some(21), false);
    let mut gone = host.create("gone", 3, Some(22), false);
    gone.network.network = Some("lab".into());
    host.store.save(&host.store.lock().unwrap(), &gone).unwrap();
    crate::store::write_atomic(&host.store.profile_path("broken"), b"<plist>garbage").unwrap();
    host.tape.set_bootptab(
        "%%\n# BEGIN vmctl\nbroken\t1\t52:54:00:00:00:09\t192.168.64.29\n# END vmctl\n",
    );
    host.create("ok", 4, None, false);

    let started = host.start("ok", Attach::Tap).unwrap();
    let warnings = started.warnings.join("\n");
    assert!(
        warnings.contains("VM 'web-clone' has no reservation")
            && warnings.contains("VM 'web' has its MAC"),
        "{warnings}"
    );
    assert!(
        warnings.contains("VM 'gone' has no reservation"),
        "{warnings}"
    );
    assert!(
        warnings.contains("VM 'broken' keeps the reservation"),
        "{warnings}"
    );
    assert_eq!(
        host.tape.bootptab(),
        "%%\n# BEGIN vmctl\nweb\t1\t52:54:00:00:00:01\t192.168.64.20\nbroken\t1\t52:54:00:00:00:09\t192.168.64.29\n# END vmctl\n"
    );
    assert!(host.store.load_run("ok").unwrap().is_some());
    host.take();

    // The clone itself cannot start: its reservation is the problem, named, and nothing is made.
    let err = host.start("web-clone", Attach::Tap).unwrap_err();
    assert!(err.to_string().contains("VM 'web' has its MAC"), "{err}");
    assert!(err.hint().unwrap().contains("--ip"), "{err:?}");
    assert!(host.take().is_empty());
    assert!(host.store.load_run("web-clone").unwrap().is_none());
}

#[test]
fn a_socket_path_macos_cannot_bind_is_refused_before_anything() {
    let host = Host::new();
    // 60 bytes of name under a temporary home: vfkit's socket beside it would not fit.
    let name = "x".repeat(60);
    host.create(&name, 1, Some(20), true);
    let err = host.start(&name, Attach::Tap).unwrap_err();
    assert!(err.to_string().contains("at most 103"), "{err}");
    assert!(host.take().is_empty(), "nothing was made");
    assert!(host.tape.bootptab().is_empty(), "bootptab untouched");
    assert!(host.store.load_run(&name).unwrap().is_none());
}

#[test]
fn a_failed_start_takes_back_what_it_made() {
    let host = Host::new();
    host.create("web", 1, None, true);
    host.tape.fail_on("relay-helper");
    let err = host.start("web", Attach::Tap).unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(
        host.take(),
        [
            "mkdir -m 700 run/web.net (501:20)",
            "/sbin/pfctl -E",
            "relay-helper web --vmnet shared run/web.net/vm.sock (501:20)",
            "stop relay None",
            "/sbin/pfctl -X 1001",
            "rm -r run/web.net",
        ]
    );
    assert!(host.tape.held().is_empty());
    assert!(host.store.load_run("web").unwrap().is_none());

    // bootpd cannot be restarted: a static IP would not be served, so the start stops there.
    host.create("db", 2, Some(30), false);
    host.tape.fail_on(RELOAD);
    let err = host.start("db", Attach::Tap).unwrap_err();
    assert!(err.to_string().contains("kickstart"), "{err}");
    assert_eq!(host.take(), ["write /etc/bootptab", RELOAD]);
}

#[test]
fn a_range_vmnet_refuses_is_refused_first() {
    let host = Host::with_config(&[
        ("start_address", "100.64.0.1"),
        ("end_address", "100.64.0.254"),
        ("subnet_mask", "255.255.255.0"),
    ]);
    host.create("web", 1, None, false);
    let err = host.start("web", Attach::Tap).unwrap_err();
    assert!(err.to_string().contains("RFC 1918"), "{err}");
    assert!(
        err.hint().unwrap().contains("vmctl config start_address"),
        "{err:?}"
    );
    assert!(host.take().is_empty());
}

/// A DHCP VM's anchor waits for its address; its relay's lease event loads it.
#[test]
fn a_dhcp_vms_anchor_comes_with_its_lease() {
    let host = Host::new();
    let profile = host.create("web", 1, None, true);
    host.start("web", Attach::Tap).unwrap();
    assert!(
        !host.take().iter().any(|op| op.contains("-f -")),
        "no address yet"
    );
    let lock = host.store.lock().unwrap();
    let mac = crate::settings::change::effective_mac(&profile, &host.settings);
    let ip = Ipv4Addr::new(192, 168, 64, 77);
    host.macos()
        .lease_event(
            &lock,
            "shared",
            crate::backend::LeaseEvent::Bound { mac, ip },
        )
        .unwrap();
    let ops = host.take();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].starts_with("/sbin/pfctl -a com.apple/vmctl.web -f -"));
    assert_eq!(host.store.load_run("web").unwrap().unwrap().ip, Some(ip));
}

/// `pfctl -d` by hand voids every reference: doctor names the VMs whose rules do nothing,
/// and --fix takes a reference for each and reloads its anchor.
#[test]
fn doctor_takes_new_references_after_pfctl_d() {
    let host = Host::new();
    host.create("web", 1, Some(20), true);
    host.start("web", Attach::Tap).unwrap();
    // The helper's pid must be a live process for doctor to count the VM as running.
    let lock = host.store.lock().unwrap();
    let mut state = host.store.load_run("web").unwrap().unwrap();
    state.helper = Some(std::process::id());
    state.helper_start = crate::sys::process::start_time(std::process::id());
    host.store.save_run(&lock, &state).unwrap();
    host.tape.pf_disabled_by_hand();
    host.take();

    let found = host.macos().doctor(&lock, false).unwrap();
    let pf = found
        .iter()
        .find(|f| f.problem.contains("pf is disabled"))
        .unwrap();
    assert!(pf.problem.contains("web") && !pf.fixed, "{pf:?}");
    assert!(host.take().is_empty(), "looking changes nothing");

    let found = host.macos().doctor(&lock, true).unwrap();
    assert!(
        found
            .iter()
            .any(|f| f.problem.contains("pf is disabled") && f.fixed)
    );
    let ops = host.take();
    assert_eq!(ops[..2], ["/sbin/pfctl -X 1001", "/sbin/pfctl -E"]);
    assert!(
        ops[2].starts_with("/sbin/pfctl -a com.apple/vmctl.web -f -"),
        "{ops:?}"
    );
    assert_eq!(host.tape.held(), ["1002"]);
    let state = host.store.load_run("web").unwrap().unwrap();
    assert_eq!(state.pf_token.as_deref(), Some("1002"));
    assert!(
        host.macos().doctor(&lock, false).unwrap().is_empty(),
        "healthy again"
    );
}

#[test]
fn the_system_preferences_are_written_through_defaults() {
    let host = Host::with_config(&[
        ("start_address", "10.9.0.1"),
        ("end_address", "10.9.0.200"),
        ("subnet_mask", "255.255.255.0"),
        ("dhcp_lease_time", "600"),
    ]);
    let warnings =
        host.macos()
            .config_changed(&[Key::StartAddress, Key::SubnetMask, Key::DhcpLeaseTime]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let domain = "/Library/Preferences/SystemConfiguration";
    assert_eq!(
        host.take(),
        [
            format!(
                "/usr/bin/defaults write {domain}/com.apple.vmnet Shared_Net_Address -string 10.9.0.1"
            ),
            format!(
                "/usr/bin/defaults write {domain}/com.apple.vmnet Shared_Net_Mask -string 255.255.255.0"
            ),
            format!(
                "/usr/bin/defaults write {domain}/com.apple.InternetSharing.default bootpd -dict-add DHCPLeaseTimeSecs -int 600"
            ),
        ]
    );
    host.tape.fail_on("/usr/bin/defaults");
    let warnings = host.macos().config_changed(&[Key::EndAddress]);
    assert!(
        warnings[0].contains("the shared range is set for vmctl, but not in"),
        "{warnings:?}"
    );
}
