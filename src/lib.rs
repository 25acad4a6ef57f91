//! libnsexec: runc's `nsexec` stage in Rust.
//!
//! Linked into a Go (or C) runtime, [`nsexec`] runs from `.init_array` before
//! that runtime starts. If `_LIBCONTAINER_INITPIPE` is set it reads runc's
//! bootstrap message, joins and creates namespaces through three cloned
//! stages, and returns in the last one (`runc:[2:INIT]`) into the host
//! program. Otherwise it returns at once and touches nothing.
//!
//! The wire profile is chosen at build time: the current runc (>= 1.4) by
//! default, runc 1.1.x with the `runc-1-1` feature. The contract is
//! `nsexec-protocol.md`; section numbers in comments (§N) point into it.

pub mod bootstrap;
pub mod log;
pub mod sync;

mod clone;
#[cfg(feature = "runc-1-1")]
mod cloned_binary;
mod idmap;
#[cfg(feature = "runc-1-1")]
mod mountfds;
mod stage;
mod sys;

pub use stage::nsexec;

/// True when this build speaks runc 1.1's wire profile.
pub const RUNC_1_1: bool = cfg!(feature = "runc-1-1");

/// Our own `.init_array` entry, so a C host needs no constructor of its own.
/// A host that also calls `nsexec()` (as runc's `nsenter.go` does) is safe:
/// the stage runs at most once per process image.
///
/// It lives in this crate's root object, which the host's reference to the
/// `nsexec` symbol pulls out of the archive (release builds use one codegen
/// unit); an `.init_array` entry in an unreferenced archive member would be
/// dropped silently by the linker.
#[used]
#[link_section = ".init_array"]
static NSEXEC_CTOR: extern "C" fn() = {
    extern "C" fn ctor() {
        nsexec();
    }
    ctor
};
