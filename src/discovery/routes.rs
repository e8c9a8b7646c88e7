//! The host's IPv4 routes and interface networks, and the subnet checks made against them: a
//! new network must not overlap a VPN's routes, a docker or libvirt bridge, a LAN or another
//! vmctl network, or the host would send its traffic to the wrong place.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::error::Error;
use crate::settings::Settings;

/// One destination the host already reaches somewhere, and what sends it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub dest: Ipv4Network,
    /// For messages: "route via 10.8.0.1 on tun0, a VPN tunnel", "address of docker0, a docker
    /// bridge", "the vmctl network 'ci'".
    pub what: String,
}

impl HostRoute {
    /// A route through `device` and/or `gateway`.
    pub fn route(dest: Ipv4Network, device: Option<&str>, gateway: Option<Ipv4Addr>) -> Self {
        let mut what = "route".to_owned();
        if let Some(gateway) = gateway {
            what = format!("{what} via {gateway}");
        }
        if let Some(device) = device {
            what = format!("{what} on {}", describe_interface(device));
        }
        HostRoute {
            dest: normalized(dest),
            what,
        }
    }

    /// The network of an address of the host interface `device`.
    pub fn address(network: Ipv4Network, device: &str) -> Self {
        HostRoute {
            dest: normalized(network),
            what: format!("address of {}", describe_interface(device)),
        }
    }

    /// The subnet of a vmctl network (built in or named), up or not.
    pub fn vmctl_network(name: &str, subnet: Ipv4Network) -> Self {
        HostRoute {
            dest: normalized(subnet),
            what: format!("the vmctl network '{name}'"),
        }
    }
}

/// `network/prefix` with the host bits cleared.
fn normalized(network: Ipv4Network) -> Ipv4Network {
    Ipv4Network::new(network.network(), network.prefix()).unwrap_or(network)
}

/// An interface name, with what it probably is when its name says so: the usual owners of
/// private subnets on a host are VPN clients and container or VM managers.
pub fn describe_interface(name: &str) -> String {
    let vpn = ["tun", "utun", "wg", "tailscale", "ppp", "ipsec", "zt"];
    let kind = if name == "docker0" || name.starts_with("br-") {
        Some("a docker bridge")
    } else if name.starts_with("virbr") {
        Some("a libvirt bridge")
    } else if name.starts_with("vmctl-") {
        Some("a vmctl bridge")
    } else if name
        .strip_prefix("bridge")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n >= 100)
    {
        // macOS numbers the bridges of vmnet's shared and host networks from 100.
        Some("a vmnet bridge")
    } else if vpn.iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()))
    }) || name.starts_with("tailscale")
    {
        Some("a VPN tunnel")
    } else {
        None
    };
    match kind {
        Some(kind) => format!("{name}, {kind}"),
        None => name.to_owned(),
    }
}

/// The host's routes less those of the bridges vmctl and vmnet make for VM networks: what a VM
/// network must stay clear of when it comes up (vmctl keeps its own networks apart; a vmnet
/// bridge may be the very network vmctl's VMs join on macOS).
pub fn foreign(routes: Vec<HostRoute>) -> Vec<HostRoute> {
    routes
        .into_iter()
        .filter(|r| !r.what.contains("a vmctl bridge") && !r.what.contains("a vmnet bridge"))
        .collect()
}

/// Do the two networks share an address?
fn overlaps(a: Ipv4Network, b: Ipv4Network) -> bool {
    a.network() <= b.broadcast() && b.network() <= a.broadcast()
}

/// Routes wider than this are catch-alls, never conflicts: the default route, the 0/1 +
/// 128/1 pair a full-tunnel VPN puts in its place, multicast's 224/4. A VM network's narrower
/// route wins over them for its own subnet only, which is what a VM network is for.
pub const CATCH_ALL_PREFIX: u8 = 8;

/// The routes `subnet` overlaps, either way (inside it, or around it), catch-alls left out.
pub fn conflicts(subnet: Ipv4Network, routes: &[HostRoute]) -> Vec<&HostRoute> {
    routes
        .iter()
        .filter(|route| route.dest.prefix() >= CATCH_ALL_PREFIX && overlaps(subnet, route.dest))
        .collect()
}

/// Where `free_subnet` looks, in order: after vmnet's usual 192.168.64.0/24 (so the first
/// choice is what macOS would pick), then a block of 10/8 that home routers rarely use.
pub const SUBNET_POOLS: [(Ipv4Addr, u8); 2] = [
    (Ipv4Addr::new(192, 168, 64, 0), 18),
    (Ipv4Addr::new(10, 77, 0, 0), 16),
];

/// The first `/prefix` subnet of `SUBNET_POOLS` that conflicts with none of `routes`, walking
/// each pool in steps of the subnet's size (192.168.64.0/24, 192.168.65.0/24, ...
/// 192.168.127.0/24, 10.77.0.0/24, ...). None when all are taken, or when `prefix` is outside
/// 8-30 (a smaller network leaves no room for a VM).
pub fn free_subnet(routes: &[HostRoute], prefix: u8) -> Option<Ipv4Network> {
    if !(8..=30).contains(&prefix) {
        return None;
    }
    SUBNET_POOLS
        .iter()
        .filter(|(_, pool_prefix)| prefix >= *pool_prefix)
        .flat_map(|&(base, pool_prefix)| {
            let step = 1u32 << (32 - prefix);
            let count = 1u32 << (prefix - pool_prefix);
            (0..count).filter_map(move |i| {
                Ipv4Network::new(Ipv4Addr::from(u32::from(base) + i * step), prefix).ok()
            })
        })
        .find(|candidate| conflicts(*candidate, routes).is_empty())
}

/// The most conflicts a message names; the rest are counted.
const NAMED_CONFLICTS: usize = 3;

/// "subnet 192.168.64.0/24 collides with 192.168.64.0/24 (route on utun3, a VPN tunnel)", with
/// a hint to use `suggestion` (a free subnet) or `--subnet auto`.
pub fn conflict_error(
    subnet: Ipv4Network,
    hits: &[&HostRoute],
    suggestion: Option<Ipv4Network>,
) -> Error {
    let mut named: Vec<String> = hits
        .iter()
        .take(NAMED_CONFLICTS)
        .map(|hit| format!("{} ({})", hit.dest, hit.what))
        .collect();
    if hits.len() > NAMED_CONFLICTS {
        named.push(format!("{} more", hits.len() - NAMED_CONFLICTS));
    }
    let message = format!(
        "subnet {} collides with {}",
        normalized(subnet),
        named.join("; ")
    );
    let hint = match suggestion {
        Some(free) => format!("use --subnet {free}, or --subnet auto"),
        None => {
            let pools: Vec<String> = SUBNET_POOLS
                .iter()
                .map(|(base, prefix)| format!("{base}/{prefix}"))
                .collect();
            format!(
                "no free /{} is left in {}: give a subnet no route uses with --subnet, or remove the routes in the way",
                subnet.prefix(),
                pools.join(" or ")
            )
        }
    };
    Error::conflict(message).with_hint(hint)
}

/// The host's routes and interface networks from its routing table (`table`: destination,
/// device, gateway) and its IPv4 addresses (device, network), as Linux's rtnetlink lists them.
pub fn from_table(
    table: &[(Ipv4Network, Option<String>, Option<Ipv4Addr>)],
    addresses: &[(String, Ipv4Network)],
) -> Vec<HostRoute> {
    let mut routes: Vec<HostRoute> = table
        .iter()
        .map(|(dest, device, gateway)| HostRoute::route(*dest, device.as_deref(), *gateway))
        .collect();
    for (device, address) in addresses {
        // The kernel's own route for the address already says the same (unless the address
        // was added with noprefixroute); loopback is no subnet a VM network would take.
        let network = normalized(*address);
        let has_own_route = table
            .iter()
            .any(|(dest, dev, _)| *dest == network && dev.as_deref() == Some(device.as_str()));
        if device == "lo" || has_own_route {
            continue;
        }
        routes.push(HostRoute::address(network, device));
    }
    routes
}

/// The subnets of vmctl's networks (built-in and named, up or not) as routes a new subnet
/// must stay clear of, but for the networks named in `except`.
pub fn vmctl_networks(settings: &Settings, except: &[&str]) -> Vec<HostRoute> {
    let named = settings
        .named
        .iter()
        .filter_map(|(name, (_, plan))| Some((name.as_str(), plan.as_ref()?.subnet())));
    [
        ("shared", settings.shared.subnet()),
        ("host", settings.host.subnet()),
    ]
    .into_iter()
    .chain(named)
    .filter(|(name, _)| !except.contains(name))
    .map(|(name, subnet)| HostRoute::vmctl_network(name, subnet))
    .collect()
}

/// Everything a new subnet must not overlap: the host's routes and interface networks (as
/// `host` read them; vmctl's own bridges left out) and vmctl's networks but `except`. Routes
/// that could not be read give the vmctl networks alone, and a warning to print.
pub fn taken(
    host: Result<Vec<HostRoute>, Error>,
    settings: &Settings,
    except: &[&str],
) -> (Vec<HostRoute>, Option<String>) {
    let (mut taken, warning) = match host {
        Ok(found) => (foreign(found), None),
        Err(e) => (
            Vec::new(),
            Some(format!("the host's routes were not checked: {e}")),
        ),
    };
    taken.extend(vmctl_networks(settings, except));
    (taken, warning)
}

/// The one subnet-collision check: `subnet` against `routes`. The error names the routes in
/// the way and, as its hint, a free subnet of the same size that also avoids `also_avoid`;
/// that subnet comes back with it, for callers that word their own hint.
pub fn check_subnet(
    subnet: Ipv4Network,
    routes: &[HostRoute],
    also_avoid: &[HostRoute],
) -> Result<(), (Error, Option<Ipv4Network>)> {
    let hits = conflicts(subnet, routes);
    if hits.is_empty() {
        return Ok(());
    }
    let free = if also_avoid.is_empty() {
        free_subnet(routes, subnet.prefix())
    } else {
        let mut avoid = routes.to_vec();
        avoid.extend_from_slice(also_avoid);
        free_subnet(&avoid, subnet.prefix())
    };
    Err((conflict_error(subnet, &hits, free), free))
}

/// The IPv4 routes of BSD `netstat -rn -f inet` output. Destinations come abbreviated: the
/// octets left out are zeros and, without `/N`, the prefix is 8 bits per octet written
/// ("192.168.64" is 192.168.64.0/24, "10.8/16" is 10.8.0.0/16); "default" is 0.0.0.0/0.
/// Cloned host entries (flag W: the neighbours of a local subnet) and lines that are not
/// routes are left out. Columns are found by the header, which differs between releases.
pub fn parse_netstat_rn(text: &str) -> Vec<HostRoute> {
    let mut columns: Option<(usize, usize, usize)> = None;
    let mut routes = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() == Some(&"Destination") {
            let at = |name: &str| fields.iter().position(|f| *f == name);
            columns = at("Gateway")
                .zip(at("Flags"))
                .zip(at("Netif"))
                .map(|((g, f), n)| (g, f, n));
            continue;
        }
        if line.starts_with("Internet6") {
            break;
        }
        let Some((gateway_at, flags_at, netif_at)) = columns else {
            continue;
        };
        let (Some(dest), Some(gateway), Some(flags), Some(netif)) = (
            fields.first(),
            fields.get(gateway_at),
            fields.get(flags_at),
            fields.get(netif_at),
        ) else {
            continue;
        };
        if flags.contains('W') {
            continue;
        }
        let Some(dest) = parse_netstat_destination(dest) else {
            continue;
        };
        routes.push(HostRoute::route(dest, Some(netif), gateway.parse().ok()));
    }
    routes
}

/// "default", "127", "192.168.64", "10.8/16", "192.168.1.1/32", "169.254", "10.0.0.2%utun3"
fn parse_netstat_destination(text: &str) -> Option<Ipv4Network> {
    if text == "default" {
        return Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).ok();
    }
    // A scoped address names its interface after '%'.
    let text = text.split('%').next()?;
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let mut octets = [0u8; 4];
    let mut given = 0u8;
    for (i, part) in address.split('.').enumerate() {
        *octets.get_mut(i)? = part.parse().ok()?;
        given += 1;
    }
    Ipv4Network::new(Ipv4Addr::from(octets), prefix.unwrap_or(given * 8))
        .ok()
        .map(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Network {
        s.parse().unwrap()
    }

    /// The fixture: a Mac with a LAN on en0, a VPN that routes 192.168.64.0/24 and 10.8/16 over
    /// utun3, and vmnet's bridge100 on 192.168.65.0/24.
    fn mac_routes() -> Vec<HostRoute> {
        parse_netstat_rn(super::super::lease::fixture!("netstat_rn_vpn.txt"))
    }

    /// A Linux host as `read_host_routes` would see it: LAN, docker, libvirt, a WireGuard VPN.
    fn linux_routes() -> Vec<HostRoute> {
        vec![
            HostRoute::route(net("0.0.0.0/0"), Some("eth0"), "192.168.1.1".parse().ok()),
            HostRoute::route(net("192.168.1.0/24"), Some("eth0"), None),
            HostRoute::route(net("172.17.0.0/16"), Some("docker0"), None),
            HostRoute::route(net("172.18.0.0/16"), Some("br-3f2a9c0d1e4b"), None),
            HostRoute::route(net("192.168.122.0/24"), Some("virbr0"), None),
            HostRoute::route(net("192.168.64.0/22"), Some("wg0"), "10.9.0.1".parse().ok()),
            HostRoute::address(net("10.9.0.2/24"), "wg0"),
            HostRoute::vmctl_network("ci", net("10.77.0.0/24")),
        ]
    }

    #[test]
    fn parses_netstat_with_a_vpn_over_the_shared_subnet() {
        let routes = mac_routes();
        let shown: Vec<String> = routes
            .iter()
            .map(|r| format!("{} {}", r.dest, r.what))
            .collect();
        assert_eq!(
            shown,
            [
                "0.0.0.0/0 route via 192.168.1.1 on en0",
                "0.0.0.0/1 route on utun3, a VPN tunnel",
                "10.8.0.0/16 route on utun3, a VPN tunnel",
                "127.0.0.0/8 route via 127.0.0.1 on lo0",
                "127.0.0.1/32 route via 127.0.0.1 on lo0",
                "128.0.0.0/1 route on utun3, a VPN tunnel",
                "169.254.0.0/16 route on en0",
                "192.168.1.0/24 route on en0",
                "192.168.1.1/32 route on en0",
                "192.168.1.34/32 route on en0",
                "192.168.64.0/24 route on utun3, a VPN tunnel",
                "192.168.64.1/32 route via 192.168.64.1 on utun3, a VPN tunnel",
                "192.168.65.0/24 route on bridge100, a vmnet bridge",
                "192.168.65.1/32 route on bridge100, a vmnet bridge",
                "224.0.0.0/4 route on en0",
                "255.255.255.255/32 route on en0",
            ]
        );
    }

    #[test]
    fn vpn_over_192_168_64_is_a_conflict_and_auto_skips_it() {
        for routes in [mac_routes(), linux_routes()] {
            let subnet = net("192.168.64.0/24");
            let hits = conflicts(subnet, &routes);
            assert!(!hits.is_empty());
            assert!(
                hits.iter().all(|h| h.what.contains("a VPN tunnel")),
                "{hits:?}"
            );
            let free = free_subnet(&routes, 24);
            let error = conflict_error(subnet, &hits, free);
            let message = error.to_string();
            assert!(
                message.starts_with("subnet 192.168.64.0/24 collides with 192.168.64.0/"),
                "{message}"
            );
            assert!(
                message.contains("on utun3, a VPN tunnel")
                    || message.contains("on wg0, a VPN tunnel")
            );
            assert!(error.hint().unwrap().ends_with(", or --subnet auto"));
        }
        // The Mac: .64 is the VPN's, .65 is vmnet's bridge100.
        assert_eq!(free_subnet(&mac_routes(), 24), Some(net("192.168.66.0/24")));
        let error = conflict_error(
            net("192.168.64.0/24"),
            &conflicts(net("192.168.64.0/24"), &mac_routes()),
            Some(net("192.168.66.0/24")),
        );
        assert_eq!(
            error.hint().unwrap(),
            "use --subnet 192.168.66.0/24, or --subnet auto"
        );
        // Linux: the VPN holds 192.168.64.0/22.
        assert_eq!(
            free_subnet(&linux_routes(), 24),
            Some(net("192.168.68.0/24"))
        );
        assert_eq!(
            free_subnet(&linux_routes(), 22),
            Some(net("192.168.68.0/22"))
        );
        assert_eq!(
            free_subnet(&linux_routes(), 28),
            Some(net("192.168.68.0/28"))
        );
    }

    #[test]
    fn overlap_either_way_but_never_the_default_route() {
        let routes = linux_routes();
        let what = |subnet: &str| -> Vec<&str> {
            conflicts(net(subnet), &routes)
                .iter()
                .map(|h| h.what.as_str())
                .collect()
        };
        assert_eq!(what("172.17.5.0/24"), ["route on docker0, a docker bridge"]);
        assert_eq!(
            what("172.16.0.0/12"),
            [
                "route on docker0, a docker bridge",
                "route on br-3f2a9c0d1e4b, a docker bridge"
            ]
        );
        assert_eq!(
            what("192.168.122.128/25"),
            ["route on virbr0, a libvirt bridge"]
        );
        assert_eq!(what("10.77.0.0/16"), ["the vmctl network 'ci'"]);
        assert_eq!(what("10.9.0.0/16"), ["address of wg0, a VPN tunnel"]);
        assert!(
            what("10.78.0.0/24").is_empty(),
            "only the default route covers it"
        );
        assert!(what("192.168.2.0/24").is_empty());
    }

    #[test]
    fn free_subnet_walks_the_pools_in_order() {
        assert_eq!(free_subnet(&[], 24), Some(net("192.168.64.0/24")));
        assert_eq!(free_subnet(&[], 18), Some(net("192.168.64.0/18")));
        assert_eq!(free_subnet(&[], 17), Some(net("10.77.0.0/17")));
        assert_eq!(free_subnet(&[], 8), None);
        assert_eq!(free_subnet(&[], 31), None);
        // The whole 192.168.64.0/18 taken: on to 10.77, past a vmctl network there.
        let taken = [
            HostRoute::route(net("192.168.0.0/16"), Some("utun4"), None),
            HostRoute::vmctl_network("ci", net("10.77.0.0/24")),
        ];
        assert_eq!(free_subnet(&taken, 24), Some(net("10.77.1.0/24")));
        // A full-tunnel VPN's two halves of the address space are catch-alls, like the default.
        let full_tunnel = [
            HostRoute::route(net("0.0.0.0/1"), Some("utun3"), None),
            HostRoute::route(net("128.0.0.0/1"), Some("utun3"), None),
        ];
        assert_eq!(free_subnet(&full_tunnel, 24), Some(net("192.168.64.0/24")));
        let all_taken = [
            HostRoute::route(net("192.168.0.0/16"), Some("utun4"), None),
            HostRoute::route(net("10.0.0.0/8"), Some("utun4"), None),
        ];
        assert_eq!(free_subnet(&all_taken, 24), None);
        let subnet = net("10.1.0.0/24");
        let error = conflict_error(subnet, &conflicts(subnet, &all_taken), None);
        assert_eq!(
            error.to_string(),
            "subnet 10.1.0.0/24 collides with 10.0.0.0/8 (route on utun4, a VPN tunnel)"
        );
        assert!(error.hint().unwrap().starts_with("no free /24 is left"));
    }

    #[test]
    fn conflict_message_names_three_and_counts_the_rest() {
        let routes: Vec<HostRoute> = (0..5)
            .map(|i| {
                HostRoute::route(
                    net(&format!("10.0.{i}.0/24")),
                    Some(&format!("tun{i}")),
                    None,
                )
            })
            .collect();
        let hits = conflicts(net("10.0.0.0/16"), &routes);
        let message = conflict_error(net("10.0.0.0/16"), &hits, None).to_string();
        assert_eq!(
            message,
            "subnet 10.0.0.0/16 collides with 10.0.0.0/24 (route on tun0, a VPN tunnel); 10.0.1.0/24 (route on tun1, a VPN tunnel); 10.0.2.0/24 (route on tun2, a VPN tunnel); 2 more"
        );
    }

    #[test]
    fn netstat_destinations() {
        for (text, expected) in [
            ("default", "0.0.0.0/0"),
            ("127", "127.0.0.0/8"),
            ("169.254", "169.254.0.0/16"),
            ("192.168.64", "192.168.64.0/24"),
            ("10.8/16", "10.8.0.0/16"),
            ("192.168.1.1/32", "192.168.1.1/32"),
            ("10.0.0.2", "10.0.0.2/32"),
            ("fe80::1%lo0", ""),
            ("link#4", ""),
            ("1.2.3.4.5", ""),
            ("10/40", ""),
        ] {
            let parsed = parse_netstat_destination(text).map(|n| n.to_string());
            assert_eq!(parsed.as_deref().unwrap_or(""), expected, "{text}");
        }
        assert!(parse_netstat_rn("no header\n10.0.0.0 link#4 UCS en0\n").is_empty());
    }

    #[test]
    fn interface_kinds() {
        for (name, shown) in [
            ("docker0", "docker0, a docker bridge"),
            ("br-1a2b", "br-1a2b, a docker bridge"),
            ("virbr1", "virbr1, a libvirt bridge"),
            ("tun0", "tun0, a VPN tunnel"),
            ("utun3", "utun3, a VPN tunnel"),
            ("wg0", "wg0, a VPN tunnel"),
            ("tailscale0", "tailscale0, a VPN tunnel"),
            ("vmctl-ci", "vmctl-ci, a vmctl bridge"),
            ("bridge101", "bridge101, a vmnet bridge"),
            ("bridge0", "bridge0"),
            ("eth0", "eth0"),
            ("wlan0", "wlan0"),
            ("tunnelbroker", "tunnelbroker"),
        ] {
            assert_eq!(describe_interface(name), shown);
        }
    }
}
