//! Building a [`Promotion`] from what the V3 promotions admin API received, and the
//! rules it must satisfy. Pure: the caller passes `now`, and checks that need other
//! records (code uniqueness across promotions and V2 coupons) belong to the service.
//!
//! # Wire → domain
//!
//! - Money and percentages arrive as decimal strings (`"12.95"`, `"10"`); numbers are
//!   accepted too. Dates are RFC 3339 (`2005-12-30T01:02:03+00:00`, `…Z`, fractions).
//! - `channels` is `[{"id": 1}]` (bare ids are accepted); `[]` means every channel.
//! - `shipping.zone_ids` is `"*"` (every zone) or a list of zone ids ≥ 1.
//! - `shipping_address` is `{"countries": [{"iso2_country_code": "US"}]}`; the form
//!   `{"countries": {"iso2_country_code": ["US", "CA"]}}` is read too. It becomes
//!   [`Promotion::shipping_countries`].
//! - `codes` of a coupon promotion: one code object (as the spec has it) or a list.
//!
//! # Refused as unsupported (422 naming the field)
//!
//! The `gift_item` and `fixed_price_set` actions, `cart_items.add_free_item: true`,
//! `product_option` and `product_custom_field` item matchers, `customer.segments`,
//! `schedule`, a `not` shipping-address matcher and the deprecated
//! `coupon_overrides_automatic_when_offering_higher_discounts: true`.
//!
//! # Rules
//!
//! - `name` required on create, 1–255 characters; `display_name` at most 255.
//! - `rules` required on create and never empty; every rule has exactly one action.
//! - Percentages 0–100; fixed amounts and `minimum_spend` ≥ 0;
//!   `maximum_allowed_discount_amount` above 0 and at most 10,000,000.
//! - A cart condition that lists `items` needs `minimum_quantity` (≥ 1).
//! - Item matchers nest `and`/`or`/`not` at most three levels deep (as the spec's
//!   schemas do) and list positive ids.
//! - `customer`: only one of `group_ids` and `excluded_group_ids` may be non-empty.
//! - `max_uses`, `customer.minimum_order_count`, code limits, `priority` ≥ 0.
//! - `end_date`, when set, after `start_date`.
//! - `status` `ENABLED` or `DISABLED` (`INVALID` is read-only).
//! - `coupon_overrides_other_promotions: true` only for a coupon promotion with
//!   `can_be_used_with_other_promotions: false`.
//! - Coupon fields (`codes`, `coupon_type`) only on coupon promotions; `coupon_type`
//!   cannot change; a `SINGLE` coupon promotion has at most one code.
//! - Codes: 1–50 characters of letters, digits, spaces, `_` and `-`, distinct
//!   (ignoring case) within the request.
//!
//! # Defaults (create)
//!
//! `display_name` `""`, `channels` `[]`, `customer` anyone, `max_uses` 0 (unlimited),
//! `status` `ENABLED`, `start_date` now, no `end_date`, `stop` false,
//! `can_be_used_with_other_promotions` true, `currency_code` `*`, no notifications,
//! `coupon_type` `SINGLE`, per rule `apply_once` true and `stop` false, per
//! `cart_items` action `as_total`, `include_items_considered_by_condition` and
//! `exclude_items_on_sale` false and `strategy` `LEAST_EXPENSIVE`. `priority` defaults
//! to the promotion's id (the service sets it once the id is known).

use super::DomainError;
use super::countries;
use super::money::Money;
use super::promotion::{
    Action, CartItemsAction, Condition, CouponKind, CustomerEligibility, Discount, ItemMatcher,
    Notification, Promotion, PromotionCode, PromotionStatus, RedemptionType, Rule, Strategy,
};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const NAME_MAX_CHARS: usize = 255;
pub const CODE_MAX_CHARS: usize = 50;
/// How deep `and`/`or`/`not` item matchers may nest.
pub const MATCHER_MAX_DEPTH: usize = 3;
/// Largest `maximum_allowed_discount_amount` the spec allows.
pub const MAX_DISCOUNT_CAP: i64 = 10_000_000;
/// Codes per codegen request (the spec's limit).
pub const CODEGEN_MAX_BATCH: i64 = 250;
/// Upper bound of a generated code's use limits (the spec's).
pub const CODEGEN_MAX_USES: i64 = 100_000;
/// Longest code a codegen request may produce.
pub const CODEGEN_MAX_TOTAL_LEN: usize = 50;

// ---------- input: the request as sent ----------

/// A decimal sent as a string (`"12.95"`) or a JSON number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecimalText(pub Decimal);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(D::Error::custom(
                    "expected a decimal number written as a string, such as \"12.95\"",
                ));
            }
        };
        let t = text.trim();
        Decimal::from_str_exact(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(|d| DecimalText(d.normalize()))
            .map_err(|_| D::Error::custom(format!("`{text}` is not a decimal number")))
    }
}

/// Reads `null` as `Some(None)`, so "sent as null" differs from "not sent".
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A promotion to create, or (PUT) the fields of one to change. Read-only fields
/// (`id`, `current_uses`, `created_from`, `multiple_codes`) are ignored.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PromotionInput {
    pub redemption_type: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    /// `[{"id": 1}]` or `[1]`.
    pub channels: Option<Vec<Value>>,
    pub customer: Option<CustomerInput>,
    pub rules: Option<Vec<RuleInput>>,
    pub max_uses: Option<i64>,
    pub status: Option<String>,
    pub start_date: Option<String>,
    /// `Some(None)`: sent as `null`, the promotion never ends.
    #[serde(default, deserialize_with = "nullable")]
    pub end_date: Option<Option<String>>,
    pub stop: Option<bool>,
    pub can_be_used_with_other_promotions: Option<bool>,
    pub currency_code: Option<String>,
    pub notifications: Option<Vec<NotificationInput>>,
    /// `Some(None)`: sent as `null`, no address restriction.
    #[serde(default, deserialize_with = "nullable")]
    pub shipping_address: Option<Option<Value>>,
    pub schedule: Option<Value>,
    /// One code object or a list of them.
    pub codes: Option<Value>,
    pub coupon_overrides_other_promotions: Option<bool>,
    pub coupon_overrides_automatic_when_offering_higher_discounts: Option<bool>,
    pub coupon_type: Option<String>,
    /// Kassa: lower runs first.
    pub priority: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerInput {
    pub group_ids: Option<Vec<i64>>,
    pub excluded_group_ids: Option<Vec<i64>>,
    pub minimum_order_count: Option<i64>,
    pub segments: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct NotificationInput {
    pub content: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub locations: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuleInput {
    pub action: Option<ActionInput>,
    pub apply_once: Option<bool>,
    pub stop: Option<bool>,
    pub condition: Option<ConditionInput>,
}

/// Exactly one of the fields must be set.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ActionInput {
    pub cart_value: Option<CartValueInput>,
    pub cart_items: Option<CartItemsInput>,
    pub shipping: Option<ShippingInput>,
    pub gift_item: Option<Value>,
    pub fixed_price_set: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DiscountInput {
    pub percentage_amount: Option<DecimalText>,
    pub fixed_amount: Option<DecimalText>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CartValueInput {
    pub discount: Option<DiscountInput>,
    pub maximum_allowed_discount_amount: Option<DecimalText>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CartItemsInput {
    pub discount: Option<DiscountInput>,
    pub maximum_allowed_discount_amount: Option<DecimalText>,
    pub as_total: Option<bool>,
    pub items: Option<ItemMatcherInput>,
    pub include_items_considered_by_condition: Option<bool>,
    pub exclude_items_on_sale: Option<bool>,
    pub strategy: Option<String>,
    pub quantity: Option<i64>,
    pub add_free_item: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ShippingInput {
    /// `"*"` or a list of zone ids.
    pub zone_ids: Option<Value>,
    /// Read-only in the spec; ignored.
    pub free_shipping: Option<Value>,
}

/// `{"cart": …}` or `{"and": […]}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConditionInput {
    pub cart: Option<CartConditionInput>,
    pub and: Option<Vec<ConditionInput>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CartConditionInput {
    pub items: Option<ItemMatcherInput>,
    pub minimum_spend: Option<DecimalText>,
    pub minimum_quantity: Option<i64>,
}

/// Exactly one of the fields must be set.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ItemMatcherInput {
    pub brands: Option<Vec<i64>>,
    pub categories: Option<Vec<i64>>,
    pub products: Option<Vec<i64>>,
    pub variants: Option<Vec<i64>>,
    pub and: Option<Vec<ItemMatcherInput>>,
    pub or: Option<Vec<ItemMatcherInput>>,
    pub not: Option<Box<ItemMatcherInput>>,
    pub product_option: Option<Value>,
    pub product_custom_field: Option<Value>,
}

/// A coupon code to add (`POST …/codes`, or inside a promotion's `codes`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CodeInput {
    pub code: Option<String>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
}

/// `POST …/codegen`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CodegenInput {
    pub batch_size: Option<i64>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub delimiter: Option<String>,
    pub exclude_characters: Option<Vec<String>>,
    pub code_length: Option<i64>,
}

// ---------- small checks ----------

fn field(path: impl Into<String>, message: impl Into<String>) -> DomainError {
    DomainError::field(path, message)
}

fn required(path: &str) -> DomainError {
    field(path, format!("The field `{path}` is required."))
}

fn unsupported(path: &str, what: &str) -> DomainError {
    field(
        path,
        format!("The field `{path}`: Kassa does not support {what}."),
    )
}

fn non_negative_int(path: &str, v: i64) -> Result<i64, DomainError> {
    if v < 0 {
        Err(field(
            path,
            format!("The field `{path}` must not be negative."),
        ))
    } else {
        Ok(v)
    }
}

fn non_negative_money(path: &str, d: DecimalText) -> Result<Money, DomainError> {
    crate::domain::money::configured_amount(path, d.0).map(Money::new)
}

/// Trimmed text of at most [`NAME_MAX_CHARS`] characters, optionally non-empty.
fn text(path: &str, s: &str, must_have: bool) -> Result<String, DomainError> {
    let t = s.trim();
    if must_have && t.is_empty() {
        return Err(field(
            path,
            format!("The field `{path}` must not be empty."),
        ));
    }
    if t.chars().count() > NAME_MAX_CHARS {
        return Err(field(
            path,
            format!("The field `{path}` must be at most {NAME_MAX_CHARS} characters."),
        ));
    }
    Ok(t.to_string())
}

/// Positive ids, without repeats, in the order given.
fn positive_ids(path: &str, ids: &[i64], allow_zero: bool) -> Result<Vec<i64>, DomainError> {
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if *id < 0 || (*id == 0 && !allow_zero) {
            let what = if allow_zero {
                "0 or a positive id"
            } else {
                "a positive id"
            };
            return Err(field(
                format!("{path}[{i}]"),
                format!("The field `{path}[{i}]` must be {what}, not {id}."),
            ));
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// An RFC 3339 date as unix seconds.
pub fn parse_date(path: &str, s: &str) -> Result<i64, DomainError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            field(
                path,
                format!(
                    "The field `{path}` must be an RFC 3339 date such as `2025-12-30T01:02:03+00:00`, not `{s}`."
                ),
            )
        })
}

fn parse_status(path: &str, s: &str) -> Result<PromotionStatus, DomainError> {
    match s.trim().to_ascii_uppercase().as_str() {
        "ENABLED" => Ok(PromotionStatus::Enabled),
        "DISABLED" => Ok(PromotionStatus::Disabled),
        "INVALID" => Err(field(
            path,
            format!("The field `{path}` cannot be set to `INVALID`; that status is read-only."),
        )),
        _ => Err(field(
            path,
            format!("The field `{path}` must be `ENABLED` or `DISABLED`, not `{s}`."),
        )),
    }
}

/// `AUTOMATIC` or `COUPON` (any case).
pub fn parse_redemption_type(s: &str) -> Option<RedemptionType> {
    match s.trim().to_ascii_uppercase().as_str() {
        "AUTOMATIC" => Some(RedemptionType::Automatic),
        "COUPON" => Some(RedemptionType::Coupon),
        _ => None,
    }
}

/// `ENABLED`, `DISABLED` or `INVALID` (any case).
pub fn parse_status_filter(s: &str) -> Option<PromotionStatus> {
    match s.trim().to_ascii_uppercase().as_str() {
        "ENABLED" => Some(PromotionStatus::Enabled),
        "DISABLED" => Some(PromotionStatus::Disabled),
        "INVALID" => Some(PromotionStatus::Invalid),
        _ => None,
    }
}

fn parse_coupon_kind(path: &str, s: &str) -> Result<CouponKind, DomainError> {
    match s.trim().to_ascii_uppercase().as_str() {
        "SINGLE" => Ok(CouponKind::Single),
        "BULK" => Ok(CouponKind::Bulk),
        _ => Err(field(
            path,
            format!("The field `{path}` must be `SINGLE` or `BULK`, not `{s}`."),
        )),
    }
}

fn parse_strategy(path: &str, s: &str) -> Result<Strategy, DomainError> {
    match s.trim().to_ascii_uppercase().as_str() {
        "LEAST_EXPENSIVE" => Ok(Strategy::LeastExpensive),
        "LEAST_EXPENSIVE_ONLY" => Ok(Strategy::LeastExpensiveOnly),
        "MOST_EXPENSIVE" => Ok(Strategy::MostExpensive),
        "MOST_EXPENSIVE_ONLY" => Ok(Strategy::MostExpensiveOnly),
        _ => Err(field(
            path,
            format!(
                "The field `{path}` must be one of LEAST_EXPENSIVE, LEAST_EXPENSIVE_ONLY, MOST_EXPENSIVE, MOST_EXPENSIVE_ONLY; not `{s}`."
            ),
        )),
    }
}

fn currency(path: &str, s: &str) -> Result<String, DomainError> {
    let c = s.trim();
    if c == "*" {
        return Ok("*".into());
    }
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        return Ok(c.to_ascii_uppercase());
    }
    Err(field(
        path,
        format!(
            "The field `{path}` must be an ISO 4217 currency code such as `USD`, or `*`; not `{s}`."
        ),
    ))
}

/// A coupon code as stored: trimmed, 1–50 characters of letters, digits, spaces, `_`, `-`.
pub fn validate_code(path: &str, code: &str) -> Result<String, DomainError> {
    let c = code.trim();
    if c.is_empty() {
        return Err(field(
            path,
            format!("The field `{path}` must not be empty."),
        ));
    }
    if c.chars().count() > CODE_MAX_CHARS {
        return Err(field(
            path,
            format!("The field `{path}` must be at most {CODE_MAX_CHARS} characters."),
        ));
    }
    if let Some(bad) = c
        .chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || matches!(ch, ' ' | '_' | '-')))
    {
        return Err(field(
            path,
            format!(
                "The field `{path}` may hold only letters, digits, spaces, `_` and `-`, not `{bad}`."
            ),
        ));
    }
    Ok(c.to_string())
}

/// A code ready to store (id 0 until the service assigns one).
pub fn build_code(path: &str, input: &CodeInput, now: i64) -> Result<PromotionCode, DomainError> {
    let code_path = format!("{path}code");
    let code = match &input.code {
        Some(c) => validate_code(&code_path, c)?,
        None => return Err(required(&code_path)),
    };
    Ok(PromotionCode {
        id: 0,
        code,
        max_uses: non_negative_int(&format!("{path}max_uses"), input.max_uses.unwrap_or(0))?,
        max_uses_per_customer: non_negative_int(
            &format!("{path}max_uses_per_customer"),
            input.max_uses_per_customer.unwrap_or(0),
        )?,
        created: now,
    })
}

// ---------- pieces ----------

fn channels_from(list: &[Value]) -> Result<Vec<i64>, DomainError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("channels[{i}]");
        let id = match v {
            Value::Object(o) => o.get("id").and_then(Value::as_i64),
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        let Some(id) = id else {
            return Err(field(
                &path,
                format!("The field `{path}` must be an object like {{\"id\": 1}}."),
            ));
        };
        if id < 1 {
            return Err(field(
                format!("{path}.id"),
                format!("The field `{path}.id` must be a positive channel id, not {id}."),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn customer_from(
    input: Option<&CustomerInput>,
    existing: Option<&CustomerEligibility>,
) -> Result<CustomerEligibility, DomainError> {
    let mut c = existing.cloned().unwrap_or_default();
    if let Some(i) = input {
        if i.segments.as_ref().is_some_and(|s| !s.is_null()) {
            return Err(unsupported("customer.segments", "customer segments"));
        }
        if let Some(ids) = &i.group_ids {
            c.group_ids = positive_ids("customer.group_ids", ids, true)?;
        }
        if let Some(ids) = &i.excluded_group_ids {
            c.excluded_group_ids = positive_ids("customer.excluded_group_ids", ids, true)?;
        }
        if let Some(n) = i.minimum_order_count {
            c.minimum_order_count = non_negative_int("customer.minimum_order_count", n)?;
        }
    }
    if !c.group_ids.is_empty() && !c.excluded_group_ids.is_empty() {
        return Err(field(
            "customer.excluded_group_ids",
            "The fields `customer.group_ids` and `customer.excluded_group_ids` cannot both list groups; give only one of them.",
        ));
    }
    Ok(c)
}

fn notifications_from(list: &[NotificationInput]) -> Result<Vec<Notification>, DomainError> {
    list.iter()
        .enumerate()
        .map(|(i, n)| {
            let p = format!("notifications[{i}]");
            let content = match &n.content {
                Some(c) if !c.trim().is_empty() => c.trim().to_string(),
                Some(_) => {
                    return Err(field(
                        format!("{p}.content"),
                        format!("The field `{p}.content` must not be empty."),
                    ));
                }
                None => return Err(required(&format!("{p}.content"))),
            };
            let kind = match &n.kind {
                Some(k) => {
                    let k = k.trim().to_ascii_uppercase();
                    if !matches!(k.as_str(), "UPSELL" | "ELIGIBLE" | "APPLIED") {
                        return Err(field(
                            format!("{p}.type"),
                            format!("The field `{p}.type` must be UPSELL, ELIGIBLE or APPLIED."),
                        ));
                    }
                    k
                }
                None => return Err(required(&format!("{p}.type"))),
            };
            let locations = match &n.locations {
                Some(l) => {
                    let mut out: Vec<String> = Vec::new();
                    for (j, loc) in l.iter().enumerate() {
                        let loc = loc.trim().to_ascii_uppercase();
                        if loc.is_empty() {
                            return Err(field(
                                format!("{p}.locations[{j}]"),
                                format!("The field `{p}.locations[{j}]` must not be empty."),
                            ));
                        }
                        if !out.contains(&loc) {
                            out.push(loc);
                        }
                    }
                    out
                }
                None => return Err(required(&format!("{p}.locations"))),
            };
            Ok(Notification {
                content,
                kind,
                locations,
            })
        })
        .collect()
}

fn country(path: &str, v: &Value) -> Result<String, DomainError> {
    let s = v.as_str().unwrap_or_default();
    countries::country_code(s.trim())
        .map(str::to_string)
        .ok_or_else(|| {
            field(
                path,
                format!("The field `{path}` must be an ISO 3166-1 alpha-2 country code, not {v}."),
            )
        })
}

/// `shipping_address` → ISO alpha-2 countries (empty = anywhere).
fn shipping_countries_from(v: Option<&Value>) -> Result<Vec<String>, DomainError> {
    const P: &str = "shipping_address";
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(obj) = v.as_object() else {
        return Err(field(
            P,
            "The field `shipping_address` must be an object like {\"countries\": [{\"iso2_country_code\": \"US\"}]}.",
        ));
    };
    if obj.get("not").is_some_and(|n| !n.is_null()) {
        return Err(unsupported(
            "shipping_address.not",
            "excluding shipping countries (`not`); list the countries the promotion applies to instead",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |c: String| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    match obj.get("countries") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, item) in list.iter().enumerate() {
                let p = format!("{P}.countries[{i}].iso2_country_code");
                let code = item.get("iso2_country_code").unwrap_or(&Value::Null);
                push(country(&p, code)?);
            }
        }
        Some(Value::Object(o)) => {
            let p = format!("{P}.countries.iso2_country_code");
            match o.get("iso2_country_code") {
                Some(Value::Array(codes)) => {
                    for (i, c) in codes.iter().enumerate() {
                        push(country(&format!("{p}[{i}]"), c)?);
                    }
                }
                Some(single) => push(country(&p, single)?),
                None => return Err(required(&p)),
            }
        }
        Some(_) => {
            return Err(field(
                format!("{P}.countries"),
                "The field `shipping_address.countries` must be a list like [{\"iso2_country_code\": \"US\"}].",
            ));
        }
    }
    Ok(out)
}

fn discount_from(path: &str, d: Option<&DiscountInput>) -> Result<Discount, DomainError> {
    let Some(d) = d else {
        return Err(required(path));
    };
    match (d.percentage_amount, d.fixed_amount) {
        (Some(p), None) => {
            let pp = format!("{path}.percentage_amount");
            if p.0.is_sign_negative() && !p.0.is_zero() || p.0 > Decimal::ONE_HUNDRED {
                return Err(field(
                    &pp,
                    format!(
                        "The field `{pp}` must be a percentage from 0 to 100, not {}.",
                        p.0
                    ),
                ));
            }
            Ok(Discount::Percentage(p.0.normalize()))
        }
        (None, Some(f)) => Ok(Discount::Fixed(non_negative_money(
            &format!("{path}.fixed_amount"),
            f,
        )?)),
        (Some(_), Some(_)) => Err(field(
            path,
            format!(
                "The field `{path}` must give either `percentage_amount` or `fixed_amount`, not both."
            ),
        )),
        (None, None) => Err(field(
            path,
            format!("The field `{path}` must give `percentage_amount` or `fixed_amount`."),
        )),
    }
}

fn cap_from(path: &str, cap: Option<DecimalText>) -> Result<Option<Money>, DomainError> {
    let Some(c) = cap else {
        return Ok(None);
    };
    if c.0 <= Decimal::ZERO || c.0 > Decimal::from(MAX_DISCOUNT_CAP) {
        return Err(field(
            path,
            format!(
                "The field `{path}` must be above 0 and at most {MAX_DISCOUNT_CAP}, not {}.",
                c.0
            ),
        ));
    }
    Ok(Some(Money::new(c.0.normalize())))
}

fn matcher_from(
    path: &str,
    m: &ItemMatcherInput,
    depth: usize,
) -> Result<ItemMatcher, DomainError> {
    if m.product_option.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            &format!("{path}.product_option"),
            "matching items by product option",
        ));
    }
    if m.product_custom_field
        .as_ref()
        .is_some_and(|v| !v.is_null())
    {
        return Err(unsupported(
            &format!("{path}.product_custom_field"),
            "matching items by product custom field",
        ));
    }
    let set = [
        m.brands.is_some(),
        m.categories.is_some(),
        m.products.is_some(),
        m.variants.is_some(),
        m.and.is_some(),
        m.or.is_some(),
        m.not.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(field(
            path,
            format!(
                "The field `{path}` must hold exactly one of brands, categories, products, variants, and, or, not."
            ),
        ));
    }
    let ids = |name: &str, ids: &[i64]| -> Result<Vec<i64>, DomainError> {
        let p = format!("{path}.{name}");
        if ids.is_empty() {
            return Err(field(
                &p,
                format!("The field `{p}` must list at least one id."),
            ));
        }
        positive_ids(&p, ids, false)
    };
    let nested = |name: &str| -> Result<(), DomainError> {
        if depth >= MATCHER_MAX_DEPTH {
            let p = format!("{path}.{name}");
            return Err(field(
                &p,
                format!(
                    "The field `{p}` nests item matchers too deeply (at most {MATCHER_MAX_DEPTH} levels of and/or/not)."
                ),
            ));
        }
        Ok(())
    };
    let list = |name: &str, items: &[ItemMatcherInput]| -> Result<Vec<ItemMatcher>, DomainError> {
        nested(name)?;
        let p = format!("{path}.{name}");
        if items.is_empty() {
            return Err(field(
                &p,
                format!("The field `{p}` must list at least one item matcher."),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, m)| matcher_from(&format!("{p}[{i}]"), m, depth + 1))
            .collect()
    };
    Ok(if let Some(v) = &m.brands {
        ItemMatcher::Brands(ids("brands", v)?)
    } else if let Some(v) = &m.categories {
        ItemMatcher::Categories(ids("categories", v)?)
    } else if let Some(v) = &m.products {
        ItemMatcher::Products(ids("products", v)?)
    } else if let Some(v) = &m.variants {
        ItemMatcher::Variants(ids("variants", v)?)
    } else if let Some(v) = &m.and {
        ItemMatcher::And(list("and", v)?)
    } else if let Some(v) = &m.or {
        ItemMatcher::Or(list("or", v)?)
    } else if let Some(v) = &m.not {
        nested("not")?;
        ItemMatcher::Not(Box::new(matcher_from(
            &format!("{path}.not"),
            v,
            depth + 1,
        )?))
    } else {
        // Unreachable: exactly one field is set (checked above).
        return Err(field(path, format!("The field `{path}` is empty.")));
    })
}

fn cart_condition_from(path: &str, c: &CartConditionInput) -> Result<Condition, DomainError> {
    let items = c
        .items
        .as_ref()
        .map(|m| matcher_from(&format!("{path}.items"), m, 0))
        .transpose()?;
    let minimum_spend = c
        .minimum_spend
        .map(|s| non_negative_money(&format!("{path}.minimum_spend"), s))
        .transpose()?;
    let qp = format!("{path}.minimum_quantity");
    let minimum_quantity = match (c.minimum_quantity, items.is_some()) {
        (None, true) => {
            return Err(field(
                &qp,
                format!("The field `{qp}` is required when `{path}.items` is given."),
            ));
        }
        (Some(q), true) if q < 1 => {
            return Err(field(
                &qp,
                format!("The field `{qp}` must be at least 1, not {q}."),
            ));
        }
        (Some(q), _) => Some(non_negative_int(&qp, q)?),
        (None, false) => None,
    };
    Ok(Condition::Cart {
        items,
        minimum_spend,
        minimum_quantity,
    })
}

fn condition_from(path: &str, c: &ConditionInput, top: bool) -> Result<Condition, DomainError> {
    match (&c.cart, &c.and) {
        (Some(cart), None) => cart_condition_from(&format!("{path}.cart"), cart),
        (None, Some(all)) if top => {
            let p = format!("{path}.and");
            if all.is_empty() {
                return Err(field(
                    &p,
                    format!("The field `{p}` must list at least one condition."),
                ));
            }
            Ok(Condition::And(
                all.iter()
                    .enumerate()
                    .map(|(i, c)| condition_from(&format!("{p}[{i}]"), c, false))
                    .collect::<Result<_, _>>()?,
            ))
        }
        (None, Some(_)) => Err(field(
            format!("{path}.and"),
            format!("The field `{path}` must be a cart condition; `and` conditions do not nest."),
        )),
        (Some(_), Some(_)) => Err(field(
            path,
            format!("The field `{path}` must hold either `cart` or `and`, not both."),
        )),
        (None, None) => Err(field(
            path,
            format!("The field `{path}` must hold `cart` or `and`."),
        )),
    }
}

fn zone_ids_from(path: &str, v: Option<&Value>) -> Result<Option<Vec<i64>>, DomainError> {
    match v {
        None | Some(Value::Null) => Err(required(path)),
        Some(Value::String(s)) if s.trim() == "*" => Ok(None),
        Some(Value::Array(list)) => {
            if list.is_empty() {
                return Err(field(
                    path,
                    format!("The field `{path}` must list at least one zone id, or be \"*\"."),
                ));
            }
            let mut ids = Vec::with_capacity(list.len());
            for (i, z) in list.iter().enumerate() {
                match z.as_i64() {
                    Some(id) => ids.push(id),
                    None => {
                        return Err(field(
                            format!("{path}[{i}]"),
                            format!("The field `{path}[{i}]` must be a shipping zone id."),
                        ));
                    }
                }
            }
            Ok(Some(positive_ids(path, &ids, false)?))
        }
        Some(other) => Err(field(
            path,
            format!(
                "The field `{path}` must be \"*\" or a list of shipping zone ids, not {other}."
            ),
        )),
    }
}

fn action_from(path: &str, a: Option<&ActionInput>) -> Result<Action, DomainError> {
    let Some(a) = a else {
        return Err(required(path));
    };
    if a.gift_item.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            &format!("{path}.gift_item"),
            "the `gift_item` action",
        ));
    }
    if a.fixed_price_set.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            &format!("{path}.fixed_price_set"),
            "the `fixed_price_set` action",
        ));
    }
    let set = [
        a.cart_value.is_some(),
        a.cart_items.is_some(),
        a.shipping.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(field(
            path,
            format!(
                "The field `{path}` must hold exactly one of cart_value, cart_items, shipping."
            ),
        ));
    }
    if let Some(v) = &a.cart_value {
        let p = format!("{path}.cart_value");
        return Ok(Action::CartValue {
            discount: discount_from(&format!("{p}.discount"), v.discount.as_ref())?,
            maximum_allowed_discount_amount: cap_from(
                &format!("{p}.maximum_allowed_discount_amount"),
                v.maximum_allowed_discount_amount,
            )?,
        });
    }
    if let Some(v) = &a.cart_items {
        let p = format!("{path}.cart_items");
        if v.add_free_item == Some(true) {
            return Err(unsupported(
                &format!("{p}.add_free_item"),
                "adding free items to a cart; discount a matching item by 100% instead",
            ));
        }
        let quantity = match v.quantity {
            Some(q) if q < 1 => {
                return Err(field(
                    format!("{p}.quantity"),
                    format!("The field `{p}.quantity` must be at least 1, not {q}."),
                ));
            }
            q => q,
        };
        return Ok(Action::CartItems(CartItemsAction {
            discount: discount_from(&format!("{p}.discount"), v.discount.as_ref())?,
            maximum_allowed_discount_amount: cap_from(
                &format!("{p}.maximum_allowed_discount_amount"),
                v.maximum_allowed_discount_amount,
            )?,
            as_total: v.as_total.unwrap_or(false),
            items: v
                .items
                .as_ref()
                .map(|m| matcher_from(&format!("{p}.items"), m, 0))
                .transpose()?,
            // The spec: for cart_items, items that satisfied the condition are excluded
            // unless this is set.
            include_items_considered_by_condition: v
                .include_items_considered_by_condition
                .unwrap_or(false),
            exclude_items_on_sale: v.exclude_items_on_sale.unwrap_or(false),
            strategy: v
                .strategy
                .as_deref()
                .map(|s| parse_strategy(&format!("{p}.strategy"), s))
                .transpose()?
                .unwrap_or(Strategy::LeastExpensive),
            quantity,
        }));
    }
    let s = a.shipping.as_ref().ok_or_else(|| required(path))?;
    Ok(Action::Shipping {
        zone_ids: zone_ids_from(&format!("{path}.shipping.zone_ids"), s.zone_ids.as_ref())?,
    })
}

fn rules_from(list: &[RuleInput]) -> Result<Vec<Rule>, DomainError> {
    if list.is_empty() {
        return Err(field(
            "rules",
            "The field `rules` must list at least one rule.",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("rules[{i}]");
            Ok(Rule {
                action: action_from(&format!("{p}.action"), r.action.as_ref())?,
                apply_once: r.apply_once.unwrap_or(true),
                stop: r.stop.unwrap_or(false),
                condition: r
                    .condition
                    .as_ref()
                    .map(|c| condition_from(&format!("{p}.condition"), c, true))
                    .transpose()?,
            })
        })
        .collect()
}

/// The `codes` of a request as code inputs (one object or a list).
fn code_inputs(v: &Value) -> Result<Vec<(String, CodeInput)>, DomainError> {
    let parse = |path: String, v: &Value| -> Result<(String, CodeInput), DomainError> {
        CodeInput::deserialize(v)
            .map(|c| (path.clone(), c))
            .map_err(|e| {
                field(
                    path.trim_end_matches('.'),
                    format!(
                        "The field `{}` is invalid: {e}.",
                        path.trim_end_matches('.')
                    ),
                )
            })
    };
    match v {
        Value::Object(_) => Ok(vec![parse("codes.".into(), v)?]),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, c)| parse(format!("codes[{i}]."), c))
            .collect(),
        _ => Err(field(
            "codes",
            "The field `codes` must be a coupon code object like {\"code\": \"SAVE10\"}.",
        )),
    }
}

fn same_code(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

// ---------- the whole promotion ----------

/// Builds the promotion a create (`existing` = `None`) or a partial update asks for,
/// checking every rule but code uniqueness across the store. A new promotion comes back
/// with id 0, new codes with id 0; `priority` 0 when not given (see [`assign_id`]).
pub fn build_promotion(
    input: &PromotionInput,
    existing: Option<&Promotion>,
    now: i64,
) -> Result<Promotion, DomainError> {
    let redemption_type = match (&input.redemption_type, existing) {
        (Some(t), e) => {
            let t = parse_redemption_type(t).ok_or_else(|| {
                field(
                    "redemption_type",
                    format!(
                        "The field `redemption_type` must be `AUTOMATIC` or `COUPON`, not `{t}`."
                    ),
                )
            })?;
            if let Some(e) = e
                && e.redemption_type != t
            {
                return Err(field(
                    "redemption_type",
                    "The field `redemption_type` cannot be changed once a promotion exists.",
                ));
            }
            t
        }
        (None, Some(e)) => e.redemption_type,
        (None, None) => return Err(required("redemption_type")),
    };
    let coupon = redemption_type == RedemptionType::Coupon;

    let name = match (&input.name, existing) {
        (Some(n), _) => text("name", n, true)?,
        (None, Some(e)) => e.name.clone(),
        (None, None) => return Err(required("name")),
    };
    let display_name = match (&input.display_name, existing) {
        (Some(n), _) => text("display_name", n, false)?,
        (None, Some(e)) => e.display_name.clone(),
        (None, None) => String::new(),
    };
    let channels = match (&input.channels, existing) {
        (Some(c), _) => channels_from(c)?,
        (None, Some(e)) => e.channels.clone(),
        (None, None) => Vec::new(),
    };
    let customer = customer_from(input.customer.as_ref(), existing.map(|e| &e.customer))?;
    let rules = match (&input.rules, existing) {
        (Some(r), _) => rules_from(r)?,
        (None, Some(e)) => e.rules.clone(),
        (None, None) => return Err(required("rules")),
    };
    let max_uses = match (input.max_uses, existing) {
        (Some(n), _) => non_negative_int("max_uses", n)?,
        (None, Some(e)) => e.max_uses,
        (None, None) => 0,
    };
    let status = match (&input.status, existing) {
        (Some(s), _) => parse_status("status", s)?,
        (None, Some(e)) => e.status,
        (None, None) => PromotionStatus::Enabled,
    };
    let start_date = match (&input.start_date, existing) {
        (Some(s), _) => parse_date("start_date", s)?,
        (None, Some(e)) => e.start_date,
        (None, None) => now,
    };
    let end_date = match (&input.end_date, existing) {
        (Some(Some(s)), _) if !s.trim().is_empty() => Some(parse_date("end_date", s)?),
        (Some(_), _) => None,
        (None, Some(e)) => e.end_date,
        (None, None) => None,
    };
    if let Some(end) = end_date
        && end <= start_date
    {
        return Err(field(
            "end_date",
            "The field `end_date` must be after `start_date`.",
        ));
    }
    let stop = input.stop.or(existing.map(|e| e.stop)).unwrap_or(false);
    let can_be_used_with_other_promotions = input
        .can_be_used_with_other_promotions
        .or(existing.map(|e| e.can_be_used_with_other_promotions))
        .unwrap_or(true);
    let currency_code = match (&input.currency_code, existing) {
        (Some(c), _) => currency("currency_code", c)?,
        (None, Some(e)) => e.currency_code.clone(),
        (None, None) => "*".into(),
    };
    let notifications = match (&input.notifications, existing) {
        (Some(n), _) => notifications_from(n)?,
        (None, Some(e)) => e.notifications.clone(),
        (None, None) => Vec::new(),
    };
    let shipping_countries = match (&input.shipping_address, existing) {
        (Some(v), _) => shipping_countries_from(v.as_ref())?,
        (None, Some(e)) => e.shipping_countries.clone(),
        (None, None) => Vec::new(),
    };
    if input.schedule.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            "schedule",
            "weekly schedules; use `start_date` and `end_date`",
        ));
    }
    if input.coupon_overrides_automatic_when_offering_higher_discounts == Some(true) {
        return Err(unsupported(
            "coupon_overrides_automatic_when_offering_higher_discounts",
            "this deprecated setting; use `coupon_overrides_other_promotions`",
        ));
    }
    let priority = match (input.priority, existing) {
        (Some(p), _) => non_negative_int("priority", p)?,
        (None, Some(e)) => e.priority,
        (None, None) => 0,
    };

    let (coupon_type, coupon_overrides_other_promotions, codes) = if coupon {
        let kind = match (&input.coupon_type, existing.and_then(|e| e.coupon_type)) {
            (Some(t), Some(old)) => {
                let t = parse_coupon_kind("coupon_type", t)?;
                if t != old {
                    return Err(field(
                        "coupon_type",
                        "The field `coupon_type` cannot be changed once a promotion exists.",
                    ));
                }
                t
            }
            (Some(t), None) => parse_coupon_kind("coupon_type", t)?,
            (None, Some(old)) => old,
            (None, None) => CouponKind::Single,
        };
        let overrides = input
            .coupon_overrides_other_promotions
            .or(existing.map(|e| e.coupon_overrides_other_promotions))
            .unwrap_or(false);
        let codes = codes_from(input.codes.as_ref(), existing, kind, now)?;
        (Some(kind), overrides, codes)
    } else {
        if input.codes.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(field(
                "codes",
                "The field `codes` is for coupon promotions; this promotion is AUTOMATIC.",
            ));
        }
        if input.coupon_type.is_some() {
            return Err(field(
                "coupon_type",
                "The field `coupon_type` is for coupon promotions; this promotion is AUTOMATIC.",
            ));
        }
        if input.coupon_overrides_other_promotions == Some(true) {
            return Err(field(
                "coupon_overrides_other_promotions",
                "The field `coupon_overrides_other_promotions` is for coupon promotions; this promotion is AUTOMATIC.",
            ));
        }
        (None, false, Vec::new())
    };
    if coupon_overrides_other_promotions && can_be_used_with_other_promotions {
        return Err(field(
            "coupon_overrides_other_promotions",
            "The field `coupon_overrides_other_promotions` can be true only when `can_be_used_with_other_promotions` is false.",
        ));
    }

    Ok(Promotion {
        id: existing.map_or(0, |e| e.id),
        redemption_type,
        name,
        display_name,
        channels,
        customer,
        rules,
        max_uses,
        status,
        start_date,
        end_date,
        stop,
        can_be_used_with_other_promotions,
        currency_code,
        notifications,
        shipping_countries,
        coupon_type,
        coupon_overrides_other_promotions,
        codes,
        priority,
        created_from: existing.map_or_else(|| "api".to_string(), |e| e.created_from.clone()),
    })
}

/// The codes a coupon promotion ends up with. On update, `codes` replaces the single
/// code of a `SINGLE` promotion (keeping its id when the text is unchanged, ignoring
/// case); a `BULK` promotion's codes are managed through the codes endpoints only.
fn codes_from(
    v: Option<&Value>,
    existing: Option<&Promotion>,
    kind: CouponKind,
    now: i64,
) -> Result<Vec<PromotionCode>, DomainError> {
    let kept = existing.map(|e| e.codes.clone()).unwrap_or_default();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(kept);
    };
    if existing.is_some() && kind == CouponKind::Bulk {
        return Err(field(
            "codes",
            "The field `codes` cannot change the codes of a BULK coupon promotion; use its /codes and /codegen endpoints.",
        ));
    }
    let inputs = code_inputs(v)?;
    if kind == CouponKind::Single && inputs.len() > 1 {
        return Err(field(
            "codes",
            "The field `codes`: a SINGLE coupon promotion has one code.",
        ));
    }
    let mut out: Vec<PromotionCode> = Vec::with_capacity(inputs.len());
    for (path, input) in &inputs {
        let mut code = build_code(path, input, now)?;
        if out.iter().any(|c| same_code(&c.code, &code.code)) {
            return Err(field(
                format!("{path}code"),
                format!(
                    "The field `{path}code`: `{}` is listed twice (codes are compared without regard to case).",
                    code.code
                ),
            ));
        }
        if let Some(old) = kept.iter().find(|k| same_code(&k.code, &code.code)) {
            code.id = old.id;
            code.created = old.created;
        }
        out.push(code);
    }
    Ok(out)
}

/// Gives a new promotion its id, and its id as priority when none was asked for.
pub fn assign_id(p: &mut Promotion, id: i64, priority_given: bool) {
    p.id = id;
    if !priority_given {
        p.priority = id;
    }
}

/// Whether one more code may be added through `POST …/codes`.
pub fn check_can_add_code(p: &Promotion) -> Result<(), DomainError> {
    match (p.redemption_type, p.coupon_type) {
        (RedemptionType::Automatic, _) => Err(field(
            "code",
            format!(
                "Promotion {} is AUTOMATIC; only coupon promotions have codes.",
                p.id
            ),
        )),
        (_, Some(CouponKind::Single) | None) if !p.codes.is_empty() => Err(field(
            "code",
            format!(
                "Promotion {} is a SINGLE coupon promotion and already has its code.",
                p.id
            ),
        )),
        _ => Ok(()),
    }
}

// ---------- codegen ----------

/// A validated codegen request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodegenSpec {
    pub batch_size: usize,
    pub max_uses: i64,
    pub max_uses_per_customer: i64,
    pub prefix: String,
    pub suffix: String,
    pub delimiter: String,
    /// The characters the random part is drawn from.
    pub alphabet: Vec<char>,
    pub code_length: usize,
}

impl CodegenSpec {
    /// A whole code around a random part of `code_length` characters.
    pub fn code(&self, random: &str) -> String {
        let mut s = String::new();
        if !self.prefix.is_empty() {
            s.push_str(&self.prefix);
            s.push_str(&self.delimiter);
        }
        s.push_str(random);
        if !self.suffix.is_empty() {
            s.push_str(&self.delimiter);
            s.push_str(&self.suffix);
        }
        s
    }
}

fn affix(path: &str, v: Option<&String>) -> Result<String, DomainError> {
    let s = v.map(|s| s.trim()).unwrap_or_default();
    if s.chars().count() > 20 {
        return Err(field(
            path,
            format!("The field `{path}` must be at most 20 characters."),
        ));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-')))
    {
        return Err(field(
            path,
            format!(
                "The field `{path}` may hold only capital letters, digits, `_` and `-`, not `{bad}`."
            ),
        ));
    }
    Ok(s.to_string())
}

/// Checks a codegen request against the spec's limits and fills in its defaults
/// (`max_uses` 1, `max_uses_per_customer` 1, `code_length` 16).
pub fn validate_codegen(input: &CodegenInput) -> Result<CodegenSpec, DomainError> {
    let batch_size = match input.batch_size {
        Some(n) if (1..=CODEGEN_MAX_BATCH).contains(&n) => n as usize,
        Some(n) => {
            return Err(field(
                "batch_size",
                format!("The field `batch_size` must be from 1 to {CODEGEN_MAX_BATCH}, not {n}."),
            ));
        }
        None => return Err(required("batch_size")),
    };
    let limit = |name: &str, v: Option<i64>| -> Result<i64, DomainError> {
        match v.unwrap_or(1) {
            n if (0..=CODEGEN_MAX_USES).contains(&n) => Ok(n),
            n => Err(field(
                name,
                format!("The field `{name}` must be from 0 to {CODEGEN_MAX_USES}, not {n}."),
            )),
        }
    };
    let max_uses = limit("max_uses", input.max_uses)?;
    let max_uses_per_customer = limit("max_uses_per_customer", input.max_uses_per_customer)?;
    let prefix = affix("prefix", input.prefix.as_ref())?;
    let suffix = affix("suffix", input.suffix.as_ref())?;
    let delimiter = match input.delimiter.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(d @ ("_" | "-")) => d.to_string(),
        Some(d) => {
            return Err(field(
                "delimiter",
                format!("The field `delimiter` must be `_` or `-`, not `{d}`."),
            ));
        }
    };
    let code_length = match input.code_length.unwrap_or(16) {
        n @ 6..=16 => n as usize,
        n => {
            return Err(field(
                "code_length",
                format!("The field `code_length` must be from 6 to 16, not {n}."),
            ));
        }
    };
    let mut excluded: Vec<char> = Vec::new();
    for (i, c) in input.exclude_characters.iter().flatten().enumerate() {
        let mut chars = c.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) if ch.is_ascii_uppercase() || ch.is_ascii_digit() => excluded.push(ch),
            _ => {
                return Err(field(
                    format!("exclude_characters[{i}]"),
                    format!(
                        "The field `exclude_characters[{i}]` must be one capital letter or digit, not `{c}`."
                    ),
                ));
            }
        }
    }
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('0'..='9')
        .filter(|c| !excluded.contains(c))
        .collect();
    if alphabet.len() < 2 {
        return Err(field(
            "exclude_characters",
            "The field `exclude_characters` leaves too few characters to generate codes from.",
        ));
    }
    let spec = CodegenSpec {
        batch_size,
        max_uses,
        max_uses_per_customer,
        prefix,
        suffix,
        delimiter,
        alphabet,
        code_length,
    };
    let total = spec.code(&"X".repeat(code_length)).chars().count();
    if total > CODEGEN_MAX_TOTAL_LEN {
        return Err(field(
            "code_length",
            format!(
                "The generated codes would be {total} characters long; prefix, suffix, delimiters and code_length together allow at most {CODEGEN_MAX_TOTAL_LEN}."
            ),
        ));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> PromotionInput {
        serde_json::from_value(v).expect("input")
    }

    fn err_field(e: DomainError) -> String {
        match e {
            DomainError::Unprocessable { errors, .. } => {
                errors.first().map(|(f, _)| f.clone()).unwrap_or_default()
            }
            DomainError::NotFound(t) => t,
        }
    }

    fn base() -> Value {
        json!({
            "redemption_type": "AUTOMATIC",
            "name": "Ten off",
            "rules": [{"action": {"cart_value": {"discount": {"percentage_amount": "10"}}},
                       "condition": {"cart": {"minimum_spend": "150"}}}]
        })
    }

    #[test]
    fn defaults_follow_the_spec() {
        let p = build_promotion(&input(base()), None, 1_000).expect("valid");
        assert_eq!(p.status, PromotionStatus::Enabled);
        assert_eq!(p.start_date, 1_000);
        assert_eq!(p.end_date, None);
        assert!(p.can_be_used_with_other_promotions);
        assert_eq!(p.currency_code, "*");
        assert!(p.rules[0].apply_once);
        assert!(!p.rules[0].stop);
        assert_eq!(p.coupon_type, None);
        assert_eq!(p.created_from, "api");
        assert_eq!(
            p.rules[0].condition,
            Some(Condition::Cart {
                items: None,
                minimum_spend: Some(Money::new(Decimal::from(150))),
                minimum_quantity: None
            })
        );
    }

    #[test]
    fn bxgy_cart_items_defaults() {
        let mut v = base();
        v["rules"] = json!([{
            "action": {"cart_items": {"discount": {"percentage_amount": "100"}, "quantity": 1,
                                      "items": {"products": [5]}}},
            "condition": {"cart": {"items": {"products": [2]}, "minimum_quantity": 1}}
        }]);
        let p = build_promotion(&input(v), None, 0).expect("valid");
        let Action::CartItems(a) = &p.rules[0].action else {
            panic!("cart_items")
        };
        assert!(!a.include_items_considered_by_condition);
        assert_eq!(a.strategy, Strategy::LeastExpensive);
        assert_eq!(a.items, Some(ItemMatcher::Products(vec![5])));
        assert_eq!(a.quantity, Some(1));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                json!({"rules": [{"action": {"gift_item": {"quantity": 1}}}]}),
                "rules[0].action.gift_item",
            ),
            (
                json!({"rules": [{"action": {"cart_value": {"discount": {"percentage_amount": "101"}}}}]}),
                "rules[0].action.cart_value.discount.percentage_amount",
            ),
            (
                json!({"rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "-1"}}}}]}),
                "rules[0].action.cart_value.discount.fixed_amount",
            ),
            (
                json!({"customer": {"group_ids": [1], "excluded_group_ids": [2]}}),
                "customer.excluded_group_ids",
            ),
            (
                json!({"rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "1"}}},
                                  "condition": {"cart": {"items": {"products": [1]}}}}]}),
                "rules[0].condition.cart.minimum_quantity",
            ),
            (json!({"schedule": {"week_frequency": 1}}), "schedule"),
            (
                json!({"customer": {"segments": {"id": ["x"]}}}),
                "customer.segments",
            ),
            (
                json!({"rules": [{"action": {"cart_items": {"discount": {"fixed_amount": "1"},
                        "items": {"product_option": {"name": "Color"}}}}}]}),
                "rules[0].action.cart_items.items.product_option",
            ),
            (json!({"max_uses": -1}), "max_uses"),
            (
                json!({"start_date": "2030-01-02T00:00:00Z", "end_date": "2030-01-01T00:00:00Z"}),
                "end_date",
            ),
            (
                json!({"coupon_overrides_other_promotions": true}),
                "coupon_overrides_other_promotions",
            ),
            (json!({"name": ""}), "name"),
            (json!({"rules": []}), "rules"),
            (json!({"status": "INVALID"}), "status"),
        ];
        for (patch, expected) in cases {
            let mut v = base();
            for (k, val) in patch.as_object().expect("object") {
                v[k] = val.clone();
            }
            let e = build_promotion(&input(v), None, 0).expect_err(expected);
            assert_eq!(err_field(e), expected);
        }
    }

    #[test]
    fn coupon_override_needs_exclusive_coupon() {
        let mut v = base();
        v["redemption_type"] = json!("COUPON");
        v["coupon_overrides_other_promotions"] = json!(true);
        let e = build_promotion(&input(v.clone()), None, 0).expect_err("422");
        assert_eq!(err_field(e), "coupon_overrides_other_promotions");
        v["can_be_used_with_other_promotions"] = json!(false);
        v["codes"] = json!({"code": "SAVE 10_x-1"});
        let p = build_promotion(&input(v), None, 0).expect("valid");
        assert!(p.coupon_overrides_other_promotions);
        assert_eq!(p.coupon_type, Some(CouponKind::Single));
        assert_eq!(p.codes[0].code, "SAVE 10_x-1");
    }

    #[test]
    fn matchers_nest_three_levels_at_most() {
        let deep = json!({"not": {"and": [{"or": [{"not": {"products": [1]}}]}]}});
        let mut v = base();
        v["rules"] =
            json!([{"action": {"cart_items": {"discount": {"fixed_amount": "1"}, "items": deep}}}]);
        assert!(build_promotion(&input(v), None, 0).is_err());
        let ok = json!({"not": {"and": [{"or": [{"products": [1]}, {"brands": [2]}]}]}});
        let mut v = base();
        v["rules"] =
            json!([{"action": {"cart_items": {"discount": {"fixed_amount": "1"}, "items": ok}}}]);
        assert!(build_promotion(&input(v), None, 0).is_ok());
    }

    #[test]
    fn partial_update_keeps_what_is_not_sent() {
        let p = build_promotion(&input(base()), None, 0).expect("valid");
        let u = build_promotion(&input(json!({"name": "Renamed"})), Some(&p), 5).expect("ok");
        assert_eq!(u.name, "Renamed");
        assert_eq!(u.rules, p.rules);
        let e = build_promotion(&input(json!({"redemption_type": "COUPON"})), Some(&p), 5)
            .expect_err("no change of type");
        assert_eq!(err_field(e), "redemption_type");
    }

    #[test]
    fn shipping_zone_ids_and_countries() {
        let mut v = base();
        v["rules"] = json!([{"action": {"shipping": {"zone_ids": "*"}}},
                            {"action": {"shipping": {"zone_ids": [1, 1, 2]}}}]);
        v["shipping_address"] = json!({"countries": [{"iso2_country_code": "us"}]});
        let p = build_promotion(&input(v), None, 0).expect("valid");
        assert_eq!(p.rules[0].action, Action::Shipping { zone_ids: None });
        assert_eq!(
            p.rules[1].action,
            Action::Shipping {
                zone_ids: Some(vec![1, 2])
            }
        );
        assert_eq!(p.shipping_countries, vec!["US".to_string()]);
    }

    #[test]
    fn codegen_limits() {
        let ok = validate_codegen(&CodegenInput {
            batch_size: Some(5),
            prefix: Some("PRE".into()),
            delimiter: Some("-".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(ok.max_uses, 1);
        assert_eq!(ok.code("ABCDEFGHIJKLMNOP"), "PRE-ABCDEFGHIJKLMNOP");
        for bad in [
            CodegenInput {
                batch_size: Some(251),
                ..Default::default()
            },
            CodegenInput {
                batch_size: Some(1),
                code_length: Some(5),
                ..Default::default()
            },
            CodegenInput {
                batch_size: Some(1),
                prefix: Some("lower".into()),
                ..Default::default()
            },
        ] {
            assert!(validate_codegen(&bad).is_err());
        }
    }
}
