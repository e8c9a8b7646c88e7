//! The VM's side of a socket-attached VM: a unix datagram socket bound at a path, for a
//! hypervisor that sends from a socket of its own (QEMU `-netdev dgram`, vfkit
//! `unixSocketPath=`). Frames go back to whoever sent the last one.
//!
//! A datagram to a receiver whose buffer is full does not wait on macOS: the send fails at
//! once with ENOBUFS (xnu's `uipc_send` appends to the receiver's buffer or fails), and the
//! receiver's buffer is about 4 KiB unless it asks for more (QEMU's `-netdev dgram` does not).
//! So a send that finds the buffer full is tried again a few times over about 1.5 ms (vfkit,
//! QEMU read in microseconds), then the frame is counted as lost: one slow reader costs frames
//! (TCP sends them again), never the relay. Sends never block, on Linux either (where a full
//! receiver says EAGAIN), so the same path runs in Linux CI.
//!
//! The socket is bound as the user the hypervisor runs as (`bind_as`): created by that user,
//! mode 0700, in a folder that user can reach, with no path handled as root in between.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, UnixAddr, sendto, setsockopt, sockopt};

use super::{Loss, PacketPort, Sent};
use crate::sys::Owner;

/// The receive buffer asked for: room for about 2,000 full-size frames from the hypervisor
/// (vfkit and vmnet-helper use 4 MiB; macOS allows up to `kern.ipc.maxsockbuf`, 8 MiB).
const RECEIVE_BUFFER: usize = 4 << 20;
/// The send buffer: on macOS it caps the size of one datagram (2 KiB by default,
/// `unpdg_sendspace`), so it must hold the largest frame (64 KiB with TSO).
const SEND_BUFFER: usize = 1 << 20;
/// vfkit's first datagram says hello (`VFKT`); it is no frame.
const VFKIT_HELLO: &[u8] = b"VFKT";
/// The waits between tries of a send the receiver's full buffer refused: about 1.5 ms in all.
const RETRY_WAITS: [Duration; 5] = [
    Duration::from_micros(50),
    Duration::from_micros(100),
    Duration::from_micros(200),
    Duration::from_micros(400),
    Duration::from_micros(800),
];

/// A datagram socket bound at a path; frames go to the socket the last datagram came from.
pub struct SocketPort {
    socket: UnixDatagram,
    peer: Mutex<Option<PathBuf>>,
}

impl SocketPort {
    /// Bind at `path` (a stale socket file there is replaced), mode 0700, as this process's
    /// user.
    pub fn bind(path: &Path) -> io::Result<SocketPort> {
        Self::bind_as(path, None)
    }

    /// Bind at `path` as `owner`: the socket file is created by that user (so it is theirs,
    /// mode 0700), and only if that user can reach its folder. The effective ids change for
    /// the bind alone: call it before other threads start (the ids are the process's).
    pub fn bind_as(path: &Path, owner: Option<Owner>) -> io::Result<SocketPort> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        let bound = match owner {
            Some(owner) if owner.uid != nix::unistd::geteuid().as_raw() => {
                as_user(owner, || UnixDatagram::bind(path))
            }
            _ => UnixDatagram::bind(path),
        };
        nix::sys::stat::umask(mask);
        Self::with_buffers(bound?)
    }

    /// A bound socket with the relay's buffer sizes.
    pub fn with_buffers(socket: UnixDatagram) -> io::Result<SocketPort> {
        // Best effort: Linux caps them at net.core.{r,w}mem_max, which is fine there.
        let _ = setsockopt(&socket, sockopt::RcvBuf, &RECEIVE_BUFFER);
        let _ = setsockopt(&socket, sockopt::SndBuf, &SEND_BUFFER);
        Ok(SocketPort {
            socket,
            peer: Mutex::new(None),
        })
    }

    /// One try of a send to `peer`, without waiting.
    fn try_send(&self, frame: &[u8], peer: &Path) -> Result<(), Errno> {
        let to = UnixAddr::new(peer)?;
        sendto(self.socket.as_raw_fd(), frame, &to, MsgFlags::MSG_DONTWAIT).map(drop)
    }
}

/// Run `op` with the effective user and group of `owner`, then as root again.
fn as_user<T>(owner: Owner, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    use nix::unistd::{Gid, Uid, setegid, seteuid};
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    setegid(Gid::from_raw(owner.gid))?;
    if let Err(e) = seteuid(Uid::from_raw(owner.uid)) {
        let _ = setegid(gid);
        return Err(e.into());
    }
    let result = op();
    // Back to root: both must succeed, or this process must not go on.
    seteuid(uid)
        .and_then(|()| setegid(gid))
        .expect("returning to the helper's own user");
    result
}

impl PacketPort for SocketPort {
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (n, from): (usize, SocketAddr) = self.socket.recv_from(buf)?;
            if let Some(path) = from.as_pathname() {
                let mut peer = self.peer.lock().expect("peer lock");
                if peer.as_deref() != Some(path) {
                    *peer = Some(path.to_owned());
                }
            }
            if &buf[..n] != VFKIT_HELLO {
                return Ok(n);
            }
        }
    }

    fn send(&self, frame: &[u8]) -> io::Result<Sent> {
        let Some(peer) = self.peer.lock().expect("peer lock").clone() else {
            // Nobody to give it to yet: the hypervisor has not sent a datagram.
            return Ok(Sent::Lost(Loss::NoPeer));
        };
        let mut waits = RETRY_WAITS.iter();
        loop {
            match self.try_send(frame, &peer) {
                Ok(()) => return Ok(Sent::Delivered),
                // macOS says ENOBUFS for a full receiver; Linux EAGAIN.
                Err(Errno::ENOBUFS | Errno::EAGAIN) => match waits.next() {
                    Some(&wait) => std::thread::sleep(wait),
                    None => return Ok(Sent::Lost(Loss::Full)),
                },
                // The hypervisor went away; frames wait for the next one to say hello.
                Err(Errno::ENOENT | Errno::ECONNREFUSED | Errno::ENOTSOCK) => {
                    let mut known = self.peer.lock().expect("peer lock");
                    if known.as_deref() == Some(peer.as_path()) {
                        *known = None;
                    }
                    return Ok(Sent::Lost(Loss::NoPeer));
                }
                // One frame larger than the receiver takes.
                Err(Errno::EMSGSIZE) => return Ok(Sent::Lost(Loss::TooBig)),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn close(&self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver that never reads: the sends past its buffer are lost, counted, and take
    /// about 1.5 ms each; once it reads, frames pass again.
    #[test]
    fn a_full_receiver_costs_frames_not_the_port() {
        let dir = tempfile::tempdir().unwrap();
        let port = SocketPort::bind(&dir.path().join("vm.sock")).unwrap();
        let hypervisor = UnixDatagram::bind(dir.path().join("qemu.sock")).unwrap();
        hypervisor
            .send_to(b"hello", dir.path().join("vm.sock"))
            .unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(port.recv(&mut buf).unwrap(), 5);
        let (mut delivered, mut lost) = (0, 0);
        let started = std::time::Instant::now();
        while lost < 3 {
            match port.send(&[7u8; 1500]).unwrap() {
                Sent::Delivered => delivered += 1,
                Sent::Lost(Loss::Full) => lost += 1,
                other @ Sent::Lost(_) => panic!("{other:?}"),
            }
            assert!(delivered < 100_000, "the receiver's buffer never filled");
        }
        assert!(delivered > 0, "frames pass until the buffer is full");
        assert!(
            started.elapsed() >= Duration::from_millis(4),
            "each loss waited for the reader first"
        );
        // The reader catches up: frames pass again.
        hypervisor.set_nonblocking(true).unwrap();
        let mut read = 0;
        while hypervisor.recv(&mut buf).is_ok() {
            read += 1;
        }
        assert_eq!(read, delivered);
        assert_eq!(port.send(b"again").unwrap(), Sent::Delivered);
    }

    /// Before a hello there is nobody to send to; vfkit's hello is no frame; a hypervisor that
    /// went away is forgotten until the next one speaks.
    #[test]
    fn peers_come_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.sock");
        let port = SocketPort::bind(&path).unwrap();
        assert_eq!(port.send(b"x").unwrap(), Sent::Lost(Loss::NoPeer));
        let vfkit = UnixDatagram::bind(dir.path().join("vfkit-1-2.sock")).unwrap();
        vfkit.send_to(VFKIT_HELLO, &path).unwrap();
        vfkit.send_to(b"frame", &path).unwrap();
        let mut buf = [0u8; 64];
        let n = port.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"frame", "hello skipped");
        assert_eq!(port.send(b"back").unwrap(), Sent::Delivered);
        let n = vfkit.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"back");
        drop(vfkit);
        std::fs::remove_file(dir.path().join("vfkit-1-2.sock")).unwrap();
        assert_eq!(port.send(b"x").unwrap(), Sent::Lost(Loss::NoPeer));
        assert!(port.peer.lock().unwrap().is_none(), "forgotten");
    }

    #[test]
    fn the_socket_is_its_owners_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm.sock");
        crate::store::write_atomic(&path, b"stale").unwrap();
        let _port = SocketPort::bind(&path).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
    }

    /// As root: bound as another user, the socket is that user's (mode 0700); in a folder that
    /// user cannot reach, the bind is refused (the hypervisor could not reach it either), and
    /// either way the helper is root again after. The effective ids are the whole process's,
    /// so the binds run in a process of their own (this test binary, one ignored test).
    #[test]
    fn bound_as_the_hypervisors_user() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: binding as another user needs root");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let theirs = home.path().join("theirs");
        let roots = home.path().join("roots");
        for dir in [&theirs, &roots] {
            std::fs::create_dir(dir).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let bind = |at: &Path| {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "relay::socket::tests::bind_as_child",
                    "--exact",
                    "--ignored",
                    "--test-threads=1",
                    "--nocapture",
                ])
                .env("VMCTL_TEST_BIND_AT", at)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let socket = theirs.join("vm.sock");
        assert!(bind(&socket).contains("child: bound"));
        let meta = std::fs::symlink_metadata(&socket).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        let said = bind(&roots.join("vm.sock"));
        assert!(said.contains("child: refused: permission denied"), "{said}");
    }

    #[test]
    #[ignore = "run by bound_as_the_hypervisors_user, in a process of its own"]
    fn bind_as_child() {
        let Some(at) = std::env::var_os("VMCTL_TEST_BIND_AT") else {
            return;
        };
        let owner = Owner {
            uid: 65534,
            gid: 65534,
        };
        match SocketPort::bind_as(Path::new(&at), Some(owner)) {
            Ok(_) => println!("child: bound"),
            Err(e) => println!("child: refused: {}", e.kind()),
        }
        assert!(nix::unistd::geteuid().is_root(), "root again");
        assert_eq!(nix::unistd::getegid().as_raw(), 0, "root's group again");
    }
}
