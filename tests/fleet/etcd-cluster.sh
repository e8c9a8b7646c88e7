# Sourced by the fleet suite (tests/fleet/fleet.sh): a 3-member etcd cluster with TLS (client
# certificates required, peers too) and etcd auth. Member N runs in its own network namespace eN
# at 10.77.0.1N, on the LAN bridge the suite made: one machine each, as in a real cluster (with
# all three addresses in one namespace, a member's outgoing peer connections would leave from
# the first address and the others would reject its certificate for that address).
#
#   etcd_lan BRIDGE                the namespaces e1-e3, each a veth on BRIDGE
#   etcd_certs                     in $etcd_dir (set it first): CA, one server/peer certificate
#                                  per member (IP SANs), client certificates for root, h1-h3
#   etcd_start N / etcd_stop N     member N (1-3) in eN, on :2379 (clients) and :2380 (peers)
#   etcd_wait_ready SECONDS        until the cluster answers a linearizable read
#   etcd_auth_setup HOST...        root user, a user and role per host, auth on
#   ectl USER ARGS...              etcdctl as USER (client certificate + password) on all members
#   ectl_argv USER                 that command line in the array `ectl`
#   evalue USER KEY                the value of KEY as USER sees it
#   etcd_stop_all                  every member still running (the suite's cleanup)
#
# Every member runs in the background; its pid is kept in etcd_pids[N] and stopped by that pid.
# Passwords are in $etcd_dir/pass/USER, the form `registry_password_file` reads.

etcd_ips=(10.77.0.11 10.77.0.12 10.77.0.13)
etcd_endpoints=https://10.77.0.11:2379,https://10.77.0.12:2379,https://10.77.0.13:2379
declare -a etcd_pids=()

etcd_lan() {
  local n
  for n in 1 2 3; do
    ip netns add "e$n" || return 1
    ip link add "e$n-lan" type veth peer name lan0 netns "e$n" || return 1
    ip link set "e$n-lan" master "$1" up
    ip -n "e$n" addr add "${etcd_ips[n - 1]}/24" dev lan0
    ip -n "e$n" link set lan0 up && ip -n "e$n" link set lo up || return 1
  done
}

# _etcd_cert NAME SUBJECT EXTENSIONS: a P-256 key (PKCS#8) and a certificate signed by the CA.
_etcd_cert() {
  local d=$etcd_dir/pki
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
    -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null || return 1
  printf '%s\n' "$3" >"$d/$1.ext"
  openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null || return 1
  chmod 600 "$d/$1.key"
}

etcd_certs() {
  local d=$etcd_dir/pki n user
  mkdir -p "$d" "$etcd_dir/pass"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=vmctl fleet suite CA" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
  for n in 1 2 3; do
    # A member's certificate serves clients and peers and is the client side of peer links.
    _etcd_cert "m$n" "/CN=m$n" "subjectAltName=IP:${etcd_ips[n - 1]},IP:127.0.0.1
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth" || return 1
  done
  # root's certificate names root (CN): etcdctl, on gRPC, may act as root with it alone. A host's
  # has no CN: etcd's JSON gateway, which vmctl speaks, refuses any client certificate with a CN
  # ("CommonName of client sending a request against gateway will be ignored"), as it cannot
  # map one to a user; the host is its etcd user by password.
  for user in root h1 h2 h3; do
    local subject="/O=vmctl fleet suite/OU=$user"
    [ "$user" = root ] && subject=/CN=root
    _etcd_cert "$user" "$subject" "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth" || return 1
    # Fixed per run, not guessable across runs; no newline, as a password file is usually made.
    printf '%s' "$user-$(openssl rand -hex 8)" >"$etcd_dir/pass/$user"
  done
}

etcd_start() {
  local n=$1 ip=${etcd_ips[$1 - 1]} d=$etcd_dir/pki
  # ip netns exec execs etcd: $! is the member's own pid.
  ip netns exec "e$n" etcd --name "m$n" --data-dir "$etcd_dir/m$n" \
    --listen-client-urls "https://$ip:2379" --advertise-client-urls "https://$ip:2379" \
    --listen-peer-urls "https://$ip:2380" --initial-advertise-peer-urls "https://$ip:2380" \
    --initial-cluster "m1=https://${etcd_ips[0]}:2380,m2=https://${etcd_ips[1]}:2380,m3=https://${etcd_ips[2]}:2380" \
    --initial-cluster-state new --initial-cluster-token vmctl-fleet-suite \
    --client-cert-auth --trusted-ca-file "$d/ca.crt" --cert-file "$d/m$n.crt" --key-file "$d/m$n.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$d/ca.crt" --peer-cert-file "$d/m$n.crt" --peer-key-file "$d/m$n.key" \
    --logger zap --log-outputs stderr --log-level warn \
    >>"$etcd_dir/m$n.log" 2>&1 &
  etcd_pids[n]=$!
}

# etcd_stop N [SIGNAL]: SIGKILL by default (a member that dies, not one that leaves).
etcd_stop() {
  local pid=${etcd_pids[$1]:-}
  [ -n "$pid" ] || return 0
  kill "-${2:-KILL}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  etcd_pids[$1]=
}

etcd_stop_all() {
  local n
  for n in 1 2 3; do etcd_stop "$n" TERM; done
}

# ectl USER ARGS...: etcdctl over TLS with USER's client certificate; with a password unless
# USER is "cert" (then the root certificate alone, for checks before auth is on).
ectl() { ectl_argv "$1" && shift && "${ectl[@]}" "$@"; }
# ectl_argv USER: the etcdctl command line of ectl in the array `ectl` (to run it in the
# background as the shell's own child, its pid in $!).
ectl_argv() {
  local user=$1 d=$etcd_dir/pki
  local auth=()
  if [ "$user" = cert ]; then user=root; else auth=(--user "$user:$(cat "$etcd_dir/pass/$user")"); fi
  ectl=(env ETCDCTL_API=3 etcdctl --endpoints "$etcd_endpoints" --cacert "$d/ca.crt" --cert "$d/$user.crt"
    --key "$d/$user.key" --dial-timeout 2s --command-timeout 3s "${auth[@]}")
}

evalue() { ectl "$1" get "$2" --print-value-only; }

etcd_wait_ready() {
  local end=$((SECONDS + $1))
  until ectl "${2:-cert}" get /vmctl/ready-probe >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}

# The issue's rule: each host writes only its own prefix and the reservations; all read /vmctl/v1/.
etcd_auth_setup() {
  local host
  ectl cert user add root --new-user-password "$(cat "$etcd_dir/pass/root")" >/dev/null || return 1
  ectl cert user grant-role root root >/dev/null || return 1
  for host in "$@"; do
    ectl cert role add "$host" >/dev/null &&
      ectl cert role grant-permission "$host" readwrite --prefix=true "/vmctl/v1/hosts/$host/" >/dev/null &&
      ectl cert role grant-permission "$host" readwrite --prefix=true /vmctl/v1/reservations/ >/dev/null &&
      ectl cert role grant-permission "$host" read --prefix=true /vmctl/v1/ >/dev/null &&
      ectl cert user add "$host" --new-user-password "$(cat "$etcd_dir/pass/$host")" >/dev/null &&
      ectl cert user grant-role "$host" "$host" >/dev/null || return 1
  done
  ectl cert auth enable >/dev/null
}
