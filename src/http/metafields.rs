//! Metafields of carts (`carts.v3.yml`) and orders (`orders.v3.yml`), tags Metafields
//! and Batch metafields: one resource's metafields, and batch reads and writes across all
//! of a store's carts or orders. Both resources share the use cases and this module's
//! parsing and response shapes; they differ on the wire only in how ids are typed (the
//! cart spec has strings, the order spec integers).

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody, percent_decode};
use super::wire::{Envelope, json_response, pagination_meta, rfc3339};
use crate::domain::metafield::{MetafieldResource, RawMetafield};
use crate::service::accounts::Principal;
use crate::service::metafields::{
    BatchOutcome, MetafieldChange, MetafieldPage, MetafieldQuery, NewMetafield,
};
use crate::store::MetafieldRecord;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cart_metafields, create_cart_metafield))
        .routes(routes!(
            get_cart_metafield,
            update_cart_metafield,
            delete_cart_metafield
        ))
        .routes(routes!(
            list_all_cart_metafields,
            create_cart_metafields,
            update_cart_metafields,
            delete_cart_metafields
        ))
        .routes(routes!(list_order_metafields, create_order_metafield))
        .routes(routes!(
            get_order_metafield,
            update_order_metafield,
            delete_order_metafield
        ))
        .routes(routes!(
            list_all_order_metafields,
            create_order_metafields,
            update_order_metafields,
            delete_order_metafields
        ))
}

const CART: MetafieldResource = MetafieldResource::Cart;
const ORDER: MetafieldResource = MetafieldResource::Order;

// ---------- wire types ----------

/// A cart's metafield as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct MetafieldWire {
    pub id: String,
    pub key: String,
    pub value: String,
    pub namespace: String,
    pub permission_set: String,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub description: String,
    pub date_created: String,
    pub date_modified: String,
    pub owner_client_id: String,
}

impl From<MetafieldRecord> for MetafieldWire {
    fn from(r: MetafieldRecord) -> Self {
        MetafieldWire {
            id: r.id.to_string(),
            key: r.key,
            value: r.value,
            namespace: r.namespace,
            permission_set: r.permission_set,
            resource_type: "cart",
            resource_id: r.resource_id,
            description: r.description,
            date_created: rfc3339(r.created_at),
            date_modified: rfc3339(r.updated_at),
            owner_client_id: r.owner_client_id,
        }
    }
}

/// An order's metafield as the API shows it: `orders.v3.yml` types both ids as integers.
#[derive(Serialize, ToSchema)]
pub struct OrderMetafieldWire {
    pub id: i64,
    pub key: String,
    pub value: String,
    pub namespace: String,
    pub permission_set: String,
    pub resource_type: &'static str,
    pub resource_id: i64,
    pub description: String,
    pub date_created: String,
    pub date_modified: String,
    pub owner_client_id: String,
}

impl From<MetafieldRecord> for OrderMetafieldWire {
    fn from(r: MetafieldRecord) -> Self {
        OrderMetafieldWire {
            id: r.id,
            key: r.key,
            value: r.value,
            namespace: r.namespace,
            permission_set: r.permission_set,
            resource_type: "order",
            // Stored as the order id's decimal text, written only by us.
            resource_id: r.resource_id.parse().unwrap_or_default(),
            description: r.description,
            date_created: rfc3339(r.created_at),
            date_modified: rfc3339(r.updated_at),
            owner_client_id: r.owner_client_id,
        }
    }
}

/// Create (all of namespace, key, value, permission_set required) or partial update.
#[derive(Deserialize, ToSchema, Default)]
pub struct MetafieldRequest {
    /// app_only, read, write, read_and_sf_access or write_and_sf_access.
    #[serde(default)]
    pub permission_set: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl From<MetafieldRequest> for RawMetafield {
    fn from(r: MetafieldRequest) -> Self {
        RawMetafield {
            namespace: r.namespace,
            key: r.key,
            value: r.value,
            permission_set: r.permission_set,
            description: r.description,
        }
    }
}

/// A batch-create item: a metafield and the cart or order it belongs to.
#[derive(Deserialize, ToSchema, Default)]
pub struct BatchCreateItem {
    /// The cart's or order's id.
    #[serde(default)]
    #[schema(value_type = String)]
    pub resource_id: Option<serde_json::Value>,
    #[serde(default)]
    pub permission_set: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A batch-update item: the metafield's id and the fields to change.
#[derive(Deserialize, ToSchema, Default)]
pub struct BatchUpdateItem {
    #[serde(default)]
    #[schema(value_type = String)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub permission_set: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `{total, success, failed}` of a batch write.
#[derive(Serialize, ToSchema)]
pub struct WriteCollectionMeta {
    pub total: usize,
    pub success: usize,
    pub failed: usize,
}

/// One failed item of a batch, in the v3 error shape.
#[derive(Serialize, ToSchema)]
pub struct BatchError {
    pub status: u16,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(value_type = Object)]
    pub errors: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchWriteResponse {
    pub data: Vec<MetafieldWire>,
    pub errors: Vec<BatchError>,
    pub meta: WriteCollectionMeta,
}

/// The order twin of `BatchWriteResponse`, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct OrderBatchWriteResponse {
    pub data: Vec<OrderMetafieldWire>,
    pub errors: Vec<BatchError>,
    pub meta: WriteCollectionMeta,
}

/// What a batch write answers, whichever wire type its metafields take.
#[derive(Serialize)]
struct BatchWriteBody<W> {
    data: Vec<W>,
    errors: Vec<BatchError>,
    meta: WriteCollectionMeta,
}

#[derive(Serialize, ToSchema)]
pub struct BatchDeleteResponse {
    pub data: Vec<i64>,
    pub errors: Vec<BatchError>,
    pub meta: WriteCollectionMeta,
}

// ---------- parsing ----------

/// An id the client sent as a JSON string or number, as text.
fn id_text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Query parameters of the list endpoints: page, limit, key, key:in, namespace,
/// namespace:in, direction, and the date_created/date_modified bounds.
fn parse_list_query(query: Option<&str>) -> ApiResult<MetafieldQuery> {
    let mut q = MetafieldQuery::default();
    for pair in query.unwrap_or_default().split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let k = percent_decode(k);
        let v = percent_decode(v);
        match k.as_str() {
            "page" => q.page = int_param("page", &v)?,
            "limit" => q.limit = int_param("limit", &v)?,
            "key" => push_nonempty(&mut q.filter.keys, &v),
            "namespace" => push_nonempty(&mut q.filter.namespaces, &v),
            "key:in" | "key:in[]" => v
                .split(',')
                .for_each(|p| push_nonempty(&mut q.filter.keys, p)),
            "namespace:in" | "namespace:in[]" => v
                .split(',')
                .for_each(|p| push_nonempty(&mut q.filter.namespaces, p)),
            "direction" => {
                q.filter.descending = match v.trim().to_ascii_lowercase().as_str() {
                    "asc" | "" => false,
                    "desc" => true,
                    _ => {
                        return Err(ApiError::unprocessable(
                            "direction",
                            format!("direction must be `asc` or `desc`, not `{v}`."),
                        ));
                    }
                }
            }
            "date_created:min" => q.filter.created_min = Some(date_param(&k, &v)?),
            "date_created:max" => q.filter.created_max = Some(date_param(&k, &v)?),
            "date_modified:min" => q.filter.modified_min = Some(date_param(&k, &v)?),
            "date_modified:max" => q.filter.modified_max = Some(date_param(&k, &v)?),
            _ => {}
        }
    }
    Ok(q)
}

fn push_nonempty(list: &mut Vec<String>, v: &str) {
    let v = v.trim();
    if !v.is_empty() && !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

fn int_param(name: &str, v: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::unprocessable(
                name,
                format!("{name} must be a whole number of 1 or more, not `{v}`."),
            )
        })
}

/// Unix seconds, an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS` (UTC) or `YYYY-MM-DD` (UTC midnight).
fn date_param(name: &str, v: &str) -> ApiResult<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let v = v.trim();
    // A `+` offset arrives as a space when the client did not escape it.
    let fixed = v.replace(' ', "+");
    let parsed = v
        .parse::<i64>()
        .ok()
        .or_else(|| {
            time::OffsetDateTime::parse(&fixed, &Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp())
        })
        .or_else(|| {
            time::PrimitiveDateTime::parse(
                v,
                format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            )
            .ok()
            .map(|t| t.assume_utc().unix_timestamp())
        })
        .or_else(|| {
            time::Date::parse(v, format_description!("[year]-[month]-[day]"))
                .ok()
                .map(|d| d.midnight().assume_utc().unix_timestamp())
        });
    parsed.ok_or_else(|| {
        ApiError::unprocessable(
            name,
            format!("{name} must be a date like `2024-05-14` or `2024-05-14T09:34:00`, not `{v}`."),
        )
    })
}

// ---------- responses ----------

fn page_response<W: Serialize + From<MetafieldRecord>>(page: MetafieldPage) -> Response {
    let count = page.items.len();
    let meta = pagination_meta(page.total, count, page.limit, page.page);
    let data: Vec<W> = page.items.into_iter().map(Into::into).collect();
    Envelope::with_meta(data, meta).into_response()
}

fn item_error(index: usize, subject_field: &str, error: ApiError) -> BatchError {
    let mut errors = error.errors;
    if errors.is_empty() {
        errors.insert(subject_field.to_string(), error.title.clone());
    }
    BatchError {
        status: error.status.as_u16(),
        title: format!("Item {index} of the request: {}", error.title),
        kind: super::error::ERROR_TYPE,
        errors,
    }
}

/// 200 when every item went through; 422 with what did and did not otherwise.
fn batch_status(failed: usize) -> StatusCode {
    if failed == 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn batch_write_response<W: Serialize + From<MetafieldRecord>>(
    out: BatchOutcome<MetafieldRecord>,
    subject_field: &str,
) -> Response {
    let meta = WriteCollectionMeta {
        total: out.total(),
        success: out.done.len(),
        failed: out.failed.len(),
    };
    let errors = out
        .failed
        .into_iter()
        .map(|f| item_error(f.index, subject_field, f.error.into()))
        .collect();
    let body = BatchWriteBody::<W> {
        data: out.done.into_iter().map(Into::into).collect(),
        errors,
        meta,
    };
    (batch_status(body.meta.failed), json_response(&body)).into_response()
}

fn batch_delete_response(out: BatchOutcome<i64>) -> Response {
    let meta = WriteCollectionMeta {
        total: out.total(),
        success: out.done.len(),
        failed: out.failed.len(),
    };
    let errors = out
        .failed
        .into_iter()
        .map(|f| {
            let subject = f.subject.unwrap_or_default();
            item_error(f.index, &subject, f.error.into())
        })
        .collect();
    let body = BatchDeleteResponse {
        data: out.done,
        errors,
        meta,
    };
    (batch_status(body.meta.failed), json_response(&body)).into_response()
}

fn new_items(body: Vec<BatchCreateItem>) -> Vec<NewMetafield> {
    body.into_iter()
        .map(|i| NewMetafield {
            resource_id: id_text(i.resource_id),
            fields: RawMetafield {
                namespace: i.namespace,
                key: i.key,
                value: i.value,
                permission_set: i.permission_set,
                description: i.description,
            },
        })
        .collect()
}

fn change_items(body: Vec<BatchUpdateItem>) -> Vec<MetafieldChange> {
    body.into_iter()
        .map(|i| MetafieldChange {
            id: id_text(i.id),
            fields: RawMetafield {
                namespace: i.namespace,
                key: i.key,
                value: i.value,
                permission_set: i.permission_set,
                description: i.description,
            },
        })
        .collect()
}

// ---------- shared handler bodies ----------
//
// Every handler checks the scope before it reads the query or the body, so a caller
// without the scope always gets 403 and learns nothing about what the request needs.

async fn list_one<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    owner: &str,
    q: Option<String>,
) -> ApiResult<Response> {
    who.require(resource.read_scope())?;
    let query = parse_list_query(q.as_deref())?;
    let page = state
        .kassa
        .list_metafields(&who, resource, owner, query)
        .await?;
    Ok(page_response::<W>(page))
}

async fn create_one<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    owner: &str,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<W>> {
    who.require(resource.write_scope())?;
    let JsonBody(body) = body?;
    let m = state
        .kassa
        .create_metafield(&who, resource, owner, body.into())
        .await?;
    Ok(Envelope::new(m.into()))
}

async fn get_one<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    owner: &str,
    id: &str,
) -> ApiResult<Envelope<W>> {
    let m = state.kassa.get_metafield(&who, resource, owner, id).await?;
    Ok(Envelope::new(m.into()))
}

async fn update_one<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    owner: &str,
    id: &str,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<W>> {
    who.require(resource.write_scope())?;
    let JsonBody(body) = body?;
    let m = state
        .kassa
        .update_metafield(&who, resource, owner, id, body.into())
        .await?;
    Ok(Envelope::new(m.into()))
}

async fn delete_one(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    owner: &str,
    id: &str,
) -> ApiResult<StatusCode> {
    state
        .kassa
        .delete_metafield(&who, resource, owner, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_all<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    q: Option<String>,
) -> ApiResult<Response> {
    who.require(resource.read_scope())?;
    let query = parse_list_query(q.as_deref())?;
    let page = state
        .kassa
        .list_all_metafields(&who, resource, query)
        .await?;
    Ok(page_response::<W>(page))
}

async fn create_many<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    body: Result<JsonBody<Vec<BatchCreateItem>>, ApiError>,
) -> ApiResult<Response> {
    who.require(resource.write_scope())?;
    let JsonBody(body) = body?;
    let out = state
        .kassa
        .create_metafields(&who, resource, new_items(body))
        .await?;
    Ok(batch_write_response::<W>(out, "resource_id"))
}

async fn update_many<W: Serialize + From<MetafieldRecord>>(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    body: Result<JsonBody<Vec<BatchUpdateItem>>, ApiError>,
) -> ApiResult<Response> {
    who.require(resource.write_scope())?;
    let JsonBody(body) = body?;
    let out = state
        .kassa
        .update_metafields(&who, resource, change_items(body))
        .await?;
    Ok(batch_write_response::<W>(out, "id"))
}

async fn delete_many(
    state: AppState,
    who: Principal,
    resource: MetafieldResource,
    body: Result<JsonBody<Vec<serde_json::Value>>, ApiError>,
) -> ApiResult<Response> {
    who.require(resource.write_scope())?;
    let JsonBody(body) = body?;
    let ids = body
        .into_iter()
        .map(|v| id_text(Some(v)).unwrap_or_default())
        .collect();
    let out = state.kassa.delete_metafields(&who, resource, ids).await?;
    Ok(batch_delete_response(out))
}

// ---------- one cart's metafields ----------

/// List a cart's metafields.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/{cart_id}/metafields", tag = "Metafields",
    params(("store_hash" = String, Path), ("cart_id" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query),
        ("key" = Option<String>, Query), ("namespace" = Option<String>, Query),
        ("direction" = Option<String>, Query, description = "asc or desc (by id)")),
    responses((status = 200, body = inline(Envelope<Vec<MetafieldWire>>)), (status = 404, body = ErrorBody)))]
async fn list_cart_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    list_one::<MetafieldWire>(state, who, CART, &path.1, q).await
}

/// Create a metafield on a cart.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/carts/{cart_id}/metafields", tag = "Metafields",
    params(("store_hash" = String, Path), ("cart_id" = String, Path)),
    request_body = MetafieldRequest,
    responses((status = 200, body = inline(Envelope<MetafieldWire>)), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_cart_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<MetafieldWire>> {
    create_one(state, who, CART, &path.1, body).await
}

/// Get one metafield of a cart.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/{cart_id}/metafields/{metafield_id}", tag = "Metafields",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("metafield_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<MetafieldWire>)), (status = 404, body = ErrorBody)))]
async fn get_cart_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Envelope<MetafieldWire>> {
    get_one(state, who, CART, &path.1, &path.2).await
}

/// Change some fields of a cart's metafield.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/{cart_id}/metafields/{metafield_id}", tag = "Metafields",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("metafield_id" = i64, Path)),
    request_body = MetafieldRequest,
    responses((status = 200, body = inline(Envelope<MetafieldWire>)), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_cart_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<MetafieldWire>> {
    update_one(state, who, CART, &path.1, &path.2, body).await
}

/// Delete a cart's metafield.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/carts/{cart_id}/metafields/{metafield_id}", tag = "Metafields",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("metafield_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_cart_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    delete_one(state, who, CART, &path.1, &path.2).await
}

// ---------- batch: carts ----------

/// List the metafields of all the store's carts.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/metafields", tag = "Batch metafields",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "at most 250"),
        ("key" = Option<String>, Query), ("key:in" = Option<String>, Query, description = "comma-separated"),
        ("namespace" = Option<String>, Query), ("namespace:in" = Option<String>, Query, description = "comma-separated"),
        ("direction" = Option<String>, Query, description = "asc or desc (by id)"),
        ("date_created:min" = Option<String>, Query), ("date_created:max" = Option<String>, Query),
        ("date_modified:min" = Option<String>, Query), ("date_modified:max" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<MetafieldWire>>)), (status = 422, body = ErrorBody)))]
async fn list_all_cart_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    list_all::<MetafieldWire>(state, who, CART, q).await
}

/// Create metafields on any of the store's carts (each names its cart in `resource_id`).
/// Items that fail are reported in `errors`; the others are created (422 when any failed).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/carts/metafields", tag = "Batch metafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<BatchCreateItem>,
    responses((status = 200, body = BatchWriteResponse), (status = 422, body = BatchWriteResponse)))]
async fn create_cart_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<BatchCreateItem>>, ApiError>,
) -> ApiResult<Response> {
    create_many::<MetafieldWire>(state, who, CART, body).await
}

/// Change metafields of any of the store's carts (each named by `id`).
/// Items that fail are reported in `errors`; the others are changed (422 when any failed).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/metafields", tag = "Batch metafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<BatchUpdateItem>,
    responses((status = 200, body = BatchWriteResponse), (status = 422, body = BatchWriteResponse)))]
async fn update_cart_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<BatchUpdateItem>>, ApiError>,
) -> ApiResult<Response> {
    update_many::<MetafieldWire>(state, who, CART, body).await
}

/// Delete metafields of any of the store's carts by id.
/// Ids that are not found are reported in `errors`; the others are deleted (422 when any failed).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/carts/metafields", tag = "Batch metafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<i64>,
    responses((status = 200, body = BatchDeleteResponse), (status = 422, body = BatchDeleteResponse)))]
async fn delete_cart_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<serde_json::Value>>, ApiError>,
) -> ApiResult<Response> {
    delete_many(state, who, CART, body).await
}

// ---------- one order's metafields ----------

/// List an order's metafields.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/{order_id}/metafields", tag = "Metafields", operation_id = "getOrderMetafields",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "at most 250"),
        ("key" = Option<String>, Query), ("key:in" = Option<String>, Query, description = "comma-separated"),
        ("namespace" = Option<String>, Query), ("namespace:in" = Option<String>, Query, description = "comma-separated"),
        ("direction" = Option<String>, Query, description = "asc or desc (by id)"),
        ("date_created:min" = Option<String>, Query), ("date_created:max" = Option<String>, Query),
        ("date_modified:min" = Option<String>, Query), ("date_modified:max" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<OrderMetafieldWire>>)), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_order_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    list_one::<OrderMetafieldWire>(state, who, ORDER, &path.1, q).await
}

/// Create a metafield on an order (at most 250 per order).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/{order_id}/metafields", tag = "Metafields", operation_id = "createOrderMetafield",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    request_body = MetafieldRequest,
    responses((status = 200, body = inline(Envelope<OrderMetafieldWire>)), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_order_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<OrderMetafieldWire>> {
    create_one(state, who, ORDER, &path.1, body).await
}

/// Get one metafield of an order.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/{order_id}/metafields/{metafield_id}", tag = "Metafields", operation_id = "getOrderMetafield",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("metafield_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<OrderMetafieldWire>)), (status = 404, body = ErrorBody)))]
async fn get_order_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Envelope<OrderMetafieldWire>> {
    get_one(state, who, ORDER, &path.1, &path.2).await
}

/// Change some fields of an order's metafield.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/orders/{order_id}/metafields/{metafield_id}", tag = "Metafields", operation_id = "updateOrderMetafield",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("metafield_id" = i64, Path)),
    request_body = MetafieldRequest,
    responses((status = 200, body = inline(Envelope<OrderMetafieldWire>)), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_order_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<MetafieldRequest>, ApiError>,
) -> ApiResult<Envelope<OrderMetafieldWire>> {
    update_one(state, who, ORDER, &path.1, &path.2, body).await
}

/// Delete an order's metafield.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/orders/{order_id}/metafields/{metafield_id}", tag = "Metafields", operation_id = "deleteOrderMetafield",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("metafield_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_order_metafield(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    delete_one(state, who, ORDER, &path.1, &path.2).await
}

// ---------- batch: orders ----------

/// List the metafields of all the store's orders.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/orders/metafields", tag = "Batch metafields", operation_id = "getOrdersMetafields",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "at most 250"),
        ("key" = Option<String>, Query), ("key:in" = Option<String>, Query, description = "comma-separated"),
        ("namespace" = Option<String>, Query), ("namespace:in" = Option<String>, Query, description = "comma-separated"),
        ("direction" = Option<String>, Query, description = "asc or desc (by id)"),
        ("date_created:min" = Option<String>, Query), ("date_created:max" = Option<String>, Query),
        ("date_modified:min" = Option<String>, Query), ("date_modified:max" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<OrderMetafieldWire>>)), (status = 422, body = ErrorBody)))]
async fn list_all_order_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    list_all::<OrderMetafieldWire>(state, who, ORDER, q).await
}

/// Create metafields on any of the store's orders (each names its order in `resource_id`).
/// Items that fail are reported in `errors`; the others are created (422 when any failed).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/orders/metafields", tag = "Batch metafields", operation_id = "createOrdersMetafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<BatchCreateItem>,
    responses((status = 200, body = OrderBatchWriteResponse), (status = 422, body = OrderBatchWriteResponse)))]
async fn create_order_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<BatchCreateItem>>, ApiError>,
) -> ApiResult<Response> {
    create_many::<OrderMetafieldWire>(state, who, ORDER, body).await
}

/// Change metafields of any of the store's orders (each named by `id`).
/// Items that fail are reported in `errors`; the others are changed (422 when any failed).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/orders/metafields", tag = "Batch metafields", operation_id = "updateOrdersMetafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<BatchUpdateItem>,
    responses((status = 200, body = OrderBatchWriteResponse), (status = 422, body = OrderBatchWriteResponse)))]
async fn update_order_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<BatchUpdateItem>>, ApiError>,
) -> ApiResult<Response> {
    update_many::<OrderMetafieldWire>(state, who, ORDER, body).await
}

/// Delete metafields of any of the store's orders by id.
/// Ids that are not found are reported in `errors`; the others are deleted (422 when any failed).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/orders/metafields", tag = "Batch metafields", operation_id = "deleteOrdersMetafields",
    params(("store_hash" = String, Path)),
    request_body = Vec<i64>,
    responses((status = 200, body = BatchDeleteResponse), (status = 422, body = BatchDeleteResponse)))]
async fn delete_order_metafields(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Vec<serde_json::Value>>, ApiError>,
) -> ApiResult<Response> {
    delete_many(state, who, ORDER, body).await
}
