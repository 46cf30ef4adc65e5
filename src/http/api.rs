//! The ledger API: balances (`GET /api/v1/accounts`), history, and the admin
//! routes for manual top-ups and reconciliation.
//!
//! A POST is answered only after its journal record is fsynced. Ids make
//! them idempotent: the same id and payload again returns the first result;
//! the same id with another amount is a 409.

use chrono::Utc;
use hyper::header::AUTHORIZATION;
use hyper::{HeaderMap, StatusCode};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::routes::{error, json_response, Resp};
use super::App;
use crate::common::lock;
use crate::ledger::LedgerError;
use crate::state::Record;
use crate::usage::money;

/// Compares without an early exit, so timing does not reveal how much of a
/// token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

/// 401 without a bearer token, 403 with a wrong one, 404 when the admin
/// routes are off (no `admin_token_file`).
pub fn authorize_admin(app: &App, headers: &HeaderMap) -> Result<(), Resp> {
    let Some(expected) = &app.admin_token else {
        return Err(error(StatusCode::NOT_FOUND, "admin routes are off: set admin_token_file in the config"));
    };
    let given = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => {
            let mut resp = error(StatusCode::UNAUTHORIZED, "missing `Authorization: Bearer <admin token>`");
            resp.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Bearer"));
            Err(resp)
        }
        Some(token) if constant_time_eq(token.trim().as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(error(StatusCode::FORBIDDEN, "wrong admin token")),
    }
}

pub fn accounts(app: &App) -> Resp {
    let now = Utc::now();
    // Burn first, then the store: never both locks at once.
    let burn = crate::live::lock_live(&app.live).burn.rates(now);
    let config = app.config.load();
    let store = lock(&app.store);
    let accounts: Vec<_> = store
        .state
        .ledger
        .accounts()
        .filter_map(|name| store.state.ledger.view(name, now).map(|view| (name, view)))
        .map(|(name, view)| {
            let mut v = serde_json::to_value(&view).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("name".into(), name.into());
                // Seconds until the balance reaches zero at the 1h burn; null when not burning.
                let reload = config.account(name).and_then(|a| a.auto_reload.as_ref());
                let runway = crate::live::runway(reload, &view, &burn);
                obj.insert("runway_seconds".into(), if runway.is_finite() { json!(runway.round()) } else { json!(null) });
                obj.insert("plan_windows".into(), plan_windows(&store.state.ledger, name, now));
                obj.insert("provider".into(), provider_figures(&store.state.ledger, name));
            }
            v
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "accounts": accounts, "as_of": now.to_rfc3339() }))
}

/// The account's plan windows that have not reset, as the status line and
/// the gauges show them: `{"five_hour": {"used_percent": "41", "resets_at": ..., "observed_at": ...}}`.
fn plan_windows(ledger: &crate::ledger::Ledger, account: &str, now: chrono::DateTime<Utc>) -> serde_json::Value {
    let Some(plan) = ledger.plan(account) else { return json!({}) };
    let windows: serde_json::Map<String, serde_json::Value> = plan
        .current(now)
        .map(|(name, w)| {
            let forecast = plan.forecast_exhausted_at(name, now).map(|t| t.to_rfc3339());
            let value = json!({
                "used_percent": money::format(w.used_percent),
                "resets_at": w.resets_at.to_rfc3339(),
                "observed_at": w.observed_at.to_rfc3339(),
                "exhausted_forecast_at": forecast,
            });
            (name.to_string(), value)
        })
        .collect();
    serde_json::Value::Object(windows)
}

/// The provider's extra-usage figures and the unseen gap (`providers:`),
/// money as decimal strings; null when no provider reported for the account.
fn provider_figures(ledger: &crate::ledger::Ledger, account: &str) -> serde_json::Value {
    let Some(p) = ledger.provider_spend(account) else { return json!(null) };
    json!({
        "provider": p.provider,
        "extra_usage_spent_usd": money::format(p.spent),
        "extra_usage_limit_usd": p.limit.map(money::format),
        "balance_usd": p.balance.map(money::format),
        "unseen_spend_usd": money::format(p.unseen()),
        "observed_at": p.observed_at.to_rfc3339(),
        "period_from": p.period_from.to_rfc3339(),
    })
}

pub fn history(app: &App, account: &str) -> Resp {
    // A state directory is read without holding the store; the database's
    // history is the one the store keeps.
    let held = {
        let store = lock(&app.store);
        store.dir().map(std::path::Path::to_path_buf).ok_or_else(|| store.history_rows(Some(account)))
    };
    let rows = held.map_or_else(|rows| rows, |dir| crate::state::history::read(&dir, Some(account)));
    match rows {
        Ok(rows) if rows.is_empty() && !lock(&app.store).state.ledger.accounts().any(|a| a == account) => {
            error(StatusCode::NOT_FOUND, &format!("no account `{account}`"))
        }
        Ok(rows) => json_response(StatusCode::OK, &json!({ "account": account, "entries": rows })),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopupRequest {
    id: String,
    #[serde(deserialize_with = "money::deserialize")]
    amount_usd: Decimal,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileRequest {
    id: String,
    #[serde(deserialize_with = "money::deserialize")]
    balance_usd: Decimal,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Resp> {
    serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, &format!("bad JSON body: {e}")))
}

fn valid_id(id: &str) -> Result<(), Resp> {
    if id.trim().is_empty() || id.len() > 200 {
        return Err(error(StatusCode::BAD_REQUEST, "`id` must be 1 to 200 characters"));
    }
    Ok(())
}

pub fn topup(app: &App, account: &str, body: &[u8]) -> Resp {
    let req: TopupRequest = match parse(body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Err(resp) = valid_id(&req.id) {
        return resp;
    }
    book(app, account, |ledger| ledger.topup(account, &req.id, req.amount_usd, req.note.clone(), Utc::now()))
}

pub fn reconcile(app: &App, account: &str, body: &[u8]) -> Resp {
    let req: ReconcileRequest = match parse(body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Err(resp) = valid_id(&req.id) {
        return resp;
    }
    book(app, account, |ledger| ledger.reconcile(account, &req.id, req.balance_usd, Utc::now()))
}

/// Runs a ledger change and commits its entry before answering.
fn book(
    app: &App,
    account: &str,
    change: impl FnOnce(&mut crate::ledger::Ledger) -> Result<crate::ledger::account::Booked, LedgerError>,
) -> Resp {
    let mut store = lock(&app.store);
    if let Err(e) = store.writable() {
        return error(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}; nothing was booked, send it to the writer"));
    }
    let booked = match change(&mut store.state.ledger) {
        Ok(b) => b,
        Err(e) => return ledger_error(account, e),
    };
    let status = match &booked.entry {
        Some(entry) => {
            if let Err(e) = store.commit(&Record::Ledger(vec![entry.clone()])) {
                tracing::error!("cannot commit a ledger entry: {e:#}");
                if let Err(e) = store.reload() {
                    tracing::error!("cannot read the state back: {e:#}");
                }
                return error(StatusCode::SERVICE_UNAVAILABLE, "cannot write the journal; nothing was booked, try again");
            }
            StatusCode::CREATED
        }
        None => StatusCode::OK,
    };
    let mut v = serde_json::to_value(&booked.view).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("name".into(), account.into());
        // The original result: the same on a retry with the same id.
        obj.insert("receipt".into(), serde_json::to_value(&booked.receipt).unwrap_or_default());
        if let Some(entry) = &booked.entry {
            obj.insert("entry".into(), serde_json::to_value(entry).unwrap_or_default());
        }
    }
    json_response(status, &v)
}

fn ledger_error(account: &str, e: LedgerError) -> Resp {
    match e {
        LedgerError::UnknownAccount(_) => error(StatusCode::NOT_FOUND, &format!("no account `{account}`")),
        LedgerError::Conflict { .. } => error(StatusCode::CONFLICT, &e.to_string()),
        LedgerError::BadAmount { .. } | LedgerError::MissingId | LedgerError::Overflow(_) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        }
        LedgerError::BadEntry(_) | LedgerError::BadSettings(_) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_is_equality() {
        use super::constant_time_eq as eq;
        assert!(eq(b"secret", b"secret"));
        assert!(!eq(b"secret", b"secreT"));
        assert!(!eq(b"secret", b"secret2"));
        assert!(!eq(b"", b"x"));
        assert!(eq(b"", b""));
    }
}
