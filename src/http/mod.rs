//! The HTTP server: hyper 1.x, one task per connection, a bounded graceful
//! drain on shutdown.
//!
//! Slow clients are cut off by a header-read timeout; request bodies are
//! bounded (`routes::MAX_BODY`). Routes live in `routes`, the ledger API in
//! `api`, the page (`GET /`) in `page` over the `summary` that
//! `GET /api/v1/summary` returns.

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

mod api;
pub mod otlp;
mod page;
pub mod provider_reports;
mod routes;
pub mod summary;
pub mod web_config;

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::http::web_config::WebConfig;
use crate::live::Progress;
use crate::metrics::Metrics;
use crate::state::store::Store;

/// What every request handler can reach.
pub struct App {
    /// Swapped on SIGHUP.
    pub config: Arc<arc_swap::ArcSwap<Config>>,
    pub live: crate::live::Shared,
    pub store: Arc<Mutex<Store>>,
    pub progress: Arc<Progress>,
    pub metrics: Metrics,
    /// The admin bearer token; the POST routes are off without one.
    pub admin_token: Option<String>,
    /// TLS and basic auth (exporter-toolkit web-config.yml); re-read on change.
    pub web: crate::http::web_config::WebConfigHandle,
    pub shutting_down: AtomicBool,
    /// The last rendered `/metrics`, shared by scrapes close together.
    pub exposition: arc_swap::ArcSwapOption<routes::Exposition>,
    /// One scrape at a time renders a new exposition.
    pub rendering: AtomicBool,
    /// The OTLP receiver, when an `otlp` source exists (`POST /v1/logs`).
    pub otlp: Option<Arc<otlp::Receiver>>,
    /// What the providers' pollers know now (`daemon::providers`).
    pub providers: Arc<crate::providers::status::Board>,
}

/// Binds the listen address (so errors show before anything else starts).
pub async fn bind(addr: &str) -> Result<TcpListener> {
    let addr: SocketAddr = addr.parse().with_context(|| format!("listen address `{addr}`"))?;
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))
}

/// Serves until `shutdown` turns true, then drains open connections for at
/// most `drain`. TLS and HTTP/2 follow the web config current when a
/// connection opens; a slow TLS handshake is cut off.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: watch::Receiver<bool>, drain: Duration) {
    let serving = app.clone();
    let connection = move |web: &WebConfig| {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
        if !web.http2() {
            builder = builder.http1_only();
        }
        let app = serving.clone();
        let service = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(routes::handle(&app, req).await) }
        });
        (builder, service)
    };
    accept_loop(listener, &app, shutdown, drain, "HTTP", false, connection).await;
}

/// The loop both listeners run (HTTP here, OTLP/gRPC in `otlp::grpc`,
/// which is `writer_only`: a replica that does not write closes its
/// connections at once):
/// accepts until `shutdown` turns true; each connection gets the builder and
/// service `connection` makes for the web config current when it opens, and
/// TLS when that config has a certificate (a handshake slower than 10 s is
/// cut off). Then open connections drain for at most `drain`.
pub(crate) async fn accept_loop<S, B>(
    listener: TcpListener,
    app: &App,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    what: &'static str,
    writer_only: bool,
    connection: impl Fn(&WebConfig) -> (auto::Builder<TokioExecutor>, S),
) where
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // A writer that steps down to replica lets go of the connections it
    // holds (HTTP/2 and gRPC get GOAWAY, HTTP/1.1 ones close after their
    // request): exporters reconnect, and a balancer of connections (a
    // Kubernetes Service) sends them to the new writer instead of leaving
    // them on this replica, 503 after 503.
    let current = crate::common::lock(&app.store).role().clone();
    let mut role = current.subscribe();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("{what} accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
            Ok(()) = role.changed() => {
                if *role.borrow_and_update() == 0 {
                    tracing::info!("{what}: no longer the writer; closing the open connections so that clients reconnect");
                    let open = std::mem::replace(&mut graceful, hyper_util::server::graceful::GracefulShutdown::new());
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(drain, open.shutdown()).await;
                    });
                }
                continue;
            }
        };
        if writer_only && current.is_shared() && !current.is_writer() {
            // A listener that only takes writes (OTLP/gRPC) closes what a
            // replica that does not write accepts: the exporter gets
            // UNAVAILABLE and connects again, which a balancer of
            // connections sends to the writer, instead of holding an HTTP/2
            // connection here where every export is refused.
            tracing::debug!(%peer, "{what}: connection closed, this replica does not take writes");
            drop(stream);
            continue;
        }
        let web = app.web.current();
        let (builder, service) = connection(&web);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let result = match web.tls_acceptor() {
                Some(acceptor) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => watcher.watch(builder.serve_connection(TokioIo::new(tls), service).into_owned()).await,
                    Ok(Err(e)) => return tracing::debug!(%peer, "{what} TLS handshake failed: {e}"),
                    Err(_) => return tracing::debug!(%peer, "{what} TLS handshake timed out"),
                },
                None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned()).await,
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "{what} connection ended: {e}");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(drain) => tracing::warn!("{what} connections still open after {drain:?}; closing them"),
    }
}
