//! Storefront order (`orders.sf.yml`): the order a shopper placed, read back from
//! the order's own snapshot of its checkout.

use super::Shopper;
use super::wire::{checkout_json, includes, respond};
use crate::domain::order::PlacedOrder;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_order))
}

/// BigCommerce's order statuses by id, as the storefront spells them.
pub(super) fn status_name(id: i64) -> &'static str {
    match id {
        1 => "PENDING",
        2 => "SHIPPED",
        3 => "PARTIALLY_SHIPPED",
        4 => "REFUNDED",
        5 => "CANCELLED",
        6 => "DECLINED",
        7 => "AWAITING_PAYMENT",
        8 => "AWAITING_PICKUP",
        9 => "AWAITING_SHIPMENT",
        10 => "COMPLETED",
        11 => "AWAITING_FULFILLMENT",
        12 => "MANUAL_VERIFICATION_REQUIRED",
        13 => "DISPUTED",
        14 => "PARTIALLY_REFUNDED",
        _ => "INCOMPLETE",
    }
}

/// Physical order items carry their discounts as an object keyed by discount id.
fn items(list: &Value) -> Value {
    let mut out = list.clone();
    for item in out.as_array_mut().into_iter().flatten() {
        let discounts: serde_json::Map<String, Value> = item["discounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let id = match &d["id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (id, d["discountedAmount"].clone())
            })
            .collect();
        item["discounts"] = Value::Object(discounts);
    }
    out
}

/// The `include` names of a query (`include=a,b` or `include=a&include=b`, any case
/// of percent-encoding).
fn include_names(query: Option<&str>) -> Vec<String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == "include")
        .flat_map(|(_, v)| {
            crate::http::extract::percent_decode(v)
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What paid the order from stored value, as the Checkout SDK reads `payments`.
fn stored_value_payments(order: &PlacedOrder) -> Vec<Value> {
    let ck = &order.cart.checkout;
    let mut out: Vec<Value> = ck
        .gift_certificates
        .iter()
        .filter(|g| g.used > crate::domain::money::Money::ZERO)
        .map(|g| {
            json!({"providerId": "giftcertificate", "gatewayId": null, "amount": g.used,
                   "detail": {"code": g.code, "remaining": g.balance - g.used}})
        })
        .collect();
    if ck.payments.store_credit > crate::domain::money::Money::ZERO {
        out.push(json!({"providerId": "storecredit", "gatewayId": null,
                        "amount": ck.payments.store_credit, "detail": {}}));
    }
    out
}

/// Money is reported in currency units as JSON numbers throughout, including
/// `taxTotal` and `taxes[].amount`, which the spec types as integers (they cannot
/// hold cents; BigCommerce's own responses carry decimals there).
///
/// `lineItems` is the spec's one-element list, unless the query asks for the items'
/// own sub-resources (`include=lineItems.physicalItems.options`, as the Checkout SDK
/// does): then it is the object BigCommerce actually answers with and the SDK reads,
/// `{physicalItems, digitalItems, giftCertificates}`. `include=payments` adds what
/// gift certificates and store credit paid.
pub(super) fn order_json(order: &PlacedOrder, base: &str, query: Option<&str>) -> Value {
    let names = include_names(query);
    let items_object = names.iter().any(|n| {
        n.starts_with("lineItems.physicalItems") || n.starts_with("lineItems.digitalItems")
    });
    let cart = &order.cart;
    let inc = includes(Some(
        "include=cart.lineItems.physicalItems.options,cart.lineItems.digitalItems.options",
    ));
    let co = checkout_json(cart, &inc, base, false, None);
    let c = &co["cart"];
    let totals = &cart.checkout.totals;
    // The total in minor units, computed exactly (no floats).
    let scale = Decimal::from(10i64.pow(cart.currency.decimal_places));
    let as_integer = (totals.grand_total.amount() * scale)
        .round()
        .to_i64()
        .unwrap_or_default();
    // The order spec names coupons' types by name and ids as strings.
    let coupons: Vec<Value> = cart
        .checkout
        .coupons
        .iter()
        .map(|a| {
            json!({"id": a.id.to_string(), "code": a.code, "displayName": a.display_name,
                   "couponType": a.coupon_type, "discountedAmount": a.discounted_amount})
        })
        .collect();
    // Order line items are numbered 1, 2, … in cart order (the spec's ids are integers).
    let numbers: std::collections::HashMap<String, usize> = cart
        .line_items
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id.to_string(), i + 1))
        .collect();
    let shipping: Vec<Value> = co["consignments"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, k)| {
            let a = &k["address"];
            let ids: Vec<Value> = k["lineItemIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_str().and_then(|id| numbers.get(id)))
                .map(|n| json!({"id": n}))
                .collect();
            json!({
                "lineItems": ids,
                "shippingAddressId": i + 1,
                "firstName": a["firstName"], "lastName": a["lastName"], "company": a["company"],
                "address1": a["address1"], "address2": a["address2"], "city": a["city"],
                "stateOrProvince": a["stateOrProvince"], "postalCode": a["postalCode"],
                "country": a["country"], "countryCode": a["countryCode"],
                "email": a["email"], "phone": a["phone"],
                "itemsTotal": ids.len(),
                "itemsShipped": 0,
                "shippingMethod": k["selectedShippingOption"]["description"].as_str().unwrap_or_default(),
                "baseCost": k["shippingCostExTax"],
                "costExTax": k["shippingCostExTax"],
                "costIncTax": k["shippingCostIncTax"],
                "baseHandlingCost": k["handlingCostExTax"],
                "handlingCostExTax": k["handlingCostExTax"],
                "handlingCostIncTax": k["handlingCostIncTax"],
            })
        })
        .collect();
    let has_digital = c["lineItems"]["digitalItems"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let mut out = json!({
        "orderId": order.id,
        "cartId": cart.id,
        "currency": c["currency"],
        "isTaxIncluded": c["isTaxIncluded"],
        "baseAmount": c["baseAmount"],
        "discountAmount": c["discountAmount"],
        "giftWrappingCostTotal": 0,
        "orderAmount": co["grandTotal"],
        "orderAmountAsInteger": as_integer,
        "coupons": coupons,
        "lineItems": if items_object {
            json!({
                "physicalItems": c["lineItems"]["physicalItems"],
                "digitalItems": c["lineItems"]["digitalItems"],
                "giftCertificates": c["lineItems"]["giftCertificates"],
            })
        } else {
            json!([{
                "physicalItems": items(&c["lineItems"]["physicalItems"]),
                // The spec keeps digital items' discounts as a list.
                "digitalItems": c["lineItems"]["digitalItems"],
                "giftCertificate": c["lineItems"]["giftCertificates"],
            }])
        },
        "customerId": cart.customer_id.to_string(),
        "billingAddress": co["billingAddress"],
        "status": status_name(order.status_id),
        "hasDigitalItems": has_digital,
        "isDownloadable": false,
        "isComplete": order.status_id != 0,
        "customerMessage": co["customerMessage"],
        "shippingCostTotal": co["shippingCostTotalIncTax"],
        "shippingCostBeforeDiscount": co["shippingCostTotalIncTax"],
        "handlingCostTotal": co["handlingCostTotalIncTax"],
        "taxes": co["taxes"],
        "taxTotal": co["taxTotal"],
        "totalDiscount": c["discountAmount"],
        "channelId": cart.channel_id,
        "consignments": {"shipping": shipping},
    });
    if names.iter().any(|n| n == "payments")
        && let Some(m) = out.as_object_mut()
    {
        m.insert(
            "payments".into(),
            Value::Array(stored_value_payments(order)),
        );
    }
    out
}

/// An order the shopper placed.
#[utoipa::path(get, path = "/api/storefront/orders/{orderId}", tag = "Storefront Orders", operation_id = "sfGetOrder",
    params(("orderId" = i64, Path), ("include" = Option<String>, Query, description = "lineItems, billingAddress, coupons, currency (always returned); payments; lineItems.physicalItems.… answers lineItems as an object")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(order_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let id: i64 = order_id
        .trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("Order {order_id} does not exist.")))?;
    let order = state
        .kassa
        .shopper_order(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    Ok(respond(
        StatusCode::OK,
        &order_json(&order, &state.kassa.public_url, q.as_deref()),
    ))
}
