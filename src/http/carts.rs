//! Server-to-server Cart API (`carts.v3.yml`): routes, wire types, and their
//! mapping onto the domain.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, Includes, JsonBody};
use super::wire::{Envelope, rfc3339};
use crate::domain::cart::{
    Cart, Contact, CustomItemSpec, GiftCertificateSpec, LineItem, LineItemChange, LineItemSpec,
    OptionSelection, SelectionValue,
};
use crate::domain::catalog::ProductType;
use crate::domain::coupon::CouponType;
use crate::domain::money::Money;
use crate::domain::scope::Scope;
use crate::service::carts::{CreateCart, ItemUpdate, RedirectUrls};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_cart, update_cart, delete_cart))
        .routes(routes!(add_cart_items))
        .routes(routes!(update_cart_item, delete_cart_item))
        .routes(routes!(create_redirect_urls))
}

// ---------- requests ----------

#[derive(Deserialize, ToSchema, Default)]
pub struct CreateCartRequest {
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub channel_id: Option<i64>,
    #[serde(default)]
    pub currency: Option<CurrencyRequest>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItemRequest>,
    #[serde(default)]
    pub custom_items: Vec<CustomItemRequest>,
    #[serde(default)]
    pub gift_certificates: Vec<GiftCertificateRequest>,
}

#[derive(Deserialize, ToSchema)]
pub struct CurrencyRequest {
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LineItemRequest {
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    pub product_id: i64,
    pub variant_id: Option<i64>,
    #[schema(value_type = Option<f64>)]
    pub list_price: Option<Decimal>,
    pub name: Option<String>,
    #[serde(default)]
    pub option_selections: Vec<OptionSelectionRequest>,
    pub gift_wrapping: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct OptionSelectionRequest {
    pub option_id: i64,
    /// A value id, free text, a number, or a structured value (dates, files).
    #[schema(value_type = Object)]
    pub option_value: serde_json::Value,
    pub name: Option<String>,
    pub value: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CustomItemRequest {
    #[serde(default)]
    pub sku: String,
    pub name: String,
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    #[schema(value_type = f64)]
    pub list_price: Decimal,
    #[serde(default)]
    pub image_url: String,
}

#[derive(Deserialize, ToSchema)]
pub struct GiftCertificateRequest {
    pub name: String,
    pub theme: String,
    #[schema(value_type = f64)]
    pub amount: Decimal,
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    pub sender: ContactWire,
    pub recipient: ContactWire,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
pub struct ContactWire {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct AddItemsRequest {
    #[serde(default)]
    pub line_items: Vec<LineItemRequest>,
    #[serde(default)]
    pub custom_items: Vec<CustomItemRequest>,
    #[serde(default)]
    pub gift_certificates: Vec<GiftCertificateRequest>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateItemRequest {
    #[serde(default)]
    pub line_item: Option<UpdateLineItem>,
    #[serde(default)]
    pub gift_certificate: Option<GiftCertificateRequest>,
    #[serde(default)]
    pub gift_certificates: Vec<GiftCertificateRequest>,
    #[serde(default)]
    pub custom_items: Vec<UpdateCustomItem>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// `line_item` of an item update: product and variant may be left out to keep the line's own.
#[derive(Deserialize, ToSchema)]
pub struct UpdateLineItem {
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    #[schema(value_type = Option<f64>)]
    pub list_price: Option<Decimal>,
    pub name: Option<String>,
    pub option_selections: Option<Vec<OptionSelectionRequest>>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateCustomItem {
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    #[schema(value_type = Option<f64>)]
    pub list_price: Option<Decimal>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct UpdateCartRequest {
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct VersionRequest {
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RedirectUrlsRequest {
    /// Extra query parameters appended to every URL.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub query_params: serde_json::Value,
}

pub fn whole_quantity(q: Decimal, field: &str) -> ApiResult<i64> {
    if !q.fract().is_zero() {
        return Err(ApiError::unprocessable(
            field,
            "Quantity must be a whole number.",
        ));
    }
    i64::try_from(q).map_err(|_| ApiError::unprocessable(field, "Quantity is out of range."))
}

pub(crate) fn selection(s: &OptionSelectionRequest) -> OptionSelection {
    let value = match &s.option_value {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => SelectionValue::Id(i),
            None => SelectionValue::Text(n.to_string()),
        },
        serde_json::Value::String(t) => SelectionValue::Text(t.clone()),
        serde_json::Value::Bool(b) => SelectionValue::Text(b.to_string()),
        other => SelectionValue::Json(other.clone()),
    };
    OptionSelection {
        option_id: s.option_id,
        value,
    }
}

fn line_spec(r: &LineItemRequest, field: &str) -> ApiResult<LineItemSpec> {
    if r.gift_wrapping.as_ref().is_some_and(|g| !g.is_null()) {
        return Err(ApiError::unprocessable(
            &format!("{field}.gift_wrapping"),
            "This store offers no gift wrapping options.",
        ));
    }
    Ok(LineItemSpec {
        product_id: r.product_id,
        variant_id: r.variant_id,
        quantity: whole_quantity(r.quantity, &format!("{field}.quantity"))?,
        list_price: r.list_price.map(Money::new),
        name: r.name.clone(),
        option_selections: r.option_selections.iter().map(selection).collect(),
    })
}

fn custom_spec(r: &CustomItemRequest, field: &str) -> ApiResult<CustomItemSpec> {
    Ok(CustomItemSpec {
        sku: r.sku.clone(),
        name: r.name.clone(),
        quantity: whole_quantity(r.quantity, &format!("{field}.quantity"))?,
        list_price: Money::new(r.list_price),
        image_url: r.image_url.clone(),
    })
}

pub(crate) fn gift_spec(r: &GiftCertificateRequest, field: &str) -> ApiResult<GiftCertificateSpec> {
    Ok(GiftCertificateSpec {
        name: r.name.clone(),
        theme: r.theme.clone(),
        amount: Money::new(r.amount),
        quantity: whole_quantity(r.quantity, &format!("{field}.quantity"))?,
        sender: Contact {
            name: r.sender.name.clone(),
            email: r.sender.email.clone(),
        },
        recipient: Contact {
            name: r.recipient.name.clone(),
            email: r.recipient.email.clone(),
        },
        message: r.message.clone(),
    })
}

type Specs = (
    Vec<LineItemSpec>,
    Vec<CustomItemSpec>,
    Vec<GiftCertificateSpec>,
);

pub fn specs(
    line_items: &[LineItemRequest],
    custom_items: &[CustomItemRequest],
    gift_certificates: &[GiftCertificateRequest],
) -> ApiResult<Specs> {
    let lines = line_items
        .iter()
        .enumerate()
        .map(|(i, l)| line_spec(l, &format!("line_items[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    let customs = custom_items
        .iter()
        .enumerate()
        .map(|(i, c)| custom_spec(c, &format!("custom_items[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    let gifts = gift_certificates
        .iter()
        .enumerate()
        .map(|(i, g)| gift_spec(g, &format!("gift_certificates[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((lines, customs, gifts))
}

pub(crate) fn parse_cart_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found(format!("Cart {s} does not exist.")))
}

pub(crate) fn parse_item_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::not_found(format!("Line item {s} does not exist on this cart.")))
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct CartWire {
    pub id: Uuid,
    pub customer_id: i64,
    pub channel_id: i64,
    pub email: String,
    pub currency: CurrencyWire,
    pub tax_included: bool,
    #[schema(value_type = f64)]
    pub base_amount: Money,
    #[schema(value_type = f64)]
    pub discount_amount: Money,
    #[schema(value_type = f64)]
    pub manual_discount_amount: Money,
    #[schema(value_type = f64)]
    pub cart_amount: Money,
    pub coupons: Vec<serde_json::Value>,
    pub discounts: Vec<serde_json::Value>,
    pub line_items: LineItemsWire,
    pub created_time: String,
    pub updated_time: String,
    pub locale: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_urls: Option<RedirectUrlsWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub promotions: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct CurrencyWire {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct LineItemsWire {
    pub physical_items: Vec<ItemWire>,
    pub digital_items: Vec<ItemWire>,
    pub gift_certificates: Vec<GiftCertificateWire>,
    pub custom_items: Vec<CustomItemWire>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemWire {
    pub id: Uuid,
    pub variant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub url: String,
    pub quantity: i64,
    pub taxable: bool,
    pub image_url: String,
    pub discounts: Vec<serde_json::Value>,
    pub coupons: Vec<serde_json::Value>,
    #[schema(value_type = f64)]
    pub discount_amount: Money,
    #[schema(value_type = f64)]
    pub coupon_amount: Money,
    #[schema(value_type = f64)]
    pub original_price: Money,
    #[schema(value_type = f64)]
    pub list_price: Money,
    #[schema(value_type = f64)]
    pub sale_price: Money,
    #[schema(value_type = f64)]
    pub extended_list_price: Money,
    #[schema(value_type = f64)]
    pub extended_sale_price: Money,
    pub is_require_shipping: bool,
    pub is_mutable: bool,
    pub added_by_promotion: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionWire>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_file_urls: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionWire {
    pub name: String,
    #[serde(rename = "nameId")]
    pub name_id: i64,
    pub value: String,
    #[serde(rename = "valueId", skip_serializing_if = "Option::is_none")]
    pub value_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCertificateWire {
    pub id: Uuid,
    pub name: String,
    pub theme: String,
    #[schema(value_type = f64)]
    pub amount: Money,
    pub quantity: i64,
    pub taxable: bool,
    pub sender: ContactWire,
    pub recipient: ContactWire,
    pub message: String,
}

/// `carts.v3.yml` types a custom item's `quantity` and `list_price` as strings.
#[derive(Serialize, ToSchema)]
pub struct CustomItemWire {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: String,
    pub list_price: String,
    #[schema(value_type = f64)]
    pub extended_list_price: Money,
    pub image_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct RedirectUrlsWire {
    pub cart_url: String,
    pub checkout_url: String,
    pub embedded_checkout_url: String,
}

impl From<RedirectUrls> for RedirectUrlsWire {
    fn from(r: RedirectUrls) -> Self {
        RedirectUrlsWire {
            cart_url: r.cart_url,
            checkout_url: r.checkout_url,
            embedded_checkout_url: r.embedded_checkout_url,
        }
    }
}

fn item_wire(l: &LineItem, with_options: bool, base: &str) -> ItemWire {
    ItemWire {
        id: l.id,
        variant_id: l.variant_id,
        product_id: l.product_id,
        sku: l.sku.clone(),
        name: l.name.clone(),
        url: absolute_url(base, &l.url),
        quantity: l.quantity,
        taxable: l.taxable,
        image_url: l.image_url.clone(),
        discounts: l
            .pricing
            .discounts
            .iter()
            .map(|d| serde_json::json!({"id": d.id, "discounted_amount": d.amount}))
            .collect(),
        coupons: Vec::new(),
        discount_amount: l.pricing.discount_amount,
        coupon_amount: l.pricing.coupon_amount,
        original_price: l.original_price,
        list_price: l.pricing.list_price,
        sale_price: l.pricing.sale_price,
        extended_list_price: l.pricing.extended_list_price,
        extended_sale_price: l.pricing.extended_sale_price,
        is_require_shipping: l.kind == ProductType::Physical,
        is_mutable: true,
        added_by_promotion: false,
        options: with_options.then(|| {
            l.options
                .iter()
                .map(|o| OptionWire {
                    name: o.name.clone(),
                    name_id: o.name_id,
                    value: o.value.clone(),
                    value_id: o.value_id,
                })
                .collect()
        }),
        download_file_urls: (l.kind == ProductType::Digital).then(Vec::new),
    }
}

/// `base` makes catalog paths absolute (`https://shop.example/kassa-t-shirt/`).
pub fn cart_wire(cart: &Cart, inc: &Includes, base: &str) -> CartWire {
    let physical_opts = inc.has("line_items.physical_items.options");
    let digital_opts = inc.has("line_items.digital_items.options");
    CartWire {
        id: cart.id,
        customer_id: cart.customer_id,
        channel_id: cart.channel_id,
        email: cart.email.clone(),
        currency: CurrencyWire {
            code: cart.currency.code.clone(),
        },
        tax_included: cart.tax_included,
        base_amount: cart.totals.base_amount,
        discount_amount: cart.totals.discount_amount,
        manual_discount_amount: cart.totals.manual_discount_amount,
        // Includes tax where a checkout address makes it apply, as BigCommerce's does.
        cart_amount: cart.checkout.totals.cart_amount_inc_tax,
        coupons: cart_coupons_wire(cart),
        discounts: super::checkouts::cart_discounts_wire(cart),
        line_items: LineItemsWire {
            physical_items: cart
                .line_items
                .iter()
                .filter(|l| l.kind == ProductType::Physical)
                .map(|l| item_wire(l, physical_opts, base))
                .collect(),
            digital_items: cart
                .line_items
                .iter()
                .filter(|l| l.kind == ProductType::Digital)
                .map(|l| item_wire(l, digital_opts, base))
                .collect(),
            gift_certificates: cart
                .gift_certificates
                .iter()
                .map(|g| GiftCertificateWire {
                    id: g.id,
                    name: g.name.clone(),
                    theme: g.theme.clone(),
                    amount: g.amount,
                    quantity: g.quantity,
                    taxable: false,
                    sender: ContactWire {
                        name: g.sender.name.clone(),
                        email: g.sender.email.clone(),
                    },
                    recipient: ContactWire {
                        name: g.recipient.name.clone(),
                        email: g.recipient.email.clone(),
                    },
                    message: g.message.clone(),
                })
                .collect(),
            custom_items: cart
                .custom_items
                .iter()
                .map(|c| CustomItemWire {
                    id: c.id,
                    sku: c.sku.clone(),
                    name: c.name.clone(),
                    quantity: c.quantity.to_string(),
                    list_price: c.list_price.to_string(),
                    extended_list_price: c.extended_list_price,
                    image_url: c.image_url.clone(),
                })
                .collect(),
        },
        created_time: rfc3339(cart.created_time),
        updated_time: rfc3339(cart.updated_time),
        locale: cart.locale.clone(),
        version: cart.version,
        redirect_urls: None,
        // `carts.v3.yml` types `banners` as one object: the first banner, if any.
        promotions: inc
            .has("promotions.banners")
            .then(|| match cart.checkout.banners.first() {
                Some(b) => serde_json::json!({"banners": {
                    "id": b.promotion_id.to_string(),
                    "type": b.kind,
                    "page": b.pages,
                    "text": b.text,
                }}),
                None => serde_json::json!({}),
            }),
    }
}

/// `coupons` as the Cart API shows them: string ids and numbered types (`"2"` is
/// `per_total_discount`), where the Checkout API uses numbers and names.
fn cart_coupons_wire(cart: &Cart) -> Vec<serde_json::Value> {
    cart.checkout
        .coupons
        .iter()
        .map(|c| {
            let number = CouponType::parse(&c.coupon_type)
                .and_then(|t| CouponType::ALL.iter().position(|x| *x == t))
                .unwrap_or(5);
            serde_json::json!({
                "id": c.id.to_string(),
                "code": c.code,
                "coupon_type": number.to_string(),
                "display_name": c.display_name,
                "discounted_amount": c.discounted_amount,
            })
        })
        .collect()
}

pub(crate) fn absolute_url(base: &str, path: &str) -> String {
    if path.is_empty() || path.starts_with("http://") || path.starts_with("https://") {
        path.to_string()
    } else {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

fn cart_response(status: StatusCode, cart: CartWire) -> Response {
    (status, Envelope::new(cart)).into_response()
}

// ---------- handlers ----------

/// Create a cart.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/carts", tag = "Carts", operation_id = "createCart",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query, description = "redirect_urls, line_items.physical_items.options, line_items.digital_items.options, promotions.banners")),
    request_body = CreateCartRequest,
    responses((status = 201, description = "The new cart", body = inline(Envelope<CartWire>)), (status = 422, body = ErrorBody)))]
async fn create_cart(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<CreateCartRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let inc = Includes::from_query(q.as_deref());
    let (line_items, custom_items, gift_certificates) = specs(
        &body.line_items,
        &body.custom_items,
        &body.gift_certificates,
    )?;
    let cart = state
        .kassa
        .create_cart(
            &who,
            CreateCart {
                customer_id: body.customer_id.unwrap_or(0),
                channel_id: body.channel_id.unwrap_or(1),
                currency_code: body.currency.map(|c| c.code),
                locale: body.locale,
                line_items,
                custom_items,
                gift_certificates,
            },
        )
        .await?;
    let mut wire = cart_wire(&cart, &inc, &state.kassa.public_url);
    if inc.has("redirect_urls") {
        let urls = state.kassa.create_redirect_urls(&who, cart.id, &[]).await?;
        wire.redirect_urls = Some(urls.into());
    }
    Ok(cart_response(StatusCode::CREATED, wire))
}

/// Get a cart.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/carts/{cart_id}", tag = "Carts", operation_id = "getCart",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("include" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<CartWire>)), (status = 404, body = ErrorBody)))]
async fn get_cart(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::CartReadOnly)?;
    let id = parse_cart_id(&path.1)?;
    let inc = Includes::from_query(q.as_deref());
    let cart = state.kassa.get_cart(&who, id).await?;
    let mut wire = cart_wire(&cart, &inc, &state.kassa.public_url);
    if inc.has("redirect_urls") && who.scopes.allows(Scope::Cart) {
        let urls = state.kassa.create_redirect_urls(&who, id, &[]).await?;
        wire.redirect_urls = Some(urls.into());
    }
    Ok(cart_response(StatusCode::OK, wire))
}

/// Update a cart's customer.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/{cart_id}", tag = "Carts", operation_id = "updateCart",
    params(("store_hash" = String, Path), ("cart_id" = String, Path)),
    request_body = UpdateCartRequest,
    responses((status = 200, body = inline(Envelope<CartWire>)), (status = 409, body = ErrorBody)))]
async fn update_cart(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<UpdateCartRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let id = parse_cart_id(&path.1)?;
    let customer_id = body
        .customer_id
        .ok_or_else(|| ApiError::unprocessable("customer_id", "customer_id is required."))?;
    let cart = state
        .kassa
        .update_cart_customer(&who, id, customer_id, body.version)
        .await?;
    let inc = Includes::from_query(q.as_deref());
    Ok(cart_response(
        StatusCode::OK,
        cart_wire(&cart, &inc, &state.kassa.public_url),
    ))
}

/// Delete a cart.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/carts/{cart_id}", tag = "Carts", operation_id = "deleteCart",
    params(("store_hash" = String, Path), ("cart_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_cart(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::Cart)?;
    let id = parse_cart_id(&path.1)?;
    state.kassa.delete_cart(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add items to a cart.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/carts/{cart_id}/items", tag = "Carts", operation_id = "addCartLineItems",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("include" = Option<String>, Query)),
    request_body = AddItemsRequest,
    responses((status = 201, body = inline(Envelope<CartWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_cart_items(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<AddItemsRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let id = parse_cart_id(&path.1)?;
    let (line_items, custom_items, gift_certificates) = specs(
        &body.line_items,
        &body.custom_items,
        &body.gift_certificates,
    )?;
    let cart = state
        .kassa
        .add_cart_items(
            &who,
            id,
            body.version,
            line_items,
            custom_items,
            gift_certificates,
        )
        .await?;
    let inc = Includes::from_query(q.as_deref());
    Ok(cart_response(
        StatusCode::CREATED,
        cart_wire(&cart, &inc, &state.kassa.public_url),
    ))
}

/// Update one item. A quantity of 0 removes it; removing the last item deletes the cart (204).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/carts/{cart_id}/items/{item_id}", tag = "Carts", operation_id = "updateCartLineItem",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("item_id" = String, Path), ("include" = Option<String>, Query)),
    request_body = UpdateItemRequest,
    responses((status = 200, body = inline(Envelope<CartWire>)), (status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_cart_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<UpdateItemRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let id = parse_cart_id(&path.1)?;
    let item = parse_item_id(&path.2)?;
    let update = if let Some(l) = &body.line_item {
        let quantity = whole_quantity(l.quantity, "line_item.quantity")?;
        if quantity < 0 {
            return Err(ApiError::unprocessable(
                "line_item.quantity",
                "Quantity cannot be negative.",
            ));
        }
        ItemUpdate::LineItem(LineItemChange {
            product_id: l.product_id,
            variant_id: l.variant_id,
            quantity,
            list_price: l.list_price.map(Money::new),
            name: l.name.clone(),
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
        ItemUpdate::GiftCertificate(gift_spec(g, "gift_certificate")?)
    } else if let Some(c) = body.custom_items.first() {
        ItemUpdate::Custom {
            quantity: whole_quantity(c.quantity, "custom_items[0].quantity")?,
            list_price: c.list_price.map(Money::new),
        }
    } else {
        return Err(ApiError::unprocessable(
            "line_item",
            "Send `line_item` (or `gift_certificate`) with the item's new values.",
        ));
    };
    match state
        .kassa
        .update_cart_item(&who, id, item, body.version, update)
        .await?
    {
        Some(cart) => {
            let inc = Includes::from_query(q.as_deref());
            Ok(cart_response(
                StatusCode::OK,
                cart_wire(&cart, &inc, &state.kassa.public_url),
            ))
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Delete one item; deleting the last one deletes the cart (204).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/carts/{cart_id}/items/{item_id}", tag = "Carts", operation_id = "deleteCartLineItem",
    params(("store_hash" = String, Path), ("cart_id" = String, Path), ("item_id" = String, Path), ("include" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<CartWire>)), (status = 204), (status = 404, body = ErrorBody)))]
async fn delete_cart_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<VersionRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let id = parse_cart_id(&path.1)?;
    let item = parse_item_id(&path.2)?;
    match state
        .kassa
        .delete_cart_item(&who, id, item, body.version)
        .await?
    {
        Some(cart) => {
            let inc = Includes::from_query(q.as_deref());
            Ok(cart_response(
                StatusCode::OK,
                cart_wire(&cart, &inc, &state.kassa.public_url),
            ))
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Create single-use URLs that open the cart on Kassa's hosted pages.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/carts/{cart_id}/redirect_urls", tag = "Carts", operation_id = "createCartRedirectURL",
    params(("store_hash" = String, Path), ("cart_id" = String, Path)),
    request_body = RedirectUrlsRequest,
    responses((status = 201, body = inline(Envelope<RedirectUrlsWire>)), (status = 404, body = ErrorBody)))]
async fn create_redirect_urls(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<RedirectUrlsRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::Cart)?;
    let JsonBody(body) = body?;
    let id = parse_cart_id(&path.1)?;
    let params = query_params(&body.query_params)?;
    let urls = state.kassa.create_redirect_urls(&who, id, &params).await?;
    Ok((
        StatusCode::CREATED,
        Envelope::new(RedirectUrlsWire::from(urls)),
    )
        .into_response())
}

/// `query_params` is either `{key, value}` (as the spec shows) or a plain map.
fn query_params(v: &serde_json::Value) -> ApiResult<Vec<(String, String)>> {
    let as_text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match v {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Object(m) => {
            if let (Some(k), Some(val)) = (
                m.get("key").and_then(as_text),
                m.get("value").and_then(as_text),
            ) {
                return Ok(vec![(k, val)]);
            }
            m.iter()
                .map(|(k, val)| {
                    as_text(val).map(|t| (k.clone(), t)).ok_or_else(|| {
                        ApiError::unprocessable(
                            &format!("query_params.{k}"),
                            "Query parameter values must be strings or numbers.",
                        )
                    })
                })
                .collect()
        }
        _ => Err(ApiError::unprocessable(
            "query_params",
            "query_params must be an object.",
        )),
    }
}
