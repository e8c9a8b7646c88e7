//! Named networks defined by other tools, read into `NetworkDef`s for `vmctl network import`:
//! Lima's `networks.yaml` and vmnet-broker's `/etc/vmnet-broker.d/*.json`. Pure except for
//! reading the broker's folder; every value passes the same checks as `vmctl network create`,
//! and a bad one is an error naming the file and the key.

pub mod lima;
pub mod vmnet_broker;

use std::fmt::Display;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::error::{Error, printable};
use crate::model::named_network::{NetworkDef, RESERVED_NETWORK_NAMES, validate_network_name};

pub use lima::lima;
pub use vmnet_broker::{vmnet_broker, vmnet_broker_file};

/// What an import found: the networks to create, and what the user should know about what
/// was left out, renamed or chosen (one line each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub networks: Vec<NetworkDef>,
    pub notes: Vec<String>,
}

/// The value at `key` of the file `path` is one vmctl cannot take, for `reason`.
fn bad_value(path: &Path, key: &str, reason: impl Display) -> Error {
    Error::invalid(
        "import file",
        path.display().to_string(),
        format!("{key}: {reason}"),
    )
    .with_hint(format!(
        "fix {key} in the file, or move the file out of the way and import the rest"
    ))
}

/// `def` checked as `vmctl network create` would check it; a failure names the file and `key`
/// (where the network is defined).
fn validated(def: NetworkDef, path: &Path, key: &str) -> Result<NetworkDef, Error> {
    match def.validate() {
        Ok(()) => Ok(def),
        Err(Error::Invalid { reason, .. }) => Err(bad_value(path, key, reason)),
        Err(other) => Err(bad_value(path, key, other)),
    }
}

/// The vmctl name of the network another tool calls `name`: the same, or with `prefix` when
/// vmctl has the name built in (a note says so). One vmctl cannot take is an error at `key`.
fn vmctl_name(
    name: &str,
    prefix: &str,
    path: &Path,
    key: &str,
    notes: &mut Vec<String>,
) -> Result<String, Error> {
    let reserved = RESERVED_NETWORK_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name));
    let vmctl_name = if reserved {
        let renamed = format!("{prefix}{name}");
        notes.push(format!(
            "{}: {key}: imported as '{renamed}' ('{name}' is built into vmctl)",
            path.display()
        ));
        renamed
    } else {
        name.to_owned()
    };
    validate_network_name(&vmctl_name).map_err(|e| match e {
        Error::Invalid { reason, .. } => bad_value(
            path,
            key,
            format!(
                "'{}' cannot be a vmctl network name: {reason}",
                printable(name)
            ),
        ),
        other => other,
    })?;
    Ok(vmctl_name)
}

/// An IPv4 address written as text.
fn parse_ipv4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse()
        .map_err(|_| format!("'{}' is not an IPv4 address", printable(text)))
}

/// A subnet mask written as an address (255.255.255.0), and its prefix length. A mask whose
/// last part looks like a prefix length (255.255.255.28, as vmnet-broker's own README has it)
/// gets the mask that was probably meant.
fn parse_mask(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let mask = parse_ipv4(text)?;
    if let Ok(prefix) = ipnetwork::ipv4_mask_to_prefix(mask) {
        return Ok((mask, prefix));
    }
    let octets = mask.octets();
    let mut reason =
        format!("'{mask}' is not a contiguous subnet mask (its 1 bits must come first)");
    if let Some(at) = octets.iter().position(|&o| o != 255) {
        let value = octets[at];
        let at = u8::try_from(at).unwrap_or(0);
        let looks_like_prefix = (8 * at + 1..=32).contains(&value)
            && octets[usize::from(at) + 1..].iter().all(|&o| o == 0);
        if looks_like_prefix && value <= 30 {
            let meant = Ipv4Addr::from(u32::MAX << (32 - value));
            let addresses = 1u64 << (32 - value);
            reason = format!("{reason}: a /{value} ({addresses} addresses) is {meant}");
        }
    }
    Err(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            parse_mask("255.255.255.0").unwrap(),
            (Ipv4Addr::new(255, 255, 255, 0), 24)
        );
        assert_eq!(parse_mask("255.255.255.240").unwrap().1, 28);
        assert_eq!(
            parse_mask("255.255.255.28").unwrap_err(),
            "'255.255.255.28' is not a contiguous subnet mask (its 1 bits must come first): a /28 (16 addresses) is 255.255.255.240"
        );
        assert_eq!(
            parse_mask("255.255.0.255").unwrap_err(),
            "'255.255.0.255' is not a contiguous subnet mask (its 1 bits must come first)"
        );
        assert_eq!(
            parse_mask("255.255.255").unwrap_err(),
            "'255.255.255' is not an IPv4 address"
        );
    }
}
