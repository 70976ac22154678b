//! `CER_TIME_SCALE`, read once into a factor already held within its bounds, so every timer it
//! scales (`listen`'s, the re-fetcher's, delivery's, the archive's, the sandbox's) is scaled
//! alike; the test suite runs them 20 times faster.

use std::time::Duration;

/// How much faster (below 1) or slower (above 1) than real time the timers run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

/// Real time.
impl Default for TimeScale {
    fn default() -> Self {
        Self(1.0)
    }
}

impl TimeScale {
    /// The bounds of the factor: beyond them a timer would spin or never fire, or overflow.
    const BOUNDS: (f64, f64) = (0.001, 1000.0);

    /// A positive number, held within the bounds; `None` for anything else (real time).
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok().and_then(Self::from_factor)
    }

    /// `factor`, held within the bounds; `None` unless it is a positive number.
    pub fn from_factor(factor: f64) -> Option<Self> {
        (factor.is_finite() && factor > 0.0)
            .then(|| Self(factor.clamp(Self::BOUNDS.0, Self::BOUNDS.1)))
    }

    /// What a timer is multiplied by.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// `duration`, scaled.
    pub fn scale(self, duration: Duration) -> Duration {
        duration.mul_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_is_a_positive_number_held_within_its_bounds() {
        assert_eq!(TimeScale::parse("0.05").map(TimeScale::factor), Some(0.05));
        assert_eq!(TimeScale::parse("1e-9").map(TimeScale::factor), Some(0.001));
        assert_eq!(
            TimeScale::parse("1e300").map(TimeScale::factor),
            Some(1000.0)
        );
        for bad in ["0", "-1", "inf", "NaN", "fast", ""] {
            assert_eq!(TimeScale::parse(bad), None, "{bad}");
        }
        let scale = TimeScale::parse("0.5").unwrap();
        assert_eq!(scale.scale(Duration::from_secs(10)), Duration::from_secs(5));
    }
}
