//! `run/<vm>.plist`: a started VM, the one shape that the store reads, the plan takes and the
//! backends apply. Written atomically under the store lock when the VM's link is up and its
//! rules are loaded; removed when `stop` has taken them down. Its values are checked as the
//! file is read (name, MAC, filter rules, interface and network names, ranges), so nothing later
//! has to check them again. A file that fails is bad (`BadFile`): it is that VM's problem only,
//! `doctor --fix` moves it to `run/quarantine/`, and the VM then counts as stopped.
//!
//! The state keeps the NIC as it was resolved at start (MAC, no-local, filter text, forwards):
//! a `modify` of a started VM takes effect at its next start, and every reload of the firewall
//! in between renders the same rules for it. `vmctl plan` builds the same value from profiles,
//! as they would start.
//!
//! The `Store` methods that read, list, write and remove these files sit here too.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use macaddr::MacAddr6;
use serde::{Deserialize, Serialize};

use super::plist::{check_plist_depth, plist_reason, save_xml};
use super::{BadFile, Store, StoreLock, in_parallel, plist_names, read_if_exists};
use crate::error::Error;
use crate::model::named_network::validate_network_name;
use crate::model::names::vm_link_name;
use crate::model::profile::{validate_interface_name, validate_vm_name};
use crate::model::rule_text::RuleText;
use crate::model::{Attach, Mode, PortForward, VmProfile};

pub const RUN_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedVm {
    pub schema_version: u32,
    #[serde(rename = "vm")]
    pub name: String,
    pub uuid: String,
    /// Unix seconds.
    pub started: u64,
    /// The boot of the host it was started in (`sys::boot_id`); none in a state written before
    /// vmctl recorded it, which counts as this boot's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
    /// The pid of the vmctl process that started it: of racing starts, the one that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<u32>,
    pub mode: Mode,
    /// The vmctl network the VM joins (built-in or named); `None` in bridge or disconnected mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The host-side link (`vmt-...`); for a macvlan inside a namespace, the name it had here.
    pub link: String,
    /// How the NIC reaches the VM: a TAP for a hypervisor, a veth into a network namespace, a
    /// socket.
    pub attach: Attach,
    /// The MAC the guest uses.
    #[serde(with = "crate::model::mac::as_text")]
    pub mac: MacAddr6,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_ip: Option<Ipv4Addr>,
    /// The address the VM has now: the static IP, or the last lease DHCP reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    pub no_local: bool,
    /// The host interface of a bridge-mode VM (`None` before start: the default route's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub vlan: u16,
    /// The filter rules in force (the VM's own, else `net_filter`'s); none when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<RuleText>,
    #[serde(default)]
    pub port_forwards: Vec<PortForward>,
    /// The pid of the `vmctl run` that holds the VM (it stops the VM when its command exits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<u32>,
    /// With `--attach socket`: the relay helper's pid and the socket the hypervisor uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// When the relay helper started (`sys::process::start_time`): with its command line, what
    /// tells it from another process that got its pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_start: Option<String>,
    /// `--attach netns:NAME`: the identity of the namespace it was attached to (device and
    /// inode of `/run/netns/NAME`), so a namespace made under that name since is left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns_id: Option<String>,
    /// macOS: the token of the reference that keeps pf enabled for this VM's anchor (`pfctl
    /// -E`), released at stop (`pfctl -X`). Digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf_token: Option<String>,
}

impl StartedVm {
    /// `profile` as it starts, with the values the host settings resolved: its MAC, no-local,
    /// rules and (bridge mode) host interface. Not started yet: `started` is 0 until a backend
    /// records the moment.
    pub fn new(
        profile: &VmProfile,
        mac: MacAddr6,
        no_local: bool,
        filter: Option<RuleText>,
        attach: Attach,
        parent: Option<String>,
    ) -> StartedVm {
        let nic = &profile.network;
        StartedVm {
            schema_version: RUN_SCHEMA_VERSION,
            name: profile.name.clone(),
            uuid: profile.uuid.clone(),
            started: 0,
            boot: None,
            started_by: None,
            mode: nic.mode,
            network: nic.network_name().map(str::to_owned),
            link: vm_link_name(&profile.name),
            attach,
            mac,
            static_ip: nic.ip,
            ip: nic.ip,
            no_local,
            parent,
            vlan: nic.vlan,
            filter: filter.filter(|f| !f.is_empty()),
            port_forwards: nic.port_forwarding_rules.clone(),
            holder: None,
            helper: None,
            socket: None,
            helper_start: None,
            netns_id: None,
            pf_token: None,
        }
    }

    /// Started in an earlier boot of the host: its links, rules and processes went with that
    /// boot (a pid in it may name another process now), so the VM is stopped, whatever the file
    /// says.
    pub fn from_earlier_boot(&self) -> bool {
        self.from_boot_other_than(crate::sys::boot_id())
    }

    /// Started in a boot other than `current` (a state or a host without a boot id is never).
    pub fn from_boot_other_than(&self, current: Option<&str>) -> bool {
        matches!((self.boot.as_deref(), current), (Some(then), Some(now)) if then != now)
    }

    /// Held by a `vmctl run` that is gone (killed -9), or its relay helper died: the VM is
    /// started for nobody.
    pub fn orphaned(&self) -> bool {
        self.gone_process().is_some()
    }

    /// The pid of its `vmctl run` or relay helper when that process is gone.
    pub fn gone_process(&self) -> Option<u32> {
        [self.holder, self.helper]
            .into_iter()
            .flatten()
            .find(|pid| !crate::sys::process::alive(*pid))
    }

    /// The namespace the VM's link lives in (as `eth0`) when it is not here: a bridge-mode
    /// VM's macvlan (a veth's host end, and a TAP, are here).
    pub fn inner_netns(&self) -> Option<&str> {
        match (&self.attach, self.mode) {
            (Attach::Netns { netns }, Mode::Bridge) => Some(netns),
            _ => None,
        }
    }
}

impl StartedVm {
    /// What a hand-edited (or damaged) run file can hold that `start` never writes: a reason
    /// for the first value out of range, checked when the file is read. Names bound for the
    /// kernel or for paths are checked here, where they enter, so none reaches netlink or a
    /// path unchecked.
    fn check(&self) -> Result<(), String> {
        let text = |e: Error| e.to_string();
        validate_vm_name(&self.name).map_err(text)?;
        validate_interface_name(&self.link).map_err(|e| format!("link: {}", text(e)))?;
        if let Some(parent) = &self.parent {
            validate_interface_name(parent).map_err(|e| format!("parent: {}", text(e)))?;
        }
        if let Some(network) = &self.network
            && !crate::model::BUILTIN_NETWORKS.contains(&network.as_str())
        {
            validate_network_name(network).map_err(text)?;
        }
        if let Attach::Netns { netns } = &self.attach {
            Attach::parse(&format!("netns:{netns}")).map_err(text)?;
        }
        if self.mac.is_nil() || self.mac.is_multicast() {
            return Err(format!(
                "mac {} is not a unicast address",
                crate::model::Mac(self.mac)
            ));
        }
        if self.vlan > 4094 {
            return Err(format!("VLAN {} is out of range (0-4094)", self.vlan));
        }
        for pf in &self.port_forwards {
            crate::model::port_forward::validate_rule_name(&pf.name).map_err(text)?;
            if pf.guest_port == 0 || pf.host_port == 0 {
                return Err(format!("port forward '{}': port 0 is not a port", pf.name));
            }
        }
        if [self.holder, self.helper].contains(&Some(0)) {
            return Err("pid 0 is not a process".into());
        }
        // It goes to `pfctl -X` as an argument: a number, nothing else.
        if let Some(token) = &self.pf_token
            && (token.is_empty() || token.len() > 20 || !token.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "pf_token '{}' is not a pf token (a number)",
                crate::error::printable(token)
            ));
        }
        Ok(())
    }
}

/// `run/` as read: the started VMs whose files vmctl can use, sorted by name, and the files it
/// cannot (each one VM's problem: the others go on without it).
#[derive(Debug, Default)]
pub struct Runs {
    pub started: Vec<StartedVm>,
    pub bad: Vec<BadFile>,
}

/// What the user can do about a bad run file.
fn run_file_hint(name: &str) -> String {
    format!(
        "`vmctl doctor --fix` moves it aside (to run/quarantine/); VM '{name}' then counts as stopped"
    )
}

impl Store {
    /// Is the VM started: its runtime state there, and of this boot? A state that cannot be
    /// read counts as started (it may be).
    pub fn is_started(&self, name: &str) -> bool {
        match self.load_run(name) {
            Ok(Some(state)) => !state.from_earlier_boot(),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    pub fn run_path(&self, name: &str) -> PathBuf {
        self.run_dir().join(format!("{name}.plist"))
    }
    /// A VM's runtime state, if it has one (of this boot, or of an earlier one:
    /// `from_earlier_boot`); a file that cannot be used is an error naming it, with the repair
    /// as its hint.
    pub fn load_run(&self, name: &str) -> Result<Option<StartedVm>, Error> {
        self.read_run(name).map_err(|bad| bad.error())
    }

    fn read_run(&self, name: &str) -> Result<Option<StartedVm>, BadFile> {
        let path = self.run_path(name);
        let bad = |e: Error| BadFile::new(name, &path, e, run_file_hint(name));
        let Some(bytes) = read_if_exists(&path).map_err(bad)? else {
            return Ok(None);
        };
        check_plist_depth(&path, &bytes).map_err(bad)?;
        let state: StartedVm = plist::from_bytes(&bytes).map_err(|e| {
            bad(Error::corrupt(
                &path,
                format!("not a vmctl runtime state: {}", plist_reason(&e)),
            ))
        })?;
        if state.name != name {
            return Err(bad(Error::corrupt(
                &path,
                format!(
                    "it holds VM '{}' but is named for '{name}'",
                    crate::error::printable(&state.name)
                ),
            )));
        }
        state
            .check()
            .map_err(|reason| bad(Error::corrupt(&path, reason)))?;
        Ok(Some(state))
    }

    /// Every started VM's runtime state of this boot, sorted by name, with the files that
    /// cannot be used beside them: one bad file must not stop every command. A state of an
    /// earlier boot is a stopped VM's (`load_runs_of_any_boot` lists it too).
    pub fn load_runs(&self) -> Result<Runs, Error> {
        let mut runs = self.load_runs_of_any_boot()?;
        runs.started.retain(|state| !state.from_earlier_boot());
        Ok(runs)
    }

    /// Every runtime state in `run/`, of this boot or an earlier one, sorted by name, and the
    /// files that cannot be used.
    pub fn load_runs_of_any_boot(&self) -> Result<Runs, Error> {
        let names = self.started_names()?;
        let read = in_parallel(&names, |n| Ok(self.read_run(n)))?;
        let mut runs = Runs::default();
        for result in read {
            match result {
                Ok(Some(state)) => runs.started.push(state),
                Ok(None) => {}
                Err(bad) => runs.bad.push(bad),
            }
        }
        Ok(runs)
    }

    /// Move a bad run file aside, to `run/quarantine/<vm>.plist.<unix time>`: vmctl never
    /// deletes what it cannot read, and the VM counts as stopped from here on. Returns where
    /// it went.
    pub fn quarantine_run(&self, _lock: &StoreLock, name: &str) -> Result<PathBuf, Error> {
        let from = self.run_path(name);
        let dir = self.run_dir().join("quarantine");
        fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let stem = format!("{name}.plist.{}", crate::sys::now());
        // A link, then the unlink: never over a file quarantined before in the same second.
        for n in 0u32.. {
            let to = dir.join(if n == 0 {
                stem.clone()
            } else {
                format!("{stem}-{n}")
            });
            match fs::hard_link(&from, &to) {
                Ok(()) => {
                    fs::remove_file(&from).map_err(|e| Error::io("removing", &from, e))?;
                    return Ok(to);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("moving aside", &from, e)),
            }
        }
        unreachable!("some suffix is free")
    }

    /// The runtime states of this boot with `mac`. What a lease event needs, without the
    /// price of `load_runs` on a host with many VMs started: a file that plainly records
    /// another MAC is not parsed.
    pub fn load_runs_with_mac(&self, mac: MacAddr6) -> Result<Vec<StartedVm>, Error> {
        let mut found = Vec::new();
        for name in self.started_names()? {
            let Some(bytes) = read_if_exists(&self.run_path(&name))? else {
                continue;
            };
            if recorded_mac(&bytes).is_some_and(|recorded| recorded != mac) {
                continue;
            }
            found.extend(
                self.load_run(&name)?
                    .filter(|state| state.mac == mac && !state.from_earlier_boot()),
            );
        }
        Ok(found)
    }

    /// The VMs with a runtime state file, of any boot (one folder read, not a lookup per VM),
    /// sorted.
    pub fn started_names(&self) -> Result<Vec<String>, Error> {
        plist_names(&self.run_dir())
    }

    pub fn save_run(&self, _lock: &StoreLock, state: &StartedVm) -> Result<(), Error> {
        save_xml(&self.run_path(&state.name), state)
    }

    pub fn remove_run(&self, _lock: &StoreLock, name: &str) -> Result<(), Error> {
        let path = self.run_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing", path, e)),
        }
    }
}

/// The MAC an XML run file records, found without parsing it; `None` when it is not found
/// that way (then the file is parsed).
fn recorded_mac(bytes: &[u8]) -> Option<MacAddr6> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (_, after) = text.split_once("<key>mac</key>")?;
    let (value, _) = after
        .trim_start()
        .strip_prefix("<string>")?
        .split_once("</string>")?;
    crate::model::mac::parse_mac(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Controller, Mode, VmProfile};

    fn started(store: &Store, name: &str) -> StartedVm {
        let profile = VmProfile::new(name, Mode::Shared, Controller::VirtioNet).unwrap();
        let mac = MacAddr6::new(0x52, 0x54, 0, 0x12, 0x34, u8::try_from(name.len()).unwrap());
        let vm = StartedVm::new(&profile, mac, false, None, Attach::Tap, None);
        store.save_run(&store.lock().unwrap(), &vm).unwrap();
        vm
    }

    /// `run/<name>.plist` as `good`'s file with `edit` applied.
    fn bad(store: &Store, name: &str, edit: impl Fn(String) -> String) {
        let text = std::fs::read_to_string(store.run_path("good")).unwrap();
        let text = edit(text.replace("<string>good</string>", &format!("<string>{name}</string>")));
        crate::store::write_atomic(&store.run_path(name), text.as_bytes()).unwrap();
    }

    /// A change to a run file's text.
    type Edit<'a> = Box<dyn Fn(String) -> String + 'a>;

    fn value_of(key: &str, value: &str) -> impl Fn(String) -> String {
        let (key, value) = (format!("<key>{key}</key>"), value.to_owned());
        move |text: String| {
            let at = text.find(&key).unwrap() + key.len();
            let end = at + text[at..].find("</").unwrap();
            let end = end + text[end..].find('>').unwrap() + 1;
            format!("{}\n\t{value}{}", &text[..at], &text[end..])
        }
    }

    #[test]
    fn a_bad_file_among_good_ones_is_left_out_and_named() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        let good = started(&store, "good");
        let other = started(&store, "other");
        let long_link = format!("<string>{}</string>", "x".repeat(65_536));
        let cases: Vec<(&str, Edit)> = vec![
            (
                "started",
                Box::new(value_of("started", "<string>bad</string>")),
            ),
            (
                "vlan",
                Box::new(value_of("vlan", "<integer>99999</integer>")),
            ),
            (
                "truncated",
                Box::new(|t: String| t[..t.len() / 2].to_owned()),
            ),
            (
                "renamed",
                Box::new(|t: String| {
                    t.replace("<string>renamed</string>", "<string>good</string>")
                }),
            ),
            ("longlink", Box::new(value_of("link", &long_link))),
            (
                "slashlink",
                Box::new(value_of("link", "<string>a/b</string>")),
            ),
            (
                "multicast",
                Box::new(value_of("mac", "<string>01:00:5e:00:00:01</string>")),
            ),
            ("badmac", Box::new(value_of("mac", "<string>zz</string>"))),
            (
                "network",
                Box::new(value_of("network", "<string>../etc</string>")),
            ),
            (
                "netns",
                Box::new(|t: String| {
                    t.replace(
                        "<string>tap</string>",
                        "<string>netns</string><key>netns</key><string>../x</string>",
                    )
                }),
            ),
            (
                "filter",
                Box::new(value_of(
                    "no_local",
                    "<false/><key>filter</key><string>garbage</string>",
                )),
            ),
        ];
        for (name, edit) in &cases {
            bad(&store, name, edit);
        }
        let runs = store.load_runs().unwrap();
        assert_eq!(runs.started, vec![good, other]);
        let named: Vec<&str> = runs.bad.iter().map(|b| b.name.as_str()).collect();
        let mut expected: Vec<&str> = cases.iter().map(|(n, _)| *n).collect();
        expected.sort_unstable();
        assert_eq!(named, expected);
        for bad in &runs.bad {
            assert_eq!(bad.path, store.run_path(&bad.name));
            assert!(bad.warning().len() < 800, "cut: {}", bad.warning());
            assert!(bad.warning().contains("doctor --fix"), "{}", bad.warning());
            // The command about that VM refuses, naming the file and the repair.
            let err = store.load_run(&bad.name).unwrap_err();
            assert!(
                err.to_string().contains(&format!("{}.plist", bad.name)),
                "{err}"
            );
            assert!(err.hint().unwrap().contains("doctor --fix"), "{err:?}");
        }
        let reason = |name: &str| &runs.bad.iter().find(|b| b.name == name).unwrap().reason;
        for (name, why) in [
            ("started", "expected u64"),
            ("vlan", "u16"),
            ("renamed", "it holds VM 'good'"),
            ("longlink", "link: invalid interface name"),
            ("slashlink", "link: invalid interface name 'a/b'"),
            ("multicast", "not a unicast address"),
            ("badmac", "invalid MAC address 'zz'"),
            ("network", "invalid network name '../etc'"),
            ("netns", "invalid network namespace '../x'"),
            ("filter", "filter rules"),
        ] {
            assert!(reason(name).contains(why), "{name}: {}", reason(name));
        }
    }

    /// A pf token goes to `pfctl -X` as an argument: a run file with anything but a number
    /// there is bad.
    #[test]
    fn a_pf_token_is_a_number() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        let mut good = state("good", 1);
        good.pf_token = Some("18446744073709551615".into());
        store.save_run(&store.lock().unwrap(), &good).unwrap();
        bad(
            &store,
            "pftoken",
            value_of("pf_token", "<string>-F all</string>"),
        );
        let runs = store.load_runs().unwrap();
        assert_eq!(runs.started, vec![good]);
        assert!(
            runs.bad[0]
                .reason
                .contains("pf_token '-F all' is not a pf token"),
            "{}",
            runs.bad[0].reason
        );
    }

    #[test]
    fn quarantine_moves_the_file_aside_and_never_over_another() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        started(&store, "good");
        let lock = store.lock().unwrap();
        let mut moved = Vec::new();
        for round in 0..3 {
            let text = format!("<plist>round {round}");
            crate::store::write_atomic(&store.run_path("x"), text.as_bytes()).unwrap();
            assert_eq!(store.load_runs().unwrap().bad.len(), 1);
            let to = store.quarantine_run(&lock, "x").unwrap();
            assert_eq!(std::fs::read_to_string(&to).unwrap(), text);
            moved.push(to);
        }
        moved.dedup();
        assert_eq!(moved.len(), 3, "{moved:?}");
        assert!(
            moved
                .iter()
                .all(|p| p.parent() == Some(&store.run_dir().join("quarantine")))
        );
        assert!(!store.is_started("x"));
        let runs = store.load_runs().unwrap();
        assert!(runs.bad.is_empty());
        assert_eq!(runs.started.len(), 1);
    }

    fn state(name: &str, last: u8) -> StartedVm {
        let profile = VmProfile::new(name, Mode::Shared, Controller::VirtioNet).unwrap();
        let mac = MacAddr6::new(0x52, 0x54, 0, 0, 0, last);
        StartedVm::new(&profile, mac, false, None, Attach::Tap, None)
    }

    #[test]
    fn only_two_known_boots_that_differ_make_an_earlier_boot() {
        let mut vm = state("web", 1);
        assert!(
            !vm.from_boot_other_than(Some("b")),
            "a state without a boot"
        );
        vm.boot = Some("a".into());
        assert!(vm.from_boot_other_than(Some("b")));
        assert!(!vm.from_boot_other_than(Some("a")));
        assert!(
            !vm.from_boot_other_than(None),
            "a host whose boot is unknown"
        );
    }

    #[test]
    fn runs_of_this_boot_and_runs_with_a_mac() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf(), true);
        let lock = store.lock().unwrap();
        let mut earlier = state("earlier", 1);
        earlier.boot = Some("another boot".into());
        let mut now = state("now", 1);
        now.boot = crate::sys::boot_id().map(str::to_owned);
        for vm in [&earlier, &now, &state("old-file", 2), &state("other", 3)] {
            store.save_run(&lock, vm).unwrap();
        }
        let names = |runs: Vec<StartedVm>| runs.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(
            names(store.load_runs().unwrap().started),
            ["now", "old-file", "other"]
        );
        assert_eq!(store.load_runs_of_any_boot().unwrap().started.len(), 4);
        assert_eq!(names(store.load_runs_with_mac(now.mac).unwrap()), ["now"]);
        // Another VM's file that does not parse is not read past its MAC.
        let other = store.run_path("other");
        let text = std::fs::read_to_string(&other).unwrap();
        let cut = text.find("<key>no_local</key>").unwrap();
        crate::store::write_atomic(&other, &text.as_bytes()[..cut]).unwrap();
        assert_eq!(store.load_runs().unwrap().bad.len(), 1);
        assert_eq!(names(store.load_runs_with_mac(now.mac).unwrap()), ["now"]);
    }

    #[test]
    fn the_mac_is_found_without_parsing() {
        let xml = "<dict>\n\t<key>mac</key>\n\t<string>52:54:0:0:0:A</string>\n</dict>";
        assert_eq!(
            recorded_mac(xml.as_bytes()),
            Some(MacAddr6::new(0x52, 0x54, 0, 0, 0, 0xa))
        );
        assert_eq!(
            recorded_mac(b"<dict><key>mac</key><integer>1</integer>"),
            None
        );
        assert_eq!(recorded_mac(b"bplist00"), None);
    }
}
