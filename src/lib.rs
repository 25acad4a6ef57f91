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
//!
//! Release builds (panic=abort) are `no_std`: std's panic machinery drags in
//! a DWARF symbolizer (gimli, addr2line, miniz) that would triple what the
//! archive adds to a C program. The stage needs only core, alloc and libc;
//! [`rt`] supplies the panic handler (a FATAL line and exit 1) and a malloc
//! allocator. Test builds (panic=unwind) use std as usual.
#![cfg_attr(panic = "abort", no_std)]

extern crate alloc;

#[cfg(panic = "abort")]
mod rt;

include!("modules.rs");
