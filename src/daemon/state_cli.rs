//! `creditwatch state export --to-postgres | --to-dir DIR`: moves the state
//! between a state directory and PostgreSQL (`state::postgres::transfer`).
//! Run it with the daemons stopped: `--to-postgres` takes the directory's
//! lock and refuses a database that already holds a state.

use anyhow::{anyhow, Context, Result};

use crate::cli::StateCommand;
use crate::daemon::commands::load_config;
use crate::state::postgres::transfer;

pub fn run(cmd: StateCommand) -> Result<()> {
    let StateCommand::Export { config, to_postgres, to_dir } = cmd;
    let config = load_config(&config);
    let pg =
        config.postgres.as_ref().ok_or_else(|| anyhow!("{}: no `postgres:` section (url_file) to export with", config.path.display()))?;
    let url = pg.url()?;
    let tz = config.timezone.0;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let (moved, from, to) = match (to_postgres, to_dir) {
        (true, _) => {
            let moved = runtime.block_on(transfer::dir_to_postgres(&config.state_dir, tz, url.clone(), pg.lease()))?;
            (moved, config.state_dir.display().to_string(), url.to_string())
        }
        (false, Some(dir)) => {
            let moved = runtime.block_on(transfer::postgres_to_dir(url.clone(), pg.lease(), tz, &dir))?;
            (moved, url.to_string(), dir.display().to_string())
        }
        (false, None) => anyhow::bail!("give --to-postgres or --to-dir DIR"),
    };
    println!("exported {from} to {to}: {} accounts, {} requests, {} history rows", moved.accounts, moved.requests, moved.history_rows);
    Ok(())
}
