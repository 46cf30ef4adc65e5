//! Finds the line of a field in a YAML text, so errors found after
//! deserializing (an account named by a source but never defined) can still
//! say where to look.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a path into the document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `sources[1].account` -> [Key(sources), Index(1), Key(account)].
pub fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        // Keys come from the user's text and may hold any brackets: slice
        // only just past an ASCII `[` or `]`, where a char always starts.
        while let Some(open) = rest.find('[') {
            let inner = &rest[open + 1..];
            let Some(close) = inner.find(']') else { break };
            if let Ok(i) = inner[..close].parse() {
                steps.push(Step::Index(i));
            }
            rest = &inner[close + 1..];
        }
    }
    steps
}

enum Frame {
    Map { key: Option<String>, expecting_key: bool },
    Seq { index: usize },
}

struct Finder<'p> {
    want: &'p [Step],
    stack: Vec<Frame>,
    path: Vec<Step>,
    found: Option<Marker>,
    /// Deepest prefix of `want` seen, with its place: the best answer when
    /// the field itself is absent.
    best: Option<(usize, Marker)>,
}

impl Finder<'_> {
    /// Called when a node (scalar or container start) begins at `mark`.
    fn node(&mut self, mark: Marker) {
        let mut here = self.path.clone();
        if let Some(Frame::Seq { index }) = self.stack.last() {
            here.push(Step::Index(*index));
        }
        if let Some(Frame::Map { key: Some(k), .. }) = self.stack.last() {
            here.push(Step::Key(k.clone()));
        }
        self.note(&here, mark);
    }

    fn note(&mut self, here: &[Step], mark: Marker) {
        if self.found.is_some() {
            return;
        }
        if here == self.want {
            self.found = Some(mark);
        } else if self.want.starts_with(here) && self.best.is_none_or(|(n, _)| here.len() > n) {
            self.best = Some((here.len(), mark));
        }
    }

    /// After a value node completes, advance the parent frame.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, expecting_key }) => {
                *key = None;
                *expecting_key = true;
            }
            Some(Frame::Seq { index }) => *index += 1,
            None => {}
        }
    }

    fn child_path(&self) -> Vec<Step> {
        let mut p = self.path.clone();
        match self.stack.last() {
            Some(Frame::Seq { index }) => p.push(Step::Index(*index)),
            Some(Frame::Map { key: Some(k), .. }) => p.push(Step::Key(k.clone())),
            _ => {}
        }
        p
    }
}

impl MarkedEventReceiver for Finder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Map { key, expecting_key: expecting @ true }) = self.stack.last_mut() {
                    *key = Some(text.clone());
                    *expecting = false;
                    // The key's own place is where a reader looks.
                    let mut here = self.path.clone();
                    here.push(Step::Key(text));
                    self.note(&here, mark);
                    return;
                }
                self.node(mark);
                self.value_done();
            }
            Event::Alias(_) => self.value_done(),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.node(mark);
                let child = self.child_path();
                self.path = child;
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map { key: None, expecting_key: true },
                    _ => Frame::Seq { index: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.path.pop();
                self.value_done();
            }
            _ => {}
        }
    }
}

/// The 1-based line of `path` in `text`, or of the deepest part of it found.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let want = parse_path(path);
    let mut finder = Finder { want: &want, stack: Vec::new(), path: Vec::new(), found: None, best: None };
    // A parse error here only means we find less; the real error is reported
    // by the deserializer.
    let _ = Parser::new_from_str(text).load(&mut finder, false);
    finder.found.or(finder.best.map(|(_, m)| m)).map(|m| m.line())
}

/// The 1-based line of `path` in `text`, only if that exact field is there.
pub fn exact_line_of(text: &str, path: &str) -> Option<usize> {
    let want = parse_path(path);
    if want.is_empty() {
        return None;
    }
    let mut finder = Finder { want: &want, stack: Vec::new(), path: Vec::new(), found: None, best: None };
    let _ = Parser::new_from_str(text).load(&mut finder, false);
    finder.found.map(|m| m.line())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "listen: x\naccounts:\n  - name: a\n    opening_balance_usd: 5\n  - name: b\nsources:\n  - name: s\n    paths: [\"p\"]\n    account: nope\n";

    #[test]
    fn finds_keys_in_sequences_of_mappings() {
        assert_eq!(line_of(DOC, "listen"), Some(1));
        assert_eq!(line_of(DOC, "accounts[1].name"), Some(5));
        assert_eq!(line_of(DOC, "sources[0].account"), Some(9));
        assert_eq!(line_of(DOC, "sources[0].paths[0]"), Some(8));
        // Absent field: the deepest part that exists.
        assert_eq!(line_of(DOC, "sources[0].app"), Some(7));
    }

    /// Regression (found by the `config` and `web_config` fuzz targets): a
    /// key holding `]` or a non-ASCII character after an index sliced inside
    /// a character, or from past its end, and panicked.
    #[test]
    fn paths_with_any_brackets_and_characters_do_not_panic() {
        assert_eq!(parse_path("a[1]é]"), [Step::Key("a".into()), Step::Index(1)]);
        assert_eq!(parse_path("a[]]"), [Step::Key("a".into())]);
        assert_eq!(parse_path("b[2][x]]["), [Step::Key("b".into()), Step::Index(2)]);
        assert_eq!(parse_path("\u{fffd}[\u{fffd}]"), [Step::Key("\u{fffd}".into())]);
        assert_eq!(
            parse_path("sources[0].paths[3]"),
            [Step::Key("sources".into()), Step::Index(0), Step::Key("paths".into()), Step::Index(3)]
        );
    }
}
