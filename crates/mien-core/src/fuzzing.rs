//! Hostile input for property tests (feature `fuzzing`, for mien's own tests): arbitrary bytes,
//! and mutations of a valid file — truncated, bytes overwritten, bytes inserted, a range
//! deleted, a range repeated — the damage real files suffer and the shapes fuzzers find.
//!
//! Every parser mien exposes has a test that feeds these to it and asserts an error, never a
//! panic or a hang: images, the FER2013 layouts, model files, cascades, training configs.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// The environment variable that sets the cases per parser (default [`DEFAULT_CASES`]).
pub const CASES_ENV: &str = "MIEN_FUZZ_CASES";

/// Cases per parser in an ordinary `cargo test`.
pub const DEFAULT_CASES: u32 = 2_000;

/// The environment variable that picks the inputs: a number, or `random` (default: a fixed
/// seed, so that `cargo test` and CI test the same cases every time).
pub const SEED_ENV: &str = "MIEN_FUZZ_SEED";

/// The seed of an ordinary `cargo test`.
const DEFAULT_SEED: u64 = 0x6d69_656e;

/// A proptest config with `MIEN_FUZZ_CASES` cases (default [`DEFAULT_CASES`]) from the
/// `MIEN_FUZZ_SEED` seed, keeping no regression files (the seed reproduces a failure).
pub fn config() -> Config {
    let setting = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned());
    let cases = setting(CASES_ENV)
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let rng_seed = match setting(SEED_ENV).as_deref() {
        Some("random") => RngSeed::Random,
        Some(seed) => RngSeed::Fixed(seed.parse().unwrap_or(DEFAULT_SEED)),
        None => RngSeed::Fixed(DEFAULT_SEED),
    };
    Config {
        cases,
        rng_seed,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A proptest config of `cases` cases from the `MIEN_FUZZ_SEED` seed (fixed by default), for
/// property tests whose size is their own: CI then tests the same cases every run, and
/// `MIEN_FUZZ_SEED=random` explores others.
pub fn cases(cases: u32) -> Config {
    Config { cases, ..config() }
}

/// Arbitrary bytes (up to 4 KiB) half the time, a mutation of `valid` the other half.
pub fn hostile_bytes(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..4096), mutation(valid),]
}

/// `valid` damaged once or twice.
pub fn mutation(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(damage(), 1..=2).prop_map(move |damage| {
        damage
            .into_iter()
            .fold(valid.clone(), |bytes, damage| damage.apply(bytes))
    })
}

/// UTF-8 text from a mutation of valid text (invalid sequences replaced), for text parsers.
pub fn hostile_text(valid: &str) -> impl Strategy<Value = String> {
    hostile_bytes(valid.as_bytes().to_vec())
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// One kind of damage; positions are fractions of the length, so that they fit any file.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(f64),
    Overwrite(Vec<(f64, u8)>),
    Insert(f64, Vec<u8>),
    Delete(f64, f64),
    Repeat(f64, f64),
}

fn damage() -> impl Strategy<Value = Damage> {
    let at = 0.0..1.0f64;
    prop_oneof![
        at.clone().prop_map(Damage::Truncate),
        prop::collection::vec((at.clone(), any::<u8>()), 1..16).prop_map(Damage::Overwrite),
        (at.clone(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
        (at.clone(), 0.0..0.5f64).prop_map(|(at, len)| Damage::Delete(at, len)),
        (at, 0.0..0.5f64).prop_map(|(at, len)| Damage::Repeat(at, len)),
    ]
}

impl Damage {
    fn apply(self, mut bytes: Vec<u8>) -> Vec<u8> {
        let index = |bytes: &[u8], at: f64| ((bytes.len() as f64 * at) as usize).min(bytes.len());
        match self {
            Damage::Truncate(at) => bytes.truncate(index(&bytes, at)),
            Damage::Overwrite(writes) => {
                for (at, byte) in writes {
                    let i = index(&bytes, at);
                    if let Some(slot) = bytes.get_mut(i) {
                        *slot = byte;
                    }
                }
            }
            Damage::Insert(at, inserted) => {
                let i = index(&bytes, at);
                bytes.splice(i..i, inserted);
            }
            Damage::Delete(at, len) => {
                let start = index(&bytes, at);
                let end = (start + index(&bytes, len)).min(bytes.len());
                bytes.drain(start..end);
            }
            Damage::Repeat(at, len) => {
                let start = index(&bytes, at);
                let end = (start + index(&bytes, len)).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
        bytes
    }
}
