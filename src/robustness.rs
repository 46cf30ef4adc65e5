//! Entry points for the fuzz targets (`fuzz/fuzz_targets/`) and for the test
//! that replays their committed seeds (`tests/fuzz_seeds.rs`): each takes
//! arbitrary bytes, drives one piece of creditwatch that reads outside input
//! exactly as the daemon does, and checks what must hold whatever the bytes.
//!
//! They never panic on their own: a broken invariant is a `Violation`, which
//! the fuzz target turns into a crash. A panic from inside creditwatch is a
//! bug the fuzzer found.

use std::path::Path;
use std::sync::OnceLock;

use rust_decimal::Decimal;

use crate::ledger::journal;
use crate::pricing::PriceTable;
use crate::sources::config::SourceConfig;
use crate::sources::{Format, LineParser, SourceSpec};
use crate::usage::UsageEvent;

/// An invariant that did not hold for some input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);

fn check(holds: bool, what: impl FnOnce() -> String) -> Result<(), Violation> {
    if holds {
        Ok(())
    } else {
        Err(Violation(what()))
    }
}

/// The source each parser target reads as: what a user would configure for
/// the shared proxy fixtures (user-agent rules for OpenAI, the generic
/// gateway's field map for `jsonl`).
fn source_yaml(format: Format) -> String {
    let extra = match format {
        Format::Openai => {
            r#", app_from: user_agent, app_rules: [{ match: "^claude-cli/", app: claude-code }, { match: "^Cursor/", app: cursor }]"#
        }
        Format::Jsonl => {
            ", field_map: { id: /req/id, model: /req/llm, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }"
        }
        _ => "",
    };
    format!("{{ name: fuzz, format: {}, paths: [], account: fuzz, app: fuzz-app{extra} }}", format.as_str())
}

/// A parser for `format`, built the way the daemon builds one from
/// `config.yaml` (`SourceConfig` -> `SourceSpec::from_config` -> `parser`).
/// The specs are built once (compiling their regexes per input would be most
/// of a run); each call gets a fresh parser.
fn parsers_for(format: Format) -> Result<Parsers, Violation> {
    static SPECS: OnceLock<Vec<(Format, Result<SourceSpec, Violation>)>> = OnceLock::new();
    let specs = SPECS.get_or_init(|| {
        [
            Format::ClaudeCode,
            Format::Anthropic,
            Format::Openai,
            Format::Litellm,
            Format::Jsonl,
            Format::Codex,
            Format::QwenCode,
            Format::GeminiCli,
            Format::CopilotCli,
        ]
        .map(|f| (f, spec_for(f)))
        .into()
    });
    match specs.iter().find(|(f, _)| *f == format) {
        Some((_, Ok(spec))) => match format.reading() {
            crate::sources::Reading::Lines => Ok(Parsers::Lines(spec.parser())),
            crate::sources::Reading::Documents => spec
                .document_parser()
                .map(Parsers::Documents)
                .ok_or_else(|| Violation(format!("`{}` has no document parser", format.as_str()))),
        },
        Some((_, Err(e))) => Err(e.clone()),
        None => Err(Violation(format!("no source for format `{}`", format.as_str()))),
    }
}

/// A fresh parser of either reading mode.
enum Parsers {
    Lines(Box<dyn LineParser>),
    Documents(Box<dyn crate::sources::DocumentParser>),
}

/// A line parser for `format`, built the way the daemon builds one.
pub fn parser_for(format: Format) -> Result<Box<dyn LineParser>, Violation> {
    match parsers_for(format)? {
        Parsers::Lines(parser) => Ok(parser),
        Parsers::Documents(_) => Err(Violation(format!("`{}` is read as whole documents", format.as_str()))),
    }
}

/// Reads `data` as one whole file of a document format (Gemini CLI), as the
/// follower does each time the file changes: every event can be priced and
/// costs nothing below zero, and reading the same bytes again gives the same
/// events (ids are stable, or a re-read would bill again).
pub fn parse_document(format: Format, data: &[u8]) -> Result<(), Violation> {
    let Parsers::Documents(mut parser) = parsers_for(format)? else {
        return Err(Violation(format!("`{}` is read line by line", format.as_str())));
    };
    let first = parser.parse_document(data);
    if let Ok(items) = &first {
        for event in items.iter().flatten() {
            priced(event)?;
        }
    }
    let again = parser.parse_document(data);
    check(first == again, || "reading the same document twice gave other results".to_string())
}

fn spec_for(format: Format) -> Result<SourceSpec, Violation> {
    let config: SourceConfig = serde_yaml_ng::from_str(&source_yaml(format)).map_err(|e| Violation(format!("source config: {e}")))?;
    SourceSpec::from_config(&config).map_err(Violation)
}

/// Feeds `data`, split at `\n`, to one parser (stateful parsers keep state
/// across lines), then drains what it holds back, pricing every event. After
/// the final drain nothing may be left pending.
pub fn parse_lines(format: Format, data: &[u8]) -> Result<(), Violation> {
    let mut parser = parser_for(format)?;
    for line in data.split(|&b| b == b'\n') {
        if let Ok(Some(event)) = parser.parse(line) {
            priced(&event)?;
        }
    }
    for event in parser.drain_pending(None) {
        priced(&event)?;
    }
    let left = parser.drain_pending(None).len();
    check(left == 0, || format!("{left} events still pending after draining at end of input"))
}

/// Every event a parser returns can be priced with the built-in table, and
/// costs nothing below zero.
fn priced(event: &UsageEvent) -> Result<(), Violation> {
    static PRICES: OnceLock<PriceTable> = OnceLock::new();
    let cost = PRICES.get_or_init(PriceTable::builtin).price(event).cost;
    check(cost >= Decimal::ZERO, || format!("event {:?} of model `{}` costs {cost}", event.id, event.model))
}

/// Reads `data` as an OTLP export request, as protobuf and as OTLP/JSON,
/// the way the receiver does: every record is an event, skipped or an error,
/// and every event can be priced.
pub fn otlp_request(data: &[u8]) -> Result<(), Violation> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use prost::Message;
    let decoded = [ExportLogsServiceRequest::decode(data).ok(), serde_json::from_slice::<ExportLogsServiceRequest>(data).ok()];
    for request in decoded.iter().flatten() {
        let records = crate::sources::formats::otlp::read_request(request, None);
        let count = crate::sources::formats::otlp::record_count(request);
        check(records.len() == count, || format!("{} results for {count} records", records.len()))?;
        for record in &records {
            if let crate::sources::formats::otlp::Record::Event(event) = record {
                priced(event)?;
            }
        }
    }
    Ok(())
}

/// Decodes `data` as a whole journal and checks the verdict is consistent:
/// records are contiguous and re-encode to the bytes they came from, a torn
/// tail's kept prefix decodes alone to the same records, the bytes before
/// damage decode cleanly, and a snapshot offset at a record boundary yields
/// the records after it.
pub fn journal_bytes(data: &[u8]) -> Result<(), Violation> {
    let decoded = match journal::decode(data, 0) {
        Ok(decoded) => decoded,
        Err(damage) => {
            let at = usize::try_from(damage.offset).unwrap_or(usize::MAX);
            check(at < data.len(), || format!("damage at {at} is not inside the {} bytes", data.len()))?;
            let before = journal::decode(&data[..at], 0);
            let clean = matches!(&before, Ok(d) if d.summary.torn_tail.is_none() && d.summary.bytes == damage.offset);
            return check(clean, || format!("bytes before the damage at {at} do not decode cleanly: {before:?}"));
        }
    };
    let summary = &decoded.summary;
    check(summary.records == decoded.records.len() as u64, || {
        format!("summary counts {} records, got {}", summary.records, decoded.records.len())
    })?;
    let mut end = 0;
    for record in &decoded.records {
        check(record.offset == end && !record.payload.is_empty(), || format!("record at {} after end {end}", record.offset))?;
        end = record.end();
    }
    check(summary.bytes == end, || format!("summary ends at {}, records at {end}", summary.bytes))?;
    let payloads: Vec<Vec<u8>> = decoded.records.iter().map(|r| r.payload.clone()).collect();
    let kept = usize::try_from(end).unwrap_or(usize::MAX).min(data.len());
    let reencoded = journal::encode(&payloads).map_err(|e| Violation(format!("re-encoding: {e}")))?;
    check(reencoded == data[..kept], || "re-encoded records differ from the bytes they came from".into())?;
    match summary.torn_tail {
        None => check(kept == data.len(), || format!("no torn tail, yet the records end at {kept} of {}", data.len()))?,
        Some(torn) => {
            check(torn == end, || format!("torn tail at {torn}, records end at {end}"))?;
            let again = journal::decode(&data[..kept], 0);
            let same = matches!(&again, Ok(d) if d.records == decoded.records && d.summary.torn_tail.is_none());
            check(same, || format!("the kept prefix decodes differently: {again:?}"))?;
        }
    }
    if let Some(middle) = decoded.records.get(decoded.records.len() / 2) {
        let later = journal::decode(data, middle.offset);
        let same = matches!(&later, Ok(d) if d.records[..] == decoded.records[decoded.records.len() / 2..]);
        check(same, || format!("decoding from the record at {} differs: {later:?}", middle.offset))?;
    }
    Ok(())
}

/// Loads `data` (as UTF-8, lossily) as `config.yaml`; errors must name the
/// file.
pub fn config_text(data: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(data);
    match crate::config::Config::parse(&text, Path::new("fuzz.yaml")) {
        Ok(_) => Ok(()),
        Err(e) => check(e.to_string().starts_with("fuzz.yaml"), || format!("error does not name the file: {e}")),
    }
}

/// Loads `data` (as UTF-8, lossily) as an exporter-toolkit web config; errors
/// must name the file.
pub fn web_config_text(data: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(data);
    match crate::http::web_config::WebConfig::parse(&text, Path::new("fuzz-web.yml")) {
        Ok(_) => Ok(()),
        Err(e) => check(e.to_string().starts_with("fuzz-web.yml"), || format!("error does not name the file: {e}")),
    }
}

/// One OpenCode message (a database row's `data`, or a message file): read
/// as a row and as a file, never a panic; a request prices at zero or more
/// and reads the same either way; read again under another id (a fork's
/// copy) it is booked under the first id, so a copy is never a new request.
pub fn opencode_message(data: &[u8]) -> Result<(), Violation> {
    use crate::sources::formats::opencode::{read_message, Copies};
    let as_row = read_message(data, Some("msg_fuzz_row"), Some("ses_fuzz"));
    let as_file = read_message(data, None, None);
    let mut copies = Copies::default();
    let first = copies.read_row(data, "msg_fuzz_row", Some("ses_fuzz"));
    let copy = copies.read_row(data, "msg_fuzz_copy", Some("ses_fork"));
    match (&as_row, &first, &copy) {
        (Ok(row), Ok(first), Ok(copy)) => {
            check(row == first, || "a first read through Copies differs from a plain read".into())?;
            if let Some(event) = &row.event {
                priced(event)?;
                let copied = copy.event.as_ref().map(|e| e.id);
                check(copied == Some(event.id), || format!("a copy is booked under {copied:?}, not {:?}", event.id))?;
            }
        }
        (Err(a), Err(b), Err(c)) => check(a == b && b == c, || format!("one message, three errors: {a} / {b} / {c}"))?,
        _ => return Err(Violation(format!("reads disagree: {as_row:?} / {first:?} / {copy:?}"))),
    }
    if let (Ok(row), Ok(file)) = (&as_row, &as_file) {
        let (a, b) = (
            row.event.as_ref().map(|e| (&e.tokens, e.stated_cost, e.timestamp)),
            file.event.as_ref().map(|e| (&e.tokens, e.stated_cost, e.timestamp)),
        );
        check(b.is_none() || a == b, || format!("as a file the message reads {b:?}, as a row {a:?}"))?;
    }
    Ok(())
}
