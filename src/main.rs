//! nsrun: an OCI runtime with runc's command line, on top of libnsexec.

// Our own C `main` instead of std's `lang_start` (see `main` below).
#![cfg_attr(not(test), no_main)]

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

mod errno;
mod hooks;
mod security;

/// The program's entry, called by the C runtime in place of std's
/// `lang_start`. nsrun execs twice per container start (the runtime and its
/// `init`), and std's start-up costs a dozen syscalls each time, reading
/// `/proc/self/maps` among them, for a stack-overflow message. Kept from it:
/// fds 0-2 are open (on /dev/null if they were closed, so that no file nsrun
/// opens lands on them) and SIGPIPE is ignored (a closed pipe is an EPIPE
/// error, not death). Every path ends in `exit`, which flushes stdout.
/// `std::env::args` works without `lang_start`: std takes argv from an
/// `.init_array` entry on glibc.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    open_stdio();
    // SAFETY: signal(2) with SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    run()
}

/// std's `sanitize_standard_fds`: one poll tells which of 0-2 are closed.
#[cfg(not(test))]
fn open_stdio() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll(2) on a stack array of three entries.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: open(2) of a C string; the fd lands on the lowest free
        // number, which is `p.fd` since the lower ones are open by now.
        if unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != p.fd {
            std::process::abort();
        }
    }
}

#[cfg_attr(test, allow(dead_code))]
fn run() -> ! {
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
