//! A test hook for the crash tests (`tests/otlp_crash.rs`): with
//! `CREDITWATCH_OTLP_FAILPOINT=<point>:<file>`, an export reaching `<point>`
//! (`before-commit` or `after-commit`) logs that it is held and waits while
//! `<file>` exists (at most a minute), so a test can kill the daemon exactly
//! between receiving an export and answering it. Unset, it costs one
//! environment lookup, made once.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn configured() -> &'static Option<(String, PathBuf)> {
    static POINT: OnceLock<Option<(String, PathBuf)>> = OnceLock::new();
    POINT.get_or_init(|| {
        let value = std::env::var("CREDITWATCH_OTLP_FAILPOINT").ok()?;
        let (point, file) = value.split_once(':')?;
        Some((point.to_string(), PathBuf::from(file)))
    })
}

pub fn hold(point: &str) {
    let Some((at, file)) = configured() else { return };
    if at != point || !file.exists() {
        return;
    }
    tracing::warn!(point, file = %file.display(), "failpoint: holding this OTLP export while the file exists");
    let deadline = Instant::now() + Duration::from_secs(60);
    while file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}
