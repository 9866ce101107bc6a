//! The cart aggregate: line items, custom items and gift certificates, and the
//! rules that add, change and price them. Pure: no I/O, the time comes in as an
//! argument, products come in already loaded.

use super::catalog::{ModifierType, Product, ProductType};
use super::checkout::CheckoutState;
use super::error::DomainError;
use super::money::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// More units than this on one line is a mistake, not an order.
pub const MAX_LINE_QUANTITY: i64 = 100_000;
/// Lines (of every kind) one cart may hold.
pub const MAX_CART_LINES: usize = 1_000;
/// Carts expire this long after their last change.
pub const CART_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

pub const GIFT_CERTIFICATE_THEMES: &[&str] = &[
    "Birthday",
    "Boy",
    "Celebration",
    "Christmas",
    "General",
    "Girl",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: Uuid,
    pub customer_id: i64,
    pub channel_id: i64,
    pub email: String,
    pub currency: Currency,
    pub locale: String,
    pub tax_included: bool,
    pub line_items: Vec<LineItem>,
    pub custom_items: Vec<CustomItem>,
    pub gift_certificates: Vec<GiftCertificateItem>,
    pub version: i64,
    pub created_time: i64,
    pub updated_time: i64,
    pub totals: CartTotals,
    /// Billing address, consignments, fees… (the checkout's id is the cart's).
    #[serde(default)]
    pub checkout: CheckoutState,
}

/// What the pricing engine last computed; persisted so a read does no arithmetic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CartTotals {
    pub base_amount: Money,
    pub discount_amount: Money,
    pub manual_discount_amount: Money,
    pub cart_amount: Money,
}

/// A catalog product on the cart (physical or digital).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: Uuid,
    pub product_id: i64,
    pub variant_id: i64,
    pub kind: ProductType,
    pub sku: String,
    pub name: String,
    pub url: String,
    pub image_url: String,
    pub quantity: i64,
    pub taxable: bool,
    pub weight: Decimal,
    pub options: Vec<SelectedOption>,
    /// Regular unit price with modifier adjustments, in the cart's currency.
    pub original_price: Money,
    /// Catalog unit price the shopper pays (sale price when on sale) with adjustments.
    pub catalog_price: Money,
    /// A `list_price` the API caller set, which wins over the catalog.
    pub list_price_override: Option<Money>,
    pub name_override: Option<String>,
    /// Identifies "the same item" so adding it again raises the quantity.
    pub selection_key: String,
    pub pricing: LinePricing,
    /// The product's tax class (0 is the default class).
    #[serde(default)]
    pub tax_class_id: i64,
    /// Ships free: does not count toward shipping rates.
    #[serde(default)]
    pub is_free_shipping: bool,
    /// A fixed shipping price per unit, in the store's default currency, replacing rates.
    #[serde(default)]
    pub fixed_shipping_price: Option<Money>,
    /// What coupons and promotions match items on.
    #[serde(default)]
    pub brand_id: i64,
    #[serde(default)]
    pub category_ids: Vec<i64>,
    /// Sold below its regular price (promotions may exclude such items).
    #[serde(default)]
    pub on_sale: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinePricing {
    pub list_price: Money,
    pub sale_price: Money,
    pub extended_list_price: Money,
    pub extended_sale_price: Money,
    pub discount_amount: Money,
    pub coupon_amount: Money,
    /// Each discount on this line: promotion id, `coupon` or `manual-discount`.
    #[serde(default)]
    pub discounts: Vec<LineDiscount>,
    /// What each coupon code took off this line (`coupon_amount` by code), so an edited
    /// order knows what each code still takes off. Empty in carts priced before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupon_codes: Vec<(String, Money)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineDiscount {
    pub id: String,
    pub amount: Money,
}

/// One option or modifier choice on a line, as shown back to the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectedOption {
    pub name: String,
    pub name_id: i64,
    pub value: String,
    pub value_id: Option<i64>,
    /// A variant option (implied by the variant) rather than a modifier.
    #[serde(default)]
    pub is_variant_option: bool,
}

/// A change to a catalog line where anything left out keeps the line's current value.
#[derive(Clone, Debug, PartialEq)]
pub struct LineItemChange {
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub quantity: i64,
    pub list_price: Option<Money>,
    pub name: Option<String>,
    pub option_selections: Option<Vec<OptionSelection>>,
}

impl LineItem {
    /// The full request this line would be after `change`. Switching product drops
    /// the old choices; switching variant keeps the modifier choices.
    pub fn respec(&self, change: &LineItemChange) -> LineItemSpec {
        let product_id = change.product_id.unwrap_or(self.product_id);
        let same_product = product_id == self.product_id;
        let option_selections = match &change.option_selections {
            Some(sel) => sel.clone(),
            None if same_product => self
                .options
                .iter()
                .filter(|o| !o.is_variant_option)
                .map(|o| OptionSelection {
                    option_id: o.name_id,
                    value: match o.value_id {
                        Some(v) => SelectionValue::Id(v),
                        None => SelectionValue::Text(o.value.clone()),
                    },
                })
                .collect(),
            None => Vec::new(),
        };
        LineItemSpec {
            product_id,
            variant_id: change
                .variant_id
                .or(same_product.then_some(self.variant_id)),
            quantity: change.quantity,
            list_price: change.list_price.or(if same_product {
                self.list_price_override
            } else {
                None
            }),
            name: change.name.clone().or(if same_product {
                self.name_override.clone()
            } else {
                None
            }),
            option_selections,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomItem {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub list_price: Money,
    pub image_url: String,
    pub extended_list_price: Money,
    /// This item's share of manual discounts.
    #[serde(default)]
    pub discount_amount: Money,
    /// What each coupon code took off this item (see `LinePricing::coupon_codes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupon_codes: Vec<(String, Money)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GiftCertificateItem {
    pub id: Uuid,
    pub name: String,
    pub theme: String,
    pub amount: Money,
    pub quantity: i64,
    pub sender: Contact,
    pub recipient: Contact,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Contact {
    pub name: String,
    pub email: String,
}

/// What the caller asks for in a catalog line, already parsed from the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct LineItemSpec {
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub quantity: i64,
    pub list_price: Option<Money>,
    pub name: Option<String>,
    pub option_selections: Vec<OptionSelection>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OptionSelection {
    pub option_id: i64,
    pub value: SelectionValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectionValue {
    /// An option value id (pick lists, checkboxes, variant options).
    Id(i64),
    /// Free text (text modifiers, or a number sent as a string).
    Text(String),
    /// Structured values (dates as objects, file uploads).
    Json(serde_json::Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomItemSpec {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub list_price: Money,
    pub image_url: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GiftCertificateSpec {
    pub name: String,
    pub theme: String,
    pub amount: Money,
    pub quantity: i64,
    pub sender: Contact,
    pub recipient: Contact,
    pub message: String,
}

/// Everything a new cart is made from.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCart {
    pub customer_id: i64,
    pub channel_id: i64,
    pub currency: Currency,
    pub locale: String,
    pub tax_included: bool,
    pub line_items: Vec<LineItemSpec>,
    pub custom_items: Vec<CustomItemSpec>,
    pub gift_certificates: Vec<GiftCertificateSpec>,
}

/// Products by id, as loaded for one change.
pub type ProductsById = HashMap<i64, std::sync::Arc<Product>>;

/// A change that leaves the cart empty deletes it, as BigCommerce does.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Kept,
    Emptied,
}

/// Separates a line's selection from the place it is bound for (see `LineItem::bound_for`).
const BOUND_FOR: char = '\u{1f}';

impl LineItem {
    /// The place (an order's shipping address) the line is kept apart for: an identical
    /// product bound elsewhere is another line, so each keeps its own destination.
    pub fn bound_for(&self) -> Option<&str> {
        self.selection_key.split_once(BOUND_FOR).map(|(_, p)| p)
    }

    fn bind_to(&mut self, place: Option<&str>) {
        if let Some(p) = place {
            self.selection_key.push(BOUND_FOR);
            self.selection_key.push_str(p);
        }
    }
}

/// The items one addition landed on: for each catalog spec the line that holds it
/// (new or merged into), and each custom item's new id, in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AddedItems {
    pub lines: Vec<Uuid>,
    pub custom_items: Vec<Uuid>,
}

impl Cart {
    pub fn create(
        id: Uuid,
        new: NewCart,
        products: &ProductsById,
        now: i64,
        new_id: impl FnMut() -> Uuid,
    ) -> Result<Cart, DomainError> {
        Self::create_bound(id, new, &[], products, now, new_id).map(|(cart, _)| cart)
    }

    /// A new cart whose catalog lines are bound for places (`line_places`, one per
    /// line spec; missing ones bound nowhere): see `add_items_bound`.
    pub fn create_bound(
        id: Uuid,
        new: NewCart,
        line_places: &[Option<String>],
        products: &ProductsById,
        now: i64,
        mut new_id: impl FnMut() -> Uuid,
    ) -> Result<(Cart, AddedItems), DomainError> {
        if new.line_items.is_empty()
            && new.custom_items.is_empty()
            && new.gift_certificates.is_empty()
        {
            return Err(DomainError::field(
                "line_items",
                "A cart needs at least one line item, custom item or gift certificate.",
            ));
        }
        let mut cart = Cart {
            id,
            customer_id: new.customer_id,
            channel_id: new.channel_id,
            email: String::new(),
            currency: new.currency,
            locale: new.locale,
            tax_included: new.tax_included,
            line_items: Vec::new(),
            custom_items: Vec::new(),
            gift_certificates: Vec::new(),
            version: 0,
            created_time: now,
            updated_time: now,
            totals: CartTotals::default(),
            checkout: CheckoutState::default(),
        };
        let added = cart.add_items_bound(
            &new.line_items,
            line_places,
            &new.custom_items,
            &new.gift_certificates,
            products,
            &mut new_id,
        )?;
        cart.touch(now);
        Ok((cart, added))
    }

    /// Adds items; an item identical to one already on the cart raises its quantity.
    /// All or nothing: when any item is refused the cart is left as it was.
    pub fn add_items(
        &mut self,
        line_items: &[LineItemSpec],
        custom_items: &[CustomItemSpec],
        gift_certificates: &[GiftCertificateSpec],
        products: &ProductsById,
        new_id: &mut impl FnMut() -> Uuid,
    ) -> Result<(), DomainError> {
        self.add_items_bound(
            line_items,
            &[],
            custom_items,
            gift_certificates,
            products,
            new_id,
        )
        .map(|_| ())
    }

    /// `add_items` where catalog line `i` is bound for `line_places[i]` (an order's
    /// shipping address): it merges only with an identical line bound for the same
    /// place. Says which items the additions landed on.
    pub fn add_items_bound(
        &mut self,
        line_items: &[LineItemSpec],
        line_places: &[Option<String>],
        custom_items: &[CustomItemSpec],
        gift_certificates: &[GiftCertificateSpec],
        products: &ProductsById,
        new_id: &mut impl FnMut() -> Uuid,
    ) -> Result<AddedItems, DomainError> {
        let mut next = self.clone();
        let added = next.add_items_in_place(
            line_items,
            line_places,
            custom_items,
            gift_certificates,
            products,
            new_id,
        )?;
        *self = next;
        Ok(added)
    }

    fn add_items_in_place(
        &mut self,
        line_items: &[LineItemSpec],
        line_places: &[Option<String>],
        custom_items: &[CustomItemSpec],
        gift_certificates: &[GiftCertificateSpec],
        products: &ProductsById,
        new_id: &mut impl FnMut() -> Uuid,
    ) -> Result<AddedItems, DomainError> {
        let mut added = AddedItems::default();
        for (i, spec) in line_items.iter().enumerate() {
            let mut resolved = resolve_line(spec, products, &self.currency)
                .map_err(|e| prefix_field(e, &format!("line_items[{i}]")))?;
            resolved.bind_to(line_places.get(i).and_then(|p| p.as_deref()));
            match self
                .line_items
                .iter_mut()
                .find(|l| l.selection_key == resolved.selection_key)
            {
                Some(existing) => {
                    let total = existing.quantity + resolved.quantity;
                    check_quantity(total, &format!("line_items[{i}].quantity"))?;
                    existing.quantity = total;
                    added.lines.push(existing.id);
                }
                None => {
                    let mut line = resolved;
                    line.id = new_id();
                    added.lines.push(line.id);
                    self.line_items.push(line);
                }
            }
        }
        for (i, spec) in custom_items.iter().enumerate() {
            validate_custom_item(spec, &self.currency)
                .map_err(|e| prefix_field(e, &format!("custom_items[{i}]")))?;
            let id = new_id();
            added.custom_items.push(id);
            self.custom_items.push(CustomItem {
                id,
                sku: spec.sku.clone(),
                name: spec.name.clone(),
                quantity: spec.quantity,
                list_price: self.currency.round(spec.list_price),
                image_url: spec.image_url.clone(),
                extended_list_price: Money::ZERO,
                discount_amount: Money::ZERO,
                coupon_codes: Vec::new(),
            });
        }
        for (i, spec) in gift_certificates.iter().enumerate() {
            validate_gift_certificate(spec, &self.currency)
                .map_err(|e| prefix_field(e, &format!("gift_certificates[{i}]")))?;
            self.gift_certificates.push(GiftCertificateItem {
                id: new_id(),
                name: spec.name.clone(),
                theme: spec.theme.clone(),
                amount: spec.amount,
                quantity: spec.quantity,
                sender: spec.sender.clone(),
                recipient: spec.recipient.clone(),
                message: spec.message.clone(),
            });
        }
        self.check_limits(products)?;
        Ok(added)
    }

    /// Moves the cart to another of the store's currencies: every catalog line is
    /// priced again from the catalog in `currency` (ids and choices kept), and gift
    /// certificates applied as payment fall away (they are held in the old currency).
    /// Carts with prices the API set by hand (custom items, overridden prices, manual
    /// discounts) or with gift certificates for sale keep their currency.
    pub fn change_currency(
        &mut self,
        currency: Currency,
        products: &ProductsById,
    ) -> Result<(), DomainError> {
        if self.currency.code == currency.code {
            return Ok(());
        }
        if !self.custom_items.is_empty()
            || !self.gift_certificates.is_empty()
            || self
                .line_items
                .iter()
                .any(|l| l.list_price_override.is_some())
            || self.totals.manual_discount_amount > Money::ZERO
        {
            return Err(DomainError::field(
                "currency_code",
                "This cart holds prices set by hand or gift certificates for sale, so its currency cannot change.",
            ));
        }
        let mut next = self.clone();
        next.currency = currency;
        for line in &mut next.line_items {
            let spec = line.respec(&LineItemChange {
                product_id: None,
                variant_id: None,
                quantity: line.quantity,
                list_price: None,
                name: None,
                option_selections: None,
            });
            let mut priced = resolve_line(&spec, products, &next.currency)?;
            priced.id = line.id;
            *line = priced;
        }
        next.checkout.gift_certificates.clear();
        *self = next;
        Ok(())
    }

    /// Changes a catalog line (quantity, variant, options, price), keeping its id.
    /// A quantity of zero removes the line.
    pub fn update_line_item(
        &mut self,
        item_id: Uuid,
        change: &LineItemChange,
        products: &ProductsById,
    ) -> Result<Outcome, DomainError> {
        let pos = self
            .line_items
            .iter()
            .position(|l| l.id == item_id)
            .ok_or_else(|| item_not_found(item_id))?;
        if change.quantity == 0 {
            return self.remove_item(item_id);
        }
        let spec = self.line_items[pos].respec(change);
        let mut resolved = resolve_line(&spec, products, &self.currency)
            .map_err(|e| prefix_field(e, "line_item"))?;
        resolved.id = item_id;
        // A line bound for a place stays bound for it.
        let place = self.line_items[pos].bound_for().map(str::to_string);
        resolved.bind_to(place.as_deref());
        let before = self.line_items.clone();
        // Merging into another identical line keeps one line per selection.
        if let Some(other) = self
            .line_items
            .iter()
            .position(|l| l.id != item_id && l.selection_key == resolved.selection_key)
        {
            let total = self.line_items[other].quantity + resolved.quantity;
            check_quantity(total, "line_item.quantity")?;
            self.line_items[other].quantity = total;
            self.line_items.remove(pos);
        } else {
            self.line_items[pos] = resolved;
        }
        if let Err(e) = self.check_limits(products) {
            self.line_items = before;
            return Err(e);
        }
        Ok(Outcome::Kept)
    }

    pub fn update_custom_item(
        &mut self,
        item_id: Uuid,
        quantity: i64,
        list_price: Option<Money>,
    ) -> Result<Outcome, DomainError> {
        if quantity == 0 {
            return self.remove_item(item_id);
        }
        check_quantity(quantity, "quantity")?;
        let currency = self.currency.clone();
        let item = self
            .custom_items
            .iter_mut()
            .find(|c| c.id == item_id)
            .ok_or_else(|| item_not_found(item_id))?;
        item.quantity = quantity;
        if let Some(p) = list_price {
            check_price(p, &currency, "list_price")?;
            item.list_price = currency.round(p);
        }
        Ok(Outcome::Kept)
    }

    pub fn update_gift_certificate(
        &mut self,
        item_id: Uuid,
        spec: &GiftCertificateSpec,
    ) -> Result<Outcome, DomainError> {
        validate_gift_certificate(spec, &self.currency)
            .map_err(|e| prefix_field(e, "gift_certificate"))?;
        let item = self
            .gift_certificates
            .iter_mut()
            .find(|g| g.id == item_id)
            .ok_or_else(|| item_not_found(item_id))?;
        item.name = spec.name.clone();
        item.theme = spec.theme.clone();
        item.amount = spec.amount;
        item.quantity = spec.quantity;
        item.sender = spec.sender.clone();
        item.recipient = spec.recipient.clone();
        item.message = spec.message.clone();
        Ok(Outcome::Kept)
    }

    /// Binds a catalog line for `place` instead of where it was bound (a product moved
    /// to another of an order's shipping addresses); other items are left alone.
    pub fn bind_line(&mut self, item_id: Uuid, place: &str) {
        if let Some(l) = self.line_items.iter_mut().find(|l| l.id == item_id) {
            if let Some((selection, _)) = l.selection_key.split_once(BOUND_FOR) {
                l.selection_key = selection.to_string();
            }
            l.bind_to(Some(place));
        }
    }

    /// Which kind of item an id names, if any.
    pub fn item_kind(&self, item_id: Uuid) -> Option<ItemKind> {
        if self.line_items.iter().any(|l| l.id == item_id) {
            Some(ItemKind::Product)
        } else if self.custom_items.iter().any(|c| c.id == item_id) {
            Some(ItemKind::Custom)
        } else if self.gift_certificates.iter().any(|g| g.id == item_id) {
            Some(ItemKind::GiftCertificate)
        } else {
            None
        }
    }

    pub fn remove_item(&mut self, item_id: Uuid) -> Result<Outcome, DomainError> {
        let before = self.item_count();
        self.line_items.retain(|l| l.id != item_id);
        self.custom_items.retain(|c| c.id != item_id);
        self.gift_certificates.retain(|g| g.id != item_id);
        if self.item_count() == before {
            return Err(item_not_found(item_id));
        }
        Ok(if self.item_count() == 0 {
            Outcome::Emptied
        } else {
            Outcome::Kept
        })
    }

    pub fn item_count(&self) -> usize {
        self.line_items.len() + self.custom_items.len() + self.gift_certificates.len()
    }

    /// Products whose ids the cart's catalog lines use.
    pub fn product_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.line_items.iter().map(|l| l.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Stamps a change: new version, new time, fresh totals.
    pub fn touch(&mut self, now: i64) {
        self.version += 1;
        self.updated_time = now;
        self.reprice();
    }

    pub fn expires_at(&self) -> i64 {
        self.updated_time + CART_LIFETIME_SECS
    }

    /// The pricing engine for a cart without checkout state: every line's
    /// amounts and the cart's totals, rounded to the currency per line.
    pub fn reprice(&mut self) {
        let cur = self.currency.clone();
        let mut base = Money::ZERO;
        for line in &mut self.line_items {
            let list = cur.round(line.list_price_override.unwrap_or(line.catalog_price));
            let discount_per_unit = Money::ZERO;
            let sale = list - discount_per_unit;
            line.pricing = LinePricing {
                list_price: list,
                sale_price: sale,
                extended_list_price: list.times(line.quantity as u32),
                extended_sale_price: sale.times(line.quantity as u32),
                discount_amount: Money::ZERO,
                coupon_amount: Money::ZERO,
                discounts: Vec::new(),
                coupon_codes: Vec::new(),
            };
            base += line.pricing.extended_list_price;
        }
        for item in &mut self.custom_items {
            item.extended_list_price = item.list_price.times(item.quantity as u32);
            base += item.extended_list_price;
        }
        for gc in &self.gift_certificates {
            base += gc.amount.times(gc.quantity as u32);
        }
        let discount = Money::ZERO;
        let manual = Money::ZERO;
        self.totals = CartTotals {
            base_amount: base,
            discount_amount: discount,
            manual_discount_amount: manual,
            cart_amount: (base - discount - manual).max(Money::ZERO),
        };
    }

    /// Stock and line-count limits that depend on the whole cart.
    fn check_limits(&self, products: &ProductsById) -> Result<(), DomainError> {
        if self.item_count() > MAX_CART_LINES {
            return Err(DomainError::invalid(format!(
                "A cart can hold at most {MAX_CART_LINES} line items."
            )));
        }
        let mut per_variant: HashMap<(i64, i64), i64> = HashMap::new();
        for l in &self.line_items {
            *per_variant.entry((l.product_id, l.variant_id)).or_default() += l.quantity;
        }
        let mut per_product: HashMap<i64, i64> = HashMap::new();
        for ((pid, _), q) in &per_variant {
            *per_product.entry(*pid).or_default() += q;
        }
        for ((pid, vid), qty) in per_variant {
            let Some(product) = products.get(&pid) else {
                continue;
            };
            let Some(variant) = product.variant(vid) else {
                continue;
            };
            let wanted = match product.inventory_tracking {
                super::catalog::InventoryTracking::Product => {
                    per_product.get(&pid).copied().unwrap_or(qty)
                }
                _ => qty,
            };
            if let Some(stock) = product.stock_of(variant).filter(|s| wanted > *s) {
                return Err(DomainError::field(
                    "quantity",
                    if stock <= 0 {
                        format!("{} is out of stock.", product.name)
                    } else {
                        format!(
                            "Only {stock} of {} are in stock; the cart asks for {wanted}.",
                            product.name
                        )
                    },
                ));
            }
            if product.order_quantity_maximum > 0 && qty > product.order_quantity_maximum {
                return Err(DomainError::field(
                    "quantity",
                    format!(
                        "{} can be bought at most {} at a time.",
                        product.name, product.order_quantity_maximum
                    ),
                ));
            }
            if product.order_quantity_minimum > 0 && qty < product.order_quantity_minimum {
                return Err(DomainError::field(
                    "quantity",
                    format!(
                        "{} must be bought at least {} at a time.",
                        product.name, product.order_quantity_minimum
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Product,
    Custom,
    GiftCertificate,
}

fn item_not_found(id: Uuid) -> DomainError {
    DomainError::not_found(format!("Line item {id} does not exist on this cart."))
}

fn prefix_field(e: DomainError, prefix: &str) -> DomainError {
    match e {
        DomainError::Unprocessable { title, errors } => DomainError::Unprocessable {
            title,
            errors: errors
                .into_iter()
                .map(|(f, m)| (format!("{prefix}.{f}"), m))
                .collect(),
        },
        other => other,
    }
}

fn check_quantity(q: i64, field: &str) -> Result<(), DomainError> {
    if q < 1 {
        return Err(DomainError::field(field, "Quantity must be at least 1."));
    }
    if q > MAX_LINE_QUANTITY {
        return Err(DomainError::field(
            field,
            format!("Quantity must be at most {MAX_LINE_QUANTITY}."),
        ));
    }
    Ok(())
}

fn check_price(p: Money, currency: &Currency, field: &str) -> Result<(), DomainError> {
    if p.is_negative() {
        return Err(DomainError::field(field, "A price cannot be negative."));
    }
    if p.amount() > Decimal::from(1_000_000_000i64) * currency.exchange_rate.max(Decimal::ONE) {
        return Err(DomainError::field(field, "The price is too large."));
    }
    Ok(())
}

/// Turns a request for a catalog product into a priced line: finds the variant,
/// checks the option and modifier choices, and applies their adjustments.
pub fn resolve_line(
    spec: &LineItemSpec,
    products: &ProductsById,
    currency: &Currency,
) -> Result<LineItem, DomainError> {
    check_quantity(spec.quantity, "quantity")?;
    let product = products.get(&spec.product_id).ok_or_else(|| {
        DomainError::field(
            "product_id",
            format!("Product {} does not exist.", spec.product_id),
        )
    })?;
    if product.availability == super::catalog::Availability::Disabled {
        return Err(DomainError::field(
            "product_id",
            format!("{} cannot be purchased.", product.name),
        ));
    }
    if let Some(p) = spec.list_price {
        check_price(p, currency, "list_price")?;
    }

    // Split the selections into variant options and modifiers.
    let mut chosen_option_values: Vec<(i64, i64)> = Vec::new();
    let mut modifier_choices: Vec<&OptionSelection> = Vec::new();
    for sel in &spec.option_selections {
        if let Some(opt) = product.options.iter().find(|o| o.id == sel.option_id) {
            let value_id = match &sel.value {
                SelectionValue::Id(v) => Some(*v),
                SelectionValue::Text(t) => t.trim().parse::<i64>().ok(),
                SelectionValue::Json(_) => None,
            }
            .filter(|v| opt.option_values.iter().any(|ov| ov.id == *v))
            .ok_or_else(|| {
                DomainError::field(
                    "option_selections",
                    format!(
                        "Option value is not one of the values of option {} ({}).",
                        opt.id, opt.display_name
                    ),
                )
            })?;
            chosen_option_values.push((opt.id, value_id));
        } else if product.modifiers.iter().any(|m| m.id == sel.option_id) {
            modifier_choices.push(sel);
        } else {
            return Err(DomainError::field(
                "option_selections",
                format!(
                    "Option {} does not belong to product {}.",
                    sel.option_id, product.id
                ),
            ));
        }
    }

    let variant = match spec.variant_id {
        Some(vid) => {
            let v = product.variant(vid).ok_or_else(|| {
                DomainError::field(
                    "variant_id",
                    format!("Variant {vid} does not belong to product {}.", product.id),
                )
            })?;
            for (oid, vid_chosen) in &chosen_option_values {
                let matches = v
                    .option_values
                    .iter()
                    .any(|ov| ov.option_id == *oid && ov.id == *vid_chosen);
                if !matches {
                    return Err(DomainError::field(
                        "option_selections",
                        format!("The option selections do not match variant {}.", v.id),
                    ));
                }
            }
            v
        }
        None if product.options.is_empty() => product.base_variant().ok_or_else(|| {
            DomainError::field(
                "product_id",
                format!("Product {} has no purchasable variant.", product.id),
            )
        })?,
        None => {
            for opt in &product.options {
                if !chosen_option_values.iter().any(|(oid, _)| *oid == opt.id) {
                    return Err(DomainError::field(
                        "variant_id",
                        format!(
                            "Product {} has variants: send variant_id or choose a value for option {} ({}).",
                            product.id, opt.id, opt.display_name
                        ),
                    ));
                }
            }
            product
                .variants
                .iter()
                .find(|v| {
                    chosen_option_values.iter().all(|(oid, vid)| {
                        v.option_values
                            .iter()
                            .any(|ov| ov.option_id == *oid && ov.id == *vid)
                    })
                })
                .ok_or_else(|| {
                    DomainError::field(
                        "option_selections",
                        "No variant of this product matches the option selections.",
                    )
                })?
        }
    };
    if variant.purchasing_disabled {
        let why = if variant.purchasing_disabled_message.is_empty() {
            String::new()
        } else {
            format!(" {}", variant.purchasing_disabled_message)
        };
        return Err(DomainError::field(
            "variant_id",
            format!("This variant of {} cannot be purchased.{why}", product.name),
        ));
    }

    let regular = product.variant_price(variant).amount();
    let selling = product.variant_selling_price(variant).amount();
    let mut regular_adj = Decimal::ZERO;
    let mut selling_adj = Decimal::ZERO;
    let mut weight = product.variant_weight(variant);
    let mut options: Vec<SelectedOption> = Vec::new();

    for opt in &product.options {
        let chosen = variant
            .option_values
            .iter()
            .find(|ov| ov.option_id == opt.id);
        if let Some(ov) = chosen {
            options.push(SelectedOption {
                name: opt.display_name.clone(),
                name_id: opt.id,
                value: ov.label.clone(),
                value_id: Some(ov.id),
                is_variant_option: true,
            });
        }
    }

    let mut modifiers: Vec<_> = product.modifiers.iter().collect();
    modifiers.sort_by_key(|m| (m.sort_order, m.id));
    for m in modifiers {
        let sel = modifier_choices.iter().find(|s| s.option_id == m.id);
        let Some(sel) = sel else {
            if m.required && m.modifier_type != ModifierType::Checkbox {
                return Err(DomainError::field(
                    "option_selections",
                    format!("{} is required for {}.", m.display_name, product.name),
                ));
            }
            continue;
        };
        if m.modifier_type.has_values() {
            let value_id = match &sel.value {
                SelectionValue::Id(v) => Some(*v),
                SelectionValue::Text(t) => t.trim().parse::<i64>().ok(),
                SelectionValue::Json(_) => None,
            };
            let value = value_id
                .and_then(|v| m.option_values.iter().find(|mv| mv.id == v))
                .ok_or_else(|| {
                    DomainError::field(
                        "option_selections",
                        format!(
                            "The value chosen for {} is not one of its values.",
                            m.display_name
                        ),
                    )
                })?;
            if value.adjustments.purchasing_disabled.status {
                return Err(DomainError::field(
                    "option_selections",
                    format!("{}: {} cannot be purchased.", m.display_name, value.label),
                ));
            }
            if let Some(a) = &value.adjustments.price {
                regular_adj += a.amount_on(regular);
                selling_adj += a.amount_on(selling);
            }
            if let Some(a) = &value.adjustments.weight {
                weight += a.amount_on(weight);
            }
            options.push(SelectedOption {
                name: m.display_name.clone(),
                name_id: m.id,
                value: value.label.clone(),
                value_id: Some(value.id),
                is_variant_option: false,
            });
        } else {
            let text = match &sel.value {
                SelectionValue::Id(v) => v.to_string(),
                SelectionValue::Text(t) => t.clone(),
                SelectionValue::Json(j) => j.to_string(),
            };
            validate_free_modifier(m, &text)?;
            options.push(SelectedOption {
                name: m.display_name.clone(),
                name_id: m.id,
                value: text,
                value_id: None,
                is_variant_option: false,
            });
        }
    }

    let original_price = currency.convert(Money::new((regular + regular_adj).max(Decimal::ZERO)));
    let catalog_price = currency.convert(Money::new((selling + selling_adj).max(Decimal::ZERO)));
    let list_price_override = spec.list_price.map(|p| currency.round(p));
    let name_override = spec.name.clone().filter(|n| !n.trim().is_empty());

    let mut key = format!("{}:{}", product.id, variant.id);
    for o in options
        .iter()
        .filter(|o| product.modifiers.iter().any(|m| m.id == o.name_id))
    {
        key.push_str(&format!("|{}={}", o.name_id, o.value));
    }
    if let Some(p) = list_price_override {
        key.push_str(&format!("|price={p}"));
    }
    if let Some(n) = &name_override {
        key.push_str(&format!("|name={n}"));
    }

    Ok(LineItem {
        id: Uuid::nil(),
        product_id: product.id,
        variant_id: variant.id,
        kind: product.product_type,
        sku: if variant.sku.is_empty() {
            product.sku.clone()
        } else {
            variant.sku.clone()
        },
        name: name_override
            .clone()
            .unwrap_or_else(|| product.name.clone()),
        url: product.url.clone(),
        image_url: if variant.image_url.is_empty() {
            product.image_url.clone()
        } else {
            variant.image_url.clone()
        },
        quantity: spec.quantity,
        taxable: true,
        weight,
        options,
        original_price,
        catalog_price,
        list_price_override,
        name_override,
        selection_key: key,
        pricing: LinePricing::default(),
        tax_class_id: product.tax_class_id,
        is_free_shipping: product.is_free_shipping,
        fixed_shipping_price: (product.fixed_cost_shipping_price > Money::ZERO)
            .then_some(product.fixed_cost_shipping_price),
        brand_id: product.brand_id,
        category_ids: product.categories.clone(),
        on_sale: catalog_price < original_price,
    })
}

/// Checks a free-form modifier value (text, number, date, file) against its config.
fn validate_free_modifier(m: &super::catalog::Modifier, text: &str) -> Result<(), DomainError> {
    let cfg = &m.config;
    let len = text.chars().count() as i64;
    let err = |msg: String| DomainError::field("option_selections", msg);
    match m.modifier_type {
        ModifierType::Text | ModifierType::MultiLineText => {
            if cfg.get("text_characters_limited").and_then(|v| v.as_bool()) == Some(true) {
                let min = cfg
                    .get("text_min_length")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                let max = cfg
                    .get("text_max_length")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(i64::MAX);
                if len < min || len > max {
                    return Err(err(format!(
                        "{} must be between {min} and {max} characters.",
                        m.display_name
                    )));
                }
            }
            if len > 10_000 {
                return Err(err(format!("{} is too long.", m.display_name)));
            }
            if m.required && text.trim().is_empty() {
                return Err(err(format!("{} is required.", m.display_name)));
            }
        }
        ModifierType::NumbersOnlyText => {
            let n: Decimal = text
                .trim()
                .parse()
                .map_err(|_| err(format!("{} must be a number.", m.display_name)))?;
            if cfg.get("number_limited").and_then(|v| v.as_bool()) == Some(true) {
                let lower = cfg
                    .get("number_lowest_value")
                    .and_then(|v| v.as_str().map(String::from).or_else(|| Some(v.to_string())))
                    .and_then(|s| s.parse::<Decimal>().ok());
                let upper = cfg
                    .get("number_highest_value")
                    .and_then(|v| v.as_str().map(String::from).or_else(|| Some(v.to_string())))
                    .and_then(|s| s.parse::<Decimal>().ok());
                if lower.is_some_and(|l| n < l) || upper.is_some_and(|u| n > u) {
                    return Err(err(format!("{} is out of range.", m.display_name)));
                }
            }
        }
        _ => {
            if len > 10_000 {
                return Err(err(format!("{} is too long.", m.display_name)));
            }
        }
    }
    Ok(())
}

fn validate_custom_item(spec: &CustomItemSpec, currency: &Currency) -> Result<(), DomainError> {
    let n = spec.name.trim().chars().count();
    if n == 0 || n > 250 {
        return Err(DomainError::field(
            "name",
            "A custom item needs a name of 1 to 250 characters.",
        ));
    }
    if spec.sku.chars().count() > 255 {
        return Err(DomainError::field(
            "sku",
            "The SKU is longer than 255 characters.",
        ));
    }
    check_quantity(spec.quantity, "quantity")?;
    check_price(spec.list_price, currency, "list_price")
}

fn validate_gift_certificate(
    spec: &GiftCertificateSpec,
    currency: &Currency,
) -> Result<(), DomainError> {
    if spec.name.trim().is_empty() || spec.name.chars().count() > 255 {
        return Err(DomainError::field(
            "name",
            "A gift certificate needs a name of 1 to 255 characters.",
        ));
    }
    if !GIFT_CERTIFICATE_THEMES.contains(&spec.theme.as_str()) {
        return Err(DomainError::field(
            "theme",
            format!(
                "Theme must be one of {}.",
                GIFT_CERTIFICATE_THEMES.join(", ")
            ),
        ));
    }
    let min = currency.convert(Money::new(Decimal::ONE));
    let max = currency.convert(Money::new(Decimal::from(1000)));
    if spec.amount < min || spec.amount > max {
        return Err(DomainError::field(
            "amount",
            format!("A gift certificate amount must be between {min} and {max}."),
        ));
    }
    if currency.round(spec.amount) != spec.amount {
        return Err(DomainError::field(
            "amount",
            format!(
                "A {} amount has at most {} decimal places.",
                currency.code, currency.decimal_places
            ),
        ));
    }
    check_quantity(spec.quantity, "quantity")?;
    for (who, c) in [("sender", &spec.sender), ("recipient", &spec.recipient)] {
        if c.name.trim().is_empty() {
            return Err(DomainError::field(
                format!("{who}.name"),
                format!("The {who} needs a name."),
            ));
        }
        if !is_plausible_email(&c.email) {
            return Err(DomainError::field(
                format!("{who}.email"),
                format!("The {who}'s email address is not valid."),
            ));
        }
    }
    if spec.message.chars().count() > 200 {
        return Err(DomainError::field(
            "message",
            "The message is longer than 200 characters.",
        ));
    }
    Ok(())
}

/// An address with one `@`, something before it and a dotted domain after it.
pub fn is_plausible_email(s: &str) -> bool {
    let s = s.trim();
    if s.len() > 254 || s.chars().any(char::is_whitespace) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::catalog::{Availability, InventoryTracking, Variant};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    pub(crate) fn product(id: i64, cents: i64, stock: Option<i64>) -> Product {
        Product {
            id,
            name: format!("P{id}"),
            product_type: ProductType::Physical,
            sku: String::new(),
            description: String::new(),
            weight: Decimal::ONE,
            width: Decimal::ZERO,
            depth: Decimal::ZERO,
            height: Decimal::ZERO,
            price: Money::new(Decimal::new(cents, 2)),
            cost_price: Money::ZERO,
            retail_price: Money::ZERO,
            sale_price: Money::ZERO,
            map_price: Money::ZERO,
            tax_class_id: 0,
            categories: vec![],
            brand_id: 0,
            inventory_level: stock.unwrap_or(0),
            inventory_warning_level: 0,
            inventory_tracking: if stock.is_some() {
                InventoryTracking::Product
            } else {
                InventoryTracking::None
            },
            is_visible: true,
            is_free_shipping: false,
            fixed_cost_shipping_price: Money::ZERO,
            availability: Availability::Available,
            order_quantity_minimum: 0,
            order_quantity_maximum: 0,
            url: String::new(),
            image_url: String::new(),
            date_created: 0,
            date_modified: 0,
            variants: vec![Variant::blank(id * 10, id)],
            options: vec![],
            modifiers: vec![],
        }
    }

    fn usd() -> Currency {
        Currency::new("USD", 2, Decimal::ONE)
    }

    fn spec(product_id: i64, quantity: i64) -> LineItemSpec {
        LineItemSpec {
            product_id,
            variant_id: None,
            quantity,
            list_price: None,
            name: None,
            option_selections: vec![],
        }
    }

    fn new_cart(lines: Vec<LineItemSpec>, customs: Vec<CustomItemSpec>) -> NewCart {
        NewCart {
            customer_id: 0,
            channel_id: 1,
            currency: usd(),
            locale: "en".into(),
            tax_included: false,
            line_items: lines,
            custom_items: customs,
            gift_certificates: vec![],
        }
    }

    #[test]
    fn lines_bound_for_different_places_stay_apart() {
        let products: ProductsById = [(1, product(1, 1000, Some(10)).into())]
            .into_iter()
            .collect();
        let places = [
            Some("a".to_string()),
            Some("b".to_string()),
            Some("a".to_string()),
        ];
        let (mut cart, added) = Cart::create_bound(
            Uuid::nil(),
            new_cart(vec![spec(1, 1), spec(1, 2), spec(1, 3)], vec![]),
            &places,
            &products,
            0,
            Uuid::new_v4,
        )
        .unwrap();
        // "a" twice merges; "b" is a line of its own.
        assert_eq!(cart.line_items.len(), 2);
        assert_eq!(added.lines[0], added.lines[2]);
        assert_ne!(added.lines[0], added.lines[1]);
        let quantities: Vec<(Option<&str>, i64)> = cart
            .line_items
            .iter()
            .map(|l| (l.bound_for(), l.quantity))
            .collect();
        assert_eq!(quantities, [(Some("a"), 4), (Some("b"), 2)]);
        // A change keeps the place, so it does not merge into the other line.
        let b = added.lines[1];
        let change = LineItemChange {
            product_id: None,
            variant_id: None,
            quantity: 5,
            list_price: None,
            name: None,
            option_selections: None,
        };
        cart.update_line_item(b, &change, &products).unwrap();
        assert_eq!(cart.line_items.len(), 2);
        assert_eq!(cart.line_items[1].bound_for(), Some("b"));
        // The stock limit counts both lines: 4 + 5 + 2 > 10.
        assert!(
            cart.add_items(&[spec(1, 2)], &[], &[], &products, &mut Uuid::new_v4)
                .is_err()
        );
        // Moved elsewhere, a line is bound there.
        cart.bind_line(b, "c");
        assert_eq!(cart.line_items[1].bound_for(), Some("c"));
        // An unbound addition is a line of its own too.
        cart.add_items(&[spec(1, 1)], &[], &[], &products, &mut Uuid::new_v4)
            .unwrap();
        assert_eq!(cart.line_items.len(), 3);
        assert_eq!(cart.line_items[2].bound_for(), None);
    }

    proptest! {
        /// The cart total is exactly the sum of its lines, to the cent, and never negative.
        #[test]
        fn totals_are_the_sum_of_lines(
            prices in proptest::collection::vec(0i64..10_000_000, 1..8),
            quantities in proptest::collection::vec(1i64..50, 8),
            custom_cents in 0i64..1_000_000,
        ) {
            let products: ProductsById = prices
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1, product(i as i64 + 1, *c, None).into()))
                .collect();
            let lines: Vec<_> = (0..prices.len()).map(|i| spec(i as i64 + 1, quantities[i])).collect();
            let customs = vec![CustomItemSpec {
                sku: String::new(),
                name: "c".into(),
                quantity: 2,
                list_price: Money::new(Decimal::new(custom_cents, 2)),
                image_url: String::new(),
            }];
            let cart = Cart::create(Uuid::nil(), new_cart(lines, customs), &products, 0, Uuid::new_v4).unwrap();
            let expected: Decimal = prices.iter().zip(&quantities).map(|(c, q)| Decimal::new(*c, 2) * Decimal::from(*q)).sum::<Decimal>()
                + Decimal::new(custom_cents, 2) * Decimal::from(2);
            prop_assert_eq!(cart.totals.base_amount.amount(), expected);
            prop_assert_eq!(cart.totals.cart_amount, cart.totals.base_amount);
            prop_assert!(!cart.totals.cart_amount.is_negative());
            let lines_sum: Money = cart.line_items.iter().map(|l| l.pricing.extended_sale_price).sum::<Money>()
                + cart.custom_items.iter().map(|c| c.extended_list_price).sum::<Money>();
            prop_assert_eq!(lines_sum, cart.totals.cart_amount);
        }

        /// Adding the same item in pieces equals adding it at once, and never exceeds stock.
        #[test]
        fn split_additions_merge(pieces in proptest::collection::vec(1i64..5, 1..10), stock in 1i64..30) {
            let products: ProductsById = [(1, product(1, 1999, Some(stock)).into())].into_iter().collect();
            let first = pieces[0];
            let created = Cart::create(Uuid::nil(), new_cart(vec![spec(1, first)], vec![]), &products, 0, Uuid::new_v4);
            if first > stock {
                prop_assert!(created.is_err());
                return Ok(());
            }
            let mut cart = created.unwrap();
            let mut total = first;
            for p in &pieces[1..] {
                let r = cart.add_items(&[spec(1, *p)], &[], &[], &products, &mut Uuid::new_v4);
                if total + p > stock {
                    // Refused, and the cart is exactly as it was.
                    prop_assert!(r.is_err());
                    prop_assert_eq!(cart.line_items[0].quantity, total);
                    continue;
                }
                prop_assert!(r.is_ok());
                total += p;
            }
            cart.reprice();
            prop_assert_eq!(cart.line_items.len(), 1);
            prop_assert_eq!(cart.line_items[0].quantity, total);
            prop_assert_eq!(cart.totals.cart_amount.amount(), Decimal::new(1999, 2) * Decimal::from(total));
        }

        /// Converted prices are rounded to the currency's places, half up.
        #[test]
        fn conversion_rounds_to_currency_places(cents in 0i64..100_000_000, rate_milli in 1i64..200_000) {
            let eur = Currency::new("EUR", 2, Decimal::new(rate_milli, 3));
            let jpy = Currency::new("JPY", 0, Decimal::new(rate_milli, 3));
            let m = Money::new(Decimal::new(cents, 2));
            prop_assert!(eur.convert(m).amount().scale() <= 2);
            prop_assert!(jpy.convert(m).amount().scale() == 0);
            let exact = m.amount() * eur.exchange_rate;
            prop_assert!((eur.convert(m).amount() - exact).abs() <= Decimal::new(5, 3));
        }
    }

    #[test]
    fn emptying_is_reported() {
        let products: ProductsById = [(1, product(1, 500, None).into())].into_iter().collect();
        let mut cart = Cart::create(
            Uuid::nil(),
            new_cart(vec![spec(1, 1)], vec![]),
            &products,
            0,
            Uuid::new_v4,
        )
        .unwrap();
        let id = cart.line_items[0].id;
        assert_eq!(cart.remove_item(id), Ok(Outcome::Emptied));
        assert!(matches!(
            cart.remove_item(id),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn email_plausibility() {
        assert!(is_plausible_email("a@b.co"));
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.b", "a@b.",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}
