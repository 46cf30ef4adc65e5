//! Providers: the figures a provider's own API states (plan windows, spend,
//! a balance), read into an `Observation`. A provider is another way figures
//! reach the ledger, beside `sources`: not a log, but the bill itself.
//!
//! - one pure reader per kind (`Reader`): the requests of one poll, and the
//!   answers' bytes in, an `Observation` or a `ReadError` out; tested with
//!   the captured answers in `../shared/real/provider-examples/`;
//! - one small shell (`Provider::poll`): the secret read again from its file
//!   (`secret`), the HTTP client with its deadline and size limit
//!   (`client`), and when to poll next (`schedule`).
//!
//! Invariants: a secret never reaches a log line, a message, a metric or an
//! answer; an answer that does not hold together gives no observation (the
//! caller changes nothing and counts an error); money stays `Decimal`.
//! The daemon runs each provider in its own task (`daemon::providers`), so a
//! slow provider never holds up ingestion.

pub mod api;
pub mod audit;
pub mod claude_oauth;
pub mod client;
pub mod config;
pub mod observation;
pub mod schedule;
pub mod secret;
pub mod spend;
pub mod status;

use chrono::{DateTime, Utc};

pub use client::{Client, Failure, Header, Outcome};
pub use config::{Kind, ProviderConfig, Reconcile};
pub use observation::{DailySpend, Money, Observation, PeriodSpend};
use secret::{SecretError, SecretSource};

/// A poll never makes more requests than this (pagination included).
pub const MAX_REQUESTS_PER_POLL: usize = 50;

/// One GET: the path and query below the provider's base URL, and the
/// headers besides the secret's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub headers: Vec<Header>,
}

/// Why a 2xx answer gave no observation; says where, never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

impl ReadError {
    pub fn new(message: impl Into<String>) -> ReadError {
        ReadError(message.into())
    }
}

/// What one kind of provider asks and how it reads the answers. Pure: no
/// I/O, no clock (the poll's time is given).
pub trait Reader: Send + Sync {
    /// The next request of a poll at `now`, given the bodies answered so far
    /// (none at first); `None` when the poll has all it needs. A paginated
    /// report returns the next page's request while the last body says more.
    fn next_request(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Option<Request>;

    /// How the secret is sent: header name (lower case) and value prefix.
    fn auth(&self) -> (&'static str, &'static str) {
        ("authorization", "Bearer ")
    }

    /// Reads every answer of one poll into one observation.
    fn read(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Result<Observation, ReadError>;

    /// A refused request (401/403) in the kind's own words: which key the
    /// endpoint needs. The default keeps the shell's message.
    fn refused(&self, failure: Failure) -> Failure {
        failure
    }
}

/// Whether this build has a reader for `kind`.
pub fn supported(kind: Kind) -> bool {
    match kind {
        Kind::ClaudeOauth | Kind::AnthropicAdmin | Kind::OpenaiAdmin | Kind::Openrouter | Kind::Deepseek => true,
    }
}

/// The reader of a provider (its kind, with the filters it is configured with).
pub fn reader(config: &ProviderConfig) -> Option<Box<dyn Reader>> {
    reader_since(config, None)
}

/// The reader of a provider whose daily report starts at `since` (a UTC
/// day) instead of the first of the previous month (`creditwatch audit`).
pub fn reader_since(config: &ProviderConfig, since: Option<chrono::NaiveDate>) -> Option<Box<dyn Reader>> {
    let filters = config.filters();
    match config.kind {
        Kind::ClaudeOauth => Some(Box::new(claude_oauth::ClaudeOauth)),
        Kind::AnthropicAdmin => Some(Box::new(api::anthropic_admin::AnthropicAdmin { filters, since })),
        Kind::OpenaiAdmin => Some(Box::new(api::openai_admin::OpenaiAdmin { filters, since })),
        Kind::Openrouter => Some(Box::new(api::openrouter::OpenRouter)),
        Kind::Deepseek => Some(Box::new(api::deepseek::DeepSeek)),
    }
}

/// Why a poll gave no observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// No usable secret (unreadable file, expired login): no request made.
    Secret(SecretError),
    /// A request failed, or its answer did not hold together.
    Request(Failure),
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::Secret(e) => e.fmt(f),
            PollError::Request(e) => f.write_str(&e.message),
        }
    }
}

impl PollError {
    /// The failure the schedule backs off on (an unusable secret waits the
    /// interval, like a refused token).
    pub fn failure(&self) -> Failure {
        match self {
            PollError::Secret(e) => Failure { outcome: Outcome::Unauthorized, message: e.to_string(), retry_after: None, transient: false },
            PollError::Request(f) => f.clone(),
        }
    }
}

/// What one poll did: each request's outcome (for the counter) and the result.
#[derive(Debug)]
pub struct Poll {
    pub requests: Vec<Outcome>,
    pub result: Result<Observation, PollError>,
}

/// One configured provider, ready to poll.
pub struct Provider {
    pub config: ProviderConfig,
    reader: Box<dyn Reader>,
    client: Client,
    secret: SecretSource,
}

impl Provider {
    pub fn new(config: &ProviderConfig) -> anyhow::Result<Provider> {
        Provider::since(config, None)
    }

    /// A provider whose daily report starts at `since` (`creditwatch audit`).
    pub fn since(config: &ProviderConfig, since: Option<chrono::NaiveDate>) -> anyhow::Result<Provider> {
        let reader = reader_since(config, since).ok_or_else(|| anyhow::anyhow!("kind `{}` is not yet supported", config.kind.as_str()))?;
        Ok(Provider { config: config.clone(), reader, client: Client::new(config.timeout)?, secret: SecretSource::of(config) })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where the secret is read from (shown by `providers check`; a path, not the secret).
    pub fn secret_source(&self) -> &SecretSource {
        &self.secret
    }

    /// Reads the secret and makes the poll's requests, one after another.
    pub async fn poll(&self, now: DateTime<Utc>) -> Poll {
        let mut requests = Vec::new();
        let secret = match self.secret.read(now) {
            Ok(s) => s,
            Err(e) => return Poll { requests, result: Err(PollError::Secret(e)) },
        };
        let base = self.config.base_url();
        let (auth_name, auth_prefix) = self.reader.auth();
        let mut answers = Vec::new();
        while let Some(request) = self.reader.next_request(now, &answers) {
            if answers.len() >= MAX_REQUESTS_PER_POLL {
                let f = Failure::error(format!("more than {MAX_REQUESTS_PER_POLL} requests in one poll"), false);
                return Poll { requests, result: Err(PollError::Request(f)) };
            }
            let url = format!("{base}{}", request.path);
            match self.client.get(&url, &request.headers, Some((auth_name, auth_prefix.to_string(), &secret))).await {
                Ok(body) => {
                    requests.push(Outcome::Ok);
                    answers.push(body);
                }
                Err(f) => {
                    let f = if f.outcome == Outcome::Unauthorized { self.reader.refused(f) } else { f };
                    requests.push(f.outcome);
                    return Poll { requests, result: Err(PollError::Request(f)) };
                }
            }
        }
        match self.reader.read(now, &answers) {
            Ok(observation) => Poll { requests, result: Ok(observation) },
            Err(e) => {
                // The answer came, but is not one we can use: an error, not ok.
                if let Some(last) = requests.last_mut() {
                    *last = Outcome::Error;
                }
                let f = Failure::error(format!("the answer does not hold together: {e}"), false);
                Poll { requests, result: Err(PollError::Request(f)) }
            }
        }
    }
}
