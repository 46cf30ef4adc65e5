//! The configuration file: loaded with serde, validated before anything
//! starts, every error naming the file, line and field.
//!
//! Structural errors (unknown key, wrong type, bad money, bad timezone) come
//! from the deserializer with their place; cross-field checks (an account a
//! source names but nobody defines) find their line through `locate`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

pub use crate::common::ConfigError;
use crate::common::{locate, resolve_path, strip_location, TimeZone};
use crate::ledger::config::AccountConfig;
use crate::pricing::remote::PricingConfig;
use crate::pricing::PriceSpec;
use crate::sources::config::SourceConfig;
use crate::sources::follow::discover::PathPattern;
use crate::sources::follow::FollowConfig;
use crate::state::labels::Limits;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub timezone: TimeZone,
    #[serde(default)]
    pub web_config_file: Option<PathBuf>,
    #[serde(default)]
    pub admin_token_file: Option<PathBuf>,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// The providers' own figures; see `crate::providers`.
    #[serde(default)]
    pub providers: Vec<crate::providers::ProviderConfig>,
    /// Per-million-token prices that override or add to the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceSpec>,
    /// A downloaded price list for models the table lacks; see `pricing::remote`.
    #[serde(default)]
    pub pricing: PricingConfig,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub follow: FollowConfig,
    /// Burn-rate windows and bucket width; see `crate::live::burn`.
    #[serde(default)]
    pub burn_rate: crate::live::burn::BurnConfig,
    /// Daemon-side alerting; see `crate::alerting`.
    #[serde(default)]
    pub alerting: Option<crate::alerting::AlertingConfig>,
    /// The OTLP receiver's gRPC listener and token; see `crate::http::otlp`.
    #[serde(default)]
    pub otlp: crate::sources::formats::otlp::OtlpConfig,
    /// The state in PostgreSQL instead of `state_dir`; see `crate::state::postgres`.
    #[serde(default)]
    pub postgres: Option<crate::state::postgres::PostgresConfig>,
    /// Where the file was read from (not a key).
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_listen() -> String {
    "127.0.0.1:9947".into()
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("./state")
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` names it in errors and
    /// anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // The field's own line when it is in the text; serde_yaml_ng's
            // location is of the enclosing node for some errors.
            let line = locate::exact_line_of(text, &field).or_else(|| inner.location().map(|l| l.line()));
            let message = strip_location(&inner.to_string(), &field);
            ConfigError { file: file.clone(), line, field: if field == "." { String::new() } else { field }, message }
        })?;
        config.path = path.to_path_buf();
        config.validate().map_err(|(field, message)| ConfigError { file, line: locate::line_of(text, &field), field, message })?;
        config.resolve_paths();
        Ok(config)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let mut names = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            if account.name.trim().is_empty() {
                return Err((format!("accounts[{i}].name"), "account name is empty".into()));
            }
            if !names.insert(account.name.as_str()) {
                return Err((format!("accounts[{i}].name"), format!("account `{}` is defined twice", account.name)));
            }
            if let Some(premium) = &account.premium_requests {
                premium.validate().map_err(|m| (format!("accounts[{i}].premium_requests"), m))?;
            }
            if let Some(reload) = &account.auto_reload {
                reload.validate().map_err(|m| (format!("accounts[{i}].auto_reload"), m))?;
            }
            if account.monthly_allowance_usd.is_some_and(|a| a < Decimal::ZERO) {
                return Err((format!("accounts[{i}].monthly_allowance_usd"), "must not be negative".into()));
            }
            if account.plan_windows && account.monthly_allowance_usd.is_some() {
                let why = "plan_windows and monthly_allowance_usd both describe the plan: keep plan_windows (the windows Claude Code reports) and drop the dollar allowance";
                return Err((format!("accounts[{i}].plan_windows"), why.into()));
            }
            if account.plan_windows && account.direct_apps.is_empty() {
                let why = "plan_windows needs direct_apps: the apps the plan covers (e.g. [claude-code])";
                return Err((format!("accounts[{i}].plan_windows"), why.into()));
            }
        }
        let mut source_names = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            if !source_names.insert(source.name.as_str()) {
                return Err((format!("sources[{i}].name"), format!("source `{}` is defined twice", source.name)));
            }
            if !names.contains(source.account.as_str()) {
                let known: Vec<_> = self.accounts.iter().map(|a| a.name.as_str()).collect();
                return Err((
                    format!("sources[{i}].account"),
                    format!("account `{}` is not defined under accounts: (defined: {})", source.account, known.join(", ")),
                ));
            }
            if source.paths.is_empty() && source.format.default_paths().is_empty() && source.format != crate::sources::Format::Otlp {
                return Err((format!("sources[{i}].paths"), "no paths: give at least one glob".into()));
            }
            if let Some(from) = &source.account_from {
                if let Some((value, account)) = from.accounts.iter().find(|(_, a)| !names.contains(a.as_str())) {
                    return Err((
                        format!("sources[{i}].account_from.accounts.{value}"),
                        format!("account `{account}` is not defined under accounts:"),
                    ));
                }
            }
            for (j, p) in source.paths.iter().enumerate() {
                PathPattern::new(p).map_err(|m| (format!("sources[{i}].paths[{j}]"), m))?;
            }
            source.validate_format_options().map_err(|(field, m)| (format!("sources[{i}].{field}"), m))?;
        }
        self.validate_providers(&names)?;
        if self.sources.iter().filter(|s| s.format == crate::sources::Format::Otlp).count() > 1 {
            let i = self.sources.iter().rposition(|s| s.format == crate::sources::Format::Otlp).unwrap_or(0);
            return Err((
                format!("sources[{i}].format"),
                "one `otlp` source receives every export (map accounts with `account_from`)".into(),
            ));
        }
        if let Some(addr) = &self.otlp.grpc_listen {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                return Err(("otlp.grpc_listen".into(), format!("`{addr}` is not an address like 127.0.0.1:4317")));
            }
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(("listen".into(), format!("`{}` is not an address like 127.0.0.1:9947", self.listen)));
        }
        for (model, spec) in &self.prices {
            spec.validate().map_err(|(field, m)| (format!("prices.{model}{}{field}", if field.is_empty() { "" } else { "." }), m))?;
        }
        self.pricing.validate().map_err(|(field, m)| (format!("pricing.{field}"), m))?;
        self.burn_rate.validate("burn_rate")?;
        if let Some(alerting) = &self.alerting {
            alerting.validate(self.path.parent().unwrap_or(Path::new(".")))?;
        }
        if self.limits.max_apps == 0 || self.limits.max_models == 0 || self.limits.max_users == 0 {
            return Err(("limits".into(), "max_apps, max_models and max_users must be at least 1".into()));
        }
        Ok(())
    }

    fn validate_providers(&self, accounts: &HashSet<&str>) -> Result<(), (String, String)> {
        let mut seen = HashSet::new();
        for (i, provider) in self.providers.iter().enumerate() {
            provider.validate().map_err(|(field, m)| (format!("providers[{i}].{field}"), m))?;
            if !seen.insert(provider.name.as_str()) {
                return Err((format!("providers[{i}].name"), format!("provider `{}` is defined twice", provider.name)));
            }
            if !accounts.contains(provider.account.as_str()) {
                return Err((format!("providers[{i}].account"), format!("account `{}` is not defined under accounts:", provider.account)));
            }
            // One subscription's extra usage per account: the unseen gap
            // compares one provider's period with the account's bookings.
            let claude = crate::providers::Kind::ClaudeOauth;
            if provider.kind == claude && self.providers[..i].iter().any(|p| p.kind == claude && p.account == provider.account) {
                return Err((
                    format!("providers[{i}].account"),
                    format!("account `{}` has a claude_oauth provider already", provider.account),
                ));
            }
            // A cost report's unseen spend is booked once per day and model
            // through the seen-id index: its ids must outlive the days rebooked.
            let daily = matches!(provider.kind, crate::providers::Kind::AnthropicAdmin | crate::providers::Kind::OpenaiAdmin);
            let needed = std::time::Duration::from_secs(86_400 * (crate::providers::spend::RECONCILE_DAYS as u64 + 2));
            if daily && provider.reconcile == crate::providers::Reconcile::Auto && self.follow.dedup_retention < needed {
                return Err((
                    format!("providers[{i}].reconcile"),
                    format!(
                        "reconcile: auto books each day's unseen spend for {} days: follow.dedup_retention must be at least {}d",
                        crate::providers::spend::RECONCILE_DAYS,
                        crate::providers::spend::RECONCILE_DAYS + 2
                    ),
                ));
            }
            if daily && self.providers[..i].iter().any(|p| p.account == provider.account && p.kind == provider.kind) {
                return Err((
                    format!("providers[{i}].account"),
                    format!("account `{}` has a {} provider already", provider.account, provider.kind.as_str()),
                ));
            }
        }
        Ok(())
    }

    /// Relative paths are relative to the config file's folder, as in
    /// Prometheus; `~` is the home folder.
    #[allow(clippy::redundant_closure_call)] // clippy 1.95 false positive: `resolve` is used four times
    fn resolve_paths(&mut self) {
        let base = self.path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.state_dir = resolve_path(&base, &self.state_dir);
        self.web_config_file = self.web_config_file.as_deref().map(|p| resolve_path(&base, p));
        self.admin_token_file = self.admin_token_file.as_deref().map(|p| resolve_path(&base, p));
        self.otlp.token_file = self.otlp.token_file.as_deref().map(|p| resolve_path(&base, p));
        if let Some(pg) = &mut self.postgres {
            pg.url_file = resolve_path(&base, &pg.url_file);
        }
        if let Some(alerting) = &mut self.alerting {
            alerting.resolve_paths(&base);
        }
        for provider in &mut self.providers {
            provider.resolve_paths(&base);
        }
        for source in &mut self.sources {
            for p in &mut source.paths {
                *p = resolve_path(&base, Path::new(p)).to_string_lossy().into_owned();
            }
        }
    }

    /// What the price table is built from (see `pricing::remote`).
    pub fn price_settings(&self) -> crate::pricing::remote::PriceSettings {
        crate::pricing::remote::PriceSettings {
            prices: self.prices.clone(),
            pricing: self.pricing.clone(),
            state_dir: self.state_dir.clone(),
        }
    }

    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// `./config.yaml`, then `/etc/creditwatch/config.yaml`.
    pub fn default_path() -> PathBuf {
        let local = PathBuf::from("config.yaml");
        if local.exists() {
            local
        } else {
            PathBuf::from("/etc/creditwatch/config.yaml")
        }
    }
}

#[cfg(test)]
mod alerting_tests;
#[cfg(test)]
mod providers_tests;
#[cfg(test)]
mod tests;
