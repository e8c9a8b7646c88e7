//! `vmctl start VM [--attach tap|netns:NAME] [--owner USER]`: bring a VM's NIC up on its network.

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::backend;
use crate::error::Error;
use crate::output::field_table;
use crate::plan::Attach;

/// Bring a VM's NIC up: a TAP for its hypervisor, or a veth into a network namespace
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl start web                        a TAP (vmt-...) for QEMU, on the VM's network
  vmctl start web --owner alice          the TAP usable by alice's unprivileged QEMU
  vmctl start db --attach netns:db       eth0 with the VM's MAC inside `ip netns` db
  ANKA_BRIDGE_NAME=eth1 vmctl start lan  a bridge-mode VM's macvtap on eth1
The VM's network (bridge, dnsmasq, nftables) comes up with its first VM. Needs root.")]
pub struct StartArgs {
    /// The VM
    vm: String,
    /// How the NIC reaches the VM: `tap` (a TAP for a hypervisor) or `netns:NAME`
    #[arg(long, default_value = "tap", value_name = "tap|netns:NAME")]
    attach: String,
    /// User (name or uid) allowed to open the TAP, for an unprivileged hypervisor
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
}

pub fn run(ctx: &Ctx, args: &StartArgs) -> Result<(), Error> {
    let mut attach = Attach::parse(&args.attach)?;
    if let Some(owner) = &args.owner {
        if attach != Attach::Tap {
            return Err(Error::invalid("--owner", owner, "only a TAP has an owner")
                .with_hint("drop --owner, or use --attach tap"));
        }
        attach = Attach::OwnedTap {
            owner: resolve_user(owner)?,
        };
    }
    let settings = ctx.settings()?;
    let lock = ctx.store.lock()?;
    let profile = ctx.store.load(&args.vm)?;
    let started = backend::host(&ctx.store, &settings).start(&lock, &profile, attach)?;
    drop(lock);
    for warning in &started.warnings {
        ctx.out.warn(warning);
    }
    let state = &started.state;
    let body = json!({
        "name": state.vm,
        "link": state.link,
        "attach": state.attach,
        "mac": state.mac,
        "mode": state.mode.name(),
        "network": state.network.clone().or_else(|| state.parent.clone()),
        "ip": state.ip.map(|ip| ip.to_string()),
        "already_started": started.already,
    });
    if started.already {
        ctx.out
            .note(&format!("VM '{}' is already started", state.vm));
    }
    ctx.out.data(&body, || {
        field_table([
            ("vm", state.vm.clone()),
            ("link", state.link.clone()),
            ("attach", state.attach.to_string()),
            ("mac", state.mac.clone()),
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
                state.ip.map_or_else(
                    || "from DHCP (vmctl ip VM --wait)".into(),
                    |ip| ip.to_string(),
                ),
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

/// A user name or numeric uid.
fn resolve_user(user: &str) -> Result<u32, Error> {
    if let Ok(uid) = user.parse::<u32>() {
        return Ok(uid);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(found)) => Ok(found.uid.as_raw()),
        _ => Err(Error::invalid("user", user, "no such user on this host")
            .with_hint("give a user name from /etc/passwd, or a numeric uid")),
    }
}
