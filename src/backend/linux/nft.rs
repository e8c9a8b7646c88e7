//! The firewall: the plan's nft file loaded through `nft -f -` in one transaction.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::Error;

/// Load an nft file; `nft` refusing it is an error carrying nft's own message.
pub fn load(text: &str) -> Result<(), Error> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_tool("nft", "nftables", &e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error shows up as nft's failure below.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::host(format!("waiting for nft: {e}"), "try again"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("(no message)");
    let hint = if stderr.contains("Operation not permitted") {
        "loading nftables rules needs CAP_NET_ADMIN: run vmctl as root"
    } else {
        "this is a bug in vmctl's plan: `vmctl plan --part nft` prints the file; please report it"
    };
    Err(Error::host(
        format!("nft refused the ruleset: {first}"),
        hint,
    ))
}

/// Remove vmctl's tables (the last VM stopped). Absent tables are fine.
pub fn remove() -> Result<(), Error> {
    load(
        "table inet vmctl\ndelete table inet vmctl\ntable bridge vmctl\ndelete table bridge vmctl\n",
    )
}

/// The text of vmctl's tables as the kernel has them (`nft list table ...`; a table that is
/// absent lists as nothing).
pub fn list() -> Result<String, Error> {
    let mut text = String::new();
    for family in ["inet", "bridge"] {
        let out = Command::new("nft")
            .args(["list", "table", family, "vmctl"])
            .output()
            .map_err(|e| missing_tool("nft", "nftables", &e))?;
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    Ok(text)
}

/// The elements of each set and map in `listing` (`nft list table` output), by
/// `(family, set)`, each normalised by [`normal`]. Elements vmctl learns as packets pass
/// (`timeout`/`expires`) are listed without those words.
pub fn set_elements(listing: &str) -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let mut sets = std::collections::BTreeMap::new();
    let mut family = String::new();
    let mut lines = listing.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("table ") {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .clone_into(&mut family);
            continue;
        }
        let Some(name) = line
            .strip_prefix("set ")
            .or_else(|| line.strip_prefix("map "))
            .and_then(|rest| rest.strip_suffix(" {"))
        else {
            continue;
        };
        // Up to the set's closing brace: its elements may span many lines.
        let mut body = String::new();
        for inner in lines.by_ref() {
            if inner.trim() == "}" {
                break;
            }
            body.push_str(inner.trim());
            body.push(' ');
        }
        let Some(start) = body.find("elements = {") else {
            sets.insert((family.clone(), name.to_owned()), Vec::new());
            continue;
        };
        let items = &body[start + "elements = {".len()..];
        let items = items.rsplit_once('}').map_or(items, |(inside, _)| inside);
        let elements = items
            .split(',')
            .map(|item| {
                let item = item.split(" timeout ").next().unwrap_or(item);
                let item = item.split(" expires ").next().unwrap_or(item);
                normal(item)
            })
            .filter(|item| !item.is_empty())
            .collect();
        sets.insert((family.clone(), name.to_owned()), elements);
    }
    sets
}

/// One element's text with spaces collapsed and hex numbers written the one way nft does
/// (`0x0200..` and `0x200..` are one value), so vmctl's and nft's spellings compare equal.
pub fn normal(item: &str) -> String {
    item.split_whitespace()
        .map(|word| match word.strip_prefix("0x") {
            Some(hex) => u128::from_str_radix(hex, 16)
                .map_or_else(|_| word.to_owned(), |n| format!("{n:#x}")),
            None => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// vmctl's tables that exist now: any of `inet vmctl`, `bridge vmctl`.
pub fn tables() -> Result<Vec<String>, Error> {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .map_err(|e| missing_tool("nft", "nftables", &e))?;
    if !out.status.success() {
        return Err(Error::host(
            format!(
                "nft cannot list the tables: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "run vmctl as root (nft needs CAP_NET_ADMIN)",
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .filter(|t| t.ends_with(" vmctl"))
        .map(str::to_owned)
        .collect())
}

/// A host tool that could not be run: not installed, or something else.
pub fn missing_tool(tool: &str, package: &str, err: &std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::NotFound {
        not_installed(tool, package)
    } else {
        Error::host(
            format!("running `{tool}`: {err}"),
            "check that it runs as this user",
        )
    }
}

pub fn not_installed(tool: &str, package: &str) -> Error {
    Error::host(
        format!("`{tool}` is not installed"),
        format!("install it: apt-get install {package} (or your distribution's {package})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_elements_reads_what_nft_lists() {
        let listing = "table bridge vmctl {\n\tset vm_ports {\n\t\ttype ifname\n\t\telements = { \"vmt-1\", \"vmt-2\" }\n\t}\n\
            \tset own_chaddr {\n\t\ttypeof iifname . @th,288,48\n\t\telements = { \"vmt-1\" . 0x20000000001,\n\t\t\t     \"vmt-2\" . 0x525400000002 }\n\t}\n\
            \tset learned {\n\t\ttypeof iifname . @nh,96,32\n\t\tflags timeout\n\t\telements = { \"vmt-1\" . 0xc0a84002 timeout 2m expires 1m59s }\n\t}\n\
            \tset nolocal {\n\t\ttype ifname\n\t}\n\
            \tmap from_vm {\n\t\ttype ifname : verdict\n\t\telements = { \"vmt-1\" : goto floor }\n\t}\n}\n";
        let sets = set_elements(listing);
        let of = |name: &str| sets[&("bridge".to_owned(), name.to_owned())].clone();
        assert_eq!(of("vm_ports"), ["\"vmt-1\"", "\"vmt-2\""]);
        // vmctl writes 0x020000000001; nft drops the leading zero: one value.
        assert_eq!(of("own_chaddr")[0], normal("\"vmt-1\" . 0x020000000001"));
        assert_eq!(of("learned"), ["\"vmt-1\" . 0xc0a84002"]);
        assert!(of("nolocal").is_empty());
        assert_eq!(of("from_vm"), ["\"vmt-1\" : goto floor"]);
    }
}
