//! Records the git revision for `--version` and `creditwatch_build_info`.

use std::process::Command;

fn main() {
    let revision = std::env::var("CREDITWATCH_GIT_REVISION").ok().filter(|r| !r.is_empty()).or_else(|| {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    let revision = revision.unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CREDITWATCH_GIT_REVISION={revision}");
    println!("cargo:rerun-if-env-changed=CREDITWATCH_GIT_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
