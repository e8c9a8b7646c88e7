//! Backends realise started VMs' NICs on the host: `start` brings a VM's link up on its
//! network (bringing the network up first when it is its first VM), `stop` takes it down (and
//! the network after its last VM), lease events move DHCP addresses into the firewall, and
//! `doctor` compares what the host has with what `run/` says it should have.
//!
//! A backend receives resolved values (profiles, settings, the `Plan`), never flags.

pub mod macos_files;
pub mod state;

#[cfg(target_os = "linux")]
pub mod linux;

use std::net::Ipv4Addr;

use macaddr::MacAddr6;

use crate::error::Error;
use crate::model::VmProfile;
use crate::plan::Attach;
use crate::settings::Settings;
use crate::store::{Store, StoreLock};
use state::RunState;

/// What `start` did.
#[derive(Debug)]
pub struct Started {
    pub state: RunState,
    /// The VM was started already and its link is there: nothing was changed.
    pub already: bool,
    /// Things the user should know (a pool running low, a recovered network).
    pub warnings: Vec<String>,
}

/// One thing `doctor` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub problem: String,
    /// What `--fix` does about it.
    pub fix: String,
    pub fixed: bool,
}

/// A change dnsmasq reported through its lease hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEvent {
    /// A lease was handed out, renewed, or found at dnsmasq's start.
    Bound { mac: MacAddr6, ip: Ipv4Addr },
    /// A lease ended (expired or released).
    Released { mac: MacAddr6, ip: Ipv4Addr },
}

/// Is the process `pid` there (and, on Linux, not a zombie)?
pub fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None).is_err() {
        return false;
    }
    // A zombie still answers signals; /proc tells it apart where there is one.
    !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

/// The host's networking, as far as vmctl owns it.
pub trait Backend {
    /// Bring `profile`'s NIC up, attached as `attach`; `holder` is the pid of a `vmctl run`
    /// that will stop it again.
    fn start(
        &self,
        lock: &StoreLock,
        profile: &VmProfile,
        attach: Attach,
        holder: Option<u32>,
    ) -> Result<Started, Error>;
    /// Take a started VM's NIC down (and its network after its last VM).
    fn stop(&self, lock: &StoreLock, state: &RunState) -> Result<(), Error>;
    /// Record a lease change of `network` and reload the rules that depend on it.
    fn lease_event(&self, lock: &StoreLock, network: &str, event: LeaseEvent) -> Result<(), Error>;
    /// Forget a deleted VM: its DHCP reservation and lease, so its address returns to the pool.
    fn forget(&self, lock: &StoreLock, profile: &VmProfile) -> Result<(), Error>;
    /// Compare the host with `run/`; with `fix`, repair what differs.
    fn doctor(&self, lock: &StoreLock, fix: bool) -> Result<Vec<Finding>, Error>;
}

/// This platform's backend.
#[cfg(target_os = "linux")]
pub fn host<'a>(store: &'a Store, settings: &'a Settings) -> Box<dyn Backend + 'a> {
    Box::new(linux::Linux::new(store, settings))
}

/// This platform's backend.
#[cfg(not(target_os = "linux"))]
pub fn host<'a>(_store: &'a Store, _settings: &'a Settings) -> Box<dyn Backend + 'a> {
    Box::new(Unsupported)
}

/// Platforms whose backend is not written yet: every host change is refused, saying so.
#[cfg(not(target_os = "linux"))]
struct Unsupported;

#[cfg(not(target_os = "linux"))]
impl Unsupported {
    fn refuse<T>() -> Result<T, Error> {
        Err(Error::host(
            format!(
                "vmctl cannot change this host's network yet: the {} backend is not written",
                std::env::consts::OS
            ),
            "`vmctl plan` prints what it would apply; the Linux backend is complete",
        ))
    }
}

#[cfg(not(target_os = "linux"))]
impl Backend for Unsupported {
    fn start(
        &self,
        _: &StoreLock,
        _: &VmProfile,
        _: Attach,
        _: Option<u32>,
    ) -> Result<Started, Error> {
        Self::refuse()
    }
    fn stop(&self, _: &StoreLock, _: &RunState) -> Result<(), Error> {
        Self::refuse()
    }
    fn lease_event(&self, _: &StoreLock, _: &str, _: LeaseEvent) -> Result<(), Error> {
        Self::refuse()
    }
    fn forget(&self, _: &StoreLock, _: &VmProfile) -> Result<(), Error> {
        Ok(())
    }
    fn doctor(&self, _: &StoreLock, _: bool) -> Result<Vec<Finding>, Error> {
        Self::refuse()
    }
}
