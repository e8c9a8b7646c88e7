//! The macOS plan's bootptab: bootpd's reservation lines for the VMs with static IPs.

use std::fmt::Write;

use crate::model::Mac;
use crate::plan::PlanInput;

/// `/etc/bootptab` contents: a header, then one line per VM on a network with a static IP.
pub(super) fn bootptab(input: &PlanInput) -> String {
    let mut bootptab =
        String::from("%%\n# hostname\thwtype\thwaddr\tipaddr\tbootfile (vmctl static IPs)\n");
    for vm in input
        .vms
        .iter()
        .filter(|vm| vm.static_ip.is_some() && vm.network.as_deref().is_some())
    {
        if let Some(ip) = vm.ip {
            let _ = writeln!(bootptab, "{}\t1\t{}\t{ip}", vm.name, Mac(vm.mac));
        }
    }
    bootptab
}
