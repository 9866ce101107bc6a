//! Shipping admin API (`admin/shipping.v2.yml`): zones, and the methods of each zone,
//! under `/stores/{store_hash}/v2/shipping/...`. V2 conventions: bare JSON, money as
//! 4-decimal strings, errors as `[{"status", "message"}]`. Reading needs
//! `store_v2_information_read_only`, changing `store_v2_information`.
//!
//! Only the rate-table method types are accepted (`perorder`, `peritem`, `weight`,
//! `total`, `freeshipping`); real-time carrier types are refused naming `type`.
//! Beyond the spec, methods carry `tax_class_id` (the tax class shipping is taxed under,
//! `null` = not taxable; default 0).

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, JsonBody};
use super::v2::{self, V2ErrorItem, V2Result};
use crate::domain::money::{Money, json_number};
use crate::domain::scope::Scope;
use crate::domain::shipping::{
    FreeShippingInput, HandlingFees, HandlingFeesInput, MethodInput, MethodSettingsInput,
    MethodType, RateRangeInput, ShippingMethod, ShippingZone, ZoneInput, ZoneLocationInput,
    ZoneType,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_zones, create_zone))
        .routes(routes!(get_zone, update_zone, delete_zone))
        .routes(routes!(list_methods, create_method))
        .routes(routes!(get_method, update_method, delete_method))
}

// ---------- reading numbers as V2 clients send them ----------

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

fn num(d: Decimal) -> Value {
    Value::Number(json_number(d))
}

// ---------- requests ----------

#[derive(Deserialize, ToSchema, Default)]
pub struct ZoneLocationRequest {
    /// Keeps an existing location's id on update.
    #[serde(default)]
    pub id: Option<i64>,
    /// Postcode, `*` pattern (`9*`) or range (`90000-90999`).
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub country_iso2: Option<String>,
    #[serde(default)]
    pub state_iso2: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct HandlingFeesRequest {
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub fixed_surcharge: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub percentage_surcharge: Option<Decimal>,
    #[serde(default)]
    pub display_separately: Option<bool>,
}

impl HandlingFeesRequest {
    fn into_input(self) -> HandlingFeesInput {
        HandlingFeesInput {
            fixed_surcharge: self.fixed_surcharge,
            percentage_surcharge: self.percentage_surcharge,
            display_separately: self.display_separately,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct FreeShippingRequest {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<String>)]
    pub minimum_sub_total: Option<Decimal>,
    #[serde(default)]
    pub exclude_fixed_shipping_products: Option<bool>,
}

/// A zone to create (`name` and `type` required), or the fields of one to change.
#[derive(Deserialize, ToSchema, Default)]
pub struct ZoneRequest {
    /// Read-only; ignored.
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub zone_type: Option<String>,
    /// Replaces every location when sent.
    #[serde(default)]
    pub locations: Option<Vec<ZoneLocationRequest>>,
    #[serde(default)]
    pub free_shipping: Option<FreeShippingRequest>,
    #[serde(default)]
    pub handling_fees: Option<HandlingFeesRequest>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl ZoneRequest {
    fn into_input(self) -> ZoneInput {
        ZoneInput {
            name: self.name,
            zone_type: self.zone_type,
            locations: self.locations.map(|ls| {
                ls.into_iter()
                    .map(|l| ZoneLocationInput {
                        id: l.id,
                        country_iso2: l.country_iso2,
                        state_iso2: l.state_iso2,
                        zip: l.zip,
                    })
                    .collect()
            }),
            enabled: self.enabled,
            handling_fees: self.handling_fees.map(HandlingFeesRequest::into_input),
            free_shipping: self.free_shipping.map(|f| FreeShippingInput {
                enabled: f.enabled,
                minimum_sub_total: f.minimum_sub_total,
                exclude_fixed_shipping_products: f.exclude_fixed_shipping_products,
            }),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RangeRequest {
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<f64>)]
    pub lower_limit: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<f64>)]
    pub upper_limit: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<f64>)]
    pub shipping_cost: Option<Decimal>,
}

/// `rate` (perorder, peritem) or `default_cost`, `default_cost_type` and `range`
/// (weight, total). Replaces the method's settings as a whole.
#[derive(Deserialize, ToSchema, Default)]
pub struct MethodSettingsRequest {
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<f64>)]
    pub rate: Option<Decimal>,
    #[serde(default, deserialize_with = "flex_decimal")]
    #[schema(value_type = Option<f64>)]
    pub default_cost: Option<Decimal>,
    #[serde(default)]
    pub default_cost_type: Option<String>,
    #[serde(default, alias = "ranges")]
    pub range: Option<Vec<RangeRequest>>,
}

/// A method to create (`name`, `type` and for perorder/peritem `settings.rate`
/// required), or the fields of one to change.
#[derive(Deserialize, ToSchema, Default)]
pub struct MethodRequest {
    /// Read-only; ignored.
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub method_type: Option<String>,
    #[serde(default)]
    pub settings: Option<MethodSettingsRequest>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub handling_fees: Option<HandlingFeesRequest>,
    #[serde(default)]
    pub is_fallback: Option<bool>,
    #[serde(default)]
    pub channel_ids: Option<Vec<i64>>,
    /// Kassa: the tax class shipping is taxed under; `null` = not taxable.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub tax_class_id: Option<Option<i64>>,
}

impl MethodRequest {
    fn into_input(self) -> MethodInput {
        MethodInput {
            name: self.name,
            method_type: self.method_type,
            settings: self.settings.map(|s| MethodSettingsInput {
                rate: s.rate,
                default_cost: s.default_cost,
                default_cost_type: s.default_cost_type,
                ranges: s.range.map(|rs| {
                    rs.into_iter()
                        .map(|r| RateRangeInput {
                            lower_limit: r.lower_limit,
                            upper_limit: r.upper_limit,
                            shipping_cost: r.shipping_cost,
                        })
                        .collect()
                }),
            }),
            enabled: self.enabled,
            handling_fees: self.handling_fees.map(HandlingFeesRequest::into_input),
            is_fallback: self.is_fallback,
            channel_ids: self.channel_ids,
            tax_class_id: self.tax_class_id,
        }
    }
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct ZoneLocationWire {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    pub country_iso2: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_iso2: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FreeShippingWire {
    pub enabled: bool,
    /// 4-decimal string.
    pub minimum_sub_total: String,
    pub exclude_fixed_shipping_products: bool,
}

/// A fixed or a percentage fee (both when both are set), as 4-decimal strings.
#[derive(Serialize, ToSchema)]
pub struct HandlingFeesWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_surcharge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage_surcharge: Option<String>,
    /// Zones only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_separately: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ZoneWire {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub zone_type: String,
    pub locations: Vec<ZoneLocationWire>,
    pub free_shipping: FreeShippingWire,
    pub handling_fees: HandlingFeesWire,
    pub enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MethodWire {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub method_type: String,
    /// Per type: `{rate}`, `{default_cost, default_cost_type, range}` or `{}`.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub enabled: bool,
    pub handling_fees: HandlingFeesWire,
    pub is_fallback: bool,
    pub channel_ids: Vec<i64>,
    /// Kassa: the tax class shipping is taxed under; `null` = not taxable.
    pub tax_class_id: Option<i64>,
}

fn handling_wire(h: &HandlingFees, display_separately: Option<bool>) -> HandlingFeesWire {
    let pct = !h.percentage_surcharge.is_zero();
    let fixed = !h.fixed_surcharge.amount().is_zero() || !pct;
    HandlingFeesWire {
        fixed_surcharge: fixed.then(|| v2::money(h.fixed_surcharge)),
        percentage_surcharge: pct.then(|| v2::money(Money::new(h.percentage_surcharge))),
        display_separately,
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

pub fn zone_wire(z: &ShippingZone) -> ZoneWire {
    ZoneWire {
        id: z.id,
        name: z.name.clone(),
        zone_type: z.zone_type.as_str().to_string(),
        locations: z
            .locations
            .iter()
            .map(|l| ZoneLocationWire {
                id: l.id,
                zip: if z.zone_type == ZoneType::Zip {
                    non_empty(&l.zip)
                } else {
                    None
                },
                country_iso2: l.country_iso2.clone(),
                state_iso2: if z.zone_type == ZoneType::State {
                    non_empty(&l.state_iso2)
                } else {
                    None
                },
            })
            .collect(),
        free_shipping: FreeShippingWire {
            enabled: z.free_shipping.enabled,
            minimum_sub_total: v2::money(z.free_shipping.minimum_sub_total),
            exclude_fixed_shipping_products: z.free_shipping.exclude_fixed_shipping_products,
        },
        handling_fees: handling_wire(&z.handling_fees, Some(z.handling_fees.display_separately)),
        enabled: z.enabled,
    }
}

pub fn method_wire(m: &ShippingMethod) -> MethodWire {
    let s = &m.settings;
    let settings = match m.method_type {
        MethodType::PerOrder | MethodType::PerItem => {
            serde_json::json!({ "rate": num(s.rate.amount()) })
        }
        MethodType::Weight | MethodType::Total => serde_json::json!({
            "default_cost": s.default_cost.map(num),
            "default_cost_type": s.default_cost_type.as_str(),
            "range": s.ranges.iter().map(|r| serde_json::json!({
                "lower_limit": num(r.lower_limit),
                "upper_limit": num(r.upper_limit),
                "shipping_cost": num(r.shipping_cost.amount()),
            })).collect::<Vec<_>>(),
        }),
        MethodType::FreeShipping => serde_json::json!({}),
    };
    MethodWire {
        id: m.id,
        name: m.name.clone(),
        method_type: m.method_type.as_str().to_string(),
        settings,
        enabled: m.enabled,
        handling_fees: handling_wire(&m.handling_fees, None),
        is_fallback: m.is_fallback,
        channel_ids: m.channel_ids.clone(),
        tax_class_id: m.tax_class_id,
    }
}

// ---------- zone handlers ----------

/// Get all shipping zones.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/shipping/zones", tag = "Shipping Zones",
    operation_id = "getShippingZones",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = Vec<ZoneWire>), (status = 401, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn list_zones(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2InformationReadOnly)?;
    let zones = state.kassa.list_shipping_zones(&who.store).await?;
    let wire: Vec<ZoneWire> = zones.iter().map(zone_wire).collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Create a shipping zone.
#[utoipa::path(post, path = "/stores/{store_hash}/v2/shipping/zones", tag = "Shipping Zones",
    operation_id = "createShippingZones",
    params(("store_hash" = String, Path)),
    request_body = ZoneRequest,
    responses((status = 201, body = ZoneWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn create_zone(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    body: Result<JsonBody<ZoneRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let input = v2::body(body)?.into_input();
    let zone = state.kassa.create_shipping_zone(&who.store, &input).await?;
    Ok(v2::reply(StatusCode::CREATED, &zone_wire(&zone)))
}

/// Get a shipping zone.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}", tag = "Shipping Zones",
    operation_id = "getShippingZone",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path)),
    responses((status = 200, body = ZoneWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_zone(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2InformationReadOnly)?;
    let id = v2::path_id(&path.1, "Shipping zone")?;
    let zone = state.kassa.get_shipping_zone(&who.store, id).await?;
    Ok(v2::reply(StatusCode::OK, &zone_wire(&zone)))
}

/// Update a shipping zone: the fields sent change.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}", tag = "Shipping Zones",
    operation_id = "updateShippingZone",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path)),
    request_body = ZoneRequest,
    responses((status = 200, body = ZoneWire), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn update_zone(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<ZoneRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let id = v2::path_id(&path.1, "Shipping zone")?;
    let input = v2::body(body)?.into_input();
    let zone = state
        .kassa
        .update_shipping_zone(&who.store, id, &input)
        .await?;
    Ok(v2::reply(StatusCode::OK, &zone_wire(&zone)))
}

/// Delete a shipping zone and its methods.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}", tag = "Shipping Zones",
    operation_id = "deleteShippingZone",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
async fn delete_zone(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let id = v2::path_id(&path.1, "Shipping zone")?;
    state.kassa.delete_shipping_zone(&who.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- method handlers ----------

/// Get all shipping methods in a zone, by id.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods", tag = "Shipping Method",
    operation_id = "getShippingZoneMethods",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path)),
    responses((status = 200, body = Vec<MethodWire>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn list_methods(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2InformationReadOnly)?;
    let zone_id = v2::path_id(&path.1, "Shipping zone")?;
    let methods = state
        .kassa
        .list_shipping_methods(&who.store, zone_id)
        .await?;
    let wire: Vec<MethodWire> = methods.iter().map(method_wire).collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Create a shipping method in a zone (200, as the spec documents).
#[utoipa::path(post, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods", tag = "Shipping Method",
    operation_id = "createShippingMethod",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path)),
    request_body = MethodRequest,
    responses((status = 200, body = MethodWire), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn create_method(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<MethodRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let zone_id = v2::path_id(&path.1, "Shipping zone")?;
    let input = v2::body(body)?.into_input();
    let method = state
        .kassa
        .create_shipping_method(&who.store, zone_id, &input)
        .await?;
    Ok(v2::reply(StatusCode::OK, &method_wire(&method)))
}

/// Get a shipping method in a zone.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods/{method_id}", tag = "Shipping Method",
    operation_id = "getShippingMethod",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path), ("method_id" = i64, Path)),
    responses((status = 200, body = MethodWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_method(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2InformationReadOnly)?;
    let zone_id = v2::path_id(&path.1, "Shipping zone")?;
    let id = v2::path_id(&path.2, "Shipping method")?;
    let method = state
        .kassa
        .get_shipping_method(&who.store, zone_id, id)
        .await?;
    Ok(v2::reply(StatusCode::OK, &method_wire(&method)))
}

/// Update a shipping method: the fields sent change; `settings` and `handling_fees`
/// are replaced as a whole when sent.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods/{method_id}", tag = "Shipping Method",
    operation_id = "updateShippingMethod",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path), ("method_id" = i64, Path)),
    request_body = MethodRequest,
    responses((status = 200, body = MethodWire), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn update_method(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<MethodRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let zone_id = v2::path_id(&path.1, "Shipping zone")?;
    let id = v2::path_id(&path.2, "Shipping method")?;
    let input = v2::body(body)?.into_input();
    let method = state
        .kassa
        .update_shipping_method(&who.store, zone_id, id, &input)
        .await?;
    Ok(v2::reply(StatusCode::OK, &method_wire(&method)))
}

/// Delete a shipping method.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods/{method_id}", tag = "Shipping Method",
    operation_id = "deleteShippingMethod",
    params(("store_hash" = String, Path), ("zone_id" = i64, Path), ("method_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
async fn delete_method(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<StatusCode> {
    let who = v2::principal(auth, Scope::V2Information)?;
    let zone_id = v2::path_id(&path.1, "Shipping zone")?;
    let id = v2::path_id(&path.2, "Shipping method")?;
    state
        .kassa
        .delete_shipping_method(&who.store, zone_id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
