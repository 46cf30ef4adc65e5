//! `creditwatch prices [MODEL]` through the real binary: the price and where
//! it came from — built-in, config, or the downloaded list's cache.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_creditwatch");

const CACHE: &str = r#"{"acme-new-model": {"input_cost_per_token": 1.5e-06, "output_cost_per_token": 6e-06, "cache_read_input_token_cost": 1.5e-07},
 "gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}"#;

fn prices(config: &std::path::Path, model: &str) -> (bool, String, String) {
    let out = Command::new(BIN).args(["prices", "--config"]).arg(config).arg(model).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn prices_names_the_origin_of_each_price() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("prices-cache.json"), CACHE).unwrap();
    let config = dir.path().join("config.yaml");
    // Nothing listens on port 9: `prices` reads the cache and never downloads.
    let text = format!(
        "state_dir: {}\npricing: {{ url: \"http://127.0.0.1:9/prices.json\" }}\nprices:\n  acme-gpt-mini: {{ input_usd: \"0.15\", output_usd: \"0.60\" }}\n",
        state.display()
    );
    std::fs::write(&config, text).unwrap();

    let (ok, out, err) = prices(&config, "openrouter/acme-new-model");
    assert!(ok, "{err}");
    let cache = state.join("prices-cache.json");
    assert!(out.starts_with("openrouter/acme-new-model (as acme-new-model): input $1.5 output $6 cache write 5m $1.5 1h $1.5 cache read $0.15 per million tokens (downloaded from http://127.0.0.1:9/prices.json, cached in "), "{out}");
    assert!(out.contains(&cache.display().to_string()), "{out}");

    let (ok, out, _) = prices(&config, "gpt-4o-2024-08-06");
    assert!(ok);
    assert_eq!(out, "gpt-4o-2024-08-06 (as gpt-4o): input $2.50 output $10 cache write 5m $2.50 1h $2.50 cache read $1.25 per million tokens (built-in, list of 2026-11-01)\n");

    let (ok, out, _) = prices(&config, "acme-gpt-mini");
    assert!(ok);
    assert_eq!(out, "acme-gpt-mini: input $0.15 output $0.60 cache write 5m $0.15 1h $0.15 cache read $0.15 per million tokens (config)\n");

    let (ok, _, err) = prices(&config, "mystery-9");
    assert!(!ok);
    assert!(err.contains("no price for `mystery-9`"), "{err}");
}
