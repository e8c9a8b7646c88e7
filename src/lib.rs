//! vmctl owns the networking of virtual machines on a host: each VM's NIC is a profile kept as
//! a plist; vmctl validates it, shows it, and realises it through a platform backend.
//!
//! Data flows one way: command line (`cli`) → resolved request → domain (`model`) → files
//! (`store`) and, later, plan → backend.

pub mod backend;
pub mod cli;
pub mod discovery;
pub mod error;
pub mod fleet;
pub mod import;
pub mod model;
pub mod output;
pub mod plan;
pub mod relay;
pub mod settings;
pub mod store;
pub mod sys;
#[cfg(test)]
mod test_support;

pub use error::{Error, Result};

/// Run vmctl with the process's arguments; returns the exit code.
pub fn run() -> std::process::ExitCode {
    cli::run(&std::env::args_os().collect::<Vec<_>>())
}
