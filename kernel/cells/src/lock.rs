//! Locking that outlives a panic elsewhere.

/// Locks `mutex`, also after a panic while it was held: the library's
/// tables stay usable when a hook or a display panicked midway.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
