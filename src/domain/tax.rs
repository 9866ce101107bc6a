//! Basic (manual) tax: the store's tax classes, zones, rates and settings, and the pure
//! engine the checkout calls to tax its amounts.
//!
//! # The model (after BigCommerce's `tax_classes.v3`, `tax_rates_zones.v3`, `tax_settings.v3`)
//!
//! - **Tax classes** say *what* is taxed. Class `0`, "Default Tax Class", is built in: every
//!   store has it, it cannot be renamed or deleted (the class update schema starts ids at 1),
//!   and products default to it. Classes created through the API count from 1.
//! - **Tax zones** say *where*. Zone `1` is the built-in default zone: it has no locations,
//!   cannot be deleted, and applies to a destination no other enabled zone contains. Zones
//!   created through the API count from 2.
//! - **Tax rates** say *how much*: a rate belongs to one zone and carries a percentage per
//!   class (`class_rates`). A class the rate does not list is not taxed by that rate
//!   (as in the control panel, where each class's rate starts at 0).
//! - **Tax settings**: the spec's global settings plus three Kassa additions (`tax_address`,
//!   `shipping_tax_class_id`, `gift_wrapping_tax_class_id`).
//!
//! # Which zone applies
//!
//! Among the *enabled* zones, a zone contains a destination when one of its locations has
//! the destination's country and, if the location lists postal codes, one of them matches
//! the postal code (exactly, ignoring case and spaces, or as a prefix when it ends in `*`),
//! and, if it lists subdivisions, one of them is the destination's state. The most
//! specific match wins: a postal-code match beats a subdivision match beats a country-only
//! match; equally specific zones go to the lowest id. Zones that target customer groups
//! only apply to those groups (group 0 is guests and customers without a group;
//! [`compute_tax`] taxes as group 0, [`compute_tax_for_group`] takes the group). With a
//! destination but no containing zone, the default zone applies (it has no rates unless
//! the merchant gave it some). With no destination at all, nothing is taxed.
//!
//! # Several rates in a zone
//!
//! Every enabled rate of the zone applies. `priority` is BigCommerce's compounding switch:
//! rates with the same priority add up; a rate with a higher priority is charged on the
//! amount plus the tax of all lower priorities (e.g. 5% at priority 1 and 10% at priority 2
//! on 100.00 give 5.00 + 10.50).
//!
//! # Prices that include tax
//!
//! With exclusive prices, tax = amount × rate. With inclusive prices, tax = amount −
//! amount / (1 + rate), and the amount stays what the shopper pays — unless the setting
//! `should_subtract_store_tax` is on (its default): then the store zone's
//! (`store_tax_zone_id`) tax is taken out first, and the shopper's zone taxes what is left,
//! so the price without tax is the same everywhere and the price with tax follows the
//! shopper's rate. When the shopper is in the store zone both readings agree.
//!
//! # Rounding (`rounding_strategy`)
//!
//! - `RATE_ROUNDING` (default, "per line"): each amount's tax is rounded to the currency's
//!   places; the total is the sum of the rounded line taxes.
//! - `NO_ROUNDING` ("per order"): taxes are summed unrounded, the order total is rounded
//!   once, and that total is shared out to the lines.
//!
//! Either way, whenever a rounded total is split (a total over lines, a line's tax over its
//! rates) the split is by largest remainder: every share is first rounded down, and the
//! units left over go to the largest remainders, earlier entries first on ties. So line
//! taxes always add up to `total_tax` exactly, and so do the per-rate totals. Half-up or
//! half-even follows the currency.

use super::address::Location;
use super::error::DomainError;
use super::money::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The built-in tax class every store has.
pub const DEFAULT_TAX_CLASS_ID: i64 = 0;
pub const DEFAULT_TAX_CLASS_NAME: &str = "Default Tax Class";
/// The built-in zone that applies when no other zone contains the destination.
pub const DEFAULT_TAX_ZONE_ID: i64 = 1;
pub const DEFAULT_TAX_ZONE_NAME: &str = "Default Tax Zone";
/// The customer group of guests and of customers without a group.
pub const GUEST_CUSTOMER_GROUP: i64 = 0;
/// At most this many rate percent (a guard against typing 725 for 7.25).
pub const MAX_RATE_PERCENT: i64 = 100;

// ---------- configuration ----------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxClass {
    pub id: i64,
    pub name: String,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

impl TaxClass {
    pub fn default_class() -> Self {
        TaxClass {
            id: DEFAULT_TAX_CLASS_ID,
            name: DEFAULT_TAX_CLASS_NAME.to_string(),
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// How prices show to shoppers matched with a zone (display only; tax is computed the same).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePriceDisplay {
    pub show_inclusive: bool,
    #[serde(default)]
    pub show_both_on_detail_view: bool,
    #[serde(default)]
    pub show_both_on_list_view: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneLocation {
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// Subdivision codes without the country prefix (`CA`, `NSW`), upper case.
    #[serde(default)]
    pub subdivision_codes: Vec<String>,
    #[serde(default)]
    pub postal_codes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopperTargetSettings {
    #[serde(default)]
    pub locations: Vec<ZoneLocation>,
    /// Empty: every shopper.
    #[serde(default)]
    pub customer_groups: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxZone {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    #[serde(default)]
    pub price_display_settings: ZonePriceDisplay,
    #[serde(default)]
    pub shopper_target_settings: ShopperTargetSettings,
}

impl TaxZone {
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_TAX_ZONE_ID
    }

    /// The default zone as a store has it before anyone changes it.
    pub fn default_zone() -> Self {
        TaxZone {
            id: DEFAULT_TAX_ZONE_ID,
            name: DEFAULT_TAX_ZONE_NAME.to_string(),
            enabled: true,
            price_display_settings: ZonePriceDisplay::default(),
            shopper_target_settings: ShopperTargetSettings::default(),
        }
    }

    fn targets_group(&self, group: i64) -> bool {
        let groups = &self.shopper_target_settings.customer_groups;
        groups.is_empty() || groups.contains(&group)
    }

    /// How specifically this zone contains `to`: 3 postal code, 2 subdivision, 1 country,
    /// `None` when it does not.
    pub fn specificity(&self, to: &Location<'_>) -> Option<u8> {
        let country = to.country_code.trim();
        let state = subdivision(country, to.state_code);
        let postal = postal_key(to.postal_code);
        self.shopper_target_settings
            .locations
            .iter()
            .filter(|l| l.country_code.eq_ignore_ascii_case(country))
            .filter_map(|l| {
                let state_ok = l.subdivision_codes.is_empty()
                    || l.subdivision_codes
                        .iter()
                        .any(|s| subdivision(country, s) == state);
                let postal_ok = l.postal_codes.is_empty()
                    || (!postal.is_empty()
                        && l.postal_codes.iter().any(|p| postal_matches(p, &postal)));
                if !(state_ok && postal_ok) {
                    None
                } else if !l.postal_codes.is_empty() {
                    Some(3)
                } else if !l.subdivision_codes.is_empty() {
                    Some(2)
                } else {
                    Some(1)
                }
            })
            .max()
    }
}

/// `US-CA`, `ca` and `CA` all read as `CA` for country `US`.
fn subdivision(country: &str, code: &str) -> String {
    let code = code.trim().to_ascii_uppercase();
    let prefix = format!("{}-", country.trim().to_ascii_uppercase());
    match code.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => code,
    }
}

fn postal_key(p: &str) -> String {
    p.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn postal_matches(pattern: &str, postal: &str) -> bool {
    let pattern = postal_key(pattern);
    match pattern.strip_suffix('*') {
        Some(prefix) => postal.starts_with(prefix),
        None => pattern == postal,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRate {
    pub tax_class_id: i64,
    /// Percent: 7.25 means 7.25%.
    pub rate: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// Same priority adds up; a higher priority compounds on the lower ones.
    pub priority: i64,
    pub class_rates: Vec<ClassRate>,
    pub tax_zone_id: i64,
}

impl TaxRate {
    /// This rate's percentage for a class (0 when the rate does not list it).
    pub fn percent_for(&self, tax_class_id: i64) -> Decimal {
        self.class_rates
            .iter()
            .find(|c| c.tax_class_id == tax_class_id)
            .map(|c| c.rate)
            .unwrap_or(Decimal::ZERO)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PriceDisplayStrategy {
    #[default]
    Zone,
    Inclusive,
    Exclusive,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalPriceDisplay {
    #[serde(default)]
    pub control_panel_price_display_strategy: PriceDisplayStrategy,
    #[serde(default)]
    pub invoice_price_display_strategy: PriceDisplayStrategy,
}

/// What happens when a tax provider fails. Kassa has no providers (basic tax only), so it
/// is stored and reported, and never needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FallbackStrategy {
    #[default]
    Fixed,
    Basic,
    Disable,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentSubmissionStrategy {
    #[default]
    OnPaymentCapture,
    OnOrderCreation,
}

/// `RATE_ROUNDING`: round per line (default). `NO_ROUNDING`: round the order's total once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaxRoundingStrategy {
    NoRounding,
    #[default]
    RateRounding,
}

/// Which of the checkout's addresses is the tax destination (Kassa addition).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaxAddress {
    #[default]
    Shipping,
    Billing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSettings {
    /// Mirrors the store setting `prices_include_tax` (the service keeps them together).
    #[serde(default)]
    pub tax_entered_with_prices: bool,
    #[serde(default)]
    pub price_display_settings: GlobalPriceDisplay,
    #[serde(default)]
    pub fallback_strategy: FallbackStrategy,
    #[serde(default = "yes")]
    pub should_subtract_store_tax: bool,
    #[serde(default)]
    pub should_use_geolocation_to_determine_guest_shopper_tax_zone: bool,
    #[serde(default = "default_zone_id")]
    pub guest_shopper_tax_zone_id: i64,
    #[serde(default = "default_zone_id")]
    pub store_tax_zone_id: i64,
    #[serde(default)]
    pub document_submission_strategy: DocumentSubmissionStrategy,
    #[serde(default)]
    pub rounding_strategy: TaxRoundingStrategy,
    /// Kassa: which address decides the zone.
    #[serde(default)]
    pub tax_address: TaxAddress,
    /// Kassa: the class shipping and handling costs are taxed in.
    #[serde(default)]
    pub shipping_tax_class_id: i64,
    /// Kassa: the class gift wrapping is taxed in.
    #[serde(default)]
    pub gift_wrapping_tax_class_id: i64,
}

fn yes() -> bool {
    true
}

fn default_zone_id() -> i64 {
    DEFAULT_TAX_ZONE_ID
}

impl Default for TaxSettings {
    fn default() -> Self {
        TaxSettings {
            tax_entered_with_prices: false,
            price_display_settings: GlobalPriceDisplay::default(),
            fallback_strategy: FallbackStrategy::default(),
            should_subtract_store_tax: true,
            should_use_geolocation_to_determine_guest_shopper_tax_zone: false,
            guest_shopper_tax_zone_id: DEFAULT_TAX_ZONE_ID,
            store_tax_zone_id: DEFAULT_TAX_ZONE_ID,
            document_submission_strategy: DocumentSubmissionStrategy::default(),
            rounding_strategy: TaxRoundingStrategy::default(),
            tax_address: TaxAddress::default(),
            shipping_tax_class_id: DEFAULT_TAX_CLASS_ID,
            gift_wrapping_tax_class_id: DEFAULT_TAX_CLASS_ID,
        }
    }
}

/// Everything the engine needs about a store's tax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxConfig {
    pub settings: TaxSettings,
    pub zones: Vec<TaxZone>,
    pub rates: Vec<TaxRate>,
    /// Class 0 counts as present even when it is not listed.
    pub classes: Vec<TaxClass>,
}

impl TaxConfig {
    pub fn has_class(&self, id: i64) -> bool {
        id == DEFAULT_TAX_CLASS_ID || self.classes.iter().any(|c| c.id == id)
    }

    /// The name of the class an amount of class `id` is taxed as (a class the store no
    /// longer has is taxed as the default class).
    pub fn class_name(&self, id: i64) -> String {
        let id = effective_class(self, id);
        self.classes
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| DEFAULT_TAX_CLASS_NAME.to_string())
    }

    pub fn zone(&self, id: i64) -> Option<&TaxZone> {
        self.zones.iter().find(|z| z.id == id)
    }

    /// The zone that taxes a destination for a customer group, if any (see the module docs).
    pub fn zone_for(&self, to: &Location<'_>, customer_group: i64) -> Option<&TaxZone> {
        let mut best: Option<(&TaxZone, u8)> = None;
        for z in self.zones.iter().filter(|z| z.enabled && !z.is_default()) {
            if !z.targets_group(customer_group) {
                continue;
            }
            if let Some(s) = z.specificity(to) {
                let better = match best {
                    None => true,
                    Some((b, bs)) => s > bs || (s == bs && z.id < b.id),
                };
                if better {
                    best = Some((z, s));
                }
            }
        }
        best.map(|(z, _)| z).or_else(|| {
            self.zones
                .iter()
                .find(|z| z.is_default() && z.enabled && z.targets_group(customer_group))
        })
    }

    /// The enabled rates of a zone, checked, in the order they apply (priority, then id).
    fn zone_rates(&self, zone_id: i64) -> Result<Vec<&TaxRate>, DomainError> {
        let mut rates: Vec<&TaxRate> = self
            .rates
            .iter()
            .filter(|r| r.enabled && r.tax_zone_id == zone_id)
            .collect();
        for r in &rates {
            for cr in &r.class_rates {
                if cr.rate.is_sign_negative() && !cr.rate.is_zero() {
                    return Err(config_error(format!(
                        "Tax rate {} (`{}`) has a negative rate for tax class {}.",
                        r.id, r.name, cr.tax_class_id
                    )));
                }
                if !self.has_class(cr.tax_class_id) {
                    return Err(config_error(format!(
                        "Tax rate {} (`{}`) names tax class {}, which does not exist.",
                        r.id, r.name, cr.tax_class_id
                    )));
                }
            }
        }
        rates.sort_by_key(|r| (r.priority, r.id));
        Ok(rates)
    }
}

fn config_error(message: String) -> DomainError {
    DomainError::field("tax_configuration", message)
}

// ---------- the engine ----------

/// One amount to tax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxableAmount {
    /// A line item id, or `shipping:{consignment_id}`, `handling:{consignment_id}`, `fee:{id}`.
    pub key: String,
    /// A class the store does not have (one deleted since) is taxed as class 0.
    pub tax_class_id: i64,
    /// After discounts, in the cart's currency; includes tax when prices include tax.
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTax {
    pub key: String,
    pub amount_ex_tax: Money,
    pub amount_inc_tax: Money,
    pub tax: Money,
    /// The rates charged on this amount, in the order they apply; their amounts add up to `tax`.
    pub rates: Vec<AppliedRate>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedRate {
    pub rate_id: i64,
    pub name: String,
    /// The rate's priority (rates of a higher priority compound on the lower ones).
    pub priority: i64,
    /// Percent.
    pub rate: Decimal,
    pub amount: Money,
}

/// What one rate charged one taxed amount, as an order keeps it (so it can list its
/// taxes per address, product and rate as they were charged, whatever the store's tax
/// setup becomes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCharge {
    pub rate_id: i64,
    pub name: String,
    pub priority: i64,
    /// Percent.
    pub rate: Decimal,
    pub class_id: i64,
    /// The name of the tax class the amount was taxed as.
    pub class: String,
    pub amount: Money,
}

impl RateCharge {
    /// The charges of one taxed amount of class `class_id` (none for rates that took nothing).
    pub fn of(config: &TaxConfig, class_id: i64, rates: &[AppliedRate]) -> Vec<RateCharge> {
        let class_id = effective_class(config, class_id);
        rates
            .iter()
            .filter(|r| !r.amount.amount().is_zero())
            .map(|r| RateCharge {
                rate_id: r.rate_id,
                name: r.name.clone(),
                priority: r.priority,
                rate: r.rate,
                class_id,
                class: config.class_name(class_id),
                amount: r.amount,
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxResult {
    /// One per amount, in the order given.
    pub lines: Vec<LineTax>,
    /// Totals per rate (the checkout's `taxes`), in the order they apply; they add up to `total_tax`.
    pub taxes: Vec<AppliedRate>,
    pub total_tax: Money,
    /// The zone that decided (`None`: no destination, or no zone contains it).
    pub zone_id: Option<i64>,
}

/// Taxes `amounts` for a shopper at `destination` as a guest (customer group 0).
pub fn compute_tax(
    config: &TaxConfig,
    destination: Option<Location<'_>>,
    amounts: &[TaxableAmount],
    prices_include_tax: bool,
    currency: &Currency,
) -> Result<TaxResult, DomainError> {
    compute_tax_for_group(
        config,
        destination,
        GUEST_CUSTOMER_GROUP,
        amounts,
        prices_include_tax,
        currency,
    )
}

/// The unrounded outcome for one amount.
struct Raw {
    ex: Decimal,
    tax: Decimal,
    /// Unrounded share per applicable rate (index into the zone's rates).
    shares: Vec<(usize, Decimal)>,
}

/// [`compute_tax`] for a shopper in a given customer group.
pub fn compute_tax_for_group(
    config: &TaxConfig,
    destination: Option<Location<'_>>,
    customer_group: i64,
    amounts: &[TaxableAmount],
    prices_include_tax: bool,
    currency: &Currency,
) -> Result<TaxResult, DomainError> {
    let destination = destination.filter(|d| !d.country_code.trim().is_empty());
    let zone = match &destination {
        Some(d) => config.zone_for(d, customer_group),
        None => None,
    };
    let rates = match zone {
        Some(z) => config.zone_rates(z.id)?,
        None => Vec::new(),
    };
    // The store zone's tax comes out of inclusive prices first when the settings say so
    // (only once there is a destination: before that, nothing is taxed or changed).
    let store_rates =
        if prices_include_tax && config.settings.should_subtract_store_tax && destination.is_some()
        {
            let id = config.settings.store_tax_zone_id;
            if config.zone(id).is_none() {
                return Err(config_error(format!(
                    "The store tax zone {id} (store_tax_zone_id) does not exist."
                )));
            }
            Some(config.zone_rates(id)?)
        } else {
            None
        };

    let mut raws = Vec::with_capacity(amounts.len());
    for a in amounts {
        let class = if config.has_class(a.tax_class_id) {
            a.tax_class_id
        } else {
            DEFAULT_TAX_CLASS_ID
        };
        let amount = a.amount.amount();
        let (factor, shares) = rate_shares(&rates, class)?;
        let raw = if !prices_include_tax {
            let tax = shares.iter().map(|(_, s)| *s).sum::<Decimal>();
            Raw {
                ex: amount,
                tax: mul(amount, tax)?,
                shares: scale(&shares, amount)?,
            }
        } else if let Some(store_rates) = &store_rates {
            let (store_factor, _) = rate_shares(store_rates, class)?;
            let ex = div(amount, store_factor)?;
            let tax = mul(ex, factor - Decimal::ONE)?;
            Raw {
                ex,
                tax,
                shares: scale(&shares, ex)?,
            }
        } else {
            let ex = div(amount, factor)?;
            Raw {
                ex,
                tax: amount - ex,
                shares: scale(&shares, ex)?,
            }
        };
        raws.push(raw);
    }

    // Round: per line, or once for the order and shared out.
    let unit = Decimal::new(1, currency.decimal_places);
    let line_taxes: Vec<Decimal> = match config.settings.rounding_strategy {
        TaxRoundingStrategy::RateRounding => raws
            .iter()
            .map(|r| currency.round(Money::new(r.tax)).amount())
            .collect(),
        TaxRoundingStrategy::NoRounding => {
            // Only amounts some rate charges share the total.
            let taxed: Vec<usize> = (0..raws.len())
                .filter(|i| !raws[*i].shares.is_empty())
                .collect();
            let values: Vec<Decimal> = taxed.iter().map(|i| raws[*i].tax).collect();
            let total = currency
                .round(Money::new(values.iter().copied().sum()))
                .amount();
            let mut out = vec![Decimal::ZERO; raws.len()];
            for (i, t) in taxed
                .iter()
                .zip(allocate(total, &values, unit, currency.decimal_places))
            {
                out[*i] = t;
            }
            out
        }
    };

    let mut lines = Vec::with_capacity(amounts.len());
    let mut per_rate: Vec<Decimal> = vec![Decimal::ZERO; rates.len()];
    let mut used: Vec<bool> = vec![false; rates.len()];
    for ((a, raw), line_tax) in amounts.iter().zip(&raws).zip(line_taxes) {
        let (line_tax, applied) = if raw.shares.is_empty() {
            (Decimal::ZERO, Vec::new())
        } else {
            let values: Vec<Decimal> = raw.shares.iter().map(|(_, s)| *s).collect();
            let split = allocate(line_tax, &values, unit, currency.decimal_places);
            let applied: Vec<AppliedRate> = raw
                .shares
                .iter()
                .zip(split)
                .map(|((i, _), amt)| {
                    per_rate[*i] += amt;
                    used[*i] = true;
                    AppliedRate {
                        rate_id: rates[*i].id,
                        name: rates[*i].name.clone(),
                        priority: rates[*i].priority,
                        rate: rates[*i].percent_for(effective_class(config, a.tax_class_id)),
                        amount: Money::new(amt),
                    }
                })
                .collect();
            (line_tax, applied)
        };
        let (ex, inc) = if !prices_include_tax {
            (a.amount.amount(), a.amount.amount() + line_tax)
        } else if store_rates.is_some() {
            let ex = currency.round(Money::new(raw.ex)).amount();
            (ex, ex + line_tax)
        } else {
            (a.amount.amount() - line_tax, a.amount.amount())
        };
        lines.push(LineTax {
            key: a.key.clone(),
            amount_ex_tax: Money::new(ex),
            amount_inc_tax: Money::new(inc),
            tax: Money::new(line_tax),
            rates: applied,
        });
    }
    // Each rate's total names its percentage for the first amount it taxed.
    let taxes: Vec<AppliedRate> = rates
        .iter()
        .enumerate()
        .filter(|(i, _)| used[*i])
        .map(|(i, r)| AppliedRate {
            rate_id: r.id,
            name: r.name.clone(),
            priority: r.priority,
            rate: representative_percent(config, r, amounts),
            amount: Money::new(per_rate[i]),
        })
        .collect();
    let total_tax = lines.iter().map(|l| l.tax).sum();
    Ok(TaxResult {
        lines,
        taxes,
        total_tax,
        zone_id: zone.map(|z| z.id),
    })
}

fn effective_class(config: &TaxConfig, class: i64) -> i64 {
    if config.has_class(class) {
        class
    } else {
        DEFAULT_TAX_CLASS_ID
    }
}

/// A rate's percentage as the order's `taxes` entry shows it: its percentage for the
/// class of the first amount it charges something.
fn representative_percent(
    config: &TaxConfig,
    rate: &TaxRate,
    amounts: &[TaxableAmount],
) -> Decimal {
    amounts
        .iter()
        .map(|a| rate.percent_for(effective_class(config, a.tax_class_id)))
        .find(|p| !p.is_zero())
        .unwrap_or_default()
}

/// For one class: the overall factor (1 + every rate compounded) and, per rate that charges
/// this class something, its tax per unit of tax-exclusive amount.
fn rate_shares(
    rates: &[&TaxRate],
    class: i64,
) -> Result<(Decimal, Vec<(usize, Decimal)>), DomainError> {
    let hundred = Decimal::ONE_HUNDRED;
    let mut factor = Decimal::ONE;
    let mut shares = Vec::new();
    let mut i = 0;
    while i < rates.len() {
        let priority = rates[i].priority;
        let mut group_sum = Decimal::ZERO;
        while i < rates.len() && rates[i].priority == priority {
            let p = rates[i].percent_for(class) / hundred;
            if !p.is_zero() {
                shares.push((i, mul(factor, p)?));
                group_sum += p;
            }
            i += 1;
        }
        factor = mul(factor, Decimal::ONE + group_sum)?;
    }
    Ok((factor, shares))
}

fn scale(shares: &[(usize, Decimal)], base: Decimal) -> Result<Vec<(usize, Decimal)>, DomainError> {
    shares
        .iter()
        .map(|(i, s)| Ok((*i, mul(*s, base)?)))
        .collect()
}

fn overflow() -> DomainError {
    DomainError::invalid("An amount is too large to tax.")
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, DomainError> {
    a.checked_mul(b).ok_or_else(overflow)
}

fn div(a: Decimal, b: Decimal) -> Result<Decimal, DomainError> {
    a.checked_div(b).ok_or_else(overflow)
}

/// Splits `target` (a multiple of `unit`) over `values` by largest remainder: each share
/// is its value rounded down to `unit`, and the units left over (or missing) go to the
/// largest remainders first, earlier entries first on ties. The shares add up to `target`.
pub fn allocate(target: Decimal, values: &[Decimal], unit: Decimal, places: u32) -> Vec<Decimal> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let floors: Vec<Decimal> = values
        .iter()
        .map(|v| v.round_dp_with_strategy(places, RoundingStrategy::ToNegativeInfinity))
        .collect();
    let left = target - floors.iter().copied().sum::<Decimal>();
    let units = (left / unit).round().to_i64().unwrap_or(0);
    let n_i = n as i64;
    let each = units.div_euclid(n_i);
    let extra = units.rem_euclid(n_i) as usize;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let ra = values[a] - floors[a];
        let rb = values[b] - floors[b];
        rb.cmp(&ra).then(a.cmp(&b))
    });
    let mut out: Vec<Decimal> = floors
        .iter()
        .map(|f| *f + unit * Decimal::from(each))
        .collect();
    for &i in order.iter().take(extra) {
        out[i] += unit;
    }
    out
}

// ---------- changes from the admin API ----------

fn check_name(name: &str, field: &str, what: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::field(
            field,
            format!("The {what} name must not be empty."),
        ));
    }
    if name.chars().count() > 100 {
        return Err(DomainError::field(
            field,
            format!("The {what} name must be at most 100 characters."),
        ));
    }
    Ok(name.to_string())
}

/// A tax class name: 1–100 characters, none of `< > { } ` ( ) ; |`.
pub fn check_class_name(name: &str, field: &str) -> Result<String, DomainError> {
    let name = check_name(name, field, "tax class")?;
    if let Some(c) = name.chars().find(|c| "<>{}`();|".contains(*c)) {
        return Err(DomainError::field(
            field,
            format!("The tax class name must not contain `{c}`."),
        ));
    }
    Ok(name)
}

/// Fields of a zone to create (all that matter given) or change (only those given;
/// nested objects merge field by field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxZoneInput {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub price_display_settings: Option<ZonePriceDisplayInput>,
    pub shopper_target_settings: Option<ShopperTargetInput>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZonePriceDisplayInput {
    pub show_inclusive: Option<bool>,
    pub show_both_on_detail_view: Option<bool>,
    pub show_both_on_list_view: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShopperTargetInput {
    pub locations: Option<Vec<ZoneLocation>>,
    pub customer_groups: Option<Vec<i64>>,
}

impl TaxZoneInput {
    /// Applies the change to `zone`, checking it; `field` prefixes error field names
    /// (e.g. `[0]`).
    pub fn apply(self, zone: &mut TaxZone, field: &str) -> Result<(), DomainError> {
        if let Some(name) = self.name {
            zone.name = check_name(&name, &format!("{field}.name"), "tax zone")?;
        }
        if let Some(e) = self.enabled {
            zone.enabled = e;
        }
        if let Some(p) = self.price_display_settings {
            let d = &mut zone.price_display_settings;
            d.show_inclusive = p.show_inclusive.unwrap_or(d.show_inclusive);
            d.show_both_on_detail_view = p
                .show_both_on_detail_view
                .unwrap_or(d.show_both_on_detail_view);
            d.show_both_on_list_view = p.show_both_on_list_view.unwrap_or(d.show_both_on_list_view);
        }
        if let Some(t) = self.shopper_target_settings {
            let f = format!("{field}.shopper_target_settings");
            let targets = ShopperTargetSettings {
                locations: t
                    .locations
                    .unwrap_or_else(|| zone.shopper_target_settings.locations.clone()),
                customer_groups: t
                    .customer_groups
                    .unwrap_or_else(|| zone.shopper_target_settings.customer_groups.clone()),
            };
            if zone.is_default()
                && (!targets.locations.is_empty() || !targets.customer_groups.is_empty())
            {
                return Err(DomainError::field(
                    f,
                    "The default tax zone applies to every shopper no other zone matches, so it cannot target shoppers.",
                ));
            }
            zone.shopper_target_settings = normalize_targets(targets, &f)?;
        }
        Ok(())
    }
}

fn normalize_targets(
    t: ShopperTargetSettings,
    field: &str,
) -> Result<ShopperTargetSettings, DomainError> {
    let mut locations = Vec::with_capacity(t.locations.len());
    for (i, l) in t.locations.into_iter().enumerate() {
        let f = format!("{field}.locations[{i}]");
        let country = l.country_code.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(DomainError::field(
                format!("{f}.country_code"),
                format!(
                    "`{}` is not a two-letter ISO 3166-1 country code.",
                    l.country_code
                ),
            ));
        }
        let mut subdivision_codes = Vec::new();
        for (j, s) in l.subdivision_codes.iter().enumerate() {
            let code = subdivision(&country, s);
            if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(DomainError::field(
                    format!("{f}.subdivision_codes[{j}]"),
                    format!("`{s}` is not an ISO 3166-2 subdivision code."),
                ));
            }
            if !subdivision_codes.contains(&code) {
                subdivision_codes.push(code);
            }
        }
        let mut postal_codes = Vec::new();
        for (j, p) in l.postal_codes.iter().enumerate() {
            let p = p.trim();
            if p.is_empty() || p.len() > 20 || p == "*" {
                return Err(DomainError::field(
                    format!("{f}.postal_codes[{j}]"),
                    format!(
                        "`{p}` is not a postal code (at most 20 characters, a trailing `*` for a prefix)."
                    ),
                ));
            }
            if !postal_codes.iter().any(|q: &String| q == p) {
                postal_codes.push(p.to_string());
            }
        }
        locations.push(ZoneLocation {
            country_code: country,
            subdivision_codes,
            postal_codes,
        });
    }
    if let Some(g) = t.customer_groups.iter().find(|g| **g < 0) {
        return Err(DomainError::field(
            format!("{field}.customer_groups"),
            format!("Customer group ids are 0 or more, not {g}."),
        ));
    }
    let mut customer_groups = t.customer_groups;
    customer_groups.sort_unstable();
    customer_groups.dedup();
    Ok(ShopperTargetSettings {
        locations,
        customer_groups,
    })
}

/// Fields of a rate to create or change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxRateInput {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub priority: Option<i64>,
    pub class_rates: Option<Vec<ClassRate>>,
    pub tax_zone_id: Option<i64>,
}

impl TaxRateInput {
    /// Applies the change to `rate`, checking it against the store's zones and classes.
    pub fn apply(
        self,
        rate: &mut TaxRate,
        zones: &[TaxZone],
        classes: &[TaxClass],
        field: &str,
    ) -> Result<(), DomainError> {
        if let Some(name) = self.name {
            rate.name = check_name(&name, &format!("{field}.name"), "tax rate")?;
        }
        if let Some(e) = self.enabled {
            rate.enabled = e;
        }
        if let Some(p) = self.priority {
            if !(0..=1000).contains(&p) {
                return Err(DomainError::field(
                    format!("{field}.priority"),
                    "priority must be between 0 and 1000.",
                ));
            }
            rate.priority = p;
        }
        if let Some(z) = self.tax_zone_id {
            if !zones.iter().any(|zone| zone.id == z) {
                return Err(DomainError::field(
                    format!("{field}.tax_zone_id"),
                    format!("Tax zone {z} does not exist."),
                ));
            }
            rate.tax_zone_id = z;
        }
        if let Some(crs) = self.class_rates {
            let f = format!("{field}.class_rates");
            if crs.is_empty() {
                return Err(DomainError::field(
                    f,
                    "class_rates must give a rate for at least one tax class.",
                ));
            }
            let mut seen = Vec::new();
            for (i, cr) in crs.iter().enumerate() {
                let known = cr.tax_class_id == DEFAULT_TAX_CLASS_ID
                    || classes.iter().any(|c| c.id == cr.tax_class_id);
                if !known {
                    return Err(DomainError::field(
                        format!("{f}[{i}].tax_class_id"),
                        format!("Tax class {} does not exist.", cr.tax_class_id),
                    ));
                }
                if seen.contains(&cr.tax_class_id) {
                    return Err(DomainError::field(
                        format!("{f}[{i}].tax_class_id"),
                        format!("Tax class {} appears twice.", cr.tax_class_id),
                    ));
                }
                seen.push(cr.tax_class_id);
                if cr.rate.is_sign_negative() && !cr.rate.is_zero() {
                    return Err(DomainError::field(
                        format!("{f}[{i}].rate"),
                        "A tax rate must not be negative.",
                    ));
                }
                if cr.rate > Decimal::from(MAX_RATE_PERCENT) {
                    return Err(DomainError::field(
                        format!("{f}[{i}].rate"),
                        format!("A tax rate is a percentage of at most {MAX_RATE_PERCENT}."),
                    ));
                }
                if cr.rate.scale() > 4 && cr.rate.normalize().scale() > 4 {
                    return Err(DomainError::field(
                        format!("{f}[{i}].rate"),
                        "A tax rate has at most 4 decimal places.",
                    ));
                }
            }
            rate.class_rates = crs
                .into_iter()
                .map(|c| ClassRate {
                    tax_class_id: c.tax_class_id,
                    rate: c.rate.normalize(),
                })
                .collect();
        }
        Ok(())
    }
}

/// Settings to change; what is `None` stays.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxSettingsInput {
    pub tax_entered_with_prices: Option<bool>,
    pub control_panel_price_display_strategy: Option<PriceDisplayStrategy>,
    pub invoice_price_display_strategy: Option<PriceDisplayStrategy>,
    pub fallback_strategy: Option<FallbackStrategy>,
    pub should_subtract_store_tax: Option<bool>,
    pub should_use_geolocation_to_determine_guest_shopper_tax_zone: Option<bool>,
    pub guest_shopper_tax_zone_id: Option<i64>,
    pub store_tax_zone_id: Option<i64>,
    pub document_submission_strategy: Option<DocumentSubmissionStrategy>,
    pub rounding_strategy: Option<TaxRoundingStrategy>,
    pub tax_address: Option<TaxAddress>,
    pub shipping_tax_class_id: Option<i64>,
    pub gift_wrapping_tax_class_id: Option<i64>,
}

impl TaxSettingsInput {
    pub fn apply(
        self,
        s: &mut TaxSettings,
        zones: &[TaxZone],
        classes: &[TaxClass],
    ) -> Result<(), DomainError> {
        let zone = |id: i64, field: &str| {
            if zones.iter().any(|z| z.id == id) {
                Ok(id)
            } else {
                Err(DomainError::field(
                    field,
                    format!("Tax zone {id} does not exist."),
                ))
            }
        };
        let class = |id: i64, field: &str| {
            if id == DEFAULT_TAX_CLASS_ID || classes.iter().any(|c| c.id == id) {
                Ok(id)
            } else {
                Err(DomainError::field(
                    field,
                    format!("Tax class {id} does not exist."),
                ))
            }
        };
        if let Some(v) = self.guest_shopper_tax_zone_id {
            s.guest_shopper_tax_zone_id = zone(v, "guest_shopper_tax_zone_id")?;
        }
        if let Some(v) = self.store_tax_zone_id {
            s.store_tax_zone_id = zone(v, "store_tax_zone_id")?;
        }
        if let Some(v) = self.shipping_tax_class_id {
            s.shipping_tax_class_id = class(v, "shipping_tax_class_id")?;
        }
        if let Some(v) = self.gift_wrapping_tax_class_id {
            s.gift_wrapping_tax_class_id = class(v, "gift_wrapping_tax_class_id")?;
        }
        if let Some(v) = self.tax_entered_with_prices {
            s.tax_entered_with_prices = v;
        }
        if let Some(v) = self.control_panel_price_display_strategy {
            s.price_display_settings
                .control_panel_price_display_strategy = v;
        }
        if let Some(v) = self.invoice_price_display_strategy {
            s.price_display_settings.invoice_price_display_strategy = v;
        }
        if let Some(v) = self.fallback_strategy {
            s.fallback_strategy = v;
        }
        if let Some(v) = self.should_subtract_store_tax {
            s.should_subtract_store_tax = v;
        }
        if let Some(v) = self.should_use_geolocation_to_determine_guest_shopper_tax_zone {
            s.should_use_geolocation_to_determine_guest_shopper_tax_zone = v;
        }
        if let Some(v) = self.document_submission_strategy {
            s.document_submission_strategy = v;
        }
        if let Some(v) = self.rounding_strategy {
            s.rounding_strategy = v;
        }
        if let Some(v) = self.tax_address {
            s.tax_address = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::new("USD", 2, Decimal::ONE)
    }

    fn jpy() -> Currency {
        Currency::new("JPY", 0, dec!(150))
    }

    fn zone(id: i64, name: &str, locations: Vec<ZoneLocation>) -> TaxZone {
        TaxZone {
            id,
            name: name.into(),
            enabled: true,
            price_display_settings: ZonePriceDisplay::default(),
            shopper_target_settings: ShopperTargetSettings {
                locations,
                customer_groups: vec![],
            },
        }
    }

    fn loc(country: &str, subs: &[&str], postal: &[&str]) -> ZoneLocation {
        ZoneLocation {
            country_code: country.into(),
            subdivision_codes: subs.iter().map(|s| s.to_string()).collect(),
            postal_codes: postal.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn rate(id: i64, zone: i64, name: &str, priority: i64, classes: &[(i64, Decimal)]) -> TaxRate {
        TaxRate {
            id,
            name: name.into(),
            enabled: true,
            priority,
            class_rates: classes
                .iter()
                .map(|(c, r)| ClassRate {
                    tax_class_id: *c,
                    rate: *r,
                })
                .collect(),
            tax_zone_id: zone,
        }
    }

    fn class(id: i64, name: &str) -> TaxClass {
        TaxClass {
            id,
            name: name.into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    /// CA 7.25% (zone 2), NY 8.875% (zone 3), EU VAT 20% (zone 4, DE/FR), class 1 zero-rated.
    fn config() -> TaxConfig {
        TaxConfig {
            settings: TaxSettings {
                should_subtract_store_tax: false,
                ..TaxSettings::default()
            },
            zones: vec![
                TaxZone::default_zone(),
                zone(2, "California", vec![loc("US", &["CA"], &[])]),
                zone(3, "New York", vec![loc("US", &["NY"], &[])]),
                zone(4, "EU", vec![loc("DE", &[], &[]), loc("FR", &[], &[])]),
            ],
            rates: vec![
                rate(1, 2, "CA Sales Tax", 1, &[(0, dec!(7.25)), (1, dec!(0))]),
                rate(2, 3, "NY Sales Tax", 1, &[(0, dec!(8.875)), (1, dec!(0))]),
                rate(3, 4, "VAT", 1, &[(0, dec!(20)), (1, dec!(0))]),
            ],
            classes: vec![TaxClass::default_class(), class(1, "Non-Taxable Products")],
        }
    }

    fn to<'a>(country: &'a str, state: &'a str, postal: &'a str) -> Option<Location<'a>> {
        Some(Location {
            country_code: country,
            state_code: state,
            postal_code: postal,
        })
    }

    fn amt(key: &str, class: i64, amount: Decimal) -> TaxableAmount {
        TaxableAmount {
            key: key.into(),
            tax_class_id: class,
            amount: Money::new(amount),
        }
    }

    fn m(d: Decimal) -> Money {
        Money::new(d)
    }

    #[test]
    fn california_on_one_item() {
        let r = compute_tax(
            &config(),
            to("US", "CA", "94105"),
            &[amt("a", 0, dec!(19.99))],
            false,
            &usd(),
        )
        .unwrap();
        // 19.99 × 7.25% = 1.449275 → 1.45
        assert_eq!(r.total_tax, m(dec!(1.45)));
        assert_eq!(r.lines[0].amount_ex_tax, m(dec!(19.99)));
        assert_eq!(r.lines[0].amount_inc_tax, m(dec!(21.44)));
        assert_eq!(r.zone_id, Some(2));
        assert_eq!(r.taxes.len(), 1);
        assert_eq!(r.taxes[0].name, "CA Sales Tax");
        assert_eq!(r.taxes[0].rate, dec!(7.25));
        assert_eq!(r.taxes[0].amount, m(dec!(1.45)));
    }

    #[test]
    fn new_york_per_line_and_per_order() {
        let lines = [
            amt("a", 0, dec!(19.99)),
            amt("b", 0, dec!(19.99)),
            amt("c", 0, dec!(19.99)),
        ];
        // Per line: 19.99 × 8.875% = 1.7741125 → 1.77, three times: 5.31.
        let r = compute_tax(&config(), to("US", "NY", "10001"), &lines, false, &usd()).unwrap();
        assert_eq!(r.total_tax, m(dec!(5.31)));
        assert!(r.lines.iter().all(|l| l.tax == m(dec!(1.77))));
        // Per order: 5.3223375 → 5.32; the extra cent goes to the first line (equal remainders).
        let mut c = config();
        c.settings.rounding_strategy = TaxRoundingStrategy::NoRounding;
        let r = compute_tax(&c, to("US", "NY", "10001"), &lines, false, &usd()).unwrap();
        assert_eq!(r.total_tax, m(dec!(5.32)));
        let taxes: Vec<Money> = r.lines.iter().map(|l| l.tax).collect();
        assert_eq!(taxes, vec![m(dec!(1.78)), m(dec!(1.77)), m(dec!(1.77))]);
        assert_eq!(r.taxes[0].amount, m(dec!(5.32)));
        // One line of quantity 3 is 59.97 × 8.875% = 5.3223375 → 5.32 either way.
        let r = compute_tax(
            &config(),
            to("US", "NY", ""),
            &[amt("q3", 0, dec!(59.97))],
            false,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(5.32)));
    }

    #[test]
    fn vat_inclusive() {
        let r = compute_tax(
            &config(),
            to("DE", "", "10115"),
            &[amt("a", 0, dec!(12.00))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(2.00)));
        assert_eq!(r.lines[0].amount_ex_tax, m(dec!(10.00)));
        assert_eq!(r.lines[0].amount_inc_tax, m(dec!(12.00)));
        // The same price exclusive: 12.00 + 2.40.
        let r = compute_tax(
            &config(),
            to("FR", "", ""),
            &[amt("a", 0, dec!(12.00))],
            false,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(2.40)));
        assert_eq!(r.lines[0].amount_inc_tax, m(dec!(14.40)));
    }

    #[test]
    fn store_tax_is_subtracted_first_when_set() {
        // Store zone DE at 19%, shopper in FR at 20%; the price 11.90 includes German VAT.
        let mut c = config();
        c.zones = vec![
            TaxZone::default_zone(),
            zone(2, "Germany", vec![loc("DE", &[], &[])]),
            zone(3, "France", vec![loc("FR", &[], &[])]),
        ];
        c.rates = vec![
            rate(1, 2, "MwSt", 1, &[(0, dec!(19))]),
            rate(2, 3, "TVA", 1, &[(0, dec!(20))]),
        ];
        c.settings.should_subtract_store_tax = true;
        c.settings.store_tax_zone_id = 2;
        let fr = compute_tax(
            &c,
            to("FR", "", ""),
            &[amt("a", 0, dec!(11.90))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(fr.lines[0].amount_ex_tax, m(dec!(10.00)));
        assert_eq!(fr.total_tax, m(dec!(2.00)));
        assert_eq!(fr.lines[0].amount_inc_tax, m(dec!(12.00)));
        // In the store zone the price stays as entered.
        let de = compute_tax(
            &c,
            to("DE", "", ""),
            &[amt("a", 0, dec!(11.90))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(de.total_tax, m(dec!(1.90)));
        assert_eq!(de.lines[0].amount_inc_tax, m(dec!(11.90)));
        // Outside every zone: German VAT comes off and nothing is added.
        let us = compute_tax(
            &c,
            to("US", "CA", ""),
            &[amt("a", 0, dec!(11.90))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(us.total_tax, Money::ZERO);
        assert_eq!(us.lines[0].amount_inc_tax, m(dec!(10.00)));
        // Off: the price stays 11.90 and French VAT is inside it: 11.90 − 11.90/1.2 = 1.98.
        c.settings.should_subtract_store_tax = false;
        let fr = compute_tax(
            &c,
            to("FR", "", ""),
            &[amt("a", 0, dec!(11.90))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(fr.total_tax, m(dec!(1.98)));
        assert_eq!(fr.lines[0].amount_ex_tax, m(dec!(9.92)));
        // A store zone that does not exist is an error, not zero tax.
        c.settings.should_subtract_store_tax = true;
        c.settings.store_tax_zone_id = 99;
        assert!(
            compute_tax(
                &c,
                to("FR", "", ""),
                &[amt("a", 0, dec!(11.90))],
                true,
                &usd()
            )
            .is_err()
        );
    }

    #[test]
    fn yen_has_no_decimals() {
        // ¥2,999 × 7.25% = 217.4275 → ¥217
        let r = compute_tax(
            &config(),
            to("US", "CA", ""),
            &[amt("a", 0, dec!(2999))],
            false,
            &jpy(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(217)));
        assert_eq!(r.lines[0].amount_inc_tax, m(dec!(3216)));
        // ¥3,000 × 3 per order: 8.875% of 9,000 = 798.75 → ¥799, shared 267/266/266.
        let mut c = config();
        c.settings.rounding_strategy = TaxRoundingStrategy::NoRounding;
        let lines = [
            amt("a", 0, dec!(3000)),
            amt("b", 0, dec!(3000)),
            amt("c", 0, dec!(3000)),
        ];
        let r = compute_tax(&c, to("US", "NY", ""), &lines, false, &jpy()).unwrap();
        assert_eq!(r.total_tax, m(dec!(799)));
        let taxes: Vec<Money> = r.lines.iter().map(|l| l.tax).collect();
        assert_eq!(taxes, vec![m(dec!(267)), m(dec!(266)), m(dec!(266))]);
    }

    #[test]
    fn same_priority_adds_and_higher_priority_compounds() {
        let mut c = config();
        c.rates = vec![
            rate(10, 2, "State", 1, &[(0, dec!(5))]),
            rate(11, 2, "County", 1, &[(0, dec!(7))]),
        ];
        // 10.05: 0.5025 + 0.7035 = 1.206 → 1.21; the spare cent goes to the larger remainder.
        let r = compute_tax(
            &c,
            to("US", "CA", ""),
            &[amt("a", 0, dec!(10.05))],
            false,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(1.21)));
        let split: Vec<Money> = r.lines[0].rates.iter().map(|a| a.amount).collect();
        assert_eq!(split, vec![m(dec!(0.50)), m(dec!(0.71))]);
        // Priority 2 is charged on the amount plus the priority-1 tax: 5.00 + 10.50.
        c.rates = vec![
            rate(10, 2, "Federal", 1, &[(0, dec!(5))]),
            rate(11, 2, "Provincial", 2, &[(0, dec!(10))]),
        ];
        let r = compute_tax(
            &c,
            to("US", "CA", ""),
            &[amt("a", 0, dec!(100))],
            false,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(15.50)));
        assert_eq!(r.taxes[0].amount, m(dec!(5.00)));
        assert_eq!(r.taxes[1].amount, m(dec!(10.50)));
        // Inclusive: 115.50 holds exactly 100.00 before tax.
        let r = compute_tax(
            &c,
            to("US", "CA", ""),
            &[amt("a", 0, dec!(115.50))],
            true,
            &usd(),
        )
        .unwrap();
        assert_eq!(r.total_tax, m(dec!(15.50)));
        assert_eq!(r.lines[0].amount_ex_tax, m(dec!(100.00)));
    }

    #[test]
    fn zone_precedence() {
        let mut c = config();
        c.zones = vec![
            TaxZone::default_zone(),
            zone(2, "US", vec![loc("US", &[], &[])]),
            zone(3, "California", vec![loc("US", &["US-CA"], &[])]),
            zone(4, "Beverly Hills", vec![loc("US", &[], &["90210", "902*"])]),
        ];
        let z = |country, state, postal| {
            c.zone_for(&to(country, state, postal).unwrap(), 0)
                .map(|z| z.id)
        };
        assert_eq!(z("US", "CA", "90210"), Some(4));
        assert_eq!(z("us", "ca", "902 11"), Some(4));
        assert_eq!(z("US", "CA", "94105"), Some(3));
        assert_eq!(z("US", "US-CA", "94105"), Some(3));
        assert_eq!(z("US", "NY", "10001"), Some(2));
        assert_eq!(z("CA", "ON", "M5V"), Some(1), "no zone: the default zone");
        c.zones[3].enabled = false;
        let z = |country, state, postal| {
            c.zone_for(&to(country, state, postal).unwrap(), 0)
                .map(|z| z.id)
        };
        assert_eq!(
            z("US", "CA", "90210"),
            Some(3),
            "disabled zones never match"
        );
        // Zones for a customer group only apply to it.
        let mut c = config();
        c.zones[1].shopper_target_settings.customer_groups = vec![5];
        let l = to("US", "CA", "").unwrap();
        assert_eq!(c.zone_for(&l, 0).map(|z| z.id), Some(1));
        assert_eq!(c.zone_for(&l, 5).map(|z| z.id), Some(2));
    }

    #[test]
    fn no_destination_or_no_zone_is_zero_tax() {
        let a = [amt("a", 0, dec!(19.99))];
        let r = compute_tax(&config(), None, &a, false, &usd()).unwrap();
        assert_eq!(r.total_tax, Money::ZERO);
        assert_eq!(r.lines[0].amount_inc_tax, m(dec!(19.99)));
        assert!(r.taxes.is_empty());
        assert_eq!(r.zone_id, None);
        let r = compute_tax(&config(), to("", "", ""), &a, false, &usd()).unwrap();
        assert_eq!(r.total_tax, Money::ZERO);
        let r = compute_tax(&config(), to("JP", "13", "100-0001"), &a, false, &usd()).unwrap();
        assert_eq!(r.total_tax, Money::ZERO);
        assert_eq!(r.zone_id, Some(1));
        // The default zone taxes what no other zone claims, once it has a rate.
        let mut c = config();
        c.rates.push(rate(9, 1, "Export", 1, &[(0, dec!(10))]));
        let r = compute_tax(&c, to("JP", "13", ""), &a, false, &usd()).unwrap();
        assert_eq!(r.total_tax, m(dec!(2.00)));
    }

    #[test]
    fn classes_choose_the_rate() {
        let a = [
            amt("book", 1, dec!(10.00)),
            amt("shirt", 0, dec!(10.00)),
            amt("gone", 42, dec!(10.00)),
        ];
        let r = compute_tax(&config(), to("US", "CA", ""), &a, false, &usd()).unwrap();
        assert_eq!(r.lines[0].tax, Money::ZERO, "zero-rated class");
        assert!(r.lines[0].rates.is_empty());
        assert_eq!(r.lines[1].tax, m(dec!(0.73)));
        assert_eq!(
            r.lines[2].tax,
            m(dec!(0.73)),
            "an unknown class is taxed as the default class"
        );
        assert_eq!(r.total_tax, m(dec!(1.46)));
    }

    #[test]
    fn configuration_errors_are_errors() {
        let a = [amt("a", 0, dec!(10))];
        let mut c = config();
        c.rates[0].class_rates.push(ClassRate {
            tax_class_id: 77,
            rate: dec!(1),
        });
        let e = compute_tax(&c, to("US", "CA", ""), &a, false, &usd()).unwrap_err();
        assert!(e.to_string().contains("77"), "{e}");
        let mut c = config();
        c.rates[0].class_rates[0].rate = dec!(-1);
        assert!(compute_tax(&c, to("US", "CA", ""), &a, false, &usd()).is_err());
        // Other zones' mistakes do not stop a checkout elsewhere.
        assert!(compute_tax(&c, to("US", "NY", ""), &a, false, &usd()).is_ok());
    }

    #[test]
    fn half_even_currency() {
        // 1.00 × 2.5% = 0.025: half-up 0.03, half-even 0.02.
        let mut c = config();
        c.rates = vec![rate(1, 2, "Odd", 1, &[(0, dec!(2.5))])];
        let mut cur = usd();
        let a = [amt("a", 0, dec!(1.00))];
        let r = compute_tax(&c, to("US", "CA", ""), &a, false, &cur).unwrap();
        assert_eq!(r.total_tax, m(dec!(0.03)));
        cur.rounding = super::super::money::Rounding::HalfEven;
        let r = compute_tax(&c, to("US", "CA", ""), &a, false, &cur).unwrap();
        assert_eq!(r.total_tax, m(dec!(0.02)));
    }

    #[test]
    fn allocation_is_exact_and_deterministic() {
        let v = [dec!(0.333), dec!(0.333), dec!(0.334)];
        assert_eq!(
            allocate(dec!(1.00), &v, dec!(0.01), 2),
            vec![dec!(0.33), dec!(0.33), dec!(0.34)]
        );
        assert_eq!(
            allocate(dec!(1.01), &v, dec!(0.01), 2),
            vec![dec!(0.34), dec!(0.33), dec!(0.34)]
        );
        assert!(allocate(dec!(1), &[], dec!(1), 0).is_empty());
    }

    #[test]
    fn admin_changes_are_checked() {
        let mut z = TaxZone::default_zone();
        let e = TaxZoneInput {
            shopper_target_settings: Some(ShopperTargetInput {
                locations: Some(vec![loc("US", &[], &[])]),
                customer_groups: None,
            }),
            ..Default::default()
        }
        .apply(&mut z, "[0]")
        .unwrap_err();
        assert!(
            matches!(e, DomainError::Unprocessable { ref errors, .. } if errors[0].0 == "[0].shopper_target_settings")
        );
        let mut z = zone(2, "x", vec![]);
        let e = TaxZoneInput {
            shopper_target_settings: Some(ShopperTargetInput {
                locations: Some(vec![loc("USA", &[], &[])]),
                customer_groups: None,
            }),
            ..Default::default()
        }
        .apply(&mut z, "[1]")
        .unwrap_err();
        assert!(
            matches!(e, DomainError::Unprocessable { ref errors, .. } if errors[0].0 == "[1].shopper_target_settings.locations[0].country_code")
        );
        TaxZoneInput {
            shopper_target_settings: Some(ShopperTargetInput {
                locations: Some(vec![loc("us", &["us-ca", "CA"], &[" 90210 "])]),
                customer_groups: Some(vec![2, 0, 2]),
            }),
            ..Default::default()
        }
        .apply(&mut z, "[0]")
        .unwrap();
        assert_eq!(
            z.shopper_target_settings.locations[0],
            loc("US", &["CA"], &["90210"])
        );
        assert_eq!(z.shopper_target_settings.customer_groups, vec![0, 2]);

        let c = config();
        let mut r = rate(0, 2, "x", 1, &[]);
        for (cr, field) in [
            (vec![], "[0].class_rates"),
            (vec![(5, dec!(1))], "[0].class_rates[0].tax_class_id"),
            (vec![(0, dec!(-1))], "[0].class_rates[0].rate"),
            (
                vec![(0, dec!(1)), (0, dec!(2))],
                "[0].class_rates[1].tax_class_id",
            ),
        ] {
            let e = TaxRateInput {
                class_rates: Some(
                    cr.into_iter()
                        .map(|(c, r)| ClassRate {
                            tax_class_id: c,
                            rate: r,
                        })
                        .collect(),
                ),
                ..Default::default()
            }
            .apply(&mut r, &c.zones, &c.classes, "[0]")
            .unwrap_err();
            assert!(
                matches!(e, DomainError::Unprocessable { ref errors, .. } if errors[0].0 == field),
                "{field}: {e:?}"
            );
        }
        let e = TaxRateInput {
            tax_zone_id: Some(99),
            ..Default::default()
        }
        .apply(&mut r, &c.zones, &c.classes, "[0]")
        .unwrap_err();
        assert!(e.to_string().contains("99"));
        assert!(check_class_name("Food (reduced)", "[0].name").is_err());
        assert_eq!(check_class_name("  Food ", "[0].name").unwrap(), "Food");
    }

    // ---------- properties ----------

    fn arb_config() -> impl Strategy<Value = (TaxConfig, bool)> {
        (
            prop::collection::vec((0i64..3, 1i64..3, 0u32..3000, 0u32..4), 0..4),
            any::<bool>(),
        )
            .prop_map(|(rs, per_order)| {
                let mut c = config();
                c.rates = rs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cls, prio, bp, scale))| {
                        let pct = Decimal::new(i64::from(bp), scale.min(3));
                        rate(
                            100 + i as i64,
                            2,
                            &format!("r{i}"),
                            prio,
                            &[(cls.min(1), pct)],
                        )
                    })
                    .collect();
                if per_order {
                    c.settings.rounding_strategy = TaxRoundingStrategy::NoRounding;
                }
                (c, per_order)
            })
    }

    fn arb_amounts() -> impl Strategy<Value = Vec<TaxableAmount>> {
        prop::collection::vec((0i64..2, 0i64..5_000_000), 0..8).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (cls, cents))| amt(&format!("l{i}"), cls, Decimal::new(cents, 2)))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn totals_add_up(
            (c, _) in arb_config(),
            amounts in arb_amounts(),
            inclusive in any::<bool>(),
            yen in any::<bool>(),
            subtract in any::<bool>(),
        ) {
            let cur = if yen { jpy() } else { usd() };
            let mut c = c;
            if subtract {
                // Inclusive prices hold New York's tax; the shopper is in California.
                c.settings.should_subtract_store_tax = true;
                c.settings.store_tax_zone_id = 3;
            }
            let amounts: Vec<TaxableAmount> = amounts
                .into_iter()
                .map(|mut a| { a.amount = cur.round(a.amount); a })
                .collect();
            let r = compute_tax(&c, to("US", "CA", ""), &amounts, inclusive, &cur).unwrap();
            let unit = Decimal::new(1, cur.decimal_places);
            prop_assert_eq!(r.lines.len(), amounts.len());
            let lines: Money = r.lines.iter().map(|l| l.tax).sum();
            prop_assert_eq!(lines, r.total_tax);
            let per_rate: Money = r.taxes.iter().map(|t| t.amount).sum();
            prop_assert_eq!(per_rate, r.total_tax);
            for (l, a) in r.lines.iter().zip(&amounts) {
                prop_assert_eq!(l.amount_inc_tax, l.amount_ex_tax + l.tax);
                prop_assert!(!l.tax.is_negative());
                prop_assert!(!l.amount_ex_tax.is_negative());
                let split: Money = l.rates.iter().map(|x| x.amount).sum();
                prop_assert_eq!(split, l.tax);
                prop_assert_eq!(l.tax, cur.round(l.tax), "tax is in whole units");
                prop_assert!(l.rates.iter().all(|x| !x.amount.is_negative()));
                if inclusive && !subtract {
                    prop_assert_eq!(l.amount_inc_tax, a.amount);
                } else if !inclusive {
                    prop_assert_eq!(l.amount_ex_tax, a.amount);
                }
            }
            // Per order: the total is the rounded sum of exact taxes, so it never drifts
            // from per-line rounding by more than half a unit per line.
            let mut other = c.clone();
            other.settings.rounding_strategy = match c.settings.rounding_strategy {
                TaxRoundingStrategy::NoRounding => TaxRoundingStrategy::RateRounding,
                TaxRoundingStrategy::RateRounding => TaxRoundingStrategy::NoRounding,
            };
            let r2 = compute_tax(&other, to("US", "CA", ""), &amounts, inclusive, &cur).unwrap();
            let drift = (r.total_tax - r2.total_tax).amount().abs();
            prop_assert!(drift <= unit * Decimal::from(amounts.len() as i64 + 1) / Decimal::TWO + unit);
        }

        #[test]
        fn inclusive_and_exclusive_agree(
            (c, _) in arb_config(),
            cents in 0i64..10_000_000,
            class in 0i64..2,
            yen in any::<bool>(),
        ) {
            let cur = if yen { jpy() } else { usd() };
            let price = cur.round(Money::new(Decimal::new(cents, 2)));
            let ex = compute_tax(&c, to("US", "CA", ""), &[amt("a", class, price.amount())], false, &cur).unwrap();
            let gross = ex.lines[0].amount_inc_tax;
            let inc = compute_tax(&c, to("US", "CA", ""), &[amt("a", class, gross.amount())], true, &cur).unwrap();
            let unit = Decimal::new(1, cur.decimal_places);
            prop_assert!((ex.total_tax - inc.total_tax).amount().abs() <= unit);
            prop_assert!((ex.lines[0].amount_ex_tax - inc.lines[0].amount_ex_tax).amount().abs() <= unit);
        }
    }
}
