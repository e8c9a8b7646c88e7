//! A stand-in for the macOS host that records every command the backend would run (the same
//! argument vectors `System` runs, from `host::commands`) and keeps what its answers need:
//! `/etc/bootptab`, whether pf is on and which references hold it. An operation can be told
//! to fail.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use super::host::{MacHost, commands};
use crate::error::Error;
use crate::settings::Settings;
use crate::store::{StartedVm, Store};
use crate::sys::Owner;

/// Clones share one tape: a test keeps one, the backend owns the other.
#[derive(Clone, Default)]
pub struct Recording(Rc<Tape>);

#[derive(Default)]
pub struct Tape {
    log: crate::backend::oplog::OpLog,
    bootptab: RefCell<String>,
    /// pf's references, by token; pf is on while one is held.
    held: RefCell<BTreeSet<String>>,
    next_token: Cell<u64>,
    invoking: Cell<Option<Owner>>,
    pf_conf: RefCell<String>,
}

impl Recording {
    /// A host with the stock `/etc/pf.conf` lines and a user who ran sudo (uid 501).
    pub fn new() -> Recording {
        let host = Recording::default();
        *host.0.pf_conf.borrow_mut() =
            "rdr-anchor \"com.apple/*\"\nanchor \"com.apple/*\"\n".to_owned();
        host.0.invoking.set(Some(Owner { uid: 501, gid: 20 }));
        host.0.next_token.set(1001);
        host
    }

    /// The commands so far, each as it would run.
    pub fn ops(&self) -> Vec<String> {
        self.0.log.ops()
    }

    pub fn clear(&self) {
        self.0.log.clear();
    }

    /// The next operation whose record starts with `prefix` fails (once).
    pub fn fail_on(&self, prefix: &str) {
        self.0.log.fail_on(prefix);
    }

    pub fn bootptab(&self) -> String {
        self.0.bootptab.borrow().clone()
    }

    pub fn set_bootptab(&self, text: &str) {
        *self.0.bootptab.borrow_mut() = text.to_owned();
    }

    /// The tokens that keep pf enabled now.
    pub fn held(&self) -> Vec<String> {
        self.0.held.borrow().iter().cloned().collect()
    }

    /// Someone ran `pfctl -d`: pf is off, and every reference is void.
    pub fn pf_disabled_by_hand(&self) {
        self.0.held.borrow_mut().clear();
    }

    pub fn set_invoking_user(&self, owner: Option<Owner>) {
        self.0.invoking.set(owner);
    }

    fn op(&self, record: String) -> Result<(), Error> {
        self.0.log.op(record)
    }

    fn command(&self, argv: &[String]) -> Result<(), Error> {
        self.op(argv.join(" "))
    }
}

impl MacHost for Recording {
    fn require_root(&self, _what: &str) -> Result<(), Error> {
        Ok(())
    }

    fn invoking_user(&self) -> Option<Owner> {
        self.0.invoking.get()
    }

    fn primary_group(&self, uid: u32) -> u32 {
        uid + 1000
    }

    fn pf_load(&self, anchor: &str, rules: &str) -> Result<(), Error> {
        let first_rule = rules.lines().find(|l| !l.starts_with('#')).unwrap_or("");
        self.op(format!(
            "{} <<< {first_rule}",
            commands::pf_load(anchor).join(" ")
        ))
    }

    fn pf_flush(&self, anchor: &str) -> Result<(), Error> {
        self.command(&commands::pf_flush(anchor))
    }

    fn pf_enable(&self) -> Result<String, Error> {
        self.command(&commands::pf_enable())?;
        let token = self.0.next_token.get();
        self.0.next_token.set(token + 1);
        self.0.held.borrow_mut().insert(token.to_string());
        Ok(token.to_string())
    }

    fn pf_release(&self, token: &str) -> Result<(), Error> {
        self.command(&commands::pf_release(token))?;
        if self.0.held.borrow_mut().remove(token) {
            Ok(())
        } else {
            Err(Error::host(
                format!("pfctl -X {token}: no such token"),
                "a test",
            ))
        }
    }

    fn pf_enabled(&self) -> Option<bool> {
        Some(!self.0.held.borrow().is_empty())
    }

    fn pf_conf(&self) -> String {
        self.0.pf_conf.borrow().clone()
    }

    fn read_bootptab(&self) -> Result<String, Error> {
        Ok(self.bootptab())
    }

    fn write_bootptab(&self, text: &str) -> Result<(), Error> {
        self.op("write /etc/bootptab".into())?;
        self.set_bootptab(text);
        Ok(())
    }

    fn reload_bootpd(&self) -> Result<(), Error> {
        self.command(&commands::bootpd_reload())
    }

    fn bootpd_blocked(&self) -> bool {
        false
    }

    fn defaults_write(&self, domain: &str, args: &[String]) -> Result<(), Error> {
        self.command(&commands::defaults_write(domain, args))
    }

    fn read_system_file(&self, _path: &str) -> Vec<u8> {
        Vec::new()
    }

    fn make_socket_dir(&self, dir: &Path, owner: Option<Owner>) -> Result<(), Error> {
        let owner = owner.map_or("root".to_owned(), |o| format!("{}:{}", o.uid, o.gid));
        self.op(format!("mkdir -m 700 {} ({owner})", tail(dir)))
    }

    fn remove_socket_dir(&self, dir: &Path) {
        let _ = self.op(format!("rm -r {}", tail(dir)));
    }

    fn spawn_relay(
        &self,
        _store: &Store,
        _settings: &Settings,
        vm: &StartedVm,
        socket: &Path,
        port: &[String],
        owner: Option<Owner>,
    ) -> Result<u32, Error> {
        let owner = owner.map_or("root".to_owned(), |o| format!("{}:{}", o.uid, o.gid));
        self.op(format!(
            "relay-helper {} {} {} ({owner})",
            vm.name,
            port.join(" "),
            tail(socket)
        ))?;
        Ok(4242)
    }

    fn stop_relay(&self, pid: Option<u32>) {
        let _ = self.op(format!("stop relay {pid:?}"));
    }
}

/// A path from `run/` on: the tests' homes are temporary folders.
fn tail(path: &Path) -> String {
    let text = path.display().to_string();
    text.find("/run/")
        .map_or(text.clone(), |at| text[at + 1..].to_owned())
}
