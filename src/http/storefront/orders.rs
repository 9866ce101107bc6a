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
fn status_name(id: i64) -> &'static str {
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

fn order_json(order: &PlacedOrder, base: &str) -> Value {
    let cart = &order.cart;
    let inc = includes(Some(
        "include=cart.lineItems.physicalItems.options,cart.lineItems.digitalItems.options",
    ));
    let co = checkout_json(cart, &inc, base, false);
    let c = &co["cart"];
    let totals = &cart.checkout.totals;
    // The total in minor units, computed exactly (no floats).
    let scale = Decimal::from(10i64.pow(cart.currency.decimal_places));
    let as_integer = (totals.grand_total.amount() * scale)
        .round()
        .to_i64()
        .unwrap_or_default();
    let has_digital = c["lineItems"]["digitalItems"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    json!({
        "orderId": order.id,
        "cartId": cart.id,
        "currency": c["currency"],
        "isTaxIncluded": c["isTaxIncluded"],
        "baseAmount": c["baseAmount"],
        "discountAmount": c["discountAmount"],
        "giftWrappingCostTotal": 0,
        "orderAmount": co["grandTotal"],
        "orderAmountAsInteger": as_integer,
        "coupons": co["coupons"],
        "lineItems": [{
            "physicalItems": c["lineItems"]["physicalItems"],
            "digitalItems": c["lineItems"]["digitalItems"],
            "giftCertificate": c["lineItems"]["giftCertificates"],
        }],
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
        "consignments": co["consignments"],
    })
}

/// An order the shopper placed.
#[utoipa::path(get, path = "/api/storefront/orders/{orderId}", tag = "Storefront Orders", operation_id = "sfGetOrder",
    params(("orderId" = i64, Path), ("include" = Option<String>, Query, description = "lineItems, billingAddress, coupons, currency (all are always returned)")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(order_id): Path<String>,
    RawQuery(_q): RawQuery,
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
        &order_json(&order, &state.kassa.public_url),
    ))
}
