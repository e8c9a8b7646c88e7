//! The plist handling the store's files share: the depth check before parsing, the XML
//! writer, keeping the keys vmctl does not know, refusing control characters, and the parser's
//! reason text.

use std::path::Path;

use super::write_atomic;
use crate::error::Error;

/// What the plist parser says is wrong, without the Rust debug wrapper its serde messages
/// come in (`Serde("unknown variant ...")`).
pub(super) fn plist_reason(e: &plist::Error) -> String {
    let text = e.to_string();
    match text
        .strip_prefix("Serde(\"")
        .and_then(|rest| rest.rsplit_once("\")"))
    {
        Some((inner, rest)) => format!("{}{rest}", inner.replace("\\\"", "\"")),
        None => text,
    }
}

/// `value` as an XML plist at `path`, atomically.
pub(super) fn save_xml(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let mut bytes = Vec::new();
    plist::to_writer_xml(&mut bytes, value).map_err(|e| Error::corrupt(path, e))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// XML 1.0 cannot hold control characters but tab, newline and return: a value with one (a
/// filter rule's comment with `\x01`) would make the profile unreadable. Refused, naming where.
pub(super) fn refuse_control_characters(value: &plist::Value, at: &str) -> Result<(), Error> {
    match value {
        plist::Value::String(text) => match text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            Some(c) => Err(Error::invalid(
                "text",
                text.as_str(),
                format!(
                    "{at} holds the control character U+{:04X}, which a profile cannot store",
                    u32::from(c)
                ),
            )
            .with_hint("remove it (from the rules file, or the value given)")),
            None => Ok(()),
        },
        plist::Value::Array(items) => items
            .iter()
            .try_for_each(|v| refuse_control_characters(v, at)),
        plist::Value::Dictionary(dict) => dict
            .iter()
            .try_for_each(|(k, v)| refuse_control_characters(v, k)),
        _ => Ok(()),
    }
}

/// Copy into `new` the keys of `old` that vmctl does not write (top level and `network`).
pub(super) fn keep_unknown_keys(old: &plist::Dictionary, new: &mut plist::Value) {
    use crate::model::profile::{NIC_KEYS, PROFILE_KEYS};
    let Some(new) = new.as_dictionary_mut() else {
        return;
    };
    for (key, value) in old {
        if !PROFILE_KEYS.contains(&key.as_str()) {
            new.insert(key.clone(), value.clone());
        }
    }
    if let (Some(plist::Value::Dictionary(old_nic)), Some(plist::Value::Dictionary(new_nic))) =
        (old.get("network"), new.get_mut("network"))
    {
        for (key, value) in old_nic {
            if !NIC_KEYS.contains(&key.as_str()) {
                new_nic.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The deepest nesting of dictionaries and arrays vmctl reads from a plist. Its own files nest
/// a few levels; the plist parser recurses, so a file nested 50,000 deep would overflow the
/// stack: such a file is refused as corrupt before it is parsed.
const MAX_PLIST_DEPTH: usize = 32;

/// Refuse a plist nested deeper than `MAX_PLIST_DEPTH`. XML is scanned for its collection
/// tags (cheap enough for `list` of 10,000 profiles); other formats are walked as events,
/// which does not recurse.
pub fn check_plist_depth(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let too_deep = || {
        Error::corrupt(
            path,
            format!("nested more than {MAX_PLIST_DEPTH} levels deep (vmctl never writes that)"),
        )
    };
    if bytes.starts_with(b"bplist") {
        let mut depth = 0usize;
        for event in plist::stream::Reader::new(std::io::Cursor::new(bytes)) {
            match event {
                Ok(
                    plist::stream::Event::StartArray(_) | plist::stream::Event::StartDictionary(_),
                ) => {
                    depth += 1;
                    if depth > MAX_PLIST_DEPTH {
                        return Err(too_deep());
                    }
                }
                Ok(plist::stream::Event::EndCollection) => depth = depth.saturating_sub(1),
                Ok(_) => {}
                // The parser proper says what is wrong with it.
                Err(_) => return Ok(()),
            }
        }
        return Ok(());
    }
    let mut depth = 0usize;
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == b'<') {
        rest = &rest[at + 1..];
        let opens = (rest.starts_with(b"dict") || rest.starts_with(b"array"))
            && rest
                .iter()
                .take_while(|&&b| b != b'>')
                .last()
                .is_none_or(|&b| b != b'/');
        if opens {
            depth += 1;
            if depth > MAX_PLIST_DEPTH {
                return Err(too_deep());
            }
        } else if rest.starts_with(b"/dict") || rest.starts_with(b"/array") {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key vmctl writes is in the lists of known keys (else a rewrite would keep a
    /// stale copy of it from the old file).
    #[test]
    fn known_keys_are_all_the_keys_vmctl_writes() {
        use crate::model::profile::{Controller, Mode, NIC_KEYS, Nic, PROFILE_KEYS, VmProfile};
        use crate::model::{MacPolicy, PortForward};
        // Every field set, and no `..`: a new field does not compile until it is listed.
        let nic = Nic {
            mode: Mode::Shared,
            controller: Controller::VirtioNet,
            mac: MacPolicy::Auto,
            mac_salt: 1,
            ip: Some(std::net::Ipv4Addr::new(192, 168, 64, 9)),
            bridge: Some("en0".into()),
            no_local: Some(true),
            vlan: 3,
            filter: Some("pass all".into()),
            filter_file: Some("/etc/rules".into()),
            port_forwarding_rules: Vec::<PortForward>::new(),
            network: Some("ci".into()),
        };
        let profile = VmProfile {
            schema_version: 1,
            name: "web".into(),
            uuid: "u".into(),
            created: 1,
            network: nic,
        };
        let value = plist::to_value(&profile).unwrap();
        let top = value.as_dictionary().unwrap();
        assert_eq!(
            top.len(),
            PROFILE_KEYS.len(),
            "a top-level key vmctl no longer writes"
        );
        for key in top.keys() {
            assert!(
                PROFILE_KEYS.contains(&key.as_str()),
                "{key} is not in PROFILE_KEYS"
            );
        }
        let nic = top["network"].as_dictionary().unwrap();
        assert_eq!(
            nic.len(),
            NIC_KEYS.len(),
            "a NIC key vmctl no longer writes"
        );
        for key in nic.keys() {
            assert!(NIC_KEYS.contains(&key.as_str()), "{key} is not in NIC_KEYS");
        }
    }

    #[test]
    fn plists_nested_too_deep_are_refused_before_parsing() {
        let path = Path::new("vms/deep.plist");
        let deep = |n: usize| {
            format!(
                "<plist><dict><key>k</key>{}{}</dict></plist>",
                "<array>".repeat(n),
                "</array>".repeat(n)
            )
        };
        assert!(check_plist_depth(path, deep(20).as_bytes()).is_ok());
        let err = check_plist_depth(path, deep(50_000).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("nested more than 32"), "{err}");
        // Empty collections and closing tags do not count.
        let flat = "<plist><dict><array/><dict/></dict></plist>".repeat(100);
        assert!(check_plist_depth(path, flat.as_bytes()).is_ok());
        // Binary plists are walked as events.
        let mut value = plist::Value::Array(Vec::new());
        for _ in 0..100 {
            value = plist::Value::Array(vec![value]);
        }
        let mut binary = Vec::new();
        value.to_writer_binary(&mut binary).unwrap();
        assert!(check_plist_depth(path, &binary).is_err());
    }
}
