//! Coupons admin API (`admin/marketing.v2.yml`, the coupon part) under
//! `/stores/{store_hash}/v2/coupons`. V2 conventions: bare JSON, money as 4-decimal
//! strings, dates as RFC 2822, errors as `[{"status", "message"}]`. Reading needs
//! `store_v2_marketing_read_only`, changing `store_v2_marketing`.
//!
//! - `GET /coupons` filters by `id`, `code` (any case), `name`, `type`, `exclude_type`,
//!   `min_id`, `max_id`, pages with `page` (from 1) and `limit` (1–250, default 50), and
//!   answers `200 []` when nothing matches.
//! - `GET /coupons/{id}` is not in the spec (which only has PUT and DELETE there); it is
//!   given as `getCoupon` for symmetry.
//! - `DELETE /coupons` deletes the coupons `id:in` lists, or every coupon without it.
//! - `restricted_to.countries` is a string in the spec (`"AU"`); Kassa writes several
//!   countries comma-separated (`"AU,NZ"`) and reads a string (comma-separated) or a list.
//! - A duplicate `code` (compared without regard to case) or `name` is refused with 409.
//! - `PUT` changes the fields sent, except `applies_to`, which the spec clears when left out.

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, JsonBody, percent_decode};
use super::v2::{self, V2Error, V2ErrorItem, V2Result};
use crate::domain::coupon::{AppliesToInput, Coupon, CouponInput, CouponType, rfc2822};
use crate::domain::money::Money;
use crate::domain::scope::Scope;
use crate::service::coupons::CouponFilter;
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
        .routes(routes!(list_coupons, create_coupon, delete_coupons))
        .routes(routes!(count_coupons))
        .routes(routes!(get_coupon, update_coupon, delete_coupon))
}

// ---------- reading values as V2 clients send them ----------

fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    Decimal::from_str_exact(s)
        .or_else(|_| Decimal::from_scientific(s))
        .ok()
}

/// A number, a numeric string (`"5.0000"`), or null/absent/`""` as `None`.
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

/// Reads `null` as `Some(None)` so "sent as null" and "not sent" differ.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------- requests ----------

#[derive(Deserialize, ToSchema)]
pub struct AppliesToRequest {
    /// `products` or `categories`.
    #[serde(default)]
    pub entity: Option<String>,
    /// Product or category ids; categories `[0]` = every category.
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
}

/// `coupon_Base`: a coupon to create (`name`, `code`, `type`, `amount`, `applies_to`
/// required), or the fields of one to change.
#[derive(Deserialize, ToSchema)]
pub struct CouponRequest {
    /// Read-only; ignored.
    #[serde(default)]
    pub id: Option<Value>,
    /// Read-only; ignored.
    #[serde(default)]
    pub num_uses: Option<Value>,
    /// Read-only; ignored.
    #[serde(default)]
    pub date_created: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub coupon_type: Option<String>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub min_purchase: Option<Decimal>,
    /// RFC 2822 date; `""` or `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub expires: Option<Option<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub applies_to: Option<AppliesToRequest>,
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub max_uses_per_customer: Option<i64>,
    /// `{"countries": "AU"}`, `{"countries": "AU,NZ"}` or `{"countries": ["AU", "NZ"]}`;
    /// `{}`, `[]` or `null` clear it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub restricted_to: Option<Option<Value>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub shipping_methods: Option<Option<Vec<String>>>,
}

fn restricted_countries(v: Option<Value>) -> V2Result<Vec<String>> {
    let bad = || {
        V2Error::bad_request(
            "The field `restricted_to` must be an object like {\"countries\": \"AU\"} or {\"countries\": [\"AU\", \"NZ\"]}.",
        )
    };
    let countries = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
        Some(Value::Object(o)) => o.get("countries").cloned().unwrap_or(Value::Null),
        Some(_) => return Err(bad()),
    };
    match countries {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                _ => Err(V2Error::bad_request(
                    "The field `restricted_to.countries` must list country codes as strings.",
                )),
            })
            .collect(),
        _ => Err(bad()),
    }
}

impl CouponRequest {
    fn into_input(self) -> V2Result<CouponInput> {
        Ok(CouponInput {
            name: self.name,
            coupon_type: self.coupon_type,
            amount: self.amount,
            min_purchase: self.min_purchase,
            expires: self.expires.map(Option::unwrap_or_default),
            enabled: self.enabled,
            code: self.code,
            applies_to: self.applies_to.map(|a| AppliesToInput {
                entity: a.entity,
                ids: a.ids,
            }),
            max_uses: self.max_uses,
            max_uses_per_customer: self.max_uses_per_customer,
            restricted_countries: match self.restricted_to {
                Some(v) => Some(restricted_countries(v)?),
                None => None,
            },
            shipping_methods: self.shipping_methods.map(Option::unwrap_or_default),
        })
    }
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct AppliesToWire {
    pub entity: String,
    pub ids: Vec<i64>,
}

/// `coupon_Full`.
#[derive(Serialize, ToSchema)]
pub struct CouponWire {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub coupon_type: String,
    /// 4-decimal string; a percentage for `percentage_discount`.
    pub amount: String,
    /// 4-decimal string.
    pub min_purchase: String,
    /// RFC 2822, or `""` when the coupon does not expire.
    pub expires: String,
    pub enabled: bool,
    pub code: String,
    /// `null` once a PUT has cleared it.
    pub applies_to: Option<AppliesToWire>,
    pub num_uses: i64,
    pub max_uses: i64,
    pub max_uses_per_customer: i64,
    /// `{}` or `{"countries": "AU,NZ"}`.
    #[schema(value_type = Object)]
    pub restricted_to: Value,
    pub shipping_methods: Vec<String>,
    /// RFC 2822.
    pub date_created: String,
}

#[derive(Serialize, ToSchema)]
pub struct CouponCountWire {
    pub count: usize,
}

pub fn coupon_wire(c: &Coupon) -> CouponWire {
    CouponWire {
        id: c.id,
        name: c.name.clone(),
        coupon_type: c.coupon_type.as_str().to_string(),
        amount: v2::money(Money::new(c.amount)),
        min_purchase: v2::money(c.min_purchase),
        expires: c.expires.map(rfc2822).unwrap_or_default(),
        enabled: c.enabled,
        code: c.code.clone(),
        applies_to: c.applies_to.as_ref().map(|a| AppliesToWire {
            entity: a.entity.as_str().to_string(),
            ids: a.ids.clone(),
        }),
        num_uses: c.num_uses,
        max_uses: c.max_uses,
        max_uses_per_customer: c.max_uses_per_customer,
        restricted_to: if c.restricted_countries.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({ "countries": c.restricted_countries.join(",") })
        },
        shipping_methods: c.shipping_methods.clone(),
        date_created: rfc2822(c.date_created),
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

fn type_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<CouponType>> {
    param(pairs, name)
        .map(|v| {
            CouponType::parse(v).ok_or_else(|| {
                V2Error::bad_request(format!(
                    "The query parameter `{name}` must be one of per_item_discount, percentage_discount, per_total_discount, shipping_discount, free_shipping, promotion; not `{v}`."
                ))
            })
        })
        .transpose()
}

fn positive_param(pairs: &[(String, String)], name: &str, max: i64) -> V2Result<Option<usize>> {
    match int_param(pairs, name)? {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(V2Error::bad_request(format!(
            "The query parameter `{name}` must be between 1 and {max}, not {n}."
        ))),
    }
}

// ---------- handlers ----------

/// Get all coupons, by id, filtered and paged.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/coupons", tag = "Coupons",
    operation_id = "getCoupons",
    params(("store_hash" = String, Path),
        ("id" = Option<i64>, Query), ("code" = Option<String>, Query), ("name" = Option<String>, Query),
        ("type" = Option<String>, Query), ("exclude_type" = Option<String>, Query),
        ("min_id" = Option<i64>, Query), ("max_id" = Option<i64>, Query),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1–250, default 50")),
    responses((status = 200, body = Vec<CouponWire>), (status = 400, body = Vec<V2ErrorItem>), (status = 401, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn list_coupons(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2MarketingReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let filter = CouponFilter {
        id: int_param(&pairs, "id")?,
        code: param(&pairs, "code").map(String::from),
        name: param(&pairs, "name").map(String::from),
        coupon_type: type_param(&pairs, "type")?,
        exclude_type: type_param(&pairs, "exclude_type")?,
        min_id: int_param(&pairs, "min_id")?,
        max_id: int_param(&pairs, "max_id")?,
    };
    let page = positive_param(&pairs, "page", i64::from(i32::MAX))?.unwrap_or(1);
    let limit = positive_param(&pairs, "limit", MAX_LIMIT as i64)?.unwrap_or(DEFAULT_LIMIT);
    let coupons = state
        .kassa
        .list_admin_coupons(&who.store, &filter, page, limit)
        .await?;
    let wire: Vec<CouponWire> = coupons.iter().map(coupon_wire).collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Create a coupon.
#[utoipa::path(post, path = "/stores/{store_hash}/v2/coupons", tag = "Coupons",
    operation_id = "createCoupon",
    params(("store_hash" = String, Path)),
    request_body = CouponRequest,
    responses((status = 201, body = CouponWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
async fn create_coupon(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    body: Result<JsonBody<CouponRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let input = v2::body(body)?.into_input()?;
    let c = state.kassa.create_admin_coupon(&who.store, &input).await?;
    Ok(v2::reply(StatusCode::CREATED, &coupon_wire(&c)))
}

/// Delete the coupons `id:in` lists, or every coupon.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/coupons", tag = "Coupons",
    operation_id = "deleteCoupons",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query, description = "comma-separated coupon ids")),
    responses((status = 204), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn delete_coupons(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    RawQuery(q): RawQuery,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let pairs = query_pairs(q.as_deref());
    let mut ids: Option<Vec<i64>> = None;
    for (_, v) in pairs.iter().filter(|(k, _)| k == "id:in") {
        let list = ids.get_or_insert_with(Vec::new);
        for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            list.push(part.parse::<i64>().map_err(|_| {
                V2Error::bad_request(format!(
                    "The query parameter `id:in` must list whole-number ids, not `{part}`."
                ))
            })?);
        }
    }
    // `id:in=` with nothing in it names no coupon; it does not mean "all".
    state
        .kassa
        .delete_admin_coupons(&who.store, ids.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get a count of coupons.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/coupons/count", tag = "Coupons",
    operation_id = "getCouponsCount",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = CouponCountWire), (status = 403, body = Vec<V2ErrorItem>)))]
async fn count_coupons(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2MarketingReadOnly)?;
    let count = state.kassa.count_admin_coupons(&who.store).await?;
    Ok(v2::reply(StatusCode::OK, &CouponCountWire { count }))
}

/// Get a coupon (Kassa; not in the spec).
#[utoipa::path(get, path = "/stores/{store_hash}/v2/coupons/{id}", tag = "Coupons",
    operation_id = "getCoupon",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = CouponWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_coupon(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2MarketingReadOnly)?;
    let id = v2::path_id(&path.1, "Coupon")?;
    let c = state.kassa.get_admin_coupon(&who.store, id).await?;
    Ok(v2::reply(StatusCode::OK, &coupon_wire(&c)))
}

/// Update a coupon: the fields sent change; `applies_to` left out is cleared.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/coupons/{id}", tag = "Coupons",
    operation_id = "updateCoupon",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    request_body = CouponRequest,
    responses((status = 200, body = CouponWire), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
async fn update_coupon(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<CouponRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let id = v2::path_id(&path.1, "Coupon")?;
    let input = v2::body(body)?.into_input()?;
    let c = state
        .kassa
        .update_admin_coupon(&who.store, id, &input)
        .await?;
    Ok(v2::reply(StatusCode::OK, &coupon_wire(&c)))
}

/// Delete a coupon.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/coupons/{id}", tag = "Coupons",
    operation_id = "deleteCoupon",
    params(("store_hash" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
async fn delete_coupon(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Marketing)?;
    let id = v2::path_id(&path.1, "Coupon")?;
    state.kassa.delete_admin_coupon(&who.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
