//! Asks the running daemon for the account's balance and runway
//! (`GET /api/v1/accounts`), within a short deadline.
//!
//! A plain HTTP/1.1 request on a blocking loopback socket: the status line
//! runs on every update, and a tokio runtime, hyper client or TLS setup
//! would cost more than the whole answer. No daemon, a refused connection,
//! a slow answer, TLS or basic auth on the API (web config), a body that is
//! not what we expect: all of them just mean "no figures".

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::render::AccountFigures;
use crate::usage::money;
use crate::usage::plan::PlanWindow;

/// The whole exchange, connect to last byte.
pub const DEADLINE: Duration = Duration::from_millis(80);
/// Bodies larger than this are not an accounts list we can use.
const MAX_RESPONSE: u64 = 1 << 20;

/// The address to ask: `listen`, with an unspecified host (`0.0.0.0`, `[::]`)
/// replaced by loopback.
pub fn target(listen: &str) -> Option<SocketAddr> {
    let mut addr: SocketAddr = listen.parse().ok()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Some(addr)
}

/// The figures of `account` (or, with none named, of the only account).
pub fn figures(addr: SocketAddr, account: Option<&str>) -> Option<AccountFigures> {
    let body = get(addr, "/api/v1/accounts")?;
    parse_accounts(&body, account)
}

fn get(addr: SocketAddr, path: &str) -> Option<Vec<u8>> {
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).ok()?;
    let left = DEADLINE.checked_sub(start.elapsed())?;
    stream.set_read_timeout(Some(left)).ok()?;
    stream.set_write_timeout(Some(left)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // A read timeout is per call: keep to the deadline overall.
        let left = DEADLINE.checked_sub(start.elapsed()).filter(|d| !d.is_zero())?;
        stream.set_read_timeout(Some(left)).ok()?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&chunk[..n]);
                if response.len() as u64 > MAX_RESPONSE {
                    return None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    body_of(&response)
}

/// The body of a 200 response, de-chunked when it came chunked.
fn body_of(response: &[u8]) -> Option<Vec<u8>> {
    let split = memchr::memmem::find(response, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..split]).ok()?;
    let body = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?;
    if status.split(' ').nth(1) != Some("200") {
        return None;
    }
    let chunked = lines.any(|l| {
        let (name, value) = l.split_once(':').unwrap_or((l, ""));
        name.trim().eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked")
    });
    if !chunked {
        return Some(body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let end = memchr::memmem::find(rest, b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn parse_accounts(body: &[u8], account: Option<&str>) -> Option<AccountFigures> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let accounts = v.get("accounts")?.as_array()?;
    let name_of = |a: &Value| a.get("name").or_else(|| a.get("account")).and_then(Value::as_str).map(str::to_string);
    let chosen = match account {
        Some(name) => accounts.iter().find(|a| name_of(a).as_deref() == Some(name))?,
        None if accounts.len() == 1 => &accounts[0],
        None => return None,
    };
    let balance_usd = match chosen.get("balance_usd")? {
        Value::String(s) => money::parse(s).ok()?,
        Value::Number(n) => money::parse(&n.to_string()).ok()?,
        _ => return None,
    };
    let runway_seconds = chosen.get("runway_seconds").and_then(Value::as_f64);
    let windows = chosen.get("plan_windows").and_then(Value::as_object).map(|o| o.iter().filter_map(|(n, w)| plan_window(n, w)).collect());
    Some(AccountFigures { account: name_of(chosen)?, balance_usd, runway_seconds, windows: windows.unwrap_or_default() })
}

/// `"five_hour": {"used_percent": "41", "resets_at": "2026-12-01T22:00:00+00:00", ...}`.
fn plan_window(name: &str, w: &Value) -> Option<PlanWindow> {
    let used_percent = money::parse(w.get("used_percent")?.as_str()?).ok()?;
    let resets_at = chrono::DateTime::parse_from_rfc3339(w.get("resets_at")?.as_str()?).ok()?.with_timezone(&chrono::Utc);
    Some(PlanWindow { name: name.to_string(), used_percent, resets_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_answers() {
        let body = r#"{"accounts":[{"name":"personal","balance_usd":"41.165","runway_seconds":22800},{"name":"team","balance_usd":"3","runway_seconds":null}]}"#;
        let plain = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        assert_eq!(body_of(plain.as_bytes()).as_deref(), Some(body.as_bytes()));
        let (a, b) = body.split_at(20);
        let chunked =
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len());
        assert_eq!(body_of(chunked.as_bytes()).as_deref(), Some(body.as_bytes()));
        assert_eq!(body_of(b"HTTP/1.1 401 Unauthorized\r\n\r\n{}"), None);
        assert_eq!(body_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), None, "cut short");

        let team = parse_accounts(body.as_bytes(), Some("team")).unwrap();
        assert_eq!((team.account.as_str(), money::format(team.balance_usd), team.runway_seconds), ("team", "3".into(), None));
        assert_eq!(parse_accounts(body.as_bytes(), None), None, "two accounts and none named");
        assert_eq!(parse_accounts(body.as_bytes(), Some("ghost")), None);
        let windows = r#"{"accounts":[{"name":"p","balance_usd":"1","plan_windows":{"weekly_fable":{"used_percent":"81","resets_at":"2099-07-23T14:59:59+00:00","observed_at":"x"},"bad":{"used_percent":81}}}]}"#;
        let got = parse_accounts(windows.as_bytes(), None).unwrap().windows;
        assert_eq!(
            got.iter().map(|w| format!("{} {} {}", w.name, w.used_percent, w.resets_at.to_rfc3339())).collect::<Vec<_>>(),
            ["weekly_fable 81 2099-07-23T14:59:59+00:00"]
        );
        let one = r#"{"accounts":[{"name":"solo","balance_usd":"1.5"}]}"#;
        assert_eq!(parse_accounts(one.as_bytes(), None).map(|f| f.account), Some("solo".into()));
    }

    #[test]
    fn an_unspecified_listen_host_is_asked_on_loopback() {
        assert_eq!(target("0.0.0.0:9947"), Some("127.0.0.1:9947".parse().unwrap()));
        assert_eq!(target("[::]:9947"), Some("[::1]:9947".parse().unwrap()));
        assert_eq!(target("10.0.0.5:1"), Some("10.0.0.5:1".parse().unwrap()));
        assert_eq!(target("localhost"), None);
    }
}
