//! The legend under a chart: a swatch and a name (with its total) for
//! every colour drawn, wrapping to the chart's width.

use plotters::prelude::*;

use super::{dollars, hex, Drawn, CHAR_WIDTH, FONT};

const ROW: u32 = 20;
const SWATCH: i32 = 12;
const LEFT: i32 = 16;

/// One entry's place: its text, x and row.
pub(super) struct Place {
    pub text: String,
    pub x: i32,
    pub row: u32,
}

/// Entries laid out left to right, a new row when the next would pass
/// `width`.
pub(super) fn places(drawn: &[Drawn], width: u32) -> Vec<Place> {
    lay_out(drawn.iter().map(|d| format!("{} {}", d.name, dollars(d.total))), width)
}

/// `places` with the names alone (series without a total).
pub(super) fn places_plain(drawn: &[Drawn], width: u32) -> Vec<Place> {
    lay_out(drawn.iter().map(|d| d.name.clone()), width)
}

fn lay_out(texts: impl Iterator<Item = String>, width: u32) -> Vec<Place> {
    let (mut x, mut row) = (LEFT, 0);
    let right = i32::try_from(width).unwrap_or(i32::MAX) - LEFT;
    texts
        .map(|text| {
            let w = SWATCH + 6 + (text.chars().count() as f64 * CHAR_WIDTH).ceil() as i32 + 18;
            if x > LEFT && x + w > right {
                (x, row) = (LEFT, row + 1);
            }
            let place = Place { text, x, row };
            x += w;
            place
        })
        .collect()
}

/// Height the legend takes under the plot.
pub(super) fn height(places: &[Place]) -> u32 {
    places.last().map_or(0, |p| (p.row + 1) * ROW + 8)
}

pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    drawn: &[Drawn],
    places: &[Place],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = ("sans-serif", FONT).into_font().color(&hex("#333333"));
    for (d, p) in drawn.iter().zip(places) {
        let y = i32::try_from(p.row * ROW).unwrap_or(0) + 4;
        area.draw(&Rectangle::new([(p.x, y), (p.x + SWATCH, y + SWATCH)], hex(d.color).filled()))?;
        area.draw(&Text::new(p.text.clone(), (p.x + SWATCH + 6, y), style.clone()))?;
    }
    Ok(())
}
