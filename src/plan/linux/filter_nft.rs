//! A VM's filter rules as nftables statements: the rules of one chain, in order, with runs of
//! alike rules merged into one set lookup.

use crate::model::filter::{Action, Addr, Direction, FilterRule, FilterRules, prefix_mask};

/// Renders the rules of one nftables chain: `Direction::Out` is the chain
/// for packets from the VM, `Direction::In` the chain for packets to it.
/// Rules with direction `Any` go into both; passing `Direction::Any`
/// returns only those.
///
/// Each string is one statement for an `inet` table, in rule order, e.g.
/// `ip daddr 1.1.1.1 meta l4proto { tcp, udp } th dport 53 drop`.
/// `local` is rendered as `@local_set`, which must name a set of type
/// `ipv4_addr` with the `interval` flag. Rules naming an address only
/// match IPv4 (through `ip saddr`/`ip daddr`); rules without an address
/// match IPv6 as well.
///
/// Consecutive rules that differ only in one address (same action, protocol, ports and
/// other address) become one rule with an anonymous set: a packet walks one lookup
/// instead of one rule each, and since the merged rules share a verdict, the first match
/// still decides. Overlapping networks are left as separate rules (nft would refuse them
/// in one interval set).
#[must_use]
pub fn render_nft(rules: &FilterRules, chain: Direction, local_set: &str) -> Vec<String> {
    let rules: Vec<&FilterRule> = rules
        .rules()
        .iter()
        .filter(|r| r.applies_to(chain))
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < rules.len() {
        let (taken, statement) = merge_from(&rules[at..], local_set);
        out.push(statement);
        at += taken;
    }
    out
}

/// The longest run at the start of `rules` that renders as one statement, and that statement.
fn merge_from(rules: &[&FilterRule], local_set: &str) -> (usize, String) {
    let first = rules[0];
    let net = |addr: Addr| matches!(addr, Addr::Net { .. });
    for to_varies in [true, false] {
        let varying = |r: &FilterRule| if to_varies { r.to.addr } else { r.from.addr };
        let alike = |r: &FilterRule| {
            let same_rest = if to_varies {
                r.from == first.from && r.to.ports == first.to.ports
            } else {
                r.to == first.to && r.from.ports == first.from.ports
            };
            r.action == first.action && r.proto == first.proto && same_rest && net(varying(r))
        };
        let mut run: Vec<Addr> = Vec::new();
        for rule in rules.iter().take_while(|r| alike(r)) {
            let addr = varying(rule);
            if run.iter().any(|other| overlaps(*other, addr)) {
                break;
            }
            run.push(addr);
        }
        if run.len() >= 2 {
            let set = format!(
                "{{ {} }}",
                run.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let statement = if to_varies {
                statement_with(first, local_set, None, Some(set))
            } else {
                statement_with(first, local_set, Some(set), None)
            };
            return (run.len(), statement);
        }
    }
    (1, statement(first, local_set))
}

/// Do two networks share an address?
fn overlaps(one: Addr, other: Addr) -> bool {
    match (one, other) {
        (
            Addr::Net { ip, prefix },
            Addr::Net {
                ip: other_ip,
                prefix: other_prefix,
            },
        ) => {
            let mask = prefix_mask(prefix.min(other_prefix));
            u32::from(ip) & mask == u32::from(other_ip) & mask
        }
        _ => true,
    }
}

fn statement(rule: &FilterRule, local_set: &str) -> String {
    statement_with(rule, local_set, None, None)
}

/// The statement, with the source or destination address replaced (by a set).
fn statement_with(
    rule: &FilterRule,
    local_set: &str,
    from: Option<String>,
    to: Option<String>,
) -> String {
    let addr = |addr: Addr| match addr {
        Addr::Any => None,
        Addr::Local => Some(format!("@{local_set}")),
        net @ Addr::Net { .. } => Some(net.to_string()),
    };
    let mut parts = Vec::new();
    if let Some(addr) = from.or_else(|| addr(rule.from.addr)) {
        parts.push(format!("ip saddr {addr}"));
    }
    if let Some(addr) = to.or_else(|| addr(rule.to.addr)) {
        parts.push(format!("ip daddr {addr}"));
    }
    match rule.proto {
        Some(proto) => parts.push(format!("meta l4proto {proto}")),
        None if rule.has_ports() => parts.push("meta l4proto { tcp, udp }".to_string()),
        None => {}
    }
    if let Some(ports) = rule.from.ports {
        parts.push(format!("th sport {ports}"));
    }
    if let Some(ports) = rule.to.ports {
        parts.push(format!("th dport {ports}"));
    }
    parts.push(
        match rule.action {
            Action::Block => "drop",
            Action::Pass => "accept",
        }
        .to_string(),
    );
    parts.join(" ")
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // scratch files for `nft -c`, not state
mod tests {
    use super::*;
    use crate::model::filter::parse;
    use crate::model::filter::testing::{ANKA_EXAMPLES, IPF_ALL_TWINS, RENDER_RULES, soup};

    #[test]
    fn ipf_all_renders_as_any() {
        // Each line with `all` renders exactly as its `any` twin.
        for (with_all, with_any) in IPF_ALL_TWINS {
            let (a, b) = (parse(with_all).unwrap(), parse(with_any).unwrap());
            for chain in [Direction::In, Direction::Out, Direction::Any] {
                assert_eq!(
                    render_nft(&a, chain, "local"),
                    render_nft(&b, chain, "local")
                );
            }
        }
        assert_eq!(
            render_nft(&parse("block in all").unwrap(), Direction::In, "local"),
            vec!["drop".to_owned()]
        );
    }

    #[test]
    fn never_panics_on_parsed_rules() {
        for rules in soup().filter_map(|text| parse(&text).ok()) {
            for chain in [Direction::In, Direction::Out, Direction::Any] {
                let _ = render_nft(&rules, chain, "local_nets");
            }
        }
    }
    #[test]
    fn nft_rendering() {
        let rules = parse(RENDER_RULES).unwrap();
        assert_eq!(
            render_nft(&rules, Direction::Out, "local_nets"),
            [
                "ip daddr 1.1.1.1 meta l4proto { tcp, udp } th dport 53 drop",
                "meta l4proto udp th sport 68 th dport 67 accept",
                "ip saddr @local_nets meta l4proto icmp drop",
                "ip daddr 10.0.0.0/8 meta l4proto { tcp, udp } th dport 1000-2000 drop",
                "ip daddr @local_nets drop",
            ]
        );
        assert_eq!(
            render_nft(&rules, Direction::In, "local_nets"),
            [
                "meta l4proto tcp th dport 22 drop",
                "ip saddr @local_nets meta l4proto icmp drop",
                "ip saddr @local_nets drop",
            ]
        );
        assert_eq!(
            render_nft(&rules, Direction::Any, "local_nets"),
            ["ip saddr @local_nets meta l4proto icmp drop"]
        );
        assert_eq!(
            render_nft(&parse("pass any").unwrap(), Direction::In, "l"),
            ["accept"]
        );
    }

    #[test]
    fn nft_accepts_rendered_rules() {
        let Some(nft_check) = crate::test_support::nft_checker() else {
            return;
        };
        let extra = "\
block out proto tcp to 10.0.0.0/8 port 1000-2000
pass in proto udp from 192.168.1.0/24 port 5353
block any proto icmp to local
block in proto icmp
pass out proto tcp from local port 1-65535 to 0.0.0.0/0 port 443
block out from 100.64.0.0/10 to 172.16.0.0/12
pass any proto udp
pass out proto tcp from 192.168.64.5 port 22 to local port 1024-65535
pass local
block
";
        let text = format!("{}\n{RENDER_RULES}{extra}", ANKA_EXAMPLES.join("\n"));
        let rules = parse(&text).unwrap();
        let chain = |direction| {
            let statements = render_nft(&rules, direction, "local_nets");
            format!("    {}\n", statements.join("\n    "))
        };
        let ruleset = format!(
            "table inet t {{\n  set local_nets {{ type ipv4_addr; flags interval; \
             elements = {{ 10.0.0.0/8, 169.254.0.0/16 }} }}\n\
             \x20 chain vm_out {{\n{}  }}\n  chain vm_in {{\n{}  }}\n}}\n",
            chain(Direction::Out),
            chain(Direction::In),
        );
        nft_check(&ruleset);
    }

    #[test]
    fn runs_of_alike_rules_become_one_set_lookup() {
        let rules = parse(
            "block out proto tcp to 10.1.0.0/16 port 80\n\
             block out proto tcp to 10.2.0.0/16 port 80\n\
             block out proto tcp to 10.1.2.0/24 port 80\n\
             block out proto tcp to 10.4.0.0/16 port 443\n\
             pass out from 10.9.0.1\n\
             pass out from 10.9.0.2\n\
             block\n",
        )
        .unwrap();
        assert_eq!(
            render_nft(&rules, Direction::Out, "l"),
            [
                // The third overlaps the first: nft would refuse it in the set, so it stays.
                "ip daddr { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto tcp th dport 80 drop",
                "ip daddr 10.1.2.0/24 meta l4proto tcp th dport 80 drop",
                "ip daddr 10.4.0.0/16 meta l4proto tcp th dport 443 drop",
                "ip saddr { 10.9.0.1, 10.9.0.2 } accept",
                "drop",
            ]
        );
    }
}
