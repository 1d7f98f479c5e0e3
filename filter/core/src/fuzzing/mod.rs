//! Robustness harness: one entry point per fuzz target, each feeding arbitrary
//! bytes to a family of public entry points and asserting the invariants every
//! answer must keep.
//!
//! The libFuzzer targets in `fuzz/` are one-line wrappers around these
//! functions, and `robustness_tests` runs them on every `cargo test` with
//! mutated fixture bodies, so both check exactly the same things. A violated
//! invariant panics, which is how libFuzzer recognises a finding; the module is
//! compiled only for tests and with the `fuzzing` feature, never into the filter.
//!
//! Invariants (beyond "no panic", which includes arithmetic overflow: fuzz
//! builds and tests run with overflow checks):
//! - every translator result that is `Ok` is JSON that survives a
//!   serialise/parse round trip, and OpenAI-format results have the OpenAI
//!   top-level shape (`object` + `choices`, or `error`);
//! - every error carries a 4xx/5xx status and renders as the client's error shape;
//! - usage totals are consistent and costs are finite and bounded by the
//!   reservation made for the same token counts;
//! - stream translators give the same output however the input is split;
//! - forwarded requests never carry a client credential upstream, and replies
//!   never reveal a secret the caller did not send.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod check;
mod config;
mod http;
mod parsers;
pub mod seeds;
mod streams;
mod translators;

pub use config::config;
pub use http::{admin_api, gateway};
pub use parsers::parsers;
pub use streams::streams;
pub use translators::{request_translators, response_translators};

/// A target: takes any bytes, panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name, as `fuzz/fuzz_targets/<name>.rs` calls them.
pub const TARGETS: [(&str, Target); 7] = [
    ("config", config),
    ("request_translators", request_translators),
    ("response_translators", response_translators),
    ("streams", streams),
    ("admin_api", admin_api),
    ("gateway", gateway),
    ("parsers", parsers),
];

/// A small deterministic generator (xorshift64) for choices derived from input bytes.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// Seeds the generator (zero is replaced: xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// FNV-1a of the input: a stable seed for choices that should follow the bytes.
pub(crate) fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
