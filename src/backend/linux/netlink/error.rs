//! `NetlinkError`, the errnos the requests tell apart, and the helpers that build errors.

use std::io;

use super::Netlink;

/// A failed rtnetlink request: the operation, the interface it was about, and the kernel's errno.
#[derive(Debug, thiserror::Error)]
#[error("{op} {name}: {source}")]
pub struct NetlinkError {
    pub op: &'static str,
    pub name: String,
    #[source]
    pub source: io::Error,
}

impl NetlinkError {
    /// The kernel refused for lack of privilege (EPERM/EACCES): not root, or no CAP_NET_ADMIN.
    pub fn is_permission(&self) -> bool {
        self.source.kind() == io::ErrorKind::PermissionDenied
    }

    /// The errno the kernel answered with, if the failure came from the kernel or a syscall.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

pub(super) const ENODEV: i32 = 19;
pub(super) const EEXIST: i32 = 17;

impl Netlink {
    /// An error about link `index`, named by its name when it still has one.
    pub(super) fn link_error(
        &mut self,
        op: &'static str,
        index: u32,
        source: io::Error,
    ) -> NetlinkError {
        let name = match self.link_by_index(index) {
            Ok(Some(link)) => format!("{} (ifindex {index})", link.name),
            _ => format!("ifindex {index}"),
        };
        NetlinkError { op, name, source }
    }
}

/// For `map_err`: an error of `op` on `name`.
pub(super) fn failed(
    op: &'static str,
    name: impl Into<String>,
) -> impl FnOnce(io::Error) -> NetlinkError {
    let name = name.into();
    move |source| NetlinkError { op, name, source }
}

#[allow(clippy::needless_pass_by_value)] // shaped for map_err
pub(super) fn invalid(error: netlink_packet_core::DecodeError) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unreadable rtnetlink reply: {error}"),
    )
}
