//! `networks/`: the named networks' files (`networks/<net>.plist`) and the folders of the
//! networks vmctl has run (`networks/<net>/`, the Linux backend's dnsmasq files).

use std::fs;
use std::path::{Path, PathBuf};

use super::plist::{check_plist_depth, plist_reason, save_xml};
use super::{BadFile, Store, StoreLock, plist_names, read_if_exists};
use crate::error::Error;
use crate::model::named_network::NetworkDef;

impl Store {
    /// The folders of the networks vmctl has run (built-in and named), by name, sorted.
    pub fn network_dirs(&self) -> Vec<(String, PathBuf)> {
        network_dirs(&self.networks_dir())
    }

    /// `networks/<name>.plist`: a named network's file.
    pub fn network_path(&self, name: &str) -> PathBuf {
        self.networks_dir().join(format!("{name}.plist"))
    }

    /// Every named network, sorted by name, with the files that cannot be used (or hold values
    /// vmctl refuses) beside them: one bad file affects its network only (`network list` names
    /// it, `network delete` removes it, `doctor` lists it).
    pub fn load_networks_lenient(&self) -> Result<(Vec<NetworkDef>, Vec<BadFile>), Error> {
        let names = plist_names(&self.networks_dir())?;
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for name in names {
            match self.load_network(&name) {
                Ok(net) => good.push(net),
                Err(e) => bad.push(BadFile::new(
                    &name,
                    &self.network_path(&name),
                    e,
                    format!(
                        "fix it by hand, or remove the network: `vmctl network delete {name}` (--force moves its VMs to the built-in network of their mode)"
                    ),
                )),
            }
        }
        Ok((good, bad))
    }

    /// One named network.
    pub fn load_network(&self, name: &str) -> Result<NetworkDef, Error> {
        let path = self.network_path(name);
        let Some(bytes) = read_if_exists(&path)? else {
            return Err(Error::invalid("network", name, "no such network").with_hint(
                "`vmctl network list` shows them; `vmctl network create NAME --mode shared --subnet auto` makes one",
            ));
        };
        check_plist_depth(&path, &bytes)?;
        let net: NetworkDef = plist::from_bytes(&bytes).map_err(|e| {
            Error::corrupt(&path, format!("not a vmctl network: {}", plist_reason(&e)))
        })?;
        if net.name != name {
            return Err(Error::corrupt(
                &path,
                format!("it holds network '{}' but is named for '{name}'", net.name),
            ));
        }
        // Hand-edited values are checked as `network create` checks them.
        net.validate().map_err(|e| {
            Error::corrupt(
                &path,
                match e {
                    Error::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                },
            )
        })?;
        Ok(net)
    }

    pub fn save_network(&self, _lock: &StoreLock, net: &NetworkDef) -> Result<(), Error> {
        save_xml(&self.network_path(&net.name), net)
    }

    pub fn remove_network(&self, _lock: &StoreLock, name: &str) -> Result<(), Error> {
        let path = self.network_path(name);
        fs::remove_file(&path).map_err(|e| Error::io("removing", path, e))
    }
}

/// The sub-folders of `networks_dir` with their names, sorted (none when it is missing).
pub fn network_dirs(networks_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = fs::read_dir(networks_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}
