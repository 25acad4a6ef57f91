//! The stage's fatal error: what ends up in the FATAL log line.
//!
//! `Sys` is runc's `bail()` (message + `: strerror(errno)`); `Plain` is
//! `bailx()` (no errno). The module errors convert in with their own words.

use super::super::bootstrap::{NsPathError, ParseError};
use super::super::idmap::IdmapError;
use super::super::sync::SyncError;
use super::super::sys::Errno;
use alloc::format;
use alloc::string::String;

#[derive(Debug)]
pub enum StageError {
    Sys { msg: String, errno: Errno },
    Plain(String),
    Parse(ParseError),
    NsPath(NsPathError),
    Sync(SyncError),
    Idmap(IdmapError),
}

impl core::fmt::Display for StageError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sys { msg, errno } => write!(f, "{msg}: {}", errno.desc()),
            Self::Plain(_0) => write!(f, "{_0}"),
            Self::Parse(_0) => core::fmt::Display::fmt(_0, f),
            Self::NsPath(_0) => core::fmt::Display::fmt(_0, f),
            Self::Sync(_0) => core::fmt::Display::fmt(_0, f),
            Self::Idmap(_0) => core::fmt::Display::fmt(_0, f),
        }
    }
}

impl core::error::Error for StageError {}

impl From<ParseError> for StageError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

impl From<NsPathError> for StageError {
    fn from(e: NsPathError) -> Self {
        Self::NsPath(e)
    }
}

impl From<SyncError> for StageError {
    fn from(e: SyncError) -> Self {
        Self::Sync(e)
    }
}

impl From<IdmapError> for StageError {
    fn from(e: IdmapError) -> Self {
        Self::Idmap(e)
    }
}

impl StageError {
    pub fn sys(msg: impl Into<String>, errno: Errno) -> StageError {
        StageError::Sys {
            msg: msg.into(),
            errno,
        }
    }

    /// `bail()` right after a libc call that set errno.
    #[cfg_attr(not(feature = "runc-1-1"), allow(dead_code))]
    pub fn last_os(msg: impl Into<String>) -> StageError {
        StageError::sys(msg, Errno::last())
    }

    pub fn plain(msg: impl Into<String>) -> StageError {
        StageError::Plain(msg.into())
    }

    /// A message with the cause appended, `msg: cause`.
    #[cfg_attr(not(feature = "runc-1-1"), allow(dead_code))]
    pub fn with_source(msg: &str, cause: impl core::fmt::Display) -> StageError {
        StageError::Plain(format!("{msg}: {cause}"))
    }
}
