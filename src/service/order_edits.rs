//! Editing a placed order's products, fees and addresses (`PUT /v2/orders/{id}`).
//!
//! An edit works on the order's snapshot as read: products are added, changed or
//! removed with the cart rules, fees replaced as a whole (PUT semantics, as BigCommerce
//! documents), addresses changed field by field or added; then the snapshot is priced
//! again by the same engine as checkouts (the store's current tax and shipping). As
//! BigCommerce documents, no promotion or coupon is worked out again: the products the
//! edit changed lose their discounts, the others keep theirs, and `discount_amount`
//! sets the order's discount. The stock an unreleased order holds follows its new lines. Nothing is written here:
//! `update_order` applies the result in one transaction guarded by the order's revision.

use super::accounts::Principal;
use super::order_admin::{NewOrderLine, NewOrderProduct, invalid};
use super::{Kassa, ServiceResult};
use crate::domain::address::Address;
use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
use crate::domain::cart::{Cart, CustomItemSpec, ItemKind, LineItemChange, LineItemSpec};
use crate::domain::catalog::ProductType;
use crate::domain::checkout::{AddressRecord, Consignment, ConsignmentItem};
use crate::domain::money::Money;
use crate::domain::order::{PlacedOrder, ProductPart, item_parts, product_parts};
use crate::domain::order_admin::{
    IdMap, OrderAdmin, OrderFeeInput, V2_ADDRESS_FIELDS, cannot_edit, fee_spec, keep_discounts,
    label_kept_discounts, set_v2_address_field,
};
use crate::store::{Held, StockChanges, StockTake, stock_delta};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// One change to an order's products.
#[derive(Clone, Debug)]
pub enum ProductEdit {
    Add(NewOrderLine),
    /// The order product `id`; a quantity of 0 removes it; `None` = as it is.
    Change {
        id: i64,
        quantity: Option<i64>,
        price: Option<Money>,
        name: Option<String>,
        /// Moves the product to another of the order's shipping addresses.
        order_address_id: Option<i64>,
    },
}

/// What `PUT /v2/orders/{id}` changes beyond status and notes.
#[derive(Clone, Debug, Default)]
pub struct OrderEdits {
    pub products: Vec<ProductEdit>,
    /// Every fee the order keeps or gets; `None` = fees stay as they are.
    pub fees: Option<Vec<OrderFeeInput>>,
    /// V2 billing address fields to change.
    pub billing_address: Option<Vec<(String, String)>>,
    pub shipping_addresses: Vec<ShippingAddressEdit>,
    /// Shipping addresses to add (numbered after the order's own), each with its V2
    /// fields and shipping option id; products are sent there with `order_address_id`.
    pub new_shipping_addresses: Vec<NewShippingAddress>,
    /// The order's discount (`discount_amount`), replacing its products' discounts.
    pub discount_amount: Option<Money>,
}

/// (shipping address id, V2 fields to change, shipping option id to select).
pub type ShippingAddressEdit = (i64, Vec<(String, String)>, Option<String>);

/// (V2 fields of a shipping address to add, shipping option id to select).
pub type NewShippingAddress = (Vec<(String, String)>, Option<String>);

impl OrderEdits {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
            && self.fees.is_none()
            && self.billing_address.is_none()
            && self.shipping_addresses.is_empty()
            && self.new_shipping_addresses.is_empty()
            && self.discount_amount.is_none()
    }
}

/// A shipping consignment to `address`, priced with the zone option `option`.
pub(super) fn new_consignment(address: Address, option: Option<String>) -> Consignment {
    Consignment {
        selected_option_id: option,
        ..Consignment::new(address, Vec::new(), None)
    }
}

/// Which address (consignment position) edited items were sent to.
type Destinations = HashMap<Uuid, usize>;

/// How many units of an item ship to each address (consignment position) after an
/// edit, for items split over several addresses whose units the edit changed.
type Parts = HashMap<Uuid, Vec<(usize, i64)>>;

/// "2 to address 1 and 1 to address 2", for messages.
fn describe_parts(parts: &[(usize, i64)]) -> String {
    parts
        .iter()
        .map(|(k, q)| format!("{q} to address {}", k + 1))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The units of a product split over several addresses after a change of its quantity
/// (`None` = as it is) at `address` (a consignment position; `None` = not said), as
/// products that each ship to one address (as BigCommerce's order products do):
/// `order_address_id` picks the address whose units `quantity` sets, the others keep
/// theirs; 0 there stops sending it there. Without an address, 0 removes the product
/// and its current total changes nothing; another total could be taken from any
/// address, so it is refused naming what to send. `Ok(None)`: not a change of units
/// at one address (moving the whole product, or no change).
fn split_quantity(
    parts: &[(usize, i64)],
    address: Option<usize>,
    quantity: Option<i64>,
    field: &str,
    product_id: i64,
    order_id: i64,
) -> ServiceResult<Option<Vec<(usize, i64)>>> {
    let total: i64 = parts.iter().map(|p| p.1).sum();
    let which = || {
        parts
            .iter()
            .map(|(k, _)| (k + 1).to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match (address, quantity) {
        (Some(k), q) if parts.iter().any(|p| p.0 == k) => {
            if q.is_some_and(|q| q < 0) {
                return Ok(None); // the cart rules refuse it, naming the field
            }
            Ok(Some(
                parts
                    .iter()
                    .map(|&(at, n)| (at, if at == k { q.unwrap_or(n) } else { n }))
                    .filter(|p| p.1 > 0)
                    .collect(),
            ))
        }
        (Some(_), None) | (None, None) => Ok(None),
        (None, Some(q)) if q == 0 || q == total => Ok(None),
        (Some(k), Some(_)) => Err(invalid(format!(
            "{field}.order_address_id: product {product_id} of order {order_id} ships {} (not to address {}); send the order_address_id whose units `quantity` sets ({}), or no quantity to move all {total} units to address {}.",
            describe_parts(parts),
            k + 1,
            which(),
            k + 1
        ))),
        (None, Some(_)) => Err(invalid(format!(
            "{field}.order_address_id: product {product_id} of order {order_id} ships {}, so a new quantity needs the address it is for: send `order_address_id` ({}) with that address's quantity, or quantity 0 to remove the product.",
            describe_parts(parts),
            which()
        ))),
    }
}

/// The units of an item listed as one product per address after a change to its
/// product at `at` (a consignment position): `quantity` sets that address's units (0
/// stops sending it there); with the `order_address_id` of another address the item
/// goes to (`to`), it sets that address's units instead, as for an order that lists the
/// item once; with one it does not go to, this product's units move there. `None`: the
/// item goes to one address and the change is to the item as a whole (or a negative
/// quantity, which the cart rules refuse naming the field).
fn part_quantity(
    parts: &[(usize, i64)],
    at: usize,
    to: Option<usize>,
    quantity: Option<i64>,
) -> Option<Vec<(usize, i64)>> {
    if parts.len() < 2 || quantity.is_some_and(|q| q < 0) {
        return None;
    }
    let target = to.unwrap_or(at);
    let mut after: Vec<(usize, i64)> = if parts.iter().any(|p| p.0 == target) {
        parts
            .iter()
            .map(|&(k, n)| {
                (
                    k,
                    if k == target {
                        quantity.unwrap_or(n)
                    } else {
                        n
                    },
                )
            })
            .collect()
    } else {
        let here = parts.iter().find(|p| p.0 == at).map_or(0, |p| p.1);
        let mut moved: Vec<(usize, i64)> = parts.iter().filter(|p| p.0 != at).copied().collect();
        moved.push((target, quantity.unwrap_or(here)));
        moved
    };
    after.retain(|p| p.1 > 0);
    Some(after)
}

/// The product ids of an order after an edit moved units between the products listed
/// `before` and `after`: every id stays with its product, a product whose units moved
/// to another address keeps its id there, and a new one counts on from the highest.
fn product_ids_after(ids: &IdMap, before: &[ProductPart], after: &[ProductPart]) -> IdMap {
    let keys = |parts: &[ProductPart]| parts.iter().map(|p| p.key).collect::<Vec<Uuid>>();
    let (was, now) = (keys(before), keys(after));
    let mut ids = ids.fixed(&was);
    let mut items: Vec<Uuid> = after.iter().map(|p| p.item).collect();
    items.dedup();
    for item in items {
        let gone = before
            .iter()
            .filter(|p| p.item == item && !now.contains(&p.key));
        let new = after
            .iter()
            .filter(|p| p.item == item && !was.contains(&p.key));
        for (g, n) in gone.zip(new) {
            if let Some(e) = ids.ids.iter_mut().find(|e| e.0 == g.key) {
                e.0 = n.key;
            }
        }
    }
    ids.fixed(&now)
}

/// Sends every unit that ships to an address after an edit: items sent somewhere
/// (`to`) go there whole; others stay where they were in `before`, a changed quantity
/// following the item when it shipped to one address. An address left with nothing
/// to ship is refused when the order has several (their ids are positions).
fn place_items(
    cart: &mut Cart,
    before: &Cart,
    to: &Destinations,
    parts: &Parts,
    admin: &OrderAdmin,
    order_id: i64,
) -> ServiceResult<()> {
    let n = cart.checkout.consignments.len();
    let listed = product_parts(cart, admin.products_per_address);
    let keys: Vec<Uuid> = listed.iter().map(|p| p.key).collect();
    let ids = admin.product_ids.ids_for(&keys);
    // The (first) product an item is listed as, for messages.
    let product_id = |item: Uuid| {
        listed
            .iter()
            .position(|p| p.item == item)
            .and_then(|i| ids.get(i).copied())
            .unwrap_or(0)
    };
    let mut placed: Vec<Vec<ConsignmentItem>> = vec![Vec::new(); n];
    for unit in shipped_items(cart) {
        let item = unit.item_id;
        if let Some(&k) = to.get(&item) {
            placed[k].push(unit);
            continue;
        }
        if let Some(split) = parts.get(&item) {
            for &(k, quantity) in split {
                placed[k].push(ConsignmentItem {
                    item_id: item,
                    quantity,
                });
            }
            continue;
        }
        let was = item_parts(before, item);
        let shipped_before: i64 = was.iter().map(|w| w.1).sum();
        match was.as_slice() {
            [_, ..] if shipped_before == unit.quantity => {
                for &(k, q) in &was {
                    placed[k].push(ConsignmentItem {
                        item_id: item,
                        quantity: q,
                    });
                }
            }
            [(k, _)] => placed[*k].push(unit),
            [] if n == 1 => placed[0].push(unit),
            [] => {
                return Err(invalid(format!(
                    "products: order {order_id} ships to {n} addresses; say which one product {} goes to with `order_address_id`.",
                    product_id(item)
                )));
            }
            _ => {
                // Not reached: a split product's quantity changes per address (`Parts`).
                return Err(invalid(format!(
                    "products: product {} of order {order_id} ships {}; send `order_address_id` with the quantity for one of those addresses.",
                    product_id(item),
                    describe_parts(&was)
                )));
            }
        }
    }
    if n > 1
        && let Some(k) = placed.iter().position(Vec::is_empty)
    {
        return Err(invalid(format!(
            "shipping_addresses: shipping address {} of order {order_id} would have nothing to ship; send products there with `order_address_id` {}.",
            k + 1,
            k + 1
        )));
    }
    for (c, items) in cart.checkout.consignments.iter_mut().zip(placed) {
        c.items = items;
    }
    Ok(())
}

/// Where product edits send their items, and which items they changed.
#[derive(Default)]
struct Placing {
    to: Destinations,
    parts: Parts,
    /// The items the edit touches: they lose their discounts.
    changed: HashSet<Uuid>,
}

/// An edited order, ready to write.
pub(super) struct Edited {
    pub cart: Cart,
    pub admin: OrderAdmin,
    /// What the order holds afterwards (its stock follows its lines).
    pub held: Held,
    /// Stock to take or put back.
    pub stock: StockChanges,
}

/// Catalog lines and custom items from `products`, numbered from `first` in messages.
pub(super) fn item_specs(
    products: &[NewOrderProduct],
    first: usize,
) -> ServiceResult<(Vec<LineItemSpec>, Vec<CustomItemSpec>)> {
    let mut line_items = Vec::new();
    let mut custom_items = Vec::new();
    for (i, p) in products.iter().enumerate() {
        match p {
            NewOrderProduct::Catalog {
                product_id,
                variant_id,
                quantity,
                price,
                options,
            } => line_items.push(LineItemSpec {
                product_id: *product_id,
                variant_id: *variant_id,
                quantity: *quantity,
                list_price: *price,
                name: None,
                option_selections: options.clone(),
            }),
            NewOrderProduct::Custom {
                name,
                sku,
                quantity,
                price,
            } => {
                if name.trim().is_empty() {
                    return Err(invalid(format!(
                        "products[{}].name: a custom product needs a name.",
                        first + i
                    )));
                }
                custom_items.push(CustomItemSpec {
                    sku: sku.clone(),
                    name: name.clone(),
                    quantity: *quantity,
                    list_price: *price,
                    image_url: String::new(),
                })
            }
        }
    }
    Ok((line_items, custom_items))
}

/// Every unit that ships: physical catalog lines and custom items.
pub(super) fn shipped_items(cart: &Cart) -> Vec<ConsignmentItem> {
    cart.line_items
        .iter()
        .filter(|l| l.kind == ProductType::Physical)
        .map(|l| (l.id, l.quantity))
        .chain(cart.custom_items.iter().map(|c| (c.id, c.quantity)))
        .map(|(item_id, quantity)| ConsignmentItem { item_id, quantity })
        .collect()
}

/// The stock a cart's catalog lines take.
pub(super) fn stock_of(cart: &Cart) -> Vec<StockTake> {
    cart.line_items
        .iter()
        .map(|l| StockTake {
            product_id: l.product_id,
            variant_id: l.variant_id,
            quantity: l.quantity,
        })
        .collect()
}

/// Refuses a priced cart whose selected shipping option is not offered for its address.
pub(super) fn check_shipping_options(cart: &Cart) -> ServiceResult<()> {
    for (i, c) in cart.checkout.consignments.iter().enumerate() {
        if let Some(id) = &c.selected_option_id
            && c.selected_option.is_none()
            && c.pickup_method_id.is_none()
        {
            return Err(invalid(format!(
                "shipping_addresses[{i}].shipping_method: `{id}` is not a shipping option for that address; use one of: {}.",
                c.available_options
                    .iter()
                    .map(|q| format!("{} ({})", q.id, q.description))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// Applies V2 address fields, naming an unknown one.
fn set_fields(a: &mut Address, fields: &[(String, String)], field: &str) -> ServiceResult<()> {
    for (name, value) in fields {
        if !set_v2_address_field(a, name, value) {
            return Err(invalid(format!(
                "{field}.{name}: not an address field; use {}.",
                V2_ADDRESS_FIELDS.join(", ")
            )));
        }
    }
    Ok(())
}

impl Kassa {
    /// The order `o` (read with `held`, released or not) after `edits`, priced again.
    pub(super) async fn edit_order(
        &self,
        who: &Principal,
        o: &PlacedOrder,
        held: &Held,
        released: bool,
        edits: &OrderEdits,
    ) -> ServiceResult<Edited> {
        let id = o.id;
        if let Some(why) = cannot_edit(o.status_id, o.admin.items_shipped()) {
            return Err(invalid(why));
        }
        let s = o.summary();
        if s.gift_certificate_amount > Money::ZERO || s.store_credit_amount > Money::ZERO {
            // Their balances were debited for the old total.
            return Err(invalid(format!(
                "Order {id} was paid in part with a gift certificate or store credit; Kassa does not price such an order again."
            )));
        }
        let mut cart = o.cart.clone();
        let mut admin = o.admin.clone();
        // New addresses first, so that products can be sent there.
        for (i, (fields, method)) in edits.new_shipping_addresses.iter().enumerate() {
            let field = format!("shipping_addresses[new {i}]");
            let mut a = Address::default();
            set_fields(&mut a, fields, &field)?;
            let address =
                normalize_and_validate(a, AddressPurpose::Shipping, &format!("{field}."))?;
            cart.checkout
                .consignments
                .push(new_consignment(address, method.clone()));
        }
        let mut placing = Placing::default();
        if !edits.products.is_empty() {
            placing = self
                .edit_products(who, &mut cart, &admin, id, &edits.products)
                .await?;
        }
        if !edits.products.is_empty() || !edits.new_shipping_addresses.is_empty() {
            place_items(&mut cart, &o.cart, &placing.to, &placing.parts, &admin, id)?;
            let per_address = admin.products_per_address;
            admin.product_ids = product_ids_after(
                &admin.product_ids,
                &product_parts(&o.cart, per_address),
                &product_parts(&cart, per_address),
            );
        }
        let changed = placing.changed;
        if let Some(fees) = &edits.fees {
            let keys: Vec<Uuid> = cart.checkout.fees.iter().map(|f| f.id).collect();
            let mut kept: Vec<Option<Uuid>> = Vec::new();
            let mut specs = Vec::new();
            for (i, f) in fees.iter().enumerate() {
                let field = format!("fees[{i}]");
                specs.push(
                    fee_spec(f, who.store.settings.prices_include_tax, &field).map_err(invalid)?,
                );
                let key = match f.id {
                    None => None,
                    Some(fid) => {
                        let k = admin.fee_ids.key_of(&keys, fid).ok_or_else(|| {
                            invalid(format!(
                                "{field}.id: order {id} has no fee {fid}; leave `id` out to add a fee."
                            ))
                        })?;
                        if kept.contains(&Some(k)) {
                            return Err(invalid(format!("{field}.id: fee {fid} is listed twice.")));
                        }
                        Some(k)
                    }
                };
                kept.push(key);
            }
            let ids = admin.fee_ids.fixed(&keys);
            cart.checkout.fees.clear();
            cart.add_fees(&specs)?;
            // A fee kept keeps its id.
            for (fee, key) in cart.checkout.fees.iter_mut().zip(&kept) {
                if let Some(k) = key {
                    fee.id = *k;
                }
            }
            let now: Vec<Uuid> = cart.checkout.fees.iter().map(|f| f.id).collect();
            admin.fee_ids = ids.fixed(&now);
        }
        if let Some(fields) = &edits.billing_address {
            let record = cart.checkout.billing_address.clone();
            let mut a = record
                .as_ref()
                .map(|b| b.address.clone())
                .unwrap_or_default();
            set_fields(&mut a, fields, "billing_address")?;
            let address = normalize_and_validate(a, AddressPurpose::Billing, "billing_address.")?;
            cart.checkout.billing_address = Some(AddressRecord {
                id: record
                    .map(|b| b.id)
                    .unwrap_or_else(|| Uuid::new_v4().to_string()),
                address,
            });
        }
        for (i, (aid, fields, method)) in edits.shipping_addresses.iter().enumerate() {
            let field = format!("shipping_addresses[{i}]");
            let c = usize::try_from(aid - 1)
                .ok()
                .and_then(|idx| cart.checkout.consignments.get_mut(idx))
                .ok_or_else(|| {
                    invalid(format!(
                        "{field}.id: order {id} has no shipping address {aid} (see GET /v2/orders/{id}/shipping_addresses); leave `id` out to add one."
                    ))
                })?;
            let mut a = c.address.address.clone();
            set_fields(&mut a, fields, &field)?;
            c.address.address =
                normalize_and_validate(a, AddressPurpose::Shipping, &format!("{field}."))?;
            if let Some(m) = method {
                c.selected_option_id = Some(m.clone());
            }
        }
        keep_discounts(&o.cart, &mut cart, &changed, edits.discount_amount);
        self.pricing_kit(who, cart.customer_id)
            .await?
            .price_without_offers(&mut cart)?;
        check_shipping_options(&cart)?;
        if let Some(asked) = edits.discount_amount
            && cart.totals.manual_discount_amount < cart.currency.round(asked)
        {
            return Err(invalid(format!(
                "discount_amount: {asked} is more than order {id}'s products are worth ({}).",
                cart.totals.base_amount
            )));
        }
        label_kept_discounts(&o.cart, &mut cart, &changed);
        // An order that holds stock holds what its lines are now. One placed without
        // taking stock (Incomplete, Cancelled or Declined through the V2 API) still
        // takes none.
        let holds = !released && (!held.stock.is_empty() || o.cart.line_items.is_empty());
        let mut after = held.clone();
        let stock = if holds {
            after.stock = stock_of(&cart);
            stock_delta(&held.stock, &after.stock)
        } else {
            StockChanges::new()
        };
        Ok(Edited {
            cart,
            admin,
            held: after,
            stock,
        })
    }

    async fn edit_products(
        &self,
        who: &Principal,
        cart: &mut Cart,
        admin: &OrderAdmin,
        order_id: i64,
        edits: &[ProductEdit],
    ) -> ServiceResult<Placing> {
        let per_address = admin.products_per_address;
        let listed = product_parts(cart, per_address);
        let keys: Vec<Uuid> = listed.iter().map(|p| p.key).collect();
        let added = edits.iter().filter_map(|e| match e {
            ProductEdit::Add(NewOrderLine {
                product: NewOrderProduct::Catalog { product_id, .. },
                ..
            }) => Some(*product_id),
            _ => None,
        });
        let addresses = cart.checkout.consignments.len();
        let mut placing = Placing::default();
        let Placing { to, parts, changed } = &mut placing;
        // The consignment position an edit sends its product to, if it says.
        let address = |a: Option<i64>, field: &str| -> ServiceResult<Option<usize>> {
            match a {
                None => Ok(None),
                Some(a) if (1..=addresses as i64).contains(&a) => Ok(Some((a - 1) as usize)),
                Some(a) => Err(invalid(format!(
                    "{field}.order_address_id: order {order_id} has {addresses} shipping address(es) (new ones numbered after them); {a} is not one of them."
                ))),
            }
        };
        let ids: Vec<i64> = added
            .chain(cart.line_items.iter().map(|l| l.product_id))
            .collect();
        let products = self.load_products(who, ids.into_iter()).await?;
        for (i, edit) in edits.iter().enumerate() {
            let field = format!("products[{i}]");
            match edit {
                ProductEdit::Add(l) => {
                    let k = address(l.order_address_id, &field)?;
                    let (lines, custom) = item_specs(std::slice::from_ref(&l.product), i)?;
                    // With several addresses a line is bound for its own (see create).
                    let place = k
                        .filter(|_| addresses > 1)
                        .map(|k| cart.checkout.consignments[k].id.clone());
                    let added = cart.add_items_bound(
                        &lines,
                        &[place],
                        &custom,
                        &[],
                        &products,
                        &mut Uuid::new_v4,
                    )?;
                    for item in added.lines.iter().chain(&added.custom_items) {
                        changed.insert(*item);
                        if let Some(k) = k {
                            to.insert(*item, k);
                        }
                    }
                }
                ProductEdit::Change {
                    id,
                    quantity,
                    price,
                    name,
                    order_address_id,
                } => {
                    let gone = || {
                        invalid(format!(
                            "{field}.id: order {order_id} has no product {id} (see GET /v2/orders/{order_id}/products)."
                        ))
                    };
                    let key = admin.product_ids.key_of(&keys, *id).ok_or_else(gone)?;
                    let part = listed.iter().find(|p| p.key == key).ok_or_else(gone)?;
                    let item = part.item;
                    changed.insert(item);
                    let k = address(*order_address_id, &field)?;
                    let now = parts
                        .get(&item)
                        .cloned()
                        .unwrap_or_else(|| item_parts(cart, item));
                    let mut quantity = *quantity;
                    let split = match part.at {
                        // One address's units of an item listed per address.
                        Some(at) => part_quantity(&now, at, k, quantity),
                        // An item listed once, split over several addresses.
                        None if now.len() > 1 => {
                            split_quantity(&now, k, quantity, &field, *id, order_id)?
                        }
                        None => None,
                    };
                    if let Some(split) = split {
                        // Units change at one address; the line's quantity is their sum.
                        quantity = Some(split.iter().map(|p| p.1).sum());
                        parts.insert(item, split);
                    } else if let Some(k) = k {
                        parts.remove(&item);
                        to.insert(item, k);
                        if addresses > 1 {
                            let place = cart.checkout.consignments[k].id.clone();
                            cart.bind_line(item, &place);
                        }
                    }
                    match cart.item_kind(item) {
                        Some(ItemKind::Product) => {
                            let current = cart
                                .line_items
                                .iter()
                                .find(|l| l.id == item)
                                .map_or(0, |l| l.quantity);
                            let change = LineItemChange {
                                product_id: None,
                                variant_id: None,
                                quantity: quantity.unwrap_or(current),
                                list_price: *price,
                                name: name.clone(),
                                option_selections: None,
                            };
                            cart.update_line_item(item, &change, &products)?;
                        }
                        Some(ItemKind::Custom) => {
                            let current = cart
                                .custom_items
                                .iter()
                                .find(|c| c.id == item)
                                .map_or(0, |c| c.quantity);
                            cart.update_custom_item(item, quantity.unwrap_or(current), *price)?;
                            if let Some(n) = name.as_ref().filter(|n| !n.trim().is_empty())
                                && let Some(c) = cart.custom_items.iter_mut().find(|c| c.id == item)
                            {
                                c.name = n.clone();
                            }
                        }
                        Some(ItemKind::GiftCertificate) => {
                            return Err(invalid(format!(
                                "{field}: product {id} is a gift certificate; it cannot be changed on a placed order."
                            )));
                        }
                        None => return Err(gone()),
                    }
                }
            }
        }
        if cart.item_count() == 0 {
            return Err(invalid(format!(
                "products: order {order_id} would have no products left; cancel the order instead."
            )));
        }
        if addresses == 0 && !shipped_items(cart).is_empty() {
            return Err(invalid(format!(
                "products: order {order_id} has no shipping address, so it cannot take products that ship."
            )));
        }
        Ok(placing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_per_address_changes_its_own_units() {
        let parts = [(0, 3), (1, 2)];
        // Its own units, by itself or naming its own address.
        assert_eq!(
            part_quantity(&parts, 1, None, Some(4)),
            Some(vec![(0, 3), (1, 4)])
        );
        assert_eq!(
            part_quantity(&parts, 1, Some(1), Some(0)),
            Some(vec![(0, 3)])
        );
        // Another address of the line: that address's units (a split line listed once).
        assert_eq!(
            part_quantity(&parts, 0, Some(1), Some(1)),
            Some(vec![(0, 3), (1, 1)])
        );
        // An address the line does not go to: its units move there.
        assert_eq!(
            part_quantity(&parts, 1, Some(2), None),
            Some(vec![(0, 3), (2, 2)])
        );
        // A line at one address changes as a whole; a negative quantity is the cart's
        // to refuse.
        assert_eq!(part_quantity(&[(0, 3)], 0, None, Some(5)), None);
        assert_eq!(part_quantity(&parts, 0, None, Some(-1)), None);
    }

    #[test]
    fn moved_units_keep_their_product_id() {
        let item = Uuid::new_v4();
        let other = Uuid::new_v4();
        let part = |key: Uuid, item: Uuid, at: usize| ProductPart {
            key,
            item,
            at: Some(at),
            quantity: 1,
        };
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let before = [part(a, item, 0), part(b, item, 1), part(other, other, 0)];
        // b moved to c; a product added.
        let added = Uuid::new_v4();
        let after = [
            part(a, item, 0),
            part(c, item, 2),
            part(other, other, 0),
            part(added, added, 0),
        ];
        let ids = product_ids_after(&IdMap::default(), &before, &after);
        assert_eq!(ids.ids_for(&[a, c, other, added]), [1, 2, 3, 4]);
        // Removed, its id is not given again.
        let ids = product_ids_after(&ids, &after, &after[..3]);
        let fresh = Uuid::new_v4();
        assert_eq!(ids.ids_for(&[a, c, other, fresh]), [1, 2, 3, 5]);
    }
}
