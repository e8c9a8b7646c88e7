//! The macOS plan's bootptab: bootpd's reservation lines for the VMs with static IPs.
//!
//! bootpd serves every vmnet network of the host from one `/etc/bootptab`, so its lines come
//! from every stored VM, not only the started ones. One VM's problem (two profiles with one
//! MAC after `clone --keep-mac`, a reservation on a network that is gone) leaves that VM's line
//! out and says why; the others keep theirs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use crate::model::{Mac, VmProfile};
use crate::plan::PlanInput;
use crate::settings::Settings;
use crate::settings::change::effective_mac;

/// The header of vmctl's bootptab text (the plan shows it; the system file keeps its own).
const HEADER: &str = "%%\n# hostname\thwtype\thwaddr\tipaddr\tbootfile (vmctl static IPs)\n";

/// `/etc/bootptab` contents: a header, then one line per VM on a network with a static IP.
pub(super) fn bootptab(input: &PlanInput) -> String {
    let mut bootptab = String::from(HEADER);
    for vm in input
        .vms
        .iter()
        .filter(|vm| vm.static_ip.is_some() && vm.network.as_deref().is_some())
    {
        if let Some(ip) = vm.ip {
            bootptab.push_str(&line(&vm.name, vm.mac, ip));
        }
    }
    bootptab
}

/// One reservation line: `name 1 mac ip`, tab-separated, as bootptab(5) has them.
fn line(name: &str, mac: MacAddr6, ip: Ipv4Addr) -> String {
    format!("{name}\t1\t{}\t{ip}\n", Mac(mac))
}

/// The reservation lines of the stored VMs, and the VMs left out with the reason.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reservations {
    /// The block's lines, without the `%%` header.
    pub lines: Vec<String>,
    /// (VM, why its reservation is left out).
    pub left_out: Vec<(String, String)>,
}

impl Reservations {
    /// Why `vm`'s reservation is left out, if it is.
    pub fn why_left_out(&self, vm: &str) -> Option<&str> {
        self.left_out
            .iter()
            .find(|(name, _)| name == vm)
            .map(|(_, why)| why.as_str())
    }
}

/// The reservations of `profiles` (sorted by name, as the store lists them): each VM with a
/// static IP on a vmctl network, checked on its own. A line whose MAC or address an earlier
/// VM (by name) holds is left out, naming that VM; so is one on a network the settings do not
/// know, or an address outside it.
pub fn reservations(profiles: &[VmProfile], settings: &Settings) -> Reservations {
    let mut found = Reservations::default();
    let mut macs: BTreeMap<MacAddr6, &str> = BTreeMap::new();
    let mut addresses: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for profile in profiles {
        let (Some(ip), Some(network)) = (profile.network.ip, profile.network.network_name()) else {
            continue;
        };
        let name = profile.name.as_str();
        let mut leave_out = |why: String| found.left_out.push((name.to_owned(), why));
        let Some(plan) = settings.address_plan(network) else {
            leave_out(format!(
                "its network '{network}' is gone or its file cannot be used"
            ));
            continue;
        };
        if let Err(e) = plan.check_static_ip(ip, network) {
            leave_out(e.to_string());
            continue;
        }
        let mac = effective_mac(profile, settings);
        if let Some(other) = macs.get(&mac) {
            leave_out(format!(
                "VM '{other}' has its MAC {} and a reservation already (bootpd reserves per MAC)",
                Mac(mac)
            ));
            continue;
        }
        if let Some(other) = addresses.get(&ip) {
            leave_out(format!("VM '{other}' has {ip} reserved already"));
            continue;
        }
        macs.insert(mac, name);
        addresses.insert(ip, name);
        found.lines.push(line(name, mac, ip).trim_end().to_owned());
    }
    found
}

/// The reservation lines of `bootptab` (vmctl's block or not) whose host name is `vm`: how a
/// VM whose profile cannot be read keeps its reservation as it was.
pub fn lines_of<'a>(bootptab: &'a str, vm: &str) -> Vec<&'a str> {
    bootptab
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(vm))
        .collect()
}

/// The block's lines as the plan's bootptab text shows them.
pub fn text(lines: &[String]) -> String {
    let mut text = String::from(HEADER);
    for l in lines {
        let _ = writeln!(text, "{l}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Controller, MacPolicy, Mode};
    use crate::settings::Settings;

    fn profile(name: &str, mac: u8, ip: Option<[u8; 4]>, network: Option<&str>) -> VmProfile {
        let mut p = VmProfile::new(name, Mode::Shared, Controller::VirtioNet).unwrap();
        p.network.mac = MacPolicy::Static(MacAddr6::new(0x52, 0x54, 0, 0, 0, mac));
        p.network.ip = ip.map(Ipv4Addr::from);
        p.network.network = network.map(str::to_owned);
        p
    }

    /// Two VMs with one MAC (a clone that kept it), one on a network that is gone, one with
    /// an address another holds: each is left out with its reason, and the others keep their
    /// lines.
    #[test]
    fn one_bad_profile_costs_only_its_own_line() {
        let settings = Settings::resolve(&std::collections::BTreeMap::new(), |_| None).unwrap();
        let profiles = [
            profile("a-web", 1, Some([192, 168, 64, 20]), None),
            profile("b-web-clone", 1, Some([192, 168, 64, 21]), None),
            profile("c-db", 3, Some([192, 168, 64, 22]), Some("gone")),
            profile("d-dhcp", 4, None, None),
            profile("e-twin", 5, Some([192, 168, 64, 20]), None),
            profile("f-outside", 6, Some([10, 9, 9, 9]), None),
            profile("g-ok", 7, Some([192, 168, 64, 30]), None),
        ];
        let found = reservations(&profiles, &settings);
        assert_eq!(
            found.lines,
            [
                "a-web\t1\t52:54:00:00:00:01\t192.168.64.20",
                "g-ok\t1\t52:54:00:00:00:07\t192.168.64.30",
            ]
        );
        let why = |vm| found.why_left_out(vm).unwrap_or_default();
        assert!(
            why("b-web-clone").contains("VM 'a-web' has its MAC"),
            "{found:?}"
        );
        assert!(why("c-db").contains("network 'gone'"), "{found:?}");
        assert!(
            why("e-twin").contains("VM 'a-web' has 192.168.64.20"),
            "{found:?}"
        );
        assert!(why("f-outside").contains("outside"), "{found:?}");
        assert_eq!(found.why_left_out("d-dhcp"), None);
        assert_eq!(found.left_out.len(), 4);
    }

    #[test]
    fn a_vms_old_lines_are_found_by_name() {
        let old = "%%\n# BEGIN vmctl\nweb\t1\t52:54:00:00:00:01\t192.168.64.20\nweb2\t1\t52:54:00:00:00:02\t192.168.64.21\n# END vmctl\n";
        assert_eq!(
            lines_of(old, "web"),
            ["web\t1\t52:54:00:00:00:01\t192.168.64.20"]
        );
        assert!(lines_of(old, "we").is_empty());
    }
}
