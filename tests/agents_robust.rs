//! No input makes the coding agents' parsers panic or break an invariant
//! (events priced at or above zero; a document read twice gives the same
//! events): random bytes, the fixtures cut at every byte, and fixtures with
//! one byte changed, through the entry points the fuzz targets call.

use std::path::Path;

use creditwatch::robustness;
use creditwatch::sources::Format;
use proptest::prelude::*;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

const CHATS: &str = "tests/fixtures/gemini_cli/tmp/9b1f6c2ad7e94e0f8a3b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012/chats";

fn inputs() -> Vec<(Format, Vec<u8>)> {
    vec![
        (
            Format::Codex,
            read("../shared/fixtures/codex/sessions/2026/11/10/rollout-2026-11-10T16-10-41-11df12d7-dd30-4e89-a2f2-35f2e11b868d.jsonl"),
        ),
        (Format::QwenCode, read("tests/fixtures/qwen_code/projects/-home-dev-api/chats/5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6.jsonl")),
        (Format::GeminiCli, read(&format!("{CHATS}/session-2026-11-12T09-44-2f32182a.json"))),
        (Format::GeminiCli, read(&format!("{CHATS}/session-2026-11-13T10-00-c2b0dd60.jsonl"))),
    ]
}

fn run(format: Format, data: &[u8]) -> Result<(), robustness::Violation> {
    match format {
        Format::GeminiCli => robustness::parse_document(format, data),
        _ => robustness::parse_lines(format, data),
    }
}

#[test]
fn every_fixture_cut_at_every_byte() {
    for (format, data) in inputs() {
        for cut in 0..data.len() {
            if let Err(v) = run(format, &data[..cut]) {
                panic!("{} cut at {cut}: {v}", format.as_str());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in [Format::Codex, Format::QwenCode, Format::GeminiCli] {
            prop_assert!(run(format, &data).is_ok());
        }
    }

    #[test]
    fn one_byte_changed(which in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (format, mut data) = inputs().swap_remove(which);
        let i = at.index(data.len());
        data[i] = byte;
        prop_assert!(run(format, &data).is_ok(), "{} byte {i} = {byte}", format.as_str());
    }
}
