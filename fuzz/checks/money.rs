// Money and quantities as clients send them: JSON numbers and strings, V2's exact
// decimal strings, and cart quantities. Whatever is accepted formats and parses back to
// the same amount; nothing panics or overflows.
//
// Included by the fuzz target (coverage-guided, `scripts/fuzz-parsers.sh`) and by
// `tests/fuzz_checks.rs` (its seeds and random inputs on stable, in every `cargo test`).

use kassa::domain::money::{Currency, Money};
use kassa::http::carts::whole_quantity;
use rust_decimal::{Decimal, RoundingStrategy};

/// Everything Kassa writes an amount as reads back as that amount.
fn round_trips(m: Money) {
    let json = serde_json::to_string(&m).expect("money serializes");
    let back: Money = serde_json::from_str(&json).expect("money parses back");
    assert_eq!(back, m, "JSON {json}");
    let shown = m.to_string();
    let back = Decimal::from_str_exact(&shown).expect("display parses back");
    assert_eq!(back, m.amount(), "display {shown}");
    // V2's four places: the amount rounded half away from zero.
    let v2 = m.to_v2_string();
    let back = Decimal::from_str_exact(&v2).expect("V2 string parses back");
    let rounded = m
        .amount()
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(back, rounded, "V2 {v2}");
    // Stored ten-thousandths, within their range, are the same rounding.
    if rounded.abs() < Decimal::from(900_000_000_000_000i64) {
        assert_eq!(Money::from_e4(m.to_e4()).amount(), rounded, "e4 of {m}");
    }
    // A currency's rounding leaves no more places than it settles in.
    for places in [0, 2, 3] {
        let c = Currency::new("XTS", places, Decimal::ONE);
        assert!(c.round(m).amount().scale() <= places, "{m} in {places} places");
    }
}

/// The property, for any bytes: panics (an assertion) when it does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As a JSON body field (numbers and strings), the way every wire type reads money.
    if let Ok(m) = serde_json::from_str::<Money>(text) {
        round_trips(m);
    }
    // As V2 and query parameters read amounts.
    if let Ok(d) = Decimal::from_str_exact(text.trim()) {
        round_trips(Money::new(d));
    }
    // As a quantity: accepted only when whole and in range, and then exactly that number.
    if let Ok(d) = serde_json::from_str::<Decimal>(text) {
        match whole_quantity(d, "quantity") {
            Ok(q) => assert_eq!(Decimal::from(q), d),
            Err(e) => {
                assert!(e.status.is_client_error());
                assert!(d.fract() != Decimal::ZERO || i64::try_from(d).is_err());
            }
        }
    }
}
