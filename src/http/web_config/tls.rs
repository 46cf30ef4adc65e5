//! Builds the rustls server configuration from `tls_server_config`.
//!
//! Names follow Go's `crypto/tls` as exporter-toolkit writes them; each is
//! mapped to what rustls (ring provider) offers, and anything rustls cannot
//! do is an error naming the setting, never silently weakened or dropped.
//! Invariant: the provider is always passed explicitly, so the result does not
//! depend on which default provider the process installed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{CipherSuite, DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, SignatureScheme};

use super::file::TlsServerConfig;

/// A setting that cannot be used: the field under `tls_server_config` and why.
pub type Problem = (String, String);

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (format!("tls_server_config.{field}"), message.into())
}

/// The built configuration and every file it was read from (watched for
/// changes, so a renewed certificate is picked up).
pub struct BuiltTls {
    pub config: Arc<ServerConfig>,
    pub files: Vec<PathBuf>,
}

/// `Ok(None)` when neither certificate nor key is given: plain HTTP, as
/// exporter-toolkit serves with an empty `tls_server_config`.
pub fn build(tls: &TlsServerConfig, base: &Path, http2: bool) -> Result<Option<BuiltTls>, Problem> {
    let mut files = Vec::new();
    let cert = pem_source(tls.cert_file.as_deref(), tls.cert.as_deref(), ("cert_file", "cert"), base, &mut files)?;
    let key = pem_source(tls.key_file.as_deref(), tls.key.as_deref(), ("key_file", "key"), base, &mut files)?;
    let (cert, key) = match (cert, key) {
        (None, None) if tls.client_ca_file.is_some() || tls.client_auth_type.is_some() => {
            return Err(problem("cert_file", "client certificates need TLS: set cert_file and key_file"))
        }
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(problem("key_file", "cert_file is set but key_file is missing")),
        (None, Some(_)) => return Err(problem("cert_file", "key_file is set but cert_file is missing")),
        (Some(c), Some(k)) => (c, k),
    };
    if tls.client_allowed_sans.is_some() {
        return Err(problem("client_allowed_sans", "not supported by creditwatch; use a dedicated client CA instead"));
    }
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem("cert_file", format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(problem("cert_file", "no CERTIFICATE block found"));
    }
    // The key's own error text is safe to show: it names the PEM problem, not the key.
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| problem("key_file", format!("not a PEM private key: {e}")))?;

    let provider = Arc::new(provider(tls)?);
    let verifier = client_verifier(tls, base, &provider, &mut files)?;
    let versions = versions(tls)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| problem("cipher_suites", format!("no cipher suite left for the allowed TLS versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| problem("key_file", format!("certificate and key cannot be used together: {e}")))?;
    if let Some(prefer) = tls.prefer_server_cipher_suites {
        config.ignore_client_order = prefer;
    }
    config.alpn_protocols = if http2 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"http/1.1".to_vec()] };
    Ok(Some(BuiltTls { config: Arc::new(config), files }))
}

/// PEM bytes from a file or inline text; giving both is ambiguous.
fn pem_source(
    file: Option<&str>,
    inline: Option<&str>,
    (file_key, inline_key): (&str, &str),
    base: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Vec<u8>>, Problem> {
    match (file.filter(|f| !f.is_empty()), inline.filter(|i| !i.is_empty())) {
        (Some(_), Some(_)) => Err(problem(file_key, format!("give {file_key} or {inline_key}, not both"))),
        (Some(f), None) => read(file_key, base, f, files).map(Some),
        (None, Some(text)) => Ok(Some(text.as_bytes().to_vec())),
        (None, None) => Ok(None),
    }
}

/// Relative paths are relative to the web config's folder, as in
/// exporter-toolkit.
pub fn resolve(base: &Path, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn read(field: &str, base: &Path, file: &str, files: &mut Vec<PathBuf>) -> Result<Vec<u8>, Problem> {
    let path = resolve(base, file);
    let bytes = std::fs::read(&path).map_err(|e| problem(field, format!("cannot read {}: {e}", path.display())))?;
    files.push(path);
    Ok(bytes)
}

/// Go's names for the TLS 1.2 and 1.3 suites rustls implements.
const SUITES: &[(&str, CipherSuite)] = &[
    ("TLS_AES_128_GCM_SHA256", CipherSuite::TLS13_AES_128_GCM_SHA256),
    ("TLS_AES_256_GCM_SHA384", CipherSuite::TLS13_AES_256_GCM_SHA384),
    ("TLS_CHACHA20_POLY1305_SHA256", CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
];

const CURVES: &[(&str, NamedGroup)] =
    &[("X25519", NamedGroup::X25519), ("CurveP256", NamedGroup::secp256r1), ("CurveP384", NamedGroup::secp384r1)];

/// ring's provider narrowed to the listed suites and curves, in the listed
/// order. Go applies `cipher_suites` to TLS 1.2 only; here a version none of
/// whose suites is listed keeps all of its suites, so listing TLS 1.2 suites
/// alone behaves as in Go, and listing TLS 1.3 ones narrows 1.3 as well.
fn provider(tls: &TlsServerConfig) -> Result<CryptoProvider, Problem> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &tls.cipher_suites {
        let mut wanted = Vec::new();
        for name in names {
            let Some((_, id)) = SUITES.iter().find(|(n, _)| n == name) else {
                let known: Vec<&str> = SUITES.iter().map(|(n, _)| *n).collect();
                return Err(problem("cipher_suites", format!("`{name}` is not supported by rustls (supported: {})", known.join(", "))));
            };
            let listed_before = wanted.iter().any(|s: &rustls::SupportedCipherSuite| s.suite() == *id);
            if let Some(suite) = provider.cipher_suites.iter().find(|s| s.suite() == *id).filter(|_| !listed_before) {
                wanted.push(*suite);
            }
        }
        let listed_13 = wanted.iter().any(|s| s.tls13().is_some());
        let listed_12 = wanted.iter().any(|s| s.tls13().is_none());
        let keep = provider.cipher_suites.iter().filter(|s| if s.tls13().is_some() { !listed_13 } else { !listed_12 });
        let mut suites = wanted;
        suites.extend(keep.copied());
        provider.cipher_suites = suites;
    }
    if let Some(names) = &tls.curve_preferences {
        let mut groups = Vec::new();
        for name in names {
            let Some((_, id)) = CURVES.iter().find(|(n, _)| n == name) else {
                let known: Vec<&str> = CURVES.iter().map(|(n, _)| *n).collect();
                return Err(problem("curve_preferences", format!("`{name}` is not supported by rustls (supported: {})", known.join(", "))));
            };
            groups.extend(provider.kx_groups.iter().filter(|g| g.name() == *id).copied());
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn versions(tls: &TlsServerConfig) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Problem> {
    let parse = |field: &str, text: Option<&str>, default: u8| -> Result<u8, Problem> {
        match text.unwrap_or("") {
            "" => Ok(default),
            "TLS10" => Ok(10),
            "TLS11" => Ok(11),
            "TLS12" => Ok(12),
            "TLS13" => Ok(13),
            other => Err(problem(field, format!("`{other}` is not one of TLS10, TLS11, TLS12, TLS13"))),
        }
    };
    let min = parse("min_version", tls.min_version.as_deref(), 12)?;
    let max = parse("max_version", tls.max_version.as_deref(), 13)?;
    if max < 12 {
        return Err(problem("max_version", "rustls speaks TLS 1.2 and 1.3 only; max_version must be TLS12 or TLS13"));
    }
    if min > max {
        return Err(problem("min_version", "min_version is above max_version"));
    }
    if min < 12 {
        // A floor below 1.2 cannot be offered; 1.2 is the stricter reading.
        tracing::warn!(min_version = min, "TLS 1.0 and 1.1 are not supported; the minimum is TLS 1.2");
    }
    let mut out = Vec::new();
    if max >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if min <= 12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

const AUTH_TYPES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert";

fn client_verifier(
    tls: &TlsServerConfig,
    base: &Path,
    provider: &Arc<CryptoProvider>,
    files: &mut Vec<PathBuf>,
) -> Result<Arc<dyn ClientCertVerifier>, Problem> {
    let roots = match tls.client_ca_file.as_deref().filter(|f| !f.is_empty()) {
        Some(file) => Some(client_roots(base, file, files)?),
        None => None,
    };
    let kind = tls.client_auth_type.as_deref().filter(|k| !k.is_empty()).unwrap_or("NoClientCert");
    let verify = |roots: Arc<RootCertStore>, optional: bool| {
        let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        let builder = if optional { builder.allow_unauthenticated() } else { builder };
        builder.build().map_err(|e| problem("client_ca_file", format!("cannot verify clients with it: {e}")))
    };
    let any = |mandatory: bool| -> Arc<dyn ClientCertVerifier> {
        Arc::new(AnyClientCert { mandatory, algorithms: provider.signature_verification_algorithms })
    };
    match (kind, roots) {
        ("NoClientCert", None) => Ok(WebPkiClientVerifier::no_client_auth()),
        ("NoClientCert", Some(_)) => Err(problem(
            "client_ca_file",
            "client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert",
        )),
        ("RequestClientCert", _) => Ok(any(false)),
        ("RequireAnyClientCert", _) => Ok(any(true)),
        ("VerifyClientCertIfGiven", Some(roots)) => verify(roots, true),
        ("RequireAndVerifyClientCert", Some(roots)) => verify(roots, false),
        ("VerifyClientCertIfGiven" | "RequireAndVerifyClientCert", None) => {
            Err(problem("client_ca_file", format!("client_auth_type {kind} needs client_ca_file")))
        }
        (other, _) => Err(problem("client_auth_type", format!("`{other}` is not one of {AUTH_TYPES}"))),
    }
}

fn client_roots(base: &Path, file: &str, files: &mut Vec<PathBuf>) -> Result<Arc<RootCertStore>, Problem> {
    let pem = read("client_ca_file", base, file, files)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| problem("client_ca_file", format!("not a PEM certificate: {e}")))?;
        roots.add(cert).map_err(|e| problem("client_ca_file", format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(problem("client_ca_file", "no CERTIFICATE block found"));
    }
    Ok(Arc::new(roots))
}

/// Go's RequestClientCert / RequireAnyClientCert: a client certificate is
/// asked for (or required) but not checked against any CA. The handshake
/// signature is still verified, so the client holds the certificate's key.
/// exporter-toolkit calls these modes insecure; they exist for compatibility.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suites(names: &[&str]) -> Vec<CipherSuite> {
        let tls = TlsServerConfig { cipher_suites: Some(names.iter().map(|n| n.to_string()).collect()), ..Default::default() };
        provider(&tls).unwrap().cipher_suites.iter().map(|s| s.suite()).collect()
    }

    #[test]
    fn listed_tls12_suites_replace_the_tls12_defaults_in_order_and_keep_tls13() {
        assert_eq!(
            suites(&[
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]),
            [
                CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                CipherSuite::TLS13_AES_256_GCM_SHA384,
                CipherSuite::TLS13_AES_128_GCM_SHA256,
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            ]
        );
    }

    #[test]
    fn listed_tls13_suites_narrow_tls13_and_keep_tls12() {
        let got = suites(&["TLS_AES_128_GCM_SHA256"]);
        assert_eq!(got[0], CipherSuite::TLS13_AES_128_GCM_SHA256);
        assert!(!got.contains(&CipherSuite::TLS13_AES_256_GCM_SHA384));
        assert_eq!(got.len(), 7, "1 TLS 1.3 suite + ring's 6 TLS 1.2 suites: {got:?}");
    }
}
