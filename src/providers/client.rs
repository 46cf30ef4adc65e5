//! The HTTP shell every provider shares: one GET with a deadline, a body
//! size limit and no redirects, its answer classified as the
//! `creditwatch_provider_requests_total` outcomes (ok, error, unauthorized,
//! throttled).
//!
//! Nothing here ever holds the secret in a message: the token travels only
//! in the request's header (marked sensitive), errors describe the status
//! and the kind of failure, never a body or a header.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;

use super::secret::Secret;

/// No provider's answer is larger (the Claude usage answer is about 2 KB; a
/// month of a cost report grouped by model is a few hundred KB).
pub const MAX_BODY: usize = 4 << 20;

/// A `Retry-After` further out than this is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How one request went, as `creditwatch_provider_requests_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// A 5xx, another 4xx, no answer in time, a network failure, or a
    /// 200 whose body does not hold together.
    Error,
    /// 401 or 403: the token or key is not accepted.
    Unauthorized,
    /// 429.
    Throttled,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Ok, Outcome::Error, Outcome::Unauthorized, Outcome::Throttled];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Throttled => "throttled",
        }
    }
}

/// A request that did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub outcome: Outcome,
    /// For the log and `providers check`: status and cause, never a secret.
    pub message: String,
    /// From a 429's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// A server-side or network failure worth retrying sooner (5xx, no
    /// answer, connection refused), as opposed to an answer that will not
    /// change by asking again.
    pub transient: bool,
}

impl Failure {
    pub fn error(message: impl Into<String>, transient: bool) -> Failure {
        Failure { outcome: Outcome::Error, message: message.into(), retry_after: None, transient }
    }
}

/// One HTTP header of a request: name and value.
pub type Header = (&'static str, String);

pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    pub fn new(timeout: Duration) -> anyhow::Result<Client> {
        crate::common::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect could carry the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("creditwatch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client { http, timeout })
    }

    /// GETs `url` with `headers` and the secret as `auth` (e.g.
    /// `("authorization", "Bearer …")`); the body of a 2xx answer.
    pub async fn get(&self, url: &str, headers: &[Header], auth: Option<(&'static str, String, &Secret)>) -> Result<Vec<u8>, Failure> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|_| Failure::error(format!("header `{name}` is not valid"), false))?;
            map.insert(HeaderName::from_static(name), value);
        }
        if let Some((name, prefix, secret)) = auth {
            let mut value = HeaderValue::from_str(&format!("{prefix}{}", secret.expose()))
                .map_err(|_| Failure::error("the token holds characters a header cannot carry", false))?;
            value.set_sensitive(true);
            map.insert(HeaderName::from_static(name), value);
        }
        let response = self.http.get(url).headers(map).send().await.map_err(|e| self.network_failure(&e))?;
        let status = response.status();
        if status.is_success() {
            return self.body(response).await;
        }
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| retry_after(v, Utc::now()));
        Err(classify(status, retry_after))
    }

    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let too_large = || Failure::error(format!("answer larger than {} bytes", MAX_BODY), false);
        if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network_failure(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn network_failure(&self, e: &reqwest::Error) -> Failure {
        let message = if e.is_timeout() {
            format!("no answer within {}", humantime::format_duration(self.timeout))
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            "the connection failed".to_string()
        };
        Failure::error(message, true)
    }
}

/// The outcome of a non-2xx status.
pub fn classify(status: StatusCode, retry_after: Option<Duration>) -> Failure {
    let code = status.as_u16();
    match code {
        401 | 403 => Failure {
            outcome: Outcome::Unauthorized,
            message: format!("answered {code}: the token or key is not accepted"),
            retry_after: None,
            transient: false,
        },
        429 => Failure { outcome: Outcome::Throttled, message: "answered 429: throttled".into(), retry_after, transient: true },
        500..=599 => Failure::error(format!("answered {code}: a server error"), true),
        _ => Failure::error(format!("answered {code}"), false),
    }
}

/// `Retry-After`: seconds, or an HTTP date (RFC 9110 §10.2.3), capped.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    let wait = match v.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let cases = [
            (401, "unauthorized", false),
            (403, "unauthorized", false),
            (429, "throttled", true),
            (500, "error", true),
            (503, "error", true),
            (404, "error", false),
            (302, "error", false),
        ];
        for (code, outcome, transient) in cases {
            let f = classify(StatusCode::from_u16(code).unwrap(), None);
            assert_eq!((f.outcome.as_str(), f.transient), (outcome, transient), "{code}");
        }
        assert_eq!(classify(StatusCode::FORBIDDEN, None).message, "answered 403: the token or key is not accepted");
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Thu, 03 Dec 2026 10:01:30 GMT", now), Some(Duration::from_secs(90)));
        assert_eq!(retry_after("Thu, 03 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("86400", now), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after("soon", now), None);
    }
}
