//! A TAP as a packet port (Linux): the relay's network side when a VM is attached by socket.

use std::io;

use super::PacketPort;

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
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.device.send(frame).map(|_| ())
    }
}
