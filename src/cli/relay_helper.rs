//! `vmctl relay-helper ...` (hidden): the process `start --attach socket` leaves running. It
//! relays frames between the VM's socket and its network port through the VM's frame policy,
//! until it is stopped (SIGTERM) or the port goes away: a TAP on Linux (`--tap`), a vmnet
//! interface on macOS (`--vmnet shared|host|bridged:IF`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Ctx;
use crate::error::Error;
use crate::model::mac::parse_mac;
use crate::relay::{Counts, FramePolicy, PacketPort, SocketPort};

/// Relay a VM's socket to its TAP (started by `vmctl start --attach socket`, not by people)
#[derive(Debug, Args)]
pub struct RelayHelperArgs {
    #[arg(long, required_unless_present = "vmnet")]
    tap: Option<String>,
    #[arg(long, conflicts_with = "tap")]
    vmnet: Option<String>,
    #[arg(long)]
    socket: PathBuf,
    #[arg(long)]
    mac: String,
    #[arg(long)]
    no_local: bool,
    #[arg(long, default_value = "0.0.0.0")]
    gateway: Ipv4Addr,
    #[arg(long, default_value = "0.0.0.0/32")]
    subnet: ipnetwork::Ipv4Network,
    #[arg(long)]
    address: Option<Ipv4Addr>,
}

pub fn run(_ctx: &Ctx, args: &RelayHelperArgs) -> Result<(), Error> {
    let mac = parse_mac(&args.mac)?.into_array();
    let policy = FramePolicy::new(mac, args.no_local, args.gateway, args.subnet, args.address);
    let failed = |what: &str, e: std::io::Error| {
        Error::host(
            format!("relay: {what}: {e}"),
            "`vmctl doctor` shows the VM's state",
        )
    };
    let net: Arc<dyn PacketPort> = match (&args.tap, &args.vmnet) {
        (Some(tap), _) => Arc::new(open_tap(tap).map_err(|e| failed("TAP", e))?),
        (None, Some(mode)) => open_vmnet(mode, args.no_local).map_err(|e| failed("vmnet", e))?,
        (None, None) => unreachable!("clap requires --tap or --vmnet"),
    };
    let vm: Arc<dyn PacketPort> =
        Arc::new(SocketPort::bind(&args.socket).map_err(|e| failed("socket", e))?);
    let result = crate::relay::relay(&vm, &net, policy, &Arc::new(Counts::default()), |_| {});
    let _ = std::fs::remove_file(&args.socket);
    result.map_err(|e| failed("relaying", e))
}

#[cfg(target_os = "linux")]
fn open_tap(name: &str) -> std::io::Result<crate::relay::tap::TapPort> {
    crate::relay::tap::TapPort::open(name)
}

#[cfg(not(target_os = "linux"))]
fn open_tap(_name: &str) -> std::io::Result<SocketPort> {
    Err(std::io::Error::other(
        "a TAP port exists on Linux only (macOS relays to vmnet)",
    ))
}

#[cfg(target_os = "macos")]
fn open_vmnet(mode: &str, isolated: bool) -> std::io::Result<Arc<dyn PacketPort>> {
    use crate::relay::vmnet::{VmnetMode, VmnetPort};
    let mode = match mode {
        "shared" => VmnetMode::Shared,
        "host" => VmnetMode::Host,
        other => match other.strip_prefix("bridged:") {
            Some(interface) => VmnetMode::Bridged(interface.to_owned()),
            None => return Err(std::io::Error::other(format!("unknown vmnet mode {other}"))),
        },
    };
    Ok(Arc::new(VmnetPort::start(mode, isolated)?))
}

#[cfg(not(target_os = "macos"))]
fn open_vmnet(_mode: &str, _isolated: bool) -> std::io::Result<Arc<dyn PacketPort>> {
    Err(std::io::Error::other(
        "vmnet exists on macOS only (Linux relays to a TAP)",
    ))
}
