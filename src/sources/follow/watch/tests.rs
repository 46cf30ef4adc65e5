use super::*;
use std::io::Write;
use std::sync::mpsc::{channel, Receiver};

/// Waits (with a deadline) until the feed has reported `path`, collecting
/// every path reported meanwhile.
fn wait_for_path(feed: &mut ChangeFeed, wake: &Receiver<()>, path: &Path, seen: &mut HashSet<PathBuf>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(path) {
        assert!(Instant::now() < deadline, "no notification for {} (saw {seen:?})", path.display());
        let _ = wake.recv_timeout(Duration::from_millis(100));
        let plan = feed.plan(Instant::now());
        seen.extend(plan.changed);
    }
}

/// Appends to `path` until the feed reports it: notify watches a new folder
/// only after reporting its creation, so a write made at once may land
/// before the watch does (the follower's walk and the safety scan cover
/// that); a later write in the folder is reported.
fn write_until_reported(feed: &mut ChangeFeed, wake: &Receiver<()>, path: &Path, seen: &mut HashSet<PathBuf>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(path) {
        assert!(Instant::now() < deadline, "no notification for {} (saw {seen:?})", path.display());
        append(path, "{}\n");
        let _ = wake.recv_timeout(Duration::from_millis(100));
        let plan = feed.plan(Instant::now());
        seen.extend(plan.changed);
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn feed_for(glob: &str, rescan: Duration) -> (ChangeFeed, Receiver<()>) {
    let pattern = PathPattern::new(glob).unwrap();
    let (tx, rx) = channel();
    (ChangeFeed::start(&[&pattern], tx, rescan), rx)
}

#[test]
fn the_first_plan_is_a_full_scan_then_only_what_changed_until_the_safety_scan() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p/a/s.jsonl");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    append(&file, "{}\n");
    let (mut feed, wake) = feed_for(&format!("{}/p/**/*.jsonl", dir.path().display()), Duration::from_secs(3600));
    let t0 = Instant::now();
    assert_eq!(feed.plan(t0).full, Some(Why::Start));
    assert!(feed.notifying());

    append(&file, "{}\n");
    let mut seen = HashSet::new();
    wait_for_path(&mut feed, &wake, &file, &mut seen);
    // Folders made later are watched too (notify adds them): files in them
    // are reported. One level at a time, each watch proven by a write in
    // its folder before the next folder is made in it: notify adds the
    // watch of a new folder after reporting it, so on a loaded machine a
    // subfolder made at once may be seen only by the walk of its parent
    // (the follower's listing) and the safety scan.
    std::fs::create_dir(dir.path().join("p/b")).unwrap();
    wait_for_path(&mut feed, &wake, &dir.path().join("p/b"), &mut seen);
    write_until_reported(&mut feed, &wake, &dir.path().join("p/b/probe.jsonl"), &mut seen);
    std::fs::create_dir(dir.path().join("p/b/c")).unwrap();
    wait_for_path(&mut feed, &wake, &dir.path().join("p/b/c"), &mut seen);
    write_until_reported(&mut feed, &wake, &dir.path().join("p/b/c/t.jsonl"), &mut seen);

    let plan = feed.plan(t0 + Duration::from_secs(10));
    assert_eq!(plan.full, None);
    assert_eq!(feed.plan(t0 + Duration::from_secs(3600)).full, Some(Why::Safety));
    assert_eq!(feed.plan(t0 + Duration::from_secs(3601)).full, None, "the safety scan is not repeated at once");
}

/// What the safety scan is for: inotify reports a write where it was made,
/// and a write through a hard link in an unwatched folder is reported
/// nowhere. Events arrive in order, so once a later write elsewhere is
/// reported, the earlier one never will be.
#[test]
fn a_write_through_a_hard_link_elsewhere_is_not_notified() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("p/s.jsonl");
    let sentinel = dir.path().join("p/sentinel.jsonl");
    std::fs::create_dir_all(watched.parent().unwrap()).unwrap();
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    append(&watched, "{}\n");
    let link = dir.path().join("elsewhere/link.jsonl");
    std::fs::hard_link(&watched, &link).unwrap();
    let (mut feed, wake) = feed_for(&format!("{}/p/*.jsonl", dir.path().display()), Duration::from_secs(3600));
    feed.plan(Instant::now());

    append(&link, "{\"more\":1}\n");
    append(&sentinel, "{}\n");
    let mut seen = HashSet::new();
    wait_for_path(&mut feed, &wake, &sentinel, &mut seen);
    assert!(!seen.contains(&watched), "{seen:?}");
    assert_eq!(std::fs::read_to_string(&watched).unwrap(), "{}\n{\"more\":1}\n");
}

#[test]
fn a_folder_that_did_not_exist_is_watched_once_made() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("later/sessions");
    let (mut feed, wake) = feed_for(&format!("{}/**/*.jsonl", base.display()), Duration::from_secs(3600));
    let t0 = Instant::now();
    assert_eq!(feed.plan(t0).full, Some(Why::Start));
    assert_eq!(feed.plan(t0).full, None);
    std::fs::create_dir_all(base.join("2026/12")).unwrap();
    // The round that finds the folder scans it whole: its files were made unwatched.
    assert_eq!(feed.plan(t0).full, Some(Why::Polling));
    let file = base.join("2026/12/s.jsonl");
    append(&file, "{}\n");
    let mut seen = HashSet::new();
    wait_for_path(&mut feed, &wake, &file, &mut seen);
}

#[test]
fn an_overflow_polls_for_a_while_and_a_failure_polls_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (mut feed, _wake) = feed_for(&format!("{}/*.jsonl", dir.path().display()), Duration::from_secs(30));
    let t0 = Instant::now();
    feed.plan(t0);
    // What notify reports when the kernel's queue overflowed.
    lock(&feed.pending).overflowed = true;
    assert_eq!(feed.plan(t0).full, Some(Why::Polling));
    assert_eq!(feed.plan(t0 + Duration::from_secs(29)).full, Some(Why::Polling));
    assert_eq!(feed.plan(t0 + Duration::from_secs(31)).full, None);
    assert!(feed.notifying());
    // What notify reports when a new folder's watch hits max_user_watches.
    lock(&feed.pending).failed = Some("OS file watch limit reached".into());
    assert_eq!(feed.plan(t0 + Duration::from_secs(32)).full, Some(Why::Polling));
    assert!(!feed.notifying());
    assert_eq!(feed.plan(t0 + Duration::from_secs(33)).full, Some(Why::Polling));
}

#[test]
fn roots_are_the_bases_and_a_folder_inside_a_recursive_one_is_left_to_it() {
    let p = |s: &str| PathPattern::new(s).unwrap();
    let patterns = [p("/a/b/**/*.jsonl"), p("/a/b/c/*.json"), p("/x/*.log"), p("/y/z.log"), p("/x/*.txt")];
    let refs: Vec<&PathPattern> = patterns.iter().collect();
    let got: Vec<(String, bool)> = roots(&refs).iter().map(|r| (r.dir.display().to_string(), r.recursive)).collect();
    assert_eq!(got, [("/a/b".to_string(), true), ("/x".to_string(), false), ("/y".to_string(), false)]);
    let deep = [p("/a/*/s/*.jsonl")];
    let refs: Vec<&PathPattern> = deep.iter().collect();
    assert!(roots(&refs)[0].recursive);
}
