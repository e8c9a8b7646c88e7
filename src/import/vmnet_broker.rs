//! vmnet-broker's network files, `/etc/vmnet-broker.d/<name>.json`: `mode` (`shared` or
//! `host`), an optional `description`, and either `subnet` (the gateway address, e.g.
//! "192.168.42.1", with `mask` or 255.255.255.0) or only `mask`: a dynamic subnet, which vmctl
//! picks here among the subnets free on this host.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnetwork::Ipv4Network;
use serde_json::Value;

use super::{Imported, bad_value, parse_ipv4, parse_mask, validated, vmctl_name};
use crate::discovery::routes::{HostRoute, conflicts, free_subnet};
use crate::error::{Error, printable};
use crate::model::Mode;
use crate::model::named_network::NetworkDef;

/// The broker's mask when a file gives none.
const DEFAULT_MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);

/// The networks of every `*.json` file in `dir`, in file name order. Subnets given in a file
/// are placed first, so a dynamic one picked for another file never takes them; `routes` are
/// the host's (`discovery::routes::read_host_routes`) plus vmctl's own networks.
pub fn vmnet_broker(dir: &Path, routes: &[HostRoute]) -> Result<Imported, Error> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("reading", dir, e))? {
        let path = entry.map_err(|e| Error::io("reading", dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = crate::store::read_input_text(&path, "import file")?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = parse_file(&name, &path, &text)?;
        files.push((path, file));
    }

    let mut taken = routes.to_vec();
    let mut resolved: Vec<Option<Imported>> = vec![None; files.len()];
    let static_first = (0..files.len()).filter(|&i| files[i].1.gateway.is_some());
    let dynamic_then = (0..files.len()).filter(|&i| files[i].1.gateway.is_none());
    for i in static_first.chain(dynamic_then) {
        let (path, file) = &files[i];
        let one = resolve(file, path, &taken)?;
        for def in &one.networks {
            if let Some(plan) = def.address_plan() {
                taken.push(HostRoute::vmctl_network(&def.name, plan.subnet()));
            }
        }
        resolved[i] = Some(one);
    }

    let mut imported = Imported::default();
    if files.is_empty() {
        imported
            .notes
            .push(format!("{}: no *.json network files", dir.display()));
    }
    for one in resolved.into_iter().flatten() {
        imported.networks.extend(one.networks);
        imported.notes.extend(one.notes);
    }
    Ok(imported)
}

/// The network of one broker file `path` (holding `text`), named `name` (the file's stem).
/// A dynamic subnet is the first one free of `routes`.
pub fn vmnet_broker_file(
    name: &str,
    path: &Path,
    text: &str,
    routes: &[HostRoute],
) -> Result<Imported, Error> {
    resolve(&parse_file(name, path, text)?, path, routes)
}

/// A broker file's values, checked one by one.
struct BrokerFile {
    name: String,
    mode: Mode,
    description: Option<String>,
    mask: Ipv4Addr,
    prefix: u8,
    /// `subnet`: the host's address on the network. None: dynamic.
    gateway: Option<Ipv4Addr>,
    notes: Vec<String>,
}

fn parse_file(name: &str, path: &Path, text: &str) -> Result<BrokerFile, Error> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::corrupt(path, format!("not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(Error::corrupt(
            path,
            "expected a JSON object ({\"mode\": ...})",
        ));
    };
    let mut notes = Vec::new();
    let text_of = |key: &str| -> Result<Option<&str>, Error> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(other) => Err(bad_value(
                path,
                key,
                format!("expected a string, not {other}"),
            )),
        }
    };
    for key in object.keys() {
        if !["description", "mode", "mask", "subnet"].contains(&key.as_str()) {
            notes.push(format!(
                "{}: {}: not used by vmctl",
                path.display(),
                printable(key)
            ));
        }
    }
    let mode = match text_of("mode")? {
        Some("shared") => Mode::Shared,
        Some("host") => Mode::Host,
        Some(other) => {
            return Err(bad_value(
                path,
                "mode",
                format!("'{}' is neither shared nor host", printable(other)),
            ));
        }
        None => return Err(bad_value(path, "mode", "missing (shared or host)")),
    };
    let (mask, prefix) = match text_of("mask")? {
        Some(text) => parse_mask(text).map_err(|reason| bad_value(path, "mask", reason))?,
        None => (DEFAULT_MASK, 24),
    };
    let gateway = text_of("subnet")?
        .map(|text| parse_ipv4(text).map_err(|reason| bad_value(path, "subnet", reason)))
        .transpose()?;
    let description = text_of("description")?.map(str::to_owned);

    let vmctl_name = vmctl_name(name, "broker-", path, "the file name", &mut notes)?;
    Ok(BrokerFile {
        name: vmctl_name,
        mode,
        description,
        mask,
        prefix,
        gateway,
        notes,
    })
}

/// The network a parsed file describes, its dynamic subnet picked among those free of `routes`.
fn resolve(file: &BrokerFile, path: &Path, routes: &[HostRoute]) -> Result<Imported, Error> {
    let mut notes = file.notes.clone();
    let mut def = match file.gateway {
        Some(gateway) => {
            let subnet =
                Ipv4Network::new(gateway, file.prefix).map_err(|e| bad_value(path, "subnet", e))?;
            let subnet = Ipv4Network::new(subnet.network(), file.prefix).unwrap_or(subnet);
            let hits = conflicts(subnet, routes);
            if let Some(hit) = hits.first() {
                notes.push(format!(
                    "{}: subnet {subnet} collides with {} ({}): the network may fail to start",
                    path.display(),
                    hit.dest,
                    hit.what
                ));
            }
            let mut def = NetworkDef::from_subnet(&file.name, file.mode, subnet);
            def.start_address = Some(gateway);
            def
        }
        None => {
            if file.prefix > 30 {
                return Err(bad_value(
                    path,
                    "mask",
                    format!(
                        "{} leaves no room for VMs (use 255.255.255.252, a /30, or larger)",
                        file.mask
                    ),
                ));
            }
            let Some(subnet) = free_subnet(routes, file.prefix) else {
                return Err(bad_value(
                    path,
                    "mask",
                    format!(
                        "no free /{} subnet is left on this host for a dynamic network",
                        file.prefix
                    ),
                ));
            };
            notes.push(format!(
                "{}: dynamic subnet: vmctl picked {subnet}, free on this host now",
                path.display()
            ));
            NetworkDef::from_subnet(&file.name, file.mode, subnet)
        }
    };
    def.description = Some(
        file.description
            .clone()
            .unwrap_or_else(|| format!("imported from vmnet-broker ({})", path.display())),
    );
    let key = if file.gateway.is_some() {
        "subnet and mask"
    } else {
        "mask"
    };
    let def = validated(def, path, key)?;
    Ok(Imported {
        networks: vec![def],
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures(dir: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(dir)
    }

    fn net(s: &str) -> Ipv4Network {
        s.parse().unwrap()
    }

    fn message(e: &Error) -> String {
        format!("{e} / hint: {}", e.hint().unwrap_or_default())
    }

    fn file(name: &str, text: &str, routes: &[HostRoute]) -> Result<Imported, Error> {
        let path = PathBuf::from(format!("/etc/vmnet-broker.d/{name}.json"));
        vmnet_broker_file(name, &path, text, routes)
    }

    #[test]
    fn the_fixture_folder() {
        let dir = fixtures("vmnet-broker.d");
        // A VPN holds 192.168.64.0/24; vmnet's bridge100 has 192.168.65.0/24.
        let routes = [
            HostRoute::route(net("192.168.64.0/24"), Some("utun3"), None),
            HostRoute::route(net("192.168.65.0/24"), Some("bridge100"), None),
        ];
        let imported = vmnet_broker(&dir, &routes).unwrap();
        let shown: Vec<String> = imported
            .networks
            .iter()
            .map(|n| {
                let plan = n.address_plan().unwrap();
                format!(
                    "{} {} {}-{} {} {}",
                    n.name,
                    n.mode,
                    plan.start,
                    plan.end,
                    plan.mask,
                    n.description.as_deref().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "build-host host 192.168.66.1-192.168.66.254 255.255.255.0 Host-only network for builds",
                "shared-static shared 192.168.42.1-192.168.42.254 255.255.255.0 My meaningful network",
                "shared-tiny shared 192.168.67.1-192.168.67.14 255.255.255.240 My tiny testing network",
            ]
        );
        let dir = dir.display();
        assert_eq!(
            imported.notes,
            [
                format!(
                    "{dir}/build-host.json: dynamic subnet: vmctl picked 192.168.66.0/24, free on this host now"
                ),
                format!(
                    "{dir}/shared-tiny.json: dynamic subnet: vmctl picked 192.168.67.0/28, free on this host now"
                ),
            ]
        );
    }

    #[test]
    fn the_readmes_mask_is_refused() {
        let dir = fixtures("vmnet-broker.d-bad");
        let e = vmnet_broker(&dir, &[]).unwrap_err();
        let path = dir.join("shared-tiny.json");
        assert_eq!(
            message(&e),
            format!(
                "invalid import file '{}': mask: '255.255.255.28' is not a contiguous subnet mask (its 1 bits must come first): a /28 (16 addresses) is 255.255.255.240 / hint: fix mask in the file, or move the file out of the way and import the rest",
                path.display()
            )
        );
    }

    #[test]
    fn static_subnets_are_kept_from_dynamic_ones() {
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str, text: &str| {
            crate::store::write_atomic(&dir.path().join(name), text.as_bytes()).unwrap();
        };
        put("a-dynamic.json", r#"{"mode": "shared"}"#);
        put(
            "b-static.json",
            r#"{"mode": "host", "subnet": "192.168.64.1"}"#,
        );
        put("notes.txt", "not a network");
        let imported = vmnet_broker(dir.path(), &[]).unwrap();
        let subnets: Vec<String> = imported
            .networks
            .iter()
            .map(|n| format!("{} {}", n.name, n.address_plan().unwrap().subnet()))
            .collect();
        assert_eq!(
            subnets,
            ["a-dynamic 192.168.65.0/24", "b-static 192.168.64.0/24"]
        );
        let empty = tempfile::tempdir().unwrap();
        let imported = vmnet_broker(empty.path(), &[]).unwrap();
        assert!(imported.networks.is_empty());
        assert!(imported.notes[0].ends_with(": no *.json network files"));
        let e = vmnet_broker(&empty.path().join("missing"), &[]).unwrap_err();
        assert!(message(&e).starts_with("reading "), "{}", message(&e));
    }

    #[test]
    fn single_files() {
        // The gateway need not be the first address; a static subnet in use is only noted.
        let vpn = [HostRoute::route(net("192.168.42.0/23"), Some("wg0"), None)];
        let imported = file(
            "lab",
            r#"{"mode": "shared", "subnet": "192.168.42.9", "mask": "255.255.255.0", "extra": 1}"#,
            &vpn,
        )
        .unwrap();
        let def = &imported.networks[0];
        assert_eq!(def.start_address, Some(Ipv4Addr::new(192, 168, 42, 9)));
        assert_eq!(def.end_address, Some(Ipv4Addr::new(192, 168, 42, 254)));
        assert_eq!(
            imported.notes,
            [
                "/etc/vmnet-broker.d/lab.json: extra: not used by vmctl",
                "/etc/vmnet-broker.d/lab.json: subnet 192.168.42.0/24 collides with 192.168.42.0/23 (route on wg0, a VPN tunnel): the network may fail to start",
            ]
        );
        // The broker's own default names are vmctl's built-in ones.
        let imported = file("shared", r#"{"mode": "shared"}"#, &[]).unwrap();
        assert_eq!(imported.networks[0].name, "broker-shared");
        assert_eq!(
            imported.notes[0],
            "/etc/vmnet-broker.d/shared.json: the file name: imported as 'broker-shared' ('shared' is built into vmctl)"
        );

        for (name, text, expected) in [
            ("x", "{", "/etc/vmnet-broker.d/x.json: not valid JSON"),
            (
                "x",
                "[]",
                "/etc/vmnet-broker.d/x.json: expected a JSON object",
            ),
            (
                "x",
                r#"{"mode": "bridged"}"#,
                "x.json': mode: 'bridged' is neither shared nor host",
            ),
            (
                "x",
                r#"{"mask": "255.255.255.0"}"#,
                "x.json': mode: missing",
            ),
            (
                "x",
                r#"{"mode": 1}"#,
                "x.json': mode: expected a string, not 1",
            ),
            (
                "x",
                r#"{"mode": "host", "subnet": "192.168.42"}"#,
                "x.json': subnet: '192.168.42' is not an IPv4 address",
            ),
            (
                "x",
                r#"{"mode": "host", "subnet": "192.168.42.0"}"#,
                "x.json': subnet and mask: start address 192.168.42.0 is the network or broadcast address",
            ),
            (
                "x",
                r#"{"mode": "host", "mask": "255.255.255.254"}"#,
                "x.json': mask: 255.255.255.254 leaves no room for VMs",
            ),
            (
                "2x",
                r#"{"mode": "host"}"#,
                "2x.json': the file name: '2x' cannot be a vmctl network name",
            ),
        ] {
            let e = file(name, text, &[]).unwrap_err();
            assert!(message(&e).contains(expected), "{text}: {}", message(&e));
            assert!(e.hint().is_some());
        }
    }
}
