//! `advise --html`: the page opens in a real browser (Debian's chromium,
//! headless, installed by this test when missing) with its three charts, and
//! renders to a non-trivial screenshot.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
];

fn browse(profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    Command::new(common::chromium::chromium())
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/claude-code/projects")
}

#[test]
fn the_page_renders_its_charts_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("advise.html");
    let out = Command::new(common::BIN)
        .args(["advise", "--tz", "UTC", "--paths", &format!("{}/**/*.jsonl", fixtures().display()), "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, nothing fetched (the only URL is the SVG namespace).
    for outside in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(outside), "the page has {outside}");
    }

    // The DOM as the browser built it: three charts, one line per top
    // session (six, drawn 2 px wide; axes and gridlines are 1 px), the
    // daily chart's day labels and legend entries.
    let dom = browse(&dir.path().join("profile"), &["--dump-dom"], &page);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<svg").count(), 3, "{dom}");
    assert_eq!(dom.matches("stroke-width=\"2\"").count(), 6, "{dom}");
    for label in ["Spend by model over time", "Context growth of the top sessions", "Cache-read share of prompt tokens"] {
        assert!(dom.contains(&format!("aria-label=\"{label}\"")), "{label}");
    }
    assert!(dom.contains("Sep 02") && dom.contains("-home-dev-src-web $2.88"));

    let shot = dir.path().join("advise.png");
    let arg = format!("--screenshot={}", shot.display());
    let out = browse(&dir.path().join("profile"), &[&arg, "--window-size=1000,2000"], &page);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 30_000, "a page with charts, not a blank one: {} bytes", png.len());
    if let Ok(keep) = std::env::var("ADVISE_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
