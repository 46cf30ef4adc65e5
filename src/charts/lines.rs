//! Lines over a count (`advise --html`: prompt tokens by request number of
//! the top sessions), with the same colours, legend and round ticks as the
//! daily chart.

use plotters::prelude::*;
use rust_decimal::Decimal;

use super::{finish, hex, legend, ticks, Drawn, FONT, MARGIN, PALETTE, PLOT_HEIGHT, X_LABEL_AREA, Y_LABEL_AREA};

/// One line: its legend text and its values at 1, 2, 3...
pub struct Line {
    pub name: String,
    pub values: Vec<f64>,
}

/// Draws up to 12 lines (the rest are left out: a line cannot be summed
/// into "other"); `x_desc` names the x axis, `unit` divides the values for
/// the tick labels and follows them (`1000.0`, `"k"`).
pub fn lines(title: &str, lines: &[Line], x_desc: &str, width: u32, unit: (f64, &str)) -> String {
    let lines = &lines[..lines.len().min(PALETTE.len())];
    let drawn: Vec<Drawn> =
        lines.iter().enumerate().map(|(i, l)| Drawn { name: l.name.clone(), color: PALETTE[i], total: Decimal::ZERO }).collect();
    let rows = legend::places_plain(&drawn, width);
    let height = PLOT_HEIGHT + legend::height(&rows);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (plot, below) = root.split_vertically(PLOT_HEIGHT);
        let _ = draw(&plot, lines, x_desc, unit);
        let _ = legend::draw(&below, &drawn, &rows);
        let _ = root.present();
    }
    finish(svg, title)
}

fn draw(area: &super::Area, lines: &[Line], x_desc: &str, unit: (f64, &str)) -> Result<(), Box<dyn std::error::Error>> {
    let longest = lines.iter().map(|l| l.values.len()).max().unwrap_or(1).max(2);
    let highest = lines.iter().flat_map(|l| l.values.iter().copied()).fold(0.0, f64::max);
    let y_ticks = ticks(highest / unit.0);
    let x_ticks = ticks(longest as f64);
    let x = super::axis::Fixed { lo: 1.0, hi: longest as f64, keys: x_ticks.values().into_iter().filter(|v| *v >= 1.0).collect() };
    let y = super::axis::Fixed { lo: 0.0, hi: y_ticks.top * unit.0, keys: y_ticks.values().into_iter().map(|v| v * unit.0).collect() };
    let mut ctx = ChartBuilder::on(area)
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA + 16)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)?;
    let x_label = |v: &f64| format!("{v:.0}");
    let y_label = |v: &f64| format!("{:.prec$}{}", v / unit.0, unit.1, prec = y_ticks.decimals);
    ctx.configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(hex("#dddddd"))
        .axis_style(hex("#888888"))
        .label_style(("sans-serif", FONT).into_font().color(&hex("#555555")))
        .axis_desc_style(("sans-serif", FONT).into_font().color(&hex("#555555")))
        .x_desc(x_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .draw()?;
    for (i, line) in lines.iter().enumerate() {
        let points = line.values.iter().enumerate().map(|(j, v)| ((j + 1) as f64, *v));
        ctx.draw_series(std::iter::once(PathElement::new(points.collect::<Vec<_>>(), hex(PALETTE[i]).stroke_width(2))))?;
    }
    Ok(())
}
