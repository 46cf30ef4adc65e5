//! A real PostgreSQL for the tests: Debian's `postgresql` package (installed
//! with apt-get when `initdb` is missing), a cluster initdb'ed in a
//! temporary folder, listening on a free loopback port with password
//! (scram-sha-256) authentication, stopped and removed on drop.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root (CI) the
//! cluster belongs to the `postgres` user the package creates, the folder
//! chowned to it and every server command run through `runuser`.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const USER: &str = "creditwatch";
pub const PASSWORD: &str = "s3cret-pg-password";

/// One running cluster.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// apt-get is not safe to run twice at once (the test binaries of one
/// `cargo test` may start clusters together).
static INSTALL: Mutex<()> = Mutex::new(());

/// The folder of `initdb`, `pg_ctl` and `postgres`: the newest version under
/// /usr/lib/postgresql, installed first when there is none.
pub fn bin_dir() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = find_bin() {
        return found;
    }
    let lock = "/tmp/creditwatch-apt.lock";
    // flock serialises the installs of concurrent test binaries.
    let script = "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql";
    let status = Command::new("flock").args([lock, "sh", "-c", script]).status().expect("running apt-get");
    assert!(status.success(), "installing Debian's postgresql package failed");
    find_bin().expect("no /usr/lib/postgresql/*/bin/initdb after installing postgresql")
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// A free loopback port (bound, then released for the server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Postgres {
    /// initdb + start, waiting until it accepts connections.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("creditwatch-pg").tempdir().unwrap();
        std::fs::write(dir.path().join("pwfile"), PASSWORD).unwrap();
        std::fs::create_dir(dir.path().join("sock")).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap().success();
            assert!(ok, "chown of the cluster folder to postgres failed");
        }
        let pg = Postgres { bin, dir, port: free_port() };
        let data = pg.data();
        let pwfile = pg.dir.path().join("pwfile");
        let out = pg.run("initdb", &["-D", s(&data), "-U", USER, "--pwfile", s(&pwfile), "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"]);
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg.start_server();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command of the server's, as the cluster's owner.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
    }

    /// Starts the server (again, after `stop`) and waits until it is up.
    pub fn start_server(&self) {
        let sock = self.dir.path().join("sock");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=50",
            self.port,
            s(&sock)
        );
        let log = self.dir.path().join("server.log");
        let out = self.run("pg_ctl", &["-D", s(&self.data()), "-l", s(&log), "-o", &opts, "-w", "-t", "60", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL does not listen on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (connections cut, as when a database host goes).
    pub fn stop_server(&self) {
        self.stop_server_with("immediate");
    }

    /// Stops the server with a `pg_ctl stop -m` mode: `fast` (sessions ended,
    /// a checkpoint, as a planned restart does) or `immediate` (a crash,
    /// recovered from the WAL at the next start).
    pub fn stop_server_with(&self, mode: &str) {
        let out = self.run("pg_ctl", &["-D", s(&self.data()), "-m", mode, "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop -m {mode} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The URL the daemon reads from its `url_file` (password included).
    pub fn url(&self) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/postgres", self.port)
    }

    /// Writes the URL to a file with mode 0600, as an operator would.
    pub fn write_url_file(&self, path: &Path) {
        std::fs::write(path, format!("{}\n", self.url())).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Runs SQL with psql (for looking at the database from outside).
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &self.url(), "-c", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The temp dir goes with `self.dir`; the server must be gone first.
        let _ = self.run("pg_ctl", &["-D", s(&self.data()), "-m", "immediate", "-w", "stop"]);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The time every test booking is at.
pub fn at() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

/// Books request `id` costing `cost` on account "team" into `state`, as the
/// daemon's booking does; the record to commit.
pub fn booking(state: &mut creditwatch::state::State, id: u128, cost: rust_decimal::Decimal) -> creditwatch::state::Record {
    use creditwatch::state::{seen::Seen, Batch, Booked, Record};
    use creditwatch::usage::{EventId, Tokens};
    let tokens = Tokens { input: 1000, output: 100, ..Tokens::default() };
    let ledger = state.ledger.book_usage("team", "claude_code", at(), cost).unwrap();
    let booked = Booked {
        source: "otlp".into(),
        account: "team".into(),
        app: "claude_code".into(),
        model: "claude-sonnet-4-5".into(),
        id: EventId(id),
        at: at(),
        tokens,
        cost,
        new_request: true,
        unpriced: false,
        seen: Seen { tokens, web_searches: 0, cost, at: at().timestamp() },
        user: None,
        cache_savings: rust_decimal::Decimal::ZERO,
        premium_requests: rust_decimal::Decimal::ZERO,
        user_cost: None,
    };
    let batch = Batch { usage: vec![booked], ledger, ..Batch::default() };
    state.apply_batch_usage(&batch);
    Record::Batch(batch)
}
