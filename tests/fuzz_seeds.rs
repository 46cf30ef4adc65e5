//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`, written by
//! `scripts/fuzz-seeds`) through the entry points the fuzz targets call, so
//! the seeds stay valid inputs and every invariant the fuzzers check holds
//! on them. The fuzzers themselves run only from `scripts/fuzz`.

use std::path::{Path, PathBuf};

use creditwatch::robustness::{self, Violation};
use creditwatch::sources::Format;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

/// Runs every seed of `target`; returns how many there were.
fn replay(target: &str, entry: impl Fn(&[u8]) -> Result<(), Violation>) -> usize {
    let seeds = seeds(target);
    for (path, bytes) in &seeds {
        if let Err(violation) = entry(bytes) {
            panic!("{}: {violation}", path.display());
        }
    }
    seeds.len()
}

#[test]
fn claude_code_seeds() {
    assert_eq!(replay("claude_code", |b| robustness::parse_lines(Format::ClaudeCode, b)), 14);
}

#[test]
fn journal_seeds() {
    assert_eq!(replay("journal", robustness::journal_bytes), 7);
}

#[test]
fn config_seeds() {
    assert_eq!(replay("config", robustness::config_text), 5);
}

#[test]
fn web_config_seeds() {
    assert_eq!(replay("web_config", robustness::web_config_text), 5);
}
