//! What each subcommand does, at the edge: loads config, sets up logging,
//! prints results and turns errors into exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;

use crate::cli::{Cli, Command, ConfigArg, LogFormat, ReportArgs};
use crate::common::TimeZone;
use crate::config::Config;
use crate::pricing::PriceTable;
use crate::report::{self, ReportOptions};
use crate::sources::follow::discover::PathPattern;
use crate::sources::{Format, SourceSpec};

pub fn main(cli: Cli) -> ExitCode {
    if let Command::Statusline(args) = &cli.command {
        // Quiet and quick: no logging set up, and it always succeeds.
        crate::statusline::run(args.config.as_deref());
        return ExitCode::SUCCESS;
    }
    init_logging(cli.log_level.as_deref(), cli.log_format);
    let result = match cli.command {
        Command::Run(c) => crate::daemon::run(&load_config(&c)),
        Command::CheckConfig(c) => check_config(&c),
        Command::Report(args) => run_report(args),
        Command::Advise(args) => super::advise::run(args),
        Command::Ledger(cmd) => super::ledger_cli::run(cmd),
        Command::State(cmd) => super::state_cli::run(cmd),
        Command::Prices { config, model, check } => prices(&config, model.as_deref(), check),
        Command::Statusline(_) => Ok(()), // answered above
        Command::Providers(crate::cli::ProvidersCommand::Check(c)) => super::providers_check::run(&c),
        Command::Audit(args) => super::audit::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("creditwatch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: Option<&str>, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => EnvFilter::try_new(l).unwrap_or_else(|_| EnvFilter::new("info")),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Logfmt => builder.with_ansi(false).init(),
    }
}

/// The config named by `--config`, else the default path.
pub fn config_path(arg: &ConfigArg) -> PathBuf {
    arg.config.clone().unwrap_or_else(Config::default_path)
}

/// Loads the config or exits 1 with the error (file, line, field).
pub fn load_config(arg: &ConfigArg) -> Config {
    match Config::load(&config_path(arg)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("creditwatch: config error: {e}");
            std::process::exit(1);
        }
    }
}

/// Built-in, config and (with `pricing.url`) cached downloaded prices.
pub fn price_table(config: &Config) -> PriceTable {
    crate::pricing::remote::table(&config.price_settings())
}

pub fn source_specs(config: &Config) -> Result<Vec<SourceSpec>> {
    config.sources.iter().map(|s| SourceSpec::from_config(s).map_err(|e| anyhow!("source {}: {e}", s.name))).collect()
}

fn check_config(arg: &ConfigArg) -> Result<()> {
    let config = load_config(arg);
    println!("config {} is valid", config.path.display());
    println!("  listen     {}", config.listen);
    println!("  state_dir  {}", config.state_dir.display());
    println!("  timezone   {}", config.timezone.0.name());
    for a in &config.accounts {
        let opening = a.opening_balance_usd.map(crate::usage::money::format).unwrap_or_else(|| "0".into());
        let reload = match &a.auto_reload {
            Some(r) => format!(
                ", auto-reload at ${} (cap ${}/month)",
                crate::usage::money::format(r.threshold_usd),
                crate::usage::money::format(r.monthly_cap_usd)
            ),
            None => String::new(),
        };
        println!("  account    {} (opening ${opening}{reload})", a.name);
    }
    for p in &config.providers {
        println!(
            "  provider   {} ({}, account {}, every {}, reconcile {})",
            p.name,
            p.kind.as_str(),
            p.account,
            humantime::format_duration(p.poll_every),
            format!("{:?}", p.reconcile).to_lowercase()
        );
    }
    for s in source_specs(&config)? {
        let (files, _) = crate::sources::follow::discover::find_files(&s.patterns);
        println!("  source     {} ({}, account {}): {} files now", s.name, s.format.as_str(), s.account, files.len());
    }
    Ok(())
}

/// Claude Code's own folders: `CLAUDE_CONFIG_DIR` (comma separated), else
/// `~/.claude` and `~/.config/claude`, each with `projects/`.
pub fn default_claude_globs() -> Vec<String> {
    let dirs: Vec<String> = match std::env::var("CLAUDE_CONFIG_DIR") {
        Ok(v) if !v.trim().is_empty() => v.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect(),
        _ => vec!["~/.claude".into(), "~/.config/claude".into()],
    };
    dirs.iter().map(|d| format!("{}/projects/**/*.jsonl", d.trim_end_matches('/'))).collect()
}

pub(super) fn parse_format(text: &str) -> Result<Format> {
    serde_yaml_ng::from_str(text).map_err(|_| {
        anyhow!(
            "unknown format `{text}` (claude_code, anthropic, openai, litellm, jsonl, codex, gemini_cli, qwen_code, opencode, copilot_cli)"
        )
    })
}

pub(super) fn parse_day(text: &str, flag: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y%m%d"))
        .with_context(|| format!("{flag} `{text}`: want a date like 2026-09-01"))
}

pub(super) fn ad_hoc_source(globs: &[String], format: Format) -> Result<SourceSpec> {
    let patterns = globs.iter().map(|g| PathPattern::new(g).map_err(|e| anyhow!("--paths: {e}"))).collect::<Result<_>>()?;
    if format == Format::Jsonl {
        bail!("--format jsonl needs a field map: configure a source with `field_map:` instead");
    }
    // The app is named after the format (`claude-code`, `codex`), as a
    // configured source of that format would be, not after the flag.
    let app = format.agent_app().map(String::from).unwrap_or_else(|| format.as_str().replace('_', "-"));
    Ok(SourceSpec { app: Some(app), ..SourceSpec::new("paths", format, patterns, "default") })
}

fn run_report(args: ReportArgs) -> Result<()> {
    let explicit_config = args.config.config.is_some();
    let config_file = config_path(&args.config);
    let config = if !args.paths.is_empty() || (!explicit_config && !config_file.exists()) { None } else { Some(load_config(&args.config)) };
    let (sources, prices, config_tz, max_line) = match &config {
        Some(c) => (source_specs(c)?, price_table(c), Some(c.timezone), c.limits.max_line_bytes),
        None => {
            let format = parse_format(&args.format)?;
            let globs = match (args.paths.is_empty(), format.default_paths()) {
                (false, _) => args.paths.clone(),
                (true, agent) if !agent.is_empty() => agent,
                (true, _) => default_claude_globs(),
            };
            (vec![ad_hoc_source(&globs, format)?], PriceTable::builtin(), None, crate::state::labels::Limits::default().max_line_bytes)
        }
    };
    let tz = match &args.tz {
        Some(name) => name.parse::<TimeZone>().map_err(|e| anyhow!("--tz: {e}"))?.0,
        None => config_tz.map(|t| t.0).unwrap_or_else(local_tz),
    };
    let opts = ReportOptions {
        by: args.by,
        since: args.since.as_deref().map(|s| parse_day(s, "--since")).transpose()?,
        until: args.until.as_deref().map(|s| parse_day(s, "--until")).transpose()?,
        tz,
        max_line_bytes: max_line,
    };
    let progress = progress_bar(&sources);
    let report = report::build(&sources, &prices, &opts, &progress);
    progress.finish_and_clear();
    for model in &report.unpriced_models {
        tracing::warn!(model, "no price for this model: booked at $0");
    }
    if report.error_lines > 0 {
        eprintln!("creditwatch: {} of {} lines could not be read (see the warnings above)", report.error_lines, report.lines);
    }
    let mut out = std::io::stdout().lock();
    let by = format!("{:?}", args.by).to_lowercase();
    if args.json { report::print_json(&report, &mut out) } else { report::print_table(&report, &by, &mut out) }
        .context("writing the report")
}

/// A progress bar on stderr when it is a terminal and there is real work.
pub(super) fn progress_bar(sources: &[SourceSpec]) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let files = report::files_of(sources);
    let bytes: u64 = files.iter().filter_map(|(p, _)| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    if bytes < 64 * 1024 * 1024 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}") {
        bar.set_style(style);
    }
    bar
}

pub(super) fn local_tz() -> chrono_tz::Tz {
    iana_time_zone::get_timezone().ok().and_then(|n| n.parse().ok()).unwrap_or(chrono_tz::UTC)
}

fn prices(arg: &ConfigArg, model: Option<&str>, check: bool) -> Result<()> {
    let path = config_path(arg);
    let config = (arg.config.is_some() || path.exists()).then(|| load_config(arg));
    let table = config.as_ref().map(price_table).unwrap_or_else(PriceTable::builtin);
    let downloaded = config.as_ref().map(downloaded_origin).unwrap_or_default();
    let now = chrono::Utc::now();
    let origin_of = |origin: crate::pricing::PriceOrigin| match origin {
        crate::pricing::PriceOrigin::BuiltIn => format!("built-in, list of {}", table.as_of),
        crate::pricing::PriceOrigin::Config => "config".to_string(),
        crate::pricing::PriceOrigin::Downloaded => downloaded.clone(),
        crate::pricing::PriceOrigin::FreeTier => format!("free tier, built-in list of {}", table.as_of),
        crate::pricing::PriceOrigin::Ollama => "ollama: a local or Ollama-subscription model, not billed per token".to_string(),
    };
    let show = |name: &str, p: &crate::pricing::ModelPrice, origin: crate::pricing::PriceOrigin| {
        let lines = crate::pricing::listing::describe(p, now);
        println!("{name}: {} ({})", lines[0], origin_of(origin));
        for line in &lines[1..] {
            println!("{line}");
        }
    };
    if check || model.is_none() {
        println!("built-in list prices as of {}", table.as_of);
    }
    if check {
        return check_prices(config.as_ref(), &table, &show);
    }
    match model {
        Some(m) => match table.lookup(m) {
            Some((key, p, origin)) => show(&if key == m { key.to_string() } else { format!("{m} (as {key})") }, p, origin),
            None => bail!("no price for `{m}`: it would be booked at $0 (add it under `prices:` in the config)"),
        },
        None => {
            for (key, p, origin) in table.models() {
                show(key, p, origin);
            }
        }
    }
    Ok(())
}

/// `prices --check`: every model the configured sources (or, without a
/// config, Claude Code's folders) contain, with the card that prices it;
/// an error naming the unpriced ones when there are any.
fn check_prices(
    config: Option<&Config>,
    table: &PriceTable,
    show: &dyn Fn(&str, &crate::pricing::ModelPrice, crate::pricing::PriceOrigin),
) -> Result<()> {
    let (sources, max_line) = match config {
        Some(c) => (source_specs(c)?, c.limits.max_line_bytes),
        None => (vec![ad_hoc_source(&default_claude_globs(), Format::ClaudeCode)?], crate::state::labels::Limits::default().max_line_bytes),
    };
    let opts = ReportOptions { by: report::GroupBy::Model, since: None, until: None, tz: chrono_tz::UTC, max_line_bytes: max_line };
    let report = report::build(&sources, table, &opts, &indicatif::ProgressBar::hidden());
    let mut unpriced = Vec::new();
    for (model, group) in &report.groups {
        let requests = group.totals.requests;
        match table.lookup(model) {
            Some((key, p, origin)) => show(
                &format!("{model} ({requests} requests{})", if key == model { String::new() } else { format!(", as {key}") }),
                p,
                origin,
            ),
            None if report.unpriced_models.contains(model) => {
                println!("{model} ({requests} requests): NO PRICE, booked at $0");
                unpriced.push(model.as_str());
            }
            None => println!("{model} ({requests} requests): priced by the cost each log line states"),
        }
    }
    println!("{} models in {} files", report.groups.len(), report.files);
    if !unpriced.is_empty() {
        bail!(
            "{} of {} models have no price: {} (add them under `prices:` in the config)",
            unpriced.len(),
            report.groups.len(),
            unpriced.join(", ")
        );
    }
    Ok(())
}

/// "downloaded from URL, cached FILE at TIME" for `prices`.
fn downloaded_origin(config: &Config) -> String {
    let cache = crate::pricing::remote::cache_path(&config.state_dir);
    let at = std::fs::metadata(&cache)
        .and_then(|m| m.modified())
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|_| "?".into());
    let urls = if config.pricing.url.is_empty() { "?".to_string() } else { config.pricing.url.join(", ") };
    format!("downloaded from {urls}, cached in {} at {at}", cache.display())
}
