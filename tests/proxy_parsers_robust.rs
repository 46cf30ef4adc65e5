//! No input makes a proxy parser panic: random bytes, and every fixture line
//! cut short or with one byte changed, go through each parser; the untouched
//! fixture lines still parse afterwards (a bad line leaves no bad state).

use std::path::Path;
use std::sync::Arc;

use creditwatch::sources::formats::anthropic::{AnthropicParser, StreamOptions};
use creditwatch::sources::formats::jsonl::{FieldMap, JsonlParser};
use creditwatch::sources::formats::litellm::{LitellmOptions, LitellmParser};
use creditwatch::sources::formats::openai::OpenAiParser;
use creditwatch::sources::LineParser;
use proptest::prelude::*;

fn parsers() -> Vec<(&'static str, Box<dyn LineParser>)> {
    let map: FieldMap = serde_yaml_ng::from_str(
        "{ id: /req/id, model: /req/llm, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }",
    )
    .unwrap();
    vec![
        ("anthropic", Box::new(AnthropicParser::new(&StreamOptions::default(), Arc::default()).unwrap())),
        ("openai", Box::new(OpenAiParser::new(Arc::default()))),
        ("litellm", Box::new(LitellmParser::new(LitellmOptions::default(), Arc::default()))),
        ("generic", Box::new(JsonlParser::new(&map, Arc::default()).unwrap())),
    ]
}

fn fixture_lines(name: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/fixtures/proxy/{name}.jsonl"));
    std::fs::read(path).unwrap().split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

/// Events from the fixture: 150 requests each (LiteLLM: 145 that succeeded).
fn events(name: &str, parser: &mut dyn LineParser) -> usize {
    let ok = fixture_lines(name).iter().filter(|l| matches!(parser.parse(l), Ok(Some(_)))).count();
    ok + parser.drain_pending(None).len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (_, mut p) in parsers() {
            let _ = p.parse(&bytes);
            let _ = p.drain_pending(None);
        }
    }

    #[test]
    fn damaged_fixture_lines(line in 0usize..150, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        for (name, mut p) in parsers() {
            let lines = fixture_lines(name);
            let mut damaged = lines[line % lines.len()].clone();
            let i = at.index(damaged.len());
            if cut { damaged.truncate(i) } else { damaged[i] = byte }
            let _ = p.parse(&damaged);
            // A damaged start may still be a valid start of another stream.
            let _ = p.drain_pending(None);
            let want = if name == "litellm" { 145 } else { 150 };
            prop_assert_eq!(events(name, p.as_mut()), want, "{}", name);
        }
    }
}
