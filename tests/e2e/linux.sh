#!/usr/bin/env bash
# vmctl's Linux end-to-end suite. Run it inside a fresh namespace that plays the host:
#
#   unshare -n -m --propagation private bash tests/e2e/linux.sh
#
# with VMCTL pointing at the binary (tests/e2e.rs does this). Every VM is a network namespace on
# `vmctl start --attach netns:NAME` running busybox udhcpc; one more namespace, `wan`, plays the
# internet. Nothing here touches the machine's own network: the links, rules and daemons live
# in the namespace this script was started in, and die with it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns-lib.sh
. "$here/../netns-lib.sh"

# vm NAME [create flags...]: a VM as a namespace with eth0 from vmctl, up.
vm() {
  local name=$1; shift
  "$V" create "$name" "$@" >/dev/null || { bad "create $name"; return 1; }
  ip netns add "$name"
  "$V" start "$name" --attach "netns:$name" >/dev/null || { bad "start $name"; return 1; }
  ip -n "$name" link set lo up
  ip -n "$name" link set eth0 up
}
lease() { ip netns exec "$1" busybox udhcpc -i eth0 -s "$here/udhcpc.script" -q -n -t 6 -T 1 >/dev/null 2>&1; }
ping1() { ip netns exec "$1" busybox ping -c 1 -W 1 "$2"; }
# http NS HOST[:PORT]: GET / and print the body; fails when nothing answers.
http() {
  local target=${2#http://}; target=${target%/}
  local host=${target%%:*} port=80
  [ "$host" != "$target" ] && port=${target##*:}
  local body
  body=$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" busybox nc -w 2 "$host" "$port" 2>/dev/null | tail -n 1)
  [ -n "$body" ] && printf '%s\n' "$body"
}
serve() { # serve NS ADDR:PORT TEXT: a web server answering TEXT
  local dir; dir=$(mktemp -d "$home/www.XXXXXX"); echo "$3" >"$dir/index.html"
  ip netns exec "$1" busybox httpd -f -p "$2" -h "$dir" & pids+=($!)
}
in_range() { # in_range IP FIRST LAST (same /24)
  local n=${1##*.} f=${2##*.} l=${3##*.}
  [ "${1%.*}" = "${2%.*}" ] && [ "$n" -ge "$f" ] && [ "$n" -le "$l" ]
}

serve wan 0.0.0.0:80 wan80
serve wan 0.0.0.0:8080 wan8080
dir=$(mktemp -d "$home/www.XXXXXX"); echo host8000 >"$dir/index.html"
busybox httpd -f -p 0.0.0.0:8000 -h "$dir" & pids+=($!)
sleep 0.2

echo "# 1. a shared VM: lease in the range, NAT to the WAN, vmctl ip agrees"
vm web
expect "web gets a lease" lease web
ip_web=$(addr web)
expect "web's address $ip_web is in the shared range" in_range "$ip_web" 192.168.64.2 192.168.64.254
same "vmctl ip web" "$ip_web" "$("$V" ip web --wait 5s)"
hex_web=$(printf '0x%02x%02x%02x%02x' $(echo "$ip_web" | tr . ' '))
expect "the bridge learned web's address from the gateway's DHCP ACK" sh -c "nft list set bridge vmctl learned | grep -q '$hex_web'"
same "show web network ip" "$ip_web" "$("$V" show web network ip)"
expect "web reaches the WAN through NAT" http web http://203.0.113.2/
expect_not "the shared range cannot move under a running VM" "$V" config start_address 192.168.70.1
same "show web network status" running "$("$V" -j show web network | grep -o '"status":"[a-z]*"' | tail -1 | cut -d'"' -f4)"

echo "# 2. a host-mode VM: lease in the host range, no route out"
vm hostvm -t host
expect "hostvm gets a lease" lease hostvm
ip_host=$(addr hostvm)
expect "hostvm's address $ip_host is in the host range" in_range "$ip_host" 192.168.128.2 192.168.128.254
# The host network hands out no router; a VM that sets one anyway must still not get out.
ip -n hostvm route replace default via 192.168.128.1
before=$(counter inet "host-only: no route out")
expect_not "hostvm cannot reach the WAN" http hostvm http://203.0.113.2/
grew "hostvm's packets to the WAN were dropped" inet "host-only: no route out" "$before"

echo "# 3. a static-IP VM gets exactly its reserved address"
vm db --ip 192.168.64.50
expect "db gets a lease" lease db
same "db's address" 192.168.64.50 "$(addr db)"

echo "# 4. VMs reach each other by default; no-local cuts VM-to-VM and VM-to-host"
expect "web pings db" ping1 web 192.168.64.50
expect "db pings web" ping1 db "$ip_web"
vm iso --no-local
expect "no-local iso gets a lease (DHCP to the host stays open)" lease iso
ip_iso=$(addr iso)
expect "iso's DHCP address reaches the firewall within a second" wait_for 1 sh -c "nft list set bridge vmctl own_ip | grep -q '$ip_iso'"
expect "iso resolves web.vmctl.internal at the gateway (DNS stays open)" in_vm iso busybox nslookup web.vmctl.internal 192.168.64.1
before=$(counter bridge "no-local: VM to VM")
expect_not "web cannot ping no-local iso" ping1 web "$ip_iso"
expect_not "no-local iso cannot ping web" ping1 iso "$ip_web"
grew "VM-to-VM frames of iso were dropped" bridge "no-local: VM to VM" "$before"
before=$(counter inet "no-local: VM to host")
expect_not "iso cannot reach the host at its gateway address" http iso http://192.168.64.1:8000/
expect_not "iso cannot reach the host at its WAN address" http iso http://203.0.113.1:8000/
grew "iso's packets to the host were dropped" inet "no-local: VM to host" "$before"
expect "web (not no-local) reaches the host" http web http://192.168.64.1:8000/
expect "iso still reaches the WAN" http iso http://203.0.113.2/

echo "# 5. no-local anti-spoofing: a source IP, a MAC or an ARP reply it was not given"
in_vm iso ip addr add 192.168.64.201/24 dev eth0
before=$(counter bridge "IPv4 from an address not the VM's")
expect_not "iso with a forged source IP gets nothing through" in_vm iso busybox ping -c 1 -W 1 -I 192.168.64.201 203.0.113.2
grew "forged source IP dropped" bridge "IPv4 from an address not the VM's" "$before"
in_vm iso ip addr del 192.168.64.201/24 dev eth0
before=$(counter bridge "ARP for an address not the VM's")
in_vm iso ip addr add 192.168.64.50/32 dev eth0
in_vm iso busybox arping -c 2 -w 1 -U -s 192.168.64.50 -I eth0 192.168.64.1 >/dev/null 2>&1
in_vm iso ip addr del 192.168.64.50/32 dev eth0
grew "ARP claiming db's address dropped" bridge "ARP for an address not the VM's" "$before"
same "the host still maps 192.168.64.50 to db" "$("$V" show db network mac)" "$(ip neigh show 192.168.64.50 | awk '{print $5}')"
mac_iso=$(ip -n iso link show eth0 | awk '/ether/ {print $2}')
ip -n iso link set eth0 address 02:00:00:00:00:99
before=$(counter bridge "frame from a MAC not the VM's")
expect_not "iso with a forged MAC gets nothing through" http iso http://203.0.113.2/
grew "frames from a forged MAC dropped" bridge "frame from a MAC not the VM's" "$before"
ip -n iso link set eth0 address "$mac_iso"
expect "iso works again with its own MAC" http iso http://203.0.113.2/

echo "# 6. filter rules: block out to ADDR port N stops exactly that; block local stops the LAN only"
printf 'block out to 198.51.100.2 port 80\n' >"$home/filt.rules"
"$V" create filt >/dev/null && "$V" modify filt network -f "$home/filt.rules" >/dev/null
ip netns add filt && "$V" start filt --attach netns:filt >/dev/null && ip -n filt link set eth0 up && ip -n filt link set lo up
expect "filt gets a lease" lease filt
expect_not "filt cannot reach 198.51.100.2:80" http filt http://198.51.100.2/
hits=$(nft list table bridge vmctl | grep -F 'ip daddr 198.51.100.2 ' | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
if [ "${hits:-0}" -gt 0 ]; then ok "filt's own rule counted the drops ($hits)"; else bad "filt's rule counted nothing"; fi
expect "filt reaches 198.51.100.2:8080" http filt http://198.51.100.2:8080/
expect "filt reaches 203.0.113.2:80" http filt http://203.0.113.2/
expect "web (no rules) reaches 198.51.100.2:80" http web http://198.51.100.2/
printf 'pass out proto udp to any port 67\npass in proto udp from any port 67\nblock local\n' >"$home/loc.rules"
"$V" create loc >/dev/null && "$V" modify loc network -f "$home/loc.rules" >/dev/null
ip netns add loc && "$V" start loc --attach netns:loc >/dev/null && ip -n loc link set eth0 up && ip -n loc link set lo up
expect "loc gets a lease (DHCP passed before block local)" lease loc
expect_not "loc cannot reach web on the LAN" ping1 loc "$ip_web"
expect_not "web cannot reach loc" ping1 web "$(addr loc)"
expect "loc reaches the WAN" http loc http://203.0.113.2/

echo "# 7. a port forward from the WAN to a DHCP VM (and from another VM: hairpin)"
"$V" create srv >/dev/null && "$V" modify srv port http 80:18080 >/dev/null
ip netns add srv && "$V" start srv --attach netns:srv >/dev/null && ip -n srv link set eth0 up && ip -n srv link set lo up
expect "srv gets a lease" lease srv
serve srv 0.0.0.0:80 srv80
sleep 0.2
same "WAN -> 203.0.113.1:18080 reaches srv:80" srv80 "$(http wan http://203.0.113.1:18080/ 2>&1)"
same "web -> 192.168.64.1:18080 reaches srv:80 (hairpin)" srv80 "$(http web http://192.168.64.1:18080/ 2>&1)"

"$V" modify srv port local 80:127.0.0.1:18081 >/dev/null 2>&1
"$V" stop srv >/dev/null && "$V" start srv --attach netns:srv >/dev/null && ip -n srv link set eth0 up
expect "srv gets its lease again" lease srv
same "the host itself -> 127.0.0.1:18081 reaches srv:80" srv80 "$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 2 127.0.0.1 18081 2>/dev/null | tail -n 1)"
same "the host itself -> 127.0.0.1:18080 (any address) reaches srv:80" srv80 "$(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 2 127.0.0.1 18080 2>/dev/null | tail -n 1)"
# A forward whose host port a started VM holds is refused at start, naming that VM.
"$V" create clash >/dev/null && "$V" modify srv port --delete http >/dev/null && "$V" modify clash port http 80:18080 >/dev/null
out=$("$V" start clash 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "'srv'"; then ok "a host port a started VM holds is refused, naming srv"; else bad "clash: rc=$rc: $out"; fi
expect "srv's forward still works" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec wan busybox nc -w 2 203.0.113.1 18080 | grep -q srv80"
# A host port vmctl chose (--host-port 0, as the Packer plugin sends) moves for a run when a
# running VM holds it; the profile keeps it. Packets prove the moved forward is the one in use.
"$V" create mover >/dev/null && ip netns add mover
chosen=$("$V" -j modify mover add port-forwarding --host-port 0 --guest-port 80 http | grep -o '"host_port":[0-9]*' | cut -d: -f2)
"$V" modify clash port --delete http >/dev/null && "$V" modify clash port web "80:$chosen" >/dev/null 2>&1
ip netns add clash && "$V" start clash --attach netns:clash >/dev/null && ip -n clash link set eth0 up && ip -n clash link set lo up
expect "clash (holding mover's chosen port $chosen) gets a lease" lease clash
out=$("$V" start mover --attach netns:mover 2>&1); rc=$?
ip -n mover link set eth0 up && ip -n mover link set lo up
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "uses [0-9]* for this run"; then ok "mover starts, its chosen port moved for this run"; else bad "mover: rc=$rc: $out"; fi
moved=$("$V" -j show mover port | grep -o '"host_port":[0-9]*' | cut -d: -f2)
expect "the run's port $moved is not $chosen" test "$moved" != "$chosen"
expect "the profile keeps $chosen" grep -q "<integer>$chosen</integer>" "$home/vms/mover.plist"
# `vmctl ip --wait` and `show VM network ip` agree, asked right as the lease arrives.
(lease mover) & lpid=$!
ip_mover=$("$V" ip mover --wait 10s)
same "show mover network ip agrees with vmctl ip --wait" "$ip_mover" "$("$V" show mover network ip)"
wait "$lpid"
same "show mover network ip after the lease" "$(addr mover)" "$("$V" show mover network ip)"
serve mover 0.0.0.0:80 mover80
serve clash 0.0.0.0:80 clash80
sleep 0.2
same "WAN -> :$moved reaches mover" mover80 "$(http wan "http://203.0.113.1:$moved/" 2>&1)"
same "WAN -> :$chosen still reaches clash" clash80 "$(http wan "http://203.0.113.1:$chosen/" 2>&1)"

echo "# 8. auto MACs and their addresses survive stop/start; a started VM's MAC is refused to another"
mac_web=$("$V" show web network mac)
"$V" stop web >/dev/null
expect_not "web's link is gone after stop" ip -n web link show eth0
"$V" start web --attach netns:web >/dev/null && ip -n web link set eth0 up
expect "web gets a lease again" lease web
same "web's MAC after restart" "$mac_web" "$(ip -n web link show eth0 | awk '/ether/ {print $2}')"
same "web's address after restart" "$ip_web" "$(addr web)"
"$V" create twin --mac "$mac_web" >/dev/null 2>&1
ip netns add twin
out=$("$V" start twin --attach netns:twin 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "'web'"; then ok "starting twin with web's MAC is refused, naming web"; else bad "twin with web's MAC: rc=$rc: $out"; fi
expect_not "twin left nothing behind (no eth0 in its namespace)" ip -n twin link show eth0
same "twin is not started" stopped "$("$V" -j show twin | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)"

echo "# 9. dnsmasq killed: doctor says so, --fix recovers, a new VM gets a lease"
kill -9 "$(cat "$home/networks/shared/dnsmasq.pid")"
sleep 0.1
expect_not "doctor exits non-zero" "$V" doctor
expect "doctor names dnsmasq" sh -c "'$V' doctor 2>&1 | grep -q dnsmasq"
expect "doctor --fix repairs it" "$V" doctor --fix
expect "doctor is happy afterwards" "$V" doctor
vm late
expect "a new VM gets a lease" lease late
mac_late=$("$V" show late network mac)
"$V" stop late >/dev/null && "$V" delete late --yes >/dev/null
expect_not "deleting late released its lease" grep -qi "$mac_late" "$home/networks/shared/leases"

echo "# 9a. a deleted VM's static IP goes to the next VM that asks for it; a lost bridge comes back"
"$V" create s1 --ip 192.168.64.60 >/dev/null && "$V" start s1 >/dev/null && "$V" stop s1 >/dev/null
"$V" delete s1 --yes >/dev/null
vm s2 --ip 192.168.64.60
expect "s2 gets a lease" lease s2
same "s2 gets the address s1 had reserved" 192.168.64.60 "$(addr s2)"
ip link del vmctl-shared
expect_not "doctor notices the missing bridge" "$V" doctor
expect "doctor --fix brings it back" "$V" doctor --fix
vm s3
expect "a new VM gets a lease on the rebuilt network" lease s3
expect "an old VM's traffic flows again" ping1 web 192.168.64.1
out=$("$V" start s3 --attach tap 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "attached as netns:s3"; then ok "start with another attachment is refused"; else bad "re-attach: rc=$rc: $out"; fi

echo "# 9b. a crash: dnsmasq dead, the next start brings it back by itself; a link without state is found"
kill -9 "$(cat "$home/networks/shared/dnsmasq.pid")"
vm late2
out=$("$V" start late2 --attach netns:late2 2>&1)
expect "starting a started VM again changes nothing" sh -c "'$V' start late2 --attach netns:late2 2>&1 | grep -q 'already started'"
expect "late2 gets a lease from the dnsmasq its start brought back" lease late2
ip link add vmt-deadbeef type veth peer name vmt-deadbee1
expect_not "doctor finds the left-over link" "$V" doctor
expect "doctor says which" sh -c "'$V' doctor 2>&1 | grep -q 'vmt-deadbeef is left over'"
expect "doctor --fix deletes it" "$V" doctor --fix
expect_not "the left-over link is gone" ip link show vmt-deadbeef

echo "# 9c. a TAP for a hypervisor, bridge mode (macvlan) and disconnected"
"$V" create tapvm >/dev/null
"$V" start tapvm --owner 65534 >/dev/null
tap=$("$V" -j show tapvm network | grep -o '"link":"[^"]*"' | cut -d'"' -f4)
expect "tapvm's TAP $tap is on the shared bridge" sh -c "ip -d link show $tap | grep -q 'master vmctl-shared'"
expect "the TAP belongs to uid 65534" sh -c "ip -d link show $tap | grep -Eq 'user (65534|nobody)'"
expect_not "the TAP does not carry the VM's MAC" sh -c "ip link show $tap | grep -qi '$("$V" show tapvm network mac)'"
"$V" stop tapvm >/dev/null
expect_not "the TAP is gone after stop" ip link show "$tap"
ip netns add lan
ip link add lan0 type veth peer name eth0 netns lan
ip link set lan0 up && ip -n lan addr add 10.77.0.1/24 dev eth0 && ip -n lan link set eth0 up
"$V" create br -t bridge >/dev/null
ip netns add br
expect "a bridged VM starts on ANKA_BRIDGE_NAME's interface" env ANKA_BRIDGE_NAME=lan0 "$V" start br --attach netns:br
"$V" create brnl -t bridge -b lan0 --no-local >/dev/null && ip netns add brnl
expect "starting a no-local bridged VM warns that bridge mode bypasses the firewall" sh -c "'$V' start brnl --attach netns:brnl 2>&1 | grep -q 'bypasses the host firewall'"
"$V" stop brnl >/dev/null
ip -n br addr add 10.77.0.50/24 dev eth0 && ip -n br link set eth0 up
expect "the bridged VM reaches the LAN directly" ping1 br 10.77.0.1
same "its NIC has its MAC" "$("$V" show br network mac)" "$(ip -n br link show eth0 | awk '/ether/ {print $2}')"
out=$("$V" ip br --source lease --wait 1s 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "bridged to lan0 got no DHCP lease" && printf '%s' "$out" | grep -q "hint:"; then
  ok "a bridged VM without a lease: the error says why and what to do"
else bad "ip of a bridged VM without a lease: rc=$rc $out"; fi
"$V" stop br >/dev/null
expect_not "its macvlan is gone after stop" ip -n br link show eth0
"$V" create off -t disconnected >/dev/null
ip netns add off
expect "a disconnected VM starts" "$V" start off --attach netns:off
expect "its host end is on no bridge" sh -c "! ip -d link show $("$V" -j show off network | grep -o '"link":"[^"]*"' | cut -d'"' -f4) | grep -q master"

echo "# 9d. vmctl run: placeholders, environment, exit status, signals, a killed run"
"$V" create runner >/dev/null
out=$("$V" run runner -- sh -c 'echo "{tap} {mac} {vm} $VMCTL_VM $VMCTL_TAP"; ip link show "$VMCTL_TAP" >/dev/null && echo up' 2>/dev/null)
tap=$(printf '%s' "$out" | head -1 | cut -d' ' -f1)
same "run substitutes {tap} {mac} {vm} and sets VMCTL_*" "$tap $("$V" show runner network mac) runner runner $tap" "$(printf '%s' "$out" | head -1)"
same "the TAP exists while the command runs" up "$(printf '%s' "$out" | tail -1)"
expect_not "and is gone when it returns" ip link show "$tap"
"$V" run runner -- sh -c 'exit 7' 2>/dev/null; same "run exits with the command's status" 7 "$?"
"$V" run runner -- sh -c 'kill -KILL $$' 2>/dev/null; same "a command killed by signal 9 gives 128+9" 137 "$?"
same "run --user runs the command as that user" 65534 "$("$V" run runner --user nobody -- id -u 2>/dev/null)"
"$V" run runner -- sh -c 'trap "exit 42" TERM; sleep 30 & wait' 2>/dev/null & runpid=$!
wait_for 5 test -f "$home/run/runner.plist"; sleep 0.3
kill -TERM "$runpid"; wait "$runpid"; same "SIGTERM reaches the command (its trap's status)" 42 "$?"
same "and the network is stopped" stopped "$("$V" -j show runner | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)"
"$V" run runner -- sleep 30 >/dev/null 2>&1 & runpid=$!
wait_for 5 test -f "$home/run/runner.plist"; sleep 0.3
kill -KILL "$runpid"; pkill -f "^sleep 30$"; wait "$runpid" 2>/dev/null
expect_not "doctor notices the killed run" "$V" doctor
expect "doctor names vmctl run and its pid" sh -c "'$V' doctor 2>&1 | grep -q 'vmctl run. (pid $runpid)'"
"$V" run runner -- sleep 30 >/dev/null 2>&1 & runpid=$!
wait_for 5 test -f "$home/run/runner.plist"; sleep 0.3
kill -KILL "$runpid"; pkill -f "^sleep 30$"; wait "$runpid" 2>/dev/null
expect "the next run recovers by itself" "$V" run runner -- true
expect "doctor is happy afterwards" "$V" doctor

echo "# 9e. --attach socket: a relay helper between run/VM.sock and the VM's TAP"
"$V" create sock --no-local >/dev/null
expect "a VM starts attached by socket" "$V" start sock --attach socket
expect "its socket is there" test -S "$home/run/sock.sock"
helper=$("$V" -j show sock network | grep -o '"link":"[^"]*"' >/dev/null; grep -A1 '<key>helper</key>' "$home/run/sock.plist" | grep -o '[0-9]*' | head -1)
expect "its relay runs" kill -0 "$helper"
kill -9 "$helper"; sleep 0.1
expect "doctor names the gone relay" sh -c "'$V' doctor 2>&1 | grep -q 'frame relay'"
expect "the next start recovers by itself" "$V" start sock --attach socket
expect "with a relay again" test -S "$home/run/sock.sock"
"$V" stop sock >/dev/null
expect_not "stop removes the socket" test -e "$home/run/sock.sock"

echo "# 9f. named networks: two shared networks and a host network up at once, kept apart"
"$V" -q network create ci --subnet 10.77.0.0/24
"$V" -q network create ci2 --subnet auto
"$V" -q network create lab --mode host --mask 255.255.255.240
ci2_first=$("$V" -j network show ci2 | grep -o '"dhcp_first":"[^"]*"' | cut -d'"' -f4)
ci2_last=$("$V" -j network show ci2 | grep -o '"dhcp_last":"[^"]*"' | cut -d'"' -f4)
vm n1 --network ci
vm n4 --network ci
vm n2 --network ci2
vm n3 --network lab
for n in n1 n4 n2 n3; do expect "$n gets a lease" lease "$n"; done
ip_n1=$(addr n1) ip_n4=$(addr n4) ip_n2=$(addr n2) ip_n3=$(addr n3)
expect "n1's address $ip_n1 is in ci's range" in_range "$ip_n1" 10.77.0.2 10.77.0.254
expect "n2's address $ip_n2 is in ci2's range ($ci2_first-$ci2_last)" in_range "$ip_n2" "$ci2_first" "$ci2_last"
expect "n3's address $ip_n3 is in lab's /28" in_range "$ip_n3" 192.168.66.2 192.168.66.14
expect "the three networks are up at once" ip link show vmctl-lab
same "vmctl network list says ci is up" up "$("$V" network list | awk '$2 == "ci" {print $14}')"
expect "VMs of one network reach each other" ping1 n1 "$ip_n4"
expect "a named shared network NATs to the WAN" http n1 http://203.0.113.2/
before=$(counter inet "VM to another vmctl network (no filter rules pass it)")
expect_not "n1 cannot reach n2 on another network" ping1 n1 "$ip_n2"
grew "and the host dropped it" inet "VM to another vmctl network (no filter rules pass it)" "$before"
ip -n n3 route replace default via "$("$V" -j network show lab | grep -o '"gateway":"[^"]*"' | cut -d'"' -f4)"
expect_not "n3 on the host-only network cannot reach n1" ping1 n3 "$ip_n1"
printf 'block out to 198.51.100.0/24\n' > "$home/n5.rules"
vm n5 --network ci -f "$home/n5.rules"
expect "n5 gets a lease" lease n5
expect "a VM with filter rules that pass it reaches another network" ping1 n5 "$ip_n2"
expect "vmctl leases lists the named networks' leases" sh -c "'$V' leases | grep -q '$ip_n2'"
expect_not "a network in use cannot be deleted" "$V" network delete ci2
"$V" stop n2 >/dev/null
expect_not "ci2 goes down with its last VM" ip link show vmctl-ci2
same "and its dnsmasq with it" "" "$(pid=$(cat "$home/networks/ci2/dnsmasq.pid" 2>/dev/null); [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" && echo running)"
expect "ci stays up for its other VMs" ip link show vmctl-ci

echo "# 9g. subnets that collide with the host's routes are refused, with a free one to use"
ip link add vpn0 type veth peer name vpn0p && ip addr add 10.99.0.1/24 dev vpn0 && ip link set vpn0 up && ip link set vpn0p up
out=$("$V" network create vpnnet --subnet 10.99.0.0/24 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "collides with 10.99.0.0/24 (route on vpn0" && printf '%s' "$out" | grep -q "hint: use --subnet"; then
  ok "a network over a route of the host is refused, naming it, with a free subnet"
else bad "network over vpn0's route: rc=$rc $out"; fi
"$V" -q network create late --subnet 10.98.0.0/24
ip route add 10.98.0.0/26 dev vpn0
"$V" -q create latevm --network late
out=$("$V" start latevm 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "network 'late' cannot come up" && printf '%s' "$out" | grep -q "vmctl network create late --subnet"; then
  ok "a network whose subnet a route took since cannot come up, and says where to move"
else bad "start on a clashing network: rc=$rc $out"; fi
expect_not "and nothing of it was made" ip link show vmctl-late
ip link del vpn0

echo "# 9h. one bad file is one bad VM: a truncated run file, a broken network file"
vm bf1
vm bf2
link_bf2=$(grep -A1 '<key>link</key>' "$home/run/bf2.plist" | grep -o 'vmt-[0-9a-f]*')
head -c 200 "$home/run/bf2.plist" > "$home/run/bf2.cut" && mv "$home/run/bf2.cut" "$home/run/bf2.plist"
vm bf3
expect "beside a truncated run file another VM starts and gets a lease" lease bf3
expect "and reaches the WAN" http bf3 http://203.0.113.2/
out=$("$V" stop bf3 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "warning: .*bf2.plist.*doctor --fix"; then
  ok "and stops, with a warning naming the file"
else bad "stop beside a bad run file: rc=$rc $out"; fi
out=$("$V" stop bf2 2>&1); rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "bf2.plist" && printf '%s' "$out" | grep -q "hint: .*doctor --fix"; then
  ok "the VM of the bad file is refused, naming it"
else bad "stop of the bad file's VM: rc=$rc $out"; fi
expect "and nothing of it was taken down" ip link show "$link_bf2"
expect "list works, with a warning" sh -c "'$V' -j list 2>&1 >/dev/null | grep -q 'bf2.plist'"
expect "network list works" "$V" network list
expect "doctor names the file" sh -c "'$V' doctor 2>&1 | grep -q 'bf2.plist'"
expect "doctor --fix moves it aside" "$V" doctor --fix
expect "to run/quarantine/" sh -c "ls '$home/run/quarantine' | grep -q '^bf2.plist'"
expect_not "and removes the link no trusted file owns" ip link show "$link_bf2"
same "bf2 counts as stopped" stopped "$("$V" -j show bf2 | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)"
expect "bf1 still renews its lease" lease bf1
expect "and reaches the WAN" http bf1 http://203.0.113.2/
long=$(head -c 65536 /dev/zero | tr '\0' x)
cat > "$home/run/bf4.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>schema_version</key><integer>1</integer><key>vm</key><string>bf4</string>
<key>uuid</key><string>x</string><key>started</key><integer>1</integer><key>mode</key><string>shared</string>
<key>network</key><string>shared</string><key>link</key><string>$long</string>
<key>attach</key><dict><key>kind</key><string>tap</string></dict><key>mac</key><string>52:54:00:00:00:44</string>
<key>no_local</key><false/></dict></plist>
PLIST
"$V" -q create bf4
for cmd in "stop bf4" "start bf4" "doctor"; do
  "$V" $cmd >/dev/null 2>&1; rc=$?
  if [ $rc -ne 101 ] && [ $rc -ne 134 ]; then ok "$cmd with a 65,536-byte link does not crash (exit $rc)"; else bad "$cmd crashed: exit $rc"; fi
done
expect "beside it, a started VM's start still answers" "$V" start bf1 --attach netns:bf1
expect "doctor --fix moves that one aside too" "$V" doctor --fix
"$V" -q network create bnet --subnet 10.78.0.0/24
vm bn1 --network bnet
expect "bn1 gets a lease" lease bn1
"$V" -q create bn2 --network bnet && ip netns add bn2
sed -i 's#255.255.255.0#0.0.0.0#' "$home/networks/bnet.plist"
out=$("$V" start bn2 --attach netns:bn2 2>&1); rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "bnet.plist" && printf '%s' "$out" | grep -q "hint: .*network delete bnet"; then
  ok "a VM of a network whose file is bad is refused, naming the file"
else bad "start on a bad network: rc=$rc $out"; fi
expect_not "and nothing of it was made" sh -c "ip -n bn2 link show eth0"
"$V" -q create bf5 && ip netns add bf5
out=$("$V" start bf5 --attach netns:bf5 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "warning: network 'bnet'.*bnet.plist"; then
  ok "a shared VM still starts, with a warning naming the file"
else bad "start beside a bad network file: rc=$rc $out"; fi
ip -n bf5 link set lo up; ip -n bf5 link set eth0 up
expect "and gets a lease" lease bf5
expect "and reaches the WAN" http bf5 http://203.0.113.2/
expect_not "doctor lists the network file" "$V" doctor
expect "by name" sh -c "'$V' doctor 2>&1 | grep -q 'bnet.plist'"
"$V" doctor --fix >/dev/null 2>&1
expect "doctor --fix leaves the network its VM is on alone" ip link show vmctl-bnet
expect "stop of its last VM works" "$V" stop bn1
expect_not "and takes its bridge down" ip link show vmctl-bnet
same "and its dnsmasq" "" "$(pid=$(cat "$home/networks/bnet/dnsmasq.pid" 2>/dev/null); [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" && echo running)"
expect "bf5 keeps its WAN" http bf5 http://203.0.113.2/
expect "the bad network file can be deleted" "$V" network delete bnet --force

echo "# 9i. run files that lie: stop acts only on what vmctl made"
# set_run VM PYTHON-EXPR: edit run/VM.plist as the dict r (what a hostile or broken file says).
set_run() {
  python3 - "$home/run/$1.plist" "$2" <<'PY'
import plistlib, sys
path, edit = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    r = plistlib.load(f)
exec(edit)
with open(path, "wb") as f:
    plistlib.dump(r, f)
PY
}
has() { grep -q -- "$2" <<<"$1"; } # has TEXT PATTERN (not in $out: expect sets that)
vm liar
liar_link=$("$V" -j show liar network | grep -o '"link":"[^"]*"' | cut -d'"' -f4)
ip link add fgn0 type veth peer name fgn1
set_run liar "r['link'] = 'fgn0'"
said=$("$V" stop liar 2>&1); rc=$?
same "stop of a VM whose run file names a foreign link succeeds" 0 "$rc"
expect "and says it left that link alone" has "$said" "names link 'fgn0'.*left alone"
expect "the foreign link is still there" ip link show fgn0
expect_not "the VM's own link $liar_link is gone" ip link show "$liar_link"
"$V" start liar --attach netns:liar >/dev/null && ip -n liar link set eth0 up
set_run liar "r['link'] = 'eth0; reboot'"
said=$("$V" stop liar 2>&1); rc=$?
expect_not "a link of 'eth0; reboot' is not reported as removed" has "$said" "reboot.*removed"
# Not a name the kernel allows: the file is bad, and stop refuses it whole.
if [ $rc -ne 0 ] && has "$said" "liar.plist" && has "$said" "doctor --fix"; then ok "stop refuses the bad run file, naming it and the repair"
else bad "stop with link 'eth0; reboot': rc=$rc $said"; fi
expect "doctor --fix moves it aside and removes the VM's link" "$V" doctor --fix
expect_not "liar's own link is gone" ip link show "$liar_link"
"$V" create sockliar >/dev/null
"$V" start sockliar --attach socket >/dev/null
mkdir -p "$home/elsewhere" && touch "$home/elsewhere/precious.sock" "$home/elsewhere/precious.relay.log"
(exec -a relay-helper sleep 1000) & decoy=$!; pids+=($decoy)
real_helper=$(python3 -c "import plistlib,sys; print(plistlib.load(open(sys.argv[1],'rb'))['helper'])" "$home/run/sockliar.plist")
set_run sockliar "r['socket'] = '$home/elsewhere/precious.sock'; r['helper'] = $decoy"
expect_not "doctor names the run file that lies" "$V" doctor
said=$("$V" stop sockliar 2>&1)
expect "stop leaves a socket outside run/ alone" test -e "$home/elsewhere/precious.sock"
expect "and the log beside it" test -e "$home/elsewhere/precious.relay.log"
expect "and a process posing as relay-helper (pid $decoy)" kill -0 "$decoy"
expect "and says so" has "$said" "pid $decoy is not the VM's relay helper"
expect_not "vmctl's own socket is gone" test -e "$home/run/sockliar.sock"
kill "$decoy" 2>/dev/null; kill "$real_helper" 2>/dev/null
"$V" create brliar -t bridge -b lan0 >/dev/null && ip netns add brliar
"$V" start brliar --attach netns:brliar >/dev/null
ip netns add bystander && ip -n bystander link add eth0 type veth peer name eth1
set_run brliar "r['attach']['netns'] = 'bystander'"
"$V" stop brliar >/dev/null 2>&1
expect "stop did not delete eth0 in another namespace the run file names" ip -n bystander link show eth0
expect "nor in the VM's own (a run file that lies is not acted on)" ip -n brliar link show eth0
ip -n brliar link del eth0
set_run_absent=$(ls "$home/run/brliar.plist" 2>/dev/null)
same "and the VM is stopped" "" "$set_run_absent"
ip link del fgn0

echo "# 9j. the host drifts behind vmctl's back: it notices and repairs"
dnsmasqs() { pgrep -fc -- "--conf-file=$home/networks/shared/dnsmasq.conf"; }
vm d1 && lease d1
serving=$(dnsmasqs) # the daemon, and the helper it forks for its lease script
rm "$home/networks/shared/dnsmasq.pid"
expect_not "doctor notices dnsmasq running without its pid file" "$V" doctor
expect "doctor says so" sh -c "'$V' doctor 2>&1 | grep -q 'runs without its pid file'"
vm d2
expect "a new VM still gets a lease (no second dnsmasq fighting for the ports)" lease d2
same "one dnsmasq serves shared" "$serving" "$(dnsmasqs)"
expect "doctor --fix repairs it" "$V" doctor --fix
expect "doctor is happy afterwards" "$V" doctor
same "still one dnsmasq" "$serving" "$(dnsmasqs)"
ip link del vmctl-shared
vm d3
expect "after the bridge was deleted, a start rebuilds it and d3 gets a lease" lease d3
expect "d1, started before, is attached again and renews its lease" lease d1
expect "and reaches the WAN" http d1 http://203.0.113.2/
ip link set "$(link_of d2)" nomaster
expect_not "doctor notices d2's port off its bridge" "$V" doctor
expect "doctor names it" sh -c "'$V' doctor 2>&1 | grep -q \"VM 'd2': its link .* is not on vmctl-shared\""
ip link set "$(link_of d1)" down
expect "doctor names d1's port down" sh -c "'$V' doctor 2>&1 | grep -q \"VM 'd1': its link .* is down\""
expect "doctor --fix attaches d2 again and brings d1 up" "$V" doctor --fix
expect "d2 reaches the WAN again" http d2 http://203.0.113.2/
expect "d1 too" http d1 http://203.0.113.2/
nft delete table inet vmctl
vm d4
expect "a start brings the deleted inet table back" sh -c "nft list tables | grep -q 'inet vmctl'"
expect "d1 reaches the WAN through NAT again" http d1 http://203.0.113.2/
nft delete element bridge vmctl own_mac "{ \"$(link_of d1)\" . $("$V" show d1 network mac) }"
nft add element bridge vmctl vm_ports '{ "vmt-bogus" }'
expect "doctor finds the element deleted by hand" sh -c "'$V' doctor 2>&1 | grep -q \"VM 'd1': nft set bridge own_mac lacks\""
expect "and the one added by hand" sh -c "'$V' doctor 2>&1 | grep -q 'vm_ports holds \"vmt-bogus\", which no started VM has'"
expect "doctor --fix reloads the rules" "$V" doctor --fix
expect "doctor is happy afterwards" "$V" doctor
for d in d1 d2 d3 d4; do "$V" stop "$d" >/dev/null; done
# 200 starts and stops killed -9 at random moments, 4 VMs at once: doctor --fix leaves nothing
# half made, and every VM starts cleanly afterwards.
for k in k0 k1 k2 k3; do "$V" create "$k" >/dev/null; ip netns add "$k"; done
for i in $(seq 1 200); do
  k=k$((i % 4))
  if [ $((i % 3)) = 0 ]; then "$V" stop "$k" >/dev/null 2>&1 & else "$V" start "$k" --attach "netns:$k" >/dev/null 2>&1 & fi
  victim=$!
  sleep "0.0$((RANDOM % 30))"
  kill -9 "$victim" 2>/dev/null
  wait "$victim" 2>/dev/null
done
"$V" doctor --fix >/dev/null 2>&1
expect "after 200 kill -9s, doctor is happy once --fix ran" "$V" doctor
for k in k0 k1 k2 k3; do
  "$V" start "$k" --attach "netns:$k" >/dev/null 2>&1 && ip -n "$k" link set eth0 up
done
expect "and every VM starts and gets a lease" sh -c "for k in k0 k1 k2 k3; do ip netns exec \$k busybox udhcpc -i eth0 -s '$here/udhcpc.script' -q -n -t 6 -T 1 >/dev/null 2>&1 || exit 1; done"
for k in k0 k1 k2 k3; do "$V" stop "$k" >/dev/null; done

echo "# 9k. a reboot: run/ from an earlier boot is stopped VMs; start brings one back with its lease"
"$V" -q network create boot --subnet 10.76.0.0/24
vm rb1 --network boot
vm rb2 --network boot
expect "rb1 gets a lease" lease rb1
ip_rb1=$(addr rb1)
# The reboot, as far as these VMs go: their links, their network's bridge and dnsmasq, and
# vmctl's tables are gone, and their run files name another boot.
for name in rb1 rb2; do
  ip link del "$("$V" -j show "$name" network | grep -o '"link":"[^"]*"' | cut -d'"' -f4)"
done
ip link del vmctl-boot
kill "$(cat "$home/networks/boot/dnsmasq.pid")"
nft delete table inet vmctl; nft delete table bridge vmctl
sed -i "s/$(cat /proc/sys/kernel/random/boot_id)/00000000-0000-0000-0000-000000000000/" "$home/run/rb1.plist" "$home/run/rb2.plist"
same "list --running leaves them out" "" "$("$V" -j list --running -f name 2>/dev/null | grep -o '"rb[12]"' | tr '\n' ' ')"
same "show says rb1 is stopped" stopped "$("$V" show rb1 network status)"
expect "and JSON says why" sh -c "'$V' -j show rb1 | grep -q '\"stale\":\"earlier boot\"'"
expect_not "doctor reports the reboot" "$V" doctor
same "doctor names rb1 in one finding" 1 "$("$V" doctor 2>/dev/null | grep -o "VM 'rb1' was started before the last reboot" | wc -l)"
expect_not "and not the network only earlier-boot VMs were on" sh -c "'$V' doctor 2>&1 | grep -q 'network boot'"
out=$("$V" start rb1 --attach netns:rb1 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "before the last reboot: starting it afresh"; then
  ok "start brings rb1 back, saying why"
else bad "start rb1 after the reboot: rc=$rc $out"; fi
ip -n rb1 link set eth0 up
expect "rb1 gets a lease again" lease rb1
same "the address it had" "$ip_rb1" "$(addr rb1)"
same "vmctl ip agrees" "$ip_rb1" "$("$V" ip rb1 --wait 5s)"
expect "rb1 reaches the WAN (the tables are back)" http rb1 http://203.0.113.2/
same "list --running lists rb1, not rb2" '"rb1" ' "$("$V" -j list --running -f name 2>/dev/null | grep -o '"rb[12]"' | tr '\n' ' ')"
expect "doctor --fix forgets rb2's state" "$V" doctor --fix
expect_not "run/rb2.plist is gone" test -e "$home/run/rb2.plist"
expect "doctor is happy afterwards" "$V" doctor
"$V" stop rb1 >/dev/null || bad "stop rb1"

echo "# 9l. seven racing starts of one VM: one makes it, and every answer names that process"
"$V" create racer >/dev/null
racers=()
for i in 1 2 3 4 5 6 7; do "$V" -j start racer >"$home/race.$i" 2>&1 & racers+=($!); done
codes=""; for pid in "${racers[@]}"; do wait "$pid"; codes="$codes$?"; done
same "all seven exit 0" 0000000 "$codes"
same "exactly one made it" 1 "$(grep -l '"already_started":false' "$home"/race.* | wc -l)"
makers=$(grep -ho '"started_by":[0-9]*' "$home"/race.* | sort -u)
same "all seven name one process as the one that made it" 1 "$(printf '%s\n' "$makers" | wc -l)"
winner=$(grep -l '"already_started":false' "$home"/race.* | head -1)
winner_pid=${racers[$(( ${winner##*.} - 1 ))]}
same "and it is the one that says it made it" "\"started_by\":$winner_pid" "$makers"
"$V" stop racer >/dev/null

echo "# 10. after the last stop nothing of vmctl remains"
for name in $("$V" list --running --field name -j | grep -o '"name":"[^"]*"' | cut -d'"' -f4); do
  "$V" stop "$name" >/dev/null || bad "stop $name"
done
same "links left" "" "$(ip -o link | awk -F': ' '{print $2}' | grep -E '^(vmt-|vmctl-)' | tr '\n' ' ')"
same "nft tables left" "" "$(nft list tables | grep vmctl)"
left=""
for pidfile in "$home"/networks/*/dnsmasq.pid; do
  [ -f "$pidfile" ] && [ -d "/proc/$(cat "$pidfile")" ] && ! grep -q '^State:.*Z' "/proc/$(cat "$pidfile")/status" && left="$left $pidfile"
done
same "dnsmasq left running" "" "$left"
expect "doctor is happy with an empty host" "$V" doctor

summary
