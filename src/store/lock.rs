//! The store's exclusive lock: held by every read-modify-write, so concurrent vmctl processes
//! never lose each other's changes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::Error;

/// Proof that this process holds the store lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Take the lock at `path`, saying so on stderr before waiting for another process.
    pub fn acquire(path: &Path, quiet: bool) -> Result<StoreLock, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("opening lock", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                if !quiet {
                    crate::output::diag(&format!(
                        "Blocking waiting for file lock on {}\n",
                        path.display()
                    ));
                }
                file.lock().map_err(|e| Error::io("locking", path, e))?;
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("locking", path, e)),
        }
        Ok(StoreLock { _file: file })
    }
}
