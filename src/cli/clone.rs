//! `vmctl clone SRC DST [--keep-mac]`: copy a profile under a new name and uuid.

use clap::Args;

use super::Ctx;
use super::shared::view::vm_nic_json;
use super::shared::vm_change::{load_for_change, reserve_in_fleet, unreserve_in_fleet};
use crate::error::Error;
use crate::model::port_forward::PortForwardRequest;
use crate::model::profile::{new_uuid, validate_vm_name};
use crate::model::{Mac, MacPolicy};
use crate::settings::change::{add_port_forward, reroll_auto_mac};

/// Copy a VM's profile; a static MAC is dropped unless --keep-mac
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl clone web web2
  vmctl clone web web-twin --keep-mac     same static MAC: the two cannot run at once

The clone gets a new uuid and auto MAC. A static IP is dropped (one address, one VM) and each
port forward gets a free host port.")]
pub struct CloneArgs {
    /// The VM to copy
    src: String,
    /// Name of the copy
    dst: String,
    /// Keep a static MAC (warns: both VMs cannot run at once)
    #[arg(long)]
    keep_mac: bool,
}

pub fn run(ctx: &Ctx, args: &CloneArgs) -> Result<(), Error> {
    validate_vm_name(&args.dst)?;
    let settings = ctx.settings()?;
    let (lock, source, mut others) = load_for_change(ctx, &args.src)?;
    if ctx.store.exists(&args.dst) {
        return Err(Error::VmExists(args.dst.clone()));
    }
    if let Some(twin) = ctx.store.case_twin(&args.dst) {
        return Err(Error::VmExists(twin));
    }
    let mut clone = source.clone();
    clone.name.clone_from(&args.dst);
    clone.uuid = new_uuid();
    clone.created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    clone.network.mac_salt = 0;
    match (source.network.mac, args.keep_mac) {
        (MacPolicy::Static(mac), true) => ctx.out.warn(&format!(
            "'{}' and '{}' share the static MAC {}: they cannot run at once",
            source.name,
            clone.name,
            Mac(mac)
        )),
        (MacPolicy::Static(mac), false) => {
            clone.network.mac = MacPolicy::Auto;
            ctx.out.note(&format!(
                "static MAC {} dropped: '{}' gets an auto MAC (--keep-mac keeps it)",
                Mac(mac),
                clone.name
            ));
        }
        (MacPolicy::Auto, _) => {}
    }
    if let Some(ip) = clone.network.ip.take() {
        ctx.out.note(&format!(
            "static IP {ip} stays with '{}': '{}' uses DHCP",
            source.name, clone.name
        ));
    }
    let source_name = source.name.clone();
    others.push(source);
    crate::settings::change::refuse_link_name_clash(&clone.name, &others)?;
    let mut forwards = std::mem::take(&mut clone.network.port_forwarding_rules);
    if clone.network.network_name().is_none() && !forwards.is_empty() {
        ctx.out.note(&format!(
            "{} mode: the port forwards are not copied",
            clone.network.mode
        ));
        forwards.clear();
    }
    // A host port vmctl chose is chosen afresh; one the user gave is kept, as Anka keeps it
    // (the two VMs cannot run at once then, and the second start says so).
    for pf in forwards {
        if !pf.auto_host_port {
            clone.network.port_forwarding_rules.push(pf);
            continue;
        }
        let request = PortForwardRequest {
            name: pf.name.clone(),
            protocol: pf.protocol,
            guest_port: pf.guest_port,
            host_ip: pf.host_ip,
            host_port: None,
        };
        let new = add_port_forward(&mut clone, &request, &settings, &others)?;
        if new.host_port != pf.host_port {
            ctx.out.note(&format!(
                "port forward '{}': host port {} (the source keeps {})",
                pf.name, new.host_port, pf.host_port
            ));
        }
    }
    reroll_auto_mac(&mut clone, &settings, &others);
    let fleet = reserve_in_fleet(ctx, &settings, &mut clone, None)?;
    if let Err(e) = ctx.store.save(&lock, &clone) {
        unreserve_in_fleet(ctx, &settings, fleet.as_ref(), &clone, None);
        return Err(e);
    }
    ctx.out.done(
        &vm_nic_json(&clone, &settings),
        &format!("cloned '{}' to '{}'", source_name, clone.name),
    );
    Ok(())
}
