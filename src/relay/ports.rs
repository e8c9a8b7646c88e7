//! The relay's network-side port as this host has it: a TAP on Linux, a vmnet interface on
//! macOS (and the MAC of vmnet's gateway); asking for the other OS's kind is an error that
//! says so.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;

use macaddr::MacAddr6;

use super::PacketPort;
use crate::discovery::lease::parse_mac_lenient;
use crate::error::Error;

/// A shared or host vmnet network's range: (gateway = vmnet's start address, last DHCP
/// address, mask).
pub type VmnetRange = (Ipv4Addr, Ipv4Addr, Ipv4Addr);

/// The ranges `open_vmnet` gives a shared and a host interface: those of the VM's network
/// (built-in or named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmnetRanges {
    pub shared: VmnetRange,
    pub host: VmnetRange,
}

/// The existing TAP `name`.
#[cfg(target_os = "linux")]
pub fn open_tap(name: &str) -> io::Result<Arc<dyn PacketPort>> {
    Ok(Arc::new(super::tap::TapPort::open(name)?))
}

#[cfg(not(target_os = "linux"))]
pub fn open_tap(_name: &str) -> io::Result<Arc<dyn PacketPort>> {
    Err(io::Error::other(
        "a TAP port exists on Linux only (macOS relays to vmnet)",
    ))
}

/// The VM's vmnet interface, in `mode` (the helper's `--vmnet` value: `shared`, `host`,
/// `bridged:IF`). Shared and host interfaces get the range of the VM's network (built-in or
/// named), so every VM of a network shares one vmnet network (vmnet's per-process network
/// API would give each VM a network of its own). `ranges` is asked first, on macOS only.
#[cfg(target_os = "macos")]
pub fn open_vmnet(
    mode: &str,
    ranges: impl FnOnce() -> Result<VmnetRanges, Error>,
    isolated: bool,
) -> Result<Arc<dyn PacketPort>, Error> {
    use super::vmnet::{VmnetMode, VmnetPort};
    let ranges = ranges()?;
    let vmnet_mode = match mode {
        "shared" => VmnetMode::Shared(ranges.shared),
        "host" => VmnetMode::Host(ranges.host),
        other => match other.strip_prefix("bridged:") {
            Some(interface) => VmnetMode::Bridged(interface.to_owned()),
            None => {
                return Err(Error::invalid(
                    "vmnet mode",
                    other,
                    "not shared, host or bridged:IF",
                ));
            }
        },
    };
    VmnetPort::start(vmnet_mode, isolated)
        .map(|port| Arc::new(port) as Arc<dyn PacketPort>)
        .map_err(|status| {
            let (message, hint) = super::explain_vmnet_failure(&status, mode);
            Error::host(message, hint)
        })
}

#[cfg(not(target_os = "macos"))]
pub fn open_vmnet(
    _mode: &str,
    _ranges: impl FnOnce() -> Result<VmnetRanges, Error>,
    _isolated: bool,
) -> Result<Arc<dyn PacketPort>, Error> {
    Err(Error::host(
        "vmnet exists on macOS only",
        "on Linux the relay's network side is a TAP (--tap)",
    ))
}

/// The MAC of vmnet's gateway on a shared or host network, after `open_vmnet`: the host's
/// bridge that holds the gateway's address (`bridge100` and on); `None` when no interface has
/// the address after a second.
///
/// vmnet does not say it: its interface parameters give the VM's MAC, the MTU and the range,
/// not the bridge. A MAC pinned from the first frame that claims the gateway's address would
/// be whoever spoke first, so the host is asked (`ifconfig`), which a VM cannot answer for.
#[cfg(target_os = "macos")]
pub fn vmnet_gateway_mac(gateway: Ipv4Addr) -> Option<[u8; 6]> {
    // The bridge gets its address as the first interface of its network comes up.
    for _ in 0..20 {
        let listed = std::process::Command::new("/sbin/ifconfig").output().ok()?;
        let mac = mac_of_interface_with(&String::from_utf8_lossy(&listed.stdout), gateway);
        if mac.is_some() {
            return mac;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[cfg(not(target_os = "macos"))]
pub fn vmnet_gateway_mac(_gateway: Ipv4Addr) -> Option<[u8; 6]> {
    None
}

/// In `ifconfig` output (macOS), the `ether` address of the interface with `inet ip`.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn mac_of_interface_with(ifconfig: &str, ip: Ipv4Addr) -> Option<[u8; 6]> {
    let (mut mac, mut has_ip) = (None, false);
    // A line at the margin starts the next interface; the empty one ends the last.
    for line in ifconfig.lines().chain([""]) {
        if !line.starts_with(char::is_whitespace) {
            if has_ip && mac.is_some() {
                return mac;
            }
            (mac, has_ip) = (None, false);
        }
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["ether", addr, ..] => mac = parse_mac_lenient(addr).map(MacAddr6::into_array),
            ["inet", addr, ..] => has_ip |= addr.parse() == Ok(ip),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateways_mac_is_the_ether_of_the_interface_with_its_address() {
        let ifconfig = "\
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tether 8c:85:90:aa:b:1
\tinet 192.168.1.20 netmask 0xffffff00 broadcast 192.168.1.255
bridge100: flags=8a63<UP,BROADCAST,SMART,RUNNING,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500
\toptions=3<RXCSUM,TXCSUM>
\tether 3e:22:fb:b5:a3:64
\tinet 192.168.64.1 netmask 0xffffff00 broadcast 192.168.64.255
\tmember: vmenet0 flags=3<LEARNING,DISCOVER>
bridge101: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tinet 192.168.65.1 netmask 0xffffff00 broadcast 192.168.65.255
\tether 3e:22:fb:b5:a3:65
";
        let mac = |last| mac_of_interface_with(ifconfig, Ipv4Addr::new(192, 168, last, 1));
        assert_eq!(mac(64), Some([0x3e, 0x22, 0xfb, 0xb5, 0xa3, 0x64]));
        assert_eq!(
            mac(65),
            Some([0x3e, 0x22, 0xfb, 0xb5, 0xa3, 0x65]),
            "inet first"
        );
        assert_eq!(mac(66), None, "no bridge has it yet");
        let en0 = mac_of_interface_with(ifconfig, Ipv4Addr::new(192, 168, 1, 20));
        assert_eq!(
            en0,
            Some([0x8c, 0x85, 0x90, 0xaa, 0x0b, 0x01]),
            "short octets"
        );
        let lo = mac_of_interface_with(ifconfig, Ipv4Addr::LOCALHOST);
        assert_eq!(lo, None, "no ether");
    }
}
