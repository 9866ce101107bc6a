// Request bodies of the main wire types, parsed and converted exactly as their handlers
// do: cart create and item additions (line items, custom items, gift certificates),
// billing and consignment addresses, and `POST /v2/orders`. Whatever the bytes, nothing
// panics and every refusal is a 4xx with a message.
//
// Included by the fuzz target (coverage-guided, `scripts/fuzz-parsers.sh`) and by
// `tests/fuzz_checks.rs` (its seeds and random inputs on stable, in every `cargo test`).

use kassa::domain::address_rules::{AddressPurpose, normalize_and_validate};
use kassa::domain::error::DomainError;
use kassa::http::carts::{AddItemsRequest, CreateCartRequest, specs};
use kassa::http::checkouts::{AddressRequest, ConsignmentRequest};
use kassa::http::error::ApiError;
use kassa::http::extract::parse_json;
use kassa::http::limits::{MAX_JSON_DEPTH, json_depth_exceeds};
use kassa::http::orders_v2::{OrderPostRequest, new_order};

fn refused_clearly(e: &ApiError) {
    assert!(e.status.is_client_error(), "{} {}", e.status, e.title);
    assert!(!e.title.trim().is_empty(), "a refusal without a message");
}

fn address_refused_clearly(r: Result<kassa::domain::address::Address, DomainError>) {
    if let Err(e) = r {
        refused_clearly(&ApiError::from(e));
    }
}

/// The property, for any bytes: panics (an assertion) when it does not hold.
pub fn check(data: &[u8]) {
    // The nesting limit is checked before parsing; anything parsed is within it.
    match parse_json::<serde_json::Value>(data) {
        Ok(_) => assert!(!json_depth_exceeds(data, MAX_JSON_DEPTH)),
        Err(e) => refused_clearly(&e),
    }
    match parse_json::<CreateCartRequest>(data) {
        Ok(r) => {
            if let Err(e) = specs(&r.line_items, &r.custom_items, &r.gift_certificates) {
                refused_clearly(&e);
            }
        }
        Err(e) => refused_clearly(&e),
    }
    if let Ok(r) = parse_json::<AddItemsRequest>(data)
        && let Err(e) = specs(&r.line_items, &r.custom_items, &r.gift_certificates)
    {
        refused_clearly(&e);
    }
    match parse_json::<AddressRequest>(data) {
        Ok(a) => address_refused_clearly(normalize_and_validate(
            a.into_domain(),
            AddressPurpose::Billing,
            "",
        )),
        Err(e) => refused_clearly(&e),
    }
    if let Ok(consignments) = parse_json::<Vec<ConsignmentRequest>>(data) {
        for c in consignments {
            if let Some(a) = c.address {
                address_refused_clearly(normalize_and_validate(
                    a.into_domain(),
                    AddressPurpose::Shipping,
                    "address.",
                ));
            }
        }
    }
    match parse_json::<OrderPostRequest>(data) {
        Ok(o) => {
            if let Err(e) = new_order(o, false) {
                assert!(e.status.is_client_error(), "{} {}", e.status, e.message);
                assert!(!e.message.trim().is_empty());
            }
        }
        Err(e) => refused_clearly(&e),
    }
}
