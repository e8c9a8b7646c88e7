#!/usr/bin/env bash
# vmctl's fleet suite: a real 3-member etcd cluster (TLS client certificates, etcd auth, a user
# per host) and 3 "hosts", each a network namespace with its own VMCTL_HOME, `vmctl agent` and
# netns VMs getting real DHCP leases. Run it inside a fresh namespace:
#
#   unshare -n -m --propagation private bash tests/fleet/fleet.sh
#
# with VMCTL pointing at the binary (tests/fleet.rs does this).
#
# The namespace the suite starts in plays the LAN: a bridge `lan` (10.77.0.1, for the suite's
# etcdctl). Etcd member N runs in the namespace eN at 10.77.0.1N, host hN in the namespace hN
# at 10.77.0.2N, each joined to the bridge by a veth (eN-lan / hN-lan outside, lan0 inside).
# A host's vmctl commands and agent run under `ip netns exec hN` with its own VMCTL_HOME, so
# its bridge, dnsmasq and nft tables live in hN; its VM NAME is one more namespace, hN-NAME,
# whose eth0 vmctl moves in from hN (network namespaces are not nested: a link moves to any
# namespace named under /run/netns).
#
# FLEET_SUITE_LOGS=DIR keeps the agents', the watch's and the members' logs, and every change
# etcd saw under /vmctl/v1/, for a post-mortem.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns-lib.sh
. "$here/../netns-lib.sh"
# shellcheck source=tests/fleet/etcd-cluster.sh
. "$here/etcd-cluster.sh"

hosts=(h1 h2 h3)
declare -A agent_pid=()
bg_pids=() # watches and their clocks
ttl=10     # the agents' lease TTL
endpoints=etcd://10.77.0.11:2379,10.77.0.12:2379,10.77.0.13:2379

fleet_cleanup() {
  local h vm pidfile pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for h in "${hosts[@]}"; do
    [ -d "$home/$h" ] || continue
    for vm in $(vh "$h" list --running --field name -j 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4); do
      vh "$h" stop "$vm" >/dev/null 2>&1
    done
    agent_stop "$h" KILL
    for pidfile in "$home/$h"/networks/*/dnsmasq.pid; do
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
  done
  etcd_stop_all
  if [ -n "${FLEET_SUITE_LOGS:-}" ]; then
    mkdir -p "$FLEET_SUITE_LOGS" && cp "$home"/*.log "$home"/watch.h2 "$home"/watch.h2.err "$etcd_dir"/*.log "$FLEET_SUITE_LOGS"/ 2>/dev/null
  fi
}
trap 'fleet_cleanup; cleanup' EXIT

# refused WHAT PATTERN CMD...: CMD fails and says PATTERN (an extended regex, any case).
refused() {
  local what=$1 pattern=$2; shift 2
  if out=$("$@" 2>&1); then bad "$what (it succeeded)"; printf '%s\n' "$out" | sed 's/^/       /' | head -20
  elif printf '%s' "$out" | grep -Eqi -- "$pattern"; then ok "$what"
  else bad "$what: failed without saying '$pattern'"; printf '%s\n' "$out" | sed 's/^/       /' | tail -5; fi
}
# pyj EXPR: EXPR (Python) over the JSON document on stdin, `d` being its body when it is in
# vmctl's envelope; a string prints bare, anything else as JSON.
pyj() {
  python3 -c 'import json, sys
text = sys.stdin.read()
try:
    doc = json.loads(text)
    d = doc["body"] if isinstance(doc, dict) and "status" in doc and "body" in doc else doc
    r = eval(sys.argv[1])
except Exception as e:
    print("(not as expected: %s: %s)" % (type(e).__name__, " ".join(text.split())[:300]))
    sys.exit(1)
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}
# same_rows WHAT EXPECTED ACTUAL: like same, for several lines (a diff when they differ).
same_rows() {
  if [ "$2" = "$3" ]; then ok "$1 ($(printf '%s\n' "$3" | grep -c .) rows)"
  else bad "$1:"; diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' | sed 's/^</       expected/; s/^>/       got     /' | head -12; fi
}
now() { printf '%s' "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# within WHAT MS START: ok when less than MS milliseconds passed since START.
within() {
  local took; took=$(ms_since "$3")
  if [ "$took" -le "$2" ]; then ok "$1 ($took ms)"; else bad "$1: took $took ms (limit $2 ms)"; fi
}

# on HOST CMD...: CMD in HOST's namespace with HOST's home.
on() { local h=$1; shift; ip netns exec "$h" env VMCTL_HOME="$home/$h" "$@"; }
# vh HOST ARGS...: vmctl on HOST.
vh() { local h=$1; shift; on "$h" "$V" "$@"; }

# The agent runs in the background as the shell's own child (exec: its pid is the agent's).
agent_start() {
  (exec ip netns exec "$1" env VMCTL_HOME="$home/$1" "$V" agent) >>"$home/$1.agent.log" 2>&1 &
  agent_pid[$1]=$!
}
agent_stop() { # agent_stop HOST [SIGNAL]
  local pid=${agent_pid[$1]:-}
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  agent_pid[$1]=
}
agent_alive() { local pid=${agent_pid[$1]:-}; [ -n "$pid" ] && [ -e "/proc/$pid" ] && ! ps -o stat= -p "$pid" | grep -q "^Z"; }

# watch_start HOST: `vmctl fleet watch` on HOST, each line stamped with the time it came, in
# $home/watch.HOST.
watch_start() {
  local fifo=$home/watch.$1.fifo
  mkfifo "$fifo"
  python3 "$here/watchlog.py" stamp <"$fifo" >"$home/watch.$1" & bg_pids+=($!)
  (exec ip netns exec "$1" env VMCTL_HOME="$home/$1" "$V" fleet watch) >"$fifo" 2>>"$home/watch.$1.err" & bg_pids+=($!)
}
# fresh WHAT SINCE END EXPR [LIMIT_MS]: h2's watch shows an event matching EXPR (Python over
# `e`, at or after SINCE) within LIMIT_MS (1000) of END.
fresh() {
  local what=$1 since=$2 end=$3 expr=$4 limit=${5:-1000} ts="" deadline=$((SECONDS + 4))
  until ts=$(python3 "$here/watchlog.py" find "$home/watch.h2" "$since" "$expr"); do
    [ $SECONDS -ge $deadline ] && break
    sleep 0.1
  done
  if [ -z "$ts" ]; then bad "$what: h2's watch printed nothing matching within 4 s"; return; fi
  local took; took=$(awk -v a="$end" -v b="$ts" 'BEGIN { d = (b - a) * 1000; printf "%d", d < 0 ? 0 : d }')
  if [ "$took" -le "$limit" ]; then ok "$what ($took ms)"; else bad "$what: after $took ms (limit $limit ms)"; fi
}
# watch_deleted HOST SINCE VM...: h2's watch printed a delete of each VM of HOST after SINCE.
watch_deleted() {
  local host=$1 since=$2 vm; shift 2
  for vm in "$@"; do
    if wait_for 2 python3 "$here/watchlog.py" find "$home/watch.h2" "$since" \
      "e['kind'] == 'vm' and e['event'] == 'delete' and e['host'] == '$host' and e['name'] == '$vm' and e.get('record') is None"; then
      ok "  h2's fleet watch printed the delete of $host's $vm"
    else bad "  h2's fleet watch printed no delete of $host's $vm; its last lines:"; tail -3 "$home/watch.h2" | cut -c1-300 | sed 's/^/       /'; fi
  done
}
is_dead_in_fleet() { [ "$(alive_in_fleet "$1")" = False ]; }
alive_in_fleet() { # alive_in_fleet HOST: "True"/"False" as h1's `fleet hosts` says
  vh h1 -j fleet hosts 2>&1 | pyj '" ".join(str(x["alive"]) for x in d if x["host"] == "'"$1"'")'
}

# quietly WHAT CMD...: CMD's output only when it fails (then a failed check WHAT).
quietly() {
  local what=$1 out; shift
  out=$("$@" 2>&1) || { bad "$what"; printf '%s\n' "$out" | sed 's/^/       /' | head -5; return 1; }
}
# fvm HOST NAME [create flags...]: a VM of HOST as the namespace HOST-NAME, started, with a lease.
fvm() {
  local h=$1 name=$2; shift 2
  quietly "$h: create $name" vh "$h" create "$name" "$@" && fvm_up "$h" "$name"
}
# fvm_up HOST NAME: start HOST's VM NAME in the namespace HOST-NAME; its lease.
fvm_up() {
  local h=$1 name=$2
  ip netns add "$h-$name"
  quietly "$h: start $name" vh "$h" start "$name" --attach "netns:$h-$name" || return 1
  ip -n "$h-$name" link set lo up && ip -n "$h-$name" link set eth0 up
  lease "$h-$name" || { bad "$h: $name got no lease"; return 1; }
}
lease() { ip netns exec "$1" busybox udhcpc -i eth0 -s "$here/../e2e/udhcpc.script" -q -n -t 6 -T 1 >/dev/null 2>&1; }

# What one host sees of the fleet, one sorted line per VM: "HOST/NAME IP STATUS".
fleet_rows() {
  vh "$1" -j fleet list 2>/dev/null |
    pyj '"\n".join(sorted("%s/%s %s %s" % (v["host"], v["name"], v.get("ip") or "-", v.get("status")) for v in d))'
}
# The same lines from each host's own `vmctl list`: what the fleet must agree with.
local_rows() {
  local h
  for h in "${hosts[@]}"; do
    vh "$h" -j list 2>/dev/null | H=$h pyj '"\n".join("%s/%s %s %s" % (__import__("os").environ["H"], v["name"], v.get("ip") or "-", v.get("status")) for v in d)'
  done | sed '/^$/d' | sort
}
# gone_within START HOST VIEWER LIMIT: HOST's VMs leave VIEWER's `fleet list` less than LIMIT
# seconds after START (an $EPOCHREALTIME).
gone_within() {
  local start=$1 host=$2 viewer=$3 limit=$4
  until [ "$(fleet_rows "$viewer" | grep -c "^$host/")" = 0 ]; do
    [ "$(ms_since "$start")" -gt $((limit * 1000)) ] && return 1
    sleep 0.2
  done
}
rows_are() { [ "$(fleet_rows "$1")" = "$2" ]; }
count_is() { [ "$(fleet_rows "$1" | grep -c "$2")" = "$3" ]; } # count_is VIEWER REGEX N
has_key() { [ -n "$(evalue root "$1" 2>/dev/null)" ]; }
published_or_dead() { has_key "/vmctl/v1/hosts/$1/info" || ! agent_alive "$1"; }
restart_vm() { vh "$1" stop "$2" && vh "$1" start "$2" --attach "netns:$1-$2"; }
# The lease ID (decimal, 0 = none) a key is bound to.
lease_of() { ectl root get "$1" -w json 2>/dev/null | pyj 'str(d["kvs"][0].get("lease", 0)) if d.get("kvs") else "absent"'; }
# host_records HOST: "KEY LEASE VALUE-HASH" of each key under HOST's prefix but `seen` (what the
# host publishes, whatever keys it uses: one per VM or one for all).
host_records() {
  ectl root get --prefix "/vmctl/v1/hosts/$1/" -w json 2>/dev/null | pyj '"\n".join(sorted(
    "%s %s %s" % (k, kv.get("lease", 0), __import__("hashlib").sha1(__import__("base64").b64decode(kv.get("value", ""))).hexdigest()[:12])
    for kv in d.get("kvs", []) for k in [__import__("base64").b64decode(kv["key"]).decode()] if not k.endswith("/seen")))'
}
records_name() { ectl root get --prefix "/vmctl/v1/hosts/$1/" --print-value-only 2>/dev/null | grep -q "\"name\": *\"$2\""; }
# one_lease HOST: the one lease all of HOST's records are bound to ("none"/"several" if not).
one_lease() {
  local leases; leases=$(host_records "$1" | cut -d' ' -f2 | sort -u)
  case "$leases" in ""|0) echo none ;; *[!0-9]*) echo several ;; *) echo "$leases" ;; esac
}
# reservation KEY: "HOST VM" of a reservation, or nothing.
reservation() {
  local v; v=$(evalue root "$1" 2>/dev/null)
  [ -z "$v" ] || printf '%s' "$v" | pyj '"%s %s" % (d["host"], d["vm"])'
}
mac_of() { vh "$1" show "$2" network mac 2>/dev/null; }

echo "# 0. the LAN and a 3-member etcd cluster: TLS with client certificates, auth, a role per host"
ip link add lan type bridge && ip link set lan up
ip addr add 10.77.0.1/24 dev lan # the suite's own etcdctl
expect "the etcd members' namespaces e1-e3 are on the LAN" etcd_lan lan
for i in 1 2 3; do
  h=h$i
  ip netns add "$h"
  ip link add "$h-lan" type veth peer name lan0 netns "$h"
  ip link set "$h-lan" master lan up
  ip -n "$h" addr add "10.77.0.2$i/24" dev lan0
  ip -n "$h" link set lan0 up && ip -n "$h" link set lo up
done
etcd_dir=$home/etcd
expect "the certificates are made (CA, members with IP SANs, root/h1/h2/h3 clients)" etcd_certs
for n in 1 2 3; do etcd_start "$n"; done
expect "the cluster answers within 20 s" etcd_wait_ready 20
same "it has 3 members" 3 "$(ectl cert member list 2>/dev/null | wc -l)"
expect "auth is set up: root, and a user and role per host" etcd_auth_setup "${hosts[@]}"
expect_not "without a client certificate the cluster refuses" \
  env ETCDCTL_API=3 etcdctl --endpoints https://10.77.0.11:2379 --cacert "$etcd_dir/pki/ca.crt" \
  --dial-timeout 2s --command-timeout 3s --user "h1:$(cat "$etcd_dir/pass/h1")" get /vmctl/v1/ --prefix
expect "  (the member says why: no client certificate)" grep -q "didn't provide a certificate" "$etcd_dir/m1.log"
refused "a wrong password is refused" "authentication failed" ectl cert --user h1:wrong get /vmctl/v1/ --prefix
expect "h1 writes its own prefix" ectl h1 put /vmctl/v1/hosts/h1/probe x
expect "h1 writes a reservation" ectl h1 put /vmctl/v1/reservations/macs/02:00:00:00:00:01 h1
same "h2 reads h1's key" x "$(evalue h2 /vmctl/v1/hosts/h1/probe)"
expect "h2 writes its own prefix" ectl h2 put /vmctl/v1/hosts/h2/probe y
refused "h1 cannot put under h2's prefix" "permission denied" ectl h1 put /vmctl/v1/hosts/h2/probe evil
refused "h1 cannot delete under h2's prefix" "permission denied" ectl h1 del /vmctl/v1/hosts/h2/probe
refused "h1 cannot write outside its prefix and the reservations" "permission denied" ectl h1 put /vmctl/v1/other x
refused "h1 cannot read outside /vmctl/v1/" "permission denied" ectl h1 get / --prefix
same "h2's key is untouched" y "$(evalue root /vmctl/v1/hosts/h2/probe)"
ectl root del /vmctl/v1/ --prefix >/dev/null
chmod 600 "$etcd_dir"/pass/*
if [ -n "${FLEET_SUITE_LOGS:-}" ]; then # every change under /vmctl/v1/, for the post-mortem
  ectl_argv root
  "${ectl[@]}" watch --prefix /vmctl/v1/ >"$home/etcd-watch.log" 2>&1 & bg_pids+=($!)
fi

echo "# 1. three hosts publish: each its agent and VMs with real leases; any host finds any VM"
for h in "${hosts[@]}"; do
  mkdir -p "$home/$h"
  expect "$h takes the registry settings (TLS, client certificate, etcd user)" vh "$h" config \
    registry "$endpoints" registry_ca "$etcd_dir/pki/ca.crt" \
    registry_cert "$etcd_dir/pki/$h.crt" registry_key "$etcd_dir/pki/$h.key" \
    registry_user "$h" registry_password_file "$etcd_dir/pass/$h" host_name "$h"
  agent_start "$h"
done
for h in "${hosts[@]}"; do
  wait_for 10 published_or_dead "$h"
  if has_key "/vmctl/v1/hosts/$h/info"; then ok "$h's agent published its host record"
  else bad "$h's agent published no host record in 10 s"; sed 's/^/       /' "$home/$h.agent.log" | tail -5; fi
done
if ! agent_alive h1 && ! agent_alive h2 && ! agent_alive h3; then
  bad "no agent is running: the rest of the suite needs them"
  summary
  exit 1
fi
fvm h1 a1
quietly "h1: create a2 with a forward" vh h1 create a2 && quietly "h1: a2's forward" vh h1 modify a2 port ssh 22:2222 && fvm_up h1 a2
fvm h1 dup
fvm h2 b1
fvm h2 dup
fvm h3 c1
fvm h3 c2
expected=$(local_rows)
same "7 VMs, each with its lease, on the hosts' own lists" 7 "$(printf '%s\n' "$expected" | grep -c ' 192\.168\.64\.[0-9]* running$')"
wait_for 3 rows_are h2 "$expected"
same_rows "h2's fleet list: every VM of every host, with its IP and status" "$expected" "$(fleet_rows h2)"
same_rows "h3's fleet list agrees" "$expected" "$(fleet_rows h3)"
same_rows "fleet hosts: host, address, VMs, alive" "h1 10.77.0.21 3 True
h2 10.77.0.22 2 True
h3 10.77.0.23 2 True" "$(vh h2 -j fleet hosts 2>&1 | pyj '"\n".join("%s %s %s %s" % (x["host"], x["address"], x["vms"], x["alive"]) for x in sorted(d, key=lambda x: x["host"]))')"
ip_a1=$(addr h1-a1)
same "fleet show a1 from h3: host, its address, MAC, IP, status" "h1 10.77.0.21 $(mac_of h1 a1) $ip_a1 running" \
  "$(vh h3 -j fleet show a1 2>&1 | pyj '"%s %s %s %s %s" % (d["host"], d["host_address"], d["mac"], d["ip"], d["status"])')"
same "fleet show a2 on h3 says how to reach its forward" 10.77.0.21:2222 \
  "$(vh h3 -j fleet show a2 2>&1 | pyj '" ".join(str(r).split()[0] for r in d["reach"] if "10.77.0.21:2222" in str(r)) or d')"
same "vmctl ip a1 --fleet on h3" "$ip_a1" "$(vh h3 ip a1 --fleet --wait 5s 2>&1)"
refused "fleet show dup (on h1 and h2) asks which host" "h1.*h2|h2.*h1" vh h3 fleet show dup
same "fleet show dup --host h2" "h2 $(addr h2-dup)" "$(vh h3 -j fleet show dup --host h2 2>&1 | pyj '"%s %s" % (d["host"], d["ip"])')"
refused "fleet show of a VM no host has" "not found|no host" vh h3 fleet show nowhere
# vmctl ip --fleet --wait on h3 while h1's VM is still getting its lease.
late_out=$home/late.ip
(vh h3 ip late --fleet --wait 60s >"$late_out" 2>&1) & late_pid=$!
fvm h1 late
wait "$late_pid"
same "vmctl ip late --fleet --wait 60s on h3 returns the lease h1's VM got" "$(addr h1-late)" "$(cat "$late_out")"
lease_h1=$(lease_of /vmctl/v1/hosts/h1/info)
expect "h1's host record is bound to a lease" test "$lease_h1" != 0 -a "$lease_h1" != absent
same "all of h1's records (host and VMs) are bound to that lease" "$lease_h1" "$(one_lease h1)"
expect "  they hold h1's VM a1" records_name h1 a1
same "h1's last-seen record is not bound to a lease" 0 "$(lease_of /vmctl/v1/hosts/h1/seen)"
ttl_left=$(ectl root lease timetolive "$(printf '%x' "$lease_h1")" 2>/dev/null | sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p')
same "the lease's TTL" "$ttl" "$ttl_left"
same "a1's MAC is reserved for h1/a1" "h1 a1" "$(reservation "/vmctl/v1/reservations/macs/$(mac_of h1 a1)")"
same "b1's MAC is reserved for h2/b1" "h2 b1" "$(reservation "/vmctl/v1/reservations/macs/$(mac_of h2 b1)")"
same "the name dup points at h1 and h2" "/vmctl/v1/reservations/names/dup/h1 /vmctl/v1/reservations/names/dup/h2" \
  "$(ectl root get --prefix --keys-only /vmctl/v1/reservations/names/dup/ 2>&1 | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//')"

echo "# 2. who may write what: h1's credentials cannot change or delete h2's records"
h2_before=$(host_records h2)
h2_keys=$(printf '%s\n' "$h2_before" | cut -d' ' -f1)
expect "h2 has records: $(printf '%s' "$h2_keys" | tr '\n' ' ')" test -n "$h2_keys"
for key in $h2_keys; do
  refused "h1 cannot overwrite $key" "permission denied" ectl h1 put "$key" '{"forged":true}'
  refused "h1 cannot delete $key" "permission denied" ectl h1 del "$key"
done
refused "h1 cannot delete h2's whole prefix" "permission denied" ectl h1 del --prefix /vmctl/v1/hosts/h2/
refused "h1 cannot add a key under h2" "permission denied" ectl h1 put /vmctl/v1/hosts/h2/vms/ghost '{}'
refused "h1 cannot write h2's last-seen record" "permission denied" ectl h1 put /vmctl/v1/hosts/h2/seen 0
lease_h2=$(one_lease h2)
refused "h1 cannot revoke h2's lease (which would drop h2's records)" "permission denied" ectl h1 lease revoke "$(printf '%x' "$lease_h2")"
refused "h1's certificate alone (no password) cannot either" "permission denied|user name is empty" \
  env ETCDCTL_API=3 etcdctl --endpoints "$etcd_endpoints" --cacert "$etcd_dir/pki/ca.crt" --cert "$etcd_dir/pki/h1.crt" \
  --key "$etcd_dir/pki/h1.key" --dial-timeout 2s --command-timeout 3s del --prefix /vmctl/v1/hosts/h2/
same_rows "h2's records are unchanged (key, lease, value)" "$h2_before" "$(host_records h2)"
same "b1 is still in h3's fleet list" 1 "$(fleet_rows h3 | grep -c '^h2/b1 ')"

echo "# 3. one MAC, one VM, fleet-wide: create races, modify --mac, clone, delete"
for r in 1 2 3 4 5; do
  mac=02:fe:00:00:00:0$r
  (vh h1 create "race$r" --mac "$mac" >"$home/race.h1" 2>&1; echo $? >"$home/race.h1.rc") & p1=$!
  (vh h2 create "race$r" --mac "$mac" >"$home/race.h2" 2>&1; echo $? >"$home/race.h2.rc") & p2=$!
  wait "$p1" "$p2"
  rc1=$(cat "$home/race.h1.rc") rc2=$(cat "$home/race.h2.rc")
  if [ "$rc1" = 0 ] && [ "$rc2" != 0 ]; then winner=h1 loser=h2
  elif [ "$rc2" = 0 ] && [ "$rc1" != 0 ]; then winner=h2 loser=h1
  else bad "race $r for $mac: h1 exit $rc1, h2 exit $rc2 (exactly one must win)"; sed 's/^/       /' "$home/race.h1" "$home/race.h2" | head -6; continue; fi
  ok "race $r for $mac: exactly one host wins ($winner)"
  if grep -qw "$winner" "$home/race.$loser"; then ok "  $loser's error names the holder, $winner"
  else bad "  $loser's error does not name $winner: $(head -c 300 "$home/race.$loser")"; fi
  same "  the reservation says $winner" "$winner race$r" "$(reservation "/vmctl/v1/reservations/macs/$mac")"
  expect_not "  $loser made no VM" vh "$loser" show "race$r"
done
mac=02:fe:00:00:00:01
holder=$(reservation /vmctl/v1/reservations/macs/$mac | cut -d' ' -f1)
other=h1; [ "$holder" = h1 ] && other=h2
expect "$holder deletes race1" vh "$holder" delete race1 --yes
same "delete released its MAC" "" "$(reservation /vmctl/v1/reservations/macs/$mac)"
expect "$other can now create a VM with it" vh "$other" create race1b --mac "$mac"
same "  reserved for $other" "$other race1b" "$(reservation /vmctl/v1/reservations/macs/$mac)"
a1_mac=$(mac_of h1 a1)
refused "h2: modify b1 --mac with h1's a1 MAC is refused, naming h1" "h1" vh h2 modify b1 network --mac "$a1_mac"
b1_mac=$(mac_of h2 b1)
same "b1 keeps its MAC" "h2 b1" "$(reservation "/vmctl/v1/reservations/macs/$b1_mac")"
same "a1 keeps its reservation" "h1 a1" "$(reservation "/vmctl/v1/reservations/macs/$a1_mac")"
vh h2 create mover >/dev/null 2>&1
mover_mac=$(mac_of h2 mover)
expect "h2: modify mover --mac with a free MAC" vh h2 modify mover network --mac 02:fe:00:00:01:01
same "  the new MAC is reserved for h2/mover" "h2 mover" "$(reservation /vmctl/v1/reservations/macs/02:fe:00:00:01:01)"
same "  the old one is released" "" "$(reservation "/vmctl/v1/reservations/macs/$mover_mac")"
expect "h1: clone a1 a1c" vh h1 clone a1 a1c
same "  the clone's new MAC is reserved for h1/a1c" "h1 a1c" "$(reservation "/vmctl/v1/reservations/macs/$(mac_of h1 a1c)")"
refused "h2: create with a MAC a clone on h1 holds, naming h1" "h1" vh h2 create thief --mac "$(mac_of h1 a1c)"
# A bridged named network's static addresses are reserved the same way.
for h in h1 h2; do
  expect "$h makes the bridged network lanbr on its LAN interface" vh "$h" network create lanbr --mode bridge --interface lan0
done
expect "h1: a bridged VM with static 10.77.0.100 on lanbr" vh h1 create s1 --network lanbr --ip 10.77.0.100
same "  10.77.0.100 on lanbr is reserved for h1/s1" "h1 s1" "$(reservation /vmctl/v1/reservations/ips/lanbr/10.77.0.100)"
refused "h2: the same address on lanbr is refused, naming h1" "h1" vh h2 create s2 --network lanbr --ip 10.77.0.100

echo "# 4. freshness: a change on h1 shows in h2's fleet watch within 1 s"
watch_start h2
sleep 1
t0=$(now); vh h1 create fr >/dev/null 2>&1; t1=$(now)
fresh "create" "$t0" "$t1" 'e["kind"] == "vm" and e["event"] == "put" and e["host"] == "h1" and e["name"] == "fr"'
ip netns add h1-fr
t0=$(now); vh h1 start fr --attach netns:h1-fr >/dev/null; t1=$(now)
fresh "start" "$t0" "$t1" 'e["name"] == "fr" and e["event"] == "put" and e["record"]["status"] == "running"'
ip -n h1-fr link set eth0 up
t0=$(now); lease h1-fr; t1=$(now)
fr_ip=$(addr h1-fr)
fresh "a lease ($fr_ip)" "$t0" "$t1" "e['name'] == 'fr' and e['event'] == 'put' and e['record']['ip'] == '$fr_ip'"
t0=$(now); vh h1 stop fr >/dev/null 2>&1; t1=$(now)
fresh "stop" "$t0" "$t1" 'e["name"] == "fr" and e["event"] == "put" and e["record"]["status"] == "stopped"'
# (On a started VM a new forward waits for its next start, and its record shows what runs.)
t0=$(now); vh h1 modify fr port web 80:18080 >/dev/null 2>&1; t1=$(now)
fresh "modify (a port forward)" "$t0" "$t1" 'e["name"] == "fr" and e["event"] == "put" and any(f.get("name") == "web" for f in e["record"]["forwards"])'
t0=$(now); vh h1 delete fr --yes >/dev/null 2>&1; t1=$(now)
fresh "delete" "$t0" "$t1" 'e["name"] == "fr" and e["event"] == "delete" and e["kind"] == "vm"'
same "each watch line carries kind, event, host, name, record, revision" "kind event host name record revision" \
  "$(grep -m1 '"name":"fr"' "$home/watch.h2" | cut -d' ' -f2- | pyj '" ".join(k for k in ["kind", "event", "host", "name", "record", "revision"] if k in d)')"
# 1,000 changes: h1 moves fq's forward `p` to host port 20000+I for change I, as fast as it can.
vh h1 create fq >/dev/null 2>&1
changes=$home/changes
: >"$changes"
for i in $(seq 0 999); do
  t0=$EPOCHREALTIME
  vh h1 modify fq port p "80:$((20000 + i))" >/dev/null 2>&1
  printf '%s %s %s\n' "$i" "$t0" "$EPOCHREALTIME" >>"$changes"
done
sleep 1.5
report=$(python3 "$here/watchlog.py" freshness "$home/watch.h2" "$changes" fq); rc=$?
echo "#    freshness: $report"
p99=$(printf '%s' "$report" | sed -n 's/.*p99 \([0-9]*\) ms.*/\1/p')
if [ $rc -eq 0 ] && [ -n "$p99" ] && [ "$p99" -le 1000 ]; then ok "1,000 modifies on h1: p99 in h2's watch ${p99} ms (at most 1 s), none lost"
else bad "1,000 modifies on h1: $report"; fi

echo "# 5. liveness: an agent that leaves, dies (kill -9) or comes back"
t0=$(now); agent_stop h3 TERM
if gone_within "$t0" h3 h1 2; then within "SIGTERM: h3's VMs leave at once" 2000 "$t0"; else bad "SIGTERM: h3's VMs still listed after 2 s"; fi
same "fleet hosts: h3 not alive, last seen kept" "False yes" \
  "$(vh h1 -j fleet hosts 2>&1 | pyj '" ".join("%s %s" % (x["alive"], "yes" if x.get("seen") else "no") for x in d if x["host"] == "h3")')"
t0=$(now); agent_start h3
if wait_for 10 count_is h1 '^h3/' 2; then within "h3's agent back: its 2 VMs republished" 5000 "$t0"; else bad "h3's VMs not republished after a restart"; fi
sleep 1
t0=$(now); agent_stop h3 KILL
if gone_within "$t0" h3 h1 $((ttl + 2)); then within "kill -9 h3's agent: its VMs leave h1's fleet list within TTL + 2 s" $(((ttl + 2) * 1000)) "$t0"
else bad "kill -9 h3's agent: its VMs still listed after $((ttl + 2)) s"; fi
watch_deleted h3 "$t0" c1 c2
wait_for 2 is_dead_in_fleet h3
same "  fleet hosts says h3 is not alive" False "$(alive_in_fleet h3)"
vh h3 stop c2 >/dev/null 2>&1 # a change while its agent is down
t0=$(now); agent_start h3
wait_for 10 count_is h1 '^h3/' 2
same_rows "h3's agent back: it republishes both VMs, c2 now stopped" "h3/c1 $(addr h3-c1) running
h3/c2 - stopped" "$(fleet_rows h1 | grep '^h3/')"
quietly "h3: start c2 again" vh h3 start c2 --attach netns:h3-c2 && ip -n h3-c2 link set eth0 up && lease h3-c2

echo "# 6. a partition: h3 cut off from the LAN leaves the fleet, and comes back when healed"
wait_for 3 count_is h1 '^h3/.* running$' 2
t0=$(now); ip link set h3-lan down
if gone_within "$t0" h3 h1 $((ttl + 2)); then within "h3 cut off: its VMs leave within TTL + 2 s" $(((ttl + 2) * 1000)) "$t0"
else bad "h3 cut off: its VMs still listed after $((ttl + 2)) s"; fi
watch_deleted h3 "$t0" c1 c2
t1=$(now); expect "h3's local list still works while cut off" vh h3 list; within "  and answers at once" 1000 "$t1"
t1=$(now); expect "h3 stops and starts c1 while cut off" restart_vm h3 c1
within "  without waiting on etcd" 3000 "$t1"
ip -n h3-c1 link set eth0 up && lease h3-c1
t0=$(now); ip link set h3-lan up
if wait_for 20 count_is h1 '^h3/.* running$' 2; then ok "healed: h3's VMs back after $(ms_since "$t0") ms, without restarting its agent"
else bad "healed: h3's VMs not back in 20 s"; fi
expect "h3's agent is the one started before the partition" agent_alive h3

echo "# 7. etcd faults: one member down changes nothing; two down fails fleet commands fast"
leader=$(ectl root endpoint status -w json 2>/dev/null | pyj '[i + 1 for i, m in enumerate(d) if m["Status"]["leader"] == m["Status"]["header"]["member_id"]][0]')
etcd_stop "$leader"
echo "#    killed member m$leader (the leader)"
t0=$(now)
if wait_for 5 vh h2 fleet list; then within "  h2's fleet list works (after the election)" 5000 "$t0"
else bad "  h2's fleet list fails for 5 s: $(vh h2 fleet list 2>&1 | head -3)"; fi
same_rows "  it lists every VM" "$(local_rows)" "$(fleet_rows h2)"
t0=$(now); out=$(vh h1 create one-down 2>&1); rc=$?; t1=$(now)
if [ $rc -eq 0 ]; then ok "  h1 creates a VM"; else bad "  h1 cannot create a VM: $out"; fi
same "  its MAC is reserved" "h1 one-down" "$(reservation "/vmctl/v1/reservations/macs/$(mac_of h1 one-down)")"
# h2's watch may have been on the member that died: it reconnects, then is as fresh as before.
fresh "  h2's watch still sees h1's changes" "$t0" "$t1" 'e["name"] == "one-down" and e["event"] == "put"' 3000
t0=$(now); vh h1 stop a1 >/dev/null 2>&1; t1=$(now)
fresh "  and within 1 s again" "$t0" "$t1" 'e["name"] == "a1" and e["event"] == "put" and e["record"]["status"] == "stopped"'
quietly "h1: start a1 again" vh h1 start a1 --attach netns:h1-a1 && ip -n h1-a1 link set eth0 up && lease h1-a1
second=$(( leader % 3 + 1 ))
etcd_stop "$second"
echo "#    killed member m$second too: no quorum"
sleep 1
t0=$(now); out=$(vh h2 fleet list 2>&1); rc=$?; took=$(ms_since "$t0")
echo "#    fleet list without quorum: exit $rc after $took ms: $(printf '%s' "$out" | head -3 | tr '\n' ' ')"
if [ $rc -ne 0 ] && [ "$took" -lt 5000 ]; then ok "fleet list fails fast ($took ms)"; else bad "fleet list without quorum: exit $rc after $took ms"; fi
if printf '%s' "$out" | grep -Eqi 'etcd|registry' && printf '%s' "$out" | grep -Eqi 'quorum|unreachable|unavailable|timed out|timeout|cannot reach|no leader'; then ok "  the error says the registry cannot answer"
else bad "  unclear error: $out"; fi
t0=$(now); expect "h1's local list works" vh h1 list; within "  at once" 1000 "$t0"
t0=$(now); expect "h1's show a1 works" vh h1 show a1; within "  at once" 1000 "$t0"
t0=$(now); expect "h1's leases works" vh h1 leases; within "  at once" 1000 "$t0"
t0=$(now); expect "h1 stops a2" vh h1 stop a2; within "  without waiting on etcd" 2000 "$t0"
t0=$(now); expect "h1 stops and starts dup" restart_vm h1 dup; within "  without waiting on etcd" 3000 "$t0"
ip -n h1-dup link set eth0 up && lease h1-dup
t0=$(now); out=$(vh h1 create no-quorum 2>&1); rc=$?; took=$(ms_since "$t0")
if [ $rc -ne 0 ] && [ "$took" -lt 5000 ]; then ok "create refuses without quorum ($took ms): $(printf '%s' "$out" | head -1)"; else bad "create without quorum: exit $rc after $took ms: $out"; fi
expect_not "  and made nothing" vh h1 show no-quorum
refused "modify a1 --mac refuses without quorum" "etcd|registry" vh h1 modify a1 network --mac 02:fe:00:00:02:01
same "  a1 keeps its MAC" "$a1_mac" "$(mac_of h1 a1)"
refused "clone refuses without quorum" "etcd|registry" vh h1 clone a1 no-quorum-clone
expect_not "  and made nothing" vh h1 show no-quorum-clone
t0=$(now)
etcd_start "$leader"
etcd_start "$second"
expect "the members are back" etcd_wait_ready 20 root
# The agents resync by themselves: a2 (stopped during the outage) must show stopped.
wait_for 20 rows_are h2 "$(local_rows)"
same_rows "without restarting an agent, h2's fleet list is whole and current again" "$(local_rows)" "$(fleet_rows h2)"
echo "#    resynced $(ms_since "$t0") ms after the members were started"
same "  a2 shows stopped" "h1/a2 - stopped" "$(fleet_rows h2 | grep '^h1/a2 ')"
for h in "${hosts[@]}"; do expect "  $h's agent is still the first one" agent_alive "$h"; done
same "the refused create left nothing in the registry" "" "$(ectl root get --prefix --keys-only /vmctl/v1/reservations/names/no-quorum 2>&1)"
expect "create works again" vh h1 create after-quorum

summary
