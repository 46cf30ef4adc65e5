//! Arbitrary bytes as a whole ledger journal: decoding never panics and its
//! torn-tail/damage verdict is consistent (see `robustness::journal_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::journal_bytes(data) {
        panic!("{violation}");
    }
});
