use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::pricing::PriceOrigin;
use crate::usage::money;

const LIST: &str = r#"{
  "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "one of the providers"},
  "acme-new-model": {"input_cost_per_token": 1.5e-06, "output_cost_per_token": 6e-06, "cache_read_input_token_cost": 1.5e-07, "mode": "chat"},
  "gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
  "claude-next": {"input_cost_per_token": 3e-06, "output_cost_per_token": 0.000015, "cache_creation_input_token_cost": 3.75e-06,
    "cache_creation_input_token_cost_above_1hr": 6e-06, "cache_read_input_token_cost": 3e-07,
    "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05},
  "vertex_ai/gemini-9": {"input_cost_per_token": "0.00000125", "output_cost_per_token": 1E-5, "cache_read_input_token_cost": null},
  "dall-e-3": {"output_cost_per_image": 0.04, "mode": "image_generation"},
  "broken": {"input_cost_per_token": "cheap", "output_cost_per_token": 1e-06},
  "negative": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06}
}"#;

fn card(p: &ModelPrice) -> [String; 5] {
    let b = &p.base.base;
    [b.input, b.output, b.cache_write_5m, b.cache_write_1h, b.cache_read].map(money::format)
}

#[test]
fn converts_per_token_prices_to_per_million_exactly() {
    let list: BTreeMap<String, ModelPrice> = parse_price_list(LIST.as_bytes(), "test").unwrap().into_iter().collect();
    let keys: Vec<&str> = list.keys().map(String::as_str).collect();
    assert_eq!(keys, ["acme-new-model", "claude-next", "gpt-4o", "vertex_ai/gemini-9"]);
    // Table: model, (input, output, write 5m, write 1h, read) per million.
    let cases = [
        ("acme-new-model", ["1.5", "6", "1.5", "1.5", "0.15"]),
        ("claude-next", ["3", "15", "3.75", "6", "0.3"]),
        ("vertex_ai/gemini-9", ["1.25", "10", "1.25", "1.25", "1.25"]),
    ];
    for (model, want) in cases {
        assert_eq!(card(&list[model]), want.map(String::from), "{model}");
    }
    let lc = &list["claude-next"].base.tiers[0];
    assert_eq!((lc.above_tokens, money::format(lc.prices.input), money::format(lc.prices.output)), (200_000, "6".into(), "22.5".into()));
}

/// The rules beside the base card: 1h writes (2x input when the list has a
/// 5m price but no 1h one), every prompt tier, priority, web search, and
/// LiteLLM's fast and US multipliers.
#[test]
fn imports_the_rules_of_a_card() {
    let list = r#"{
      "claude-haiku-next": {"input_cost_per_token": 1e-07, "output_cost_per_token": 5e-07, "cache_creation_input_token_cost": 1.25e-07,
        "cache_read_input_token_cost": 1e-08, "input_cost_per_token_above_100k_tokens": 5e-07, "output_cost_per_token_above_100k_tokens": 2.5e-06,
        "cache_creation_input_token_cost_above_100k_tokens": 6.25e-07, "cache_read_input_token_cost_above_100k_tokens": 5e-08,
        "input_cost_per_token_above_100k_tokens_batches": 2.5e-07,
        "search_context_cost_per_query": {"search_context_size_low": 0.01, "search_context_size_medium": 0.01, "search_context_size_high": 0.01},
        "provider_specific_entry": {"fast": 2, "us": 1.1}},
      "gpt-next": {"input_cost_per_token": 5e-06, "output_cost_per_token": 3e-05, "cache_read_input_token_cost": 5e-07,
        "input_cost_per_token_above_272k_tokens": 1e-05, "output_cost_per_token_above_272k_tokens": 4.5e-05,
        "cache_read_input_token_cost_above_272k_tokens": 1e-06, "input_cost_per_token_priority": 1.25e-05,
        "output_cost_per_token_priority": 7.5e-05, "cache_read_input_token_cost_priority": 1.25e-06,
        "provider_specific_entry": {"fast": "x"}}
    }"#;
    let list: BTreeMap<String, ModelPrice> = parse_price_list(list.as_bytes(), "test").unwrap().into_iter().collect();
    let haiku = &list["claude-haiku-next"].base;
    assert_eq!(card(&list["claude-haiku-next"]), ["0.1", "0.5", "0.125", "0.2", "0.01"].map(String::from));
    assert_eq!(haiku.tiers.len(), 1);
    let tier = &haiku.tiers[0].prices;
    assert_eq!(haiku.tiers[0].above_tokens, 100_000);
    assert_eq!(
        [tier.input, tier.output, tier.cache_write_5m, tier.cache_write_1h, tier.cache_read].map(money::format),
        ["0.5", "2.5", "0.625", "1", "0.05"].map(String::from)
    );
    assert_eq!(
        (money::format(haiku.web_search), money::format(haiku.fast_factor), money::format(haiku.us_only_factor)),
        ("0.01".into(), "2".into(), "1.1".into())
    );
    let gpt = &list["gpt-next"].base;
    assert_eq!((gpt.tiers[0].above_tokens, money::format(gpt.tiers[0].prices.output)), (272_000, "45".into()));
    let priority = gpt.priority.as_ref().unwrap();
    assert_eq!([priority.input, priority.output, priority.cache_read].map(money::format), ["12.5", "75", "1.25"].map(String::from));
    // A malformed multiplier is no multiplier; the entry still prices.
    assert_eq!(money::format(gpt.fast_factor), "1");
    // Priced through the table: a fast US-only request above the tier.
    let table = PriceTable::builtin().with_fallbacks(list.clone());
    let m = crate::usage::Modifiers { tier: crate::usage::ServiceTier::Standard, fast: true, us_only: true };
    let t = crate::usage::Tokens { input: 100_001, output: 0, cache_write_5m: 0, cache_write_1h: 0, cache_read: 0 };
    let cost = table.price_tokens("claude-haiku-next", &t, 1, &m, chrono::Utc::now()).cost;
    assert_eq!(money::format(cost), "0.1200011");
}

#[test]
fn lists_without_usable_models_are_refused() {
    for bad in ["{not json", "[1,2]", r#"{"dall-e-3": {"output_cost_per_image": 0.04}}"#, "{}"] {
        assert!(matches!(parse_price_list(bad.as_bytes(), "t"), Err(PriceListError::Invalid { .. })), "{bad}");
    }
}

/// A loopback HTTP server answering every request with the current
/// (status, body), counting requests.
struct Server {
    port: u16,
    reply: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start(status: u16, body: &str) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let reply = Arc::new(Mutex::new((status, body.to_string())));
        let hits = Arc::new(AtomicUsize::new(0));
        let (r, h) = (reply.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = r.lock().unwrap().clone();
                let text = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                h.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(text.as_bytes()).await;
            }
        });
        Server { port, reply, hits }
    }

    fn set(&self, status: u16, body: &str) {
        *self.reply.lock().unwrap() = (status, body.to_string());
    }
}

fn config(state: &Path, port: u16) -> PriceSettings {
    let pricing = format!("{{ url: \"http://127.0.0.1:{port}/prices.json\", refresh_every: 1h, timeout: 5s }}");
    let prices = "claude-next: { input_usd: 1, output_usd: 2 }";
    PriceSettings {
        prices: serde_yaml_ng::from_str(prices).unwrap(),
        pricing: serde_yaml_ng::from_str(&pricing).unwrap(),
        state_dir: state.to_path_buf(),
    }
}

#[tokio::test]
async fn downloads_caches_and_keeps_the_cache_when_a_download_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(200, LIST).await;
    let config = config(dir.path(), server.port);
    assert_eq!(refresh(&config.pricing, &config.state_dir).await.unwrap(), 4);
    let cached = std::fs::read(cache_path(&config.state_dir)).unwrap();
    assert_eq!(cached, LIST.as_bytes());

    let check = |table: &PriceTable| {
        let (_, p, origin) = table.lookup("acme-new-model").unwrap();
        assert_eq!((card(p)[0].as_str(), origin), ("1.5", PriceOrigin::Downloaded));
        // Built-in and config prices win over the list.
        let (_, p, origin) = table.lookup("gpt-4o-2024-08-06").unwrap();
        assert_eq!((card(p)[0].as_str(), origin), ("2.5", PriceOrigin::BuiltIn));
        let (_, p, origin) = table.lookup("claude-next").unwrap();
        assert_eq!((card(p)[0].as_str(), origin), ("1", PriceOrigin::Config));
        assert_eq!(table.lookup("google/gemini-9").map(|(k, _, _)| k), None);
        assert_eq!(table.lookup("vertex_ai/gemini-9").map(|(k, _, o)| (k, o)), Some(("vertex_ai/gemini-9", PriceOrigin::Downloaded)));
    };
    check(&load_at_start(&config).await);

    // Each failure: an error naming why, the cache byte for byte as it was.
    for (status, body, want) in [
        (500, "oops", "HTTP status 500"),
        (200, "{not json", "is not a price list"),
        (200, r#"{"sample_spec": {"mode": "chat"}}"#, "no model with input_cost_per_token"),
    ] {
        server.set(status, body);
        let err = refresh(&config.pricing, &config.state_dir).await.unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert_eq!(std::fs::read(cache_path(&config.state_dir)).unwrap(), cached);
        check(&load_at_start(&config).await);
    }
    // One refresh and one start-up download, then two per failure.
    assert_eq!(server.hits.load(Ordering::SeqCst), 8);

    // Nothing listening: the cache still serves.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let offline =
        PriceSettings { pricing: PricingConfig { url: vec![format!("http://127.0.0.1:{closed}/")], ..config.pricing.clone() }, ..config };
    assert!(matches!(refresh(&offline.pricing, &offline.state_dir).await, Err(PriceListError::Download { .. })));
    check(&load_at_start(&offline).await);
}

#[tokio::test]
async fn without_a_url_nothing_is_downloaded_or_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(cache_path(dir.path()), LIST).unwrap();
    let mut config = config(dir.path(), 9);
    config.pricing.url = Vec::new();
    assert_eq!(refresh(&config.pricing, &config.state_dir).await.unwrap(), 0);
    assert!(table(&config).lookup("acme-new-model").is_none());
}

#[tokio::test]
async fn the_refresh_loop_signals_each_successful_download() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(500, "down").await;
    let mut config = config(dir.path(), server.port);
    config.pricing.refresh_every = Duration::from_millis(20);
    let config = Arc::new(config);
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(refresh_loop(PriceSettings::clone(&config), tx, async move {
        let _ = stopped.await;
    }));
    // Failed refreshes signal nothing.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.hits.load(Ordering::SeqCst) < 3 {
        assert!(std::time::Instant::now() < deadline, "no refresh attempts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!rx.has_changed().unwrap());
    assert!(table(&config).lookup("acme-new-model").is_none());
    server.set(200, LIST);
    tokio::time::timeout(Duration::from_secs(10), rx.changed()).await.unwrap().unwrap();
    assert!(*rx.borrow_and_update() >= 1);
    assert!(table(&config).lookup("acme-new-model").is_some());
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap();
}

/// LiteLLM's list first, models.dev's second: each cached in its own file,
/// the first list winning where both price a model, the second filling the
/// models only it has; a failed second list keeps its cache and the first.
#[tokio::test]
async fn a_second_list_in_models_dev_format_fills_what_the_first_lacks() {
    const MODELS_DEV: &str = r#"{
      "opencode": {"id": "opencode", "models": {
        "glm-4.6": {"id": "glm-4.6", "cost": {"input": 0.6, "output": 2.2, "cache_read": 0.11}},
        "acme-new-model": {"id": "acme-new-model", "cost": {"input": 9, "output": 9}}
      }}
    }"#;
    let dir = tempfile::tempdir().unwrap();
    let litellm = Server::start(200, LIST).await;
    let models_dev = Server::start(200, MODELS_DEV).await;
    let pricing = format!(
        "{{ url: [\"http://127.0.0.1:{}/prices.json\", \"http://127.0.0.1:{}/api.json\"], refresh_every: 1h, timeout: 5s }}",
        litellm.port, models_dev.port
    );
    let config = PriceSettings { pricing: serde_yaml_ng::from_str(&pricing).unwrap(), ..config(dir.path(), litellm.port) };
    assert_eq!(config.pricing.url.len(), 2);
    // 4 LiteLLM models; 2 models.dev models, each under `provider/model` and its bare id.
    assert_eq!(refresh(&config.pricing, &config.state_dir).await.unwrap(), 8);
    assert_eq!(std::fs::read(list_cache_path(dir.path(), 0)).unwrap(), LIST.as_bytes());
    assert_eq!(std::fs::read(dir.path().join("prices-cache-2.json")).unwrap(), MODELS_DEV.as_bytes());

    let check = |table: &PriceTable| {
        let (_, p, origin) = table.lookup("glm-4.6").unwrap();
        assert_eq!((card(p), origin), (["0.6", "2.2", "0.6", "0.6", "0.11"].map(String::from), PriceOrigin::Downloaded));
        assert_eq!(table.lookup("opencode/glm-4.6").map(|(k, _, _)| k), Some("opencode/glm-4.6"));
        // The first list's price wins.
        assert_eq!(card(table.lookup("acme-new-model").unwrap().1)[0], "1.5");
    };
    check(&load_at_start(&config).await);

    models_dev.set(500, "down");
    let err = refresh(&config.pricing, &config.state_dir).await.unwrap_err().to_string();
    assert!(err.contains("HTTP status 500"), "{err}");
    assert_eq!(std::fs::read(dir.path().join("prices-cache-2.json")).unwrap(), MODELS_DEV.as_bytes());
    check(&table(&config));
}
