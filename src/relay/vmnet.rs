//! A vmnet interface as a packet port (macOS): the relay's network side in the helper that
//! `start` runs on macOS. vmnet reads do not block, so `recv` waits for vmnet's "packets
//! available" event between reads. A write vmnet refuses (its buffers full, a frame too big)
//! loses that frame, counted; `close` stops the interface (`vmnet_stop_interface`), which the
//! helper does on SIGTERM. Type-checked and linted on Linux; run on a Mac.

use std::io;
use std::net::Ipv4Addr;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use vmnet::mode::common::SubnetOptions;
use vmnet::mode::host::Configuration;
use vmnet::mode::{Bridged, Host, Mode, Shared};
use vmnet::{Events, Interface, Options};

use super::{Loss, PacketPort, Sent, VmnetFailure};

/// Which vmnet network, as the VM's profile says; shared and host with their range
/// (gateway = vmnet's start address, last DHCP address, mask).
pub enum VmnetMode {
    Shared((Ipv4Addr, Ipv4Addr, Ipv4Addr)),
    Host((Ipv4Addr, Ipv4Addr, Ipv4Addr)),
    Bridged(String),
}

fn failure(e: vmnet::Error) -> VmnetFailure {
    let detail = e.to_string();
    let status = match e {
        vmnet::Error::VmnetErrorStatus(status) => Some(status as u32),
        vmnet::Error::VmnetUnknownStatus(code) => Some(code),
        _ => None,
    };
    VmnetFailure { status, detail }
}

pub struct VmnetPort {
    interface: Mutex<Interface>,
    /// Raised by vmnet's event callback: packets wait to be read.
    available: std::sync::Arc<(Mutex<bool>, Condvar)>,
}

impl VmnetPort {
    /// Start a vmnet interface; `isolated` asks vmnet itself to keep it from other VMs too.
    pub fn start(mode: VmnetMode, isolated: bool) -> Result<VmnetPort, VmnetFailure> {
        let subnet = |(start, end, mask): (Ipv4Addr, Ipv4Addr, Ipv4Addr)| SubnetOptions {
            start_address: start.to_string(),
            end_address: end.to_string(),
            subnet_mask: mask.to_string(),
        };
        let mode = match mode {
            VmnetMode::Shared(range) => Mode::Shared(Shared {
                subnet_options: Some(subnet(range)),
                ..Shared::default()
            }),
            VmnetMode::Host(range) => Mode::Host(Host {
                configuration: Some(Configuration::Automatic(subnet(range))),
                ..Host::default()
            }),
            VmnetMode::Bridged(name) => Mode::Bridged(Bridged {
                shared_interface_name: name,
            }),
        };
        let options = Options {
            enable_isolation: Some(isolated),
            ..Options::default()
        };
        let mut interface = Interface::new(mode, options).map_err(failure)?;
        let available = std::sync::Arc::new((Mutex::new(false), Condvar::new()));
        let signal = available.clone();
        interface
            .set_event_callback(Events::PACKETS_AVAILABLE, move |_, _| {
                let (flag, wake) = &*signal;
                *flag.lock().expect("vmnet flag") = true;
                wake.notify_one();
            })
            .map_err(failure)?;
        Ok(VmnetPort {
            interface: Mutex::new(interface),
            available,
        })
    }
}

impl PacketPort for VmnetPort {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.interface.lock().expect("vmnet interface").read(buf) {
                Ok(n) => return Ok(n),
                Err(vmnet::Error::VmnetReadNothing) => {}
                Err(e) => return Err(io::Error::other(e)),
            }
            let (flag, wake) = &*self.available;
            let mut ready = flag.lock().expect("vmnet flag");
            if !*ready {
                // The timeout covers an event that came between the read and the wait.
                ready = wake
                    .wait_timeout(ready, Duration::from_millis(50))
                    .expect("vmnet flag")
                    .0;
            }
            *ready = false;
        }
    }

    fn send(&self, frame: &[u8]) -> io::Result<Sent> {
        match self.interface.lock().expect("vmnet interface").write(frame) {
            Ok(_) => Ok(Sent::Delivered),
            // Stopped (`close`): the port is gone.
            Err(e @ vmnet::Error::InterfaceFinalized) => Err(io::Error::other(e)),
            Err(e) => Ok(Sent::Lost(Loss::Vmnet(failure(e).status.unwrap_or(0)))),
        }
    }

    fn close(&self) {
        // Stops the interface: the next read fails, and the relay ends.
        let _ = self.interface.lock().expect("vmnet interface").finalize();
        let (flag, wake) = &*self.available;
        *flag.lock().expect("vmnet flag") = true;
        wake.notify_all();
    }
}
