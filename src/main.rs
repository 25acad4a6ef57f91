//! nsrun (placeholder until the runtime lands).
extern crate alloc;

// The stage, compiled with std for this binary (see src/modules.rs).
#[path = "modules.rs"]
#[allow(dead_code)]
mod nsexec;
#[allow(dead_code)]
mod rootfs;

fn main() {
    nsexec::nsexec();
}
