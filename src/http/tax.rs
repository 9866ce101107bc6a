//! Tax admin API: zones and rates (`tax_rates_zones.v3.yml`), classes
//! (`tax_classes.v3.yaml`) and settings (`tax_settings.v3.yml`).
//!
//! Batches are at most [`MAX_BATCH`] items (413 beyond). Field names in errors are JSON
//! paths into the request (`[0].class_rates[1].rate`).
//!
//! Kassa additions to the specs: `GET /v3/tax/classes` lists the store's classes (the spec
//! only writes them; the built-in class 0 "Default Tax Class" is not listed), and the
//! tax settings carry `tax_address`, `shipping_tax_class_id` and
//! `gift_wrapping_tax_class_id`.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody, percent_decode};
use super::wire::{Envelope, pagination_meta, rfc3339};
use crate::domain::money::json_number;
use crate::domain::scope::Scope;
use crate::domain::tax::{
    ClassRate, DocumentSubmissionStrategy, FallbackStrategy, PriceDisplayStrategy,
    ShopperTargetInput, TaxAddress, TaxClass, TaxRate, TaxRateInput, TaxRoundingStrategy,
    TaxSettings, TaxSettingsInput, TaxZone, TaxZoneInput, ZoneLocation, ZonePriceDisplayInput,
};
use crate::service::tax::{RateQuery, TaxClassError};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most items (or ids) one batch request may carry.
pub const MAX_BATCH: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            get_tax_zones,
            create_tax_zones,
            update_tax_zones,
            delete_tax_zones
        ))
        .routes(routes!(
            get_tax_rates,
            create_tax_rates,
            update_tax_rates,
            delete_tax_rates
        ))
        .routes(routes!(
            get_tax_classes,
            create_tax_classes,
            update_tax_classes,
            delete_tax_classes
        ))
        .routes(routes!(get_tax_settings, update_tax_settings))
}

impl From<TaxClassError> for ApiError {
    fn from(e: TaxClassError) -> Self {
        match e {
            TaxClassError::Service(s) => s.into(),
            TaxClassError::Duplicate { field, message } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, message.clone());
                err.errors.insert(field, message);
                err
            }
        }
    }
}

// ---------- query strings and batches ----------

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

/// The ids of a `name=1,2,3` parameter (repeated keys add up); `None` when absent.
fn id_list(pairs: &[(String, String)], name: &str) -> ApiResult<Option<Vec<i64>>> {
    let mut out: Option<Vec<i64>> = None;
    for (k, v) in pairs.iter().filter(|(k, _)| k == name) {
        let ids = out.get_or_insert_with(Vec::new);
        for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id = part.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(
                    k,
                    format!("`{k}` must list whole-number ids, not `{part}`."),
                )
            })?;
            ids.push(id);
        }
    }
    Ok(out)
}

fn int_param(pairs: &[(String, String)], name: &str, default: i64) -> ApiResult<i64> {
    match pairs.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v.trim().parse::<i64>().map_err(|_| {
            ApiError::unprocessable(name, format!("`{name}` must be a whole number."))
        }),
    }
}

/// A batch holds 1 to `MAX_BATCH` items (the caller's scope is checked before the body is read).
fn check_batch<T>(items: &[T]) -> ApiResult<()> {
    if items.is_empty() {
        return Err(ApiError::unprocessable(
            "body",
            "The request body must be a non-empty array.",
        ));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("At most {MAX_BATCH} items may be sent at once."),
        ));
    }
    Ok(())
}

/// The `id:in` of a batch delete: required and at most [`MAX_BATCH`] ids.
/// The scope is checked first, so a caller without it gets 403 whatever the query says.
fn delete_ids(
    who: &crate::service::accounts::Principal,
    q: Option<&str>,
    missing: StatusCode,
) -> ApiResult<Vec<i64>> {
    who.require(crate::domain::scope::Scope::V2Information)?;
    let ids = id_list(&query_pairs(q), "id:in")?.unwrap_or_default();
    if ids.is_empty() {
        let mut e = ApiError::new(missing, "Name the ids to delete with `id:in`.");
        e.errors.insert("id:in".into(), "required".into());
        return Err(e);
    }
    if ids.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("At most {MAX_BATCH} ids may be deleted at once."),
        ));
    }
    Ok(ids)
}

fn required_id(id: Option<i64>, i: usize) -> ApiResult<i64> {
    id.ok_or_else(|| ApiError::unprocessable(&format!("[{i}].id"), "`id` is required."))
}

// ---------- zones ----------

#[derive(Serialize, ToSchema)]
pub struct ZonePriceDisplayWire {
    pub show_inclusive: bool,
    pub show_both_on_detail_view: bool,
    pub show_both_on_list_view: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TaxZoneLocationWire {
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    #[serde(default)]
    pub subdivision_codes: Vec<String>,
    /// Exact codes, or a prefix ending in `*`.
    #[serde(default)]
    pub postal_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShopperTargetWire {
    pub locations: Vec<TaxZoneLocationWire>,
    pub customer_groups: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TaxZoneWire {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub price_display_settings: ZonePriceDisplayWire,
    pub shopper_target_settings: ShopperTargetWire,
}

fn zone_wire(z: TaxZone) -> TaxZoneWire {
    let d = z.price_display_settings;
    TaxZoneWire {
        id: z.id,
        name: z.name,
        enabled: z.enabled,
        price_display_settings: ZonePriceDisplayWire {
            show_inclusive: d.show_inclusive,
            show_both_on_detail_view: d.show_both_on_detail_view,
            show_both_on_list_view: d.show_both_on_list_view,
        },
        shopper_target_settings: ShopperTargetWire {
            locations: z
                .shopper_target_settings
                .locations
                .into_iter()
                .map(|l| TaxZoneLocationWire {
                    country_code: l.country_code,
                    subdivision_codes: l.subdivision_codes,
                    postal_codes: l.postal_codes,
                })
                .collect(),
            customer_groups: z.shopper_target_settings.customer_groups,
        },
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ZonePriceDisplayRequest {
    /// Required when creating a zone with `price_display_settings`.
    #[serde(default)]
    pub show_inclusive: Option<bool>,
    #[serde(default)]
    pub show_both_on_detail_view: Option<bool>,
    #[serde(default)]
    pub show_both_on_list_view: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct ShopperTargetRequest {
    /// Required when creating a zone with `shopper_target_settings`.
    #[serde(default)]
    pub locations: Option<Vec<TaxZoneLocationWire>>,
    #[serde(default)]
    pub customer_groups: Option<Vec<i64>>,
}

/// A zone to create (`name` required) or change (`id` required, the rest optional).
#[derive(Deserialize, ToSchema)]
pub struct TaxZoneRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub price_display_settings: Option<ZonePriceDisplayRequest>,
    #[serde(default)]
    pub shopper_target_settings: Option<ShopperTargetRequest>,
}

impl TaxZoneRequest {
    fn into_input(self) -> TaxZoneInput {
        TaxZoneInput {
            name: self.name,
            enabled: self.enabled,
            price_display_settings: self.price_display_settings.map(|p| ZonePriceDisplayInput {
                show_inclusive: p.show_inclusive,
                show_both_on_detail_view: p.show_both_on_detail_view,
                show_both_on_list_view: p.show_both_on_list_view,
            }),
            shopper_target_settings: self.shopper_target_settings.map(|t| ShopperTargetInput {
                locations: t.locations.map(|ls| {
                    ls.into_iter()
                        .map(|l| ZoneLocation {
                            country_code: l.country_code,
                            subdivision_codes: l.subdivision_codes,
                            postal_codes: l.postal_codes,
                        })
                        .collect()
                }),
                customer_groups: t.customer_groups,
            }),
        }
    }
}

/// Get all tax zones, or those `id:in` names.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/tax/zones", tag = "Tax Zones", operation_id = "getTaxZones",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query, description = "comma-separated zone ids")),
    responses((status = 200, body = inline(Envelope<Vec<TaxZoneWire>>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_tax_zones(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<TaxZoneWire>>> {
    let ids = id_list(&query_pairs(q.as_deref()), "id:in")?;
    let zones = state.kassa.tax_zones(&who, ids.as_deref()).await?;
    Ok(Envelope::new(zones.into_iter().map(zone_wire).collect()))
}

/// Create tax zones (the default zone, id 1, exists already).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/tax/zones", tag = "Tax Zones", operation_id = "createTaxZones",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxZoneRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxZoneWire>>)), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tax_zones(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxZoneRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxZoneWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    for (i, z) in body.iter().enumerate() {
        if z.price_display_settings
            .as_ref()
            .is_some_and(|p| p.show_inclusive.is_none())
        {
            return Err(ApiError::unprocessable(
                &format!("[{i}].price_display_settings.show_inclusive"),
                "`show_inclusive` is required.",
            ));
        }
        if z.shopper_target_settings
            .as_ref()
            .is_some_and(|t| t.locations.is_none())
        {
            return Err(ApiError::unprocessable(
                &format!("[{i}].shopper_target_settings.locations"),
                "`locations` is required.",
            ));
        }
    }
    let inputs = body.into_iter().map(TaxZoneRequest::into_input).collect();
    let zones = state.kassa.create_tax_zones(&who, inputs).await?;
    Ok(Envelope::new(zones.into_iter().map(zone_wire).collect()))
}

/// Update tax zones; fields left out keep their values.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/tax/zones", tag = "Tax Zones", operation_id = "updateTaxZones",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxZoneRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxZoneWire>>)), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tax_zones(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxZoneRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxZoneWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    let mut changes = Vec::with_capacity(body.len());
    for (i, z) in body.into_iter().enumerate() {
        changes.push((required_id(z.id, i)?, z.into_input()));
    }
    let zones = state.kassa.update_tax_zones(&who, changes).await?;
    Ok(Envelope::new(zones.into_iter().map(zone_wire).collect()))
}

/// Delete the tax zones `id:in` names, and their rates.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/tax/zones", tag = "Tax Zones", operation_id = "deleteTaxZones",
    params(("store_hash" = String, Path), ("id:in" = String, Query, description = "comma-separated zone ids")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_tax_zones(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let ids = delete_ids(&who, q.as_deref(), StatusCode::UNPROCESSABLE_ENTITY)?;
    state.kassa.delete_tax_zones(&who, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- rates ----------

#[derive(Serialize, ToSchema)]
pub struct ClassRateWire {
    /// Percent.
    #[schema(value_type = f64)]
    pub rate: serde_json::Number,
    pub tax_class_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TaxRateWire {
    pub id: i64,
    pub tax_zone_id: i64,
    pub name: String,
    pub enabled: bool,
    pub priority: i64,
    pub class_rates: Vec<ClassRateWire>,
}

fn rate_wire(r: TaxRate) -> TaxRateWire {
    TaxRateWire {
        id: r.id,
        tax_zone_id: r.tax_zone_id,
        name: r.name,
        enabled: r.enabled,
        priority: r.priority,
        class_rates: r
            .class_rates
            .into_iter()
            .map(|c| ClassRateWire {
                rate: json_number(c.rate),
                tax_class_id: c.tax_class_id,
            })
            .collect(),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ClassRateRequest {
    /// Percent, 0 to 100.
    #[schema(value_type = f64)]
    pub rate: Decimal,
    pub tax_class_id: i64,
}

/// A rate to create (`name`, `tax_zone_id`, `class_rates` required) or change (`id`
/// required; `class_rates`, when sent, replaces the list).
#[derive(Deserialize, ToSchema)]
pub struct TaxRateRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Same priority adds up; a higher priority compounds on the lower ones.
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub class_rates: Option<Vec<ClassRateRequest>>,
    #[serde(default)]
    pub tax_zone_id: Option<i64>,
}

impl TaxRateRequest {
    fn into_input(self) -> TaxRateInput {
        TaxRateInput {
            name: self.name,
            enabled: self.enabled,
            priority: self.priority,
            class_rates: self.class_rates.map(|cs| {
                cs.into_iter()
                    .map(|c| ClassRate {
                        tax_class_id: c.tax_class_id,
                        rate: c.rate,
                    })
                    .collect()
            }),
            tax_zone_id: self.tax_zone_id,
        }
    }
}

/// List tax rates, optionally only those `id:in` or `tax_zone_id:in` names.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/tax/rates", tag = "Tax Rates", operation_id = "getTaxRates",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query), ("tax_zone_id:in" = Option<String>, Query),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "default 50, at most 250")),
    responses((status = 200, body = inline(Envelope<Vec<TaxRateWire>>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_tax_rates(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<TaxRateWire>>> {
    let pairs = query_pairs(q.as_deref());
    let query = RateQuery {
        ids: id_list(&pairs, "id:in")?,
        zone_ids: id_list(&pairs, "tax_zone_id:in")?,
        page: int_param(&pairs, "page", 1)?.max(1),
        limit: int_param(&pairs, "limit", 50)?.clamp(1, 250),
    };
    let page = state.kassa.tax_rates(&who, &query).await?;
    let data: Vec<TaxRateWire> = page.rates.into_iter().map(rate_wire).collect();
    let meta = pagination_meta(page.total, data.len(), query.limit, query.page);
    Ok(Envelope::with_meta(data, meta))
}

/// Create tax rates, each in a zone.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/tax/rates", tag = "Tax Rates", operation_id = "createTaxRates",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxRateRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxRateWire>>)), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tax_rates(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxRateRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxRateWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    let inputs = body.into_iter().map(TaxRateRequest::into_input).collect();
    let rates = state.kassa.create_tax_rates(&who, inputs).await?;
    Ok(Envelope::new(rates.into_iter().map(rate_wire).collect()))
}

/// Update tax rates; fields left out keep their values.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/tax/rates", tag = "Tax Rates", operation_id = "updateTaxRates",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxRateRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxRateWire>>)), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tax_rates(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxRateRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxRateWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    let mut changes = Vec::with_capacity(body.len());
    for (i, r) in body.into_iter().enumerate() {
        changes.push((required_id(r.id, i)?, r.into_input()));
    }
    let rates = state.kassa.update_tax_rates(&who, changes).await?;
    Ok(Envelope::new(rates.into_iter().map(rate_wire).collect()))
}

/// Delete the tax rates `id:in` names.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/tax/rates", tag = "Tax Rates", operation_id = "deleteTaxRates",
    params(("store_hash" = String, Path), ("id:in" = String, Query, description = "comma-separated rate ids")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_tax_rates(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let ids = delete_ids(&who, q.as_deref(), StatusCode::UNPROCESSABLE_ENTITY)?;
    state.kassa.delete_tax_rates(&who, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- classes ----------

#[derive(Serialize, ToSchema)]
pub struct TaxClassWire {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

fn class_wire(c: TaxClass) -> TaxClassWire {
    TaxClassWire {
        id: c.id,
        name: c.name,
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxClassCreateRequest {
    /// 1–100 characters, none of `< > { } ` ( ) ; |`, unique ignoring case.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxClassUpdateRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
}

/// List the store's tax classes (Kassa addition; class 0 is built in and not listed).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/tax/classes", tag = "Tax Classes",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<Vec<TaxClassWire>>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_tax_classes(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Envelope<Vec<TaxClassWire>>> {
    let classes = state.kassa.tax_classes(&who).await?;
    Ok(Envelope::new(classes.into_iter().map(class_wire).collect()))
}

/// Create tax classes.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/tax/classes", tag = "Tax Classes", operation_id = "taxClassBatchPost",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxClassCreateRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxClassWire>>)), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tax_classes(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxClassCreateRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxClassWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    let names = body.into_iter().map(|c| c.name).collect();
    let classes = state.kassa.create_tax_classes(&who, names).await?;
    Ok(Envelope::new(classes.into_iter().map(class_wire).collect()))
}

/// Rename tax classes.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/tax/classes", tag = "Tax Classes", operation_id = "taxClassBatchPut",
    params(("store_hash" = String, Path)),
    request_body = Vec<TaxClassUpdateRequest>,
    responses((status = 200, body = inline(Envelope<Vec<TaxClassWire>>)), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tax_classes(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<TaxClassUpdateRequest>>, ApiError>,
) -> ApiResult<Envelope<Vec<TaxClassWire>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    check_batch(&body)?;
    let mut changes = Vec::with_capacity(body.len());
    for (i, c) in body.into_iter().enumerate() {
        let id = required_id(c.id, i)?;
        let name = c.name.ok_or_else(|| {
            ApiError::unprocessable(
                &format!("[{i}].name"),
                "`name` is required: an update needs a field besides `id`.",
            )
        })?;
        changes.push((id, name));
    }
    let classes = state.kassa.update_tax_classes(&who, changes).await?;
    Ok(Envelope::new(classes.into_iter().map(class_wire).collect()))
}

/// Delete the tax classes `id:in` names (every one must exist).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/tax/classes", tag = "Tax Classes", operation_id = "taxClassBatchDelete",
    params(("store_hash" = String, Path), ("id:in" = String, Query, description = "comma-separated class ids")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_tax_classes(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let ids = delete_ids(&who, q.as_deref(), StatusCode::NOT_FOUND)?;
    state.kassa.delete_tax_classes(&who, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- settings ----------

#[derive(Serialize, Deserialize, ToSchema)]
pub struct GlobalPriceDisplayWire {
    /// `ZONE`, `INCLUSIVE` or `EXCLUSIVE`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub control_panel_price_display_strategy: Option<PriceDisplayStrategy>,
    /// `ZONE`, `INCLUSIVE` or `EXCLUSIVE`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub invoice_price_display_strategy: Option<PriceDisplayStrategy>,
}

/// The store's tax settings; in a PUT every field is optional and what is left out stays.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TaxSettingsWire {
    #[serde(default)]
    pub tax_entered_with_prices: Option<bool>,
    #[serde(default)]
    pub price_display_settings: Option<GlobalPriceDisplayWire>,
    /// `FIXED`, `BASIC` or `DISABLE` (stored; Kassa has no tax providers to fall back from).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub fallback_strategy: Option<FallbackStrategy>,
    #[serde(default)]
    pub should_subtract_store_tax: Option<bool>,
    #[serde(default)]
    pub should_use_geolocation_to_determine_guest_shopper_tax_zone: Option<bool>,
    #[serde(default)]
    pub guest_shopper_tax_zone_id: Option<i64>,
    #[serde(default)]
    pub store_tax_zone_id: Option<i64>,
    /// `ON_PAYMENT_CAPTURE` or `ON_ORDER_CREATION`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub document_submission_strategy: Option<DocumentSubmissionStrategy>,
    /// `RATE_ROUNDING` (round each line's tax) or `NO_ROUNDING` (round the order's total once).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub rounding_strategy: Option<TaxRoundingStrategy>,
    /// Kassa: `SHIPPING` or `BILLING`, the address that decides the tax zone.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tax_address: Option<TaxAddress>,
    /// Kassa: the tax class of shipping and handling.
    #[serde(default)]
    pub shipping_tax_class_id: Option<i64>,
    /// Kassa: the tax class of gift wrapping.
    #[serde(default)]
    pub gift_wrapping_tax_class_id: Option<i64>,
}

fn settings_wire(s: TaxSettings) -> TaxSettingsWire {
    TaxSettingsWire {
        tax_entered_with_prices: Some(s.tax_entered_with_prices),
        price_display_settings: Some(GlobalPriceDisplayWire {
            control_panel_price_display_strategy: Some(
                s.price_display_settings
                    .control_panel_price_display_strategy,
            ),
            invoice_price_display_strategy: Some(
                s.price_display_settings.invoice_price_display_strategy,
            ),
        }),
        fallback_strategy: Some(s.fallback_strategy),
        should_subtract_store_tax: Some(s.should_subtract_store_tax),
        should_use_geolocation_to_determine_guest_shopper_tax_zone: Some(
            s.should_use_geolocation_to_determine_guest_shopper_tax_zone,
        ),
        guest_shopper_tax_zone_id: Some(s.guest_shopper_tax_zone_id),
        store_tax_zone_id: Some(s.store_tax_zone_id),
        document_submission_strategy: Some(s.document_submission_strategy),
        rounding_strategy: Some(s.rounding_strategy),
        tax_address: Some(s.tax_address),
        shipping_tax_class_id: Some(s.shipping_tax_class_id),
        gift_wrapping_tax_class_id: Some(s.gift_wrapping_tax_class_id),
    }
}

/// Get the store's tax settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/tax/settings", tag = "Tax Settings", operation_id = "getTaxSettings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<TaxSettingsWire>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_tax_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Envelope<TaxSettingsWire>> {
    let s = state.kassa.tax_settings(&who).await?;
    Ok(Envelope::new(settings_wire(s)))
}

/// Update the store's tax settings; fields left out keep their values.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/tax/settings", tag = "Tax Settings", operation_id = "updateTaxSettings",
    params(("store_hash" = String, Path)),
    request_body = TaxSettingsWire,
    responses((status = 200, body = inline(Envelope<TaxSettingsWire>)), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_tax_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<TaxSettingsWire>, ApiError>,
) -> ApiResult<Envelope<TaxSettingsWire>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    let display = body.price_display_settings;
    let input = TaxSettingsInput {
        tax_entered_with_prices: body.tax_entered_with_prices,
        control_panel_price_display_strategy: display
            .as_ref()
            .and_then(|d| d.control_panel_price_display_strategy),
        invoice_price_display_strategy: display
            .as_ref()
            .and_then(|d| d.invoice_price_display_strategy),
        fallback_strategy: body.fallback_strategy,
        should_subtract_store_tax: body.should_subtract_store_tax,
        should_use_geolocation_to_determine_guest_shopper_tax_zone: body
            .should_use_geolocation_to_determine_guest_shopper_tax_zone,
        guest_shopper_tax_zone_id: body.guest_shopper_tax_zone_id,
        store_tax_zone_id: body.store_tax_zone_id,
        document_submission_strategy: body.document_submission_strategy,
        rounding_strategy: body.rounding_strategy,
        tax_address: body.tax_address,
        shipping_tax_class_id: body.shipping_tax_class_id,
        gift_wrapping_tax_class_id: body.gift_wrapping_tax_class_id,
    };
    let s = state.kassa.update_tax_settings(&who, input).await?;
    Ok(Envelope::new(settings_wire(s)))
}
