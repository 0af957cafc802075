//! The one instance of each `static` that holds state.
//!
//! Every cell is a crate of its own, and evcxr compiles a cell's items again
//! into each later cell, so a `static` would be a fresh copy in every cell.
//! The kernel writes a top-level `static` whose type holds state as a
//! `LazyLock` of the reference [`shared`] gives (see the kernel's
//! `engine/source/statics.rs`). A `static mut` becomes a function that
//! returns a pointer to its one place, [`place`] (see the kernel's
//! `engine/source/static_muts.rs`).

use std::any::Any;
use std::cell::UnsafeCell;
use std::ops::Deref;
use std::sync::{LazyLock, Mutex};

/// A static's instance: its name, the cell that defined it, its value.
type Instance = (String, u64, &'static (dyn Any + Sync));

static INSTANCES: Mutex<Vec<Instance>> = Mutex::new(Vec::new());

/// The instance of the static `name` that cell `cell` defined, made by
/// `init` the first time. A static of the same name that another cell
/// defined (run again, or with another type) is a new instance.
#[doc(hidden)]
pub fn shared<T: Any + Sync>(name: &str, cell: u64, init: impl FnOnce() -> T) -> &'static T {
    let find = |instances: &[Instance]| {
        instances
            .iter()
            .filter(|(n, c, _)| n == name && *c == cell)
            .find_map(|(_, _, value)| (*value as &dyn Any).downcast_ref::<T>())
    };
    if let Some(found) = find(&crate::lock::lock(&INSTANCES)) {
        return found;
    }
    // Made without the lock held: an initialiser may use another static.
    let made: &'static T = Box::leak(Box::new(init()));
    let mut instances = crate::lock::lock(&INSTANCES);
    if let Some(found) = find(&instances) {
        return found;
    }
    instances.push((name.to_owned(), cell, made));
    made
}

/// The one place of a `static mut`: shared as a `static mut` is, with every
/// access `unsafe` in the cell that makes it.
struct Place<T>(UnsafeCell<T>);

// SAFETY: a `static mut` is reached from any thread; the cells that read or
// write it do so in `unsafe` code, which takes on the duty as in a program.
unsafe impl<T> Sync for Place<T> {}

/// The place of the `static mut` `name` that cell `cell` defined, holding
/// `init()` the first time (one place per name and defining cell, as
/// [`shared`]).
#[doc(hidden)]
pub fn place<T: 'static>(name: &str, cell: u64, init: impl FnOnce() -> T) -> *mut T {
    shared(name, cell, || Place(UnsafeCell::new(init())))
        .0
        .get()
}

/// A kept static whose own type dereferences (`LazyLock<String>`): it
/// dereferences to the same target, so `*NAME`, `&*NAME` and `NAME.len()`
/// mean what they mean in a program.
#[doc(hidden)]
pub struct Derefs<T: 'static>(LazyLock<&'static T>);

impl<T> Derefs<T> {
    pub const fn new(instance: fn() -> &'static T) -> Self {
        Self(LazyLock::new(instance))
    }
}

impl<T: Deref> Deref for Derefs<T> {
    type Target = T::Target;
    fn deref(&self) -> &T::Target {
        let instance: &'static T = *self.0;
        instance
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn one_instance_per_name_and_defining_cell() {
        let first = shared("COUNTER", 1, || AtomicU32::new(0));
        first.fetch_add(1, Ordering::SeqCst);
        let again = shared("COUNTER", 1, || AtomicU32::new(100));
        assert!(std::ptr::eq(first, again));
        assert_eq!(again.load(Ordering::SeqCst), 1);
        // The defining cell run again: a new instance.
        let rerun = shared("COUNTER", 4, || AtomicU32::new(7));
        assert_eq!(rerun.load(Ordering::SeqCst), 7);
        // Another type under the same name and cell is another instance.
        let other = shared("COUNTER", 1, || std::sync::Mutex::new(5u8));
        assert_eq!(*other.lock().unwrap(), 5);
    }

    #[test]
    fn a_static_mut_has_one_place_per_name_and_defining_cell() {
        let first = place("TOTAL", 3, || 1u64);
        // SAFETY: the test alone uses these places.
        unsafe { *first += 1 };
        assert_eq!(place("TOTAL", 3, || 100u64), first);
        assert_eq!(unsafe { *place("TOTAL", 3, || 100u64) }, 2);
        assert_eq!(unsafe { *place("TOTAL", 5, || 100u64) }, 100);
    }

    #[test]
    fn a_lazy_static_dereferences_to_its_value() {
        static BANNER: Derefs<LazyLock<String>> = Derefs::new(|| {
            shared::<LazyLock<String>>("BANNER", 2, || LazyLock::new(|| "hello".to_owned()))
        });
        assert_eq!(format!("{}", *BANNER), "hello");
        assert_eq!(BANNER.len(), 5);
        let text: &str = &BANNER;
        assert_eq!(text, "hello");
    }
}
