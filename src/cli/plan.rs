//! `vmctl plan [VM...] --platform linux|macos [--part ...]`: print exactly what starting those
//! VMs would apply to the host, without touching it.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::error::Error;
use crate::plan::{PlanInput, linux, macos};

/// Print what starting the VMs would apply to the host (pure: nothing is changed)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl plan                                  every VM, this machine's platform
  vmctl plan web db --platform linux --part nft > vmctl.nft && nft -c -f vmctl.nft
  vmctl plan --platform macos --part pf
  vmctl -j plan --platform linux              the whole plan as JSON")]
pub struct PlanArgs {
    /// VMs to plan for [default: every stored VM]
    vms: Vec<String>,
    /// Platform to plan for [default: this machine's]
    #[arg(long, value_parser = ["linux", "macos"])]
    platform: Option<String>,
    /// Print only this part (linux: links, dnsmasq, nft; macos: vmnet, pf, bootptab)
    #[arg(long, value_parser = ["links", "dnsmasq", "nft", "vmnet", "pf", "bootptab"])]
    part: Option<String>,
}

pub fn run(ctx: &Ctx, args: &PlanArgs) -> Result<(), Error> {
    let settings = ctx.settings()?;
    let mut profiles = Vec::new();
    for profile in ctx.store.load_named(&args.vms)? {
        // A VM on a network that cannot be used is refused when asked for by name, and left
        // out of the whole host's plan, as `start` refuses it and the others start.
        if let Some(network) = profile.network.network_name()
            && let Err(err) = settings.require_network(network, &profile.name)
        {
            if !args.vms.is_empty() {
                return Err(err);
            }
            ctx.out.warn(&format!(
                "left out VM '{}': {err}; hint: {}",
                profile.name,
                err.hint().unwrap_or_default()
            ));
            continue;
        }
        profiles.push(crate::backend::with_filter_file_read(&profile)?);
    }
    let default_filter = crate::settings::read_net_filter(settings.net_filter.as_deref())?;
    let input = PlanInput::new(
        &profiles,
        &settings,
        default_filter.as_ref(),
        &BTreeMap::new(),
        ctx.store.home().join("networks"),
    )?;
    let platform = args.platform.clone().unwrap_or_else(|| {
        match crate::backend::HOST_OS {
            crate::sys::Os::Macos => "macos",
            crate::sys::Os::Linux => "linux",
        }
        .to_owned()
    });
    let (body, text, notes) = if platform == "linux" {
        let plan = linux::plan(&input)?;
        let text = match args.part.as_deref() {
            Some("links") => plan.links_text(),
            Some("dnsmasq") => plan.dnsmasq_text(),
            Some("nft") => plan.nft.clone(),
            Some(other) => return Err(wrong_part(other, "linux", "links, dnsmasq, nft")),
            None => format!(
                "# --- links ---\n{}# --- dnsmasq ---\n{}# --- nft ---\n{}",
                plan.links_text(),
                plan.dnsmasq_text(),
                plan.nft
            ),
        };
        let body = part_json(
            serde_json::to_value(&plan).unwrap_or_default(),
            args.part.as_deref(),
        );
        (body, text, plan.notes)
    } else {
        let plan = macos::plan(&input)?;
        let text = match args.part.as_deref() {
            Some("vmnet") => plan.vmnet_text(),
            Some("pf") => plan.pf_text(),
            Some("bootptab") => plan.bootptab.clone(),
            Some(other) => return Err(wrong_part(other, "macos", "vmnet, pf, bootptab")),
            None => format!(
                "# --- vmnet ---\n{}# --- pf ---\n{}# --- bootptab ---\n{}",
                plan.vmnet_text(),
                plan.pf_text(),
                plan.bootptab
            ),
        };
        let part = match args.part.as_deref() {
            Some("pf") => Some("anchors"),
            other => other,
        };
        let body = part_json(serde_json::to_value(&plan).unwrap_or_default(), part);
        (body, text, plan.notes)
    };
    for note in &notes {
        ctx.out.note(note);
    }
    ctx.out
        .data(&json!({"platform": platform, "plan": body}), || text);
    Ok(())
}

fn part_json(plan: serde_json::Value, part: Option<&str>) -> serde_json::Value {
    match part {
        Some(part) => plan[part].clone(),
        None => plan,
    }
}

fn wrong_part(part: &str, platform: &str, parts: &str) -> Error {
    Error::invalid(
        "plan part",
        part,
        format!("the {platform} plan has no such part"),
    )
    .with_hint(format!("the {platform} parts are: {parts}"))
}
