//! What a `no_std` staticlib must bring itself: the panic handler and the
//! global allocator. Only in panic=abort builds (see lib.rs).

use core::alloc::{GlobalAlloc, Layout};

/// A panic in the stage is a bug; it must never unwind into C or Go. Log it
/// as runc logs a fatal error, then exit(1) like every fatal path.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let msg = alloc::format!("nsexec panicked: {}", info.message());
    super::stage::fatal_from_env(&msg);
    // SAFETY: _exit never returns.
    unsafe { libc::_exit(1) }
}

/// libc's malloc: the host's allocator, so memory handed across the C
/// boundary (escape_json_string) has one owner.
struct Malloc;

// malloc guarantees this alignment on every glibc/musl target we build for.
const MALLOC_ALIGN: usize = 16;

// SAFETY: malloc/free/realloc honour the GlobalAlloc contract for layouts of
// alignment <= MALLOC_ALIGN; larger alignments go through posix_memalign.
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.align() <= MALLOC_ALIGN {
            libc::malloc(l.size()) as *mut u8
        } else {
            let mut p = core::ptr::null_mut();
            if libc::posix_memalign(&mut p, l.align(), l.size()) != 0 {
                return core::ptr::null_mut();
            }
            p as *mut u8
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, _l: Layout) {
        libc::free(p as *mut libc::c_void)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if l.align() <= MALLOC_ALIGN {
            libc::realloc(p as *mut libc::c_void, new) as *mut u8
        } else {
            let q = self.alloc(Layout::from_size_align_unchecked(new, l.align()));
            if !q.is_null() {
                core::ptr::copy_nonoverlapping(p, q, l.size().min(new));
                self.dealloc(p, l);
            }
            q
        }
    }
}

#[global_allocator]
static ALLOC: Malloc = Malloc;

/// The prebuilt `alloc` in the sysroot was compiled with unwinding and
/// names this symbol in its unwind tables. With panic=abort nothing ever
/// unwinds, so it is never called; it only has to exist.
#[no_mangle]
extern "C" fn rust_eh_personality() {}
