//! The store that keeps cell variables between cells. evcxr generates its
//! own copy of this type into every cell; the kernel points cells here
//! instead, so the map behind it is compiled once, not at every cell. The
//! generic methods are thin shells over non-generic ones for that reason.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// What evcxr prints when a variable's type changed, so it forgets the name.
const VARIABLE_CHANGED_TYPE: &str = "EVCXR_VARIABLE_CHANGED_TYPE:";

/// What a cell prints when it ends early through `?` on an error; evcxr's
/// generated error conversion names it through this module.
pub const USER_ERROR_OCCURRED: &str = "EVCXR_ERROR_OCCURRED";

/// The never type `!`, named the one way stable Rust allows: as the output
/// of `fn() -> !`. A stored variable whose type holds a `!` that rustc keeps
/// (a handle of a task running an `async fn .. -> !`) is stored under it.
pub type Never = <fn() -> ! as Returns>::Output;

pub trait Returns {
    type Output;
}

impl<T> Returns for fn() -> T {
    type Output = T;
}

#[derive(Default)]
pub struct VariableStore {
    variables: HashMap<String, Box<dyn Any>>,
}

pub fn create_variable_store() -> *mut VariableStore {
    Box::into_raw(Box::default())
}

impl VariableStore {
    pub fn put_variable<T: 'static>(&mut self, name: &str, value: T) {
        self.put(name, Box::new(value));
    }

    /// False (and the variable reported lost) when `name` holds another type.
    pub fn check_variable<T: 'static>(&mut self, name: &str) -> bool {
        self.check(name, TypeId::of::<T>())
    }

    pub fn take_variable<T: 'static>(&mut self, name: &str) -> T {
        match self.take(name).downcast() {
            Ok(value) => *value,
            // check_variable runs first, so this does not happen.
            Err(_) => panic!("variable `{name}` changed type"),
        }
    }

    pub fn lazy_arc<T: 'static, F: FnOnce() -> T>(&mut self, name: &str, create: F) -> Arc<T> {
        let stored = self
            .variables
            .entry(name.to_owned())
            .or_insert_with(|| Box::new(Arc::new(create())));
        match stored.downcast_ref() {
            Some(value) => Arc::clone(value),
            None => panic!("lazy_arc {name} changed type"),
        }
    }

    #[doc(hidden)]
    pub fn put(&mut self, name: &str, value: Box<dyn Any>) {
        self.variables.insert(name.to_owned(), value);
    }

    #[doc(hidden)]
    pub fn check(&mut self, name: &str, wanted: TypeId) -> bool {
        match self.variables.get(name) {
            Some(value) if (**value).type_id() != wanted => {
                // One write: the notice reaches the notebook in one piece.
                let notice = format!(
                    "The variable `{name}` was lost: its type was defined again since it was made.\n"
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
                println!("{VARIABLE_CHANGED_TYPE}{name}");
                false
            }
            _ => true,
        }
    }

    #[doc(hidden)]
    pub fn take(&mut self, name: &str) -> Box<dyn Any> {
        self.variables
            .remove(name)
            .unwrap_or_else(|| panic!("variable `{name}` has gone missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_round_trip_and_type_changes_are_caught() {
        let store = unsafe { &mut *create_variable_store() };
        store.put_variable("v", 5u32);
        assert!(store.check_variable::<u32>("v"));
        assert!(!store.check_variable::<String>("v"));
        assert!(store.check_variable::<String>("absent"));
        assert_eq!(store.take_variable::<u32>("v"), 5);
        let first = store.lazy_arc("rt", || 1u8);
        let again = store.lazy_arc("rt", || 2u8);
        assert_eq!((*first, *again), (1, 1));
        drop(unsafe { Box::from_raw(store) });
    }
}
