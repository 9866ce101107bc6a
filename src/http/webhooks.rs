//! Webhooks (`admin/webhooks.v3.yml`): subscriptions under `/v3/hooks` and the
//! notification emails of `/v3/hooks/admin`. Delivery is `crate::dispatcher`.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody, percent_decode};
use super::wire::{Envelope, pagination_meta};
use crate::service::webhooks::{HookInput, require_hooks_read, require_hooks_write};
use crate::store::webhooks::{WebhookFilter, WebhookRecord};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hooks, create_hook))
        .routes(routes!(get_hooks_admin, update_hooks_admin))
        .routes(routes!(get_hook, update_hook, delete_hook))
}

/// A webhook subscription as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct WebhookWire {
    pub id: i64,
    pub client_id: String,
    pub store_hash: String,
    pub scope: String,
    pub destination: String,
    pub headers: Option<BTreeMap<String, String>>,
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `hooks_list` entries of `/hooks/admin` also carry a status.
#[derive(Serialize, ToSchema)]
pub struct AdminHookWire {
    #[serde(flatten)]
    pub hook: WebhookWire,
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct HooksAdminWire {
    pub emails: Vec<String>,
    pub hooks_list: Vec<AdminHookWire>,
    /// Kassa keeps no denylist of destinations; always empty.
    pub blocked_domains: Vec<serde_json::Value>,
}

fn wire(h: WebhookRecord, store_hash: &str) -> WebhookWire {
    WebhookWire {
        id: h.id,
        client_id: h.client_id,
        store_hash: store_hash.to_string(),
        scope: h.scope,
        destination: h.destination,
        headers: h.headers,
        is_active: h.is_active,
        created_at: h.created_at,
        updated_at: h.updated_at,
    }
}

/// Body of create and update. `headers: null` removes custom headers.
#[derive(Deserialize, ToSchema, Default)]
pub struct WebhookRequest {
    #[serde(default)]
    pub scope: Option<String>,
    /// The URL events are POSTed to. BigCommerce requires https on port 443; Kassa also
    /// accepts http and other ports (for receivers on a private network).
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub headers: Option<Option<BTreeMap<String, String>>>,
}

fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<BTreeMap<String, String>>>, D::Error> {
    Option::<BTreeMap<String, String>>::deserialize(d).map(Some)
}

impl From<WebhookRequest> for HookInput {
    fn from(r: WebhookRequest) -> Self {
        HookInput {
            scope: r.scope.map(|s| s.trim().to_string()),
            destination: r.destination.map(|s| s.trim().to_string()),
            is_active: r.is_active,
            headers: r.headers,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct HooksAdminRequest {
    #[serde(default)]
    pub emails: Option<Vec<String>>,
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Webhook `{raw}` does not exist: ids are positive integers."
            ))
        })
}

fn parse_bool(name: &str, v: &str) -> ApiResult<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::unprocessable(
            name,
            format!("`{name}` must be true or false, not `{v}`."),
        )),
    }
}

fn parse_positive(name: &str, v: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::unprocessable(
                name,
                format!("`{name}` must be a whole number of 1 or more, not `{v}`."),
            )
        })
}

/// Get Webhooks: `page`, `limit` (default 50, at most 250), `is_active`, `scope`,
/// `destination`.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/hooks", tag = "Webhooks",
    params(("store_hash" = String, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query),
        ("is_active" = Option<bool>, Query), ("scope" = Option<String>, Query), ("destination" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<WebhookWire>>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_hooks(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Envelope<Vec<WebhookWire>>> {
    require_hooks_read(&who)?;
    let mut filter = WebhookFilter::default();
    let (mut page, mut limit) = (1, 50);
    for pair in query.as_deref().unwrap_or_default().split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let (k, v) = (percent_decode(k), percent_decode(v));
        match k.as_str() {
            "page" => page = parse_positive("page", &v)?,
            "limit" => limit = parse_positive("limit", &v)?.min(250),
            "is_active" => filter.is_active = Some(parse_bool("is_active", &v)?),
            "scope" if !v.is_empty() => filter.scope = Some(v),
            "destination" if !v.is_empty() => filter.destination = Some(v),
            _ => {}
        }
    }
    let (hooks, total) = state.kassa.list_hooks(&who, &filter, page, limit).await?;
    let count = hooks.len();
    let data = hooks
        .into_iter()
        .map(|h| wire(h, &who.store.hash))
        .collect();
    Ok(Envelope::with_meta(
        data,
        pagination_meta(total, count, limit, page),
    ))
}

/// Create a Webhook.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/hooks", tag = "Webhooks",
    params(("store_hash" = String, Path)),
    request_body = WebhookRequest,
    responses((status = 200, body = inline(Envelope<WebhookWire>)), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_hook(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<WebhookRequest>, ApiError>,
) -> ApiResult<Envelope<WebhookWire>> {
    // The scope before the body: a caller without it learns nothing about the input rules.
    require_hooks_write(&who)?;
    let JsonBody(body) = body?;
    let hook = state.kassa.create_hook(&who, body.into()).await?;
    Ok(Envelope::new(wire(hook, &who.store.hash)))
}

/// Get a Webhook.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/hooks/{webhook_id}", tag = "Webhooks",
    params(("store_hash" = String, Path), ("webhook_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<WebhookWire>)), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_hook(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<WebhookWire>> {
    require_hooks_read(&who)?;
    let hook = state.kassa.get_hook(&who, parse_id(&path.1)?).await?;
    Ok(Envelope::new(wire(hook, &who.store.hash)))
}

/// Update a Webhook: at least one of scope, destination, is_active, headers.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/hooks/{webhook_id}", tag = "Webhooks",
    params(("store_hash" = String, Path), ("webhook_id" = i64, Path)),
    request_body = WebhookRequest,
    responses((status = 200, body = inline(Envelope<WebhookWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_hook(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<WebhookRequest>, ApiError>,
) -> ApiResult<Envelope<WebhookWire>> {
    require_hooks_write(&who)?;
    let JsonBody(body) = body?;
    let id = parse_id(&path.1)?;
    let hook = state.kassa.update_hook(&who, id, body.into()).await?;
    Ok(Envelope::new(wire(hook, &who.store.hash)))
}

/// Delete a Webhook; answers the deleted hook.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/hooks/{webhook_id}", tag = "Webhooks",
    params(("store_hash" = String, Path), ("webhook_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<WebhookWire>)), (status = 404, body = ErrorBody)))]
async fn delete_hook(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<WebhookWire>> {
    require_hooks_write(&who)?;
    let hook = state.kassa.delete_hook(&who, parse_id(&path.1)?).await?;
    Ok(Envelope::new(wire(hook, &who.store.hash)))
}

/// Get Admin Info: notification emails and hooks (filtered by `is_active`).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/hooks/admin", tag = "Webhooks",
    params(("store_hash" = String, Path), ("is_active" = Option<bool>, Query)),
    responses((status = 200, body = inline(Envelope<HooksAdminWire>)), (status = 401, body = ErrorBody)))]
async fn get_hooks_admin(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Envelope<HooksAdminWire>> {
    require_hooks_read(&who)?;
    let mut filter = WebhookFilter::default();
    for pair in query.as_deref().unwrap_or_default().split('&') {
        if let Some(("is_active", v)) = pair.split_once('=') {
            filter.is_active = Some(parse_bool("is_active", &percent_decode(v))?);
        }
    }
    let emails = state.kassa.hook_emails(&who).await?;
    let (hooks, total) = state.kassa.list_hooks(&who, &filter, 1, 10_000).await?;
    let count = hooks.len();
    let hooks_list = hooks
        .into_iter()
        .map(|h| {
            let status = if h.is_active { "active" } else { "inactive" };
            AdminHookWire {
                hook: wire(h, &who.store.hash),
                status,
            }
        })
        .collect();
    Ok(Envelope::with_meta(
        HooksAdminWire {
            emails,
            hooks_list,
            blocked_domains: Vec::new(),
        },
        pagination_meta(total, count, 10_000, 1),
    ))
}

/// Upsert Email Notifications: replaces the list of notification emails.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/hooks/admin", tag = "Webhooks",
    params(("store_hash" = String, Path)),
    request_body = HooksAdminRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_hooks_admin(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<HooksAdminRequest>, ApiError>,
) -> ApiResult<Response> {
    require_hooks_write(&who)?;
    let JsonBody(body) = body?;
    let emails = body.emails.ok_or_else(|| {
        ApiError::unprocessable("emails", "emails is required: a list of email addresses.")
    })?;
    state.kassa.set_hook_emails(&who, emails).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
