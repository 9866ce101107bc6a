//! Orders V3 (`orders.v3.yml`): an order's transactions and payment actions — capture,
//! void, refund quotes and refunds — and the store-wide refund list.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::{Envelope, pagination_meta, rfc3339};
use crate::domain::money::{Money, json_number};
use crate::domain::scope::Scope;
use crate::service::orders_v3::{RefundInput, RefundItemInput};
use crate::store::TransactionRow;
use crate::store::refunds::{RefundFilter, RefundRow};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_order_transactions))
        .routes(routes!(capture_order_payment))
        .routes(routes!(void_order_payment))
        .routes(routes!(create_refund_quote))
        .routes(routes!(create_refund, get_order_refunds))
        .routes(routes!(get_refunds))
        .routes(routes!(get_refund))
        .routes(routes!(get_order_settings, update_order_settings))
        .routes(routes!(
            get_channel_order_settings,
            update_channel_order_settings
        ))
}

fn money(e4: i64) -> Value {
    Value::Number(json_number(Money::from_e4(e4).amount()))
}

fn transaction_wire(t: &TransactionRow) -> Value {
    let doc: Value = serde_json::from_str(&t.doc).unwrap_or_default();
    let offline = doc["offline"].is_object();
    let method = match t.gateway.as_str() {
        "gift_certificate" => "gift_certificate",
        "store_credit" => "store_credit",
        _ if offline => "offline",
        _ => "credit_card",
    };
    let card = &doc["card"];
    let credit_card = if card.is_object() {
        json!({"card_type": card["brand"], "card_iin": card["iin"], "card_last4": card["last_four"],
               "card_expiry_month": card["expiry_month"], "card_expiry_year": card["expiry_year"]})
    } else {
        Value::Null
    };
    let gc = &doc["gift_certificate"];
    let gift_certificate = if gc.is_object() {
        json!({"code": gc["code"],
               "starting_balance": money(gc["starting_balance_e4"].as_i64().unwrap_or(0)),
               "remaining_balance": money(gc["remaining_balance_e4"].as_i64().unwrap_or(0))})
    } else {
        Value::Null
    };
    let sc = &doc["store_credit"];
    let store_credit = if sc.is_object() {
        json!({"remaining_balance": money(sc["remaining_balance_e4"].as_i64().unwrap_or(0))})
    } else {
        Value::Null
    };
    let mut wire = json!({
        "id": t.number,
        "order_id": t.order_id.to_string(),
        "event": t.event,
        "method": method,
        "amount": money(t.amount_e4),
        "currency": t.currency_code,
        "gateway": t.gateway,
        "gateway_transaction_id": doc["gateway_transaction_id"],
        "date_created": rfc3339(t.created_at),
        "test": t.gateway == "testgateway",
        "status": t.status,
        "fraud_review": false,
        "offline": if offline { doc["offline"].clone() } else { Value::Null },
        "credit_card": credit_card,
        "gift_certificate": gift_certificate,
        "store_credit": store_credit,
    });
    // An integer in the spec, not nullable: present only when there is one.
    if let Some(reference) = doc["reference_transaction_id"].as_i64() {
        wire["reference_transaction_id"] = json!(reference);
    }
    wire
}

fn refund_wire(r: &RefundRow) -> Value {
    let doc: Value = serde_json::from_str(&r.doc).unwrap_or_default();
    let items: Vec<Value> = doc["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let requested = i["requested_amount"]
                        .as_str()
                        .and_then(|s| s.parse::<Decimal>().ok())
                        .map(|d| Value::Number(json_number(d)))
                        .unwrap_or(Value::Null);
                    let mut item = json!({"item_type": i["item_type"], "item_id": i["item_id"]});
                    // The spec types these as integer, string and number, not nullable:
                    // a field the refund did not use is left out.
                    for (name, value) in [
                        ("quantity", i["quantity"].clone()),
                        ("reason", i["reason"].clone()),
                        ("requested_amount", requested),
                    ] {
                        if !value.is_null() {
                            item[name] = value;
                        }
                    }
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    // One entry per instrument refunded to; refunds written before the split was kept
    // went back to one provider, for the whole amount.
    let parts: Vec<(Value, i64)> = match doc["payments"].as_array() {
        Some(ps) => ps
            .iter()
            .map(|p| {
                (
                    p["provider_id"].clone(),
                    p["amount_e4"].as_i64().unwrap_or(0),
                )
            })
            .collect(),
        None => vec![(doc["provider_id"].clone(), r.total_e4)],
    };
    let payments: Vec<Value> = parts
        .into_iter()
        .map(|(provider, e4)| {
            json!({
                "id": r.id,
                "provider_id": provider,
                "amount": money(e4),
                "offline": false,
                "is_declined": false,
                "declined_message": "",
            })
        })
        .collect();
    json!({
        "id": r.id,
        "order_id": r.order_id,
        "user_id": 0,
        "created": rfc3339(r.created_at),
        "reason": doc["reason"],
        "total_amount": money(r.total_e4),
        "total_tax": 0,
        "uses_merchant_override_values": doc["uses_merchant_override_values"],
        "items": items,
        "payments": payments,
    })
}

/// An order's transactions, oldest first.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/{order_id}/transactions", tag = "Transactions", operation_id = "getOrderTransactions",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<Vec<Object>>)), (status = 404, body = ErrorBody)))]
async fn get_order_transactions(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
) -> ApiResult<Envelope<Vec<Value>>> {
    let rows = state.kassa.order_transactions_v3(&who, order_id).await?;
    let n = rows.len();
    Ok(Envelope::with_meta(
        rows.iter().map(transaction_wire).collect(),
        pagination_meta(n as i64, n, (n as i64).max(1), 1),
    ))
}

/// Capture an authorized payment: the order moves from Awaiting Payment to Awaiting
/// Fulfillment.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/{order_id}/payment_actions/capture", tag = "Payment Actions", operation_id = "captureOrderPayment",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 201, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn capture_order_payment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    state.kassa.capture_order_payment(&who, order_id).await?;
    Ok((StatusCode::CREATED, Envelope::new(json!({}))).into_response())
}

/// Void an authorized payment: the order is Cancelled and its stock given back.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/{order_id}/payment_actions/void", tag = "Payment Actions", operation_id = "voidOrderPayment",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 201, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn void_order_payment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    state.kassa.void_order_payment(&who, order_id).await?;
    Ok((StatusCode::CREATED, Envelope::new(json!({}))).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RefundItemBody {
    #[serde(default)]
    pub item_type: Option<String>,
    #[serde(default)]
    pub item_id: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Decimal>,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RefundPaymentBody {
    #[serde(default)]
    pub provider_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Decimal>,
    #[serde(default)]
    pub offline: Option<bool>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct MerchantOverrideBody {
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub total_amount: Option<Decimal>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RefundBody {
    #[serde(default)]
    pub items: Option<Vec<RefundItemBody>>,
    #[serde(default)]
    pub payments: Option<Vec<RefundPaymentBody>>,
    #[serde(default)]
    pub merchant_calculated_override: Option<MerchantOverrideBody>,
    #[serde(default)]
    pub reason: Option<String>,
}

fn items_of(body: Option<Vec<RefundItemBody>>) -> ApiResult<Vec<RefundItemInput>> {
    let Some(items) = body.filter(|i| !i.is_empty()) else {
        return Err(ApiError::unprocessable(
            "items",
            "The field `items` is required: what to refund, e.g. [{\"item_type\":\"ORDER\",\"item_id\":ORDER_ID,\"amount\":10}].",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            Ok(RefundItemInput {
                item_type: item.item_type.ok_or_else(|| {
                    ApiError::unprocessable(
                        &format!("items[{i}].item_type"),
                        "Each item needs its `item_type`.",
                    )
                })?,
                item_id: item.item_id.unwrap_or(0),
                amount: item.amount,
                quantity: item.quantity,
                reason: item.reason,
            })
        })
        .collect()
}

/// Quote a refund: its total and how it can be refunded.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/{order_id}/payment_actions/refund_quotes", tag = "Payment Actions", operation_id = "createOrderRefundQuotes",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    request_body = RefundBody,
    responses((status = 201, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_refund_quote(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
    body: Result<JsonBody<RefundBody>, ApiError>,
) -> ApiResult<Response> {
    // The scope first: a caller without it learns nothing about what a refund needs.
    who.require(Scope::Transactions)?;
    let JsonBody(body) = body?;
    let items = items_of(body.items)?;
    let q = state.kassa.refund_quote(&who, order_id, &items).await?;
    let total = Value::Number(json_number(q.total.amount()));
    // One refund method: back to what paid, each instrument its part.
    let method: Vec<Value> = q
        .parts
        .iter()
        .map(|(provider, amount)| {
            json!({
                "provider_id": provider,
                "provider_description": provider_description(provider),
                "amount": Value::Number(json_number(amount.amount())),
                "offline": false,
                "offline_provider": false,
                "offline_reason": "",
            })
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Envelope::new(json!({
            "order_id": q.order_id,
            "total_refund_amount": total,
            "total_refund_tax_amount": 0,
            "order_level_refund_amount": 0,
            "rounding": 0,
            "adjustment": 0,
            "tax_inclusive": false,
            "refund_methods": [method],
        })),
    )
        .into_response())
}

fn provider_description(provider: &str) -> &'static str {
    match provider {
        "gift_certificate" => "Gift Certificate",
        "store_credit" => "Store Credit",
        _ => "Kassa test gateway",
    }
}

/// Refund part or all of an order. Refunds of one order are processed one at a time;
/// the sum refunded never exceeds what was paid.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/{order_id}/payment_actions/refunds", tag = "Payment Actions", operation_id = "createOrderRefund",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    request_body = RefundBody,
    responses((status = 201, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_refund(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
    body: Result<JsonBody<RefundBody>, ApiError>,
) -> ApiResult<Response> {
    // The scope first: a caller without it learns nothing about what a refund needs.
    who.require(Scope::Transactions)?;
    let JsonBody(body) = body?;
    let items = items_of(body.items)?;
    let payments = match body.payments {
        None => None,
        Some(ps) => Some(
            ps.into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let amount = p.amount.ok_or_else(|| {
                        ApiError::unprocessable(
                            &format!("payments[{i}].amount"),
                            "Each payment needs its `amount`.",
                        )
                    })?;
                    Ok((p.provider_id.unwrap_or_default(), amount))
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
    };
    let input = RefundInput {
        items,
        payments,
        override_total: body
            .merchant_calculated_override
            .and_then(|o| o.total_amount),
        reason: body.reason,
    };
    let r = state.kassa.create_refund(&who, order_id, &input).await?;
    Ok((StatusCode::CREATED, Envelope::new(refund_wire(&r))).into_response())
}

/// An order's refunds, by id ascending.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/{order_id}/payment_actions/refunds", tag = "Payment Actions", operation_id = "getOrderRefunds",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<Vec<Object>>)), (status = 404, body = ErrorBody)))]
async fn get_order_refunds(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, order_id)): Path<(String, i64)>,
) -> ApiResult<Envelope<Vec<Value>>> {
    let rows = state.kassa.order_refunds(&who, order_id).await?;
    let n = rows.len() as i64;
    Ok(Envelope::with_meta(
        rows.iter().map(refund_wire).collect(),
        pagination_meta(n, rows.len(), n.max(1), 1),
    ))
}

fn id_list(q: &HashMap<String, String>, key: &str) -> ApiResult<Vec<i64>> {
    let Some(v) = q.get(key) else {
        return Ok(Vec::new());
    };
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(
                    key,
                    format!("`{s}` is not an id; give ids separated by commas."),
                )
            })
        })
        .collect()
}

fn time_param(q: &HashMap<String, String>, key: &str) -> ApiResult<Option<i64>> {
    let Some(v) = q.get(key) else {
        return Ok(None);
    };
    if let Ok(n) = v.trim().parse::<i64>() {
        return Ok(Some(n));
    }
    time::OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| {
            ApiError::unprocessable(
                key,
                format!("`{v}` is not a date-time; use ISO 8601, e.g. 2026-11-23T12:00:00+00:00."),
            )
        })
}

/// Every refund of the store, by id ascending; filters `order_id:in`, `id:in`,
/// `created:min`, `created:max`, and `page`/`limit`.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/payment_actions/refunds", tag = "Payment Actions", operation_id = "getOrdersRefunds",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<Vec<Object>>)), (status = 422, body = ErrorBody)))]
async fn get_refunds(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Envelope<Vec<Value>>> {
    let page = match q.get("page").map(|p| p.trim().parse::<i64>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "page",
                "`page` must be a whole number from 1.",
            ));
        }
    };
    let limit = match q.get("limit").map(|p| p.trim().parse::<i64>()) {
        None => 50,
        Some(Ok(l)) if (1..=250).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "limit",
                "`limit` must be 1 to 250.",
            ));
        }
    };
    let filter = RefundFilter {
        order_ids: id_list(&q, "order_id:in")?,
        ids: id_list(&q, "id:in")?,
        created_min: time_param(&q, "created:min")?,
        created_max: time_param(&q, "created:max")?,
        limit,
        offset: (page - 1) * limit,
    };
    let (rows, total) = state.kassa.list_refunds(&who, &filter).await?;
    Ok(Envelope::with_meta(
        rows.iter().map(refund_wire).collect(),
        pagination_meta(total, rows.len(), limit, page),
    ))
}

/// One refund.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/payment_actions/refunds/{refund_id}", tag = "Payment Actions", operation_id = "getOrderRefund",
    params(("store_hash" = String, Path), ("refund_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody)))]
async fn get_refund(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, refund_id)): Path<(String, i64)>,
) -> ApiResult<Envelope<Value>> {
    let filter = RefundFilter {
        ids: vec![refund_id],
        limit: 1,
        ..RefundFilter::default()
    };
    let (rows, _) = state.kassa.list_refunds(&who, &filter).await?;
    let r = rows
        .first()
        .ok_or_else(|| ApiError::not_found(format!("Refund {refund_id} does not exist.")))?;
    let mut wire = refund_wire(r);
    // This one operation's schema types an item's `requested_amount` as a two-decimal
    // string (`"109.11"`) where the others use a number.
    if let Some(items) = wire["items"].as_array_mut() {
        for item in items {
            if let Some(amount) = item["requested_amount"]
                .as_number()
                .and_then(|n| n.to_string().parse::<Decimal>().ok())
            {
                item["requested_amount"] = Value::String(format!("{:.2}", amount));
            }
        }
    }
    Ok(Envelope::new(wire))
}

/// `{"email_addresses": [...]}`; for a channel, `null` means "as the global setting".
#[derive(Deserialize, ToSchema, Default)]
pub struct EmailList {
    #[serde(default, deserialize_with = "some_nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub email_addresses: Option<Option<Vec<String>>>,
}

fn some_nullable<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Ok(Some(Option::<Vec<String>>::deserialize(d)?))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct NotificationsBody {
    #[serde(default)]
    pub order_placed: Option<EmailList>,
    #[serde(default)]
    pub forward_invoice: Option<EmailList>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OrderSettingsBody {
    #[serde(default)]
    pub notifications: Option<NotificationsBody>,
}

fn settings_wire(s: &crate::service::orders_v3::OrderSettings) -> Value {
    json!({"notifications": {
        "order_placed": {"email_addresses": s.order_placed},
        "forward_invoice": {"email_addresses": s.forward_invoice},
    }})
}

fn channel_of(channel_id: i64) -> ApiResult<i64> {
    if channel_id < 1 {
        return Err(ApiError::not_found(format!(
            "Channel {channel_id} does not exist; channel ids start at 1."
        )));
    }
    Ok(channel_id)
}

async fn put_settings(
    state: &AppState,
    who: &crate::service::accounts::Principal,
    channel_id: i64,
    body: OrderSettingsBody,
) -> ApiResult<Envelope<Value>> {
    let n = body.notifications.unwrap_or_default();
    let s = state
        .kassa
        .update_order_settings(
            who,
            channel_id,
            n.order_placed.and_then(|e| e.email_addresses),
            n.forward_invoice.and_then(|e| e.email_addresses),
        )
        .await?;
    Ok(Envelope::new(settings_wire(&s)))
}

/// The store's global order settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/settings", tag = "Order Settings", operation_id = "getGlobalOrderSettings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<Object>))))]
async fn get_order_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
) -> ApiResult<Envelope<Value>> {
    let s = state.kassa.order_settings(&who, 0).await?;
    Ok(Envelope::new(settings_wire(&s)))
}

/// Change the store's global order settings (the fields given).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/orders/settings", tag = "Order Settings", operation_id = "updateGlobalOrderSettings",
    params(("store_hash" = String, Path)),
    request_body = OrderSettingsBody,
    responses((status = 200, body = inline(Envelope<Object>)), (status = 422, body = ErrorBody)))]
async fn update_order_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    body: Result<JsonBody<OrderSettingsBody>, ApiError>,
) -> ApiResult<Envelope<Value>> {
    who.require(Scope::V2Orders)?;
    let JsonBody(body) = body?;
    put_settings(&state, &who, 0, body).await
}

/// A channel's order settings (`null` = as the global settings).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/settings/channels/{channel_id}", tag = "Order Settings", operation_id = "getChannelOrderSettings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody)))]
async fn get_channel_order_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, channel_id)): Path<(String, i64)>,
) -> ApiResult<Envelope<Value>> {
    let s = state
        .kassa
        .order_settings(&who, channel_of(channel_id)?)
        .await?;
    Ok(Envelope::new(settings_wire(&s)))
}

/// Change a channel's order settings (the fields given; `null` = as the global).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/orders/settings/channels/{channel_id}", tag = "Order Settings", operation_id = "updateChannelOrderSettings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    request_body = OrderSettingsBody,
    responses((status = 200, body = inline(Envelope<Object>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_channel_order_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((_store, channel_id)): Path<(String, i64)>,
    body: Result<JsonBody<OrderSettingsBody>, ApiError>,
) -> ApiResult<Envelope<Value>> {
    who.require(Scope::V2Orders)?;
    let JsonBody(body) = body?;
    put_settings(&state, &who, channel_of(channel_id)?, body).await
}
