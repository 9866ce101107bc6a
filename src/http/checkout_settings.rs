//! Checkout settings and checkout tokens (`checkouts.v3.yml`, tags Checkout Settings
//! and Checkout Token).
//!
//! In a settings PUT a field left out keeps its value, `null` resets it (store-wide:
//! to the default; per channel: to following the store-wide value), and a value
//! replaces it. Channel settings are answered as they apply on the channel.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::{Envelope, json_response};
use crate::domain::checkout_settings::{
    ChannelChange, ChannelCheckoutSettings, CheckoutSettings, Patch, ScriptsChange,
};
use crate::domain::scope::Scope;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_checkout_settings, update_checkout_settings))
        .routes(routes!(
            get_channel_checkout_settings,
            put_channel_checkout_settings
        ))
        .routes(routes!(create_checkout_token))
}

// ---------- wire types ----------

/// The store-wide checkout settings.
#[derive(Serialize, ToSchema)]
pub struct CheckoutSettingsWire {
    pub custom_checkout_script_url: String,
    pub order_confirmation_use_custom_checkout_script: bool,
    pub custom_order_confirmation_script_url: String,
    pub custom_checkout_supports_uco_settings: bool,
    pub custom_checkout_sri_hash: String,
    pub custom_order_confirmation_sri_hash: String,
}

impl From<CheckoutSettings> for CheckoutSettingsWire {
    fn from(s: CheckoutSettings) -> Self {
        CheckoutSettingsWire {
            custom_checkout_script_url: s.custom_checkout_script_url,
            order_confirmation_use_custom_checkout_script: s
                .order_confirmation_use_custom_checkout_script,
            custom_order_confirmation_script_url: s.custom_order_confirmation_script_url,
            custom_checkout_supports_uco_settings: s.custom_checkout_supports_uco_settings,
            custom_checkout_sri_hash: s.custom_checkout_sri_hash,
            custom_order_confirmation_sri_hash: s.custom_order_confirmation_sri_hash,
        }
    }
}

/// A channel's checkout settings as they apply on it.
#[derive(Serialize, ToSchema)]
pub struct ChannelCheckoutSettingsWire {
    /// `optimized` or `custom`.
    pub checkout_type: &'static str,
    /// `guest_checkout`, `guest_checkout_account` or `no_guest_checkout`.
    pub guest_checkout_type: &'static str,
    /// `allow_guest`, `require_login` or `encourage_login`.
    pub guest_checkout_for_existing_accounts: &'static str,
    /// `none`, `standard` or `express`.
    pub policy_consent: &'static str,
    pub order_confirmation_contact_email: String,
    pub is_order_terms_and_conditions_enabled: bool,
    /// `link`, `textarea` or `""`.
    pub order_terms_and_conditions_type: &'static str,
    pub order_terms_and_conditions_link: String,
    pub order_terms_and_conditions_textarea: String,
    pub should_redirect_to_storefront_for_auth: bool,
    pub custom_checkout_script_url: String,
    pub order_confirmation_use_custom_checkout_script: bool,
    pub custom_order_confirmation_script_url: String,
    pub custom_checkout_supports_uco_settings: bool,
    pub custom_checkout_sri_hash: String,
    pub custom_order_confirmation_sri_hash: String,
}

impl From<ChannelCheckoutSettings> for ChannelCheckoutSettingsWire {
    fn from(s: ChannelCheckoutSettings) -> Self {
        let scripts = CheckoutSettingsWire::from(s.scripts);
        ChannelCheckoutSettingsWire {
            checkout_type: s.checkout_type.as_str(),
            guest_checkout_type: s.guest_checkout_type.as_str(),
            guest_checkout_for_existing_accounts: s.guest_checkout_for_existing_accounts.as_str(),
            policy_consent: s.policy_consent.as_str(),
            order_confirmation_contact_email: s.order_confirmation_contact_email,
            is_order_terms_and_conditions_enabled: s.is_order_terms_and_conditions_enabled,
            order_terms_and_conditions_type: s.order_terms_and_conditions_type.as_str(),
            order_terms_and_conditions_link: s.order_terms_and_conditions_link,
            order_terms_and_conditions_textarea: s.order_terms_and_conditions_textarea,
            should_redirect_to_storefront_for_auth: s.should_redirect_to_storefront_for_auth,
            custom_checkout_script_url: scripts.custom_checkout_script_url,
            order_confirmation_use_custom_checkout_script: scripts
                .order_confirmation_use_custom_checkout_script,
            custom_order_confirmation_script_url: scripts.custom_order_confirmation_script_url,
            custom_checkout_supports_uco_settings: scripts.custom_checkout_supports_uco_settings,
            custom_checkout_sri_hash: scripts.custom_checkout_sri_hash,
            custom_order_confirmation_sri_hash: scripts.custom_order_confirmation_sri_hash,
        }
    }
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Patch<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Store-wide settings to change; fields left out keep their values, `null` resets one.
#[derive(Deserialize, ToSchema, Default)]
pub struct CheckoutSettingsRequest {
    /// `""` (BigCommerce's optimized one-page checkout), `http(s)://…` or `webdav:…`, at most 2048 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_checkout_script_url: Patch<String>,
    /// When true, the order confirmation page has no script of its own.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub order_confirmation_use_custom_checkout_script: Patch<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_order_confirmation_script_url: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub custom_checkout_supports_uco_settings: Patch<bool>,
    /// `""` or `sha256-`/`sha384-`/`sha512-` and the base64 digest.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_checkout_sri_hash: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_order_confirmation_sri_hash: Patch<String>,
}

impl CheckoutSettingsRequest {
    fn into_change(self) -> ScriptsChange {
        ScriptsChange {
            custom_checkout_script_url: self.custom_checkout_script_url,
            order_confirmation_use_custom_checkout_script: self
                .order_confirmation_use_custom_checkout_script,
            custom_order_confirmation_script_url: self.custom_order_confirmation_script_url,
            custom_checkout_supports_uco_settings: self.custom_checkout_supports_uco_settings,
            custom_checkout_sri_hash: self.custom_checkout_sri_hash,
            custom_order_confirmation_sri_hash: self.custom_order_confirmation_sri_hash,
        }
    }
}

/// A channel's settings to change; fields left out keep their values, `null` makes
/// the channel follow the store-wide value (or the default) again.
#[derive(Deserialize, ToSchema, Default)]
pub struct ChannelCheckoutSettingsRequest {
    /// `optimized` or `custom`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub checkout_type: Patch<String>,
    /// `guest_checkout`, `guest_checkout_account` or `no_guest_checkout`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub guest_checkout_type: Patch<String>,
    /// `allow_guest`, `require_login` or `encourage_login`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub guest_checkout_for_existing_accounts: Patch<String>,
    /// `none`, `standard` or `express`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub policy_consent: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub order_confirmation_contact_email: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub is_order_terms_and_conditions_enabled: Patch<bool>,
    /// `link`, `textarea` or `""`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub order_terms_and_conditions_type: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub order_terms_and_conditions_link: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub order_terms_and_conditions_textarea: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub should_redirect_to_storefront_for_auth: Patch<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_checkout_script_url: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub order_confirmation_use_custom_checkout_script: Patch<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_order_confirmation_script_url: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub custom_checkout_supports_uco_settings: Patch<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_checkout_sri_hash: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub custom_order_confirmation_sri_hash: Patch<String>,
}

impl ChannelCheckoutSettingsRequest {
    fn into_change(self) -> ChannelChange {
        ChannelChange {
            scripts: ScriptsChange {
                custom_checkout_script_url: self.custom_checkout_script_url,
                order_confirmation_use_custom_checkout_script: self
                    .order_confirmation_use_custom_checkout_script,
                custom_order_confirmation_script_url: self.custom_order_confirmation_script_url,
                custom_checkout_supports_uco_settings: self.custom_checkout_supports_uco_settings,
                custom_checkout_sri_hash: self.custom_checkout_sri_hash,
                custom_order_confirmation_sri_hash: self.custom_order_confirmation_sri_hash,
            },
            checkout_type: self.checkout_type,
            guest_checkout_type: self.guest_checkout_type,
            guest_checkout_for_existing_accounts: self.guest_checkout_for_existing_accounts,
            policy_consent: self.policy_consent,
            order_confirmation_contact_email: self.order_confirmation_contact_email,
            is_order_terms_and_conditions_enabled: self.is_order_terms_and_conditions_enabled,
            order_terms_and_conditions_type: self.order_terms_and_conditions_type,
            order_terms_and_conditions_link: self.order_terms_and_conditions_link,
            order_terms_and_conditions_textarea: self.order_terms_and_conditions_textarea,
            should_redirect_to_storefront_for_auth: self.should_redirect_to_storefront_for_auth,
        }
    }
}

/// How long the token lives and how often it may be used; both optional.
#[derive(Deserialize, ToSchema, Default)]
pub struct CheckoutTokenRequest {
    /// Redemptions allowed, 1–100 (default 1).
    #[serde(default, rename = "maxUses")]
    pub max_uses: Option<f64>,
    /// Seconds the token lives, 1–2592000 (default 86400).
    #[serde(default)]
    pub ttl: Option<f64>,
}

/// The token, at the top level beside `meta` (the spec's response schema has no `data`).
#[derive(Serialize, ToSchema)]
pub struct CheckoutTokenResponse {
    #[serde(rename = "checkoutToken")]
    pub checkout_token: String,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
}

impl IntoResponse for CheckoutTokenResponse {
    fn into_response(self) -> Response {
        json_response(&self)
    }
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

fn checkout_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found(format!("Checkout {s} does not exist.")))
}

// ---------- handlers ----------

/// Get the store-wide checkout settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/checkouts/settings", tag = "Checkout Settings", operation_id = "getCheckoutSettings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutSettingsWire>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_checkout_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Envelope<CheckoutSettingsWire>> {
    let s = state.kassa.checkout_settings(&who).await?;
    Ok(Envelope::new(s.into()))
}

/// Update the store-wide checkout settings.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/settings", tag = "Checkout Settings", operation_id = "updateCheckoutSettings",
    params(("store_hash" = String, Path)),
    request_body = CheckoutSettingsRequest,
    responses((status = 200, body = inline(Envelope<CheckoutSettingsWire>)), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_checkout_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    body: Result<JsonBody<CheckoutSettingsRequest>, ApiError>,
) -> ApiResult<Envelope<CheckoutSettingsWire>> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let s = state
        .kassa
        .update_checkout_settings(&who, body.into_change())
        .await?;
    Ok(Envelope::new(s.into()))
}

/// Get a channel's checkout settings, as they apply on the channel.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/checkouts/settings/channels/{channel_id}", tag = "Checkout Settings", operation_id = "get-channel-checkout-settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<ChannelCheckoutSettingsWire>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_channel_checkout_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<ChannelCheckoutSettingsWire>> {
    let channel_id = parse_channel_id(&path.1)?;
    let s = state
        .kassa
        .channel_checkout_settings(&who, channel_id)
        .await?;
    Ok(Envelope::new(s.into()))
}

/// Update a channel's checkout settings; fields left out are unchanged.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/settings/channels/{channel_id}", tag = "Checkout Settings", operation_id = "put-channel-checkout-settings",
    params(("store_hash" = String, Path), ("channel_id" = i64, Path)),
    request_body = ChannelCheckoutSettingsRequest,
    responses((status = 200, body = inline(Envelope<ChannelCheckoutSettingsWire>)), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_channel_checkout_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<ChannelCheckoutSettingsRequest>, ApiError>,
) -> ApiResult<Envelope<ChannelCheckoutSettingsWire>> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let channel_id = parse_channel_id(&path.1)?;
    let s = state
        .kassa
        .update_channel_checkout_settings(&who, channel_id, body.into_change())
        .await?;
    Ok(Envelope::new(s.into()))
}

/// Create a checkout token (for the order confirmation page of a guest shopper).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/token", tag = "Checkout Token", operation_id = "createCheckoutToken",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = CheckoutTokenRequest,
    responses((status = 200, body = CheckoutTokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_checkout_token(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<CheckoutTokenRequest>, ApiError>,
) -> ApiResult<CheckoutTokenResponse> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let id = checkout_id(&path.1)?;
    let token = state
        .kassa
        .create_checkout_token(&who, id, body.max_uses, body.ttl)
        .await?;
    Ok(CheckoutTokenResponse {
        checkout_token: token.token,
        meta: serde_json::Value::Object(Default::default()),
    })
}
