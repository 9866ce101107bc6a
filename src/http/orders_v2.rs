//! V2 Orders API, the reading part (`orders.v2.oas2.yml`), under
//! `/stores/{store_hash}/v2/...`. Needs `store_v2_orders_read_only` (or
//! `store_v2_orders`). V2 conventions: bare JSON, money as 4-decimal strings, dates as
//! RFC 2822, errors as `[{"status", "message"}]`.
//!
//! - `GET /orders` filters by `min_id`, `max_id`, `customer_id`, `status_id`,
//!   `min_total`/`max_total` (total including tax), `min_date_created`/`max_date_created`
//!   and `…_modified` (RFC 2822, ISO 8601, `YYYY-MM-DD` or a Unix time), `cart_id` and
//!   `email`; sorts with `sort=FIELD[:asc|:desc]` (`id`, `customer_id`, `date_created`,
//!   `date_modified`, `status_id`; default `id:asc`); pages with `page` (from 1) and
//!   `limit` (1–250, default 50). Nothing matching is `204 No Content`, as BigCommerce does.
//! - `GET /orders/count` takes the same filters and counts per status (all 15 listed).
//! - An order's products, shipping addresses, coupons and taxes are read from the
//!   snapshot taken when it was placed; sub-resource ids are positions (1, 2, …).
//! - Another store's order, or an id that is not a positive integer, is 404.

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, percent_decode};
use super::v2::{self, V2Error, V2ErrorItem, V2Result};
use crate::domain::address::Address;
use crate::domain::coupon::rfc2822;
use crate::domain::money::{Money, json_number};
use crate::domain::order::{
    ORDER_STATUSES, OrderCoupon, OrderProduct, OrderShippingAddress, OrderTaxRow, PlacedOrder,
    STATUS_SORT_ORDER, status_name,
};
use crate::domain::scope::Scope;
use crate::service::order_views::OrderListFilter;
use crate::store::StoreRecord;
use crate::store::order_queries::{OrderQuery, OrderSort};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 250;

mod admin;

// What the fuzz targets (fuzz/) parse, as `POST /v2/orders` does.
pub use admin::{OrderPostRequest, new_order};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_orders,
            admin::create_order,
            admin::archive_all_orders
        ))
        .routes(routes!(count_orders))
        .routes(routes!(
            get_order,
            admin::update_order,
            admin::archive_order
        ))
        .routes(routes!(
            admin::list_shipments,
            admin::create_shipment,
            admin::delete_shipments
        ))
        .routes(routes!(admin::count_shipments))
        .routes(routes!(
            admin::get_shipment,
            admin::update_shipment,
            admin::delete_shipment
        ))
        .routes(routes!(admin::list_messages))
        .routes(routes!(admin::list_fees))
        .routes(routes!(admin::list_consignments))
        .routes(routes!(admin::shipping_address_quotes))
        .routes(routes!(admin::consignment_quotes))
        .routes(routes!(list_order_products))
        .routes(routes!(get_order_product))
        .routes(routes!(list_order_shipping_addresses))
        .routes(routes!(
            get_order_shipping_address,
            admin::update_shipping_address
        ))
        .routes(routes!(list_order_coupons))
        .routes(routes!(list_order_taxes))
        .routes(routes!(list_order_statuses))
        .routes(routes!(get_order_status))
}

// ---------- wire ----------

/// `{url, resource}`: where a sub-resource lives.
#[derive(Serialize, ToSchema)]
pub struct ResourceLink {
    pub url: String,
    pub resource: String,
}

#[derive(Serialize, ToSchema)]
pub struct FormFieldWire {
    pub name: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// `billingAddress_Resp`.
#[derive(Serialize, ToSchema)]
pub struct BillingAddressWire {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub street_1: String,
    pub street_2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub country_iso2: String,
    pub phone: String,
    pub email: String,
    pub form_fields: Vec<FormFieldWire>,
}

fn address_wire(a: &Address) -> BillingAddressWire {
    BillingAddressWire {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company: a.company.clone(),
        street_1: a.address1.clone(),
        street_2: a.address2.clone(),
        city: a.city.clone(),
        state: a.state_or_province.clone(),
        zip: a.postal_code.clone(),
        country: a.country.clone(),
        country_iso2: a.country_code.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
        form_fields: a
            .custom_fields
            .iter()
            .map(|f| FormFieldWire {
                name: f.field_id.clone(),
                value: f.field_value.clone(),
            })
            .collect(),
    }
}

/// `order_Resp`.
#[derive(Serialize, ToSchema)]
pub struct OrderWire {
    pub id: i64,
    pub customer_id: i64,
    pub date_created: String,
    pub date_modified: String,
    pub date_shipped: String,
    pub status_id: i64,
    pub status: String,
    pub cart_id: String,
    pub subtotal_ex_tax: String,
    pub subtotal_inc_tax: String,
    pub subtotal_tax: String,
    pub base_shipping_cost: String,
    pub shipping_cost_ex_tax: String,
    pub shipping_cost_inc_tax: String,
    pub shipping_cost_tax: String,
    pub base_handling_cost: String,
    pub handling_cost_ex_tax: String,
    pub handling_cost_inc_tax: String,
    pub handling_cost_tax: String,
    pub base_wrapping_cost: String,
    pub wrapping_cost_ex_tax: String,
    pub wrapping_cost_inc_tax: String,
    pub wrapping_cost_tax: String,
    pub total_ex_tax: String,
    pub total_inc_tax: String,
    pub total_tax: String,
    pub items_total: i64,
    pub items_shipped: i64,
    pub payment_method: String,
    pub payment_status: String,
    pub refunded_amount: String,
    pub order_is_digital: bool,
    pub store_credit_amount: String,
    pub gift_certificate_amount: String,
    pub currency_code: String,
    pub currency_exchange_rate: String,
    pub default_currency_code: String,
    pub store_default_currency_code: String,
    pub discount_amount: String,
    pub coupon_discount: String,
    pub shipping_address_count: i64,
    pub is_deleted: bool,
    pub is_tax_inclusive_pricing: bool,
    pub billing_address: BillingAddressWire,
    pub order_source: String,
    pub channel_id: i64,
    pub customer_message: String,
    pub staff_notes: String,
    pub customer_locale: String,
    pub products: ResourceLink,
    pub shipping_addresses: ResourceLink,
    pub coupons: ResourceLink,
    pub fees: ResourceLink,
}

fn m(x: Money) -> String {
    v2::money(x)
}

fn link(base: &str, order_id: i64, what: &str) -> ResourceLink {
    ResourceLink {
        url: format!("{base}/orders/{order_id}/{what}"),
        resource: format!("/orders/{order_id}/{what}"),
    }
}

/// Where this store's V2 API lives, for sub-resource links.
fn api_base(state: &AppState, store: &StoreRecord) -> String {
    format!(
        "{}/stores/{}/v2",
        state.kassa.public_url.trim_end_matches('/'),
        store.hash
    )
}

fn order_wire(o: &PlacedOrder, store: &StoreRecord, base: &str) -> OrderWire {
    let c = &o.cart;
    let s = o.summary();
    let mut rate = c.currency.exchange_rate;
    rate.rescale(10);
    let default_currency = store
        .settings
        .currencies
        .first()
        .map(|cur| cur.code.clone())
        .unwrap_or_else(|| c.currency.code.clone());
    let mut methods = Vec::new();
    if let Some(m) = &o.payment_method {
        methods.push(m.as_str());
    }
    if s.gift_certificate_amount > Money::ZERO {
        methods.push("Gift Certificate");
    }
    if s.store_credit_amount > Money::ZERO {
        methods.push("Store Credit");
    }
    OrderWire {
        id: o.id,
        customer_id: c.customer_id,
        date_created: rfc2822(o.date_created),
        date_modified: rfc2822(o.date_modified),
        date_shipped: if o.admin.date_shipped > 0 {
            rfc2822(o.admin.date_shipped)
        } else {
            String::new()
        },
        status_id: o.status_id,
        status: status_name(o.status_id).to_string(),
        cart_id: c.id.to_string(),
        subtotal_ex_tax: m(s.subtotal_ex_tax),
        subtotal_inc_tax: m(s.subtotal_inc_tax),
        subtotal_tax: m(s.subtotal_inc_tax - s.subtotal_ex_tax),
        base_shipping_cost: m(s.base_shipping_cost),
        shipping_cost_ex_tax: m(s.shipping_cost_ex_tax),
        shipping_cost_inc_tax: m(s.shipping_cost_inc_tax),
        shipping_cost_tax: m(s.shipping_cost_inc_tax - s.shipping_cost_ex_tax),
        base_handling_cost: m(s.base_handling_cost),
        handling_cost_ex_tax: m(s.handling_cost_ex_tax),
        handling_cost_inc_tax: m(s.handling_cost_inc_tax),
        handling_cost_tax: m(s.handling_cost_inc_tax - s.handling_cost_ex_tax),
        base_wrapping_cost: m(Money::ZERO),
        wrapping_cost_ex_tax: m(Money::ZERO),
        wrapping_cost_inc_tax: m(Money::ZERO),
        wrapping_cost_tax: m(Money::ZERO),
        total_ex_tax: m(s.total_ex_tax),
        total_inc_tax: m(s.total_inc_tax),
        total_tax: m(s.total_tax),
        items_total: s.items_total,
        items_shipped: o.admin.items_shipped(),
        payment_method: methods.join(", "),
        payment_status: String::new(),
        refunded_amount: m(o.refunded),
        order_is_digital: s.is_digital,
        store_credit_amount: m(s.store_credit_amount),
        gift_certificate_amount: m(s.gift_certificate_amount),
        currency_code: c.currency.code.clone(),
        currency_exchange_rate: rate.to_string(),
        default_currency_code: default_currency.clone(),
        store_default_currency_code: default_currency,
        discount_amount: m(s.discount_amount),
        coupon_discount: m(s.coupon_discount),
        shipping_address_count: c.checkout.consignments.len() as i64,
        is_deleted: o.is_deleted,
        is_tax_inclusive_pricing: c.tax_included,
        billing_address: address_wire(
            &c.checkout
                .billing_address
                .as_ref()
                .map(|b| b.address.clone())
                .unwrap_or_default(),
        ),
        order_source: "external".to_string(),
        channel_id: c.channel_id,
        customer_message: o
            .admin
            .customer_message
            .clone()
            .unwrap_or_else(|| c.checkout.customer_message.clone()),
        staff_notes: o.admin.staff_notes.clone(),
        customer_locale: c.locale.clone(),
        products: link(base, o.id, "products"),
        shipping_addresses: link(base, o.id, "shipping_addresses"),
        coupons: link(base, o.id, "coupons"),
        fees: link(base, o.id, "fees"),
    }
}

#[derive(Serialize, ToSchema)]
pub struct AppliedDiscountWire {
    pub id: String,
    pub amount: String,
    pub name: String,
    pub code: Option<String>,
    pub target: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductOptionWire {
    pub display_name: String,
    pub display_value: String,
}

/// `orderProducts`.
#[derive(Serialize, ToSchema)]
pub struct OrderProductWire {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub variant_id: i64,
    pub order_address_id: i64,
    pub name: String,
    pub name_customer: String,
    pub name_merchant: String,
    pub sku: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub base_price: String,
    pub price_ex_tax: String,
    pub price_inc_tax: String,
    pub price_tax: String,
    pub base_total: String,
    pub total_ex_tax: String,
    pub total_inc_tax: String,
    pub total_tax: String,
    pub discounted_total_inc_tax: String,
    pub quantity: i64,
    #[schema(value_type = String)]
    pub weight: String,
    pub is_refunded: bool,
    pub quantity_refunded: i64,
    pub quantity_shipped: i64,
    pub fixed_shipping_cost: String,
    pub applied_discounts: Vec<AppliedDiscountWire>,
    pub product_options: Vec<ProductOptionWire>,
}

fn product_wire(order_id: i64, p: &OrderProduct, shipped: i64) -> OrderProductWire {
    let mut weight = p.weight;
    weight.rescale(4);
    OrderProductWire {
        id: p.id,
        order_id,
        product_id: p.product_id,
        variant_id: p.variant_id,
        order_address_id: p.order_address_id,
        name: p.name.clone(),
        name_customer: p.name.clone(),
        name_merchant: p.name.clone(),
        sku: p.sku.clone(),
        kind: p.kind.to_string(),
        base_price: m(p.base_price),
        price_ex_tax: m(p.price_ex_tax),
        price_inc_tax: m(p.price_inc_tax),
        price_tax: m(p.price_tax()),
        base_total: m(p.base_total),
        total_ex_tax: m(p.total_ex_tax),
        total_inc_tax: m(p.total_inc_tax),
        total_tax: m(p.total_tax),
        discounted_total_inc_tax: m(p.discounted_total_inc_tax()),
        quantity: p.quantity,
        weight: weight.to_string(),
        is_refunded: false,
        quantity_refunded: 0,
        quantity_shipped: shipped,
        fixed_shipping_cost: m(Money::ZERO),
        applied_discounts: p
            .discounts
            .iter()
            .map(|d| AppliedDiscountWire {
                id: d.id.clone(),
                amount: m(d.amount),
                name: match &d.code {
                    Some(_) => "Coupon".to_string(),
                    None if d.id == crate::domain::checkout::MANUAL_DISCOUNT_ID => {
                        "Manual discount".to_string()
                    }
                    None => format!("Promotion {}", d.id),
                },
                code: d.code.clone(),
                target: "product".to_string(),
            })
            .collect(),
        product_options: p
            .options
            .iter()
            .map(|(n, v)| ProductOptionWire {
                display_name: n.clone(),
                display_value: v.clone(),
            })
            .collect(),
    }
}

/// `orderShippingAddress`.
#[derive(Serialize, ToSchema)]
pub struct ShippingAddressWire {
    pub id: i64,
    pub order_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub street_1: String,
    pub street_2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub country_iso2: String,
    pub phone: String,
    pub email: String,
    pub items_total: i64,
    pub items_shipped: i64,
    pub shipping_method: String,
    pub base_cost: String,
    pub cost_ex_tax: String,
    pub cost_inc_tax: String,
    pub cost_tax: String,
    pub base_handling_cost: String,
    pub handling_cost_ex_tax: String,
    pub handling_cost_inc_tax: String,
    pub handling_cost_tax: String,
    pub shipping_zone_id: i64,
    pub shipping_zone_name: String,
    pub form_fields: Vec<FormFieldWire>,
    pub shipping_quotes: ResourceLink,
}

fn shipping_address_wire(
    order_id: i64,
    a: &OrderShippingAddress,
    base: &str,
    items_shipped: i64,
) -> ShippingAddressWire {
    let w = address_wire(&a.address);
    let quotes = format!("shipping_addresses/{}/shipping_quotes", a.id);
    ShippingAddressWire {
        id: a.id,
        order_id,
        first_name: w.first_name,
        last_name: w.last_name,
        company: w.company,
        street_1: w.street_1,
        street_2: w.street_2,
        city: w.city,
        state: w.state,
        zip: w.zip,
        country: w.country,
        country_iso2: w.country_iso2,
        phone: w.phone,
        email: w.email,
        items_total: a.items_total,
        items_shipped,
        shipping_method: a.shipping_method.clone(),
        base_cost: m(a.base_cost),
        cost_ex_tax: m(a.cost_ex_tax),
        cost_inc_tax: m(a.cost_inc_tax),
        cost_tax: m(a.cost_inc_tax - a.cost_ex_tax),
        base_handling_cost: m(a.base_handling_cost),
        handling_cost_ex_tax: m(a.handling_cost_ex_tax),
        handling_cost_inc_tax: m(a.handling_cost_inc_tax),
        handling_cost_tax: m(a.handling_cost_inc_tax - a.handling_cost_ex_tax),
        shipping_zone_id: a.shipping_zone_id,
        shipping_zone_name: String::new(),
        form_fields: w.form_fields,
        shipping_quotes: link(base, order_id, &quotes),
    }
}

/// `orderCoupons_Base`.
#[derive(Serialize, ToSchema)]
pub struct OrderCouponWire {
    pub id: i64,
    pub coupon_id: i64,
    pub order_id: i64,
    pub code: String,
    /// What the coupon took off this order (the coupon's own value is not kept).
    pub amount: String,
    #[serde(rename = "type")]
    pub coupon_type: i64,
    /// A number, as the spec has it.
    #[schema(value_type = f64)]
    pub discount: serde_json::Number,
}

fn coupon_wire(order_id: i64, c: &OrderCoupon) -> OrderCouponWire {
    OrderCouponWire {
        id: c.id,
        coupon_id: c.coupon_id,
        order_id,
        code: c.code.clone(),
        amount: m(c.discount),
        coupon_type: c.coupon_type,
        discount: json_number(c.discount.amount()),
    }
}

/// `orderTaxes_Base`: what one tax rate charged at one shipping address (0: what ships
/// nowhere, taxed at the billing address), with `?details=true` on one order product
/// (or the shipping, handling or a fee there).
#[derive(Serialize, ToSchema)]
pub struct OrderTaxWire {
    pub id: i64,
    pub order_id: i64,
    pub order_address_id: i64,
    /// The tax rate's id (0 for orders priced before Kassa kept it).
    pub tax_rate_id: i64,
    /// The same id, as a string.
    pub sales_tax_id: String,
    pub tax_class_id: i64,
    /// The tax rate's name.
    pub name: String,
    /// The name of the tax class the amount was taxed as.
    pub class: String,
    /// The rate in percent.
    pub rate: String,
    pub priority: i64,
    /// What the rate charged (the same as `line_amount`).
    pub priority_amount: String,
    pub line_amount: String,
    pub order_pickup_method_id: i64,
    /// With `?details=true` only: the order product of an `item` row, else null.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub order_product_id: Option<Value>,
    /// `item`, `shipping` or `handling` (also a fee's tax: the spec's list has no fees).
    pub line_item_type: String,
}

fn tax_wire(order: &PlacedOrder, t: &OrderTaxRow, details: bool) -> OrderTaxWire {
    let pickup = usize::try_from(t.order_address_id - 1)
        .ok()
        .and_then(|k| order.cart.checkout.consignments.get(k))
        .and_then(|c| c.pickup_method_id)
        .unwrap_or(0);
    OrderTaxWire {
        id: t.id,
        order_id: order.id,
        order_address_id: t.order_address_id,
        tax_rate_id: t.rate_id,
        sales_tax_id: t.rate_id.to_string(),
        tax_class_id: t.class_id,
        name: t.name.clone(),
        class: t.class.clone(),
        rate: m(Money::new(t.rate)),
        priority: t.priority,
        priority_amount: m(t.amount),
        line_amount: m(t.amount),
        order_pickup_method_id: pickup,
        order_product_id: details.then(|| {
            t.order_product_id
                .map_or(Value::Null, |id| Value::String(id.to_string()))
        }),
        line_item_type: t.line_item_type.to_string(),
    }
}

/// `orderStatus_Base`, and with `count`/`sort_order` in counts.
#[derive(Serialize, ToSchema)]
pub struct OrderStatusWire {
    pub id: i64,
    pub name: String,
    pub system_label: String,
    pub custom_label: String,
    pub system_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
}

fn status_wire(id: i64, count: Option<i64>) -> Option<OrderStatusWire> {
    let (_, name, description) = ORDER_STATUSES.iter().find(|(i, _, _)| *i == id)?;
    Some(OrderStatusWire {
        id,
        name: name.to_string(),
        system_label: name.to_string(),
        custom_label: name.to_string(),
        system_description: description.to_string(),
        sort_order: count.map(|_| {
            STATUS_SORT_ORDER
                .iter()
                .position(|s| *s == id)
                .unwrap_or_default() as i64
        }),
        count,
    })
}

/// `ordersCount_Full`.
#[derive(Serialize, ToSchema)]
pub struct OrdersCountWire {
    pub statuses: Vec<OrderStatusWire>,
    pub count: i64,
}

// ---------- query strings ----------

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The last non-blank value of a parameter.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

fn int_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<i64>> {
    param(pairs, name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                V2Error::bad_request(format!(
                    "The query parameter `{name}` must be a whole number, not `{v}`."
                ))
            })
        })
        .transpose()
}

fn bounded_param(pairs: &[(String, String)], name: &str, max: i64) -> V2Result<Option<i64>> {
    match int_param(pairs, name)? {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
        Some(n) => Err(V2Error::bad_request(format!(
            "The query parameter `{name}` must be between 1 and {max}, not {n}."
        ))),
    }
}

fn money_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<i64>> {
    param(pairs, name)
        .map(|v| {
            Decimal::from_str_exact(v)
                .ok()
                .filter(|d| !d.is_sign_negative())
                .map(|d| Money::new(d).to_e4())
                .ok_or_else(|| {
                    V2Error::bad_request(format!(
                        "The query parameter `{name}` must be an amount like 12.50, not `{v}`."
                    ))
                })
        })
        .transpose()
}

/// A date as RFC 2822, ISO 8601 (RFC 3339), `YYYY-MM-DD` (midnight UTC) or Unix seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t.unix_timestamp());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

fn date_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<i64>> {
    param(pairs, name)
        .map(|v| {
            parse_date(v).ok_or_else(|| {
                V2Error::bad_request(format!(
                    "The query parameter `{name}` must be a date in RFC 2822 (`Thu, 20 Apr 2017 11:32:00 -0400`) or ISO 8601 (`2017-04-20T11:32:00-04:00`), not `{v}`."
                ))
            })
        })
        .transpose()
}

fn list_filter(pairs: &[(String, String)]) -> V2Result<OrderListFilter> {
    let (sort, descending) = match param(pairs, "sort") {
        None => (OrderSort::Id, false),
        Some(v) => {
            let (field, dir) = v.split_once(':').unwrap_or((v, "asc"));
            let sort = OrderSort::parse(field.trim()).ok_or_else(|| {
                V2Error::bad_request(format!(
                    "The query parameter `sort` must be one of id, customer_id, date_created, date_modified, status_id (optionally with :asc or :desc), not `{v}`."
                ))
            })?;
            let descending = match dir.trim().to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => {
                    return Err(V2Error::bad_request(format!(
                        "The sort direction in `sort` must be asc or desc, not `{dir}`."
                    )));
                }
            };
            (sort, descending)
        }
    };
    Ok(OrderListFilter {
        query: OrderQuery {
            min_id: int_param(pairs, "min_id")?,
            max_id: int_param(pairs, "max_id")?,
            customer_id: int_param(pairs, "customer_id")?,
            status_id: int_param(pairs, "status_id")?,
            min_total_e4: money_param(pairs, "min_total")?,
            max_total_e4: money_param(pairs, "max_total")?,
            min_date_created: date_param(pairs, "min_date_created")?,
            max_date_created: date_param(pairs, "max_date_created")?,
            min_date_modified: date_param(pairs, "min_date_modified")?,
            max_date_modified: date_param(pairs, "max_date_modified")?,
            cart_id: param(pairs, "cart_id").map(String::from),
            // Archived orders are left out of lists unless asked for.
            is_deleted: Some(i64::from(bool_param(pairs, "is_deleted")?.unwrap_or(false))),
            sort,
            descending,
            page: None,
        },
        email: param(pairs, "email").map(String::from),
    })
}

/// A `true`/`false` parameter; anything else is a 400.
fn bool_param(pairs: &[(String, String)], name: &str) -> V2Result<Option<bool>> {
    match param(pairs, name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(V2Error::bad_request(format!(
            "The query parameter `{name}` must be true or false, not `{v}`."
        ))),
    }
}

fn page_and_limit(pairs: &[(String, String)]) -> V2Result<(i64, i64)> {
    let page = bounded_param(pairs, "page", i64::from(i32::MAX))?.unwrap_or(1);
    let limit = bounded_param(pairs, "limit", MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    Ok((page, limit))
}

/// One page of a sub-resource list.
fn paged<T>(items: Vec<T>, pairs: &[(String, String)]) -> V2Result<Vec<T>> {
    let (page, limit) = page_and_limit(pairs)?;
    let skip = ((page - 1) * limit) as usize;
    Ok(items.into_iter().skip(skip).take(limit as usize).collect())
}

// ---------- handlers ----------

async fn load(state: &AppState, store: &StoreRecord, raw_id: &str) -> V2Result<PlacedOrder> {
    let id = v2::path_id(raw_id, "Order")?;
    Ok(state.kassa.get_order(store, id).await?)
}

const READ: Scope = Scope::V2OrdersReadOnly;

/// Get all orders, filtered, sorted and paged; 204 when none match.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders", tag = "Orders",
    operation_id = "getOrders",
    params(("store_hash" = String, Path),
        ("min_id" = Option<i64>, Query), ("max_id" = Option<i64>, Query),
        ("customer_id" = Option<i64>, Query), ("status_id" = Option<i64>, Query),
        ("min_total" = Option<String>, Query), ("max_total" = Option<String>, Query),
        ("min_date_created" = Option<String>, Query), ("max_date_created" = Option<String>, Query),
        ("min_date_modified" = Option<String>, Query), ("max_date_modified" = Option<String>, Query),
        ("cart_id" = Option<String>, Query), ("email" = Option<String>, Query),
        ("is_deleted" = Option<bool>, Query, description = "true lists archived orders only; default false"),
        ("sort" = Option<String>, Query, description = "id, customer_id, date_created, date_modified or status_id, with :asc or :desc"),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1–250, default 50")),
    responses((status = 200, body = Vec<OrderWire>), (status = 204), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn list_orders(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let filter = list_filter(&pairs)?;
    let (page, limit) = page_and_limit(&pairs)?;
    let orders = state
        .kassa
        .list_orders(&who.store, &filter, page, limit)
        .await?;
    if orders.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let base = api_base(&state, &who.store);
    let wire: Vec<OrderWire> = orders
        .iter()
        .map(|o| order_wire(o, &who.store, &base))
        .collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// Count orders, per status, with the same filters as the list.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/count", tag = "Orders",
    operation_id = "getOrdersCount",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = OrdersCountWire), (status = 400, body = Vec<V2ErrorItem>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn count_orders(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let filter = list_filter(&pairs)?;
    let (counts, count) = state.kassa.count_orders(&who.store, &filter).await?;
    let mut statuses: Vec<OrderStatusWire> = counts
        .iter()
        .filter_map(|s| status_wire(s.id, Some(s.count)))
        .collect();
    statuses.sort_by_key(|s| s.sort_order);
    Ok(v2::reply(
        StatusCode::OK,
        &OrdersCountWire { statuses, count },
    ))
}

/// Get an order.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}", tag = "Orders",
    operation_id = "getOrder",
    params(("store_hash" = String, Path), ("order_id" = i64, Path)),
    responses((status = 200, body = OrderWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_order(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let base = api_base(&state, &who.store);
    Ok(v2::reply(
        StatusCode::OK,
        &order_wire(&o, &who.store, &base),
    ))
}

/// List an order's products.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/products", tag = "Order Products",
    operation_id = "getOrderProducts",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<OrderProductWire>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn list_order_products(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let o = load(&state, &who.store, &path.1).await?;
    let wire: Vec<OrderProductWire> = o
        .products()
        .iter()
        .map(|p| product_wire(o.id, p, o.shipped_of(p.id)))
        .collect();
    Ok(v2::reply(StatusCode::OK, &paged(wire, &pairs)?))
}

/// Get one of an order's products.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/products/{product_id}", tag = "Order Products",
    operation_id = "getOrderProduct",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("product_id" = i64, Path)),
    responses((status = 200, body = OrderProductWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_order_product(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let pid = v2::path_id(&path.2, "Order product")?;
    let p = o
        .products()
        .into_iter()
        .find(|p| p.id == pid)
        .ok_or_else(|| {
            V2Error::not_found(format!(
                "Order product {pid} does not exist in order {}.",
                o.id
            ))
        })?;
    Ok(v2::reply(
        StatusCode::OK,
        &product_wire(o.id, &p, o.shipped_of(p.id)),
    ))
}

/// List an order's shipping addresses (one per consignment).
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipping_addresses", tag = "Order Shipping Addresses",
    operation_id = "getOrderShippingAddresses",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<ShippingAddressWire>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn list_order_shipping_addresses(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let o = load(&state, &who.store, &path.1).await?;
    let base = api_base(&state, &who.store);
    let wire: Vec<ShippingAddressWire> = o
        .shipping_addresses()
        .iter()
        .map(|a| shipping_address_wire(o.id, a, &base, o.shipped_to(a.id)))
        .collect();
    Ok(v2::reply(StatusCode::OK, &paged(wire, &pairs)?))
}

/// Get one of an order's shipping addresses.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/shipping_addresses/{id}", tag = "Order Shipping Addresses",
    operation_id = "getOrderShippingAddress",
    params(("store_hash" = String, Path), ("order_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = ShippingAddressWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_order_shipping_address(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String, String)>,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let o = load(&state, &who.store, &path.1).await?;
    let aid = v2::path_id(&path.2, "Shipping address")?;
    let a = o
        .shipping_addresses()
        .into_iter()
        .find(|a| a.id == aid)
        .ok_or_else(|| {
            V2Error::not_found(format!(
                "Shipping address {aid} does not exist in order {}.",
                o.id
            ))
        })?;
    let base = api_base(&state, &who.store);
    Ok(v2::reply(
        StatusCode::OK,
        &shipping_address_wire(o.id, &a, &base, o.shipped_to(a.id)),
    ))
}

/// List the coupons an order used.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/coupons", tag = "Order Coupons",
    operation_id = "getOrderCoupons",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<OrderCouponWire>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn list_order_coupons(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let o = load(&state, &who.store, &path.1).await?;
    let wire: Vec<OrderCouponWire> = o.coupons().iter().map(|c| coupon_wire(o.id, c)).collect();
    Ok(v2::reply(StatusCode::OK, &paged(wire, &pairs)?))
}

/// List an order's taxes: per shipping address, tax rate and kind (item, shipping,
/// handling, fee), or with `details=true` per order product too; they add up to the
/// order's `total_tax`.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/orders/{order_id}/taxes", tag = "Order Taxes",
    operation_id = "getOrderTaxes",
    params(("store_hash" = String, Path), ("order_id" = i64, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query),
        ("details" = Option<bool>, Query, description = "true lists a row per order product and rate, with order_product_id; default false")),
    responses((status = 200, body = Vec<OrderTaxWire>), (status = 404, body = Vec<V2ErrorItem>)))]
async fn list_order_taxes(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> V2Result<Response> {
    let who = v2::principal(auth, READ)?;
    let pairs = query_pairs(q.as_deref());
    let details = bool_param(&pairs, "details")?.unwrap_or(false);
    let o = load(&state, &who.store, &path.1).await?;
    let wire: Vec<OrderTaxWire> = o
        .tax_rows(details)
        .iter()
        .map(|t| tax_wire(&o, t, details))
        .collect();
    Ok(v2::reply(StatusCode::OK, &paged(wire, &pairs)?))
}

/// The 15 order statuses.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/order_statuses", tag = "Order Status",
    operation_id = "getOrderStatuses",
    params(("store_hash" = String, Path)),
    responses((status = 200, body = Vec<OrderStatusWire>), (status = 403, body = Vec<V2ErrorItem>)))]
async fn list_order_statuses(auth: Result<Auth, ApiError>) -> V2Result<Response> {
    v2::principal(auth, READ)?;
    let wire: Vec<OrderStatusWire> = ORDER_STATUSES
        .iter()
        .filter_map(|(id, _, _)| status_wire(*id, None))
        .collect();
    Ok(v2::reply(StatusCode::OK, &wire))
}

/// One order status.
#[utoipa::path(get, path = "/stores/{store_hash}/v2/order_statuses/{status_id}", tag = "Order Status",
    operation_id = "getOrderStatusesStatus",
    params(("store_hash" = String, Path), ("status_id" = i64, Path)),
    responses((status = 200, body = OrderStatusWire), (status = 404, body = Vec<V2ErrorItem>)))]
async fn get_order_status(
    auth: Result<Auth, ApiError>,
    Path(path): Path<(String, String)>,
) -> V2Result<Response> {
    v2::principal(auth, READ)?;
    let id = path.1;
    let status = id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|i| status_wire(i, None))
        .ok_or_else(|| V2Error::not_found(format!("Order status {id} does not exist.")))?;
    Ok(v2::reply(StatusCode::OK, &status))
}
