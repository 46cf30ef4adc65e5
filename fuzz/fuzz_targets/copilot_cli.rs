//! GitHub Copilot CLI OpenTelemetry file-export lines through one parser
//! built as for a configured source (see `robustness::parse_lines`).
#![no_main]

use creditwatch::sources::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::parse_lines(Format::CopilotCli, data) {
        panic!("{violation}");
    }
});
