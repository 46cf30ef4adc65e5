//! Gemini CLI chat files (whole-file JSON or JSON lines) through one
//! `GeminiCliParser`, read twice as the follower re-reads a changed file.
#![no_main]

use creditwatch::sources::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::parse_document(Format::GeminiCli, data) {
        panic!("{violation}");
    }
});
