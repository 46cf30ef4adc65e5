//! The exporter-toolkit `web-config.yml`: TLS (rustls), client certificates,
//! basic auth and extra response headers for the HTTP server.
//!
//! Operators already write this file for node_exporter and friends, so it is
//! read key for key in that format (`file`), turned into a rustls acceptor
//! (`tls`) and a password check (`basic_auth`), and kept current by
//! `WebConfigHandle` (`handle`), which re-reads it when it or a file it names
//! changes and on SIGHUP. Invariants: a `WebConfig` is only ever built whole
//! and valid — a bad file is an error naming file, line and field, and the
//! handle keeps serving the previous one; no error text carries a secret (a
//! hash, a key, a password).

mod basic_auth;
mod file;
mod handle;
mod tls;

use std::path::{Path, PathBuf};

use hyper::header::{HeaderName, HeaderValue};
use tokio_rustls::TlsAcceptor;

use crate::common::locate;
pub use basic_auth::BasicAuth;
pub use handle::WebConfigHandle;

/// Installs ring as the process's rustls crypto provider. rustls 0.23 panics
/// on first use when more than one provider is compiled in and none is
/// installed; call this first thing in `main`. Calling it again, or after
/// another provider was installed, does nothing.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An invalid web config, displayed as `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {field}{}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if field.is_empty() { "" } else { ": " })]
pub struct WebConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

/// One valid web configuration, ready to serve with.
pub struct WebConfig {
    tls: Option<TlsAcceptor>,
    basic_auth: BasicAuth,
    headers: Vec<(HeaderName, HeaderValue)>,
    http2: bool,
    /// The web config file and every file it names, in that order.
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the users' hashes.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth.is_enabled())
            .field("headers", &self.headers)
            .field("http2", &self.http2)
            .field("files", &self.files)
            .finish()
    }
}

impl WebConfig {
    /// No web config file: plain HTTP, no authentication.
    pub fn disabled() -> WebConfig {
        WebConfig { tls: None, basic_auth: BasicAuth::default(), headers: Vec::new(), http2: true, files: Vec::new() }
    }

    /// Reads and builds a web config file (and the certificates it names).
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| WebConfigError {
            file: path.display().to_string(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        WebConfig::parse(&text, path)
    }

    /// Builds from text; `path` names it in errors and anchors relative
    /// certificate paths.
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        install_crypto_provider();
        let invalid = |field: String, message: String| WebConfigError {
            file: path.display().to_string(),
            line: locate::line_of(text, &field),
            field,
            message,
        };
        let raw = read_file(text, path)?;
        let http = raw.http_server_config.unwrap_or_default();
        let http2 = http.http2.unwrap_or(true);
        let mut headers = Vec::new();
        for (name, value) in http.headers.unwrap_or_default() {
            let field = format!("http_server_config.headers.{name}");
            file::check_header(&name, &value).map_err(|m| invalid(field.clone(), m))?;
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(field.clone(), e.to_string()))?;
            let value = HeaderValue::from_str(&value).map_err(|e| invalid(field.clone(), format!("not a valid header value: {e}")))?;
            headers.push((name, value));
        }
        let basic_auth =
            BasicAuth::new(raw.basic_auth_users.unwrap_or_default()).map_err(|(user, m)| invalid(format!("basic_auth_users.{user}"), m))?;
        let mut files = vec![path.to_path_buf()];
        let base = path.parent().unwrap_or(Path::new(""));
        let tls = match raw.tls_server_config {
            Some(tls) => tls::build(&tls, base, http2).map_err(|(field, m)| invalid(field, m))?,
            None => None,
        };
        let tls = tls.map(|built| {
            files.extend(built.files);
            TlsAcceptor::from(built.config)
        });
        Ok(WebConfig { tls, basic_auth, headers, http2, files })
    }

    /// The acceptor for each new connection; `None`: plain HTTP.
    pub fn tls_acceptor(&self) -> Option<&TlsAcceptor> {
        self.tls.as_ref()
    }

    /// Whether requests to protected routes need basic auth.
    pub fn requires_auth(&self) -> bool {
        self.basic_auth.is_enabled()
    }

    /// Whether the `Authorization` header lets a request to a protected
    /// route in (always true without `basic_auth_users`). On a cache miss
    /// this runs bcrypt: call it in `spawn_blocking`.
    pub fn check(&self, authorization_header: Option<&str>) -> bool {
        self.basic_auth.check(authorization_header)
    }

    /// Extra response headers (`http_server_config.headers`) for every
    /// response.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Whether HTTP/2 is offered (`http_server_config.http2`, default true).
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// Files the configuration was built from; a change to any of them
    /// triggers a reload.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// Deserializes the file; an empty file (or one of comments only) is an
/// empty configuration, as in exporter-toolkit.
fn read_file(text: &str, path: &Path) -> Result<file::WebConfigFile, WebConfigError> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let raw: Option<file::WebConfigFile> = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let line = locate::exact_line_of(text, &field).or_else(|| inner.location().map(|l| l.line()));
        let message = crate::common::strip_location(&inner.to_string(), &field);
        WebConfigError { file: path.display().to_string(), line, field: if field == "." { String::new() } else { field }, message }
    })?;
    Ok(raw.unwrap_or_default())
}

#[cfg(test)]
mod tests;
