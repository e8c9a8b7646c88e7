//! `vmctl run VM [--attach ...] [--owner USER] [--user USER] -- COMMAND...`: start the VM's
//! network, run its hypervisor with the NIC substituted in, stop the network when it exits.

use std::process::{Command, ExitStatus};

use clap::Args;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Ctx;
use super::shared::attach::{attachment, resolve_user};
use crate::backend;
use crate::error::Error;
use crate::model::Attach;
use crate::store::StartedVm;

/// Start a VM's network, run its hypervisor, stop the network when the hypervisor exits
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl run web -- qemu-system-x86_64 -accel kvm -m 2G -drive file=web.qcow2 \\
      -netdev tap,id=n0,ifname={tap},script=no,downscript=no \\
      -device virtio-net-pci,netdev=n0,mac={mac}
  vmctl run web --user alice -- qemu-system-x86_64 ...   QEMU as alice (who owns the TAP)
In the command's arguments {tap} {mac} {ip} {vm} {socket} are replaced by the VM's link,
MAC, static IP (else empty), name and frame socket (with --attach socket); its environment
gets VMCTL_VM, VMCTL_TAP, VMCTL_MAC, VMCTL_SOCKET. SIGINT, SIGTERM and SIGHUP are passed on to it; vmctl
exits with its status (128+N when a signal N ended it).")]
pub struct RunArgs {
    /// The VM
    vm: String,
    /// How the NIC reaches the VM: `tap` (a TAP for the hypervisor), `socket` (a unix
    /// datagram socket, {socket}) or `netns:NAME`
    #[arg(long, default_value = "tap", value_name = "tap|socket|netns:NAME")]
    attach: String,
    /// User (name or uid) allowed to open the TAP [default: --user's]
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
    /// Run the command as this user (name or uid)
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// The hypervisor and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &RunArgs) -> Result<(), Error> {
    let user = args.user.as_deref().map(resolve_user).transpose()?;
    let owner = match &args.owner {
        Some(owner) => Some(resolve_user(owner)?.0),
        None => user.map(|(uid, _)| uid).filter(|_| args.attach == "tap"),
    };
    let attach = attachment(&args.attach, owner)?;
    let settings = ctx.settings()?;
    let backend = backend::host(&ctx.store, &settings);
    // Signals are ours from here on: a Ctrl-C while starting must not leave a network behind.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::host(format!("handling signals: {e}"), "try again"))?;
    let state = {
        let lock = ctx.store.lock()?;
        let profile = ctx.store.load(&args.vm)?;
        if let Some(held) = ctx.store.load_run(&profile.name)?
            && !held.from_earlier_boot()
            && !held.orphaned()
        {
            return Err(already_started(&held));
        }
        let started = backend.start(&lock, &profile, attach, Some(std::process::id()))?;
        for warning in &started.warnings {
            ctx.out.warn(warning);
        }
        started.state
    };
    let mut command = Command::new(&args.command[0]);
    command
        .args(args.command[1..].iter().map(|a| substitute(a, &state)))
        .env("VMCTL_VM", &state.name)
        .env("VMCTL_MAC", crate::model::Mac(state.mac).to_string())
        .env("VMCTL_TAP", tap_name(&state))
        .env("VMCTL_SOCKET", socket_path(&state));
    if let Some((uid, gid)) = user {
        std::os::unix::process::CommandExt::uid(&mut command, uid);
        std::os::unix::process::CommandExt::gid(&mut command, gid);
    }
    let mut relay_died = None;
    let status = match command.spawn() {
        Ok(mut child) => {
            let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            // The relay helper start made (a socket attachment) is this process's child:
            // watched, reaped, and the command ended if the relay dies under it.
            let watch = state
                .helper
                .map(|helper| backend::helper::HelperWatch::start(helper, child.id()));
            let handle = signals.handle();
            let forwarder = std::thread::spawn(move || {
                for number in signals.forever() {
                    if let Ok(signal) = Signal::try_from(number) {
                        let _ = kill(pid, signal);
                    }
                }
            });
            let status = child.wait();
            if let Some(watch) = &watch {
                watch.command_ended();
                relay_died = watch.ended_first().map(|how| {
                    let said = backend::helper::last_words(&ctx.store, &state.name);
                    (how, said)
                });
            }
            handle.close();
            let _ = forwarder.join();
            status.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    // Whatever way the command ended, the network goes.
    let stopped = {
        let lock = ctx.store.lock()?;
        match ctx.store.load_run(&state.name)? {
            Some(now) if now.holder == Some(std::process::id()) => backend.stop(&lock, &now),
            _ => Ok(backend::Stopped::default()),
        }
    };
    let status = status.map_err(|e| {
        Error::host(
            format!("cannot run `{}`: {e}", args.command[0]),
            "check the command's name and PATH; the VM's network was stopped again",
        )
    })?;
    for warning in stopped?.warnings {
        ctx.out.warn(&warning);
    }
    if let Some((how, said)) = relay_died {
        return Err(Error::host(
            format!(
                "the relay of VM '{}' ended ({how}{}) while `{}` ran: the VM lost its network, so `{}` was stopped",
                state.name,
                said.map(|line| format!(": {line}")).unwrap_or_default(),
                args.command[0],
                args.command[0]
            ),
            "`vmctl doctor` checks what the relay needs; `vmctl run` again starts a new one",
        ));
    }
    std::process::exit(exit_code(status));
}

/// The shell's convention: the exit code, else 128 + the signal's number.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

fn tap_name(state: &StartedVm) -> &str {
    match state.attach {
        Attach::Tap | Attach::OwnedTap { .. } => &state.link,
        Attach::Netns { .. } | Attach::Socket => "",
    }
}

fn socket_path(state: &StartedVm) -> String {
    state
        .socket
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// `{tap}` `{mac}` `{ip}` `{vm}` `{socket}` in one argument.
fn substitute(arg: &str, state: &StartedVm) -> String {
    let ip = state.static_ip.map(|ip| ip.to_string()).unwrap_or_default();
    arg.replace("{tap}", tap_name(state))
        .replace("{mac}", &crate::model::Mac(state.mac).to_string())
        .replace("{ip}", &ip)
        .replace("{vm}", &state.name)
        .replace("{socket}", &socket_path(state))
}

fn already_started(held: &StartedVm) -> Error {
    let by = match held.holder {
        Some(pid) => format!("`vmctl run`, pid {pid}"),
        None => "`vmctl start`".to_owned(),
    };
    Error::conflict(format!("VM '{}' is already started (by {by})", held.name)).with_hint(
        match held.holder {
            Some(pid) => format!("end that run first (kill {pid}), or run another VM"),
            None => format!("`vmctl stop {}` first, or run another VM", held.name),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        let mut state: StartedVm = plist::from_bytes(
            br#"<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
            <key>schema_version</key><integer>1</integer><key>vm</key><string>web</string>
            <key>uuid</key><string>u</string><key>started</key><integer>0</integer>
            <key>mode</key><string>shared</string><key>link</key><string>vmt-1</string>
            <key>attach</key><dict><key>kind</key><string>tap</string></dict>
            <key>mac</key><string>52:54:00:00:00:01</string><key>no_local</key><false/>
            </dict></plist>"#,
        )
        .unwrap();
        let arg = "tap,ifname={tap},mac={mac},ip={ip},vm={vm}{socket}";
        assert_eq!(
            substitute(arg, &state),
            "tap,ifname=vmt-1,mac=52:54:00:00:00:01,ip=,vm=web"
        );
        state.static_ip = Some("192.168.64.9".parse().unwrap());
        state.attach = Attach::Netns { netns: "n".into() };
        assert_eq!(substitute("{ip} {tap}.", &state), "192.168.64.9 .");
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
    }
}
