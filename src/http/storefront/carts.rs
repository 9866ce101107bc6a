//! Storefront carts (`carts.sf.yml`): thin handlers over the cart use cases, for
//! the shopper's own carts only.

use super::Shopper;
use super::wire::{SfJson, cart_json, includes, respond};
use crate::domain::cart::LineItemChange;
use crate::http::AppState;
use crate::http::carts::{
    AddItemsRequest, CreateCartRequest, CurrencyRequest, LineItemRequest, UpdateItemRequest,
    VersionRequest, gift_spec, parse_cart_id, parse_item_id, selection, specs, whole_quantity,
};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::service::carts::{CreateCart, ItemUpdate};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_carts, create_cart))
        .routes(routes!(delete_cart))
        .routes(routes!(add_items))
        .routes(routes!(update_item, delete_item))
        .routes(routes!(update_currency))
}

/// Shoppers buy at catalog prices: a price or name sent from the browser is refused,
/// never applied (only the server-to-server API may override them).
fn shopper_lines(lines: &[LineItemRequest]) -> ApiResult<()> {
    for (i, l) in lines.iter().enumerate() {
        if l.list_price.is_some() || l.name.is_some() {
            return Err(ApiError::unprocessable(
                &format!("lineItems[{i}]"),
                "A storefront cart takes catalog prices and names: leave out listPrice and name.",
            ));
        }
    }
    Ok(())
}

/// The session's carts (an array; empty for a shopper without carts).
#[utoipa::path(get, path = "/api/storefront/carts", tag = "Storefront Carts", operation_id = "sfGetCarts",
    params(("include" = Option<String>, Query, description = "lineItems.physicalItems.options, lineItems.digitalItems.options")),
    responses((status = 200, description = "The shopper's carts", body = Vec<Object>)))]
async fn get_carts(
    State(state): State<AppState>,
    shopper: Shopper,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let inc = includes(q.as_deref());
    let carts = state
        .kassa
        .shopper_carts(&shopper.store, shopper.session.as_ref())
        .await?;
    let body: Vec<_> = carts
        .iter()
        .map(|c| cart_json(c, &inc, &state.kassa.public_url))
        .collect();
    Ok(respond(StatusCode::OK, &serde_json::Value::Array(body)))
}

/// Create a cart owned by the shopper (starting the shopper's session if needed).
#[utoipa::path(post, path = "/api/storefront/carts", tag = "Storefront Carts", operation_id = "sfCreateCart",
    params(("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, description = "The new cart", body = Object), (status = 422, body = ErrorBody)))]
async fn create_cart(
    State(state): State<AppState>,
    mut shopper: Shopper,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<CreateCartRequest>,
) -> ApiResult<Response> {
    shopper_lines(&body.line_items)?;
    let (line_items, _, gift_certificates) = specs(&body.line_items, &[], &body.gift_certificates)?;
    let session = shopper.session_or_start(&state.kassa).await?;
    let who = shopper.principal();
    let cart = state
        .kassa
        .create_cart(
            &who,
            CreateCart {
                customer_id: session.customer_id,
                channel_id: 1,
                currency_code: body.currency.map(|c| c.code),
                locale: body.locale,
                line_items,
                custom_items: Vec::new(),
                gift_certificates,
            },
        )
        .await?;
    // A second statement: if it failed the cart would stay unowned, invisible to
    // every shopper, and expire; the shopper sees the error and can retry.
    state
        .kassa
        .claim_cart(&shopper.store, &session, cart.id)
        .await?;
    let inc = includes(q.as_deref());
    Ok(respond(
        StatusCode::OK,
        &cart_json(&cart, &inc, &state.kassa.public_url),
    ))
}

/// Delete one of the shopper's carts.
#[utoipa::path(delete, path = "/api/storefront/carts/{cartId}", tag = "Storefront Carts", operation_id = "sfDeleteCart",
    params(("cartId" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_cart(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(cart_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_cart_id(&cart_id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    state.kassa.delete_cart(&shopper.principal(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add line items (or gift certificates) to the shopper's cart.
#[utoipa::path(post, path = "/api/storefront/carts/{cartId}/items", tag = "Storefront Carts", operation_id = "sfAddCartLineItem",
    params(("cartId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_items(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(cart_id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<AddItemsRequest>,
) -> ApiResult<Response> {
    let id = parse_cart_id(&cart_id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    shopper_lines(&body.line_items)?;
    let (line_items, _, gift_certificates) = specs(&body.line_items, &[], &body.gift_certificates)?;
    let cart = state
        .kassa
        .add_cart_items(
            &shopper.principal(),
            id,
            body.version,
            line_items,
            Vec::new(),
            gift_certificates,
        )
        .await?;
    Ok(respond(
        StatusCode::OK,
        &cart_json(&cart, &includes(q.as_deref()), &state.kassa.public_url),
    ))
}

/// Change one item's quantity (or a gift certificate); 0 removes it.
#[utoipa::path(put, path = "/api/storefront/carts/{cartId}/items/{itemId}", tag = "Storefront Carts", operation_id = "sfUpdateCartLineItem",
    params(("cartId" = String, Path), ("itemId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((cart_id, item_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<UpdateItemRequest>,
) -> ApiResult<Response> {
    let id = parse_cart_id(&cart_id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    let item = parse_item_id(&item_id)?;
    let update = item_update(&body)?;
    match state
        .kassa
        .update_cart_item(&shopper.principal(), id, item, body.version, update)
        .await?
    {
        Some(cart) => Ok(respond(
            StatusCode::OK,
            &cart_json(&cart, &includes(q.as_deref()), &state.kassa.public_url),
        )),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// The change a storefront item update asks for (catalog prices only).
pub(super) fn item_update(body: &UpdateItemRequest) -> ApiResult<ItemUpdate> {
    let update = if let Some(l) = &body.line_item {
        if l.list_price.is_some() || l.name.is_some() {
            return Err(ApiError::unprocessable(
                "lineItem",
                "A storefront cart takes catalog prices and names: leave out listPrice and name.",
            ));
        }
        let quantity = whole_quantity(l.quantity, "lineItem.quantity")?;
        if quantity < 0 {
            return Err(ApiError::unprocessable(
                "lineItem.quantity",
                "Quantity cannot be negative.",
            ));
        }
        ItemUpdate::LineItem(LineItemChange {
            product_id: l.product_id,
            variant_id: l.variant_id,
            quantity,
            list_price: None,
            name: None,
            option_selections: l
                .option_selections
                .as_ref()
                .map(|sel| sel.iter().map(selection).collect()),
        })
    } else if let Some(g) = body
        .gift_certificate
        .as_ref()
        .or(body.gift_certificates.first())
    {
        ItemUpdate::GiftCertificate(gift_spec(g, "giftCertificate")?)
    } else {
        return Err(ApiError::unprocessable(
            "lineItem",
            "Send `lineItem` (or `giftCertificate`) with the item's new values.",
        ));
    };
    Ok(update)
}

/// Remove one item; removing the last one deletes the cart (204).
#[utoipa::path(delete, path = "/api/storefront/carts/{cartId}/items/{itemId}", tag = "Storefront Carts", operation_id = "sfDeleteCartLineItem",
    params(("cartId" = String, Path), ("itemId" = String, Path), ("include" = Option<String>, Query)),
    responses((status = 200, body = Object), (status = 204), (status = 404, body = ErrorBody)))]
async fn delete_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((cart_id, item_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<VersionRequest>,
) -> ApiResult<Response> {
    let id = parse_cart_id(&cart_id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    let item = parse_item_id(&item_id)?;
    match state
        .kassa
        .delete_cart_item(&shopper.principal(), id, item, body.version)
        .await?
    {
        Some(cart) => Ok(respond(
            StatusCode::OK,
            &cart_json(&cart, &includes(q.as_deref()), &state.kassa.public_url),
        )),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CurrencyChange {
    pub currency_code: Option<String>,
    /// Also accepted: `{"currency": {"code": …}}`.
    pub currency: Option<CurrencyRequest>,
}

/// Switch the cart to another of the store's currencies; prices are recomputed
/// from the catalog, and codes that do not fit the new currency fall away.
#[utoipa::path(post, path = "/api/storefront/carts/{cartId}/currency", tag = "Storefront Carts", operation_id = "sfUpdateCartCurrency",
    params(("cartId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, description = "The cart, as a one-element list", body = Vec<Object>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_currency(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(cart_id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<CurrencyChange>,
) -> ApiResult<Response> {
    let id = parse_cart_id(&cart_id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await?;
    let code = body
        .currency_code
        .or(body.currency.map(|c| c.code))
        .ok_or_else(|| ApiError::unprocessable("currencyCode", "currencyCode is required."))?;
    let cart = state
        .kassa
        .change_cart_currency(&shopper.principal(), id, &code)
        .await?;
    // The spec answers with the carts list (`getCarts`), holding this one cart.
    Ok(respond(
        StatusCode::OK,
        &serde_json::Value::Array(vec![cart_json(
            &cart,
            &includes(q.as_deref()),
            &state.kassa.public_url,
        )]),
    ))
}
