//! Lima's `$LIMA_HOME/_config/networks.yaml`: its `networks:` map of name to `mode` (`shared`,
//! `host`, `bridged`, `user-v2`), `gateway`, `dhcpEnd`, `netmask` and `interface`.
//!
//! The file is a small subset of YAML (nested maps indented with spaces, plain or quoted
//! scalars, comments), read here by hand rather than with a YAML crate. Lists, flow
//! collections and block scalars are passed over outside `networks:` and refused inside it;
//! a line that breaks the structure is refused wherever it is, with its line number.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnetwork::Ipv4Network;

use super::{Imported, bad_value, parse_ipv4, parse_mask, validated, vmctl_name};
use crate::error::Error;
use crate::model::Mode;
use crate::model::named_network::{NETWORK_SCHEMA_VERSION, NetworkDef};

/// The networks of Lima's `networks.yaml` at `path` (holding `text`). `user-v2` networks are
/// Lima's own user-mode ones and are skipped with a note; a name vmctl has built in (`shared`,
/// `host`) gets a `lima-` prefix; `bridged` becomes a bridge network on its interface.
pub fn lima(path: &Path, text: &str) -> Result<Imported, Error> {
    let top = parse_yaml(text).map_err(|reason| Error::corrupt(path, reason))?;
    let Some(networks) = top.iter().find(|entry| entry.key == "networks") else {
        return Err(Error::corrupt(
            path,
            "no `networks:` map: is this Lima's _config/networks.yaml?",
        ));
    };
    let entries = match &networks.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Scalar(text) if text.is_empty() => &[],
        Value::Scalar(_) | Value::Unsupported => {
            return Err(bad_value(
                path,
                &format!("networks (line {})", networks.line),
                "expected a map of network names (a list of networks is an instance's lima.yaml; import $LIMA_HOME/_config/networks.yaml)",
            ));
        }
    };
    let mut imported = Imported::default();
    if entries.is_empty() {
        imported
            .notes
            .push(format!("{}: defines no networks", path.display()));
    }
    for entry in entries {
        if let Some(def) = network(path, entry, &mut imported.notes)? {
            imported.networks.push(def);
        }
    }
    Ok(imported)
}

/// One entry of `networks:`, or None when it is skipped (with a note).
fn network(
    path: &Path,
    entry: &Entry,
    notes: &mut Vec<String>,
) -> Result<Option<NetworkDef>, Error> {
    let fields = Fields::of(path, entry, notes)?;
    let Some((mode, mode_key)) = fields.get("mode") else {
        return Err(fields.missing("no mode (shared, host, bridged or user-v2)"));
    };
    let mode = match mode {
        "shared" => Mode::Shared,
        "host" => Mode::Host,
        "bridged" => Mode::Bridge,
        "user-v2" => {
            notes.push(format!(
                "{}: {}: skipped: user-v2 is Lima's own user-mode network, not one vmctl runs",
                path.display(),
                fields.at
            ));
            return Ok(None);
        }
        other => {
            return Err(bad_value(
                path,
                mode_key,
                format!(
                    "mode '{}' is none of shared, host, bridged, user-v2",
                    crate::error::printable(other)
                ),
            ));
        }
    };

    let mut def = NetworkDef {
        schema_version: NETWORK_SCHEMA_VERSION,
        name: vmctl_name(&entry.key, "lima-", path, &fields.at, notes)?,
        mode,
        start_address: None,
        end_address: None,
        subnet_mask: None,
        interface: None,
        description: Some(format!("imported from Lima ({})", path.display())),
        created: 0,
    };
    if mode == Mode::Bridge {
        fields.fill_bridge(&mut def, notes)?;
    } else {
        fields.fill_addresses(&mut def, notes)?;
    }
    validated(def, path, &format!("{} (line {})", fields.at, entry.line)).map(Some)
}

/// The fields of one Lima network: (name, value, "networks.NET.NAME (line N)") each.
struct Fields<'a> {
    path: &'a Path,
    /// "networks.NET"
    at: String,
    values: Vec<(&'a str, &'a str, String)>,
}

impl<'a> Fields<'a> {
    /// The fields of `entry`; those vmctl does not use are noted and left out.
    fn of(path: &'a Path, entry: &'a Entry, notes: &mut Vec<String>) -> Result<Self, Error> {
        let at = format!("networks.{}", entry.key);
        let Value::Map(fields) = &entry.value else {
            return Err(bad_value(
                path,
                &format!("{at} (line {})", entry.line),
                "expected a map of mode, gateway, dhcpEnd, netmask, interface",
            ));
        };
        let mut values = Vec::new();
        for field in fields {
            let key = format!("{at}.{} (line {})", field.key, field.line);
            let Value::Scalar(text) = &field.value else {
                return Err(bad_value(path, &key, "expected a single value"));
            };
            if ["mode", "gateway", "dhcpEnd", "netmask", "interface"].contains(&field.key.as_str())
            {
                values.push((field.key.as_str(), text.as_str(), key));
            } else {
                notes.push(format!("{}: {key}: not used by vmctl", path.display()));
            }
        }
        Ok(Fields { path, at, values })
    }

    /// The value of the field `name` and its key for messages.
    fn get(&self, name: &str) -> Option<(&'a str, &str)> {
        self.values
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, v, key)| (*v, key.as_str()))
    }

    fn ip(&self, name: &str) -> Result<Option<Ipv4Addr>, Error> {
        self.get(name)
            .map(|(text, key)| parse_ipv4(text).map_err(|reason| bad_value(self.path, key, reason)))
            .transpose()
    }

    /// The network lacks a value: `reason` says which.
    fn missing(&self, reason: impl std::fmt::Display) -> Error {
        bad_value(self.path, &self.at, reason)
    }

    fn fill_bridge(&self, def: &mut NetworkDef, notes: &mut Vec<String>) -> Result<(), Error> {
        for ignored in ["gateway", "dhcpEnd", "netmask"] {
            if let Some((_, key)) = self.get(ignored) {
                notes.push(format!(
                    "{}: {key}: ignored: on a bridged network the LAN's DHCP server hands out addresses",
                    self.path.display()
                ));
            }
        }
        let Some((interface, _)) = self.get("interface") else {
            return Err(self.missing("a bridged network needs an interface"));
        };
        def.interface = Some(interface.to_owned());
        Ok(())
    }

    fn fill_addresses(&self, def: &mut NetworkDef, notes: &mut Vec<String>) -> Result<(), Error> {
        let mode = def.mode;
        if let Some((_, key)) = self.get("interface") {
            notes.push(format!(
                "{}: {key}: ignored: only a bridged network uses a host interface",
                self.path.display()
            ));
        }
        let Some(gateway) = self.ip("gateway")? else {
            return Err(self.missing(format!("a {mode} network needs a gateway")));
        };
        let Some((mask_text, mask_key)) = self.get("netmask") else {
            return Err(self.missing(format!("a {mode} network needs a netmask")));
        };
        let (mask, prefix) =
            parse_mask(mask_text).map_err(|reason| bad_value(self.path, mask_key, reason))?;
        let end = match self.ip("dhcpEnd")? {
            Some(end) => end,
            None => {
                // Without dhcpEnd the pool runs to the end of the subnet, as vmnet's does.
                let subnet = Ipv4Network::new(gateway, prefix)
                    .map_err(|e| bad_value(self.path, mask_key, e))?;
                Ipv4Addr::from(u32::from(subnet.broadcast()).saturating_sub(1))
            }
        };
        def.start_address = Some(gateway);
        def.end_address = Some(end);
        def.subnet_mask = Some(mask);
        Ok(())
    }
}

/// A value of the YAML subset.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// Plain or quoted text; empty for `key:` with nothing under it.
    Scalar(String),
    Map(Vec<Entry>),
    /// A list, flow collection, block scalar, anchor, alias or tag: kept out of the subset.
    Unsupported,
}

/// `key: value` and the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    line: usize,
    value: Value,
}

/// A line with content: its number, indentation and text (comment removed).
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// The top-level map of a document in the subset; the error says which line and why.
fn parse_yaml(text: &str) -> Result<Vec<Entry>, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let content = strip_comment(raw).trim_end();
        let trimmed = content.trim_start_matches(' ');
        if trimmed.is_empty() || (content == "---") {
            continue;
        }
        if content == "..." {
            break;
        }
        if trimmed.starts_with('\t') {
            return Err(format!(
                "line {number}: a tab in the indentation (YAML indents with spaces)"
            ));
        }
        lines.push(Line {
            number,
            indent: content.len() - trimmed.len(),
            text: trimmed,
        });
    }
    let Some(first) = lines.first() else {
        return Ok(Vec::new());
    };
    let mut at = 0;
    let entries = parse_map(&lines, &mut at, first.indent)?;
    match lines.get(at) {
        Some(line) => Err(format!(
            "line {}: indented less than the first line",
            line.number
        )),
        None => Ok(entries),
    }
}

/// The text of `line` before a comment (`#` at the start or after a space, outside quotes; a
/// quote opens only where a value can start, so the one of "Bob's" is no quote).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        let after_space = previous == ' ' || previous == '\t';
        match (quote, c) {
            (None, '#') if after_space => return &line[..at],
            (None, '"' | '\'') if after_space => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            _ => {}
        }
        previous = c;
    }
    line
}

fn is_list_item(line: &Line<'_>) -> bool {
    line.text == "-" || line.text.starts_with("- ")
}

/// The entries of a map whose keys are indented by `indent`, from `lines[*at]` on.
fn parse_map(lines: &[Line<'_>], at: &mut usize, indent: usize) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    while let Some(line) = lines.get(*at) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return Err(format!(
                "line {}: indented more than the key before it allows",
                line.number
            ));
        }
        if is_list_item(line) {
            return Err(format!(
                "line {}: a list item where a `key: value` belongs",
                line.number
            ));
        }
        let (key, rest) = split_key(line)?;
        *at += 1;
        let value = if rest.is_empty() {
            match lines.get(*at) {
                // A list under a key may start at the key's own indentation.
                Some(next) if is_list_item(next) && next.indent >= indent => {
                    while lines.get(*at).is_some_and(|l| {
                        l.indent > indent || (l.indent == indent && is_list_item(l))
                    }) {
                        *at += 1;
                    }
                    Value::Unsupported
                }
                Some(next) if next.indent > indent => {
                    Value::Map(parse_map(lines, at, next.indent)?)
                }
                _ => Value::Scalar(String::new()),
            }
        } else {
            scalar(rest, line.number)?
        };
        if entries.iter().any(|e| e.key == key) {
            return Err(format!("line {}: key '{key}' appears twice", line.number));
        }
        entries.push(Entry {
            key,
            line: line.number,
            value,
        });
    }
    Ok(entries)
}

/// `key: rest` of a line (`rest` empty for `key:`).
fn split_key<'a>(line: &Line<'a>) -> Result<(String, &'a str), String> {
    let text = line.text;
    let (key, rest) = if text.starts_with(['"', '\'']) {
        let (key, rest) = quoted(text, line.number)?;
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            return Err(format!("line {}: expected ':' after the key", line.number));
        };
        (key, rest)
    } else {
        let colon = text
            .char_indices()
            .find(|&(at, c)| c == ':' && text[at + 1..].chars().next().is_none_or(|n| n == ' '))
            .map(|(at, _)| at);
        let Some(colon) = colon else {
            return Err(format!("line {}: expected `key: value`", line.number));
        };
        (text[..colon].trim_end().to_owned(), &text[colon + 1..])
    };
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(format!("line {}: expected a space after ':'", line.number));
    }
    Ok((key, rest.trim()))
}

/// The value written after `key: `.
fn scalar(text: &str, number: usize) -> Result<Value, String> {
    if text.starts_with(['"', '\'']) {
        let (value, rest) = quoted(text, number)?;
        if !rest.trim().is_empty() {
            return Err(format!("line {number}: text after the closing quote"));
        }
        return Ok(Value::Scalar(value));
    }
    if text.starts_with(['{', '[', '|', '>', '&', '*', '!']) {
        return Ok(Value::Unsupported);
    }
    Ok(Value::Scalar(text.to_owned()))
}

/// A quoted string at the start of `text` and the text after it. Single quotes double a quote
/// inside; double quotes take `\"`, `\\`, `\n` and `\t`.
fn quoted(text: &str, number: usize) -> Result<(String, &str), String> {
    let mut chars = text.char_indices();
    let Some((_, open)) = chars.next() else {
        return Err(format!("line {number}: expected a quoted string"));
    };
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        if c == open {
            if open == '\'' && text[at + 1..].starts_with('\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Ok((value, &text[at + 1..]));
        }
        if open == '"' && c == '\\' {
            let escaped = match chars.next().map(|(_, e)| e) {
                Some('"') => '"',
                Some('\\') => '\\',
                Some('n') => '\n',
                Some('t') => '\t',
                other => {
                    let shown = other.map(String::from).unwrap_or_default();
                    return Err(format!("line {number}: unsupported escape '\\{shown}'"));
                }
            };
            value.push(escaped);
            continue;
        }
        value.push(c);
    }
    Err(format!("line {number}: no closing {open}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/Users/ci/.lima/_config/networks.yaml";

    fn import(text: &str) -> Result<Imported, Error> {
        lima(Path::new(PATH), text)
    }

    fn error(text: &str) -> String {
        let e = import(text).unwrap_err();
        format!("{e} / hint: {}", e.hint().unwrap_or_default())
    }

    #[test]
    fn limas_default_file() {
        let text = include_str!("../../fixtures/lima-networks.yaml");
        let imported = import(text).unwrap();
        let shown: Vec<String> = imported
            .networks
            .iter()
            .map(|n| {
                let addresses = n.address_plan().map_or(String::new(), |p| {
                    format!(" {}-{}/{}", p.start, p.end, p.subnet().prefix())
                });
                format!(
                    "{} {}{addresses} {}",
                    n.name,
                    n.mode,
                    n.interface.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "lima-shared shared 192.168.105.1-192.168.105.254/24 -",
                "bridged bridge en0",
                "lima-host host 192.168.106.1-192.168.106.254/24 -",
            ]
        );
        assert_eq!(
            imported.notes,
            [
                format!(
                    "{PATH}: networks.user-v2: skipped: user-v2 is Lima's own user-mode network, not one vmctl runs"
                ),
                format!(
                    "{PATH}: networks.shared: imported as 'lima-shared' ('shared' is built into vmctl)"
                ),
                format!(
                    "{PATH}: networks.host: imported as 'lima-host' ('host' is built into vmctl)"
                ),
            ]
        );
        let description = imported.networks[0].description.as_deref();
        assert_eq!(
            description,
            Some(format!("imported from Lima ({PATH})").as_str())
        );
        for def in &imported.networks {
            def.validate().unwrap();
        }
    }

    #[test]
    fn quoting_comments_and_defaults() {
        let text = "networks:\n  'ci': # the CI network\n    mode: \"host\"\n    gateway: 10.20.0.1   # host side\n    netmask: '255.255.255.0'\n    extra: 1\n  lan:\n    mode: bridged\n    interface: \"en1\" # wired\n    gateway: 1.2.3.4\n";
        let imported = import(text).unwrap();
        let ci = &imported.networks[0];
        assert_eq!(ci.name, "ci");
        assert_eq!(ci.mode, Mode::Host);
        // No dhcpEnd: the pool runs to the last address before the broadcast.
        assert_eq!(ci.end_address, Some(Ipv4Addr::new(10, 20, 0, 254)));
        assert_eq!(imported.networks[1].interface.as_deref(), Some("en1"));
        assert!(
            imported.notes[0].ends_with("networks.ci.extra (line 6): not used by vmctl"),
            "{:?}",
            imported.notes
        );
        assert!(
            imported.notes[1].contains("networks.lan.gateway (line 10): ignored"),
            "{:?}",
            imported.notes
        );
        assert!(import("networks:\n").unwrap().networks.is_empty());
    }

    #[test]
    fn bad_values_name_the_file_and_the_key() {
        let base = "networks:\n  ci:\n    mode: shared\n    gateway: 192.168.70.1\n    dhcpEnd: 192.168.70.254\n";
        let e = error(&format!("{base}    netmask: 255.255.0.255\n"));
        assert!(
            e.starts_with(&format!("invalid import file '{PATH}': networks.ci.netmask (line 6): '255.255.0.255' is not a contiguous subnet mask")),
            "{e}"
        );
        assert!(
            e.contains("hint: fix networks.ci.netmask (line 6) in the file"),
            "{e}"
        );
        let e = error(&format!("{base}    netmask: 255.255.255.128\n"));
        assert!(
            e.contains(
                "networks.ci (line 2): end address 192.168.70.254 is outside 192.168.70.0/25"
            ),
            "{e}"
        );
        let e = error(
            "networks:\n  ci:\n    mode: shared\n    gateway: 192.168.70.300\n    netmask: 255.255.255.0\n",
        );
        assert!(
            e.contains("networks.ci.gateway (line 4): '192.168.70.300' is not an IPv4 address"),
            "{e}"
        );
        let e = error("networks:\n  ci:\n    mode: vde\n");
        assert!(
            e.contains("networks.ci.mode (line 3): mode 'vde' is none of"),
            "{e}"
        );
        let e = error("networks:\n  ci:\n    mode: host\n    netmask: 255.255.255.0\n");
        assert!(
            e.contains("networks.ci: a host network needs a gateway"),
            "{e}"
        );
        let e = error("networks:\n  lan:\n    mode: bridged\n");
        assert!(
            e.contains("networks.lan: a bridged network needs an interface"),
            "{e}"
        );
        let e = error("networks:\n  lan:\n    mode: bridged\n    interface: en0/1\n");
        assert!(
            e.contains("networks.lan (line 2): it must be 1-15 characters"),
            "{e}"
        );
        let e = error("networks:\n  9lives:\n    mode: bridged\n    interface: en0\n");
        assert!(
            e.contains("networks.9lives: '9lives' cannot be a vmctl network name: it must start"),
            "{e}"
        );
    }

    #[test]
    fn outside_the_subset_is_refused_with_its_line() {
        for (text, expected) in [
            (
                "networks:\n  - lima: shared\n",
                "networks (line 1): expected a map of network names",
            ),
            (
                "networks:\n  ci: [1, 2]\n",
                "networks.ci (line 2): expected a map",
            ),
            (
                "networks:\n  ci:\n    mode: |\n      shared\n",
                "line 4: indented more than",
            ),
            ("networks:\n\tci:\n", "line 2: a tab in the indentation"),
            (
                "networks:\n  ci:\n    mode: shared\n    mode: host\n",
                "line 4: key 'mode' appears twice",
            ),
            (
                "networks:\n  ci:\n    mode: \"shared\n",
                "line 3: no closing \"",
            ),
            (
                "networks:\n  ci:\n    mode:shared\n",
                "line 3: expected `key: value`",
            ),
            ("paths:\n  x: 1\n", "no `networks:` map"),
            (
                "  networks:\nfoo: 1\n",
                "line 2: indented less than the first line",
            ),
        ] {
            let e = error(text);
            assert!(e.contains(expected), "{text:?}: {e}");
            assert!(e.contains(PATH), "{e}");
        }
    }

    #[test]
    fn yaml_subset() {
        let entries = parse_yaml("# top\n---\na: 'it''s' # c\nb:\n  c: \"x\\\"y\"\n  d:\n    - 1\n    - 2\n  e: plain text: with colon\nf: a#b\nh: Bob's # comment\n...\ng: 1\n").unwrap();
        let scalar = |s: &str| Value::Scalar(s.to_owned());
        assert_eq!(entries[0].value, scalar("it's"));
        let Value::Map(b) = &entries[1].value else {
            panic!("{entries:?}")
        };
        assert_eq!(b[0].value, scalar("x\"y"));
        assert_eq!(b[1].value, Value::Unsupported);
        assert_eq!(b[2].value, scalar("plain text: with colon"));
        assert_eq!(entries[2].value, scalar("a#b"));
        assert_eq!(entries[3].value, scalar("Bob's"));
        assert_eq!(entries.len(), 4, "nothing after the end marker");
        assert_eq!((entries[1].key.as_str(), entries[1].line), ("b", 4));
    }
}
