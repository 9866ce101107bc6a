//! Storefront checkouts (`checkouts.sf.yml`): thin handlers over the checkout use
//! cases, for the shopper's own checkouts only (a checkout's id is its cart's).

use super::Shopper;
use super::carts::item_update;
use super::wire::{SfJson, checkout_json, includes, respond};
use crate::domain::cart::Cart;
use crate::domain::checkout::{ConsignmentChange, ConsignmentSpec};
use crate::http::AppState;
use crate::http::carts::{UpdateItemRequest, VersionRequest, parse_item_id};
use crate::http::checkouts::{
    AddressRequest, ConsignmentRequest, CouponRequest, CustomerMessageRequest,
    GiftCertificateRequest, UpdateConsignmentRequest, VersionBody, checkout_id, consignment_items,
};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::service::ServiceError;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_checkout, update_checkout))
        .routes(routes!(update_line_item, delete_line_item))
        .routes(routes!(add_billing_address))
        .routes(routes!(update_billing_address))
        .routes(routes!(add_consignments))
        .routes(routes!(update_consignment, delete_consignment))
        .routes(routes!(add_gift_certificate))
        .routes(routes!(remove_gift_certificate))
        .routes(routes!(add_coupon))
        .routes(routes!(delete_coupon))
        .routes(routes!(add_store_credit, remove_store_credit))
        .routes(routes!(spam_protection))
}

const INCLUDE_DOC: &str = "cart.lineItems.physicalItems.options, cart.lineItems.digitalItems.options, consignments.availableShippingOptions, promotions.banners";

/// The checkout id, if it is one of the shopper's (404 otherwise).
pub(super) async fn owned(state: &AppState, shopper: &Shopper, id: &str) -> ApiResult<Uuid> {
    let id = checkout_id(id)?;
    state
        .kassa
        .ensure_shoppers_cart(&shopper.store, shopper.session.as_ref(), id)
        .await
        .map_err(|_| ApiError::not_found(format!("Checkout {id} does not exist.")))?;
    Ok(id)
}

/// The checkout as the storefront shows it, with its customer when one signed in.
async fn reply(
    state: &AppState,
    shopper: &Shopper,
    cart: &Cart,
    q: Option<&str>,
) -> ApiResult<Response> {
    let spam = state.kassa.spam_check_required(&shopper.store, cart.id);
    let customer = state
        .kassa
        .cart_customer(&shopper.store, cart.customer_id)
        .await?;
    Ok(respond(
        StatusCode::OK,
        &checkout_json(
            cart,
            &includes(q),
            &state.kassa.public_url,
            spam,
            customer.as_ref(),
        ),
    ))
}

/// Refuses code entry while the checkout is locked behind the human check.
fn spam_gate(state: &AppState, shopper: &Shopper, id: Uuid) -> ApiResult<()> {
    if state.kassa.spam_check_required(&shopper.store, id) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many codes were tried on this checkout: pass the spam protection check or try again later.",
        ));
    }
    Ok(())
}

/// Counts a refused code (not a missing checkout or a storage failure) toward the lock.
fn count_failure<T>(
    state: &AppState,
    shopper: &Shopper,
    id: Uuid,
    r: Result<T, ServiceError>,
) -> ApiResult<T> {
    if let Err(ServiceError::Rule(_)) = &r {
        state.kassa.spam_failure(&shopper.store, id);
    }
    Ok(r?)
}

/// The shopper's checkout.
#[utoipa::path(get, path = "/api/storefront/checkouts/{checkoutId}", tag = "Storefront Checkouts", operation_id = "sfGetCheckout",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_checkout(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    load(&state, &shopper, &id, q.as_deref()).await
}

/// The shopper's checkout (both the spec's path and the Checkout SDK's singular one).
pub(super) async fn load(
    state: &AppState,
    shopper: &Shopper,
    id: &str,
    q: Option<&str>,
) -> ApiResult<Response> {
    let id = owned(state, shopper, id).await?;
    let cart = state.kassa.get_checkout(&shopper.principal(), id).await?;
    reply(state, shopper, &cart, q).await
}

/// Set the customer message.
#[utoipa::path(put, path = "/api/storefront/checkouts/{checkoutId}", tag = "Storefront Checkouts", operation_id = "sfUpdateCheckout",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_checkout(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<CustomerMessageRequest>,
) -> ApiResult<Response> {
    set_message(&state, &shopper, &id, q.as_deref(), body).await
}

/// Sets the customer message (both the spec's path and the Checkout SDK's singular one).
pub(super) async fn set_message(
    state: &AppState,
    shopper: &Shopper,
    id: &str,
    q: Option<&str>,
    body: CustomerMessageRequest,
) -> ApiResult<Response> {
    let id = owned(state, shopper, id).await?;
    let message = body.customer_message.ok_or_else(|| {
        ApiError::unprocessable("customerMessage", "customerMessage is required.")
    })?;
    let cart = state
        .kassa
        .update_customer_message(&shopper.principal(), id, message, body.version)
        .await?;
    reply(state, shopper, &cart, q).await
}

/// The cart of a checkout must be the checkout's own.
fn same_cart(checkout: Uuid, cart: &str) -> ApiResult<()> {
    if Uuid::parse_str(cart).ok() == Some(checkout) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("Cart {cart} does not exist.")))
    }
}

/// Change a line item through the checkout.
#[utoipa::path(put, path = "/api/storefront/checkouts/{checkoutId}/carts/{cartId}/items/{itemId}", tag = "Storefront Checkouts", operation_id = "sfUpdateCheckoutLineItem",
    params(("checkoutId" = String, Path), ("cartId" = String, Path), ("itemId" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_line_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, cart_id, item_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<UpdateItemRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    same_cart(id, &cart_id)?;
    let item = parse_item_id(&item_id)?;
    let update = item_update(&body)?;
    match state
        .kassa
        .update_cart_item(&shopper.principal(), id, item, body.version, update)
        .await?
    {
        Some(cart) => reply(&state, &shopper, &cart, q.as_deref()).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Remove a line item through the checkout.
#[utoipa::path(delete, path = "/api/storefront/checkouts/{checkoutId}/carts/{cartId}/items/{itemId}", tag = "Storefront Checkouts", operation_id = "sfDeleteCheckoutLineItem",
    params(("checkoutId" = String, Path), ("cartId" = String, Path), ("itemId" = String, Path)),
    responses((status = 200, body = Object), (status = 204), (status = 404, body = ErrorBody)))]
async fn delete_line_item(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, cart_id, item_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<VersionRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    same_cart(id, &cart_id)?;
    let item = parse_item_id(&item_id)?;
    match state
        .kassa
        .delete_cart_item(&shopper.principal(), id, item, body.version)
        .await?
    {
        Some(cart) => reply(&state, &shopper, &cart, q.as_deref()).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Add the billing address.
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/billing-address", tag = "Storefront Checkouts", operation_id = "sfAddCheckoutBillingAddress",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_billing_address(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<AddressRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let version = body.version;
    let cart = state
        .kassa
        .set_billing_address(&shopper.principal(), id, None, body.into_domain(), version)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Replace the billing address.
#[utoipa::path(put, path = "/api/storefront/checkouts/{checkoutId}/billing-address/{addressId}", tag = "Storefront Checkouts", operation_id = "sfUpdateCheckoutBillingAddress",
    params(("checkoutId" = String, Path), ("addressId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_billing_address(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, address_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<AddressRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let version = body.version;
    let cart = state
        .kassa
        .set_billing_address(
            &shopper.principal(),
            id,
            Some(&address_id),
            body.into_domain(),
            version,
        )
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Add consignments (shipping address + items).
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/consignments", tag = "Storefront Checkouts", operation_id = "sfCreateCheckoutConsignment",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_consignments(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<Vec<ConsignmentRequest>>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let version = body.iter().find_map(|c| c.version);
    let specs = body
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(ConsignmentSpec {
                items: consignment_items(&c.line_items, &format!("[{i}]."))?,
                address: c.address.map(AddressRequest::into_domain),
                pickup_method_id: c.pickup_option.map(|p| p.pickup_method_id),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let cart = state
        .kassa
        .add_consignments(&shopper.principal(), id, specs, version)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Change a consignment's address or items, or select its shipping option.
#[utoipa::path(put, path = "/api/storefront/checkouts/{checkoutId}/consignments/{consignmentId}", tag = "Storefront Checkouts", operation_id = "sfUpdateCheckoutConsignment",
    params(("checkoutId" = String, Path), ("consignmentId" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_consignment(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, consignment)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<UpdateConsignmentRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let change = ConsignmentChange {
        address: body.address.map(AddressRequest::into_domain),
        items: body
            .line_items
            .as_deref()
            .map(|items| consignment_items(items, ""))
            .transpose()?,
        pickup_method_id: body.pickup_option.map(|p| p.pickup_method_id),
    };
    let cart = state
        .kassa
        .update_consignment(
            &shopper.principal(),
            id,
            &consignment,
            change,
            body.shipping_option_id,
            body.version,
        )
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Remove a consignment.
#[utoipa::path(delete, path = "/api/storefront/checkouts/{checkoutId}/consignments/{consignmentId}", tag = "Storefront Checkouts", operation_id = "sfDeleteCheckoutConsignment",
    params(("checkoutId" = String, Path), ("consignmentId" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn delete_consignment(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, consignment)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<VersionBody>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let cart = state
        .kassa
        .delete_consignment(&shopper.principal(), id, &consignment, body.version)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Apply a gift certificate as payment.
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/gift-certificates", tag = "Storefront Checkouts", operation_id = "sfAddCheckoutGiftCertificate",
    params(("checkoutId" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn add_gift_certificate(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<GiftCertificateRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    spam_gate(&state, &shopper, id)?;
    let r = state
        .kassa
        .apply_gift_certificate(
            &shopper.principal(),
            id,
            &body.gift_certificate_code,
            body.version,
        )
        .await;
    let cart = count_failure(&state, &shopper, id, r)?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Take a gift certificate off.
#[utoipa::path(delete, path = "/api/storefront/checkouts/{checkoutId}/gift-certificates/{giftCertificateCode}", tag = "Storefront Checkouts", operation_id = "sfDeleteCheckoutGiftCertificate",
    params(("checkoutId" = String, Path), ("giftCertificateCode" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn remove_gift_certificate(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let cart = state
        .kassa
        .remove_gift_certificate(&shopper.principal(), id, &code)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Apply a coupon code.
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/coupons", tag = "Storefront Checkouts", operation_id = "sfAddCheckoutCoupon",
    params(("checkoutId" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn add_coupon(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<CouponRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    spam_gate(&state, &shopper, id)?;
    let r = state
        .kassa
        .apply_coupon(&shopper.principal(), id, &body.coupon_code, body.version)
        .await;
    let cart = count_failure(&state, &shopper, id, r)?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Remove a coupon code.
#[utoipa::path(delete, path = "/api/storefront/checkouts/{checkoutId}/coupons/{couponCode}", tag = "Storefront Checkouts", operation_id = "sfDeleteCheckoutCoupon",
    params(("checkoutId" = String, Path), ("couponCode" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn delete_coupon(
    State(state): State<AppState>,
    shopper: Shopper,
    Path((id, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    let cart = state
        .kassa
        .delete_coupon(&shopper.principal(), id, &code)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Store credit belongs to a signed-in customer; a guest checkout has none to use.
async fn signed_in(state: &AppState, shopper: &Shopper, id: Uuid) -> ApiResult<()> {
    let cart = state.kassa.get_checkout(&shopper.principal(), id).await?;
    if cart.customer_id == 0 {
        return Err(ApiError::bad_request(
            "Authentication required: store credit belongs to a signed-in customer.",
        ));
    }
    Ok(())
}

/// Use the customer's store credit (all of it, up to the order's value).
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/store-credit", tag = "Storefront Checkouts", operation_id = "sfAddCheckoutStoreCredit",
    params(("checkoutId" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_store_credit(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    signed_in(&state, &shopper, id).await?;
    let cart = state
        .kassa
        .apply_store_credit(&shopper.principal(), id)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

/// Stop using store credit.
#[utoipa::path(delete, path = "/api/storefront/checkouts/{checkoutId}/store-credit", tag = "Storefront Checkouts", operation_id = "sfRemoveCheckoutStoreCredit",
    params(("checkoutId" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_store_credit(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    signed_in(&state, &shopper, id).await?;
    let cart = state
        .kassa
        .remove_store_credit(&shopper.principal(), id)
        .await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}

#[derive(Deserialize, ToSchema, Default)]
pub struct SpamProtectionRequest {
    #[serde(default)]
    pub token: String,
}

/// Present the token of a human check; a pass lifts the lock on code entry.
#[utoipa::path(post, path = "/api/storefront/checkouts/{checkoutId}/spam-protection", tag = "Storefront Checkouts", operation_id = "sfCheckoutSpamProtection",
    params(("checkoutId" = String, Path)),
    request_body = SpamProtectionRequest,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn spam_protection(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    SfJson(body): SfJson<SpamProtectionRequest>,
) -> ApiResult<Response> {
    let id = owned(&state, &shopper, &id).await?;
    if state.kassa.spam_check_required(&shopper.store, id)
        && !state
            .kassa
            .verify_spam_token(&shopper.store, id, &body.token)
    {
        return Err(ApiError::unprocessable(
            "token",
            "The spam protection token was not accepted.",
        ));
    }
    let cart = state.kassa.get_checkout(&shopper.principal(), id).await?;
    reply(&state, &shopper, &cart, q.as_deref()).await
}
