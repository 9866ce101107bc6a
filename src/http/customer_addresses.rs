//! Customer addresses admin API (`admin/customers.v3.yml`, `/customers/addresses`) under
//! `/stores/{store_hash}/v3/customers/addresses`. Same conventions and scopes as
//! `/customers` (reading needs `store_v2_customers_read_only`, changing
//! `store_v2_customers`).
//!
//! - `GET` filters by `id:in`, `customer_id:in`, `name:in` (`first last`, any case) and
//!   `company:in`; pages with `page` and `limit` (default 50, at most 250), by id.
//!   `include=formfields` adds an empty `form_fields` list (Kassa keeps no form fields).
//! - `POST` takes 1–10 addresses, each naming its `customer_id`; `PUT` 1–10 by `id`,
//!   changing the fields sent. Addresses are checked like shipping addresses (country
//!   code, state resolved to its name, postal code and phone normalized; state and postal
//!   code required where the country has them); one bad entry refuses the batch (422
//!   naming `[i].field`). An address its customer already has (same names, company,
//!   phone, type, lines, city, state, country and postal code, any case) is not saved
//!   again and is left out of the answer, as the spec says; likewise an update that
//!   would make one address the same as another. Non-empty `form_fields` are refused.
//! - `DELETE` deletes the addresses `id:in` lists; without it nothing happens (204).

use super::AppState;
use super::customers::{ids_in, ints, list, paging, query_pairs};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, Includes, JsonBody};
use super::wire::{Envelope, pagination_meta};
use crate::domain::DomainError;
use crate::domain::customer_address::{CustomerAddress, CustomerAddressInput, MAX_BATCH, in_batch};
use crate::domain::scope::Scope;
use crate::store::customer_addresses::AddressFilter;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        list_addresses,
        create_addresses,
        update_addresses,
        delete_addresses
    ))
}

/// `address_Post` / `address_Put` (the latter needs `id`, the former `customer_id`).
#[derive(Deserialize, ToSchema)]
pub struct CustomerAddressRequest {
    /// Required by PUT; ignored by POST.
    #[serde(default)]
    pub id: Option<i64>,
    /// Required by POST; ignored by PUT (an address stays with its customer).
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// The state's name or code; stored as its name.
    #[serde(default)]
    pub state_or_province: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// `residential` (default) or `commercial`.
    #[serde(default)]
    pub address_type: Option<String>,
    /// Not stored by Kassa: a non-empty list is refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub form_fields: Option<Vec<Value>>,
}

impl CustomerAddressRequest {
    fn into_entry(
        self,
        index: usize,
        key: fn(&Self) -> Option<i64>,
    ) -> ApiResult<(Option<i64>, CustomerAddressInput)> {
        if self.form_fields.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(in_batch(
                DomainError::field(
                    "form_fields",
                    "Kassa does not store address form fields; send the address without `form_fields`.",
                ),
                index,
            )
            .into());
        }
        Ok((
            key(&self),
            CustomerAddressInput {
                first_name: self.first_name,
                last_name: self.last_name,
                company: self.company,
                address1: self.address1,
                address2: self.address2,
                city: self.city,
                state_or_province: self.state_or_province,
                state_or_province_code: None,
                postal_code: self.postal_code,
                country_code: self.country_code,
                phone: self.phone,
                address_type: self.address_type,
            },
        ))
    }
}

fn batch(
    body: Vec<CustomerAddressRequest>,
    key: fn(&CustomerAddressRequest) -> Option<i64>,
) -> ApiResult<Vec<(Option<i64>, CustomerAddressInput)>> {
    if body.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "At most {MAX_BATCH} addresses can be sent in one request, not {}.",
                body.len()
            ),
        ));
    }
    body.into_iter()
        .enumerate()
        .map(|(i, a)| a.into_entry(i, key))
        .collect()
}

/// `address_Full`.
#[derive(Serialize, ToSchema)]
pub struct CustomerAddressWire {
    pub id: i64,
    pub customer_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state_or_province: String,
    pub postal_code: String,
    pub country_code: String,
    /// The country's name.
    pub country: String,
    pub phone: String,
    /// `residential` or `commercial`.
    pub address_type: &'static str,
    /// With `include=formfields`: always empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub form_fields: Option<Vec<Value>>,
}

pub fn address_wire(a: &CustomerAddress, form_fields: bool) -> CustomerAddressWire {
    let x = &a.address;
    CustomerAddressWire {
        id: a.id,
        customer_id: a.customer_id,
        first_name: x.first_name.clone(),
        last_name: x.last_name.clone(),
        company: x.company.clone(),
        address1: x.address1.clone(),
        address2: x.address2.clone(),
        city: x.city.clone(),
        state_or_province: x.state_or_province.clone(),
        postal_code: x.postal_code.clone(),
        country_code: x.country_code.clone(),
        country: x.country.clone(),
        phone: x.phone.clone(),
        address_type: a.address_type.as_str(),
        form_fields: form_fields.then(Vec::new),
    }
}

fn written(addresses: &[CustomerAddress], q: Option<&str>) -> Response {
    let form_fields = Includes::from_query(q).has("formfields");
    let data: Vec<CustomerAddressWire> = addresses
        .iter()
        .map(|a| address_wire(a, form_fields))
        .collect();
    (StatusCode::OK, Envelope::new(data)).into_response()
}

fn filter_from(pairs: &[(String, String)]) -> ApiResult<AddressFilter> {
    let mut f = AddressFilter::default();
    for (k, v) in pairs {
        match k.as_str() {
            "id:in" => f.ids = Some(ints(v, "id:in")?),
            "customer_id:in" => f.customer_ids = Some(ints(v, "customer_id:in")?),
            "name:in" => f.names = Some(list(v)),
            "company:in" => f.companies = Some(list(v)),
            _ => {}
        }
    }
    Ok(f)
}

/// Get customer addresses, filtered and paginated.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/customers/addresses", tag = "Customers",
    operation_id = "getCustomersAddresses",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "default 50, at most 250"),
        ("id:in" = Option<String>, Query), ("customer_id:in" = Option<String>, Query),
        ("name:in" = Option<String>, Query), ("company:in" = Option<String>, Query),
        ("include" = Option<String>, Query, description = "formfields")),
    responses((status = 200, body = inline(Envelope<Vec<CustomerAddressWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_addresses(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2CustomersReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let filter = filter_from(&pairs)?;
    let (page, limit) = paging(&pairs)?;
    let (found, total) = state
        .kassa
        .list_customer_addresses(&who.store, &filter, page, limit)
        .await?;
    let form_fields = Includes::from_query(q.as_deref()).has("formfields");
    let data: Vec<CustomerAddressWire> =
        found.iter().map(|a| address_wire(a, form_fields)).collect();
    let meta = pagination_meta(total, data.len(), limit, page);
    Ok((StatusCode::OK, Envelope::with_meta(data, meta)).into_response())
}

/// Save 1–10 addresses for the customers they name; addresses a customer already has
/// are left out of the answer.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/customers/addresses", tag = "Customers",
    operation_id = "createCustomersAddresses",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query)),
    request_body = Vec<CustomerAddressRequest>,
    responses((status = 200, body = inline(Envelope<Vec<CustomerAddressWire>>)), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_addresses(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<Vec<CustomerAddressRequest>>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Customers)?;
    let JsonBody(body) = body?;
    let entries = batch(body, |a| a.customer_id)?;
    let created = state
        .kassa
        .create_customer_addresses(&who.store, &entries)
        .await?;
    Ok(written(&created, q.as_deref()))
}

/// Change 1–10 addresses by their `id`; one that would become another saved address of
/// its customer is left unchanged and out of the answer.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/customers/addresses", tag = "Customers",
    operation_id = "updateCustomersAddresses",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query)),
    request_body = Vec<CustomerAddressRequest>,
    responses((status = 200, body = inline(Envelope<Vec<CustomerAddressWire>>)), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_addresses(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<Vec<CustomerAddressRequest>>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Customers)?;
    let JsonBody(body) = body?;
    let entries = batch(body, |a| a.id)?;
    let updated = state
        .kassa
        .update_customer_addresses(&who.store, &entries)
        .await?;
    Ok(written(&updated, q.as_deref()))
}

/// Delete the addresses `id:in` lists (without it, nothing is deleted).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/customers/addresses", tag = "Customers",
    operation_id = "deleteCustomersAddresses",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query, description = "comma-separated address ids")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_addresses(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Customers)?;
    let ids = ids_in(q.as_deref())?;
    state
        .kassa
        .delete_customer_addresses(&who.store, &ids)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
