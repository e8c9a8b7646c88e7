//! The domain: VM profiles, their NIC, MACs, static IPs, port forwards, and the rules they obey.

pub mod attach;
pub mod filter;
pub mod mac;
pub mod named_network;
pub mod names;
pub mod network;
pub mod port_forward;
pub mod profile;
pub mod registry;
pub mod rule_text;

pub use attach::Attach;
pub use mac::{Mac, MacPolicy};
pub use port_forward::{PortForward, Protocol};
pub use profile::{Controller, Mode, Nic, VmProfile};

/// The networks vmctl runs itself, in a stable order (named networks come later).
pub const BUILTIN_NETWORKS: [&str; 2] = ["shared", "host"];
