//! The Payments API: accepted methods (`GET /v3/payments/methods`), payment access tokens
//! (`POST /v3/payments/access_tokens`) and processing a payment
//! (`POST /stores/{store_hash}/payments`, authorized by `Authorization: PAT …` instead of
//! an API token, as BigCommerce's payments server is).

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::Envelope;
use crate::domain::DomainError;
use crate::domain::payment::CardInput;
use crate::domain::scope::Scope;
use crate::service::ServiceError;
use crate::service::payments::PaymentInstrument;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_payment_methods))
        .routes(routes!(create_access_token))
        .routes(routes!(process_payment))
        .routes(routes!(get_payment_settings, update_payment_settings))
}

/// A store's payment settings (Kassa's own; BigCommerce keeps this in the control panel).
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct PaymentSettings {
    /// `authorization_and_capture` (default): a payment is captured at once and the order
    /// moves to Awaiting Fulfillment. `authorization`: the payment is only authorized, the
    /// order waits in Awaiting Payment for `POST /v3/orders/{id}/payment_actions/capture`
    /// (or `…/void`).
    #[serde(default)]
    pub transaction_type: Option<String>,
}

/// The store's payment settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/payments/settings", tag = "Payments", operation_id = "getPaymentSettings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<PaymentSettings>))))]
async fn get_payment_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
) -> ApiResult<Envelope<PaymentSettings>> {
    who.require(Scope::TransactionsReadOnly)?;
    let kind = state.kassa.payment_transaction_type(who.store.id).await?;
    Ok(Envelope::new(PaymentSettings {
        transaction_type: Some(kind.into()),
    }))
}

/// Change the store's payment settings.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/payments/settings", tag = "Payments", operation_id = "updatePaymentSettings",
    params(("store_hash" = String, Path)),
    request_body = PaymentSettings,
    responses((status = 200, body = inline(Envelope<PaymentSettings>)), (status = 422, body = ErrorBody)))]
async fn update_payment_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    body: Result<JsonBody<PaymentSettings>, ApiError>,
) -> ApiResult<Envelope<PaymentSettings>> {
    who.require(Scope::Transactions)?;
    let JsonBody(body) = body?;
    let kind = match body.transaction_type {
        Some(k) => state.kassa.set_payment_transaction_type(&who, &k).await?,
        None => state.kassa.payment_transaction_type(who.store.id).await?,
    };
    Ok(Envelope::new(PaymentSettings {
        transaction_type: Some(kind.into()),
    }))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct AccessTokenRequest {
    #[serde(default)]
    pub order: Option<OrderRef>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OrderRef {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub is_recurring: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessToken {
    pub id: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MethodsQuery {
    pub order_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SupportedInstrument {
    pub instrument_type: String,
    pub verification_value_required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentMethodWire {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub test_mode: bool,
    pub supported_instruments: Vec<SupportedInstrument>,
    #[schema(value_type = Vec<Object>)]
    pub stored_instruments: Vec<serde_json::Value>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PaymentRequest {
    #[serde(default)]
    pub payment: Option<PaymentBody>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PaymentBody {
    #[serde(default)]
    pub instrument: Option<InstrumentBody>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
    #[serde(default)]
    pub save_instrument: Option<bool>,
}

/// A payment instrument: `card`, `stored_card`, `gift_certificate` or `store_credit`.
#[derive(Deserialize, ToSchema, Default)]
pub struct InstrumentBody {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub cardholder_name: Option<String>,
    #[serde(default)]
    pub expiry_month: Option<i64>,
    #[serde(default)]
    pub expiry_year: Option<i64>,
    #[serde(default)]
    pub verification_value: Option<String>,
    /// A stored card's token (`stored_card`).
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub gift_certificate_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentResult {
    pub id: String,
    pub transaction_type: String,
    pub status: String,
}

/// Payment methods that can pay an order awaiting payment.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/payments/methods", tag = "Payments", operation_id = "getPaymentMethods",
    params(("store_hash" = String, Path), MethodsQuery),
    responses((status = 200, body = inline(Envelope<Vec<PaymentMethodWire>>)), (status = 400, description = "`order_id` is not a whole number.", body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_payment_methods(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    Query(q): Query<MethodsQuery>,
) -> ApiResult<Envelope<Vec<PaymentMethodWire>>> {
    who.require(Scope::PaymentsMethodsRead)?;
    let Some(order_id) = q.order_id else {
        return Err(ApiError::unprocessable(
            "order_id",
            "Name the order: ?order_id=…",
        ));
    };
    let methods = state.kassa.payment_methods(&who, order_id).await?;
    Ok(Envelope::new(
        methods
            .into_iter()
            .map(|m| PaymentMethodWire {
                id: m.id.into(),
                name: m.name.into(),
                kind: m.kind.into(),
                test_mode: m.test_mode,
                supported_instruments: m
                    .supported_instruments
                    .iter()
                    .map(|t| SupportedInstrument {
                        instrument_type: (*t).into(),
                        verification_value_required: true,
                    })
                    .collect(),
                stored_instruments: m.stored_instruments,
            })
            .collect(),
    ))
}

/// Create a payment access token for an order awaiting payment (one hour, one payment).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/payments/access_tokens", tag = "Payments", operation_id = "paymentsAccessTokensPOST",
    params(("store_hash" = String, Path)),
    request_body = AccessTokenRequest,
    responses((status = 201, body = inline(Envelope<AccessToken>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_access_token(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    body: Result<JsonBody<AccessTokenRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::PaymentsAccessTokenCreate)?;
    let JsonBody(body) = body?;
    let Some(order_id) = body.order.and_then(|o| o.id) else {
        return Err(ApiError::unprocessable(
            "order.id",
            "The field `order.id` is required.",
        ));
    };
    let token = state.kassa.create_payment_token(&who, order_id).await?;
    Ok((
        StatusCode::CREATED,
        Envelope::new(AccessToken { id: token }),
    )
        .into_response())
}

/// The payment access token of a request: `Authorization: PAT <token>` (or `Bearer`);
/// with `bare_ok`, also the bare token, as BigCommerce's Checkout SDK sends it.
pub fn payment_access_token(headers: &HeaderMap, bare_ok: bool) -> ApiResult<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("PAT ")
                .or_else(|| v.strip_prefix("Bearer "))
                .or(bare_ok.then_some(v))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Send the payment access token as `Authorization: PAT <token>`.",
            )
        })
}

/// A payment's failure, with an unusable token told apart from other refusals.
pub fn pat_refused(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Unauthorized => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The payment access token is unknown, expired or for another store.",
        ),
        other => other.into(),
    }
}

/// Process a payment for the order a payment access token is bound to. Authorized by
/// `Authorization: PAT <token>`. The amount is the order's; see the test cards in the README.
#[utoipa::path(post, path = "/stores/{store_hash}/payments", tag = "Payments", operation_id = "PaymentsPost",
    params(("store_hash" = String, Path)),
    request_body = PaymentRequest,
    responses((status = 201, body = inline(Envelope<PaymentResult>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn process_payment(
    State(state): State<AppState>,
    Path(store_hash): Path<String>,
    headers: HeaderMap,
    body: Result<JsonBody<PaymentRequest>, ApiError>,
) -> ApiResult<Response> {
    let pat = payment_access_token(&headers, false)?;
    let JsonBody(body) = body?;
    let payment = body.payment.unwrap_or_default();
    let method = payment.payment_method_id.unwrap_or_default();
    let save = payment.save_instrument.unwrap_or(false);
    let instrument = payment.instrument.unwrap_or_default();
    let instrument = match instrument.kind.as_deref().map(str::trim) {
        Some("card") => PaymentInstrument::Card {
            card: CardInput {
                number: instrument.number.unwrap_or_default(),
                cardholder_name: instrument.cardholder_name.unwrap_or_default(),
                expiry_month: instrument.expiry_month.unwrap_or_default(),
                expiry_year: instrument.expiry_year.unwrap_or_default(),
                verification_value: instrument.verification_value.unwrap_or_default(),
            },
            save,
        },
        Some("stored_card") => PaymentInstrument::StoredCard {
            token: instrument.token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                ApiError::unprocessable(
                    "payment.instrument.token",
                    "A `stored_card` instrument needs its `token` (from GET /v3/payments/methods).",
                )
            })?,
        },
        Some("gift_certificate") => PaymentInstrument::GiftCertificate {
            code: instrument
                .gift_certificate_code
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "payment.instrument.gift_certificate_code",
                        "A `gift_certificate` instrument needs its `gift_certificate_code`.",
                    )
                })?,
        },
        Some("store_credit") => PaymentInstrument::StoreCredit,
        Some(other) => {
            return Err(DomainError::field(
                "payment.instrument.type",
                format!(
                    "Kassa takes `card`, `stored_card`, `gift_certificate` and `store_credit` instruments, not `{other}`."
                ),
            )
            .into());
        }
        None => {
            return Err(ApiError::unprocessable(
                "payment.instrument.type",
                "The field `payment.instrument.type` is required.",
            ));
        }
    };
    let done = state
        .kassa
        .process_payment(&store_hash, pat, &method, &instrument)
        .await
        .map_err(pat_refused)?;
    Ok((
        StatusCode::CREATED,
        Envelope::new(PaymentResult {
            id: done.id,
            transaction_type: done.transaction_type.into(),
            status: done.status.into(),
        }),
    )
        .into_response())
}
