//! From `report`'s merged requests to priced `Record`s: each request priced
//! once (its stated cost when the log gives one), its project and
//! conversation derived from the transcript's path.

use std::collections::HashMap;
use std::path::Path;

use chrono::DateTime;

use super::{Names, Record};
use crate::pricing::PriceTable;
use crate::report::Requests;

/// The records of every request read, and the names they point to.
pub fn from_requests(read: Requests, prices: &PriceTable) -> (Vec<Record>, Names) {
    let mut memo = crate::report::PriceMemo::new(prices, read.names.len());
    let mut names = Names(read.names);
    let mut derived: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut records = Vec::with_capacity(read.requests.len());
    for (id, r) in read.requests {
        let Some(at) = DateTime::from_timestamp(r.at, 0) else { continue };
        let (project, conversation) = *derived.entry((r.file, r.session)).or_insert_with(|| {
            let (project, conversation) = place(Path::new(names.get(r.file)), names.get(r.session));
            let mut number = |name: String| match numbers.get(&name) {
                Some(n) => *n,
                None => {
                    let n = names.intern(&name);
                    numbers.insert(name, n);
                    n
                }
            };
            (number(project), number(conversation))
        });
        let model = names.get(r.model);
        let priced = memo.price(&r, model, at);
        records.push(Record {
            id,
            at,
            account: r.account,
            app: r.app,
            model: r.model,
            session: r.session,
            conversation,
            project,
            user: r.user,
            file: r.file,
            has_session: r.has_session,
            tokens: r.tokens,
            web_searches: u64::from(r.web_searches),
            modifiers: r.modifiers,
            cost: priced.cost,
            priced: priced.priced,
        });
    }
    records.sort_by_key(|a| (a.at, a.id));
    (records, names)
}

/// The project (the folder a transcript is in; for a subagent,
/// `<project>/<session>/subagents/agent-x.jsonl`, the session's folder) and
/// the conversation: the session, or `session/agent-x` for a subagent, which
/// starts with a context of its own.
pub fn place(path: &Path, session: &str) -> (String, String) {
    let folder = |p: Option<&Path>| p.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = path.parent();
    if parent.and_then(Path::file_name).is_some_and(|n| n == "subagents") {
        let project = folder(parent.and_then(Path::parent).and_then(Path::parent));
        let agent = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return (project, format!("{session}/{agent}"));
    }
    (folder(parent), session.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_is_the_transcripts_folder_and_subagents_are_their_own_conversation() {
        // Table: path, session, project, conversation.
        let cases = [
            ("/h/.claude/projects/-home-dev-src-api/s1.jsonl", "s1", "-home-dev-src-api", "s1"),
            ("/h/.claude/projects/-home-dev-src-api/s1/subagents/agent-d7.jsonl", "s1", "-home-dev-src-api", "s1/agent-d7"),
            ("proxy.jsonl", "proxy", "", "proxy"),
            ("/var/log/gw/anthropic.jsonl", "anthropic", "gw", "anthropic"),
        ];
        for (path, session, project, conversation) in cases {
            assert_eq!(place(Path::new(path), session), (project.to_string(), conversation.to_string()), "{path}");
        }
    }
}
