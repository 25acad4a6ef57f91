//! The six OCI hooks: which ones exist, where they run, what a failure
//! means. Running one is in `exec.rs`.
//!
//! | kind            | runs in                          | called by | state.status | a failure    |
//! |-----------------|----------------------------------|-----------|--------------|--------------|
//! | prestart        | runtime namespaces               | runtime   | creating     | fails create |
//! | createRuntime   | runtime namespaces               | runtime   | creating     | fails create |
//! | createContainer | container namespaces (from init) | init      | creating     | fails create |
//! | startContainer  | container namespaces (from init) | init      | created      | init exits   |
//! | poststart       | runtime namespaces               | runtime   | created (1)  | kills, fails start |
//! | poststop        | runtime namespaces               | runtime   | stopped      | fails delete (after removal) |
//!
//! (1) runc 1.1 takes the state before the exec fifo is removed. Every kind
//! stops at its first failing hook, as runc's HookList.RunHooks.
//!
//! Every hook gets the container state JSON on stdin (runc: the pid is
//! init's; for createContainer/startContainer init's own getpid()).
//! prestart/createRuntime run when init reports "procHooks" (after its mounts,
//! before pivot_root); createContainer after mounts, before pivot_root;
//! startContainer after the exec fifo opens, just before execve.

// Go's errno words (src/errno.rs), shared by source with every module.
#[path = "../errno.rs"]
mod errno;
mod exec;

use bincode::{Decode, Encode};
use oci_spec::runtime::Spec;
use thiserror::Error;

pub use exec::{run_one, NsTarget};

#[derive(Debug, Error)]
pub enum HookError {
    /// runc's wording.
    #[error("error running hook #{index}: {cause}")]
    Failed { index: usize, cause: String },
    #[error("invalid {kind} hook #{index}: {why}")]
    Invalid {
        kind: &'static str,
        index: usize,
        why: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ];

    /// The name in config.json.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    /// Run by init, inside the container's namespaces.
    pub fn in_container(self) -> bool {
        matches!(self, Kind::CreateContainer | Kind::StartContainer)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Hook {
    pub path: String,
    /// argv, argv[0] included; empty means [path].
    pub args: Vec<String>,
    /// None: inherit the runtime's environment (as runc's exec.Cmd does).
    pub env: Option<Vec<String>>,
    /// Seconds (> 0); None waits forever.
    pub timeout: Option<u32>,
}

/// All hooks of a spec, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct HookSet {
    pub hooks: Vec<(Kind, Vec<Hook>)>,
}

impl HookSet {
    pub fn from_spec(spec: &Spec) -> Result<HookSet, HookError> {
        let mut set = HookSet::default();
        let Some(h) = spec.hooks() else {
            return Ok(set);
        };
        #[allow(deprecated)]
        let lists = [
            (Kind::Prestart, h.prestart()),
            (Kind::CreateRuntime, h.create_runtime()),
            (Kind::CreateContainer, h.create_container()),
            (Kind::StartContainer, h.start_container()),
            (Kind::Poststart, h.poststart()),
            (Kind::Poststop, h.poststop()),
        ];
        for (kind, list) in lists {
            let mut out = vec![];
            for (index, hk) in list.iter().flatten().enumerate() {
                let path = hk.path().display().to_string();
                if !path.starts_with('/') {
                    let why = format!("path {path:?} is not absolute");
                    return Err(HookError::Invalid {
                        kind: kind.name(),
                        index,
                        why,
                    });
                }
                let timeout = match hk.timeout() {
                    Some(t) if t <= 0 => {
                        let why = format!("timeout must be greater than zero, got {t}");
                        return Err(HookError::Invalid {
                            kind: kind.name(),
                            index,
                            why,
                        });
                    }
                    t => t.map(|t| t as u32),
                };
                out.push(Hook {
                    path,
                    args: hk.args().clone().unwrap_or_default(),
                    env: hk.env().clone(),
                    timeout,
                });
            }
            if !out.is_empty() {
                set.hooks.push((kind, out));
            }
        }
        Ok(set)
    }

    pub fn get(&self, kind: Kind) -> &[Hook] {
        self.hooks
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }
}

/// Run `hooks` in order with `state` (the state JSON) on stdin, stopping at
/// the first failure. `ns`: namespaces to join first; None runs them where
/// the caller is (init is already inside the container for
/// createContainer/startContainer).
pub fn run(hooks: &[Hook], state: &[u8], ns: Option<&NsTarget>) -> Result<(), HookError> {
    for (index, h) in hooks.iter().enumerate() {
        run_one(h, state, ns).map_err(|cause| HookError::Failed { index, cause })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_hooks_are_collected_by_kind() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","hooks":{
                "createRuntime":[{"path":"/bin/true","args":["true","x"],"timeout":3}],
                "poststop":[{"path":"/bin/false","env":["A=1"]}]}}"#,
        )
        .unwrap();
        let s = HookSet::from_spec(&spec).unwrap();
        assert_eq!(s.get(Kind::CreateRuntime)[0].timeout, Some(3));
        assert_eq!(s.get(Kind::Poststop)[0].env, Some(vec!["A=1".to_string()]));
        assert!(s.get(Kind::Prestart).is_empty());
        assert!(Kind::CreateContainer.in_container() && !Kind::Poststart.in_container());
    }

    #[test]
    fn relative_paths_are_refused() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","hooks":{"prestart":[{"path":"bin/true"}]}}"#,
        )
        .unwrap();
        let e = HookSet::from_spec(&spec).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid prestart hook #0: path \"bin/true\" is not absolute"
        );
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","hooks":{"poststop":[{"path":"/bin/true","timeout":0}]}}"#,
        )
        .unwrap();
        let e = HookSet::from_spec(&spec).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid poststop hook #0: timeout must be greater than zero, got 0"
        );
    }
}
