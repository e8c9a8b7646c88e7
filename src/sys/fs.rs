//! Reading files someone may point anywhere: opened without blocking (a FIFO would wait for a
//! writer forever) and capped (a link to `/dev/zero` never ends).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Why a file was not opened for reading.
#[derive(Debug)]
pub enum Refused {
    NotFound,
    /// A FIFO, device or folder: it could block or never end.
    NotRegular,
    /// Larger than the cap.
    TooBig,
    Io(std::io::Error),
}

/// Open `path` for reading without blocking on a FIFO.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        nix::fcntl::OFlag::O_NONBLOCK.bits(),
    );
    options.open(path)
}

/// Open a regular file of at most `cap` bytes (checked with one `fstat`).
pub fn open_regular(path: &Path, cap: u64) -> Result<(File, u64), Refused> {
    let file = match open_nonblocking(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Refused::NotFound),
        Err(e) if e.kind() == ErrorKind::IsADirectory => return Err(Refused::NotRegular),
        Err(e) => return Err(Refused::Io(e)),
    };
    let meta = file.metadata().map_err(Refused::Io)?;
    if !meta.is_file() {
        return Err(Refused::NotRegular);
    }
    if meta.len() > cap {
        return Err(Refused::TooBig);
    }
    Ok((file, meta.len()))
}

/// Read at most `cap` bytes of `path` without a `stat` (for the many small files `list` and
/// `start` read): `None` when it is missing; more than `cap` bytes is `Refused::TooBig`.
pub fn read_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, Refused> {
    let file = match open_nonblocking(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Refused::Io(e)),
    };
    let mut bytes = Vec::with_capacity(4096);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(Refused::Io)?;
    if bytes.len() as u64 > cap {
        return Err(Refused::TooBig);
    }
    Ok(Some(bytes))
}
