//! Times parsing a 100,000-lease bootpd database and matching 1,000 VM MACs against it.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use macaddr::MacAddr6;
use vmctl::discovery::bootpd;
use vmctl::discovery::lease::LeaseIndex;

const LEASES: usize = 100_000;
const VMS: usize = 1_000;
const RUNS: usize = 5;

/// xorshift64: random-ish, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut macs = Vec::with_capacity(LEASES);
    let mut text = String::with_capacity(LEASES * 160);
    for i in 0..LEASES {
        let bytes = rng.next().to_le_bytes();
        let mac = MacAddr6::new(
            bytes[0] & 0xfe,
            bytes[1],
            bytes[2],
            bytes[3],
            bytes[4],
            bytes[5],
        );
        let m = mac.into_array();
        // bootpd writes octets without zero padding
        let hw = format!(
            "{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        );
        let ip = u32::try_from(0x0a00_0000 + i).expect("fits");
        let ip = std::net::Ipv4Addr::from(ip);
        let expiry = 0x6000_0000 + (rng.next() % 0x1000_0000);
        let _ = write!(
            text,
            "{{\n\tname=vm-{i}\n\tip_address={ip}\n\thw_address=1,{hw}\n\tidentifier=1,{hw}\n\tlease={expiry:#x}\n}}\n"
        );
        macs.push(mac);
    }
    // 1,000 VMs: most have a lease, every tenth does not.
    let vms: Vec<MacAddr6> = (0..VMS)
        .map(|k| {
            if k % 10 == 0 {
                MacAddr6::new(0x02, 0, 0, 0, 0, u8::try_from(k % 256).expect("fits"))
            } else {
                macs[usize::try_from(rng.next() % LEASES as u64).expect("fits")]
            }
        })
        .collect();
    let now = 0x6800_0000;

    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut found = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let leases = bootpd::parse(black_box(&text)).expect("generated text parses");
        let index = LeaseIndex::new(&leases, now);
        found = vms.iter().filter(|&&mac| index.get(mac).is_some()).count();
        black_box(found);
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "parse+match {LEASES} leases x {VMS} VMs: {:.1} ms ({found} matched, {} bytes of input)",
        median.as_secs_f64() * 1000.0,
        text.len()
    );
}
