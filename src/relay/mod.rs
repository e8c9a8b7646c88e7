//! The frame relay of a VM that reaches its network through a socket (macOS: vmnet, whose
//! interface a helper process holds; Linux: a TAP): two threads move frames between the VM's
//! port and the network's port, each frame judged by the VM's `FramePolicy` on the way. Frames
//! the policy allows are neither lost nor reordered: each direction is one thread doing
//! blocking reads and writes, so a full queue slows the sender instead of dropping.

pub mod policy;
#[cfg(target_os = "linux")]
pub mod tap;
#[cfg(target_os = "macos")]
pub mod vmnet;

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use policy::{Drop, FramePolicy};

/// Somewhere frames come from and go to, one frame per call.
pub trait PacketPort: Send + Sync {
    /// Block until a frame arrives; its length. `Ok(0)` means the port is closed.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn send(&self, frame: &[u8]) -> io::Result<()>;
}

/// A connected datagram socket (one end of a socket pair, in tests).
impl PacketPort for UnixDatagram {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        UnixDatagram::recv(self, buf)
    }
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        UnixDatagram::send(self, frame).map(|_| ())
    }
}

/// A datagram socket bound at a path, for a hypervisor that sends from its own bound socket
/// (QEMU `-netdev dgram`, vfkit `unixSocketPath=`): frames go back to whoever sent the last.
pub struct SocketPort {
    socket: UnixDatagram,
    peer: Mutex<Option<SocketAddr>>,
}

impl SocketPort {
    /// Bind at `path` (a stale socket file there is replaced).
    pub fn bind(path: &Path) -> io::Result<SocketPort> {
        let _ = std::fs::remove_file(path);
        Ok(SocketPort {
            socket: UnixDatagram::bind(path)?,
            peer: Mutex::new(None),
        })
    }
}

impl PacketPort for SocketPort {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let (n, from) = self.socket.recv_from(buf)?;
        if from.as_pathname().is_some() {
            *self.peer.lock().expect("peer lock") = Some(from);
        }
        Ok(n)
    }
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        let peer = self.peer.lock().expect("peer lock").clone();
        match peer.as_ref().and_then(SocketAddr::as_pathname) {
            Some(path) => match self.socket.send_to(frame, path) {
                // The hypervisor went away; frames wait for the next one to say hello.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        || e.kind() == io::ErrorKind::ConnectionRefused =>
                {
                    Ok(())
                }
                other => other.map(|_| ()),
            },
            // Nobody to give it to yet (the hypervisor has not sent a frame).
            None => Ok(()),
        }
    }
}

/// Frames moved and dropped, per direction.
#[derive(Debug, Default)]
pub struct Counts {
    pub from_vm: AtomicU64,
    pub to_vm: AtomicU64,
    pub dropped: AtomicU64,
}

/// Relay frames between `vm` and `net` until either port closes or fails; returns why.
pub fn relay(
    vm: &Arc<dyn PacketPort>,
    net: &Arc<dyn PacketPort>,
    policy: FramePolicy,
    counts: &Arc<Counts>,
    on_drop: impl Fn(Drop) + Send + Sync + 'static,
) -> io::Result<()> {
    let policy = Arc::new(Mutex::new(policy));
    let on_drop = Arc::new(on_drop);
    let outbound = {
        let (vm, net, policy, counts, on_drop) = (
            vm.clone(),
            net.clone(),
            policy.clone(),
            counts.clone(),
            on_drop.clone(),
        );
        std::thread::spawn(move || -> io::Result<()> {
            let mut buf = vec![0u8; 65536];
            loop {
                let n = vm.recv(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                let verdict = policy.lock().expect("policy lock").from_vm(&buf[..n]);
                match verdict {
                    Ok(()) => {
                        net.send(&buf[..n])?;
                        counts.from_vm.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(why) => {
                        counts.dropped.fetch_add(1, Ordering::Relaxed);
                        on_drop(why);
                    }
                }
            }
        })
    };
    let mut buf = vec![0u8; 65536];
    let inbound = loop {
        let n = match net.recv(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        let verdict = policy.lock().expect("policy lock").to_vm(&buf[..n]);
        match verdict {
            Ok(()) => {
                if let Err(e) = vm.send(&buf[..n]) {
                    break Err(e);
                }
                counts.to_vm.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                counts.dropped.fetch_add(1, Ordering::Relaxed);
                on_drop(why);
            }
        }
    };
    // One direction ending ends the relay; the other thread ends with its port.
    if inbound.is_err() || outbound.is_finished() {
        return inbound.and(outbound.join().unwrap_or(Ok(())));
    }
    inbound
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::policy::frames::{ipv4, l4};
    use super::*;

    const VM: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x10];
    const N: u32 = 50_000;

    /// 50,000 frames each way at once, every allowed one arrives, in order; forged ones are
    /// counted and never arrive.
    #[test]
    fn relays_every_allowed_frame_in_order_under_load() {
        let (vm_side, vm_relay) = UnixDatagram::pair().unwrap();
        let (net_side, net_relay) = UnixDatagram::pair().unwrap();
        let me = Ipv4Addr::new(192, 168, 64, 50);
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        let policy = FramePolicy::new(
            VM,
            true,
            Ipv4Addr::new(192, 168, 64, 1),
            "192.168.64.0/24".parse().unwrap(),
            Some(me),
        );
        let counts = Arc::new(Counts::default());
        let relay_counts = counts.clone();
        // Datagram sockets have no end of file: shutting the relay's ends down stops it.
        let stops = [
            vm_relay.try_clone().unwrap(),
            net_relay.try_clone().unwrap(),
        ];
        let relay = std::thread::spawn(move || {
            let (vm, net): (Arc<dyn PacketPort>, Arc<dyn PacketPort>) =
                (Arc::new(vm_relay), Arc::new(net_relay));
            relay(&vm, &net, policy, &relay_counts, |_| {})
        });
        let frame =
            move |src, seq: u32| ipv4(VM, src, wan, 17, &l4(1000, 2000, &seq.to_be_bytes()));
        let seq_of = |f: &[u8]| u32::from_be_bytes(f[f.len() - 4..].try_into().unwrap());
        let sender = {
            let vm_side = vm_side.try_clone().unwrap();
            std::thread::spawn(move || {
                for seq in 0..N {
                    vm_side.send(&frame(me, seq)).unwrap();
                    if seq % 100 == 0 {
                        // A forged frame now and then: dropped, counted, never delivered.
                        vm_side
                            .send(&frame(Ipv4Addr::new(192, 168, 64, 99), u32::MAX))
                            .unwrap();
                    }
                }
            })
        };
        let back = {
            let net_side = net_side.try_clone().unwrap();
            std::thread::spawn(move || {
                for seq in 0..N {
                    net_side
                        .send(&ipv4(
                            [2, 0, 0, 0, 0, 1],
                            wan,
                            me,
                            17,
                            &l4(2000, 1000, &seq.to_be_bytes()),
                        ))
                        .unwrap();
                }
            })
        };
        let mut buf = vec![0u8; 2048];
        for expected in 0..N {
            let n = net_side.recv(&mut buf).unwrap();
            assert_eq!(seq_of(&buf[..n]), expected, "out of VM, in order");
        }
        for expected in 0..N {
            let n = vm_side.recv(&mut buf).unwrap();
            assert_eq!(seq_of(&buf[..n]), expected, "into the VM, in order");
        }
        sender.join().unwrap();
        back.join().unwrap();
        for end in stops {
            end.shutdown(std::net::Shutdown::Both).unwrap();
        }
        relay.join().unwrap().unwrap();
        assert_eq!(counts.from_vm.load(Ordering::Relaxed), u64::from(N));
        assert_eq!(counts.to_vm.load(Ordering::Relaxed), u64::from(N));
        assert_eq!(
            counts.dropped.load(Ordering::Relaxed),
            u64::from(N.div_ceil(100))
        );
    }
}
