//! Editing a placed order's products, fees and addresses (`PUT /v2/orders/{id}`).
//!
//! An edit works on the order's snapshot as read: products are added, changed or
//! removed with the cart rules, fees replaced as a whole (PUT semantics, as BigCommerce
//! documents), addresses changed field by field; then the snapshot is priced again by
//! the same engine as checkouts (the store's current tax, shipping and offers), and the
//! stock an unreleased order holds follows its new lines. Nothing is written here:
//! `update_order` applies the result in one transaction guarded by the order's revision.

use super::accounts::Principal;
use super::order_admin::{NewOrderProduct, invalid};
use super::{Kassa, ServiceResult};
use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
use crate::domain::cart::{Cart, CustomItemSpec, ItemKind, LineItemChange, LineItemSpec};
use crate::domain::catalog::ProductType;
use crate::domain::checkout::{AddressRecord, ConsignmentItem};
use crate::domain::money::Money;
use crate::domain::order::{PlacedOrder, item_keys};
use crate::domain::order_admin::{
    OrderAdmin, OrderFeeInput, V2_ADDRESS_FIELDS, cannot_edit, fee_spec, set_v2_address_field,
};
use crate::store::{Held, StockChanges, StockTake, stock_delta};
use uuid::Uuid;

/// One change to an order's products.
#[derive(Clone, Debug)]
pub enum ProductEdit {
    Add(NewOrderProduct),
    /// The order product `id`; a quantity of 0 removes it; `None` = as it is.
    Change {
        id: i64,
        quantity: Option<i64>,
        price: Option<Money>,
        name: Option<String>,
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
}

/// (shipping address id, V2 fields to change, shipping option id to select).
pub type ShippingAddressEdit = (i64, Vec<(String, String)>, Option<String>);

impl OrderEdits {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
            && self.fees.is_none()
            && self.billing_address.is_none()
            && self.shipping_addresses.is_empty()
    }
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
fn set_fields(
    a: &mut crate::domain::address::Address,
    fields: &[(String, String)],
    field: &str,
) -> ServiceResult<()> {
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
        if !edits.products.is_empty() {
            self.edit_products(who, &mut cart, &mut admin, id, &edits.products)
                .await?;
        }
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
                        "{field}.id: order {id} has no shipping address {aid} (see GET /v2/orders/{id}/shipping_addresses); Kassa changes the addresses an order has."
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
        self.price_cart(who, &mut cart).await?;
        check_shipping_options(&cart)?;
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
        admin: &mut OrderAdmin,
        order_id: i64,
        edits: &[ProductEdit],
    ) -> ServiceResult<()> {
        let keys = item_keys(cart);
        let added = edits.iter().filter_map(|e| match e {
            ProductEdit::Add(NewOrderProduct::Catalog { product_id, .. }) => Some(*product_id),
            _ => None,
        });
        let ids: Vec<i64> = added
            .chain(cart.line_items.iter().map(|l| l.product_id))
            .collect();
        let products = self.load_products(who, ids.into_iter()).await?;
        for (i, edit) in edits.iter().enumerate() {
            let field = format!("products[{i}]");
            match edit {
                ProductEdit::Add(p) => {
                    let (lines, custom) = item_specs(std::slice::from_ref(p), i)?;
                    cart.add_items(&lines, &custom, &[], &products, &mut Uuid::new_v4)?;
                }
                ProductEdit::Change {
                    id,
                    quantity,
                    price,
                    name,
                } => {
                    let gone = || {
                        invalid(format!(
                            "{field}.id: order {order_id} has no product {id} (see GET /v2/orders/{order_id}/products)."
                        ))
                    };
                    let item = admin.product_ids.key_of(&keys, *id).ok_or_else(gone)?;
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
        // Every unit that ships goes to the order's one shipping address.
        let ships = shipped_items(cart);
        match cart.checkout.consignments.as_mut_slice() {
            [c] => c.items = ships,
            [] if ships.is_empty() => {}
            [] => {
                return Err(invalid(format!(
                    "products: order {order_id} has no shipping address, so it cannot take products that ship."
                )));
            }
            many => {
                return Err(invalid(format!(
                    "products: order {order_id} ships to {} addresses; Kassa edits the products of orders with one.",
                    many.len()
                )));
            }
        }
        admin.product_ids = admin.product_ids.fixed(&keys).fixed(&item_keys(cart));
        Ok(())
    }
}
