//! Kassa extension: the store's promotion settings (BigCommerce keeps these in the
//! control panel). Today one switch: whether a checkout may carry several coupon codes.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, JsonBody};
use super::wire::Envelope;
use crate::domain::promotion::PromotionSettings;
use crate::domain::scope::Scope;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_promotion_settings, update_promotion_settings))
}

#[derive(Serialize, ToSchema)]
pub struct PromotionSettingsWire {
    /// Whether a checkout may carry more than one coupon code.
    pub multiple_coupons: bool,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PromotionSettingsRequest {
    #[serde(default)]
    pub multiple_coupons: Option<bool>,
}

fn wire(s: &PromotionSettings) -> PromotionSettingsWire {
    PromotionSettingsWire {
        multiple_coupons: s.multiple_coupons,
    }
}

/// Get the promotion settings.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/promotions/settings", tag = "Promotions", operation_id = "getPromotionSettings",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = inline(Envelope<PromotionSettingsWire>)), (status = 401, body = ErrorBody)))]
async fn get_promotion_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
) -> ApiResult<Envelope<PromotionSettingsWire>> {
    who.require(Scope::V2MarketingReadOnly)?;
    let s = state.kassa.promotion_settings(who.store.id).await?;
    Ok(Envelope::new(wire(&s)))
}

/// Change the promotion settings; fields left out keep their value.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/promotions/settings", tag = "Promotions", operation_id = "updatePromotionSettings",
    params(("store_hash" = String, Path)),
    request_body = PromotionSettingsRequest,
    responses((status = 200, body = inline(Envelope<PromotionSettingsWire>)), (status = 422, body = ErrorBody)))]
async fn update_promotion_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(_store): Path<String>,
    body: Result<JsonBody<PromotionSettingsRequest>, ApiError>,
) -> ApiResult<Envelope<PromotionSettingsWire>> {
    who.require(Scope::V2Marketing)?;
    let JsonBody(body) = body?;
    let Some(multiple) = body.multiple_coupons else {
        return Err(ApiError::from(crate::domain::DomainError::field(
            "multiple_coupons",
            "Send `multiple_coupons` (true or false).",
        )));
    };
    let s = state
        .kassa
        .set_promotion_settings(
            who.store.id,
            PromotionSettings {
                multiple_coupons: multiple,
            },
        )
        .await?;
    Ok(Envelope::new(wire(&s)))
}
