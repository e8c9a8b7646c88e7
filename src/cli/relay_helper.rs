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
use crate::model::Mac;
use crate::model::mac::parse_mac;
use std::sync::mpsc;

use macaddr::MacAddr6;

use crate::backend::{self, LeaseEvent};
use crate::relay::{
    Counts, Event, FramePolicy, PacketPort, SocketPort, VmnetRanges, open_tap, open_vmnet,
    vmnet_gateway_mac,
};
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
    /// The gateway's MAC (a TAP's: the vmctl bridge's); a vmnet helper asks the host for it
    #[arg(long)]
    gateway_mac: Option<String>,
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
    let gateway_mac = args.gateway_mac.as_deref().map(parse_mac).transpose()?;
    let failed = |what: &str, e: std::io::Error| {
        Error::host(
            format!("relay: {what}: {e}"),
            "`vmctl doctor` shows the VM's state",
        )
    };
    let net: Arc<dyn PacketPort> = match (&args.tap, &args.vmnet) {
        (Some(tap), _) => open_tap(tap).map_err(|e| failed("TAP", e))?,
        (None, Some(mode)) => open_vmnet(
            mode,
            || vmnet_ranges(ctx, args.report.as_deref()),
            args.no_local,
        )?,
        (None, None) => unreachable!("clap requires --tap or --vmnet"),
    };
    let gateway_mac = match (gateway_mac, &args.vmnet) {
        (Some(known), _) => Some(known.into_array()),
        // A bridged VM has no gateway here (0.0.0.0).
        (None, Some(_)) if !args.gateway.is_unspecified() => vmnet_gateway(args.gateway),
        (None, _) => None,
    };
    let policy = FramePolicy::new(
        mac.into_array(),
        args.no_local,
        args.gateway,
        gateway_mac,
        args.subnet,
        args.address,
    );
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

/// The MAC of vmnet's gateway, as the host has it; the relay's log says what was found.
fn vmnet_gateway(gateway: Ipv4Addr) -> Option<[u8; 6]> {
    let found = vmnet_gateway_mac(gateway);
    // Its stderr is the relay's log in run/.
    crate::output::diag(&match found {
        Some(mac) => format!("relay: the gateway {gateway} is {}\n", Mac(mac.into())),
        None => format!(
            "relay: no host interface has the gateway's address {gateway}: DHCP replies to the VM are checked by address only\n"
        ),
    });
    found
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

/// The vmnet ranges of the VM's network (built-in or named): a shared and a host interface
/// get the range of `network`, or of the built-in network of their mode.
fn vmnet_ranges(ctx: &Ctx, network: Option<&str>) -> Result<VmnetRanges, Error> {
    let settings = ctx.settings()?;
    let range = |builtin: &str| {
        let plan = settings
            .address_plan(network.unwrap_or(builtin))
            .unwrap_or(&settings.shared);
        (plan.gateway(), plan.pool_last(), plan.mask)
    };
    Ok(VmnetRanges {
        shared: range("shared"),
        host: range("host"),
    })
}
