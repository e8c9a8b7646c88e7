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

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// The flags every command takes, before or after its name.
#[derive(Debug, clap::Args)]
struct GlobalArgs {
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
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err, json_env || json_arg),
    };
    let global = cli.global;
    let out = Output {
        json: global.json || json_env,
        quiet: global.quiet,
    };
    let result = home_dir(global.home).and_then(|home| {
        let ctx = Ctx {
            store: Store::new(home, global.quiet),
            out,
            yes: global.yes,
            verbose: global.verbose,
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

/// The command line parsed. Building clap's whole tree (every subcommand's arguments and help)
/// is most of the time of a quick command such as `show VM network`, so the tree holds only the
/// subcommand named on the line; anything that does not parse that way (help, a typo, a flag
/// it does not know) is parsed again with the whole tree, so every message is the whole tree's.
fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    if let Some(small) = subcommand_named(args).and_then(command_with_only)
        && let Ok(matches) = small.try_get_matches_from(args)
        && let Ok(cli) = Cli::from_arg_matches(&matches)
    {
        return Ok(cli);
    }
    Cli::try_parse_from(args)
}

/// The subcommand's name: the first argument that is not a global flag (or `--home`'s value).
fn subcommand_named(args: &[OsString]) -> Option<&str> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        match arg {
            "--home" => {
                rest.next();
            }
            "-h" | "--help" | "-V" | "--version" | "help" => return None,
            _ if arg.starts_with('-') => {}
            _ => return Some(arg),
        }
    }
    None
}

/// `vmctl` with its global flags and only the subcommand `name` (`None` for an unknown name).
fn command_with_only(name: &str) -> Option<clap::Command> {
    use clap::Args;
    type Augment = fn(clap::Command) -> clap::Command;
    let (name, augment): (&'static str, Augment) = match name {
        "create" => ("create", create::CreateArgs::augment_args),
        "list" => ("list", list::ListArgs::augment_args),
        "show" => ("show", show::ShowArgs::augment_args),
        "modify" => ("modify", modify::ModifyArgs::augment_args),
        "clone" => ("clone", clone::CloneArgs::augment_args),
        "delete" => ("delete", delete::DeleteArgs::augment_args),
        "config" => ("config", config::ConfigArgs::augment_args),
        "plan" => ("plan", plan::PlanArgs::augment_args),
        "ip" => ("ip", ip::IpArgs::augment_args),
        "leases" => ("leases", leases::LeasesArgs::augment_args),
        "hosts-sync" => ("hosts-sync", hosts_sync::HostsSyncArgs::augment_args),
        "start" => ("start", start::StartArgs::augment_args),
        "stop" => ("stop", stop::StopArgs::augment_args),
        "run" => ("run", run::RunArgs::augment_args),
        "doctor" => ("doctor", doctor::DoctorArgs::augment_args),
        "lease-event" => ("lease-event", lease_event::LeaseEventArgs::augment_args),
        _ => return None,
    };
    let top = clap::Command::new("vmctl")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true);
    Some(GlobalArgs::augment_args(top).subcommand(augment(clap::Command::new(name))))
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

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn the_tree_of_one_subcommand_parses_as_the_whole_tree() {
        for line in [
            "vmctl show web network",
            "vmctl --home /h -j show web network ip",
            "vmctl show web -q network --home=/x",
            "vmctl show web -f",
            "vmctl list --running --field name,ip",
            "vmctl ip web --wait 2m --source lease",
            "vmctl leases --all --file f --network host",
            "vmctl hosts-sync --apply a b --leases-file l",
            "vmctl modify web network --mac auto --no-local",
            "vmctl modify web port ssh 22",
            "vmctl modify web set network-card -t host 0",
            "vmctl create web -t host -y",
            "vmctl config no_local 1",
            "vmctl plan --platform linux --part nft",
            "vmctl stop web --verbose",
            "vmctl run web -- qemu -nic {tap}",
        ] {
            let args: Vec<OsString> = line.split(' ').map(Into::into).collect();
            let name = subcommand_named(&args).unwrap();
            let matches = command_with_only(name)
                .unwrap()
                .try_get_matches_from(&args)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            let small = Cli::from_arg_matches(&matches).unwrap();
            let whole = Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{small:?}"), format!("{whole:?}"), "{line}");
        }
        for whole_tree in ["vmctl --help", "vmctl -j", "vmctl nosuch x"] {
            let args: Vec<OsString> = whole_tree.split(' ').map(Into::into).collect();
            assert!(
                subcommand_named(&args)
                    .and_then(command_with_only)
                    .is_none(),
                "{whole_tree}"
            );
        }
        // What the small tree refuses (help included) is the whole tree's message.
        for refused in [
            "vmctl show --help",
            "vmctl show",
            "vmctl show web nosuch",
            "vmctl ip",
        ] {
            let args: Vec<OsString> = refused.split(' ').map(Into::into).collect();
            assert_eq!(
                parse(&args).unwrap_err().render().to_string(),
                Cli::try_parse_from(&args).unwrap_err().render().to_string(),
                "{refused}"
            );
        }
    }
}
