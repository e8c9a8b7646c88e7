//! Atomic file replacement: temp file in the same folder, fsync, rename, fsync the folder.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Replace `path` with `bytes` so that a reader sees the old file or the new one, never a mix,
/// and a crash leaves no partial file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    replace(path, bytes, false)
}

/// `write_atomic` for a file vmctl shares with the system (`/etc/hosts`): a symlink is
/// written through (its target is replaced, in the target's folder, and the link stays), and
/// the file keeps its owner and group as well as its mode; when they cannot be kept (not root),
/// nothing is written.
pub fn write_through(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    replace(&resolve_links(path), bytes, true)
}

/// The file a path names once symlinks are followed (the path itself when nothing is there).
pub fn resolve_links(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn replace(path: &Path, bytes: &[u8], keep_owner: bool) -> Result<(), Error> {
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
            if keep_owner {
                keep_owner_of(&file, &meta, path)?;
            }
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
        if writer.is_some_and(|pid| !crate::sys::process::alive(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn keep_owner_of(file: &fs::File, meta: &fs::Metadata, path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let mine = file.metadata().map_err(|e| Error::io("reading", path, e))?;
    if (mine.uid(), mine.gid()) == (meta.uid(), meta.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).map_err(|e| {
        Error::host(
            format!(
                "cannot keep the owner and group ({}:{}) of {} when replacing it: {e}",
                meta.uid(),
                meta.gid(),
                path.display()
            ),
            "run it as root (e.g. with sudo); nothing was written",
        )
    })?;
    // chown may clear the set-id bits: set the mode again.
    file.set_permissions(meta.permissions())
        .map_err(|e| Error::io("setting the mode of", path, e))
}

#[cfg(not(unix))]
fn keep_owner_of(_: &fs::File, _: &fs::Metadata, _: &Path) -> Result<(), Error> {
    Ok(())
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

    #[cfg(unix)]
    #[test]
    fn write_through_keeps_the_link_and_the_targets_owner_group_and_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        let target = real_dir.join("hosts");
        write_atomic(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        let running_as_root = fs::metadata(&target).unwrap().uid() == 0;
        if running_as_root {
            std::os::unix::fs::chown(&target, Some(1234), Some(4321)).unwrap();
        }
        let before = fs::metadata(&target).unwrap();
        let link = dir.path().join("hosts");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        write_through(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let after = fs::metadata(&target).unwrap();
        assert_eq!(
            (after.uid(), after.gid(), after.mode()),
            (before.uid(), before.gid(), before.mode())
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file beside the link: {names:?}");
    }
}
