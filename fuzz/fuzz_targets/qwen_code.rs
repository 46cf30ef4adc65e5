//! Qwen Code chat records through one `QwenCodeParser`.
#![no_main]

use creditwatch::sources::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::parse_lines(Format::QwenCode, data) {
        panic!("{violation}");
    }
});
