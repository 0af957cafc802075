//! The clock of the task hooks, read at the start and end of every poll of
//! every task, so it must be cheap. Where the CPU has an invariant
//! time-stamp counter (x86_64 with `constant_tsc`/`nonstop_tsc`), a reading
//! is one `rdtsc`, about half of what `Instant::now` costs on a virtual
//! machine; ticks become durations at the rate measured between the clock's
//! start and the moment they are shown. Elsewhere a tick is a nanosecond of
//! `Instant`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The first reading: `Instant` and ticks taken together.
static START: OnceLock<(Instant, u64)> = OnceLock::new();

/// Starts the clock (the runtime builder does, before any hook runs).
pub(crate) fn start() {
    START.get_or_init(|| (Instant::now(), tsc().unwrap_or(0)));
}

/// Ticks now; never 0, which the registry uses for "not polling".
pub(crate) fn now() -> u64 {
    match tsc() {
        Some(ticks) => ticks | 1,
        None => {
            let (start, _) = START.get_or_init(|| (Instant::now(), 0));
            start.elapsed().as_nanos() as u64 | 1
        }
    }
}

/// How long `ticks` ticks last.
pub(crate) fn duration(ticks: u64) -> Duration {
    let Some(&(start, start_ticks)) = START.get() else {
        return Duration::from_nanos(ticks);
    };
    let Some(now_ticks) = tsc() else {
        return Duration::from_nanos(ticks);
    };
    let nanos = start.elapsed().as_nanos() as f64;
    let elapsed_ticks = now_ticks.saturating_sub(start_ticks) as f64;
    if elapsed_ticks == 0.0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((ticks as f64 * nanos / elapsed_ticks) as u64)
}

#[cfg(target_arch = "x86_64")]
fn tsc() -> Option<u64> {
    use std::arch::x86_64::{__cpuid, _rdtsc};
    static INVARIANT: OnceLock<bool> = OnceLock::new();
    let invariant = *INVARIANT.get_or_init(|| {
        // `cpuid` exists on every x86_64 CPU; leaf 0x8000_0007 is
        // read only when the highest extended leaf says it is there.
        let highest = __cpuid(0x8000_0000).eax;
        highest >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    });
    // SAFETY: `rdtsc` exists on every x86_64 CPU and has no side effects.
    invariant.then(|| unsafe { _rdtsc() })
}

#[cfg(not(target_arch = "x86_64"))]
fn tsc() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_measure_time() {
        start();
        let from = now();
        std::thread::sleep(Duration::from_millis(30));
        let slept = duration(now() - from);
        assert!(
            slept >= Duration::from_millis(25) && slept < Duration::from_millis(500),
            "{slept:?}"
        );
    }
}
