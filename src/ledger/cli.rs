//! `creditwatch ledger ...` (in progress).
pub fn run(_cmd: crate::cli::LedgerCommand) -> anyhow::Result<()> {
    anyhow::bail!("the ledger is not built yet")
}
