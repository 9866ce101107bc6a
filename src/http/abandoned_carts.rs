//! Abandoned carts (`abandoned_carts.v3.yml`): recovery-token lookup and the
//! store-wide and per-channel settings.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::Envelope;
use crate::domain::scope::Scope;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_global_settings, update_global_settings))
        .routes(routes!(get_channel_settings, update_channel_settings))
        .routes(routes!(get_abandoned_cart))
}

#[derive(Serialize, ToSchema)]
pub struct AbandonedCartWire {
    pub cart_id: String,
}

fn parse_channel_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "channel_id",
                format!("channel_id must be a positive integer, not `{raw}`."),
            )
        })
}

/// Get an abandoned cart: the cart id behind a recovery token.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/abandoned-carts/{token}", tag = "Abandoned carts",
    params(("store_hash" = String, Path), ("token" = String, Path, description = "UUID token of the recovery link")),
    responses((status = 200, body = inline(Envelope<AbandonedCartWire>)), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_abandoned_cart(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<AbandonedCartWire>> {
    let token = uuid::Uuid::parse_str(path.1.trim()).map_err(|_| {
        ApiError::unprocessable(
            "token",
            format!(
                "token `{}` is not a UUID; use the token from the abandoned cart link.",
                path.1
            ),
        )
    })?;
    let cart_id = state.kassa.abandoned_cart(&who, token).await?;
    Ok(Envelope::new(AbandonedCartWire { cart_id }))
}

/// Get global abandoned cart settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/abandoned-carts/settings", tag = "Abandoned carts settings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<Object>)), (status = 401, body = ErrorBody)))]
async fn get_global_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Envelope<Map<String, Value>>> {
    Ok(Envelope::new(
        state.kassa.global_abandoned_cart_settings(&who).await?,
    ))
}

/// Update global abandoned cart settings (fields sent are changed).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/abandoned-carts/settings", tag = "Abandoned carts settings",
    params(("store_hash" = String, Path)),
    request_body = Object,
    responses((status = 200, body = inline(Envelope<Object>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_global_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<Map<String, Value>>, ApiError>,
) -> ApiResult<Envelope<Map<String, Value>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    Ok(Envelope::new(
        state
            .kassa
            .set_global_abandoned_cart_settings(&who, body)
            .await?,
    ))
}

/// Get a channel's abandoned cart settings overrides (`null` = follows the store).
#[utoipa::path(get, path = "/stores/{store_hash}/v3/abandoned-carts/settings/channels/{channel_id}", tag = "Abandoned carts settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<Object>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_channel_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<Map<String, Value>>> {
    let channel_id = parse_channel_id(&path.1)?;
    Ok(Envelope::new(
        state
            .kassa
            .channel_abandoned_cart_settings(&who, channel_id)
            .await?,
    ))
}

/// Update a channel's overrides: a value sets one, `null` clears it.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/abandoned-carts/settings/channels/{channel_id}", tag = "Abandoned carts settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = inline(Envelope<Object>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_channel_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<Map<String, Value>>, ApiError>,
) -> ApiResult<Envelope<Map<String, Value>>> {
    who.require(Scope::V2Information)?;
    let JsonBody(body) = body?;
    let channel_id = parse_channel_id(&path.1)?;
    Ok(Envelope::new(
        state
            .kassa
            .set_channel_abandoned_cart_settings(&who, channel_id, body)
            .await?,
    ))
}
