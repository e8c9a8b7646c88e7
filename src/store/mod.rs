//! The vmctl home folder (`VMCTL_HOME`): the `Store`, its paths and lock, and the helpers its
//! files share. Files under it:
//!
//! - `config.plist`: host settings (a dict of key -> string), written by `vmctl config` (`config`).
//! - `vms/<name>.plist`: one XML plist per VM (`VmProfile`, with `schema_version`) (`profiles`).
//! - `run/<name>.plist`: present while the VM is started (`run::StartedVm`); `run/quarantine/`
//!   holds the ones `doctor --fix` moved aside.
//! - `networks/<net>.plist` and `networks/<net>/`: named networks, and the Linux backend's
//!   dnsmasq files for a network (see `backend::linux`) (`networks`).
//! - `lock`: the exclusive lock every read-modify-write holds.
//!
//! Every write is atomic (`atomic::write_atomic`); a file that cannot be parsed is an error that
//! names it, and read-only commands never rewrite anything. One bad file is one bad VM or
//! network: what reads many files returns the bad ones beside the others (`BadFile`).

pub mod atomic;
mod config;
mod input;
pub mod lock;
mod networks;
mod plist;
mod profiles;
pub mod run;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use self::plist::check_plist_depth;
pub use atomic::{resolve_links, write_atomic, write_through};
pub use config::ConfigValues;
pub use input::{MAX_INPUT_BYTES, read_input, read_input_text};
pub use lock::StoreLock;
pub use networks::network_dirs;
pub use profiles::stray;
pub use run::{Runs, StartedVm};

use crate::error::Error;
use crate::sys::fs::{Refused, read_capped};

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

    pub fn networks_dir(&self) -> PathBuf {
        self.home.join("networks")
    }

    /// Take the store lock; hold it across a read-modify-write.
    pub fn lock(&self) -> Result<StoreLock, Error> {
        StoreLock::acquire(&self.home.join("lock"), self.quiet)
    }
}

/// A file of the store that vmctl cannot use: unreadable, malformed, or holding values it
/// refuses. What reads many files leaves it out and warns; what is about its own VM or network
/// refuses, naming it.
#[derive(Debug, Clone)]
pub struct BadFile {
    /// The VM or network it is named for.
    pub name: String,
    pub path: PathBuf,
    pub reason: String,
    /// How to repair or remove it.
    pub hint: String,
}

impl BadFile {
    /// `err` (about the file `path`, named for `name`) with `hint` as its repair.
    fn new(name: &str, path: &Path, err: Error, hint: String) -> BadFile {
        let reason = match err {
            Error::CorruptFile { reason, .. } => reason,
            Error::Io { source, .. } => format!("cannot be read: {source}"),
            other => other.to_string(),
        };
        BadFile {
            name: name.to_owned(),
            path: path.to_path_buf(),
            // What a parser says can quote the file: a line of it, cut and made printable.
            reason: crate::error::printable(&reason),
            hint,
        }
    }

    /// The refusal of a command about its VM or network.
    pub fn error(&self) -> Error {
        Error::corrupt(&self.path, &self.reason).with_hint(&self.hint)
    }

    /// The warning of a command that goes on without it.
    pub fn warning(&self) -> String {
        format!(
            "{}: {}; hint: {}",
            self.path.display(),
            self.reason,
            self.hint
        )
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

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, Error> {
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
