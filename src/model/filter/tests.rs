//! Filter rules, the language's tests: parsing, errors, canonical printing and round trips.

use super::parse::PREFIX_LEN;
use super::testing::{ANKA_EXAMPLES, IPF_ALL_TWINS, Rng, soup};
use super::*;

fn net(text: &str) -> Addr {
    let (ip, prefix) = text.split_once('/').unwrap_or((text, "32"));
    Addr::Net {
        ip: ip.parse().unwrap(),
        prefix: prefix.parse().unwrap(),
    }
}

fn ep(addr: Addr, ports: Option<(u16, u16)>) -> Endpoint {
    Endpoint {
        addr,
        ports: ports.map(|(first, last)| PortRange { first, last }),
    }
}

fn rule(action: Action, direction: Direction, from: Endpoint, to: Endpoint) -> FilterRule {
    FilterRule {
        action,
        direction,
        proto: None,
        from,
        to,
        line: 1,
    }
}

fn one(text: &str) -> FilterRule {
    let rules = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(rules.len(), 1, "{text:?}");
    rules.rules()[0]
}

fn err(text: &str) -> String {
    parse(text).expect_err(text).to_string()
}

#[test]
fn ipf_all_means_any_address() {
    // Each line with `all` parses and prints exactly as its `any` twin (the renderers' tests
    // check that it renders so too).
    for (with_all, with_any) in IPF_ALL_TWINS {
        let (a, b) = (parse(with_all).unwrap(), parse(with_any).unwrap());
        assert!(a.same_rules(&b), "{with_all:?}");
        assert_eq!(a.to_string(), b.to_string(), "{with_all:?}");
    }
    assert_eq!(one("pass out from all").from, Endpoint::ANY);
    // A bare `all` replaces both addresses, so neither may follow it.
    assert!(err("pass in all from 1.2.3.4").contains("line 1"));
    assert!(parse("pass in from any all").is_err());
    assert!(parse("pass all port 22").is_err());
}

#[test]
fn anka_examples_parse_to_the_expected_rules() {
    use Action::{Block, Pass};
    use Direction::{Any, In, Out};
    let any = Endpoint::ANY;
    let port = |p| ep(Addr::Any, Some((p, p)));
    let expected: [&[FilterRule]; 11] = [
        &[rule(Block, Out, any, ep(net("1.1.1.1"), None))],
        &[rule(Block, Out, any, ep(net("1.1.1.1"), Some((53, 53))))],
        &[rule(Block, In, any, port(22))],
        &[rule(Block, Out, port(68), port(67))],
        &[rule(Block, In, port(67), port(68))],
        &[rule(Block, Any, port(67), port(68))],
        &[rule(Block, Any, any, any)],
        &[
            rule(Block, Out, any, ep(Addr::Local, None)),
            rule(Block, In, ep(Addr::Local, None), any),
        ],
        &[rule(Pass, In, ep(net("10.20.30.40"), None), any)],
        &[rule(Pass, Out, any, ep(net("10.20.30.40"), None))],
        &[rule(Block, Out, any, ep(net("169.254.169.254"), None))],
    ];
    for (text, want) in ANKA_EXAMPLES.iter().zip(expected) {
        let got = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(got.rules(), want, "{text:?}");
    }
    // All together in one file: line numbers, and the shorthand keeps its line.
    let all = parse(&ANKA_EXAMPLES.join("\n")).unwrap();
    assert_eq!(all.len(), 12);
    let lines: Vec<usize> = all.rules().iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11]);
}

#[test]
fn details_of_the_grammar() {
    let r = one("pass out proto udp from 192.168.0.0/16 port 1000-2000 to local port 53");
    assert_eq!(r.action, Action::Pass);
    assert_eq!(r.direction, Direction::Out);
    assert_eq!(r.proto, Some(Proto::Udp));
    assert_eq!(r.from, ep(net("192.168.0.0/16"), Some((1000, 2000))));
    assert_eq!(r.to, ep(Addr::Local, Some((53, 53))));
    // Direction omitted means any; to before from; tabs, CRLF and comments.
    let r = one("\tblock\tto 10.0.0.0/8 from 0.0.0.0/0 # no\r");
    assert_eq!(r.direction, Direction::Any);
    assert_eq!(r.from.addr, net("0.0.0.0/0"));
    assert_eq!(r.to.addr, net("10.0.0.0/8"));
    assert_eq!(one("block").direction, Direction::Any);
    assert_eq!(
        one("block in proto icmp from local").proto,
        Some(Proto::Icmp)
    );
    assert_eq!(one("block to 1.2.3.4/32").to.addr, net("1.2.3.4"));
    assert_eq!(
        one("block to port 00080").to.ports,
        Some(PortRange {
            first: 80,
            last: 80
        })
    );
    let pass_local = parse("pass local").unwrap();
    assert_eq!(pass_local.len(), 2);
    assert!(pass_local.rules().iter().all(|r| r.action == Action::Pass));
    assert_eq!(parse("").unwrap(), FilterRules::default());
    assert!(parse("# only\n\n   \t\n#comments\n").unwrap().is_empty());
    let rules: FilterRules = "block in\n\npass out # x\n".parse().unwrap();
    assert_eq!(
        rules.rules().iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn error_messages() {
    let cases = [
        (
            "blok out",
            "line 1, column 1: expected 'block' or 'pass', found 'blok'",
        ),
        (
            "block out from",
            "line 1, column 15: expected an address ('any', 'local', IPv4 or IPv4/len) \
             or 'port', found 'end of line'",
        ),
        (
            "block out from to 1.1.1.1",
            "line 1, column 16: expected an address ('any', 'local', IPv4 or IPv4/len) \
             or 'port', found 'to'",
        ),
        (
            "block in to port 0",
            "line 1, column 18: expected a port number between 1 and 65535, found '0'",
        ),
        (
            "block in to port 70000",
            "line 1, column 18: expected a port number between 1 and 65535, found '70000'",
        ),
        (
            "block in to port 5-3",
            "line 1, column 18: expected a port range N-M with N <= M, found '5-3'",
        ),
        (
            "block in to port +5",
            "line 1, column 18: expected a port number or range (N or N-M), found '+5'",
        ),
        (
            "block in to port",
            "line 1, column 17: expected a port number or range (N or N-M), found 'end of line'",
        ),
        (
            "block in proto icmp to 1.1.1.1 port 22",
            "line 1, column 32: expected 'from' or end of line (proto icmp takes no port), \
             found 'port'",
        ),
        (
            "block in proto icmp from port 22",
            "line 1, column 26: expected an address ('any', 'local', IPv4 or IPv4/len) \
             (proto icmp takes no port), found 'port'",
        ),
        (
            "block from 1.1.1.1 from 2.2.2.2",
            "line 1, column 20: expected 'port', 'to' or end of line \
             (only one 'from' is allowed), found 'from'",
        ),
        (
            "block to 1.2.3.4/33",
            "line 1, column 10: expected a prefix length between 0 and 32, found '1.2.3.4/33'",
        ),
        (
            "block to 10.0.0.1/8",
            "line 1, column 10: expected a network address without host bits \
             (did you mean 10.0.0.0/8?), found '10.0.0.1/8'",
        ),
        (
            "block in to port 22 please",
            "line 1, column 21: expected 'from' or end of line, found 'please'",
        ),
        (
            "block local now",
            "line 1, column 13: expected end of line, found 'now'",
        ),
        (
            "block in proto sctp",
            "line 1, column 16: expected 'tcp', 'udp' or 'icmp', found 'sctp'",
        ),
        (
            "pass in in",
            "line 1, column 9: expected 'proto', 'from', 'to' or end of line, found 'in'",
        ),
        (
            "pass frm 1.1.1.1",
            "line 1, column 6: expected 'in', 'out', 'any', 'local', 'proto', 'from', 'to' \
             or end of line, found 'frm'",
        ),
        (
            "# vm rules\nblock out to 1.1.1.1 # dns\n  block in from any prot tcp # typo",
            "line 3, column 21: expected 'port', 'to' or end of line, found 'prot'",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text:?}");
    }
    let e = parse("\n\nblock to 1.2.3.4/99").unwrap_err();
    assert_eq!(
        e,
        FilterParseError {
            line: 3,
            column: 10,
            expected: PREFIX_LEN.to_string(),
            found: "1.2.3.4/99".to_string(),
        }
    );
    let _: &dyn std::error::Error = &e;
}

#[test]
fn canonical_printing() {
    let rules = parse(&ANKA_EXAMPLES.join("\n")).unwrap();
    let expected = "\
block out to 1.1.1.1
block out to 1.1.1.1 port 53
block in to port 22
block out from port 68 to port 67
block in from port 67 to port 68
block any from port 67 to port 68
block any
block out to local
block in from local
pass in from 10.20.30.40
pass out to 10.20.30.40
block out to 169.254.169.254
";
    assert_eq!(rules.to_string(), expected);
    let r = one("pass proto tcp to 10.0.0.0/8 port 1-65535 from local port 7-7");
    assert_eq!(
        r.to_string(),
        "pass any proto tcp from local port 7 to 10.0.0.0/8 port 1-65535"
    );
}

#[test]
fn print_then_parse_is_exact() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..2000 {
        let count = rng.below(8);
        let rules = FilterRules {
            rules: (0..count).map(|_| rng.rule()).collect(),
        };
        let text = rules.to_string();
        let again = parse(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
        assert!(rules.same_rules(&again), "{rules:?}\n{text}\n{again:?}");
        assert_eq!(again.to_string(), text);
    }
}

#[test]
fn parser_never_panics() {
    let mut parsed = 0;
    for text in soup() {
        match parse(&text) {
            Ok(rules) => {
                parsed += 1;
                let again = parse(&rules.to_string()).unwrap();
                assert!(rules.same_rules(&again), "{text:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    // The soup must reach the deep parts of the grammar, not only fail early.
    assert!(parsed > 1000, "only {parsed} inputs parsed");
}

#[test]
fn addr_contains() {
    let vm = Ipv4Addr::new(192, 168, 64, 5);
    assert!(net("0.0.0.0/0").contains(vm));
    assert!(net("192.168.64.0/24").contains(vm));
    assert!(net("192.168.64.5").contains(vm));
    assert!(!net("192.168.64.6").contains(vm));
    assert!(!net("10.0.0.0/8").contains(vm));
    assert!(Addr::Local.contains(vm) && Addr::Any.contains(vm));
}
