#!/usr/bin/env bash
# vmctl's attack suite: hostile VMs and a hostile WAN neighbour try what an attacker would, and
# each attempt must get nothing through, with the nft counter that stopped it grown; each has a
# positive control that shows the normal path works (so "nothing came back" is not a broken
# test). Run it inside a fresh namespace that plays the host:
#
#   unshare -n -m --propagation private bash tests/attack/attack.sh
#
# with VMCTL pointing at the binary (tests/attack.rs does this). Like tests/e2e/linux.sh, every
# VM is a network namespace on `vmctl start --attach netns:NAME`; `wan` plays the internet.
# Raw frames come from tests/attack/frames.py (AF_PACKET). Nothing here touches the machine's own
# network, and /etc/resolv.conf is replaced only in this suite's private mount namespace.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$here/../e2e
# shellcheck source=tests/netns-lib.sh
. "$here/../netns-lib.sh"

# The packets dropped by a VM's own filter rules (its chain vm_HASH_out, HASH as in vmt-HASH).
rules_of() {
  local link; link=$(link_of "$1")
  nft list chain bridge vmctl "vm_${link#vmt-}_out" 2>/dev/null |
    sed -n 's/.*counter packets \([0-9]*\).* drop.*/\1/p' | awk '{s+=$1} END {print s+0}'
}
# VMs whose IPv6 the attacks use; the others have it off, and these send no router
# solicitations or DAD probes of their own: the IPv6 counter then counts the attacks.
IPV6_VMS=" atk vic loc "
boot() { # boot NAME: start a created VM in a namespace of its own, eth0 up
  ip netns add "$1"
  "$V" start "$1" --attach "netns:$1" >/dev/null || { bad "start $1"; return 1; }
  if [[ $IPV6_VMS == *" $1 "* ]]; then
    ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.router_solicitations=0 net.ipv6.conf.eth0.dad_transmits=0
  else
    ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
  fi
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}
vm() { local name=$1; shift; "$V" create "$name" "$@" >/dev/null || { bad "create $name"; return 1; }; boot "$name"; }
lease() { ip netns exec "$1" busybox udhcpc -i eth0 -s "$e2e/udhcpc.script" -q -n -t 4 -T 1 "${@:2}" >/dev/null 2>&1; }
mac_of() { ip -n "$1" link show eth0 | awk '/ether/ {print $2}'; }
# Every attempt gets well under a second: the namespaces answer in microseconds.
ping1() { ip netns exec "$1" timeout 0.6 busybox ping -c 1 -W 1 "$2"; }
# http NS HOST[:PORT]: GET / and print the body; fails when nothing answers.
http() {
  local target=${2#http://}; target=${target%/}
  local host=${target%%:*} port=80
  [ "$host" != "$target" ] && port=${target##*:}
  local body
  body=$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" timeout 0.7 busybox nc -w 1 "$host" "$port" 2>/dev/null | tail -n 1)
  [ -n "$body" ] && printf '%s\n' "$body"
}
http6() { # http6 NS LINK-LOCAL PORT: the same over IPv6, out of eth0 (neighbour discovery first)
  local body
  body=$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" timeout 1.5 busybox nc -w 2 "$2%eth0" "$3" 2>/dev/null | tail -n 1)
  [ -n "$body" ] && printf '%s\n' "$body"
}
host_http() { printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 1 "$1" "$2" 2>/dev/null | tail -n 1; }
serve() { # serve NS ADDR:PORT TEXT: a web server answering TEXT ("-" for NS: the host)
  local dir; dir=$(mktemp -d "$home/www.XXXXXX"); echo "$3" >"$dir/index.html"
  if [ "$1" = - ]; then busybox httpd -f -p "$2" -h "$dir" & else ip netns exec "$1" busybox httpd -f -p "$2" -h "$dir" & fi
  pids+=($!)
}
resolves() { ip netns exec "$1" timeout 0.7 busybox nslookup "$2" "$3" 2>/dev/null | grep -A1 "^Name:" | grep -q "Address"; }
PY=$(python3 -c 'import sys; print(sys.executable)') # not a shim that costs a tenth of a second
frames() { local ns=$1; shift; ip netns exec "$ns" "$PY" "$here/frames.py" eth0 "$@"; }
wan_frames() { frames wan "$@"; }
sniff() { # sniff KEY NS ARGS...: a frames.py sniffer in NS, in the background, once it listens
  local key=$1 ns=$2; shift 2
  frames "$ns" sniff "$@" >"$home/sniff.$key" 2>&1 &
  wait_for 3 grep -q listening "$home/sniff.$key"
}
seen() { # seen KEY: the sniffer KEY saw its frame (what it saw is the output)
  wait_for 5 grep -q '^seen' "$home/sniff.$1"
  grep '^seen' "$home/sniff.$1"; grep -q '^seen:' "$home/sniff.$1"
}
leased() { grep -i "$1" "$home/networks/shared/leases" | awk '{print $3}'; }
plist_ip() { grep -A1 '<key>ip</key>' "$home/run/$1.plist" 2>/dev/null | sed -n 's/.*<string>\(.*\)<\/string>.*/\1/p'; }
ll_of() { # ll_of MAC: the IPv6 link-local address the kernel makes from it (EUI-64)
  local IFS=:; set -- $1
  printf 'fe80::%x:%x:%x:%x\n' $(((0x$1 ^ 2) << 8 | 0x$2)) $((0x$3 << 8 | 0xff)) $((0xfe << 8 | 0x$4)) $((0x$5 << 8 | 0x$6))
}
fdb_count() { bridge fdb show br vmctl-shared | grep -vc permanent; }

# The counters, as vmctl names them.
FORGED_MAC="frame from a MAC not the VM's"
TAGGED="802.1Q/802.1ad tagged frame from a VM"
IPV6="IPv6 (vmctl networks are IPv4 only)"
OTHER_ETHERTYPE="neither IPv4 nor ARP"
ARP_MAC="ARP with a MAC not the VM's"
ARP_IP="ARP for an address not the VM's"
FORGED_IP="IPv4 from an address not the VM's"
DHCP_CHADDR="DHCP for a MAC not the VM's"
DHCP_SERVER="DHCP server traffic from a VM"
OTHER_GATEWAY="to a gateway from outside its network"
LINK_LOCAL="link-local group frame from a VM (STP, LLDP, 802.1X, ...)"
BETWEEN_NETWORKS="VM to another vmctl network (no filter rules pass it)"
LOOPBACK="to the host's loopback from outside it"
INTO_VM_NETS="from outside to a VM network, not a port forward"
GW=192.168.64.1

echo "# 0. the host: bridged frames through iptables too; a WAN DNS server; VMs"
for table in iptables ip6tables arptables; do
  if sysctl -qw "net.bridge.bridge-nf-call-$table=1" 2>/dev/null; then
    ok "net.bridge.bridge-nf-call-$table=1 in this namespace"
  else
    echo "# note: net.bridge.bridge-nf-call-$table is not writable here (br_netfilter not loaded?): the attacks run without it"
  fi
done
# The host's resolver is the WAN's DNS server, which logs what it is asked: only in this mount
# namespace (a symlink's target is under our own tmpfs /run, a file gets a bind mount).
echo "nameserver 203.0.113.2" >"$home/resolv.conf"
resolv=$(readlink -f /etc/resolv.conf)
case $resolv in
  /run/*) mkdir -p "$(dirname "$resolv")" && cp "$home/resolv.conf" "$resolv" ;;
  *) mount --bind "$home/resolv.conf" /etc/resolv.conf ;;
esac
same "the host's resolver is the WAN's DNS server (this namespace only)" "nameserver 203.0.113.2" "$(cat /etc/resolv.conf)"
ip netns exec wan "$PY" "$here/fakedns.py" "$home/dns.log" & pids+=($!)
serve wan 0.0.0.0:80 wan80
serve - 127.0.0.1:8080 host-lo
serve - 8000 host8000
"$V" -q network create ci --subnet 10.77.0.0/24
printf 'block out to 198.51.100.2 port 80\n' >"$home/filt.rules"
# The README's recipe for block local, word for word.
printf '%s\n' "pass out proto udp to any port 67" "pass in proto udp from $GW port 67" \
  "pass out to any port 53" "pass in from $GW port 53" "block local" >"$home/loc.rules"
vm atk                                   # the attacker: a plain VM
"$V" create vic >/dev/null && "$V" modify vic port http 80:18080 >/dev/null &&
  "$V" modify vic port local 80:127.0.0.1:18081 >/dev/null && boot vic   # a plain victim
vm nl --no-local                         # a no-local victim
vm filt -f "$home/filt.rules"            # a VM with filter rules
vm loc -f "$home/loc.rules"              # block local, the README's way
vm hst -t host                           # host-only
vm n1 --network ci                       # on another network
leasing=()
for n in atk vic nl filt loc hst n1; do lease "$n" & leasing+=($!); done
wait "${leasing[@]}"
for n in atk vic nl filt loc hst n1; do expect "$n gets a lease" test -n "$(addr "$n")"; done
ip_atk=$(addr atk) ip_vic=$(addr vic) ip_nl=$(addr nl) ip_n1=$(addr n1)
mac_atk=$(mac_of atk) mac_vic=$(mac_of vic) mac_nl=$(mac_of nl) mac_filt=$(mac_of filt)
gwmac=$(ip link show vmctl-shared | awk '/ether/ {print $2}')
wanmac=$(ip link show wan0 | awk '/ether/ {print $2}')
serve vic 0.0.0.0:80 vic80
serve nl 0.0.0.0:80 nl80
serve atk 0.0.0.0:80 atk80
wait_for 2 sh -c "ip netns exec vic busybox netstat -ltn | grep -q ':80 '"

echo "# 1. a VM to the host's loopback: 127.0.0.0/8 routed to the gateway"
same "control: the host itself reaches 127.0.0.1:8080" host-lo "$(host_http 127.0.0.1 8080)"
same "control: atk reaches the host at its gateway address" host8000 "$(http atk $GW:8000)"
expect "control: a raw SYN from atk to the host's 192.168.64.1:8000 gets its SYN-ACK" frames atk tcp-syn --dmac "$gwmac" --dst $GW --dport 8000
before=$(counter inet "$LOOPBACK")
in_vm atk sh -c "ip addr flush dev lo && sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 && ip route replace 127.0.0.0/8 via $GW"
expect_not "atk (127.0.0.0/8 via the gateway) gets nothing from the host's 127.0.0.1:8080" http atk 127.0.0.1:8080
expect_not "atk's ping to 127.0.0.1 through the gateway gets no answer" ping1 atk 127.0.0.1
in_vm atk sh -c "ip route del 127.0.0.0/8 via $GW; ip addr add 127.0.0.1/8 dev lo"
expect_not "a raw SYN to 127.0.0.1:8080 at the gateway's MAC gets no SYN-ACK" frames atk tcp-syn --dmac "$gwmac" --dst 127.0.0.1 --dport 8080
grew "the host dropped atk's packets to its loopback" inet "$LOOPBACK" "$before"

echo "# 2. the WAN to a port forward bound to 127.0.0.1"
same "control: the host itself -> 127.0.0.1:18081 reaches vic" vic80 "$(host_http 127.0.0.1 18081)"
same "control: the WAN -> 203.0.113.1:18080 reaches vic" vic80 "$(http wan 203.0.113.1:18080)"
before=$(counter inet "$LOOPBACK")
in_vm wan sh -c "ip addr flush dev lo && ip addr add 198.51.100.2/32 dev lo && sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 && ip route replace 127.0.0.0/8 via 203.0.113.1"
expect_not "the WAN (127.0.0.0/8 via the host) gets nothing from 127.0.0.1:18081" http wan 127.0.0.1:18081
expect_not "nor from 127.0.0.1:18080 (the forward on every address)" http wan 127.0.0.1:18080
in_vm wan sh -c "ip route del 127.0.0.0/8 via 203.0.113.1; ip addr add 127.0.0.1/8 dev lo"
expect_not "a raw SYN from the WAN to 127.0.0.1:18081 gets no SYN-ACK" wan_frames tcp-syn --dmac "$wanmac" --dst 127.0.0.1 --dport 18081
grew "the host dropped the WAN's packets to its loopback" inet "$LOOPBACK" "$before"

echo "# 3. IPv6 router advertisement (and a DHCPv6 server) from a VM"
before=$(counter bridge "$IPV6")
sniff ra vic --icmp6 134 --timeout 0.6
frames atk ra --prefix 2001:db8:1::/64 --count 2
frames atk dhcpv6-advertise --address 2001:db8:1::99
expect_not "vic saw no router advertisement" seen ra
sleep 0.2
same "the host took no route from it" "" "$(ip -6 route | grep 'proto ra')"
same "the host made no SLAAC address from it" "" "$(ip -6 addr | grep -o '2001:db8:1:[^ ]*')"
same "vic made no SLAAC address from it" "" "$(ip -n vic -6 addr | grep -o '2001:db8:1:[^ ]*')"
same "vmctl-shared has IPv6 off" 1 "$(sysctl -n net.ipv6.conf.vmctl-shared.disable_ipv6)"
grew "the bridge dropped the RA" bridge "$IPV6" "$before"

echo "# 4. IPv6 link-local to the host and to other VMs (block local too)"
ll_gw=$(ll_of "$gwmac") ll_vic=$(ll_of "$mac_vic")
same "control: the host itself reaches its own port 8000 over IPv6" host8000 "$(host_http ::1 8000)"
before=$(counter bridge "$IPV6")
expect_not "atk cannot reach the host's port 8000 at $ll_gw" http6 atk "$ll_gw" 8000
expect_not "loc (block local) cannot either" http6 loc "$ll_gw" 8000
expect_not "atk cannot ping vic at $ll_vic" in_vm atk timeout 0.6 busybox ping6 -c 1 -W 1 -I eth0 "$ll_vic"
grew "the bridge dropped the IPv6" bridge "$IPV6" "$before"
same "the host has no IPv6 address on vmctl-shared" "" "$(ip -6 -o addr show dev vmctl-shared)"

echo "# 5. 802.1Q VID-0 (priority) and 802.1ad tagged frames past the filter rules"
expect "control: filt's raw SYN to 203.0.113.2:80 gets its SYN-ACK" frames filt tcp-syn --dmac "$gwmac" --dst 203.0.113.2 --dport 80
hits=$(rules_of filt)
expect_not "filt's own rule blocks its untagged SYN to 198.51.100.2:80" frames filt tcp-syn --dmac "$gwmac" --dst 198.51.100.2 --dport 80
before=$(counter bridge "$TAGGED")
expect_not "filt's VID-0 tagged SYN to 198.51.100.2:80 gets no SYN-ACK" frames filt tcp-syn --vlan 0 --dmac "$gwmac" --dst 198.51.100.2 --dport 80
expect_not "filt's 802.1ad+802.1Q tagged SYN to 198.51.100.2:80 gets no SYN-ACK" frames filt tcp-syn --qinq --dmac "$gwmac" --dst 198.51.100.2 --dport 80
expect_not "filt's SYN to 198.51.100.2:80 in two IPv4 fragments gets no SYN-ACK" frames filt tcp-syn --frag --dmac "$gwmac" --dst 198.51.100.2 --dport 80
expect "control: the same fragments to 203.0.113.2:80 do get through" frames filt tcp-syn --frag --dmac "$gwmac" --dst 203.0.113.2 --dport 80
expect "control: atk's untagged SYN to vic:80 gets its SYN-ACK" frames atk tcp-syn --dmac "$mac_vic" --dst "$ip_vic" --dport 80
expect_not "atk's VID-0 tagged SYN to vic:80 gets no SYN-ACK" frames atk tcp-syn --vlan 0 --dmac "$mac_vic" --dst "$ip_vic" --dport 80
expect_not "atk's 802.1ad tagged SYN to vic:80 gets no SYN-ACK" frames atk tcp-syn --qinq --dmac "$mac_vic" --dst "$ip_vic" --dport 80
expect_not "atk's VID-5 tagged SYN to vic:80 gets no SYN-ACK" frames atk tcp-syn --vlan 5 --dmac "$mac_vic" --dst "$ip_vic" --dport 80
grew "the bridge dropped the tagged frames" bridge "$TAGGED" "$before"
now=$(rules_of filt)
if [ "$now" -ge $((hits + 2)) ]; then ok "filt's own rule dropped the untagged SYN and the first fragment (+$((now - hits)))"; else bad "filt's own rule counted $((now - hits)), not 2"; fi

echo "# 6. DHCP for another VM's MAC: move its address, release it, decline it, name it"
before=$(counter bridge "$DHCP_CHADDR")
frames atk dhcp --type request --chaddr "$mac_nl" --requested 192.168.64.77 --server $GW
sleep 0.3
same "a forged REQUEST did not move nl's address (run/nl.plist)" "$ip_nl" "$(plist_ip nl)"
same "vmctl ip nl" "$ip_nl" "$("$V" ip nl 2>&1)"
expect "nl still reaches the WAN" http nl 203.0.113.2
[ "$(plist_ip nl)" = "$ip_nl" ] || { lease nl; ip_nl=$(addr nl); }
frames atk dhcp --type release --chaddr "$mac_nl" --ciaddr "$ip_nl" --server $GW --src-ip "$ip_atk" --dst-ip $GW --dmac "$gwmac"
sleep 0.3
same "a forged RELEASE left nl's lease" "$ip_nl" "$(leased "$mac_nl")"
expect "nl still reaches the WAN" http nl 203.0.113.2
[ "$(leased "$mac_nl")" = "$ip_nl" ] || { lease nl; ip_nl=$(addr nl); }
frames atk dhcp --type decline --chaddr "$mac_vic" --requested "$ip_vic" --server $GW
sleep 0.3
same "a forged DECLINE left vic's lease" "$ip_vic" "$(leased "$mac_vic")"
[ "$(leased "$mac_vic")" = "$ip_vic" ] || { lease vic; ip_vic=$(addr vic); }
expect "control: atk's own DHCP (asking for the name wpad) gets its lease" lease atk -x hostname:wpad -F wpad
expect_not "atk asking for the name wpad (hostname, FQDN) got none" resolves atk wpad.vmctl.internal $GW
expect "control: atk's own name resolves" resolves atk atk.vmctl.internal $GW
frames atk dhcp --type request --chaddr random --requested 192.168.64.240 --server $GW --hostname wpad
frames atk dhcp --type request --smac random --requested 192.168.64.241 --server $GW --hostname gateway
sleep 0.3
expect_not "a made-up client (a random chaddr) got no name wpad.vmctl.internal" resolves atk wpad.vmctl.internal $GW
expect_not "nor gateway.vmctl.internal (its MAC made up too)" resolves atk gateway.vmctl.internal $GW
grew "the bridge dropped the DHCP for other MACs" bridge "$DHCP_CHADDR" "$before"

echo "# 7. spoofing from a plain VM: ARP, MAC and IPv4 source"
ping1 vic $GW >/dev/null # vic knows its gateway (an ARP reply changes an entry a second old)
before=$(counter bridge "$ARP_IP")
expect "control: the host maps vic's address to vic" sh -c "ip neigh show $ip_vic | grep -qi $mac_vic"
in_vm atk ip addr add "$ip_vic/32" dev eth0
frames atk garp --sip "$ip_vic" --count 2 --interval 0.1
same "atk's gratuitous ARP for vic's address did not move the host's entry" "$mac_vic" "$(ip neigh show "$ip_vic" | awk '{print $5}')"
frames atk arp --op reply --dmac "$gwmac" --sip "$ip_vic" --tip $GW --count 3 --interval 0.3
same "nor did its ARP replies to the host" "$mac_vic" "$(ip neigh show "$ip_vic" | awk '{print $5}')"
same "the WAN -> vic's port forward still reaches vic, not atk" vic80 "$(http wan 203.0.113.1:18080)"
in_vm atk ip addr del "$ip_vic/32" dev eth0
ip neigh show "$ip_vic" | grep -qi "$mac_vic" || { frames vic garp --sip "$ip_vic"; sleep 0.1; }
frames atk arp --op reply --dmac "$mac_vic" --sip $GW --tip "$ip_vic" --count 3 --interval 0.3
same "atk's ARP reply to vic did not take over vic's gateway" "$gwmac" "$(ip -n vic neigh show $GW | awk '{print $5}')"
ip -n vic neigh flush dev eth0
grew "the bridge dropped ARP for addresses not atk's" bridge "$ARP_IP" "$before"
before=$(counter bridge "$ARP_MAC")
frames atk garp --sip "$ip_atk" --sha 02:00:00:00:00:99
same "atk's ARP with a made-up MAC did not move the host's entry for atk" "$mac_atk" "$(ip neigh show "$ip_atk" | awk '{print $5}')"
grew "the bridge dropped ARP with a MAC not atk's" bridge "$ARP_MAC" "$before"
frames atk garp --sip "$ip_atk"
before=$(counter bridge "$FORGED_MAC")
sniff wan-mac wan --marker forged-mac --timeout 0.6
frames atk udp --smac 02:00:00:00:00:99 --dmac "$gwmac" --src "$ip_atk" --dst 203.0.113.2 --data forged-mac
expect_not "a frame from a made-up MAC did not reach the WAN" seen wan-mac
sniff vic-gw vic --marker forged-dns --timeout 0.6
frames atk udp --smac "$gwmac" --dmac "$mac_vic" --src $GW --sport 53 --dst "$ip_vic" --dport 5353 --data forged-dns
expect_not "a \"DNS answer from the gateway\" (its MAC and address) did not reach vic" seen vic-gw
fdb=$(fdb_count)
frames atk udp --smac random --dst 255.255.255.255 --src "$ip_atk" --count 500
now=$(fdb_count)
if [ $((now - fdb)) -lt 10 ]; then ok "500 made-up MACs did not flood the bridge's forwarding table ($fdb entries, then $now)"
else bad "500 made-up MACs flooded the bridge's forwarding table: $fdb entries, then $now"; fi
ping1 vic $GW >/dev/null
frames atk udp --smac "$mac_vic" --dst 255.255.255.255 --src "$ip_atk" --count 2 --interval 0.1
same "atk did not steal vic's MAC: the bridge learnt it on vic's port only" "$(link_of vic)" \
  "$(bridge fdb show br vmctl-shared | grep -i "$mac_vic" | awk '{print $3}' | sort -u | xargs)"
ping1 vic $GW >/dev/null
grew "the bridge dropped frames from MACs not atk's" bridge "$FORGED_MAC" "$before"
before=$(counter bridge "$FORGED_IP")
sniff wan-ip wan --marker forged-ip --timeout 0.6
frames atk udp --dmac "$gwmac" --src 192.168.64.201 --dst 203.0.113.2 --data forged-ip
frames atk udp --dmac "$gwmac" --src "$ip_vic" --dst 203.0.113.2 --data forged-ip
expect_not "IPv4 from an address not atk's did not reach the WAN" seen wan-ip
sniff vic-zero vic --marker from-zero --timeout 0.6
frames atk udp --dmac "$mac_vic" --src 0.0.0.0 --dst "$ip_vic" --data from-zero
frames atk udp --src "$ip_nl" --dst 255.255.255.255 --data from-zero
expect_not "IPv4 from 0.0.0.0 (not DHCP) and a broadcast from nl's address did not reach vic" seen vic-zero
grew "the bridge dropped IPv4 from addresses not atk's" bridge "$FORGED_IP" "$before"
before=$(counter bridge "$OTHER_ETHERTYPE")
sniff vic-raw vic --marker not-ip --timeout 0.6
frames atk raw --dmac "$mac_vic" --ethertype 88b5 --data not-ip
frames atk raw --ethertype 8863 --data not-ip
expect_not "frames neither IPv4 nor ARP (88b5, PPPoE discovery) did not reach vic" seen vic-raw
grew "the bridge dropped them" bridge "$OTHER_ETHERTYPE" "$before"
sniff wan-ok wan --marker genuine --timeout 0.6
sniff vic-ok vic --marker genuine --timeout 0.6
frames atk udp --dmac "$gwmac" --src "$ip_atk" --dst 203.0.113.2 --data genuine
frames atk udp --dmac "$mac_vic" --src "$ip_atk" --dst "$ip_vic" --data genuine
expect "control: atk's own address and MAC reach the WAN" seen wan-ok
expect "control: and vic" seen vic-ok

echo "# 8. the WAN routes to the VM networks: only port forwards get in"
in_vm wan sh -c "ip route add 192.168.64.0/24 via 203.0.113.1; ip route add 192.168.128.0/24 via 203.0.113.1; ip route add 10.77.0.0/24 via 203.0.113.1"
same "control: the WAN -> 203.0.113.1:18080 reaches vic" vic80 "$(http wan 203.0.113.1:18080)"
before=$(counter inet "$INTO_VM_NETS")
expect_not "the WAN cannot reach vic:80 directly" http wan "$ip_vic:80"
expect_not "the WAN cannot reach no-local nl:80 directly" http wan "$ip_nl:80"
expect_not "the WAN cannot ping n1 on ci" ping1 wan "$ip_n1"
expect_not "the WAN cannot ping hst on the host-only network" ping1 wan "$(addr hst)"
grew "the host dropped the WAN's packets into the VM networks" inet "$INTO_VM_NETS" "$before"

echo "# 9. spoofed sources from the WAN: another VM's address, the gateway's"
before=$(counter inet "$INTO_VM_NETS")
sniff nl-spoof nl --marker wan-spoof --timeout 0.6
sniff vic-spoof vic --marker wan-spoof --timeout 0.6
wan_frames udp --dmac "$wanmac" --src "$ip_atk" --dst "$ip_vic" --data wan-spoof
wan_frames udp --dmac "$wanmac" --src "$ip_vic" --dst "$ip_nl" --data wan-spoof
wan_frames udp --dmac "$wanmac" --src $GW --dst "$ip_nl" --data wan-spoof
expect_not "vic saw nothing from the WAN posing as atk" seen vic-spoof
expect_not "nl saw nothing from the WAN posing as vic or the gateway" seen nl-spoof
grew "the host dropped the WAN's spoofed packets" inet "$INTO_VM_NETS" "$before"

echo "# 10. a host-only VM and the other gateways' DNS (forwarded to the WAN)"
expect "control: atk resolves x.example at its gateway (forwarded to the WAN's DNS)" resolves atk x.example $GW
expect "control: the WAN's DNS server was asked" grep -q '^x.example$' "$home/dns.log"
ip -n hst route replace default via 192.168.128.1
before=$(counter inet "$OTHER_GATEWAY")
expect_not "hst gets no answer for leak1.example from the shared gateway" resolves hst leak1.example $GW
expect_not "nor for leak2.example from its own gateway" resolves hst leak2.example 192.168.128.1
expect_not "the WAN's DNS server was asked neither" grep -q leak "$home/dns.log"
grew "the host dropped hst's packets to the shared gateway" inet "$OTHER_GATEWAY" "$before"
expect "control: hst resolves its own name at its gateway" resolves hst hst.vmctl.internal 192.168.128.1

echo "# 11. a VM on another network posing as a filtered VM (its MAC) to cross networks"
expect "control: filt (its rules pass it) reaches n1 on ci" ping1 filt "$ip_n1"
before=$(counter inet "$BETWEEN_NETWORKS")
expect_not "control: n1 cannot reach vic on shared" ping1 n1 "$ip_vic"
grew "control: the host dropped it" inet "$BETWEEN_NETWORKS" "$before"
mac_n1=$(mac_of n1)
before=$(counter bridge "$FORGED_MAC")
ip -n n1 link set eth0 address "$mac_filt"
expect_not "n1 with filt's MAC cannot reach vic on shared" ping1 n1 "$ip_vic"
expect_not "nor vic's web server" http n1 "$ip_vic:80"
grew "ci's bridge dropped the forged MAC" bridge "$FORGED_MAC" "$before"
ip -n n1 link set eth0 address "$mac_n1"
expect "control: n1 with its own MAC reaches the WAN" http n1 203.0.113.2

echo "# 12. block local, the README's recipe: lease, names and WAN yes; the LAN, the host no"
expect "loc resolves vic.vmctl.internal at the gateway" resolves loc vic.vmctl.internal $GW
expect "loc reaches the WAN" http loc 203.0.113.2
hits=$(rules_of loc)
expect_not "loc cannot reach vic" http loc "$ip_vic:80"
expect_not "loc cannot reach the host at its WAN address 203.0.113.1:8000" http loc 203.0.113.1:8000
expect_not "loc cannot reach the host at its gateway address" http loc $GW:8000
now=$(rules_of loc)
if [ "$now" -gt "$hits" ]; then ok "loc's own rules counted the drops (+$((now - hits)))"; else bad "loc's own rules counted nothing"; fi
expect "control: atk reaches the host at 203.0.113.1:8000" http atk 203.0.113.1:8000

echo "# 13. DNS across networks"
before=$(counter inet "$OTHER_GATEWAY")
expect_not "n1 cannot resolve vic.vmctl.internal at the shared gateway" resolves n1 vic.vmctl.internal $GW
grew "the host dropped n1's packets to the shared gateway" inet "$OTHER_GATEWAY" "$before"
expect "control: n1 resolves its own name at its gateway" resolves n1 n1.vmctl.internal 10.77.0.1

echo "# 14. lease-event: only a started VM's own MAC, only an address of its network's range"
state() { # every started VM's address as vmctl has it, and the firewall's
  for f in "$home"/run/*.plist; do f=${f##*/}; printf '%s=%s ' "${f%.plist}" "$(plist_ip "${f%.plist}")"; done
  nft list set bridge vmctl own_ip | grep -o '"[^"]*" \. [0-9.]*' | xargs
}
snap=$(state)
for event in "02:00:00:00:00:42 192.168.64.90" "$mac_nl 8.8.8.8" "$mac_nl 127.0.0.1" "$mac_nl $GW" \
  "$mac_nl 192.168.64.0" "$mac_nl 192.168.64.255" "$mac_n1 192.168.64.91"; do
  # shellcheck disable=SC2086
  expect_not "lease-event shared add $event is refused" "$V" lease-event shared add $event
done
same "and nothing changed (run/*.plist, own_ip)" "$snap" "$(state)"
expect "control: lease-event shared add nl's MAC and its own address is accepted" "$V" lease-event shared add "$mac_nl" "$ip_nl"
same "vmctl ip nl after that" "$ip_nl" "$("$V" ip nl 2>&1)"

echo "# 15. starving the pool (made-up chaddrs), then a rogue DHCP server for the next VM"
before_chaddr=$(counter bridge "$DHCP_CHADDR") before_mac=$(counter bridge "$FORGED_MAC")
frames atk dhcp --type request --chaddr random --requested 192.168.64.2 --sweep --count 253 --server $GW --interval 0.001
frames atk dhcp --type request --smac random --requested 192.168.64.2 --sweep --count 253 --server $GW --interval 0.001
frames atk dhcp --type discover --chaddr random --count 100
grew "the bridge dropped the made-up chaddrs" bridge "$DHCP_CHADDR" "$before_chaddr"
grew "and the made-up source MACs" bridge "$FORGED_MAC" "$before_mac"
vm late
before=$(counter bridge "$FORGED_IP")
sniff wan-late wan --marker before-lease --timeout 0.6
frames late udp --dmac "$gwmac" --src 192.168.64.202 --dst 203.0.113.2 --data before-lease
expect_not "late, before it has a lease, sends no IPv4 from an address it picked" seen wan-late
grew "the bridge dropped it" bridge "$FORGED_IP" "$before"
expect "a new VM still gets a lease" lease late
ip -n late -4 addr flush dev eth0
before=$(counter bridge "$DHCP_SERVER")
frames atk dhcp-server --yiaddr 192.168.64.250 --timeout 1.5 >"$home/rogue.out" 2>&1 &
rogue=$!
sleep 0.3
expect "with the rogue server answering, the new VM gets a lease" lease late
ip_late=$(addr late)
expect "from vmctl's dnsmasq, not the rogue's 192.168.64.250 ($ip_late)" sh -c "[ -n '$ip_late' ] && [ '$ip_late' != 192.168.64.250 ]"
same "and its router is the gateway" "default via $GW" "$(ip -n late route show default | awk '{print $1, $2, $3}')"
wait "$rogue"
expect "control: the rogue server did answer the new VM" grep 'answered [1-9]' "$home/rogue.out"
grew "the bridge dropped the rogue server's answers" bridge "$DHCP_SERVER" "$before"

echo "# 16. DHCP with its own chaddr but another VM's client id (found in review)"
# dnsmasq looks a lease up by client id before chaddr; vmctl's dnsmasq ignores client ids.
frames atk dhcp --type request --client-id "$mac_vic" --requested "$ip_vic" --server $GW
sleep 0.3
same "vic's lease stays vic's" "$ip_vic" "$(leased "$mac_vic")"
hex_vic=$(printf '0x%02x%02x%02x%02x' $(echo "$ip_vic" | tr . ' '))
expect_not "atk's port learned no address of vic's" nft get element bridge vmctl learned "{ \"$(link_of atk)\" . $hex_vic }"
frames atk dhcp --type request --client-id random --requested 192.168.64.230 --sweep --count 20 --server $GW --interval 0.01
sleep 0.3
same "20 made-up client ids from atk's own MAC: atk still holds one lease" 1 "$(grep -ci "$mac_atk" "$home/networks/shared/leases")"
same "and vic's is still vic's" "$ip_vic" "$(leased "$mac_vic")"

echo "# 17. frames to IEEE link-local groups (01:80:c2:00:00:0X) (found in review)"
# LLDP (..:0e) would skip every bridge hook: vmctl's bridges forward it, so the floor sees it.
before=$(counter bridge "$OTHER_ETHERTYPE")
ping1 vic $GW >/dev/null
frames atk raw --dmac 01:80:c2:00:00:0e --smac "$mac_vic" --ethertype 88cc --count 2 --interval 0.1
same "an LLDP frame from vic's MAC did not move vic in the forwarding table" "$(link_of vic)" \
  "$(bridge fdb show br vmctl-shared | grep -i "$mac_vic" | awk '{print $3}' | sort -u | xargs)"
fdb=$(fdb_count)
frames atk raw --dmac 01:80:c2:00:00:0e --smac random --ethertype 88cc --count 200
now=$(fdb_count)
if [ $((now - fdb)) -lt 10 ]; then ok "200 made-up MACs in LLDP frames did not flood the forwarding table ($fdb, then $now)"
else bad "200 made-up MACs in LLDP frames flooded the forwarding table: $fdb, then $now"; fi
grew "the floor dropped the LLDP frames (neither IPv4 nor ARP)" bridge "$OTHER_ETHERTYPE" "$before"
frames atk ra --prefix 2001:db8:66::/64 --dmac 01:80:c2:00:00:0e
sleep 0.2
same "an RA to the LLDP group gave the host no IPv6 route" "" "$(ip -6 route | grep 'proto ra')"
same "vic's port has IPv6 off" 1 "$(sysctl -n "net.ipv6.conf.$(link_of vic).disable_ipv6")"
# The other groups (802.1X at ..:03, ...) reach the host through the bridge's input hook.
before=$(counter bridge "$LINK_LOCAL")
fdb=$(fdb_count)
frames atk raw --dmac 01:80:c2:00:00:03 --smac random --ethertype 888e --count 50
now=$(fdb_count)
if [ $((now - fdb)) -lt 10 ]; then ok "50 made-up MACs in 802.1X frames did not flood the forwarding table ($fdb, then $now)"
else bad "50 made-up MACs in 802.1X frames flooded the forwarding table: $fdb, then $now"; fi
grew "the bridge dropped the 802.1X frames" bridge "$LINK_LOCAL" "$before"

echo "# 18. the WAN using a gateway's dnsmasq as an open resolver (found in review)"
before=$(counter inet "$OTHER_GATEWAY")
in_vm wan ip route replace 192.168.64.0/24 via 203.0.113.1
expect_not "the WAN gets no answer from 192.168.64.1's DNS" in_vm wan timeout 2 busybox nslookup open-resolver.example 192.168.64.1
expect_not "and nothing was forwarded to the WAN's DNS server" grep -q open-resolver "$home/dns.log"
grew "the host dropped the WAN's queries to the gateway" inet "$OTHER_GATEWAY" "$before"

echo "# attack suite took ${SECONDS}s"
summary
