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
