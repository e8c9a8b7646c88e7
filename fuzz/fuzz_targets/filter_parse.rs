//! Fuzzes the VM filter rule parser: it must never panic, and whatever it
//! accepts must print to canonical text that parses back to the same rules.
//! Run with `cargo fuzz run filter_parse` from the vmctl repository root.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
// In vmctl the language is src/model/filter/, exported as `vmctl::model::filter`; the
// renderers are in the plans (src/plan/linux/filter_nft.rs, src/plan/macos/pf.rs).
use vmctl::model::filter::{Direction, parse};
use vmctl::plan::linux::filter_nft::render_nft;
use vmctl::plan::macos::pf::render_pf;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = parse(text) else {
        return;
    };
    let printed = rules.to_string();
    let again = parse(&printed)
        .unwrap_or_else(|e| panic!("canonical text does not parse: {e}\n{printed}"));
    assert!(
        rules.same_rules(&again),
        "round trip changed the rules\ninput: {text:?}\nprinted: {printed:?}"
    );
    assert_eq!(again.to_string(), printed, "printing is not stable");
    // The renderers must not panic either.
    for chain in [Direction::In, Direction::Out, Direction::Any] {
        let _ = render_nft(&rules, chain, "local_nets");
    }
    let _ = render_pf(&rules, Some("bridge100"), Some(Ipv4Addr::new(192, 168, 64, 5)), "local_nets");
    let _ = render_pf(&rules, Some("bridge100"), None, "local_nets");
});
