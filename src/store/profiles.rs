//! `vms/<name>.plist`: the VM profiles: listing, loading (with a suggestion for an unknown
//! name), saving (keeping keys vmctl does not know) and removing them.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::plist::{check_plist_depth, keep_unknown_keys, plist_reason, refuse_control_characters};
use super::{Store, StoreLock, in_parallel, read_if_exists, write_atomic};
use crate::error::Error;
use crate::model::VmProfile;
use crate::model::profile::{SCHEMA_VERSION, validate_vm_name};

impl Store {
    /// Names of the stored VMs, sorted.
    pub fn names(&self) -> Result<Vec<String>, Error> {
        let dir = self.vms_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("reading", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("reading", &dir, e))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            // Temp files of an atomic write start with '.'; names never do. A file whose name
            // is no VM name (`web copy.plist`) is not a VM: `stray_files` lists it.
            if let Some(name) = file_name
                .strip_suffix(".plist")
                .filter(|n| !n.starts_with('.') && validate_vm_name(n).is_ok())
            {
                names.push(name.to_owned());
            }
        }
        names.sort_unstable();
        Ok(names)
    }

    /// Files in `vms/` that look like profiles but whose names are no VM names (a copy made
    /// by hand, `web copy.plist`): vmctl ignores them, and `list` says so.
    pub fn stray_files(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.vms_dir()) else {
            return Vec::new();
        };
        let mut stray: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_str().is_some_and(|f| {
                    f.strip_suffix(".plist")
                        .is_some_and(|n| !n.starts_with('.') && validate_vm_name(n).is_err())
                })
            })
            .map(|e| e.path())
            .collect();
        stray.sort();
        stray
    }

    pub fn exists(&self, name: &str) -> bool {
        self.profile_path(name).exists()
    }

    /// Load one VM's profile by its name or, as Anka allows everywhere, its uuid (a name
    /// wins); an unknown one suggests the closest stored name.
    pub fn load(&self, id: &str) -> Result<VmProfile, Error> {
        let path = self.profile_path(id);
        if validate_vm_name(id).is_err() {
            return Err(if path.is_file() {
                stray(&path)
            } else {
                self.not_found(id)
            });
        }
        match read_if_exists(&path)? {
            Some(bytes) => parse_profile(&path, id, &bytes),
            None => match self.find_by_uuid(id)? {
                Some(profile) => Ok(profile),
                None => Err(self.not_found(id)),
            },
        }
    }

    /// The VM whose uuid is `id` (any case), when `id` is a uuid. Profiles that cannot be read
    /// are passed over: they are no answer, and `load` of their own name says what is wrong.
    fn find_by_uuid(&self, id: &str) -> Result<Option<VmProfile>, Error> {
        if !crate::model::profile::is_uuid(id) {
            return Ok(None);
        }
        let names = self.names()?;
        let found = in_parallel(&names, |name| {
            Ok(self
                .load_named_file(name)
                .ok()
                .filter(|p| p.uuid.eq_ignore_ascii_case(id)))
        })?;
        Ok(found.into_iter().flatten().next())
    }

    /// The profile in `vms/<name>.plist`, by its file name only.
    fn load_named_file(&self, name: &str) -> Result<VmProfile, Error> {
        let path = self.profile_path(name);
        match read_if_exists(&path)? {
            Some(bytes) => parse_profile(&path, name, &bytes),
            None => Err(self.not_found(name)),
        }
    }

    /// The name of the VM `id` names (its name, or its uuid), as `load` finds it.
    pub fn resolve(&self, id: &str) -> Result<String, Error> {
        if self.exists(id) && validate_vm_name(id).is_ok() {
            return Ok(id.to_owned());
        }
        self.load(id).map(|p| p.name)
    }

    /// Load every stored profile, sorted by name (read in parallel: `list` on 10,000 VMs).
    pub fn load_all(&self) -> Result<Vec<VmProfile>, Error> {
        in_parallel(&self.names()?, |n| self.load_named_file(n))
    }

    /// The named VMs, or every stored VM when `names` is empty.
    pub fn load_named(&self, names: &[String]) -> Result<Vec<VmProfile>, Error> {
        if names.is_empty() {
            self.load_all()
        } else {
            // `list web web` (or web and its uuid) shows web once.
            let mut seen = std::collections::HashSet::new();
            let mut profiles = Vec::with_capacity(names.len());
            for name in names {
                let profile = self.load(name)?;
                if seen.insert(profile.name.clone()) {
                    profiles.push(profile);
                }
            }
            Ok(profiles)
        }
    }

    /// Like `load_all`, but a profile that cannot be read is returned as an error beside the
    /// others instead of failing the whole listing.
    pub fn load_all_lenient(&self) -> Result<(Vec<VmProfile>, Vec<Error>), Error> {
        match self.load_all() {
            Ok(all) => Ok((all, Vec::new())),
            Err(_) => {
                let mut good = Vec::new();
                let mut bad = Vec::new();
                for name in self.names()? {
                    match self.load(&name) {
                        Ok(p) => good.push(p),
                        Err(e) => bad.push(e),
                    }
                }
                Ok((good, bad))
            }
        }
    }

    /// A stored name equal to `name` but for case (one file on a case-insensitive disk).
    pub fn case_twin(&self, name: &str) -> Option<String> {
        self.names()
            .ok()?
            .into_iter()
            .find(|n| n != name && n.eq_ignore_ascii_case(name))
    }

    /// Write a profile; keys of the file it replaces that vmctl does not know stay.
    pub fn save(&self, _lock: &StoreLock, profile: &VmProfile) -> Result<(), Error> {
        let path = self.profile_path(&profile.name);
        let mut value = plist::to_value(profile).map_err(|e| Error::corrupt(&path, e))?;
        refuse_control_characters(&value, "profile")?;
        if let Some(old) = read_if_exists(&path)?
            && check_plist_depth(&path, &old).is_ok()
            && let Ok(plist::Value::Dictionary(old)) = plist::from_bytes::<plist::Value>(&old)
        {
            keep_unknown_keys(&old, &mut value);
        }
        let mut bytes = Vec::new();
        plist::to_writer_xml(&mut bytes, &value).map_err(|e| Error::corrupt(&path, e))?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes)
    }

    pub fn remove(&self, _lock: &StoreLock, name: &str) -> Result<(), Error> {
        let path = self.profile_path(name);
        fs::remove_file(&path).map_err(|e| Error::io("removing", path, e))
    }

    fn not_found(&self, name: &str) -> Error {
        let suggestion = self.names().ok().and_then(|names| closest(name, &names));
        Error::VmNotFound {
            name: name.to_owned(),
            suggestion,
        }
    }
}

/// The error for a file in `vms/` whose name is no VM name.
pub fn stray(path: &Path) -> Error {
    Error::Conflict {
        message: format!(
            "{} is not a VM: its name is no VM name, so vmctl ignores it",
            crate::error::printable(&path.display().to_string())
        ),
        hint: Some(
            "rename it to a VM name (letters, digits, '-', '_', '.'; e.g. web-copy.plist, with the same name inside), or move it out of vms/".into(),
        ),
    }
}

fn parse_profile(path: &Path, name: &str, bytes: &[u8]) -> Result<VmProfile, Error> {
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: u32,
    }
    check_plist_depth(path, bytes)?;
    let newer = |version: u32| {
        Error::corrupt(
            path,
            format!(
                "schema_version {version} was written by a newer vmctl (this one reads {SCHEMA_VERSION})"
            ),
        )
    };
    let profile: VmProfile = plist::from_bytes(bytes).map_err(|e| {
        // A newer schema may not parse at all: say so rather than "corrupt".
        match plist::from_bytes::<Version>(bytes) {
            Ok(v) if v.schema_version > SCHEMA_VERSION => newer(v.schema_version),
            _ => Error::corrupt(path, format!("not a vmctl profile: {}", plist_reason(&e))),
        }
    })?;
    if profile.schema_version > SCHEMA_VERSION {
        return Err(newer(profile.schema_version));
    }
    if profile.name != name {
        return Err(Error::corrupt(
            path,
            format!("it holds VM '{}' but is named for '{name}'", profile.name),
        ));
    }
    profile
        .check()
        .map_err(|reason| Error::corrupt(path, reason))?;
    Ok(profile)
}

/// The stored name closest to `name` (edit distance at most 2, or a prefix match).
fn closest(name: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, n)| *d <= 2 || n.starts_with(name))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = vec!["web1".to_string(), "db".to_string()];
        assert_eq!(closest("web", &names).as_deref(), Some("web1"));
        assert_eq!(closest("wbe1", &names).as_deref(), Some("web1"));
        assert_eq!(closest("zzzzzz", &names), None);
    }
}
