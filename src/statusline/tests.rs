use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/statusline/status.json");

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn a_snapshot_is_written_once_per_change_and_holds_no_paths() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("statusline");
    let status = Status::parse(FIXTURE.as_bytes()).unwrap();
    assert!(write_snapshot(&folder, &status, at("2026-12-01T21:00:00Z")).unwrap());
    let path = folder.join("0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11.json");
    let want = r#"{"v":1,"session_id":"0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11","at":"2026-12-01T21:00:00Z","model":"claude-sonnet-5-5","cost_usd":"0.8421","windows":{"five_hour":{"used_percentage":41.0,"resets_at":1796162400},"seven_day":{"used_percentage":12.5,"resets_at":1796680800}}}"#;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{want}\n"));
    assert!(!write_snapshot(&folder, &status, at("2026-12-01T21:00:05Z")).unwrap(), "same figures: not rewritten");
    let mut grown = status.clone();
    grown.windows[0].used_percent = "42".parse().unwrap();
    assert!(write_snapshot(&folder, &grown, at("2026-12-01T21:01:00Z")).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""at":"2026-12-01T21:01:00Z""#) && text.contains(r#""used_percentage":42.0"#), "{text}");
    assert!(!text.contains("/home/dev"), "no paths");
    let mut names: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let want = ["0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11.json", "0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11.json.prev"];
    assert_eq!(names, want, "the replaced one kept as .prev, no temporary file left");
    let prev = std::fs::read_to_string(folder.join(want[1])).unwrap();
    assert!(prev.contains(r#""used_percentage":41.0"#), "{prev}");
}

#[test]
fn no_snapshot_without_a_safe_session_id_or_windows() {
    let dir = tempfile::tempdir().unwrap();
    let mut status = Status::parse(FIXTURE.as_bytes()).unwrap();
    for bad in ["../escape", ".hidden", "", "a/b"] {
        status.session_id = Some(bad.into());
        assert!(!write_snapshot(dir.path(), &status, at("2026-12-01T21:00:00Z")).unwrap(), "{bad}");
    }
    status.session_id = Some("s1".into());
    status.windows.clear();
    assert!(!write_snapshot(dir.path(), &status, at("2026-12-01T21:00:00Z")).unwrap());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_folder_and_account_come_from_the_claude_statusline_source() {
    let text = r#"
listen: "0.0.0.0:9950"
accounts: [{ name: personal, plan_windows: true, direct_apps: [claude-code] }]
sources:
  - { name: cc, format: claude_code, paths: ["/logs/*.jsonl"], account: personal }
  - { name: plan, format: claude_statusline, paths: ["/var/lib/cw/plan/*.json"], account: personal }
"#;
    let config = Config::parse(text, Path::new("/etc/cw/config.yaml")).unwrap();
    let setup = Setup::from_config(Some(&config));
    assert_eq!(setup, Setup { folder: PathBuf::from("/var/lib/cw/plan"), account: Some("personal".into()), listen: "0.0.0.0:9950".into() });
    let none = Setup::from_config(None);
    assert_eq!((none.folder, none.account, none.listen), (default_folder(), None, DEFAULT_LISTEN.to_string()));
    assert!(default_folder().ends_with(".local/state/creditwatch/statusline") || std::env::var_os("XDG_STATE_HOME").is_some());
}
