//! Storefront wire format: the same carts and checkouts as the v3 wire types
//! (`http::carts::cart_wire`, `http::checkouts::checkout_wire`), in camelCase,
//! without the `data` envelope, with the few fields where the storefront schema
//! differs set here. Requests go the other way: camelCase keys are read into the v3
//! request types, so both APIs share one parser and one set of rules per field.

use crate::domain::cart::Cart;
use crate::domain::customer_address::CustomerAddress;
use crate::http::checkouts::checkout_wire;
use crate::http::error::ApiError;
use crate::http::extract::{Includes, JsonBody, parse_json};
use crate::http::{AppState, carts::cart_wire};
use crate::service::shopper_accounts::ShopperCustomer;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn rename_keys(v: Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (f(&k), rename_keys(v, f)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| rename_keys(v, f)).collect()),
        other => other,
    }
}

pub fn camel_keys(v: Value) -> Value {
    rename_keys(v, &camel)
}

pub fn snake_keys(v: Value) -> Value {
    rename_keys(v, &snake)
}

/// Display name and symbol of the currencies Kassa knows by name; others show their code.
pub(crate) fn currency_names(code: &str) -> (&str, &str) {
    match code {
        "USD" => ("US Dollar", "$"),
        "EUR" => ("Euro", "€"),
        "GBP" => ("British Pound", "£"),
        "JPY" => ("Japanese Yen", "¥"),
        "CAD" => ("Canadian Dollar", "$"),
        "AUD" => ("Australian Dollar", "$"),
        _ => (code, code),
    }
}

fn currency(cart: &Cart) -> Value {
    let (name, symbol) = currency_names(&cart.currency.code);
    serde_json::json!({
        "code": cart.currency.code,
        "decimalPlaces": cart.currency.decimal_places,
        "name": name,
        "symbol": symbol,
    })
}

/// Which storefront schema a cart is shaped for: the two spec files disagree on a
/// few types (coupon types, discount ids), and each response follows its own file.
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    /// `carts.sf.yml`: coupon types as numbers, physical discount ids as strings.
    Cart,
    /// The cart inside a `checkouts.sf.yml` checkout: coupon types as strings,
    /// discount ids as numbers.
    CheckoutCart,
}

fn coupon_type_number(t: &Value) -> Option<i64> {
    match t.as_str()? {
        "per_item_discount" => Some(0),
        "percentage_discount" => Some(1),
        "per_total_discount" => Some(2),
        "shipping_discount" => Some(3),
        "free_shipping" => Some(4),
        "promotion" => Some(5),
        _ => None,
    }
}

fn number_coupon_types(coupons: Option<&mut Value>) {
    for c in coupons.and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(n) = coupon_type_number(&c["couponType"]) {
            c["couponType"] = n.into();
        }
    }
}

/// A discount id as a number: promotion ids are numbers already; the coupon's share
/// is named by the coupon's id; a manual discount is 0.
fn numeric_discount_ids(items: Option<&mut Value>, cart: &Cart) {
    let coupon_id = cart.checkout.coupons.first().map_or(0, |c| c.id);
    for item in items.and_then(Value::as_array_mut).into_iter().flatten() {
        for d in item["discounts"].as_array_mut().into_iter().flatten() {
            let n = match &d["id"] {
                Value::Number(n) => n.as_i64().unwrap_or(0),
                Value::String(s) if s == "coupon" => coupon_id,
                Value::String(s) => s.parse().unwrap_or(0),
                _ => 0,
            };
            d["id"] = n.into();
        }
    }
}

/// Where v3 and storefront carts differ beyond the case of their keys.
fn fix_cart(v: &mut Value, cart: &Cart, flavor: Flavor) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    m.insert("currency".into(), currency(cart));
    if let Some(t) = m.remove("taxIncluded") {
        m.insert("isTaxIncluded".into(), t);
    }
    m.remove("redirectUrls");
    if flavor == Flavor::Cart {
        number_coupon_types(m.get_mut("coupons"));
    }
    if let Some(lines) = m.get_mut("lineItems") {
        numeric_discount_ids(lines.get_mut("digitalItems"), cart);
        if flavor == Flavor::CheckoutCart {
            numeric_discount_ids(lines.get_mut("physicalItems"), cart);
        }
    }
}

/// A storefront cart.
pub fn cart_json(cart: &Cart, inc: &Includes, base: &str) -> Value {
    let mut v = camel_keys(serde_json::to_value(cart_wire(cart, inc, base)).unwrap_or_default());
    fix_cart(&mut v, cart, Flavor::Cart);
    v
}

/// The v3 include names the storefront spells in camelCase.
pub fn includes(query: Option<&str>) -> Includes {
    let snake_query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => format!("{k}={}", snake(&crate::http::extract::percent_decode(v))),
                None => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    Includes::from_query(snake_query.as_deref())
}

/// A storefront checkout; `customer` is the cart's customer when it has one.
pub fn checkout_json(
    cart: &Cart,
    inc: &Includes,
    base: &str,
    spam_check: bool,
    customer: Option<&ShopperCustomer>,
) -> Value {
    let mut v =
        camel_keys(serde_json::to_value(checkout_wire(cart, inc, base)).unwrap_or_default());
    if let Some(c) = v.get_mut("cart") {
        fix_cart(c, cart, Flavor::CheckoutCart);
    }
    number_coupon_types(v.get_mut("coupons"));
    // `address_Full`'s flag: whether the address goes into the customer's book with
    // the order.
    if let Some(b) = &cart.checkout.billing_address {
        v["billingAddress"]["shouldSaveAddress"] = b.address.should_save.into();
    }
    if let Some(list) = v.get_mut("consignments").and_then(Value::as_array_mut) {
        for (wire, c) in list.iter_mut().zip(&cart.checkout.consignments) {
            if wire["address"].is_object() {
                wire["address"]["shouldSaveAddress"] = c.address.address.should_save.into();
            }
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.insert("shouldExecuteSpamCheck".into(), spam_check.into());
        for (k, val) in spec_checkout_fields(cart, customer) {
            m.insert(k.into(), val);
        }
    }
    v
}

/// Fields of the storefront checkout (`checkout_Full`) the v3 checkout does not have:
/// the shopper, the channel, and totals as the store displays them (with tax when its
/// prices include tax). BigCommerce's Checkout SDK reads them all.
fn spec_checkout_fields(
    cart: &Cart,
    customer: Option<&ShopperCustomer>,
) -> Vec<(&'static str, Value)> {
    let t = &cart.checkout.totals;
    let shown = |inc: crate::domain::money::Money, ex: crate::domain::money::Money| {
        serde_json::to_value(if cart.tax_included { inc } else { ex }).unwrap_or_default()
    };
    let shipping = shown(t.shipping_cost_total_inc_tax, t.shipping_cost_total_ex_tax);
    let email = cart
        .checkout
        .billing_address
        .as_ref()
        .map(|b| b.address.email.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| cart.email.clone());
    vec![
        ("channelId", cart.channel_id.into()),
        (
            "customer",
            match customer.filter(|c| c.customer.id == cart.customer_id && cart.customer_id != 0) {
                Some(c) => customer_json(c),
                None => serde_json::json!({
                    "id": cart.customer_id,
                    "isGuest": cart.customer_id == 0,
                    "email": email,
                    "firstName": "", "lastName": "", "fullName": "",
                    "addresses": [],
                    "storeCredit": 0,
                    "shouldEncourageSignIn": false,
                    "customerGroup": {"id": 0, "name": ""},
                }),
            },
        ),
        // Only hosted (offsite) payments in progress are listed; Kassa has none.
        ("payments", Value::Array(Vec::new())),
        ("giftWrappingCostTotal", 0.into()),
        ("subtotal", shown(t.subtotal_inc_tax, t.subtotal_ex_tax)),
        ("shippingCostTotal", shipping.clone()),
        ("shippingCostBeforeDiscount", shipping.clone()),
        ("comparisonShippingCost", shipping),
        (
            "handlingCostTotal",
            shown(t.handling_cost_total_inc_tax, t.handling_cost_total_ex_tax),
        ),
    ]
}

/// A signed-in customer as the checkout (and the Checkout SDK's customer answers) shows
/// it, with the addresses they saved. Store credit is in the store's default currency.
pub fn customer_json(c: &ShopperCustomer) -> Value {
    let addresses: Vec<Value> = c.addresses.iter().map(saved_address_json).collect();
    let who = &c.customer;
    serde_json::json!({
        "id": who.id,
        "isGuest": false,
        "email": who.email,
        "firstName": who.first_name,
        "lastName": who.last_name,
        "fullName": who.full_name(),
        "addresses": addresses,
        "storeCredit": who.store_credit,
        "shouldEncourageSignIn": false,
        "customerGroup": {"id": who.customer_group_id, "name": ""},
    })
}

/// A saved address as the Checkout SDK reads it (`CustomerAddress`).
fn saved_address_json(a: &CustomerAddress) -> Value {
    let x = &a.address;
    serde_json::json!({
        "id": a.id,
        "type": a.address_type.as_str(),
        "firstName": x.first_name,
        "lastName": x.last_name,
        "company": x.company,
        "address1": x.address1,
        "address2": x.address2,
        "city": x.city,
        "stateOrProvince": x.state_or_province,
        "stateOrProvinceCode": x.state_or_province_code,
        "country": x.country,
        "countryCode": x.country_code,
        "postalCode": x.postal_code,
        "phone": x.phone,
        "customFields": [],
    })
}

/// A JSON answer without envelope.
pub fn respond(status: StatusCode, body: &Value) -> Response {
    let mut res = crate::http::wire::json_response(body);
    *res.status_mut() = status;
    res
}

/// A camelCase JSON body read into a v3 request type (an empty body reads as `{}`).
pub struct SfJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for SfJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        // Read (and syntax errors reported) as the client sent it, empty as `{}`.
        let JsonBody(raw) = JsonBody::<Value>::from_request(req, state).await?;
        let converted = serde_json::to_vec(&snake_keys(raw)).unwrap_or_default();
        parse_json(&converted).map(SfJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(camel("state_or_province_code"), "stateOrProvinceCode");
        assert_eq!(snake("stateOrProvinceCode"), "state_or_province_code");
        assert_eq!(camel("address1"), "address1");
        assert_eq!(snake("address1"), "address1");
    }
}
