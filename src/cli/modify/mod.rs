//! `vmctl modify VM network|port|add port|delete port|add network|delete network`, and Anka
//! 2.x's `set network-card`:
//! change a VM's NIC and port forwards. Every change is checked whole, under the store lock, then written atomically.
//!
//! This file holds the subcommand tree and its dispatch: `nic` changes the NIC, `port` the port
//! forwards.

mod nic;
mod port;

use clap::{Args, Subcommand};

use super::Ctx;
use crate::error::Error;

/// Change a VM's network card or port forwards
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl modify web network --mac 52:54:00:12:34:56
  vmctl modify web network -t bridge -b en0
  vmctl modify web network --ip 192.168.64.20
  vmctl modify web network --no-local
  vmctl modify web network -f rules.txt      rules re-read from rules.txt at every start
  vmctl modify web port ssh 22               add: host port chosen from portfwd_base
  vmctl modify web port vnc 5900:127.0.0.1:15900
  vmctl modify web add port ssh -g 22 -p 2222 -l 127.0.0.1
  vmctl modify web port ssh -p 2200          change an existing rule's host port
  vmctl modify web port ssh --set-name ssh2  rename it
  vmctl modify web delete port ssh vnc       or: port ssh -d, delete port --all
  vmctl modify web delete network            disconnect the NIC (add network connects it)")]
pub struct ModifyArgs {
    /// The VM
    vm: String,
    #[command(subcommand)]
    what: ModifyCommand,
}

#[derive(Debug, Subcommand)]
enum ModifyCommand {
    /// Change the network card
    Network(nic::NetworkArgs),
    /// Add a port forward, change one (NAME exists), or delete one (-d NAME) or all (-d --all)
    Port(port::PortArgs),
    /// Add a port forward (`add port NAME [RULE] [-g N] [-p N] [-l IP]`), or connect a deleted network card
    Add {
        #[command(subcommand)]
        what: AddCommand,
    },
    /// Delete port forwards (`delete port [--all] [NAME...]`), or the network card
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
    },
    /// Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`
    #[command(hide = true)]
    Set {
        #[command(subcommand)]
        what: SetCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AddCommand {
    /// Add a port forward (Anka 2.x: `add port-forwarding`)
    #[command(name = "port", visible_alias = "port-forwarding")]
    Port(port::AddPortArgs),
    /// Connect the network card of a VM whose card is deleted (a vmctl VM has one NIC)
    #[command(name = "network", alias = "network-card")]
    Network(nic::NetworkArgs),
}

#[derive(Debug, Subcommand)]
enum SetCommand {
    #[command(name = "network-card")]
    NetworkCard(nic::SetCardArgs),
}

#[derive(Debug, Subcommand)]
enum DeleteCommand {
    /// Delete port forwards (Anka 2.x: `delete port-forwarding`)
    #[command(name = "port", visible_alias = "port-forwarding")]
    Port(port::DeletePortArgs),
    /// Delete the network card: the VM keeps it, disconnected (same as `network -t disconnected`)
    #[command(name = "network", alias = "network-card")]
    NetworkCard(nic::CardIndex),
}

pub fn run(ctx: &Ctx, args: &ModifyArgs) -> Result<(), Error> {
    let vm = &args.vm;
    match &args.what {
        ModifyCommand::Network(network) => nic::network(ctx, vm, network),
        ModifyCommand::Set {
            what: SetCommand::NetworkCard(card),
        } => nic::set_card(ctx, vm, card),
        ModifyCommand::Delete {
            what: DeleteCommand::NetworkCard(index),
        } => nic::delete_card(ctx, vm, index),
        ModifyCommand::Port(port) => port::modify_port(ctx, vm, port),
        ModifyCommand::Add {
            what: AddCommand::Port(add),
        } => port::add(ctx, vm, add),
        ModifyCommand::Add {
            what: AddCommand::Network(network),
        } => nic::add_card(ctx, vm, network),
        ModifyCommand::Delete {
            what: DeleteCommand::Port(delete),
        } => port::delete(ctx, vm, delete),
    }
}
