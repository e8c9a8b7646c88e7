//! `vmctl network create|list|show|delete|import`: named networks beside the built-in `shared`
//! and `host`. Each is `networks/<name>.plist`; a shared or host network comes up with its
//! first started VM (its own bridge and dnsmasq on Linux) and goes down with its last.
//!
//! This file holds the subcommand tree and its dispatch; `shared` what the subcommands share.

mod create;
mod delete;
mod import;
mod list;
mod shared;
mod show;

use clap::{Args, Subcommand};

use super::Ctx;
use crate::error::Error;

/// Named networks: create, list, show, delete, import (Lima, vmnet-broker)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl network create ci --mode shared --subnet 10.77.0.0/24
  vmctl network create ci2 --mode shared --subnet auto      the first free /24
  vmctl network create lab --mode host --mask 255.255.255.240
  vmctl network create lan --mode bridge --interface eth1
  vmctl network list
  vmctl modify web network --network ci; sudo vmctl start web
  vmctl network delete ci")]
pub struct NetworkArgs {
    #[command(subcommand)]
    command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
enum NetworkCommand {
    Create(create::CreateArgs),
    List(list::ListArgs),
    Show(show::ShowArgs),
    Delete(delete::DeleteArgs),
    Import(import::ImportArgs),
}

pub fn run(ctx: &Ctx, args: &NetworkArgs) -> Result<(), Error> {
    match &args.command {
        NetworkCommand::Create(a) => create::run(ctx, a),
        NetworkCommand::List(_) => list::run(ctx),
        NetworkCommand::Show(a) => show::run(ctx, a),
        NetworkCommand::Delete(a) => delete::run(ctx, a),
        NetworkCommand::Import(a) => import::run(ctx, a),
    }
}
