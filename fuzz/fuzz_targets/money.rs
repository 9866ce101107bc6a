//! Money and quantities as clients send them: JSON numbers and strings, V2's exact
//! decimal strings, and cart quantities. Whatever is accepted formats and parses back to
//! the same amount; nothing panics or overflows.

#![no_main]

include!("../checks/money.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
