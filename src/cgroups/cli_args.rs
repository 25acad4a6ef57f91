//! clap argument structs for the cgroup-backed commands, with runc 1.1's
//! flag names, for the lead to plug into the CLI enum. They hold no logic
//! besides value parsing; commands.rs runs them.

use std::time::Duration;

use clap::Args;

/// `ps <container-id> [ps options]`
#[derive(Args, Debug, Clone)]
pub struct PsArgs {
    /// select one of: table or json
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    pub id: String,
    /// passed to ps(1) (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `events [--stats] [--interval 5s] <container-id>`
#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// set the stats collection interval
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    pub id: String,
}

/// `pause <container-id>` and `resume <container-id>`
#[derive(Args, Debug, Clone)]
pub struct IdArgs {
    pub id: String,
}

/// `update [flags] <container-id>`; string values as runc reads them
/// (memory sizes accept "512m", "1g", "-1"). Every value may start with
/// `-`: runc's flags are Go `flag` ones, which take the next word as the
/// value whatever it is (`--memory-swap -1`, `--cpu-quota -1`), and the
/// value parsers then decide (runc's update.go).
#[derive(Args, Debug, Clone, Default)]
pub struct UpdateArgs {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(short = 'r', long, allow_hyphen_values = true)]
    pub resources: Option<String>,
    /// Specifies per cgroup weight, range is from 10 to 1000
    #[arg(long, allow_hyphen_values = true)]
    pub blkio_weight: Option<i64>,
    /// CPU CFS period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(
        long = "cpu-share",
        visible_alias = "cpu-shares",
        allow_hyphen_values = true
    )]
    pub cpu_share: Option<String>,
    /// CPU realtime period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPU(s) to use
    #[arg(long, allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Memory node(s) to use
    #[arg(long, allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// (obsoleted; do not use)
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// (obsoleted; do not use)
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (in bytes)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation or soft_limit (in bytes)
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Total memory usage (memory + swap); set '-1' to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids allowed in the container
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// The string of Intel RDT/CAT L3 cache schema
    #[arg(long, allow_hyphen_values = true)]
    pub l3_cache_schema: Option<String>,
    /// The string of Intel RDT/MBA memory bandwidth schema
    #[arg(long, allow_hyphen_values = true)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

/// Go's time.ParseDuration for the forms runc users write: "5s", "100ms",
/// "1m30s", "1.5s", "2h".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let num: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Go's strconv.ParseUint / ParseInt (base 10, 64 bits), with their error
/// words: `strconv.ParseUint: parsing "-1": invalid syntax`.
pub fn go_parse_u64(s: &str) -> Result<u64, String> {
    go_int("ParseUint", s, s)
}

pub fn go_parse_i64(s: &str) -> Result<i64, String> {
    go_int("ParseInt", s, s.strip_prefix(['+', '-']).unwrap_or(s))
}

/// `digits` is `s` without the sign ParseInt allows: only ASCII digits
/// are valid (Go allows `_` only with base 0).
fn go_int<T: std::str::FromStr>(f: &str, s: &str, digits: &str) -> Result<T, String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.{f}: parsing {s:?}: invalid syntax"));
    }
    s.parse::<T>()
        .map_err(|_| format!("strconv.{f}: parsing {s:?}: value out of range"))
}

/// docker/go-units RAMInBytes: "1024", "512k", "1.5g", "2GiB" (binary units).
pub fn parse_ram(s: &str) -> Result<i64, String> {
    // go-units' parseSize words.
    let bad = || format!("invalid size: '{s}'");
    let t = s.trim();
    let n = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let num: f64 = t[..n].parse().map_err(|_| bad())?;
    let unit = t[n..].trim_start().to_ascii_lowercase();
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((num * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        c: C,
    }
    #[derive(clap::Subcommand)]
    #[allow(clippy::large_enum_variant)]
    enum C {
        Ps(PsArgs),
        Events(EventsArgs),
        Update(UpdateArgs),
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn go_integers() {
        assert_eq!(go_parse_u64("42"), Ok(42));
        assert_eq!(
            go_parse_u64("-1").unwrap_err(),
            "strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        assert_eq!(
            go_parse_u64("18446744073709551616").unwrap_err(),
            "strconv.ParseUint: parsing \"18446744073709551616\": value out of range"
        );
        assert_eq!(go_parse_i64("-1"), Ok(-1));
        assert_eq!(go_parse_i64("+7"), Ok(7));
        assert_eq!(
            go_parse_i64("1x").unwrap_err(),
            "strconv.ParseInt: parsing \"1x\": invalid syntax"
        );
        assert_eq!(
            go_parse_i64("-9223372036854775809").unwrap_err(),
            "strconv.ParseInt: parsing \"-9223372036854775809\": value out of range"
        );
        assert_eq!(parse_ram("-5").unwrap_err(), "invalid size: '-5'");
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(parse_ram("1024").unwrap(), 1024);
        assert_eq!(parse_ram("512m").unwrap(), 512 << 20);
        assert_eq!(parse_ram("1g").unwrap(), 1 << 30);
        assert_eq!(parse_ram("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_ram("10MB").unwrap(), 10 << 20);
        assert!(parse_ram("12q").is_err());
    }

    #[test]
    fn runc_flag_spellings() {
        let t = T::try_parse_from(["x", "ps", "-f", "json", "c1", "-eo", "pid,comm"]).unwrap();
        let C::Ps(p) = t.c else { panic!() };
        assert_eq!((p.format.as_str(), p.id.as_str()), ("json", "c1"));
        assert_eq!(p.ps_args, ["-eo", "pid,comm"]);
        let t = T::try_parse_from([
            "x",
            "update",
            "--memory",
            "64m",
            "--cpu-share",
            "512",
            "--pids-limit",
            "-1",
            "--memory-swap",
            "-1",
            "--cpu-quota",
            "-1",
            "--cpu-rt-runtime",
            "-1",
            "c1",
        ])
        .unwrap();
        let C::Update(u) = t.c else { panic!() };
        assert_eq!(
            (u.memory.as_deref(), u.cpu_share.as_deref(), u.pids_limit),
            (Some("64m"), Some("512"), Some(-1))
        );
        assert_eq!(
            (
                u.memory_swap.as_deref(),
                u.cpu_quota.as_deref(),
                u.cpu_rt_runtime.as_deref()
            ),
            (Some("-1"), Some("-1"), Some("-1"))
        );
        let t = T::try_parse_from(["x", "events", "--interval", "1s", "c1"]).unwrap();
        let C::Events(e) = t.c else { panic!() };
        assert_eq!(e.interval, Duration::from_secs(1));
    }
}
