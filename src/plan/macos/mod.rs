//! The macOS plan: vmnet parameters per network, one pf anchor per VM (filter rules as `quick`
//! rules so the first match wins, `rdr` for port forwards to the host's own addresses), and
//! bootptab lines for static IPs.
//!
//! Anchors are named `com.apple/vmctl.<vm>`: the stock `/etc/pf.conf` evaluates
//! `anchor "com.apple/*"` and `rdr-anchor "com.apple/*"`, so they take effect without editing it.
//! Load one with `pfctl -a com.apple/vmctl.<vm> -f -`.
//!
//! The pf text is rendered in `pf`, the bootptab lines in `bootptab`.

pub mod bootptab;
pub mod pf;
#[cfg(test)]
mod pf_grammar;

use std::fmt::Write;

use serde::Serialize;

pub use pf::PfAnchor;

use super::PlanInput;
use crate::error::Error;

/// vmnet parameters of a network (`vmnet_start_address_key` ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmnetNetwork {
    pub network: String,
    pub mode: String,
    pub start_address: String,
    pub end_address: String,
    pub subnet_mask: String,
    /// VMs started with `vmnet_enable_isolation_key` (no-local).
    pub isolated: Vec<String>,
}

/// Everything the macOS backend applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MacosPlan {
    pub vmnet: Vec<VmnetNetwork>,
    pub anchors: Vec<PfAnchor>,
    /// `/etc/bootptab` contents (static IPs).
    pub bootptab: String,
    pub notes: Vec<String>,
}

impl MacosPlan {
    pub fn vmnet_text(&self) -> String {
        let mut out = String::new();
        for n in &self.vmnet {
            let _ = writeln!(
                out,
                "{}: mode {} start {} end {} mask {} isolated [{}]",
                n.network,
                n.mode,
                n.start_address,
                n.end_address,
                n.subnet_mask,
                n.isolated.join(", ")
            );
        }
        out
    }
}

/// Compute the macOS plan.
pub fn plan(input: &PlanInput) -> Result<MacosPlan, Error> {
    input.validate()?;
    let mut notes = Vec::new();
    let vmnet = input
        .networks()
        .into_iter()
        .map(|network| {
            let addr = input.address_plan(network);
            VmnetNetwork {
                network: network.into(),
                mode: if input.host_only(network) {
                    "host".into()
                } else {
                    "shared".into()
                },
                start_address: addr.start.to_string(),
                end_address: addr.end.to_string(),
                subnet_mask: addr.mask.to_string(),
                isolated: input
                    .vms
                    .iter()
                    .filter(|vm| vm.no_local && vm.network.as_deref() == Some(network))
                    .map(|vm| vm.name.clone())
                    .collect(),
            }
        })
        .collect();
    let anchors = pf::anchors(input, &mut notes);
    let bootptab = bootptab::bootptab(input);
    Ok(MacosPlan {
        vmnet,
        anchors,
        bootptab,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_input;
    use super::*;

    #[test]
    fn snapshot() {
        let plan = plan(&sample_input()).unwrap();
        let text = format!(
            "## vmnet\n{}## pf\n{}## bootptab\n{}## notes\n{}\n",
            plan.vmnet_text(),
            plan.pf_text(),
            plan.bootptab,
            plan.notes.join("\n")
        );
        crate::test_support::assert_snapshot("macos_plan.txt", &text);
    }
}
