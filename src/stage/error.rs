//! The stage's fatal error: what ends up in the FATAL log line.
//!
//! `Sys` is runc's `bail()` (message + `: strerror(errno)`); `Plain` is
//! `bailx()` (no errno). The module errors convert in with their own words.

use crate::bootstrap::{NsPathError, ParseError};
use crate::idmap::IdmapError;
use crate::sync::SyncError;
use nix::errno::Errno;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StageError {
    #[error("{msg}: {}", .errno.desc())]
    Sys { msg: String, errno: Errno },
    #[error("{0}")]
    Plain(String),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    NsPath(#[from] NsPathError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Idmap(#[from] IdmapError),
}

impl StageError {
    pub fn sys(msg: impl Into<String>, errno: Errno) -> StageError {
        StageError::Sys { msg: msg.into(), errno }
    }

    /// `bail()` right after a libc call that set errno.
    pub fn last_os(msg: impl Into<String>) -> StageError {
        StageError::sys(msg, Errno::last())
    }

    pub fn plain(msg: impl Into<String>) -> StageError {
        StageError::Plain(msg.into())
    }

    /// A message with the cause appended, `msg: cause`.
    pub fn with_source(msg: &str, cause: impl std::fmt::Display) -> StageError {
        StageError::Plain(format!("{msg}: {cause}"))
    }
}
