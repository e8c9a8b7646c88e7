//! The macOS backend: a vmnet relay helper per VM, pf anchors and bootpd reservations
//! (`vmnet.rs`, built on macOS only), and the edits of the system's plists and
//! `/etc/bootptab` (`files.rs`, pure, built and tested everywhere).

pub mod files;
#[cfg(target_os = "macos")]
mod vmnet;

#[cfg(target_os = "macos")]
pub use vmnet::{Macos, host_routes};
