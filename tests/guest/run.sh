#!/usr/bin/env bash
# vmctl's guest suite: real QEMU guests (Debian's cloud kernel, busybox, virtio-net) started by
# `vmctl run` on vmctl TAPs, inside a fresh namespace that plays the host:
#
#   unshare -n -m --propagation private bash tests/guest/run.sh GUEST_DIR
#
# with VMCTL pointing at the binary (tests/guest.rs does this, after tests/guest/build.sh).
# Two guests boot at once (software emulation: each takes a few seconds): "fixed" with a static
# IP, and "iso", a --no-local DHCP guest that then tries a MAC of its own.
set -uo pipefail
guest=${1:?the folder tests/guest/build.sh made}
# shellcheck source=tests/netns-lib.sh
. "$(dirname "$0")/../netns-lib.sh"
has() { # has WHAT FILE LINE: the guest printed LINE
  if grep -qF "GUEST $3" "$2"; then ok "$1"; else bad "$1: no 'GUEST $3' in $2"; sed 's/^/       /' "$2" | grep -v '^ *$' | tail -15; fi
}
# await FILE PATTERN SECONDS: until the guest's console shows PATTERN (or its run is over)
await() {
  local end=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ $SECONDS -ge $end ] && return 1
    jobs -r | grep -q . || return 1
    sleep 0.1
  done
}

# guest NAME STEPS: `vmctl run NAME -- qemu ...` in the background, its console in NAME.log.
guest() {
  "$V" run "$1" -- qemu-system-x86_64 -accel tcg -m 192 -nographic -no-reboot -nodefaults \
    -serial stdio -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 vmctl.steps=$2" \
    -netdev "tap,id=n0,ifname={tap},script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac={mac},romfile=" >"$home/$1.log" 2>&1 &
  pids+=($!)
}
"$V" -q create fixed --ip 192.168.64.60
"$V" -q create iso --no-local
# fixed: its gateway, the WAN; then it stays up (25 s) while iso tries to reach it.
# iso: the WAN, then fixed (must fail), then a MAC of its own (no lease, nothing through).
guest fixed ping:192.168.64.1,ping:203.0.113.2,sleep:25
run_fixed=$!
guest iso sleep:3,ping:203.0.113.2,ping:192.168.64.60,newmac,ping:203.0.113.2
run_iso=$!

echo "# 1. a static-IP guest gets exactly its address and pings its gateway"
if await "$home/fixed.log" "GUEST lease" 60; then ok "fixed booted and got a lease"; else bad "fixed got no lease"; fi
has "fixed got exactly 192.168.64.60" "$home/fixed.log" "lease ip=192.168.64.60 mac=$("$V" show fixed network mac)"
await "$home/fixed.log" "GUEST ping 192.168.64.1" 20
has "fixed pings its gateway" "$home/fixed.log" "ping 192.168.64.1 ok"

echo "# 2. a DHCP guest's address and MAC are what vmctl says, while it runs"
if await "$home/iso.log" "GUEST lease" 60; then ok "iso booted and got a lease"; else bad "iso got no lease"; fi
line=$(grep -o 'GUEST lease ip=[0-9.]* mac=[0-9a-f:]*' "$home/iso.log" | head -1)
ip_iso=$(echo "$line" | sed -n 's/.*ip=\([0-9.]*\).*/\1/p')
mac_iso=$(echo "$line" | sed -n 's/.*mac=\([0-9a-f:]*\).*/\1/p')
same "vmctl ip iso --wait" "$ip_iso" "$("$V" ip iso --wait 5s --source lease)"
same "show iso network ip" "$ip_iso" "$("$V" show iso network ip)"
same "the MAC the guest sees is show iso network mac" "$("$V" show iso network mac)" "$mac_iso"
same "vmctl list --running" "fixed iso" "$("$V" list --running --field name -j | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
out=$("$V" run iso -- true 2>&1); rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "pid $run_iso"; then ok "a second run of iso is refused, naming pid $run_iso"; else bad "second run: rc=$rc: $out"; fi

echo "# 4. NAT to the WAN; a --no-local guest cannot reach another guest"
await "$home/fixed.log" "GUEST ping 203.0.113.2" 30
has "fixed reaches the WAN through NAT" "$home/fixed.log" "ping 203.0.113.2 ok"
await "$home/iso.log" "GUEST ping 192.168.64.60" 60
has "iso reaches the WAN through NAT" "$home/iso.log" "ping 203.0.113.2 ok"
has "iso cannot reach fixed" "$home/iso.log" "ping 192.168.64.60 fail"
# ... while fixed was up: the host reaches it right after.
if busybox ping -c 1 -W 2 192.168.64.60 >/dev/null 2>&1; then ok "fixed was up then (the host pings it)"; else bad "fixed was not up when iso tried it"; fi

echo "# 3. a --no-local guest that changes its MAC gets no lease and nothing through"
await "$home/iso.log" "GUEST done" 60
has "iso with a MAC of its own gets no lease" "$home/iso.log" "newmac nolease"
if [ "$(grep -c 'GUEST ping 203.0.113.2 fail' "$home/iso.log")" = 1 ]; then ok "and nothing through"; else bad "iso with a new MAC still got through"; fi

wait "$run_fixed"; rc_fixed=$?
wait "$run_iso"; rc_iso=$?
same "vmctl run fixed exits with QEMU's status" 0 "$rc_fixed"
same "vmctl run iso exits with QEMU's status" 0 "$rc_iso"

echo "# the frame relay (the macOS helper's code) with a real guest: QEMU -netdev dgram, --attach socket"
"$V" -q create relayed --no-local
"$V" run relayed --attach socket -- qemu-system-x86_64 -accel tcg -m 192 -nographic -no-reboot -nodefaults \
  -serial stdio -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 vmctl.steps=ping:203.0.113.2,newmac,ping:203.0.113.2,sleep:2" \
  -netdev "dgram,id=n0,local.type=unix,local.path=$home/relayed.qemu,remote.type=unix,remote.path={socket}" \
  -device "virtio-net-pci,netdev=n0,mac={mac},romfile=" >"$home/relayed.log" 2>&1 &
run_relayed=$!
pids+=($run_relayed)
await "$home/relayed.log" "GUEST newmac" 90
# The relay saw the DHCP ACK and recorded the address itself (macOS has no DHCP hook: this is
# how a DHCP VM's pf anchor gets its address there).
relayed_ip=$(sed -n 's/.*GUEST lease ip=\([0-9.]*\).*/\1/p' "$home/relayed.log" | head -1)
if grep -qF "relay: the VM has $relayed_ip (DHCP)" "$home/run/relayed.relay.log" 2>/dev/null; then
  ok "the relay learned the lease ($relayed_ip) from the DHCP ACK and recorded it"
else
  bad "the relay did not record the lease '$relayed_ip': $(cat "$home/run/relayed.relay.log" 2>&1)"
fi
# The relay dropped the forged frames before the TAP: nft's own rule for them saw none.
same "nft's forged-MAC rules saw nothing (the relay stopped them)" 0 "$(nft list table bridge vmctl | grep -F "frame from a MAC not the VM's" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')"
wait "$run_relayed"; rc=$?
same "vmctl run relayed exits with QEMU's status" 0 "$rc"
has "the relayed guest gets its lease through the relay" "$home/relayed.log" "lease ip="
has "and reaches the WAN" "$home/relayed.log" "ping 203.0.113.2 ok"
has "with a MAC of its own it gets no lease" "$home/relayed.log" "newmac nolease"
if [ "$(grep -c 'GUEST ping 203.0.113.2 fail' "$home/relayed.log")" = 1 ]; then ok "and nothing through"; else bad "the relayed guest with a new MAC got through"; fi

echo "# 5. after the last run returns nothing of vmctl remains"
same "links left" "" "$(ip -o link | awk -F': ' '{print $2}' | grep -E '^(vmt-|vmctl-)' | tr '\n' ' ')"
same "nft tables left" "" "$(nft list tables | grep vmctl)"
same "started VMs left" "" "$(ls "$home/run" 2>/dev/null)"

summary
