//! Arbitrary text as `config.yaml` through `Config::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::config_text(data) {
        panic!("{violation}");
    }
});
