//! The command line: clap types, one file per command. Each command parses, resolves into a
//! validated request, calls the layers below and prints through `Output`.

mod clone;
mod config;
mod create;
mod delete;
mod doctor;
mod generate;
mod hosts_sync;
mod ip;
mod lease_event;
mod leases;
mod list;
mod modify;
mod network;
mod network_flags;
pub(crate) mod plan;
mod relay_helper;
mod run;
mod show;
mod start;
mod stop;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::Error;
use crate::output::Output;
use crate::settings::Settings;
use crate::store::Store;

pub use generate::generated_files;

const EXAMPLES: &str = "\
Examples:
  vmctl create web                               profile with defaults: shared, virtio-net, auto MAC
  vmctl show web network                         the NIC as a table
  vmctl modify web network --ip 192.168.64.20    reserve a static IP
  vmctl modify web port ssh 22                   forward a free host port to the guest's 22
  sudo vmctl start web                           a TAP on the shared network (bridge, DHCP, NAT)
  vmctl ip web --wait 30s                        the address the VM got
  vmctl -j list                                  every VM as JSON
  ANKA_BRIDGE_NAME=en1 vmctl config bridge_name  env beats the config file";

/// vmctl owns the networking of virtual machines on this host.
#[derive(Debug, Parser)]
#[command(name = "vmctl", version, about, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Folder of profiles and settings [default: the per-user data folder]
    #[arg(long, global = true, env = "VMCTL_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)
    #[arg(short = 'j', long, visible_alias = "machine-readable", global = true)]
    json: bool,
    /// Answer yes to confirmations
    #[arg(short = 'y', long, global = true)]
    yes: bool,
    /// Print no notes or warnings on stderr
    #[arg(short = 'q', long, global = true)]
    quiet: bool,
    /// Say more about what happens (`-v` belongs to `--vlan`, as in Anka)
    #[arg(long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Create(create::CreateArgs),
    List(list::ListArgs),
    Show(show::ShowArgs),
    Modify(modify::ModifyArgs),
    Clone(clone::CloneArgs),
    Delete(delete::DeleteArgs),
    Config(config::ConfigArgs),
    Plan(plan::PlanArgs),
    Ip(ip::IpArgs),
    Leases(leases::LeasesArgs),
    HostsSync(hosts_sync::HostsSyncArgs),
    Start(start::StartArgs),
    Stop(stop::StopArgs),
    Run(run::RunArgs),
    Doctor(doctor::DoctorArgs),
    Network(network::NetworkArgs),
    #[command(hide = true)]
    LeaseEvent(lease_event::LeaseEventArgs),
    #[command(hide = true)]
    RelayHelper(relay_helper::RelayHelperArgs),
    #[command(hide = true)]
    Completions(generate::CompletionsArgs),
    #[command(hide = true)]
    Man(generate::ManArgs),
}

/// What every command gets: where the files are, how to print, the global answers.
pub struct Ctx {
    pub store: Store,
    pub out: Output,
    pub yes: bool,
    pub verbose: bool,
}

impl Ctx {
    /// The host settings: env over `config.plist` over defaults.
    pub fn settings(&self) -> Result<Settings, Error> {
        Settings::load(&self.store)
    }
}

/// The clap definition, for the completion and man page generators.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parse `args`, run the command, print, and return the exit code.
pub fn run(args: &[OsString]) -> ExitCode {
    // VMCTL_JSON beats ANKA_MACHINE_READABLE, as every VMCTL_ variable beats its ANKA_ twin.
    let json_env = env_flag("VMCTL_JSON")
        .unwrap_or_else(|| env_flag("ANKA_MACHINE_READABLE").unwrap_or(false));
    let json_arg = args
        .iter()
        .skip(1)
        .any(|a| a == "-j" || a == "--json" || a == "--machine-readable");
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err, json_env || json_arg),
    };
    let out = Output {
        json: cli.json || json_env,
        quiet: cli.quiet,
    };
    let result = home_dir(cli.home).and_then(|home| {
        let ctx = Ctx {
            store: Store::new(home, cli.quiet),
            out,
            yes: cli.yes,
            verbose: cli.verbose,
        };
        dispatch(cli.command, &ctx)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error_of(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn dispatch(command: Command, ctx: &Ctx) -> Result<(), Error> {
    match command {
        Command::Create(args) => create::run(ctx, &args),
        Command::List(args) => list::run(ctx, &args),
        Command::Show(args) => show::run(ctx, &args),
        Command::Modify(args) => modify::run(ctx, args),
        Command::Clone(args) => clone::run(ctx, &args),
        Command::Delete(args) => delete::run(ctx, &args),
        Command::Config(args) => config::run(ctx, &args),
        Command::Plan(args) => plan::run(ctx, &args),
        Command::Ip(args) => ip::run(ctx, &args),
        Command::Leases(args) => leases::run(ctx, &args),
        Command::HostsSync(args) => hosts_sync::run(ctx, &args),
        Command::Start(args) => start::run(ctx, &args),
        Command::Stop(args) => stop::run(ctx, &args),
        Command::Run(args) => run::run(ctx, &args),
        Command::Doctor(args) => doctor::run(ctx, &args),
        Command::Network(args) => network::run(ctx, &args),
        Command::LeaseEvent(args) => lease_event::run(ctx, &args),
        Command::RelayHelper(args) => relay_helper::run(ctx, &args),
        Command::Completions(args) => {
            generate::completions(&args);
            Ok(())
        }
        Command::Man(args) => generate::man(&args),
    }
}

/// A boolean environment variable: unset or empty is `None`; 0/false/no/off is false.
fn env_flag(var: &str) -> Option<bool> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty())?;
    Some(!matches!(
        value.to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    ))
}

fn home_dir(flag: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(home) = flag.filter(|h| !h.as_os_str().is_empty()) {
        return Ok(home);
    }
    directories::ProjectDirs::from("", "", "vmctl")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| Error::Usage("no home folder: set VMCTL_HOME or pass --home DIR".into()))
}

/// Print a clap error as `error:` + `hint:` (or the JSON envelope); help and version as clap does.
fn usage_error(err: &clap::Error, json: bool) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        );
    }
    let rendered = err.render().to_string();
    // clap's message runs until the blank line before "Usage:"; keep it on one line.
    let message = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .replace("  ", " ");
    let values = |kind| match err.get(kind) {
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        Some(ContextValue::String(v)) => Some(v.clone()),
        _ => None,
    };
    let usage = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(|u| u.replace("--home <DIR> ", "").replace(" --home <DIR>", ""));
    let hint = if let Some(valid) = values(ContextKind::ValidValue).filter(|v| !v.is_empty()) {
        format!("possible values: {valid}")
    } else if let Some(s) =
        values(ContextKind::SuggestedSubcommand).or_else(|| values(ContextKind::SuggestedArg))
    {
        format!("did you mean '{s}'?")
    } else if let Some(usage) = usage {
        format!("usage: {usage}")
    } else {
        "see `vmctl help`".to_owned()
    };
    Output { json, quiet: false }.error(&message, Some(&hint), crate::error::code::USAGE);
    ExitCode::from(2)
}
