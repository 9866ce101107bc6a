//! Request bodies of the main wire types, parsed and converted exactly as their handlers
//! do: cart create and item additions (line items, custom items, gift certificates),
//! billing and consignment addresses, and `POST /v2/orders`. Whatever the bytes, nothing
//! panics and every refusal is a 4xx with a message.

#![no_main]

include!("../checks/request_bodies.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
