//! OTLP export requests (protobuf and OTLP/JSON bytes) through the mapping
//! the receiver uses (see `robustness::otlp_request`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = creditwatch::robustness::otlp_request(data) {
        panic!("{violation}");
    }
});
