//! The web-config.yml file as written, key for key, before anything is
//! built from it. Field names are exporter-toolkit's, so an operator's
//! existing file reads unchanged; unknown keys are refused (a typo in a
//! security setting must not silently switch it off).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
    /// User name -> bcrypt hash.
    #[serde(default)]
    pub basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    /// Inline PEM instead of `cert_file` (exporter-toolkit accepts both).
    #[serde(default)]
    pub cert: Option<String>,
    /// Inline PEM instead of `key_file`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<String>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub cipher_suites: Option<Vec<String>>,
    /// rustls always picks by the server's order unless told otherwise;
    /// `false` lets the client's order win.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub curve_preferences: Option<Vec<String>>,
    /// Read so it can be refused by name rather than as an unknown key.
    #[serde(default)]
    pub client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub http2: Option<bool>,
}

/// Response headers an operator may set, with the values allowed where
/// exporter-toolkit restricts them (empty: any value).
const SETTABLE_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// Checks one `http_server_config.headers` entry; the error says what is
/// allowed instead.
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    let Some((_, allowed)) = SETTABLE_HEADERS.iter().find(|(h, _)| h.eq_ignore_ascii_case(name)) else {
        let names: Vec<&str> = SETTABLE_HEADERS.iter().map(|(h, _)| *h).collect();
        return Err(format!("header `{name}` cannot be configured (allowed: {})", names.join(", ")));
    };
    if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        return Err(format!("`{value}` is not allowed for {name} (allowed: {})", allowed.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_limited_to_the_security_headers() {
        assert_eq!(check_header("X-Frame-Options", "deny"), Ok(()));
        assert_eq!(check_header("strict-transport-security", "max-age=31536000"), Ok(()));
        assert_eq!(
            check_header("X-Frame-Options", "allow-from x"),
            Err("`allow-from x` is not allowed for X-Frame-Options (allowed: deny, sameorigin)".into())
        );
        let err = check_header("Set-Cookie", "a=b").unwrap_err();
        assert!(err.starts_with("header `Set-Cookie` cannot be configured (allowed: Strict-Transport-Security,"), "{err}");
    }
}
