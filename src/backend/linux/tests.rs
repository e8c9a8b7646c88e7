//! The Linux backend's decisions, on the recording host: which networks come up and go down,
//! when the rules change element by element and when they are reloaded whole, and what a
//! failed start takes back.

use std::collections::BTreeMap;

use super::Linux;
use crate::backend::recording::Recording;
use crate::backend::{Backend, Started, Stopped};
use crate::model::named_network::NetworkDef;
use crate::model::{Attach, Controller, Mode, VmProfile};
use crate::settings::Settings;
use crate::store::{BadFile, Store};

struct Host {
    _home: tempfile::TempDir,
    store: Store,
    settings: Settings,
    tape: Recording,
}

impl Host {
    fn new() -> Host {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        let settings = Settings::resolve(&BTreeMap::new(), |_| None).unwrap();
        Host {
            _home: home,
            store,
            settings,
            tape: Recording::default(),
        }
    }

    fn linux(&self) -> Linux<'_> {
        Linux::on(&self.store, &self.settings, Box::new(self.tape.clone()))
    }

    fn start(&self, name: &str) -> Result<(), crate::Error> {
        self.start_on(name, None).map(drop)
    }

    /// Start a shared VM on `network` (a named one), or on the built-in `shared`.
    fn start_on(&self, name: &str, network: Option<&str>) -> Result<Started, crate::Error> {
        let mut profile = VmProfile::new(name, Mode::Shared, Controller::VirtioNet).unwrap();
        profile.network.network = network.map(str::to_owned);
        let lock = self.store.lock().unwrap();
        self.linux().start(&lock, &profile, Attach::Tap, None)
    }

    fn stop(&self, name: &str) -> Stopped {
        let lock = self.store.lock().unwrap();
        let state = self.store.load_run(name).unwrap().unwrap();
        self.linux().stop(&lock, &state).unwrap()
    }

    /// The settings with the named network `lab` on 10.213.7.0/24, or with its file bad.
    fn with_lab(&mut self, sound: bool) {
        let def = NetworkDef::from_subnet("lab", Mode::Shared, "10.213.7.0/24".parse().unwrap());
        let bad = BadFile {
            name: "lab".into(),
            path: self.store.network_path("lab"),
            reason: "subnet_mask 0.0.0.0 is not a mask".into(),
            hint: "fix it by hand".into(),
        };
        let named = if sound {
            (vec![def], vec![])
        } else {
            (vec![], vec![bad])
        };
        self.settings = Settings::resolve(&BTreeMap::new(), |_| None)
            .unwrap()
            .with_networks(named)
            .unwrap();
    }

    /// The operations since the last call.
    fn take(&self) -> Vec<String> {
        let ops = self.tape.ops();
        self.tape.clear();
        ops
    }
}

fn has(ops: &[String], prefix: &str) -> bool {
    ops.iter().any(|op| op.starts_with(prefix))
}

const WHOLE_RULESET: &str = "nft_load #!/usr/sbin/nft -f";

#[test]
fn the_first_vm_brings_its_network_up_and_the_next_adds_elements() {
    let host = Host::new();
    host.start("web").unwrap();
    let first = host.take();
    assert!(has(&first, "add_bridge vmctl-shared"), "{first:?}");
    assert!(has(&first, "dnsmasq_start shared"), "{first:?}");
    assert!(has(&first, "create_tap vmt-"), "{first:?}");
    assert!(
        has(&first, WHOLE_RULESET),
        "a new network loads the whole file: {first:?}"
    );

    host.start("db").unwrap();
    let second = host.take();
    assert!(!has(&second, "add_bridge"), "{second:?}");
    assert!(!has(&second, "dnsmasq_start"), "{second:?}");
    assert!(has(&second, "create_tap vmt-"), "{second:?}");
    assert!(has(&second, "nft_load add element"), "{second:?}");
    assert!(
        !has(&second, WHOLE_RULESET),
        "an up network gets elements only: {second:?}"
    );
    assert_eq!(host.store.load_runs().unwrap().started.len(), 2);
}

#[test]
fn the_last_vm_takes_its_network_down() {
    let host = Host::new();
    host.start("web").unwrap();
    host.start("db").unwrap();
    host.take();

    host.stop("db");
    let one_left = host.take();
    assert!(has(&one_left, "delete_link vmt-"), "{one_left:?}");
    // Elements only (behind the touch of both tables), not the whole file.
    assert!(
        one_left.iter().any(
            |op| op.starts_with("nft_load add element inet vmctl vm_bridges")
                && op.contains("\ndelete element bridge vmctl vm_ports")
        ),
        "{one_left:?}"
    );
    assert!(!has(&one_left, WHOLE_RULESET), "{one_left:?}");
    assert!(!has(&one_left, "dnsmasq_stop"), "{one_left:?}");
    assert!(!has(&one_left, "delete_link vmctl-shared"), "{one_left:?}");

    host.stop("web");
    let none_left = host.take();
    assert!(has(&none_left, "dnsmasq_stop shared"), "{none_left:?}");
    assert!(has(&none_left, "delete_link vmctl-shared"), "{none_left:?}");
    assert!(has(&none_left, "nft_remove"), "{none_left:?}");
    assert!(host.tape.links().is_empty(), "{:?}", host.tape.links());
    assert_eq!(host.tape.daemons(), 0);
    assert!(host.store.load_runs().unwrap().started.is_empty());
}

#[test]
fn a_failed_start_takes_back_what_it_made() {
    let host = Host::new();
    host.tape.fail_on("create_tap");
    let err = host.start("web").unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    let ops = host.take();
    // The half-made TAP, the daemon and the bridge of the network it brought up: all gone,
    // and the rules back to those of the VMs that stay (none).
    assert!(has(&ops, "dnsmasq_stop shared"), "{ops:?}");
    assert!(has(&ops, "delete_link vmctl-shared"), "{ops:?}");
    assert!(has(&ops, "nft_remove"), "{ops:?}");
    assert!(host.tape.links().is_empty(), "{:?}", host.tape.links());
    assert_eq!(host.tape.daemons(), 0);
    assert!(
        host.store.load_runs().unwrap().started.is_empty(),
        "no run state"
    );
}

#[test]
fn an_element_update_the_tables_refuse_falls_back_to_the_whole_file() {
    let host = Host::new();
    host.start("web").unwrap();
    host.take();
    host.tape.fail_on("nft_load add element");
    host.start("db").unwrap();
    let ops = host.take();
    let update = ops
        .iter()
        .position(|op| op.starts_with("nft_load add element"));
    let whole = ops.iter().position(|op| op.starts_with(WHOLE_RULESET));
    assert!(update.is_some() && whole > update, "{ops:?}");
    assert_eq!(host.store.load_runs().unwrap().started.len(), 2);
}

#[test]
fn a_failed_start_on_an_up_network_leaves_the_network_up() {
    let host = Host::new();
    host.start("web").unwrap();
    host.take();
    host.tape.fail_on("set_master");
    assert!(host.start("db").is_err());
    let ops = host.take();
    // db's TAP went away and the rules of `web` were loaded again; the network stays.
    let tap = ops.iter().find(|op| op.starts_with("create_tap")).unwrap();
    let link = tap.trim_start_matches("create_tap ");
    assert!(ops.contains(&format!("delete_link {link}")), "{ops:?}");
    assert!(has(&ops, WHOLE_RULESET), "{ops:?}");
    assert!(!has(&ops, "delete_link vmctl-shared"), "{ops:?}");
    assert!(!has(&ops, "dnsmasq_stop"), "{ops:?}");
    assert_eq!(
        host.tape.links().len(),
        2,
        "the bridge and web's TAP: {:?}",
        host.tape.links()
    );
    assert_eq!(host.store.load_runs().unwrap().started.len(), 1);
}

#[test]
fn a_lease_event_is_checked_before_anything_changes() {
    use crate::backend::LeaseEvent;
    let host = Host::new();
    host.start("web").unwrap();
    let mac = host.store.load_run("web").unwrap().unwrap().mac;
    let stranger = macaddr::MacAddr6::new(2, 0, 0, 0, 0, 9);
    host.take();
    let event = |mac, ip: &str| LeaseEvent::Bound {
        mac,
        ip: ip.parse().unwrap(),
    };
    let lock = host.store.lock().unwrap();
    for (what, bad) in [
        ("a MAC no started VM has", event(stranger, "192.168.64.9")),
        ("an address off the network", event(mac, "8.8.8.8")),
        ("the loopback", event(mac, "127.0.0.1")),
        ("the gateway", event(mac, "192.168.64.1")),
        ("the network address", event(mac, "192.168.64.0")),
        ("the broadcast address", event(mac, "192.168.64.255")),
        ("on another network", event(mac, "192.168.128.9")),
    ] {
        let refused = host.linux().lease_event(&lock, "shared", bad);
        assert!(refused.is_err(), "{what} was accepted");
        assert_eq!(host.take(), Vec::<String>::new(), "{what} changed the host");
        assert_eq!(
            host.store.load_run("web").unwrap().unwrap().ip,
            None,
            "{what} changed run/web.plist"
        );
    }
    let wrong_network = host
        .linux()
        .lease_event(&lock, "host", event(mac, "192.168.128.9"));
    assert!(wrong_network.is_err(), "web is not on the host network");
    host.linux()
        .lease_event(&lock, "shared", event(mac, "192.168.64.9"))
        .unwrap();
    assert_eq!(
        host.store.load_run("web").unwrap().unwrap().ip,
        Some("192.168.64.9".parse().unwrap())
    );
    assert!(has(
        &host.take(),
        "nft_load add element bridge vmctl own_ip"
    ));
    // A new lease: the old address, learned from its ACK too, is forgotten at once.
    host.linux()
        .lease_event(&lock, "shared", event(mac, "192.168.64.10"))
        .unwrap();
    let ops = host.take();
    let forgot = |op: &String| {
        op.contains("delete element bridge vmctl learned") && op.contains("0xc0a84009")
    };
    assert!(ops.iter().any(forgot), "{ops:?}");
}

#[test]
fn a_start_repairs_what_was_taken_from_its_network() {
    let host = Host::new();
    host.start("web").unwrap();
    let web_link = crate::model::names::vm_link_name("web");
    // Behind vmctl's back: its tables deleted, web's port taken off the bridge.
    host.linux().host.nft_remove().unwrap();
    host.tape.detach(&web_link);
    host.take();
    host.start("db").unwrap();
    let ops = host.take();
    assert!(
        has(&ops, WHOLE_RULESET),
        "missing tables come back whole: {ops:?}"
    );
    // web's port goes back on the bridge before db's link is made.
    let at = |prefix: &str| ops.iter().position(|op| op.starts_with(prefix));
    assert!(
        at("set_master") < at("create_tap"),
        "web's port is attached again: {ops:?}"
    );
    // Nothing more to repair: the next start only adds elements.
    host.start("third").unwrap();
    let ops = host.take();
    assert!(!has(&ops, WHOLE_RULESET), "{ops:?}");
}

#[test]
fn a_bad_network_file_affects_that_network_only() {
    let mut host = Host::new();
    host.with_lab(true);
    host.start_on("lab1", Some("lab")).unwrap();
    host.start("web").unwrap();
    host.take();

    // networks/lab.plist goes bad under a started VM: a shared VM still starts, saying so.
    host.with_lab(false);
    let started = host.start_on("db", None).unwrap();
    let said = started.warnings.join("\n");
    assert!(
        said.contains("network 'lab'") && said.contains("lab.plist") && said.contains("lab1"),
        "{said}"
    );
    assert!(has(&host.take(), "create_tap vmt-"));
    // A VM of that network is refused, naming the file, before anything is made.
    let err = host.start_on("lab2", Some("lab")).unwrap_err();
    assert!(err.to_string().contains("lab.plist"), "{err}");
    assert_eq!(err.hint().unwrap(), "fix it by hand");
    assert_eq!(host.take(), Vec::<String>::new());

    // doctor lists the file and leaves the network its started VM is on alone.
    let lock = host.store.lock().unwrap();
    let found = host.linux().doctor(&lock, true).unwrap();
    let lab = found
        .iter()
        .find(|f| f.problem.contains("lab.plist"))
        .expect("the bad file is a finding");
    assert!(!lab.fixed, "{lab:?}");
    assert!(
        !found.iter().any(|f| f.problem.contains("vmctl-lab")),
        "{found:?}"
    );
    assert!(host.tape.links().contains(&"vmctl-lab".to_owned()));
    assert!(has(&host.take(), "nft_load"), "--fix reloads the rules");
    drop(lock);

    // Its last VM stops and takes the network down; the rules are loaded whole, as the
    // element update cannot know the network's elements.
    host.stop("lab1");
    let ops = host.take();
    assert!(has(&ops, "dnsmasq_stop lab"), "{ops:?}");
    assert!(has(&ops, "delete_link vmctl-lab"), "{ops:?}");
    assert!(has(&ops, WHOLE_RULESET), "{ops:?}");
    host.stop("db");
    host.stop("web");
    assert!(has(&host.take(), "nft_remove"));
    assert!(host.tape.links().is_empty(), "{:?}", host.tape.links());
}

#[test]
fn the_last_vm_of_a_bad_network_leaves_no_tables() {
    let mut host = Host::new();
    host.with_lab(true);
    host.start_on("lab1", Some("lab")).unwrap();
    host.take();
    host.with_lab(false);
    let stopped = host.stop("lab1");
    assert!(
        stopped.warnings.iter().any(|w| w.contains("lab.plist")),
        "{:?}",
        stopped.warnings
    );
    let ops = host.take();
    assert!(has(&ops, "nft_remove"), "{ops:?}");
    assert!(has(&ops, "delete_link vmctl-lab"), "{ops:?}");
    assert!(host.tape.links().is_empty(), "{:?}", host.tape.links());
    assert_eq!(host.tape.daemons(), 0);
}

#[test]
fn a_bad_run_file_is_one_bad_vm() {
    let host = Host::new();
    host.start("web").unwrap();
    host.start("db").unwrap();
    let db_link = host.store.load_run("db").unwrap().unwrap().link;
    let path = host.store.run_path("db");
    let text = std::fs::read_to_string(&path).unwrap();
    crate::store::write_atomic(&path, &text.as_bytes()[..text.len() / 2]).unwrap();
    host.take();

    // Another VM starts and stops, with a warning naming the file.
    let started = host.start_on("app", None).unwrap();
    assert!(
        started.warnings.iter().any(|w| w.contains("db.plist")),
        "{:?}",
        started.warnings
    );
    let stopped = host.stop("web");
    assert!(
        stopped.warnings.iter().any(|w| w.contains("db.plist")),
        "{:?}",
        stopped.warnings
    );
    // db itself is refused, naming the file and the repair.
    let err = host.store.load_run("db").unwrap_err();
    assert!(err.to_string().contains("db.plist"), "{err}");
    assert!(err.hint().unwrap().contains("doctor --fix"), "{err:?}");

    // doctor lists it (and db's link, which no trusted file owns); --fix moves the file aside
    // and removes the link.
    let lock = host.store.lock().unwrap();
    let found = host.linux().doctor(&lock, false).unwrap();
    let problems: Vec<&str> = found.iter().map(|f| f.problem.as_str()).collect();
    assert!(
        problems.iter().any(|p| p.contains("db.plist")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains(&db_link)),
        "{problems:?}"
    );
    assert!(path.exists(), "doctor without --fix changes nothing");
    let fixed = host.linux().doctor(&lock, true).unwrap();
    assert!(fixed.iter().all(|f| f.fixed), "{fixed:?}");
    assert!(!path.exists());
    let moved: Vec<_> = std::fs::read_dir(host.store.run_dir().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        moved.len() == 1 && moved[0].starts_with("db.plist."),
        "{moved:?}"
    );
    assert!(
        !host.tape.links().contains(&db_link),
        "{:?}",
        host.tape.links()
    );
    let again = host.linux().doctor(&lock, false).unwrap();
    assert!(
        // (By the VM's name or file: a random MAC may hold the letters "db".)
        !again.iter().any(|f| f.problem.contains("'db'")
            || f.problem.contains("db.plist")
            || f.problem.contains(&db_link)),
        "{again:?}"
    );
    drop(lock);
    host.stop("app");
    assert!(host.tape.links().is_empty(), "{:?}", host.tape.links());
}

/// A reboot as the host sees it: every link and daemon gone, and `run/` from another boot.
fn reboot(host: &Host, lock: &crate::store::StoreLock) {
    use super::host::Host as _;
    for link in host.tape.links() {
        host.tape.delete_link(&link).unwrap();
    }
    for (_, dir) in host.store.network_dirs() {
        host.tape.dnsmasq_stop(&dir).unwrap();
    }
    host.tape.nft_remove().unwrap();
    for mut state in host.store.load_runs().unwrap().started {
        state.boot = Some("00000000-0000-0000-0000-000000000000".into());
        host.store.save_run(lock, &state).unwrap();
    }
    host.take();
}

#[test]
fn a_state_from_an_earlier_boot_is_a_stopped_vm() {
    use crate::backend::LeaseEvent;
    let host = Host::new();
    host.start("web").unwrap();
    host.start("db").unwrap();
    let db = host.store.load_run("db").unwrap().unwrap();
    assert_eq!(
        db.boot.as_deref(),
        crate::sys::boot_id(),
        "start records the boot"
    );
    let lock = host.store.lock().unwrap();
    reboot(&host, &lock);
    assert!(
        host.store.load_runs().unwrap().started.is_empty(),
        "no VM is started"
    );
    assert_eq!(host.store.load_runs_of_any_boot().unwrap().started.len(), 2);
    assert!(!host.store.is_started("web"));

    // doctor: one finding per VM, and nothing about the network they were on.
    let findings = host.linux().doctor(&lock, false).unwrap();
    let problems: Vec<&str> = findings.iter().map(|f| f.problem.as_str()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("VM 'db' was started before the last reboot"),
        "{problems:?}"
    );
    assert_eq!(host.take(), Vec::<String>::new(), "doctor changed the host");

    // Its MAC is nobody's: a lease event for it is refused.
    let refused = host.linux().lease_event(
        &lock,
        "shared",
        LeaseEvent::Bound {
            mac: db.mac,
            ip: "192.168.64.9".parse().unwrap(),
        },
    );
    assert!(refused.is_err(), "an earlier boot's VM took a lease");

    // start: afresh, the network up again for web alone.
    let started = host
        .linux()
        .start(
            &lock,
            &VmProfile::new("web", Mode::Shared, Controller::VirtioNet).unwrap(),
            Attach::Tap,
            None,
        )
        .unwrap();
    assert!(!started.already);
    assert!(
        started
            .warnings
            .iter()
            .any(|w| w.contains("before the last reboot")),
        "{:?}",
        started.warnings
    );
    let ops = host.take();
    assert!(has(&ops, "add_bridge vmctl-shared"), "{ops:?}");
    assert!(has(&ops, "dnsmasq_start shared"), "{ops:?}");
    assert!(
        !ops.iter().any(|op| op.contains(&db.link)),
        "db got rules or a link: {ops:?}"
    );
    assert_eq!(host.store.load_runs().unwrap().started.len(), 1);

    // stop and doctor --fix forget an earlier boot's state, and touch nothing on the host.
    host.linux().stop(&lock, &db).unwrap();
    assert_eq!(host.take(), Vec::<String>::new(), "stop changed the host");
    assert!(host.store.load_run("db").unwrap().is_none());
    reboot(&host, &lock);
    let fixed = host.linux().doctor(&lock, true).unwrap();
    assert!(fixed.iter().all(|f| f.fixed), "{fixed:?}");
    assert!(
        host.store
            .load_runs_of_any_boot()
            .unwrap()
            .started
            .is_empty()
    );
    // --fix reloads the rules from run/ in any case (none are wanted) and does nothing else.
    assert_eq!(host.take(), vec!["nft_remove".to_owned()]);
}
