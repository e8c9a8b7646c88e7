//! Port forwards: `NAME GUEST[:HOST_IP][:HOST_PORT]`, unique host ports, auto-assignment.

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

/// Parse `GUEST[:HOST_IP][:HOST_PORT]`.
pub fn parse_port_spec(
    name: &str,
    spec: &str,
    protocol: Protocol,
) -> Result<PortForwardRequest, Error> {
    validate_rule_name(name)?;
    let hint = "write GUEST[:HOST_IP][:HOST_PORT], e.g. 22, 22:2222 or 22:127.0.0.1:2222";
    let mut parts = spec.split(':');
    let guest = parts.next().unwrap_or_default();
    let guest_port = parse_port(guest).map_err(|e| e.with_hint(hint))?;
    let mut host_ip = None;
    let mut host_port = None;
    for part in parts {
        if host_port.is_some() {
            return Err(Error::invalid("port forward", spec, "too many ':' parts").with_hint(hint));
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
            host_port = Some(parse_port(part).map_err(|e| e.with_hint(hint))?);
        }
    }
    Ok(PortForwardRequest {
        name: name.to_owned(),
        protocol,
        guest_port,
        host_ip: host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
        host_port,
    })
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
