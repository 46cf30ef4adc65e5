//! Paths provider: turns a source's globs into the files that exist now.
//!
//! A glob is split into its literal base directory and the pattern below it;
//! only the base is walked. `*` does not cross `/` (globset's
//! `literal_separator`), `**` does. Symlinks are followed with loop
//! detection; directories that match are ignored; unreadable places are
//! reported, not fatal.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use walkdir::WalkDir;

/// One configured path pattern, `~` already expanded.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub pattern: String,
    base: PathBuf,
    matcher: Option<GlobMatcher>,
}

impl PathPattern {
    pub fn new(pattern: &str) -> Result<PathPattern, String> {
        let pattern = expand_tilde(pattern);
        if pattern.trim().is_empty() {
            return Err("empty path pattern".into());
        }
        let base = literal_base(&pattern);
        if base == Path::new(&pattern) {
            return Ok(PathPattern { base, pattern, matcher: None });
        }
        let glob = GlobBuilder::new(&pattern).literal_separator(true).build().map_err(|e| format!("bad glob `{pattern}`: {e}"))?;
        Ok(PathPattern { base, matcher: Some(glob.compile_matcher()), pattern })
    }

    pub fn matches(&self, path: &Path) -> bool {
        match &self.matcher {
            Some(m) => m.is_match(path),
            None => path == self.base,
        }
    }

    /// The directory walked for this pattern (the file itself for a literal).
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// A path without glob characters: one file.
    pub fn is_literal(&self) -> bool {
        self.matcher.is_none()
    }

    /// How many folders deep below the base a match can be (`None`: any,
    /// with `**`). `base/*.jsonl` is 1: its base's subfolders are not walked.
    pub fn depth(&self) -> Option<usize> {
        if self.pattern.contains("**") {
            return None;
        }
        Some(Path::new(&self.pattern).strip_prefix(&self.base).map_or(0, |rest| rest.components().count()))
    }

    /// False when no name this pattern matches can end with `suffix`: its
    /// last part ends with a literal tail that rules it out (`*.json` and
    /// `.db`). The database follower lists only what may be a database.
    pub fn may_end_with(&self, suffix: &str) -> bool {
        let last = self.pattern.rsplit('/').next().unwrap_or("");
        let tail = last.rsplit(['*', '?', '[', ']', '{', '}']).next().unwrap_or("");
        tail.ends_with(suffix) || suffix.ends_with(tail)
    }
}

/// `~/x` -> `$HOME/x`.
pub fn expand_tilde(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest).to_string_lossy().into_owned(),
        _ if path == "~" => std::env::var("HOME").unwrap_or_else(|_| path.to_string()),
        _ => path.to_string(),
    }
}

/// The leading components without glob metacharacters.
fn literal_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for component in Path::new(pattern).components() {
        let text = component.as_os_str().to_string_lossy();
        if text.contains(['*', '?', '[', '{']) {
            break;
        }
        base.push(component);
    }
    base
}

/// A place that could not be listed. Listing goes on past it.
#[derive(Debug, Clone)]
pub struct DiscoverError {
    pub path: PathBuf,
    pub message: String,
}

/// The regular files matching any of the patterns, sorted, without repeats.
pub fn find_files(patterns: &[PathPattern]) -> (Vec<PathBuf>, Vec<DiscoverError>) {
    list(patterns, None)
}

/// The files matching the patterns inside `dir`, a folder that just
/// appeared (made, or moved in): nothing in it was ever notified.
pub fn find_files_under(patterns: &[PathPattern], dir: &Path) -> (Vec<PathBuf>, Vec<DiscoverError>) {
    list(patterns, Some(dir))
}

fn list(patterns: &[PathPattern], within: Option<&Path>) -> (Vec<PathBuf>, Vec<DiscoverError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for pattern in patterns {
        // Walk the pattern's base, or only the part of it inside `within`.
        let root = match within {
            None => &pattern.base,
            Some(dir) if dir.starts_with(&pattern.base) => dir,
            Some(dir) if pattern.base.starts_with(dir) => &pattern.base,
            Some(_) => continue,
        };
        if pattern.matcher.is_none() {
            match std::fs::metadata(&pattern.base) {
                Ok(m) if m.is_file() => files.push(pattern.base.clone()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errors.push(DiscoverError { path: pattern.base.clone(), message: e.to_string() }),
            }
            continue;
        }
        if !root.exists() {
            continue;
        }
        let mut walk = WalkDir::new(root).follow_links(true);
        if let Some(depth) = pattern.depth() {
            // Measured from the base; `root` may be a folder below it.
            let below = root.strip_prefix(&pattern.base).map_or(0, |r| r.components().count());
            walk = walk.max_depth(depth.saturating_sub(below));
        }
        for entry in walk {
            match entry {
                Ok(entry) => {
                    if entry.file_type().is_file() && pattern.matches(entry.path()) {
                        files.push(entry.into_path());
                    }
                }
                Err(e) => {
                    // A file that vanished between listing and reading is not news.
                    if e.io_error().map(|io| io.kind()) == Some(std::io::ErrorKind::NotFound) {
                        continue;
                    }
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| root.to_path_buf());
                    errors.push(DiscoverError { path, message: e.to_string() });
                }
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_does_not_cross_directories_but_double_star_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in ["a/s1.jsonl", "a/s1/subagents/agent-1.jsonl", "b/notes.txt", "top.jsonl"] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        std::fs::create_dir_all(root.join("c/dir.jsonl")).unwrap();
        let names = |pat: &str| {
            let p = PathPattern::new(&format!("{}/{pat}", root.display())).unwrap();
            let (files, errors) = find_files(&[p]);
            assert!(errors.is_empty(), "{errors:?}");
            files.iter().map(|f| f.strip_prefix(root).unwrap().display().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names("*/*.jsonl"), ["a/s1.jsonl"]);
        assert_eq!(names("**/*.jsonl"), ["a/s1/subagents/agent-1.jsonl", "a/s1.jsonl", "top.jsonl"]);
        assert_eq!(names("top.jsonl"), ["top.jsonl"]);
        assert!(names("missing/**/*.jsonl").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_reported_not_followed_forever() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/x.jsonl"), "").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("d/loop")).unwrap();
        let p = PathPattern::new(&format!("{}/**/*.jsonl", dir.path().display())).unwrap();
        let (files, errors) = find_files(&[p]);
        assert_eq!(files, [dir.path().join("d/x.jsonl")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn a_new_folder_is_listed_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in ["old/a.jsonl", "new/deep/b.jsonl", "new/deep/c.txt"] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        let patterns = [PathPattern::new(&format!("{}/**/*.jsonl", root.display())).unwrap()];
        let (files, errors) = find_files_under(&patterns, &root.join("new"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(files, [root.join("new/deep/b.jsonl")]);
        // A folder above the pattern's base: the base is walked.
        let deeper = [PathPattern::new(&format!("{}/new/deep/*.jsonl", root.display())).unwrap()];
        assert_eq!(find_files_under(&deeper, root).0, [root.join("new/deep/b.jsonl")]);
        assert!(find_files_under(&deeper, &root.join("old")).0.is_empty());
    }

    #[test]
    fn depth_and_suffix_say_what_a_pattern_can_match() {
        let p = |s: &str| PathPattern::new(s).unwrap();
        assert_eq!(p("/a/*.db").depth(), Some(1));
        assert_eq!(p("/a/*/x/*.jsonl").depth(), Some(3));
        assert_eq!(p("/a/**/*.jsonl").depth(), None);
        assert!(p("/a/opencode.db").may_end_with(".db"));
        assert!(p("/a/opencode-*.db").may_end_with(".db"));
        assert!(p("/a/**").may_end_with(".db"));
        assert!(p("/a/*.{db,json}").may_end_with(".db"));
        assert!(!p("/a/storage/message/**/*.json").may_end_with(".db"));
    }

    #[test]
    fn tilde_expands_to_home() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(expand_tilde("~/.claude/projects"), format!("{home}/.claude/projects"));
        assert_eq!(expand_tilde("/abs/~/x"), "/abs/~/x");
        assert!(PathPattern::new("  ").is_err());
    }
}
