//! Charts as inline SVG, drawn with `plotters` (its SVG backend): the daily
//! spend of the page (`GET /`) and of `advise --html`, and the context-growth
//! lines of `advise --html`. One place, so both get the same fixes.
//!
//! Invariants every chart keeps:
//! - at most `PALETTE.len()` (12) named series, each its own colour; the rest
//!   summed as "other" in grey, and a legend that names every colour drawn;
//! - a continuous day axis: a day without spend is a day at 0, never a gap
//!   closed up; its labels are thinned so that none overlaps the next;
//! - value ticks at round steps (1, 2 or 5 times a power of ten) from 0.
//!
//! Money arrives as exact decimals; floats appear only as drawing
//! coordinates, and every amount printed (legend totals, tooltips) is the
//! decimal rounded to the cent. This module imports no other module of the
//! crate: `report` and `http` both sit above it.

mod axis;
mod legend;
mod lines;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

pub use axis::{day_label_step, ticks, Ticks};
pub use lines::{lines, Line};

/// Twelve colours that stay apart from each other (Tableau 10 without its
/// grey, plus a navy and an olive), then the grey of "other".
pub const PALETTE: [&str; 12] =
    ["#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#17365d", "#b6992d", "#8cd17d"];
pub const OTHER_COLOR: &str = "#a0a0a0";
pub const OTHER: &str = "other";

/// Font size of tick labels and legend text as plotters takes it (its SVG
/// backend writes `size / 1.24` as the font-size: 12 px).
const FONT: u32 = 15;
/// A conservative width of one character of that font (sans-serif digits
/// and letters are narrower), so that labels spaced by it never overlap.
pub(crate) const CHAR_WIDTH: f64 = FONT as f64 / 1.24 * 0.62;

/// The amount of one series on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayAmount {
    pub day: NaiveDate,
    pub series: String,
    pub amount: Decimal,
}

/// A series as drawn: its name (or "other"), colour and total.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub name: String,
    pub color: &'static str,
    pub total: Decimal,
}

/// The series of `points` as the chart draws them: the 12 largest by total
/// (ties by name), then "other" holding the rest (absent when nothing is
/// left). The map sends each input name to its index in the result.
pub fn series_of(points: &[DayAmount]) -> (Vec<Drawn>, BTreeMap<String, usize>) {
    let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
    for p in points {
        *totals.entry(p.series.as_str()).or_default() += p.amount;
    }
    let mut ranked: Vec<(&str, Decimal)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut drawn: Vec<Drawn> = Vec::new();
    let mut index = BTreeMap::new();
    let mut other = Decimal::ZERO;
    let mut has_other = false;
    for (i, (name, total)) in ranked.iter().enumerate() {
        if i < PALETTE.len() && *name != OTHER {
            index.insert(name.to_string(), drawn.len());
            drawn.push(Drawn { name: name.to_string(), color: PALETTE[drawn.len()], total: *total });
        } else {
            other += *total;
            has_other = true;
            index.insert(name.to_string(), usize::MAX);
        }
    }
    if has_other {
        let at = drawn.len();
        drawn.push(Drawn { name: OTHER.into(), color: OTHER_COLOR, total: other });
        for i in index.values_mut().filter(|i| **i == usize::MAX) {
            *i = at;
        }
    }
    (drawn, index)
}

/// What to draw: daily amounts from `from` to `to` (both included), at
/// `width` SVG pixels wide.
pub struct StackedDays<'a> {
    pub title: &'a str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub points: &'a [DayAmount],
    pub width: u32,
}

/// Plot height (without the legend) and the margins around the plot.
const PLOT_HEIGHT: u32 = 260;
const Y_LABEL_AREA: u32 = 64;
const X_LABEL_AREA: u32 = 28;
const MARGIN: u32 = 12;
/// Right of the plot: room for half a day label centred on the last day.
const MARGIN_RIGHT: u32 = 28;

fn hex(color: &str) -> RGBColor {
    let v = u32::from_str_radix(color.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Dollars as the legend and tooltips print them.
pub fn dollars(d: Decimal) -> String {
    format!("${}", d.round_dp(2))
}

/// Daily spend as stacked bars, one colour per series, with its legend.
/// Days outside `from..=to` are left out; an empty range draws one day.
pub fn stacked_days(chart: &StackedDays) -> String {
    let to = chart.to.max(chart.from);
    let days = (to - chart.from).num_days() as usize + 1;
    let inside: Vec<&DayAmount> = chart.points.iter().filter(|p| p.day >= chart.from && p.day <= to).collect();
    let owned: Vec<DayAmount> = inside.iter().map(|p| (*p).clone()).collect();
    let (drawn, index) = series_of(&owned);
    // stacks[day][series]: exact sums first, floats only to draw.
    let mut stacks = vec![vec![Decimal::ZERO; drawn.len()]; days];
    for p in &owned {
        let day = (p.day - chart.from).num_days() as usize;
        if let Some(s) = index.get(&p.series) {
            stacks[day][*s] += p.amount;
        }
    }
    let highest = stacks.iter().map(|s| f(s.iter().copied().sum())).fold(0.0, f64::max);
    let ticks = ticks(highest);
    let legend_rows = legend::places(&drawn, chart.width);
    let height = PLOT_HEIGHT + legend::height(&legend_rows);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (chart.width, height)).into_drawing_area();
        let (plot, below) = root.split_vertically(PLOT_HEIGHT);
        let _ = draw_days(&plot, chart, days, &drawn, &stacks, &ticks);
        let _ = legend::draw(&below, &drawn, &legend_rows);
        let _ = root.present();
    }
    finish(svg, chart.title)
}

type Area<'a, 'b> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw_days(
    area: &Area,
    chart: &StackedDays,
    days: usize,
    drawn: &[Drawn],
    stacks: &[Vec<Decimal>],
    ticks: &Ticks,
) -> Result<(), Box<dyn std::error::Error>> {
    let plot_width = f64::from(chart.width.saturating_sub(Y_LABEL_AREA + MARGIN + MARGIN_RIGHT));
    let step = day_label_step(days, plot_width, axis::DAY_LABEL_CHARS);
    let label_days: Vec<f64> = (0..days).step_by(step).map(|d| d as f64).collect();
    let x = axis::Fixed { lo: -0.5, hi: days as f64 - 0.5, keys: label_days };
    let y = axis::Fixed { lo: 0.0, hi: ticks.top, keys: ticks.values() };
    let mut ctx = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)?;
    let from = chart.from;
    let day_label = |v: &f64| axis::day_label(from, *v);
    let value_label = |v: &f64| ticks.label(*v);
    let label_style = ("sans-serif", FONT).into_font().color(&hex("#555555"));
    ctx.configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(hex("#dddddd"))
        .axis_style(hex("#888888"))
        .label_style(label_style)
        .x_label_formatter(&day_label)
        .y_label_formatter(&value_label)
        .draw()?;
    // A bar is 80% of its day, at least a hairline.
    let half = 0.4;
    for (day, stack) in stacks.iter().enumerate() {
        let mut base = Decimal::ZERO;
        for (s, amount) in stack.iter().enumerate() {
            if amount.is_zero() {
                continue;
            }
            let top = base + *amount;
            let x = day as f64;
            let bar = Rectangle::new([(x - half, f(base)), (x + half, f(top))], hex(drawn[s].color).filled());
            ctx.draw_series(std::iter::once(bar))?;
            base = top;
        }
    }
    Ok(())
}

/// Adds what plotters' SVG leaves out: a title for screen readers, a
/// `viewBox` so the page can scale it, and a class to style it by.
fn finish(svg: String, title: &str) -> String {
    let Some(end) = svg.find('>') else { return svg };
    let head = &svg[..end];
    let size = |name: &str| head.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("0").to_string();
    let (w, h) = (size("width"), size("height"));
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>{}",
        &svg[end + 1..],
        title = escape(title)
    )
}

/// Text for SVG and HTML: the five characters with a meaning there.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
