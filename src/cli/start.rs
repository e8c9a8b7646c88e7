//! `vmctl start VM [--attach tap|netns:NAME] [--owner USER]`: bring a VM's NIC up on its network.

use clap::Args;
use serde_json::json;

use super::Ctx;
use super::shared::attach::{attachment, resolve_user};
use crate::backend;
use crate::error::Error;
use crate::model::Attach;
use crate::output::field_table;

/// Bring a VM's NIC up: a TAP for its hypervisor, or a veth into a network namespace
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl start web                        a TAP (vmt-...) for QEMU, on the VM's network
  vmctl start web --owner alice          the TAP usable by alice's unprivileged QEMU
  vmctl start db --attach netns:db       eth0 with the VM's MAC inside `ip netns` db
  vmctl start web --attach socket        run/web.sock for QEMU -netdev dgram or vfkit
  ANKA_BRIDGE_NAME=eth1 vmctl start lan  a bridge-mode VM's macvtap on eth1
The VM's network (bridge, dnsmasq, nftables) comes up with its first VM. Needs root.
On macOS every VM is attached by socket (a vmnet relay; see the README).")]
pub struct StartArgs {
    /// The VM
    vm: String,
    /// How the NIC reaches the VM: `tap` (a TAP for a hypervisor), `socket` (a unix datagram
    /// socket relayed through the frame policy) or `netns:NAME`
    #[arg(long, default_value = "tap", value_name = "tap|socket|netns:NAME")]
    attach: String,
    /// User (name or uid) allowed to open the TAP, for an unprivileged hypervisor
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
}

pub fn run(ctx: &Ctx, args: &StartArgs) -> Result<(), Error> {
    let owner = args.owner.as_deref().map(resolve_user).transpose()?;
    let attach = attachment(&args.attach, owner.map(|(uid, _)| uid))?;
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    let profile = ctx.store.load(&args.vm)?;
    let started = backend::host(&ctx.store, &settings).start(&lock, &profile, attach, None)?;
    drop(lock);
    for warning in &started.warnings {
        ctx.out.warn(warning);
    }
    let state = &started.state;
    let body = json!({
        "name": state.name,
        "link": state.link,
        "attach": state.attach,
        "mac": crate::model::Mac(state.mac).to_string(),
        "mode": state.mode.name(),
        "network": state.network.clone().or_else(|| state.parent.clone()),
        "ip": state.ip.map(|ip| ip.to_string()),
        "socket": state.socket,
        "already_started": started.already,
        // Of racing starts, which process made it, and when.
        "started_by": state.started_by,
        "started": state.started,
    });
    if started.already {
        ctx.out
            .note(&format!("VM '{}' is already started", state.name));
    }
    ctx.out.data(&body, || {
        field_table([
            ("vm", state.name.clone()),
            ("link", state.link.clone()),
            (
                "attach",
                match &state.socket {
                    Some(socket) => format!("socket {}", socket.display()),
                    None => state.attach.to_string(),
                },
            ),
            ("mac", crate::model::Mac(state.mac).to_string()),
            (
                "network",
                state
                    .network
                    .clone()
                    .or_else(|| state.parent.as_ref().map(|p| format!("bridged to {p}")))
                    .unwrap_or_else(|| "none (disconnected)".into()),
            ),
            (
                "ip",
                match (state.ip, &state.network) {
                    (Some(ip), _) => ip.to_string(),
                    (None, Some(_)) => "from DHCP (vmctl ip VM --wait)".into(),
                    (None, None) => "-".into(),
                },
            ),
        ])
    });
    if matches!(state.attach, Attach::Tap | Attach::OwnedTap { .. }) && !started.already {
        ctx.out.note(&format!(
            "for QEMU: -netdev tap,id=n0,ifname={},script=no,downscript=no -device virtio-net-pci,netdev=n0,mac={}",
            state.link, state.mac
        ));
    }
    Ok(())
}
