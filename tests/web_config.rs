//! The web config end to end: a small hyper server on a loopback socket that
//! does what the daemon's server does per connection (TLS accept with the
//! current acceptor) and per request (basic auth check, extra headers), and a
//! tokio-rustls client that verifies the server against a CA made here.

mod web_support;

use std::time::Duration;

use creditwatch::http::web_config::WebConfigHandle;
use hyper::StatusCode;
use rustls::CipherSuite;
use web_support::{basic, client, get, serve, tls12_client, write, Pki};

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

#[tokio::test]
async fn tls_handshake_verified_against_the_test_ca() {
    let pki = Pki::new();
    let web = write(&pki, &format!("{TLS}http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;

    let reply = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "ok");
    assert_eq!(reply.headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(reply.alpn.as_deref(), Some(&b"h2"[..]), "http2 is offered by default");

    // A client that trusts another CA refuses the server's certificate.
    let error = get(addr, Some(client(&pki.rogue_ca_pem, None)), None).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert!(get(addr, None, None).await.is_err());
}

#[tokio::test]
async fn http2_off_offers_http1_only() {
    let pki = Pki::new();
    let web = write(&pki, &format!("{TLS}http_server_config:\n  http2: false\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    let reply = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let pki = Pki::new();
    let web = write(&pki, &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;

    let error = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap_err();
    assert!(error.contains("CertificateRequired"), "no certificate: {error}");
    let rogue = Some((pki.rogue_client_pem.as_str(), pki.rogue_client_key_pem.as_str()));
    let error = get(addr, Some(client(&pki.ca_pem, rogue)), None).await.unwrap_err();
    assert!(error.contains("UnknownCA"), "certificate from another CA: {error}");

    let ours = Some((pki.client_pem.as_str(), pki.client_key_pem.as_str()));
    let reply = get(addr, Some(client(&pki.ca_pem, ours)), None).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn verify_if_given_lets_clients_without_a_certificate_in_but_not_foreign_ones() {
    let pki = Pki::new();
    let web = write(&pki, &format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    assert_eq!(get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap().status, StatusCode::OK);
    let rogue = Some((pki.rogue_client_pem.as_str(), pki.rogue_client_key_pem.as_str()));
    let error = get(addr, Some(client(&pki.ca_pem, rogue)), None).await.unwrap_err();
    assert!(error.contains("UnknownCA"), "{error}");
}

#[tokio::test]
async fn require_any_client_cert_wants_a_certificate_but_no_particular_ca() {
    let pki = Pki::new();
    let web = write(&pki, &format!("{TLS}  client_auth_type: RequireAnyClientCert\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    let error = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap_err();
    assert!(error.contains("CertificateRequired"), "{error}");
    let rogue = Some((pki.rogue_client_pem.as_str(), pki.rogue_client_key_pem.as_str()));
    assert_eq!(get(addr, Some(client(&pki.ca_pem, rogue)), None).await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn cipher_suites_and_versions_limit_what_clients_can_negotiate() {
    let pki = Pki::new();
    let only = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    let web = write(&pki, &format!("{TLS}  max_version: TLS12\n  cipher_suites: [{only}]\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    let listed = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384;
    let reply = get(addr, Some(tls12_client(&pki.ca_pem, listed)), None).await.unwrap();
    assert_eq!(reply.suite, Some(listed));
    let other = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let error = get(addr, Some(tls12_client(&pki.ca_pem, other)), None).await.unwrap_err();
    assert!(error.contains("HandshakeFailure"), "{error}");
    // max_version TLS12: a TLS 1.3 client still gets 1.2 with the listed suite.
    assert_eq!(get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap().suite, Some(listed));

    let web = write(&pki, &format!("{TLS}  min_version: TLS13\n"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    let error = get(addr, Some(tls12_client(&pki.ca_pem, listed)), None).await.unwrap_err();
    assert!(error.contains("ProtocolVersion"), "{error}");
}

#[tokio::test]
async fn basic_auth_accepts_all_three_bcrypt_prefixes_and_nothing_else() {
    let pki = Pki::new();
    let users = format!(
        "basic_auth_users:\n  alice: '{}'\n  bob: '{}'\n  carol: '{}'\n",
        hash("alice-pw", bcrypt::Version::TwoY),
        hash("bob-pw", bcrypt::Version::TwoA),
        hash("carol-pw", bcrypt::Version::TwoB)
    );
    assert!(users.contains("$2y$04$") && users.contains("$2a$04$") && users.contains("$2b$04$"), "{users}");
    let web = write(&pki, &format!("{TLS}{users}"));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap()).await;
    let tls = || Some(client(&pki.ca_pem, None));

    for (user, password) in [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")] {
        let reply = get(addr, tls(), Some(&basic(user, password))).await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{user}");
        // Again, now from the cache.
        assert_eq!(get(addr, tls(), Some(&basic(user, password))).await.unwrap().status, StatusCode::OK, "{user}");
    }
    for (user, password) in [("alice", "bob-pw"), ("bob", "wrong"), ("mallory", "alice-pw"), ("", "")] {
        let reply = get(addr, tls(), Some(&basic(user, password))).await.unwrap();
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user}:{password}");
        assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Basic");
    }
    assert_eq!(get(addr, tls(), None).await.unwrap().status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(addr, tls(), Some("Bearer alice-pw")).await.unwrap().status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_changed_file_is_picked_up_and_a_bad_one_keeps_the_old_config() {
    let pki = Pki::new();
    let web = write(&pki, &format!("basic_auth_users:\n  alice: '{}'\n", hash("one", bcrypt::Version::TwoY)));
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap().with_check_interval(Duration::ZERO)).await;
    assert_eq!(get(addr, None, Some(&basic("alice", "one"))).await.unwrap().status, StatusCode::OK);

    // A typo: refused, and the server goes on with the previous file.
    std::fs::write(&web, "basic_auth_users:\n  alice: 'x'\ntls_server_confg: {}\n").unwrap();
    assert_eq!(get(addr, None, Some(&basic("alice", "one"))).await.unwrap().status, StatusCode::OK);

    // Fixed: the new password is live on the next request, the old one not.
    std::fs::write(&web, format!("basic_auth_users:\n  alice: '{}'\n", hash("two", bcrypt::Version::TwoB))).unwrap();
    assert_eq!(get(addr, None, Some(&basic("alice", "two"))).await.unwrap().status, StatusCode::OK);
    assert_eq!(get(addr, None, Some(&basic("alice", "one"))).await.unwrap().status, StatusCode::UNAUTHORIZED);

    // An empty file is a write in progress, not "no auth"; `{}` is.
    std::fs::write(&web, "").unwrap();
    assert_eq!(get(addr, None, None).await.unwrap().status, StatusCode::UNAUTHORIZED);
    std::fs::write(&web, "{}").unwrap();
    assert_eq!(get(addr, None, None).await.unwrap().status, StatusCode::OK);

    // Switching TLS on takes effect for new connections.
    std::fs::write(&web, TLS).unwrap();
    assert_eq!(get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn reload_rereads_at_once_and_reports_a_bad_file() {
    let pki = Pki::new();
    let web = write(&pki, "");
    // Never due on its own within the test: only reload() (SIGHUP) sees changes.
    let handle = WebConfigHandle::open(Some(&web)).unwrap().with_check_interval(Duration::from_secs(3600));
    assert!(!handle.current().requires_auth());

    std::fs::write(&web, "\nbasic_auth_users:\n  alice: '$2y$04$abc'\n").unwrap();
    assert!(!handle.current().requires_auth(), "not due yet");
    let error = handle.reload().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3: basic_auth_users.alice: not a bcrypt hash (want $2y$, $2a$ or $2b$ followed by cost and 53 characters)",
            web.display()
        )
    );
    assert!(!handle.current().requires_auth(), "the bad file is not used");

    std::fs::write(&web, format!("basic_auth_users:\n  alice: '{}'\n", hash("pw", bcrypt::Version::TwoA))).unwrap();
    handle.reload().unwrap();
    let current = handle.current();
    assert!(current.requires_auth());
    assert!(current.check(Some(&basic("alice", "pw"))));
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_new_connections() {
    let pki = Pki::new();
    let web = write(&pki, TLS);
    let addr = serve(WebConfigHandle::open(Some(&web)).unwrap().with_check_interval(Duration::ZERO)).await;
    let first = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap().server_cert;
    assert_eq!(first, pki.server_der);

    let renewed = pki.issue_server_cert();
    let second = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap().server_cert;
    assert_eq!(second, renewed);
    assert_ne!(first, second);
}

fn hash(password: &str, version: bcrypt::Version) -> String {
    bcrypt::hash_with_result(password, 4).unwrap().format_for_version(version)
}
