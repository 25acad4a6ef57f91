//! cgroup v1 controller files: limits (in runc's write order) and stats.

use std::path::Path;
use std::time::{Duration, Instant};

use super::config::{Memory, Resources};
use super::files::{self, kv, read_kv, read_u64, write, Control};
use super::stats::{BlkioEntry, Hugetlb, MemoryEntry, Stats};
use super::{devices, Error, FreezerState, Result};

/// Work that must happen between mkdir and joining: a cpuset cgroup with an
/// empty cpuset.cpus/mems refuses tasks (ENOSPC), and a realtime task can
/// only join a cgroup that already has an rt budget.
pub fn prepare(ctrl: &str, mount: &Path, dir: &Path, r: &Resources) -> Result<()> {
    match ctrl {
        "cpuset" => {
            // Copy from the parent, top-down, every level that is still empty
            // (runc's cpusetEnsureParent + cpusetCopyIfNeeded).
            let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
            let mut cur = mount.to_path_buf();
            for c in rel.components() {
                let parent = cur.clone();
                cur.push(c);
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    if files::read(&cur, f)?.trim().is_empty() {
                        let v = files::read(&parent, f)?;
                        write(&cur, f, v.trim())?;
                    }
                }
            }
            Ok(())
        }
        "cpu" => set_rt(dir, r),
        _ => Ok(()),
    }
}

fn set_rt(dir: &Path, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    if let Some(p) = c.realtime_period.filter(|&p| p != 0) {
        write(dir, "cpu.rt_period_us", &p.to_string())?;
    }
    if let Some(rt) = c.realtime_runtime.filter(|&v| v != 0) {
        write(dir, "cpu.rt_runtime_us", &rt.to_string())?;
    }
    Ok(())
}

/// Write `ctrl`'s part of `r` into `dir`.
pub fn set(ctrl: &str, dir: &Path, r: &Resources) -> Result<()> {
    match ctrl {
        "cpuset" => {
            if let Some(c) = &r.cpu {
                if let Some(v) = c.cpus.as_deref().filter(|v| !v.is_empty()) {
                    write(dir, "cpuset.cpus", v)?;
                }
                if let Some(v) = c.mems.as_deref().filter(|v| !v.is_empty()) {
                    write(dir, "cpuset.mems", v)?;
                }
            }
        }
        "devices" => {
            // [deny, allow], each opened at its first rule.
            let mut files: [Option<Control>; 2] = [None, None];
            for (allow, rule) in devices::v1_lines(&r.devices)? {
                let slot = &mut files[allow as usize];
                let f = match slot {
                    Some(f) => f,
                    None => slot.insert(Control::open(
                        dir,
                        if allow {
                            "devices.allow"
                        } else {
                            "devices.deny"
                        },
                    )?),
                };
                f.write(&rule)?;
            }
        }
        "memory" => {
            if let Some(m) = &r.memory {
                set_memory(dir, m)?;
            }
        }
        "cpu" => set_cpu(dir, r)?,
        "pids" => {
            if let Some(p) = &r.pids {
                if p.limit != 0 {
                    write(dir, "pids.max", &pids_max(p.limit))?;
                }
            }
        }
        "blkio" => set_blkio(dir, r)?,
        "hugetlb" => {
            for h in &r.hugepage_limits {
                write(
                    dir,
                    &format!("hugetlb.{}.limit_in_bytes", h.page_size),
                    &h.limit.to_string(),
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `ctrl` has anything to write for `r` (a limit for a controller
/// this host lacks is an error; no limit is fine).
pub fn wants(ctrl: &str, r: &Resources) -> bool {
    match ctrl {
        "cpuset" => r
            .cpu
            .as_ref()
            .is_some_and(|c| c.cpus.is_some() || c.mems.is_some()),
        "devices" => !r.devices.is_empty(),
        "memory" => r
            .memory
            .as_ref()
            .is_some_and(|m| m.limit.is_some() || m.swap.is_some() || m.reservation.is_some()),
        "cpu" => r
            .cpu
            .as_ref()
            .is_some_and(|c| c.shares.is_some() || c.quota.is_some() || c.period.is_some()),
        "pids" => r.pids.as_ref().is_some_and(|p| p.limit != 0),
        "blkio" => r.block_io.is_some(),
        "hugetlb" => !r.hugepage_limits.is_empty(),
        _ => false,
    }
}

pub fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

fn set_memory(dir: &Path, m: &Memory) -> Result<()> {
    let limit = m.limit.unwrap_or(0);
    let mut swap = m.swap.unwrap_or(0);
    // runc: unlimited memory with swap unset means unlimited swap too.
    if limit == -1 && swap == 0 {
        swap = -1;
    }
    let have_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    if !have_memsw {
        if swap > 0 {
            return Err(Error::InvalidResources(
                "swap limit set but the kernel has no swap accounting (memory.memsw)".into(),
            ));
        }
        swap = 0;
    }
    if limit != 0 && swap != 0 {
        // The kernel wants memsw >= limit at every step, so the order
        // depends on whether the new memsw is above the current limit.
        let cur = read_u64(dir, "memory.limit_in_bytes")?;
        if swap == -1 || cur < swap as u64 {
            write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
            write(dir, "memory.limit_in_bytes", &limit.to_string())?;
        } else {
            write(dir, "memory.limit_in_bytes", &limit.to_string())?;
            write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
        }
    } else {
        if limit != 0 {
            write(dir, "memory.limit_in_bytes", &limit.to_string())?;
        }
        if swap != 0 {
            write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
        }
    }
    // memory.kmem.limit_in_bytes is ignored, as runc 1.1 does: the kernel
    // dropped kernel memory limits (5.4 deprecated, 6.x rejects writes).
    if let Some(t) = m.kernel_tcp.filter(|&v| v != 0) {
        write(dir, "memory.kmem.tcp.limit_in_bytes", &t.to_string())?;
    }
    if let Some(v) = m.reservation.filter(|&v| v != 0) {
        write(dir, "memory.soft_limit_in_bytes", &v.to_string())?;
    }
    if m.disable_oom_killer == Some(true) {
        write(dir, "memory.oom_control", "1")?;
    }
    if let Some(s) = m.swappiness {
        write(dir, "memory.swappiness", &s.to_string())?;
    }
    Ok(())
}

fn set_cpu(dir: &Path, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    if let Some(s) = c.shares.filter(|&s| s != 0) {
        write(dir, "cpu.shares", &s.to_string())?;
        // The kernel clamps silently; runc reports it.
        let got = read_u64(dir, "cpu.shares")?;
        if got < s {
            return Err(Error::InvalidResources(format!(
                "the maximum allowed cpu-shares is {got}"
            )));
        } else if got > s {
            return Err(Error::InvalidResources(format!(
                "the minimum allowed cpu-shares is {got}"
            )));
        }
    }
    let mut period_later = None;
    if let Some(p) = c.period.filter(|&p| p != 0) {
        if let Err(e) = write(dir, "cpu.cfs_period_us", &p.to_string()) {
            // A smaller period can be refused (EINVAL) because old_quota /
            // new_period exceeds the parent's; runc retries it after quota.
            let einval = e.os_error().and_then(|s| s.raw_os_error()) == Some(libc::EINVAL);
            if !einval || c.quota.unwrap_or(0) == 0 {
                return Err(e);
            }
            period_later = Some(p);
        }
    }
    if let Some(q) = c.quota.filter(|&q| q != 0) {
        write(dir, "cpu.cfs_quota_us", &q.to_string())?;
        if let Some(p) = period_later {
            write(dir, "cpu.cfs_period_us", &p.to_string())?;
        }
    }
    if let Some(b) = c.burst {
        write(dir, "cpu.cfs_burst_us", &b.to_string())?;
    }
    if let Some(i) = c.idle {
        write(dir, "cpu.idle", &i.to_string())?;
    }
    set_rt(dir, r)
}

fn set_blkio(dir: &Path, r: &Resources) -> Result<()> {
    let Some(b) = &r.block_io else { return Ok(()) };
    // Without CFQ (gone since 5.0) the weight files are BFQ's.
    let (weight, weight_dev) = if dir.join("blkio.weight").exists() {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    if let Some(w) = b.weight.filter(|&w| w != 0) {
        write(dir, weight, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight.filter(|&w| w != 0) {
        write(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            write(dir, weight_dev, &format!("{}:{} {}", d.major, d.minor, w))?;
        }
        if let Some(w) = d.leaf_weight {
            write(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {}", d.major, d.minor, w),
            )?;
        }
    }
    for (file, list) in [
        (
            "blkio.throttle.read_bps_device",
            &b.throttle_read_bps_device,
        ),
        (
            "blkio.throttle.write_bps_device",
            &b.throttle_write_bps_device,
        ),
        (
            "blkio.throttle.read_iops_device",
            &b.throttle_read_iops_device,
        ),
        (
            "blkio.throttle.write_iops_device",
            &b.throttle_write_iops_device,
        ),
    ] {
        for d in list {
            write(dir, file, &format!("{}:{} {}", d.major, d.minor, d.rate))?;
        }
    }
    Ok(())
}

/// "2MB" -> Some(bytes) for the page sizes the kernel names that way.
pub fn hugepage_size_ok(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let m = match unit {
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    Some(n * m)
}

pub fn freeze(dir: &Path, state: FreezerState) -> Result<()> {
    match state {
        FreezerState::Undefined => Err(Error::Freeze("invalid freezer state".into())),
        FreezerState::Thawed => write(dir, "freezer.state", "THAWED"),
        FreezerState::Frozen => {
            // FREEZING can last while tasks sit in uninterruptible sleep;
            // re-writing FROZEN makes the kernel retry them (runc does too).
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut i = 0u32;
            loop {
                if i % 50 == 0 {
                    write(dir, "freezer.state", "FROZEN")?;
                }
                if files::read(dir, "freezer.state")?.trim() == "FROZEN" {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    let _ = write(dir, "freezer.state", "THAWED");
                    return Err(Error::Freeze(
                        "unable to freeze: tasks did not stop in 2s".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(1));
                i += 1;
            }
        }
    }
}

pub fn freezer_state(dir: &Path) -> Result<FreezerState> {
    Ok(match files::read(dir, "freezer.state")?.trim() {
        "THAWED" => FreezerState::Thawed,
        // FREEZING: not frozen yet, report as thawed (runc: "paused" only when FROZEN).
        "FROZEN" => FreezerState::Frozen,
        _ => FreezerState::Thawed,
    })
}

/// Fill `ctrl`'s part of `s` from `dir`.
pub fn stats(ctrl: &str, dir: &Path, s: &mut Stats) -> Result<()> {
    match ctrl {
        "cpuacct" => {
            let u = &mut s.cpu.usage;
            u.total = read_u64(dir, "cpuacct.usage")?;
            u.percpu = nums(&files::read(dir, "cpuacct.usage_percpu")?);
            // cpuacct.stat is in USER_HZ ticks.
            let st = read_kv(dir, "cpuacct.stat")?;
            let tick = 1_000_000_000 / clk_tck();
            u.user = kv(&st, "user") * tick;
            u.kernel = kv(&st, "system") * tick;
            if let Ok(all) = files::read(dir, "cpuacct.usage_all") {
                for l in all.lines().skip(1) {
                    let v = nums(l);
                    if v.len() == 3 {
                        u.percpu_user.push(v[1]);
                        u.percpu_kernel.push(v[2]);
                    }
                }
            }
        }
        "cpu" => {
            let st = read_kv(dir, "cpu.stat")?;
            let t = &mut s.cpu.throttling;
            t.periods = kv(&st, "nr_periods");
            t.throttled_periods = kv(&st, "nr_throttled");
            t.throttled_time = kv(&st, "throttled_time");
        }
        "cpuset" => {
            s.cpuset.cpus = super::stats::parse_list(&files::read(dir, "cpuset.cpus")?);
            s.cpuset.mems = super::stats::parse_list(&files::read(dir, "cpuset.mems")?);
            let f = |n: &str| read_u64(dir, n).unwrap_or(0);
            s.cpuset.cpu_exclusive = f("cpuset.cpu_exclusive");
            s.cpuset.mem_exclusive = f("cpuset.mem_exclusive");
            s.cpuset.mem_hardwall = f("cpuset.mem_hardwall");
            s.cpuset.memory_migrate = f("cpuset.memory_migrate");
            s.cpuset.memory_pressure = f("cpuset.memory_pressure");
            s.cpuset.memory_spread_page = f("cpuset.memory_spread_page");
            s.cpuset.memory_spread_slab = f("cpuset.memory_spread_slab");
            s.cpuset.sched_load_balance = f("cpuset.sched_load_balance");
            s.cpuset.sched_relax_domain_level = files::read(dir, "cpuset.sched_relax_domain_level")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
        "memory" => {
            let m = &mut s.memory;
            let raw = read_kv(dir, "memory.stat")?;
            m.cache = kv(&raw, "cache");
            m.raw = raw.into_iter().collect();
            m.usage = mem_entry(dir, "memory")?;
            if dir.join("memory.memsw.usage_in_bytes").exists() {
                m.swap = mem_entry(dir, "memory.memsw")?;
            }
            m.kernel = mem_entry(dir, "memory.kmem").unwrap_or_default();
            m.kernel_tcp = mem_entry(dir, "memory.kmem.tcp").unwrap_or_default();
        }
        "pids" => {
            s.pids.current = read_u64(dir, "pids.current")?;
            let max = read_u64(dir, "pids.max")?;
            s.pids.limit = if max == u64::MAX { 0 } else { max };
        }
        "blkio" => {
            let ent = |f: &str| -> Vec<BlkioEntry> {
                files::read(dir, f)
                    .map(|t| blkio_entries(&t))
                    .unwrap_or_default()
            };
            // runc prefers the CFQ/BFQ files and falls back to throttle's.
            let b = &mut s.blkio;
            b.io_service_bytes_recursive = ent("blkio.bfq.io_service_bytes_recursive");
            b.io_serviced_recursive = ent("blkio.bfq.io_serviced_recursive");
            if b.io_serviced_recursive.is_empty() {
                b.io_service_bytes_recursive = ent("blkio.throttle.io_service_bytes_recursive");
                b.io_serviced_recursive = ent("blkio.throttle.io_serviced_recursive");
            }
        }
        "hugetlb" => {
            for size in hugepage_sizes() {
                let p = format!("hugetlb.{size}");
                s.hugetlb.insert(
                    size,
                    Hugetlb {
                        usage: read_u64(dir, &format!("{p}.usage_in_bytes"))?,
                        max: read_u64(dir, &format!("{p}.max_usage_in_bytes"))?,
                        failcnt: read_u64(dir, &format!("{p}.failcnt"))?,
                    },
                );
            }
        }
        _ => {}
    }
    Ok(())
}

fn mem_entry(dir: &Path, prefix: &str) -> Result<MemoryEntry> {
    let limit = read_u64(dir, &format!("{prefix}.limit_in_bytes"))?;
    Ok(MemoryEntry {
        limit,
        usage: read_u64(dir, &format!("{prefix}.usage_in_bytes"))?,
        max: read_u64(dir, &format!("{prefix}.max_usage_in_bytes"))?,
        failcnt: read_u64(dir, &format!("{prefix}.failcnt"))?,
    })
}

/// "8:0 Read 4096" lines; the "Total" line is dropped.
fn blkio_entries(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (mm, op, v) = match f.as_slice() {
                [mm, op, v] => (mm, op.to_string(), v),
                [mm, v] => (mm, String::new(), v),
                _ => return None,
            };
            let (ma, mi) = mm.split_once(':')?;
            Some(BlkioEntry {
                major: ma.parse().ok()?,
                minor: mi.parse().ok()?,
                op,
                value: v.parse().ok()?,
            })
        })
        .collect()
}

fn nums(s: &str) -> Vec<u64> {
    s.split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect()
}

fn clk_tck() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Huge page sizes the kernel offers, named as hugetlb files name them.
pub fn hugepage_sizes() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let kb: u64 = e
                        .file_name()
                        .to_str()?
                        .strip_prefix("hugepages-")?
                        .strip_suffix("kB")?
                        .parse()
                        .ok()?;
                    Some(if kb >= 1 << 20 {
                        format!("{}GB", kb >> 20)
                    } else if kb >= 1 << 10 {
                        format!("{}MB", kb >> 10)
                    } else {
                        format!("{kb}KB")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_lines() {
        let e = blkio_entries("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].major, e[0].minor, e[0].op.as_str(), e[0].value),
            (8, 0, "Read", 4096)
        );
    }

    #[test]
    fn hugepage_names() {
        assert_eq!(hugepage_size_ok("2MB"), Some(2 << 20));
        assert_eq!(hugepage_size_ok("1GB"), Some(1 << 30));
        assert_eq!(hugepage_size_ok("2mb"), None);
        assert_eq!(hugepage_size_ok("MB"), None);
    }

    #[test]
    fn pids_limit_text() {
        assert_eq!(pids_max(10), "10");
        assert_eq!(pids_max(-1), "max");
    }
}
