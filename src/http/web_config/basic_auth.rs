//! HTTP basic auth against `basic_auth_users`, checked as exporter-toolkit
//! does.
//!
//! - An unknown user is checked against a fixed dummy hash, so the answer
//!   takes as long as for a known user and timing does not tell which users
//!   exist.
//! - bcrypt is slow on purpose (tens of milliseconds at cost 10), so a
//!   successful check is remembered: per user, a SHA-256 digest of the stored
//!   hash and the password, compared in constant time. The cache holds at most
//!   one entry per configured user, so it is bounded by the file itself, and a
//!   changed hash or password no longer matches its entry.
//! - One bcrypt at a time per configuration: a flood of wrong passwords costs
//!   one core, not all of them.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Mutex;

use base64::Engine;
use subtle::ConstantTimeEq;

/// bcrypt (cost 10, as exporter-toolkit's) of a password no user has; only
/// ever compared against, so its value does not matter beyond its cost.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

type Digest = [u8; 32];

#[derive(Debug, Default)]
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashMap<String, Digest>>,
    bcrypt_gate: Mutex<()>,
}

impl BasicAuth {
    /// Checks every hash is a bcrypt hash; the error names the user (never
    /// the hash).
    pub fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, (String, String)> {
        for (user, hash) in &users {
            if user.is_empty() || user.contains(':') {
                return Err((user.clone(), "a user name must be non-empty and must not contain `:`".into()));
            }
            if bcrypt::HashParts::from_str(hash).is_err() {
                return Err((user.clone(), "not a bcrypt hash (want $2y$, $2a$ or $2b$ followed by cost and 53 characters)".into()));
            }
        }
        Ok(BasicAuth { users, ..BasicAuth::default() })
    }

    /// Whether any user is configured; without users every request passes.
    pub fn is_enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether an `Authorization` header value lets the request in. May run
    /// bcrypt (milliseconds): call it off the async workers on a cache miss.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        if !self.is_enabled() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash.as_str(), true),
            None => (DUMMY_HASH, false),
        };
        let digest = digest(hash, &password);
        if known && self.cached(&user, &digest) {
            return true;
        }
        let matches = {
            let _gate = self.bcrypt_gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            bcrypt::verify(password.as_bytes(), hash).unwrap_or(false)
        };
        let ok = matches && known;
        if ok {
            self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(user, digest);
        }
        ok
    }

    fn cached(&self, user: &str, digest: &Digest) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        verified.get(user).is_some_and(|known| bool::from(known.ct_eq(digest)))
    }
}

fn digest(hash: &str, password: &str) -> Digest {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(hash.as_bytes());
    context.update(&[0]);
    context.update(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// `Basic base64(user:password)` -> (user, password); the scheme is
/// case-insensitive (RFC 7617), the password may contain `:`.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn parses_the_basic_scheme_only() {
        assert_eq!(parse_basic(&header("alice", "a:b")), Some(("alice".into(), "a:b".into())));
        assert_eq!(parse_basic(&header("alice", "pw").replace("Basic", "basic")), Some(("alice".into(), "pw".into())));
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(parse_basic(&format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("nocolon"))), None);
    }

    #[test]
    fn the_dummy_hash_is_a_valid_bcrypt_hash() {
        // A broken dummy would make unknown users fail fast, which is the
        // timing difference it exists to hide.
        assert!(bcrypt::HashParts::from_str(DUMMY_HASH).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_bcrypt_hash_and_names_the_user() {
        let users = BTreeMap::from([("bob".to_string(), "plaintext".to_string())]);
        let (user, message) = BasicAuth::new(users).unwrap_err();
        assert_eq!(user, "bob");
        assert!(!message.contains("plaintext"), "the hash must not be echoed: {message}");
    }

    #[test]
    fn without_users_everything_passes() {
        let auth = BasicAuth::new(BTreeMap::new()).unwrap();
        assert!(!auth.is_enabled());
        assert!(auth.check(None));
    }

    #[test]
    fn caches_a_success_and_not_a_failure() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("alice".to_string(), hash)])).unwrap();
        assert!(!auth.check(Some(&header("alice", "wrong"))));
        assert!(auth.verified.lock().unwrap().is_empty());
        assert!(auth.check(Some(&header("alice", "s3cret"))));
        assert_eq!(auth.verified.lock().unwrap().len(), 1);
        assert!(auth.check(Some(&header("alice", "s3cret"))));
        // The cached entry never lets another password in.
        assert!(!auth.check(Some(&header("alice", "s3cret2"))));
        assert!(!auth.check(Some(&header("mallory", "s3cret"))));
        assert!(!auth.check(None));
    }
}
