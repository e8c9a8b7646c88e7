//! Files under `VMCTL_HOME`:
//!
//! - `config.plist`: host settings (a dict of key -> string), written by `vmctl config`.
//! - `vms/<name>.plist`: one XML plist per VM (`VmProfile`, with `schema_version`).
//! - `run/<name>.plist`: present while the VM is started (`run::StartedVm`).
//! - `networks/<net>/`: the Linux backend's dnsmasq files for a network (see `backend::linux`).
//! - `lock`: the exclusive lock every read-modify-write holds.
//!
//! Every write is atomic (`atomic::write_atomic`); a file that cannot be parsed is an error that
//! names it, and read-only commands never rewrite anything.

pub mod atomic;
pub mod lock;
pub mod run;

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use atomic::{resolve_links, write_atomic, write_through};
pub use lock::StoreLock;
pub use run::StartedVm;

/// The values stored in `config.plist` (key -> string), as `settings` normalized them.
pub type ConfigValues = BTreeMap<String, String>;

use crate::error::Error;
use crate::model::VmProfile;
use crate::model::named_network::NetworkDef;
use crate::model::profile::{SCHEMA_VERSION, validate_vm_name};

/// The vmctl home folder and everything in it.
#[derive(Debug, Clone)]
pub struct Store {
    home: PathBuf,
    quiet: bool,
}

impl Store {
    pub fn new(home: PathBuf, quiet: bool) -> Store {
        Store { home, quiet }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join("config.plist")
    }

    pub fn vms_dir(&self) -> PathBuf {
        self.home.join("vms")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.home.join("run")
    }

    pub fn profile_path(&self, name: &str) -> PathBuf {
        self.vms_dir().join(format!("{name}.plist"))
    }

    /// Take the store lock; hold it across a read-modify-write.
    pub fn lock(&self) -> Result<StoreLock, Error> {
        StoreLock::acquire(&self.home.join("lock"), self.quiet)
    }

    /// The values in `config.plist` as strings, unchecked: `config --unset` and `config KEY
    /// VALUE` must be able to repair a bad value.
    pub fn load_config_unchecked(&self) -> Result<BTreeMap<String, String>, Error> {
        let path = self.config_path();
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(ConfigValues::new());
        };
        check_plist_depth(&path, &bytes)?;
        let dict: BTreeMap<String, plist::Value> = plist::from_bytes(&bytes).map_err(|e| {
            Error::corrupt(
                &path,
                format!("not a plist dictionary: {}", plist_reason(&e)),
            )
        })?;
        let mut values = BTreeMap::new();
        for (key, value) in dict {
            let text = match value {
                plist::Value::String(s) => s,
                plist::Value::Integer(i) => i.to_string(),
                plist::Value::Boolean(b) => u8::from(b).to_string(),
                other => {
                    return Err(Error::corrupt(
                        &path,
                        format!("key {key}: expected a string, found {other:?}"),
                    ));
                }
            };
            values.insert(key, text);
        }
        Ok(values)
    }

    pub fn save_config(&self, _lock: &StoreLock, values: &ConfigValues) -> Result<(), Error> {
        let mut bytes = Vec::new();
        plist::to_writer_xml(&mut bytes, values)
            .map_err(|e| Error::corrupt(self.config_path(), e))?;
        write_atomic(&self.config_path(), &bytes)
    }

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

    /// Load one VM's profile; an unknown name suggests the closest stored one.
    pub fn load(&self, name: &str) -> Result<VmProfile, Error> {
        let path = self.profile_path(name);
        if validate_vm_name(name).is_err() {
            return Err(if path.is_file() {
                stray(&path)
            } else {
                self.not_found(name)
            });
        }
        match read_if_exists(&path)? {
            Some(bytes) => parse_profile(&path, name, &bytes),
            None => Err(self.not_found(name)),
        }
    }

    /// Load every stored profile, sorted by name (read in parallel: `list` on 10,000 VMs).
    pub fn load_all(&self) -> Result<Vec<VmProfile>, Error> {
        in_parallel(&self.names()?, |n| self.load(n))
    }

    /// The named VMs, or every stored VM when `names` is empty.
    pub fn load_named(&self, names: &[String]) -> Result<Vec<VmProfile>, Error> {
        if names.is_empty() {
            self.load_all()
        } else {
            // `list web web` shows web once.
            let mut seen = std::collections::HashSet::new();
            names
                .iter()
                .filter(|name| seen.insert(name.as_str()))
                .map(|name| self.load(name))
                .collect()
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

    /// The folders of the networks vmctl has run (built-in and named), by name, sorted.
    pub fn network_dirs(&self) -> Vec<(String, PathBuf)> {
        network_dirs(&self.networks_dir())
    }

    /// `networks/<name>.plist`: a named network's file.
    pub fn network_path(&self, name: &str) -> PathBuf {
        self.networks_dir().join(format!("{name}.plist"))
    }

    /// Every named network, sorted by name; a network file that cannot be read (or holds values
    /// vmctl refuses) comes back as an error beside the others: one bad file must not stop
    /// every command (`network list` names it, `network delete` removes it).
    pub fn load_networks_lenient(&self) -> Result<(Vec<NetworkDef>, Vec<Error>), Error> {
        let names = plist_names(&self.networks_dir())?;
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for name in names {
            match self.load_network(&name) {
                Ok(net) => good.push(net),
                Err(e) => bad.push(e),
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

    /// Is the VM started (its runtime state present)?
    pub fn is_started(&self, name: &str) -> bool {
        self.run_path(name).exists()
    }

    pub fn run_path(&self, name: &str) -> PathBuf {
        self.run_dir().join(format!("{name}.plist"))
    }

    pub fn networks_dir(&self) -> PathBuf {
        self.home.join("networks")
    }

    /// A started VM's runtime state, if it is started.
    pub fn load_run(&self, name: &str) -> Result<Option<StartedVm>, Error> {
        let path = self.run_path(name);
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        check_plist_depth(&path, &bytes)?;
        let state: StartedVm = plist::from_bytes(&bytes).map_err(|e| {
            Error::corrupt(
                &path,
                format!("not a vmctl runtime state: {}", plist_reason(&e)),
            )
        })?;
        if state.name != name {
            return Err(Error::corrupt(
                &path,
                format!("it holds VM '{}' but is named for '{name}'", state.name),
            ));
        }
        Ok(Some(state))
    }

    /// Every started VM's runtime state, sorted by name.
    pub fn load_runs(&self) -> Result<Vec<StartedVm>, Error> {
        let names = self.started_names()?;
        let states = in_parallel(&names, |n| self.load_run(n))?;
        Ok(states.into_iter().flatten().collect())
    }

    /// The VMs with runtime state (`is_started` for many VMs at once: one folder read, not a
    /// lookup per VM), sorted.
    pub fn started_names(&self) -> Result<Vec<String>, Error> {
        plist_names(&self.run_dir())
    }

    pub fn save_run(&self, _lock: &StoreLock, state: &StartedVm) -> Result<(), Error> {
        save_xml(&self.run_path(&state.name), state)
    }

    pub fn remove_run(&self, _lock: &StoreLock, name: &str) -> Result<(), Error> {
        let path = self.run_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing", path, e)),
        }
    }

    fn not_found(&self, name: &str) -> Error {
        let suggestion = self.names().ok().and_then(|names| closest(name, &names));
        Error::VmNotFound {
            name: name.to_owned(),
            suggestion,
        }
    }
}

/// `load` applied to every name, in order, spread over the cores when there are many.
fn in_parallel<T: Send>(
    names: &[String],
    load: impl Fn(&str) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if names.len() < 64 || threads == 1 {
        return names.iter().map(|n| load(n)).collect();
    }
    let chunk = names.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                let load = &load;
                scope.spawn(move || part.iter().map(|n| load(n)).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut all = Vec::with_capacity(names.len());
        for worker in workers {
            all.extend(worker.join().expect("loader thread panicked")?);
        }
        Ok(all)
    })
}

/// The most vmctl reads of an input file of its own kind (a profile, a rules file, a network
/// definition, a hosts file, an import): far more than any real one holds.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Read a file someone may point anywhere: opened without blocking (a FIFO would wait for a
/// writer forever), refused unless it is a regular file (`/dev/zero` never ends), and refused
/// past `MAX_INPUT_BYTES`. `None` when nothing is there.
pub fn read_input(path: &Path, what: &'static str) -> Result<Option<Vec<u8>>, Error> {
    use crate::sys::fs::{Refused, open_regular};
    use std::io::Read;
    let (file, len) = match open_regular(path, MAX_INPUT_BYTES) {
        Ok(opened) => opened,
        Err(Refused::NotFound) => return Ok(None),
        Err(Refused::NotRegular) => {
            return Err(Error::invalid(
                what,
                path.display().to_string(),
                "not a regular file (a FIFO, device or folder could block or never end)",
            )
            .with_hint("give the path of a regular file"));
        }
        Err(Refused::TooBig) => {
            return Err(Error::invalid(
                what,
                path.display().to_string(),
                format!("larger than the {} MB vmctl reads", MAX_INPUT_BYTES >> 20),
            )
            .with_hint("is it the right file?"));
        }
        Err(Refused::Io(e)) => return Err(Error::io("reading", path, e)),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 20));
    file.take(MAX_INPUT_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", path, e))?;
    Ok(Some(bytes))
}

/// `read_input` as text; a missing file is an error naming it.
pub fn read_input_text(path: &Path, what: &'static str) -> Result<String, Error> {
    let bytes = read_input(path, what)?.ok_or_else(|| {
        Error::invalid(what, path.display().to_string(), "no such file").with_hint("check the path")
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Error::invalid(what, path.display().to_string(), "not UTF-8 text")
            .with_hint("is it the right file?")
    })
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    use crate::sys::fs::{Refused, read_capped};
    // Not `fs::read`: its size hint costs a stat per file, and `list` and `start` read many
    // small files. Without blocking (a FIFO put there by hand reads as empty) and capped (a
    // link to /dev/zero ends at the cap).
    match read_capped(path, MAX_INPUT_BYTES) {
        Ok(bytes) => Ok(bytes),
        Err(Refused::TooBig) => Err(Error::corrupt(
            path,
            format!("larger than the {} MB vmctl reads", MAX_INPUT_BYTES >> 20),
        )),
        Err(Refused::Io(e)) => Err(Error::io("reading", path, e)),
        Err(Refused::NotFound | Refused::NotRegular) => Ok(None),
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

/// The names of the `NAME.plist` files in `dir` (none when it is missing), sorted; the temp
/// files of atomic writes (`.NAME.plist.*`) left out.
fn plist_names(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("reading", dir, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".plist")?;
            (!stem.starts_with('.')).then(|| stem.to_owned())
        })
        .collect();
    names.sort_unstable();
    Ok(names)
}

/// What the plist parser says is wrong, without the Rust debug wrapper its serde messages
/// come in (`Serde("unknown variant ...")`).
fn plist_reason(e: &plist::Error) -> String {
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
fn save_xml(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let mut bytes = Vec::new();
    plist::to_writer_xml(&mut bytes, value).map_err(|e| Error::corrupt(path, e))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// XML 1.0 cannot hold control characters but tab, newline and return: a value with one (a
/// filter rule's comment with `\x01`) would make the profile unreadable. Refused, naming where.
fn refuse_control_characters(value: &plist::Value, at: &str) -> Result<(), Error> {
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

/// Copy into `new` the keys of `old` that vmctl does not write (top level and `network`).
fn keep_unknown_keys(old: &plist::Dictionary, new: &mut plist::Value) {
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

    #[test]
    fn suggestions() {
        let names = vec!["web1".to_string(), "db".to_string()];
        assert_eq!(closest("web", &names).as_deref(), Some("web1"));
        assert_eq!(closest("wbe1", &names).as_deref(), Some("web1"));
        assert_eq!(closest("zzzzzz", &names), None);
    }
}
