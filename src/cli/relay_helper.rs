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
use std::sync::mpsc;

use macaddr::MacAddr6;

use crate::backend::{self, LeaseEvent};
use crate::relay::{Counts, Event, FramePolicy, PacketPort, SocketPort};
use crate::settings::Settings;
use crate::store::Store;

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
    /// The vmctl network to report the VM's learned address on (as a lease event)
    #[arg(long)]
    report: Option<String>,
}

pub fn run(ctx: &Ctx, args: &RelayHelperArgs) -> Result<(), Error> {
    let mac = parse_mac(&args.mac)?;
    let policy = FramePolicy::new(
        mac.into_array(),
        args.no_local,
        args.gateway,
        args.subnet,
        args.address,
    );
    let failed = |what: &str, e: std::io::Error| {
        Error::host(
            format!("relay: {what}: {e}"),
            "`vmctl doctor` shows the VM's state",
        )
    };
    let net: Arc<dyn PacketPort> = match (&args.tap, &args.vmnet) {
        (Some(tap), _) => Arc::new(open_tap(tap).map_err(|e| failed("TAP", e))?),
        (None, Some(mode)) => open_vmnet(ctx, mode, args.report.as_deref(), args.no_local)?,
        (None, None) => unreachable!("clap requires --tap or --vmnet"),
    };
    let vm: Arc<dyn PacketPort> =
        Arc::new(SocketPort::bind(&args.socket).map_err(|e| failed("socket", e))?);
    let learned = args
        .report
        .clone()
        .map(|network| reporter(ctx.store.clone(), network, mac));
    let result = crate::relay::relay(&vm, &net, policy, &Arc::new(Counts::default()), move |e| {
        if let (Event::Learned(ip), Some(learned)) = (e, &learned) {
            let _ = learned.send(ip);
        }
    });
    let _ = std::fs::remove_file(&args.socket);
    result.map_err(|e| failed("relaying", e))
}

/// A thread that records each address the relay learns as a lease event of `network`, off
/// the relay's threads (it takes the store lock, and on macOS loads the VM's pf anchor).
fn reporter(store: Store, network: String, mac: MacAddr6) -> mpsc::Sender<Ipv4Addr> {
    let (send, addresses) = mpsc::channel::<Ipv4Addr>();
    std::thread::spawn(move || {
        for ip in addresses {
            let recorded = Settings::load(&store).and_then(|settings| {
                let lock = store.lock()?;
                backend::host(&store, &settings).lease_event(
                    &lock,
                    &network,
                    LeaseEvent::Bound { mac, ip },
                )
            });
            // Its stderr is the relay's log in run/.
            match recorded {
                Ok(()) => crate::output::diag(&format!("relay: the VM has {ip} (DHCP)\n")),
                Err(e) => crate::output::diag(&format!(
                    "relay: the VM has {ip}, but it was not recorded: {e}\n"
                )),
            }
        }
    });
    send
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

/// The VM's vmnet interface. Shared and host interfaces get the range of the VM's network
/// (built-in or named), so every VM of a network shares one vmnet network (vmnet's
/// per-process network API would give each VM a network of its own).
#[cfg(target_os = "macos")]
fn open_vmnet(
    ctx: &Ctx,
    mode: &str,
    network: Option<&str>,
    isolated: bool,
) -> Result<Arc<dyn PacketPort>, Error> {
    use crate::relay::vmnet::{VmnetMode, VmnetPort};
    let settings = ctx.settings()?;
    let range = |builtin: &str| {
        let plan = settings
            .address_plan(network.unwrap_or(builtin))
            .unwrap_or(&settings.shared);
        (plan.gateway(), plan.pool_last(), plan.mask)
    };
    let vmnet_mode = match mode {
        "shared" => VmnetMode::Shared(range("shared")),
        "host" => VmnetMode::Host(range("host")),
        other => match other.strip_prefix("bridged:") {
            Some(interface) => VmnetMode::Bridged(interface.to_owned()),
            None => {
                return Err(Error::invalid(
                    "vmnet mode",
                    other,
                    "not shared, host or bridged:IF",
                ));
            }
        },
    };
    VmnetPort::start(vmnet_mode, isolated)
        .map(|port| Arc::new(port) as Arc<dyn PacketPort>)
        .map_err(|status| {
            let (message, hint) = crate::relay::explain_vmnet_failure(&status, mode);
            Error::host(message, hint)
        })
}

#[cfg(not(target_os = "macos"))]
fn open_vmnet(
    _ctx: &Ctx,
    _mode: &str,
    _network: Option<&str>,
    _isolated: bool,
) -> Result<Arc<dyn PacketPort>, Error> {
    Err(Error::host(
        "vmnet exists on macOS only",
        "on Linux the relay's network side is a TAP (--tap)",
    ))
}
