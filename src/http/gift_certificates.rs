//! Gift certificates admin API (`admin/marketing.v2.yml`, the gift certificate part) under
//! `/stores/{store_hash}/v2/gift_certificates`. V2 conventions: bare JSON, money as
//! 4-decimal strings, errors as `[{"status", "message"}]`. Reading needs
//! `store_v2_marketing_read_only`, changing `store_v2_marketing`.
//!
//! - `GET /gift_certificates` filters by `min_id`, `max_id`, `code` (any case), `order_id`,
//!   `to_name`, `from_name` (exact), `to_email`, `from_email` (any case); sorts by id
//!   (`sort=id`, `direction=asc|desc`); pages with `page` (from 1) and `limit` (1–250,
//!   default 50); answers `200 []` when nothing matches.
//! - Dates: `purchase_date` and `expiry_date` are written as RFC 2822
//!   (`Tue, 13 Mar 2018 16:18:59 +0000`), as BigCommerce's V2 API answers (the spec's
//!   description mentions Unix timestamps; both are strings). Requests may send RFC 2822
//!   or Unix seconds. A certificate that never expires has `expiry_date` `""`.
//! - `amount` and `balance` are read from strings (`"25.00"`) or numbers.
//! - A `code` another certificate has (compared without regard to case) is refused with
//!   409, as V2 refuses duplicates. Without a code, one is generated.
//! - `PUT` changes the fields sent; `id` and `order_id` are read-only and ignored.
//! - `DELETE /gift_certificates` deletes every certificate of the store.

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, JsonBody, percent_decode};
use super::v2::{self, V2Error, V2ErrorItem, V2Result};
use crate::domain::gift_certificate::{GiftCertificate, GiftCertificateInput, rfc2822};
use crate::domain::scope::Scope;
use crate::store::gift_certificates::GiftCertificateFilter;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 250;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_gift_certificates,
            create_gift_certificate,
            delete_gift_certificates
        ))
        .routes(routes!(
            get_gift_certificate,
            update_gift_certificate,
            delete_gift_certificate
        ))
}

// ---------- reading values as V2 clients send them ----------

fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    Decimal::from_str_exact(s)
        .or_else(|_| Decimal::from_scientific(s))
        .ok()
}

/// A number or a numeric string (`"25.0000"`); null, absent or `""` are `None`.
fn flex_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_decimal(&s)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("`{s}` is not a number"))),
        Some(Value::Number(n)) => parse_decimal(&n.to_string())
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("`{n}` is out of range"))),
        Some(_) => Err(D::Error::custom("expected a number or a numeric string")),
    }
}

/// A date as a string or as Unix seconds (a number); null is `""` (none).
fn flex_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(D::Error::custom(
            "expected an RFC 2822 date string or Unix seconds",
        )),
    }
}

// ---------- requests ----------

/// `giftCertificate_Post` / `giftCertificate_Put`: a certificate to create (`to_name`,
/// `to_email`, `from_name`, `from_email`, `amount` required), or the fields to change.
#[derive(Deserialize, ToSchema)]
pub struct GiftCertificateRequest {
    /// Read-only; ignored.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub id: Option<Value>,
    /// Read-only; ignored.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub order_id: Option<Value>,
    #[serde(default)]
    pub to_name: Option<String>,
    #[serde(default)]
    pub to_email: Option<String>,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default)]
    pub from_email: Option<String>,
    /// More than 0; a string (`"25.00"`) or a number.
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Decimal>,
    /// 0 to `amount`; defaults to `amount`.
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub balance: Option<Decimal>,
    /// Left out or `""`: generated. Longer than 20 characters: cut to 20.
    #[serde(default)]
    pub code: Option<String>,
    /// `active` (default), `pending`, `disabled` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
    /// One of the store's currencies; defaults to its default currency.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// 0 = no customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// RFC 2822 or Unix seconds; defaults to now.
    #[serde(default, deserialize_with = "flex_date")]
    #[schema(value_type = Option<String>)]
    pub purchase_date: Option<String>,
    /// RFC 2822 or Unix seconds; `""`, `0` or `null` for none.
    #[serde(default, deserialize_with = "flex_date")]
    #[schema(value_type = Option<String>)]
    pub expiry_date: Option<String>,
    /// `birthday.html`, `boy.html`, `girl.html`, `celebration.html`, `christmas.html` or
    /// `general.html` (default).
    #[serde(default)]
    pub template: Option<String>,
    /// At most 250 characters.
    #[serde(default)]
    pub message: Option<String>,
}

impl GiftCertificateRequest {
    fn into_input(self) -> GiftCertificateInput {
        GiftCertificateInput {
            code: self.code,
            amount: self.amount,
            balance: self.balance,
            status: self.status,
            currency_code: self.currency_code,
            customer_id: self.customer_id,
            purchase_date: self.purchase_date,
            expiry_date: self.expiry_date,
            to_name: self.to_name,
            to_email: self.to_email,
            from_name: self.from_name,
            from_email: self.from_email,
            template: self.template,
            message: self.message,
        }
    }
}

// ---------- responses ----------

/// `giftCertificate_Full`.
#[derive(Serialize, ToSchema)]
pub struct GiftCertificateWire {
    pub id: i64,
    pub code: String,
    /// 4-decimal string.
    pub amount: String,
    /// 4-decimal string.
    pub balance: String,
    pub status: String,
    pub currency_code: String,
    pub customer_id: i64,
    pub order_id: i64,
    pub to_name: String,
    pub to_email: String,
    pub from_name: String,
    pub from_email: String,
    pub template: String,
    pub message: String,
    /// RFC 2822.
    pub purchase_date: String,
    /// RFC 2822, or `""` when the certificate does not expire.
    pub expiry_date: String,
}

pub fn gift_certificate_wire(g: &GiftCertificate) -> GiftCertificateWire {
    GiftCertificateWire {
        id: g.id,
        code: g.code.clone(),
        amount: v2::money(g.amount),
        balance: v2::money(g.balance),
        status: g.status.as_str().to_string(),
        currency_code: g.currency_code.clone(),
        customer_id: g.customer_id,
        order_id: g.order_id,
        to_name: g.to_name.clone(),
        to_email: g.to_email.clone(),
        from_name: g.from_name.clone(),
        from_email: g.from_email.clone(),
        template: g.template.clone(),
        message: g.message.clone(),
        purchase_date: rfc2822(g.purchase_date),
        expiry_date: g.expiry_date.map(rfc2822).unwrap_or_default(),
    }
}

// ---------- query strings ----------

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The last non-blank value of a parameter.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

fn int_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<i64>> {
    param(pairs, name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                V2Error::bad_request(format!(
                    "The query parameter `{name}` must be a whole number, not `{v}`."
                ))
            })
        })
        .transpose()
}

fn positive_param(pairs: &[(String, String)], name: &str, max: i64) -> V2Result<Option<usize>> {
    match int_param(pairs, name)? {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(usize::try_from(n).ok()),
        Some(n) => Err(V2Error::bad_request(format!(
            "The query parameter `{name}` must be between 1 and {max}, not {n}."
        ))),
    }
}

fn filter_from(pairs: &[(String, String)]) -> V2Result<GiftCertificateFilter> {
    if let Some(s) = param(pairs, "sort")
        && s != "id"
    {
        return Err(V2Error::bad_request(format!(
            "The query parameter `sort` can only be `id`, not `{s}`."
        )));
    }
    let descending = match param(pairs, "direction") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(d) => {
            return Err(V2Error::bad_request(format!(
                "The query parameter `direction` must be `asc` or `desc`, not `{d}`."
            )));
        }
    };
    let text = |name: &str| param(pairs, name).map(String::from);
    Ok(GiftCertificateFilter {
        min_id: int_param(pairs, "min_id")?,
        max_id: int_param(pairs, "max_id")?,
        code: text("code"),
        order_id: int_param(pairs, "order_id")?,
        to_name: text("to_name"),
        to_email: text("to_email"),
        from_name: text("from_name"),
        from_email: text("from_email"),
        descending,
    })
}

// ---------- handlers ----------

/// Get all gift certificates, by id, filtered and paged.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/gift_certificates", tag = "Gift Certificates",
    operation_id = "getGiftCertificates",
    params(("store_hash" = String, Path),
        ("min_id" = Option<i64>, Query), ("max_id" = Option<i64>, Query),
        ("code" = Option<String>, Query, description = "any case"), ("order_id" = Option<i64>, Query),
        ("to_name" = Option<String>, Query), ("to_email" = Option<String>, Query),
        ("from_name" = Option<String>, Query), ("from_email" = Option<String>, Query),
        ("sort" = Option<String>, Query, description = "`id`"), ("direction" = Option<String>, Query, description = "`asc` (default) or `desc`"),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1–250, default 50")),
    responses((status = 200, body = Vec<GiftCertificateWire>), (status = 400, body = Vec<V2ErrorItem>), (status = 401, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn list_gift_certificates(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2MarketingReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let filter = filter_from(&pairs)?;
    let page = positive_param(&pairs, "page", i64::from(i32::MAX))?.unwrap_or(1);
    let limit = positive_param(&pairs, "limit", MAX_LIMIT as i64)?.unwrap_or(DEFAULT_LIMIT);
    let list = state
        .kassa
        .list_admin_gift_certificates(&who.store, &filter, page, limit)
        .await?;
    let wire: Vec<GiftCertificateWire> = list.iter().map(gift_certificate_wire).collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Create a gift certificate (no email is sent to the recipient).
#[utoipa::path(post, path = "/stores/{store_hash}/v2/gift_certificates", tag = "Gift Certificates",
    operation_id = "createGiftCertificate",
    params(("store_hash" = String, Path)),
    request_body = GiftCertificateRequest,
    responses((status = 201, body = GiftCertificateWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
async fn create_gift_certificate(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    body: Result<JsonBody<GiftCertificateRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let input = v2::body(body)?.into_input();
    let g = state
        .kassa
        .create_admin_gift_certificate(&who.store, &input)
        .await?;
    Ok(v2::reply(StatusCode::CREATED, &gift_certificate_wire(&g)))
}

/// Delete every gift certificate of the store.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/gift_certificates", tag = "Gift Certificates",
    operation_id = "deleteGiftCertificates",
    params(("store_hash" = String, Path)),
    responses((status = 204), (status = 403, body = Vec<V2ErrorItem>)))]
async fn delete_gift_certificates(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    state
        .kassa
        .delete_all_admin_gift_certificates(&who.store)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get a gift certificate.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/gift_certificates/{id}", tag = "Gift Certificates",
    operation_id = "getGiftCertificate",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = GiftCertificateWire), (status = 403, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_gift_certificate(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2MarketingReadOnly)?;
    let id = v2::path_id(&path.1, "Gift certificate")?;
    let g = state
        .kassa
        .get_admin_gift_certificate(&who.store, id)
        .await?;
    Ok(v2::reply(StatusCode::OK, &gift_certificate_wire(&g)))
}

/// Update a gift certificate: the fields sent change.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/gift_certificates/{id}", tag = "Gift Certificates",
    operation_id = "updateGiftCertificate",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    request_body = GiftCertificateRequest,
    responses((status = 200, body = GiftCertificateWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>),
        (status = 404, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
async fn update_gift_certificate(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<GiftCertificateRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let id = v2::path_id(&path.1, "Gift certificate")?;
    let input = v2::body(body)?.into_input();
    let g = state
        .kassa
        .update_admin_gift_certificate(&who.store, id, &input)
        .await?;
    Ok(v2::reply(StatusCode::OK, &gift_certificate_wire(&g)))
}

/// Delete a gift certificate.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/gift_certificates/{id}", tag = "Gift Certificates",
    operation_id = "deleteGiftCertificate",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn delete_gift_certificate(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let id = v2::path_id(&path.1, "Gift certificate")?;
    state
        .kassa
        .delete_admin_gift_certificate(&who.store, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
