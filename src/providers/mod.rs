//! The provider's own figures (issue 21's shell; issue 22's readers in `api`).
// Minimal module list of the `admin` branch, reconciled with `providers` at merge.

pub mod api;
pub mod audit;
pub mod spend;
