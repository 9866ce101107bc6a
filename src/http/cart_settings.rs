//! Cart settings (`carts.v3.yml`, tag Settings): the global `allow_purchasing`
//! switch and per-channel overrides.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::Envelope;
use crate::service::cart_settings::require_cart_settings_write;
use axum::extract::{Path, State};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            get_global_cart_settings,
            update_global_cart_settings
        ))
        .routes(routes!(
            get_channel_cart_settings,
            update_channel_cart_settings
        ))
}

/// The store-wide cart settings.
#[derive(Serialize, ToSchema)]
pub struct CartSettingsWire {
    pub allow_purchasing: bool,
}

/// A channel's overrides; `null` means the channel follows the global setting.
#[derive(Serialize, ToSchema)]
pub struct ChannelCartSettingsWire {
    pub allow_purchasing: Option<bool>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct GlobalCartSettingsRequest {
    /// Required.
    #[serde(default)]
    pub allow_purchasing: Option<bool>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ChannelCartSettingsRequest {
    /// `true`/`false` sets the override; `null` removes it; leaving it out changes nothing.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub allow_purchasing: Option<Option<bool>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    Option::<bool>::deserialize(d).map(Some)
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

/// Get the global cart settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/settings", tag = "Settings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<CartSettingsWire>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_global_cart_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Envelope<CartSettingsWire>> {
    let allow_purchasing = state.kassa.global_allow_purchasing(&who)?;
    Ok(Envelope::new(CartSettingsWire { allow_purchasing }))
}

/// Update the global cart settings.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/settings", tag = "Settings",
    params(("store_hash" = String, Path)),
    request_body = GlobalCartSettingsRequest,
    responses((status = 200, body = inline(Envelope<CartSettingsWire>)), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_global_cart_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<GlobalCartSettingsRequest>, ApiError>,
) -> ApiResult<Envelope<CartSettingsWire>> {
    // The scope before the body, so a caller without it gets 403 whatever it sent.
    require_cart_settings_write(&who)?;
    let JsonBody(body) = body?;
    let allow = body.allow_purchasing.ok_or_else(|| {
        ApiError::unprocessable(
            "allow_purchasing",
            "allow_purchasing is required and must be true or false.",
        )
    })?;
    let allow_purchasing = state.kassa.set_global_allow_purchasing(&who, allow).await?;
    Ok(Envelope::new(CartSettingsWire { allow_purchasing }))
}

/// Get a channel's cart settings overrides.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/settings/channels/{channel_id}", tag = "Settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<ChannelCartSettingsWire>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_channel_cart_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<ChannelCartSettingsWire>> {
    let channel_id = parse_channel_id(&path.1)?;
    let s = state.kassa.channel_cart_settings(&who, channel_id).await?;
    Ok(Envelope::new(ChannelCartSettingsWire {
        allow_purchasing: s.allow_purchasing,
    }))
}

/// Set or clear a channel's cart settings overrides.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/settings/channels/{channel_id}", tag = "Settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    request_body = ChannelCartSettingsRequest,
    responses((status = 200, body = inline(Envelope<ChannelCartSettingsWire>)), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_channel_cart_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<ChannelCartSettingsRequest>, ApiError>,
) -> ApiResult<Envelope<ChannelCartSettingsWire>> {
    require_cart_settings_write(&who)?;
    let JsonBody(body) = body?;
    let channel_id = parse_channel_id(&path.1)?;
    let s = state
        .kassa
        .set_channel_cart_settings(&who, channel_id, body.allow_purchasing)
        .await?;
    Ok(Envelope::new(ChannelCartSettingsWire {
        allow_purchasing: s.allow_purchasing,
    }))
}
