//! The one error type of the library, its hints, and the mapping from kinds to exit and JSON codes.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Stable numeric codes of the JSON error envelope (`{"status":"ERROR","code":N}`).
/// Documented in README.md; never renumber.
pub mod code {
    /// Anything not covered below.
    pub const GENERIC: u32 = 1;
    /// The command line itself was malformed (clap usage error).
    pub const USAGE: u32 = 2;
    /// The named VM does not exist.
    pub const VM_NOT_FOUND: u32 = 3;
    /// A value given by the user is not valid (MAC, IP, port, mode, key ...).
    pub const INVALID_VALUE: u32 = 4;
    /// A stored file could not be parsed.
    pub const CORRUPT_FILE: u32 = 5;
    /// Reading or writing a file failed.
    pub const IO: u32 = 6;
    /// The request conflicts with another VM (duplicate port, IP, MAC).
    pub const CONFLICT: u32 = 7;
    /// The user must confirm (or pass `--yes`).
    pub const NEEDS_CONFIRMATION: u32 = 8;
    /// The VM is started and the request needs it stopped.
    pub const VM_STARTED: u32 = 9;
    /// Something looked for is not there yet (a VM's address).
    pub const NOT_AVAILABLE: u32 = 10;
    /// The host lacks something or refused a change (privilege, tool, interface, daemon).
    pub const HOST: u32 = 11;
    /// A VM with that name already exists (Anka's code).
    pub const NAME_EXISTS: u32 = 18;
}

/// Everything that can go wrong in vmctl, each naming what and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Anka's words, which anklet compares exactly: `<id>: not found`.
    #[error("{name}: not found")]
    VmNotFound {
        name: String,
        suggestion: Option<String>,
    },
    #[error("a VM named '{0}' already exists")]
    VmExists(String),
    #[error("invalid {what} '{value}': {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
        hint: Option<String>,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        hint: Option<String>,
    },
    #[error("{message}")]
    NotAvailable {
        message: String,
        hint: Option<String>,
    },
    /// The host lacks something or refused a change: what, and how to get it.
    #[error("{message}")]
    Host { message: String, hint: String },
    #[error("{path}: {reason}")]
    CorruptFile {
        path: PathBuf,
        reason: String,
        hint: Option<String>,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} needs confirmation and stdin is not a terminal")]
    NeedsConfirmation(String),
    #[error("cancelled: nothing was changed")]
    Cancelled,
    #[error("VM '{0}' is started")]
    VmStarted(String),
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The most characters of one piece of outside text (a token, a hostname, a value) that
/// vmctl echoes; the rest is counted, not shown.
pub const ECHO_LIMIT: usize = 200;

/// Outside text cut after `ECHO_LIMIT` characters, for places that escape it themselves (JSON,
/// `{:?}`): the rest is counted, not shown.
pub fn cut(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(ECHO_LIMIT) {
        None => std::borrow::Cow::Borrowed(text),
        Some((at, _)) => std::borrow::Cow::Owned(format!(
            "{}... ({} more bytes)",
            &text[..at],
            text.len() - at
        )),
    }
}

/// Outside text made safe to echo on one terminal line (or into a plist): control characters
/// escaped (they could set the terminal's title or clear it, and are not valid in XML), and
/// cut after `ECHO_LIMIT` characters.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(ECHO_LIMIT + 32));
    for (i, c) in text.chars().enumerate() {
        if i == ECHO_LIMIT {
            let rest = text.len() - text.char_indices().nth(i).map_or(text.len(), |(at, _)| at);
            let _ = write!(out, "... ({rest} more bytes)");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What to do about an I/O error of this kind (a full disk is not a permission problem).
fn io_hint(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "the disk (or your quota) is full: free some space and run it again; the old file is unchanged"
        }
        ErrorKind::InvalidData => "the file is not UTF-8 text: is it the right file?",
        ErrorKind::ReadOnlyFilesystem => {
            "the file system is read-only: remount it read-write or use another path"
        }
        ErrorKind::IsADirectory => "that is a folder: give the path of a file",
        _ => "check the path and its permissions",
    }
}

impl Error {
    pub fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            value: printable(&value.into()),
            reason: reason.into(),
            hint: None,
        }
    }

    /// Attach (or replace) the hint of an `Invalid`, `Conflict`, `NotAvailable` or
    /// `CorruptFile` error.
    #[must_use]
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Error::Invalid { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::NotAvailable { hint, .. }
            | Error::CorruptFile { hint, .. } => {
                *hint = Some(text.into());
            }
            _ => {}
        }
        self
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict {
            message: message.into(),
            hint: None,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn host(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Host {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn corrupt(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::CorruptFile {
            path: path.into(),
            reason: reason.to_string(),
            hint: None,
        }
    }

    /// What the user can do about it, printed after the error as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::VmNotFound { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("`vmctl list` shows the VMs; did you mean '{s}'?"),
                None => "`vmctl list` shows the VMs; `vmctl create NAME` makes one".into(),
            }),
            Error::VmExists(_) => Some("pick another name, or `vmctl delete NAME` first".into()),
            Error::Invalid { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::NotAvailable { hint, .. } => hint.clone(),
            Error::CorruptFile {
                hint: Some(hint), ..
            }
            | Error::Host { hint, .. } => Some(hint.clone()),
            Error::CorruptFile { reason, .. } if reason.contains("newer vmctl") => {
                Some("upgrade vmctl to read it".into())
            }
            Error::CorruptFile { .. } => Some(
                "fix or remove the file by hand; vmctl never rewrites a file it cannot read".into(),
            ),
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                Some(
                    "run as a user who can write there, or point --home / VMCTL_HOME elsewhere"
                        .into(),
                )
            }
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some("check the path: no file or folder is there".into())
            }
            Error::Io { source, .. } => Some(io_hint(source.kind()).into()),
            Error::NeedsConfirmation(_) => Some("pass --yes to confirm".into()),
            Error::VmStarted(name) => Some(format!(
                "stop the VM first; if it is not running, its stale runtime state is run/{name}.plist under the vmctl home"
            )),
            Error::Usage(_) => Some("see `vmctl help`".into()),
            Error::Cancelled => None,
        }
    }

    /// The stable code of the JSON envelope.
    pub fn json_code(&self) -> u32 {
        match self {
            Error::VmNotFound { .. } => code::VM_NOT_FOUND,
            Error::VmExists(_) => code::NAME_EXISTS,
            Error::Invalid { .. } => code::INVALID_VALUE,
            Error::Conflict { .. } => code::CONFLICT,
            Error::NotAvailable { .. } => code::NOT_AVAILABLE,
            Error::CorruptFile { .. } => code::CORRUPT_FILE,
            Error::Io { .. } => code::IO,
            Error::NeedsConfirmation(_) | Error::Cancelled => code::NEEDS_CONFIRMATION,
            Error::VmStarted(_) => code::VM_STARTED,
            Error::Usage(_) => code::USAGE,
            Error::Host { .. } => code::HOST,
        }
    }

    /// The process exit code: 2 for usage errors, 3 for an unknown VM (Anka's code), 10 for
    /// "not there yet" (so a script can wait and retry: `until vmctl show web network ip; do
    /// sleep 1; done`), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::VmNotFound { .. } => 3,
            Error::NotAvailable { .. } => 10,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn escapes_control_characters_and_cuts_long_text() {
        assert_eq!(
            printable("a\x1b]0;pwned\x07b\n"),
            "a\\u{1b}]0;pwned\\u{7}b\\n"
        );
        let long = "x".repeat(10_000_000);
        let shown = printable(&long);
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.ends_with("... (9999800 more bytes)"), "{shown}");
        assert_eq!(printable("héllo"), "héllo");
    }

    #[test]
    fn io_hints_fit_the_kind_of_error() {
        use super::Error;
        use std::io::{Error as IoError, ErrorKind};
        let hint = |kind| {
            Error::io("writing", "/x", IoError::from(kind))
                .hint()
                .unwrap()
        };
        assert!(hint(ErrorKind::StorageFull).contains("full"));
        assert!(!hint(ErrorKind::StorageFull).contains("permissions"));
        assert!(hint(ErrorKind::InvalidData).contains("UTF-8"));
        assert!(!hint(ErrorKind::InvalidData).contains("permissions"));
        assert!(hint(ErrorKind::Other).contains("permissions"));
        let block = Error::corrupt("/etc/hosts", "line 3: ...").with_hint("fix the block");
        assert_eq!(block.hint().unwrap(), "fix the block");
        assert!(
            Error::corrupt("/p", "bad")
                .hint()
                .unwrap()
                .contains("fix or remove")
        );
    }

    #[test]
    fn cut_keeps_short_text_and_counts_the_rest() {
        assert_eq!(super::cut("a\x1bb"), "a\x1bb");
        let long = "é".repeat(1000);
        let shown = super::cut(&long);
        assert!(shown.starts_with(&"é".repeat(200)), "{shown}");
        assert!(shown.ends_with("é... (1600 more bytes)"), "{shown}");
    }
}
