//! System access every layer above may need and none should write twice: process liveness and
//! command lines, the clock, which boot of the host this is, and capped non-blocking reads of
//! files someone may point anywhere.
//! Portable Unix only; what differs by platform lives under `backend/` and `relay/`.

mod boot;
pub mod fs;
pub mod process;

pub use boot::boot_id;

/// The operating system vmctl runs on (where it has no backend, Linux's choices hold: a
/// lease file per network, sysfs, `/proc/net/arp`).
#[cfg(target_os = "macos")]
pub const HOST_OS: Os = Os::Macos;
/// The operating system vmctl runs on.
#[cfg(not(target_os = "macos"))]
pub const HOST_OS: Os = Os::Linux;

/// The operating systems vmctl has a backend for. Code below `backend/` takes one as a value
/// (`HOST_OS` is this machine's), so both platforms' choices are testable anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Macos,
}

/// The user and group a file or socket is made for (a hypervisor's, not vmctl's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
