//! The kernel's memory allocator: mimalloc in the kernel's own process, the
//! system allocator in the cell process.
//!
//! Nearly all of a fresh kernel's warm-up is rust-analyzer (inside evcxr)
//! loading and analysing the standard library, tokio and the cell library,
//! which allocates heavily; mimalloc makes that faster (`make bench`, "time
//! to warm"). The cell process runs the same binary (evcxr starts it with
//! `EVCXR_IS_RUNTIME` set) and loads cells and the cell library, which are
//! Rust dylibs on the system allocator: there, memory may be allocated on
//! one side and freed on the other, so that process keeps the system
//! allocator. The choice is made at the process's first allocation, from
//! its environment, and never changes. `ASYNCBOOK_ALLOCATOR=system` keeps
//! the system allocator everywhere: the baseline `make bench` compares with.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

/// The process's allocator, chosen at its first allocation.
pub struct KernelAllocator;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

fn mimalloc() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => true,
        SYSTEM => false,
        _ => {
            // `getenv` allocates nothing. The first allocation happens while
            // the process has one thread, before anything sets a variable.
            // SAFETY: a NUL-terminated name; the environment is not written
            // concurrently (see above).
            let cell_process = !unsafe { libc::getenv(c"EVCXR_IS_RUNTIME".as_ptr()) }.is_null();
            // SAFETY: as above.
            let asked = unsafe { libc::getenv(c"ASYNCBOOK_ALLOCATOR".as_ptr()) };
            // SAFETY: `getenv` returns null or a NUL-terminated string.
            let system =
                !asked.is_null() && unsafe { std::ffi::CStr::from_ptr(asked) } == c"system";
            let choice = if cell_process || system {
                SYSTEM
            } else {
                MIMALLOC
            };
            CHOICE.store(choice, Ordering::Relaxed);
            choice == MIMALLOC
        }
    }
}

// SAFETY: every call goes to the one allocator the process chose at its
// first allocation, so memory is always freed by the allocator that gave it.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mimalloc() {
            MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mimalloc() {
            MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mimalloc() {
            MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if mimalloc() {
            MiMalloc.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}
