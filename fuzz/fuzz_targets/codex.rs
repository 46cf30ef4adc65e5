//! Codex session lines through one `CodexParser` (state kept across lines).
#![no_main]

use creditwatch::sources::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::parse_lines(Format::Codex, data) {
        panic!("{violation}");
    }
});
