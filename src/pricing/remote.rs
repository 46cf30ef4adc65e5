//! A downloaded price list for the models the built-in table lacks.
//!
//! Proxies see models no release of ours knows yet. With `pricing.url` set
//! (one URL or a list), each list is downloaded at start and every
//! `refresh_every`, converted to per-million prices exactly in `Decimal`
//! from each number's text, and kept in the state folder (written
//! atomically: `prices-cache.json` for the first list, `prices-cache-2.json`
//! and on for the others), so a restart without network still has it. A
//! list is LiteLLM's `model_prices_and_context_window.json` (per-token
//! prices, `litellm`) or models.dev's `api.json` (per-million, by provider,
//! `models_dev`), told apart by its shape. It only fills gaps: the built-in
//! table and config `prices:` always win (`PriceTable::with_fallbacks`), and
//! an earlier list wins over a later one. A failed download (network, HTTP
//! status, bad JSON, no usable model) changes nothing for that list and is
//! logged with its reason; the cached or built-in prices stay.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::litellm::entry_price;
use super::{models_dev, ModelPrice, PriceSpec, PriceTable};

/// What a price table is built from: the config's `prices:` overrides, its
/// `pricing:` list and the state folder that caches the list.
#[derive(Debug, Clone, Default)]
pub struct PriceSettings {
    pub prices: BTreeMap<String, PriceSpec>,
    pub pricing: PricingConfig,
    pub state_dir: PathBuf,
}

/// `pricing:` in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingConfig {
    /// Price lists (LiteLLM's or models.dev's format), earlier ones first;
    /// nothing is downloaded without one. One URL or a list in the config.
    #[serde(deserialize_with = "one_or_many")]
    pub url: Vec<String>,
    #[serde(deserialize_with = "crate::common::duration")]
    pub refresh_every: Duration,
    /// Limit on one download, connect to last byte.
    #[serde(deserialize_with = "crate::common::duration")]
    pub timeout: Duration,
}

impl Default for PricingConfig {
    fn default() -> PricingConfig {
        PricingConfig { url: Vec::new(), refresh_every: Duration::from_secs(86400), timeout: Duration::from_secs(30) }
    }
}

/// `url: "https://..."`, `url: [a, b]` or `url: null`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Urls;
    impl<'de> serde::de::Visitor<'de> for Urls {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a URL, a list of URLs, or null")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
            d.deserialize_any(Urls)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut urls = Vec::new();
            while let Some(url) = seq.next_element::<String>()? {
                urls.push(url);
            }
            Ok(urls)
        }
    }
    d.deserialize_any(Urls)
}

impl PricingConfig {
    /// For `Config::validate`: (field below `pricing`, message).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for url in &self.url {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => return Err(("url", format!("`{url}`: scheme `{}` is not http or https", u.scheme()))),
                Err(e) => return Err(("url", format!("`{url}` is not a URL: {e}"))),
            }
        }
        if self.refresh_every < Duration::from_secs(60) {
            return Err(("refresh_every", "must be at least 1m".into()));
        }
        if self.timeout.is_zero() {
            return Err(("timeout", "must be more than 0s".into()));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PriceListError {
    #[error("downloading {url}: {source}")]
    Download { url: String, source: reqwest::Error },
    #[error("downloading {url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{what} is not a price list: {message}")]
    Invalid { what: String, message: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The models of one list, per-million prices, keyed as the list names them.
pub type PriceList = Vec<(String, ModelPrice)>;

/// Parses a models.dev list (`models_dev`) or a LiteLLM-format list.
/// Entries without both token prices (image, audio, per-second models, the
/// `sample_spec` entry) or with a malformed price are left out; a list with
/// no usable entry is an error.
pub fn parse_price_list(bytes: &[u8], what: &str) -> Result<PriceList, PriceListError> {
    let invalid = |message: String| PriceListError::Invalid { what: what.to_string(), message };
    if let Some(list) = models_dev::parse(bytes) {
        if list.is_empty() {
            return Err(invalid("a models.dev list with no model that has input and output prices".into()));
        }
        return Ok(list);
    }
    let entries: BTreeMap<String, &RawValue> = serde_json::from_slice(bytes).map_err(|e| invalid(format!("{e}")))?;
    // `sample_spec` documents the format (with zero prices); it is no model.
    let list: PriceList = entries
        .into_iter()
        .filter(|(model, _)| model != "sample_spec")
        .filter_map(|(model, raw)| Some((model, entry_price(raw)?)))
        .collect();
    if list.is_empty() {
        return Err(invalid("no model with input_cost_per_token and output_cost_per_token".into()));
    }
    Ok(list)
}

/// `STATE_DIR/prices-cache.json`, the first list's cache.
pub fn cache_path(state_dir: &Path) -> PathBuf {
    list_cache_path(state_dir, 0)
}

/// The cache of the list at `index` in `pricing.url`: `prices-cache.json`,
/// then `prices-cache-2.json`, ...
pub fn list_cache_path(state_dir: &Path, index: usize) -> PathBuf {
    match index {
        0 => state_dir.join("prices-cache.json"),
        n => state_dir.join(format!("prices-cache-{}.json", n + 1)),
    }
}

/// The first list's cache, if there is a readable one. Sync: for `report`
/// and `prices`, which never download.
pub fn load_cached(state_dir: &Path) -> Result<Option<PriceList>, PriceListError> {
    load_cached_list(state_dir, 0)
}

fn load_cached_list(state_dir: &Path, index: usize) -> Result<Option<PriceList>, PriceListError> {
    let path = list_cache_path(state_dir, index);
    match std::fs::read(&path) {
        Ok(bytes) => parse_price_list(&bytes, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PriceListError::Io { path, source }),
    }
}

/// Built-in prices, then config `prices:`, then (with `pricing.url` set) the
/// cached lists, in order, for the models still missing. A bad cache is
/// logged and left out.
pub fn table(config: &PriceSettings) -> PriceTable {
    let mut table = PriceTable::builtin().with_overrides(&config.prices);
    for index in 0..config.pricing.url.len() {
        match load_cached_list(&config.state_dir, index) {
            Ok(Some(list)) => table = table.with_fallbacks(list),
            Ok(None) => {}
            Err(e) => tracing::warn!("price list cache not used: {e}"),
        }
    }
    table
}

/// Downloads every list, checks each, and replaces its cache. Returns the
/// number of models in them; with an error, the first one (the caches of
/// the lists that failed are untouched, the others are replaced).
pub async fn refresh(pricing: &PricingConfig, state_dir: &Path) -> Result<usize, PriceListError> {
    let (models, mut errors) = refresh_lists(pricing, state_dir).await;
    match errors.is_empty() {
        true => Ok(models),
        false => Err(errors.remove(0)),
    }
}

/// Each list in turn: the models of those downloaded, and the errors.
async fn refresh_lists(pricing: &PricingConfig, state_dir: &Path) -> (usize, Vec<PriceListError>) {
    let (mut models, mut errors) = (0, Vec::new());
    for (index, url) in pricing.url.iter().enumerate() {
        match refresh_list(url, pricing.timeout, &list_cache_path(state_dir, index)).await {
            Ok(n) => models += n,
            Err(e) => errors.push(e),
        }
    }
    (models, errors)
}

/// Downloads one list, checks it, and replaces its cache.
async fn refresh_list(url: &str, timeout: Duration, cache: &Path) -> Result<usize, PriceListError> {
    let download = |source| PriceListError::Download { url: url.to_string(), source };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("creditwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(download)?;
    let response = client.get(url).send().await.map_err(download)?;
    if !response.status().is_success() {
        return Err(PriceListError::Status { url: url.to_string(), status: response.status().as_u16() });
    }
    let bytes = response.bytes().await.map_err(download)?;
    let count = parse_price_list(&bytes, url)?.len();
    let cache = cache.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomically(&cache, &bytes))
        .await
        .map_err(|e| PriceListError::Io { path: PathBuf::from("prices-cache.json"), source: std::io::Error::other(e) })??;
    Ok(count)
}

/// Temp file, fsync, rename over the old one, fsync the folder: a crash
/// leaves the old cache or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PriceListError> {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PriceListError + '_ {
        move |source| PriceListError::Io { path: path.to_path_buf(), source }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let temp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temp).map_err(io(&temp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(&temp))?;
    std::fs::rename(&temp, path).map_err(io(path))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// For the daemon at start: refresh (when configured; a failure is logged
/// and the cache or built-in prices are used), then the table.
pub async fn load_at_start(config: &PriceSettings) -> PriceTable {
    refresh_and_log(config).await;
    table(config)
}

async fn refresh_and_log(config: &PriceSettings) -> bool {
    let (models, errors) = refresh_lists(&config.pricing, &config.state_dir).await;
    for e in &errors {
        tracing::warn!("price list not refreshed, keeping the cached or built-in prices: {e}");
    }
    if errors.len() < config.pricing.url.len() {
        tracing::info!(models, lists = config.pricing.url.len() - errors.len(), "price list refreshed");
        return true;
    }
    false
}

/// For the daemon, spawned at start beside the cached table
/// (`table(&config)`, instant): downloads at once, then every
/// `refresh_every`, until `shutdown` completes; returns at once without
/// `pricing.url`. After each successful download it bumps `refreshed` (the
/// count of downloads): the holder of a price table then rebuilds it with
/// `table(&its_current_config)`, so overrides from a reloaded config still
/// win. A failed download bumps nothing.
pub async fn refresh_loop(config: PriceSettings, refreshed: tokio::sync::watch::Sender<u64>, shutdown: impl Future<Output = ()>) {
    if config.pricing.url.is_empty() {
        return;
    }
    tokio::pin!(shutdown);
    loop {
        let downloaded = tokio::select! {
            _ = &mut shutdown => return,
            d = refresh_and_log(&config) => d,
        };
        if downloaded {
            refreshed.send_modify(|count| *count += 1);
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(config.pricing.refresh_every) => {}
        }
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
