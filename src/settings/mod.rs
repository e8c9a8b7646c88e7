//! Host settings (`vmctl config`): the keys, their defaults, where each value came from, and the
//! precedence `VMCTL_<KEY>` > `ANKA_<KEY>` > config file > default.

pub mod change;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::error::Error;
use crate::model::mac::parse_mac_prefix;
use crate::model::named_network::NetworkDef;
use crate::model::network::AddressPlan;
use crate::model::profile::validate_interface_name;
use crate::model::rule_text::RuleText;
use crate::model::{Controller, Mode};
use crate::store::BadFile;

macro_rules! keys {
    ($($variant:ident => $name:literal, $default:literal, $about:literal;)+) => {
        /// A host setting.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Key { $($variant),+ }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(Key::$variant => $name),+ }
            }

            pub fn default_value(self) -> &'static str {
                match self { $(Key::$variant => $default),+ }
            }

            pub fn about(self) -> &'static str {
                match self { $(Key::$variant => $about),+ }
            }
        }
    };
}

keys! {
    NoLocal => "no_local", "0", "1 isolates VMs that do not choose (--local / --no-local) from each other and the host";
    BridgeName => "bridge_name", "", "host interface for bridge mode when the VM names none (empty = auto)";
    NetworkMode => "network_mode", "shared", "mode of new VMs: shared, host, bridge or disconnected";
    NetworkController => "network_controller", "virtio-net", "NIC model of new VMs: virtio-net, anet or e1000";
    NetFilter => "net_filter", "", "file of IP filter rules for VMs without their own (empty = none)";
    PortfwdBase => "portfwd_base", "10000", "first host port tried when a port forward names none";
    StartAddress => "start_address", "192.168.64.1", "shared network: gateway and first address";
    EndAddress => "end_address", "192.168.64.254", "shared network: last DHCP address";
    SubnetMask => "subnet_mask", "255.255.255.0", "shared network: subnet mask";
    HostStartAddress => "host_start_address", "192.168.128.1", "host network: gateway and first address";
    HostEndAddress => "host_end_address", "192.168.128.254", "host network: last DHCP address";
    HostSubnetMask => "host_subnet_mask", "255.255.255.0", "host network: subnet mask";
    DhcpLeaseTime => "dhcp_lease_time", "86400", "DHCP lease time in seconds";
    MacPrefix => "mac_prefix", "", "locally administered OUI for vmctl-made MACs, e.g. 0a:12:34 (empty = none)";
    DhcpLeasesFile => "dhcp_leases_file", "/var/db/dhcpd_leases", "lease file of macOS bootpd";
    Registry => "registry", "", "fleet registry: etcd://HOST:PORT[,HOST:PORT...] (empty = this host alone)";
    RegistryCa => "registry_ca", "", "CA certificate (PEM) of the registry; set = TLS";
    RegistryCert => "registry_cert", "", "this host's client certificate (PEM) for the registry";
    RegistryKey => "registry_key", "", "the key (PKCS#8 PEM) of registry_cert";
    RegistryUser => "registry_user", "", "this host's etcd user (empty = no etcd auth)";
    RegistryPasswordFile => "registry_password_file", "", "file holding registry_user's password";
    HostName => "host_name", "", "this host's name in the fleet (empty = the kernel's host name)";
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Key {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Key::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
                Error::invalid("config key", s, "no such key")
                    .with_hint(format!("the keys are: {}", names.join(", ")))
            })
    }
}

impl Key {
    /// The environment variables that override this key, strongest first. `bridge_name` also
    /// answers to `ANKA_BRIDGE`, the shorter name some Anka setups export.
    pub fn env_names(self) -> Vec<String> {
        let upper = self.name().to_ascii_uppercase();
        let mut names = vec![format!("VMCTL_{upper}"), format!("ANKA_{upper}")];
        if self == Key::BridgeName {
            names.push("ANKA_BRIDGE".to_owned());
        }
        names
    }

    /// Check a value for this key and return the form that is stored.
    /// A value of this key as JSON: `no_local` a boolean (as `show` has it), ports and
    /// seconds numbers, the rest strings.
    pub fn json(self, value: &str) -> serde_json::Value {
        match self {
            Key::NoLocal => serde_json::Value::Bool(value == "1"),
            Key::PortfwdBase | Key::DhcpLeaseTime => value
                .parse::<u64>()
                .map_or_else(|_| value.into(), serde_json::Value::from),
            _ => value.into(),
        }
    }

    pub fn normalize(self, value: &str) -> Result<String, Error> {
        let bad = |reason: &str| {
            Error::invalid("value", value, format!("{self} {reason}"))
                .with_hint(format!("{self}: {}", self.about()))
        };
        let value = value.trim();
        match self {
            Key::NoLocal => match value {
                "1" | "true" | "yes" | "on" => Ok("1".into()),
                "0" | "false" | "no" | "off" => Ok("0".into()),
                _ => Err(bad("takes 0 or 1")),
            },
            Key::BridgeName => {
                if !value.is_empty() && value != "auto" {
                    validate_interface_name(value)?;
                }
                Ok(if value == "auto" {
                    String::new()
                } else {
                    value.into()
                })
            }
            Key::NetworkMode => Ok(Mode::from_anka(value)?.name().into()),
            Key::NetworkController => Ok(value.parse::<Controller>()?.name().into()),
            Key::Registry => {
                crate::model::registry::RegistryUrl::parse(value)?;
                Ok(value.into())
            }
            Key::HostName => {
                if !value.is_empty() {
                    crate::model::registry::validate_host_name(value)?;
                }
                Ok(value.into())
            }
            Key::RegistryUser => {
                if value.contains(['\n', '\0', '/']) {
                    return Err(bad("takes an etcd user name"));
                }
                Ok(value.into())
            }
            Key::NetFilter
            | Key::DhcpLeasesFile
            | Key::RegistryCa
            | Key::RegistryCert
            | Key::RegistryKey
            | Key::RegistryPasswordFile => {
                if value.contains('\n') || value.contains('\0') {
                    return Err(bad("takes a file path"));
                }
                Ok(value.into())
            }
            Key::PortfwdBase => match value.parse::<u16>() {
                Ok(p) if p >= 1 => Ok(p.to_string()),
                _ => Err(bad("takes a port number from 1 to 65535")),
            },
            Key::StartAddress
            | Key::EndAddress
            | Key::SubnetMask
            | Key::HostStartAddress
            | Key::HostEndAddress
            | Key::HostSubnetMask => value
                .parse::<Ipv4Addr>()
                .map(|ip| ip.to_string())
                .map_err(|_| bad("takes an IPv4 address like 192.168.64.1")),
            Key::DhcpLeaseTime => match value.parse::<u32>() {
                Ok(s) if s >= 60 => Ok(s.to_string()),
                _ => Err(bad("takes a number of seconds, at least 60")),
            },
            Key::MacPrefix => {
                if value.is_empty() {
                    return Ok(String::new());
                }
                let p = parse_mac_prefix(value)?;
                Ok(format!("{:02x}:{:02x}:{:02x}", p[0], p[1], p[2]))
            }
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File => f.write_str("config file"),
            Source::Env(var) => write!(f, "env {var}"),
        }
    }
}

pub use crate::store::ConfigValues;

/// Every key's resolved value and source, plus the typed view the rest of vmctl uses.
#[derive(Debug, Clone)]
pub struct Settings {
    raw: Vec<(Key, String, Source)>,
    pub no_local: bool,
    pub bridge_name: Option<String>,
    pub network_mode: Mode,
    pub network_controller: Controller,
    pub net_filter: Option<PathBuf>,
    pub portfwd_base: u16,
    pub shared: AddressPlan,
    pub host: AddressPlan,
    pub dhcp_lease_time: u32,
    pub mac_prefix: Option<[u8; 3]>,
    pub dhcp_leases_file: PathBuf,
    /// The named networks (`networks/<name>.plist`) with their address plans (none for a
    /// bridge network); attached by `with_networks`.
    pub named: BTreeMap<String, (NetworkDef, Option<AddressPlan>)>,
    /// The named networks whose file cannot be used: they are not in `named`, their VMs are
    /// refused at start, and the rest goes on without them.
    pub bad_networks: BTreeMap<String, BadFile>,
    /// `ANKA_` variables passed over (empty ones are simply unset): why, one line each.
    pub env_warnings: Vec<String>,
}

impl Settings {
    /// The host's settings as every command sees them: the config file, the environment, and
    /// the named networks.
    pub fn load(store: &crate::store::Store) -> Result<Settings, Error> {
        // A network file that cannot be used affects its network only (`bad_networks`).
        Settings::resolve(
            &check_file_values(&store.load_config_unchecked()?, &store.config_path())?,
            |var| std::env::var(var).ok(),
        )?
        .with_networks(store.load_networks_lenient()?)
    }

    /// Attach the named networks, and the files of the ones that cannot be used.
    pub fn with_networks(
        mut self,
        (networks, bad): (Vec<NetworkDef>, Vec<BadFile>),
    ) -> Result<Settings, Error> {
        self.named = networks
            .into_iter()
            .map(|net| {
                let plan = net.address_plan();
                (net.name.clone(), (net, plan))
            })
            .collect();
        self.bad_networks = bad.into_iter().map(|b| (b.name.clone(), b)).collect();
        Ok(self)
    }

    /// A VM can join `network`: a built-in one, or a named one whose file is sound. Refused
    /// otherwise, naming the bad file and its repair, or saying how to make the network.
    pub fn require_network(&self, network: &str, vm: &str) -> Result<(), Error> {
        if self.address_plan(network).is_some() {
            return Ok(());
        }
        if let Some(bad) = self.bad_networks.get(network) {
            return Err(Error::corrupt(
                &bad.path,
                format!("{} (VM '{vm}' joins network '{network}')", bad.reason),
            )
            .with_hint(&bad.hint));
        }
        Err(crate::model::named_network::no_such_network(network, vm))
    }

    /// Every vmctl network a VM can join (run by vmctl: shared or host mode), built-in first.
    pub fn network_names(&self) -> Vec<&str> {
        crate::model::BUILTIN_NETWORKS
            .into_iter()
            .chain(
                self.named
                    .iter()
                    .filter(|(_, (_, plan))| plan.is_some())
                    .map(|(name, _)| name.as_str()),
            )
            .collect()
    }

    /// The mode of a vmctl network (`host` has no route out; the others are shared).
    pub fn network_mode_of(&self, network: &str) -> Option<Mode> {
        match network {
            "shared" => Some(Mode::Shared),
            "host" => Some(Mode::Host),
            name => self.named.get(name).map(|(net, _)| net.mode),
        }
    }
    /// Resolve every key from the environment (`env`), the file's values and the defaults.
    pub fn resolve(
        file: &ConfigValues,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let mut raw = Vec::with_capacity(Key::ALL.len());
        let mut env_warnings = Vec::new();
        for &key in Key::ALL {
            // An empty variable counts as unset. An `ANKA_` one whose value does not fit is
            // passed over with a warning (`env_warnings`): tools such as the Packer plugin
            // pass every `ANKA_*` of their own environment through, and Anka's own meaning may
            // differ. A `VMCTL_` one that does not fit is an error: it was meant for vmctl.
            let mut from_env = None;
            for var in key.env_names() {
                let Some(value) = env(&var).filter(|v| !v.trim().is_empty()) else {
                    continue;
                };
                match key.normalize(&value) {
                    Ok(value) => {
                        from_env = Some((var, value));
                        break;
                    }
                    Err(e) if var.starts_with("ANKA_") => env_warnings.push(format!(
                        "{var} is passed over: {e} (vmctl uses {} instead)",
                        if file.contains_key(key.name()) {
                            "the config file's value"
                        } else {
                            "the default"
                        }
                    )),
                    Err(e) => return Err(blame(e, &format!("environment variable {var}"))),
                }
            }
            let (value, source) = if let Some((var, value)) = from_env {
                (value, Source::Env(var))
            } else if let Some(value) = file.get(key.name()) {
                (value.clone(), Source::File)
            } else {
                (key.default_value().to_owned(), Source::Default)
            };
            raw.push((key, value, source));
        }
        let fallback = |key: Key| {
            file.get(key.name()).map_or_else(
                || (key.default_value().to_owned(), Source::Default),
                |v| (v.clone(), Source::File),
            )
        };
        let mut settings = match Settings::from_raw(raw.clone()) {
            Ok(settings) => settings,
            // Values from `ANKA_` variables that do not fit together with the rest (a start
            // address outside the subnet of the end address, say): passed over as above.
            Err(e)
                if raw
                    .iter()
                    .any(|(_, _, s)| matches!(s, Source::Env(v) if v.starts_with("ANKA_"))) =>
            {
                let mut without = raw;
                for (key, value, source) in &mut without {
                    if let Source::Env(var) = source
                        && var.starts_with("ANKA_")
                    {
                        env_warnings.push(format!("{var} is passed over: {e}"));
                        (*value, *source) = fallback(*key);
                    }
                }
                Settings::from_raw(without)?
            }
            Err(e) => return Err(e),
        };
        settings.env_warnings = env_warnings;
        Ok(settings)
    }

    fn from_raw(raw: Vec<(Key, String, Source)>) -> Result<Settings, Error> {
        let get = |key: Key| {
            raw.iter()
                .find(|(k, ..)| *k == key)
                .map_or("", |(_, v, _)| v.as_str())
        };
        let ip = |key: Key| {
            get(key)
                .parse::<Ipv4Addr>()
                .unwrap_or(Ipv4Addr::UNSPECIFIED)
        };
        let plan = |start: Key, end: Key, mask: Key| {
            AddressPlan::new(ip(start), ip(end), ip(mask)).map_err(|reason| {
                Error::invalid(
                    "network addresses",
                    format!("{start}..{end}/{mask}"),
                    reason,
                )
                .with_hint(format!(
                    "move them together: vmctl config {start} A {end} B {mask} M (`vmctl config -l` shows where each comes from)"
                ))
            })
        };
        let non_empty = |key: Key| Some(get(key)).filter(|v| !v.is_empty());
        Ok(Settings {
            no_local: get(Key::NoLocal) == "1",
            bridge_name: non_empty(Key::BridgeName).map(str::to_owned),
            network_mode: get(Key::NetworkMode).parse()?,
            network_controller: get(Key::NetworkController).parse()?,
            net_filter: non_empty(Key::NetFilter).map(PathBuf::from),
            portfwd_base: get(Key::PortfwdBase).parse().unwrap_or(10000),
            shared: plan(Key::StartAddress, Key::EndAddress, Key::SubnetMask)?,
            host: plan(
                Key::HostStartAddress,
                Key::HostEndAddress,
                Key::HostSubnetMask,
            )?,
            dhcp_lease_time: get(Key::DhcpLeaseTime).parse().unwrap_or(86400),
            mac_prefix: non_empty(Key::MacPrefix).and_then(|p| parse_mac_prefix(p).ok()),
            dhcp_leases_file: PathBuf::from(get(Key::DhcpLeasesFile)),
            named: BTreeMap::new(),
            bad_networks: BTreeMap::new(),
            env_warnings: Vec::new(),
            raw,
        })
    }

    /// Each key with its value and source, in key order.
    pub fn entries(&self) -> &[(Key, String, Source)] {
        &self.raw
    }

    pub fn get(&self, key: Key) -> (&str, &Source) {
        self.raw
            .iter()
            .find(|(k, ..)| *k == key)
            .map(|(_, v, s)| (v.as_str(), s))
            .expect("every key is resolved")
    }

    /// The address plan of a vmctl network, built-in or named.
    pub fn address_plan(&self, network: &str) -> Option<&AddressPlan> {
        match network {
            "shared" => Some(&self.shared),
            "host" => Some(&self.host),
            name => self.named.get(name).and_then(|(_, plan)| plan.as_ref()),
        }
    }
}

/// Say which source a bad value came from.
fn blame(err: Error, source: &str) -> Error {
    match err {
        Error::Invalid {
            what,
            value,
            reason,
            hint,
        } => Error::Invalid {
            what,
            value,
            reason: format!("{reason} (from {source})"),
            hint: hint.or_else(|| Some(format!("fix or unset {source}"))),
        },
        other => other,
    }
}

/// Check a config file's values (as read) and normalize them; a bad one names the file.
pub fn check_file_values(
    values: &BTreeMap<String, String>,
    path: &std::path::Path,
) -> Result<ConfigValues, Error> {
    let mut out = ConfigValues::new();
    for (name, value) in values {
        let key: Key = name
            .parse()
            .map_err(|_| Error::corrupt(path, format!("unknown key '{name}'")))?;
        let value = key
            .normalize(value)
            .map_err(|e| Error::corrupt(path, format!("key {name}: {e}")))?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The rules of the `net_filter` file (for VMs without their own), read and parsed now: a
/// file that no longer parses is an error naming it.
pub fn read_net_filter(path: Option<&std::path::Path>) -> Result<Option<RuleText>, Error> {
    let Some(path) = path else { return Ok(None) };
    let text = crate::store::read_input_text(path, "net_filter file")?;
    text.parse::<RuleText>()
        .map(Some)
        .map_err(|e| Error::corrupt(path, format!("filter rules: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_variables_are_unset_and_bad_anka_ones_are_passed_over() {
        let mut file = ConfigValues::new();
        file.insert("portfwd_base".into(), "2000".into());
        let s = Settings::resolve(
            &file,
            env_of(&[
                ("ANKA_PORTFWD_BASE", "abc"),
                ("ANKA_BRIDGE_NAME", ""),
                ("VMCTL_NO_LOCAL", " "),
                ("ANKA_NO_LOCAL", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.portfwd_base, 2000, "the file's value");
        assert_eq!(s.bridge_name, None);
        assert!(s.no_local, "an empty VMCTL_ one lets ANKA_ speak");
        assert_eq!(s.env_warnings.len(), 1, "{:?}", s.env_warnings);
        assert!(s.env_warnings[0].starts_with("ANKA_PORTFWD_BASE is passed over"));
        // Values that fit alone but not together: the ANKA_ ones go.
        let s = Settings::resolve(
            &ConfigValues::new(),
            env_of(&[("ANKA_START_ADDRESS", "10.0.0.1")]),
        )
        .unwrap();
        assert_eq!(s.get(Key::StartAddress).0, "192.168.64.1");
        assert_eq!(s.env_warnings.len(), 1, "{:?}", s.env_warnings);
        // vmctl's own variables are meant for it: an error.
        assert!(
            Settings::resolve(
                &ConfigValues::new(),
                env_of(&[("VMCTL_PORTFWD_BASE", "abc")])
            )
            .is_err()
        );
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn precedence_env_file_default() {
        let mut file = ConfigValues::new();
        file.insert("bridge_name".into(), "en2".into());
        file.insert("no_local".into(), "1".into());
        let s = Settings::resolve(
            &file,
            env_of(&[("ANKA_BRIDGE_NAME", "en1"), ("VMCTL_PORTFWD_BASE", "2000")]),
        )
        .unwrap();
        assert_eq!(s.bridge_name.as_deref(), Some("en1"));
        assert_eq!(
            s.get(Key::BridgeName).1,
            &Source::Env("ANKA_BRIDGE_NAME".into())
        );
        assert!(s.no_local);
        assert_eq!(s.get(Key::NoLocal).1, &Source::File);
        assert_eq!(s.portfwd_base, 2000);
        assert_eq!(s.get(Key::NetworkMode), ("shared", &Source::Default));
        let s = Settings::resolve(
            &file,
            env_of(&[("ANKA_BRIDGE_NAME", "en1"), ("VMCTL_BRIDGE_NAME", "en3")]),
        )
        .unwrap();
        assert_eq!(s.bridge_name.as_deref(), Some("en3"));
        let s = Settings::resolve(&file, env_of(&[("ANKA_BRIDGE", "en4")])).unwrap();
        assert_eq!(s.bridge_name.as_deref(), Some("en4"));
        assert_eq!(s.get(Key::BridgeName).1, &Source::Env("ANKA_BRIDGE".into()));
        let s = Settings::resolve(
            &file,
            env_of(&[("ANKA_BRIDGE", "en4"), ("ANKA_BRIDGE_NAME", "en1")]),
        )
        .unwrap();
        assert_eq!(s.bridge_name.as_deref(), Some("en1"));
        let s = Settings::resolve(
            &file,
            env_of(&[("ANKA_BRIDGE", "en4"), ("VMCTL_BRIDGE_NAME", "en3")]),
        )
        .unwrap();
        assert_eq!(s.bridge_name.as_deref(), Some("en3"));
    }

    #[test]
    fn bad_env_names_the_variable() {
        let err = Settings::resolve(&ConfigValues::new(), env_of(&[("VMCTL_NO_LOCAL", "maybe")]))
            .unwrap_err();
        assert!(err.to_string().contains("VMCTL_NO_LOCAL"), "{err}");
    }

    #[test]
    fn inconsistent_addresses_are_refused() {
        let mut file = ConfigValues::new();
        file.insert("end_address".into(), "10.0.0.9".into());
        let err = Settings::resolve(&file, |_| None).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
    }

    #[test]
    fn normalize() {
        assert_eq!(Key::NoLocal.normalize("true").unwrap(), "1");
        assert!(Key::NoLocal.normalize("2").is_err());
        assert!(Key::PortfwdBase.normalize("0").is_err());
        assert_eq!(Key::MacPrefix.normalize("A:12:34").unwrap(), "0a:12:34");
        assert!(Key::BridgeName.normalize("en0; rm").is_err());
    }
}
