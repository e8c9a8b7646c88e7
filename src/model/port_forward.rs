//! Port forwards: `NAME GUEST[:HOST_IP][:HOST_PORT]` (or Anka's `-g`/`-p`/`-l` flags), unique
//! host ports, auto-assignment.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Transport protocol of a forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One forward from a host port to a guest port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForward {
    pub name: String,
    pub protocol: Protocol,
    pub guest_port: u16,
    pub host_port: u16,
    pub host_ip: Ipv4Addr,
    /// vmctl chose the host port (none was given, or 0): a clone chooses its own, and a start
    /// that finds it taken by a running VM takes the next free one for that run. A port the
    /// user gave is kept as given, and two VMs forwarding it cannot run at once (as in Anka).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_host_port: bool,
}

impl PortForward {
    /// Whether the two cannot both be forwarded at once: one protocol, one host port, and
    /// host addresses that meet (one of them every address, or the same one).
    pub fn clashes_with(&self, other: &PortForward) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_ip == other.host_ip
                || self.host_ip.is_unspecified()
                || other.host_ip.is_unspecified())
    }
}

/// What the user asked for before the host port is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortForwardRequest {
    pub name: String,
    pub protocol: Protocol,
    pub guest_port: u16,
    pub host_ip: Ipv4Addr,
    pub host_port: Option<u16>,
}

/// The parts of a forward one command gave, from its RULE and its flags; `None` = not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortForwardParts {
    pub guest_port: Option<u16>,
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: Option<u16>,
    pub protocol: Option<Protocol>,
}

const RULE_HINT: &str = "write GUEST[:HOST_IP][:HOST_PORT], e.g. 22, 22:2222 or 22:127.0.0.1:2222";

impl PortForwardParts {
    /// Parse RULE: `GUEST[:HOST_IP][:HOST_PORT]` (a host port of 0: vmctl chooses, as Anka).
    pub fn from_rule(spec: &str) -> Result<Self, Error> {
        let hint = RULE_HINT;
        let mut parts = spec.split(':');
        let guest = parts.next().unwrap_or_default();
        let guest_port = parse_port(guest).map_err(|e| e.with_hint(hint))?;
        let mut host_ip = None;
        let mut host_port = None;
        for part in parts {
            if host_port.is_some() {
                return Err(
                    Error::invalid("port forward", spec, "too many ':' parts").with_hint(hint)
                );
            }
            if part.contains('.') {
                if host_ip.is_some() {
                    return Err(
                        Error::invalid("port forward", spec, "two host addresses").with_hint(hint)
                    );
                }
                let ip: Ipv4Addr = part.parse().map_err(|_| {
                    Error::invalid("host IP", part, "not an IPv4 address").with_hint(hint)
                })?;
                host_ip = Some(ip);
            } else {
                host_port = Some(parse_host_port(part).map_err(|e| e.with_hint(hint))?);
            }
        }
        Ok(PortForwardParts {
            guest_port: Some(guest_port),
            host_ip,
            host_port: host_port.flatten(),
            protocol: None,
        })
    }

    /// RULE's parts together with the flags' (`-g`, `-p`, `-l`, `--protocol`); a part given
    /// both ways is refused, even with the same value, so that nothing is silently dropped.
    pub fn merge(self, flags: PortForwardParts) -> Result<Self, Error> {
        fn pick<T>(
            a: Option<T>,
            b: Option<T>,
            err: impl FnOnce() -> Error,
        ) -> Result<Option<T>, Error> {
            match (a, b) {
                (Some(_), Some(_)) => Err(err()),
                (a, b) => Ok(a.or(b)),
            }
        }
        let both = |what: &str, flag: &str| {
            Error::conflict(format!(
                "the {what} is given twice: in RULE and with {flag}"
            ))
            .with_hint(format!("give the {what} once: in RULE or with {flag}"))
        };
        Ok(PortForwardParts {
            guest_port: pick(self.guest_port, flags.guest_port, || {
                both("guest port", "-g/--guest-port")
            })?,
            host_ip: pick(self.host_ip, flags.host_ip, || {
                both("host IP", "-l/--host-ip")
            })?,
            host_port: pick(self.host_port, flags.host_port, || {
                both("host port", "-p/--host-port")
            })?,
            protocol: pick(self.protocol, flags.protocol, || {
                both("protocol", "--protocol")
            })?,
        })
    }

    /// A new forward named `name`: the guest port is needed; the protocol defaults to TCP,
    /// the host IP to every address, the host port to a free one.
    pub fn into_request(self, name: &str) -> Result<PortForwardRequest, Error> {
        validate_rule_name(name)?;
        let Some(guest_port) = self.guest_port else {
            return Err(
                Error::invalid("port forward", name, "it needs a guest port").with_hint(format!(
                    "give RULE or -g: e.g. `{name} 22` or `{name} -g 22`"
                )),
            );
        };
        Ok(PortForwardRequest {
            name: name.to_owned(),
            protocol: self.protocol.unwrap_or(Protocol::Tcp),
            guest_port,
            host_ip: self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            host_port: self.host_port,
        })
    }
}

/// Parse `GUEST[:HOST_IP][:HOST_PORT]` into a new forward named `name`.
pub fn parse_port_spec(
    name: &str,
    spec: &str,
    protocol: Protocol,
) -> Result<PortForwardRequest, Error> {
    validate_rule_name(name)?;
    PortForwardParts {
        protocol: Some(protocol),
        ..PortForwardParts::from_rule(spec)?
    }
    .into_request(name)
}

/// A host port as Anka takes it: 1-65535, or 0 for "vmctl chooses" (`None`). The Packer
/// plugin sends `--host-port 0` for every rule without one.
pub fn parse_host_port(text: &str) -> Result<Option<u16>, Error> {
    if text == "0" {
        Ok(None)
    } else {
        parse_port(text)
            .map(Some)
            .map_err(|_| Error::invalid("host port", text, "expected 0 (choose one) or 1-65535"))
    }
}

/// A TCP/UDP port, 1-65535.
pub fn parse_port(text: &str) -> Result<u16, Error> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(Error::invalid(
            "port",
            text,
            "expected a number from 1 to 65535",
        )),
        Ok(p) => Ok(p),
    }
}

/// A forward's name: shown in tables and used in firewall comments.
pub fn validate_rule_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "port forward name",
            name,
            "use 1-32 letters, digits, '-', '_' or '.'",
        )
        .with_hint("name it after the service, e.g. ssh or vnc"))
    }
}

/// Does `(protocol, port)` already forward somewhere on the host? Returns the owner's label.
pub fn host_port_owner<'a>(
    taken: impl IntoIterator<Item = (&'a str, &'a PortForward)>,
    protocol: Protocol,
    port: u16,
) -> Option<(&'a str, &'a PortForward)> {
    taken
        .into_iter()
        .find(|(_, pf)| pf.protocol == protocol && pf.host_port == port)
}

/// The lowest free host port at or above `base` for `protocol`.
pub fn next_free_port(used: &[(Protocol, u16)], protocol: Protocol, base: u16) -> Option<u16> {
    let mut ports: Vec<u16> = used
        .iter()
        .filter(|(p, _)| *p == protocol)
        .map(|(_, port)| *port)
        .filter(|port| *port >= base)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let mut candidate = base;
    for port in ports {
        if port != candidate {
            break;
        }
        candidate = candidate.checked_add(1)?;
    }
    Some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_zero_means_choose() {
        assert_eq!(parse_host_port("0").unwrap(), None);
        assert_eq!(parse_host_port("2222").unwrap(), Some(2222));
        assert!(parse_host_port("70000").is_err());
        assert!(parse_host_port("-1").is_err());
        let parts = PortForwardParts::from_rule("22:127.0.0.1:0").unwrap();
        assert_eq!(parts.host_port, None);
        assert_eq!(parts.host_ip, Some(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn specs() {
        let r = parse_port_spec("ssh", "22", Protocol::Tcp).unwrap();
        assert_eq!(
            (r.guest_port, r.host_ip, r.host_port),
            (22, Ipv4Addr::UNSPECIFIED, None)
        );
        let r = parse_port_spec("ssh", "22:2222", Protocol::Tcp).unwrap();
        assert_eq!(r.host_port, Some(2222));
        let r = parse_port_spec("ssh", "22:127.0.0.1:2222", Protocol::Tcp).unwrap();
        assert_eq!((r.host_ip, r.host_port), (Ipv4Addr::LOCALHOST, Some(2222)));
        let r = parse_port_spec("ssh", "22:127.0.0.1", Protocol::Tcp).unwrap();
        assert_eq!((r.host_ip, r.host_port), (Ipv4Addr::LOCALHOST, None));
        for bad in ["", "0", "70000", "22:", "22:1.2.3", "22:2222:3333", "x"] {
            assert!(parse_port_spec("ssh", bad, Protocol::Tcp).is_err(), "{bad}");
        }
        assert!(parse_port_spec("s sh", "22", Protocol::Tcp).is_err());
    }

    #[test]
    fn rule_and_flags_merge_but_never_twice() {
        let rule = PortForwardParts::from_rule("22").unwrap();
        let flags = PortForwardParts {
            host_port: Some(2222),
            host_ip: Some(Ipv4Addr::LOCALHOST),
            ..PortForwardParts::default()
        };
        let r = rule.merge(flags).unwrap().into_request("ssh").unwrap();
        assert_eq!(
            (r.guest_port, r.host_ip, r.host_port, r.protocol),
            (22, Ipv4Addr::LOCALHOST, Some(2222), Protocol::Tcp)
        );
        let twice = PortForwardParts::from_rule("22:2222").unwrap().merge(flags);
        assert!(
            twice
                .unwrap_err()
                .to_string()
                .contains("host port is given twice")
        );
        let no_guest = PortForwardParts::default().merge(flags).unwrap();
        assert!(no_guest.into_request("ssh").is_err());
        let by_flag = PortForwardParts {
            guest_port: Some(22),
            ..PortForwardParts::default()
        };
        assert_eq!(by_flag.into_request("ssh").unwrap().host_port, None);
    }

    #[test]
    fn free_ports() {
        let used = [
            (Protocol::Tcp, 10000),
            (Protocol::Tcp, 10001),
            (Protocol::Udp, 10002),
            (Protocol::Tcp, 10003),
        ];
        assert_eq!(next_free_port(&used, Protocol::Tcp, 10000), Some(10002));
        assert_eq!(next_free_port(&used, Protocol::Udp, 10000), Some(10000));
        assert_eq!(
            next_free_port(&[(Protocol::Tcp, 65535)], Protocol::Tcp, 65535),
            None
        );
    }
}
