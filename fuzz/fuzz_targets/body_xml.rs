//! Fuzz target: see `kefu_fuzz::body_xml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kefu_fuzz::body_xml(data);
});
