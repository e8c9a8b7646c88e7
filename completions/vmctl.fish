# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vmctl_global_optspecs
    string join \n home= j/json y/yes q/quiet verbose h/help V/version
end

function __fish_vmctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vmctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vmctl_using_subcommand
    set -l cmd (__fish_vmctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vmctl -n "__fish_vmctl_needs_command" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_needs_command" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_needs_command" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_needs_command" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_needs_command" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_needs_command" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_needs_command" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "create" -d 'Register a VM\'s network profile (defaults from `vmctl config`)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "list" -d 'List the VMs: name, uuid, creation_date, mode, network, mac, ip, status'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "show" -d 'Show a VM, its network settings, or its port forwards'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "describe" -d 'Describe a VM as Anka\'s `describe` does: name, uuid, network_cards'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "modify" -d 'Change a VM\'s network card or port forwards'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "clone" -d 'Copy a VM\'s profile; a static MAC is dropped unless --keep-mac'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "delete" -d 'Delete VMs\' profiles (asks first unless --yes)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "config" -d 'Show or change host settings (precedence: VMCTL_<KEY> > ANKA_<KEY> > file > default)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "plan" -d 'Print what starting the VMs would apply to the host (pure: nothing is changed)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "ip" -d 'Print the best current IPv4 address of a VM'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "leases" -d 'List DHCP leases with their owner VM, expiry and the pool\'s used/free count'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "hosts-sync" -d 'Keep a marked block of /etc/hosts in step with the VMs\' addresses (dry run without --apply)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "start" -d 'Bring a VM\'s NIC up: a TAP for its hypervisor, or a veth into a network namespace'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "stop" -d 'Take a VM\'s NIC down; the last VM off takes its network\'s bridge, dnsmasq and rules along'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "run" -d 'Start a VM\'s network, run its hypervisor, stop the network when the hypervisor exits'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "doctor" -d 'Check the host: tools, privileges, dead dnsmasq, vanished or orphaned links and rules'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "network" -d 'Named networks: create, list, show, delete, import (Lima, vmnet-broker)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "agent" -d 'Publish this host\'s VMs to the fleet registry and keep them alive (runs until stopped)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "fleet" -d 'The VMs of every host in the fleet registry'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "lease-event" -d 'Record a lease change reported by dnsmasq (run by dnsmasq, not by people)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "relay-helper" -d 'Relay a VM\'s socket to its TAP (started by `vmctl start --attach socket`, not by people)'
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "completions"
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "man"
complete -c vmctl -n "__fish_vmctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s t -l mode -l type -d 'Network mode (`--type` as in Anka\'s docs)' -r -f -a "shared\t''
host\t''
bridge\t''
disconnected\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s b -l bridge -d 'Host interface for bridge mode, or `auto` (bridge_name / ANKA_BRIDGE_NAME / ANKA_BRIDGE, else the default route\'s)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s m -l mac -d 'Static MAC (unicast), or `auto` for a stable vmctl-made one' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l ip -d 'Static IP, reserved in the network\'s DHCP server (shared/host only), or `auto`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s c -l controller -d 'NIC model' -r -f -a "virtio-net\t''
anet\t''
e1000\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s v -l vlan -d 'VLAN ID (0 = none)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s f -l filter -d 'IP filter rules: a file (checked now, re-read at every start and plan), `-` for stdin (kept in the profile), or `off`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l network -d 'Network by name: `shared` or `host` (built in; same as --mode), or one made with `vmctl network create`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s n -l bond -d 'Anka\'s NIC bonding: accepted and ignored (a vmctl VM has one NIC on one host interface)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l local -d 'Allow traffic to other VMs and the host'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l no-local -d 'Block traffic to other VMs and the host (DHCP/DNS stay open); anti-spoofing'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l local-default -d 'Follow the host\'s `no_local` setting'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand create" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s f -l field -d 'A column to show (FIELD), or a filter on rows (FIELD=VALUE); repeat or separate with commas' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s r -l running -d 'Only running (started) VMs'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s s -l stopped -d 'Only stopped VMs'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s a -l all -d 'Every VM: the default (Anka\'s `-a` adds its image cache, which vmctl does not have)'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand list" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s f -l filter -d 'Print the VM\'s IP filter rules (its own, else the host\'s net_filter)'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand show" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand describe" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "network" -d 'Change the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "port" -d 'Add a port forward, change one (NAME exists), or delete one (-d NAME) or all (-d --all)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "add" -d 'Add a port forward (`add port NAME [RULE] [-g N] [-p N] [-l IP]`), or connect a deleted network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "delete" -d 'Delete port forwards (`delete port [--all] [NAME...]`), or the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "set" -d 'Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and not __fish_seen_subcommand_from network port add delete set help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s t -l mode -l type -d 'Network mode (`--type` as in Anka\'s docs)' -r -f -a "shared\t''
host\t''
bridge\t''
disconnected\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s b -l bridge -d 'Host interface for bridge mode, or `auto` (bridge_name / ANKA_BRIDGE_NAME / ANKA_BRIDGE, else the default route\'s)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s m -l mac -d 'Static MAC (unicast), or `auto` for a stable vmctl-made one' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l ip -d 'Static IP, reserved in the network\'s DHCP server (shared/host only), or `auto`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s c -l controller -d 'NIC model' -r -f -a "virtio-net\t''
anet\t''
e1000\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s v -l vlan -d 'VLAN ID (0 = none)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s f -l filter -d 'IP filter rules: a file (checked now, re-read at every start and plan), `-` for stdin (kept in the profile), or `off`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l network -d 'Network by name: `shared` or `host` (built in; same as --mode), or one made with `vmctl network create`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s n -l bond -d 'Anka\'s NIC bonding: accepted and ignored (a vmctl VM has one NIC on one host interface)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l local -d 'Allow traffic to other VMs and the host'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l no-local -d 'Block traffic to other VMs and the host (DHCP/DNS stay open); anti-spoofing'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l local-default -d 'Follow the host\'s `no_local` setting'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from network" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s g -l guest-port -d 'Guest port (instead of RULE)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s p -l host-port -d 'Host port; 0 or none: the lowest free one from portfwd_base (a rule that has one keeps it)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s l -l host-ip -d 'Host address to listen on [default for a new rule: 0.0.0.0, every address]' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -l protocol -d 'Protocol [default for a new rule: tcp]' -r -f -a "tcp\t''
udp\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -l guest-ip -d 'Anka 2.x\'s guest address: vmctl forwards to the address the VM has (accepted; a different one than its static IP is a warning)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -l set-name -d 'New name of the rule NAME' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s r -l reverse -d 'Anka\'s reverse rule (guest to a host address or socket): refused with the reason, as vmctl forwards host ports into guests only'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s d -l delete -d 'Delete the named rule (or every rule with --all)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s a -l all -d 'With --delete: every rule'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from port" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -f -a "port" -d 'Add a port forward (Anka 2.x: `add port-forwarding`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -f -a "port-forwarding" -d 'Add a port forward (Anka 2.x: `add port-forwarding`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -f -a "network" -d 'Connect the network card of a VM whose card is deleted (a vmctl VM has one NIC)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from add" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -f -a "port" -d 'Delete port forwards (Anka 2.x: `delete port-forwarding`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -f -a "port-forwarding" -d 'Delete port forwards (Anka 2.x: `delete port-forwarding`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -f -a "network" -d 'Delete the network card: the VM keeps it, disconnected (same as `network -t disconnected`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from delete" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -f -a "network-card" -d 'Anka 2.x\'s `set network-card` flags'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from set" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "network" -d 'Change the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "port" -d 'Add a port forward, change one (NAME exists), or delete one (-d NAME) or all (-d --all)'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a port forward (`add port NAME [RULE] [-g N] [-p N] [-l IP]`), or connect a deleted network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete port forwards (`delete port [--all] [NAME...]`), or the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "set" -d 'Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`'
complete -c vmctl -n "__fish_vmctl_using_subcommand modify; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -l keep-mac -d 'Keep a static MAC (warns: both VMs cannot run at once)'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand clone" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s a -l all -d 'Every stored VM (none may be started)'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand delete" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s r -l reset -d 'Reset the named keys to their defaults; with no key, every key (asks first unless --yes)' -r -f -a "no_local\t''
bridge_name\t''
network_mode\t''
network_controller\t''
net_filter\t''
portfwd_base\t''
start_address\t''
end_address\t''
subnet_mask\t''
host_start_address\t''
host_end_address\t''
host_subnet_mask\t''
dhcp_lease_time\t''
mac_prefix\t''
dhcp_leases_file\t''
registry\t''
registry_ca\t''
registry_cert\t''
registry_key\t''
registry_user\t''
registry_password_file\t''
host_name\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -l unset -d 'Remove KEY from the config file (back to its default)' -r -f -a "no_local\t''
bridge_name\t''
network_mode\t''
network_controller\t''
net_filter\t''
portfwd_base\t''
start_address\t''
end_address\t''
subnet_mask\t''
host_start_address\t''
host_end_address\t''
host_subnet_mask\t''
dhcp_lease_time\t''
mac_prefix\t''
dhcp_leases_file\t''
registry\t''
registry_ca\t''
registry_cert\t''
registry_key\t''
registry_user\t''
registry_password_file\t''
host_name\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s l -l list -d 'Show where each value comes from (default, config file, env)'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand config" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -l platform -d 'Platform to plan for [default: this machine\'s]' -r -f -a "linux\t''
macos\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -l part -d 'Print only this part (linux: links, dnsmasq, nft; macos: vmnet, pf, bootptab)' -r -f -a "links\t''
dnsmasq\t''
nft\t''
vmnet\t''
pf\t''
bootptab\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand plan" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l wait -d 'Wait this long for an address (e.g. 30s, 2m, 500ms; a bare number is seconds)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l source -d 'Where to look: DHCP leases, the neighbour table, or both plus a port-22 probe' -r -f -a "lease\t''
arp\t''
any\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l file -d 'Lease file to read instead of the default ones' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l host -d 'With --fleet: the host, when the name is on several' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l fleet -d 'Ask the fleet registry: the VM may be on any host (its address as its host publishes it)'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand ip" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -l network -d 'Only this network\'s leases and pool (shared, host, or a named network)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -l file -d 'Lease file to read (bootpd or dnsmasq format) [default: dhcp_leases_file on macOS, vmctl\'s dnsmasq files on Linux]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -l all -d 'Include expired leases'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand leases" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -l hosts-file -d 'The hosts file' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -l leases-file -d 'Lease file to read instead of the default ones' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -l apply -d 'Write the change'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand hosts-sync" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -l attach -d 'How the NIC reaches the VM: `tap` (a TAP for a hypervisor), `socket` (a unix datagram socket relayed through the frame policy) or `netns:NAME`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -l owner -d 'User (name or uid) allowed to open the TAP, for an unprivileged hypervisor' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand start" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s a -l all -d 'Every running VM'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s f -l force -d 'Anka\'s forceful stop: accepted; vmctl\'s stop takes only the VM\'s networking down, which is the same either way'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand stop" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -l attach -d 'How the NIC reaches the VM: `tap` (a TAP for the hypervisor), `socket` (a unix datagram socket, {socket}) or `netns:NAME`' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -l owner -d 'User (name or uid) allowed to open the TAP [default: --user\'s]' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -l user -d 'Run the command as this user (name or uid)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand run" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -l fix -d 'Repair what is found'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "create" -d 'Make a named network'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "list" -d 'Every network: name, mode, subnet, gateway, DHCP range, VMs, up/down'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "show" -d 'One network as a table'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "delete" -d 'Delete a named network (refused while VMs use it, unless --force)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "import" -d 'Create networks from Lima\'s networks.yaml or vmnet-broker\'s folder (a dry run unless --apply)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and not __fish_seen_subcommand_from create list show delete import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s t -l mode -d 'shared (NAT to the outside), host (host-only) or bridge (a host interface)' -r -f -a "shared\t''
host\t''
bridge\t''"
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l subnet -d 'The subnet, e.g. 10.77.0.0/24 (the host takes its first address, DHCP the rest), or `auto`: the first free one [default: auto]' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l mask -d 'With --subnet auto (the default): the size of the subnet, as a mask' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l interface -d 'Bridge mode: the host interface' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l description -d 'A line saying what it is for' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -l force -d 'Delete it although stored VMs use it: they move to the built-in network of its mode (started VMs must be stopped first)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -l apply -d 'Create the networks (without it: show what would be created)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make a named network'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every network: name, mode, subnet, gateway, DHCP range, VMs, up/down'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "show" -d 'One network as a table'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a named network (refused while VMs use it, unless --force)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "import" -d 'Create networks from Lima\'s networks.yaml or vmnet-broker\'s folder (a dry run unless --apply)'
complete -c vmctl -n "__fish_vmctl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand agent" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "hosts" -d 'Every host: address, VMs, alive or when it was last seen'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "list" -d 'Every VM on every host'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "show" -d 'Where a VM is and how to reach it'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "watch" -d 'One JSON line per change (a VM or a host came, changed or went), until interrupted'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "simulate" -d 'Write HOSTS x VMS made-up records through the agent\'s code (benchmarks)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and not __fish_seen_subcommand_from hosts list show watch simulate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from hosts" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s f -l field -d 'Only rows where FIELD is VALUE (host, name, mode, network, mac, ip, status); repeat' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -l host -d 'The host, when the name is on several' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -l revision -d 'Start after this revision (as a line printed before gave it) instead of now' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from watch" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -l hosts -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -l vms -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -l ttl -d 'The lease of the made-up hosts, in seconds' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from simulate" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "hosts" -d 'Every host: address, VMs, alive or when it was last seen'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every VM on every host'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "show" -d 'Where a VM is and how to reach it'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "watch" -d 'One JSON line per change (a VM or a host came, changed or went), until interrupted'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "simulate" -d 'Write HOSTS x VMS made-up records through the agent\'s code (benchmarks)'
complete -c vmctl -n "__fish_vmctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand lease-event" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l tap -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l vmnet -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l socket -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l owner -d 'The socket\'s owner, UID:GID (the hypervisor\'s user); it is bound as that user' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l mac -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l gateway -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l gateway-mac -d 'The gateway\'s MAC (a TAP\'s: the vmctl bridge\'s); a vmnet helper asks the host for it' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l subnet -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l address -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l report -d 'The vmctl network to report the VM\'s learned address on (as a lease event)' -r
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l no-local
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand relay-helper" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -l out-dir -d 'Write one page per command into DIR instead of printing vmctl(1)' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -l home -d 'Folder of profiles and settings [default: the per-user data folder]' -r -F
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -s j -l json -l machine-readable -d 'Print one JSON document: {"status":"OK","body":...} (also VMCTL_JSON, ANKA_MACHINE_READABLE)'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -s y -l yes -d 'Answer yes to confirmations'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -s q -l quiet -d 'Print no notes or warnings on stderr'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -l verbose -d 'Say more about what happens (`-v` belongs to `--vlan`, as in Anka)'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -s h -l help -d 'Print help'
complete -c vmctl -n "__fish_vmctl_using_subcommand man" -s V -l version -d 'Print version'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "create" -d 'Register a VM\'s network profile (defaults from `vmctl config`)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "list" -d 'List the VMs: name, uuid, creation_date, mode, network, mac, ip, status'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "show" -d 'Show a VM, its network settings, or its port forwards'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "describe" -d 'Describe a VM as Anka\'s `describe` does: name, uuid, network_cards'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "modify" -d 'Change a VM\'s network card or port forwards'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "clone" -d 'Copy a VM\'s profile; a static MAC is dropped unless --keep-mac'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "delete" -d 'Delete VMs\' profiles (asks first unless --yes)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "config" -d 'Show or change host settings (precedence: VMCTL_<KEY> > ANKA_<KEY> > file > default)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "plan" -d 'Print what starting the VMs would apply to the host (pure: nothing is changed)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "ip" -d 'Print the best current IPv4 address of a VM'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "leases" -d 'List DHCP leases with their owner VM, expiry and the pool\'s used/free count'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "hosts-sync" -d 'Keep a marked block of /etc/hosts in step with the VMs\' addresses (dry run without --apply)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "start" -d 'Bring a VM\'s NIC up: a TAP for its hypervisor, or a veth into a network namespace'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "stop" -d 'Take a VM\'s NIC down; the last VM off takes its network\'s bridge, dnsmasq and rules along'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "run" -d 'Start a VM\'s network, run its hypervisor, stop the network when the hypervisor exits'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "doctor" -d 'Check the host: tools, privileges, dead dnsmasq, vanished or orphaned links and rules'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "network" -d 'Named networks: create, list, show, delete, import (Lima, vmnet-broker)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "agent" -d 'Publish this host\'s VMs to the fleet registry and keep them alive (runs until stopped)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "fleet" -d 'The VMs of every host in the fleet registry'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "lease-event" -d 'Record a lease change reported by dnsmasq (run by dnsmasq, not by people)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "relay-helper" -d 'Relay a VM\'s socket to its TAP (started by `vmctl start --attach socket`, not by people)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "completions"
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "man"
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and not __fish_seen_subcommand_from create list show describe modify clone delete config plan ip leases hosts-sync start stop run doctor network agent fleet lease-event relay-helper completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from modify" -f -a "network" -d 'Change the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from modify" -f -a "port" -d 'Add a port forward, change one (NAME exists), or delete one (-d NAME) or all (-d --all)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from modify" -f -a "add" -d 'Add a port forward (`add port NAME [RULE] [-g N] [-p N] [-l IP]`), or connect a deleted network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from modify" -f -a "delete" -d 'Delete port forwards (`delete port [--all] [NAME...]`), or the network card'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from modify" -f -a "set" -d 'Anka 2.x: `modify VM set network-card [-t] [-b] [-m] [--local|--no-local] [INDEX]`'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "create" -d 'Make a named network'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "list" -d 'Every network: name, mode, subnet, gateway, DHCP range, VMs, up/down'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "show" -d 'One network as a table'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "delete" -d 'Delete a named network (refused while VMs use it, unless --force)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "import" -d 'Create networks from Lima\'s networks.yaml or vmnet-broker\'s folder (a dry run unless --apply)'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "hosts" -d 'Every host: address, VMs, alive or when it was last seen'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "list" -d 'Every VM on every host'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "show" -d 'Where a VM is and how to reach it'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "watch" -d 'One JSON line per change (a VM or a host came, changed or went), until interrupted'
complete -c vmctl -n "__fish_vmctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "simulate" -d 'Write HOSTS x VMS made-up records through the agent\'s code (benchmarks)'
