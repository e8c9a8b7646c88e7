//! How a started VM's NIC reaches the VM: a TAP, a TAP a user owns, a link in a network
//! namespace, or a unix datagram socket relayed to a TAP; and `--attach`'s syntax for it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How a started VM's NIC reaches it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Attach {
    /// A TAP (macvtap in bridge mode) that a hypervisor opens; `owner` is the uid allowed to.
    #[default]
    Tap,
    /// A TAP owned by a user, so an unprivileged hypervisor can open it.
    OwnedTap { owner: u32 },
    /// A link named `eth0` with the VM's MAC inside the network namespace `/run/netns/<netns>`.
    Netns { netns: String },
    /// A unix datagram socket (`run/<vm>.sock`) that a helper relays to the VM's TAP through
    /// the frame policy: for QEMU's `-netdev dgram` and vfkit, as on macOS.
    Socket,
}

impl fmt::Display for Attach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attach::Tap => f.write_str("tap"),
            Attach::OwnedTap { owner } => write!(f, "tap (owner uid {owner})"),
            Attach::Netns { netns } => write!(f, "netns:{netns}"),
            Attach::Socket => f.write_str("socket"),
        }
    }
}

impl Attach {
    /// `tap` or `netns:NAME`, as `vmctl start --attach` takes it.
    pub fn parse(text: &str) -> Result<Attach, Error> {
        match text {
            "tap" => return Ok(Attach::Tap),
            "socket" => return Ok(Attach::Socket),
            _ => {}
        }
        let Some(netns) = text.strip_prefix("netns:") else {
            return Err(Error::invalid("attachment", text, "expected tap, socket or netns:NAME")
                .with_hint("--attach tap (for a hypervisor), socket (a unix datagram socket) or netns:NAME (an existing `ip netns` namespace)"));
        };
        let valid = !netns.is_empty()
            && netns.len() <= 64
            && !netns.starts_with(['.', '-'])
            && netns
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(Error::invalid(
                "network namespace",
                netns,
                "names are 1-64 letters, digits, '-', '_' or '.', not starting with '.' or '-'",
            )
            .with_hint("`ip netns list` shows the namespaces"));
        }
        Ok(Attach::Netns {
            netns: netns.to_owned(),
        })
    }
}
