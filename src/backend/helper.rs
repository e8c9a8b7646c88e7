//! The relay helper of a socket-attached VM (`vmctl relay-helper`, hidden; its body is
//! `relay::helper::serve`) as the backends use it: where its socket goes and whether the OS can
//! bind it there, how `start` runs it and waits until it says it is ready, how `stop` ends it,
//! how `vmctl run` watches it. Its stderr is `run/<vm>.relay.log`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::error::Error;
use crate::model::{Attach, Mac};
use crate::settings::Settings;
use crate::store::{StartedVm, Store};
use crate::sys::{Os, Owner};

/// How long `start` waits for a helper to say it is ready (vmnet takes up to a second).
const READY_WITHIN: Duration = Duration::from_secs(5);

/// A VM's socket as each backend places it: `run/<vm>.sock` on Linux; on macOS a folder of
/// its own, `run/<vm>.net/vm.sock`, that belongs to the hypervisor's user (vfkit binds its
/// own socket beside the one it is given, so that user must be able to write there, and
/// `run/` is root's).
pub fn socket_path(store: &Store, vm: &str, os: Os) -> PathBuf {
    match os {
        Os::Linux => store.run_dir().join(format!("{vm}.sock")),
        Os::Macos => store.run_dir().join(format!("{vm}.net")).join("vm.sock"),
    }
}

/// The longest path a unix socket can be bound at (`sun_path` less its NUL).
pub fn max_socket_path(os: Os) -> usize {
    match os {
        Os::Macos => 103,
        Os::Linux => 107,
    }
}

/// The socket vfkit binds beside the one it is given: `vfkit-<pid>-<random>.sock` in hex, a
/// pid below 100,000 (macOS's limit) and a 16-bit random.
const VFKIT_PEER: &str = "/vfkit-1869f-ffff.sock";

/// Refuse a socket path the OS cannot bind (macOS: 103 bytes, Linux: 107), and on macOS one
/// whose folder leaves vfkit no room for its own socket: before anything is made.
pub fn check_socket_path(path: &Path, vm: &str, os: Os) -> Result<(), Error> {
    let max = max_socket_path(os);
    let own = path.as_os_str().len();
    let peer = path.parent().map_or(0, |dir| dir.as_os_str().len()) + VFKIT_PEER.len();
    let (needed, what) = if own > max {
        (own, "the VM's socket")
    } else if os == Os::Macos && peer > max {
        (peer, "the socket vfkit binds beside it")
    } else {
        return Ok(());
    };
    let system = match os {
        Os::Macos => "macOS",
        Os::Linux => "Linux",
    };
    Err(Error::invalid(
        "socket path",
        path.display().to_string(),
        format!(
            "{what} needs {needed} bytes, and {system} takes at most {max} in a unix socket's path (VM '{vm}')"
        ),
    )
    .with_hint(format!(
        "give vmctl a shorter home (--home or VMCTL_HOME, e.g. /var/vmctl: {} bytes over), or the VM a shorter name (vmctl clone {vm} NEW, then vmctl delete {vm})",
        needed - max
    )))
}

/// Start the relay helper of a socket-attached VM (`port`: `--tap NAME` or `--vmnet MODE`);
/// its socket is bound as `owner` when given. Returns its pid once it says it is ready.
pub fn spawn_helper(
    store: &Store,
    settings: &Settings,
    state: &StartedVm,
    socket: &Path,
    port: &[String],
    owner: Option<Owner>,
) -> Result<u32, Error> {
    let failed = |why: String, hint: Option<&str>| {
        Error::host(
            format!("the relay of VM '{}' did not start: {why}", state.name),
            hint.map_or_else(
                || {
                    if cfg!(target_os = "macos") {
                        "`vmctl doctor` checks what vmnet needs".to_owned()
                    } else {
                        "is /dev/net/tun there, and can vmctl write its run/ folder?".to_owned()
                    }
                },
                str::to_owned,
            ),
        )
    };
    let exe = std::env::current_exe().map_err(|e| failed(e.to_string(), None))?;
    let run_dir = store.run_dir();
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io("creating", &run_dir, e))?;
    // Its complaints, kept beside its state: a log, not state, so no atomic write.
    let log_path = run_dir.join(format!("{}.relay.log", state.name));
    #[allow(clippy::disallowed_methods)]
    let log = std::fs::File::create(&log_path).map_err(|e| Error::io("creating", &log_path, e))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--home")
        .arg(store.home())
        .args([
            "--quiet",
            "relay-helper",
            "--mac",
            &Mac(state.mac).to_string(),
        ])
        .args(port)
        .arg("--socket")
        .arg(socket);
    if let Some(owner) = owner {
        command.args(["--owner", &format!("{}:{}", owner.uid, owner.gid)]);
    }
    if state.no_local {
        command.arg("--no-local");
    }
    if let Some(network) = &state.network {
        // The addresses it learns from DHCP reach the firewall as lease events of it.
        command.args(["--report", network]);
    }
    if let Some(plan) = state
        .network
        .as_deref()
        .and_then(|n| settings.address_plan(n))
    {
        command
            .args(["--gateway", &plan.gateway().to_string()])
            .args(["--subnet", &plan.subnet().to_string()]);
    }
    if let Some(ip) = state.static_ip {
        command.args(["--address", &ip.to_string()]);
    }
    // Its own process group: a Ctrl-C meant for a hypervisor in the foreground is not
    // meant for the relay (`stop` ends it).
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| failed(e.to_string(), None))?;
    // `ready` on its stdout; the end of it (no line) means it exited.
    let stdout = child.stdout.take().expect("piped");
    let (said, heard) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = said.send(line);
    });
    match heard.recv_timeout(READY_WITHIN) {
        Ok(line) if line.trim() == "ready" => Ok(child.id()),
        Ok(_) => {
            let status = child
                .wait()
                .map_or_else(|e| e.to_string(), |s| s.to_string());
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            let line = |prefix: &str| {
                said.lines()
                    .find_map(|l| l.strip_prefix(prefix))
                    .map(str::trim)
            };
            let why = line("error:").map_or_else(|| format!("it exited ({status})"), str::to_owned);
            Err(failed(why, line("hint:")))
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(failed(
                format!("not ready after {} s", READY_WITHIN.as_secs()),
                None,
            ))
        }
    }
}

/// Is `pid` a relay helper (and not a process that inherited its number)?
fn is_relay_helper(pid: u32) -> bool {
    crate::sys::process::command_line(pid)
        .is_some_and(|c| String::from_utf8_lossy(&c).contains("relay-helper"))
}

/// End a relay helper (if that pid is still one) and remove its socket and, beside it, the
/// log named like it (Linux: `run/<vm>.sock`, `run/<vm>.relay.log`).
pub fn stop_helper(pid: Option<u32>, socket: Option<&Path>) {
    if let Some(pid) = pid.filter(|pid| is_relay_helper(*pid)) {
        crate::sys::process::terminate(pid, Duration::from_secs(2));
    }
    if let Some(socket) = socket {
        let _ = std::fs::remove_file(socket);
        let _ = std::fs::remove_file(socket.with_extension("relay.log"));
    }
}

/// A started VM's relay helper and socket, as far as the host confirms they are what vmctl
/// made: the pid runs vmctl's relay helper and started when the run file says it did; the
/// socket is where `socket_path` puts it on `os`. A run file can say anything: what is not
/// confirmed is left alone, with a warning naming the file.
pub fn verified_relay(
    store: &Store,
    state: &StartedVm,
    os: Os,
    warnings: &mut Vec<String>,
) -> (Option<u32>, Option<PathBuf>) {
    let file = format!("run/{}.plist", state.name);
    let pid = state.helper.filter(|&pid| {
        let started = crate::sys::process::start_time(pid);
        let ours = is_relay_helper(pid)
            && state
                .helper_start
                .as_deref()
                .is_none_or(|recorded| started.as_deref() == Some(recorded));
        if !ours && crate::sys::process::alive(pid) {
            warnings.push(format!(
                "{file}: pid {pid} is not the VM's relay helper (another process has that pid now): left alone"
            ));
        }
        ours
    });
    let ours = socket_path(store, &state.name, os);
    if let Some(socket) = state.socket.as_ref().filter(|s| **s != ours) {
        warnings.push(format!(
            "{file}: socket {} is not vmctl's ({}): left alone",
            socket.display(),
            ours.display()
        ));
    }
    let socket = (state.attach == Attach::Socket || state.socket.is_some()).then_some(ours);
    (pid, socket)
}

/// A relay helper this process started, watched (`vmctl run`): it is reaped when it exits (no
/// zombie), and when it exits while the hypervisor still runs, the hypervisor is ended
/// (SIGTERM): a VM whose network died should not run on as if it had one.
pub struct HelperWatch {
    /// How the helper ended, when it did before the command.
    ended: Arc<Mutex<Option<String>>>,
    command_done: Arc<AtomicBool>,
}

impl HelperWatch {
    /// Watch `helper` (a child of this process) for the command running as `command`.
    pub fn start(helper: u32, command: u32) -> HelperWatch {
        let ended = Arc::new(Mutex::new(None));
        let command_done = Arc::new(AtomicBool::new(false));
        let (report, done) = (ended.clone(), command_done.clone());
        std::thread::spawn(move || {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(helper).unwrap_or(i32::MAX));
            let how = match nix::sys::wait::waitpid(pid, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => format!("exit status {code}"),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, signal, _)) => {
                    format!("killed by {signal}")
                }
                Ok(other) => format!("{other:?}"),
                // Not our child (or reaped already): nothing to watch.
                Err(_) => return,
            };
            if done.load(Ordering::SeqCst) {
                return;
            }
            *report.lock().expect("helper watch") = Some(how);
            let command = nix::unistd::Pid::from_raw(i32::try_from(command).unwrap_or(i32::MAX));
            let _ = nix::sys::signal::kill(command, nix::sys::signal::Signal::SIGTERM);
        });
        HelperWatch {
            ended,
            command_done,
        }
    }

    /// The command has ended: from here on the helper ends because `stop` ends it.
    pub fn command_ended(&self) {
        self.command_done.store(true, Ordering::SeqCst);
    }

    /// How the helper ended while the command ran, if it did.
    pub fn ended_first(&self) -> Option<String> {
        self.ended.lock().expect("helper watch").clone()
    }
}

/// The last line a VM's relay helper wrote to its log (`run/<vm>.relay.log`): why it ended.
pub fn last_words(store: &Store, vm: &str) -> Option<String> {
    let log = std::fs::read_to_string(store.run_dir().join(format!("{vm}.relay.log"))).ok()?;
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("relay: ended:"))
        .map(|l| crate::error::cut(l).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths_the_os_cannot_bind_are_refused_first() {
        let store = Store::new(
            PathBuf::from("/Users/alice/Library/Application Support/vmctl"),
            true,
        );
        let web = socket_path(&store, "web", Os::Macos);
        assert_eq!(
            web,
            Path::new("/Users/alice/Library/Application Support/vmctl/run/web.net/vm.sock")
        );
        check_socket_path(&web, "web", Os::Macos).unwrap();
        // 30 bytes of name: fits alone, but leaves vfkit no room beside it on macOS.
        let name = "a-build-runner-vm-0042-nightly";
        let long = socket_path(&store, name, Os::Macos);
        assert!(long.as_os_str().len() <= 103);
        let err = check_socket_path(&long, name, Os::Macos).unwrap_err();
        assert!(err.to_string().contains("vfkit"), "{err}");
        assert!(err.to_string().contains("at most 103"), "{err}");
        assert!(err.hint().unwrap().contains("VMCTL_HOME"), "{err:?}");
        // Linux has no vfkit, and 107 bytes.
        check_socket_path(&socket_path(&store, name, Os::Linux), name, Os::Linux).unwrap();
        let longer = "x".repeat(60);
        let err = check_socket_path(&socket_path(&store, &longer, Os::Linux), &longer, Os::Linux)
            .unwrap_err();
        assert!(
            err.to_string().contains("the VM's socket needs 116 bytes"),
            "{err}"
        );
    }

    /// A helper that exits while the command runs ends the command and says how it ended; one
    /// that `stop` ends after the command leaves nothing to say. Both are reaped (by the watch:
    /// the helpers here are never waited for otherwise).
    #[test]
    #[allow(clippy::zombie_processes)]
    fn a_watched_helper_that_dies_ends_the_command() {
        let mut command = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let helper = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let watch = HelperWatch::start(helper.id(), command.id());
        let status = command.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(15),
            "SIGTERM"
        );
        watch.command_ended();
        assert_eq!(watch.ended_first().as_deref(), Some("exit status 3"));
        assert!(!crate::sys::process::alive(helper.id()), "reaped");

        let mut command = std::process::Command::new("true").spawn().unwrap();
        let helper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let watch = HelperWatch::start(helper.id(), command.id());
        command.wait().unwrap();
        watch.command_ended();
        crate::sys::process::terminate(helper.id(), Duration::from_secs(2));
        assert!(!crate::sys::process::alive(helper.id()), "reaped");
        assert_eq!(watch.ended_first(), None);
    }
}
