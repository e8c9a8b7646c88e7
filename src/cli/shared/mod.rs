//! What commands share, below them: no file here is a command, and commands import from here
//! (and from the layers below the CLI), never from one another.

pub mod address;
pub mod attach;
pub mod network_flags;
pub mod view;
pub mod vm_change;
