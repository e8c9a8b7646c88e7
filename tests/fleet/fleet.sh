#!/usr/bin/env bash
# vmctl's fleet suite: a real 3-member etcd cluster (TLS client certificates, etcd auth, a user
# per host) and 3 "hosts", each a network namespace with its own VMCTL_HOME, `vmctl agent` and
# netns VMs getting real DHCP leases. Run it inside a fresh namespace:
#
#   unshare -n -m --propagation private bash tests/fleet/fleet.sh
#
# with VMCTL pointing at the binary (tests/fleet.rs does this).
#
# The namespace the suite starts in plays the LAN: a bridge `lan` carrying the etcd members'
# addresses 10.77.0.11-13. Host hN is the namespace hN, joined to that bridge by a veth
# (hN-lan outside, lan0 inside, 10.77.0.2N). Its vmctl commands and agent run under
# `ip netns exec hN`, so its bridge, dnsmasq and nft tables live in hN; a VM is one more
# namespace whose eth0 vmctl moves in from hN (network namespaces are not nested: any
# namespace's links can be moved to any other, by the path under /run/netns).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns-lib.sh
. "$here/../netns-lib.sh"
# shellcheck source=tests/fleet/etcd-cluster.sh
. "$here/etcd-cluster.sh"

hosts=(h1 h2 h3)
declare -A agent_pid=()

fleet_cleanup() {
  local h vm pidfile
  for h in "${hosts[@]}"; do
    [ -d "$home/$h" ] || continue
    for vm in $(on "$h" "$V" list --running --field name -j 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4); do
      on "$h" "$V" stop "$vm" >/dev/null 2>&1
    done
    agent_stop "$h" TERM
    for pidfile in "$home/$h"/networks/*/dnsmasq.pid; do
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
  done
  for pid in "${watch_pids[@]}"; do kill "$pid" 2>/dev/null; done
  etcd_stop_all
}
declare -a watch_pids=()
trap 'fleet_cleanup; cleanup' EXIT

# refused WHAT PATTERN CMD...: CMD fails and says PATTERN.
refused() {
  local what=$1 pattern=$2; shift 2
  if out=$("$@" 2>&1); then bad "$what (it succeeded)"; printf '%s\n' "$out" | sed 's/^/       /' | head -20
  elif printf '%s' "$out" | grep -qi -- "$pattern"; then ok "$what"
  else bad "$what: failed without saying '$pattern'"; printf '%s\n' "$out" | sed 's/^/       /' | tail -5; fi
}

# on HOST CMD...: CMD in HOST's namespace with HOST's home.
on() { local h=$1; shift; ip netns exec "$h" env VMCTL_HOME="$home/$h" "$@"; }
# vh HOST ARGS...: vmctl on HOST.
vh() { local h=$1; shift; on "$h" "$V" "$@"; }

agent_start() {
  vh "$1" agent >>"$home/$1.agent.log" 2>&1 &
  agent_pid[$1]=$!
}
agent_stop() { # agent_stop HOST [SIGNAL]
  local pid=${agent_pid[$1]:-}
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  agent_pid[$1]=
}

echo "# 0. the LAN and a 3-member etcd cluster: TLS with client certificates, auth, a role per host"
ip link add lan type bridge && ip link set lan up
for ip in "${etcd_ips[@]}"; do ip addr add "$ip/24" dev lan; done
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

summary
