//! Pickup locations admin API: the places shoppers collect orders from, under
//! `/stores/{store_hash}/v3/pickup/locations`.
//!
//! **A Kassa resource, not a BigCommerce one.** BigCommerce's reference files in
//! `shared/reference/bigcommerce/` do not include its pickup-locations API, so these
//! endpoints follow Kassa's v3 conventions instead of a published spec: `{data, meta}`
//! envelopes, page/limit pagination meta on the list, and v3 error bodies
//! `{status, title, type, errors}` whose `errors` name the field at fault.
//!
//! A location's `id` is what checkout consignments send as
//! `pickup_option.pickup_method_id`; a disabled location is refused there. Reading needs
//! `store_v2_information_read_only` (or `store_v2_information`), changing
//! `store_v2_information`. Validation is
//! [`validate_pickup_location`](crate::domain::shipping::validate_pickup_location).

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody, percent_decode};
use super::wire::{Envelope, pagination_meta};
use crate::domain::scope::Scope;
use crate::domain::shipping::{PickupAddress, PickupLocation};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest `limit` accepted (larger ones are clamped).
pub const MAX_LIMIT: i64 = 250;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pickup_locations, create_pickup_location))
        .routes(routes!(
            get_pickup_location,
            update_pickup_location,
            delete_pickup_location
        ))
}

// ---------- wire types ----------

/// Where the location is. `country_code` is ISO 3166-1 alpha-2; `state_or_province_code`
/// the ISO 3166-2 subdivision code without the country prefix (`CA`).
#[derive(Serialize, ToSchema)]
pub struct PickupAddressWire {
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state_or_province: String,
    pub state_or_province_code: String,
    pub postal_code: String,
    pub country_code: String,
    pub phone: String,
}

/// A pickup location. Its `id` is the checkout's `pickup_option.pickup_method_id`.
#[derive(Serialize, ToSchema)]
pub struct PickupLocationWire {
    pub id: i64,
    pub name: String,
    pub address: PickupAddressWire,
    /// What to do on arrival.
    pub collection_instructions: String,
    /// Opening hours / when orders are ready.
    pub collection_time_description: String,
    /// Only enabled locations can be chosen by a checkout consignment.
    pub enabled: bool,
}

fn location_wire(p: PickupLocation) -> PickupLocationWire {
    let a = p.address;
    PickupLocationWire {
        id: p.id,
        name: p.name,
        address: PickupAddressWire {
            address1: a.address1,
            address2: a.address2,
            city: a.city,
            state_or_province: a.state_or_province,
            state_or_province_code: a.state_or_province_code,
            postal_code: a.postal_code,
            country_code: a.country_code,
            phone: a.phone,
        },
        collection_instructions: p.collection_instructions,
        collection_time_description: p.collection_time_description,
        enabled: p.enabled,
    }
}

/// Address fields; on update only those sent change (send `""` to clear one).
#[derive(Deserialize, ToSchema)]
pub struct PickupAddressRequest {
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Name of the state; resolved together with the code where Kassa knows the
    /// country's subdivisions.
    #[serde(default)]
    pub state_or_province: Option<String>,
    #[serde(default)]
    pub state_or_province_code: Option<String>,
    /// Required where the country uses postal codes.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2; required when creating.
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A location to create (`name` and `address.country_code` required) or the fields of
/// one to change (everything optional; what is left out keeps its value).
#[derive(Deserialize, ToSchema)]
pub struct PickupLocationRequest {
    /// Read-only; ignored.
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<PickupAddressRequest>,
    #[serde(default)]
    pub collection_instructions: Option<String>,
    #[serde(default)]
    pub collection_time_description: Option<String>,
    /// Default `true` when creating.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl PickupLocationRequest {
    /// Writes the fields sent over `p`.
    fn apply_to(self, p: &mut PickupLocation) {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *field = v;
            }
        }
        set(&mut p.name, self.name);
        set(&mut p.collection_instructions, self.collection_instructions);
        set(
            &mut p.collection_time_description,
            self.collection_time_description,
        );
        set(&mut p.enabled, self.enabled);
        if let Some(a) = self.address {
            let to = &mut p.address;
            set(&mut to.address1, a.address1);
            set(&mut to.address2, a.address2);
            set(&mut to.city, a.city);
            set(&mut to.state_or_province, a.state_or_province);
            set(&mut to.state_or_province_code, a.state_or_province_code);
            set(&mut to.postal_code, a.postal_code);
            set(&mut to.country_code, a.country_code);
            set(&mut to.phone, a.phone);
        }
    }
}

// ---------- query strings ----------

/// `page` (from 1) and `limit` (1 to [`MAX_LIMIT`]); a value that is not a whole number
/// is a 422 naming it.
fn paging(q: Option<&str>) -> ApiResult<(i64, i64)> {
    let mut page = 1;
    let mut limit = DEFAULT_LIMIT;
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        let parse = |name: &str| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::unprocessable(name, format!("`{name}` must be a whole number."))
            })
        };
        match k.as_str() {
            "page" => page = parse("page")?.max(1),
            "limit" => limit = parse("limit")?.clamp(1, MAX_LIMIT),
            _ => {}
        }
    }
    Ok((page, limit))
}

// ---------- handlers ----------

/// List pickup locations in id order, paginated (Kassa resource: BigCommerce's pickup
/// API is not in the reference specs).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/pickup/locations", tag = "Pickup Locations",
    operation_id = "getPickupLocations",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query, description = "from 1"),
        ("limit" = Option<i64>, Query, description = "default 50, at most 250")),
    responses((status = 200, body = inline(Envelope<Vec<PickupLocationWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_pickup_locations(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<PickupLocationWire>>> {
    who.require(Scope::V2InformationReadOnly)?;
    let (page, limit) = paging(q.as_deref())?;
    let all = state.kassa.list_pickup_locations(&who.store).await?;
    let total = all.len() as i64;
    let start = usize::try_from((page - 1).saturating_mul(limit).min(total)).unwrap_or(0);
    let data: Vec<PickupLocationWire> = all
        .into_iter()
        .skip(start)
        .take(usize::try_from(limit).unwrap_or(0))
        .map(location_wire)
        .collect();
    let meta = pagination_meta(total, data.len(), limit, page);
    Ok(Envelope::with_meta(data, meta))
}

/// Create a pickup location (Kassa resource: BigCommerce's pickup API is not in the
/// reference specs). `name` and `address.country_code` are required; answers 201.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/pickup/locations", tag = "Pickup Locations",
    operation_id = "createPickupLocation",
    params(("store_hash" = String, Path)),
    request_body = PickupLocationRequest,
    responses((status = 201, body = inline(Envelope<PickupLocationWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_pickup_location(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<PickupLocationRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    if body.name.is_none() {
        return Err(ApiError::unprocessable(
            "name",
            "The field `name` is required.",
        ));
    }
    let mut location = PickupLocation {
        id: 0,
        name: String::new(),
        address: PickupAddress::default(),
        collection_instructions: String::new(),
        collection_time_description: String::new(),
        enabled: true,
    };
    body.apply_to(&mut location);
    let created = state
        .kassa
        .create_pickup_location(&who.store, location)
        .await?;
    Ok((StatusCode::CREATED, Envelope::new(location_wire(created))).into_response())
}

/// Get a pickup location (Kassa resource: BigCommerce's pickup API is not in the
/// reference specs).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/pickup/locations/{location_id}", tag = "Pickup Locations",
    operation_id = "getPickupLocation",
    params(("store_hash" = String, Path), ("location_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<PickupLocationWire>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_pickup_location(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, i64)>,
) -> ApiResult<Envelope<PickupLocationWire>> {
    who.require(Scope::V2InformationReadOnly)?;
    let location = state.kassa.get_pickup_location(&who.store, path.1).await?;
    Ok(Envelope::new(location_wire(location)))
}

/// Update a pickup location: only the fields sent change, address fields one by one
/// (Kassa resource: BigCommerce's pickup API is not in the reference specs).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/pickup/locations/{location_id}", tag = "Pickup Locations",
    operation_id = "updatePickupLocation",
    params(("store_hash" = String, Path), ("location_id" = i64, Path)),
    request_body = PickupLocationRequest,
    responses((status = 200, body = inline(Envelope<PickupLocationWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_pickup_location(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, i64)>,
    body: Result<JsonBody<PickupLocationRequest>, ApiError>,
) -> ApiResult<Envelope<PickupLocationWire>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    let mut location = state.kassa.get_pickup_location(&who.store, path.1).await?;
    body.apply_to(&mut location);
    let updated = state
        .kassa
        .update_pickup_location(&who.store, location)
        .await?;
    Ok(Envelope::new(location_wire(updated)))
}

/// Delete a pickup location; checkouts can no longer choose it (Kassa resource:
/// BigCommerce's pickup API is not in the reference specs).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/pickup/locations/{location_id}", tag = "Pickup Locations",
    operation_id = "deletePickupLocation",
    params(("store_hash" = String, Path), ("location_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_pickup_location(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Information)?;
    state
        .kassa
        .delete_pickup_location(&who.store, path.1)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
