//! Arbitrary text as an exporter-toolkit `web-config.yml` through
//! `WebConfig::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::web_config_text(data) {
        panic!("{violation}");
    }
});
