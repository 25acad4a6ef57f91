//! nsrun (placeholder until the runtime lands).
extern crate alloc;

// The stage, compiled with std for this binary (see src/modules.rs).
#[path = "modules.rs"]
#[allow(dead_code)]
mod nsexec;

mod hooks;
mod security;

fn main() {
    nsexec::nsexec();
}
