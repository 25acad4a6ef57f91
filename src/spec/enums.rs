//! runc's words for a config value outside a spec enumeration.
//!
//! oci-spec rejects such a value while parsing, with serde's "unknown variant
//! `x`, expected one of ..." and a column: accurate but not what runc users
//! (and their scripts) see. Only when parsing failed, the JSON is walked
//! again for the enumerations runc names in its errors.

use oci_spec::runtime::{
    Arch, Capability, LinuxNamespaceType, LinuxSeccompAction, LinuxSeccompOperator,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A string `x` that is not a value of the enumeration `T`.
fn unknown<T: DeserializeOwned>(x: &Value) -> Option<&str> {
    x.as_str()
        .filter(|_| serde_json::from_value::<T>(x.clone()).is_err())
}

/// The first value of `config` runc would reject with its own message, in
/// runc's words (runc 1.1.5: specconv and the seccomp config).
pub fn runc_message(config: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(config).ok()?;
    let linux = &v["linux"];
    for ns in linux["namespaces"].as_array().into_iter().flatten() {
        if let Some(t) = unknown::<LinuxNamespaceType>(&ns["type"]) {
            return Some(format!(
                "namespace {{{t:?} {:?}}} does not exist",
                ns["path"].as_str().unwrap_or("")
            ));
        }
    }
    for r in v["process"]["rlimits"].as_array().into_iter().flatten() {
        if let Some(t) = r["type"]
            .as_str()
            .filter(|t| crate::security::rlimit::resource_of(t).is_err())
        {
            return Some(format!("wrong rlimit value: {t}"));
        }
    }
    let caps = &v["process"]["capabilities"];
    for set in [
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    ] {
        for c in caps[set].as_array().into_iter().flatten() {
            if let Some(c) = unknown::<Capability>(c) {
                // runc >= 1.2's words (1.1.5 ignores the name).
                return Some(format!("unknown capability {c:?}"));
            }
        }
    }
    let sc = &linux["seccomp"];
    if let Some(a) = unknown::<LinuxSeccompAction>(&sc["defaultAction"]) {
        return Some(format!("string {a} is not a valid action for seccomp"));
    }
    for a in sc["architectures"].as_array().into_iter().flatten() {
        if let Some(a) = unknown::<Arch>(a) {
            return Some(format!("string {a} is not a valid arch for seccomp"));
        }
    }
    for call in sc["syscalls"].as_array().into_iter().flatten() {
        if let Some(a) = unknown::<LinuxSeccompAction>(&call["action"]) {
            return Some(format!("string {a} is not a valid action for seccomp"));
        }
        for arg in call["args"].as_array().into_iter().flatten() {
            if let Some(op) = unknown::<LinuxSeccompOperator>(&arg["op"]) {
                return Some(format!("string {op} is not a valid operator for seccomp"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(v: Value) -> Option<String> {
        runc_message(v.to_string().as_bytes())
    }

    #[test]
    fn names_the_value_as_runc_does() {
        let ns = serde_json::json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "foo"}]}});
        assert_eq!(
            msg(ns).as_deref(),
            Some(r#"namespace {"foo" ""} does not exist"#)
        );
        let rl = serde_json::json!({"process": {"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]}});
        assert_eq!(msg(rl).as_deref(), Some("wrong rlimit value: RLIMIT_BOGUS"));
        let act = serde_json::json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "NOPE"}]}}});
        assert_eq!(
            msg(act).as_deref(),
            Some("string NOPE is not a valid action for seccomp")
        );
        let arch = serde_json::json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_NOPE"]}}});
        assert_eq!(
            msg(arch).as_deref(),
            Some("string SCMP_ARCH_NOPE is not a valid arch for seccomp")
        );
        let cap = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_KILL"], "ambient": ["CAP_BOGUS"]}}});
        assert_eq!(
            msg(cap).as_deref(),
            Some(r#"unknown capability "CAP_BOGUS""#)
        );
        let op = serde_json::json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"}]}]}}});
        assert_eq!(
            msg(op).as_deref(),
            Some("string SCMP_CMP_NOPE is not a valid operator for seccomp")
        );
    }

    #[test]
    fn silent_on_valid_values_and_bad_json() {
        let ok = serde_json::json!({"linux": {"namespaces": [{"type": "network", "path": "/x"}],
            "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"]}},
            "process": {"rlimits": [{"type": "RLIMIT_NOFILE"}]}});
        assert_eq!(msg(ok), None);
        assert_eq!(runc_message(b"{\"linux\": "), None);
    }
}
