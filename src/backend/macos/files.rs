//! The macOS system files vmctl reads and edits, as pure functions (tested on every platform):
//!
//! - `/etc/bootptab`: static IPs as bootpd reservations, only in vmctl's marked block after
//!   the `%%` line; every other line stays. The backend writes it atomically, as root.
//! - `/Library/Preferences/SystemConfiguration/com.apple.vmnet.plist` (`Shared_Net_Address`,
//!   `Shared_Net_Mask`: the shared network's range) and `com.apple.InternetSharing.default.plist`
//!   (`bootpd` → `DHCPLeaseTimeSecs`): read back here to name drift; written only through
//!   `defaults write` (`vmnet_range_writes`, `lease_time_write`), which goes through cfprefsd.

use std::io::Cursor;
use std::net::Ipv4Addr;

use plist::Value;

use crate::discovery::hosts::replace_block;
use crate::error::Error;

pub const BOOTPTAB: &str = "/etc/bootptab";
pub const VMNET_PLIST: &str = "/Library/Preferences/SystemConfiguration/com.apple.vmnet.plist";
pub const SHARING_PLIST: &str =
    "/Library/Preferences/SystemConfiguration/com.apple.InternetSharing.default.plist";

/// `/etc/bootptab` with vmctl's block holding the reservation lines of a plan's bootptab (its
/// lines that are neither the `%%` separator nor comments).
pub fn merge_bootptab(old: &str, plan_bootptab: &str) -> Result<String, Error> {
    let lines: Vec<String> = plan_bootptab
        .lines()
        .filter(|l| !l.starts_with('%') && !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    // Entries must follow the `%%` line; a file without one gets it.
    let with_separator = if old.lines().any(|l| l.trim() == "%%") || lines.is_empty() {
        old.to_owned()
    } else if old.is_empty() || old.ends_with('\n') {
        format!("{old}%%\n")
    } else {
        format!("{old}\n%%\n")
    };
    replace_block(&with_separator, &lines)
        .map_err(|e| Error::corrupt(BOOTPTAB, format!("vmctl's block: {e}")))
}

/// `defaults` domains of the system's vmnet and Internet Sharing preferences (their paths
/// without `.plist`, as defaults(1) takes a file).
pub const VMNET_DOMAIN: &str = "/Library/Preferences/SystemConfiguration/com.apple.vmnet";
pub const SHARING_DOMAIN: &str =
    "/Library/Preferences/SystemConfiguration/com.apple.InternetSharing.default";

/// The `defaults write` arguments that give the shared network `address` (its gateway) and
/// `mask` in `com.apple.vmnet.plist`; every other key stays.
pub fn vmnet_range_writes(address: Ipv4Addr, mask: Ipv4Addr) -> [Vec<String>; 2] {
    [
        vec![
            "Shared_Net_Address".into(),
            "-string".into(),
            address.to_string(),
        ],
        vec!["Shared_Net_Mask".into(), "-string".into(), mask.to_string()],
    ]
}

/// The `defaults write` arguments that give bootpd's leases `seconds` (`bootpd` →
/// `DHCPLeaseTimeSecs`; `-dict-add` keeps the dictionary's other keys).
pub fn lease_time_write(seconds: u32) -> Vec<String> {
    vec![
        "bootpd".into(),
        "-dict-add".into(),
        "DHCPLeaseTimeSecs".into(),
        "-int".into(),
        seconds.to_string(),
    ]
}

/// The lines of vmctl's block of `/etc/bootptab` (between its markers).
pub fn block_lines(bootptab: &str) -> Vec<&str> {
    bootptab
        .lines()
        .skip_while(|l| l.trim() != "# BEGIN vmctl")
        .skip(1)
        .take_while(|l| l.trim() != "# END vmctl")
        .collect()
}

/// Where the system's files disagree with vmctl's config: one line per value, saying what
/// each side has. `vmnet` and `sharing` are the two plists' bytes (empty when missing;
/// a file that is not a plist says nothing).
pub fn system_drift(
    vmnet: &[u8],
    sharing: &[u8],
    gateway: Ipv4Addr,
    mask: Ipv4Addr,
    lease_time: u32,
) -> Vec<String> {
    let dict = |bytes: &[u8]| match Value::from_reader(Cursor::new(bytes)) {
        Ok(Value::Dictionary(dict)) => Some(dict),
        _ => None,
    };
    let mut drift = Vec::new();
    if let Some(vmnet) = dict(vmnet) {
        for (key, ours) in [("Shared_Net_Address", gateway), ("Shared_Net_Mask", mask)] {
            let theirs = vmnet.get(key).and_then(Value::as_string);
            if let Some(theirs) = theirs.filter(|t| t.parse::<Ipv4Addr>().ok() != Some(ours)) {
                drift.push(format!(
                    "{VMNET_PLIST}: {key} is {theirs}, vmctl has {ours}"
                ));
            }
        }
    }
    let theirs = dict(sharing).and_then(|d| {
        d.get("bootpd")?
            .as_dictionary()?
            .get("DHCPLeaseTimeSecs")?
            .as_signed_integer()
    });
    if let Some(theirs) = theirs.filter(|&t| t != i64::from(lease_time)) {
        drift.push(format!(
            "{SHARING_PLIST}: bootpd DHCPLeaseTimeSecs is {theirs}, vmctl has {lease_time}"
        ));
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
        )
        .unwrap()
    }

    const PLAN: &str = "%%\n# hostname\thwtype\thwaddr\tipaddr\tbootfile (vmctl static IPs)\nweb\t1\t52:54:00:12:34:01\t192.168.64.20\n";

    #[test]
    fn bootptab_keeps_every_line_but_its_own() {
        let old = String::from_utf8(fixture("bootptab")).unwrap();
        let new = merge_bootptab(&old, PLAN).unwrap();
        crate::test_support::assert_snapshot("bootptab_merged.txt", &new);
        // Again: nothing moves. Without VMs: the block goes, the rest is as it was.
        assert_eq!(merge_bootptab(&new, PLAN).unwrap(), new);
        assert_eq!(merge_bootptab(&new, "%%\n").unwrap(), old);
        // A missing or empty file gets the separator before the block.
        assert_eq!(
            merge_bootptab("", PLAN).unwrap(),
            "%%\n# BEGIN vmctl\nweb\t1\t52:54:00:12:34:01\t192.168.64.20\n# END vmctl\n"
        );
    }

    #[test]
    fn the_system_preferences_go_through_defaults() {
        let [address, mask] =
            vmnet_range_writes(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(address, ["Shared_Net_Address", "-string", "10.9.0.1"]);
        assert_eq!(mask, ["Shared_Net_Mask", "-string", "255.255.0.0"]);
        assert_eq!(
            lease_time_write(600),
            ["bootpd", "-dict-add", "DHCPLeaseTimeSecs", "-int", "600"]
        );
    }

    #[test]
    fn the_blocks_lines() {
        let merged = merge_bootptab("# theirs\n", PLAN).unwrap();
        assert_eq!(
            block_lines(&merged),
            ["web\t1\t52:54:00:12:34:01\t192.168.64.20"]
        );
        assert!(block_lines("%%\nweb\t1\t52:54:00:12:34:01\t192.168.64.20\n").is_empty());
    }

    #[test]
    fn drift_from_the_system_files_is_named() {
        let vmnet = fixture("com.apple.vmnet.plist");
        let mut with_lease = plist::Dictionary::new();
        with_lease.insert("DHCPLeaseTimeSecs".into(), Value::Integer(600.into()));
        let Value::Dictionary(mut sharing) = Value::from_reader(Cursor::new(fixture(
            "com.apple.InternetSharing.default.plist",
        )))
        .unwrap() else {
            panic!("not a dictionary")
        };
        sharing.insert("bootpd".into(), Value::Dictionary(with_lease));
        let mut bytes = Vec::new();
        Value::Dictionary(sharing)
            .to_writer_xml(&mut bytes)
            .unwrap();
        let sharing = bytes;
        let mask = Ipv4Addr::new(255, 255, 255, 0);
        let gateway = Ipv4Addr::new(192, 168, 64, 1);
        assert!(system_drift(&vmnet, &sharing, gateway, mask, 600).is_empty());
        let drift = system_drift(&vmnet, &sharing, Ipv4Addr::new(10, 9, 0, 1), mask, 86400);
        assert_eq!(drift.len(), 2, "{drift:?}");
        assert!(drift[0].contains("Shared_Net_Address is 192.168.64.1, vmctl has 10.9.0.1"));
        assert!(drift[1].contains("DHCPLeaseTimeSecs is 600, vmctl has 86400"));
        // Missing or unreadable files say nothing.
        assert!(system_drift(b"", b"<nope", gateway, mask, 1).is_empty());
    }
}
