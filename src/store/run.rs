//! `run/<vm>.plist`: a started VM, the one shape that the store reads, the plan takes and the
//! backends apply. Written atomically under the store lock when the VM's link is up and its
//! rules are loaded; removed when `stop` has taken them down. Its values are checked as the
//! file is read (MAC, filter rules, name), so nothing later has to check them again.
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
use super::{Store, StoreLock, in_parallel, plist_names, read_if_exists};
use crate::error::Error;
use crate::model::names::vm_link_name;
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
    /// A VM's runtime state, if it has one: of this boot, or of an earlier one
    /// (`from_earlier_boot`).
    pub fn load_run(&self, name: &str) -> Result<Option<StartedVm>, Error> {
        let path = self.run_path(name);
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        check_plist_depth(&path, &bytes)?;
        let state: StartedVm = plist::from_bytes(&bytes).map_err(|e| {
            Error::corrupt(
                &path,
                format!("not a vmctl runtime state: {}", plist_reason(&e)),
            )
        })?;
        if state.name != name {
            return Err(Error::corrupt(
                &path,
                format!("it holds VM '{}' but is named for '{name}'", state.name),
            ));
        }
        Ok(Some(state))
    }

    /// Every started VM's runtime state, sorted by name: the states of this boot (one from an
    /// earlier boot is a stopped VM's, which `load_runs_of_any_boot` lists too).
    pub fn load_runs(&self) -> Result<Vec<StartedVm>, Error> {
        let mut states = self.load_runs_of_any_boot()?;
        states.retain(|state| !state.from_earlier_boot());
        Ok(states)
    }

    /// Every runtime state in `run/`, of this boot or an earlier one, sorted by name.
    pub fn load_runs_of_any_boot(&self) -> Result<Vec<StartedVm>, Error> {
        let names = self.started_names()?;
        let states = in_parallel(&names, |n| self.load_run(n))?;
        Ok(states.into_iter().flatten().collect())
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
    use macaddr::MacAddr6;

    use super::{StartedVm, recorded_mac};
    use crate::model::{Attach, Controller, Mode, VmProfile};
    use crate::store::Store;

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
            names(store.load_runs().unwrap()),
            ["now", "old-file", "other"]
        );
        assert_eq!(store.load_runs_of_any_boot().unwrap().len(), 4);
        assert_eq!(names(store.load_runs_with_mac(now.mac).unwrap()), ["now"]);
        // Another VM's file that does not parse is not read past its MAC.
        let other = store.run_path("other");
        let text = std::fs::read_to_string(&other).unwrap();
        let cut = text.find("<key>no_local</key>").unwrap();
        crate::store::write_atomic(&other, &text.as_bytes()[..cut]).unwrap();
        assert!(store.load_runs().is_err());
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
