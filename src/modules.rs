// The stage's module tree. src/lib.rs includes it as the crate root of
// libnsexec; src/main.rs mounts it as `mod nsexec` so the nsrun binary gets
// the same code compiled with std. The modules therefore name each other
// with `super::`, never `crate::`, and use only core + alloc + libc.

pub mod bootstrap;
pub mod log;
pub mod sync;

mod clone;
#[cfg(feature = "runc-1-1")]
mod cloned_binary;
pub mod exeseal;
mod idmap;
#[cfg(feature = "runc-1-1")]
mod mountfds;
mod stage;
pub mod sys;

pub use stage::nsexec;

/// True when this build speaks runc 1.1's wire profile.
pub const RUNC_1_1: bool = cfg!(feature = "runc-1-1");

/// Our own `.init_array` entry, so a C host needs no constructor of its own.
/// A host that also calls `nsexec()` (as runc's `nsenter.go` does) is safe:
/// the stage runs at most once per process image.
///
/// With one codegen unit it sits in the same object as `nsexec`, which the
/// host's reference pulls out of the archive; an `.init_array` entry in an
/// unreferenced archive member would be dropped silently by the linker.
#[used]
#[link_section = ".init_array"]
static NSEXEC_CTOR: extern "C" fn() = {
    extern "C" fn ctor() {
        nsexec();
    }
    ctor
};
