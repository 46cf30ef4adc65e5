//! `creditwatch advise`, at the edge: resolves the sources as `report` does
//! (the config's, or `--paths`, or Claude Code's own folders), reads them
//! read-only, runs the pure analyses of `report::advise` and prints them.

use anyhow::{anyhow, Context, Result};

use super::commands::{
    ad_hoc_source, config_path, default_claude_globs, load_config, local_tz, parse_day, parse_format, price_table, progress_bar,
    source_specs,
};
use crate::cli::AdviseArgs;
use crate::common::TimeZone;
use crate::pricing::PriceTable;
use crate::report::advise::{self, Settings};

pub fn run(args: AdviseArgs) -> Result<()> {
    let explicit_config = args.config.config.is_some();
    let config_file = config_path(&args.config);
    let config = if !args.paths.is_empty() || (!explicit_config && !config_file.exists()) { None } else { Some(load_config(&args.config)) };
    let (sources, prices, max_line) = match &config {
        Some(c) => (source_specs(c)?, price_table(c), c.limits.max_line_bytes),
        None => {
            let globs = if args.paths.is_empty() { default_claude_globs() } else { args.paths.clone() };
            let format = parse_format(&args.format)?;
            (vec![ad_hoc_source(&globs, format)?], PriceTable::builtin(), crate::state::labels::Limits::default().max_line_bytes)
        }
    };
    let tz = match &args.tz {
        Some(name) => name.parse::<TimeZone>().map_err(|e| anyhow!("--tz: {e}"))?.0,
        None => config.as_ref().map(|c| c.timezone.0).unwrap_or_else(local_tz),
    };
    let settings = Settings {
        tz,
        since: args.since.as_deref().map(|s| parse_day(s, "--since")).transpose()?,
        what_if: args.what_if.clone(),
        working_hours: config.as_ref().and_then(|c| c.alerting.as_ref()).and_then(|a| a.working_hours.clone()),
        accounts: config
            .as_ref()
            .map(|c| c.accounts.iter().map(|a| (a.name.clone(), a.auto_reload.as_ref().map(|r| r.monthly_cap_usd))).collect())
            .unwrap_or_default(),
        now: chrono::Utc::now(),
        top: args.top,
    };
    let progress = progress_bar(&sources);
    let read = crate::report::read(&sources, max_line, &progress);
    progress.finish_and_clear();
    let (files, lines, error_lines) = (read.files, read.lines, read.error_lines);
    let (records, names) = advise::from_requests(read, &prices);
    let mut advice = advise::analyze(&records, &names, &prices, &settings);
    advice.files = files;
    advice.lines = lines;
    advice.error_lines = error_lines;
    for model in &advice.unpriced_models {
        tracing::warn!(model, "no price for this model: counted at $0");
    }
    if error_lines > 0 {
        eprintln!("creditwatch: {error_lines} of {lines} lines could not be read (see the warnings above)");
    }
    if let Some(e) = &advice.models.what_if_error {
        eprintln!("creditwatch: --what-if: {e}");
    }
    if let Some(path) = &args.html {
        std::fs::write(path, advise::write_html(&advice)).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json { advise::print_json(&advice, &mut out) } else { advise::print_text(&advice, &mut out) }.context("writing the advice")?;
    if advice.models.what_if_error.is_some() {
        return Err(anyhow!("--what-if model has no price"));
    }
    Ok(())
}
