//! The cost of the cgroup step of `create` (manager + mkdir in every
//! hierarchy + limits + cgroup.procs), back to back and isolated. On v1 the
//! first cgroup.procs write after a quiet period waits for an RCU grace
//! period (cgroup_threadgroup_rwsem); starts that follow each other share it.
//! Run with --nocapture to see the numbers.

#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod cgroups_support;
mod common;

use std::time::{Duration, Instant};

use cgroups_support::*;

struct Sample {
    apply: Duration,
    set: Duration,
    total: Duration,
}

fn one(i: usize, r: &cgroups::Resources) -> Sample {
    let p = Proc::sh(SLEEPER);
    let tag = format!("bench{i}");
    let t0 = Instant::now();
    let cfg = cgroups::CgroupConfig::new(Some(&name(&tag)), "x", r.clone(), false).unwrap();
    let mgr = cgroups::manager(&cfg, false).unwrap();
    let t1 = Instant::now();
    mgr.apply(p.pid()).unwrap();
    let t2 = Instant::now();
    mgr.set(r).unwrap();
    let t3 = Instant::now();
    drop(p);
    mgr.destroy().unwrap();
    Sample {
        apply: t2 - t1,
        set: t3 - t2,
        total: t3 - t0,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, s: &[Sample]) -> Duration {
    let m = |f: fn(&Sample) -> Duration| median(s.iter().map(f).collect());
    let total = m(|x| x.total);
    eprintln!(
        "cgroup step, {what} (median of {}): total {:.2} ms = apply (mkdir + cgroup.procs) {:.2} ms + set (limits) {:.2} ms",
        s.len(),
        total.as_secs_f64() * 1e3,
        m(|x| x.apply).as_secs_f64() * 1e3,
        m(|x| x.set).as_secs_f64() * 1e3,
    );
    total
}

#[test]
fn cgroup_step_cost() {
    if !can_run() {
        return;
    }
    // What probe::host() does once per process (mountinfo + cgroup.controllers).
    let t = Instant::now();
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let host = cgroups::probe::parse_mountinfo(&text, |m| {
        std::fs::read_to_string(m.join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    })
    .unwrap();
    eprintln!(
        "probe: {:.3} ms, layout {:?}, {} hierarchies",
        t.elapsed().as_secs_f64() * 1e3,
        host.layout,
        host.hierarchies.len()
    );
    let r = resources(serde_json::json!({
        "memory": {"limit": 64 << 20},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000},
        "pids": {"limit": 64}
    }));
    let _ = one(999, &r); // warm the page cache and dentries
    let back: Vec<Sample> = (0..20).map(|i| one(i, &r)).collect();
    let isolated: Vec<Sample> = (0..10)
        .map(|i| {
            std::thread::sleep(Duration::from_millis(300));
            one(100 + i, &r)
        })
        .collect();
    let b = report("back to back", &back);
    let i = report("isolated (300 ms apart)", &isolated);
    // Sanity bounds only; the numbers go to the report.
    assert!(
        b < Duration::from_millis(200) && i < Duration::from_millis(300),
        "cgroup step is far too slow: {b:?} / {i:?}"
    );
    assert!(nothing_left(&name("bench0")).is_empty());
}
