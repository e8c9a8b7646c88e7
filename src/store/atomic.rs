//! Atomic file replacement: temp file in the same folder, fsync, rename, fsync the folder.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Replace `path` with `bytes` so that a reader sees the old file or the new one, never a mix,
/// and a crash leaves no partial file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(
        ".{file_name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io("creating", &temp, e))?;
        if let Ok(meta) = fs::metadata(path) {
            // Keep the mode of the file being replaced.
            let _ = file.set_permissions(meta.permissions());
        }
        file.write_all(bytes)
            .map_err(|e| Error::io("writing", &temp, e))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing", &temp, e))?;
        fs::rename(&temp, path).map_err(|e| Error::io("replacing", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    // Make the rename itself durable; a failure here does not undo the write.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    remove_stale_temps(dir, file_name);
    Ok(())
}

/// Remove the temp files that earlier writes of `file_name` left when they were killed
/// mid-write (`kill -9`): those whose writer is gone. A live writer's temp stays.
fn remove_stale_temps(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(middle) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        let writer = middle
            .split_once('.')
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if writer.is_some_and(|pid| !crate::backend::process_alive(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // the partial files of killed writers, on purpose
    fn temps_of_killed_writers_go_with_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.plist");
        // A writer that is gone (no pid is this high), one that is alive (us), another file's.
        let dead = dir.path().join(".web.plist.4194305.0badf00d.tmp");
        let live = dir
            .path()
            .join(format!(".web.plist.{}.00000001.tmp", std::process::id()));
        let other = dir.path().join(".db.plist.4194305.0badf00d.tmp");
        for p in [&dead, &live, &other] {
            fs::write(p, b"partial").unwrap();
        }
        write_atomic(&path, b"whole").unwrap();
        assert!(!dead.exists(), "a dead writer's temp is removed");
        assert!(live.exists(), "a live writer's temp stays");
        assert!(
            other.exists(),
            "another file's temps are its own writes' business"
        );
    }

    #[test]
    fn replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.plist");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.plist")]);
    }
}
