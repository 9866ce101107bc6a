//! What BigCommerce's Checkout JS SDK (`@bigcommerce/checkout-sdk`) calls beyond the
//! Storefront API specs, found by reading and running it (see `docs/checkout-sdk.md`):
//! checkout settings, form fields, countries, the payment methods of a cart, the
//! singular `/api/storefront/checkout/{id}` it loads checkouts from, signing a customer in
//! and out (`/internalapi/v1/checkout/customer`), opening an account
//! (`/api/storefront/customer`) and saving an address (`/api/storefront/customer-address`)
//! for the signed-in customer, placing the order
//! (`/internalapi/v1/checkout/order`) and paying it by card (`/api/public/v1/orders/payments`,
//! where the SDK's "bigpay" client posts once `bigpayBaseUrl` points at Kassa).
//!
//! All but the card payment sit behind the storefront [`guard`](super::guard): store by
//! `Host`, the shopper's session, CSRF and CORS as for the rest of the storefront. The
//! card payment is authorized by the payment access token the order answer carried
//! (its `token` header), exactly as the Payments API is.

use super::Shopper;
use super::checkouts::{self, owned};
use super::orders::status_name;
use super::wire::{currency_names, customer_json, respond};
use crate::domain::DomainError;
use crate::domain::countries;
use crate::domain::customer_address::CustomerAddressInput;
use crate::domain::payment::CardInput;
use crate::http::AppState;
use crate::http::checkouts::{CustomerMessageRequest, checkout_id};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::JsonBody;
use crate::http::payments::{pat_refused, payment_access_token};
use crate::service::checkout_sdk::{StorefrontMethodKind, StorefrontPaymentMethod};
use crate::service::orders::STATUS_INCOMPLETE;
use crate::service::payments::PaymentInstrument;
use crate::service::shopper_accounts::ShopperAccount;
use crate::service::{Refusal, ServiceError};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(load_checkout, update_checkout))
        .routes(routes!(checkout_settings))
        .routes(routes!(form_fields))
        .routes(routes!(payment_methods))
        .routes(routes!(payment_method))
        .routes(routes!(store_countries))
        .routes(routes!(shipping_countries))
        .routes(routes!(place_order))
        .routes(routes!(sign_in_customer, sign_out_customer))
        .routes(routes!(create_customer_account))
        .routes(routes!(create_customer_address))
        .routes(routes!(pay_order))
}

/// Where the page that called came from (`https://shop.example`), as its browser sees it.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scheme = if super::is_tls(headers, &state.kassa) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The shopper's checkout, at the singular path the SDK loads it from.
#[utoipa::path(get, path = "/api/storefront/checkout/{checkoutId}", tag = "Checkout SDK", operation_id = "sdkLoadCheckout",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn load_checkout(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    checkouts::load(&state, &shopper, &id, q.as_deref()).await
}

/// Set the customer message, at the singular path the SDK uses.
#[utoipa::path(put, path = "/api/storefront/checkout/{checkoutId}", tag = "Checkout SDK", operation_id = "sdkUpdateCheckout",
    params(("checkoutId" = String, Path), ("include" = Option<String>, Query)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_checkout(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: super::wire::SfJson<CustomerMessageRequest>,
) -> ApiResult<Response> {
    checkouts::set_message(&state, &shopper, &id, q.as_deref(), body.0).await
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SettingsQuery {
    /// The checkout the page is about to load (the SDK sends it).
    checkout_id: Option<String>,
}

fn address_field(id: &str, name: &str, label: &str, required: bool, max: usize) -> Value {
    json!({"id": id, "name": name, "label": label, "custom": false, "required": required,
           "default": "", "fieldType": "text", "type": "string", "maxLength": max})
}

/// The address form BigCommerce's checkout shows, with Kassa's rules for it.
fn address_fields() -> Value {
    use crate::domain::address_rules::{MAX_PHONE_LEN, MAX_POSTAL_CODE_LEN, MAX_TEXT_LEN};
    let mut country = address_field("field_11", "countryCode", "Country", true, 2);
    country["fieldType"] = "dropdown".into();
    country["options"] = json!({"helperLabel": "Choose a Country"});
    json!([
        address_field("field_4", "firstName", "First Name", true, MAX_TEXT_LEN),
        address_field("field_5", "lastName", "Last Name", true, MAX_TEXT_LEN),
        address_field("field_6", "company", "Company Name", false, MAX_TEXT_LEN),
        address_field("field_7", "phone", "Phone Number", false, MAX_PHONE_LEN),
        address_field("field_8", "address1", "Address Line 1", true, MAX_TEXT_LEN),
        address_field("field_9", "address2", "Address Line 2", false, MAX_TEXT_LEN),
        address_field("field_10", "city", "Suburb/City", true, MAX_TEXT_LEN),
        country,
        address_field(
            "field_12",
            "stateOrProvince",
            "State/Province",
            false,
            MAX_TEXT_LEN
        ),
        address_field(
            "field_13",
            "postalCode",
            "Zip/Postcode",
            false,
            MAX_POSTAL_CODE_LEN
        ),
    ])
}

fn form_fields_json() -> Value {
    use crate::domain::address_rules::{MAX_EMAIL_LEN, MAX_TEXT_LEN};
    let mut password = address_field("field_3", "password", "Password", true, MAX_TEXT_LEN);
    password["fieldType"] = "password".into();
    password["secret"] = true.into();
    json!({
        "customerAccount": [
            address_field("field_1", "email", "Email Address", true, MAX_EMAIL_LEN),
            password,
            address_field("field_4", "firstName", "First Name", true, MAX_TEXT_LEN),
            address_field("field_5", "lastName", "Last Name", true, MAX_TEXT_LEN),
        ],
        "shippingAddress": address_fields(),
        "billingAddress": address_fields(),
    })
}

/// The store's checkout configuration as the SDK reads it. The payment base URL is
/// this storefront's own origin, so card payments come back to Kassa.
#[utoipa::path(get, path = "/api/storefront/checkout-settings", tag = "Checkout SDK", operation_id = "sdkCheckoutSettings",
    params(SettingsQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn checkout_settings(
    State(state): State<AppState>,
    shopper: Shopper,
    headers: HeaderMap,
    Query(q): Query<SettingsQuery>,
) -> ApiResult<Response> {
    let store = &shopper.store;
    let origin = origin(&state, &headers);
    let checkout = match q.checkout_id.as_deref().map(checkout_id).transpose()? {
        Some(id) => Some(owned(&state, &shopper, &id.to_string()).await?),
        None => state
            .kassa
            .shopper_carts(store, shopper.session.as_ref())
            .await?
            .first()
            .map(|c| c.id),
    };
    let cur = store.settings.default_currency();
    let (_, symbol) = currency_names(&cur.code);
    let currency = json!({
        "code": cur.code, "decimalPlaces": cur.decimal_places.to_string(),
        "decimalSeparator": ".", "thousandsSeparator": ",", "symbolLocation": "left",
        "symbol": symbol, "isTransactional": true,
    });
    let mut shopper_currency = currency.clone();
    shopper_currency["exchangeRate"] = 1.into();
    let body = json!({
        "context": {
            "checkoutId": checkout,
            "geoCountryCode": "",
            "flashMessages": [],
            "payment": {},
        },
        "customization": {"languageData": []},
        "storeConfig": {
            "cdnPath": "",
            "checkoutSettings": {
                "features": {},
                "checkoutBillingSameAsShippingEnabled": true,
                "checkoutUserExperienceSettings": {"walletButtonsOnTop": false, "floatingLabelEnabled": false},
                "enableOrderComments": true,
                "enableTermsAndConditions": false,
                "googleMapsApiKey": "",
                "googleRecaptchaSitekey": "",
                "isAccountCreationEnabled": true,
                "isStorefrontSpamProtectionEnabled": false,
                "guestCheckoutEnabled": true,
                "hasMultiShippingEnabled": true,
                "isAnalyticsEnabled": false,
                "isCardVaultingEnabled": false,
                "isCouponCodeCollapsed": false,
                "isExpressPrivacyPolicy": false,
                "isSignInEmailEnabled": false,
                "isPaymentRequestEnabled": false,
                "isPaymentRequestCanMakePaymentEnabled": false,
                "isSpamProtectionEnabled": false,
                "isTrustedShippingAddressEnabled": false,
                "orderTermsAndConditions": "",
                "orderTermsAndConditionsLocation": "",
                "orderTermsAndConditionsLink": "",
                "orderTermsAndConditionsType": "",
                "privacyPolicyUrl": "",
                "providerWithCustomCheckout": null,
                "shippingQuoteFailedMessage": "No shipping options are available for this address.",
                "realtimeShippingProviders": [],
                "requiresMarketingConsent": false,
                "remoteCheckoutProviders": [],
                "shouldRedirectToStorefrontForAuth": false,
            },
            "currency": currency,
            "shopperCurrency": shopper_currency,
            "displayDateFormat": "dd/MM/yyyy",
            "inputDateFormat": "dd/MM/yyyy",
            "displaySettings": {"hidePriceFromGuests": false},
            "formFields": form_fields_json(),
            "links": {
                "baseUrl": origin,
                "cartLink": format!("{origin}/cart"),
                "checkoutLink": format!("{origin}/checkout"),
                "createAccountLink": "",
                "forgotPasswordLink": "",
                "loginLink": "",
                "logoutLink": "",
                "siteLink": origin,
                "orderConfirmationLink": format!("{origin}/order-confirmation"),
            },
            "paymentSettings": {"bigpayBaseUrl": origin, "clientSidePaymentProviders": []},
            "shopperConfig": {
                "defaultNewsletterSignup": false,
                "passwordRequirements": {"alpha": "[A-Za-z]", "numeric": "[0-9]", "minlength": 8,
                                         "description": "Passwords must be at least 8 characters and contain both alphabetic and numeric characters."},
                "showNewsletterSignup": false,
            },
            "storeProfile": {
                "orderEmail": "",
                "shopPath": origin,
                "storeCountry": "",
                "storeCountryCode": "",
                "storeHash": store.hash,
                "storeId": store.id.to_string(),
                "storeName": store.name,
                "storePhoneNumber": "",
                "storeLanguage": store.settings.default_locale,
            },
            "imageDirectory": "product_images",
            "isAngularDebuggingEnabled": false,
        },
    });
    Ok(respond(StatusCode::OK, &body))
}

/// The customer account and address forms.
#[utoipa::path(get, path = "/api/storefront/form-fields", tag = "Checkout SDK", operation_id = "sdkFormFields",
    responses((status = 200, body = Object)))]
async fn form_fields(_shopper: Shopper) -> Response {
    respond(StatusCode::OK, &form_fields_json())
}

fn country_list() -> Value {
    let data: Vec<Value> = countries::countries()
        .iter()
        .map(|&(code, name)| {
            json!({
                "code": code,
                "name": name,
                "hasPostalCodes": countries::postal_code_required(code),
                "requiresState": countries::state_required(code),
                "subdivisions": countries::subdivisions(code).iter()
                    .map(|&(c, n)| json!({"code": c, "name": n})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "data": data })
}

/// Countries with their states and provinces, for billing addresses.
#[utoipa::path(get, path = "/internalapi/v1/store/countries", tag = "Checkout SDK", operation_id = "sdkStoreCountries",
    responses((status = 200, body = Object)))]
async fn store_countries(_shopper: Shopper) -> Response {
    respond(StatusCode::OK, &country_list())
}

/// Countries the store ships to (every country: zones decide what each address is quoted).
#[utoipa::path(get, path = "/internalapi/v1/shipping/countries", tag = "Checkout SDK", operation_id = "sdkShippingCountries",
    params(("channel_id" = Option<i64>, Query)),
    responses((status = 200, body = Object)))]
async fn shipping_countries(_shopper: Shopper) -> Response {
    respond(StatusCode::OK, &country_list())
}

fn method_json(m: &StorefrontPaymentMethod) -> Value {
    let card = m.kind == StorefrontMethodKind::Card;
    json!({
        "id": m.id,
        "method": if card { "credit-card" } else { m.id },
        "type": if card { "PAYMENT_TYPE_API" } else { "PAYMENT_TYPE_OFFLINE" },
        "config": {
            "displayName": m.display_name,
            "helpText": m.help_text,
            "testMode": m.test_mode,
            "cardCode": card,
            "showCardHolderName": card,
            "isHostedFormEnabled": false,
            "isVaultingEnabled": false,
            "hasDefaultStoredInstrument": false,
            "requireCustomerCode": false,
        },
        "supportedCards": if card { json!(["VISA", "MC", "AMEX", "DISCOVER"]) } else { json!([]) },
        "logoUrl": "",
        "initializationStrategy": {"type": "not_applicable"},
        "skipRedirectConfirmationAlert": false,
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct PaymentsQuery {
    /// The shopper's cart (the SDK sends it).
    cart_id: Option<String>,
}

async fn methods_for(
    state: &AppState,
    shopper: &Shopper,
    q: &PaymentsQuery,
) -> ApiResult<Vec<StorefrontPaymentMethod>> {
    let cart = q
        .cart_id
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("Name the cart to pay: ?cartId=…"))?;
    let cart = checkout_id(cart)?;
    Ok(state
        .kassa
        .shopper_payment_methods(&shopper.store, shopper.session.as_ref(), cart)
        .await?)
}

/// The payment methods the shopper's cart can be paid with.
#[utoipa::path(get, path = "/api/storefront/payments", tag = "Checkout SDK", operation_id = "sdkPaymentMethods",
    params(PaymentsQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn payment_methods(
    State(state): State<AppState>,
    shopper: Shopper,
    Query(q): Query<PaymentsQuery>,
) -> ApiResult<Response> {
    let methods = methods_for(&state, &shopper, &q).await?;
    Ok(respond(
        StatusCode::OK,
        &Value::Array(methods.iter().map(method_json).collect()),
    ))
}

/// One payment method of the shopper's cart.
#[utoipa::path(get, path = "/api/storefront/payments/{methodId}", tag = "Checkout SDK", operation_id = "sdkPaymentMethod",
    params(("methodId" = String, Path), PaymentsQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn payment_method(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(method): Path<String>,
    Query(q): Query<PaymentsQuery>,
) -> ApiResult<Response> {
    let methods = methods_for(&state, &shopper, &q).await?;
    let m = methods
        .iter()
        .find(|m| m.id == method)
        .ok_or_else(|| ApiError::not_found(format!("Payment method {method} does not exist.")))?;
    Ok(respond(StatusCode::OK, &method_json(m)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrderPaymentRequest {
    /// The payment method's id (offline methods; the card pays after the order).
    pub name: Option<String>,
    pub gateway: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub payment_data: Option<Value>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderRequest {
    pub cart_id: Option<String>,
    pub customer_message: Option<String>,
    pub payment: Option<OrderPaymentRequest>,
}

/// Place the order of the shopper's checkout. With an amount left to pay by card, the
/// answer's `token` header is the payment access token for the card payment.
#[utoipa::path(post, path = "/internalapi/v1/checkout/order", tag = "Checkout SDK", operation_id = "sdkPlaceOrder",
    request_body = PlaceOrderRequest,
    responses((status = 201, body = Object), (status = 404, body = ErrorBody), (status = 409, body = SdkOrderErrorBody), (status = 422, body = SdkOrderErrorBody)))]
async fn place_order(
    State(state): State<AppState>,
    shopper: Shopper,
    JsonBody(body): JsonBody<PlaceOrderRequest>,
) -> ApiResult<Response> {
    let cart = body
        .cart_id
        .as_deref()
        .ok_or_else(|| ApiError::unprocessable("cartId", "The field `cartId` is required."))?;
    let cart = checkout_id(cart)?;
    let payment = body.payment.unwrap_or_default();
    if payment.payment_data.as_ref().is_some_and(|d| !d.is_null()) {
        return Err(ApiError::unprocessable(
            "payment.paymentData",
            "Card details are not taken with the order: place it, then pay at the storefront's payment endpoint (POST /api/public/v1/orders/payments).",
        ));
    }
    let placed = match state
        .kassa
        .place_shopper_order(
            &shopper.store,
            shopper.session.as_ref(),
            cart,
            body.customer_message,
            payment.name.as_deref(),
        )
        .await
    {
        Ok(p) => p,
        Err(ServiceError::Refused(why, rule)) => {
            return Ok(sdk_order_error(refusal_type(why), rule.into()));
        }
        Err(e) => return Err(e.into()),
    };
    let order = state
        .kassa
        .shopper_order(&shopper.store, shopper.session.as_ref(), placed.order_id)
        .await?;
    let mut res = respond(
        StatusCode::CREATED,
        &json!({
            "data": {"order": {
                "orderId": placed.order_id,
                "status": status_name(order.status_id),
                "isComplete": order.status_id != STATUS_INCOMPLETE,
            }},
            "meta": {},
        }),
    );
    if let Some(t) = placed.payment_token.as_deref()
        && let Ok(v) = HeaderValue::from_str(t)
    {
        res.headers_mut().insert("token", v);
    }
    Ok(res)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SignInRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    /// The checkout of a "buy now" cart (the SDK sends it); the shopper's carts all
    /// follow the session anyway.
    pub cart_id: Option<String>,
}

/// The sign-in and sign-out answer: `{data: {customer}, meta: {}}`.
fn customer_answer(customer: Value) -> Response {
    respond(
        StatusCode::OK,
        &json!({"data": {"customer": customer}, "meta": {}}),
    )
}

/// An error of the customer endpoints in the internal API's shape the SDK reads
/// (`errors` as messages), with `Retry-After` for a locked email.
fn sign_in_error(e: ServiceError) -> Response {
    let kind = match &e {
        ServiceError::Refused(why, _) => refusal_type(*why),
        ServiceError::RateLimited(..) => "too_many_sign_in_attempts",
        ServiceError::Rule(_) => "invalid_request",
        _ => "",
    };
    let mut api = ApiError::from(e);
    if kind == "invalid_credentials" {
        api.status = StatusCode::UNAUTHORIZED;
    }
    if kind.is_empty() {
        // Storage failures and the like keep the storefront's error shape.
        return axum::response::IntoResponse::into_response(api);
    }
    let retry = api.retry_after;
    let mut res = sdk_order_error(kind, api);
    if let Some(s) = retry
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Sign a customer in (the SDK's `signInCustomer`). The session is replaced by a new
/// one for the customer (new cookies), and the shopper's carts become the customer's.
/// An unknown email and a wrong password get the same `401 invalid_credentials`; after
/// five failures for an email within 15 minutes it is locked (`429`) for the rest of
/// them.
#[utoipa::path(post, path = "/internalapi/v1/checkout/customer", tag = "Checkout SDK", operation_id = "sdkSignInCustomer",
    request_body = SignInRequest,
    responses((status = 200, body = Object), (status = 401, body = SdkOrderErrorBody),
        (status = 422, body = SdkOrderErrorBody), (status = 429, body = SdkOrderErrorBody)))]
async fn sign_in_customer(
    State(state): State<AppState>,
    mut shopper: Shopper,
    JsonBody(body): JsonBody<SignInRequest>,
) -> Response {
    let signed = state
        .kassa
        .sign_in_shopper(
            &shopper.store,
            shopper.session.as_ref(),
            body.email.as_deref().unwrap_or_default(),
            body.password.as_deref().unwrap_or_default(),
        )
        .await;
    match signed {
        Ok((rotated, customer)) => {
            shopper.adopt(rotated.token, rotated.session);
            customer_answer(customer_json(&customer))
        }
        Err(e) => sign_in_error(e),
    }
}

/// The refusal of non-empty `customFields` (Kassa keeps no form fields) for an `what`.
fn no_custom_fields(fields: Option<&[Value]>, what: &str) -> Option<Response> {
    fields.is_some_and(|f| !f.is_empty()).then(|| {
        sign_in_error(
            DomainError::field(
                "customFields",
                format!(
                    "Kassa keeps no {what} form fields: send the {what} without `customFields`."
                ),
            )
            .into(),
        )
    })
}

/// What the SDK's `createCustomerAccount` posts (`CustomerAccountRequestBody`, plus the
/// spam-protection `token`, which lets an attempt past the per-client limit when the
/// deployment's human check accepts it).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateAccountRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Accepted and ignored: Kassa sends no newsletters.
    pub accepts_marketing_emails: Option<bool>,
    /// Kassa keeps no account form fields: a non-empty list is refused.
    #[schema(value_type = Option<Vec<Object>>)]
    pub custom_fields: Option<Vec<Value>>,
    /// The token of a human check (reCAPTCHA on BigCommerce).
    pub token: Option<String>,
}

/// Open an account and sign the shopper in (the SDK's `createCustomerAccount`): the
/// session is replaced by one for the new customer and the shopper's carts become the
/// customer's, as with sign-in. A taken email (any case) or a weak password is a `422`.
/// Spam protection: after five attempts from one client address within 15 minutes,
/// further ones are `429` (with `Retry-After`) for the rest of them, unless `token`
/// passes the deployment's human check.
#[utoipa::path(post, path = "/api/storefront/customer", tag = "Checkout SDK", operation_id = "sdkCreateCustomerAccount",
    request_body = CreateAccountRequest,
    responses((status = 200, body = Object), (status = 422, body = SdkOrderErrorBody),
        (status = 429, body = ErrorBody)))]
async fn create_customer_account(
    State(state): State<AppState>,
    mut shopper: Shopper,
    JsonBody(body): JsonBody<CreateAccountRequest>,
) -> Response {
    if let Some(refused) = no_custom_fields(body.custom_fields.as_deref(), "account") {
        return refused;
    }
    let account = ShopperAccount {
        email: body.email.unwrap_or_default(),
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
        password: body.password.unwrap_or_default(),
        client: shopper.client.clone(),
        spam_token: body.token,
    };
    match state
        .kassa
        .create_shopper_account(&shopper.store, shopper.session.as_ref(), &account)
        .await
    {
        Ok((rotated, customer)) => {
            shopper.adopt(rotated.token, rotated.session);
            customer_answer(customer_json(&customer))
        }
        // Too many accounts from this client: the storefront's 429 with `Retry-After`.
        Err(e @ ServiceError::RateLimited(..)) => {
            axum::response::IntoResponse::into_response(ApiError::from(e))
        }
        Err(e) => sign_in_error(e),
    }
}

/// What the SDK's `createCustomerAddress` posts (`AddressRequestBody`).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateAddressRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state_or_province: Option<String>,
    pub state_or_province_code: Option<String>,
    pub country_code: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    /// Kassa keeps no address form fields: a non-empty list is refused.
    #[schema(value_type = Option<Vec<Object>>)]
    pub custom_fields: Option<Vec<Value>>,
    /// Accepted and ignored (the address is saved either way).
    pub should_save_address: Option<bool>,
}

/// Save an address in the signed-in customer's address book (the SDK's
/// `createCustomerAddress`); the answer is the customer itself (no envelope) with every
/// saved address, which the SDK merges into its customer. An address the customer has already is not saved
/// twice. A guest gets `401`; an address that breaks the shipping-address rules `422`.
#[utoipa::path(post, path = "/api/storefront/customer-address", tag = "Checkout SDK", operation_id = "sdkCreateCustomerAddress",
    request_body = CreateAddressRequest,
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 422, body = SdkOrderErrorBody)))]
async fn create_customer_address(
    State(state): State<AppState>,
    shopper: Shopper,
    JsonBody(body): JsonBody<CreateAddressRequest>,
) -> Response {
    let customer_id = shopper.session.as_ref().map_or(0, |s| s.customer_id);
    if customer_id == 0 {
        return axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Sign in to save addresses: only customers have an address book.",
        ));
    }
    if let Some(refused) = no_custom_fields(body.custom_fields.as_deref(), "address") {
        return refused;
    }
    let input = CustomerAddressInput {
        first_name: body.first_name,
        last_name: body.last_name,
        company: body.company,
        address1: body.address1,
        address2: body.address2,
        city: body.city,
        state_or_province: body.state_or_province,
        state_or_province_code: body.state_or_province_code,
        postal_code: body.postal_code,
        country_code: body.country_code,
        phone: body.phone,
        address_type: None,
    };
    let saved = async {
        state
            .kassa
            .save_shopper_address(&shopper.store, customer_id, &input)
            .await?;
        state.kassa.cart_customer(&shopper.store, customer_id).await
    };
    match saved.await {
        // The SDK merges the answer itself into its customer (not `data.customer`).
        Ok(Some(customer)) => respond(StatusCode::OK, &customer_json(&customer)),
        Ok(None) => axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The signed-in customer's account no longer exists: sign in again.",
        )),
        Err(e) => sign_in_error(e),
    }
}

/// Sign the customer out (the SDK's `signOutCustomer`): the session is replaced by a
/// guest one and the shopper's carts become guest carts again. Without a signed-in
/// customer nothing changes.
#[utoipa::path(delete, path = "/internalapi/v1/checkout/customer", tag = "Checkout SDK", operation_id = "sdkSignOutCustomer",
    responses((status = 200, body = Object)))]
async fn sign_out_customer(State(state): State<AppState>, mut shopper: Shopper) -> Response {
    match state
        .kassa
        .sign_out_shopper(&shopper.store, shopper.session.as_ref())
        .await
    {
        Ok(rotated) => {
            if let Some(r) = rotated {
                shopper.adopt(r.token, r.session);
            }
            customer_answer(
                json!({"id": 0, "isGuest": true, "email": "", "firstName": "",
                "lastName": "", "fullName": "", "addresses": [], "storeCredit": 0,
                "shouldEncourageSignIn": false, "customerGroup": {"id": 0, "name": ""}}),
            )
        }
        Err(e) => sign_in_error(e),
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct BigpayCard {
    pub account_name: Option<String>,
    pub number: Option<String>,
    pub month: Option<i64>,
    pub year: Option<i64>,
    pub verification_value: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct BigpayPayment {
    /// The payment method id (`testgateway.card`).
    pub gateway: Option<String>,
    pub credit_card: Option<BigpayCard>,
}

/// What the SDK's payment client posts; everything but the payment is the order as the
/// SDK knows it, and Kassa takes the order (and the amount) from the token instead.
#[derive(Deserialize, ToSchema, Default)]
pub struct BigpayRequest {
    pub payment: Option<BigpayPayment>,
}

/// The error `type` BigCommerce's Checkout SDK turns into its own error for a refusal
/// (`cart_has_changed` into CartConsistencyError, `stock_too_low` into an unrecoverable
/// error, …).
fn refusal_type(why: Refusal) -> &'static str {
    match why {
        Refusal::EmptyCart => "empty_cart",
        Refusal::MissingShippingMethod => "missing_shipping_method",
        Refusal::InvalidShippingAddress => "invalid_shipping_address",
        Refusal::StockTooLow => "stock_too_low",
        Refusal::CartChanged => "cart_has_changed",
        Refusal::PaymentDeclined => "transaction_declined",
        Refusal::InvalidCredentials => "invalid_credentials",
    }
}

/// How a refused order reads (see `sdk_order_error`).
#[derive(serde::Serialize, ToSchema)]
pub struct SdkOrderErrorBody {
    pub status: u16,
    pub title: String,
    /// The code the SDK acts on: `empty_cart`, `missing_shipping_method`,
    /// `invalid_shipping_address`, `stock_too_low`, `cart_has_changed`, or the error's kind.
    #[serde(rename = "type")]
    pub kind: String,
    pub detail: String,
    pub errors: Vec<String>,
}

/// How a refused card payment reads (see `bigpay_error`).
#[derive(serde::Serialize, ToSchema)]
pub struct BigpayErrorBody {
    /// Always `error`.
    pub status: String,
    pub errors: Vec<BigpayErrorItem>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct BigpayErrorItem {
    /// `transaction_declined`, `invalid_token`, `invalid_request`, or a refusal's code.
    pub code: String,
    pub message: String,
}

/// A refused order in the shape of BigCommerce's internal API, which the SDK reads:
/// `type` is the code it acts on, `errors` the messages (strings) it shows, joined.
fn sdk_order_error(kind: &str, api: ApiError) -> Response {
    let messages = api.messages();
    respond(
        api.status,
        &json!({"status": api.status.as_u16(), "title": api.title, "type": kind,
                "detail": messages.join(" "), "errors": messages}),
    )
}

/// A refused payment in the shape of BigCommerce's payment API, which the SDK's card
/// strategy reads: `errors` of `{code, message}`, the messages shown to the shopper.
fn bigpay_error(code: &str, api: ApiError) -> Response {
    let errors: Vec<Value> = api
        .messages()
        .into_iter()
        .map(|m| json!({"code": code, "message": m}))
        .collect();
    respond(api.status, &json!({"status": "error", "errors": errors}))
}

/// Pay a placed order by card, authorized by the order's payment access token
/// (`Authorization: <token>`, as the SDK sends it). The amount is what the order has
/// left to pay.
#[utoipa::path(post, path = "/api/public/v1/orders/payments", tag = "Checkout SDK", operation_id = "sdkPayOrder",
    request_body = BigpayRequest,
    responses((status = 200, body = Object), (status = 400, body = BigpayErrorBody), (status = 401, body = BigpayErrorBody),
        (status = 404, body = BigpayErrorBody), (status = 409, body = BigpayErrorBody), (status = 422, body = BigpayErrorBody),
        (status = 429, body = BigpayErrorBody)))]
async fn pay_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<BigpayRequest>,
) -> Response {
    match pay(&state, &headers, body).await {
        Ok(r) => r,
        Err(ServiceError::Refused(why, rule)) => bigpay_error(refusal_type(why), rule.into()),
        Err(e) => {
            let api = pat_refused(e);
            let code = if api.status == StatusCode::UNAUTHORIZED {
                "invalid_token"
            } else {
                "invalid_request"
            };
            bigpay_error(code, api)
        }
    }
}

async fn pay(
    state: &AppState,
    headers: &HeaderMap,
    body: BigpayRequest,
) -> Result<Response, ServiceError> {
    let pat = payment_access_token(headers, true).map_err(|_| ServiceError::Unauthorized)?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let store = state.kassa.storefront_store(host).await?;
    let payment = body.payment.unwrap_or_default();
    let method = payment.gateway.unwrap_or_default();
    let card = payment.credit_card.ok_or_else(|| {
        DomainError::field(
            "payment.credit_card",
            "The field `payment.credit_card` is required: Kassa takes cards here.",
        )
    })?;
    let instrument = PaymentInstrument::Card {
        card: CardInput {
            number: card.number.unwrap_or_default(),
            cardholder_name: card.account_name.unwrap_or_default(),
            expiry_month: card.month.unwrap_or_default(),
            expiry_year: card.year.unwrap_or_default(),
            verification_value: card.verification_value.unwrap_or_default(),
        },
        save: false,
    };
    let done = state
        .kassa
        .process_payment(&store.hash, pat, &method, &instrument)
        .await?;
    Ok(respond(
        StatusCode::OK,
        &json!({"status": "ok", "id": done.id, "transaction_type": done.transaction_type,
                "payment_status": done.status}),
    ))
}
