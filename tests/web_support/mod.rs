//! Test-only PKI, server and client for `tests/web_config.rs`.

#![allow(dead_code)] // each test file uses a part of this support module

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use creditwatch::http::web_config::WebConfigHandle;
use http_body_util::{BodyExt, Empty, Full};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

/// A CA with a server and a client certificate, and a second, foreign CA
/// with its own client certificate, in a temporary folder.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    pub ca_pem: String,
    pub server_der: Vec<u8>,
    pub client_pem: String,
    pub client_key_pem: String,
    pub rogue_ca_pem: String,
    pub rogue_client_pem: String,
    pub rogue_client_key_pem: String,
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// (certificate PEM, key PEM, certificate DER).
fn leaf(ca: &CertifiedIssuer<'static, KeyPair>, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String, Vec<u8>) {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().to_vec())
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = new_ca("creditwatch test CA");
        let rogue = new_ca("someone else's CA");
        std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
        let (client_pem, client_key_pem, _) = leaf(&ca, &["prometheus"], ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue_client_pem, rogue_client_key_pem, _) = leaf(&rogue, &["prometheus"], ExtendedKeyUsagePurpose::ClientAuth);
        let mut pki = Pki {
            dir,
            ca_pem: ca.pem(),
            ca,
            server_der: Vec::new(),
            client_pem,
            client_key_pem,
            rogue_ca_pem: rogue.pem(),
            rogue_client_pem,
            rogue_client_key_pem,
        };
        pki.server_der = pki.issue_server_cert();
        pki
    }

    /// Writes a fresh server certificate and key (as a renewal would) and
    /// returns the certificate's DER.
    pub fn issue_server_cert(&self) -> Vec<u8> {
        let (cert, key, der) = leaf(&self.ca, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
        std::fs::write(self.dir.path().join("server.key"), key).unwrap();
        std::fs::write(self.dir.path().join("server.crt"), cert).unwrap();
        der
    }
}

/// Writes `web.yml` beside the certificates.
pub fn write(pki: &Pki, text: &str) -> PathBuf {
    let path = pki.dir.path().join("web.yml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Serves on a loopback port until the test ends: per connection the
/// current TLS acceptor, per request the basic auth check and headers.
pub async fn serve(handle: WebConfigHandle) -> SocketAddr {
    creditwatch::common::install_crypto_provider();
    let handle = Arc::new(handle);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(connection(handle.clone(), tcp));
        }
    });
    addr
}

async fn connection(handle: Arc<WebConfigHandle>, tcp: TcpStream) {
    let config = handle.current();
    let service = hyper::service::service_fn(move |request| respond(handle.clone(), request));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if !config.http2() {
        builder = builder.http1_only();
    }
    // Connection errors (a refused handshake, a client gone) end only that connection.
    match config.tls_acceptor() {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let _ = builder.serve_connection(TokioIo::new(tls), service).await;
            }
        }
        None => {
            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
        }
    }
}

async fn respond(handle: Arc<WebConfigHandle>, request: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let config = handle.current();
    let authorization = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let checker = config.clone();
    let allowed = tokio::task::spawn_blocking(move || checker.check(authorization.as_deref())).await.unwrap_or(false);
    let mut response = if allowed {
        Response::new(Full::new(Bytes::from_static(b"ok")))
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"Unauthorized\n")));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        r
    };
    for (name, value) in config.headers() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    Ok(response)
}

/// A TLS client trusting `ca_pem`, offering h2 and http/1.1, with an
/// optional client certificate (certificate PEM, key PEM).
pub fn client(ca_pem: &str, identity: Option<(&str, &str)>) -> TlsConnector {
    client_with(ca_pem, identity, rustls::crypto::ring::default_provider(), rustls::DEFAULT_VERSIONS)
}

/// A TLS 1.2-only client offering just `suite`.
pub fn tls12_client(ca_pem: &str, suite: rustls::CipherSuite) -> TlsConnector {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|s| s.suite() == suite);
    client_with(ca_pem, None, provider, &[&rustls::version::TLS12])
}

fn client_with(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
    provider: rustls::crypto::CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub alpn: Option<Vec<u8>>,
    pub server_cert: Vec<u8>,
    pub suite: Option<rustls::CipherSuite>,
}

/// `GET /metrics` over a new connection, in HTTP/2 when TLS negotiated it,
/// else HTTP/1.1. Any failure, TLS included, is returned as text.
pub async fn get(addr: SocketAddr, tls: Option<TlsConnector>, authorization: Option<&str>) -> Result<Reply, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let Some(connector) = tls else {
        return request(tcp, authorization, None, Vec::new()).await;
    };
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let stream = connector.connect(name, tcp).await.map_err(|e| format!("handshake: {e}"))?;
    let (_, session) = stream.get_ref();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let server_cert = session.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
    let suite = session.negotiated_cipher_suite().map(|s| s.suite());
    let mut reply = request(stream, authorization, alpn, server_cert).await?;
    reply.suite = suite;
    Ok(reply)
}

async fn request<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: S,
    authorization: Option<&str>,
    alpn: Option<Vec<u8>>,
    server_cert: Vec<u8>,
) -> Result<Reply, String> {
    let mut request = Request::get("https://localhost/metrics");
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let failed = |e: hyper::Error| format!("{e}: {:?}", std::error::Error::source(&e));
    let response = if alpn.as_deref() == Some(b"h2") {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io)).await.map_err(failed)?;
        tokio::spawn(connection);
        sender.send_request(request).await.map_err(failed)?
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(failed)?;
        tokio::spawn(connection);
        let mut request = request;
        request.headers_mut().insert(hyper::header::HOST, HeaderValue::from_static("localhost"));
        *request.uri_mut() = hyper::Uri::from_static("/metrics");
        sender.send_request(request).await.map_err(failed)?
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned(), alpn, server_cert, suite: None })
}
