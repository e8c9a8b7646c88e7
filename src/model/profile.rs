//! A VM's network profile (one NIC, index 0) as stored in `vms/<name>.plist`, and its rules.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::mac::MacPolicy;
use super::port_forward::PortForward;
use crate::error::Error;

/// Version of the profile file format this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Declare a closed set of names: `FromStr` with an error listing the accepted values,
/// `Display`, serde as the same string, and `ALL`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $ty:ident, $what:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $ty {
            $(#[serde(rename = $name)] $variant),+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                $ty::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<&str> = $ty::ALL.iter().map(|v| v.name()).collect();
                    Error::invalid($what, s, format!("expected one of {}", names.join(", ")))
                        .with_hint(format!("use one of: {}", names.join(", ")))
                })
            }
        }
    };
}

named_enum!(
    /// How the NIC reaches the world.
    Mode, "network mode" {
        Shared => "shared",
        Host => "host",
        Bridge => "bridge",
        Disconnected => "disconnected",
    }
);

named_enum!(
    /// The virtual NIC model the hypervisor presents.
    Controller, "controller" {
        VirtioNet => "virtio-net",
        Anet => "anet",
        E1000 => "e1000",
    }
);

impl Mode {
    /// A mode by name, as `FromStr`, but Anka's `nat` is refused with the reason: vmctl has
    /// no mode without its isolation.
    pub fn from_anka(name: &str) -> Result<Mode, Error> {
        if name == "nat" {
            return Err(Error::invalid(
                "network mode",
                name,
                "vmctl has no separate nat mode: Anka's nat is NAT without no-local isolation or anti-spoofing, and vmctl's `shared` is NAT + DHCP with them",
            )
            .with_hint("use shared (-t shared): the same NAT, with --no-local available"));
        }
        // Anka 2.x spelled it `bridged`.
        if name == "bridged" {
            return Ok(Mode::Bridge);
        }
        name.parse()
    }

    /// The built-in network a VM in this mode joins, if it joins one vmctl runs.
    pub fn builtin_network(self) -> Option<&'static str> {
        match self {
            Mode::Shared => Some("shared"),
            Mode::Host => Some("host"),
            Mode::Bridge | Mode::Disconnected => None,
        }
    }
}

/// The keys vmctl writes at the top of a profile and in its `network` dictionary: any other
/// key (added by hand or by another tool) is kept as it is when vmctl rewrites the file.
pub const PROFILE_KEYS: &[&str] = &["schema_version", "name", "uuid", "created", "network"];
pub const NIC_KEYS: &[&str] = &[
    "mode",
    "controller",
    "mac",
    "mac_salt",
    "ip",
    "bridge",
    "no_local",
    "vlan",
    "filter",
    "filter_file",
    "port_forwarding_rules",
    "network",
];

impl VmProfile {
    /// What a hand-edited profile can hold that the command line never writes: a reason for
    /// each value out of range, checked when the file is read.
    pub fn check(&self) -> Result<(), String> {
        let nic = &self.network;
        if nic.vlan > 4094 {
            return Err(format!("VLAN {} is out of range (0-4094)", nic.vlan));
        }
        if let Some(bridge) = &nic.bridge {
            validate_interface_name(bridge).map_err(|e| e.to_string())?;
        }
        for pf in &nic.port_forwarding_rules {
            crate::model::port_forward::validate_rule_name(&pf.name).map_err(|e| e.to_string())?;
            for (what, port) in [("guest", pf.guest_port), ("host", pf.host_port)] {
                if port == 0 {
                    return Err(format!(
                        "port forward '{}': {what} port 0 is not a port (1-65535)",
                        pf.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One VM's stored network profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmProfile {
    pub schema_version: u32,
    pub name: String,
    pub uuid: String,
    /// Unix seconds; 0 in a profile written before vmctl recorded it.
    #[serde(default)]
    pub created: u64,
    pub network: Nic,
}

/// The VM's one NIC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    pub mode: Mode,
    pub controller: Controller,
    pub mac: MacPolicy,
    /// Bumped only when the `auto` MAC collides with another VM's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mac_salt: u32,
    /// Static IP: a DHCP reservation on the VM's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    /// Host interface for `bridge` mode; `None` follows `bridge_name` (or auto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// `None` follows the host's `no_local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_local: Option<bool>,
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub vlan: u16,
    /// IP filter rules, as the user wrote them (parsed when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// A rules file read at every start and plan (Anka's `-f FILE`); excludes `filter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub port_forwarding_rules: Vec<PortForward>,
    /// A named network (`vmctl network create`) instead of the built-in one of its mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

// serde's skip_serializing_if hands a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &u32) -> bool {
    *v == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

impl Nic {
    /// The vmctl network the VM joins: its named network, else the built-in one of its mode
    /// (none in bridge or disconnected mode).
    pub fn network_name(&self) -> Option<&str> {
        match self.mode {
            Mode::Shared | Mode::Host => self
                .network
                .as_deref()
                .or_else(|| self.mode.builtin_network()),
            Mode::Bridge | Mode::Disconnected => None,
        }
    }

    pub fn new(mode: Mode, controller: Controller) -> Self {
        Nic {
            mode,
            controller,
            mac: MacPolicy::Auto,
            mac_salt: 0,
            ip: None,
            bridge: None,
            no_local: None,
            vlan: 0,
            filter: None,
            filter_file: None,
            port_forwarding_rules: Vec::new(),
            network: None,
        }
    }
}

/// A VM name: also a file name, a DNS label and part of interface and chain names, so it is
/// kept to letters, digits, `-`, `_` and `.`.
pub fn validate_vm_name(name: &str) -> Result<(), Error> {
    let hint =
        "use 1-63 characters: letters, digits, '-', '_' or '.', starting with a letter or digit";
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 63 {
        return Err(
            Error::invalid("VM name", name, "it must be 1-63 characters long").with_hint(hint),
        );
    }
    if !first_ok {
        return Err(Error::invalid(
            "VM name",
            name,
            "it must start with an ASCII letter or digit",
        )
        .with_hint(hint));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(
            Error::invalid("VM name", name, format!("{c:?} is not allowed")).with_hint(hint),
        );
    }
    Ok(())
}

/// Why the kernel would refuse `name` as an interface name, if it would (its `dev_valid_name`):
/// empty, longer than 15 bytes (IFNAMSIZ less the NUL), "." or "..", or holding '/', ':' or
/// whitespace. Every name bound for rtnetlink passes here first: past 15 bytes the kernel
/// answers ERANGE, and past 64 KiB the message encoder panics.
pub fn kernel_refuses_interface_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 {
        Some("it must be 1-15 bytes long")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are not interface names")
    } else if name.contains(['/', ':']) || name.contains(char::is_whitespace) {
        Some("interface names hold no '/', ':' or whitespace")
    } else {
        None
    }
}

/// A host interface name vmctl accepts wherever one enters (flags, config, environment, files):
/// what the kernel accepts (`kernel_refuses_interface_name`), in letters, digits, '-', '_' and
/// '.', not starting with '-'.
pub fn validate_interface_name(name: &str) -> Result<(), Error> {
    let hint = "`ip link` (Linux) or `ifconfig -l` (macOS) lists the interfaces";
    if name.starts_with('-') {
        // It would read as an option to every tool it reaches (ip, ifconfig, pfctl).
        return Err(Error::invalid(
            "interface name",
            name,
            "interface names never start with '-'",
        )
        .with_hint(hint));
    }
    let ok = kernel_refuses_interface_name(name).is_none()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "interface name",
            name,
            "it must be 1-15 characters: letters, digits, '-', '_' or '.'",
        )
        .with_hint(hint))
    }
}

/// Whether `text` is a uuid in its usual form: 8-4-4-4-12 hex digits, any case.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random (version 4) uuid, as text.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().fold(String::with_capacity(32), |mut s, x| {
        use std::fmt::Write;
        let _ = write!(s, "{x:02x}");
        s
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl VmProfile {
    /// A new profile with the host's defaults for mode and controller and an `auto` MAC.
    pub fn new(name: &str, mode: Mode, controller: Controller) -> Result<VmProfile, Error> {
        validate_vm_name(name)?;
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(VmProfile {
            schema_version: SCHEMA_VERSION,
            name: name.to_owned(),
            uuid: new_uuid(),
            created,
            network: Nic::new(mode, controller),
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn uuids_in_their_usual_form() {
        assert!(super::is_uuid("1948dd37-e8ea-43b3-972f-b91860329eab"));
        assert!(super::is_uuid("1948DD37-E8EA-43B3-972F-B91860329EAB"));
        assert!(!super::is_uuid("1948dd37e8ea43b3972fb91860329eab"));
        assert!(!super::is_uuid("1948dd37-e8ea-43b3-972f-b91860329eag"));
        assert!(!super::is_uuid("web"));
        assert!(super::is_uuid(&super::new_uuid()));
    }

    use super::*;

    #[test]
    fn names() {
        for ok in ["web", "web-1", "a", "ubuntu.24_04"] {
            validate_vm_name(ok).unwrap();
        }
        for bad in [
            "",
            ".hidden",
            "-x",
            "a/b",
            "a b",
            "a\"b",
            "a;b",
            "a}b",
            "a\nb",
            &"x".repeat(64),
        ] {
            assert!(validate_vm_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn interface_names_fit_the_kernel() {
        for ok in [
            "eth0",
            "vmt-0fd9bc91",
            "vmctl-shared",
            "br.100",
            &"x".repeat(15),
        ] {
            assert_eq!(kernel_refuses_interface_name(ok), None, "{ok}");
            validate_interface_name(ok).unwrap();
        }
        // The kernel's own rule is looser (it allows '+', '@', non-ASCII): what it lists can
        // be looked up and deleted, whatever vmctl would let a user name.
        assert_eq!(kernel_refuses_interface_name("wg+vpn@x"), None);
        assert!(validate_interface_name("wg+vpn@x").is_err());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:1",
            "a b",
            "a\tb",
            &"x".repeat(16),
            &"x".repeat(65_536),
        ] {
            assert!(kernel_refuses_interface_name(bad).is_some(), "{bad:?}");
            assert!(validate_interface_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_interface_name("-x").is_err());
    }

    #[test]
    fn enum_errors_list_choices() {
        let err = "nat".parse::<Mode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid network mode 'nat': expected one of shared, host, bridge, disconnected"
        );
        assert_eq!("e1000".parse::<Controller>().unwrap(), Controller::E1000);
        let err = Mode::from_anka("nat").unwrap_err();
        assert!(err.to_string().contains("no separate nat mode"), "{err}");
        assert!(err.hint().unwrap().contains("-t shared"));
        assert_eq!(Mode::from_anka("host").unwrap(), Mode::Host);
    }
}
