//! The relay helper (`vmctl relay-helper`, hidden), the process a socket-attached VM's start
//! leaves running: it relays between the VM's socket and its network port until stopped.
//!
//! It binds the VM's socket first, as the user the hypervisor runs as, while it is still one
//! thread (`SocketPort::bind_as`); then opens the network side (a TAP on Linux, a vmnet
//! interface on macOS) and says `ready` on its stdout, which `backend::spawn_helper` waits for.
//! SIGTERM, SIGINT and SIGHUP close both ports: the relay ends, the vmnet interface is stopped
//! (`vmnet_stop_interface`), the socket removed. Lost frames and how it ended go to its stderr
//! (`run/<vm>.relay.log`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use macaddr::MacAddr6;

use super::{
    Counts, Event, FramePolicy, PacketPort, SocketPort, VmnetRanges, Way, open_tap, open_vmnet,
    vmnet_gateway_mac,
};
use crate::error::Error;
use crate::model::Mac;
use crate::settings::Settings;
use crate::sys::Owner;

/// The network side of a helper.
#[derive(Debug, Clone)]
pub enum NetSide {
    /// An existing TAP (Linux).
    Tap(String),
    /// A vmnet interface (macOS): `shared`, `host` or `bridged:IF`.
    Vmnet(String),
}

/// What a helper is told.
#[derive(Debug, Clone)]
pub struct HelperArgs {
    pub net: NetSide,
    pub socket: PathBuf,
    pub owner: Option<Owner>,
    pub mac: MacAddr6,
    pub no_local: bool,
    pub gateway: Ipv4Addr,
    pub gateway_mac: Option<MacAddr6>,
    pub subnet: ipnetwork::Ipv4Network,
    pub address: Option<Ipv4Addr>,
    /// The VM's vmctl network: the range of its vmnet interface (macOS).
    pub network: Option<String>,
}

/// The helper: relay between the VM's socket and its network port until stopped (SIGTERM,
/// SIGINT, SIGHUP: a clean end) or a port fails (an error). `settings` is asked for the
/// vmnet ranges, on macOS; `learned` hears each address the VM is acknowledged (on a relay
/// thread: it must hand slow work on).
pub fn serve(
    settings: impl FnOnce() -> Result<Settings, Error>,
    args: &HelperArgs,
    learned: impl Fn(Ipv4Addr) + Send + Sync + 'static,
) -> Result<(), Error> {
    let failed = |what: &str, e: std::io::Error| {
        Error::host(
            format!("relay: {what}: {e}"),
            "`vmctl doctor` shows the VM's state",
        )
    };
    // First, while this process is one thread: the socket, bound as its owner.
    let vm: Arc<dyn PacketPort> =
        Arc::new(SocketPort::bind_as(&args.socket, args.owner).map_err(|e| {
            let reachable = match (e.kind(), args.owner) {
                (std::io::ErrorKind::PermissionDenied, Some(owner)) => format!(
                    " (uid {} cannot reach that folder: the hypervisor could not either)",
                    owner.uid
                ),
                _ => String::new(),
            };
            failed(&format!("socket {}{reachable}", args.socket.display()), e)
        })?);
    let net = match &args.net {
        NetSide::Tap(tap) => open_tap(tap).map_err(|e| failed("TAP", e)),
        NetSide::Vmnet(mode) => open_vmnet(
            mode,
            || settings().map(|s| vmnet_ranges(&s, args.network.as_deref())),
            args.no_local,
        ),
    };
    let net = match net {
        Ok(net) => net,
        Err(e) => {
            let _ = std::fs::remove_file(&args.socket);
            return Err(e);
        }
    };
    let gateway_mac = match (args.gateway_mac, &args.net) {
        (Some(known), _) => Some(known.into_array()),
        // A bridged VM has no gateway here (0.0.0.0).
        (None, NetSide::Vmnet(_)) if !args.gateway.is_unspecified() => vmnet_gateway(args.gateway),
        (None, _) => None,
    };
    let policy = FramePolicy::new(
        args.mac.into_array(),
        args.no_local,
        args.gateway,
        gateway_mac,
        args.subnet,
        args.address,
    );
    let stopped = stop_on_signals(&vm, &net)?;
    let counts = Arc::new(Counts::default());
    let lost_frames = AtomicU64::new(0);
    crate::output::write_stdout("ready\n");
    let result = crate::relay::relay(&vm, &net, policy, &counts, move |e| match e {
        Event::Learned(ip) => learned(ip),
        Event::Lost(way, loss) => {
            // Logged at 1, 2, 4, 8... lost frames: the log shows it without filling up.
            let n = lost_frames.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                let toward = match way {
                    Way::FromVm => "to the network",
                    Way::ToVm => "to the VM",
                };
                crate::output::diag(&format!(
                    "relay: a frame {toward} was lost: {} ({n} lost so far)\n",
                    loss.reason()
                ));
            }
        }
        Event::Dropped(_) => {}
    });
    let _ = std::fs::remove_file(&args.socket);
    crate::output::diag(&format!(
        "relay: ended: {} frames from the VM, {} to it, {} dropped by the policy, {} lost\n",
        counts.from_vm.load(Ordering::Relaxed),
        counts.to_vm.load(Ordering::Relaxed),
        counts.dropped.load(Ordering::Relaxed),
        counts.lost.load(Ordering::Relaxed),
    ));
    match result {
        _ if stopped.load(Ordering::SeqCst) => Ok(()),
        Ok(()) => Ok(()),
        Err(e) => Err(failed("relaying", e)),
    }
}

/// SIGTERM, SIGINT and SIGHUP close both ports (on macOS that stops the vmnet interface):
/// the relay ends, and the helper with it. The flag says a signal ended it.
fn stop_on_signals(
    vm: &Arc<dyn PacketPort>,
    net: &Arc<dyn PacketPort>,
) -> Result<Arc<AtomicBool>, Error> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| Error::host(format!("relay: handling signals: {e}"), "try again"))?;
    let stopped = Arc::new(AtomicBool::new(false));
    let (vm, net, flag) = (vm.clone(), net.clone(), stopped.clone());
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            crate::output::diag(&format!("relay: signal {signal}: stopping\n"));
            flag.store(true, Ordering::SeqCst);
            net.close();
            vm.close();
        }
    });
    Ok(stopped)
}

/// The MAC of vmnet's gateway, as the host has it; the relay's log says what was found.
fn vmnet_gateway(gateway: Ipv4Addr) -> Option<[u8; 6]> {
    let found = vmnet_gateway_mac(gateway);
    crate::output::diag(&match found {
        Some(mac) => format!("relay: the gateway {gateway} is {}\n", Mac(mac.into())),
        None => format!(
            "relay: no host interface has the gateway's address {gateway}: DHCP replies to the VM are checked by address only\n"
        ),
    });
    found
}

/// The vmnet ranges of the VM's network (built-in or named): a shared and a host interface
/// get the range of `network`, or of the built-in network of their mode.
fn vmnet_ranges(settings: &Settings, network: Option<&str>) -> VmnetRanges {
    let range = |builtin: &str| {
        let plan = settings
            .address_plan(network.unwrap_or(builtin))
            .unwrap_or(&settings.shared);
        (plan.gateway(), plan.pool_last(), plan.mask)
    };
    VmnetRanges {
        shared: range("shared"),
        host: range("host"),
    }
}
