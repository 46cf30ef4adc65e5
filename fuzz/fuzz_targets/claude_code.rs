//! Claude Code transcript lines through one `ClaudeCodeParser`.
#![no_main]

use creditwatch::sources::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::parse_lines(Format::ClaudeCode, data) {
        panic!("{violation}");
    }
});
