#!/bin/sh
# Make a VM come back after a reboot: a LaunchDaemon that starts it at boot.
#
#   sudo contrib/launchd/install.sh [--home DIR] [--vmctl PATH] [--print] VM [-- HYPERVISOR ARGS...]
#
# Without a hypervisor, the daemon runs `vmctl start VM` at boot (tried again every 10 s until
# it succeeds): the VM's relay helper, pf anchor and reservation come back, and your own tooling
# starts the VM. With one, it runs `vmctl run VM -- HYPERVISOR ARGS...` and launchd keeps it
# running: the hypervisor and its network come back as one, after a reboot or a crash (vmctl
# run ends the hypervisor when its relay dies, so launchd starts both again). `{socket}`,
# `{mac}`... in ARGS are vmctl run's placeholders; vmctl run's own flags go between VM and
# `--`: `web --user alice -- vfkit ...` runs vfkit as alice, who owns the VM's socket.
#
# The daemon runs as root: the vmctl binary and every folder above it must be root's and
# writable by nobody else (else whoever can replace it gets root at boot); refused otherwise.
# --print writes the plist to stdout and installs nothing. Remove one with:
#   sudo launchctl bootout system/org.vmctl.vm.VM; sudo rm /Library/LaunchDaemons/org.vmctl.vm.VM.plist
set -eu

die() { printf 'error: %s\nhint: %s\n' "$1" "$2" >&2; exit 2; }

home=${VMCTL_HOME:-}
vmctl=
print=
while [ $# -gt 0 ]; do
  case $1 in
    --home) [ $# -ge 2 ] || die "--home needs a folder" "--home /var/vmctl"; home=$2; shift 2 ;;
    --vmctl) [ $# -ge 2 ] || die "--vmctl needs a path" "--vmctl /usr/local/bin/vmctl"; vmctl=$2; shift 2 ;;
    --print) print=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) die "unknown option $1" "see $0 --help" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "which VM?" "$0 [--home DIR] VM [-- HYPERVISOR ARGS...]"
vm=$1; shift
case $vm in
  ''|-*|*[!A-Za-z0-9._-]*) die "'$vm' is not a VM name" "vmctl list shows them" ;;
esac
# With `--` the rest is vmctl run's: its own flags (--user, --attach...), `--`, the hypervisor.
hypervisor=
for a in "$@"; do
  [ "$a" = -- ] && hypervisor=1
done
if [ -n "$hypervisor" ]; then
  last=
  for a in "$@"; do last=$a; done
  [ "$last" != -- ] || die "nothing after --" "give the hypervisor and its arguments after --"
elif [ $# -gt 0 ]; then
  die "'$1' after the VM, without a hypervisor" "write vmctl run's flags and the hypervisor: VM [--user NAME] -- HYPERVISOR ARGS..."
fi

if [ -z "$vmctl" ]; then
  vmctl=$(command -v vmctl) || die "no vmctl on PATH" "--vmctl /usr/local/bin/vmctl"
fi
case $vmctl in /*) ;; *) die "--vmctl must be an absolute path" "--vmctl /usr/local/bin/vmctl" ;; esac
if [ -z "$home" ] && [ -n "${SUDO_USER:-}" ]; then
  home=$(eval echo "~$SUDO_USER")/Library/Application\ Support/vmctl
fi
[ -n "$home" ] || die "which vmctl home?" "--home DIR: the folder your VMs are in (VMCTL_HOME, or --home as you run vmctl)"

# Root's, and nobody else's to replace: the binary (a link followed) and each folder above it
# (links resolved).
[ -f "$vmctl" ] || die "$vmctl does not exist" "install vmctl first, e.g. /usr/local/bin/vmctl"
path=$vmctl
first=1
while :; do
  if [ -n "$first" ]; then
    listed=$(ls -ldnL "$path")
    first=
    path=$(cd "$(dirname "$path")" && pwd -P)/$(basename "$path")
  else
    listed=$(ls -ldn "$path")
  fi
  owner=$(printf '%s' "$listed" | awk '{print $3}')
  mode=$(printf '%s' "$listed" | awk '{print $1}')
  [ "$owner" = 0 ] || die "$path is not root's (uid $owner): whoever owns it would get root at boot" "sudo chown root:wheel $path"
  case $mode in
    ?????w????*|????????w?*) [ -k "$path" ] && [ -d "$path" ] || die "$path can be written by others: they would get root at boot" "sudo chmod go-w $path" ;;
  esac
  [ "$path" = / ] && break
  path=$(dirname "$path")
done

xml() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
arg() { printf '\t\t<string>%s</string>\n' "$(xml "$1")"; }

label=org.vmctl.vm.$vm
plist=$(
  printf '<?xml version="1.0" encoding="UTF-8"?>\n'
  printf '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
  printf '<plist version="1.0">\n<dict>\n'
  printf '\t<key>Label</key>\n\t<string>%s</string>\n' "$label"
  printf '\t<key>ProgramArguments</key>\n\t<array>\n'
  arg "$vmctl"; arg --home; arg "$home"
  if [ -n "$hypervisor" ]; then
    arg run; arg "$vm"
    for a in "$@"; do arg "$a"; done
  else
    arg start; arg "$vm"
  fi
  printf '\t</array>\n'
  printf '\t<key>RunAtLoad</key>\n\t<true/>\n'
  if [ -n "$hypervisor" ]; then
    printf '\t<key>KeepAlive</key>\n\t<true/>\n'
  else
    # Until a start succeeds (the network may come up after launchd starts it).
    printf '\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n'
    # The relay helper outlives `vmctl start`: launchd must not end it with the job.
    printf '\t<key>AbandonProcessGroup</key>\n\t<true/>\n'
  fi
  printf '\t<key>ThrottleInterval</key>\n\t<integer>10</integer>\n'
  printf '\t<key>ProcessType</key>\n\t<string>Interactive</string>\n'
  printf '\t<key>StandardErrorPath</key>\n\t<string>/var/log/%s.log</string>\n' "$label"
  printf '</dict>\n</plist>\n'
)

if [ -n "$print" ]; then
  printf '%s\n' "$plist"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "installing a LaunchDaemon needs root" "sudo $0 ..."
target=/Library/LaunchDaemons/$label.plist
launchctl bootout "system/$label" 2>/dev/null || true
umask 022
printf '%s\n' "$plist" > "$target.tmp"
chown root:wheel "$target.tmp"
chmod 644 "$target.tmp"
plutil -lint "$target.tmp" >/dev/null || { rm -f "$target.tmp"; die "the plist does not lint" "report this: $0 --print ..."; }
mv "$target.tmp" "$target"
launchctl bootstrap system "$target"
echo "installed $target: VM '$vm' starts at boot (log: /var/log/$label.log)"
