//! The NIC flags shared by `create` and `modify VM network` (Anka 3 names), and their
//! translation into a `NicChange`.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::error::Error;
use crate::model::filter::FilterRules;
use crate::model::{Controller, MacPolicy, Mode};
use crate::settings::change::{BridgeChoice, FilterChoice, IpChoice, NicChange};

/// `-t MODE`: vmctl's modes, plus Anka's `nat` (hidden), which `to_change` refuses with the
/// reason instead of a bare usage error, and Anka 2.x's `bridged` (hidden), which is `bridge`.
pub fn mode_parser() -> impl TypedValueParser<Value = String> {
    PossibleValuesParser::new(
        Mode::ALL
            .iter()
            .map(|m| PossibleValue::new(m.name()))
            .chain([
                PossibleValue::new("nat").hide(true),
                PossibleValue::new("bridged").hide(true),
            ]),
    )
}

pub fn controller_parser() -> impl TypedValueParser<Value = Controller> {
    PossibleValuesParser::new(Controller::ALL.iter().map(|c| c.name()))
        .map(|s| s.parse::<Controller>().expect("listed value"))
}

#[derive(Debug, Clone, Default, Args)]
pub struct NetworkFlags {
    /// Network mode (`--type` as in Anka's docs)
    #[arg(short = 't', long = "mode", visible_alias = "type", value_name = "MODE", value_parser = mode_parser())]
    pub mode: Option<String>,
    /// Host interface for bridge mode, or `auto` (bridge_name / ANKA_BRIDGE_NAME / ANKA_BRIDGE, else the default route's)
    #[arg(short = 'b', long, value_name = "IF|auto")]
    pub bridge: Option<String>,
    /// Static MAC (unicast), or `auto` for a stable vmctl-made one
    #[arg(short = 'm', long, value_name = "MAC|auto")]
    pub mac: Option<String>,
    /// Static IP, reserved in the network's DHCP server (shared/host only), or `auto`
    #[arg(long, value_name = "IPV4|auto")]
    pub ip: Option<String>,
    /// NIC model
    #[arg(short = 'c', long, value_name = "CONTROLLER", value_parser = controller_parser())]
    pub controller: Option<Controller>,
    /// Allow traffic to other VMs and the host
    #[arg(long, group = "locality")]
    pub local: bool,
    /// Block traffic to other VMs and the host (DHCP/DNS stay open); anti-spoofing
    #[arg(long, group = "locality")]
    pub no_local: bool,
    /// Follow the host's `no_local` setting
    #[arg(long, group = "locality")]
    pub local_default: bool,
    /// VLAN ID (0 = none)
    #[arg(short = 'v', long, value_name = "ID", value_parser = clap::value_parser!(u16).range(0..=4094))]
    pub vlan: Option<u16>,
    /// IP filter rules: a file (checked now, re-read at every start and plan), `-` for stdin (kept in the profile), or `off`
    #[arg(short = 'f', long, value_name = "FILE|-|off")]
    pub filter: Option<String>,
    /// Network by name: `shared` or `host` (built in; same as --mode), or one made with
    /// `vmctl network create`
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Anka's NIC bonding: accepted and ignored (a vmctl VM has one NIC on one host interface)
    #[arg(short = 'n', long, value_name = "IF", num_args = 0..=1, default_missing_value = "")]
    pub bond: Option<String>,
}

impl NetworkFlags {
    /// Check every value and build the change; nothing is applied yet.
    pub fn to_change(&self) -> Result<NicChange, Error> {
        let mut mode = self.mode.as_deref().map(Mode::from_anka).transpose()?;
        let mut network = None;
        if let Some(name) = &self.network {
            match name.as_str() {
                "shared" | "host" => {
                    let by_name = if name == "shared" {
                        Mode::Shared
                    } else {
                        Mode::Host
                    };
                    if mode.is_some_and(|m| m != by_name) {
                        return Err(Error::conflict(format!(
                            "--network {name} contradicts --mode {}",
                            mode.map_or("", Mode::name)
                        ))
                        .with_hint("give one of them"));
                    }
                    mode = Some(by_name);
                    network = Some(None);
                }
                // A named network: its mode comes from its file, when the change is applied.
                _ => {
                    crate::model::named_network::validate_network_name(name)?;
                    network = Some(Some(name.clone()));
                }
            }
        } else if mode.is_some() {
            // A mode alone means that mode's built-in network.
            network = Some(None);
        }
        Ok(NicChange {
            mode,
            network,
            controller: self.controller,
            bridge: self
                .bridge
                .as_deref()
                .map(BridgeChoice::parse)
                .transpose()?,
            mac: self
                .mac
                .as_deref()
                .map(str::parse::<MacPolicy>)
                .transpose()?,
            ip: self.ip.as_deref().map(IpChoice::parse).transpose()?,
            no_local: if self.local {
                Some(Some(false))
            } else if self.no_local {
                Some(Some(true))
            } else if self.local_default {
                Some(None)
            } else {
                None
            },
            vlan: self.vlan,
            filter: self.filter.as_deref().map(read_filter).transpose()?,
        })
    }
}

impl NetworkFlags {
    /// Warnings for Anka options that were accepted and change nothing.
    pub fn ignored(&self) -> Vec<String> {
        self.bond
            .iter()
            .map(|_| {
                "--bond is ignored: a vmctl VM has one NIC on one host interface; bond the host's \
                 interfaces and bridge to the bond with -b BOND"
                    .to_owned()
            })
            .collect()
    }
}

/// `-f FILE|-|off`: the rules, checked now so that a bad file stores nothing. A file is kept
/// by its path (absolute, so a start from another folder finds it), as Anka does.
fn read_filter(source: &str) -> Result<FilterChoice, Error> {
    use std::io::Read;
    if source == "off" {
        return Ok(FilterChoice::Off);
    }
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(crate::store::MAX_INPUT_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| Error::io("reading", "stdin", e))?;
        text
    } else {
        crate::store::read_input_text(std::path::Path::new(source), "filter rules file")?
    };
    let shown = if source == "-" { "stdin" } else { source };
    text.parse::<FilterRules>().map_err(|e| {
        Error::invalid("filter rules", shown, e.to_string()).with_hint(
            "one rule a line: (block|pass) [in|out|any] [proto tcp|udp|icmp] [from ADDR [port P]] [to ADDR [port P]], or block local",
        )
    })?;
    if source == "-" {
        return Ok(FilterChoice::Rules(text));
    }
    std::path::absolute(source)
        .map(FilterChoice::File)
        .map_err(|e| Error::io("finding", source, e))
}
