//! Names in config.json checked before the typed parse. The typed spec
//! rejects an unknown capability or RLIMIT_* with a generic serde message;
//! these checks give runc's wording and name the culprit. Everything else is
//! left to the typed parse and `SecurityPlan::from_spec`.

use serde_json::Value;

use super::{caps, rlimit, SecurityError};

const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_NOTIFY",
];
const OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

fn strs(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

fn arr(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

pub fn check(config: &Value) -> Result<(), SecurityError> {
    let process = &config["process"];
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        for name in strs(&process["capabilities"][set]) {
            caps::parse_name(name)?;
        }
    }
    for r in arr(&process["rlimits"]) {
        if let Some(t) = r["type"].as_str() {
            rlimit::resource_of(t)?;
        }
    }
    let sc = &config["linux"]["seccomp"];
    if sc.is_null() {
        return Ok(());
    }
    let action = |v: &Value| match v.as_str() {
        Some(a) if !ACTIONS.contains(&a) => Err(SecurityError::SeccompAction(a.to_string())),
        _ => Ok(()),
    };
    action(&sc["defaultAction"])?;
    for a in strs(&sc["architectures"]) {
        if a.parse::<libseccomp::ScmpArch>().is_err() {
            return Err(SecurityError::SeccompArch(a.to_string()));
        }
    }
    for f in strs(&sc["flags"]) {
        if !FLAGS.contains(&f) {
            return Err(SecurityError::SeccompFlag(f.to_string()));
        }
    }
    for call in arr(&sc["syscalls"]) {
        action(&call["action"])?;
        for a in arr(&call["args"]) {
            if let Some(o) = a["op"].as_str() {
                if !OPERATORS.contains(&o) {
                    return Err(SecurityError::SeccompOperator(o.to_string()));
                }
            }
        }
    }
    Ok(())
}
