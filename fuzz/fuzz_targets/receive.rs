//! Fuzz target: see `kefu_fuzz::receive`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kefu_fuzz::receive(data);
});
