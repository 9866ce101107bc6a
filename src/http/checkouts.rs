//! Server-to-server Checkout API (`checkouts.v3.yml`): routes, wire types, and their
//! mapping onto the domain. The checkout id is the cart id.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, Includes, JsonBody};
use super::wire::{Envelope, rfc3339};
use crate::domain::address::{Address, CustomField};
use crate::domain::cart::{Cart, LineItem};
use crate::domain::catalog::ProductType;
use crate::domain::checkout::{
    AddressRecord, Consignment, ConsignmentChange, ConsignmentItem, ConsignmentSpec, FeeSpec,
    MANUAL_DISCOUNT_ID,
};
use crate::domain::money::Money;
use crate::domain::scope::Scope;
use crate::domain::shipping::ShippingQuote;
use crate::store::IdempotencyClaim;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_checkout, update_checkout))
        .routes(routes!(add_billing_address))
        .routes(routes!(update_billing_address))
        .routes(routes!(add_consignments))
        .routes(routes!(update_consignment, delete_consignment))
        .routes(routes!(add_coupon))
        .routes(routes!(delete_coupon))
        .routes(routes!(add_discounts))
        .routes(routes!(add_fees, update_fees, delete_fees))
        .routes(routes!(create_order))
        .routes(routes!(add_gift_certificate))
        .routes(routes!(remove_gift_certificate))
        .routes(routes!(add_store_credit, remove_store_credit))
}

// ---------- requests ----------

#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct AddressRequest {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub address1: String,
    #[serde(default)]
    pub address2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state_or_province: String,
    #[serde(default)]
    pub state_or_province_code: String,
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldWire>,
    /// Add this address to the signed-in customer's address book when the order is
    /// placed (the storefront's `shouldSaveAddress`; an address the customer has is not
    /// saved twice; ignored for guests).
    #[serde(default)]
    pub should_save_address: bool,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
pub struct CustomFieldWire {
    #[serde(default)]
    pub field_id: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub field_value: Value,
}

impl AddressRequest {
    pub fn into_domain(self) -> Address {
        Address {
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            company: self.company,
            address1: self.address1,
            address2: self.address2,
            city: self.city,
            state_or_province: self.state_or_province,
            state_or_province_code: self.state_or_province_code,
            country_code: self.country_code,
            country: String::new(),
            postal_code: self.postal_code,
            phone: self.phone,
            custom_fields: self
                .custom_fields
                .into_iter()
                .map(|f| CustomField {
                    field_id: f.field_id,
                    field_value: f.field_value,
                })
                .collect(),
            should_save: self.should_save_address,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CustomerMessageRequest {
    #[serde(default)]
    pub customer_message: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConsignmentRequest {
    #[serde(default)]
    pub address: Option<AddressRequest>,
    #[serde(default)]
    pub line_items: Vec<ConsignmentItemWire>,
    #[serde(default)]
    pub pickup_option: Option<PickupOptionWire>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct ConsignmentItemWire {
    pub item_id: String,
    pub quantity: i64,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct PickupOptionWire {
    pub pickup_method_id: i64,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateConsignmentRequest {
    #[serde(default)]
    pub address: Option<AddressRequest>,
    #[serde(default)]
    pub line_items: Option<Vec<ConsignmentItemWire>>,
    #[serde(default)]
    pub shipping_option_id: Option<String>,
    #[serde(default)]
    pub pickup_option: Option<PickupOptionWire>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct VersionBody {
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CouponRequest {
    #[serde(default)]
    pub coupon_code: String,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct GiftCertificateRequest {
    #[serde(default)]
    pub gift_certificate_code: String,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderCreated {
    pub id: i64,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DiscountsRequest {
    #[serde(default)]
    pub cart: DiscountsCart,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DiscountsCart {
    #[serde(default)]
    pub discounts: Vec<DiscountAmount>,
    #[serde(default)]
    pub line_items: Vec<LineDiscount>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct DiscountAmount {
    #[schema(value_type = f64)]
    pub discounted_amount: Decimal,
}

#[derive(Deserialize, ToSchema)]
pub struct LineDiscount {
    pub id: String,
    #[schema(value_type = f64)]
    pub discounted_amount: Decimal,
}

#[derive(Deserialize, ToSchema)]
pub struct FeeRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub fee_type: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[schema(value_type = f64)]
    pub cost: Decimal,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub tax_class_id: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct FeesRequest {
    #[serde(default)]
    pub fees: Vec<FeeRequest>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct DeleteFeesRequest {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

fn fee_spec(f: &FeeRequest, i: usize) -> ApiResult<FeeSpec> {
    if let Some(t) = &f.fee_type
        && t != "custom_fee"
    {
        return Err(ApiError::unprocessable(
            &format!("fees[{i}].type"),
            "The only fee type is `custom_fee`.",
        ));
    }
    Ok(FeeSpec {
        name: f.name.clone(),
        display_name: f.display_name.clone(),
        cost: Money::new(f.cost),
        source: f.source.clone(),
        tax_class_id: f.tax_class_id,
    })
}

fn parse_uuid(s: &str, field: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        ApiError::unprocessable(
            field,
            format!("{what} `{s}` is not an id of this checkout."),
        )
    })
}

pub(crate) fn checkout_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found(format!("Checkout {s} does not exist.")))
}

pub(crate) fn consignment_items(
    items: &[ConsignmentItemWire],
    prefix: &str,
) -> ApiResult<Vec<ConsignmentItem>> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            Ok(ConsignmentItem {
                item_id: parse_uuid(
                    &it.item_id,
                    &format!("{prefix}line_items[{i}].item_id"),
                    "Item",
                )?,
                quantity: it.quantity,
            })
        })
        .collect()
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct CheckoutWire {
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub cart: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    pub consignments: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub taxes: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub coupons: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub fees: Vec<Value>,
    pub order_id: Option<String>,
    #[schema(value_type = f64)]
    pub shipping_cost_total_inc_tax: Money,
    #[schema(value_type = f64)]
    pub shipping_cost_total_ex_tax: Money,
    #[schema(value_type = f64)]
    pub handling_cost_total_inc_tax: Money,
    #[schema(value_type = f64)]
    pub handling_cost_total_ex_tax: Money,
    #[schema(value_type = f64)]
    pub tax_total: Money,
    #[schema(value_type = f64)]
    pub subtotal_inc_tax: Money,
    #[schema(value_type = f64)]
    pub subtotal_ex_tax: Money,
    #[schema(value_type = f64)]
    pub grand_total: Money,
    pub created_time: String,
    pub updated_time: String,
    pub customer_message: String,
    #[schema(value_type = Vec<Object>)]
    pub promotions: Vec<Value>,
    /// Kassa: gift certificates offered as payment (`POST …/gift-certificates`).
    #[schema(value_type = Vec<Object>)]
    pub gift_certificates: Vec<Value>,
    /// Kassa: whether the customer's store credit is applied.
    pub is_store_credit_applied: bool,
    #[schema(value_type = f64)]
    pub store_credit_used: Money,
    /// Kassa: what is left to pay after gift certificates and store credit.
    #[schema(value_type = f64)]
    pub outstanding_balance: Money,
    pub version: i64,
}

fn address_wire(a: &AddressRecord) -> Value {
    let x = &a.address;
    json!({
        "id": a.id,
        "first_name": x.first_name,
        "last_name": x.last_name,
        "email": x.email,
        "company": x.company,
        "address1": x.address1,
        "address2": x.address2,
        "city": x.city,
        "state_or_province": x.state_or_province,
        "state_or_province_code": x.state_or_province_code,
        "country": x.country,
        "country_code": x.country_code,
        "postal_code": x.postal_code,
        "phone": x.phone,
        "custom_fields": x.custom_fields.iter().map(|f| json!({"field_id": f.field_id, "field_value": f.field_value})).collect::<Vec<_>>(),
    })
}

fn quote_wire(q: &ShippingQuote) -> Value {
    json!({
        "id": q.id,
        "description": q.description,
        "type": q.kind,
        "image_url": "",
        "cost": crate::domain::checkout::shipping_and_handling(q).0,
        "transit_time": q.transit_time,
        "additional_description": "",
    })
}

fn consignment_wire(c: &Consignment, with_options: bool) -> Value {
    let mut v = json!({
        "id": c.id,
        "address": address_wire(&c.address),
        "coupon_discounts": c.coupon_discounts.iter().map(|(code, amount)| json!({"code": code, "amount": amount})).collect::<Vec<_>>(),
        "discounts": c.promotion_ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        "shipping_cost_inc_tax": c.shipping_cost_inc_tax,
        "shipping_cost_ex_tax": c.shipping_cost_ex_tax,
        "handling_cost_inc_tax": c.handling_cost_inc_tax,
        "handling_cost_ex_tax": c.handling_cost_ex_tax,
        "line_item_ids": c.items.iter().map(|i| i.item_id.to_string()).collect::<Vec<_>>(),
    });
    if let Some(obj) = v.as_object_mut() {
        if with_options {
            obj.insert(
                "available_shipping_options".into(),
                Value::Array(c.available_options.iter().map(quote_wire).collect()),
            );
        }
        if let Some(q) = &c.selected_option {
            obj.insert("selected_shipping_option".into(), quote_wire(q));
        }
        if let Some(p) = c.pickup_method_id {
            obj.insert(
                "selected_pickup_option".into(),
                json!({ "pickup_method_id": p }),
            );
        }
    }
    v
}

fn checkout_item(l: &LineItem, with_options: bool, base: &str) -> Value {
    let discounts: Vec<Value> = l
        .pricing
        .discounts
        .iter()
        .map(|d| json!({"id": d.id, "discounted_amount": d.amount}))
        .collect();
    let mut v = json!({
        "id": l.id,
        "variant_id": l.variant_id,
        "product_id": l.product_id,
        "sku": l.sku,
        "name": l.name,
        "url": super::carts::absolute_url(base, &l.url),
        "quantity": l.quantity,
        "is_taxable": l.taxable,
        "image_url": l.image_url,
        "discounts": discounts,
        "discount_amount": l.pricing.discount_amount,
        "coupon_amount": l.pricing.coupon_amount,
        "original_price": l.original_price,
        "list_price": l.pricing.list_price,
        "sale_price": l.pricing.sale_price,
        "extended_list_price": l.pricing.extended_list_price,
        "extended_sale_price": l.pricing.extended_sale_price,
        "comparison_price": l.original_price,
        "extended_comparison_price": l.original_price.times(l.quantity as u32),
        "is_require_shipping": l.kind == ProductType::Physical,
        "is_mutable": true,
        "added_by_promotion": false,
    });
    if with_options && let Some(obj) = v.as_object_mut() {
        obj.insert(
            "options".into(),
            Value::Array(
                l.options
                    .iter()
                    .map(|o| json!({"name": o.name, "nameId": o.name_id, "value": o.value, "valueId": o.value_id}))
                    .collect(),
            ),
        );
    }
    v
}

pub fn checkout_wire(cart: &Cart, inc: &Includes, base: &str) -> CheckoutWire {
    let ck = &cart.checkout;
    let t = &ck.totals;
    let phys_opts = inc.has("cart.line_items.physical_items.options");
    let dig_opts = inc.has("cart.line_items.digital_items.options");
    let with_options = inc.has("consignments.available_shipping_options");
    let discounts = cart_discounts_wire(cart);
    let coupons = coupons_wire(cart);
    let cart_json = json!({
        "id": cart.id,
        "customer_id": cart.customer_id,
        "channel_id": cart.channel_id,
        "email": cart.email,
        "currency": {"code": cart.currency.code},
        "tax_included": cart.tax_included,
        "base_amount": cart.totals.base_amount,
        "discount_amount": cart.totals.discount_amount,
        "cart_amount_inc_tax": t.cart_amount_inc_tax,
        "cart_amount_ex_tax": t.cart_amount_ex_tax,
        "coupons": coupons,
        "discounts": discounts,
        "line_items": {
            "physical_items": cart.line_items.iter().filter(|l| l.kind == ProductType::Physical).map(|l| checkout_item(l, phys_opts, base)).collect::<Vec<_>>(),
            "digital_items": cart.line_items.iter().filter(|l| l.kind == ProductType::Digital).map(|l| checkout_item(l, dig_opts, base)).collect::<Vec<_>>(),
            "gift_certificates": cart.gift_certificates.iter().map(|g| json!({
                "id": g.id, "name": g.name, "theme": g.theme, "amount": g.amount, "taxable": false,
                "sender": {"name": g.sender.name, "email": g.sender.email},
                "recipient": {"name": g.recipient.name, "email": g.recipient.email},
                "message": g.message,
            })).collect::<Vec<_>>(),
            "custom_items": cart.custom_items.iter().map(|c| json!({
                "id": c.id, "sku": c.sku, "name": c.name, "quantity": c.quantity,
                "list_price": c.list_price, "extended_list_price": c.extended_list_price, "image_url": c.image_url,
                "discount_amount": c.discount_amount,
            })).collect::<Vec<_>>(),
        },
        "created_time": rfc3339(cart.created_time),
        "updated_time": rfc3339(cart.updated_time),
    });
    CheckoutWire {
        id: cart.id,
        cart: cart_json,
        billing_address: ck.billing_address.as_ref().map(address_wire),
        consignments: ck
            .consignments
            .iter()
            .map(|c| consignment_wire(c, with_options))
            .collect(),
        taxes: t
            .taxes
            .iter()
            .map(|x| json!({"name": x.name, "amount": x.amount}))
            .collect(),
        coupons: coupons_wire(cart),
        fees: ck
            .fees
            .iter()
            .map(|f| {
                json!({
                    "id": f.id, "type": "custom_fee", "name": f.name, "display_name": f.display_name,
                    "cost_inc_tax": f.cost_inc_tax, "cost_ex_tax": f.cost_ex_tax,
                    "source": f.source, "tax_class_id": f.tax_class_id,
                })
            })
            .collect(),
        order_id: None,
        shipping_cost_total_inc_tax: t.shipping_cost_total_inc_tax,
        shipping_cost_total_ex_tax: t.shipping_cost_total_ex_tax,
        handling_cost_total_inc_tax: t.handling_cost_total_inc_tax,
        handling_cost_total_ex_tax: t.handling_cost_total_ex_tax,
        tax_total: t.tax_total,
        subtotal_inc_tax: t.subtotal_inc_tax,
        subtotal_ex_tax: t.subtotal_ex_tax,
        grand_total: t.grand_total,
        created_time: rfc3339(cart.created_time),
        updated_time: rfc3339(cart.updated_time),
        customer_message: ck.customer_message.clone(),
        promotions: if inc.has("promotions.banners") {
            vec![json!({"banners": ck.banners.iter().map(|b| json!({
                "id": b.promotion_id.to_string(),
                "type": b.kind,
                "page": b.pages,
                "text": b.text,
            })).collect::<Vec<_>>()})]
        } else {
            Vec::new()
        },
        gift_certificates: ck
            .gift_certificates
            .iter()
            .map(|g| {
                json!({
                    "code": g.code,
                    "balance": g.balance,
                    "used": g.used,
                    "remaining": g.balance - g.used,
                    "purchase_date": rfc3339(g.purchase_date),
                })
            })
            .collect(),
        is_store_credit_applied: ck.store_credit.is_some(),
        store_credit_used: ck.payments.store_credit,
        outstanding_balance: ck.payments.outstanding_balance,
        version: cart.version,
    }
}

/// `cart.coupons`: every code on the checkout with what it takes off (0 while it does not apply).
pub fn coupons_wire(cart: &Cart) -> Vec<Value> {
    cart.checkout
        .coupons
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "code": c.code,
                "coupon_type": c.coupon_type,
                "display_name": c.display_name,
                "discounted_amount": c.discounted_amount,
            })
        })
        .collect()
}

/// `cart.discounts`: each automatic promotion that took something, then manual discounts.
pub fn cart_discounts_wire(cart: &Cart) -> Vec<Value> {
    let mut out: Vec<Value> = cart
        .checkout
        .promotion_discounts
        .iter()
        .map(|(id, amount)| json!({"id": id.to_string(), "discounted_amount": amount}))
        .collect();
    if cart.totals.manual_discount_amount > Money::ZERO {
        out.push(json!({"id": MANUAL_DISCOUNT_ID, "discounted_amount": cart.totals.manual_discount_amount}));
    }
    out
}

fn respond(state: &AppState, cart: &Cart, q: Option<&str>) -> Response {
    let inc = Includes::from_query(q);
    let render = || {
        serde_json::to_vec(&Envelope::new(checkout_wire(
            cart,
            &inc,
            &state.kassa.public_url,
        )))
        .ok()
    };
    match state.rendered_checkouts.body(cart, &inc.key(), render) {
        Some(body) => crate::http::wire::json_body_response(body),
        None => Envelope::new(checkout_wire(cart, &inc, &state.kassa.public_url)).into_response(),
    }
}

const INCLUDE_DOC: &str = "cart.line_items.physical_items.options, cart.line_items.digital_items.options, consignments.available_shipping_options, promotions.banners";

// ---------- handlers ----------

/// Get a checkout.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}", tag = "Checkouts", operation_id = "getCheckout",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody)))]
async fn get_checkout(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::CheckoutsReadOnly)?;
    let cart = state
        .kassa
        .get_checkout(&who, checkout_id(&path.1)?)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Update the customer message.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}", tag = "Checkouts", operation_id = "updateCheckout",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = CustomerMessageRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_checkout(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<CustomerMessageRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let message = body.customer_message.ok_or_else(|| {
        ApiError::unprocessable("customer_message", "customer_message is required.")
    })?;
    let cart = state
        .kassa
        .update_customer_message(&who, checkout_id(&path.1)?, message, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Add the billing address.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/billing-address", tag = "Checkouts", operation_id = "addCheckoutBillingAddress",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = AddressRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_billing_address(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<AddressRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let version = body.version;
    let cart = state
        .kassa
        .set_billing_address(
            &who,
            checkout_id(&path.1)?,
            None,
            body.into_domain(),
            version,
        )
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Update the billing address.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/billing-address/{address_id}", tag = "Checkouts", operation_id = "updateCheckoutBillingAddress",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("address_id" = String, Path)),
    request_body = AddressRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_billing_address(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<AddressRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let version = body.version;
    let cart = state
        .kassa
        .set_billing_address(
            &who,
            checkout_id(&path.1)?,
            Some(&path.2),
            body.into_domain(),
            version,
        )
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Add consignments (an array; items may be split over several addresses).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/consignments", tag = "Checkouts", operation_id = "createCheckoutConsignment",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    request_body = Vec<ConsignmentRequest>,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_consignments(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<Vec<ConsignmentRequest>>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
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
        .add_consignments(&who, checkout_id(&path.1)?, specs, version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Update one consignment: its address or items, or (separately) its shipping option.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/consignments/{consignment_id}", tag = "Checkouts", operation_id = "updateCheckoutConsignment",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("consignment_id" = String, Path), ("include" = Option<String>, Query, description = INCLUDE_DOC)),
    request_body = UpdateConsignmentRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_consignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<UpdateConsignmentRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
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
            &who,
            checkout_id(&path.1)?,
            &path.2,
            change,
            body.shipping_option_id,
            body.version,
        )
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Delete one consignment.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/consignments/{consignment_id}", tag = "Checkouts", operation_id = "deleteCheckoutConsignment",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("consignment_id" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody)))]
async fn delete_consignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<VersionBody>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let cart = state
        .kassa
        .delete_consignment(&who, checkout_id(&path.1)?, &path.2, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Apply a coupon code.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/coupons", tag = "Checkouts", operation_id = "addCheckoutCoupon",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = CouponRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 422, body = ErrorBody)))]
async fn add_coupon(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<CouponRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let cart = state
        .kassa
        .apply_coupon(&who, checkout_id(&path.1)?, &body.coupon_code, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Remove a coupon code.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/coupons/{coupon_code}", tag = "Checkouts", operation_id = "deleteCheckoutCoupon",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("coupon_code" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody)))]
async fn delete_coupon(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let cart = state
        .kassa
        .delete_coupon(&who, checkout_id(&path.1)?, &path.2)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Replace the manual discounts (cart-level amounts are spread over the lines by value).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/discounts", tag = "Checkouts", operation_id = "addCheckoutDiscount",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = DiscountsRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_discounts(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<DiscountsRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let cart_level = body
        .cart
        .discounts
        .iter()
        .map(|d| Money::new(d.discounted_amount))
        .collect();
    let per_line = body
        .cart
        .line_items
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok((
                parse_uuid(&l.id, &format!("cart.line_items[{i}].id"), "Line item")?,
                Money::new(l.discounted_amount),
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let cart = state
        .kassa
        .set_manual_discounts(
            &who,
            checkout_id(&path.1)?,
            cart_level,
            per_line,
            body.version.or(body.cart.version),
        )
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Add fees (at most 5 per checkout).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/fees", tag = "Checkouts", operation_id = "addCheckoutFees",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = FeesRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 422, body = ErrorBody)))]
async fn add_fees(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<FeesRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    if body.fees.is_empty() {
        return Err(ApiError::unprocessable("fees", "Send at least one fee."));
    }
    let fees = body
        .fees
        .iter()
        .enumerate()
        .map(|(i, f)| fee_spec(f, i))
        .collect::<ApiResult<Vec<_>>>()?;
    let cart = state
        .kassa
        .add_fees(&who, checkout_id(&path.1)?, fees, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Update fees by id.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/fees", tag = "Checkouts", operation_id = "updateCheckoutFees",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = FeesRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 422, body = ErrorBody)))]
async fn update_fees(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<FeesRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    if body.fees.is_empty() {
        return Err(ApiError::unprocessable("fees", "Send at least one fee."));
    }
    let fees = body
        .fees
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let id = f.id.as_deref().ok_or_else(|| {
                ApiError::unprocessable(
                    &format!("fees[{i}].id"),
                    "Each fee to update needs its id.",
                )
            })?;
            Ok((
                parse_uuid(id, &format!("fees[{i}].id"), "Fee")?,
                fee_spec(f, i)?,
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let cart = state
        .kassa
        .update_fees(&who, checkout_id(&path.1)?, fees, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Delete fees by id.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/fees", tag = "Checkouts", operation_id = "deleteCheckoutFees",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = DeleteFeesRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 422, body = ErrorBody)))]
async fn delete_fees(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<DeleteFeesRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    if body.ids.is_empty() {
        return Err(ApiError::unprocessable(
            "ids",
            "Send the ids of the fees to delete.",
        ));
    }
    let ids = body
        .ids
        .iter()
        .enumerate()
        .map(|(i, s)| parse_uuid(s, &format!("ids[{i}]"), "Fee"))
        .collect::<ApiResult<Vec<_>>>()?;
    let cart = state
        .kassa
        .delete_fees(&who, checkout_id(&path.1)?, ids, body.version)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Place an order from a complete checkout. Claims coupon and promotion uses and debits
/// applied gift certificates and store credit in the same transaction.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/orders", tag = "Checkouts", operation_id = "createOrder",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    responses((status = 200, body = inline(Envelope<OrderCreated>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_order(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    idempotency: Option<Extension<IdempotencyClaim>>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let id = state
        .kassa
        .create_order(
            &who,
            checkout_id(&path.1)?,
            idempotency.as_ref().map(|Extension(c)| c),
        )
        .await?;
    Ok(Envelope::new(OrderCreated { id }).into_response())
}

/// Kassa extension (BigCommerce offers this on the storefront API only): offer a gift
/// certificate as payment. Wrong codes are limited to 20 distinct codes per checkout per hour.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/gift-certificates", tag = "Checkouts", operation_id = "addCheckoutGiftCertificate",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    request_body = GiftCertificateRequest,
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn add_gift_certificate(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<GiftCertificateRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let JsonBody(body) = body?;
    let cart = state
        .kassa
        .apply_gift_certificate(
            &who,
            checkout_id(&path.1)?,
            &body.gift_certificate_code,
            body.version,
        )
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Kassa extension: take a gift certificate off the checkout.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/gift-certificates/{gift_certificate_code}", tag = "Checkouts", operation_id = "deleteCheckoutGiftCertificate",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path), ("gift_certificate_code" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody)))]
async fn remove_gift_certificate(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let cart = state
        .kassa
        .remove_gift_certificate(&who, checkout_id(&path.1)?, &path.2)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Kassa extension: apply all of the customer's store credit (up to the order's total).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/store-credit", tag = "Checkouts", operation_id = "addCheckoutStoreCredit",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_store_credit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let cart = state
        .kassa
        .apply_store_credit(&who, checkout_id(&path.1)?)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}

/// Kassa extension: stop using store credit on the checkout.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/checkouts/{checkout_id}/store-credit", tag = "Checkouts", operation_id = "removeCheckoutStoreCredit",
    params(("store_hash" = String, Path), ("checkout_id" = String, Path)),
    responses((status = 200, body = inline(Envelope<CheckoutWire>)), (status = 404, body = ErrorBody)))]
async fn remove_store_credit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::Checkouts)?;
    let cart = state
        .kassa
        .remove_store_credit(&who, checkout_id(&path.1)?)
        .await?;
    Ok(respond(&state, &cart, q.as_deref()))
}
