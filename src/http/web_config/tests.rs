use std::path::Path;

use base64::Engine;

use super::*;

fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(text, Path::new("/etc/creditwatch/web.yml"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

/// A self-signed certificate and its key, written to `dir`.
fn write_cert(dir: &Path) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

fn parse_in(dir: &Path, text: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(text, &dir.join("web.yml"))
}

#[test]
fn an_empty_file_is_plain_http_without_auth() {
    for text in ["", "# nothing yet\n", "{}"] {
        let config = parse(text).unwrap();
        assert!(config.tls_acceptor().is_none());
        assert!(!config.requires_auth());
        assert!(config.http2());
        assert!(config.check(None));
    }
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    assert_eq!(
        err("basic_auth_users: {}\ntls_server_config:\n  cert_file: a\n  key_flie: b\n"),
        "/etc/creditwatch/web.yml:4: tls_server_config.key_flie: unknown field `key_flie`, expected one of \
         `cert_file`, `key_file`, `cert`, `key`, `client_auth_type`, `client_ca_file`, `min_version`, `max_version`, \
         `cipher_suites`, `prefer_server_cipher_suites`, `curve_preferences`, `client_allowed_sans`"
    );
    let top = err("\n\nbasic_auth_user: {}\n");
    assert!(top.starts_with("/etc/creditwatch/web.yml:3: basic_auth_user: unknown field `basic_auth_user`"), "{top}");
}

#[test]
fn a_hash_that_is_not_bcrypt_is_refused_without_echoing_it() {
    let message = err("basic_auth_users:\n  alice: hunter2\n");
    assert_eq!(
        message,
        "/etc/creditwatch/web.yml:2: basic_auth_users.alice: not a bcrypt hash (want $2y$, $2a$ or $2b$ followed by cost and 53 characters)"
    );
}

#[test]
fn only_security_headers_can_be_set() {
    let config = parse("http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n").unwrap();
    assert!(!config.http2());
    assert_eq!(config.headers().len(), 1);
    assert_eq!(config.headers()[0].0.as_str(), "x-frame-options");
    assert_eq!(config.headers()[0].1, "deny");
    let message = err("http_server_config:\n  headers:\n    Server: nginx\n");
    assert!(
        message.starts_with("/etc/creditwatch/web.yml:3: http_server_config.headers.Server: header `Server` cannot be configured"),
        "{message}"
    );
}

#[test]
fn tls_needs_both_cert_and_key() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path());
    let message = parse_in(dir.path(), "tls_server_config:\n  cert_file: server.crt\n").unwrap_err();
    assert_eq!(message.field, "tls_server_config.key_file");
    assert_eq!(message.message, "cert_file is set but key_file is missing");
    // An empty tls_server_config is plain HTTP, as in exporter-toolkit.
    assert!(parse_in(dir.path(), "tls_server_config: {}\n").unwrap().tls_acceptor().is_none());
}

#[test]
fn certificate_paths_are_relative_to_the_web_config() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path());
    let config = parse_in(dir.path(), "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n").unwrap();
    assert!(config.tls_acceptor().is_some());
    assert_eq!(config.files(), [dir.path().join("web.yml"), dir.path().join("server.crt"), dir.path().join("server.key")]);
    let missing = parse_in(dir.path(), "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n").unwrap_err();
    assert_eq!(missing.line, Some(2));
    assert_eq!(missing.field, "tls_server_config.cert_file");
    assert!(missing.message.starts_with(&format!("cannot read {}: ", dir.path().join("nope.crt").display())), "{}", missing.message);
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path());
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("other.key"), other.serialize_pem()).unwrap();
    let e = parse_in(dir.path(), "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n").unwrap_err();
    assert_eq!(e.field, "tls_server_config.key_file");
    assert!(e.message.starts_with("certificate and key cannot be used together"), "{}", e.message);
}

#[test]
fn tls_settings_rustls_cannot_honour_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_cert(dir.path());
    let with = |extra: &str| parse_in(dir.path(), &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"));
    let cases = [
        (
            "  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
            "tls_server_config.cipher_suites",
            "`TLS_RSA_WITH_AES_128_CBC_SHA` is not supported by rustls",
        ),
        ("  curve_preferences: [CurveP521]\n", "tls_server_config.curve_preferences", "`CurveP521` is not supported by rustls"),
        ("  max_version: TLS11\n", "tls_server_config.max_version", "rustls speaks TLS 1.2 and 1.3 only"),
        ("  min_version: SSL3\n", "tls_server_config.min_version", "`SSL3` is not one of TLS10, TLS11, TLS12, TLS13"),
        ("  min_version: TLS13\n  max_version: TLS12\n", "tls_server_config.min_version", "min_version is above max_version"),
        ("  client_auth_type: Sometimes\n", "tls_server_config.client_auth_type", "`Sometimes` is not one of NoClientCert,"),
        (
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "tls_server_config.client_ca_file",
            "client_auth_type RequireAndVerifyClientCert needs client_ca_file",
        ),
        (
            "  client_ca_file: server.crt\n",
            "tls_server_config.client_ca_file",
            "client_ca_file is set but client_auth_type is NoClientCert",
        ),
        ("  client_allowed_sans: [a]\n", "tls_server_config.client_allowed_sans", "not supported by creditwatch"),
    ];
    for (extra, field, start) in cases {
        let e = with(extra).unwrap_err();
        assert_eq!(e.field, field, "{extra}");
        assert!(e.message.starts_with(start), "{extra}: {}", e.message);
        // The field's line; an absent field points at its section.
        let line = if field.ends_with("client_ca_file") && !extra.contains("client_ca_file") { 1 } else { 4 };
        assert_eq!(e.line, Some(line), "{extra}");
    }
    let fine = "  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]\n  \
                curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: true\n  \
                client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.crt\n";
    assert!(with(fine).unwrap().tls_acceptor().is_some());
}

/// The example in README.md loads as written, with certificates of
/// those names beside it, and its hash is for the password the text names.
#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../../README.md");
    let start = doc.find("# /etc/creditwatch/web-config.yml\n").unwrap();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.path().join("creditwatch.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("creditwatch.key"), key.serialize_pem()).unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("prometheus-ca.crt"), ca.self_signed(&ca_key).unwrap().pem()).unwrap();

    let config = parse_in(dir.path(), example).unwrap();
    assert!(config.tls_acceptor().is_some());
    assert_eq!(config.headers().len(), 1);
    let password = "change-me";
    assert!(doc.contains(&format!("the hash above is for the password `{password}`")));
    let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{password}")));
    assert!(config.check(Some(&header)));
}

/// Regression (found by the `web_config` fuzz target): a bad key with
/// brackets and invalid UTF-8 made the field locator panic. The input as the
/// fuzzer found it.
#[test]
fn fuzz_crash_in_the_field_locator_is_an_error() {
    const CRASH: &[u8] = b"jasic_auth_users   \xd5\xd5\xd5\xd5\xd5\xd5\xd5\xd5\xd5\xff\xff\xfe\xfd{{{{{{{{[{{]]2eQSuOj4ZOkZOkGajfHYP2Fdd5Xqice: $]\xff\xff\xff\xff\xff\xff\xff\xff]]]]]]]]]]]]]]]]]]{{{{{\x80{{{\xff\xffdd5XqW2HqHkNh'\n";
    let err = WebConfig::parse(&String::from_utf8_lossy(CRASH), Path::new("fuzz-web.yml")).unwrap_err();
    assert_eq!(err.file, "fuzz-web.yml");
}
