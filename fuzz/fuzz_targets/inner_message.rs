//! Fuzz target: see `kefu_fuzz::inner_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kefu_fuzz::inner_message(data);
});
