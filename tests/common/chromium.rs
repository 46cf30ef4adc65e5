//! Debian's `chromium`, installed with apt-get when missing (the tests that
//! open a page in a real browser need it; they never skip).

use std::process::Command;

pub fn chromium() -> &'static str {
    let works = |bin: &str| Command::new(bin).arg("--version").output().is_ok_and(|o| o.status.success());
    if !works("chromium") {
        let update = Command::new("apt-get").arg("update").status().expect("apt-get update");
        assert!(update.success(), "apt-get update failed");
        let install =
            Command::new("apt-get").args(["install", "-y", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive").status().expect("apt-get");
        assert!(install.success(), "apt-get install chromium failed");
    }
    assert!(works("chromium"), "chromium does not run");
    "chromium"
}
