//! Time units and axis ticks.

use std::time::Duration;

/// The unit a timeline's axis and table speak in: `size` of time per unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub size: Duration,
    pub name: String,
}

impl Unit {
    /// A unit of `size`, e.g. `Unit::new(Duration::from_secs(1), "min")` to
    /// tell a story in minutes that runs in seconds.
    pub fn new(size: Duration, name: impl Into<String>) -> Self {
        assert!(!size.is_zero(), "a timeline unit must be longer than zero");
        Self {
            size,
            name: name.into(),
        }
    }

    /// µs, ms, s or min, whichever reads `extent` as a number below 2000.
    pub fn auto(extent: Duration) -> Self {
        let (size, name) = if extent < Duration::from_millis(2) {
            (Duration::from_micros(1), "µs")
        } else if extent < Duration::from_secs(2) {
            (Duration::from_millis(1), "ms")
        } else if extent < Duration::from_secs(300) {
            (Duration::from_secs(1), "s")
        } else {
            (Duration::from_secs(60), "min")
        };
        Self::new(size, name)
    }

    /// `duration` counted in this unit.
    pub fn value(&self, duration: Duration) -> f64 {
        duration.as_secs_f64() / self.size.as_secs_f64()
    }

    /// `duration` as text with this unit's name, e.g. `2.5 min`.
    pub fn format(&self, duration: Duration) -> String {
        format!("{} {}", number(self.value(duration)), self.name)
    }
}

/// A number with at most three significant decimals and no trailing zeros.
pub fn number(value: f64) -> String {
    let decimals = if value.abs() >= 1.0 || value == 0.0 {
        3
    } else {
        // Three significant digits for small values, at most six decimals.
        (2 - value.abs().log10().floor() as i32).clamp(3, 6) as usize
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A step of 1, 2 or 5 times a power of ten giving at most `count` ticks
/// over `0..=max`, and the axis end (`max` rounded up to a whole step).
pub fn ticks(max: f64, count: usize) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 1.0);
    }
    let raw = max / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let end = (max / step - 1e-9).ceil().max(1.0) * step;
    (step, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(5.0), "5");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(number(0.000125), "0.000125");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn units_fit_the_extent() {
        assert_eq!(Unit::auto(Duration::from_micros(300)).name, "µs");
        assert_eq!(Unit::auto(Duration::from_millis(250)).name, "ms");
        assert_eq!(Unit::auto(Duration::from_secs(16)).name, "s");
        assert_eq!(Unit::auto(Duration::from_secs(3600)).name, "min");
        let minutes = Unit::new(Duration::from_secs(1), "min");
        assert_eq!(minutes.format(Duration::from_millis(2500)), "2.5 min");
    }

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(ticks(16.0, 8), (2.0, 16.0));
        assert_eq!(ticks(10.0, 8), (2.0, 10.0));
        assert_eq!(ticks(730.0, 8), (100.0, 800.0));
        let (step, end) = ticks(0.3, 8);
        assert!((step - 0.05).abs() < 1e-12 && (end - 0.3).abs() < 1e-12);
        assert_eq!(ticks(0.0, 8), (1.0, 1.0));
    }
}
