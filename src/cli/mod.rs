//! The command line: clap types, one file per command (a folder for a command with
//! subcommands of its own), and `shared` for what commands share. Each command parses, resolves
//! into a validated request, calls the layers below and prints through `Output`. This file
//! holds the top of the tree: the global flags, the one table of subcommands, and parsing.

mod agent;
mod clone;
mod config;
mod create;
mod delete;
mod describe;
mod doctor;
mod fleet;
mod generate;
mod hosts_sync;
mod ip;
mod lease_event;
mod leases;
mod list;
mod modify;
mod network;
mod plan;
mod relay_helper;
mod run;
mod shared;
mod show;
mod start;
mod stop;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

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

/// Declares the subcommands once, in help order: each one's clap attributes, its arguments, the
/// function that runs it, and whether it parses with a tree of its own (`own`) or always with
/// the whole tree (`whole`). Generates the `Command` enum, `dispatch`, and `SUBCOMMANDS`, from
/// which `command_with_only` finds a subcommand by the name clap gives it.
macro_rules! commands {
    ($(
        $(#[$attr:meta])*
        $variant:ident($args:ty) => $run:path, $tree:ident;
    )*) => {
        #[derive(Debug, Subcommand)]
        enum Command {
            $( $(#[$attr])* $variant($args), )*
        }

        fn dispatch(command: Command, ctx: &Ctx) -> Result<(), Error> {
            match command {
                $( Command::$variant(args) => $run(ctx, &args), )*
            }
        }

        /// Every subcommand, in the order of `Command`.
        const SUBCOMMANDS: &[SubcommandDef] = &[
            $( SubcommandDef {
                variant: stringify!($variant),
                augment: <$args as clap::Args>::augment_args,
                own_tree: tree!($tree),
            }, )*
        ];
    };
}

/// `own` or `whole` in the table of `commands!`.
macro_rules! tree {
    (own) => {
        true
    };
    (whole) => {
        false
    };
}

commands! {
    Create(create::CreateArgs) => create::run, own;
    List(list::ListArgs) => list::run, own;
    Show(show::ShowArgs) => show::run, own;
    Describe(describe::DescribeArgs) => describe::run, own;
    Modify(modify::ModifyArgs) => modify::run, own;
    Clone(clone::CloneArgs) => clone::run, own;
    Delete(delete::DeleteArgs) => delete::run, own;
    Config(config::ConfigArgs) => config::run, own;
    Plan(plan::PlanArgs) => plan::run, own;
    Ip(ip::IpArgs) => ip::run, own;
    Leases(leases::LeasesArgs) => leases::run, own;
    HostsSync(hosts_sync::HostsSyncArgs) => hosts_sync::run, own;
    Start(start::StartArgs) => start::run, own;
    Stop(stop::StopArgs) => stop::run, own;
    Run(run::RunArgs) => run::run, own;
    Doctor(doctor::DoctorArgs) => doctor::run, own;
    Network(network::NetworkArgs) => network::run, own;
    Agent(agent::AgentArgs) => agent::run, own;
    Fleet(fleet::FleetArgs) => fleet::run, own;
    #[command(hide = true)]
    LeaseEvent(lease_event::LeaseEventArgs) => lease_event::run, own;
    #[command(hide = true)]
    RelayHelper(relay_helper::RelayHelperArgs) => relay_helper::run, whole;
    #[command(hide = true)]
    Completions(generate::CompletionsArgs) => generate::completions, whole;
    #[command(hide = true)]
    Man(generate::ManArgs) => generate::man, whole;
}

/// One subcommand of the table.
struct SubcommandDef {
    /// The name of its variant of `Command`, which clap names the subcommand after.
    variant: &'static str,
    /// Adds its arguments to a `clap::Command`.
    augment: fn(clap::Command) -> clap::Command,
    /// Whether it parses with a tree of its own (see `parse`).
    own_tree: bool,
}

/// The subcommands' names, in the order of `SUBCOMMANDS`: each variant's in kebab-case, as
/// clap's derive names it (`HostsSync` is `hosts-sync`). A test holds them to clap's own tree.
fn subcommand_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| SUBCOMMANDS.iter().map(|s| kebab_case(s.variant)).collect())
}

/// `HostsSync` as `hosts-sync`: a dash before each capital but the first, all lower-case.
fn kebab_case(camel: &str) -> String {
    let mut kebab = String::with_capacity(camel.len() + 2);
    for (at, c) in camel.char_indices() {
        if c.is_ascii_uppercase() && at > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    kebab
}

/// What every command gets: where the files are, how to print, the global answers.
pub struct Ctx {
    pub store: Store,
    pub out: Output,
    pub yes: bool,
    pub verbose: bool,
}

impl Ctx {
    /// The host settings: env over `config.plist` over defaults. The `ANKA_` variables passed
    /// over are said once per command.
    pub fn settings(&self) -> Result<Settings, Error> {
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let settings = Settings::load(&self.store)?;
        if !settings.env_warnings.is_empty()
            && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            for warning in &settings.env_warnings {
                self.out.warn(warning);
            }
        }
        Ok(settings)
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

/// `vmctl` with its global flags and only the subcommand `name` (`None` for an unknown name,
/// or one that always parses with the whole tree).
fn command_with_only(name: &str) -> Option<clap::Command> {
    use clap::Args;
    let (def, name) = SUBCOMMANDS
        .iter()
        .zip(subcommand_names())
        .find(|(def, known)| def.own_tree && *known == name)?;
    let top = clap::Command::new("vmctl")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true);
    Some(GlobalArgs::augment_args(top).subcommand((def.augment)(clap::Command::new(name.as_str()))))
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
            "vmctl network create ci --mode host --subnet 10.77.0.0/24 --description x",
            "vmctl -j network list",
            "vmctl network show shared --home /h",
            "vmctl network delete ci --force -y",
            "vmctl network import lima f.yaml --apply",
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

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn the_table_names_each_subcommand_as_clap_does() {
        let clap_names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        assert_eq!(subcommand_names(), clap_names.as_slice());
    }

    #[test]
    fn every_visible_subcommand_has_a_tree_of_its_own() {
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            match command_with_only(name) {
                Some(small) => assert!(small.find_subcommand(name).is_some(), "{name}"),
                None => assert!(sub.is_hide_set(), "{name} is visible but not found"),
            }
        }
        // Hidden ones that always parse with the whole tree, as before the table was one.
        for whole in ["relay-helper", "completions", "man"] {
            assert!(command_with_only(whole).is_none(), "{whole}");
        }
        assert!(command_with_only("lease-event").is_some());
    }
}
