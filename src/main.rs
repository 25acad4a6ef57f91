//! nsrun: an OCI runtime with runc's command line, on top of libnsexec.

#[cfg(not(feature = "runtime"))]
compile_error!("the nsrun binary needs the `runtime` feature");

extern crate alloc;

// The stage, compiled with std for this binary (see src/modules.rs). It is
// deliberately not called `nsexec`: any path starting with that name makes
// rustc load the no_std rlib of the same name (to rule out an ambiguity), and
// that rlib's panic handler and allocator clash with std's.
#[path = "modules.rs"]
#[allow(dead_code)]
mod libnsexec;

use libnsexec::bootstrap;

#[allow(dead_code)]
mod cgroups;
mod cli;
mod codec;
mod container;
mod init;
mod process;
#[allow(dead_code)]
mod rootfs;
mod spec;

/// The stage's profile, for the bootstrap message builder.
const RUNC_1_1: bool = libnsexec::RUNC_1_1;

mod hooks;
mod security;

fn main() {
    // First, always: in `nsrun init` this runs the nsexec stage (it already
    // ran from .init_array and runs at most once) and returns only in
    // stage-2, inside the container's namespaces. Elsewhere it is inert.
    libnsexec::nsexec();
    // Fast path for init: no clap, no allocation-heavy parsing.
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == "init") {
        init::run();
    }
    cli::main();
}
