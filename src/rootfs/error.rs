//! The rootfs module's error type. Wording follows runc 1.1.5 where runc has
//! one (rootfs_linux.go, mount_linux.go, specconv, configs/validate).

use nix::errno::Errno;

use super::sys::strerror;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// configs/validate: rootfs checks.
    #[error("invalid rootfs: {0}")]
    InvalidRootfs(String),

    /// specconv: bad mount entry or option, found at plan time.
    #[error("invalid mount {dest:?}: {why}")]
    InvalidMount { dest: String, why: String },

    #[error("mount field contains null byte")]
    NullByte,

    #[error("rootfsPropagation={0} is not supported")]
    RootPropagation(String),

    #[error("rootfsPropagation of [r]private is not safe without pivot_root")]
    PrivateWithoutPivot,

    #[error("{kind} is not a valid device type for device {path}")]
    BadDevice { kind: String, path: String },

    #[error("{0:?} is not valid utf-8")]
    NotUtf8(String),

    /// runc's mountError: "mount src:dst (via procfd), flags: 0x.., data: ..: err".
    #[error("{}", mount_msg(.op, .src, .target, .flags, .data, *.err))]
    Mount {
        op: &'static str,
        src: String,
        target: String,
        flags: u64,
        data: String,
        err: Errno,
    },

    /// Go's os.PathError: "op path: err".
    #[error("{op} {path}: {}", strerror(*.err))]
    Path {
        op: &'static str,
        path: String,
        err: Errno,
    },

    #[error("filesystem {0:?} must be mounted on ordinary directory")]
    NotOrdinaryDir(String),

    #[error("{0:?} cannot be mounted because it is not of type proc")]
    NotProc(String),

    #[error("{0:?} cannot be mounted because it is inside /proc")]
    InsideProc(String),
    /// A destination that resolves (through a symlink in the image) to the
    /// container's root: mounting there would cover the whole rootfs.
    #[error("mount destination {0:?} resolves to the container's root")]
    OverRoot(String),

    /// A CVE-class guard refused to act (symlink/device swap, fake procfs, escape).
    #[error("unsafe {what}: {why}")]
    Unsafe { what: String, why: String },

    /// runc wraps errors with a context prefix ("error mounting ... : ").
    #[error("{ctx}: {source}")]
    Context {
        ctx: String,
        source: Box<RootfsError>,
    },
}

pub type Result<T> = std::result::Result<T, RootfsError>;

fn mount_msg(op: &str, source: &str, target: &str, flags: &u64, data: &str, err: Errno) -> String {
    let mut out = format!("{op} ");
    if source.is_empty() {
        out.push_str(target);
    } else {
        out.push_str(&format!("{source}:{target}"));
    }
    if *flags != 0 {
        out.push_str(&format!(", flags: 0x{flags:x}"));
    }
    if !data.is_empty() {
        out.push_str(&format!(", data: {data}"));
    }
    out.push_str(": ");
    out.push_str(&strerror(err));
    out
}

impl RootfsError {
    pub fn path(op: &'static str, path: impl Into<String>, err: Errno) -> Self {
        RootfsError::Path {
            op,
            path: path.into(),
            err,
        }
    }

    pub fn mount(
        op: &'static str,
        source: &str,
        target: &str,
        flags: u64,
        data: &str,
        err: Errno,
    ) -> Self {
        RootfsError::Mount {
            op,
            src: source.into(),
            target: target.into(),
            flags,
            data: data.into(),
            err,
        }
    }

    pub fn unsafe_(what: impl Into<String>, why: impl Into<String>) -> Self {
        RootfsError::Unsafe {
            what: what.into(),
            why: why.into(),
        }
    }

    pub fn context(self, ctx: impl Into<String>) -> Self {
        RootfsError::Context {
            ctx: ctx.into(),
            source: Box::new(self),
        }
    }

    /// The errno at the bottom of the chain, if any (callers skip ENOENT etc.).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            RootfsError::Mount { err, .. } | RootfsError::Path { err, .. } => Some(*err),
            RootfsError::Context { source, .. } => source.errno(),
            _ => None,
        }
    }
}

/// `result.ctx("...")` adds runc's context prefix.
pub trait Ctx<T> {
    fn ctx(self, ctx: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Ctx<T> for Result<T> {
    fn ctx(self, ctx: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| e.context(ctx()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_error_has_runc_shape() {
        let e = RootfsError::mount("mount", "/a", "/b", 0x1000, "mode=755", Errno::ENOENT);
        assert_eq!(
            e.to_string(),
            "mount /a:/b, flags: 0x1000, data: mode=755: no such file or directory"
        );
        let e = RootfsError::mount("mount", "", "/b", 0, "", Errno::EPERM);
        assert_eq!(e.to_string(), "mount /b: operation not permitted");
    }

    #[test]
    fn context_chains_and_keeps_errno() {
        let e = RootfsError::path("open", "/x", Errno::ELOOP)
            .context("error mounting \"a\" to rootfs at \"/x\"");
        assert_eq!(e.errno(), Some(Errno::ELOOP));
        assert!(e
            .to_string()
            .starts_with("error mounting \"a\" to rootfs at \"/x\": open /x: "));
    }
}
