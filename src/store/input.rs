//! Input files someone may point anywhere (a rules file, a hosts file, an import): read
//! without blocking, regular files only, capped at `MAX_INPUT_BYTES`.

use std::path::Path;

use crate::error::Error;

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
