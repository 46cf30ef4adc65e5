//! `creditwatch run` (in progress).
pub fn run(_config: &crate::config::Config) -> anyhow::Result<()> {
    anyhow::bail!("the daemon is not built yet")
}
