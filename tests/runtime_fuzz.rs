//! A mutation fuzzer over config.json, through the real `create` and
//! `delete -f`: byte flips, truncation, type changes, huge and negative
//! numbers, long strings, deep nesting and unknown fields, from a
//! deterministic seed. Each case must end within the bound, with one of
//! runc's exit codes (0 or 1), every stderr line in runc's log format, no
//! panic, and nothing left behind (state dir, cgroup, init).
//!
//! NSRUN_FUZZ_CASES (default 2000) and NSRUN_FUZZ_SEED choose the run; a
//! failure names the seed and case so it can be replayed.

#[path = "payload/bundle.rs"]
mod bundle;
mod common;

use bundle::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// xorshift64*: the same cases for the same seed, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A random node of `v` (the root included), as a mutable reference.
fn pick<'a>(v: &'a mut Value, r: &mut Rng) -> &'a mut Value {
    let descend = r.below(4) != 0;
    let n = match v {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    if !descend || n == 0 {
        return v;
    }
    let i = r.below(n);
    match v {
        Value::Object(m) => pick(m.values_mut().nth(i).unwrap(), r),
        Value::Array(a) => pick(&mut a[i], r),
        _ => unreachable!(),
    }
}

const NUMBERS: &[i128] = &[
    -1,
    0,
    1,
    -2147483649,
    2147483648,
    4294967296,
    -9223372036854775808,
    9223372036854775807,
    18446744073709551615,
];

/// One mutated config.json (as bytes: some mutations break the JSON).
fn mutate(base: &Value, r: &mut Rng) -> Vec<u8> {
    let mut v = base.clone();
    let rounds = 1 + r.below(3);
    for _ in 0..rounds {
        let node = pick(&mut v, r);
        *node = match r.below(9) {
            0 => json!(NUMBERS[r.below(NUMBERS.len())] as f64),
            1 => serde_json::from_str(&NUMBERS[r.below(NUMBERS.len())].to_string())
                .unwrap_or(json!(0)),
            2 => json!("x".repeat(1 + r.below(20000))),
            3 => {
                // Deep nesting: arrays inside arrays.
                let d = 1 + r.below(600);
                serde_json::from_str(&format!("{}{}", "[".repeat(d), "]".repeat(d)))
                    .unwrap_or(Value::Null)
            }
            4 => Value::Null,
            5 => json!(true),
            6 => json!({"unknownField": r.next(), "x": [1, "two"]}),
            7 => match node.take() {
                Value::String(s) => json!([s]),
                Value::Array(a) => json!({"a": a}),
                Value::Object(m) => Value::Array(m.into_iter().map(|(_, v)| v).collect()),
                Value::Number(n) => json!(n.to_string()),
                other => other,
            },
            _ => json!(["/../..", "", "\u{0}", "a=b", "/dev/null"][r.below(5)]),
        };
    }
    let mut bytes = serde_json::to_vec(&v).unwrap();
    match r.below(10) {
        0 if !bytes.is_empty() => {
            let n = r.below(bytes.len());
            bytes.truncate(n);
        }
        1 if !bytes.is_empty() => {
            for _ in 0..1 + r.below(4) {
                let i = r.below(bytes.len());
                bytes[i] ^= 1 << r.below(8);
            }
        }
        _ => {}
    }
    bytes
}

fn logrus_line(l: &str) -> bool {
    l.starts_with("time=\"") && l.contains(" level=") && l.contains(" msg=")
}

#[test]
fn mutated_configs_fail_cleanly_and_leave_nothing() {
    let cases: usize = std::env::var("NSRUN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("NSRUN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6e73_7275_6e21);
    let id = "fz-config";
    let mut base = base_config(&["/payload", "id"]);
    base["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    let b = Bundle::new(id, &base);
    let mut r = Rng(seed);
    let bound = Duration::from_secs(30);
    let (mut ok, mut refused) = (0, 0);
    for case in 0..cases {
        let cfg = mutate(&base, &mut r);
        std::fs::write(b.dir.join("config.json"), &cfg).unwrap();
        let replay = format!("seed {seed} case {case}");
        let t = Instant::now();
        let (c, _, e) = detached(false, &b.dir, &["create", "-b", path_str(&b.dir), id]);
        assert!(
            t.elapsed() < bound,
            "{replay}: create took {:?}",
            t.elapsed()
        );
        assert!(c == 0 || c == 1, "{replay}: exit {c}: {e}");
        assert!(!e.contains("panicked"), "{replay}: {e}");
        for l in e.lines().filter(|l| !l.is_empty()) {
            assert!(logrus_line(l), "{replay}: not a log line: {l:?}");
        }
        if c == 0 {
            ok += 1;
        } else {
            refused += 1;
        }
        let d = nsrun(&["delete", "-f", id]);
        assert_eq!(code(&d), 0, "{replay}: delete: {}", err(&d));
        assert!(!nsrun_root().join(id).exists(), "{replay}: state dir left");
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            assert!(
                !h.path().join(id).exists(),
                "{replay}: cgroup left in {:?}",
                h.path()
            );
        }
    }
    eprintln!("{cases} mutated configs: {ok} created, {refused} refused");
    // The fuzzer must reach both sides, or it tests nothing.
    assert!(ok > 0 && refused > 0, "{ok} created, {refused} refused");
    assert_dev_null_intact();
}
