//! Why a bridged VM gets no DHCP lease, and whether its host interface is Wi-Fi: the usual
//! cause, since access points only pass frames from the MACs that associated with them.

use std::path::Path;

use crate::sys::Os;

/// Is the host interface `interface` of a host running `os` a Wi-Fi one? Linux: the
/// kernel's sysfs says so; macOS: `networksetup -listallhardwareports` lists it as Wi-Fi (or
/// AirPort). False when unknown.
pub fn is_wifi(interface: &str, os: Os) -> bool {
    if crate::model::profile::validate_interface_name(interface).is_err() {
        return false;
    }
    match os {
        Os::Linux => is_wifi_in_sysfs(Path::new("/sys/class/net"), interface),
        Os::Macos => std::process::Command::new("networksetup")
            .arg("-listallhardwareports")
            .output()
            .is_ok_and(|out| {
                wifi_devices(&String::from_utf8_lossy(&out.stdout))
                    .iter()
                    .any(|device| device == interface)
            }),
    }
}

/// Linux: a wireless interface has `wireless` (wext) or `phy80211` (cfg80211) in its sysfs
/// folder under `class_net` (`/sys/class/net`).
pub fn is_wifi_in_sysfs(class_net: &Path, interface: &str) -> bool {
    let folder = class_net.join(interface);
    folder.join("wireless").exists() || folder.join("phy80211").exists()
}

/// The devices (`en0`, ...) of the Wi-Fi ports in `networksetup -listallhardwareports` output:
/// blocks of `Hardware Port: NAME` / `Device: DEV` lines; older macOS calls Wi-Fi "AirPort".
pub fn wifi_devices(text: &str) -> Vec<String> {
    let mut devices = Vec::new();
    let mut port_is_wifi = false;
    for line in text.lines() {
        if let Some(port) = line.strip_prefix("Hardware Port:") {
            let port = port.trim().to_ascii_lowercase();
            port_is_wifi = ["wi-fi", "wifi", "airport"].contains(&port.as_str());
        } else if let Some(device) = line.strip_prefix("Device:") {
            let device = device.trim();
            if port_is_wifi && !device.is_empty() {
                devices.push(device.to_owned());
            }
            port_is_wifi = false;
        }
    }
    devices
}

/// The message and hint for a bridged VM on `interface` that has no DHCP lease: on Wi-Fi the
/// access point is the likely cause; otherwise no DHCP server answered, or it ignores the VM's
/// MAC. `link_local`: the guest gave itself a 169.254.x.x address (its DHCP timed out).
pub fn no_lease_reason(interface: &str, wifi: bool, link_local: bool) -> (String, String) {
    let got = if link_local {
        format!(
            "the VM bridged to {interface} got no DHCP lease (it only has a link-local 169.254.x.x address)"
        )
    } else {
        format!("the VM bridged to {interface} got no DHCP lease")
    };
    if wifi {
        (
            format!(
                "{got}: {interface} is Wi-Fi, and access points usually drop frames from MAC addresses that did not associate with them, so the VM's DHCP requests never reach the LAN"
            ),
            "use shared mode (`vmctl modify VM network --mode shared`), bridge to an Ethernet interface (--bridge IF), or turn off the router's client isolation (also called AP isolation, wireless isolation or MAC filtering)".to_owned(),
        )
    } else {
        (
            format!(
                "{got}: no DHCP server answered on {interface}'s LAN, or the network filters the VM's MAC address"
            ),
            format!(
                "check that another device gets an address on {interface}'s LAN and that the router does not filter unknown MACs (DHCP guard, MAC filtering); or use shared mode, where vmctl's own DHCP server answers"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_ports_of_networksetup() {
        let text = super::super::lease::fixture!("networksetup_listallhardwareports.txt");
        assert_eq!(wifi_devices(text), ["en1"]);
        let old = "Hardware Port: AirPort\nDevice: en1\nEthernet Address: 00:11:22:33:44:55\n\nHardware Port: Ethernet\nDevice: en0\n";
        assert_eq!(wifi_devices(old), ["en1"]);
        assert!(wifi_devices("").is_empty());
    }

    #[test]
    fn wifi_in_sysfs() {
        let root = tempfile::tempdir().unwrap();
        for (interface, marker) in [
            ("wlan0", Some("wireless")),
            ("wlp2s0", Some("phy80211")),
            ("eth0", None),
        ] {
            let folder = root.path().join(interface);
            std::fs::create_dir_all(folder.join(marker.unwrap_or("statistics"))).unwrap();
        }
        assert!(is_wifi_in_sysfs(root.path(), "wlan0"));
        assert!(is_wifi_in_sysfs(root.path(), "wlp2s0"));
        assert!(!is_wifi_in_sysfs(root.path(), "eth0"));
        assert!(!is_wifi_in_sysfs(root.path(), "missing0"));
        assert!(!is_wifi("../../etc", Os::Linux), "not an interface name");
    }

    #[test]
    fn reasons() {
        let (message, hint) = no_lease_reason("en1", true, true);
        assert_eq!(
            message,
            "the VM bridged to en1 got no DHCP lease (it only has a link-local 169.254.x.x address): en1 is Wi-Fi, and access points usually drop frames from MAC addresses that did not associate with them, so the VM's DHCP requests never reach the LAN"
        );
        for part in ["shared mode", "Ethernet", "client isolation"] {
            assert!(hint.contains(part), "{hint}");
        }
        let (message, hint) = no_lease_reason("eth0", false, false);
        assert_eq!(
            message,
            "the VM bridged to eth0 got no DHCP lease: no DHCP server answered on eth0's LAN, or the network filters the VM's MAC address"
        );
        assert!(
            hint.contains("shared mode") && hint.contains("MAC filtering"),
            "{hint}"
        );
        for (message, hint) in [
            no_lease_reason("en0", true, false),
            no_lease_reason("en0", false, true),
        ] {
            assert!(!message.ends_with('.') && !hint.ends_with('.'));
            assert!(!message.contains('\n'));
        }
    }
}
