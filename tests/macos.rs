//! What only a Mac can tell, run there with `sudo -E cargo test` (type-checked and linted
//! everywhere, compiled to nothing elsewhere): the binary's minimum macOS and the vmnet symbols
//! it imports; pf's references (`pfctl -E` / `-X`); bootpd's restart; a vmnet interface as the
//! relay's port (a DHCP offer from bootpd, then `close` stops it); and the relay helper itself
//! between a socket and vmnet, ended by SIGTERM. The root-only ones say SKIPPED without root.
#![cfg(target_os = "macos")]

use std::io::{BufRead, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use vmctl::backend::macos::{MacHost, System};
use vmctl::relay::PacketPort;
use vmctl::relay::vmnet::{VmnetMode, VmnetPort};

/// Printed straight to the terminal: the harness captures `eprintln!`, not fd 2.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

fn root(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        say(&format!(
            "*** SKIPPED {test}: it needs root (sudo -E cargo test) ***"
        ));
    }
    root
}

/// vmctl's default shared range (gateway, last pool address, mask).
const SHARED: (Ipv4Addr, Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(192, 168, 64, 1),
    Ipv4Addr::new(192, 168, 64, 254),
    Ipv4Addr::new(255, 255, 255, 0),
);
const MAC: [u8; 6] = [0x0a, 0x76, 0x6d, 0x63, 0x74, 0x6c];

/// A DHCPDISCOVER from `MAC`, broadcast.
fn discover() -> Vec<u8> {
    let mut bootp = vec![0u8; 240];
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    bootp[4..8].copy_from_slice(&[0x76, 0x6d, 0x63, 0x74]);
    bootp[28..34].copy_from_slice(&MAC);
    bootp[236..240].copy_from_slice(&[99, 130, 83, 99]);
    bootp.extend_from_slice(&[53, 1, 1, 255]);
    let udp_len = u16::try_from(8 + bootp.len()).unwrap();
    let mut udp = Vec::new();
    udp.extend_from_slice(&68u16.to_be_bytes());
    udp.extend_from_slice(&67u16.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&bootp);
    let total = u16::try_from(20 + udp.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]);
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&udp);
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&ip);
    frame
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap()
}

/// A DHCP reply (UDP 67 to 68) for `MAC`?
fn is_dhcp_reply_for_us(frame: &[u8]) -> bool {
    frame.len() > 14 + 20 + 8 + 240
        && frame[12..14] == [0x08, 0x00]
        && frame[14 + 9] == 17
        && frame[14 + 20..14 + 24] == [0, 67, 0, 68]
        && frame[14 + 28 + 28..14 + 28 + 34] == MAC
}

#[test]
fn the_binary_says_macos_11_and_imports_no_macos_26_vmnet_symbol() {
    let exe = env!("CARGO_BIN_EXE_vmctl");
    let load = Command::new("otool").args(["-l", exe]).output().unwrap();
    let load = String::from_utf8_lossy(&load.stdout);
    assert!(
        load.lines().any(|l| l.trim() == "minos 11.0"),
        "LC_BUILD_VERSION minos 11.0 (.cargo/config.toml):\n{load}"
    );
    let undefined = Command::new("nm").args(["-u", exe]).output().unwrap();
    let undefined = String::from_utf8_lossy(&undefined.stdout);
    let vmnet: Vec<&str> = undefined.lines().filter(|l| l.contains("vmnet_")).collect();
    assert!(
        vmnet.iter().any(|s| s.contains("vmnet_start_interface")),
        "{vmnet:?}"
    );
    let macos_26: Vec<&&str> = vmnet
        .iter()
        .filter(|s| s.contains("vmnet_network_") || s.contains("start_with_network"))
        .collect();
    assert!(
        macos_26.is_empty(),
        "macOS 26's network API is imported, so the binary would not start on 11-15: {macos_26:?}"
    );
}

#[test]
fn a_pf_reference_is_taken_and_released_by_its_token() {
    if !root("the pf reference test") {
        return;
    }
    let host = System;
    let token = host.pf_enable().unwrap();
    let references = Command::new("/sbin/pfctl")
        .args(["-s", "References"])
        .output()
        .unwrap();
    let references = String::from_utf8_lossy(&references.stdout);
    assert!(references.contains(&token), "{token} in:\n{references}");
    assert_eq!(host.pf_enabled(), Some(true));
    host.pf_release(&token).unwrap();
    assert!(host.pf_release(&token).is_err(), "a token is released once");
}

#[test]
fn bootpd_is_restarted_by_launchd() {
    if !root("the bootpd reload test") {
        return;
    }
    System.reload_bootpd().unwrap();
    let status = Command::new("/bin/launchctl")
        .args(["print", "system/com.apple.bootpd"])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_vmnet_port_gets_bootpds_offer_and_close_stops_it() {
    if !root("the vmnet port test") {
        return;
    }
    let port = std::sync::Arc::new(VmnetPort::start(VmnetMode::Shared(SHARED), false).unwrap());
    let (heard, offer) = mpsc::channel();
    let reader = port.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = reader.recv(&mut buf) {
            if is_dhcp_reply_for_us(&buf[..n]) {
                let _ = heard.send(());
                return;
            }
        }
    });
    for _ in 0..10 {
        assert_eq!(
            port.send(&discover()).unwrap(),
            vmctl::relay::Sent::Delivered
        );
        if offer.recv_timeout(Duration::from_secs(1)).is_ok() {
            port.close();
            let mut buf = vec![0u8; 2048];
            assert!(
                port.recv(&mut buf).is_err(),
                "closed: vmnet_stop_interface ran"
            );
            return;
        }
    }
    panic!("no DHCP offer from bootpd in 10 s (`vmctl doctor`: is bootpd blocked?)");
}

/// The helper as `start` runs it: ready on stdout, a DHCP offer back through its socket,
/// SIGTERM ends it cleanly (exit 0, socket gone, the log says it stopped).
#[test]
fn the_relay_helper_relays_vmnet_to_its_socket_and_stops_on_sigterm() {
    if !root("the relay helper test") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let socket = home.path().join("vm.sock");
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(home.path().join("relay.log"))
        .unwrap();
    let mac = MAC
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let mut helper = Command::new(env!("CARGO_BIN_EXE_vmctl"))
        .arg("--home")
        .arg(home.path())
        .args(["relay-helper", "--vmnet", "shared", "--mac", &mac])
        .args(["--gateway", "192.168.64.1", "--subnet", "192.168.64.0/24"])
        .arg("--socket")
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(helper.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let hypervisor = UnixDatagram::bind(home.path().join("qemu.sock")).unwrap();
    hypervisor
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut offered = false;
    'tries: for _ in 0..10 {
        hypervisor.send_to(&discover(), &socket).unwrap();
        while let Ok(n) = hypervisor.recv(&mut buf) {
            if is_dhcp_reply_for_us(&buf[..n]) {
                offered = true;
                break 'tries;
            }
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(helper.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = helper.wait().unwrap();
    let said = std::fs::read_to_string(home.path().join("relay.log")).unwrap();
    assert!(offered, "no DHCP offer through the relay:\n{said}");
    assert!(status.success(), "{status}:\n{said}");
    assert!(!socket.exists(), "the socket is removed");
    assert!(said.contains("signal 15: stopping"), "{said}");
}
