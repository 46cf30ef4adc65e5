//! Routing and the read-only routes: `/` (the page), `/api/v1/summary`,
//! `/metrics`, `/healthz`, `/readyz`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::{api, App};
use crate::common::lock;
use crate::metrics::Live;

/// Largest request body read.
pub const MAX_BODY: usize = 64 * 1024;

pub type Resp = Response<Full<Bytes>>;

pub async fn handle(app: &App, req: Request<Incoming>) -> Resp {
    let web = app.web.current();
    let (parts, body) = req.into_parts();
    let mut body = Some(body);
    let mut resp = route(app, &web, &parts, &mut body).await;
    // An error answered before the body was read: read it first (bounded),
    // or an HTTP/2 client may get a stream reset instead of the answer.
    if let Some(body) = body.take() {
        if !discard(body).await {
            resp.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    // A 503 says "again, maybe elsewhere": a replica that does not write, a
    // writer whose database is down, a daemon shutting down. Closing the
    // HTTP/1.1 connection makes the client's next try a new connection,
    // which a balancer of connections (a Kubernetes Service) sends to the
    // writer of the moment rather than back here. (HTTP/2 has no such header.)
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE && parts.version < hyper::Version::HTTP_2 {
        resp.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    for (name, value) in web.headers() {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

/// Basic auth of the web config, for the routes it guards (metrics and the
/// read API); bcrypt runs off the async threads.
async fn authorized(web: &std::sync::Arc<crate::http::web_config::WebConfig>, headers: &hyper::HeaderMap) -> Result<(), Resp> {
    if !web.requires_auth() {
        return Ok(());
    }
    let header = headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let checker = web.clone();
    if tokio::task::spawn_blocking(move || checker.check(header.as_deref())).await.unwrap_or(false) {
        return Ok(());
    }
    let mut resp = error(StatusCode::UNAUTHORIZED, "basic auth required");
    resp.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    Err(resp)
}

/// Largest body read and thrown away before an error reply, and how long
/// that may take.
const DISCARD_LIMIT: usize = 1024 * 1024;
const DISCARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads a body to its end and drops it; false when it was longer than
/// `DISCARD_LIMIT` or slower than `DISCARD_TIMEOUT` (the connection is then
/// closed after the reply).
async fn discard(body: Incoming) -> bool {
    if hyper::body::Body::is_end_stream(&body) {
        return true;
    }
    let read = async {
        let mut body = body;
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    seen += frame.data_ref().map_or(0, |d| d.len());
                    if seen > DISCARD_LIMIT {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(DISCARD_TIMEOUT, read).await.unwrap_or(false)
}

async fn route(
    app: &App,
    web: &std::sync::Arc<crate::http::web_config::WebConfig>,
    parts: &hyper::http::request::Parts,
    body: &mut Option<Incoming>,
) -> Resp {
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let guarded = matches!(
        (&method, segments.as_slice()),
        (&Method::GET, [""] | ["metrics"] | ["api", "v1", "summary"]) | (&Method::GET, ["api", "v1", "accounts", ..])
    );
    if guarded {
        if let Err(resp) = authorized(web, &parts.headers).await {
            return resp;
        }
    }
    match (&method, segments.as_slice()) {
        (&Method::GET, [""]) => page(app, parts.uri.query()),
        (&Method::GET, ["api", "v1", "summary"]) => {
            json_response(StatusCode::OK, &serde_json::to_value(super::summary::of_app(app)).unwrap_or_default())
        }
        (&Method::GET, ["metrics"]) => {
            let gzip = parts.headers.get(hyper::header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("gzip"));
            metrics(app, gzip)
        }
        (&Method::GET, ["healthz"]) => text(StatusCode::OK, "ok\n"),
        (&Method::GET, ["readyz"]) => readyz(app),
        (&Method::GET, ["api", "v1", "accounts"]) => api::accounts(app),
        (&Method::GET, ["api", "v1", "accounts", account, "history"]) => api::history(app, account),
        (&Method::POST, ["api", "v1", "accounts", account, action @ ("topups" | "reconcile")]) => {
            let (account, action) = (account.to_string(), action.to_string());
            if let Err(resp) = api::authorize_admin(app, &parts.headers) {
                return resp;
            }
            let Some(body) = body.take() else { return error(StatusCode::INTERNAL_SERVER_ERROR, "request body already read") };
            match read_body(body).await {
                Ok(body) if action == "topups" => api::topup(app, &account, &body),
                Ok(body) => api::reconcile(app, &account, &body),
                Err(resp) => resp,
            }
        }
        (&Method::POST, ["v1", "logs"]) if app.otlp.is_some() => {
            let (Some(receiver), Some(request_body)) = (&app.otlp, body.take()) else {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "request body already read");
            };
            let (resp, unread) = super::otlp::http::export(receiver, &parts.headers, request_body).await;
            *body = unread;
            resp
        }
        (_, ["" | "metrics" | "healthz" | "readyz"]) | (_, ["api", "v1", "accounts" | "summary", ..]) => {
            error(StatusCode::METHOD_NOT_ALLOWED, &format!("{method} is not allowed on {path}"))
        }
        _ => error(StatusCode::NOT_FOUND, &format!("no route {path}; see / for the routes")),
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, Resp> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Err(error(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body over {MAX_BODY} bytes")))
            } else {
                Err(error(StatusCode::BAD_REQUEST, &format!("cannot read the request body: {e}")))
            }
        }
    }
}

/// The page, or (`?fragment=1`) the part of it the page's script refreshes.
fn page(app: &App, query: Option<&str>) -> Resp {
    let summary = super::summary::of_app(app);
    let by = super::page::StackBy::from_query(query);
    let fragment = query.is_some_and(|q| q.split('&').any(|p| p == "fragment=1"));
    let html = if fragment { super::page::fragment(&summary, by) } else { super::page::page(&summary, by) };
    let mut resp = with_type(StatusCode::OK, html.into(), "text/html; charset=utf-8");
    resp.headers_mut().insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A rendered exposition, shared by the scrapes that come within its
/// lifetime (`Exposition::fresh`).
pub struct Exposition {
    at: std::time::Instant,
    records: u64,
    plain: Bytes,
    gzip: Bytes,
}

impl Exposition {
    /// Re-rendering 5,000 series takes milliseconds under the store lock;
    /// a hundred scrapers at once must not each pay that. A rendering is
    /// reused for 25 ms, and for up to a second while nothing was booked
    /// (gauges that move with time, like burn rates, are then at most a
    /// second old — Prometheus scrapes every 15 s or so).
    fn fresh(&self, records: u64) -> bool {
        let age = self.at.elapsed();
        age < std::time::Duration::from_millis(25) || (records == self.records && age < std::time::Duration::from_secs(1))
    }
}

fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 8), flate2::Compression::fast());
    match encoder.write_all(body).and_then(|()| encoder.finish()) {
        Ok(compressed) => compressed.into(),
        Err(_) => Bytes::new(),
    }
}

/// Serves the cached rendering; when it is stale, one request renders anew
/// while the others keep getting the previous one (no queue behind it).
fn metrics(app: &App, accepts_gzip: bool) -> Resp {
    let records = lock(&app.store).state.records;
    let current = app.exposition.load_full();
    let cached = match current {
        Some(c) if c.fresh(records) => c,
        stale => {
            let first = app.rendering.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok();
            match stale {
                Some(old) if !first => old,
                _ => {
                    let plain: Bytes = render_metrics(app).into();
                    let new = std::sync::Arc::new(Exposition { at: std::time::Instant::now(), records, gzip: gzip(&plain), plain });
                    app.exposition.store(Some(new.clone()));
                    if first {
                        app.rendering.store(false, Ordering::Release);
                    }
                    new
                }
            }
        }
    };
    if accepts_gzip && !cached.gzip.is_empty() {
        let mut resp = with_type(StatusCode::OK, cached.gzip.clone(), prometheus::TEXT_FORMAT);
        resp.headers_mut().insert(hyper::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return resp;
    }
    with_type(StatusCode::OK, cached.plain.clone(), prometheus::TEXT_FORMAT)
}

fn render_metrics(app: &App) -> Vec<u8> {
    let config = app.config.load();
    let sources: Vec<(String, crate::sources::follow::tail::SourceStats)> = {
        let stats = app.progress.sources.lock().unwrap_or_else(|e| e.into_inner()).clone();
        config.sources.iter().enumerate().map(|(i, s)| (s.name.clone(), stats.get(i).copied().unwrap_or_default())).collect()
    };
    let now = chrono::Utc::now();
    let (burn, firing) = {
        let mut live = crate::live::lock_live(&app.live);
        (live.burn.rates(now), live.firing.clone())
    };
    let providers = app.providers.snapshot();
    let body = {
        let store = lock(&app.store);
        let role = store.role().clone();
        app.metrics.refresh(
            &store.state,
            now,
            &Live { sources: &sources, config: &config, burn: &burn, firing: &firing, providers: &providers, role: &role },
        );
        app.metrics.render()
    };
    body
}

/// Ready = takes writes: with replicas on PostgreSQL only the writer is
/// ready, so a load balancer or a Kubernetes Service sends OTLP exports and
/// admin calls there; the body says who writes.
fn readyz(app: &App) -> Resp {
    let role = lock(&app.store).role().clone();
    if app.shutting_down.load(Ordering::Relaxed) {
        text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else if role.is_shared() {
        let writer = role.writer_name();
        match (role.is_writer(), role.backend_up()) {
            (true, true) => text_owned(StatusCode::OK, format!("ready: writer (epoch {})\n", role.epoch())),
            (true, false) => text(StatusCode::SERVICE_UNAVAILABLE, "not ready: writer, but the database does not take commits\n"),
            (false, _) => text_owned(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: replica, following the writer {writer}\n")),
        }
    } else if app.progress.ready.load(Ordering::Relaxed) {
        text(StatusCode::OK, "ready\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready: first scan of the sources still running\n")
    }
}

pub fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn text_owned(status: StatusCode, body: String) -> Resp {
    with_type(status, Bytes::from(body), "text/plain; charset=utf-8")
}

pub fn text(status: StatusCode, body: &'static str) -> Resp {
    with_type(status, Bytes::from_static(body.as_bytes()), "text/plain; charset=utf-8")
}

pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Resp {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    with_type(status, body.into(), "application/json")
}

/// A JSON error: `{"error": "..."}`.
pub fn error(status: StatusCode, message: &str) -> Resp {
    json_response(status, &json!({ "error": message }))
}
