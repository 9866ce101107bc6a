//! The checkout: a cart plus billing address, consignments (where its physical items
//! ship), fees, manual discounts and a customer message; and the pricing engine that
//! turns all of it into every total, per line and per consignment.
//!
//! Pricing order: lines (catalog or override prices) → manual discounts, allocated to
//! lines → shipping quotes per consignment → tax per destination → totals. Amounts are
//! rounded to the currency at each named step and allocations are made in whole minor
//! units, so every part adds up to its whole exactly.

use super::address::{Address, Location};
use super::cart::Cart;
use super::catalog::ProductType;
use super::error::DomainError;
use super::money::{Currency, Money};
use super::shipping::{ShipmentRequest, ShippableItem, ShippingConfig, ShippingQuote, quotes};
use super::tax::{AppliedRate, TaxConfig, TaxableAmount, compute_tax};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A checkout holds at most this many fees (BigCommerce's limit).
pub const MAX_FEES: usize = 5;
/// `customer_message` is at most this many characters.
pub const MAX_CUSTOMER_MESSAGE: usize = 2000;
/// The id manual discounts carry in `discounts` lists.
pub const MANUAL_DISCOUNT_ID: &str = "manual-discount";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckoutState {
    pub billing_address: Option<AddressRecord>,
    pub consignments: Vec<Consignment>,
    pub customer_message: String,
    pub fees: Vec<Fee>,
    pub manual_discounts: ManualDiscounts,
    pub totals: CheckoutTotals,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressRecord {
    pub id: String,
    pub address: Address,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consignment {
    pub id: String,
    pub address: AddressRecord,
    pub items: Vec<ConsignmentItem>,
    /// A pickup consignment names a pickup location and carries no shipping method.
    pub pickup_method_id: Option<i64>,
    pub selected_option_id: Option<String>,
    /// Computed on every write, so a read does no pricing work.
    pub available_options: Vec<ShippingQuote>,
    pub selected_option: Option<ShippingQuote>,
    pub shipping_cost_ex_tax: Money,
    pub shipping_cost_inc_tax: Money,
    pub handling_cost_ex_tax: Money,
    pub handling_cost_inc_tax: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsignmentItem {
    pub item_id: Uuid,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fee {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    /// As entered: including tax when the store's prices include tax, else excluding.
    pub cost: Money,
    pub source: String,
    pub tax_class_id: Option<i64>,
    pub cost_ex_tax: Money,
    pub cost_inc_tax: Money,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManualDiscounts {
    /// Cart-level amounts, spread over the lines in proportion to their value.
    pub cart_level: Vec<Money>,
    /// Amounts against one line each.
    pub per_line: Vec<(Uuid, Money)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckoutTotals {
    pub subtotal_ex_tax: Money,
    pub subtotal_inc_tax: Money,
    pub shipping_cost_total_ex_tax: Money,
    pub shipping_cost_total_inc_tax: Money,
    pub handling_cost_total_ex_tax: Money,
    pub handling_cost_total_inc_tax: Money,
    pub fees_total_ex_tax: Money,
    pub fees_total_inc_tax: Money,
    pub tax_total: Money,
    pub grand_total: Money,
    pub cart_amount_ex_tax: Money,
    pub cart_amount_inc_tax: Money,
    /// `{name, amount}` per tax rate, in the order rates first applied.
    pub taxes: Vec<TaxTotal>,
    /// Tax on each cart line (by line id), for per-line display.
    pub line_tax: BTreeMap<Uuid, Money>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxTotal {
    pub name: String,
    pub amount: Money,
}

/// The store rules pricing needs beyond the catalog.
pub struct PricingRules<'a> {
    pub shipping: &'a ShippingConfig,
    pub tax: &'a TaxConfig,
    pub prices_include_tax: bool,
    /// Which address decides tax for items that ship nowhere (digital, custom, fees).
    pub tax_on_billing_address: bool,
    /// The class shipping and handling are taxed in, when the method is taxable.
    pub shipping_tax_class_id: i64,
}

/// What a new consignment is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsignmentSpec {
    pub address: Option<Address>,
    pub items: Vec<ConsignmentItem>,
    pub pickup_method_id: Option<i64>,
}

/// A change to one consignment; fields left out stay as they are.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConsignmentChange {
    pub address: Option<Address>,
    pub items: Option<Vec<ConsignmentItem>>,
    pub pickup_method_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FeeSpec {
    pub name: String,
    pub display_name: String,
    pub cost: Money,
    pub source: String,
    pub tax_class_id: Option<i64>,
}

fn short_id() -> String {
    Uuid::new_v4().simple().to_string()[..13].to_string()
}

impl Cart {
    /// Everything about this cart that needs store shipping and tax rules to price.
    pub fn needs_rules(&self) -> bool {
        self.checkout.billing_address.is_some()
            || !self.checkout.consignments.is_empty()
            || !self.checkout.fees.is_empty()
    }

    pub fn set_customer_message(&mut self, message: &str) -> Result<(), DomainError> {
        if message.chars().count() > MAX_CUSTOMER_MESSAGE {
            return Err(DomainError::field(
                "customer_message",
                format!("customer_message is longer than {MAX_CUSTOMER_MESSAGE} characters."),
            ));
        }
        self.checkout.customer_message = message.to_string();
        Ok(())
    }

    /// Sets the billing address (already validated). The address keeps its id across updates.
    pub fn set_billing_address(&mut self, address: Address) -> &AddressRecord {
        let id = self
            .checkout
            .billing_address
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_else(short_id);
        if !address.email.is_empty() {
            self.email = address.email.clone();
        }
        self.checkout.billing_address = Some(AddressRecord { id, address });
        self.checkout.billing_address.as_ref().expect("just set")
    }

    /// Adds consignments; an address already used by a consignment gets the items added to it.
    pub fn add_consignments(&mut self, specs: &[ConsignmentSpec]) -> Result<(), DomainError> {
        let mut next = self.checkout.consignments.clone();
        for (i, spec) in specs.iter().enumerate() {
            let prefix = format!("consignments[{i}]");
            if spec.items.is_empty() {
                return Err(DomainError::field(
                    format!("{prefix}.line_items"),
                    "A consignment needs at least one line item.",
                ));
            }
            if let Some(j) = spec.items.iter().position(|it| it.quantity < 1) {
                return Err(DomainError::field(
                    format!("{prefix}.line_items[{j}].quantity"),
                    "A consignment quantity must be at least 1.",
                ));
            }
            let address = match (&spec.address, spec.pickup_method_id) {
                (Some(a), _) => a.clone(),
                (None, Some(_)) => Address::default(),
                (None, None) => {
                    return Err(DomainError::field(
                        format!("{prefix}.address"),
                        "A consignment needs an address or a pickup_option.",
                    ));
                }
            };
            let same = next.iter_mut().find(|c| {
                c.pickup_method_id == spec.pickup_method_id && c.address.address == address
            });
            match same {
                Some(c) => merge_items(&mut c.items, &spec.items),
                None => next.push(Consignment {
                    id: short_id(),
                    address: AddressRecord {
                        id: short_id(),
                        address,
                    },
                    items: merged(&spec.items),
                    pickup_method_id: spec.pickup_method_id,
                    selected_option_id: None,
                    available_options: Vec::new(),
                    selected_option: None,
                    shipping_cost_ex_tax: Money::ZERO,
                    shipping_cost_inc_tax: Money::ZERO,
                    handling_cost_ex_tax: Money::ZERO,
                    handling_cost_inc_tax: Money::ZERO,
                }),
            }
        }
        self.check_allocation(&next)?;
        self.checkout.consignments = next;
        Ok(())
    }

    pub fn update_consignment(
        &mut self,
        id: &str,
        change: &ConsignmentChange,
    ) -> Result<(), DomainError> {
        let mut next = self.checkout.consignments.clone();
        let c = next
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| DomainError::not_found(format!("Consignment {id} does not exist.")))?;
        if let Some(a) = &change.address {
            c.address.address = a.clone();
        }
        if let Some(items) = &change.items {
            if items.is_empty() {
                return Err(DomainError::field(
                    "line_items",
                    "A consignment needs at least one line item; delete the consignment instead.",
                ));
            }
            c.items = merged(items);
        }
        if let Some(p) = change.pickup_method_id {
            c.pickup_method_id = Some(p);
            c.selected_option_id = None;
        }
        self.check_allocation(&next)?;
        self.checkout.consignments = next;
        Ok(())
    }

    pub fn delete_consignment(&mut self, id: &str) -> Result<(), DomainError> {
        let before = self.checkout.consignments.len();
        self.checkout.consignments.retain(|c| c.id != id);
        if self.checkout.consignments.len() == before {
            return Err(DomainError::not_found(format!(
                "Consignment {id} does not exist."
            )));
        }
        Ok(())
    }

    pub fn add_fees(&mut self, fees: &[FeeSpec]) -> Result<Vec<Uuid>, DomainError> {
        if self.checkout.fees.len() + fees.len() > MAX_FEES {
            return Err(DomainError::field(
                "fees",
                format!("A checkout can carry at most {MAX_FEES} fees."),
            ));
        }
        let mut ids = Vec::new();
        for (i, f) in fees.iter().enumerate() {
            validate_fee(f, &format!("fees[{i}]"), &self.currency)?;
            let id = Uuid::new_v4();
            self.checkout.fees.push(Fee {
                id,
                name: f.name.clone(),
                display_name: f.display_name.clone(),
                cost: self.currency.round(f.cost),
                source: f.source.clone(),
                tax_class_id: f.tax_class_id,
                cost_ex_tax: Money::ZERO,
                cost_inc_tax: Money::ZERO,
            });
            ids.push(id);
        }
        Ok(ids)
    }

    pub fn update_fees(&mut self, fees: &[(Uuid, FeeSpec)]) -> Result<(), DomainError> {
        let mut next = self.checkout.fees.clone();
        for (i, (id, f)) in fees.iter().enumerate() {
            validate_fee(f, &format!("fees[{i}]"), &self.currency)?;
            let fee = next.iter_mut().find(|x| x.id == *id).ok_or_else(|| {
                DomainError::field(format!("fees[{i}].id"), format!("Fee {id} does not exist."))
            })?;
            fee.name = f.name.clone();
            fee.display_name = f.display_name.clone();
            fee.cost = self.currency.round(f.cost);
            fee.source = f.source.clone();
            fee.tax_class_id = f.tax_class_id;
        }
        self.checkout.fees = next;
        Ok(())
    }

    pub fn delete_fees(&mut self, ids: &[Uuid]) -> Result<(), DomainError> {
        for (i, id) in ids.iter().enumerate() {
            if !self.checkout.fees.iter().any(|f| f.id == *id) {
                return Err(DomainError::field(
                    format!("ids[{i}]"),
                    format!("Fee {id} does not exist."),
                ));
            }
        }
        self.checkout.fees.retain(|f| !ids.contains(&f.id));
        Ok(())
    }

    /// Replaces the manual discounts. The total may not exceed what the items are worth.
    pub fn set_manual_discounts(
        &mut self,
        cart_level: Vec<Money>,
        per_line: Vec<(Uuid, Money)>,
    ) -> Result<(), DomainError> {
        for (i, m) in cart_level.iter().enumerate() {
            if m.is_negative() {
                return Err(DomainError::field(
                    format!("cart.discounts[{i}].discounted_amount"),
                    "A discount cannot be negative.",
                ));
            }
        }
        for (i, (id, m)) in per_line.iter().enumerate() {
            if m.is_negative() {
                return Err(DomainError::field(
                    format!("cart.line_items[{i}].discounted_amount"),
                    "A discount cannot be negative.",
                ));
            }
            let line_value = self
                .discountable_lines()
                .into_iter()
                .find(|(lid, _)| lid == id)
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    DomainError::field(
                        format!("cart.line_items[{i}].id"),
                        format!("Line item {id} is not on this checkout."),
                    )
                })?;
            if *m > line_value {
                return Err(DomainError::field(
                    format!("cart.line_items[{i}].discounted_amount"),
                    format!("The discount {m} is more than the line is worth ({line_value})."),
                ));
            }
        }
        let total: Money = cart_level.iter().copied().sum::<Money>()
            + per_line.iter().map(|(_, m)| *m).sum::<Money>();
        let worth: Money = self.discountable_lines().iter().map(|(_, v)| *v).sum();
        if total > worth {
            return Err(DomainError::field(
                "cart.discounts",
                format!("Discounts of {total} are more than the items are worth ({worth})."),
            ));
        }
        let currency = self.currency.clone();
        self.checkout.manual_discounts = ManualDiscounts {
            cart_level: cart_level.into_iter().map(|m| currency.round(m)).collect(),
            per_line: per_line
                .into_iter()
                .map(|(id, m)| (id, currency.round(m)))
                .collect(),
        };
        Ok(())
    }

    /// Catalog and custom lines with their extended value (gift certificates are never discounted).
    fn discountable_lines(&self) -> Vec<(Uuid, Money)> {
        self.line_items
            .iter()
            .map(|l| (l.id, l.pricing.extended_sale_price))
            .chain(
                self.custom_items
                    .iter()
                    .map(|c| (c.id, c.extended_list_price)),
            )
            .collect()
    }

    /// Items that can go in a consignment, with their quantities.
    fn shippable_quantities(&self) -> HashMap<Uuid, i64> {
        self.line_items
            .iter()
            .filter(|l| l.kind == ProductType::Physical)
            .map(|l| (l.id, l.quantity))
            .chain(self.custom_items.iter().map(|c| (c.id, c.quantity)))
            .collect()
    }

    fn check_allocation(&self, consignments: &[Consignment]) -> Result<(), DomainError> {
        let available = self.shippable_quantities();
        let mut used: HashMap<Uuid, i64> = HashMap::new();
        for c in consignments {
            for it in &c.items {
                let Some(max) = available.get(&it.item_id) else {
                    let digital = self.line_items.iter().any(|l| l.id == it.item_id);
                    return Err(DomainError::field(
                        "line_items.item_id",
                        if digital {
                            format!(
                                "Item {} does not ship: only physical items go in consignments.",
                                it.item_id
                            )
                        } else {
                            format!("Item {} is not on this checkout.", it.item_id)
                        },
                    ));
                };
                if it.quantity < 1 {
                    return Err(DomainError::field(
                        "line_items.quantity",
                        "A consignment quantity must be at least 1.",
                    ));
                }
                let total = used.entry(it.item_id).or_default();
                *total += it.quantity;
                if *total > *max {
                    return Err(DomainError::field(
                        "line_items.quantity",
                        format!(
                            "Consignments would hold {} of item {} but the cart has {max}.",
                            total, it.item_id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Fits consignments to the cart after items changed: quantities shrink to what the
    /// cart holds, items that left the cart leave, and empty consignments go.
    fn reconcile_consignments(&mut self) {
        let mut left = self.shippable_quantities();
        for c in &mut self.checkout.consignments {
            for it in &mut c.items {
                let avail = left.entry(it.item_id).or_insert(0);
                it.quantity = it.quantity.min(*avail);
                *avail -= it.quantity;
            }
            c.items.retain(|it| it.quantity > 0);
        }
        self.checkout.consignments.retain(|c| !c.items.is_empty());
        let known: Vec<Uuid> = self.line_items.iter().map(|l| l.id).collect();
        self.checkout
            .manual_discounts
            .per_line
            .retain(|(id, _)| known.contains(id) || self.custom_items.iter().any(|c| c.id == *id));
    }

    /// The whole pricing engine: lines, discounts, shipping, tax and every total.
    /// Without rules (no checkout state yet) there is no shipping and no tax.
    pub fn price(&mut self, rules: Option<&PricingRules>) -> Result<(), DomainError> {
        self.reprice();
        self.reconcile_consignments();
        let cur = self.currency.clone();

        // 1. Manual discounts onto lines.
        let lines = self.discountable_lines();
        let cart_level: Money = self
            .checkout
            .manual_discounts
            .cart_level
            .iter()
            .copied()
            .sum();
        let mut discount: HashMap<Uuid, Money> = HashMap::new();
        for (id, m) in &self.checkout.manual_discounts.per_line {
            *discount.entry(*id).or_default() += *m;
        }
        let remaining: Vec<Money> = lines
            .iter()
            .map(|(id, v)| (*v - discount.get(id).copied().unwrap_or_default()).max(Money::ZERO))
            .collect();
        let cart_level = cart_level.min(remaining.iter().copied().sum());
        for ((id, _), share) in lines.iter().zip(allocate(cart_level, &remaining, &cur)) {
            *discount.entry(*id).or_default() += share;
        }
        let manual_total: Money = discount.values().copied().sum();
        for l in &mut self.line_items {
            l.pricing.discount_amount = discount.get(&l.id).copied().unwrap_or_default();
        }
        for c in &mut self.custom_items {
            c.discount_amount = discount.get(&c.id).copied().unwrap_or_default();
        }
        self.totals.manual_discount_amount = manual_total;
        self.totals.discount_amount = manual_total;
        self.totals.cart_amount = (self.totals.base_amount - manual_total).max(Money::ZERO);

        // 2. What each line is worth after discounts.
        let net: HashMap<Uuid, Money> = lines
            .iter()
            .map(|(id, v)| (*id, *v - discount.get(id).copied().unwrap_or_default()))
            .collect();

        let facts: HashMap<Uuid, LineFacts> = self
            .line_items
            .iter()
            .map(|l| {
                (
                    l.id,
                    LineFacts {
                        tax_class_id: l.tax_class_id,
                        quantity: l.quantity,
                        unit_weight: l.weight,
                        is_free_shipping: l.is_free_shipping,
                        fixed_shipping_price: l.fixed_shipping_price,
                    },
                )
            })
            .chain(self.custom_items.iter().map(|c| {
                (
                    c.id,
                    LineFacts {
                        tax_class_id: 0,
                        quantity: c.quantity,
                        unit_weight: Decimal::ZERO,
                        is_free_shipping: false,
                        fixed_shipping_price: None,
                    },
                )
            }))
            .collect();

        // 3. Shipping quotes per consignment.
        let shipping_rules = rules.map(|r| r.shipping);
        for c in &mut self.checkout.consignments {
            let items: Vec<ShippableItem> = c
                .items
                .iter()
                .filter_map(|it| {
                    let f = facts.get(&it.item_id)?;
                    let value = net.get(&it.item_id).copied().unwrap_or_default();
                    Some(ShippableItem {
                        quantity: it.quantity,
                        unit_weight: f.unit_weight,
                        unit_price: Money::new(value.amount() / Decimal::from(f.quantity.max(1))),
                        is_free_shipping: f.is_free_shipping,
                        fixed_shipping_price: f.fixed_shipping_price,
                    })
                })
                .collect();
            c.available_options = match (shipping_rules, c.pickup_method_id) {
                (Some(cfg), None) => quotes(
                    cfg,
                    &ShipmentRequest {
                        destination: c.address.address.location(),
                        items: &items,
                        currency: &cur,
                    },
                ),
                _ => Vec::new(),
            };
            c.selected_option = c
                .selected_option_id
                .as_ref()
                .and_then(|id| c.available_options.iter().find(|q| &q.id == id).cloned());
            if c.selected_option.is_none() {
                c.selected_option_id = None;
            }
        }

        // 4. Tax, per destination.
        let include = rules.is_some_and(|r| r.prices_include_tax);
        let billing = self
            .checkout
            .billing_address
            .as_ref()
            .map(|b| b.address.clone());
        let fallback: Option<Address> = match rules {
            Some(r) if !r.tax_on_billing_address => self
                .checkout
                .consignments
                .iter()
                .find(|c| c.pickup_method_id.is_none())
                .map(|c| c.address.address.clone())
                .or(billing.clone()),
            _ => billing.clone(),
        };
        let mut groups: Vec<(Option<Address>, Vec<TaxableAmount>)> = Vec::new();
        // Each line's value split over where its units go (consignments, then the units
        // that ship nowhere), in whole minor units so the parts add up to the line.
        let mut placement: HashMap<Uuid, Vec<(Option<usize>, i64)>> = HashMap::new();
        for (ci, c) in self.checkout.consignments.iter().enumerate() {
            for it in &c.items {
                placement
                    .entry(it.item_id)
                    .or_default()
                    .push((Some(ci), it.quantity));
            }
        }
        for (id, f) in &facts {
            let placed: i64 = placement
                .get(id)
                .map(|parts| parts.iter().map(|p| p.1).sum())
                .unwrap_or(0);
            if f.quantity > placed {
                placement
                    .entry(*id)
                    .or_default()
                    .push((None, f.quantity - placed));
            }
        }
        let mut share: HashMap<(Uuid, Option<usize>), Money> = HashMap::new();
        for (id, parts) in &placement {
            let weights: Vec<Money> = parts
                .iter()
                .map(|p| Money::new(Decimal::from(p.1)))
                .collect();
            let value = net.get(id).copied().unwrap_or_default();
            for (part, amount) in parts.iter().zip(allocate(value, &weights, &cur)) {
                share.insert((*id, part.0), amount);
            }
        }
        for (ci, c) in self.checkout.consignments.iter().enumerate() {
            let mut amounts = Vec::new();
            for it in &c.items {
                let class = facts.get(&it.item_id).map(|f| f.tax_class_id).unwrap_or(0);
                amounts.push(TaxableAmount {
                    key: format!("{}@{}", it.item_id, c.id),
                    tax_class_id: class,
                    amount: share
                        .get(&(it.item_id, Some(ci)))
                        .copied()
                        .unwrap_or_default(),
                });
            }
            if let Some(q) = &c.selected_option
                && q.tax_class_id.is_some()
                && let Some(class) = rules.map(|r| r.shipping_tax_class_id)
            {
                let (cost, handling) = shipping_and_handling(q);
                amounts.push(TaxableAmount {
                    key: format!("shipping:{}", c.id),
                    tax_class_id: class,
                    amount: cost,
                });
                amounts.push(TaxableAmount {
                    key: format!("handling:{}", c.id),
                    tax_class_id: class,
                    amount: handling,
                });
            }
            groups.push((Some(c.address.address.clone()), amounts));
        }
        let mut rest = Vec::new();
        for ((id, part), amount) in &share {
            if part.is_some() {
                continue;
            }
            rest.push(TaxableAmount {
                key: format!("{id}@-"),
                tax_class_id: facts.get(id).map(|f| f.tax_class_id).unwrap_or(0),
                amount: *amount,
            });
        }
        for f in &self.checkout.fees {
            if let Some(class) = f.tax_class_id {
                rest.push(TaxableAmount {
                    key: format!("fee:{}", f.id),
                    tax_class_id: class,
                    amount: f.cost,
                });
            }
        }
        rest.sort_by(|a, b| a.key.cmp(&b.key));
        groups.push((fallback, rest));

        // Every taxed amount by key: (as entered, excluding tax, including tax).
        let mut taxed: HashMap<String, (Money, Money, Money)> = HashMap::new();
        let mut taxes: Vec<TaxTotal> = Vec::new();
        if let Some(r) = rules {
            for (addr, amounts) in &groups {
                if amounts.is_empty() {
                    continue;
                }
                let location: Option<Location<'_>> = addr
                    .as_ref()
                    .filter(|a| !a.country_code.is_empty())
                    .map(|a| a.location());
                let result = compute_tax(r.tax, location, amounts, include, &cur)?;
                let mut entered_by_key: HashMap<&str, Money> = HashMap::new();
                for a in amounts {
                    *entered_by_key.entry(a.key.as_str()).or_default() += a.amount;
                }
                for lt in result.lines {
                    let entered = entered_by_key
                        .get(lt.key.as_str())
                        .copied()
                        .unwrap_or_default();
                    let e = taxed.entry(lt.key).or_default();
                    e.0 += entered;
                    e.1 += lt.amount_ex_tax;
                    e.2 += lt.amount_inc_tax;
                }
                for AppliedRate { name, amount, .. } in result.taxes {
                    match taxes.iter_mut().find(|t| t.name == name) {
                        Some(t) => t.amount += amount,
                        None => taxes.push(TaxTotal { name, amount }),
                    }
                }
            }
        }
        taxes.retain(|t| !t.amount.amount().is_zero());

        // 5. Totals. An amount nobody taxed counts as entered on both sides.
        let ex_inc = |key: &str, entered: Money| {
            taxed
                .get(key)
                .map(|(_, ex, inc)| (*ex, *inc))
                .unwrap_or((entered, entered))
        };
        let mut line_tax: BTreeMap<Uuid, Money> = BTreeMap::new();
        let (mut items_entered, mut items_ex, mut items_inc) =
            (Money::ZERO, Money::ZERO, Money::ZERO);
        for (k, (entered, ex, inc)) in &taxed {
            if let Some((id, _)) = k.split_once('@')
                && let Ok(id) = Uuid::parse_str(id)
            {
                *line_tax.entry(id).or_default() += *inc - *ex;
                items_entered += *entered;
                items_ex += *ex;
                items_inc += *inc;
            }
        }
        let (mut ship_ex, mut ship_inc, mut hand_ex, mut hand_inc) =
            (Money::ZERO, Money::ZERO, Money::ZERO, Money::ZERO);
        for c in &mut self.checkout.consignments {
            let (cost, handling) = c
                .selected_option
                .as_ref()
                .map(shipping_and_handling)
                .unwrap_or_default();
            (c.shipping_cost_ex_tax, c.shipping_cost_inc_tax) =
                ex_inc(&format!("shipping:{}", c.id), cost);
            (c.handling_cost_ex_tax, c.handling_cost_inc_tax) =
                ex_inc(&format!("handling:{}", c.id), handling);
            ship_ex += c.shipping_cost_ex_tax;
            ship_inc += c.shipping_cost_inc_tax;
            hand_ex += c.handling_cost_ex_tax;
            hand_inc += c.handling_cost_inc_tax;
        }
        let (mut fees_ex, mut fees_inc) = (Money::ZERO, Money::ZERO);
        for f in &mut self.checkout.fees {
            (f.cost_ex_tax, f.cost_inc_tax) = ex_inc(&format!("fee:{}", f.id), f.cost);
            fees_ex += f.cost_ex_tax;
            fees_inc += f.cost_inc_tax;
        }
        let tax_total: Money = taxes.iter().map(|t| t.amount).sum();
        let base = self.totals.base_amount;
        let items_net = self.totals.cart_amount;
        let cart_ex = items_net - items_entered + items_ex;
        let cart_inc = items_net - items_entered + items_inc;
        let subtotal_ex = base - items_entered + items_ex;
        let subtotal_inc = base - items_entered + items_inc;
        let grand_total = (cart_inc + ship_inc + hand_inc + fees_inc).max(Money::ZERO);
        self.checkout.totals = CheckoutTotals {
            subtotal_ex_tax: subtotal_ex,
            subtotal_inc_tax: subtotal_inc,
            shipping_cost_total_ex_tax: ship_ex,
            shipping_cost_total_inc_tax: ship_inc,
            handling_cost_total_ex_tax: hand_ex,
            handling_cost_total_inc_tax: hand_inc,
            fees_total_ex_tax: fees_ex,
            fees_total_inc_tax: fees_inc,
            tax_total,
            grand_total,
            cart_amount_ex_tax: cart_ex,
            cart_amount_inc_tax: cart_inc,
            taxes,
            line_tax,
        };
        Ok(())
    }

    /// Selects a shipping option, checking it against the consignment's current quotes.
    pub fn select_shipping_option(
        &mut self,
        consignment_id: &str,
        option_id: &str,
    ) -> Result<(), DomainError> {
        let c = self
            .checkout
            .consignments
            .iter_mut()
            .find(|c| c.id == consignment_id)
            .ok_or_else(|| {
                DomainError::not_found(format!("Consignment {consignment_id} does not exist."))
            })?;
        if c.pickup_method_id.is_some() {
            return Err(DomainError::field(
                "shipping_option_id",
                "A pickup consignment carries no shipping method.",
            ));
        }
        if !c.available_options.iter().any(|q| q.id == option_id) {
            let offered: Vec<&str> = c.available_options.iter().map(|q| q.id.as_str()).collect();
            return Err(DomainError::field(
                "shipping_option_id",
                if offered.is_empty() {
                    format!("No shipping options are available for consignment {consignment_id}.")
                } else {
                    format!(
                        "`{option_id}` is not a shipping option of consignment {consignment_id}; choose one of {}.",
                        offered.join(", ")
                    )
                },
            ));
        }
        c.selected_option_id = Some(option_id.to_string());
        Ok(())
    }
}

/// What a quote charges as shipping and as handling: handling the store does not show
/// separately is part of the shipping price.
pub fn shipping_and_handling(q: &ShippingQuote) -> (Money, Money) {
    if q.display_handling_separately {
        (q.cost, q.handling)
    } else {
        (q.cost + q.handling, Money::ZERO)
    }
}

/// What pricing needs to know of a cart line, indexed once per pricing run.
struct LineFacts {
    tax_class_id: i64,
    quantity: i64,
    unit_weight: Decimal,
    is_free_shipping: bool,
    fixed_shipping_price: Option<Money>,
}

fn merge_items(into: &mut Vec<ConsignmentItem>, add: &[ConsignmentItem]) {
    for a in add {
        match into.iter_mut().find(|x| x.item_id == a.item_id) {
            Some(x) => x.quantity += a.quantity,
            None => into.push(a.clone()),
        }
    }
}

fn merged(items: &[ConsignmentItem]) -> Vec<ConsignmentItem> {
    let mut out = Vec::new();
    merge_items(&mut out, items);
    out
}

fn validate_fee(f: &FeeSpec, prefix: &str, cur: &Currency) -> Result<(), DomainError> {
    let check_len = |v: &str, field: &str, max: usize| {
        let n = v.trim().chars().count();
        if n == 0 || n > max {
            Err(DomainError::field(
                format!("{prefix}.{field}"),
                format!("`{field}` must be 1 to {max} characters."),
            ))
        } else {
            Ok(())
        }
    };
    check_len(&f.name, "name", 50)?;
    check_len(&f.display_name, "display_name", 200)?;
    check_len(&f.source, "source", 50)?;
    if f.cost.is_negative() {
        return Err(DomainError::field(
            format!("{prefix}.cost"),
            "A fee cannot be negative.",
        ));
    }
    if f.cost.amount() > Decimal::from(1_000_000_000i64) * cur.exchange_rate.max(Decimal::ONE) {
        return Err(DomainError::field(
            format!("{prefix}.cost"),
            "The fee is too large.",
        ));
    }
    Ok(())
}

/// Splits `total` over `weights` in whole minor units: shares proportional to the
/// weights, the leftover units to the largest remainders (earliest first on ties).
/// The shares always add up to `total` exactly.
pub fn allocate(total: Money, weights: &[Money], cur: &Currency) -> Vec<Money> {
    if weights.is_empty() {
        return Vec::new();
    }
    let unit = Decimal::new(1, cur.decimal_places);
    let units_total = (cur.round(total).amount() / unit).trunc();
    let weight_sum: Decimal = weights.iter().map(|w| w.amount().max(Decimal::ZERO)).sum();
    if weight_sum.is_zero() {
        let mut out = vec![Money::ZERO; weights.len()];
        out[0] = cur.round(total);
        return out;
    }
    let mut shares: Vec<(usize, Decimal, Decimal)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = units_total * w.amount().max(Decimal::ZERO) / weight_sum;
            (i, exact.trunc(), exact - exact.trunc())
        })
        .collect();
    let assigned: Decimal = shares.iter().map(|s| s.1).sum();
    let mut leftover = (units_total - assigned).trunc();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].2.cmp(&shares[a].2).then(a.cmp(&b)));
    for idx in order {
        if leftover <= Decimal::ZERO {
            break;
        }
        shares[idx].1 += Decimal::ONE;
        leftover -= Decimal::ONE;
    }
    shares
        .into_iter()
        .map(|(_, units, _)| Money::new(units * unit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::new("USD", 2, Decimal::ONE)
    }

    proptest! {
        /// Allocation always adds up to the whole, never goes negative, and follows the weights.
        #[test]
        fn allocation_adds_up(total_cents in 0i64..10_000_000, weights in proptest::collection::vec(0i64..1_000_000, 1..12)) {
            let cur = usd();
            let total = Money::new(Decimal::new(total_cents, 2));
            let w: Vec<Money> = weights.iter().map(|c| Money::new(Decimal::new(*c, 2))).collect();
            let shares = allocate(total, &w, &cur);
            prop_assert_eq!(shares.len(), w.len());
            prop_assert_eq!(shares.iter().copied().sum::<Money>(), total);
            for s in &shares {
                prop_assert!(!s.is_negative());
                prop_assert!(s.amount().scale() <= 2);
            }
            let sum: i64 = weights.iter().sum();
            if sum > 0 {
                for (s, wt) in shares.iter().zip(&weights) {
                    // Within one cent of the exact proportional share.
                    let exact = Decimal::new(total_cents, 2) * Decimal::from(*wt) / Decimal::from(sum);
                    prop_assert!((s.amount() - exact).abs() < Decimal::new(1, 2));
                }
            }
        }

        /// Zero-decimal currencies allocate whole units.
        #[test]
        fn allocation_in_yen(total in 0i64..1_000_000, weights in proptest::collection::vec(1i64..100_000, 1..8)) {
            let jpy = Currency::new("JPY", 0, Decimal::from(150));
            let w: Vec<Money> = weights.iter().map(|c| Money::new(Decimal::from(*c))).collect();
            let shares = allocate(Money::new(Decimal::from(total)), &w, &jpy);
            prop_assert_eq!(shares.iter().copied().sum::<Money>(), Money::new(Decimal::from(total)));
            prop_assert!(shares.iter().all(|s| s.amount().fract().is_zero()));
        }
    }

    #[test]
    fn allocation_with_no_weight_goes_to_the_first() {
        let shares = allocate(
            Money::new(Decimal::new(500, 2)),
            &[Money::ZERO, Money::ZERO],
            &usd(),
        );
        assert_eq!(shares, vec![Money::new(Decimal::new(500, 2)), Money::ZERO]);
        assert!(allocate(Money::ZERO, &[], &usd()).is_empty());
    }
}
