//! A TAP as a packet port (Linux): the relay's network side when a VM is attached by socket.

use std::io;

use super::{Loss, PacketPort, Sent};

/// An existing (persistent) TAP, opened by name.
pub struct TapPort {
    device: tun::Device,
}

impl TapPort {
    pub fn open(name: &str) -> io::Result<TapPort> {
        let mut config = tun::Configuration::default();
        config.tun_name(name).layer(tun::Layer::L2);
        let device = tun::create(&config).map_err(io::Error::other)?;
        Ok(TapPort { device })
    }
}

impl PacketPort for TapPort {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.device.recv(buf)
    }
    fn send(&self, frame: &[u8]) -> io::Result<Sent> {
        match self.device.send(frame) {
            Ok(_) => Ok(Sent::Delivered),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Lost(Loss::Full)),
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => {
                Ok(Sent::Lost(Loss::Full))
            }
            Err(e) => Err(e),
        }
    }
}
