//! Each `inner_*` test runs in a throw-away network and mount namespace: its outer test
//! re-executes this test binary under `unshare -n -m` and the inner test refuses to run
//! unless that outer test asked for it (and unless it finds a fresh namespace), so no link
//! is ever made in the machine's own network namespace.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::process::Command;

use ipnetwork::Ipv4Network;

use super::error::{EEXIST, ENODEV};
use super::*;

/// Set by the outer test for the re-executed binary.
const GUARD: &str = "VMCTL_NETLINK_IN_PRIVATE_NETNS";

/// Runs `inner` (a test of this module) in a new network and mount namespace, under the
/// `wrapper` command if any. Skips when that cannot be done, unless VMCTL_REQUIRE_NETNS=1.
fn in_private_netns(inner: &str, wrapper: &[&str]) {
    if let Some(why) = why_not_isolated(wrapper) {
        assert!(
            std::env::var_os("VMCTL_REQUIRE_NETNS").is_none_or(|v| v != "1"),
            "{inner}: {why}"
        );
        crate::test_support::say_skipped(&format!(
            "SKIPPED {inner}: {why} (set VMCTL_REQUIRE_NETNS=1 to fail instead)"
        ));
        return;
    }
    // module_path!() is crate::...::tests; test names leave the crate out.
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, path)| path);
    let output = Command::new("unshare")
        .args(["-n", "-m", "--propagation", "private"])
        .args(wrapper)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("{module}::{inner}"),
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(GUARD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{inner} failed in its namespace ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// Why `in_private_netns` cannot run here, if it cannot.
fn why_not_isolated(wrapper: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root".to_owned());
    }
    for tool in ["unshare", "ip"]
        .into_iter()
        .chain(wrapper.first().copied())
    {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("no {tool} command"));
        }
    }
    let probe = Command::new("unshare").args(["-n", "-m", "true"]).status();
    (!probe.is_ok_and(|status| status.success())).then(|| "unshare -n -m fails".to_owned())
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// In the inner test: true when running where the outer test put it, with nothing but `lo`.
fn isolated() -> bool {
    if std::env::var_os(GUARD).is_none() {
        eprintln!("skipped: runs only inside the namespace made by its outer test");
        return false;
    }
    let links = Netlink::open().unwrap().links().unwrap();
    assert!(
        links.len() == 1 && links[0].name == "lo",
        "refusing to run outside a fresh network namespace: {links:?}"
    );
    true
}

/// Runs `ip args`, which must succeed, and returns its output.
fn ip(args: &str) -> String {
    let output = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ip {args}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Asserts that the output of `ip args` contains every one of `parts`.
fn ip_shows(args: &str, parts: &[&str]) {
    let shown = ip(args);
    let missing: Vec<_> = parts.iter().filter(|part| !shown.contains(*part)).collect();
    assert!(missing.is_empty(), "ip {args}: no {missing:?} in\n{shown}");
}

/// A named network namespace: mounts a tmpfs on /run first (this is a private mount
/// namespace), so nothing shows up in the machine's /run.
fn netns(name: &str) -> File {
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs", "/run"])
        .status();
    assert!(status.unwrap().success(), "mount tmpfs on /run");
    ip(&format!("netns add {name}"));
    File::open(format!("/run/netns/{name}")).unwrap()
}

fn find(nl: &mut Netlink, name: &str) -> LinkInfo {
    nl.links()
        .unwrap()
        .into_iter()
        .find(|link| link.name == name)
        .unwrap()
}

const fn mac(last: u8) -> [u8; 6] {
    [0x52, 0x54, 0, 0, 0, last]
}

#[test]
fn names_the_kernel_refuses_never_reach_a_message() {
    in_private_netns("inner_names_the_kernel_refuses_never_reach_a_message", &[]);
}

#[test]
#[ignore = "run by names_the_kernel_refuses_never_reach_a_message in a private network namespace"]
fn inner_names_the_kernel_refuses_never_reach_a_message() {
    if !isolated() {
        return;
    }
    let mut nl = Netlink::open().unwrap();
    let guest = netns("guest");
    // 65,536 bytes made netlink-packet-route panic; 16 made the kernel answer ERANGE.
    for name in [
        "x".repeat(65_536),
        "x".repeat(16),
        "a/b".into(),
        "..".into(),
        String::new(),
    ] {
        let refused = [
            nl.link_index(&name).map(drop),
            nl.add_bridge(&name, None).map(drop),
            nl.add_veth(&name, mac(1), "eth0", mac(2), &guest).map(drop),
            nl.add_veth("vm-a", mac(1), &name, mac(2), &guest).map(drop),
            nl.add_macvlan(&name, 1, mac(3), false, None).map(drop),
        ];
        for err in refused.into_iter().map(Result::unwrap_err) {
            assert_eq!(err.source.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().len() < 400, "the name is cut: {err}");
        }
    }
    assert_eq!(nl.links().unwrap().len(), 1, "nothing was made");
}

#[test]
fn bridge_veth_and_addresses() {
    in_private_netns("inner_bridge_veth_and_addresses", &[]);
}

#[test]
#[ignore = "run by bridge_veth_and_addresses in a private network namespace"]
fn inner_bridge_veth_and_addresses() {
    if !isolated() {
        return;
    }
    let mut nl = Netlink::open().unwrap();
    assert_eq!(nl.link_index("vbr0").unwrap(), None);
    let bridge = nl.add_bridge("vbr0", Some(mac(1))).unwrap();
    assert_eq!(nl.link_index("vbr0").unwrap(), Some(bridge));
    assert_eq!(find(&mut nl, "vbr0").kind.as_deref(), Some("bridge"));
    ip_shows("-o link show vbr0", &["52:54:00:00:00:01", "state DOWN"]);
    let again = nl.add_bridge("vbr0", None).unwrap_err();
    assert_eq!(again.errno(), Some(EEXIST));
    assert!(
        again.to_string().starts_with("create bridge vbr0: "),
        "{again}"
    );
    assert!(nl.add_bridge("vbr1", None).unwrap() > bridge);

    let guest = netns("guest");
    let host = nl.add_veth("vm-a", [0xfe, 0x54, 0, 0, 0, 2], "eth0", mac(3), &guest);
    let host = host.unwrap();
    ip_shows("-o link show vm-a", &["vm-a@if", "fe:54:00:00:00:02"]);
    ip_shows("-n guest -o link show eth0", &["52:54:00:00:00:03"]);
    assert_eq!(nl.link_index("eth0").unwrap(), None);
    let taken = nl
        .add_veth("vm-b", mac(4), "eth0", mac(5), &guest)
        .unwrap_err();
    assert_eq!(taken.errno(), Some(EEXIST), "{taken}");
    assert_eq!(nl.link_index("vm-b").unwrap(), None);

    nl.set_master(host, bridge).unwrap();
    nl.set_up(bridge).unwrap();
    nl.set_up(host).unwrap();
    let listed = find(&mut nl, "vm-a");
    let expected = (host, Some("veth"), Some(bridge));
    assert_eq!(
        (listed.index, listed.kind.as_deref(), listed.master),
        expected
    );
    ip_shows("-o link show vm-a", &["master vbr0", ",UP"]);
    ip_shows("-o link show vbr0", &[",UP"]);

    nl.add_address(bridge, Ipv4Addr::new(10, 77, 0, 1), 24)
        .unwrap();
    nl.add_address(bridge, Ipv4Addr::new(10, 77, 0, 1), 24)
        .unwrap();
    assert_eq!(
        ip("-o -4 addr show dev vbr0")
            .matches("inet 10.77.0.1/24")
            .count(),
        1
    );
    ip_shows("-4 route show dev vbr0", &["10.77.0.0/24"]);
    nl.set_mac(bridge, mac(6)).unwrap();
    if std::path::Path::new("/dev/net/tun").exists() {
        ip("tuntap add dev vtap0 mode tap");
        let tap = find(&mut nl, "vtap0");
        nl.set_master(tap.index, bridge).unwrap();
        assert_eq!(find(&mut nl, "vtap0").kind.as_deref(), Some("tun"));
        assert_eq!(find(&mut nl, "vtap0").master, Some(bridge));
    }
    ip_shows("-o link show vbr0", &["52:54:00:00:00:06"]);

    let missing = nl.set_up(9999).unwrap_err();
    assert_eq!(missing.errno(), Some(ENODEV));
    let enodev = io::Error::from_raw_os_error(ENODEV);
    assert_eq!(
        missing.to_string(),
        format!("bring up ifindex 9999: {enodev}")
    );
    let error = nl.set_master(bridge, 9999).unwrap_err().to_string();
    assert!(error.starts_with(&format!("attach to bridge vbr0 (ifindex {bridge}): ")));

    nl.delete_link(host).unwrap();
    assert_eq!(nl.link_index("vm-a").unwrap(), None);
    assert!(
        !ip("-n guest -o link").contains("eth0"),
        "the peer goes with its pair"
    );
    nl.delete_link(host).unwrap();
    nl.delete_link(bridge).unwrap();
    assert_eq!(nl.link_index("vbr0").unwrap(), None);
}

#[test]
fn macvlan_and_macvtap() {
    in_private_netns("inner_macvlan_and_macvtap", &[]);
}

#[test]
#[ignore = "run by macvlan_and_macvtap in a private network namespace"]
fn inner_macvlan_and_macvtap() {
    if !isolated() {
        return;
    }
    // The parent: a dummy would do, but not every kernel has one; a veth end always works.
    ip("link add d0 type veth peer name d0p");
    let mut nl = Netlink::open().unwrap();
    let parent = nl.link_index("d0").unwrap().unwrap();

    let vlan = nl.add_macvlan("mv0", parent, mac(1), false, None).unwrap();
    let listed = find(&mut nl, "mv0");
    assert_eq!(
        (Some(listed.index), listed.kind.as_deref()),
        (vlan, Some("macvlan"))
    );
    ip_shows(
        "-d -o link show mv0",
        &["mv0@d0", "52:54:00:00:00:01", "macvlan mode bridge"],
    );
    let vtap = nl
        .add_macvlan("mvt0", parent, mac(2), true, None)
        .unwrap()
        .unwrap();
    assert_eq!(find(&mut nl, "mvt0").kind.as_deref(), Some("macvtap"));
    ip_shows("-d -o link show mvt0", &["mvt0@d0", "macvtap mode bridge"]);
    nl.set_up(vtap).unwrap();

    let guest = netns("guest");
    let inside = nl.add_macvlan("eth0", parent, mac(3), false, Some(&guest));
    assert_eq!(inside.unwrap(), None);
    let inside = nl.add_macvlan("eth1", parent, mac(4), true, Some(&guest));
    assert_eq!(inside.unwrap(), None);
    let eth0 = ["eth0@if", "52:54:00:00:00:03", "macvlan mode bridge"];
    ip_shows("-n guest -d -o link show eth0", &eth0);
    let eth1 = ["eth1@if", "52:54:00:00:00:04", "macvtap mode bridge"];
    ip_shows("-n guest -d -o link show eth1", &eth1);
    assert_eq!(nl.link_index("eth1").unwrap(), None);

    let orphan = nl
        .add_macvlan("mv1", 9999, mac(5), false, None)
        .unwrap_err();
    assert!(
        orphan.to_string().starts_with("create macvlan mv1: "),
        "{orphan}"
    );
    nl.delete_link(vlan.unwrap()).unwrap();
    nl.delete_link(vtap).unwrap();
    assert_eq!(nl.link_index("mv0").unwrap(), None);
}

#[test]
fn default_route() {
    in_private_netns("inner_default_route", &[]);
}

#[test]
#[ignore = "run by default_route in a private network namespace"]
fn inner_default_route() {
    if !isolated() {
        return;
    }
    let mut nl = Netlink::open().unwrap();
    assert_eq!(nl.default_route_interface().unwrap(), None);
    for args in [
        "link add d0 type veth peer name d1",
        "link set d0 up",
        "link set d1 up",
        "route add default dev d1 table 100",
        "route add 0.0.0.0/1 dev d1",
        "-6 route add default dev d1",
    ] {
        ip(args);
    }
    assert_eq!(nl.default_route_interface().unwrap(), None, "none of those");
    ip("addr add 10.9.0.2/24 dev d0");
    ip("route add default via 10.9.0.1 dev d0 metric 100");
    assert_eq!(nl.default_route_interface().unwrap().as_deref(), Some("d0"));
    ip("route add default dev d1 metric 50");
    assert_eq!(nl.default_route_interface().unwrap().as_deref(), Some("d1"));
}

#[test]
fn routes_and_addresses() {
    in_private_netns("inner_routes_and_addresses", &[]);
}

#[test]
#[ignore = "run by routes_and_addresses in a private network namespace"]
fn inner_routes_and_addresses() {
    if !isolated() {
        return;
    }
    for args in [
        "link add d0 type veth peer name d1",
        "link set d0 up",
        "link set d1 up",
        "addr add 10.9.0.2/24 dev d0",
        "addr add 10.50.0.1/24 dev d1 noprefixroute",
        "route add default via 10.9.0.1 dev d0",
        "route add 192.168.64.0/22 via 10.9.0.1 dev d0",
        "route add 172.30.0.0/16 dev d1 table 100",
    ] {
        ip(args);
    }
    let mut nl = Netlink::open().unwrap();
    let net = |s: &str| s.parse::<Ipv4Network>().unwrap();
    let route = |dest: &str, dev: &str, via: Option<Ipv4Addr>| RouteInfo {
        destination: net(dest),
        device: Some(dev.to_owned()),
        gateway: via,
    };
    let gateway = Some(Ipv4Addr::new(10, 9, 0, 1));
    let mut routes = nl.routes().unwrap();
    routes.sort_by_key(|r| r.destination);
    assert_eq!(
        routes,
        [
            route("0.0.0.0/0", "d0", gateway),
            route("10.9.0.0/24", "d0", None),
            route("192.168.64.0/22", "d0", gateway),
        ],
        "the main table only"
    );
    let addresses = nl.ipv4_addresses().unwrap();
    assert!(
        addresses.contains(&("d0".to_owned(), net("10.9.0.2/24"))),
        "{addresses:?}"
    );
    assert!(
        addresses.contains(&("d1".to_owned(), net("10.50.0.1/24"))),
        "{addresses:?}"
    );

    let host = crate::backend::host_routes().unwrap();
    let shown: Vec<String> = host
        .iter()
        .map(|r| format!("{} {}", r.dest, r.what))
        .collect();
    assert_eq!(
        shown,
        [
            "0.0.0.0/0 route via 10.9.0.1 on d0",
            "10.9.0.0/24 route on d0",
            "192.168.64.0/22 route via 10.9.0.1 on d0",
            "10.50.0.0/24 address of d1",
        ],
        "an address with a route of its own is not repeated"
    );
}

#[test]
fn permission_denied() {
    let without_net_admin = [
        "setpriv",
        "--inh-caps=-net_admin",
        "--bounding-set=-net_admin",
    ];
    in_private_netns("inner_permission_denied", &without_net_admin);
}

#[test]
#[ignore = "run by permission_denied in a private network namespace without CAP_NET_ADMIN"]
fn inner_permission_denied() {
    if !isolated() {
        return;
    }
    let mut nl = Netlink::open().unwrap();
    let error = nl.add_bridge("vbr0", None).unwrap_err();
    assert!(error.is_permission(), "{error}");
    assert!(nl.set_up(1).unwrap_err().is_permission());
    assert!(
        nl.link_index("lo").unwrap().is_some(),
        "reading needs no privilege"
    );
}
