//! What a merchant may do to a placed order (V2 Orders writes), as pure rules: which
//! status changes are allowed, which give back what the order holds, and what a
//! shipment may contain and does to the order's status.

use super::address::Address;
use super::cart::Cart;
use super::checkout::{AppliedCoupon, FeeSpec, ManualDiscounts, allocate, shipping_and_handling};
use super::countries;
use super::money::Money;
use super::order::{OrderProduct, item_keys, status_name};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

pub const INCOMPLETE: i64 = 0;
pub const SHIPPED: i64 = 2;
pub const PARTIALLY_SHIPPED: i64 = 3;
pub const REFUNDED: i64 = 4;
pub const CANCELLED: i64 = 5;
pub const DECLINED: i64 = 6;
pub const AWAITING_PICKUP: i64 = 8;
pub const AWAITING_SHIPMENT: i64 = 9;
pub const COMPLETED: i64 = 10;
pub const AWAITING_FULFILLMENT: i64 = 11;
pub const PARTIALLY_REFUNDED: i64 = 14;

/// What the merchant changed on an order, kept in its document under `admin` (the rest
/// of the document is the snapshot taken when it was placed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderAdmin {
    #[serde(default)]
    pub staff_notes: String,
    /// Replaces the checkout's customer message when set.
    #[serde(default)]
    pub customer_message: Option<String>,
    /// Units shipped per order product id.
    #[serde(default)]
    pub shipped: BTreeMap<i64, i64>,
    /// When the last shipment was made (unix seconds; 0 = never).
    #[serde(default)]
    pub date_shipped: i64,
    /// V2 ids of the order's products (cart item ids to order product ids).
    #[serde(default)]
    pub product_ids: IdMap,
    /// V2 ids of the order's fees (checkout fee ids to order fee ids).
    #[serde(default)]
    pub fee_ids: IdMap,
    /// Units shipped per (order product id, shipping address id), for products that
    /// have it; a product shipped before it was kept shipped everything to its
    /// `order_address_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipped_at: Vec<(i64, i64, i64)>,
    /// The order lists a product per (cart item, shipping address), as BigCommerce
    /// does; orders placed before Kassa did list a checkout line split over several
    /// addresses as one product, and keep doing so (their ids stay as they were).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub products_per_address: bool,
}

impl OrderAdmin {
    pub fn items_shipped(&self) -> i64 {
        self.shipped.values().sum()
    }

    /// Units of `p` shipped to the address `address_id`.
    pub fn shipped_at(&self, p: &OrderProduct, address_id: i64) -> i64 {
        let mut kept = self.shipped_at.iter().filter(|e| e.0 == p.id).peekable();
        if kept.peek().is_none() {
            return if p.order_address_id == address_id {
                self.shipped.get(&p.id).copied().unwrap_or(0)
            } else {
                0
            };
        }
        kept.filter(|e| e.1 == address_id).map(|e| e.2).sum()
    }

    /// Counts `quantity` more (or, negative, fewer) units of `p` shipped to `address_id`.
    pub fn count_shipped(&mut self, p: &OrderProduct, address_id: i64, quantity: i64) {
        if !self.shipped_at.iter().any(|e| e.0 == p.id) {
            // Write down where what shipped before went, then count on from there.
            let before = self.shipped.get(&p.id).copied().unwrap_or(0);
            if before > 0 {
                self.shipped_at.push((p.id, p.order_address_id, before));
            }
        }
        match self
            .shipped_at
            .iter_mut()
            .find(|e| e.0 == p.id && e.1 == address_id)
        {
            Some(e) => e.2 = (e.2 + quantity).max(0),
            None => self.shipped_at.push((p.id, address_id, quantity.max(0))),
        }
        let total = self.shipped.entry(p.id).or_default();
        *total = (*total + quantity).max(0);
        self.shipped.retain(|_, n| *n > 0);
        self.shipped_at.retain(|e| e.2 > 0);
    }
}

/// Stable V2 ids for an order's products or fees. Until an edit they are positions
/// (1, 2, …); an edit writes down every current one, and a new product or fee counts on
/// from the highest id ever given, so an id never moves to another one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdMap {
    #[serde(default)]
    pub ids: Vec<(Uuid, i64)>,
    /// The highest id ever given.
    #[serde(default)]
    pub last: i64,
}

impl IdMap {
    /// The ids of `keys`, in order: the one written down, else the next free one.
    pub fn ids_for(&self, keys: &[Uuid]) -> Vec<i64> {
        let mut next = self
            .ids
            .iter()
            .map(|(_, id)| *id)
            .max()
            .unwrap_or(0)
            .max(self.last);
        keys.iter()
            .map(|k| match self.ids.iter().find(|(u, _)| u == k) {
                Some((_, id)) => *id,
                None => {
                    next += 1;
                    next
                }
            })
            .collect()
    }

    /// The map with the ids of `keys` written down as they are now.
    pub fn fixed(&self, keys: &[Uuid]) -> IdMap {
        let ids = self.ids_for(keys);
        let last = ids.iter().copied().max().unwrap_or(0).max(self.last);
        IdMap {
            ids: keys.iter().copied().zip(ids).collect(),
            last,
        }
    }

    /// The key that has `id`, among `keys`.
    pub fn key_of(&self, keys: &[Uuid], id: i64) -> Option<Uuid> {
        keys.iter()
            .zip(self.ids_for(keys))
            .find(|(_, i)| *i == id)
            .map(|(k, _)| *k)
    }
}

/// Why an order's products, fees or addresses cannot be edited in this status; None
/// when they can. What shipped, was refunded or was given back is settled.
pub fn cannot_edit(status: i64, items_shipped: i64) -> Option<String> {
    if matches!(
        status,
        SHIPPED
            | PARTIALLY_SHIPPED
            | REFUNDED
            | CANCELLED
            | DECLINED
            | COMPLETED
            | PARTIALLY_REFUNDED
    ) || items_shipped > 0
    {
        return Some(format!(
            "The order is {} ({status}){}; products, fees and addresses can be edited only before anything ships and while it is not completed, cancelled, declined or refunded.",
            status_name(status),
            if items_shipped > 0 {
                " with items shipped"
            } else {
                ""
            }
        ));
    }
    None
}

/// V2 address field names (`billingAddress_Base`), for messages.
pub const V2_ADDRESS_FIELDS: [&str; 12] = [
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "country_iso2",
    "phone",
    "email",
];

/// Sets one V2 address field; false when `name` is not one. A new state or country
/// drops the old state code, so the address is resolved again from what was given.
pub fn set_v2_address_field(a: &mut Address, name: &str, value: &str) -> bool {
    let v = value.to_string();
    match name {
        "first_name" => a.first_name = v,
        "last_name" => a.last_name = v,
        "company" => a.company = v,
        "street_1" => a.address1 = v,
        "street_2" => a.address2 = v,
        "city" => a.city = v,
        "state" => {
            a.state_or_province = v;
            a.state_or_province_code.clear();
        }
        "zip" => a.postal_code = v,
        // The name counts only when no code says otherwise (`country_iso2` wins).
        "country" => {
            if let Some(code) = countries::country_by_name(value) {
                a.country_code = code.to_string();
                a.state_or_province_code.clear();
            } else {
                a.country_code = v;
            }
        }
        "country_iso2" => {
            a.country_code = v;
            a.state_or_province_code.clear();
        }
        "phone" => a.phone = v,
        "email" => a.email = v,
        _ => return false,
    }
    true
}

/// A fee as `PUT`/`POST /v2/orders` give it (`orderFees_Put`/`_Post`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderFeeInput {
    /// The fee kept (PUT); `None` = a new fee.
    pub id: Option<i64>,
    pub kind: Option<String>,
    pub display_name_customer: Option<String>,
    pub display_name_merchant: Option<String>,
    pub source: Option<String>,
    pub cost_ex_tax: Option<Money>,
    pub cost_inc_tax: Option<Money>,
    pub cost_tax: Option<Money>,
    pub tax_class_id: Option<i64>,
}

/// Where a fee made through the V2 API says it came from when the caller does not.
pub const DEFAULT_FEE_SOURCE: &str = "v2";

/// The checkout fee an order fee input stands for. Its cost as entered is the amount
/// excluding tax, or including it when the store's prices include tax; tax is then
/// charged by the pricing engine for `tax_class_id` (none = untaxed, as for checkout fees).
pub fn fee_spec(
    f: &OrderFeeInput,
    prices_include_tax: bool,
    field: &str,
) -> Result<FeeSpec, String> {
    if let Some(k) = &f.kind
        && k != "custom_fee"
    {
        return Err(format!(
            "{field}.type: `{k}` is not a fee type; use custom_fee."
        ));
    }
    fn text(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let customer = text(&f.display_name_customer);
    let merchant = text(&f.display_name_merchant);
    let (Some(customer), Some(merchant)) = (customer.or(merchant), merchant.or(customer)) else {
        return Err(format!(
            "{field}: give display_name_customer or display_name_merchant (or both)."
        ));
    };
    let source = text(&f.source).unwrap_or(DEFAULT_FEE_SOURCE);
    for (name, value, max) in [
        ("display_name_customer", customer, 200),
        ("display_name_merchant", merchant, 50),
        ("source", source, 50),
    ] {
        if value.chars().count() > max {
            return Err(format!("{field}.{name}: at most {max} characters."));
        }
    }
    let given = [f.cost_ex_tax, f.cost_inc_tax, f.cost_tax]
        .iter()
        .filter(|c| c.is_some())
        .count();
    if given < 2 {
        return Err(format!(
            "{field}: give at least two of cost_ex_tax, cost_inc_tax and cost_tax."
        ));
    }
    let cost = if prices_include_tax {
        f.cost_inc_tax
            .or_else(|| Some(f.cost_ex_tax? + f.cost_tax?))
    } else {
        f.cost_ex_tax
            .or_else(|| Some(f.cost_inc_tax? - f.cost_tax?))
    }
    .unwrap_or_default();
    if cost.is_negative() {
        return Err(format!("{field}: a fee cannot cost less than 0."));
    }
    Ok(FeeSpec {
        name: merchant.to_string(),
        display_name: customer.to_string(),
        cost,
        source: source.to_string(),
        tax_class_id: f.tax_class_id,
    })
}

/// One shipment as stored (the addresses and customer are read from the order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    #[serde(default)]
    pub id: i64,
    pub order_address_id: i64,
    #[serde(default)]
    pub tracking_number: String,
    #[serde(default)]
    pub tracking_link: String,
    #[serde(default)]
    pub merchant_shipping_cost: Money,
    #[serde(default)]
    pub shipping_method: String,
    #[serde(default)]
    pub shipping_provider: String,
    #[serde(default)]
    pub tracking_carrier: String,
    #[serde(default)]
    pub comments: String,
    /// (order product id, product id, quantity).
    #[serde(default)]
    pub items: Vec<(i64, i64, i64)>,
}

/// Shipping providers BigCommerce accepts by name (besides `carrier_{id}`).
pub const SHIPPING_PROVIDERS: [&str; 10] = [
    "",
    "auspost",
    "canadapost",
    "endicia",
    "usps",
    "fedex",
    "royalmail",
    "ups",
    "upsready",
    "shipperhq",
];

/// Checks a shipment's free-text fields against BigCommerce's limits.
pub fn check_shipment_fields(s: &Shipment) -> Result<(), String> {
    if s.tracking_number.chars().count() > 50 {
        return Err("tracking_number: at most 50 characters.".into());
    }
    if s.tracking_link.chars().count() > 500 {
        return Err("tracking_link: at most 500 characters.".into());
    }
    if s.comments.chars().count() > 65535 {
        return Err("comments: at most 65535 characters.".into());
    }
    let custom_carrier = s
        .shipping_provider
        .strip_prefix("carrier_")
        .is_some_and(|id| !id.is_empty());
    if !custom_carrier && !SHIPPING_PROVIDERS.contains(&s.shipping_provider.as_str()) {
        return Err(format!(
            "shipping_provider: `{}` is not a shipping provider; use one of {} or carrier_{{id}}.",
            s.shipping_provider,
            SHIPPING_PROVIDERS[1..].join(", ")
        ));
    }
    if s.merchant_shipping_cost.is_negative() {
        return Err("merchant_shipping_cost: must not be negative.".into());
    }
    Ok(())
}

/// Whether an order may move from status `from` to `to`. Ok for no change at all.
/// Refunded, Cancelled and Declined are final: what the order held has been given back
/// (or the money returned), so it cannot be reopened; and nothing goes back to
/// Incomplete, which only a checkout that was never finished has.
pub fn check_status_change(from: i64, to: i64) -> Result<(), String> {
    if status_name(to).is_empty() {
        return Err(format!(
            "status_id {to} is not an order status; use one of 0–14 (see GET /v2/order_statuses)."
        ));
    }
    if from == to {
        return Ok(());
    }
    let refuse = |why: &str| {
        Err(format!(
            "An order cannot move from {} ({from}) to {} ({to}): {why}",
            status_name(from),
            status_name(to)
        ))
    };
    if matches!(from, REFUNDED | CANCELLED | DECLINED) {
        return refuse("that status is final.");
    }
    if to == INCOMPLETE {
        return refuse("no order goes back to Incomplete.");
    }
    if from == INCOMPLETE && matches!(to, REFUNDED | PARTIALLY_REFUNDED) {
        return refuse("an Incomplete order was never paid, so there is nothing to refund.");
    }
    Ok(())
}

/// Moving to this status gives back what the order holds (stock and coupon uses; and
/// for an unpaid order its balances).
pub fn gives_back(to: i64) -> bool {
    matches!(to, CANCELLED | DECLINED)
}

/// Whether moving an order to `to` says its money came in: the statuses a paid order
/// moves through (Awaiting Pickup, Awaiting Shipment, Awaiting Fulfillment, Partially
/// Shipped, Shipped, Completed).
pub fn says_paid(to: i64) -> bool {
    matches!(
        to,
        SHIPPED
            | PARTIALLY_SHIPPED
            | AWAITING_PICKUP
            | AWAITING_SHIPMENT
            | COMPLETED
            | AWAITING_FULFILLMENT
    )
}

/// Why an order in this status cannot ship; None when it can.
pub fn cannot_ship(status: i64) -> Option<String> {
    match status {
        INCOMPLETE | REFUNDED | CANCELLED | DECLINED => Some(format!(
            "The order is {} ({status}); only a placed, paid order that is not cancelled, declined or refunded can ship.",
            status_name(status)
        )),
        _ => None,
    }
}

/// Products of an order that ship (physical items and custom items).
fn shippable(p: &OrderProduct) -> bool {
    p.kind == "physical"
}

/// Checks one shipment's items (order product id, quantity) against what the order has
/// and what already shipped, for the shipping address `address_id` (a product split over
/// several addresses ships to each its own units). Returns what is shipped after it.
pub fn ship(
    products: &[OrderProduct],
    shipped: &OrderAdmin,
    address_id: i64,
    items: &[(i64, i64)],
) -> Result<OrderAdmin, String> {
    if items.is_empty() {
        return Err("items: list at least one {order_product_id, quantity} to ship.".into());
    }
    let mut after = shipped.clone();
    for (product_id, quantity) in items {
        let Some(p) = products.iter().find(|p| p.id == *product_id) else {
            return Err(format!(
                "items: order product {product_id} is not part of this order (see GET /v2/orders/{{id}}/products)."
            ));
        };
        if !shippable(p) {
            return Err(format!(
                "items: order product {product_id} ({}) is {} and does not ship.",
                p.name, p.kind
            ));
        }
        let Some(&(_, here)) = p.ships_to.iter().find(|(a, _)| *a == address_id) else {
            let to: Vec<String> = p.ships_to.iter().map(|(a, _)| a.to_string()).collect();
            return Err(format!(
                "items: order product {product_id} ({}) ships to address {}, not {address_id}.",
                p.name,
                to.join(" and ")
            ));
        };
        if *quantity <= 0 {
            return Err(format!(
                "items: the quantity of order product {product_id} must be at least 1."
            ));
        }
        let left = here - after.shipped_at(p, address_id);
        if *quantity > left {
            return Err(format!(
                "items: order product {product_id} ({}) has {left} of {here} units left to ship to address {address_id}; {quantity} asked.",
                p.name
            ));
        }
        after.count_shipped(p, address_id, *quantity);
    }
    Ok(after)
}

/// The status an order has after its shipments changed: Shipped when every unit that
/// ships has shipped, Partially Shipped when some have; otherwise it keeps `current`
/// (a status set by hand is not undone when shipments are deleted).
pub fn status_after_shipping(
    products: &[OrderProduct],
    shipped: &BTreeMap<i64, i64>,
    current: i64,
) -> i64 {
    let to_ship: i64 = products
        .iter()
        .filter(|p| shippable(p))
        .map(|p| p.quantity)
        .sum();
    let done: i64 = shipped.values().sum();
    if to_ship > 0 && done >= to_ship {
        SHIPPED
    } else if done > 0 {
        PARTIALLY_SHIPPED
    } else {
        current
    }
}

/// The status an order has after shipments were deleted: an order Shipped or
/// Partially Shipped goes back to Partially Shipped while some units stay shipped,
/// and to Awaiting Shipment when none do; any other status (set by hand, say
/// Completed) stays.
pub fn status_after_unshipping(
    products: &[OrderProduct],
    shipped: &BTreeMap<i64, i64>,
    current: i64,
) -> i64 {
    if !matches!(current, SHIPPED | PARTIALLY_SHIPPED) {
        return current;
    }
    // With nothing shipped any more, the order waits for shipment again.
    status_after_shipping(products, shipped, AWAITING_SHIPMENT)
}

/// Sets what an edited order keeps of its discounts before it is priced again, as
/// BigCommerce documents `PUT /v2/orders/{id}`: the discounts of the products the edit
/// changed (or added) are cleared and no promotion or coupon is worked out again; each
/// product left alone keeps what was taken off it, and each shipping address what was
/// taken off its shipping. `discount_amount`, when set, replaces the products'
/// discounts with that amount off the order (spread over the products by value).
pub fn keep_discounts(
    before: &Cart,
    after: &mut Cart,
    changed: &HashSet<Uuid>,
    discount_amount: Option<Money>,
) {
    let kept = |id: Uuid| before_discount(before, id).filter(|_| !changed.contains(&id));
    let per_line: Vec<(Uuid, Money)> = match discount_amount {
        Some(_) => Vec::new(),
        None => item_keys(after)
            .into_iter()
            .filter_map(|id| kept(id).map(|m| (id, m)))
            .filter(|(_, m)| *m > Money::ZERO)
            .collect(),
    };
    let shipping: Vec<(String, Money)> = before
        .checkout
        .consignments
        .iter()
        .filter(|c| after.checkout.consignments.iter().any(|a| a.id == c.id))
        .filter_map(|c| {
            // The shipping it paid, as entered (with tax when prices include it).
            let (cost, _) = c.selected_option.as_ref().map(shipping_and_handling)?;
            let paid = if before.tax_included {
                c.shipping_cost_inc_tax
            } else {
                c.shipping_cost_ex_tax
            };
            let off = cost - paid;
            (off > Money::ZERO).then(|| (c.id.clone(), off))
        })
        .collect();
    after.checkout.manual_discounts = ManualDiscounts {
        cart_level: discount_amount
            .map(|m| vec![after.currency.round(m)])
            .unwrap_or_default(),
        per_line,
        shipping,
    };
}

/// What was taken off one item of a cart, if it has it.
fn before_discount(cart: &Cart, id: Uuid) -> Option<Money> {
    cart.line_items
        .iter()
        .find(|l| l.id == id)
        .map(|l| l.pricing.discount_amount)
        .or_else(|| {
            cart.custom_items
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.discount_amount)
        })
}

/// After an edited order was priced with `keep_discounts`: what it kept is labelled as
/// before (the promotion or coupon it came from, not as set by hand), and each coupon
/// it was placed with shows what it still takes off (items and shipping), code by
/// code; a coupon that takes nothing any more is left out.
pub fn label_kept_discounts(before: &Cart, after: &mut Cart, changed: &HashSet<Uuid>) {
    let replaced = !after.checkout.manual_discounts.cart_level.is_empty();
    let keeps = |id: Uuid| !replaced && !changed.contains(&id);
    // What the products kept of each code; and, for products priced before codes were
    // told apart, their coupon discount as a whole.
    let mut by_code: Vec<(String, Money)> = Vec::new();
    let mut untold = Money::ZERO;
    let mut count = |codes: &[(String, Money)], whole: Money| {
        if codes.is_empty() {
            untold += whole;
        }
        for (code, m) in codes {
            match by_code.iter_mut().find(|(c, _)| c == code) {
                Some(e) => e.1 += *m,
                None => by_code.push((code.clone(), *m)),
            }
        }
    };
    for l in &mut after.line_items {
        if !keeps(l.id) {
            continue;
        }
        if let Some(b) = before.line_items.iter().find(|b| b.id == l.id)
            && b.pricing.discount_amount == l.pricing.discount_amount
        {
            l.pricing.discounts = b.pricing.discounts.clone();
            l.pricing.coupon_amount = b.pricing.coupon_amount;
            l.pricing.coupon_codes = b.pricing.coupon_codes.clone();
            count(&b.pricing.coupon_codes, b.pricing.coupon_amount);
        }
    }
    for c in &mut after.custom_items {
        if !keeps(c.id) {
            continue;
        }
        if let Some(b) = before.custom_items.iter().find(|b| b.id == c.id)
            && b.discount_amount == c.discount_amount
        {
            c.coupon_codes = b.coupon_codes.clone();
            count(&b.coupon_codes, Money::ZERO);
        }
    }
    for c in &mut after.checkout.consignments {
        if let Some(b) = before.checkout.consignments.iter().find(|b| b.id == c.id)
            && after
                .checkout
                .manual_discounts
                .shipping
                .iter()
                .any(|(id, _)| *id == c.id)
        {
            c.coupon_discounts = b.coupon_discounts.clone();
            c.promotion_ids = b.promotion_ids.clone();
        }
    }
    let shipping_of = |cart: &Cart, code: &str| -> Money {
        cart.checkout
            .consignments
            .iter()
            .flat_map(|c| &c.coupon_discounts)
            .filter(|(k, _)| k == code)
            .map(|(_, m)| *m)
            .sum()
    };
    let applied: Vec<&AppliedCoupon> = before
        .checkout
        .coupons
        .iter()
        .filter(|c| c.not_applied.is_none())
        .collect();
    // A coupon discount not told apart by code is shared by what each code took off items.
    let item_parts: Vec<Money> = applied
        .iter()
        .map(|c| (c.discounted_amount - shipping_of(before, &c.code)).max(Money::ZERO))
        .collect();
    let shares = allocate(untold, &item_parts, &after.currency);
    after.checkout.coupons = applied
        .iter()
        .zip(shares)
        .map(|(c, share)| {
            let items: Money = by_code
                .iter()
                .filter(|(code, _)| *code == c.code)
                .map(|(_, m)| *m)
                .sum();
            AppliedCoupon {
                discounted_amount: items + share + shipping_of(after, &c.code),
                ..(*c).clone()
            }
        })
        .filter(|c| c.discounted_amount > Money::ZERO)
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_shipments_moves_a_shipped_order_back() {
        let products = [product(1, "physical", 2, 1), product(2, "digital", 1, 0)];
        let one: BTreeMap<i64, i64> = [(1, 1)].into();
        let both: BTreeMap<i64, i64> = [(1, 2)].into();
        let none = BTreeMap::new();
        assert_eq!(
            status_after_unshipping(&products, &one, SHIPPED),
            PARTIALLY_SHIPPED
        );
        assert_eq!(
            status_after_unshipping(&products, &none, SHIPPED),
            AWAITING_SHIPMENT
        );
        assert_eq!(
            status_after_unshipping(&products, &none, PARTIALLY_SHIPPED),
            AWAITING_SHIPMENT
        );
        assert_eq!(status_after_unshipping(&products, &both, SHIPPED), SHIPPED);
        assert_eq!(
            status_after_unshipping(&products, &none, COMPLETED),
            COMPLETED
        );
    }

    fn product(id: i64, kind: &'static str, quantity: i64, address: i64) -> OrderProduct {
        OrderProduct {
            id,
            product_id: 100 + id,
            kind,
            name: format!("P{id}"),
            order_address_id: address,
            ships_to: if kind == "physical" {
                vec![(address, quantity)]
            } else {
                vec![]
            },
            ..OrderProduct::of_item(Uuid::new_v4(), quantity)
        }
    }

    #[test]
    fn final_statuses_never_move() {
        for from in [REFUNDED, CANCELLED, DECLINED] {
            for to in 0..=14 {
                let r = check_status_change(from, to);
                assert_eq!(r.is_ok(), from == to, "{from} -> {to}: {r:?}");
            }
        }
    }

    #[test]
    fn nothing_goes_back_to_incomplete() {
        for from in 1..=14 {
            let r = check_status_change(from, INCOMPLETE);
            assert!(r.is_err(), "{from}");
        }
        assert!(check_status_change(INCOMPLETE, INCOMPLETE).is_ok());
        assert_eq!(
            check_status_change(CANCELLED, INCOMPLETE).unwrap_err(),
            "An order cannot move from Cancelled (5) to Incomplete (0): that status is final."
        );
    }

    #[test]
    fn open_orders_move_forward() {
        assert!(check_status_change(INCOMPLETE, 11).is_ok());
        assert!(check_status_change(11, SHIPPED).is_ok());
        assert!(check_status_change(11, CANCELLED).is_ok());
        assert!(check_status_change(INCOMPLETE, DECLINED).is_ok());
        assert!(check_status_change(SHIPPED, 10).is_ok());
        assert!(check_status_change(10, REFUNDED).is_ok());
        assert!(check_status_change(INCOMPLETE, REFUNDED).is_err());
        assert!(
            check_status_change(11, 15)
                .unwrap_err()
                .contains("not an order status")
        );
        assert!(check_status_change(11, -1).is_err());
    }

    #[test]
    fn only_cancel_and_decline_give_back() {
        let back: Vec<i64> = (0..=14).filter(|s| gives_back(*s)).collect();
        assert_eq!(back, vec![CANCELLED, DECLINED]);
    }

    #[test]
    fn shipments_never_exceed_what_was_ordered() {
        let products = vec![product(1, "physical", 3, 1), product(2, "digital", 1, 0)];
        let none = OrderAdmin::default();
        let after = ship(&products, &none, 1, &[(1, 2)]).unwrap();
        assert_eq!(after.shipped.get(&1), Some(&2));
        assert_eq!(
            status_after_shipping(&products, &after.shipped, 11),
            PARTIALLY_SHIPPED
        );
        let err = ship(&products, &after, 1, &[(1, 2)]).unwrap_err();
        assert!(
            err.contains("has 1 of 3 units left to ship to address 1; 2 asked"),
            "{err}"
        );
        // The same product twice in one shipment counts both.
        assert!(ship(&products, &none, 1, &[(1, 2), (1, 2)]).is_err());
        let all = ship(&products, &after, 1, &[(1, 1)]).unwrap();
        assert_eq!(status_after_shipping(&products, &all.shipped, 3), SHIPPED);
        assert!(
            ship(&products, &none, 1, &[(9, 1)])
                .unwrap_err()
                .contains("not part of this order")
        );
        assert!(
            ship(&products, &none, 1, &[(2, 1)])
                .unwrap_err()
                .contains("does not ship")
        );
        assert!(
            ship(&products, &none, 2, &[(1, 1)])
                .unwrap_err()
                .contains("ships to address 1")
        );
        assert!(ship(&products, &none, 1, &[(1, 0)]).is_err());
        assert!(ship(&products, &none, 1, &[]).is_err());
        assert_eq!(status_after_shipping(&products, &none.shipped, 11), 11);
    }

    #[test]
    fn a_split_product_ships_its_own_units_to_each_address() {
        let mut split = product(1, "physical", 5, 1);
        split.ships_to = vec![(1, 2), (2, 3)];
        let products = vec![split];
        let p = &products[0];
        // Shipped before per-address counts were kept: all at its first address.
        let legacy = OrderAdmin {
            shipped: [(1, 1)].into(),
            ..OrderAdmin::default()
        };
        assert_eq!(legacy.shipped_at(p, 1), 1);
        assert_eq!(legacy.shipped_at(p, 2), 0);
        let err = ship(&products, &legacy, 1, &[(1, 2)]).unwrap_err();
        assert!(
            err.contains("1 of 2 units left to ship to address 1"),
            "{err}"
        );
        let after = ship(&products, &legacy, 2, &[(1, 3)]).unwrap();
        assert_eq!((after.shipped_at(p, 1), after.shipped_at(p, 2)), (1, 3));
        assert_eq!(after.shipped.get(&1), Some(&4));
        assert!(ship(&products, &after, 2, &[(1, 1)]).is_err());
        let all = ship(&products, &after, 1, &[(1, 1)]).unwrap();
        assert_eq!(status_after_shipping(&products, &all.shipped, 11), SHIPPED);
        assert!(
            ship(&products, &OrderAdmin::default(), 3, &[(1, 1)])
                .unwrap_err()
                .contains("ships to address 1 and 2, not 3")
        );
        // Deleting a shipment counts its units back at its address.
        let mut back = all.clone();
        back.count_shipped(p, 2, -3);
        assert_eq!((back.shipped_at(p, 1), back.shipped_at(p, 2)), (2, 0));
        assert_eq!(back.shipped.get(&1), Some(&2));
    }
}
