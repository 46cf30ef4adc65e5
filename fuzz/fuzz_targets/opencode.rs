//! OpenCode messages (database rows and message files) through the pure
//! parser and its fork-copy index (see `robustness::opencode_message`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::opencode_message(data) {
        panic!("{violation}");
    }
});
