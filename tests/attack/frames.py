#!/usr/bin/env python3
"""Hand-made Ethernet frames for the attack suite (tests/attack/attack.sh): what a hostile VM
sends when it does not play by the rules. Standard library only: AF_PACKET raw sockets.

    frames.py IFACE COMMAND [options]      e.g. ip netns exec atk python3 frames.py eth0 garp --sip A

Every sender takes --smac/--dmac (default: the interface's MAC / broadcast), --vlan VID (an
802.1Q tag), --qinq (an 802.1ad tag outside it) and --count N. Commands that wait for an answer
(tcp-syn, sniff) exit 0 when it came and 1 when it did not, so the shell can assert either way.
"""
import argparse
import fcntl
import ipaddress
import os
import random
import socket
import struct
import sys
import time

ETH_P_ALL, ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0003, 0x0800, 0x0806, 0x86DD
BROADCAST = "ff:ff:ff:ff:ff:ff"


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def mac_str(raw):
    return ":".join(f"{b:02x}" for b in raw)


def ip4(text):
    return socket.inet_aton(text)


def ip6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def iface_mac(iface):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return mac_str(fcntl.ioctl(s, 0x8927, struct.pack("256s", iface.encode()))[18:24])


def iface_ip(iface):
    """The interface's IPv4 address, or 0.0.0.0 when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            return socket.inet_ntoa(fcntl.ioctl(s, 0x8915, struct.pack("256s", iface.encode()))[20:24])
        except OSError:
            return "0.0.0.0"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# ---- frame builders -------------------------------------------------------------------------

def random_mac():
    return mac_str(bytes([2]) + os.urandom(5))


def ether(args, ethertype, payload, dmac=None, smac=None):
    """Ethernet header, with an 802.1Q tag (--vlan VID) and an 802.1ad tag outside it (--qinq).
    --smac random: a new made-up source MAC for every frame."""
    smac = smac or (random_mac() if args.smac == "random" else args.smac)
    head = mac(dmac or args.dmac or BROADCAST) + mac(smac)
    if args.qinq:
        head += struct.pack("!HH", 0x88A8, 0)
    if args.vlan is not None or args.qinq:
        head += struct.pack("!HH", 0x8100, args.vlan or 0)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident=None, frag=0, more=False):
    flags_frag = (0x2000 if more else 0) | (frag // 8)
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident or random.randrange(65536),
                       flags_frag, 64, proto, 0, ip4(src), ip4(dst))
    return head[:10] + struct.pack("!H", checksum(head)) + head[12:] + payload


def pseudo4(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def udp4(src, dst, sport, dport, data):
    head = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    total = checksum(pseudo4(src, dst, 17, 8 + len(data)) + head + data) or 0xFFFF
    return ipv4(src, dst, 17, head[:6] + struct.pack("!H", total) + data)


def tcp4(src, dst, sport, dport, seq, flags=0x02):
    """A TCP segment (a SYN by default) with an MSS option, as its IPv4 payload."""
    opts = struct.pack("!BBH", 2, 4, 1460)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + len(opts) // 4) << 4, flags, 64240, 0, 0) + opts
    total = checksum(pseudo4(src, dst, 6, len(head)) + head)
    return head[:16] + struct.pack("!H", total) + head[18:]


def arp(op, sha, sip, tha, tip):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, mac(sha), ip4(sip), mac(tha), ip4(tip))


def dhcp(op, msg_type, chaddr, xid, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0", options=()):
    """A BOOTP/DHCP message: op 1 from a client, 2 from a server; options as (code, bytes)."""
    body = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", op, 1, 6, 0, xid, 0, 0x8000, ip4(ciaddr),
                       ip4(yiaddr), ip4(siaddr), ip4("0.0.0.0"), mac(chaddr), b"", b"", 0x63825363)
    body += bytes([53, 1, msg_type])
    for code, value in options:
        body += bytes([code, len(value)]) + value
    return body + b"\xff" + b"\0" * 8


def ipv6(src, dst, next_header, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 255, ip6(src), ip6(dst)) + payload


def pseudo6(src, dst, next_header, length):
    return ip6(src) + ip6(dst) + struct.pack("!IxxxB", length, next_header)


def icmp6(src, dst, body):
    total = checksum(pseudo6(src, dst, 58, len(body)) + body)
    return ipv6(src, dst, 58, body[:2] + struct.pack("!H", total) + body[4:])


def link_local(hw):
    """fe80::/64 with the modified EUI-64 of a MAC: what the kernel would give that NIC."""
    b = bytearray(mac(hw))
    b[0] ^= 2
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])))


# ---- commands -------------------------------------------------------------------------------

def cmd_arp(args, sock):
    ops = {"request": 1, "reply": 2}
    tha = args.tha or ("00:00:00:00:00:00" if args.op == "request" else args.dmac or BROADCAST)
    frame = arp(ops[args.op], args.sha or args.smac, args.sip, tha, args.tip)
    send(sock, args, lambda i: ether(args, ETH_P_ARP, frame))


def cmd_garp(args, sock):
    """Gratuitous ARP: "SIP is at SHA", a request for itself, to everyone."""
    frame = arp(1, args.sha or args.smac, args.sip, "00:00:00:00:00:00", args.sip)
    send(sock, args, lambda i: ether(args, ETH_P_ARP, frame))


def cmd_dhcp(args, sock):
    """A client message; --chaddr random: a new MAC for each; --sweep: --requested + i each."""
    types = {"discover": 1, "request": 3, "decline": 4, "release": 7, "inform": 8}

    def frame(i):
        smac = random_mac() if args.smac == "random" else args.smac
        chaddr = args.chaddr or smac
        if chaddr == "random":
            chaddr = random_mac()
        client_id = args.client_id or chaddr
        if client_id == "random":
            client_id = random_mac()
        options = [(61, b"\x01" + mac(client_id))]
        if args.requested:
            requested = ipaddress.IPv4Address(args.requested) + (i if args.sweep else 0)
            options.append((50, requested.packed))
        if args.server:
            options.append((54, ip4(args.server)))
        if args.hostname:
            options.append((12, args.hostname.encode()))
        msg = dhcp(1, types[args.type], chaddr, random.getrandbits(32), ciaddr=args.ciaddr, options=options)
        return ether(args, ETH_P_IP, udp4(args.src_ip, args.dst_ip, 68, 67, msg), smac=smac)
    send(sock, args, frame)


def cmd_dhcp_server(args, sock):
    """A rogue DHCP server: for --timeout seconds, OFFER --yiaddr to every DISCOVER and ACK every
    REQUEST, naming --router (default: this VM) as router and DNS server."""
    me = iface_ip(args.iface)
    router = ip4(args.router or me)
    answered = 0
    end = time.time() + args.timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data = sock.recv(2048)
        except socket.timeout:
            break
        msg = parse_udp4(data, dport=67)
        if msg is None or len(msg) < 243 or msg[0] != 1:
            continue
        xid, chaddr = struct.unpack("!I", msg[4:8])[0], mac_str(msg[28:34])
        kind = dhcp_type(msg)
        if kind not in (1, 3):
            continue
        options = [(54, ip4(me)), (51, struct.pack("!I", 600)), (1, ip4("255.255.255.0")),
                   (3, router), (6, router)]
        reply = dhcp(2, 2 if kind == 1 else 5, chaddr, xid, yiaddr=args.yiaddr, siaddr=me, options=options)
        sock.send(ether(args, ETH_P_IP, udp4(me, "255.255.255.255", 67, 68, reply)))
        answered += 1
    print(f"answered {answered}")


def cmd_ra(args, sock):
    """An ICMPv6 router advertisement from our link-local address, to all nodes: a default
    router, and a prefix to autoconfigure (SLAAC) with our link-layer address."""
    prefix = ipaddress.IPv6Network(args.prefix)
    src = link_local(args.smac)
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB6s", 1, 1, mac(args.smac))
    body += struct.pack("!BBBBIII16s", 3, 4, prefix.prefixlen, 0xC0, 86400, 14400, 0, prefix.network_address.packed)
    frame = icmp6(src, "ff02::1", body)
    send(sock, args, lambda i: ether(args, ETH_P_IPV6, frame, dmac=args.dmac or "33:33:00:00:00:01"))


def cmd_dhcpv6_advertise(args, sock):
    """A DHCPv6 ADVERTISE from our link-local address to all nodes, offering --address."""
    src, dst = link_local(args.smac), "ff02::1"
    duid = struct.pack("!HH", 3, 1) + mac(args.smac)
    ia_addr = struct.pack("!HH16sII", 5, 24, ip6(args.address), 3600, 7200)
    data = struct.pack("!I", 0x02000000 | random.getrandbits(24))
    data += struct.pack("!HH", 2, len(duid)) + duid
    data += struct.pack("!HHIII", 3, 12 + len(ia_addr), 1, 1800, 2880) + ia_addr
    head = struct.pack("!HHH", 547, 546, 8 + len(data))
    total = checksum(pseudo6(src, dst, 17, 8 + len(data)) + head + b"\0\0" + data)
    frame = ipv6(src, dst, 17, head + struct.pack("!H", total) + data)
    send(sock, args, lambda i: ether(args, ETH_P_IPV6, frame, dmac=args.dmac or "33:33:00:00:00:01"))


def cmd_udp(args, sock):
    """One UDP datagram with any addresses: forged sources, 0.0.0.0, broadcasts..."""
    def frame(i):
        return ether(args, ETH_P_IP, udp4(args.src, args.dst, args.sport, args.dport, args.data.encode()))
    send(sock, args, frame)


def cmd_raw(args, sock):
    """A frame of any ethertype (not IPv4, ARP or IPv6: PPPoE, a made-up protocol...)."""
    send(sock, args, lambda i: ether(args, int(args.ethertype, 16), args.data.encode().ljust(46, b"\0")))


def cmd_tcp_syn(args, sock):
    """A SYN to --dst:--dport; exit 0 when its SYN-ACK came back within --timeout."""
    sport, seq = random.randrange(20000, 60000), random.getrandbits(32)
    segment = tcp4(args.src, args.dst, sport, args.dport, seq)
    if args.frag:  # the TCP header cut after its first 8 bytes (ports and sequence number)
        ident = random.randrange(65536)
        frames = [ipv4(args.src, args.dst, 6, segment[:8], ident, 0, True),
                  ipv4(args.src, args.dst, 6, segment[8:], ident, 8, False)]
    else:
        frames = [ipv4(args.src, args.dst, 6, segment)]
    for packet in frames:
        sock.send(ether(args, ETH_P_IP, packet))
    end = time.time() + args.timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data, where = sock.recvfrom(2048)
        except socket.timeout:
            break
        seg = parse_ip4(data, proto=6, src=args.dst)
        if seg and where[2] != socket.PACKET_OUTGOING:
            ports, ack, flags = struct.unpack("!I", seg[0:4])[0], struct.unpack("!I", seg[8:12])[0], seg[13]
            if ports == (args.dport << 16 | sport) and flags & 0x12 == 0x12 and ack == (seq + 1) & 0xFFFFFFFF:
                print(f"SYN-ACK from {args.dst}:{args.dport}")
                return 0
    print(f"no SYN-ACK from {args.dst}:{args.dport}")
    return 1


def cmd_sniff(args, sock):
    """Watch for --timeout seconds; exit 0 (and say what) when a frame that came in (not one
    this namespace sent) matched every filter."""
    end = time.time() + args.timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data, where = sock.recvfrom(4096)
        except socket.timeout:
            break
        if where[2] != socket.PACKET_OUTGOING and matches(args, data):
            print(f"seen: {mac_str(data[6:12])} -> {mac_str(data[0:6])} type {data[12:14].hex()} {len(data)} bytes")
            return 0
    print("seen nothing")
    return 1


def matches(args, data):
    if args.marker and args.marker.encode() not in data:
        return False
    if args.smac and mac_str(data[6:12]) != args.smac.lower():
        return False
    if args.icmp6:  # an untagged IPv6 frame whose next header is ICMPv6 of that type
        return data[12:14] == b"\x86\xdd" and data[20] == 58 and len(data) > 54 and data[54] == args.icmp6
    return True


# ---- parsing what comes back ------------------------------------------------------------------

def parse_ip4(data, proto, src=None):
    """The IPv4 payload of an untagged frame when protocol (and source) match."""
    if len(data) < 34 or data[12:14] != b"\x08\x00" or data[23] != proto:
        return None
    if src and data[26:30] != ip4(src):
        return None
    return data[14 + (data[14] & 0xF) * 4:]


def parse_udp4(data, dport):
    seg = parse_ip4(data, 17)
    if seg is None or len(seg) < 8 or struct.unpack("!H", seg[2:4])[0] != dport:
        return None
    return seg[8:]


def dhcp_type(msg):
    i = 240
    while i + 1 < len(msg) and msg[i] != 255:
        if msg[i] == 0:
            i += 1
            continue
        if msg[i] == 53:
            return msg[i + 2]
        i += 2 + msg[i + 1]
    return None


def send(sock, args, frame_of):
    for i in range(args.count):
        sock.send(frame_of(i))
        if args.interval:
            time.sleep(args.interval)


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--smac", help="Ethernet source (default: the interface's MAC)")
    common.add_argument("--dmac", help="Ethernet destination (default: broadcast)")
    common.add_argument("--vlan", type=int, help="add an 802.1Q tag with this VID")
    common.add_argument("--qinq", action="store_true", help="add an 802.1ad tag (VID 0) outside it")
    common.add_argument("--count", type=int, default=1)
    common.add_argument("--interval", type=float, default=0.0)
    p = argparse.ArgumentParser(description="Hand-made Ethernet frames for the attack suite.")
    p.add_argument("iface")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("arp", parents=[common])
    a.add_argument("--op", choices=["request", "reply"], default="reply")
    a.add_argument("--sha", help="ARP sender MAC (default: --smac)")
    a.add_argument("--tha")
    a.add_argument("--sip", required=True)
    a.add_argument("--tip", required=True)
    a = sub.add_parser("garp", parents=[common])
    a.add_argument("--sha")
    a.add_argument("--sip", required=True)
    a = sub.add_parser("dhcp", parents=[common])
    a.add_argument("--type", choices=["discover", "request", "decline", "release", "inform"], required=True)
    a.add_argument("--chaddr", help="client MAC in the message (default: the frame's source), or 'random'")
    a.add_argument("--client-id", help="option 61's MAC (default: --chaddr), or 'random'")
    a.add_argument("--ciaddr", default="0.0.0.0")
    a.add_argument("--requested", help="option 50, the requested address")
    a.add_argument("--sweep", action="store_true", help="request --requested + i in message i")
    a.add_argument("--server", help="option 54, the server identifier")
    a.add_argument("--hostname")
    a.add_argument("--src-ip", default="0.0.0.0")
    a.add_argument("--dst-ip", default="255.255.255.255")
    a = sub.add_parser("dhcp-server", parents=[common])
    a.add_argument("--yiaddr", required=True, help="the address to hand out")
    a.add_argument("--router", help="router and DNS server to hand out (default: this VM)")
    a.add_argument("--timeout", type=float, default=5)
    a = sub.add_parser("ra", parents=[common])
    a.add_argument("--prefix", default="2001:db8:1::/64")
    a = sub.add_parser("dhcpv6-advertise", parents=[common])
    a.add_argument("--address", default="2001:db8:1::99")
    a = sub.add_parser("udp", parents=[common])
    a.add_argument("--src", required=True)
    a.add_argument("--dst", required=True)
    a.add_argument("--sport", type=int, default=40000)
    a.add_argument("--dport", type=int, default=9)
    a.add_argument("--data", default="vmctl-attack")
    a = sub.add_parser("raw", parents=[common])
    a.add_argument("--ethertype", required=True, help="hex, e.g. 88b5")
    a.add_argument("--data", default="vmctl-attack")
    a = sub.add_parser("tcp-syn", parents=[common])
    a.add_argument("--src", help="source address (default: the interface's)")
    a.add_argument("--dst", required=True)
    a.add_argument("--dport", type=int, required=True)
    a.add_argument("--frag", action="store_true", help="send it as two IPv4 fragments")
    a.add_argument("--timeout", type=float, default=0.5)
    a = sub.add_parser("sniff")
    a.add_argument("--timeout", type=float, default=2)
    a.add_argument("--marker", help="the frame contains this text (anywhere)")
    a.add_argument("--smac", help="from this Ethernet source")
    a.add_argument("--icmp6", type=int, help="an ICMPv6 message of this type (134: RA)")
    args = p.parse_args()
    if hasattr(args, "count"):
        args.smac = args.smac or iface_mac(args.iface)
    if args.cmd == "tcp-syn" and args.src is None:
        args.src = iface_ip(args.iface)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    if args.cmd == "sniff":
        print("listening", flush=True)
    return globals()["cmd_" + args.cmd.replace("-", "_")](args, sock) or 0


if __name__ == "__main__":
    sys.exit(main())
