//! Version and git revision, for `--version` and `creditwatch_build_info`.
//! `build.rs` sets the revision (from `CREDITWATCH_GIT_REVISION` or git).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = env!("CREDITWATCH_GIT_REVISION");
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (revision ", env!("CREDITWATCH_GIT_REVISION"), ")");
