//! Customers admin API (`admin/customers.v3.yml`, the `/customers` collection) under
//! `/stores/{store_hash}/v3/customers`. V3 conventions: `{data, meta}` bodies, money as
//! JSON numbers, errors `{status, title, type, errors}` naming the field. Reading needs
//! `store_v2_customers_read_only`, changing `store_v2_customers`.
//!
//! - `GET` filters by `id:in`, `email:in` (any case), `name:in` (`first last`, any case),
//!   `name:like` (substrings of `first last`, any case; comma = any of), `company:in`,
//!   `phone:in`, `customer_group_id:in`, `date_created`, `date_modified` and their `:min`
//!   / `:max` (`2024-05-14T09:34:00`, `2024-05-14`, RFC 3339 or Unix seconds; UTC; a bare
//!   date stands for the whole day, so `:max=2024-05-14` includes that day); sorts by
//!   `sort=date_created|date_modified|last_name:asc|desc` (default: by id); pages with
//!   `page` and `limit` (default 50, at most 250) and answers `meta.pagination`.
//!   Cursor pagination (`before`, `after`) is not offered: 422.
//! - `include=storecredit` adds `store_credit_amounts` (one entry: Kassa keeps a single
//!   balance); `include=addresses` the customer's saved addresses (`address_count` is
//!   always their number). `attributes` and `formfields` add empty lists, since Kassa
//!   does not store those for customers. POST and PUT refuse `addresses`, `attributes`
//!   and `form_fields` (422) rather than drop them: addresses are saved through
//!   `/customers/addresses`. Create and update answers always carry `store_credit_amounts`.
//! - `POST` and `PUT` take 1–10 customers (more: 413) and are all-or-nothing; a 422 names
//!   the entry and field (`[1].email`). A taken email (any case) is a 422, as the spec
//!   lists no other status. `PUT` finds each customer by its `id` and changes the fields
//!   sent; `store_credit_amounts` replaces the balance. `authentication.new_password`
//!   sets the password the customer signs in to the storefront with (8–128 characters
//!   with letters and digits, else 422; kept only as a PBKDF2 hash, never answered).
//!   `trigger_account_created_notification` is accepted and ignored (Kassa sends no
//!   emails).
//! - `POST /customers/validate-credentials` `{email, password, channel_id}` answers
//!   `{is_valid, customer_id}` with the storefront sign-in's check (same lock, same
//!   answer for an unknown email and a wrong password).
//! - `DELETE` deletes the customers `id:in` lists; without it nothing happens (204), as
//!   the spec says.

use super::AppState;
use super::customer_addresses::{CustomerAddressWire, address_wire};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, Includes, JsonBody, percent_decode};
use super::wire::{Envelope, pagination_meta, rfc3339};
use crate::domain::DomainError;
use crate::domain::customer::{Customer, CustomerInput, MAX_BATCH, in_batch};
use crate::domain::customer_address::CustomerAddress;
use crate::domain::money::Money;
use crate::domain::scope::Scope;
use crate::service::{Refusal, ServiceError};
use crate::store::StoreRecord;
use crate::store::customers::{CustomerFilter, CustomerSort, CustomerSortKey};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 250;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_customers,
            create_customers,
            update_customers,
            delete_customers
        ))
        .routes(routes!(validate_credentials))
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
pub struct StoreCreditAmountRequest {
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Decimal>,
}

#[derive(Deserialize, ToSchema)]
pub struct AuthenticationRequest {
    #[serde(default)]
    pub force_password_reset: Option<bool>,
    /// The password the customer signs in to the storefront with (8–128 characters,
    /// letters and digits); stored only hashed, never answered.
    #[serde(default)]
    pub new_password: Option<String>,
}

/// `customer_Post` / `customer_Put` (the latter needs `id`).
#[derive(Deserialize, ToSchema)]
pub struct CustomerRequest {
    /// Required by PUT; ignored by POST.
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tax_exempt_category: Option<String>,
    #[serde(default)]
    pub customer_group_id: Option<i64>,
    /// `[{"amount": 43.15}]`; the balance becomes their sum.
    #[serde(default)]
    pub store_credit_amounts: Option<Vec<StoreCreditAmountRequest>>,
    #[serde(default)]
    pub accepts_product_review_abandoned_cart_emails: Option<bool>,
    /// `null` or left out: every channel.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub channel_ids: Option<Option<Vec<i64>>>,
    /// Taken on create; immutable afterwards.
    #[serde(default)]
    pub origin_channel_id: Option<i64>,
    #[serde(default)]
    pub authentication: Option<AuthenticationRequest>,
    /// Accepted and ignored: Kassa sends no emails.
    #[serde(default)]
    pub trigger_account_created_notification: Option<bool>,
    /// Read-only; ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub registration_ip_address: Option<Value>,
    /// Not stored by Kassa: a non-empty list is refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub addresses: Option<Vec<Value>>,
    /// Not stored by Kassa: a non-empty list is refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub attributes: Option<Vec<Value>>,
    /// Not stored by Kassa: a non-empty list is refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub form_fields: Option<Vec<Value>>,
}

impl CustomerRequest {
    fn into_input(self, index: usize) -> Result<(Option<i64>, CustomerInput), DomainError> {
        for (field, list) in [
            ("addresses", &self.addresses),
            ("attributes", &self.attributes),
            ("form_fields", &self.form_fields),
        ] {
            if list.as_ref().is_some_and(|l| !l.is_empty()) {
                return Err(in_batch(
                    DomainError::field(
                        field,
                        if field == "addresses" {
                            "Send the customer without `addresses`, then save them with POST /v3/customers/addresses.".to_string()
                        } else {
                            format!(
                                "Kassa does not store customer {field} yet; send the customer without `{field}`."
                            )
                        },
                    ),
                    index,
                ));
            }
        }
        Ok((
            self.id,
            CustomerInput {
                email: self.email,
                first_name: self.first_name,
                last_name: self.last_name,
                company: self.company,
                phone: self.phone,
                notes: self.notes,
                customer_group_id: self.customer_group_id,
                tax_exempt_category: self.tax_exempt_category,
                store_credit_amounts: self
                    .store_credit_amounts
                    .map(|l| l.into_iter().map(|a| a.amount).collect()),
                accepts_product_review_abandoned_cart_emails: self
                    .accepts_product_review_abandoned_cart_emails,
                channel_ids: self.channel_ids,
                origin_channel_id: self.origin_channel_id,
                force_password_reset: self
                    .authentication
                    .as_ref()
                    .and_then(|a| a.force_password_reset),
                new_password: self.authentication.and_then(|a| a.new_password),
            },
        ))
    }
}

fn batch(body: Vec<CustomerRequest>) -> ApiResult<Vec<(Option<i64>, CustomerInput)>> {
    if body.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "At most {MAX_BATCH} customers can be sent in one request, not {}.",
                body.len()
            ),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "body",
            "Send a list of at least one customer.",
        ));
    }
    body.into_iter()
        .enumerate()
        .map(|(i, c)| c.into_input(i).map_err(ApiError::from))
        .collect()
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct StoreCreditAmountWire {
    #[schema(value_type = f64)]
    pub amount: Money,
}

#[derive(Serialize, ToSchema)]
pub struct AuthenticationWire {
    pub force_password_reset: bool,
}

/// `customer_Full`.
#[derive(Serialize, ToSchema)]
pub struct CustomerWire {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub registration_ip_address: String,
    pub notes: String,
    pub tax_exempt_category: String,
    pub customer_group_id: i64,
    /// RFC 3339.
    pub date_created: String,
    /// RFC 3339.
    pub date_modified: String,
    pub address_count: i64,
    pub attribute_count: i64,
    pub authentication: AuthenticationWire,
    pub accepts_product_review_abandoned_cart_emails: bool,
    pub origin_channel_id: i64,
    /// Left out for customers with access to every channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_ids: Option<Vec<i64>>,
    /// With `include=storecredit` (always in create and update answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_credit_amounts: Option<Vec<StoreCreditAmountWire>>,
    /// With `include=addresses`: the customer's saved addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<CustomerAddressWire>>,
    /// With `include=attributes`: always empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub attributes: Option<Vec<Value>>,
    /// With `include=formfields`: always empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub form_fields: Option<Vec<Value>>,
}

/// What a customer answer shows of the address books: each customer's address count,
/// and (with `include=addresses`) the addresses.
#[derive(Default)]
pub struct AddressBooks {
    counts: HashMap<i64, i64>,
    addresses: Option<HashMap<i64, Vec<CustomerAddress>>>,
}

impl AddressBooks {
    /// Reads what `inc` asks for about these customers (one query).
    pub async fn load(
        state: &AppState,
        store: &StoreRecord,
        customers: &[Customer],
        inc: &Includes,
    ) -> ApiResult<Self> {
        let ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
        if !inc.has("addresses") {
            return Ok(AddressBooks {
                counts: state.kassa.address_counts(store, &ids).await?,
                addresses: None,
            });
        }
        let books = state.kassa.saved_addresses(store, &ids).await?;
        Ok(AddressBooks {
            counts: books.iter().map(|(k, v)| (*k, v.len() as i64)).collect(),
            addresses: Some(books),
        })
    }
}

pub fn customer_wire(
    c: &Customer,
    inc: &Includes,
    store_credit: bool,
    books: &AddressBooks,
) -> CustomerWire {
    let empty = |name: &str| inc.has(name).then(Vec::new);
    CustomerWire {
        id: c.id,
        email: c.email.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        company: c.company.clone(),
        phone: c.phone.clone(),
        registration_ip_address: c.registration_ip_address.clone(),
        notes: c.notes.clone(),
        tax_exempt_category: c.tax_exempt_category.clone(),
        customer_group_id: c.customer_group_id,
        date_created: rfc3339(c.date_created),
        date_modified: rfc3339(c.date_modified),
        address_count: books.counts.get(&c.id).copied().unwrap_or(0),
        attribute_count: 0,
        authentication: AuthenticationWire {
            force_password_reset: c.force_password_reset,
        },
        accepts_product_review_abandoned_cart_emails: c
            .accepts_product_review_abandoned_cart_emails,
        origin_channel_id: c.origin_channel_id,
        channel_ids: c.channel_ids.clone(),
        store_credit_amounts: (store_credit || inc.has("storecredit")).then(|| {
            vec![StoreCreditAmountWire {
                amount: c.store_credit,
            }]
        }),
        addresses: books.addresses.as_ref().map(|b| {
            b.get(&c.id)
                .map(|list| list.iter().map(|a| address_wire(a, false)).collect())
                .unwrap_or_default()
        }),
        attributes: empty("attributes"),
        form_fields: empty("formfields"),
    }
}

async fn written(
    state: &AppState,
    store: &StoreRecord,
    customers: &[Customer],
    q: Option<&str>,
) -> ApiResult<Response> {
    let inc = Includes::from_query(q);
    let books = AddressBooks::load(state, store, customers, &inc).await?;
    let data: Vec<CustomerWire> = customers
        .iter()
        .map(|c| customer_wire(c, &inc, true, &books))
        .collect();
    Ok((StatusCode::OK, Envelope::new(data)).into_response())
}

// ---------- query strings ----------

pub(super) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(super) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn int(v: &str, field: &str) -> ApiResult<i64> {
    v.trim().parse::<i64>().map_err(|_| {
        ApiError::unprocessable(
            field,
            format!("The query parameter `{field}` must be a whole number, not `{v}`."),
        )
    })
}

pub(super) fn ints(v: &str, field: &str) -> ApiResult<Vec<i64>> {
    list(v).iter().map(|s| int(s, field)).collect()
}

/// Every id the query's `id:in` parameters list (what a delete removes).
pub(super) fn ids_in(q: Option<&str>) -> ApiResult<Vec<i64>> {
    let mut ids: Vec<i64> = Vec::new();
    for (_, v) in query_pairs(q).iter().filter(|(k, _)| k == "id:in") {
        ids.extend(ints(v, "id:in")?);
    }
    Ok(ids)
}

/// A date filter's bounds in Unix seconds: a bare date covers its whole (UTC) day.
fn date_bounds(v: &str, field: &str) -> ApiResult<(i64, i64)> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Ok((secs, secs));
    }
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        let s = t.unix_timestamp();
        return Ok((s, s));
    }
    let with_time = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(v, &with_time) {
        let s = t.assume_utc().unix_timestamp();
        return Ok((s, s));
    }
    let date_only = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(v, &date_only) {
        let s = d.midnight().assume_utc().unix_timestamp();
        return Ok((s, s + 86_399));
    }
    Err(ApiError::unprocessable(
        field,
        format!(
            "The query parameter `{field}` must be a date such as `2024-05-14` or `2024-05-14T09:34:00`, not `{v}`."
        ),
    ))
}

fn tighten_min(slot: &mut Option<i64>, v: i64) {
    *slot = Some(slot.map_or(v, |old| old.max(v)));
}

fn tighten_max(slot: &mut Option<i64>, v: i64) {
    *slot = Some(slot.map_or(v, |old| old.min(v)));
}

fn filter_from(pairs: &[(String, String)]) -> ApiResult<CustomerFilter> {
    let mut f = CustomerFilter::default();
    for (k, v) in pairs {
        match k.as_str() {
            "id:in" => {
                let ids = ints(v, "id:in")?;
                f.ids = Some(match f.ids.take() {
                    Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
                    None => ids,
                });
            }
            "email:in" => f.emails = Some(list(v)),
            "name:in" | "name" => f.names = Some(list(v)),
            "name:like" => f.name_like = Some(list(v)),
            "company:in" => f.companies = Some(list(v)),
            "phone:in" => f.phones = Some(list(v)),
            "customer_group_id:in" => f.customer_group_ids = Some(ints(v, "customer_group_id:in")?),
            "date_created" => {
                let (lo, hi) = date_bounds(v, k)?;
                tighten_min(&mut f.date_created_min, lo);
                tighten_max(&mut f.date_created_max, hi);
            }
            "date_created:min" => tighten_min(&mut f.date_created_min, date_bounds(v, k)?.0),
            "date_created:max" => tighten_max(&mut f.date_created_max, date_bounds(v, k)?.1),
            "date_modified" => {
                let (lo, hi) = date_bounds(v, k)?;
                tighten_min(&mut f.date_modified_min, lo);
                tighten_max(&mut f.date_modified_max, hi);
            }
            "date_modified:min" => tighten_min(&mut f.date_modified_min, date_bounds(v, k)?.0),
            "date_modified:max" => tighten_max(&mut f.date_modified_max, date_bounds(v, k)?.1),
            "before" | "after" => {
                return Err(ApiError::unprocessable(
                    k,
                    format!(
                        "Kassa pages customers with `page` and `limit`; `{k}` (cursor pagination) is not supported."
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(f)
}

fn sort_from(pairs: &[(String, String)]) -> ApiResult<CustomerSort> {
    let Some((_, v)) = pairs
        .iter()
        .rev()
        .find(|(k, v)| k == "sort" && !v.trim().is_empty())
    else {
        return Ok(CustomerSort::default());
    };
    let (key, dir) = v.trim().split_once(':').unwrap_or((v.trim(), "asc"));
    let key = match key {
        "date_created" => CustomerSortKey::DateCreated,
        "date_modified" => CustomerSortKey::DateModified,
        "last_name" => CustomerSortKey::LastName,
        "id" => CustomerSortKey::Id,
        _ => return Err(bad_sort(v)),
    };
    let descending = match dir {
        "asc" => false,
        "desc" => true,
        _ => return Err(bad_sort(v)),
    };
    Ok(CustomerSort { key, descending })
}

fn bad_sort(v: &str) -> ApiError {
    ApiError::unprocessable(
        "sort",
        format!(
            "The query parameter `sort` must be one of date_created, date_modified or last_name with `:asc` or `:desc`, not `{v}`."
        ),
    )
}

/// `page` (from 1) and `limit` (default 50, at most 250).
pub(super) fn paging(pairs: &[(String, String)]) -> ApiResult<(i64, i64)> {
    let mut page = 1;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in pairs {
        match k.as_str() {
            "page" => page = int(v, "page")?.max(1),
            "limit" => limit = int(v, "limit")?.clamp(1, MAX_LIMIT),
            _ => {}
        }
    }
    Ok((page, limit))
}

// ---------- handlers ----------

/// Get customers, filtered, sorted and paginated.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/customers", tag = "Customers",
    operation_id = "getCustomers",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "default 50, at most 250"),
        ("id:in" = Option<String>, Query), ("email:in" = Option<String>, Query), ("name:in" = Option<String>, Query),
        ("name:like" = Option<String>, Query), ("company:in" = Option<String>, Query), ("phone:in" = Option<String>, Query),
        ("customer_group_id:in" = Option<String>, Query),
        ("date_created" = Option<String>, Query), ("date_created:min" = Option<String>, Query), ("date_created:max" = Option<String>, Query),
        ("date_modified" = Option<String>, Query), ("date_modified:min" = Option<String>, Query), ("date_modified:max" = Option<String>, Query),
        ("sort" = Option<String>, Query, description = "date_created, date_modified or last_name, with :asc or :desc"),
        ("include" = Option<String>, Query, description = "storecredit, addresses, attributes, formfields")),
    responses((status = 200, body = inline(Envelope<Vec<CustomerWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_customers(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2CustomersReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let filter = filter_from(&pairs)?;
    let sort = sort_from(&pairs)?;
    let (page, limit) = paging(&pairs)?;
    let (customers, total) = state
        .kassa
        .list_admin_customers(&who.store, &filter, sort, page, limit)
        .await?;
    let inc = Includes::from_query(q.as_deref());
    let books = AddressBooks::load(&state, &who.store, &customers, &inc).await?;
    let data: Vec<CustomerWire> = customers
        .iter()
        .map(|c| customer_wire(c, &inc, false, &books))
        .collect();
    let meta = pagination_meta(total, data.len(), limit, page);
    Ok((StatusCode::OK, Envelope::with_meta(data, meta)).into_response())
}

/// `ValidateCustomerCredentialsObject`.
#[derive(Deserialize, ToSchema)]
pub struct ValidateCredentialsRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The channel the customer signs in to (default 1).
    #[serde(default)]
    pub channel_id: Option<i64>,
}

/// `ValidateCustomerCredentialsResponseObject`.
#[derive(Serialize, ToSchema)]
pub struct ValidateCredentialsResponse {
    pub is_valid: bool,
    /// The customer's id when valid, else null.
    pub customer_id: Option<i64>,
}

/// Check a customer's email and password (the storefront sign-in's check). Wrong
/// password and unknown email answer alike (`is_valid: false`); five failures for an
/// email within 15 minutes lock it for the rest of them (429), as for storefront sign-ins.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/customers/validate-credentials", tag = "Customers",
    operation_id = "validateCustomerCredentials",
    params(("store_hash" = String, Path)),
    request_body = ValidateCredentialsRequest,
    responses((status = 200, body = ValidateCredentialsResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn validate_credentials(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<ValidateCredentialsRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2CustomersReadOnly)?;
    let JsonBody(body) = body?;
    let channel = body.channel_id.unwrap_or(1);
    if channel < 1 {
        return Err(ApiError::unprocessable(
            "channel_id",
            format!("The field `channel_id` must be a channel id (1 or more), not {channel}."),
        ));
    }
    let checked = state
        .kassa
        .check_customer_credentials(
            &who.store,
            body.email.as_deref().unwrap_or_default(),
            body.password.as_deref().unwrap_or_default(),
            channel,
        )
        .await;
    let answer = match checked {
        Ok(c) => ValidateCredentialsResponse {
            is_valid: true,
            customer_id: Some(c.id),
        },
        Err(ServiceError::Refused(Refusal::InvalidCredentials, _)) => ValidateCredentialsResponse {
            is_valid: false,
            customer_id: None,
        },
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

/// Create 1–10 customers, all or none.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/customers", tag = "Customers",
    operation_id = "createCustomers",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query)),
    request_body = Vec<CustomerRequest>,
    responses((status = 200, body = inline(Envelope<Vec<CustomerWire>>)), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_customers(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<Vec<CustomerRequest>>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Customers)?;
    let JsonBody(body) = body?;
    let inputs: Vec<CustomerInput> = batch(body)?.into_iter().map(|(_, i)| i).collect();
    let created = state
        .kassa
        .create_admin_customers(&who.store, &inputs)
        .await?;
    written(&state, &who.store, &created, q.as_deref()).await
}

/// Update 1–10 customers by their `id`, all or none.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/customers", tag = "Customers",
    operation_id = "updateCustomers",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query)),
    request_body = Vec<CustomerRequest>,
    responses((status = 200, body = inline(Envelope<Vec<CustomerWire>>)), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_customers(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<Vec<CustomerRequest>>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Customers)?;
    let JsonBody(body) = body?;
    let updates = batch(body)?;
    let updated = state
        .kassa
        .update_admin_customers(&who.store, &updates)
        .await?;
    written(&state, &who.store, &updated, q.as_deref()).await
}

/// Delete the customers `id:in` lists (without it, nothing is deleted).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/customers", tag = "Customers",
    operation_id = "deleteCustomers",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query, description = "comma-separated customer ids")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_customers(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Customers)?;
    let ids = ids_in(q.as_deref())?;
    state.kassa.delete_admin_customers(&who.store, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}
