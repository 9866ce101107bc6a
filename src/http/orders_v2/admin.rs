//! V2 Orders API, the writing part: update (status, notes, message, archive), archive
//! one or all, shipments CRUD, and the remaining reads of `orders.v2.oas2.yml`
//! (messages, consignments, shipping quotes, fees). Writes need `store_v2_orders`.

use super::{
    AppState, BillingAddressWire, OrderWire, READ, ResourceLink, ShippingAddressWire, address_wire,
    api_base, date_param, int_param, link, load, order_wire, paged, param, query_pairs,
    shipping_address_wire,
};
use crate::domain::cart::{OptionSelection, SelectionValue};
use crate::domain::coupon::rfc2822;
use crate::domain::money::Money;
use crate::domain::order::PlacedOrder;
use crate::domain::order_admin::OrderFeeInput;
use crate::domain::order_admin::Shipment;
use crate::domain::scope::Scope;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, JsonBody};
use crate::http::v2::{self, V2Error, V2ErrorItem, V2Result};
use crate::service::order_admin::{
    NewAdminOrder, NewOrderLine, NewOrderProduct, OrderUpdate, ShipmentInput,
};
use crate::service::order_edits::{OrderEdits, ProductEdit};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

const WRITE: Scope = Scope::V2Orders;

// ---------- wire ----------

/// `order_Put`: the fields Kassa changes on a placed order. Documents the body; it is
/// read by hand so that any other field is named in the refusal.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct OrderPutRequest {
    pub status_id: Option<i64>,
    pub staff_notes: Option<String>,
    pub customer_message: Option<String>,
    /// `true` archives the order, as `DELETE /v2/orders/{id}` does.
    pub is_deleted: Option<bool>,
    /// Add (no `id`), change or remove (`quantity` 0) products; the order is priced again.
    pub products: Option<Vec<OrderProductRequest>>,
    /// Every fee the order keeps (with its `id`) or gets (without); others are deleted.
    pub fees: Option<Vec<OrderFeeRequest>>,
    /// The order's discount: replaces its products' discounts with this amount off the
    /// order, spread over the products by value. Without it, an edit keeps the
    /// discounts of the products it leaves alone and clears those of the products it
    /// changes; promotions and coupons are not worked out again.
    #[schema(value_type = Option<String>)]
    pub discount_amount: Option<Value>,
    /// Billing address fields to change.
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<Value>,
    /// Shipping addresses to change, each with its `id` (and optionally
    /// `shipping_method`), or to add (no `id`; numbered after the order's own, and
    /// given products with `order_address_id`).
    #[schema(value_type = Option<Vec<Object>>)]
    pub shipping_addresses: Option<Vec<Value>>,
}

const PUT_FIELDS: [&str; 9] = [
    "status_id",
    "staff_notes",
    "customer_message",
    "is_deleted",
    "products",
    "fees",
    "billing_address",
    "shipping_addresses",
    "discount_amount",
];

/// One product of `order_Post` (catalog or custom) or `order_Put` (also with the `id`
/// of the order product to change or, with `quantity` 0, remove).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderProductRequest {
    pub id: Option<i64>,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub name: Option<String>,
    pub name_customer: Option<String>,
    pub name_merchant: Option<String>,
    pub sku: Option<String>,
    /// Accepted as BigCommerce documents it; Kassa keeps no UPC on order lines.
    #[allow(dead_code)]
    pub upc: Option<String>,
    pub quantity: Option<i64>,
    /// The shipping address the product ships to: its position in the order's
    /// `shipping_addresses` (1, 2, …), needed when there are several (Kassa's addition;
    /// it is the `order_address_id` order products are read back with). On `PUT` with
    /// an `id`, moves the product's units there. Each order product ships to one
    /// address (a checkout line split over several is a product per address), so its
    /// `quantity` is that address's units; naming another address the same line goes
    /// to sets that address's units instead. For an order placed before Kassa listed a
    /// product per address (a split line listed once), it names the address whose
    /// units `quantity` sets, and is needed for any new quantity but 0.
    pub order_address_id: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub price_ex_tax: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub price_inc_tax: Option<Value>,
    #[serde(default)]
    pub product_options: Vec<ProductOptionRequest>,
}

/// A variant option or modifier value of a product (`{id, value}`).
#[derive(Deserialize, ToSchema)]
pub struct ProductOptionRequest {
    pub id: i64,
    /// An option value id, or the text of a text modifier.
    #[schema(value_type = String)]
    pub value: Value,
}

/// `orderFees_Post` / `orderFees_Put`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderFeeRequest {
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub display_name_customer: Option<String>,
    pub display_name_merchant: Option<String>,
    pub source: Option<String>,
    /// `cost_exc_tax` is read too, as BigCommerce's own examples spell it.
    #[serde(alias = "cost_exc_tax")]
    #[schema(value_type = Option<String>)]
    pub cost_ex_tax: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub cost_inc_tax: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub cost_tax: Option<Value>,
    pub tax_class_id: Option<i64>,
}

impl OrderFeeRequest {
    fn input(&self, field: &str) -> V2Result<OrderFeeInput> {
        Ok(OrderFeeInput {
            id: self.id,
            kind: self.kind.clone(),
            display_name_customer: self.display_name_customer.clone(),
            display_name_merchant: self.display_name_merchant.clone(),
            source: self.source.clone(),
            cost_ex_tax: amount(&self.cost_ex_tax, &format!("{field}.cost_ex_tax"))?,
            cost_inc_tax: amount(&self.cost_inc_tax, &format!("{field}.cost_inc_tax"))?,
            cost_tax: amount(&self.cost_tax, &format!("{field}.cost_tax"))?,
            tax_class_id: self.tax_class_id,
        })
    }
}

/// A list field of the body, each item read as `T`.
fn list_of<T: serde::de::DeserializeOwned>(v: &Value, field: &str) -> V2Result<Vec<T>> {
    let Some(items) = v.as_array() else {
        return Err(V2Error::bad_request(format!("`{field}` must be a list.")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item.clone())
                .map_err(|e| V2Error::bad_request(format!("{field}[{i}]: {e}.")))
        })
        .collect()
}

/// An address object's fields as (V2 name, text); `id` and `shipping_method` are left
/// to the caller.
fn address_fields(v: &Value, field: &str) -> V2Result<Vec<(String, String)>> {
    let Some(obj) = v.as_object() else {
        return Err(V2Error::bad_request(format!(
            "`{field}` must be an object of address fields."
        )));
    };
    let mut out = Vec::new();
    for (k, v) in obj {
        if k == "id" || k == "shipping_method" {
            continue;
        }
        let Some(text) = v.as_str() else {
            return Err(V2Error::bad_request(format!(
                "{field}.{k} must be a string."
            )));
        };
        out.push((k.clone(), text.to_string()));
    }
    Ok(out)
}

/// The price a product line is entered at: including tax when the store's prices do.
fn entered_price(p: &OrderProductRequest, field: &str, inc: bool) -> V2Result<Option<Money>> {
    let ex = amount(&p.price_ex_tax, &format!("{field}.price_ex_tax"))?;
    let inc_price = amount(&p.price_inc_tax, &format!("{field}.price_inc_tax"))?;
    Ok(if inc {
        inc_price.or(ex)
    } else {
        ex.or(inc_price)
    })
}

/// What one product of a request asks for: a new line, or a change to one the order has.
fn product_edit(p: &OrderProductRequest, i: usize, inc: bool) -> V2Result<ProductEdit> {
    let field = format!("products[{i}]");
    let price = entered_price(p, &field, inc)?;
    let name = p.name.clone().or_else(|| p.name_customer.clone());
    if let Some(id) = p.id {
        return Ok(ProductEdit::Change {
            id,
            quantity: p.quantity,
            price,
            name,
            order_address_id: p.order_address_id,
        });
    }
    let quantity = p
        .quantity
        .ok_or_else(|| V2Error::bad_request(format!("{field}.quantity: say how many to add.")))?;
    let product = match (p.product_id, name.or_else(|| p.name_merchant.clone())) {
        (Some(product_id), _) => NewOrderProduct::Catalog {
            product_id,
            variant_id: p.variant_id,
            quantity,
            price,
            options: p
                .product_options
                .iter()
                .map(|o| OptionSelection {
                    option_id: o.id,
                    value: match &o.value {
                        Value::Number(n) if n.is_i64() => {
                            SelectionValue::Id(n.as_i64().unwrap_or_default())
                        }
                        Value::String(s) => match s.trim().parse::<i64>() {
                            Ok(id) => SelectionValue::Id(id),
                            Err(_) => SelectionValue::Text(s.clone()),
                        },
                        other => SelectionValue::Json(other.clone()),
                    },
                })
                .collect(),
        },
        (None, Some(name)) => NewOrderProduct::Custom {
            name,
            sku: p.sku.clone().unwrap_or_default(),
            quantity,
            price: price.ok_or_else(|| {
                V2Error::bad_request(format!(
                    "{field}: a custom product needs price_ex_tax or price_inc_tax."
                ))
            })?,
        },
        (None, None) => {
            return Err(V2Error::bad_request(format!(
                "{field}: give a product_id (catalog product) or a name and price (custom product)."
            )));
        }
    };
    Ok(ProductEdit::Add(NewOrderLine {
        product,
        order_address_id: p.order_address_id,
    }))
}

fn order_edits(obj: &serde_json::Map<String, Value>, inc: bool) -> V2Result<OrderEdits> {
    let mut edits = OrderEdits::default();
    if let Some(v) = obj.get("products").filter(|v| !v.is_null()) {
        let products: Vec<OrderProductRequest> = list_of(v, "products")?;
        edits.products = products
            .iter()
            .enumerate()
            .map(|(i, p)| product_edit(p, i, inc))
            .collect::<V2Result<_>>()?;
    }
    if let Some(v) = obj.get("fees").filter(|v| !v.is_null()) {
        let fees: Vec<OrderFeeRequest> = list_of(v, "fees")?;
        edits.fees = Some(
            fees.iter()
                .enumerate()
                .map(|(i, f)| f.input(&format!("fees[{i}]")))
                .collect::<V2Result<_>>()?,
        );
    }
    if let Some(v) = obj.get("billing_address").filter(|v| !v.is_null()) {
        edits.billing_address = Some(address_fields(v, "billing_address")?);
    }
    edits.discount_amount = amount(&obj.get("discount_amount").cloned(), "discount_amount")?;
    if let Some(v) = obj.get("shipping_addresses").filter(|v| !v.is_null()) {
        let Some(items) = v.as_array() else {
            return Err(V2Error::bad_request("`shipping_addresses` must be a list."));
        };
        for (i, a) in items.iter().enumerate() {
            let field = format!("shipping_addresses[{i}]");
            let id = match &a["id"] {
                Value::Null => None,
                v => Some(v.as_i64().ok_or_else(|| {
                    V2Error::bad_request(format!(
                        "{field}.id: the id of the shipping address to change (see GET /v2/orders/{{id}}/shipping_addresses), or no id to add one."
                    ))
                })?),
            };
            let method = match &a["shipping_method"] {
                Value::Null => None,
                Value::String(m) => Some(m.clone()),
                _ => {
                    return Err(V2Error::bad_request(format!(
                        "{field}.shipping_method must be a shipping option id such as \"1-1\"."
                    )));
                }
            };
            let fields = address_fields(a, &field)?;
            match id {
                Some(id) => edits.shipping_addresses.push((id, fields, method)),
                None => edits.new_shipping_addresses.push((fields, method)),
            }
        }
    }
    Ok(edits)
}

fn order_update(body: &Value, inc: bool) -> V2Result<OrderUpdate> {
    let Some(obj) = body.as_object() else {
        return Err(V2Error::bad_request(
            "The body must be a JSON object of the order fields to change.",
        ));
    };
    if let Some(k) = obj.keys().find(|k| !PUT_FIELDS.contains(&k.as_str())) {
        return Err(V2Error::bad_request(format!(
            "`{k}` cannot be changed on a placed order here; Kassa changes {}.",
            PUT_FIELDS.join(", ")
        )));
    }
    let text = |k: &str| -> V2Result<Option<String>> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(V2Error::bad_request(format!("`{k}` must be a string."))),
        }
    };
    let status_id = match obj.get("status_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            V2Error::bad_request("`status_id` must be an integer order status id (0–14).")
        })?),
    };
    let is_deleted = match obj.get("is_deleted") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(V2Error::bad_request("`is_deleted` must be true or false.")),
    };
    Ok(OrderUpdate {
        status_id,
        staff_notes: text("staff_notes")?,
        customer_message: text("customer_message")?,
        is_deleted,
        edits: order_edits(obj, inc)?,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct ShipmentItemRequest {
    pub order_product_id: i64,
    pub quantity: i64,
}

/// `orderShipment_Post` / `orderShipment_Put`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    pub order_address_id: Option<i64>,
    pub tracking_number: Option<String>,
    pub tracking_link: Option<String>,
    /// An amount, as a string (`"1.0000"`) or a number.
    #[schema(value_type = Option<String>)]
    pub merchant_shipping_cost: Option<Value>,
    pub shipping_method: Option<String>,
    pub shipping_provider: Option<String>,
    pub tracking_carrier: Option<String>,
    pub comments: Option<String>,
    pub items: Option<Vec<ShipmentItemRequest>>,
}

impl ShipmentRequest {
    fn input(self) -> V2Result<ShipmentInput> {
        let cost = match &self.merchant_shipping_cost {
            None | Some(Value::Null) => None,
            Some(v) => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let d = Decimal::from_str_exact(s.trim())
                    .ok()
                    .filter(|d| !d.is_sign_negative())
                    .ok_or_else(|| {
                        V2Error::bad_request(format!(
                            "`merchant_shipping_cost` must be an amount like \"1.0000\", not {v}."
                        ))
                    })?;
                Some(Money::new(d))
            }
        };
        Ok(ShipmentInput {
            order_address_id: self.order_address_id,
            tracking_number: self.tracking_number,
            tracking_link: self.tracking_link,
            merchant_shipping_cost: cost,
            shipping_method: self.shipping_method,
            shipping_provider: self.shipping_provider,
            tracking_carrier: self.tracking_carrier,
            comments: self.comments,
            items: self.items.map(|items| {
                items
                    .into_iter()
                    .map(|i| (i.order_product_id, i.quantity))
                    .collect()
            }),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentItemWire {
    pub order_product_id: i64,
    pub product_id: i64,
    pub quantity: i64,
}

/// `orderShipment`.
#[derive(Serialize, ToSchema)]
pub struct ShipmentWire {
    pub id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub order_address_id: i64,
    pub date_created: String,
    pub tracking_number: String,
    pub merchant_shipping_cost: String,
    pub shipping_method: String,
    pub shipping_provider: String,
    pub tracking_carrier: String,
    pub tracking_link: String,
    pub comments: String,
    pub billing_address: BillingAddressWire,
    pub shipping_address: BillingAddressWire,
    pub items: Vec<ShipmentItemWire>,
    pub shipping_provider_display_name: String,
    pub generated_tracking_link: String,
}

fn provider_display_name(p: &str) -> String {
    match p {
        "auspost" => "Australia Post",
        "canadapost" => "Canada Post",
        "endicia" => "Endicia",
        "usps" => "USPS",
        "fedex" => "FedEx",
        "royalmail" => "Royal Mail",
        "ups" | "upsready" => "UPS",
        "shipperhq" => "ShipperHQ",
        "" => "",
        other => other,
    }
    .to_string()
}

fn shipment_wire(o: &PlacedOrder, s: &Shipment, date_created: i64) -> ShipmentWire {
    let billing = o
        .cart
        .checkout
        .billing_address
        .as_ref()
        .map(|b| address_wire(&b.address))
        .unwrap_or_else(|| address_wire(&Default::default()));
    let shipping = o
        .shipping_addresses()
        .into_iter()
        .find(|a| a.id == s.order_address_id)
        .map(|a| address_wire(&a.address))
        .unwrap_or_else(|| address_wire(&Default::default()));
    ShipmentWire {
        id: s.id,
        order_id: o.id,
        customer_id: o.cart.customer_id,
        order_address_id: s.order_address_id,
        date_created: rfc2822(date_created),
        tracking_number: s.tracking_number.clone(),
        merchant_shipping_cost: v2::money(s.merchant_shipping_cost),
        shipping_method: s.shipping_method.clone(),
        shipping_provider: s.shipping_provider.clone(),
        tracking_carrier: s.tracking_carrier.clone(),
        tracking_link: s.tracking_link.clone(),
        comments: s.comments.clone(),
        billing_address: billing,
        shipping_address: shipping,
        items: s
            .items
            .iter()
            .map(|(op, p, q)| ShipmentItemWire {
                order_product_id: *op,
                product_id: *p,
                quantity: *q,
            })
            .collect(),
        shipping_provider_display_name: provider_display_name(&s.shipping_provider),
        generated_tracking_link: s.tracking_link.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct CountWire {
    pub count: i64,
}

/// `orderConsignment_Get`: the order's shipping consignments (pickups, downloads and
/// email deliveries are not kept apart by Kassa and are listed empty).
#[derive(Serialize, ToSchema)]
pub struct ConsignmentsWire {
    pub pickups: Vec<Value>,
    pub shipping: Vec<ShippingConsignmentWire>,
    pub downloads: Vec<Value>,
    #[schema(value_type = Object)]
    pub email: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ShippingConsignmentWire {
    #[serde(flatten)]
    pub address: ShippingAddressWire,
    pub line_items: Vec<ResourceLink>,
}

/// `shippingQuotes_Base`: the quote the shopper chose for a shipping address.
#[derive(Serialize, ToSchema)]
pub struct ShippingQuoteWire {
    pub id: String,
    pub uuid: String,
    pub timestamp: String,
    pub shipping_provider_id: String,
    #[schema(value_type = Vec<Object>)]
    pub shipping_provider_quote: Vec<Value>,
    pub provider_code: String,
    pub carrier_code: String,
    pub rate_code: String,
    pub rate_id: String,
    pub method_id: i64,
}

// ---------- handlers ----------

fn order_id(raw: &str) -> V2Result<i64> {
    v2::path_id(raw, "Order")
}

async fn reply_order(
    state: &AppState,
    who_store: &crate::store::StoreRecord,
    o: &PlacedOrder,
) -> Response {
    let base = api_base(state, who_store);
    let w: OrderWire = order_wire(o, who_store, &base);
    v2::reply(StatusCode::OK, &w)
}

/// Update an order: its status (along allowed transitions; cancelling or declining
/// gives back its stock), staff notes, customer message, or archive it; add, change,
/// move (`order_address_id`) or remove products, replace its fees, change its billing
/// and shipping addresses or add shipping addresses, set its `discount_amount` — the
/// order is then priced again (subtotal, tax, shipping, total) and its stock follows.
/// Promotions and coupons are not worked out again: changed products lose their
/// discounts, the others keep theirs.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/orders/{order_id}", tag = "Orders",
    operation_id = "updateOrder",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    request_body = OrderPutRequest,
    responses((status = 200, body = OrderWire), (status = 400, body = Vec<V2ErrorItem>),
        (status = 404, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
pub(super) async fn update_order(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<Value>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    let upd = order_update(&v2::body(body)?, who.store.settings.prices_include_tax)?;
    let o = state.kassa.update_order(&who, id, &upd).await?;
    Ok(reply_order(&state, &who.store, &o).await)
}

/// Archive an order: it is left out of lists (unless `is_deleted=true`) but stays readable.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/orders/{order_id}", tag = "Orders",
    operation_id = "deleteOrder",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn archive_order(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    state.kassa.archive_order(&who, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Archive all orders.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/orders", tag = "Orders",
    operation_id = "deleteAllOrders",
    params(("store_hash" = String, Path)),
    responses((status = 204), (status = 403, body = Vec<V2ErrorItem>)))]
pub(super) async fn archive_all_orders(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    state.kassa.archive_all_orders(&who.store).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// List an order's shipments; 204 when it has none.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments", tag = "Order Shipments",
    operation_id = "getOrderShipments",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<ShipmentWire>), (status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn list_shipments(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let id = order_id(&path.1)?;
    let (o, shipments) = state.kassa.order_shipments(&who.store, id).await?;
    let wire: Vec<ShipmentWire> = shipments
        .iter()
        .map(|(s, at)| shipment_wire(&o, s, *at))
        .collect();
    let wire = paged(wire, &pairs)?;
    if wire.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Create a shipment of some of an order's items; shipping everything makes the order
/// Shipped, shipping part of it Partially Shipped.
#[utoipa::path(post, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments", tag = "Order Shipments",
    operation_id = "createOrderShipments",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    request_body = ShipmentRequest,
    responses((status = 201, body = ShipmentWire), (status = 400, body = Vec<V2ErrorItem>),
        (status = 404, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
pub(super) async fn create_shipment(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<ShipmentRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    let input = v2::body(body)?.input()?;
    let sid = state.kassa.create_shipment(&who.store, id, &input).await?;
    one_shipment(&state, &who.store, id, sid, StatusCode::CREATED).await
}

async fn one_shipment(
    state: &AppState,
    store: &crate::store::StoreRecord,
    order_id: i64,
    shipment_id: i64,
    status: StatusCode,
) -> V2Result<Response> {
    let (o, shipments) = state.kassa.order_shipments(store, order_id).await?;
    let (s, at) = shipments
        .iter()
        .find(|(s, _)| s.id == shipment_id)
        .ok_or_else(|| {
            V2Error::not_found(format!(
                "Shipment {shipment_id} does not exist in order {order_id}."
            ))
        })?;
    Ok(v2::reply(status, &shipment_wire(&o, s, *at)))
}

/// Delete all of an order's shipments; what they shipped counts as unshipped again.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments", tag = "Order Shipments",
    operation_id = "deleteOrderShipments",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn delete_shipments(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    state.kassa.delete_shipments(&who.store, id, None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Count an order's shipments.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments/count", tag = "Order Shipments",
    operation_id = "getOrderShipmentsCount",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = CountWire), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn count_shipments(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let id = order_id(&path.1)?;
    let (_, shipments) = state.kassa.order_shipments(&who.store, id).await?;
    Ok(v2::reply(
        StatusCode::OK,
        &CountWire {
            count: shipments.len() as i64,
        },
    ))
}

/// Get a shipment.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments/{shipment_id}", tag = "Order Shipments",
    operation_id = "getOrderShipment",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("shipment_id" = i64, Path)),
    responses((status = 200, body = ShipmentWire), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn get_shipment(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let id = order_id(&path.1)?;
    let sid = v2::path_id(&path.2, "Shipment")?;
    one_shipment(&state, &who.store, id, sid, StatusCode::OK).await
}

/// Update a shipment's tracking, provider, cost or comments (its items stay).
#[utoipa::path(put, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments/{shipment_id}", tag = "Order Shipments",
    operation_id = "updateOrderShipment",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("shipment_id" = i64, Path)),
    request_body = ShipmentRequest,
    responses((status = 200, body = ShipmentWire), (status = 400, body = Vec<V2ErrorItem>),
        (status = 404, body = Vec<V2ErrorItem>), (status = 409, body = Vec<V2ErrorItem>)))]
pub(super) async fn update_shipment(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<ShipmentRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    let sid = v2::path_id(&path.2, "Shipment")?;
    let input = v2::body(body)?.input()?;
    state
        .kassa
        .update_shipment(&who.store, id, sid, &input)
        .await?;
    one_shipment(&state, &who.store, id, sid, StatusCode::OK).await
}

/// Delete a shipment; what it shipped counts as unshipped again.
#[utoipa::path(delete, path = "/stores/{store_hash}/v2/orders/{order_id}/shipments/{shipment_id}", tag = "Order Shipments",
    operation_id = "deleteOrderShipment",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("shipment_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn delete_shipment(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    let sid = v2::path_id(&path.2, "Shipment")?;
    state
        .kassa
        .delete_shipments(&who.store, id, Some(sid))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `orderMessages` items.
#[derive(Serialize, ToSchema)]
pub struct OrderMessageWire {
    pub id: i64,
    pub order_id: i64,
    pub staff_id: i64,
    pub customer_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub status: String,
    pub is_flagged: bool,
    pub date_created: String,
    #[schema(value_type = Object)]
    pub customer: Value,
}

/// An order's messages: the comment the shopper wrote at checkout (or given as
/// `customer_message` at `POST /v2/orders`), from the customer, dated when the order
/// was placed. BigCommerce's other messages are written through storefront accounts and
/// the Control Panel, which Kassa does not have. Filtered by `min_id`, `max_id`,
/// `customer_id`, `min_date_created`/`max_date_created`, `is_flagged` and `status`
/// (`read`/`unread`), paged by `page` and `limit`.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/messages", tag = "Order Messages",
    operation_id = "getOrderMessages",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("min_id" = Option<i64>, Query), ("max_id" = Option<i64>, Query),
        ("customer_id" = Option<i64>, Query),
        ("min_date_created" = Option<String>, Query), ("max_date_created" = Option<String>, Query),
        ("is_flagged" = Option<bool>, Query), ("status" = Option<String>, Query),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<OrderMessageWire>), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn list_messages(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let o = load(&state, &who.store, &path.1).await?;
    let min_id = int_param(&pairs, "min_id")?;
    let max_id = int_param(&pairs, "max_id")?;
    let customer_id = int_param(&pairs, "customer_id")?;
    let min_date = date_param(&pairs, "min_date_created")?;
    let max_date = date_param(&pairs, "max_date_created")?;
    let is_flagged = match param(&pairs, "is_flagged").map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(v) => {
            return Err(V2Error::bad_request(format!(
                "The query parameter `is_flagged` must be true or false, not `{v}`."
            )));
        }
    };
    let status = match param(&pairs, "status").map(str::trim) {
        None => None,
        Some(s @ ("read" | "unread")) => Some(s),
        Some(v) => {
            return Err(V2Error::bad_request(format!(
                "The query parameter `status` must be read or unread, not `{v}`."
            )));
        }
    };
    let wire: Vec<OrderMessageWire> = o
        .messages()
        .into_iter()
        .filter(|m| {
            min_id.is_none_or(|v| m.id >= v)
                && max_id.is_none_or(|v| m.id <= v)
                && customer_id.is_none_or(|v| m.customer_id == v)
                && min_date.is_none_or(|v| m.date_created >= v)
                && max_date.is_none_or(|v| m.date_created <= v)
                && is_flagged.is_none_or(|v| m.is_flagged == v)
                && status.is_none_or(|v| m.status == v)
        })
        .map(|m| OrderMessageWire {
            id: m.id,
            order_id: o.id,
            staff_id: 0,
            customer_id: m.customer_id,
            kind: m.kind.to_string(),
            subject: m.subject,
            message: m.message,
            status: m.status.to_string(),
            is_flagged: m.is_flagged,
            date_created: rfc2822(m.date_created),
            customer: json!({}),
        })
        .collect();
    Ok(v2::reply(StatusCode::OK, &paged(wire, &pairs)?))
}

/// `orderFees_Resp`.
#[derive(Serialize, ToSchema)]
pub struct OrderFeeWire {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name_customer: String,
    pub display_name_merchant: String,
    pub source: String,
    /// The cost as entered (excluding tax, or including it when prices include tax).
    pub base_cost: String,
    pub cost_ex_tax: String,
    pub cost_inc_tax: String,
    pub cost_tax: String,
    pub tax_class_id: Option<i64>,
}

/// An order's fees: those of its checkout, or given at `POST`/`PUT /v2/orders`.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/fees", tag = "Order Fees",
    operation_id = "getOrderFees",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = Vec<OrderFeeWire>), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn list_fees(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let wire: Vec<OrderFeeWire> = o
        .fees()
        .into_iter()
        .map(|(id, f)| OrderFeeWire {
            id,
            kind: "custom_fee".into(),
            display_name_customer: f.display_name.clone(),
            display_name_merchant: f.name.clone(),
            source: f.source.clone(),
            base_cost: v2::money(f.cost),
            cost_ex_tax: v2::money(f.cost_ex_tax),
            cost_inc_tax: v2::money(f.cost_inc_tax),
            cost_tax: v2::money(f.cost_inc_tax - f.cost_ex_tax),
            tax_class_id: f.tax_class_id,
        })
        .collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// An order's consignments: its shipping addresses with their line items.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/consignments", tag = "Order Consignments",
    operation_id = "getOrderConsignments",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = ConsignmentsWire), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn list_consignments(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let base = api_base(&state, &who.store);
    let products = o.products();
    let shipping = o
        .shipping_addresses()
        .iter()
        .map(|a| ShippingConsignmentWire {
            address: shipping_address_wire(o.id, a, &base, o.shipped_to(a.id)),
            line_items: products
                .iter()
                .filter(|p| p.ships_to.iter().any(|t| t.0 == a.id))
                .map(|p| link(&base, o.id, &format!("products/{}", p.id)))
                .collect(),
        })
        .collect();
    Ok(v2::reply(
        StatusCode::OK,
        &ConsignmentsWire {
            pickups: vec![],
            shipping,
            downloads: vec![],
            email: json!({"gift_certificates": []}),
        },
    ))
}

fn quote(o: &PlacedOrder, address_id: i64) -> V2Result<ShippingQuoteWire> {
    let c = o
        .cart
        .checkout
        .consignments
        .get((address_id - 1).max(0) as usize)
        .filter(|_| address_id >= 1)
        .ok_or_else(|| {
            V2Error::not_found(format!(
                "Shipping address {address_id} does not exist in order {}.",
                o.id
            ))
        })?;
    let q = c.selected_option.as_ref();
    Ok(ShippingQuoteWire {
        id: address_id.to_string(),
        uuid: q.map(|q| q.id.clone()).unwrap_or_default(),
        timestamp: rfc2822(o.date_created),
        shipping_provider_id: "bcstatic".into(),
        shipping_provider_quote: vec![],
        provider_code: q.map(|q| q.kind.clone()).unwrap_or_default(),
        carrier_code: String::new(),
        rate_code: String::new(),
        rate_id: String::new(),
        method_id: q.map(|q| q.method_id).unwrap_or(0),
    })
}

/// The shipping quote chosen for one of an order's shipping addresses.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipping_addresses/{shipping_address_id}/shipping_quotes", tag = "Order Shipping Addresses Quotes",
    operation_id = "getOrderShippingAddressShippingQuotes",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("shipping_address_id" = i64, Path)),
    responses((status = 200, body = ShippingQuoteWire), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn shipping_address_quotes(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let aid = v2::path_id(&path.2, "Shipping address")?;
    Ok(v2::reply(StatusCode::OK, &quote(&o, aid)?))
}

/// The shipping quote chosen for one of an order's shipping consignments.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/consignments/shipping/{shipping_consignment_id}/shipping_quotes", tag = "Order Consignments",
    operation_id = "getOrderConsignmentShippingQuotes",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("shipping_consignment_id" = i64, Path)),
    responses((status = 200, body = ShippingQuoteWire), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn consignment_quotes(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let cid = v2::path_id(&path.2, "Shipping consignment")?;
    Ok(v2::reply(StatusCode::OK, &quote(&o, cid)?))
}

/// An address as V2 writes it (`billingAddress_Base`).
#[derive(Deserialize, ToSchema, Default)]
pub struct V2AddressRequest {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub street_1: String,
    #[serde(default)]
    pub street_2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub country_iso2: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// A shipping option id of the store's zones (`"1-1"`), for shipping addresses.
    pub shipping_method: Option<String>,
}

impl V2AddressRequest {
    fn address(&self) -> crate::domain::address::Address {
        crate::domain::address::Address {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            company: self.company.clone(),
            address1: self.street_1.clone(),
            address2: self.street_2.clone(),
            city: self.city.clone(),
            state_or_province: self.state.clone(),
            country_code: self.country_iso2.clone(),
            postal_code: self.zip.clone(),
            phone: self.phone.clone(),
            ..Default::default()
        }
    }
}

/// `order_Post`: what Kassa takes to create an order directly.
#[derive(Deserialize, ToSchema)]
pub struct OrderPostRequest {
    #[serde(default)]
    pub customer_id: i64,
    pub status_id: Option<i64>,
    pub products: Vec<OrderProductRequest>,
    pub billing_address: Option<V2AddressRequest>,
    /// Where the physical products ship; with several, products say which with
    /// `order_address_id`.
    #[serde(default)]
    pub shipping_addresses: Vec<V2AddressRequest>,
    #[serde(default)]
    pub customer_message: String,
    #[serde(default)]
    pub staff_notes: String,
    /// Order-level fees, added to the order's total (taxed by `tax_class_id`).
    #[serde(default)]
    pub fees: Vec<OrderFeeRequest>,
}

fn amount(v: &Option<Value>, field: &str) -> V2Result<Option<Money>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Decimal::from_str_exact(s.trim())
                .ok()
                .filter(|d| !d.is_sign_negative())
                .map(|d| Some(Money::new(d)))
                .ok_or_else(|| {
                    V2Error::bad_request(format!(
                        "`{field}` must be an amount like \"10.00\", not {v}."
                    ))
                })
        }
    }
}

/// An `order_Post` body as the order to create: each product a catalog one or a custom
/// one with its price, amounts parsed exactly. `inc` says the store's prices include tax.
pub fn new_order(req: OrderPostRequest, inc: bool) -> V2Result<NewAdminOrder> {
    let mut products = Vec::new();
    for (i, p) in req.products.iter().enumerate() {
        match product_edit(p, i, inc)? {
            ProductEdit::Add(l) => products.push(l),
            ProductEdit::Change { .. } => {
                return Err(V2Error::bad_request(format!(
                    "products[{i}].id: a new order's products get their ids; leave `id` out."
                )));
            }
        }
    }
    let fees = req
        .fees
        .iter()
        .enumerate()
        .map(|(i, f)| f.input(&format!("fees[{i}]")))
        .collect::<V2Result<Vec<_>>>()?;
    Ok(NewAdminOrder {
        customer_id: req.customer_id,
        status_id: req.status_id,
        products,
        billing_address: req.billing_address.as_ref().map(V2AddressRequest::address),
        shipping_addresses: req
            .shipping_addresses
            .iter()
            .map(|a| (a.address(), a.shipping_method.clone()))
            .collect(),
        customer_message: req.customer_message,
        staff_notes: req.staff_notes,
        fees,
    })
}

/// Create an order directly (not from a checkout), priced by the store's rules. With
/// several `shipping_addresses`, each product that ships names its address with
/// `order_address_id` (1, 2, … in the order of `shipping_addresses`).
#[utoipa::path(post, path = "/stores/{store_hash}/v2/orders", tag = "Orders",
    operation_id = "createOrder",
    params(("store_hash" = String, Path)),
    request_body = OrderPostRequest,
    responses((status = 201, body = OrderWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
pub(super) async fn create_order(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    body: Result<JsonBody<OrderPostRequest>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let new = new_order(v2::body(body)?, who.store.settings.prices_include_tax)?;
    let id = state.kassa.create_admin_order(&who, new).await?;
    let o = state.kassa.get_order(&who.store, id).await?;
    let base = api_base(&state, &who.store);
    Ok(v2::reply(
        StatusCode::CREATED,
        &order_wire(&o, &who.store, &base),
    ))
}

/// Correct the contact and street fields of one of an order's shipping addresses.
#[utoipa::path(put, path = "/stores/{store_hash}/v2/orders/{order_id}/shipping_addresses/{id}", tag = "Order Shipping Addresses",
    operation_id = "updateOrderShippingAddress",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = ShippingAddressWire), (status = 400, body = Vec<V2ErrorItem>), (status = 404, body = Vec<V2ErrorItem>)))]
pub(super) async fn update_shipping_address(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<Value>, ApiError>,
) -> V2Result<Response> {
    let who = v2::principal(auth, WRITE)?;
    let id = order_id(&path.1)?;
    let aid = v2::path_id(&path.2, "Shipping address")?;
    let body = v2::body(body)?;
    let Some(obj) = body.as_object() else {
        return Err(V2Error::bad_request(
            "The body must be a JSON object of the address fields to change.",
        ));
    };
    let mut fields = Vec::new();
    for (k, v) in obj {
        let Some(s) = v.as_str() else {
            return Err(V2Error::bad_request(format!("`{k}` must be a string.")));
        };
        fields.push((k.clone(), s.to_string()));
    }
    let o = state
        .kassa
        .update_order_shipping_address(&who.store, id, aid, &fields)
        .await?;
    let a = o
        .shipping_addresses()
        .into_iter()
        .find(|a| a.id == aid)
        .ok_or_else(|| {
            V2Error::not_found(format!(
                "Shipping address {aid} does not exist in order {id}."
            ))
        })?;
    let base = api_base(&state, &who.store);
    Ok(v2::reply(
        StatusCode::OK,
        &shipping_address_wire(o.id, &a, &base, o.shipped_to(a.id)),
    ))
}
