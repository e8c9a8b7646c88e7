//! What the `network` subcommands share: a network as `create`, `list`, `show` and `import`
//! report it (built-in ones included), the VMs on each network, and the subnets a new network
//! must not overlap.

use serde_json::{Value, json};

use crate::cli::Ctx;
use crate::cli::shared::view::started_vms;
use crate::discovery::routes::{self, HostRoute};
use crate::error::Error;
use crate::model::Mode;
use crate::model::named_network::NetworkDef;
use crate::model::network::AddressPlan;
use crate::settings::Settings;

/// Everything a new subnet must not overlap: the host's routes and interface networks, and
/// vmctl's other networks (built-in and named, up or not). A host whose routes cannot be read
/// gets a warning and the vmctl networks alone.
pub(super) fn taken_subnets(ctx: &Ctx, settings: &Settings, except: &str) -> Vec<HostRoute> {
    let (taken, warning) = routes::taken(crate::backend::host_routes(), settings, &[except]);
    if let Some(warning) = warning {
        ctx.out.warn(&warning);
    }
    taken
}

/// A network as `list` and `show` see it (built-in ones included).
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) mode: Mode,
    pub(super) plan: Option<AddressPlan>,
    pub(super) interface: Option<String>,
    pub(super) description: Option<String>,
    pub(super) builtin: bool,
}

pub(super) fn net_entry(_settings: &Settings, net: &NetworkDef) -> Entry {
    Entry {
        name: net.name.clone(),
        mode: net.mode,
        plan: net.address_plan(),
        interface: net.interface.clone(),
        description: net.description.clone(),
        builtin: false,
    }
}

pub(super) fn entries(settings: &Settings) -> Vec<Entry> {
    let mut out = vec![
        Entry {
            name: "shared".into(),
            mode: Mode::Shared,
            plan: Some(settings.shared),
            interface: None,
            description: Some("built in (vmctl config start_address ...)".into()),
            builtin: true,
        },
        Entry {
            name: "host".into(),
            mode: Mode::Host,
            plan: Some(settings.host),
            interface: None,
            description: Some("built in (vmctl config host_start_address ...)".into()),
            builtin: true,
        },
    ];
    out.extend(
        settings
            .named
            .values()
            .map(|(net, _)| net_entry(settings, net)),
    );
    out
}

/// name, mode, subnet, gateway (or a bridge network's interface), DHCP range: as table cells.
pub(super) fn columns(e: &Entry) -> Vec<String> {
    vec![
        e.name.clone(),
        e.mode.name().to_owned(),
        e.plan
            .map_or_else(|| "-".into(), |p| p.subnet().to_string()),
        e.plan.map_or_else(
            || e.interface.clone().unwrap_or_else(|| "-".into()),
            |p| p.gateway().to_string(),
        ),
        e.plan.map_or_else(
            || "-".into(),
            |p| format!("{}-{}", p.pool_first(), p.pool_last()),
        ),
    ]
}

pub(super) fn network_json(entry: &Entry, vms: &[String], up: bool) -> Value {
    json!({
        "name": entry.name,
        "mode": entry.mode.name(),
        "builtin": entry.builtin,
        "subnet": entry.plan.map(|p| p.subnet().to_string()),
        "gateway": entry.plan.map(|p| p.gateway().to_string()),
        "dhcp_first": entry.plan.map(|p| p.pool_first().to_string()),
        "dhcp_last": entry.plan.map(|p| p.pool_last().to_string()),
        "interface": entry.interface,
        "description": entry.description,
        "vms": vms,
        "up": up,
    })
}

/// The stored VMs on each network, and the networks up now (a started VM on them).
/// (network, VM) for every stored VM on a network, and the networks up now.
pub(super) type Usage = (Vec<(String, String)>, Vec<String>);

pub(super) fn usage(ctx: &Ctx) -> Result<Usage, Error> {
    let (profiles, _) = ctx.store.load_all_lenient()?;
    let on: Vec<(String, String)> = profiles
        .iter()
        .filter_map(|p| {
            let net = p
                .network
                .network
                .clone()
                .or_else(|| p.network.network_name().map(str::to_owned))?;
            Some((net, p.name.clone()))
        })
        .collect();
    let up: Vec<String> = started_vms(ctx)?
        .into_iter()
        .filter_map(|r| r.network)
        .collect();
    Ok((on, up))
}
