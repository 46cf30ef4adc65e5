//! Axis choices: round value ticks and thinned day labels.

use chrono::NaiveDate;

use super::CHAR_WIDTH;

/// Characters of a day label (`Mar 01`), for spacing them.
pub(super) const DAY_LABEL_CHARS: usize = 6;
/// Space between two labels, in SVG pixels.
const LABEL_GAP: f64 = 10.0;
/// Steps between labelled days: days, weeks, months, quarters, a year.
const DAY_STEPS: [usize; 11] = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364, 728];

/// Value ticks from 0: `count` steps of `step` up to `top`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticks {
    pub step: f64,
    pub count: usize,
    pub top: f64,
    /// Decimals a label shows: 0 for steps of 1 and up, else at least the
    /// cents (`$0.50`, `$0.005`).
    pub decimals: usize,
}

/// Ticks for values from 0 to `highest`: about five steps of 1, 2 or 5
/// times a power of ten, the top at or above `highest`. Nothing to show
/// (0 or below, or not a number) gives 0 to 1 in steps of 0.2.
pub fn ticks(highest: f64) -> Ticks {
    let highest = if highest.is_finite() && highest > 0.0 { highest } else { 1.0 };
    let rough = highest / 5.0;
    let power = rough.log10().floor() as i32;
    let magnitude = 10f64.powi(power);
    let step_units = [1.0, 2.0, 5.0, 10.0].into_iter().find(|m| m * magnitude >= rough * 0.999_999).unwrap_or(10.0);
    let (units, power) = if step_units == 10.0 { (1.0, power + 1) } else { (step_units, power) };
    let step = units * 10f64.powi(power);
    // Stop at the first tick at or above the highest value (a hair of
    // float noise does not add a step).
    let count = ((highest / step) - 1e-9).ceil().max(1.0) as usize;
    let decimals = if power < 0 { (power.unsigned_abs() as usize).max(2) } else { 0 };
    Ticks { step, count, top: step * count as f64, decimals }
}

impl Ticks {
    /// The tick values, 0 first.
    pub fn values(&self) -> Vec<f64> {
        (0..=self.count).map(|i| self.step * i as f64).collect()
    }

    /// A tick's label in dollars: `$0`, `$20`, `$0.50`.
    pub fn label(&self, value: f64) -> String {
        format!("${value:.prec$}", prec = self.decimals)
    }
}

/// Every how many days a label goes, so that labels of `chars` characters
/// fit `width` pixels for `days` days without touching.
pub fn day_label_step(days: usize, width: f64, chars: usize) -> usize {
    let per_day = width / days.max(1) as f64;
    let needed = chars as f64 * CHAR_WIDTH + LABEL_GAP;
    DAY_STEPS.into_iter().find(|step| *step as f64 * per_day >= needed).unwrap_or(days.max(1))
}

/// The label of day number `value` after `from`: `Mar 01`.
pub(super) fn day_label(from: NaiveDate, value: f64) -> String {
    let offset = value.round() as i64;
    from.checked_add_signed(chrono::Duration::days(offset)).map(|d| d.format("%b %d").to_string()).unwrap_or_default()
}

/// A linear axis whose ticks are exactly `keys` (plotters' own f64 axis
/// picks its ticks itself, and its `with_key_points` wrapper takes no
/// label formatter).
pub(super) struct Fixed {
    pub lo: f64,
    pub hi: f64,
    pub keys: Vec<f64>,
}

impl plotters::coord::ranged1d::Ranged for Fixed {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = (self.hi - self.lo).max(f64::EPSILON);
        let share = (value - self.lo) / span;
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}
