//! The checkout: a cart plus billing address, consignments (where its physical items
//! ship), fees, manual discounts and a customer message; and the pricing engine that
//! turns all of it into every total, per line and per consignment.
//!
//! Pricing order: lines (catalog or override prices) → manual discounts, allocated to
//! lines → shipping quotes per consignment → tax per destination → totals. Amounts are
//! rounded to the currency at each named step and allocations are made in whole minor
//! units, so every part adds up to its whole exactly.

use super::address::{Address, Location};
use super::cart::{Cart, LineDiscount};
use super::catalog::ProductType;
use super::discount::{
    COUPON_DISCOUNT_ID, CodeOffer, DiscountContext, DiscountLine, ItemDiscounts, ShipmentCost,
    Source, discount_items, settle_shipping,
};
use super::error::DomainError;
use super::money::{Currency, Money};
use super::promotion::{ItemFacts, Promotion};
use super::shipping::{ShipmentRequest, ShippableItem, ShippingConfig, ShippingQuote, quotes};
use super::tax::{AppliedRate, RateCharge, TaxConfig, TaxableAmount, compute_tax};
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
    /// Coupon codes on the checkout, as the store spells them, in the order applied.
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    /// What each code took, as last priced (same order as `coupon_codes`).
    #[serde(default)]
    pub coupons: Vec<AppliedCoupon>,
    /// Automatic promotions that took something: (promotion id, amount off items).
    #[serde(default)]
    pub promotion_discounts: Vec<(i64, Money)>,
    #[serde(default)]
    pub banners: Vec<BannerRecord>,
    /// Gift certificates offered as payment, in the order applied.
    #[serde(default)]
    pub gift_certificates: Vec<AppliedGiftCertificate>,
    /// The customer's store credit (store default currency) when they chose to use it.
    #[serde(default)]
    pub store_credit: Option<Money>,
    /// What is left to pay after gift certificates and store credit, as last priced.
    #[serde(default)]
    pub payments: StoredValueTotals,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedCoupon {
    pub code: String,
    /// V2 coupon id, or the promotion's id for a promotion code.
    pub id: i64,
    pub coupon_type: String,
    pub display_name: String,
    /// Off items and shipping together.
    pub discounted_amount: Money,
    /// Why the code currently takes nothing, if it does not.
    pub not_applied: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BannerRecord {
    pub promotion_id: i64,
    pub kind: String,
    pub pages: Vec<String>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppliedGiftCertificate {
    pub id: i64,
    pub code: String,
    /// Balance when applied, in the cart's currency.
    pub balance: Money,
    pub purchase_date: i64,
    /// What this certificate pays of the order, as last priced.
    #[serde(default)]
    pub used: Money,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredValueTotals {
    pub gift_certificates: Money,
    pub store_credit: Money,
    pub outstanding_balance: Money,
}

/// The store's offers pricing weighs: automatic promotions and the checkout's codes.
#[derive(Clone, Debug, Default)]
pub struct Offers<'a> {
    pub automatic: &'a [Promotion],
    /// The checkout's codes resolved, in the order applied (unknown codes left out).
    pub codes: Vec<CodeOffer<'a>>,
    pub now: i64,
    pub default_currency_code: &'a str,
    pub customer_group_id: i64,
    pub customer_order_count: i64,
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
    /// Off this consignment's shipping, by code.
    #[serde(default)]
    pub coupon_discounts: Vec<(String, Money)>,
    /// Automatic promotions that discounted this consignment's shipping.
    #[serde(default)]
    pub promotion_ids: Vec<i64>,
}

impl Consignment {
    /// A consignment of `items` to `address` (or to the pickup location
    /// `pickup_method_id`), with no shipping option chosen yet.
    pub fn new(
        address: Address,
        items: Vec<ConsignmentItem>,
        pickup_method_id: Option<i64>,
    ) -> Consignment {
        Consignment {
            id: short_id(),
            address: AddressRecord {
                id: short_id(),
                address,
            },
            items,
            pickup_method_id,
            selected_option_id: None,
            available_options: Vec::new(),
            selected_option: None,
            shipping_cost_ex_tax: Money::ZERO,
            shipping_cost_inc_tax: Money::ZERO,
            handling_cost_ex_tax: Money::ZERO,
            handling_cost_inc_tax: Money::ZERO,
            coupon_discounts: Vec::new(),
            promotion_ids: Vec::new(),
        }
    }
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
    /// Amounts off one consignment's shipping each (by consignment id): what an edited
    /// order keeps of the shipping discounts it was placed with.
    #[serde(default)]
    pub shipping: Vec<(String, Money)>,
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
    /// For lines whose units go to several places: the tax on each place's units, by
    /// `{line id}@{consignment id}` (`{line id}@-` for units that ship nowhere). They add
    /// up to the line's `line_tax`; an order lists each place's units as a product.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub part_tax: BTreeMap<String, Money>,
    /// What each rate charged each taxed amount, by the key it was taxed under
    /// (`{line id}@{consignment id}`, `{line id}@-`, `shipping:{consignment id}`,
    /// `handling:{consignment id}`, `fee:{fee id}`); together exactly `tax_total`. An
    /// order lists its taxes from it. Empty in carts priced before it was kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_tax: BTreeMap<String, Vec<RateCharge>>,
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
                c.pickup_method_id == spec.pickup_method_id && c.address.address.same_as(&address)
            });
            match same {
                Some(c) => {
                    c.address.address.should_save |= address.should_save;
                    merge_items(&mut c.items, &spec.items)
                }
                None => next.push(Consignment::new(
                    address,
                    merged(&spec.items),
                    spec.pickup_method_id,
                )),
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
            shipping: Vec::new(),
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
        self.discount_lines()
            .iter()
            .map(|l| (l.id, l.value))
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

    /// The whole pricing engine without promotions or coupons.
    pub fn price(&mut self, rules: Option<&PricingRules>) -> Result<(), DomainError> {
        self.price_with(rules, &Offers::default())
    }

    /// The lines as the discount engine sees them.
    pub fn discount_lines(&self) -> Vec<DiscountLine<'_>> {
        self.line_items
            .iter()
            .map(|l| DiscountLine {
                id: l.id,
                facts: Some(ItemFacts {
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    brand_id: l.brand_id,
                    category_ids: &l.category_ids,
                }),
                quantity: l.quantity,
                value: l.pricing.extended_sale_price,
                on_sale: l.on_sale,
            })
            .chain(self.custom_items.iter().map(|c| DiscountLine {
                id: c.id,
                facts: None,
                quantity: c.quantity,
                value: c.extended_list_price,
                on_sale: false,
            }))
            .collect()
    }

    /// What the discount engine needs to know of the shopper and the shipments.
    pub fn discount_context<'a>(&'a self, offers: &Offers<'a>) -> DiscountContext<'a> {
        let mut destinations: Vec<String> = self
            .checkout
            .consignments
            .iter()
            .filter(|c| c.pickup_method_id.is_none())
            .map(|c| c.address.address.country_code.to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        destinations.dedup();
        DiscountContext {
            now: offers.now,
            currency: &self.currency,
            default_currency_code: if offers.default_currency_code.is_empty() {
                &self.currency.code
            } else {
                offers.default_currency_code
            },
            channel_id: self.channel_id,
            customer_group_id: offers.customer_group_id,
            customer_order_count: offers.customer_order_count,
            destinations,
            selected_methods: self
                .checkout
                .consignments
                .iter()
                .filter_map(|c| c.selected_option.as_ref().map(|q| q.description.clone()))
                .collect(),
        }
    }

    /// The whole pricing engine: lines, promotions and coupons, manual discounts,
    /// shipping and its discounts, tax, every total, and what stored value pays.
    /// Without rules (no checkout state yet) there is no shipping and no tax.
    pub fn price_with(
        &mut self,
        rules: Option<&PricingRules>,
        offers: &Offers,
    ) -> Result<(), DomainError> {
        self.reprice();
        self.reconcile_consignments();
        let cur = self.currency.clone();

        // 1. Promotions and coupons onto lines — unless the merchant set manual
        //    discounts, which replace them (as BigCommerce's discounts endpoint does).
        let manual_set = !self.checkout.manual_discounts.cart_level.is_empty()
            || !self.checkout.manual_discounts.per_line.is_empty();
        let offered: ItemDiscounts = if manual_set {
            ItemDiscounts::default()
        } else {
            let ctx = self.discount_context(offers);
            discount_items(
                &self.discount_lines(),
                offers.automatic,
                &offers.codes,
                &ctx,
            )
        };
        let lines = self.discountable_lines();
        let cart_level: Money = self
            .checkout
            .manual_discounts
            .cart_level
            .iter()
            .copied()
            .sum();
        let mut manual: HashMap<Uuid, Money> = HashMap::new();
        for (id, m) in &self.checkout.manual_discounts.per_line {
            *manual.entry(*id).or_default() += *m;
        }
        let remaining: Vec<Money> = lines
            .iter()
            .map(|(id, v)| (*v - manual.get(id).copied().unwrap_or_default()).max(Money::ZERO))
            .collect();
        let cart_level = cart_level.min(remaining.iter().copied().sum());
        for ((id, _), share) in lines.iter().zip(allocate(cart_level, &remaining, &cur)) {
            *manual.entry(*id).or_default() += share;
        }
        let manual_total: Money = manual.values().copied().sum();
        let mut discount: HashMap<Uuid, Money> = manual.clone();
        for (id, _) in &lines {
            let offered_here = offered.line_total(id);
            if offered_here > Money::ZERO {
                *discount.entry(*id).or_default() += offered_here;
            }
        }
        let all_discounts: Money = discount.values().copied().sum();
        for l in &mut self.line_items {
            l.pricing.discount_amount = discount.get(&l.id).copied().unwrap_or_default();
            l.pricing.coupon_amount = offered.line_coupon_total(&l.id);
            l.pricing.coupon_codes = offered.line_coupons(&l.id);
            l.pricing.discounts = line_discounts(
                offered
                    .per_line
                    .get(&l.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                manual.get(&l.id).copied().unwrap_or_default(),
            );
        }
        for c in &mut self.custom_items {
            c.discount_amount = discount.get(&c.id).copied().unwrap_or_default();
            c.coupon_codes = offered.line_coupons(&c.id);
        }
        self.totals.manual_discount_amount = manual_total;
        self.totals.discount_amount = manual_total + offered.order_level;
        self.totals.cart_amount = (self.totals.base_amount - all_discounts).max(Money::ZERO);
        self.checkout.promotion_discounts = offered.promotions.clone();
        self.checkout.banners = offered
            .banners
            .iter()
            .map(|b| BannerRecord {
                promotion_id: b.promotion_id,
                kind: b.kind.to_string(),
                pages: b.pages.clone(),
                text: b.text.clone(),
            })
            .collect();

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
            // A choice the consignment's quotes no longer offer is hidden, not
            // forgotten: it comes back when the option does (say, a coupon removed).
        }

        // 3b. Shipping discounts (free shipping, amounts off) on the chosen options.
        let shipments: Vec<Option<ShipmentCost<'_>>> = self
            .checkout
            .consignments
            .iter()
            .map(|c| {
                c.selected_option.as_ref().map(|q| ShipmentCost {
                    zone_id: q.zone_id,
                    method_name: &q.description,
                    cost: shipping_and_handling(q).0,
                })
            })
            .collect();
        let shipping_off = settle_shipping(&offered.shipping, &shipments, &cur);
        let mut code_shipping: HashMap<String, Money> = HashMap::new();
        let mut shipping_discount: Vec<Money> = Vec::new();
        for (c, taken) in self.checkout.consignments.iter_mut().zip(&shipping_off) {
            c.coupon_discounts.clear();
            c.promotion_ids.clear();
            for (source, amount) in taken {
                match source {
                    Source::Code(code) => {
                        c.coupon_discounts.push((code.clone(), *amount));
                        *code_shipping.entry(code.clone()).or_default() += *amount;
                    }
                    Source::Promotion(id) => {
                        if !c.promotion_ids.contains(id) {
                            c.promotion_ids.push(*id);
                        }
                    }
                }
            }
            let offered_off: Money = taken.iter().map(|t| t.1).sum();
            let cost = c
                .selected_option
                .as_ref()
                .map(|q| shipping_and_handling(q).0)
                .unwrap_or_default();
            let set_off: Money = self
                .checkout
                .manual_discounts
                .shipping
                .iter()
                .filter(|(id, _)| *id == c.id)
                .map(|(_, m)| *m)
                .sum();
            shipping_discount.push(offered_off + set_off.min(cost - offered_off).max(Money::ZERO));
        }
        self.checkout.coupons = offered
            .codes
            .iter()
            .map(|r| {
                let total = r.item_amount + code_shipping.get(&r.code).copied().unwrap_or_default();
                AppliedCoupon {
                    code: r.code.clone(),
                    id: r.id,
                    coupon_type: r.coupon_type.clone(),
                    display_name: r.display_name.clone(),
                    discounted_amount: total,
                    not_applied: r.not_applied.clone(),
                }
            })
            .collect();

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
        // Taxable item amounts per destination (one list per consignment, then the
        // units that ship nowhere), from the given per-line values.
        let item_amounts = |values: &HashMap<Uuid, Money>| -> Vec<Vec<TaxableAmount>> {
            let mut share: HashMap<(Uuid, Option<usize>), Money> = HashMap::new();
            for (id, parts) in &placement {
                let weights: Vec<Money> = parts
                    .iter()
                    .map(|p| Money::new(Decimal::from(p.1)))
                    .collect();
                let value = values.get(id).copied().unwrap_or_default();
                for (part, amount) in parts.iter().zip(allocate(value, &weights, &cur)) {
                    share.insert((*id, part.0), amount);
                }
            }
            let class = |id: &Uuid| facts.get(id).map(|f| f.tax_class_id).unwrap_or(0);
            let mut out: Vec<Vec<TaxableAmount>> = self
                .checkout
                .consignments
                .iter()
                .enumerate()
                .map(|(ci, c)| {
                    c.items
                        .iter()
                        .map(|it| TaxableAmount {
                            key: format!("{}@{}", it.item_id, c.id),
                            tax_class_id: class(&it.item_id),
                            amount: share
                                .get(&(it.item_id, Some(ci)))
                                .copied()
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .collect();
            let mut rest: Vec<TaxableAmount> = share
                .iter()
                .filter(|((_, part), _)| part.is_none())
                .map(|((id, _), amount)| TaxableAmount {
                    key: format!("{id}@-"),
                    tax_class_id: class(id),
                    amount: *amount,
                })
                .collect();
            rest.sort_by(|a, b| a.key.cmp(&b.key));
            out.push(rest);
            out
        };
        let mut destinations: Vec<Option<Address>> = self
            .checkout
            .consignments
            .iter()
            .map(|c| Some(c.address.address.clone()))
            .collect();
        destinations.push(fallback);
        let mut amounts_by_destination = item_amounts(&net);
        for (ci, c) in self.checkout.consignments.iter().enumerate() {
            if let Some(q) = &c.selected_option
                && q.tax_class_id.is_some()
                && let Some(class) = rules.map(|r| r.shipping_tax_class_id)
                && let Some(amounts) = amounts_by_destination.get_mut(ci)
            {
                let (cost, handling) = shipping_and_handling(q);
                let cost = cost - shipping_discount.get(ci).copied().unwrap_or_default();
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
        }
        if let Some(rest) = amounts_by_destination.last_mut() {
            for f in &self.checkout.fees {
                if let Some(class) = f.tax_class_id {
                    rest.push(TaxableAmount {
                        key: format!("fee:{}", f.id),
                        tax_class_id: class,
                        amount: f.cost,
                    });
                }
            }
        }
        let groups: Vec<(Option<Address>, Vec<TaxableAmount>)> = destinations
            .iter()
            .cloned()
            .zip(amounts_by_destination)
            .collect();

        // With prices entered including tax, the subtotal excluding tax is that of the
        // undiscounted lines: tax their full values too (only needed when discounted).
        let mut gross_ex_correction = Money::ZERO;
        if let Some(r) = rules
            && include
            && all_discounts > Money::ZERO
        {
            let gross: HashMap<Uuid, Money> = lines.iter().copied().collect();
            for (addr, amounts) in destinations.iter().zip(item_amounts(&gross)) {
                if amounts.is_empty() {
                    continue;
                }
                let location = addr
                    .as_ref()
                    .filter(|a| !a.country_code.is_empty())
                    .map(|a| a.location());
                let result = compute_tax(r.tax, location, &amounts, include, &cur)?;
                for lt in result.lines {
                    // Entered minus excluding-tax: the tax inside the full value.
                    gross_ex_correction += lt.amount_inc_tax - lt.amount_ex_tax;
                }
            }
        }

        // Every taxed amount by key: (as entered, excluding tax, including tax).
        let mut taxed: HashMap<String, (Money, Money, Money)> = HashMap::new();
        let mut taxes: Vec<TaxTotal> = Vec::new();
        let mut rate_tax: BTreeMap<String, Vec<RateCharge>> = BTreeMap::new();
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
                for (lt, a) in result.lines.into_iter().zip(amounts) {
                    let charges = RateCharge::of(r.tax, a.tax_class_id, &lt.rates);
                    if !charges.is_empty() {
                        rate_tax.entry(lt.key.clone()).or_default().extend(charges);
                    }
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
        let mut part_tax: BTreeMap<String, Money> = BTreeMap::new();
        let (mut items_entered, mut items_ex, mut items_inc) =
            (Money::ZERO, Money::ZERO, Money::ZERO);
        for (k, (entered, ex, inc)) in &taxed {
            if let Some((id, _)) = k.split_once('@')
                && let Ok(id) = Uuid::parse_str(id)
            {
                *line_tax.entry(id).or_default() += *inc - *ex;
                if placement.get(&id).is_some_and(|parts| parts.len() > 1) {
                    part_tax.insert(k.clone(), *inc - *ex);
                }
                items_entered += *entered;
                items_ex += *ex;
                items_inc += *inc;
            }
        }
        let (mut ship_ex, mut ship_inc, mut hand_ex, mut hand_inc) =
            (Money::ZERO, Money::ZERO, Money::ZERO, Money::ZERO);
        for (ci, c) in self.checkout.consignments.iter_mut().enumerate() {
            let (cost, handling) = c
                .selected_option
                .as_ref()
                .map(shipping_and_handling)
                .unwrap_or_default();
            let cost = cost - shipping_discount.get(ci).copied().unwrap_or_default();
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
        let subtotal_ex = if gross_ex_correction > Money::ZERO {
            base - gross_ex_correction
        } else {
            base - items_entered + items_ex
        };
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
            part_tax,
            rate_tax,
        };

        // 6. Stored value: gift certificates first, in the order applied, then store credit.
        let mut due = grand_total;
        let mut by_gift = Money::ZERO;
        for g in &mut self.checkout.gift_certificates {
            g.used = g.balance.min(due).max(Money::ZERO);
            due -= g.used;
            by_gift += g.used;
        }
        let by_credit = self
            .checkout
            .store_credit
            .map(|c| cur.convert(c).min(due).max(Money::ZERO))
            .unwrap_or_default();
        due -= by_credit;
        self.checkout.payments = StoredValueTotals {
            gift_certificates: by_gift,
            store_credit: by_credit,
            outstanding_balance: due,
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

/// A line's `discounts` list: each promotion by id, coupons together, manual discounts.
fn line_discounts(offered: &[(Source, Money)], manual: Money) -> Vec<LineDiscount> {
    let mut out: Vec<LineDiscount> = Vec::new();
    for (source, amount) in offered {
        let id = match source {
            Source::Promotion(id) => id.to_string(),
            Source::Code(_) => COUPON_DISCOUNT_ID.to_string(),
        };
        match out.iter_mut().find(|d| d.id == id) {
            Some(d) => d.amount += *amount,
            None => out.push(LineDiscount {
                id,
                amount: *amount,
            }),
        }
    }
    if manual > Money::ZERO {
        out.push(LineDiscount {
            id: MANUAL_DISCOUNT_ID.to_string(),
            amount: manual,
        });
    }
    out
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
    whole_units(units_total, weights, cur.decimal_places)
        .unwrap_or_else(|| allocate_in_decimals(total, weights, cur))
}

/// `allocate` in decimal arithmetic, for weights that do not fit `whole_units`.
fn allocate_in_decimals(total: Money, weights: &[Money], cur: &Currency) -> Vec<Money> {
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

/// `allocate` in integers, which a big cart's many lines need: the weights as whole
/// multiples of their finest decimal place, each share `units × weight / sum` with its
/// remainder, the units left over going to the largest remainders (ties to the first).
/// Exact where decimal division rounds at 28 digits. None when the weights sum to zero
/// or a product does not fit 128 bits; `allocate` then works in decimals.
fn whole_units(units_total: Decimal, weights: &[Money], places: u32) -> Option<Vec<Money>> {
    let scale = weights.iter().map(|w| w.amount().scale()).max()?;
    let ints = weights
        .iter()
        .map(|w| {
            let w = w.amount().max(Decimal::ZERO);
            w.mantissa()
                .checked_mul(10i128.checked_pow(scale - w.scale())?)
        })
        .collect::<Option<Vec<i128>>>()?;
    let sum = ints.iter().try_fold(0i128, |s, w| s.checked_add(*w))?;
    if sum == 0 {
        return None;
    }
    let total = units_total.mantissa() / 10i128.checked_pow(units_total.scale())?;
    let mut shares = Vec::with_capacity(ints.len());
    let mut remainders = Vec::with_capacity(ints.len());
    for w in &ints {
        let exact = total.checked_mul(*w)?;
        shares.push(exact / sum);
        remainders.push(exact % sum);
    }
    let mut leftover = total - shares.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..ints.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for idx in order {
        if leftover <= 0 {
            break;
        }
        shares[idx] += 1;
        leftover -= 1;
    }
    shares
        .into_iter()
        .map(|u| {
            Decimal::try_from_i128_with_scale(u, places)
                .ok()
                .map(Money::new)
        })
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
        /// The integer way and the decimal way give the same shares, weights with four
        /// decimal places and equal weights (ties) included.
        fn whole_units_agree_with_decimals(total_cents in 0i64..10_000_000, weights in proptest::collection::vec(prop_oneof![0i64..4, 0i64..100_000_000], 1..40), scale in 0u32..5) {
            let cur = usd();
            let w: Vec<Money> = weights.iter().map(|c| Money::new(Decimal::new(*c, scale))).collect();
            let units = Decimal::from(total_cents);
            if let Some(ints) = whole_units(units, &w, cur.decimal_places) {
                let total = Money::new(Decimal::new(total_cents, 2));
                prop_assert_eq!(ints, allocate_in_decimals(total, &w, &cur));
            } else {
                prop_assert!(weights.iter().all(|c| *c == 0));
            }
        }

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
