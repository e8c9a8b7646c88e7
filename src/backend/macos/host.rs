//! What the macOS backend asks of the host, one operation at a time: pf (anchors, and the
//! references that keep it enabled), bootpd's reservations and its reload, the system's
//! preferences, the relay helpers and their sockets' folders. `System` does it for real (as
//! root, with Apple's own tools); the recording host (`recording.rs`) stands in for it, so the
//! backend's decisions are tested on Linux.
//!
//! The tools and what vmctl relies on, from their manuals and sources:
//! - `pfctl -E` takes a reference that keeps pf enabled and prints `Token : N` (on stderr,
//!   unless `-q`); `pfctl -X N` releases it; pf stops when the last reference goes. The stock
//!   `/etc/pf.conf` asks every component that uses pf to work this way. `pfctl -d` disables pf
//!   and voids every reference.
//! - bootpd reads `/etc/bootptab` when it starts (and on SIGHUP): `launchctl kickstart -kp
//!   system/com.apple.bootpd` restarts it (as socket_vmnet documents).
//! - The system's preferences are written with `defaults write <path without .plist>`
//!   (defaults(1)), which goes through cfprefsd, never by rewriting the file under it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::files::BOOTPTAB;
use crate::error::Error;
use crate::settings::Settings;
use crate::store::{StartedVm, Store, write_through};
use crate::sys::Owner;

const PFCTL: &str = "/sbin/pfctl";
const LAUNCHCTL: &str = "/bin/launchctl";
const DEFAULTS: &str = "/usr/bin/defaults";
/// bootpd's launchd service.
pub const BOOTPD_SERVICE: &str = "system/com.apple.bootpd";

/// The host operations of the macOS backend; a failure is the error the user reads.
pub trait MacHost {
    /// vmnet, pf and bootptab are the system's: say so before touching anything.
    fn require_root(&self, what: &str) -> Result<(), Error>;
    /// The user who ran vmctl through sudo (`SUDO_UID`, `SUDO_GID`): a VM's socket is theirs
    /// when nobody else is named.
    fn invoking_user(&self) -> Option<Owner>;
    /// The primary group of `uid`.
    fn primary_group(&self, uid: u32) -> u32;

    /// Load an anchor's rules (`pfctl -a ANCHOR -f -`).
    fn pf_load(&self, anchor: &str, rules: &str) -> Result<(), Error>;
    /// Empty an anchor (`pfctl -a ANCHOR -F all`).
    fn pf_flush(&self, anchor: &str) -> Result<(), Error>;
    /// Take a reference that keeps pf enabled (`pfctl -E`); its token.
    fn pf_enable(&self) -> Result<String, Error>;
    /// Release a reference (`pfctl -X TOKEN`).
    fn pf_release(&self, token: &str) -> Result<(), Error>;
    /// Is pf enabled (`pfctl -s info`)? `None` when pfctl cannot say.
    fn pf_enabled(&self) -> Option<bool>;
    /// `/etc/pf.conf` (empty when unreadable).
    fn pf_conf(&self) -> String;

    /// `/etc/bootptab` (empty when missing).
    fn read_bootptab(&self) -> Result<String, Error>;
    fn write_bootptab(&self, text: &str) -> Result<(), Error>;
    /// Make bootpd read `/etc/bootptab` again.
    fn reload_bootpd(&self) -> Result<(), Error>;
    /// Does the application firewall block bootpd (no VM gets a lease)?
    fn bootpd_blocked(&self) -> bool;

    /// `defaults write DOMAIN ARGS...` (DOMAIN: a path without `.plist`).
    fn defaults_write(&self, domain: &str, args: &[String]) -> Result<(), Error>;
    /// A system file's bytes (empty when missing or unreadable).
    fn read_system_file(&self, path: &str) -> Vec<u8>;

    /// A VM's socket folder, afresh: empty, mode 0700, `owner`'s (root's without one).
    fn make_socket_dir(&self, dir: &Path, owner: Option<Owner>) -> Result<(), Error>;
    /// Remove a VM's socket folder and what is in it.
    fn remove_socket_dir(&self, dir: &Path);
    /// Start a VM's relay helper; its pid once it is ready.
    fn spawn_relay(
        &self,
        store: &Store,
        settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        port: &[String],
        owner: Option<Owner>,
    ) -> Result<u32, Error>;
    /// End a relay helper (if that pid is still one).
    fn stop_relay(&self, pid: Option<u32>);
}

/// The token in `pfctl -E`'s output (`Token : 123`).
pub fn pf_token(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let value = value.trim();
        (key.trim() == "Token"
            && !value.is_empty()
            && value.len() <= 20
            && value.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.to_owned())
    })
}

/// The commands `System` runs, as argument vectors (the recording host records the same).
pub mod commands {
    use super::{BOOTPD_SERVICE, DEFAULTS, LAUNCHCTL, PFCTL};

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|&w| w.to_owned()).collect()
    }

    pub fn pf_load(anchor: &str) -> Vec<String> {
        argv(&[PFCTL, "-a", anchor, "-f", "-"])
    }

    pub fn pf_flush(anchor: &str) -> Vec<String> {
        argv(&[PFCTL, "-a", anchor, "-F", "all"])
    }

    /// Never `-q`: the token is printed only without it.
    pub fn pf_enable() -> Vec<String> {
        argv(&[PFCTL, "-E"])
    }

    pub fn pf_release(token: &str) -> Vec<String> {
        argv(&[PFCTL, "-X", token])
    }

    pub fn pf_info() -> Vec<String> {
        argv(&[PFCTL, "-s", "info"])
    }

    pub fn bootpd_reload() -> Vec<String> {
        argv(&[LAUNCHCTL, "kickstart", "-kp", BOOTPD_SERVICE])
    }

    pub fn defaults_write(domain: &str, args: &[String]) -> Vec<String> {
        let mut all = argv(&[DEFAULTS, "write", domain]);
        all.extend(args.iter().cloned());
        all
    }
}

/// The real host.
#[derive(Debug, Default)]
pub struct System;

impl System {
    /// Run `argv` (with `input` on its stdin): its stdout and stderr together.
    fn run(argv: &[String], input: &str, hint: &str) -> Result<String, Error> {
        let shown = || argv.join(" ");
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::host(format!("running {}: {e}", shown()), hint))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::host(format!("waiting for {}: {e}", shown()), hint))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(Error::host(
                format!("{} failed: {}", shown(), text.trim()),
                hint,
            ))
        }
    }

    fn pfctl(argv: &[String], input: &str) -> Result<String, Error> {
        Self::run(argv, input, "run vmctl as root; `vmctl doctor` checks pf")
    }
}

impl MacHost for System {
    fn require_root(&self, what: &str) -> Result<(), Error> {
        if nix::unistd::geteuid().is_root() {
            Ok(())
        } else {
            Err(Error::host(
                format!(
                    "vmctl {what} needs root on macOS (vmnet, pf and bootptab are the system's)"
                ),
                "run it with sudo",
            ))
        }
    }

    fn invoking_user(&self) -> Option<Owner> {
        let id = |var: &str| std::env::var(var).ok()?.parse::<u32>().ok();
        let uid = id("SUDO_UID").filter(|&uid| uid != 0)?;
        Some(Owner {
            uid,
            gid: id("SUDO_GID").unwrap_or_else(|| self.primary_group(uid)),
        })
    }

    fn primary_group(&self, uid: u32) -> u32 {
        nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map_or(uid, |user| user.gid.as_raw())
    }

    fn pf_load(&self, anchor: &str, rules: &str) -> Result<(), Error> {
        Self::pfctl(&commands::pf_load(anchor), rules).map(drop)
    }

    fn pf_flush(&self, anchor: &str) -> Result<(), Error> {
        Self::pfctl(&commands::pf_flush(anchor), "").map(drop)
    }

    fn pf_enable(&self) -> Result<String, Error> {
        let said = Self::pfctl(&commands::pf_enable(), "")?;
        pf_token(&said).ok_or_else(|| {
            Error::host(
                format!("pfctl -E gave no token: {}", said.trim()),
                "check `pfctl -s References` as root",
            )
        })
    }

    fn pf_release(&self, token: &str) -> Result<(), Error> {
        Self::pfctl(&commands::pf_release(token), "").map(drop)
    }

    fn pf_enabled(&self) -> Option<bool> {
        let info = Self::pfctl(&commands::pf_info(), "").ok()?;
        if info.contains("Status: Enabled") {
            Some(true)
        } else if info.contains("Status: Disabled") {
            Some(false)
        } else {
            None
        }
    }

    fn pf_conf(&self) -> String {
        std::fs::read_to_string("/etc/pf.conf").unwrap_or_default()
    }

    fn read_bootptab(&self) -> Result<String, Error> {
        match std::fs::read_to_string(BOOTPTAB) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::io("reading", BOOTPTAB, e)),
        }
    }

    fn write_bootptab(&self, text: &str) -> Result<(), Error> {
        write_through(Path::new(BOOTPTAB), text.as_bytes())
    }

    fn reload_bootpd(&self) -> Result<(), Error> {
        Self::run(
            &commands::bootpd_reload(),
            "",
            "bootpd keeps the old reservations until it restarts: run `sudo launchctl kickstart -kp system/com.apple.bootpd`",
        )
        .map(drop)
    }

    fn bootpd_blocked(&self) -> bool {
        Command::new("/usr/libexec/ApplicationFirewall/socketfilterfw")
            .args(["--getappblocked", "/usr/libexec/bootpd"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_lowercase())
            .is_ok_and(|text| text.contains("blocked") && !text.contains("permitted"))
    }

    fn defaults_write(&self, domain: &str, args: &[String]) -> Result<(), Error> {
        Self::run(
            &commands::defaults_write(domain, args),
            "",
            "run it as root (sudo)",
        )
        .map(drop)
    }

    fn read_system_file(&self, path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_default()
    }

    fn make_socket_dir(&self, dir: &Path, owner: Option<Owner>) -> Result<(), Error> {
        make_owned_dir(dir, owner)
    }

    fn remove_socket_dir(&self, dir: &Path) {
        // Not through a symlink put there: remove_dir_all removes the link, not its target.
        let _ = std::fs::remove_dir_all(dir);
    }

    fn spawn_relay(
        &self,
        store: &Store,
        settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        port: &[String],
        owner: Option<Owner>,
    ) -> Result<u32, Error> {
        crate::backend::spawn_helper(store, settings, vm, socket, port, owner)
    }

    fn stop_relay(&self, pid: Option<u32>) {
        crate::backend::stop_helper(pid, None);
    }
}

/// `dir` afresh (whatever was there goes), mode 0700, owned by `owner`. Its ownership and mode
/// are set through the folder opened without following links, so nothing put at that name
/// in between is changed instead.
pub fn make_owned_dir(dir: &Path, owner: Option<Owner>) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(dir),
        Ok(_) => std::fs::remove_file(dir),
        Err(_) => Ok(()),
    }
    .map_err(|e| Error::io("removing", dir, e))?;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("creating", dir, e))?;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_NOFOLLOW).bits())
        .open(dir)
        .map_err(|e| Error::io("opening", dir, e))?;
    if let Some(owner) = owner {
        std::os::unix::fs::fchown(&opened, Some(owner.uid), Some(owner.gid))
            .map_err(|e| Error::io("handing over", dir, e))?;
    }
    opened
        .set_permissions(std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("setting the mode of", dir, e))
}

/// The host's routes and interface networks: `netstat -rn -f inet`.
pub fn host_routes() -> Result<Vec<crate::discovery::routes::HostRoute>, Error> {
    let hint = "give the subnet with --subnet and check it against `netstat -rn` by hand";
    let output = Command::new("netstat")
        .args(["-rn", "-f", "inet"])
        .output()
        .map_err(|e| {
            Error::host(
                format!("cannot run netstat -rn -f inet to read the host's routes: {e}"),
                hint,
            )
        })?;
    if !output.status.success() {
        return Err(Error::host(
            format!(
                "netstat -rn -f inet failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            hint,
        ));
    }
    Ok(crate::discovery::routes::parse_netstat_rn(
        &String::from_utf8_lossy(&output.stdout),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_of_pfctl_e() {
        // pfctl -E writes "pf enabled\nToken : N" to stderr (Apple's pfctl.c).
        assert_eq!(
            pf_token("No ALTQ support in kernel\npf enabled\nToken : 13835432931289407231\n")
                .as_deref(),
            Some("13835432931289407231")
        );
        assert_eq!(pf_token("pf already enabled\n"), None);
        assert_eq!(pf_token("Token : -F all\n"), None);
        assert_eq!(pf_token("Token :\n"), None);
    }

    /// The folder is made afresh for its owner, 0700; a symlink left at its name is replaced,
    /// never followed. (As root, it is handed to another user too.)
    #[test]
    fn a_socket_folder_is_its_owners_and_follows_no_link() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let home = tempfile::tempdir().unwrap();
        let target = home.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let dir = home.path().join("web.net");
        std::os::unix::fs::symlink(&target, &dir).unwrap();
        let root = nix::unistd::geteuid().is_root();
        let owner = root.then_some(Owner {
            uid: 65534,
            gid: 65534,
        });
        make_owned_dir(&dir, owner).unwrap();
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert!(meta.is_dir(), "a folder, not the link");
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        if root {
            assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        }
        let untouched = std::fs::metadata(&target).unwrap();
        assert_eq!(untouched.uid(), nix::unistd::geteuid().as_raw());
        // Again, over a folder with a file in it (a peer's socket from before): emptied.
        crate::store::write_atomic(&dir.join("vfkit-1-2.sock"), b"").unwrap();
        make_owned_dir(&dir, owner).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
}
