//! The SVG a chart holds, read back: its bars' colours, its legend and its
//! tick labels, and where its day labels sit.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn amount(d: &str, series: &str, value: &str) -> DayAmount {
    DayAmount { day: day(d), series: series.into(), amount: value.parse().unwrap() }
}

/// The text of every `<text>` element, with its x and y.
fn texts(svg: &str) -> Vec<(f64, f64, String)> {
    let mut out = Vec::new();
    for part in svg.split("<text").skip(1) {
        let attr = |name: &str| {
            part.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next()).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        };
        let body = part.split('>').nth(1).and_then(|b| b.split('<').next()).unwrap_or("").trim().to_string();
        out.push((attr("x"), attr("y"), body));
    }
    out
}

/// Fill colours of the bars and swatches, in the order drawn.
fn fills(svg: &str) -> Vec<String> {
    svg.split("<rect")
        .skip(1)
        .filter_map(|r| r.split("fill=\"").nth(1).and_then(|f| f.split('"').next()))
        .filter(|f| *f != "none" && *f != "#FFFFFF")
        .map(|f| f.to_lowercase())
        .collect()
}

#[test]
fn ticks_are_round() {
    let t = ticks(37.52);
    assert_eq!((t.step, t.count, t.top, t.decimals), (10.0, 4, 40.0, 0));
    assert_eq!(t.values().iter().map(|v| t.label(*v)).collect::<Vec<_>>(), ["$0", "$10", "$20", "$30", "$40"]);
    let t = ticks(12.51);
    assert_eq!((t.step, t.count), (5.0, 3));
    let t = ticks(0.83);
    assert_eq!(t.values().iter().map(|v| t.label(*v)).collect::<Vec<_>>(), ["$0.00", "$0.20", "$0.40", "$0.60", "$0.80", "$1.00"]);
    let t = ticks(0.012);
    assert_eq!(t.values().iter().map(|v| t.label(*v)).collect::<Vec<_>>(), ["$0.000", "$0.005", "$0.010", "$0.015"]);
    let t = ticks(100.0);
    assert_eq!((t.step, t.count), (20.0, 5), "a round highest value is the top tick");
    assert_eq!(ticks(0.0).top, 1.0);
    assert_eq!(ticks(f64::NAN).top, 1.0);
}

#[test]
fn a_small_chart_holds_its_series_colours_and_ticks() {
    let points =
        [amount("2026-11-01", "claude-code", "3.00"), amount("2026-11-01", "codex", "1.25"), amount("2026-11-03", "claude-code", "7.40")];
    let svg = stacked_days(&StackedDays { title: "Spend", from: day("2026-11-01"), to: day("2026-11-03"), points: &points, width: 900 });
    // Bars: claude-code (the larger) first colour, codex the second; the
    // empty day draws nothing; then the two legend swatches.
    assert_eq!(fills(&svg), ["#4e79a7", "#f28e2b", "#4e79a7", "#4e79a7", "#f28e2b"]);
    let labels: Vec<String> = texts(&svg).into_iter().map(|t| t.2).collect();
    assert_eq!(
        labels,
        ["$0", "$2", "$4", "$6", "$8", "Nov 01", "Nov 02", "Nov 03", "claude-code $10.40", "codex $1.25"],
        "y ticks at round steps, every day labelled (day 2 at 0), a legend entry per colour"
    );
    assert!(svg.starts_with("<svg class=\"chart\" viewBox=\"0 0 900 "), "{}", &svg[..80]);
    assert!(svg.contains("<title>Spend</title>"));
}

#[test]
fn fourteen_series_give_twelve_colours_and_other() {
    let points: Vec<DayAmount> = (0..14).map(|i| amount("2026-11-01", &format!("model-{i:02}"), &format!("{}", 20 - i))).collect();
    let (drawn, index) = series_of(&points);
    assert_eq!(drawn.len(), 13);
    let colours: std::collections::BTreeSet<&str> = drawn.iter().map(|d| d.color).collect();
    assert_eq!(colours.len(), 13, "12 distinct colours and the grey of other");
    assert_eq!(drawn[12], Drawn { name: "other".into(), color: OTHER_COLOR, total: Decimal::from(7 + 8) });
    assert_eq!(index["model-12"], 12);
    assert_eq!(index["model-13"], 12);
    let svg = stacked_days(&StackedDays { title: "t", from: day("2026-11-01"), to: day("2026-11-01"), points: &points, width: 900 });
    let legend: Vec<String> = texts(&svg).into_iter().map(|t| t.2).filter(|t| t.starts_with("model-") || t.starts_with("other")).collect();
    assert_eq!(legend.len(), 13);
    assert_eq!(legend[0], "model-00 $20");
    assert_eq!(legend[12], "other $15");
    let mut bar_colours = fills(&svg);
    bar_colours.truncate(13);
    assert_eq!(bar_colours, PALETTE.iter().copied().chain([OTHER_COLOR]).collect::<Vec<_>>());
}

#[test]
fn a_year_of_days_gives_labels_that_do_not_overlap() {
    let from = day("2025-11-01");
    let points: Vec<DayAmount> = (0..365)
        .filter(|d| d % 3 != 0)
        .map(|d| DayAmount { day: from + chrono::Duration::days(d), series: "opus".into(), amount: Decimal::new(d + 100, 2) })
        .collect();
    for width in [380, 900] {
        let to = from + chrono::Duration::days(364);
        let svg = stacked_days(&StackedDays { title: "t", from, to, points: &points, width });
        let labels: Vec<(f64, f64, String)> =
            texts(&svg).into_iter().filter(|t| t.2.len() == 6 && t.2.chars().nth(3) == Some(' ')).collect();
        assert!(labels.len() >= 4, "{width}: {labels:?}");
        // Boxes: centred on x, CHAR_WIDTH a character (wider than the font's).
        let boxes: Vec<(f64, f64)> =
            labels.iter().map(|(x, _, t)| (x - t.len() as f64 * CHAR_WIDTH / 2.0, x + t.len() as f64 * CHAR_WIDTH / 2.0)).collect();
        for pair in boxes.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{width}: labels overlap: {pair:?} in {labels:?}");
        }
        assert!(boxes.iter().all(|b| b.0 >= 0.0 && b.1 <= f64::from(width)), "{width}: a label outside the chart: {boxes:?}");
    }
}

#[test]
fn days_without_spend_stay_on_the_axis() {
    // Ten days, spend on the first and the last: the bars sit 9 slots apart.
    let points = [amount("2026-11-01", "a", "1"), amount("2026-11-10", "a", "1")];
    let svg = stacked_days(&StackedDays { title: "t", from: day("2026-11-01"), to: day("2026-11-10"), points: &points, width: 900 });
    let xs: Vec<f64> = svg
        .split("<rect")
        .skip(1)
        .filter(|r| r.contains("fill=\"#4E79A7\"") || r.contains("fill=\"#4e79a7\""))
        .filter_map(|r| r.split(" x=\"").nth(1).and_then(|v| v.split('"').next()).and_then(|v| v.parse().ok()))
        .collect();
    assert_eq!(xs.len(), 3, "two bars and the legend swatch: {xs:?}");
    let slot = (xs[1] - xs[0]) / 9.0;
    assert!(slot > 50.0 && slot < 90.0, "{xs:?}");
}
