//! Exact money. Amounts are `rust_decimal::Decimal`; a `Currency` knows how many
//! decimal places it settles in and rounds at the named points the pricing engine uses.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// An amount of money in some currency. Never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(transparent)]
pub struct Money(pub Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(d: Decimal) -> Self {
        Money(d)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn max(self, other: Money) -> Money {
        if self >= other { self } else { other }
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }

    pub fn times(self, quantity: u32) -> Money {
        Money(self.0 * Decimal::from(quantity))
    }

    /// Whole ten-thousandths, as balances are stored (`12.5` → `125000`). Amounts
    /// finer than that are rounded half away from zero; amounts beyond i64 saturate.
    pub fn to_e4(self) -> i64 {
        let saturated = if self.0.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        };
        // Beyond Decimal's range the product would panic; it is beyond i64's anyway.
        let Some(scaled) = self.0.checked_mul(Decimal::from(10_000)) else {
            return saturated;
        };
        let scaled = scaled.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(scaled).unwrap_or(saturated)
    }

    pub fn from_e4(e4: i64) -> Money {
        Money(Decimal::new(e4, 4).normalize())
    }

    /// Four decimal places as a string, the V2 wire format (`"54.0000"`).
    pub fn to_v2_string(self) -> String {
        let mut d = self
            .0
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        d.rescale(4);
        d.to_string()
    }
}

/// The largest amount a merchant may configure (a discount, a minimum spend): far above
/// any real price, and far enough below `Decimal`'s range that converting it into any
/// currency and multiplying it by any cart quantity cannot overflow.
pub const MAX_CONFIGURED_AMOUNT: i64 = 1_000_000_000_000;

/// A configured amount: not negative and at most [`MAX_CONFIGURED_AMOUNT`]; the error
/// names `field`.
pub fn configured_amount(field: &str, d: Decimal) -> Result<Decimal, super::DomainError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(super::DomainError::field(
            field,
            format!("The field `{field}` must not be negative."),
        ));
    }
    if d > Decimal::from(MAX_CONFIGURED_AMOUNT) {
        return Err(super::DomainError::field(
            field,
            format!("The field `{field}` must be at most {MAX_CONFIGURED_AMOUNT}."),
        ));
    }
    Ok(d.normalize())
}

/// The name under which serde_json (with `arbitrary_precision`) takes a one-field struct
/// as a number's exact text: its own `Number` serializes this way, as a writer and as a
/// `Value`. Using it directly spares each amount a `String` and a re-parse, which showed
/// as 9 % of a 1,000-line cart's add (BENCHMARKS.md); a unit test pins the output.
const JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Money goes out as a JSON number with no trailing zeros (`27.95`, `25`).
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut text = DecimalText::default();
        fmt::Write::write_fmt(&mut text, format_args!("{}", self.0.normalize()))
            .map_err(|_| serde::ser::Error::custom("an amount too long to write"))?;
        let mut number = s.serialize_struct(JSON_NUMBER_TOKEN, 1)?;
        number.serialize_field(JSON_NUMBER_TOKEN, text.as_str())?;
        number.end()
    }
}

/// A decimal's text on the stack: at most 28 digits, a sign, a point and a leading `0.`.
struct DecimalText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for DecimalText {
    fn default() -> Self {
        DecimalText {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl DecimalText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("0")
    }
}

impl fmt::Write for DecimalText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A decimal as an exact JSON number (needs serde_json's `arbitrary_precision`), written
/// as [`Money`] writes itself.
pub fn json_number(d: Decimal) -> serde_json::Number {
    match serde_json::to_value(Money(d)) {
        Ok(serde_json::Value::Number(n)) => n,
        _ => serde_json::Number::from(0),
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}
impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}
impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl Mul<Decimal> for Money {
    type Output = Money;
    fn mul(self, k: Decimal) -> Money {
        Money(self.0 * k)
    }
}
impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// How a half is rounded; half-up is the default, half-even a store option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    HalfUp,
    HalfEven,
}

/// A currency a store transacts in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    /// ISO 4217 code, upper case.
    pub code: String,
    /// Decimal places the currency settles in (2 for USD, 0 for JPY).
    pub decimal_places: u32,
    /// Units of this currency per one unit of the store's default currency.
    pub exchange_rate: Decimal,
    #[serde(default)]
    pub rounding: Rounding,
}

impl Currency {
    pub fn new(code: &str, decimal_places: u32, exchange_rate: Decimal) -> Self {
        Currency {
            code: code.to_ascii_uppercase(),
            decimal_places,
            exchange_rate,
            rounding: Rounding::HalfUp,
        }
    }

    pub fn round(&self, m: Money) -> Money {
        let strategy = match self.rounding {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        Money(m.0.round_dp_with_strategy(self.decimal_places, strategy))
    }

    /// Converts an amount in the store's default currency into this one, rounded.
    pub fn convert(&self, m: Money) -> Money {
        self.round(m * self.exchange_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// V2 query filters store any amount a client sends as ten-thousandths.
    #[test]
    fn e4_of_amounts_beyond_decimal_range_saturates() {
        assert_eq!(Money::new(Decimal::MAX).to_e4(), i64::MAX);
        assert_eq!(Money::new(Decimal::MIN).to_e4(), i64::MIN);
        assert_eq!(Money::new(dec!(12.34565)).to_e4(), 123_457);
    }

    #[test]
    fn serializes_as_plain_json_number() {
        let v = serde_json::to_string(&Money(dec!(27.950))).unwrap();
        assert_eq!(v, "27.95");
        let v = serde_json::to_string(&Money(dec!(25.00))).unwrap();
        assert_eq!(v, "25");
        let v = serde_json::to_string(&Money(dec!(-0.0010))).unwrap();
        assert_eq!(v, "-0.001");
        let v = serde_json::to_string(&Money(Decimal::MAX)).unwrap();
        assert_eq!(v, Decimal::MAX.to_string());
        let v = serde_json::to_string(&Money(Decimal::new(-1, 28))).unwrap();
        assert_eq!(v, "-0.0000000000000000000000000001");
    }

    /// Amounts put in a `Value` (`json!`) are numbers too, equal to the written text.
    #[test]
    fn serializes_as_a_number_inside_values() {
        let v = serde_json::json!({"total": Money(dec!(27.950))});
        assert!(v["total"].is_number());
        assert_eq!(v.to_string(), r#"{"total":27.95}"#);
        assert_eq!(
            v["total"],
            serde_json::Value::Number(json_number(dec!(27.95)))
        );
    }

    proptest::proptest! {
        /// Written and put in a `Value`, an amount is its normalized decimal text, and
        /// that text reads back as the same amount.
        #[test]
        fn writes_the_normalized_decimal(mantissa in proptest::num::i64::ANY, scale in 0u32..=28) {
            let d = Decimal::new(mantissa, scale);
            let expected = d.normalize().to_string();
            let written = serde_json::to_string(&Money(d)).unwrap();
            proptest::prop_assert_eq!(&written, &expected);
            proptest::prop_assert_eq!(json_number(d).to_string(), expected);
            let back: Decimal = written.parse().unwrap();
            proptest::prop_assert_eq!(back, d);
        }
    }

    #[test]
    fn v2_string_has_four_places() {
        assert_eq!(Money(dec!(54)).to_v2_string(), "54.0000");
        assert_eq!(Money(dec!(1.23456)).to_v2_string(), "1.2346");
    }

    #[test]
    fn rounding_modes() {
        let mut usd = Currency::new("usd", 2, Decimal::ONE);
        assert_eq!(usd.round(Money(dec!(0.125))), Money(dec!(0.13)));
        usd.rounding = Rounding::HalfEven;
        assert_eq!(usd.round(Money(dec!(0.125))), Money(dec!(0.12)));
        let jpy = Currency::new("JPY", 0, dec!(150));
        assert_eq!(jpy.convert(Money(dec!(19.99))), Money(dec!(2999)));
    }
}
