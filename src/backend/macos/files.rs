//! The macOS system files vmctl edits, as pure functions (tested on every platform; the
//! macOS backend and `config` write their results atomically, as root):
//!
//! - `/etc/bootptab`: static IPs as bootpd reservations, only in vmctl's marked block after
//!   the `%%` line; every other line stays.
//! - `/Library/Preferences/SystemConfiguration/com.apple.vmnet.plist`: `Shared_Net_Address`
//!   and `Shared_Net_Mask`, the shared network's range; every other key stays.
//! - `.../com.apple.InternetSharing.default.plist`: `bootpd` → `DHCPLeaseTimeSecs`.
//!
//! A plist keeps its format (binary stays binary, XML stays XML).

use std::io::Cursor;
use std::net::Ipv4Addr;

use plist::{Dictionary, Value};

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

/// The shared network's range in `com.apple.vmnet.plist`.
pub fn set_vmnet_range(old: &[u8], address: Ipv4Addr, mask: Ipv4Addr) -> Result<Vec<u8>, Error> {
    edit_plist(old, VMNET_PLIST, |dict| {
        dict.insert(
            "Shared_Net_Address".into(),
            Value::String(address.to_string()),
        );
        dict.insert("Shared_Net_Mask".into(), Value::String(mask.to_string()));
    })
}

/// bootpd's lease time in `com.apple.InternetSharing.default.plist`.
pub fn set_lease_time(old: &[u8], seconds: u32) -> Result<Vec<u8>, Error> {
    edit_plist(old, SHARING_PLIST, |dict| {
        if !matches!(dict.get("bootpd"), Some(Value::Dictionary(_))) {
            dict.insert("bootpd".into(), Value::Dictionary(Dictionary::new()));
        }
        if let Some(Value::Dictionary(bootpd)) = dict.get_mut("bootpd") {
            bootpd.insert("DHCPLeaseTimeSecs".into(), Value::Integer(seconds.into()));
        }
    })
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

/// `edit` applied to the top dictionary of a plist (an empty file is an empty dictionary).
fn edit_plist(
    old: &[u8],
    path: &str,
    edit: impl FnOnce(&mut Dictionary),
) -> Result<Vec<u8>, Error> {
    let binary = old.starts_with(b"bplist00");
    let mut dict = if old.iter().all(u8::is_ascii_whitespace) {
        Dictionary::new()
    } else {
        match Value::from_reader(Cursor::new(old)) {
            Ok(Value::Dictionary(dict)) => dict,
            Ok(_) => return Err(Error::corrupt(path, "not a plist dictionary")),
            Err(e) => return Err(Error::corrupt(path, format!("not a plist: {e}"))),
        }
    };
    edit(&mut dict);
    let mut out = Vec::new();
    let value = Value::Dictionary(dict);
    let written = if binary {
        value.to_writer_binary(&mut out)
    } else {
        value.to_writer_xml(&mut out)
    };
    written.map_err(|e| Error::corrupt(path, e))?;
    Ok(out)
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
    fn vmnet_plist_gets_the_range_and_keeps_other_keys() {
        let old = fixture("com.apple.vmnet.plist");
        let new = set_vmnet_range(
            &old,
            Ipv4Addr::new(10, 9, 0, 1),
            Ipv4Addr::new(255, 255, 0, 0),
        )
        .unwrap();
        let text = String::from_utf8(new.clone()).unwrap();
        crate::test_support::assert_snapshot("vmnet_plist_edited.txt", &text);
        let Value::Dictionary(dict) = Value::from_reader(Cursor::new(&new)).unwrap() else {
            panic!("not a dictionary")
        };
        assert_eq!(dict["Shared_Net_Address"].as_string(), Some("10.9.0.1"));
        assert!(dict.contains_key("Host_Net_Address"), "other keys stay");
        // Binary stays binary.
        let mut binary = Vec::new();
        Value::from_reader(Cursor::new(&old))
            .unwrap()
            .to_writer_binary(&mut binary)
            .unwrap();
        let edited = set_vmnet_range(
            &binary,
            Ipv4Addr::new(10, 9, 0, 1),
            Ipv4Addr::new(255, 255, 0, 0),
        )
        .unwrap();
        assert!(edited.starts_with(b"bplist00"));
        assert!(set_vmnet_range(b"<nope", Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST).is_err());
    }

    #[test]
    fn drift_from_the_system_files_is_named() {
        let vmnet = fixture("com.apple.vmnet.plist");
        let sharing =
            set_lease_time(&fixture("com.apple.InternetSharing.default.plist"), 600).unwrap();
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

    #[test]
    fn lease_time_goes_into_bootpd() {
        let new = set_lease_time(&fixture("com.apple.InternetSharing.default.plist"), 600).unwrap();
        let Value::Dictionary(dict) = Value::from_reader(Cursor::new(&new)).unwrap() else {
            panic!("not a dictionary")
        };
        let bootpd = dict["bootpd"].as_dictionary().unwrap();
        assert_eq!(bootpd["DHCPLeaseTimeSecs"].as_signed_integer(), Some(600));
        assert!(dict.contains_key("NAT"), "other keys stay");
        let fresh = set_lease_time(b"", 60).unwrap();
        assert!(
            String::from_utf8(fresh)
                .unwrap()
                .contains("DHCPLeaseTimeSecs")
        );
    }
}
