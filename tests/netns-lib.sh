# Sourced by the namespace suites (tests/e2e/linux.sh, tests/guest/run.sh): the throw-away host
# they run in, a home folder, cleanup, the ok/bad tally, and the WAN namespace.
V=${VMCTL:?set VMCTL to the vmctl binary}
[ "$(ip -o link | wc -l)" = 1 ] || { echo "refusing to run: this is not a fresh network namespace"; exit 2; }
mount -t tmpfs tmpfs /run && mkdir -p /run/netns
ip link set lo up
# A home with a space and " #" in its path: dnsmasq must not cut it (a comment in its config).
home=$(mktemp -d "/tmp/vmctl suite #XXXXXX")
chmod 755 "$home"
export VMCTL_HOME=$home
unset VMCTL_NO_LOCAL ANKA_NO_LOCAL VMCTL_JSON ANKA_MACHINE_READABLE
pids=()
cleanup() {
  for vm in $("$V" list --running --field name -j 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4); do
    "$V" stop "$vm" >/dev/null 2>&1
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for pidfile in "$home"/networks/*/dnsmasq.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  done
  rm -rf "$home"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
same() { # same WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}
summary() { echo "# $passed passed, $failed failed"; [ "$failed" -eq 0 ]; }

# What both suites check with: expect WHAT CMD... (CMD must succeed), expect_not WHAT CMD...
# (CMD must fail), and the nft counters of vmctl's counted rules.
expect() {
  local what=$1; shift
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what"; printf '%s\n' "$out" | sed 's/^/       /' | head -20; fi
}
expect_not() {
  local what=$1; shift
  if out=$("$@" 2>&1); then bad "$what (it succeeded)"; printf '%s\n' "$out" | sed 's/^/       /' | head -20; else ok "$what"; fi
}
# The packet count of vmctl's counted rules with this comment.
counter() {
  nft list table "$1" vmctl 2>/dev/null | grep -F "comment \"$2\"" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}'
}
grew() { # grew WHAT TABLE COMMENT BEFORE
  local now; now=$(counter "$2" "$3")
  if [ "$now" -gt "$4" ]; then ok "$1 (rule '$3': +$((now - $4)))"; else bad "$1: rule '$3' counted nothing"; fi
}
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
in_vm() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
addr() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1 | head -1; }
link_of() { "$V" -j show "$1" network | grep -o '"link":"[^"]*"' | cut -d'"' -f4; }

# The WAN: namespace "wan" at 203.0.113.2 (and 198.51.100.2), behind the host's default route.
ip netns add wan
ip link add wan0 type veth peer name eth0 netns wan
ip addr add 203.0.113.1/24 dev wan0 && ip link set wan0 up
ip -n wan addr add 203.0.113.2/24 dev eth0 && ip -n wan link set eth0 up && ip -n wan link set lo up
ip -n wan addr add 198.51.100.2/32 dev lo
ip route add default via 203.0.113.2
