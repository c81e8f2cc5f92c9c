//! The test binary's allocator: it refuses huge requests, naming the case that made them.

use super::*;

// An allocator that refuses huge requests, naming the case that made them.

thread_local! {
    /// The reader and case this thread is fuzzing, for the allocator's message.
    pub(crate) static CURRENT: Cell<Option<(&'static str, u64)>> = const { Cell::new(None) };
}

pub(crate) struct Capped;

impl Capped {
    pub(crate) fn refuse(size: usize) -> *mut u8 {
        use std::io::Write;
        let case = CURRENT.try_with(Cell::get).ok().flatten();
        if let Some((reader, i)) = case {
            let _ = writeln!(
                std::io::stderr(),
                "fuzz: reader {reader}, case {i}, asked for one allocation of {size} bytes; \
                 rerun it with GANTRY_FUZZ_CASE={reader}:{i} (and the same GANTRY_FUZZ_SEED)"
            );
        }
        std::ptr::null_mut()
    }
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return Self::refuse(layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return Self::refuse(layout.size());
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC {
            return Self::refuse(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
pub(crate) static ALLOC: Capped = Capped;
