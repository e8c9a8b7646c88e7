//! The address plan of a vmctl network (`shared`, `host`): gateway, subnet, DHCP pool, and
//! the static-IP rules that follow from it.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::error::Error;

/// A network's addresses, as vmnet describes them: `start` is the host's (gateway) address, the
/// DHCP pool runs from `start + 1` to `end`, all inside `start/mask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPlan {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
    pub mask: Ipv4Addr,
}

impl AddressPlan {
    /// Check that the three values make a usable network; the error says which is wrong.
    pub fn new(start: Ipv4Addr, end: Ipv4Addr, mask: Ipv4Addr) -> Result<Self, String> {
        let subnet = Ipv4Network::with_netmask(start, mask)
            .map_err(|_| format!("subnet mask {mask} is not a contiguous mask"))?;
        let network = Ipv4Network::new(subnet.network(), subnet.prefix()).unwrap_or(subnet);
        let special = [
            ("0.0.0.0/8", "\"this network\" (0/8)"),
            ("127.0.0.0/8", "loopback"),
            ("169.254.0.0/16", "link-local"),
            ("224.0.0.0/4", "multicast"),
            ("240.0.0.0/4", "reserved (240/4)"),
        ];
        for (range, what) in special {
            let range: Ipv4Network = range.parse().expect("a valid range");
            if range.contains(network.network()) || network.contains(range.network()) {
                return Err(format!(
                    "{network} is {what} address space, which no VM network can use"
                ));
            }
        }
        if subnet.prefix() > 30 {
            return Err(format!(
                "subnet mask {mask} leaves no room for VMs (use /30 or larger)"
            ));
        }
        if !subnet.contains(end) {
            return Err(format!(
                "end address {end} is outside {}/{}",
                subnet.network(),
                subnet.prefix()
            ));
        }
        if start == subnet.network() || start == subnet.broadcast() {
            return Err(format!(
                "start address {start} is the network or broadcast address"
            ));
        }
        if end == subnet.broadcast() {
            return Err(format!("end address {end} is the broadcast address"));
        }
        if u32::from(end) <= u32::from(start) {
            return Err(format!(
                "end address {end} is not after start address {start}"
            ));
        }
        Ok(AddressPlan { start, end, mask })
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.start
    }

    pub fn subnet(&self) -> Ipv4Network {
        // `new` checked the mask.
        Ipv4Network::with_netmask(self.start, self.mask).map_or_else(
            |_| Ipv4Network::from(self.start),
            |n| Ipv4Network::new(n.network(), n.prefix()).unwrap_or(n),
        )
    }

    pub fn pool_first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.start) + 1)
    }

    pub fn pool_last(&self) -> Ipv4Addr {
        self.end
    }

    /// Why vmnet would refuse this range, if it would: its shared and host networks take
    /// private ranges only (RFC 1918: 10/8, 172.16/12, 192.168/16; `vmnet_start_address_key`'s
    /// documentation), and refuse the interface at start otherwise.
    pub fn vmnet_refusal(&self) -> Option<String> {
        let subnet = self.subnet();
        let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
            .iter()
            .map(|r| r.parse::<Ipv4Network>().expect("a valid range"))
            .any(|range| range.contains(subnet.network()) && range.contains(subnet.broadcast()));
        (!private).then(|| {
            format!(
                "{}/{} is not a private (RFC 1918) range, and vmnet takes no other",
                subnet.network(),
                subnet.prefix()
            )
        })
    }

    /// May `ip` be reserved for a VM on the network called `name`?
    pub fn check_static_ip(&self, ip: Ipv4Addr, name: &str) -> Result<(), Error> {
        let subnet = self.subnet();
        let cidr = format!("{}/{}", subnet.network(), subnet.prefix());
        let hint = format!(
            "pick an address in {cidr} other than the gateway {}, e.g. {}",
            self.gateway(),
            self.pool_last()
        );
        let reason = if !subnet.contains(ip) {
            format!("it is outside the {name} network {cidr}")
        } else if ip == subnet.network() {
            format!("it is the network address of {cidr}")
        } else if ip == subnet.broadcast() {
            format!("it is the broadcast address of {cidr}")
        } else if ip == self.gateway() {
            format!("it is the gateway (host) address of the {name} network")
        } else {
            return Ok(());
        };
        Err(Error::invalid("static IP", ip.to_string(), reason).with_hint(hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> AddressPlan {
        AddressPlan::new(
            Ipv4Addr::new(192, 168, 64, 1),
            Ipv4Addr::new(192, 168, 64, 254),
            Ipv4Addr::new(255, 255, 255, 0),
        )
        .unwrap()
    }

    #[test]
    fn static_ip_rules() {
        let p = plan();
        p.check_static_ip(Ipv4Addr::new(192, 168, 64, 20), "shared")
            .unwrap();
        for bad in [
            [192, 168, 65, 20],
            [192, 168, 64, 0],
            [192, 168, 64, 255],
            [192, 168, 64, 1],
        ] {
            assert!(
                p.check_static_ip(Ipv4Addr::from(bad), "shared").is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(p.subnet().to_string(), "192.168.64.0/24");
    }

    #[test]
    fn vmnet_takes_private_ranges_only() {
        let plan = |start: [u8; 4], end: [u8; 4], mask: [u8; 4]| {
            AddressPlan::new(start.into(), end.into(), mask.into()).unwrap()
        };
        let c = [255, 255, 255, 0];
        assert_eq!(
            plan([192, 168, 64, 1], [192, 168, 64, 254], c).vmnet_refusal(),
            None
        );
        assert_eq!(plan([10, 9, 0, 1], [10, 9, 0, 99], c).vmnet_refusal(), None);
        assert_eq!(
            plan([172, 31, 5, 1], [172, 31, 5, 9], c).vmnet_refusal(),
            None
        );
        let cgnat = plan([100, 64, 0, 1], [100, 64, 0, 99], c)
            .vmnet_refusal()
            .unwrap();
        assert!(
            cgnat.contains("100.64.0.0/24 is not a private (RFC 1918) range"),
            "{cgnat}"
        );
        assert!(
            plan([172, 32, 0, 1], [172, 32, 0, 9], c)
                .vmnet_refusal()
                .is_some()
        );
        // Half inside is outside.
        let wide = plan([172, 16, 0, 1], [172, 16, 0, 9], [255, 224, 0, 0]);
        assert!(wide.vmnet_refusal().is_some(), "172.0.0.0/11");
    }

    #[test]
    fn bad_plans() {
        let ip = Ipv4Addr::new;
        assert!(
            AddressPlan::new(
                ip(192, 168, 64, 1),
                ip(192, 168, 64, 254),
                ip(255, 0, 255, 0)
            )
            .is_err()
        );
        assert!(
            AddressPlan::new(
                ip(192, 168, 64, 1),
                ip(192, 168, 65, 2),
                ip(255, 255, 255, 0)
            )
            .is_err()
        );
        assert!(
            AddressPlan::new(
                ip(192, 168, 64, 9),
                ip(192, 168, 64, 3),
                ip(255, 255, 255, 0)
            )
            .is_err()
        );
        assert!(
            AddressPlan::new(
                ip(192, 168, 64, 0),
                ip(192, 168, 64, 3),
                ip(255, 255, 255, 0)
            )
            .is_err()
        );
    }
}
