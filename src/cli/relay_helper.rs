//! `vmctl relay-helper ...` (hidden): the process `start --attach socket` (and every macOS
//! start) leaves running. Its arguments, resolved, and the lease events of the addresses it
//! learns; the helper itself is `relay::helper::serve`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::mpsc;

use clap::Args;
use macaddr::MacAddr6;

use super::Ctx;
use crate::backend::{self, LeaseEvent};
use crate::error::Error;
use crate::model::mac::parse_mac;
use crate::relay::helper::{HelperArgs, NetSide, serve};
use crate::settings::Settings;
use crate::store::Store;
use crate::sys::Owner;

/// Relay a VM's socket to its TAP (started by `vmctl start --attach socket`, not by people)
#[derive(Debug, Args)]
pub struct RelayHelperArgs {
    #[arg(long, required_unless_present = "vmnet")]
    tap: Option<String>,
    #[arg(long, conflicts_with = "tap")]
    vmnet: Option<String>,
    #[arg(long)]
    socket: PathBuf,
    /// The socket's owner, UID:GID (the hypervisor's user); it is bound as that user
    #[arg(long, value_name = "UID:GID")]
    owner: Option<String>,
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
    let owner = args
        .owner
        .as_deref()
        .map(|text| {
            text.split_once(':')
                .and_then(|(uid, gid)| {
                    Some(Owner {
                        uid: uid.parse().ok()?,
                        gid: gid.parse().ok()?,
                    })
                })
                .ok_or_else(|| {
                    Error::invalid("--owner", text, "expected UID:GID")
                        .with_hint("e.g. --owner 501:20")
                })
        })
        .transpose()?;
    let net = match (&args.tap, &args.vmnet) {
        (Some(tap), _) => NetSide::Tap(tap.clone()),
        (None, Some(mode)) => NetSide::Vmnet(mode.clone()),
        (None, None) => unreachable!("clap requires --tap or --vmnet"),
    };
    let helper = HelperArgs {
        net,
        socket: args.socket.clone(),
        owner,
        mac: parse_mac(&args.mac)?,
        no_local: args.no_local,
        gateway: args.gateway,
        gateway_mac: args.gateway_mac.as_deref().map(parse_mac).transpose()?,
        subnet: args.subnet,
        address: args.address,
        network: args.report.clone(),
    };
    let learned = args
        .report
        .clone()
        .map(|network| reporter(ctx.store.clone(), network, helper.mac));
    serve(
        || ctx.settings(),
        &helper,
        move |ip| {
            if let Some(learned) = &learned {
                let _ = learned.send(ip);
            }
        },
    )
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
