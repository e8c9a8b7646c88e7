//! vmctl in place of `anka` for the tools that script Anka: the parsing and the call sequences
//! of the Packer plugin (veertuinc/packer-plugin-veertu-anka) and of anklet (veertuinc/anklet),
//! ported to Rust, run against the real binary, one VMCTL_HOME per case.
//!
//! The ports keep the Go clients' behaviour, quirks included: Packer reads stdout and stderr
//! from one pipe and parses only the unterminated tail; anklet reads both from one buffer and
//! parses the last non-empty line; both decode with Go's types (a string is no int; a missing
//! or null field is zero). Every client records what it ran and what came back (`transcript`),
//! and every assertion prints it.
//!
//! Left out: a real `start` (root and a network namespace, and a start outside one changes the
//! host); "running" is checked with the run state of this boot written by hand, as tests/cli.rs
//! does. Registry commands (pull, push, registry show) are no part of vmctl: the ports stop
//! where the clients would call them and say so.
// Tests write fixture files (a corrupt profile, a run state) directly, on purpose.
#![allow(clippy::disallowed_methods, clippy::too_many_lines)]

use std::path::Path;

use serde_json::Value;

/// This process's environment without ANKA_/VMCTL_ variables: what a client's host would hand
/// down, kept from leaking the developer's settings into a case.
fn host_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| !k.starts_with("ANKA_") && !k.starts_with("VMCTL_"))
        .collect()
}

/// One child's stdout and stderr through one pipe, as Go's os/exec gives both the same file when
/// `Stderr` is `Stdout`: the bytes in the order the child wrote them, and the exit code (-1 for
/// a signal, as Go's `ExitCode()`).
fn run_combined(args: &[&str], env: &[(String, String)]) -> std::io::Result<(Vec<u8>, i32)> {
    use std::io::Read;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vmctl"));
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    let (mut reader, writer) = std::io::pipe()?;
    cmd.stdin(std::process::Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = cmd.spawn()?;
    // The Command holds the pipe's write ends: drop it, or the read never sees EOF.
    drop(cmd);
    let mut out = Vec::new();
    reader.read_to_end(&mut out)?;
    let status = child.wait()?;
    Ok((out, status.code().unwrap_or(-1)))
}

/// How Go's encoding/json fills typed values, where serde's defaults differ.
mod go {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A JSON null leaves a Go field at its zero value (serde would refuse it for an int or a
    /// string). A missing field is zero too: the structs carry `#[serde(default)]`. A value of
    /// the wrong type is an error, as in Go (`"22"` is no int, `22` is no string). Go also
    /// matches keys case-insensitively; these ports match them exactly (stricter, never looser).
    pub fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// json.RawMessage: `Some` whenever the key is there, even with null; `None` when absent.
    pub fn raw<'de, D>(d: D) -> Result<Option<Value>, D::Error>
    where
        D: Deserializer<'de>,
    {
        Value::deserialize(d).map(Some)
    }

    /// `json.Unmarshal(raw, &s)` for a struct `s`: nothing is "unexpected end of JSON input",
    /// null leaves `s` as it is, anything but an object is a type error.
    pub fn unmarshal<T: DeserializeOwned + Default>(raw: Option<&Value>) -> Result<T, String> {
        match raw {
            None => Err("unexpected end of JSON input".to_owned()),
            Some(Value::Null) => Ok(T::default()),
            Some(v @ Value::Object(_)) => {
                serde_json::from_value(v.clone()).map_err(|e| format!("json: {e}, in: {v}"))
            }
            Some(v) => Err(format!("json: cannot unmarshal {v} into Go struct")),
        }
    }

    /// json.Number: a JSON number, or a string holding one.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct Number(pub String);

    impl<'de> Deserialize<'de> for Number {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            match Value::deserialize(d)? {
                Value::Null => Ok(Number::default()),
                Value::Number(n) => Ok(Number(n.to_string())),
                Value::String(s)
                    if s.trim() == s && serde_json::from_str::<serde_json::Number>(&s).is_ok() =>
                {
                    Ok(Number(s))
                }
                other => Err(D::Error::custom(format!(
                    "json: invalid number literal {other}"
                ))),
            }
        }
    }
}

/// The Packer plugin's client (client/*.go) and the parts of its builder steps that call it.
mod packer {
    use std::cell::RefCell;
    use std::fmt;
    use std::path::PathBuf;

    use serde::Deserialize;
    use serde_json::Value;

    use crate::go;

    /// client/client_core.go: AnkaNameAlreadyExistsErrorCode.
    const NAME_ALREADY_EXISTS: i64 = 18;
    /// client/client_core.go: AnkaVMNotFoundExceptionErrorCode.
    const VM_NOT_FOUND: i64 = 3;
    /// Go's bufio.MaxScanTokenSize: the Scanner's buffer never grows past it.
    const MAX_SCAN_TOKEN_SIZE: usize = 64 * 1024;

    /// client/client.go: MachineReadableOutput.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct MachineReadableOutput {
        #[serde(deserialize_with = "go::zero")]
        pub status: String,
        #[serde(deserialize_with = "go::raw")]
        pub body: Option<Value>,
        #[serde(deserialize_with = "go::zero")]
        pub message: String,
        #[serde(deserialize_with = "go::zero")]
        pub code: i64,
        #[serde(deserialize_with = "go::zero")]
        pub exception_type: String,
    }

    /// The errors the Go client returns, by the type its callers switch on.
    #[derive(Debug)]
    pub enum Error {
        /// client/client.go: MachineReadableError (status != "OK").
        MachineReadable(MachineReadableOutput),
        /// common/errors.go: VMNotFoundException.
        VmNotFound,
        /// common/errors.go: VMAlreadyExistsError.
        VmAlreadyExists,
        /// Any other Go error (exec, JSON, the plain `errors.New` ones).
        Go(String),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::MachineReadable(out) => write!(f, "{} (code {})", out.message, out.code),
                Error::VmNotFound => f.write_str("vm not found"),
                Error::VmAlreadyExists => f.write_str("vm already exists"),
                Error::Go(text) => f.write_str(text),
            }
        }
    }

    /// client/client_core.go: ShowResponse.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct ShowResponse {
        #[serde(deserialize_with = "go::zero")]
        pub uuid: String,
        #[serde(deserialize_with = "go::zero")]
        pub name: String,
        #[serde(rename = "cpu_cores", deserialize_with = "go::zero")]
        pub vcpu_cores: i64,
        #[serde(deserialize_with = "go::zero")]
        pub ram: String,
        #[serde(deserialize_with = "go::zero")]
        pub image_id: String,
        #[serde(deserialize_with = "go::zero")]
        pub status: String,
        #[serde(deserialize_with = "go::zero")]
        pub hard_drive: u64,
        #[serde(deserialize_with = "go::zero")]
        pub version: String,
    }

    impl ShowResponse {
        /// client/client_core.go: ShowResponse.IsRunning.
        pub fn is_running(&self) -> bool {
            self.status == "running"
        }
        /// client/client_core.go: ShowResponse.IsStopped.
        pub fn is_stopped(&self) -> bool {
            self.status == "stopped"
        }
        /// client/client_core.go: ShowResponse.IsSuspended.
        pub fn is_suspended(&self) -> bool {
            self.status == "suspended"
        }
    }

    /// client/client_core.go: DescribeResponse, every field with its Go type.
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct DescribeResponse {
        #[serde(deserialize_with = "go::zero")]
        pub name: String,
        #[serde(deserialize_with = "go::zero")]
        pub version: i64,
        #[serde(deserialize_with = "go::zero")]
        pub uuid: String,
        #[serde(rename = "cpu", deserialize_with = "go::zero")]
        pub vcpu: Cpu,
        #[serde(deserialize_with = "go::zero")]
        pub ram: String,
        #[serde(deserialize_with = "go::zero")]
        pub usb: Usb,
        #[serde(deserialize_with = "go::zero")]
        pub optical_drives: Vec<Value>,
        #[serde(deserialize_with = "go::zero")]
        pub hard_drives: Vec<HardDrive>,
        #[serde(deserialize_with = "go::zero")]
        pub network_cards: Vec<NetworkCard>,
        #[serde(deserialize_with = "go::zero")]
        pub smbios: Typed,
        #[serde(deserialize_with = "go::zero")]
        pub smc: Typed,
        #[serde(deserialize_with = "go::zero")]
        pub nvram: bool,
        #[serde(deserialize_with = "go::zero")]
        pub firmware: Typed,
        #[serde(deserialize_with = "go::zero")]
        pub display: Display,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct Cpu {
        #[serde(deserialize_with = "go::zero")]
        pub cores: i64,
        #[serde(deserialize_with = "go::zero")]
        pub threads: i64,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct Usb {
        #[serde(deserialize_with = "go::zero")]
        pub tablet: i64,
        #[serde(deserialize_with = "go::zero")]
        pub kbd: i64,
        pub host: Value,
        pub location: Value,
        #[serde(deserialize_with = "go::zero")]
        pub pci_slot: i64,
        #[serde(deserialize_with = "go::zero")]
        pub mouse: i64,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct HardDrive {
        #[serde(deserialize_with = "go::zero")]
        pub controller: String,
        #[serde(deserialize_with = "go::zero")]
        pub pci_slot: i64,
        #[serde(deserialize_with = "go::zero")]
        pub file: String,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct NetworkCard {
        #[serde(deserialize_with = "go::zero")]
        pub index: i64,
        #[serde(deserialize_with = "go::zero")]
        pub mode: String,
        #[serde(deserialize_with = "go::zero")]
        pub mac_address: String,
        #[serde(deserialize_with = "go::zero")]
        pub port_forwarding_rules: Vec<PortForwardingRule>,
        #[serde(deserialize_with = "go::zero")]
        pub pci_slot: i64,
        #[serde(rename = "type", deserialize_with = "go::zero")]
        pub kind: String,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct PortForwardingRule {
        #[serde(deserialize_with = "go::zero")]
        pub guest_port: i64,
        #[serde(deserialize_with = "go::zero")]
        pub rule_name: String,
        #[serde(deserialize_with = "go::zero")]
        pub protocol: String,
        #[serde(deserialize_with = "go::zero")]
        pub host_ip: String,
        #[serde(deserialize_with = "go::zero")]
        pub host_port: i64,
    }

    /// The `{"type": ...}` objects of DescribeResponse (smbios, smc, firmware).
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct Typed {
        #[serde(rename = "type", deserialize_with = "go::zero")]
        pub kind: String,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct Display {
        #[serde(deserialize_with = "go::zero")]
        pub headless: i64,
        #[serde(deserialize_with = "go::zero")]
        pub frame_buffer: FrameBuffer,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct FrameBuffer {
        #[serde(deserialize_with = "go::zero")]
        pub pci_slot: i64,
        #[serde(deserialize_with = "go::zero")]
        pub vnc_port: i64,
        #[serde(deserialize_with = "go::zero")]
        pub height: i64,
        pub width: go::Number,
        #[serde(deserialize_with = "go::zero")]
        pub vnc_ip: String,
        #[serde(deserialize_with = "go::zero")]
        pub password: String,
    }

    /// How the Go Scanner with customSplit ended.
    #[derive(Debug, PartialEq)]
    pub enum ScanEnd {
        /// Every byte was in '\n'-terminated lines: Err() is nil.
        Eof,
        /// The unterminated chunk at EOF, carried by customErr: the reply.
        Final(Vec<u8>),
        /// bufio.ErrTooLong: a line or the tail did not fit in MaxScanTokenSize.
        TooLong,
    }

    /// client/client.go: dropCR.
    fn drop_cr(data: &[u8]) -> &[u8] {
        data.strip_suffix(b"\r").unwrap_or(data)
    }

    /// client/client.go: customSplit, as driven by bufio.Scanner over the whole output: each
    /// '\n'-terminated line is a token (a log line, thrown away), the unterminated chunk at EOF
    /// is returned as the error, and a token that cannot fit the Scanner's buffer ends the scan.
    pub fn scan(mut data: &[u8]) -> ScanEnd {
        loop {
            if data.is_empty() {
                return ScanEnd::Eof;
            }
            if let Some(i) = data.iter().position(|&b| b == b'\n') {
                if i + 1 > MAX_SCAN_TOKEN_SIZE {
                    return ScanEnd::TooLong;
                }
                data = &data[i + 1..];
                continue;
            }
            // The buffer fills up before EOF is seen.
            if data.len() >= MAX_SCAN_TOKEN_SIZE {
                return ScanEnd::TooLong;
            }
            return ScanEnd::Final(drop_cr(data).to_vec());
        }
    }

    /// client/client.go: parseOutput.
    pub fn parse_output(output: &[u8]) -> Result<MachineReadableOutput, Error> {
        serde_json::from_slice(output).map_err(|e| Error::Go(format!("json: {e}")))
    }

    impl MachineReadableOutput {
        /// client/client.go: MachineReadableOutput.GetError.
        fn get_error(self) -> Result<Self, Error> {
            if self.status == "OK" {
                Ok(self)
            } else {
                Err(Error::MachineReadable(self))
            }
        }
    }

    /// A PortForwardingRules entry of the builder's config (builder/anka/config.go).
    pub struct WantedRule {
        pub guest_port: i64,
        pub host_port: i64,
        pub rule_name: &'static str,
    }

    /// The parts of builder/anka/config.go the clone step reads here.
    pub struct CloneConfig {
        pub vm_name: String,
        pub source_vm_name: String,
        pub packer_force: bool,
        pub port_forwarding_rules: Vec<WantedRule>,
    }

    /// client/client.go: AnkaClient, running vmctl with `home` as VMCTL_HOME.
    pub struct AnkaClient {
        pub home: PathBuf,
        log: RefCell<Vec<String>>,
    }

    impl AnkaClient {
        pub fn new(home: PathBuf) -> AnkaClient {
            AnkaClient {
                home,
                log: RefCell::default(),
            }
        }

        /// Every command run so far, with its exit code and the raw bytes of the shared pipe.
        pub fn transcript(&self) -> String {
            self.log.borrow().join("\n")
        }

        /// client/cli.go: runAnkaCommand.
        pub fn run_anka_command(&self, args: &[&str]) -> Result<MachineReadableOutput, Error> {
            self.run_command_streamer(args)
        }

        /// client/cli.go: runCommandStreamer with a nil streamer: `anka --machine-readable
        /// ARGS` with only the host's ANKA_* and PATH* variables, stdout and stderr into one
        /// pipe, the exit code never looked at.
        fn run_command_streamer(&self, args: &[&str]) -> Result<MachineReadableOutput, Error> {
            let mut cmd_args = vec!["--machine-readable"];
            cmd_args.extend_from_slice(args);
            let mut env: Vec<(String, String)> = crate::host_env()
                .into_iter()
                .filter(|(k, _)| k.starts_with("ANKA_") || k.starts_with("PATH"))
                .collect();
            // The test's own: Packer would not hand VMCTL_HOME down.
            env.push(("VMCTL_HOME".to_owned(), self.home.display().to_string()));
            let (out, code) = match crate::run_combined(&cmd_args, &env) {
                Ok(done) => done,
                Err(e) => return Err(Error::Go(e.to_string())),
            };
            self.log.borrow_mut().push(format!(
                "$ anka {}  => exit {code}, pipe: {:?}",
                cmd_args.join(" "),
                String::from_utf8_lossy(&out)
            ));
            match scan(&out) {
                ScanEnd::Eof => Err(Error::Go("missing machine readable output".to_owned())),
                // Not a customErr: Go returns the (nil) error of cmd.Start, with no output.
                ScanEnd::TooLong => Ok(MachineReadableOutput::default()),
                ScanEnd::Final(tail) => parse_output(&tail)?.get_error(),
            }
        }

        /// client/client_core.go: Clone.
        pub fn clone_vm(&self, vm_name: &str, source_uuid: &str) -> Result<(), Error> {
            match self.run_anka_command(&["clone", source_uuid, vm_name]) {
                Err(Error::MachineReadable(out)) if out.code == NAME_ALREADY_EXISTS => {
                    Err(Error::VmAlreadyExists)
                }
                Err(e) => Err(e),
                Ok(_) => Ok(()),
            }
        }

        /// client/client_core.go: Delete.
        pub fn delete(&self, vm_name: &str) -> Result<(), Error> {
            self.run_anka_command(&["delete", "--yes", vm_name])
                .map(drop)
        }

        /// client/client_core.go: Describe.
        pub fn describe(&self, vm_name: &str) -> Result<DescribeResponse, Error> {
            let output = self.run_anka_command(&["describe", vm_name])?;
            go::unmarshal(output.body.as_ref()).map_err(Error::Go)
        }

        /// client/client_core.go: Exists.
        pub fn exists(&self, vm_name: &str) -> Result<bool, Error> {
            match self.show(vm_name) {
                Ok(_) => Ok(true),
                Err(Error::VmNotFound) => Ok(false),
                Err(e) => Err(e),
            }
        }

        /// client/client_core.go: Modify.
        pub fn modify(
            &self,
            vm_name: &str,
            command: &str,
            property: &str,
            flags: &[&str],
        ) -> Result<(), Error> {
            let mut args = vec!["modify", vm_name, command, property];
            args.extend_from_slice(flags);
            let output = self.run_anka_command(&args)?;
            if output.status != "OK" {
                return Err(Error::Go(output.message));
            }
            Ok(())
        }

        /// client/client_core.go: Show.
        pub fn show(&self, vm_name: &str) -> Result<ShowResponse, Error> {
            let output = match self.run_anka_command(&["show", vm_name]) {
                Err(Error::MachineReadable(out)) if out.code == VM_NOT_FOUND => {
                    return Err(Error::VmNotFound);
                }
                other => other?,
            };
            go::unmarshal(output.body.as_ref()).map_err(Error::Go)
        }

        /// client/client_core.go: Stop (Force false): show first, then `stop NAME`.
        pub fn stop(&self, vm_name: &str) -> Result<(), Error> {
            let show = self.show(vm_name)?;
            if show.is_suspended() {
                // Packer resumes it with `anka run VM true`: no part of vmctl.
                return Err(Error::Go(format!(
                    "{vm_name} is suspended: Packer would `anka run` it"
                )));
            }
            self.run_anka_command(&["stop", vm_name]).map(drop)
        }
    }

    /// builder/anka/step_clone_vm.go: StepCloneVM.Run for a local source (AlwaysFetch false)
    /// with no disk, RAM, CPU, hw.uuid, display or mount settings (those steps then do nothing).
    /// Returns what it said on the UI.
    pub fn step_clone_vm(client: &AnkaClient, config: &CloneConfig) -> Result<Vec<String>, Error> {
        let mut ui = Vec::new();
        let vm_name = &config.vm_name;
        if config.packer_force && client.exists(vm_name)? {
            ui.push(format!("Deleting existing virtual machine {vm_name}"));
            client.delete(vm_name)?;
        }
        if !client.exists(&config.source_vm_name)? {
            // doPull: RegistryPull, no part of vmctl.
            return Err(Error::Go(format!(
                "{} not found locally: Packer would pull it from the registry",
                config.source_vm_name
            )));
        }
        let source = client.show(&config.source_vm_name)?;
        ui.push(format!(
            "Source TEMPLATE_NAME: {}, TEMPLATE_ID: {}",
            source.name, source.uuid
        ));
        // (HostArch arm64 with no version: a local registry push, no part of vmctl.)
        client.clone_vm(vm_name, &source.uuid)?;
        let cloned = client.show(vm_name)?;
        ui.push(format!(
            "Cloned VM TEMPLATE_NAME: {}, TEMPLATE_ID: {}",
            cloned.name, cloned.uuid
        ));
        modify_vm_properties(client, &cloned, config, &mut ui)?;
        Ok(ui)
    }

    /// builder/anka/step_clone_vm.go: StepCloneVM.modifyVMProperties, the port-forwarding part
    /// (step_create_vm.go: StepCreateVM.modifyVMProperties is the same code).
    fn modify_vm_properties(
        client: &AnkaClient,
        show: &ShowResponse,
        config: &CloneConfig,
        ui: &mut Vec<String>,
    ) -> Result<(), Error> {
        if config.port_forwarding_rules.is_empty() {
            return Ok(());
        }
        let describe = client.describe(&show.name)?;
        let existing: std::collections::HashSet<i64> = describe
            .network_cards
            .iter()
            .flat_map(|card| card.port_forwarding_rules.iter().map(|r| r.host_port))
            .collect();
        for wanted in &config.port_forwarding_rules {
            ui.push(format!(
                "Ensuring {} port-forwarding (Guest Port: {}, Host Port: {}, Rule Name: {})",
                show.name, wanted.guest_port, wanted.host_port, wanted.rule_name
            ));
            if existing.contains(&wanted.host_port) && wanted.host_port > 0 {
                ui.push(format!(
                    "Found an existing host port rule ({})! Skipping without setting...",
                    wanted.host_port
                ));
                continue;
            }
            client.stop(&show.name)?;
            let result = client.modify(
                &show.name,
                "add",
                "port-forwarding",
                &[
                    "--host-port",
                    &wanted.host_port.to_string(),
                    "--guest-port",
                    &wanted.guest_port.to_string(),
                    wanted.rule_name,
                ],
            );
            match result {
                Err(e) if !config.packer_force => return Err(e),
                // Go drops it silently under -force; said here so a test can show it.
                Err(e) => ui.push(format!("(ignored under -force) modify failed: {e}")),
                Ok(()) => {}
            }
        }
        Ok(())
    }
}

/// anklet's Anka CLI wrapper (internal/anka/cli.go).
mod anklet {
    use std::cell::RefCell;
    use std::path::PathBuf;

    use serde::Deserialize;
    use serde_json::Value;

    use crate::go;

    /// internal/anka/cli.go: AnkaJson (untagged Go fields: matched by name).
    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct AnkaJson {
        #[serde(alias = "Status", deserialize_with = "go::zero")]
        pub status: String,
        #[serde(alias = "Code", deserialize_with = "go::zero")]
        pub code: i64,
        #[serde(alias = "Body")]
        pub body: Value,
        #[serde(alias = "Message", deserialize_with = "go::zero")]
        pub message: String,
    }

    /// internal/anka/cli.go: AnkaShowOutput (the fields AnkaShow fills).
    #[derive(Debug, Default, Clone)]
    pub struct AnkaShowOutput {
        pub cpu: i64,
        pub mem_bytes: u64,
        pub tag: String,
        pub image_size: u64,
        pub access_date: Option<String>,
    }

    /// What internal/anka/cli.go: EnsureVMTemplateExists decided, where vmctl's part ends.
    #[derive(Debug, PartialEq)]
    pub enum Ensure {
        /// pullTemplate: anklet goes on to the registry. `list_failed` is the error of
        /// `list UUID` when anklet took the nil-list path (it never read the reply then).
        Pull { list_failed: Option<String> },
        /// The template is here; its size and access date were asked with AnkaShow.
        UseLocal { name: String, warnings: Vec<String> },
    }

    /// internal/anka/cli.go: HostHasVmCapacity, by branch (Go returns only a bool).
    #[derive(Debug, PartialEq)]
    pub enum Capacity {
        Available {
            running: usize,
        },
        Full {
            running: usize,
        },
        /// "unable to get running VMs list, assuming capacity available": true on an error.
        AssumedAfterError(String),
        StatusNotOk(String),
    }

    /// One template found by DiscoverAndPopulateExistingTemplates.
    #[derive(Debug)]
    pub struct Discovered {
        pub uuid: String,
        pub name: String,
        pub tag: String,
        pub warnings: Vec<String>,
    }

    /// internal/anka/cli.go: Cli, running vmctl with `home` as VMCTL_HOME.
    pub struct Cli {
        pub home: PathBuf,
        log: RefCell<Vec<String>>,
    }

    /// Go's `v.(float64)` on a value known to be there: a panic when it is not a number.
    fn float(v: &Value, what: &str) -> f64 {
        v.as_f64()
            .unwrap_or_else(|| panic!("Go panic: interface conversion: {what} is {v}, not float64"))
    }

    impl Cli {
        pub fn new(home: PathBuf) -> Cli {
            Cli {
                home,
                log: RefCell::default(),
            }
        }

        /// Every command run so far, with its exit code and combined output.
        pub fn transcript(&self) -> String {
            self.log.borrow().join("\n")
        }

        /// internal/anka/cli.go: Execute: the whole environment, stdout and stderr into one
        /// buffer, the exit code (0 when the command could not run at all).
        pub fn execute(&self, args: &[&str]) -> (Vec<u8>, i32) {
            assert_eq!(args[0], "anka");
            // The whole environment (cmd.Env nil), and the test's VMCTL_HOME.
            let mut env = crate::host_env();
            env.push(("VMCTL_HOME".to_owned(), self.home.display().to_string()));
            let (out, code) = crate::run_combined(&args[1..], &env).unwrap_or_default();
            self.log.borrow_mut().push(format!(
                "$ {}  => exit {code}, output: {:?}",
                args.join(" "),
                String::from_utf8_lossy(&out)
            ));
            (out, code)
        }

        /// internal/anka/cli.go: ParseAnkaJson.
        fn parse_anka_json(json: &[u8]) -> Result<AnkaJson, String> {
            serde_json::from_slice(json).map_err(|e| format!("json: {e}"))
        }

        /// internal/anka/cli.go: ExecuteParseJson: the last non-empty line is the reply; a
        /// non-zero exit is an error carrying its message, with the reply.
        pub fn execute_parse_json(&self, args: &[&str]) -> (Option<AnkaJson>, Option<String>) {
            let (out, exit_code) = self.execute(args);
            let last_line = out
                .split(|&b| b == b'\n')
                .rev()
                .find(|line| !line.trim_ascii().is_empty());
            let Some(last_line) = last_line else {
                return (
                    None,
                    Some("no valid JSON output found in command response".to_owned()),
                );
            };
            match Self::parse_anka_json(last_line) {
                Err(e) => (None, Some(e)),
                Ok(json) if exit_code != 0 => {
                    let message = json.message.clone();
                    (Some(json), Some(message))
                }
                Ok(json) => (Some(json), None),
            }
        }

        /// internal/anka/cli.go: AnkaList: the reply, or nil and the error.
        pub fn anka_list(&self, args: &[&str]) -> Result<AnkaJson, String> {
            let mut all = vec!["anka", "-j", "list"];
            all.extend_from_slice(args);
            match self.execute_parse_json(&all) {
                (_, Some(err)) => Err(err),
                (Some(json), None) => Ok(json),
                (None, None) => unreachable!(),
            }
        }

        /// ExecuteParseJson's pair as Go callers use it: `if err != nil { return err }`.
        fn parsed_or_err(&self, args: &[&str]) -> Result<AnkaJson, String> {
            match self.execute_parse_json(args) {
                (_, Some(err)) => Err(err),
                (Some(json), None) => Ok(json),
                (None, None) => unreachable!(),
            }
        }

        /// internal/anka/cli.go: AnkaShow: `show VM`, then `show VM tag`.
        pub fn anka_show(&self, vm_name: &str) -> Result<AnkaShowOutput, String> {
            let show = self.parsed_or_err(&["anka", "-j", "show", vm_name])?;
            let tag = self.parsed_or_err(&["anka", "-j", "show", vm_name, "tag"])?;
            let mut output = AnkaShowOutput::default();
            // `ankaJson.Body.(map[string]any)`: a panic unless the body is an object.
            let body = show.body.as_object().unwrap_or_else(|| {
                panic!(
                    "Go panic: interface conversion: show body is {}, not map[string]interface {{}}",
                    show.body
                )
            });
            if let Some(cpu) = body.get("cpu_cores") {
                #[allow(clippy::cast_possible_truncation)]
                let cpu = float(cpu, "cpu_cores") as i64;
                output.cpu = cpu;
            }
            if let Some(mem) = body.get("ram_size") {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let mem = float(mem, "ram_size") as u64;
                output.mem_bytes = mem;
            }
            if let Some(size) = body.get("image_size").and_then(Value::as_f64) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let size = size as u64;
                output.image_size = size;
            }
            // time.Parse(time.RFC3339, ...): kept when it has that shape.
            if let Some(date) = body.get("access_date").and_then(Value::as_str) {
                let b = date.as_bytes();
                if b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' {
                    output.access_date = Some(date.to_owned());
                }
            }
            output.tag = match tag.body.as_array().and_then(|a| a.first()) {
                Some(Value::Object(first)) if first.get("tag").is_some_and(|t| !t.is_null()) => {
                    match &first["tag"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }
                }
                _ => "(using latest)".to_owned(),
            };
            Ok(output)
        }

        /// internal/anka/cli.go: AnkaGetTemplateSize.
        pub fn anka_get_template_size(&self, template: &str) -> Result<u64, String> {
            let show = self.anka_show(template)?;
            if show.image_size > 0 {
                return Ok(show.image_size);
            }
            Err("unable to determine template size".to_owned())
        }

        /// internal/anka/cli.go: AnkaClone.
        pub fn anka_clone(&self, vm_name: &str, template: &str) -> Result<(), String> {
            let out = self.parsed_or_err(&["anka", "-j", "clone", template, vm_name])?;
            if out.status != "OK" {
                return Err(format!("error cloning template: {}", out.message));
            }
            Ok(())
        }

        /// internal/anka/cli.go: AnkaDelete (without the metrics): on an error, a plain
        /// `anka delete --yes VM` is tried, and its error is the answer.
        pub fn anka_delete(&self, vm_name: &str) -> Result<(), String> {
            match self.execute_parse_json(&["anka", "-j", "delete", "--yes", vm_name]) {
                (_, Some(err)) => {
                    let (out, code) = self.execute(&["anka", "delete", "--yes", vm_name]);
                    if code == 0 {
                        // Go returns the second command's nil error: deleted, as far as it knows.
                        Ok(())
                    } else {
                        Err(format!(
                            "{err}; then exit status {code}: {}",
                            String::from_utf8_lossy(&out)
                        ))
                    }
                }
                _ => Ok(()),
            }
        }

        /// internal/anka/cli.go: HostHasVmCapacity.
        pub fn host_has_vm_capacity(&self) -> Capacity {
            let list = match self.execute_parse_json(&["anka", "-j", "list", "-r"]) {
                (_, Some(err)) => return Capacity::AssumedAfterError(err),
                (Some(json), None) => json,
                (None, None) => unreachable!(),
            };
            if list.status != "OK" {
                return Capacity::StatusNotOk(list.message);
            }
            // Not a slice: "assuming 0 running VMs".
            let running = list.body.as_array().map_or(0, Vec::len);
            if running >= 2 {
                Capacity::Full { running }
            } else {
                Capacity::Available { running }
            }
        }

        /// internal/anka/cli.go: DiscoverAndPopulateExistingTemplates (without the tracker):
        /// `list`, then for each row AnkaShow(uuid) and AnkaGetTemplateSize(uuid).
        pub fn discover_existing_templates(&self) -> Result<Vec<Discovered>, String> {
            let list = self.anka_list(&[])?;
            if list.status != "OK" {
                return Err(format!("anka list failed: {}", list.message));
            }
            let mut found = Vec::new();
            for row in list.body.as_array().into_iter().flatten() {
                let Some(row) = row.as_object() else { continue };
                let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
                let uuid = text("uuid").unwrap_or_default();
                let name = text("name").unwrap_or_default();
                let tag = text("version").unwrap_or_else(|| "latest".to_owned());
                let mut warnings = Vec::new();
                if let Err(e) = self.anka_show(&uuid) {
                    warnings.push(format!("unable to get template access date: {e}"));
                }
                if name.is_empty() && uuid.is_empty() {
                    continue;
                }
                if let Err(e) = self.anka_get_template_size(&uuid) {
                    warnings.push(format!("unable to get template size: {e}"));
                }
                found.push(Discovered {
                    uuid,
                    name,
                    tag,
                    warnings,
                });
            }
            Ok(found)
        }

        /// internal/anka/cli.go: EnsureVMTemplateExists, up to its decision (the pull and the
        /// registry are no part of vmctl).
        pub fn ensure_vm_template_exists(&self, uuid: &str, tag: &str) -> Result<Ensure, String> {
            let mut pull = false;
            let mut name = String::new();
            // `list, err := AnkaList(uuid)`; on an error the list of all is asked into a
            // variable of its own (`:=` in the block), so `list` stays nil.
            let (list, list_failed) = match self.anka_list(&[uuid]) {
                Ok(list) => (Some(list), None),
                Err(err) => {
                    self.anka_list(&[])?;
                    (None, Some(err))
                }
            };
            if let Some(list) = list {
                if list.status == "ERROR" {
                    if list.message == format!("{uuid}: not found") {
                        pull = true;
                    } else {
                        return Err(format!("error executing anka list: {}", list.message));
                    }
                }
                if list.status == "OK" {
                    let Some(rows) = list.body.as_array() else {
                        return Err("unable to parse list.Body to []any".to_owned());
                    };
                    let first = rows.first().unwrap_or_else(|| {
                        panic!("Go panic: index out of range [0] with length 0 (list {uuid})")
                    });
                    let Some(body) = first.as_object() else {
                        return Err("unable to parse bodySlice[0] to map[string]any".to_owned());
                    };
                    if let Some(status) = body.get("status").and_then(Value::as_str)
                        && status == "failed"
                    {
                        return Err(format!("vm template is not running and instead {status}"));
                    }
                    if let Some(version) = body.get("version").and_then(Value::as_str)
                        && (tag == "(using latest)" || version != tag)
                    {
                        pull = true;
                    }
                    if let Some(n) = body.get("name").and_then(Value::as_str) {
                        n.clone_into(&mut name);
                    }
                }
            } else {
                // Then AnkaRegistryShowTemplate: the registry.
                return Ok(Ensure::Pull { list_failed });
            }
            if pull {
                return Ok(Ensure::Pull { list_failed: None });
            }
            let mut warnings = Vec::new();
            if let Err(e) = self.anka_get_template_size(uuid) {
                warnings.push(format!("unable to get template size: {e}"));
            }
            if let Err(e) = self.anka_show(uuid) {
                warnings.push(format!("unable to get access date: {e}"));
            }
            Ok(Ensure::UseLocal { name, warnings })
        }
    }
}

/// A VMCTL_HOME of its own, and vmctl run directly to set a case up.
struct Home {
    dir: tempfile::TempDir,
}

/// vmctl's answer to a setup command.
struct Raw {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Raw {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vmctl"));
        for (var, _) in std::env::vars() {
            if var.starts_with("VMCTL_") || var.starts_with("ANKA_") {
                cmd.env_remove(var);
            }
        }
        let out = cmd
            .env("VMCTL_HOME", self.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Raw {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A setup command that must succeed; its stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, 0,
            "setup {args:?}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// The uuid of `vm`, read the lenient way (a trailing newline is fine here).
    fn uuid(&self, vm: &str) -> String {
        let out = self.ok(&["-j", "show", vm]);
        let doc: Value = serde_json::from_str(out.trim()).unwrap();
        doc["body"]["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("no uuid: {out}"))
            .to_owned()
    }

    fn packer(&self) -> packer::AnkaClient {
        packer::AnkaClient::new(self.path().to_owned())
    }

    fn anklet(&self) -> anklet::Cli {
        anklet::Cli::new(self.path().to_owned())
    }

    /// `vm` as started in this boot, by its run state (as tests/cli.rs writes it): nothing on
    /// the host is touched. `None` where the boot id cannot be read.
    #[cfg(target_os = "linux")]
    fn fake_started(&self, vm: &str, link: &str) -> Option<()> {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let mac = self.ok(&["show", vm, "network", "mac"]);
        let uuid = self.uuid(vm);
        std::fs::create_dir_all(self.path().join("run")).unwrap();
        std::fs::write(
            self.path().join(format!("run/{vm}.plist")),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>schema_version</key><integer>1</integer><key>vm</key><string>{vm}</string>
<key>uuid</key><string>{uuid}</string><key>started</key><integer>0</integer>
<key>boot</key><string>{}</string>
<key>mode</key><string>shared</string><key>network</key><string>shared</string>
<key>link</key><string>{link}</string>
<key>attach</key><dict><key>kind</key><string>tap</string></dict>
<key>mac</key><string>{}</string>
<key>no_local</key><false/>
</dict></plist>"#,
                boot.trim(),
                mac.trim()
            ),
        )
        .unwrap();
        Some(())
    }
}

/// Packer's clone step with -force over an existing target: delete it, find the source, show
/// it, clone it by uuid, show the clone, describe it and add port forwards (a free port for 0,
/// a port another stopped VM has, a port the clone already has is skipped); then the ports as
/// described, the clone stopped, delete, and show after delete.
#[test]
fn packer_clone_step_forwards_ports_and_deletes() {
    let home = Home::new();
    home.ok(&["create", "base"]);
    home.ok(&["modify", "base", "port", "http", "80:8080"]);
    home.ok(&["create", "other"]);
    home.ok(&["modify", "other", "port", "vnc", "5900:2222"]);
    home.ok(&["create", "build"]);
    let stale_uuid = home.uuid("build");
    let client = home.packer();
    let config = packer::CloneConfig {
        vm_name: "build".to_owned(),
        source_vm_name: "base".to_owned(),
        packer_force: true,
        port_forwarding_rules: vec![
            packer::WantedRule {
                guest_port: 22,
                host_port: 0,
                rule_name: "ssh",
            },
            packer::WantedRule {
                guest_port: 5900,
                host_port: 2222,
                rule_name: "vnc",
            },
            packer::WantedRule {
                guest_port: 80,
                host_port: 8080,
                rule_name: "http",
            },
        ],
    };
    let ui = packer::step_clone_vm(&client, &config)
        .unwrap_or_else(|e| panic!("clone step failed: {e}\n{}", client.transcript()));
    let said = ui.join("\n");
    assert!(
        said.contains("Deleting existing virtual machine build"),
        "{said}\n{}",
        client.transcript()
    );
    assert!(
        !said.contains("modify failed"),
        "a modify failed (Packer ignores it under -force):\n{said}\n{}",
        client.transcript()
    );
    assert!(
        said.contains("Found an existing host port rule (8080)! Skipping"),
        "the clone keeps base's explicit 8080, so Packer skips it:\n{said}\n{}",
        client.transcript()
    );

    let shown = client.show("build").unwrap();
    assert_ne!(shown.uuid, stale_uuid, "a new VM, not the deleted one");
    assert!(
        shown.is_stopped() && !shown.is_running(),
        "{shown:?}\n{}",
        client.transcript()
    );

    let described = client
        .describe("build")
        .unwrap_or_else(|e| panic!("describe: {e}\n{}", client.transcript()));
    assert_eq!(described.name, "build");
    assert_eq!(described.uuid, shown.uuid);
    assert_eq!(described.network_cards.len(), 1, "{described:?}");
    let card = &described.network_cards[0];
    assert_eq!(card.index, 0);
    assert_eq!(card.mode, "shared");
    assert_eq!(card.kind, "virtio-net");
    assert_eq!(
        card.mac_address,
        home.ok(&["show", "build", "network", "mac"]).trim()
    );
    let port = |name: &str| {
        card.port_forwarding_rules
            .iter()
            .find(|r| r.rule_name == name)
            .unwrap_or_else(|| panic!("no rule {name}: {card:?}\n{}", client.transcript()))
    };
    assert_eq!(port("http").host_port, 8080, "clone keeps it: {card:?}");
    assert_eq!(port("http").guest_port, 80);
    assert_eq!(
        port("ssh").host_port,
        10000,
        "0 = the first free port from 10000: {card:?}"
    );
    assert_eq!(port("ssh").guest_port, 22);
    assert_eq!(port("ssh").protocol, "tcp");
    assert_eq!(
        port("vnc").host_port,
        2222,
        "stopped 'other' has it too: {card:?}"
    );
    assert_eq!(card.port_forwarding_rules.len(), 3, "{card:?}");

    client
        .delete("build")
        .unwrap_or_else(|e| panic!("delete: {e}\n{}", client.transcript()));
    match client.show("build") {
        Err(packer::Error::VmNotFound) => {}
        other => panic!(
            "show after delete: {other:?}, not VMNotFoundException\n{}",
            client.transcript()
        ),
    }
    assert!(!client.exists("build").unwrap());
}

/// Packer's Clone onto a name in use is VMAlreadyExistsError (code 18), which its cleanup
/// treats as "not mine: do not delete".
#[test]
fn packer_clone_onto_an_existing_name_is_already_exists() {
    let home = Home::new();
    home.ok(&["create", "base"]);
    home.ok(&["create", "taken"]);
    let client = home.packer();
    let source = client
        .show("base")
        .unwrap_or_else(|e| panic!("show: {e}\n{}", client.transcript()));
    match client.clone_vm("taken", &source.uuid) {
        Err(packer::Error::VmAlreadyExists) => {}
        other => panic!(
            "clone onto 'taken': {other:?}, not VMAlreadyExistsError\n{}",
            client.transcript()
        ),
    }
    assert!(client.exists("taken").unwrap());
    assert!(!client.exists("nope").unwrap(), "{}", client.transcript());
}

/// Started (by its run state) is "running" to Packer and counted by anklet's `list -r`; two
/// running VMs leave no capacity; `list -s` has only the stopped one.
#[cfg(target_os = "linux")]
#[test]
fn a_started_vm_is_running_to_both_clients() {
    let home = Home::new();
    for vm in ["a", "b", "c"] {
        home.ok(&["create", vm]);
    }
    home.fake_started("a", "vmt-test-a").unwrap();
    let packer = home.packer();
    let shown = packer
        .show("a")
        .unwrap_or_else(|e| panic!("show: {e}\n{}", packer.transcript()));
    assert!(
        shown.is_running() && !shown.is_stopped(),
        "{shown:?}\n{}",
        packer.transcript()
    );
    assert!(!packer.show("b").unwrap().is_running());

    let anklet = home.anklet();
    assert_eq!(
        anklet.host_has_vm_capacity(),
        anklet::Capacity::Available { running: 1 },
        "{}",
        anklet.transcript()
    );
    home.fake_started("b", "vmt-test-b").unwrap();
    assert_eq!(
        anklet.host_has_vm_capacity(),
        anklet::Capacity::Full { running: 2 },
        "{}",
        anklet.transcript()
    );
    let stopped = anklet
        .anka_list(&["-s"])
        .unwrap_or_else(|e| panic!("list -s: {e}\n{}", anklet.transcript()));
    let names: Vec<&str> = stopped.body.as_array().map_or(vec![], |rows| {
        rows.iter().filter_map(|r| r["name"].as_str()).collect()
    });
    assert_eq!(names, ["c"], "{}", anklet.transcript());
    let all = anklet.anka_list(&["-a"]).unwrap();
    assert_eq!(all.body.as_array().map_or(0, Vec::len), 3);
}

/// anklet's discovery: `list`, then for each template `show UUID` and `show UUID tag`.
#[test]
fn anklet_discovers_templates_and_their_tags() {
    let home = Home::new();
    home.ok(&["create", "tpl"]);
    let uuid = home.uuid("tpl");
    let cli = home.anklet();
    let found = cli
        .discover_existing_templates()
        .unwrap_or_else(|e| panic!("discovery: {e}\n{}", cli.transcript()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].uuid, uuid);
    assert_eq!(found[0].name, "tpl");
    assert_eq!(found[0].tag, "latest");
    // vmctl has no image_size: that one warning is expected; a failed show is not.
    assert_eq!(
        found[0].warnings,
        ["unable to get template size: unable to determine template size"],
        "{}",
        cli.transcript()
    );
    let show = cli
        .anka_show("tpl")
        .unwrap_or_else(|e| panic!("AnkaShow: {e}\n{}", cli.transcript()));
    assert_eq!(show.tag, "(using latest)");
}

/// EnsureVMTemplateExists with a template that is here: `list UUID` finds it, no pull.
#[test]
fn anklet_uses_a_local_template_found_by_uuid() {
    let home = Home::new();
    home.ok(&["create", "tpl"]);
    home.ok(&["create", "other"]);
    let uuid = home.uuid("tpl");
    let cli = home.anklet();
    let list = cli
        .anka_list(&[&uuid])
        .unwrap_or_else(|e| panic!("list UUID: {e}\n{}", cli.transcript()));
    let rows = list.body.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "only that VM: {}", cli.transcript());
    assert_eq!(rows[0]["uuid"], uuid.as_str());
    assert_eq!(rows[0]["status"], "stopped");
    let decision = cli.ensure_vm_template_exists(&uuid, "(using latest)");
    assert_eq!(
        decision,
        Ok(anklet::Ensure::UseLocal {
            name: "tpl".to_owned(),
            warnings: vec!["unable to get template size: unable to determine template size".into()],
        }),
        "{}",
        cli.transcript()
    );
}

/// EnsureVMTemplateExists with a uuid that is not here: the error is exactly "<uuid>: not
/// found", the list of all still works, and anklet decides to pull.
#[test]
fn anklet_pulls_a_template_not_found() {
    let home = Home::new();
    home.ok(&["create", "tpl"]);
    let missing = "6b6f7a2e-0000-4000-8000-000000000001";
    let cli = home.anklet();
    let (reply, err) = cli.execute_parse_json(&["anka", "-j", "list", missing]);
    let reply = reply.unwrap_or_else(|| panic!("no JSON reply ({err:?})\n{}", cli.transcript()));
    assert_eq!(reply.status, "ERROR", "{}", cli.transcript());
    assert_eq!(reply.code, 3, "{}", cli.transcript());
    assert_eq!(
        reply.message,
        format!("{missing}: not found"),
        "anklet compares it exactly\n{}",
        cli.transcript()
    );
    let decision = cli.ensure_vm_template_exists(missing, "(using latest)");
    // Exit code 3: AnkaList is an error, so anklet takes the nil-list path (to the registry);
    // with exit 0 it would compare the message. Either way it pulls.
    assert!(
        matches!(&decision, Ok(anklet::Ensure::Pull { list_failed })
            if list_failed.as_deref().is_none_or(|m| m == format!("{missing}: not found"))),
        "{decision:?}\n{}",
        cli.transcript()
    );
}

/// HostHasVmCapacity with nothing running: `list -r` answers [] and anklet counts 0, not
/// "unable to get running VMs list, assuming capacity available".
#[test]
fn anklet_counts_no_running_vms_without_an_error() {
    let home = Home::new();
    home.ok(&["create", "tpl"]);
    let cli = home.anklet();
    assert_eq!(
        cli.host_has_vm_capacity(),
        anklet::Capacity::Available { running: 0 },
        "{}",
        cli.transcript()
    );
    let (reply, err) = cli.execute_parse_json(&["anka", "-j", "list", "--running"]);
    assert_eq!(err, None, "{}", cli.transcript());
    assert_eq!(reply.unwrap().body, serde_json::json!([]));
}

/// anklet's ObtainAnkaVM up to the start, then its delete: clone the template (by uuid) to
/// `anklet-vm-<uuid>`, show it with its tag, delete it.
#[test]
fn anklet_clones_shows_and_deletes_a_vm() {
    let home = Home::new();
    home.ok(&["create", "tpl"]);
    let template = home.uuid("tpl");
    let vm = "anklet-vm-1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    let cli = home.anklet();
    cli.anka_clone(vm, &template)
        .unwrap_or_else(|e| panic!("AnkaClone: {e}\n{}", cli.transcript()));
    let show = cli
        .anka_show(vm)
        .unwrap_or_else(|e| panic!("AnkaShow: {e}\n{}", cli.transcript()));
    assert_eq!(show.tag, "(using latest)");
    let before = cli.transcript().lines().count();
    cli.anka_delete(vm)
        .unwrap_or_else(|e| panic!("AnkaDelete: {e}\n{}", cli.transcript()));
    assert_eq!(
        cli.transcript().lines().count(),
        before + 1,
        "the -j delete failed and anklet fell back to a plain one:\n{}",
        cli.transcript()
    );
    let list = cli.anka_list(&[]).unwrap();
    assert_eq!(
        list.body.as_array().map_or(0, Vec::len),
        1,
        "{:?}",
        list.body
    );
    assert!(cli.anka_show(vm).is_err(), "{}", cli.transcript());
}

/// With -j, stdout is one JSON document and no newline after it; what goes to stderr (here,
/// the warning about a corrupt profile) comes before it, so a shared pipe still ends in it.
#[test]
fn the_reply_is_one_unterminated_document_after_the_diagnostics() {
    let home = Home::new();
    home.ok(&["create", "web"]);
    let uuid = home.uuid("web");
    for args in [
        vec!["-j", "list"],
        vec!["-j", "show", "web"],
        vec!["-j", "describe", "web"],
        vec!["--machine-readable", "show", "nope"],
    ] {
        let run = home.run(&args);
        assert!(
            !run.stdout.ends_with('\n'),
            "{args:?}: a newline after the JSON makes it a log line to Packer: {:?}",
            run.stdout
        );
        assert!(
            serde_json::from_str::<Value>(&run.stdout).is_ok(),
            "{args:?}: not one JSON document: {:?}",
            run.stdout
        );
    }
    std::fs::write(home.path().join("vms/bad.plist"), "garbage").unwrap();
    let packer = home.packer();
    let list = packer
        .run_anka_command(&["list"])
        .unwrap_or_else(|e| panic!("Packer list: {e}\n{}", packer.transcript()));
    assert!(
        packer.transcript().contains("bad.plist"),
        "the warning is in the pipe: {}",
        packer.transcript()
    );
    assert_eq!(list.body.unwrap()[0]["uuid"], uuid.as_str());
    let anklet = home.anklet();
    let list = anklet
        .anka_list(&[])
        .unwrap_or_else(|e| panic!("anklet list: {e}\n{}", anklet.transcript()));
    assert_eq!(list.body[0]["uuid"], uuid.as_str());
    assert_eq!(
        packer::scan(b"warning: x\r\n{\"status\":\"OK\"}\r"),
        packer::ScanEnd::Final(b"{\"status\":\"OK\"}".to_vec()),
        "the port itself"
    );
    assert_eq!(packer::scan(b"{}\n"), packer::ScanEnd::Eof);
}

/// An unknown VM, for every command that takes one: exit 3 and the envelope of code 3 with
/// Anka's message "<id>: not found".
#[test]
fn an_unknown_vm_is_code_3_not_found() {
    let home = Home::new();
    home.ok(&["create", "web"]);
    let id = "nope";
    for args in [
        vec!["show", id],
        vec!["describe", id],
        vec!["list", id],
        vec!["clone", id, "copy"],
        vec![
            "modify",
            id,
            "add",
            "port-forwarding",
            "--host-port",
            "0",
            "--guest-port",
            "22",
            "ssh",
        ],
        vec!["stop", id],
        vec!["delete", "--yes", id],
    ] {
        let mut all = vec!["-j"];
        all.extend(&args);
        let run = home.run(&all);
        let doc: Value = serde_json::from_str(run.stdout.trim()).unwrap_or(Value::Null);
        assert_eq!(
            (run.code, &doc["status"], &doc["code"], &doc["message"]),
            (
                3,
                &"ERROR".into(),
                &3.into(),
                &format!("{id}: not found").into()
            ),
            "{args:?}\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
    }
}

/// A VM's uuid names it wherever a name does (Packer clones by uuid; anklet lists, shows and
/// deletes templates by uuid).
#[test]
fn a_uuid_names_the_vm_everywhere() {
    let home = Home::new();
    home.ok(&["create", "web"]);
    let uuid = home.uuid("web");
    let client = home.packer();
    let shown = client
        .show(&uuid)
        .unwrap_or_else(|e| panic!("show UUID: {e}\n{}", client.transcript()));
    assert_eq!(shown.name, "web");
    assert_eq!(
        client.describe(&uuid).map(|d| d.name).ok().as_deref(),
        Some("web"),
        "{}",
        client.transcript()
    );
    client
        .modify(
            &uuid,
            "add",
            "port-forwarding",
            &["--host-port", "2200", "--guest-port", "22", "ssh"],
        )
        .unwrap_or_else(|e| panic!("modify UUID: {e}\n{}", client.transcript()));
    client
        .stop(&uuid)
        .unwrap_or_else(|e| panic!("stop UUID: {e}\n{}", client.transcript()));
    client
        .clone_vm("copy", &uuid)
        .unwrap_or_else(|e| panic!("clone UUID: {e}\n{}", client.transcript()));
    let copy = client.describe("copy").unwrap();
    assert_eq!(
        copy.network_cards[0].port_forwarding_rules[0].host_port, 2200,
        "clone keeps an explicit host port: {copy:?}"
    );
    client
        .delete(&uuid)
        .unwrap_or_else(|e| panic!("delete UUID: {e}\n{}", client.transcript()));
    assert!(!client.exists("web").unwrap(), "{}", client.transcript());
}
