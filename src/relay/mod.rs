//! The frame relay of a VM that reaches its network through a socket (macOS: vmnet, whose
//! interface a helper process holds; Linux: a TAP): two threads move frames between the VM's
//! port and the network's port, each frame judged by the VM's `FramePolicy` on the way. Frames
//! are never reordered. A frame the receiving port cannot take (a hypervisor's socket buffer
//! that stays full, vmnet refusing a write) is lost and counted, as a switch drops on a full
//! queue: the relay goes on. It ends when either port is gone (or closed), and then both end.

pub mod helper;
pub mod policy;
pub mod ports;
pub mod socket;
#[cfg(target_os = "linux")]
pub mod tap;
#[cfg(target_os = "macos")]
pub mod vmnet;

use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

pub use policy::{Drop, FramePolicy};
pub use ports::{VmnetRange, VmnetRanges, open_tap, open_vmnet, vmnet_gateway_mac};
pub use socket::SocketPort;

/// Somewhere frames come from and go to, one frame per call.
pub trait PacketPort: Send + Sync {
    /// Block until a frame arrives; its length. `Ok(0)` means the port is closed.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Hand over one frame. A frame the port could not take is `Ok(Sent::Lost)`; `Err` means
    /// the port itself is gone.
    fn send(&self, frame: &[u8]) -> io::Result<Sent>;
    /// Stop the port so that a `recv` blocked on it returns (a signal handler's way to end
    /// the relay); vmnet's interface is stopped here.
    fn close(&self) {}
}

/// What became of a frame handed to a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    Lost(Loss),
}

/// Why a port could not take a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The receiver's buffer stayed full (ENOBUFS on macOS, EAGAIN on Linux) while the relay
    /// tried again.
    Full,
    /// No hypervisor has said hello on the socket yet, or it went away.
    NoPeer,
    /// Larger than the receiver takes.
    TooBig,
    /// vmnet refused the write, with this status (`vmnet_return_t`).
    Vmnet(u32),
}

impl Loss {
    pub fn reason(self) -> String {
        match self {
            Loss::Full => "the receiver's buffer stayed full (it reads too slowly)".into(),
            Loss::NoPeer => "no hypervisor is on the socket yet".into(),
            Loss::TooBig => "larger than the receiver takes".into(),
            Loss::Vmnet(status) => format!("vmnet refused the write (status {status})"),
        }
    }
}

/// A connected datagram socket (one end of a socket pair, in tests).
impl PacketPort for UnixDatagram {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        UnixDatagram::recv(self, buf)
    }
    fn send(&self, frame: &[u8]) -> io::Result<Sent> {
        match UnixDatagram::send(self, frame) {
            Ok(_) => Ok(Sent::Delivered),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Lost(Loss::Full)),
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => {
                Ok(Sent::Lost(Loss::Full))
            }
            Err(e) => Err(e),
        }
    }
    fn close(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

/// Frames moved, dropped by the policy, and lost by a port, per direction where it matters.
#[derive(Debug, Default)]
pub struct Counts {
    pub from_vm: AtomicU64,
    pub to_vm: AtomicU64,
    /// Refused by the frame policy.
    pub dropped: AtomicU64,
    /// Allowed, but the receiving port could not take them.
    pub lost: AtomicU64,
}

/// vmnet's refusal of an interface: its status (`vmnet_return_t`) when it gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmnetFailure {
    pub status: Option<u32>,
    pub detail: String,
}

/// What a vmnet refusal means for the user, and what to do: the message and the hint.
/// `mode` is the helper's `--vmnet` value (`shared`, `host`, `bridged:IF`).
pub fn explain_vmnet_failure(failure: &VmnetFailure, mode: &str) -> (String, String) {
    let interface = mode.strip_prefix("bridged:");
    let (why, hint) = match failure.status {
        // VMNET_INVALID_ACCESS, VMNET_NOT_AUTHORIZED
        Some(1005 | 1010) => (
            "vmnet refused: not allowed (it needs root, or the com.apple.vm.networking entitlement)".to_owned(),
            "run vmctl with sudo (an unsigned vmctl has no entitlement)".to_owned(),
        ),
        // VMNET_SHARING_SERVICE_BUSY
        Some(1009) => match interface {
            Some(name) => (
                format!("vmnet refused: interface {name} is busy (Internet Sharing or another VM tool holds it)"),
                format!("stop what shares {name} (System Settings > General > Sharing), or bridge another interface: vmctl modify VM network -b IF"),
            ),
            None => (
                "vmnet refused: the sharing service is busy (another VM tool holds the shared network with another range)".to_owned(),
                "stop the other VM tool's networks, or give vmctl the same range: vmctl config start_address|end_address|subnet_mask".to_owned(),
            ),
        },
        // VMNET_INVALID_ARGUMENT, VMNET_FAILURE on a bridge: usually the interface.
        Some(1001 | 1003) if interface.is_some() => {
            let name = interface.unwrap_or_default();
            (
                format!("vmnet refused to bridge {name}: no such interface, or it cannot be bridged"),
                "list the ones that can: networksetup -listallhardwareports; then vmctl modify VM network -b IF".to_owned(),
            )
        }
        Some(1003) => (
            "vmnet refused the network's range".to_owned(),
            "check it with vmctl config -l (start_address, end_address, subnet_mask)".to_owned(),
        ),
        Some(code) => (
            format!("vmnet refused with status {code}"),
            "vmctl doctor checks what vmnet needs".to_owned(),
        ),
        None => (
            format!("vmnet refused: {}", failure.detail),
            "vmctl doctor checks what vmnet needs".to_owned(),
        ),
    };
    (why, hint)
}

/// Which way a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    FromVm,
    ToVm,
}

/// What the relay tells its owner about, as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A frame the policy refused, and why.
    Dropped(Drop),
    /// A frame the policy allowed that the receiving port could not take.
    Lost(Way, Loss),
    /// The VM's address changed: the gateway's DHCP ACK for its MAC went to it (macOS has no
    /// DHCP hook, so this is how the pf anchor of a DHCP VM learns its address).
    Learned(std::net::Ipv4Addr),
}

/// Relay frames between `vm` and `net` until either port closes or fails; returns why. Both
/// ports are closed when it returns. `on_event` runs on a relay thread: it must be quick
/// (hand slow work to another thread).
pub fn relay(
    vm: &Arc<dyn PacketPort>,
    net: &Arc<dyn PacketPort>,
    policy: FramePolicy,
    counts: &Arc<Counts>,
    on_event: impl Fn(Event) + Send + Sync + 'static,
) -> io::Result<()> {
    let policy = Arc::new(Mutex::new(policy));
    let on_event: Arc<dyn Fn(Event) + Send + Sync> = Arc::new(on_event);
    let (ended, first_end) = mpsc::channel();
    for way in [Way::FromVm, Way::ToVm] {
        let (from, to) = match way {
            Way::FromVm => (vm.clone(), net.clone()),
            Way::ToVm => (net.clone(), vm.clone()),
        };
        let (policy, counts, on_event, ended) = (
            policy.clone(),
            counts.clone(),
            on_event.clone(),
            ended.clone(),
        );
        std::thread::spawn(move || {
            let result = pass(way, &*from, &*to, &policy, &counts, &*on_event);
            let _ = ended.send(result);
        });
    }
    drop(ended);
    let result = first_end.recv().unwrap_or(Ok(()));
    // One direction ending ends the relay: the other's blocked `recv` returns once its port
    // is closed (a relay half alive would look up and move nothing).
    vm.close();
    net.close();
    result
}

/// Move frames one way until `from` closes or fails.
fn pass(
    way: Way,
    from: &dyn PacketPort,
    to: &dyn PacketPort,
    policy: &Mutex<FramePolicy>,
    counts: &Counts,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> io::Result<()> {
    let mut buf = vec![0u8; 65536];
    loop {
        let n = from.recv(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let frame = &buf[..n];
        let verdict = match way {
            Way::FromVm => policy.lock().expect("policy lock").from_vm(frame),
            Way::ToVm => {
                let (verdict, learned) = {
                    let mut policy = policy.lock().expect("policy lock");
                    let before = policy.address();
                    let verdict = policy.to_vm(frame);
                    (verdict, policy.address().filter(|&now| Some(now) != before))
                };
                if let Some(address) = learned {
                    on_event(Event::Learned(address));
                }
                verdict
            }
        };
        if let Err(why) = verdict {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            on_event(Event::Dropped(why));
            continue;
        }
        match to.send(frame)? {
            Sent::Delivered => {
                let moved = match way {
                    Way::FromVm => &counts.from_vm,
                    Way::ToVm => &counts.to_vm,
                };
                moved.fetch_add(1, Ordering::Relaxed);
            }
            Sent::Lost(loss) => {
                counts.lost.fetch_add(1, Ordering::Relaxed);
                on_event(Event::Lost(way, loss));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::policy::frames::{ipv4, l4};
    use super::*;

    const VM: [u8; 6] = [0x52, 0x54, 0, 0, 0, 0x10];
    const GATEWAY_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const N: u32 = 50_000;

    /// The policy of the VM at `me` on 192.168.64.0/24 behind the gateway .1.
    fn test_policy(no_local: bool, me: Ipv4Addr) -> FramePolicy {
        FramePolicy::new(
            VM,
            no_local,
            Ipv4Addr::new(192, 168, 64, 1),
            Some(GATEWAY_MAC),
            "192.168.64.0/24".parse().unwrap(),
            Some(me),
        )
    }

    /// 50,000 frames each way at once, every allowed one arrives, in order; forged ones are
    /// counted and never arrive.
    #[test]
    fn relays_every_allowed_frame_in_order_under_load() {
        let (vm_side, vm_relay) = UnixDatagram::pair().unwrap();
        let (net_side, net_relay) = UnixDatagram::pair().unwrap();
        let me = Ipv4Addr::new(192, 168, 64, 50);
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        let policy = test_policy(true, me);
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
                            GATEWAY_MAC,
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

    #[test]
    fn vmnet_refusals_say_what_to_do() {
        let failure = |status| VmnetFailure {
            status: Some(status),
            detail: String::new(),
        };
        let (why, hint) = explain_vmnet_failure(&failure(1010), "shared");
        assert!(
            why.contains("entitlement") && hint.contains("sudo"),
            "{why} / {hint}"
        );
        let (why, hint) = explain_vmnet_failure(&failure(1009), "bridged:en0");
        assert!(
            why.contains("en0 is busy") && hint.contains("-b IF"),
            "{why} / {hint}"
        );
        let (why, _) = explain_vmnet_failure(&failure(1009), "shared");
        assert!(why.contains("another range"), "{why}");
        let (why, hint) = explain_vmnet_failure(&failure(1001), "bridged:en7");
        assert!(
            why.contains("bridge en7") && hint.contains("networksetup"),
            "{why} / {hint}"
        );
        let (why, _) = explain_vmnet_failure(&failure(1001), "shared");
        assert!(why.contains("status 1001"), "{why}");
    }

    /// The owner hears of a (plain) VM's address once, when the gateway's DHCP ACK for its
    /// MAC passes, and hears of every dropped frame with its reason: a forged ACK teaches
    /// nothing.
    #[test]
    fn reports_the_learned_address_and_the_drops() {
        use super::policy::frames::dhcp;
        let (vm_side, vm_relay) = UnixDatagram::pair().unwrap();
        let (net_side, net_relay) = UnixDatagram::pair().unwrap();
        let policy = FramePolicy::new(
            VM,
            false,
            Ipv4Addr::new(192, 168, 64, 1),
            Some(GATEWAY_MAC),
            "192.168.64.0/24".parse().unwrap(),
            None,
        );
        let events = Arc::new(Mutex::new(Vec::new()));
        let heard = events.clone();
        let stops = [
            vm_relay.try_clone().unwrap(),
            net_relay.try_clone().unwrap(),
        ];
        let relay = std::thread::spawn(move || {
            let (vm, net): (Arc<dyn PacketPort>, Arc<dyn PacketPort>) =
                (Arc::new(vm_relay), Arc::new(net_relay));
            relay(&vm, &net, policy, &Arc::new(Counts::default()), move |e| {
                heard.lock().unwrap().push(e);
            })
        });
        let leased = Ipv4Addr::new(192, 168, 64, 77);
        let mut buf = vec![0u8; 2048];
        // Another VM's ACK with another address: dropped. The gateway's offer teaches
        // nothing, its ACK teaches once, a renewal's ACK (same address) says nothing new.
        let forged = l4(67, 68, &dhcp(2, VM, Ipv4Addr::new(192, 168, 64, 66), 5));
        let other_vm = Ipv4Addr::new(192, 168, 64, 60);
        net_side
            .send(&ipv4(
                [0x52, 0x54, 0, 0, 0, 0x20],
                other_vm,
                leased,
                17,
                &forged,
            ))
            .unwrap();
        let gateway = Ipv4Addr::new(192, 168, 64, 1);
        for kind in [2, 5, 5] {
            let reply = l4(67, 68, &dhcp(2, VM, leased, kind));
            net_side
                .send(&ipv4(GATEWAY_MAC, gateway, leased, 17, &reply))
                .unwrap();
            vm_side.recv(&mut buf).unwrap();
            assert_eq!(
                &buf[6..12],
                GATEWAY_MAC,
                "only the gateway's replies arrive"
            );
        }
        // A frame from the VM with another address: dropped.
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        vm_side
            .send(&ipv4(
                VM,
                Ipv4Addr::new(192, 168, 64, 99),
                wan,
                17,
                &l4(1, 2, b"x"),
            ))
            .unwrap();
        // And one from its address: passes, and shows the drop before it was counted.
        vm_side
            .send(&ipv4(VM, leased, wan, 17, &l4(1, 2, b"y")))
            .unwrap();
        net_side.recv(&mut buf).unwrap();
        for end in stops {
            end.shutdown(std::net::Shutdown::Both).unwrap();
        }
        relay.join().unwrap().unwrap();
        assert_eq!(
            *events.lock().unwrap(),
            vec![
                Event::Dropped(Drop::DhcpServer),
                Event::Learned(leased),
                Event::Dropped(Drop::ForgedIp)
            ]
        );
    }

    /// A port that cannot take every third frame (a full buffer, then vmnet refusing), as
    /// a slow hypervisor or a busy vmnet does.
    struct Refusing {
        inner: UnixDatagram,
        sends: AtomicU64,
    }

    impl PacketPort for Refusing {
        fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.inner.recv(buf)
        }
        fn send(&self, frame: &[u8]) -> io::Result<Sent> {
            match self.sends.fetch_add(1, Ordering::Relaxed) % 6 {
                2 => Ok(Sent::Lost(Loss::Full)),
                5 => Ok(Sent::Lost(Loss::Vmnet(1006))),
                _ => PacketPort::send(&self.inner, frame),
            }
        }
        fn close(&self) {
            self.inner.close();
        }
    }

    /// Frames a port cannot take are lost, counted and reported, both ways; the relay goes
    /// on, and the frames after them arrive in order.
    #[test]
    fn frames_a_port_cannot_take_are_counted_and_the_relay_goes_on() {
        let (vm_side, vm_relay) = UnixDatagram::pair().unwrap();
        let (net_side, net_relay) = UnixDatagram::pair().unwrap();
        let me = Ipv4Addr::new(192, 168, 64, 50);
        let wan = Ipv4Addr::new(203, 0, 113, 2);
        let policy = test_policy(false, me);
        let counts = Arc::new(Counts::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let (relay_counts, heard) = (counts.clone(), events.clone());
        // Datagram sockets have no end of file: shutting the relay's end down stops it.
        let stop = net_relay.try_clone().unwrap();
        let relay = std::thread::spawn(move || {
            let refusing = |inner| -> Arc<dyn PacketPort> {
                Arc::new(Refusing {
                    inner,
                    sends: AtomicU64::new(0),
                })
            };
            relay(
                &refusing(vm_relay),
                &refusing(net_relay),
                policy,
                &relay_counts,
                move |e| heard.lock().unwrap().push(e),
            )
        });
        let seq_of = |f: &[u8]| u32::from_be_bytes(f[f.len() - 4..].try_into().unwrap());
        let mut buf = vec![0u8; 2048];
        for seq in 0..60u32 {
            vm_side
                .send(&ipv4(VM, me, wan, 17, &l4(1, 2, &seq.to_be_bytes())))
                .unwrap();
            net_side
                .send(&ipv4(
                    GATEWAY_MAC,
                    wan,
                    me,
                    17,
                    &l4(2, 1, &seq.to_be_bytes()),
                ))
                .unwrap();
        }
        // Every third frame each way is lost: 40 of 60 arrive, in order.
        let expected: Vec<u32> = (0..60).filter(|seq| seq % 3 != 2).collect();
        for side in [&net_side, &vm_side] {
            let got: Vec<u32> = (0..40)
                .map(|_| {
                    let n = side.recv(&mut buf).unwrap();
                    seq_of(&buf[..n])
                })
                .collect();
            assert_eq!(got, expected);
        }
        stop.shutdown(std::net::Shutdown::Both).unwrap();
        relay.join().unwrap().unwrap();
        assert_eq!(counts.from_vm.load(Ordering::Relaxed), 40);
        assert_eq!(counts.to_vm.load(Ordering::Relaxed), 40);
        assert_eq!(counts.lost.load(Ordering::Relaxed), 40);
        assert_eq!(counts.dropped.load(Ordering::Relaxed), 0);
        let events = events.lock().unwrap();
        for way in [Way::FromVm, Way::ToVm] {
            for loss in [Loss::Full, Loss::Vmnet(1006)] {
                let n = events
                    .iter()
                    .filter(|&&e| e == Event::Lost(way, loss))
                    .count();
                assert_eq!(n, 10, "{way:?} {loss:?}");
            }
        }
    }

    /// A port that fails ends the whole relay at once, with its error, and the other port is
    /// closed: no relay lives on half.
    #[test]
    fn a_failing_port_ends_both_directions() {
        struct Broken;
        impl PacketPort for Broken {
            fn recv(&self, _: &mut [u8]) -> io::Result<usize> {
                std::thread::sleep(std::time::Duration::from_millis(20));
                Err(io::Error::other("vmnet read failed"))
            }
            fn send(&self, _: &[u8]) -> io::Result<Sent> {
                Err(io::Error::other("vmnet write failed"))
            }
        }
        let (vm_side, vm_relay) = UnixDatagram::pair().unwrap();
        let policy = FramePolicy::new(
            VM,
            false,
            Ipv4Addr::new(192, 168, 64, 1),
            None,
            "192.168.64.0/24".parse().unwrap(),
            None,
        );
        let (vm, net): (Arc<dyn PacketPort>, Arc<dyn PacketPort>) =
            (Arc::new(vm_relay), Arc::new(Broken));
        let started = std::time::Instant::now();
        let ended = relay(&vm, &net, policy, &Arc::new(Counts::default()), |_| {});
        assert_eq!(ended.unwrap_err().to_string(), "vmnet read failed");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(
            vm_side.send(b"x").is_err(),
            "the VM's port is closed too (its reader is gone)"
        );
    }
}
