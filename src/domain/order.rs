//! Orders as the V2 Orders API shows them, read from the immutable snapshot taken when
//! the order was placed (the priced cart with its checkout). Pure: every amount comes
//! from the snapshot, computed exactly with `Money`.
//!
//! - Products are the cart's line items, then custom items, then gift certificates, with
//!   ids 1, 2, … in that order; an item that ships to several addresses is one product
//!   per address (its share of the item's money, to the cent), except in orders placed
//!   before Kassa did so (see `product_parts`). `base_*`, `price_*` and `total_*` are before discounts
//!   (as BigCommerce shows them); the tax in them is the tax the line was actually
//!   charged (after discounts), which is what the snapshot records per line.
//! - Shipping addresses are the consignments, ids 1, 2, … in order.
//! - Taxes are listed from what each rate charged each taxed amount when the order was
//!   priced (kept in the checkout totals): per shipping address, product (or shipping,
//!   handling, fee) and rate, to the cent, adding up to `total_tax`.

use super::address::Address;
use super::cart::Cart;
use super::catalog::ProductType;
use super::checkout::{Fee, allocate, shipping_and_handling};
use super::money::Money;
use super::order_admin::{IdMap, OrderAdmin};
use super::tax::RateCharge;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// BigCommerce's order statuses: (id, name, description), by id.
pub const ORDER_STATUSES: [(i64, &str, &str); 15] = [
    (
        0,
        "Incomplete",
        "The shopper reached the payment step but did not complete the transaction.",
    ),
    (
        1,
        "Pending",
        "The shopper started checking out but did not finish.",
    ),
    (
        2,
        "Shipped",
        "The order has shipped; receipt is not yet confirmed.",
    ),
    (
        3,
        "Partially Shipped",
        "Some of the order's items have shipped.",
    ),
    (4, "Refunded", "The merchant refunded the order."),
    (5, "Cancelled", "The merchant cancelled the order."),
    (6, "Declined", "The merchant declined the order."),
    (
        7,
        "Awaiting Payment",
        "Checkout is complete; payment is not yet confirmed.",
    ),
    (
        8,
        "Awaiting Pickup",
        "The order is ready for the customer to collect.",
    ),
    (
        9,
        "Awaiting Shipment",
        "The order is packed and waits for the carrier.",
    ),
    (
        10,
        "Completed",
        "The order is paid and its digital items are available.",
    ),
    (
        11,
        "Awaiting Fulfillment",
        "Checkout is complete and payment is confirmed.",
    ),
    (
        12,
        "Manual Verification Required",
        "The order is on hold until something is confirmed by hand.",
    ),
    (13, "Disputed", "The customer disputes the payment."),
    (
        14,
        "Partially Refunded",
        "The merchant refunded part of the order.",
    ),
];

/// The order in which the Control Panel lists statuses (`sort_order` in counts).
pub const STATUS_SORT_ORDER: [i64; 15] = [0, 1, 7, 11, 9, 8, 3, 10, 2, 5, 6, 4, 13, 12, 14];

/// A status's name; `""` for an unknown id.
pub fn status_name(id: i64) -> &'static str {
    ORDER_STATUSES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, n, _)| *n)
        .unwrap_or("")
}

/// An order as placed: its id, status, times and the priced cart.
#[derive(Clone, Debug)]
pub struct PlacedOrder {
    pub id: i64,
    pub status_id: i64,
    pub date_created: i64,
    pub date_modified: i64,
    pub cart: Cart,
    /// What the merchant changed since (notes, shipped units).
    pub admin: OrderAdmin,
    /// Archived (`DELETE /v2/orders/{id}`); still readable.
    pub is_deleted: bool,
    /// What its refunds gave back in all (kept on the order row, not in the snapshot).
    pub refunded: Money,
    /// The offline method the shopper chose to pay with (e.g. `Cash on Delivery`).
    pub payment_method: Option<String>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    date_created: i64,
    cart: Cart,
    #[serde(default)]
    admin: OrderAdmin,
    #[serde(default)]
    payment_method: Option<String>,
}

impl PlacedOrder {
    /// Reads an order document (`{"id", "status_id", "date_created", "cart"}`); the
    /// row's own id, status and modification time win over the document's.
    pub fn from_doc(
        id: i64,
        status_id: i64,
        date_modified: i64,
        doc: Value,
    ) -> Result<Self, serde_json::Error> {
        let d: Doc = serde_json::from_value(doc)?;
        Ok(PlacedOrder {
            id,
            status_id,
            date_created: d.date_created,
            date_modified,
            cart: d.cart,
            admin: d.admin,
            is_deleted: false,
            refunded: Money::ZERO,
            payment_method: d.payment_method,
        })
    }

    /// The email the order is for: the billing address's, else the cart's.
    pub fn email(&self) -> &str {
        self.cart
            .checkout
            .billing_address
            .as_ref()
            .map(|b| b.address.email.as_str())
            .filter(|e| !e.is_empty())
            .unwrap_or(self.cart.email.as_str())
    }

    /// Units of one order product shipped so far.
    pub fn shipped_of(&self, order_product_id: i64) -> i64 {
        self.admin
            .shipped
            .get(&order_product_id)
            .copied()
            .unwrap_or(0)
    }

    /// Units shipped so far to one shipping address.
    pub fn shipped_to(&self, address_id: i64) -> i64 {
        self.products()
            .iter()
            .map(|p| self.admin.shipped_at(p, address_id))
            .sum()
    }

    pub fn summary(&self) -> OrderSummary {
        summary(&self.cart)
    }

    pub fn products(&self) -> Vec<OrderProduct> {
        products(
            &self.cart,
            &self.admin.product_ids,
            self.admin.products_per_address,
        )
    }

    /// The order's fees with their V2 ids.
    pub fn fees(&self) -> Vec<(i64, &Fee)> {
        let fees = &self.cart.checkout.fees;
        let keys: Vec<uuid::Uuid> = fees.iter().map(|f| f.id).collect();
        self.admin
            .fee_ids
            .ids_for(&keys)
            .into_iter()
            .zip(fees)
            .collect()
    }

    pub fn shipping_addresses(&self) -> Vec<OrderShippingAddress> {
        shipping_addresses(&self.cart)
    }

    pub fn coupons(&self) -> Vec<OrderCoupon> {
        coupons(&self.cart)
    }

    pub fn taxes(&self) -> Vec<OrderTax> {
        taxes(&self.cart)
    }

    /// The order's taxes as V2 lists them (see [`OrderTaxRow`]): with `details`, one row
    /// per order product (or shipping, handling, fee) and rate; otherwise those rows
    /// added up per address, kind and rate. Either way they add up to the order's
    /// `total_tax`.
    pub fn tax_rows(&self, details: bool) -> Vec<OrderTaxRow> {
        let rows = if self.cart.checkout.totals.rate_tax.is_empty() {
            self.derived_tax_rows()
        } else {
            self.kept_tax_rows()
        };
        let mut rows = if details { rows } else { aggregate(rows) };
        for (n, r) in rows.iter_mut().enumerate() {
            r.id = n as i64 + 1;
        }
        rows
    }

    /// Rows from what each rate charged each taxed amount when the order was priced.
    fn kept_tax_rows(&self) -> Vec<OrderTaxRow> {
        let cart = &self.cart;
        let kept = &cart.checkout.totals.rate_tax;
        let consignments = &cart.checkout.consignments;
        // `-` (units that ship nowhere, taxed at the billing address) is address 0.
        let address_of = |place: &str| -> i64 {
            consignments
                .iter()
                .position(|c| c.id == place)
                .map(|k| k as i64 + 1)
                .unwrap_or(0)
        };
        let mut used: std::collections::BTreeSet<&str> = Default::default();
        let mut rows = Vec::new();
        let mut add = |key: &str, address: i64, product: Option<i64>, kind: &'static str| {
            if let Some((key, charges)) = kept.get_key_value(key) {
                used.insert(key.as_str());
                rows.extend(charges.iter().map(|c| tax_row(c, address, product, kind)));
            }
        };
        let per_address = self.admin.products_per_address;
        let parts = product_parts(cart, per_address);
        let keys: Vec<uuid::Uuid> = parts.iter().map(|p| p.key).collect();
        let ids = self.admin.product_ids.ids_for(&keys);
        for (n, part) in parts.iter().enumerate() {
            let id = ids.get(n).copied().unwrap_or(n as i64 + 1);
            let places: Vec<(i64, String)> = match part.at {
                Some(k) => consignments
                    .get(k)
                    .map(|c| (k as i64 + 1, format!("{}@{}", part.item, c.id)))
                    .into_iter()
                    .collect(),
                None if per_address => vec![(0, format!("{}@-", part.item))],
                // One product for the whole item: each place's units as taxed there.
                None => {
                    let prefix = format!("{}@", part.item);
                    let mut places: Vec<(i64, String)> = kept
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(&prefix))
                        .map(|(k, _)| (address_of(&k[prefix.len()..]), k.clone()))
                        .collect();
                    places.sort_by_key(|(a, _)| (*a == 0, *a));
                    places
                }
            };
            for (address, key) in places {
                add(&key, address, Some(id), "item");
            }
        }
        for (k, c) in consignments.iter().enumerate() {
            let address = k as i64 + 1;
            add(&format!("shipping:{}", c.id), address, None, "shipping");
            add(&format!("handling:{}", c.id), address, None, "handling");
        }
        // The spec's line item types have none for fees: a fee is a charge on the order
        // like handling, at no shipping address.
        for (_, f) in self.fees() {
            add(&format!("fee:{}", f.id), 0, None, "handling");
        }
        // Anything else charged (nothing, as orders are made) still counts toward the total.
        for (key, charges) in kept {
            if used.contains(key.as_str()) {
                continue;
            }
            let (kind, place) = match key.split_once(':') {
                Some(("shipping", place)) => ("shipping", place),
                Some(("handling", place)) => ("handling", place),
                Some(("fee", _)) => ("handling", "-"),
                _ => ("item", key.split_once('@').map(|(_, p)| p).unwrap_or("-")),
            };
            let address = address_of(place);
            rows.extend(charges.iter().map(|c| tax_row(c, address, None, kind)));
        }
        rows
    }

    /// Rows for an order priced before the charges per rate were kept. With one tax
    /// rate, every product's, shipping's, handling's and fee's tax is that rate's (as
    /// the order lists them); otherwise (or should those not add up to the rate's total)
    /// one row per rate over the whole order, at no address.
    fn derived_tax_rows(&self) -> Vec<OrderTaxRow> {
        let totals = self.taxes();
        let whole_order = |t: &OrderTax| OrderTaxRow {
            id: t.id,
            order_address_id: 0,
            rate_id: 0,
            name: t.name.clone(),
            class_id: 0,
            class: String::new(),
            rate: Decimal::ZERO,
            priority: 0,
            amount: t.amount,
            order_product_id: None,
            line_item_type: "item",
        };
        let [only] = totals.as_slice() else {
            return totals.iter().map(whole_order).collect();
        };
        let mut taxed: Vec<(i64, Option<i64>, &'static str, Money)> = self
            .products()
            .iter()
            .map(|p| (p.order_address_id, Some(p.id), "item", p.total_tax))
            .collect();
        for a in self.shipping_addresses() {
            taxed.push((a.id, None, "shipping", a.cost_inc_tax - a.cost_ex_tax));
            let handling = a.handling_cost_inc_tax - a.handling_cost_ex_tax;
            taxed.push((a.id, None, "handling", handling));
        }
        for (_, f) in self.fees() {
            taxed.push((0, None, "handling", f.cost_inc_tax - f.cost_ex_tax));
        }
        taxed.retain(|t| !t.3.amount().is_zero());
        if taxed.iter().map(|t| t.3).sum::<Money>() != only.amount {
            return vec![whole_order(only)];
        }
        taxed
            .into_iter()
            .map(|(address, product, kind, amount)| OrderTaxRow {
                order_address_id: address,
                amount,
                order_product_id: product,
                line_item_type: kind,
                ..whole_order(only)
            })
            .collect()
    }

    /// The order's messages: the comment the shopper wrote at checkout (or that came
    /// with `POST /v2/orders`), as written, from the customer. Kassa has no other way
    /// for a shopper or the merchant to write one.
    pub fn messages(&self) -> Vec<OrderMessage> {
        let text = self.cart.checkout.customer_message.trim();
        if text.is_empty() {
            return Vec::new();
        }
        vec![OrderMessage {
            id: 1,
            customer_id: self.cart.customer_id,
            kind: "customer",
            subject: format!("Order #{}", self.id),
            message: text.to_string(),
            status: "unread",
            is_flagged: false,
            date_created: self.date_created,
        }]
    }
}

/// A message on an order (V2 `orderMessages`).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderMessage {
    pub id: i64,
    pub customer_id: i64,
    /// `customer` (from the shopper) or `admin` (from the merchant).
    pub kind: &'static str,
    pub subject: String,
    pub message: String,
    /// `read` or `unread`.
    pub status: &'static str,
    pub is_flagged: bool,
    pub date_created: i64,
}

/// An order's totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderSummary {
    pub subtotal_ex_tax: Money,
    pub subtotal_inc_tax: Money,
    pub base_shipping_cost: Money,
    pub shipping_cost_ex_tax: Money,
    pub shipping_cost_inc_tax: Money,
    pub base_handling_cost: Money,
    pub handling_cost_ex_tax: Money,
    pub handling_cost_inc_tax: Money,
    pub total_ex_tax: Money,
    pub total_inc_tax: Money,
    pub total_tax: Money,
    pub items_total: i64,
    /// Item discounts other than coupons (promotions, manual discounts).
    pub discount_amount: Money,
    /// What the coupons took, items and shipping.
    pub coupon_discount: Money,
    pub store_credit_amount: Money,
    pub gift_certificate_amount: Money,
    /// Whether every item is digital (nothing ships).
    pub is_digital: bool,
}

fn base_shipping_and_handling(cart: &Cart) -> (Money, Money) {
    cart.checkout
        .consignments
        .iter()
        .filter_map(|c| c.selected_option.as_ref())
        .map(shipping_and_handling)
        .fold((Money::ZERO, Money::ZERO), |(s, h), (cs, ch)| {
            (s + cs, h + ch)
        })
}

pub fn summary(cart: &Cart) -> OrderSummary {
    let t = &cart.checkout.totals;
    let (base_shipping_cost, base_handling_cost) = base_shipping_and_handling(cart);
    let items_total = cart.line_items.iter().map(|l| l.quantity).sum::<i64>()
        + cart.custom_items.iter().map(|c| c.quantity).sum::<i64>()
        + cart
            .gift_certificates
            .iter()
            .map(|g| g.quantity)
            .sum::<i64>();
    let coupon_on_items: Money = cart
        .line_items
        .iter()
        .map(|l| l.pricing.coupon_amount)
        .sum();
    let item_discounts = (cart.totals.base_amount - cart.totals.cart_amount).max(Money::ZERO);
    let coupon_discount: Money = cart
        .checkout
        .coupons
        .iter()
        .filter(|c| c.not_applied.is_none())
        .map(|c| c.discounted_amount)
        .sum();
    OrderSummary {
        subtotal_ex_tax: t.subtotal_ex_tax,
        subtotal_inc_tax: t.subtotal_inc_tax,
        base_shipping_cost,
        shipping_cost_ex_tax: t.shipping_cost_total_ex_tax,
        shipping_cost_inc_tax: t.shipping_cost_total_inc_tax,
        base_handling_cost,
        handling_cost_ex_tax: t.handling_cost_total_ex_tax,
        handling_cost_inc_tax: t.handling_cost_total_inc_tax,
        total_ex_tax: t.grand_total - t.tax_total,
        total_inc_tax: t.grand_total,
        total_tax: t.tax_total,
        items_total,
        discount_amount: (item_discounts - coupon_on_items).max(Money::ZERO),
        coupon_discount,
        store_credit_amount: cart.checkout.payments.store_credit,
        gift_certificate_amount: cart.checkout.payments.gift_certificates,
        is_digital: cart
            .line_items
            .iter()
            .all(|l| l.kind != ProductType::Physical)
            && cart.custom_items.is_empty(),
    }
}

/// One discount on a product.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductDiscount {
    pub id: String,
    pub amount: Money,
    /// `Some(code)` for coupons.
    pub code: Option<String>,
}

/// One product line of an order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderProduct {
    pub id: i64,
    /// The cart item it is (all or, per address, some of) the units of.
    pub item: uuid::Uuid,
    pub product_id: i64,
    pub variant_id: i64,
    /// `physical`, `digital` or `giftcertificate`.
    pub kind: &'static str,
    pub name: String,
    pub sku: String,
    pub quantity: i64,
    pub weight: Decimal,
    /// Unit price as entered, before discounts.
    pub base_price: Money,
    pub price_ex_tax: Money,
    pub price_inc_tax: Money,
    pub base_total: Money,
    pub total_ex_tax: Money,
    pub total_inc_tax: Money,
    /// Tax charged on the line (after discounts).
    pub total_tax: Money,
    /// Everything taken off the line.
    pub discount: Money,
    pub discounts: Vec<ProductDiscount>,
    /// The shipping address (consignment) id it ships to; 0 when it does not ship. In
    /// an order placed before products were listed per address, a checkout line split
    /// over several addresses reads back at the first.
    pub order_address_id: i64,
    /// Every address it ships to with its units there: (address id, units).
    pub ships_to: Vec<(i64, i64)>,
    pub options: Vec<(String, String)>,
}

impl OrderProduct {
    /// `quantity` units of the cart item `item`, with nothing else known yet.
    pub fn of_item(item: uuid::Uuid, quantity: i64) -> OrderProduct {
        OrderProduct {
            id: 0,
            item,
            product_id: 0,
            variant_id: 0,
            kind: "physical",
            name: String::new(),
            sku: String::new(),
            quantity,
            weight: Decimal::ZERO,
            base_price: Money::ZERO,
            price_ex_tax: Money::ZERO,
            price_inc_tax: Money::ZERO,
            base_total: Money::ZERO,
            total_ex_tax: Money::ZERO,
            total_inc_tax: Money::ZERO,
            total_tax: Money::ZERO,
            discount: Money::ZERO,
            discounts: Vec::new(),
            order_address_id: 0,
            ships_to: Vec::new(),
            options: Vec::new(),
        }
    }

    /// Unit tax (the line's tax over its quantity).
    pub fn price_tax(&self) -> Money {
        per_unit(self.total_tax, self.quantity)
    }

    /// The line's total including tax after its discounts.
    pub fn discounted_total_inc_tax(&self) -> Money {
        self.total_inc_tax - self.discount
    }
}

fn per_unit(total: Money, quantity: i64) -> Money {
    if quantity <= 0 {
        Money::ZERO
    } else {
        Money::new(total.amount() / Decimal::from(quantity))
    }
}

/// `(ex, inc)` of a line's pre-discount total given the tax it was charged.
fn ex_inc(entered: Money, tax: Money, tax_included: bool) -> (Money, Money) {
    if tax_included {
        (entered - tax, entered)
    } else {
        (entered, entered + tax)
    }
}

/// The cart item ids in the order the V2 products list them.
pub fn item_keys(cart: &Cart) -> Vec<uuid::Uuid> {
    cart.line_items
        .iter()
        .map(|l| l.id)
        .chain(cart.custom_items.iter().map(|c| c.id))
        .chain(cart.gift_certificates.iter().map(|g| g.id))
        .collect()
}

/// Where the units of one cart item ship: (consignment position, quantity) for each
/// consignment that has it.
pub fn item_parts(cart: &Cart, item: uuid::Uuid) -> Vec<(usize, i64)> {
    cart.checkout
        .consignments
        .iter()
        .enumerate()
        .flat_map(|(k, c)| {
            c.items
                .iter()
                .filter(move |i| i.item_id == item)
                .map(move |i| (k, i.quantity))
        })
        .collect()
}

/// One order product as the cart holds it: a cart item's units, all of them or (in an
/// order that lists products per address) those going to one shipping address.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProductPart {
    /// What its V2 id is kept under (see `IdMap`): the item's id for a whole item, one
    /// made from the item's and the consignment's ids for one address's units.
    pub key: uuid::Uuid,
    pub item: uuid::Uuid,
    /// The consignment position its units ship to; `None` for a whole item (or units
    /// that ship nowhere).
    pub at: Option<usize>,
    pub quantity: i64,
}

/// The key of the units of `item` that ship to the consignment `consignment_id`.
pub fn part_key(item: uuid::Uuid, consignment_id: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(item.as_bytes());
    h.update(consignment_id.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes)
}

/// An order's products as cart parts, in the order (and so with the ids) the V2 API
/// lists them: the cart's line items, then custom items, then gift certificates. With
/// `per_address` (orders placed since Kassa lists a product per address, as
/// BigCommerce does) an item that ships is one product per shipping address it goes
/// to, in the order of the addresses; otherwise every item is one product.
pub fn product_parts(cart: &Cart, per_address: bool) -> Vec<ProductPart> {
    let whole = |item, quantity| ProductPart {
        key: item,
        item,
        at: None,
        quantity,
    };
    let items = cart
        .line_items
        .iter()
        .map(|l| (l.id, l.quantity))
        .chain(cart.custom_items.iter().map(|c| (c.id, c.quantity)));
    let mut out = Vec::new();
    for (item, quantity) in items {
        let parts = if per_address {
            item_parts(cart, item)
        } else {
            Vec::new()
        };
        if parts.is_empty() {
            out.push(whole(item, quantity));
            continue;
        }
        let placed: i64 = parts.iter().map(|p| p.1).sum();
        for (k, q) in parts {
            out.push(ProductPart {
                key: part_key(item, &cart.checkout.consignments[k].id),
                item,
                at: Some(k),
                quantity: q,
            });
        }
        if quantity > placed {
            out.push(whole(item, quantity - placed));
        }
    }
    out.extend(
        cart.gift_certificates
            .iter()
            .map(|g| whole(g.id, g.quantity)),
    );
    out
}

/// The keys of [`product_parts`], in order.
pub fn product_keys(cart: &Cart, per_address: bool) -> Vec<uuid::Uuid> {
    product_parts(cart, per_address)
        .into_iter()
        .map(|p| p.key)
        .collect()
}

/// What one cart item comes to, before it is shared over its parts.
struct ItemMoney {
    /// Before discounts, as entered.
    base_total: Money,
    discount: Money,
    tax: Money,
    discounts: Vec<ProductDiscount>,
}

/// One part's share of an item: (base total, discount, tax, discounts).
type PartMoney = (Money, Money, Money, Vec<ProductDiscount>);

/// Shares an item's money over its parts (each a consignment position or none, and
/// units) to the cent: the value after discounts as the pricing engine shared it for
/// tax (by units), the value before discounts the same way, each part's tax as the
/// engine charged it there (`part_tax`; shared by value when not kept), and each
/// discount in proportion to what came off each part.
fn share_item(
    cart: &Cart,
    item: uuid::Uuid,
    m: &ItemMoney,
    parts: &[(Option<usize>, i64)],
) -> Vec<PartMoney> {
    let cur = &cart.currency;
    let units: Vec<Money> = parts
        .iter()
        .map(|p| Money::new(Decimal::from(p.1.max(0))))
        .collect();
    let base = allocate(m.base_total, &units, cur);
    let net = allocate(m.base_total - m.discount, &units, cur);
    let kept: Option<Vec<Money>> = parts
        .iter()
        .map(|(at, _)| {
            let place = match at {
                Some(k) => cart.checkout.consignments.get(*k)?.id.as_str(),
                None => "-",
            };
            cart.checkout
                .totals
                .part_tax
                .get(&format!("{item}@{place}"))
                .copied()
        })
        .collect();
    let tax = kept
        .filter(|t| t.iter().copied().sum::<Money>() == m.tax)
        .unwrap_or_else(|| allocate(m.tax, &net, cur));
    let weights: Vec<Money> = m.discounts.iter().map(|d| d.amount).collect();
    let mut left: Vec<Money> = weights.clone();
    let last = parts.len().saturating_sub(1);
    (0..parts.len())
        .map(|k| {
            let off = base[k] - net[k];
            let amounts = if k == last {
                left.clone()
            } else {
                allocate(off, &weights, cur)
            };
            for (l, a) in left.iter_mut().zip(&amounts) {
                *l -= *a;
            }
            let discounts = m
                .discounts
                .iter()
                .zip(amounts)
                .map(|(d, amount)| ProductDiscount {
                    amount,
                    ..d.clone()
                })
                .collect();
            (base[k], off, tax[k], discounts)
        })
        .collect()
}

/// An order's products, with the V2 ids `ids` gives them (see [`product_parts`]).
pub fn products(cart: &Cart, ids: &IdMap, per_address: bool) -> Vec<OrderProduct> {
    let parts = product_parts(cart, per_address);
    let keys: Vec<uuid::Uuid> = parts.iter().map(|p| p.key).collect();
    let ids = ids.ids_for(&keys);
    let address_of = |item: uuid::Uuid| -> i64 {
        cart.checkout
            .consignments
            .iter()
            .position(|c| c.items.iter().any(|i| i.item_id == item))
            .map(|i| i as i64 + 1)
            .unwrap_or(0)
    };
    let ships_to = |item: uuid::Uuid| -> Vec<(i64, i64)> {
        item_parts(cart, item)
            .into_iter()
            .map(|(k, q)| (k as i64 + 1, q))
            .collect()
    };
    let tax_of = |item: uuid::Uuid| -> Money {
        cart.checkout
            .totals
            .line_tax
            .get(&item)
            .copied()
            .unwrap_or_default()
    };
    let coupon_codes: Vec<&str> = cart
        .checkout
        .coupons
        .iter()
        .filter(|c| c.not_applied.is_none())
        .map(|c| c.code.as_str())
        .collect();
    // Every item as one product, then each split into its parts.
    let mut whole: Vec<(OrderProduct, ItemMoney)> = Vec::new();
    for l in &cart.line_items {
        // The codes that took something off this line (all the order's, for a line
        // priced before they were told apart).
        let codes = if l.pricing.coupon_codes.is_empty() {
            coupon_codes.join(",")
        } else {
            l.pricing
                .coupon_codes
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let discounts = l
            .pricing
            .discounts
            .iter()
            .map(|d| ProductDiscount {
                id: d.id.clone(),
                amount: d.amount,
                code: (d.id == super::discount::COUPON_DISCOUNT_ID).then(|| codes.clone()),
            })
            .collect();
        let p = OrderProduct {
            product_id: l.product_id,
            variant_id: l.variant_id,
            kind: if l.kind == ProductType::Physical {
                "physical"
            } else {
                "digital"
            },
            name: l.name.clone(),
            sku: l.sku.clone(),
            weight: l.weight,
            base_price: l.pricing.sale_price,
            options: l
                .options
                .iter()
                .map(|o| (o.name.clone(), o.value.clone()))
                .collect(),
            ..OrderProduct::of_item(l.id, l.quantity)
        };
        let m = ItemMoney {
            base_total: l.pricing.extended_sale_price,
            discount: l.pricing.discount_amount,
            tax: tax_of(l.id),
            discounts,
        };
        whole.push((p, m));
    }
    for c in &cart.custom_items {
        let p = OrderProduct {
            kind: "physical",
            name: c.name.clone(),
            sku: c.sku.clone(),
            base_price: c.list_price,
            ..OrderProduct::of_item(c.id, c.quantity)
        };
        let m = ItemMoney {
            base_total: c.extended_list_price,
            discount: c.discount_amount,
            tax: tax_of(c.id),
            discounts: Vec::new(),
        };
        whole.push((p, m));
    }
    for g in &cart.gift_certificates {
        let p = OrderProduct {
            kind: "giftcertificate",
            name: g.name.clone(),
            base_price: g.amount,
            ..OrderProduct::of_item(g.id, g.quantity)
        };
        let m = ItemMoney {
            base_total: g.amount.times(g.quantity.max(0) as u32),
            discount: Money::ZERO,
            tax: Money::ZERO,
            discounts: Vec::new(),
        };
        whole.push((p, m));
    }
    let mut out = Vec::new();
    for (template, m) in whole {
        let item = template.item;
        // Parts of one item are next to each other, in the order of `parts`.
        let mine: Vec<&ProductPart> = parts.iter().filter(|p| p.item == item).collect();
        let shares: Vec<PartMoney> = match mine.as_slice() {
            [one] if one.at.is_none() => {
                vec![(m.base_total, m.discount, m.tax, m.discounts.clone())]
            }
            _ => {
                let placed: Vec<(Option<usize>, i64)> =
                    mine.iter().map(|p| (p.at, p.quantity)).collect();
                share_item(cart, item, &m, &placed)
            }
        };
        for (part, (base_total, discount, tax, discounts)) in mine.into_iter().zip(shares) {
            let (total_ex_tax, total_inc_tax) = if template.kind == "giftcertificate" {
                (base_total, base_total)
            } else {
                ex_inc(base_total, tax, cart.tax_included)
            };
            let (order_address_id, ships_to) = match part.at {
                Some(k) => (k as i64 + 1, vec![(k as i64 + 1, part.quantity)]),
                // Per address, a part without one is units that ship nowhere.
                None if per_address || template.kind == "giftcertificate" => (0, Vec::new()),
                None => (address_of(item), ships_to(item)),
            };
            let position = out.len();
            out.push(OrderProduct {
                id: ids.get(position).copied().unwrap_or(position as i64 + 1),
                quantity: part.quantity,
                price_ex_tax: per_unit(total_ex_tax, part.quantity),
                price_inc_tax: per_unit(total_inc_tax, part.quantity),
                base_total,
                total_ex_tax,
                total_inc_tax,
                total_tax: tax,
                discount,
                discounts,
                order_address_id,
                ships_to,
                ..template.clone()
            });
        }
    }
    out
}

/// Where one consignment ships, how, and at what cost.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderShippingAddress {
    pub id: i64,
    pub address: Address,
    pub items_total: i64,
    /// Shipping before shipping discounts.
    pub base_cost: Money,
    pub cost_ex_tax: Money,
    pub cost_inc_tax: Money,
    pub base_handling_cost: Money,
    pub handling_cost_ex_tax: Money,
    pub handling_cost_inc_tax: Money,
    pub shipping_method: String,
    pub shipping_zone_id: i64,
}

pub fn shipping_addresses(cart: &Cart) -> Vec<OrderShippingAddress> {
    cart.checkout
        .consignments
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (base_cost, base_handling_cost) = c
                .selected_option
                .as_ref()
                .map(shipping_and_handling)
                .unwrap_or_default();
            let shipping_method = match (&c.selected_option, c.pickup_method_id) {
                (Some(o), _) => o.description.clone(),
                (None, Some(_)) => "Pickup".to_string(),
                (None, None) => String::new(),
            };
            OrderShippingAddress {
                id: i as i64 + 1,
                address: c.address.address.clone(),
                items_total: c.items.iter().map(|it| it.quantity).sum(),
                base_cost,
                cost_ex_tax: c.shipping_cost_ex_tax,
                cost_inc_tax: c.shipping_cost_inc_tax,
                base_handling_cost,
                handling_cost_ex_tax: c.handling_cost_ex_tax,
                handling_cost_inc_tax: c.handling_cost_inc_tax,
                shipping_method,
                shipping_zone_id: c.selected_option.as_ref().map(|o| o.zone_id).unwrap_or(0),
            }
        })
        .collect()
}

/// A coupon the order used.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderCoupon {
    pub id: i64,
    pub coupon_id: i64,
    pub code: String,
    /// 0 per_item_discount, 1 percentage_discount, 2 per_total_discount,
    /// 3 shipping_discount, 4 free_shipping, 5 promotion.
    pub coupon_type: i64,
    /// What it took off the order.
    pub discount: Money,
}

pub fn coupon_type_number(t: &str) -> i64 {
    match t {
        "per_item_discount" => 0,
        "percentage_discount" => 1,
        "per_total_discount" => 2,
        "shipping_discount" => 3,
        "free_shipping" => 4,
        _ => 5,
    }
}

pub fn coupons(cart: &Cart) -> Vec<OrderCoupon> {
    cart.checkout
        .coupons
        .iter()
        .filter(|c| c.not_applied.is_none())
        .enumerate()
        .map(|(i, c)| OrderCoupon {
            id: i as i64 + 1,
            coupon_id: c.id,
            code: c.code.clone(),
            coupon_type: coupon_type_number(&c.coupon_type),
            discount: c.discounted_amount,
        })
        .collect()
}

/// One tax rate's total over the order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderTax {
    pub id: i64,
    pub name: String,
    pub amount: Money,
}

/// One row of an order's taxes (V2 `orderTaxes`): what one tax rate charged at one
/// shipping address, on one product with details (else on all of one kind there).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderTaxRow {
    pub id: i64,
    /// The shipping address the taxed units (or shipping) go to; 0 for what ships
    /// nowhere (digital products, gift certificates, fees), taxed at the billing address.
    pub order_address_id: i64,
    /// 0 when not known (orders priced before rates were kept per amount).
    pub rate_id: i64,
    pub name: String,
    pub class_id: i64,
    /// The tax class the amount was taxed as (`""` when not known).
    pub class: String,
    /// Percent.
    pub rate: Decimal,
    pub priority: i64,
    pub amount: Money,
    /// With details, the order product an `item` row is for.
    pub order_product_id: Option<i64>,
    /// `item`, `shipping`, `handling` or `fee`.
    pub line_item_type: &'static str,
}

fn tax_row(
    c: &RateCharge,
    order_address_id: i64,
    order_product_id: Option<i64>,
    line_item_type: &'static str,
) -> OrderTaxRow {
    OrderTaxRow {
        id: 0,
        order_address_id,
        rate_id: c.rate_id,
        name: c.name.clone(),
        class_id: c.class_id,
        class: c.class.clone(),
        rate: c.rate,
        priority: c.priority,
        amount: c.amount,
        order_product_id,
        line_item_type,
    }
}

/// Rows added up per address, kind, rate and class (no product), ordered by address
/// (what ships nowhere last), then items, shipping, handling, fees.
fn aggregate(rows: Vec<OrderTaxRow>) -> Vec<OrderTaxRow> {
    let mut out: Vec<OrderTaxRow> = Vec::new();
    for r in rows {
        let same = |o: &&mut OrderTaxRow| {
            o.order_address_id == r.order_address_id
                && o.line_item_type == r.line_item_type
                && o.rate_id == r.rate_id
                && o.name == r.name
                && o.class_id == r.class_id
                && o.class == r.class
                && o.rate == r.rate
        };
        match out.iter_mut().find(same) {
            Some(o) => o.amount += r.amount,
            None => out.push(OrderTaxRow {
                order_product_id: None,
                ..r
            }),
        }
    }
    let kind_rank = |k: &str| match k {
        "item" => 0,
        "shipping" => 1,
        "handling" => 2,
        _ => 3,
    };
    out.sort_by_key(|r| {
        (
            r.order_address_id == 0,
            r.order_address_id,
            kind_rank(r.line_item_type),
        )
    });
    out
}

pub fn taxes(cart: &Cart) -> Vec<OrderTax> {
    cart.checkout
        .totals
        .taxes
        .iter()
        .enumerate()
        .map(|(i, t)| OrderTax {
            id: i as i64 + 1,
            name: t.name.clone(),
            amount: t.amount,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_cover_ids_0_to_14_once() {
        for (i, (id, name, _)) in ORDER_STATUSES.iter().enumerate() {
            assert_eq!(*id, i as i64);
            assert!(!name.is_empty());
        }
        let mut sorted = STATUS_SORT_ORDER;
        sorted.sort();
        assert_eq!(sorted.to_vec(), (0..15).collect::<Vec<i64>>());
        assert_eq!(status_name(11), "Awaiting Fulfillment");
        assert_eq!(status_name(99), "");
    }

    #[test]
    fn coupon_types_map_to_numbers() {
        assert_eq!(coupon_type_number("percentage_discount"), 1);
        assert_eq!(coupon_type_number("free_shipping"), 4);
    }
}
