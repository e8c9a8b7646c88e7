//! The relay's network-side port as this host has it: a TAP on Linux, a vmnet interface on
//! macOS; asking for the other OS's kind is an error that says so.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::PacketPort;
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
