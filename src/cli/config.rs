//! `vmctl config [-l] [-r] [KEY [VALUE]] [--unset KEY]`: host settings and where they come from.

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser};
use serde_json::{Map, Value, json};

use super::Ctx;
use super::shared::view::started_vms;
use std::io::IsTerminal;

use crate::error::{Error, printable};
use crate::output::{field_table, grid};
use crate::settings::{Key, Settings, Source};

/// Anka settings with no vmctl equivalent, and why: setting one is accepted and ignored (with
/// a warning), so an Anka host's setup script runs; reading one is refused.
const ANKA_ONLY_KEYS: [(&str, &str); 3] = [
    (
        "network_failure_action",
        "vmctl's start never leaves a VM half-networked: a failure undoes what it made and the start fails",
    ),
    (
        "shared_nat",
        "vmctl's shared network always NATs (vmnet's NAT on macOS, nftables masquerade on Linux)",
    ),
    (
        "rx_cksum",
        "receive checksum offload belongs to the hypervisor's NIC, which vmctl does not run",
    ),
];

fn anka_only(name: &str) -> Option<&'static str> {
    ANKA_ONLY_KEYS
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, why)| *why)
}

fn key_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        Key::ALL.iter().map(|k| PossibleValue::new(k.name())).chain(
            ANKA_ONLY_KEYS
                .iter()
                .map(|(k, _)| PossibleValue::new(*k).hide(true)),
        ),
    )
}

/// `config KEY [VALUE]` / `--unset KEY` on an Anka-only key.
fn anka_only_key(ctx: &Ctx, name: &str, why: &str, reading: bool) -> Result<(), Error> {
    if reading {
        return Err(Error::invalid(
            "config key",
            name,
            format!("an Anka setting vmctl does not have: {why}"),
        )
        .with_hint("`vmctl config -l` lists vmctl's keys"));
    }
    ctx.out
        .warn(&format!("{name} is an Anka setting vmctl ignores: {why}"));
    ctx.out.done(
        &json!({"ignored": name}),
        &format!("{name}: nothing written"),
    );
    Ok(())
}

/// Show or change host settings (precedence: VMCTL_<KEY> > ANKA_<KEY> > file > default)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  vmctl config                     every key and value
  vmctl config -l                  ... with the source of each value
  vmctl config no_local 1          isolate VMs that do not choose
  vmctl config no_local            the bare value
  vmctl config start_address 10.9.0.1 end_address 10.9.0.200 subnet_mask 255.255.255.0
                                   several keys, checked together, written at once
  vmctl config -r no_local         back to the default (several keys: -r KEY KEY)
  vmctl config -r --yes            every key back to its default
  ANKA_BRIDGE_NAME=en1 vmctl config bridge_name")]
pub struct ConfigArgs {
    /// Show where each value comes from (default, config file, env)
    #[arg(short = 'l', long)]
    list: bool,
    /// Reset the named keys to their defaults; with no key, every key (asks first unless --yes)
    #[arg(short = 'r', long, value_name = "KEY", num_args = 0.., value_parser = key_parser(),
          conflicts_with_all = ["key", "value", "unset"])]
    reset: Option<Vec<String>>,
    /// The key to show or set
    #[arg(value_parser = key_parser())]
    key: Option<String>,
    /// The new value, then more KEY VALUE pairs to set at once
    #[arg(requires = "key", value_name = "VALUE [KEY VALUE]...", num_args = 1..)]
    value: Vec<String>,
    /// Remove KEY from the config file (back to its default)
    #[arg(long, value_name = "KEY", value_parser = key_parser(), conflicts_with_all = ["key", "value"])]
    unset: Option<String>,
}

pub fn run(ctx: &Ctx, args: &ConfigArgs) -> Result<(), Error> {
    if let Some(keys) = &args.reset {
        if keys.is_empty() {
            return reset_all(ctx);
        }
        let keys = keys
            .iter()
            .map(|k| k.parse::<Key>())
            .collect::<Result<Vec<_>, _>>()?;
        return unset(ctx, &keys);
    }
    if let Some(why) = args
        .unset
        .as_deref()
        .or(args.key.as_deref())
        .and_then(anka_only)
    {
        let name = args
            .unset
            .as_deref()
            .or(args.key.as_deref())
            .unwrap_or_default();
        let reading = args.unset.is_none() && args.value.is_empty();
        return anka_only_key(ctx, name, why, reading);
    }
    if let Some(name) = &args.unset {
        return unset(ctx, &[name.parse()?]);
    }
    match (&args.key, args.value.as_slice()) {
        (Some(name), []) => {
            let key: Key = name.parse()?;
            let settings = ctx.settings()?;
            let (value, source) = settings.get(key);
            let typed = key.json(value);
            let body = if args.list {
                json!({"key": key.name(), "value": typed, "source": source.to_string()})
            } else {
                json!({ key.name(): typed })
            };
            ctx.out.data(&body, || {
                if args.list {
                    format!("{value}\t({source})\n")
                } else {
                    format!("{value}\n")
                }
            });
            Ok(())
        }
        (Some(name), values) => set(ctx, name, values),
        (None, _) => list(ctx, args.list),
    }
}

/// `config KEY VALUE [KEY VALUE]...`: every pair checked, alone and together, before anything
/// is written; then one write.
fn set(ctx: &Ctx, first: &str, rest: &[String]) -> Result<(), Error> {
    if rest.len().is_multiple_of(2) {
        return Err(Error::invalid(
            "key",
            printable(&rest[rest.len() - 1]),
            "has no value after it",
        )
        .with_hint("give keys and values in pairs: vmctl config KEY VALUE [KEY VALUE]..."));
    }
    let mut pairs: Vec<(Key, String)> = Vec::new();
    let names = std::iter::once(first).chain(rest.iter().skip(1).step_by(2).map(String::as_str));
    let values = rest.iter().step_by(2);
    for (name, value) in names.zip(values) {
        let key: Key = name.parse()?;
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(
                Error::invalid("key", key.name(), "is given twice").with_hint("give each key once")
            );
        }
        let mut value = key.normalize(value)?;
        refuse_under_started_vms(ctx, key)?;
        if key == Key::NetFilter && !value.is_empty() {
            // Stored absolute: vmctl runs from many working directories.
            value = std::path::absolute(&value)
                .map_err(|e| Error::io("resolving", &value, e))?
                .display()
                .to_string();
            // A default rules file that does not parse would break every VM's plan later.
            crate::settings::read_net_filter(Some(std::path::Path::new(&value)))?;
        }
        pairs.push((key, value));
    }
    let message = pairs
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    change(ctx, |values| {
        // Under the lock: a network created at the same time sees this range, or this the
        // network.
        for (key, value) in &pairs {
            values.insert(key.name().to_owned(), value.clone());
        }
        let mut message = message;
        for moved in move_range_with_start(&pairs, values) {
            message = format!("{message}, {moved}");
        }
        check_ranges_against_host(ctx, &pairs, values)?;
        Ok(message)
    })?;
    let keys: Vec<Key> = pairs.iter().map(|(key, _)| *key).collect();
    tell_the_host(ctx, &keys);
    Ok(())
}

/// A start address set without an end address moves the whole range, as Anka moves it with
/// `Shared_Net_Address`: the end keeps its place in the subnet (`.254` stays `.254`), in the
/// start's subnet. Returns `end_address = ...` for each end it moved.
fn move_range_with_start(
    pairs: &[(Key, String)],
    values: &mut crate::settings::ConfigValues,
) -> Vec<String> {
    let mut moved = Vec::new();
    for (start, end, mask) in [
        (Key::StartAddress, Key::EndAddress, Key::SubnetMask),
        (
            Key::HostStartAddress,
            Key::HostEndAddress,
            Key::HostSubnetMask,
        ),
    ] {
        let given = |key: Key| pairs.iter().any(|(k, _)| *k == key);
        if !given(start) || given(end) {
            continue;
        }
        let value = |key: Key| -> Option<u32> {
            let text = values
                .get(key.name())
                .map_or(key.default_value(), String::as_str);
            text.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
        };
        let (Some(first), Some(last), Some(netmask)) = (value(start), value(end), value(mask))
        else {
            continue;
        };
        let mut new_end = (first & netmask) | (last & !netmask);
        // An end before the start, or the broadcast address: the last address before the
        // broadcast.
        let broadcast = first | !netmask;
        if new_end <= first || new_end >= broadcast {
            new_end = broadcast.saturating_sub(1);
        }
        if new_end != last {
            let text = std::net::Ipv4Addr::from(new_end).to_string();
            moved.push(format!("{end} = {text} (moved with {start})"));
            values.insert(end.name().to_owned(), text);
        }
    }
    moved
}

/// A new shared or host range must stay clear of the host's routes and of the named networks:
/// checked before anything is written.
fn check_ranges_against_host(
    ctx: &Ctx,
    pairs: &[(Key, String)],
    values: &crate::settings::ConfigValues,
) -> Result<(), Error> {
    use crate::discovery::routes;
    let moves = |keys: [Key; 3]| pairs.iter().any(|(k, _)| keys.contains(k));
    let shared = moves([Key::StartAddress, Key::EndAddress, Key::SubnetMask]);
    let host = moves([
        Key::HostStartAddress,
        Key::HostEndAddress,
        Key::HostSubnetMask,
    ]);
    if !shared && !host {
        return Ok(());
    }
    // Errors of the values themselves come from `change`, with their own messages.
    let Ok(new) = Settings::resolve(values, |var| std::env::var(var).ok())
        .and_then(|s| s.with_networks(ctx.store.load_networks_lenient()?))
    else {
        return Ok(());
    };
    let (taken, warning) = routes::taken(crate::backend::host_routes(), &new, &["shared", "host"]);
    if let Some(warning) = warning {
        ctx.out.warn(&warning);
    }
    for (network, moved, plan) in [("shared", shared, new.shared), ("host", host, new.host)] {
        if !moved {
            continue;
        }
        crate::backend::check_network_range(network, &plan)?;
        if let Err((err, _)) = routes::check_subnet(plan.subnet(), &taken, &[]) {
            return Err(Error::conflict(format!("the {network} network's {err}")).with_hint(
                "pick a range no route uses (`vmctl network list` and `ip route` show the taken ones)",
            ));
        }
    }
    Ok(())
}

/// Remove `keys` from the config file (each back to its default), in one write.
fn unset(ctx: &Ctx, keys: &[Key]) -> Result<(), Error> {
    for key in keys {
        refuse_under_started_vms(ctx, *key)?;
    }
    change(ctx, |values| {
        let said: Vec<String> = keys
            .iter()
            .map(|key| match values.remove(key.name()) {
                Some(_) => format!("{key}: back to the default"),
                None => format!("{key}: not in the config file"),
            })
            .collect();
        Ok(said.join("; "))
    })?;
    tell_the_host(ctx, keys);
    Ok(())
}

/// `config -r`: every key back to its default, after a yes.
fn reset_all(ctx: &Ctx) -> Result<(), Error> {
    if !ctx.yes {
        let what = "resetting every config key to its default".to_owned();
        if !std::io::stdin().is_terminal() {
            return Err(Error::NeedsConfirmation(what));
        }
        let yes = dialoguer::Confirm::new()
            .with_prompt("Reset every config key to its default?")
            .default(false)
            .interact()
            .map_err(|_| Error::Cancelled)?;
        if !yes {
            return Err(Error::Cancelled);
        }
    }
    // Not read first: -r must also recover from a config file that cannot be parsed.
    let lock = ctx.store.lock()?;
    ctx.store
        .save_config(&lock, &crate::settings::ConfigValues::new())?;
    ctx.out.done(
        &json!({}),
        "removed every key from the config file: defaults apply",
    );
    Ok(())
}

/// Tell the host's backend about changed keys (macOS keeps the shared range and the lease
/// time in system files too); what it could not do is a warning.
fn tell_the_host(ctx: &Ctx, keys: &[Key]) {
    let Ok(settings) = ctx.settings() else { return };
    for warning in crate::backend::host(&ctx.store, &settings).config_changed(keys) {
        ctx.out.warn(&warning);
    }
}

/// A running network keeps the addresses and lease time it came up with (its bridge address,
/// dnsmasq's range, the rules): they cannot move under started VMs.
fn refuse_under_started_vms(ctx: &Ctx, key: Key) -> Result<(), Error> {
    let network = match key {
        Key::StartAddress | Key::EndAddress | Key::SubnetMask => Some("shared"),
        Key::HostStartAddress | Key::HostEndAddress | Key::HostSubnetMask => Some("host"),
        Key::DhcpLeaseTime => None,
        _ => return Ok(()),
    };
    let started: Vec<String> = started_vms(ctx)?
        .into_iter()
        .filter(|r| r.network.is_some() && (network.is_none() || r.network.as_deref() == network))
        .map(|r| r.name)
        .collect();
    if started.is_empty() {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "{key} cannot change while VMs run on the network{}: {}",
        network.map(|n| format!(" {n}")).unwrap_or_default(),
        started.join(", ")
    ))
    .with_hint("stop them first (`vmctl list --running`), then change it and start them again"))
}

fn list(ctx: &Ctx, with_source: bool) -> Result<(), Error> {
    let settings = ctx.settings()?;
    for warning in crate::backend::host(&ctx.store, &settings).config_drift() {
        ctx.out.warn(&warning);
    }
    let entries = settings.entries();
    if with_source {
        let body: Vec<Value> = entries
            .iter()
            .map(|(k, v, s)| json!({"key": k.name(), "value": k.json(v), "source": s.to_string(), "about": k.about()}))
            .collect();
        ctx.out.data(&Value::Array(body), || {
            grid(
                &["key", "value", "source"],
                entries
                    .iter()
                    .map(|(k, v, s)| vec![k.name().to_owned(), v.clone(), s.to_string()]),
            )
        });
    } else {
        let body: Map<String, Value> = entries
            .iter()
            .map(|(k, v, _)| (k.name().to_owned(), k.json(v)))
            .collect();
        ctx.out.data(&Value::Object(body), || {
            field_table(entries.iter().map(|(k, v, _)| (k.name(), v.clone())))
        });
    }
    Ok(())
}

/// Read-modify-write of the config file: the result must resolve (cross-key checks) before it
/// is written.
fn change(
    ctx: &Ctx,
    edit: impl FnOnce(&mut crate::settings::ConfigValues) -> Result<String, Error>,
) -> Result<(), Error> {
    let lock = ctx.store.lock()?;
    let mut values = ctx.store.load_config_unchecked()?;
    let before = values.clone();
    let old_prefix = values
        .get(Key::MacPrefix.name())
        .cloned()
        .unwrap_or_default();
    let message = edit(&mut values)?;
    // Only these keys can move a stored VM's MAC or invalidate its static IP; reading every
    // profile (10,000 on a big host) is skipped for the others.
    let moves_vms = [
        Key::MacPrefix,
        Key::StartAddress,
        Key::EndAddress,
        Key::SubnetMask,
        Key::HostStartAddress,
        Key::HostEndAddress,
        Key::HostSubnetMask,
    ]
    .iter()
    .any(|k| before.get(k.name()) != values.get(k.name()));
    let values = crate::settings::check_file_values(&values, &ctx.store.config_path())?;
    // Checked without the environment (the file must be valid on its own) and with it (what
    // vmctl will run with): both before anything is written.
    let settings = Settings::resolve(&values, |_| None)?;
    let effective = Settings::resolve(&values, |var| std::env::var(var).ok())?;
    ctx.store.save_config(&lock, &values)?;
    for (key, value, source) in effective.entries() {
        if let Source::Env(var) = source
            && settings.get(*key).0 != value
        {
            ctx.out.warn(&format!(
                "{var}={value} overrides {key} from the config file"
            ));
        }
    }
    if moves_vms {
        warn_about_stored_vms(ctx, &effective, &old_prefix);
    }
    let body: Map<String, Value> = values
        .iter()
        .map(|(k, v)| {
            let typed = k
                .parse::<Key>()
                .map_or_else(|_| Value::from(v.as_str()), |key| key.json(v));
            (k.clone(), typed)
        })
        .collect();
    ctx.out.done(&Value::Object(body), &message);
    Ok(())
}

/// After a change: say which stored VMs it affects (new auto MACs, static IPs now invalid).
fn warn_about_stored_vms(ctx: &Ctx, settings: &Settings, old_prefix: &str) {
    let Ok(profiles) = ctx.store.load_all() else {
        return;
    };
    let new_prefix = settings.get(Key::MacPrefix).0;
    let auto = profiles
        .iter()
        .filter(|p| !p.network.mac.is_static())
        .count();
    if new_prefix != old_prefix && auto > 0 {
        ctx.out.warn(&format!(
            "{auto} VM(s) with an auto MAC get a new MAC under the new mac_prefix (and a new DHCP lease)"
        ));
    }
    for profile in &profiles {
        let (Some(ip), Some(network)) = (profile.network.ip, profile.network.network_name()) else {
            continue;
        };
        if let Some(Err(e)) = settings
            .address_plan(network)
            .map(|plan| plan.check_static_ip(ip, network))
        {
            ctx.out.warn(&format!(
                "VM '{}': {e}; change it with `vmctl modify {} network --ip ...`",
                profile.name, profile.name
            ));
        }
    }
}
