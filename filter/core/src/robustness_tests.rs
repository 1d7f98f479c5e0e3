//! Robustness tests: the fuzz targets' entry points, fed random mutations of
//! the recorded fixture bodies on every `cargo test` (stable toolchain, no
//! libFuzzer). Each target gets its seeds unmutated, then a bounded number of
//! mutants from a fixed xorshift seed, so a failure reproduces exactly.
//!
//! `TOLLGATE_ROBUSTNESS_ITERATIONS` (per target) and `TOLLGATE_ROBUSTNESS_SEED`
//! run longer or different sequences locally. A failing input is written to
//! `target/robustness-failures/` and can be replayed with the libFuzzer target
//! of the same name (`cargo +nightly fuzz run <target> <file>`).

use crate::fuzzing::{seeds, XorShift, TARGETS};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Mutants per target; sized so the whole module stays well under 10 s in a debug build.
const DEFAULT_ITERATIONS: u64 = 1500;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn all_seeds() -> &'static Vec<seeds::Seed> {
    static SEEDS: OnceLock<Vec<seeds::Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| seeds::all(root()).unwrap())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Inserted whole at a random offset: structure, numbers and text that have
/// broken parsers before.
const TOKENS: &[&[u8]] = &[
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"9007199254740993",
    b"1e999",
    b"-0",
    b"0.1e-400",
    b"123456789012345678901234567890.5",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    "\u{202e}\u{feff}\u{10ffff}".as_bytes(),
    "e\u{301}\u{1f389}\u{1f468}\u{200d}\u{1f469}".as_bytes(),
    b"\\u0000",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\",
    b"\0",
    b"null",
    b"true",
    b"\"\"",
    b"[]",
    b"{}",
    b"\n\n",
    b"\r\n\r\n",
    b"\r",
    b"data: ",
    b"event: error\n",
    b"data: [DONE]\n\n",
    b"\n~~~\n",
    b"os.environ/",
    b"*a",
    b"&a ",
    b"key=",
    b"/../",
    b"%",
];

/// Replacements for a run of digits (usage counts, prices, statuses, limits).
const NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "4294967295",
    "0",
    "1e308",
    "-1",
    "0.0000000001",
];

/// Replacements for the contents of a JSON string.
fn odd_text(rng: &mut XorShift) -> Vec<u8> {
    match rng.below(6) {
        0 => Vec::new(),
        1 => "\u{202e}\u{200b}é\u{1f389}".as_bytes().to_vec(),
        2 => b"\\u0000\\\"\\\\\\n".to_vec(),
        3 => "x".repeat(rng.below(20_000)).into_bytes(),
        4 => b"\\ud83d".to_vec(),
        _ => b"tool_use".to_vec(),
    }
}

/// `depth` levels of arrays or objects, closed or not.
fn nesting(rng: &mut XorShift) -> Vec<u8> {
    let depth = [5, 64, 127, 129, 200, 3000][rng.below(6)];
    let (open, close): (&[u8], &[u8]) = if rng.below(2) == 0 {
        (b"[", b"]")
    } else {
        (b"{\"a\":", b"}")
    };
    let mut out = open.repeat(depth);
    if rng.below(3) > 0 {
        if close == b"}" {
            out.extend_from_slice(b"1");
        }
        out.extend(close.repeat(depth));
    }
    out
}

fn ranges_of(data: &[u8], pred: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in data.iter().enumerate() {
        match (pred(b), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, data.len()));
    }
    out
}

/// One random edit of `data`.
fn mutate_once(rng: &mut XorShift, data: &mut Vec<u8>, donors: &[&seeds::Seed]) {
    let len = data.len();
    let at = rng.below(len + 1);
    match rng.below(10) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            let bytes = b"\0\xff\"\\{}[],:\n\r 0";
            data[i] = bytes[rng.below(bytes.len())];
        }
        2 => data.truncate(at),
        3 => {
            let end = (at + rng.below(64)).min(len);
            data.drain(at..end);
        }
        4 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            data.splice(at..at, t.iter().copied());
        }
        5 => {
            let runs = ranges_of(data, |b| b.is_ascii_digit());
            if let Some(&(s, e)) = runs.get(rng.below(runs.len())) {
                let n = NUMBERS[rng.below(NUMBERS.len())];
                data.splice(s..e, n.bytes());
            }
        }
        6 => {
            // The inside of a quoted string (roughly: between two quotes).
            let quotes: Vec<usize> = (0..len).filter(|&i| data[i] == b'"').collect();
            if quotes.len() >= 2 {
                let k = rng.below(quotes.len() - 1);
                let (s, e) = (quotes[k] + 1, quotes[k + 1]);
                let text = odd_text(rng);
                data.splice(s..e, text);
            }
        }
        7 => {
            let n = nesting(rng);
            data.splice(at..at, n);
        }
        8 if len > 0 => {
            let s = rng.below(len);
            let e = (s + 1 + rng.below(256)).min(len);
            let copy: Vec<u8> = data[s..e].to_vec();
            for _ in 0..=rng.below(3) {
                data.splice(at..at, copy.iter().copied());
            }
        }
        _ => {
            if let Some(d) = donors.get(rng.below(donors.len())) {
                let s = rng.below(d.data.len());
                let e = (s + rng.below(512)).min(d.data.len());
                data.splice(at..at, d.data[s..e].iter().copied());
            }
        }
    }
}

/// Object keys and short strings seen in the seeds: replacements that keep
/// a mutant meaningful (field names, `type` tags, roles, finish reasons).
struct Dictionary {
    keys: Vec<String>,
    strings: Vec<String>,
}

fn dictionary() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(|| {
        let mut keys = BTreeSet::new();
        let mut strings = BTreeSet::new();
        fn walk(v: &Value, keys: &mut BTreeSet<String>, strings: &mut BTreeSet<String>) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o {
                        keys.insert(k.clone());
                        walk(x, keys, strings);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, keys, strings)),
                Value::String(t) if t.len() <= 40 => {
                    strings.insert(t.clone());
                }
                _ => {}
            }
        }
        for seed in all_seeds() {
            for (s, e) in json_regions(&seed.data) {
                if let Ok(v) = serde_json::from_slice::<Value>(&seed.data[s..e]) {
                    walk(&v, &mut keys, &mut strings);
                }
            }
        }
        Dictionary {
            keys: keys.into_iter().collect(),
            strings: strings.into_iter().collect(),
        }
    })
}

/// Byte ranges that may hold a JSON document: the whole input, each line
/// (after a `data:` prefix) and each request body of an HTTP-like script.
fn json_regions(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![(0, data.len())];
    let mut start = 0;
    for (i, &b) in data.iter().enumerate().chain([(data.len(), &b'\n')]) {
        if b != b'\n' {
            continue;
        }
        let line = &data[start..i];
        let skip = if line.starts_with(b"data: ") {
            6
        } else if line.starts_with(b"data:") {
            5
        } else {
            0
        };
        if line.len() > skip + 1 {
            out.push((start + skip, i));
        }
        start = i + 1;
    }
    let mut at = 0;
    while let Some(i) = data[at..].windows(2).position(|w| w == b"\n\n") {
        let body = at + i + 2;
        let end = data[body..]
            .windows(5)
            .position(|w| w == b"\n~~~\n")
            .map_or(data.len(), |j| body + j);
        out.push((body, end));
        at = end;
    }
    out
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

fn nth_mut<'a>(v: &'a mut Value, k: &mut usize) -> Option<&'a mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|x| nth_mut(x, k)),
        Value::Object(o) => o.values_mut().find_map(|x| nth_mut(x, k)),
        _ => None,
    }
}

fn nth(v: &Value, k: &mut usize) -> Option<Value> {
    if *k == 0 {
        return Some(v.clone());
    }
    *k -= 1;
    match v {
        Value::Array(a) => a.iter().find_map(|x| nth(x, k)),
        Value::Object(o) => o.values().find_map(|x| nth(x, k)),
        _ => None,
    }
}

/// A value that has broken translators before: extreme numbers, odd text,
/// empty and wrongly typed containers.
fn odd_value(rng: &mut XorShift) -> Value {
    let d = dictionary();
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(1e308),
        5 => json!(-0.0),
        6 => json!(0),
        7 => json!(""),
        8 => Value::String(String::from_utf8_lossy(&odd_text(rng)).into_owned()),
        9 => json!([]),
        10 => json!({}),
        11 => {
            let depth = [10, 60, 126, 140][rng.below(4)];
            (0..depth).fold(json!(1), |v, _| json!([v]))
        }
        12 => Value::String(d.strings[rng.below(d.strings.len())].clone()),
        _ => json!(rng.next_u64() % 10_000),
    }
}

/// One structural edit of a JSON value: keeps it JSON, changes its meaning.
fn mutate_value(rng: &mut XorShift, root: &mut Value) {
    let graft = {
        let mut k = rng.below(count(root));
        nth(root, &mut k)
    };
    let mut k = rng.below(count(root));
    let Some(node) = nth_mut(root, &mut k) else {
        return;
    };
    let d = dictionary();
    match (rng.below(6), node) {
        (0, Value::Object(o)) if !o.is_empty() => {
            let key = o
                .keys()
                .nth(rng.below(o.len()))
                .cloned()
                .unwrap_or_default();
            o.remove(&key);
        }
        (1, Value::Object(o)) => {
            let key = d.keys[rng.below(d.keys.len())].clone();
            let v = if rng.below(2) == 0 {
                odd_value(rng)
            } else {
                graft.unwrap_or(Value::Null)
            };
            o.insert(key, v);
        }
        (0, Value::Array(a)) if !a.is_empty() => {
            a.remove(rng.below(a.len()));
        }
        (1, Value::Array(a)) if !a.is_empty() => {
            let copy = a[rng.below(a.len())].clone();
            let n = [1, 2, 50][rng.below(3)];
            a.extend(std::iter::repeat_n(copy, n));
        }
        (2, node) => {
            if let Some(g) = graft {
                *node = g;
            }
        }
        (3, node) => {
            let inner = node.take();
            *node = if rng.below(2) == 0 {
                json!([inner])
            } else {
                let mut m = Map::new();
                m.insert(d.keys[rng.below(d.keys.len())].clone(), inner);
                Value::Object(m)
            };
        }
        (_, node) => *node = odd_value(rng),
    }
}

/// Parses one JSON region of `data`, edits it structurally and splices it back.
fn mutate_json(rng: &mut XorShift, data: &mut Vec<u8>) -> bool {
    let regions: Vec<(usize, usize)> = json_regions(data)
        .into_iter()
        .filter(|&(s, e)| {
            let r = &data[s..e];
            r.iter().any(|b| !b.is_ascii_whitespace())
                && serde_json::from_slice::<serde::de::IgnoredAny>(r).is_ok()
        })
        .collect();
    let Some(&(s, e)) = regions.get(rng.below(regions.len())) else {
        return false;
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&data[s..e]) else {
        return false;
    };
    for _ in 0..=rng.below(3) {
        mutate_value(rng, &mut v);
    }
    data.splice(s..e, v.to_string().into_bytes());
    true
}

fn save_failure(target: &str, n: u64, data: &[u8]) -> PathBuf {
    let dir = root().join("target/robustness-failures");
    let path = dir.join(format!("{target}-{n}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, data);
    path
}

/// Runs `target` on every seed, then on mutants of them.
fn exercise(target: &str) {
    let run = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap();
    let donors: Vec<&seeds::Seed> = all_seeds().iter().filter(|s| s.target == target).collect();
    assert!(!donors.is_empty(), "no seeds for {target}");
    let iterations = env_u64("TOLLGATE_ROBUSTNESS_ITERATIONS").unwrap_or(DEFAULT_ITERATIONS);
    let seed = env_u64("TOLLGATE_ROBUSTNESS_SEED").unwrap_or(0x7011_6a7e);
    let mut rng = XorShift::new(seed ^ crate::fuzzing::hash(target.as_bytes()));
    let check = |n: u64, input: &[u8]| {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(input))) {
            let path = save_failure(target, n, input);
            eprintln!(
                "{target}: input {n} (seed {seed:#x}) failed; saved to {}",
                path.display()
            );
            resume_unwind(panic);
        }
    };
    for (i, s) in donors.iter().enumerate() {
        check(i as u64, &s.data);
    }
    for n in 0..iterations {
        let mut data = donors[rng.below(donors.len())].data.clone();
        // Half the mutants keep their JSON valid and change its meaning; the
        // others (and those with no JSON) get byte-level edits.
        if rng.below(2) == 0 && mutate_json(&mut rng, &mut data) {
            if rng.below(4) == 0 {
                mutate_once(&mut rng, &mut data, &donors);
            }
        } else {
            for _ in 0..=rng.below(4) {
                mutate_once(&mut rng, &mut data, &donors);
            }
        }
        check(donors.len() as u64 + n, &data);
    }
}

#[test]
fn config_survives_mutations() {
    exercise("config");
}

#[test]
fn request_translators_survive_mutations() {
    exercise("request_translators");
}

#[test]
fn response_translators_survive_mutations() {
    exercise("response_translators");
}

#[test]
fn streams_survive_mutations() {
    exercise("streams");
}

#[test]
fn admin_api_survives_mutations() {
    exercise("admin_api");
}

#[test]
fn gateway_survives_mutations() {
    exercise("gateway");
}

#[test]
fn parsers_survive_mutations() {
    exercise("parsers");
}

#[test]
fn every_target_has_seeds() {
    for (name, _) in TARGETS {
        assert!(
            all_seeds().iter().any(|s| s.target == name),
            "no seeds for {name}"
        );
    }
}
