//! Shipping: the store's zones, methods and pickup locations (BigCommerce's Shipping V2
//! model), their validation, and the pure rate engine the checkout asks for quotes.
//!
//! # How [`quotes`] decides
//!
//! **Zone.** Among the *enabled* zones, the most specific one that contains the
//! destination wins: a `zip` zone beats a `state` zone, which beats a `country` zone,
//! which beats the `global` ("rest of the world") zone. Between zones of the same type
//! the one created first (lowest id) wins. Only that zone's methods are quoted: when it
//! offers nothing (every method disabled or out of range) the answer is empty, with no
//! fallback to a less specific zone, so a store can deliberately decline a region.
//! No matching zone gives an empty list.
//!
//! **Postcodes** in `zip` zones are compared upper-cased with spaces removed. A location's
//! `zip` is one of:
//! - a pattern with `*` wildcards (`9*`, `SW1A*`), `*` standing for any run of characters;
//! - a range `LOW-HIGH` whose two sides have the same length (`90000-90999`), matching a
//!   postcode whose first that-many characters lie between the bounds (inclusive, compared
//!   character by character, which is numeric order for equal-length digits);
//! - otherwise an exact postcode (`94105`, or a ZIP+4 like `94105-1234`). A 5-digit exact
//!   ZIP also matches the ZIP+4 form of the same ZIP.
//!
//! **What counts toward a rate.** Items marked free shipping count toward nothing. Items
//! with a fixed shipping price are charged that price × quantity on every method and do
//! not count toward weight, quantity or subtotal of the rate. The remaining ("rated")
//! items give the quantity, total weight and subtotal the method's rate is computed on.
//!
//! **Methods.**
//! - `perorder`: the flat `rate` once (when there are rated items);
//! - `peritem`: `rate` × rated quantity;
//! - `weight`: the `shipping_cost` of the range holding the rated weight;
//! - `total`: the `shipping_cost` of the range holding the rated subtotal (the range limits
//!   are store-currency amounts, converted into the cart's currency to compare);
//! - `freeshipping`: always 0.
//!
//! A range holds a value when `lower_limit ≤ value ≤ upper_limit` (both inclusive, as the
//! spec's "up to" tables read: a 1 kg parcel is in "0–1 kg"); when neighbouring ranges
//! share a limit the one with the lower `lower_limit` wins. When no range holds the value
//! the method's `default_cost` applies (a fixed amount, or a percentage of the rated
//! subtotal), and with no `default_cost` the method is not offered.
//!
//! **Free shipping.** A quote is free — cost 0 and no handling fee — when the method is
//! `freeshipping`, when every item ships free, or when the zone's free shipping is enabled
//! and the cart subtotal (every item, after discounts) is at least `minimum_sub_total`.
//! Zone free shipping keeps every method on offer at 0 (rather than replacing them with a
//! single "Free shipping" option), so the shopper's selected quote id stays valid when the
//! subtotal crosses the threshold. With `exclude_fixed_shipping_products`, items with a
//! fixed shipping price neither count toward the minimum nor ship free: they keep their
//! fixed price (and the handling fee applies to it).
//!
//! **Handling.** A method's own handling fee applies when it has one; otherwise the
//! zone's. The fee is `fixed_surcharge` plus `percentage_surcharge` percent of the
//! shipping cost (both may be set; they add up).
//!
//! **Money.** Configured amounts are in the store's default currency. Costs are
//! accumulated unrounded in the cart's currency (amount × exchange rate) and rounded once
//! with [`Currency::round`]; thresholds and total-range limits are converted with
//! [`Currency::convert`] (the amounts a shopper would be shown) before comparing. No
//! quote is ever negative.
//!
//! **Recommended.** The cheapest quote (cost + handling; the first on a tie) has
//! `is_recommended`.

use super::DomainError;
use super::address::Location;
use super::money::{Currency, Money};
use super::{address_rules, countries};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- configuration

/// What a zone's locations name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneType {
    Zip,
    State,
    Country,
    Global,
}

impl ZoneType {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneType::Zip => "zip",
            ZoneType::State => "state",
            ZoneType::Country => "country",
            ZoneType::Global => "global",
        }
    }

    pub fn parse(s: &str) -> Option<ZoneType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "zip" => ZoneType::Zip,
            "state" => ZoneType::State,
            "country" => ZoneType::Country,
            "global" => ZoneType::Global,
            _ => return None,
        })
    }

    /// Higher is more specific.
    fn specificity(self) -> u8 {
        match self {
            ZoneType::Zip => 3,
            ZoneType::State => 2,
            ZoneType::Country => 1,
            ZoneType::Global => 0,
        }
    }
}

/// One place a zone covers. Unused parts are empty strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneLocation {
    pub id: i64,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default)]
    pub country_iso2: String,
    /// Subdivision code without the country prefix (`CA`), upper case (`state` zones).
    #[serde(default)]
    pub state_iso2: String,
    /// Postcode, wildcard pattern or range (`zip` zones).
    #[serde(default)]
    pub zip: String,
}

/// A handling fee added to shipping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingFees {
    /// Store default currency.
    #[serde(default)]
    pub fixed_surcharge: Money,
    /// Percent of the shipping cost (`5` = 5 %).
    #[serde(default)]
    pub percentage_surcharge: Decimal,
    /// Show the fee apart from shipping at checkout (zones only).
    #[serde(default)]
    pub display_separately: bool,
}

impl HandlingFees {
    pub fn is_zero(&self) -> bool {
        self.fixed_surcharge.amount().is_zero() && self.percentage_surcharge.is_zero()
    }
}

/// A zone's free-shipping threshold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeShipping {
    #[serde(default)]
    pub enabled: bool,
    /// Store default currency; the cart subtotal must be at least this.
    #[serde(default)]
    pub minimum_sub_total: Money,
    #[serde(default)]
    pub exclude_fixed_shipping_products: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZone {
    pub id: i64,
    pub name: String,
    pub zone_type: ZoneType,
    #[serde(default)]
    pub locations: Vec<ZoneLocation>,
    pub enabled: bool,
    #[serde(default)]
    pub handling_fees: HandlingFees,
    #[serde(default)]
    pub free_shipping: FreeShipping,
}

impl ShippingZone {
    /// Whether the destination lies in this zone (enabled or not).
    pub fn contains(&self, dest: &Location<'_>) -> bool {
        let country = dest.country_code.trim();
        match self.zone_type {
            ZoneType::Global => true,
            ZoneType::Country => self
                .locations
                .iter()
                .any(|l| l.country_iso2.eq_ignore_ascii_case(country)),
            ZoneType::State => {
                let state = strip_country_prefix(dest.state_code.trim());
                !state.is_empty()
                    && self.locations.iter().any(|l| {
                        l.country_iso2.eq_ignore_ascii_case(country)
                            && strip_country_prefix(&l.state_iso2).eq_ignore_ascii_case(state)
                    })
            }
            ZoneType::Zip => self.locations.iter().any(|l| {
                l.country_iso2.eq_ignore_ascii_case(country)
                    && zip_matches(&l.zip, dest.postal_code)
            }),
        }
    }
}

/// `US-CA` → `CA`; `CA` stays.
fn strip_country_prefix(s: &str) -> &str {
    match s.split_once('-') {
        Some((c, rest)) if c.len() == 2 && !rest.is_empty() => rest,
        _ => s,
    }
}

fn normalize_postcode(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A zip location's pattern, classified.
#[derive(Debug, PartialEq, Eq)]
enum ZipPattern {
    Exact(String),
    Wildcard(String),
    Range(String, String),
}

fn zip_pattern(pattern: &str) -> ZipPattern {
    let p = normalize_postcode(pattern);
    if p.contains('*') {
        return ZipPattern::Wildcard(p);
    }
    if let Some((low, high)) = p.split_once('-')
        && !low.is_empty()
        && low.len() == high.len()
        && !high.contains('-')
    {
        return ZipPattern::Range(low.to_string(), high.to_string());
    }
    ZipPattern::Exact(p)
}

/// Whether a postcode matches a zip location (exact, `*` wildcard or `LOW-HIGH` range).
pub fn zip_matches(pattern: &str, postal_code: &str) -> bool {
    let code = normalize_postcode(postal_code);
    if code.is_empty() {
        return false;
    }
    match zip_pattern(pattern) {
        ZipPattern::Exact(p) => {
            !p.is_empty() && (p == code || code.split_once('-').is_some_and(|(head, _)| head == p))
        }
        ZipPattern::Wildcard(p) => glob(p.as_bytes(), code.as_bytes()),
        ZipPattern::Range(low, high) => {
            let head = code.split_once('-').map_or(code.as_str(), |(h, _)| h);
            head.len() >= low.len()
                && head.is_char_boundary(low.len())
                && (low.as_str()..=high.as_str()).contains(&&head[..low.len()])
        }
    }
}

/// `*` matches any run (including none); everything else matches itself.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// How a method's rate is computed. Real-time carriers are not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodType {
    PerOrder,
    PerItem,
    Weight,
    Total,
    FreeShipping,
}

/// Carrier method types BigCommerce accepts and Kassa cannot quote.
pub const CARRIER_TYPES: &[&str] = &[
    "auspost",
    "canadapost",
    "endicia",
    "usps",
    "fedex",
    "royalmail",
    "ups",
    "upsready",
    "upsonline",
    "shipperhq",
    "zoom2u",
];

impl MethodType {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodType::PerOrder => "perorder",
            MethodType::PerItem => "peritem",
            MethodType::Weight => "weight",
            MethodType::Total => "total",
            MethodType::FreeShipping => "freeshipping",
        }
    }

    pub fn parse(s: &str) -> Option<MethodType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "perorder" => MethodType::PerOrder,
            "peritem" => MethodType::PerItem,
            "weight" => MethodType::Weight,
            "total" => MethodType::Total,
            "freeshipping" => MethodType::FreeShipping,
            _ => return None,
        })
    }

    /// The checkout's `available_shipping_options[].type` for quotes of this method.
    pub fn checkout_type(self) -> &'static str {
        match self {
            MethodType::PerOrder => "shipping_flatrate",
            MethodType::PerItem => "shipping_peritem",
            MethodType::Weight => "shipping_byweight",
            MethodType::Total => "shipping_bytotal",
            MethodType::FreeShipping => "freeshipping",
        }
    }

    fn has_ranges(self) -> bool {
        matches!(self, MethodType::Weight | MethodType::Total)
    }

    fn has_rate(self) -> bool {
        matches!(self, MethodType::PerOrder | MethodType::PerItem)
    }
}

/// How `default_cost` is applied when no range holds the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultCostType {
    #[default]
    FixedAmount,
    PercentageOfTotal,
}

impl DefaultCostType {
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultCostType::FixedAmount => "fixed_amount",
            DefaultCostType::PercentageOfTotal => "percentage_of_total",
        }
    }

    pub fn parse(s: &str) -> Option<DefaultCostType> {
        match s.trim() {
            "fixed_amount" => Some(DefaultCostType::FixedAmount),
            "percentage_of_total" => Some(DefaultCostType::PercentageOfTotal),
            _ => None,
        }
    }
}

/// One row of a weight or total rate table. Limits are weight units (the store's) or
/// store-currency amounts; both inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRange {
    pub lower_limit: Decimal,
    pub upper_limit: Decimal,
    /// Store default currency.
    pub shipping_cost: Money,
}

impl RateRange {
    fn holds(&self, v: Decimal) -> bool {
        self.lower_limit <= v && v <= self.upper_limit
    }
}

/// A method's `settings`: `rate` for perorder/peritem; `ranges` and the default cost
/// for weight/total; nothing for freeshipping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodSettings {
    /// Store default currency.
    #[serde(default)]
    pub rate: Money,
    /// A fixed amount (store currency) or a percentage, per `default_cost_type`.
    #[serde(default)]
    pub default_cost: Option<Decimal>,
    #[serde(default)]
    pub default_cost_type: DefaultCostType,
    #[serde(default)]
    pub ranges: Vec<RateRange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    pub id: i64,
    pub zone_id: i64,
    pub name: String,
    pub method_type: MethodType,
    #[serde(default)]
    pub settings: MethodSettings,
    pub enabled: bool,
    /// The method's own fee; when zero, the zone's applies.
    #[serde(default)]
    pub handling_fees: HandlingFees,
    /// Tax class shipping by this method is taxed under; `None` = not taxable.
    /// Defaults to the default tax class (0).
    #[serde(default = "default_shipping_tax_class")]
    pub tax_class_id: Option<i64>,
    #[serde(default)]
    pub is_fallback: bool,
    #[serde(default = "default_channels")]
    pub channel_ids: Vec<i64>,
}

fn default_shipping_tax_class() -> Option<i64> {
    Some(0)
}

fn default_channels() -> Vec<i64> {
    vec![1]
}

/// A pickup address (the parts a shopper needs to find the place).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupAddress {
    #[serde(default)]
    pub address1: String,
    #[serde(default)]
    pub address2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state_or_province: String,
    #[serde(default)]
    pub state_or_province_code: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country_code: String,
    #[serde(default)]
    pub phone: String,
}

impl PickupAddress {
    pub fn location(&self) -> Location<'_> {
        Location {
            country_code: &self.country_code,
            state_code: &self.state_or_province_code,
            postal_code: &self.postal_code,
        }
    }
}

/// A place shoppers collect orders from. Its `id` is the checkout's `pickup_method_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupLocation {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub address: PickupAddress,
    /// What to do on arrival.
    #[serde(default)]
    pub collection_instructions: String,
    /// Opening hours / when orders are ready.
    #[serde(default)]
    pub collection_time_description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Everything the engine needs about a store's shipping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShippingConfig {
    pub zones: Vec<ShippingZone>,
    pub methods: Vec<ShippingMethod>,
    pub pickup_locations: Vec<PickupLocation>,
}

// ---------------------------------------------------------------- the engine

/// One line to ship.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippableItem {
    pub quantity: i64,
    /// Weight of one unit in the store's weight unit.
    pub unit_weight: Decimal,
    /// After discounts, in the cart's currency.
    pub unit_price: Money,
    pub is_free_shipping: bool,
    /// Per unit, store default currency; replaces the rate for this item.
    pub fixed_shipping_price: Option<Money>,
}

/// What to quote for: where it goes, what goes, and in which currency.
#[derive(Clone, Copy, Debug)]
pub struct ShipmentRequest<'a> {
    pub destination: Location<'a>,
    pub items: &'a [ShippableItem],
    /// The cart's currency; configured amounts are in the store default currency.
    pub currency: &'a Currency,
}

/// One shipping option on offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingQuote {
    /// `"{zone_id}-{method_id}"`: the same across calls for the same zone and method.
    pub id: String,
    pub method_id: i64,
    pub zone_id: i64,
    /// The method's name.
    pub description: String,
    /// BigCommerce's checkout option type (`shipping_flatrate`, `shipping_byweight`, …).
    pub kind: String,
    /// Excluding handling, in the cart's currency, rounded.
    pub cost: Money,
    /// In the cart's currency, rounded.
    pub handling: Money,
    pub transit_time: String,
    /// `None` = shipping is not taxable.
    pub tax_class_id: Option<i64>,
    pub is_recommended: bool,
    /// Whether the store shows the handling fee apart from shipping (the zone's setting).
    #[serde(default)]
    pub display_handling_separately: bool,
}

/// The zone a destination ships under: the most specific enabled zone that contains it.
pub fn zone_for<'a>(zones: &'a [ShippingZone], dest: &Location<'_>) -> Option<&'a ShippingZone> {
    zones
        .iter()
        .filter(|z| z.enabled && z.contains(dest))
        .min_by_key(|z| (std::cmp::Reverse(z.zone_type.specificity()), z.id))
}

/// What the items add up to, split the way the rules need.
struct Basis {
    rated_quantity: Decimal,
    rated_weight: Decimal,
    /// Cart currency.
    rated_subtotal: Decimal,
    /// Store currency.
    fixed_total: Decimal,
    has_fixed: bool,
    /// Cart currency; every item, less fixed-price items when the zone excludes them.
    free_shipping_subtotal: Decimal,
}

impl Basis {
    fn of(items: &[ShippableItem], zone: &ShippingZone) -> Basis {
        let mut b = Basis {
            rated_quantity: Decimal::ZERO,
            rated_weight: Decimal::ZERO,
            rated_subtotal: Decimal::ZERO,
            fixed_total: Decimal::ZERO,
            has_fixed: false,
            free_shipping_subtotal: Decimal::ZERO,
        };
        for item in items.iter().filter(|i| i.quantity > 0) {
            let qty = Decimal::from(item.quantity);
            let line = item.unit_price.amount() * qty;
            match item.fixed_shipping_price {
                _ if item.is_free_shipping => b.free_shipping_subtotal += line,
                Some(fixed) => {
                    b.has_fixed = true;
                    b.fixed_total += fixed.amount().max(Decimal::ZERO) * qty;
                    if !zone.free_shipping.exclude_fixed_shipping_products {
                        b.free_shipping_subtotal += line;
                    }
                }
                None => {
                    b.rated_quantity += qty;
                    b.rated_weight += item.unit_weight.max(Decimal::ZERO) * qty;
                    b.rated_subtotal += line;
                    b.free_shipping_subtotal += line;
                }
            }
        }
        b
    }

    fn has_rated(&self) -> bool {
        self.rated_quantity > Decimal::ZERO
    }
}

/// A charge before rounding: part in the store currency, part already in the cart's.
#[derive(Clone, Copy)]
struct Charge {
    store: Decimal,
    cart: Decimal,
}

impl Charge {
    fn store(d: Decimal) -> Charge {
        Charge {
            store: d,
            cart: Decimal::ZERO,
        }
    }

    fn in_cart_currency(self, currency: &Currency) -> Decimal {
        self.store * currency.exchange_rate + self.cart
    }
}

/// The cost of a rate table for `value`, or `None` when the method is not offered.
fn table_cost(
    settings: &MethodSettings,
    value: Decimal,
    limit: impl Fn(Decimal) -> Decimal,
    rated_subtotal: Decimal,
) -> Option<Charge> {
    let mut ranges: Vec<&RateRange> = settings.ranges.iter().collect();
    ranges.sort_by_key(|r| r.lower_limit);
    if let Some(r) = ranges.iter().find(|r| {
        RateRange {
            lower_limit: limit(r.lower_limit),
            upper_limit: limit(r.upper_limit),
            shipping_cost: r.shipping_cost,
        }
        .holds(value)
    }) {
        return Some(Charge::store(r.shipping_cost.amount()));
    }
    let d = settings.default_cost?.max(Decimal::ZERO);
    Some(match settings.default_cost_type {
        DefaultCostType::FixedAmount => Charge::store(d),
        DefaultCostType::PercentageOfTotal => Charge {
            store: Decimal::ZERO,
            cart: rated_subtotal * d / Decimal::ONE_HUNDRED,
        },
    })
}

/// The rate part of a method's cost, or `None` when it is not offered.
fn rate_charge(method: &ShippingMethod, basis: &Basis, currency: &Currency) -> Option<Charge> {
    if !basis.has_rated() {
        return Some(Charge::store(Decimal::ZERO));
    }
    let s = &method.settings;
    match method.method_type {
        MethodType::PerOrder => Some(Charge::store(s.rate.amount())),
        MethodType::PerItem => Some(Charge::store(s.rate.amount() * basis.rated_quantity)),
        MethodType::Weight => table_cost(s, basis.rated_weight, |l| l, basis.rated_subtotal),
        MethodType::Total => table_cost(
            s,
            basis.rated_subtotal,
            |l| currency.convert(Money::new(l)).amount(),
            basis.rated_subtotal,
        ),
        MethodType::FreeShipping => Some(Charge::store(Decimal::ZERO)),
    }
}

/// Every shipping option for the request, in method id order; empty when no zone matches.
pub fn quotes(config: &ShippingConfig, req: &ShipmentRequest) -> Vec<ShippingQuote> {
    let Some(zone) = zone_for(&config.zones, &req.destination) else {
        return Vec::new();
    };
    let currency = req.currency;
    let basis = Basis::of(req.items, zone);
    let zone_free = zone.free_shipping.enabled
        && basis.free_shipping_subtotal
            >= currency
                .convert(zone.free_shipping.minimum_sub_total)
                .amount();
    let nothing_to_charge = !basis.has_rated() && !basis.has_fixed;

    let mut methods: Vec<&ShippingMethod> = config
        .methods
        .iter()
        .filter(|m| m.enabled && m.zone_id == zone.id)
        .collect();
    methods.sort_by_key(|m| m.id);

    let mut out = Vec::with_capacity(methods.len());
    for m in methods {
        let free_by_rule = m.method_type == MethodType::FreeShipping || nothing_to_charge;
        let charge = if free_by_rule {
            None
        } else if zone_free {
            let fixed = if zone.free_shipping.exclude_fixed_shipping_products {
                basis.fixed_total
            } else {
                Decimal::ZERO
            };
            (!fixed.is_zero()).then_some(Charge::store(fixed))
        } else {
            let Some(rate) = rate_charge(m, &basis, currency) else {
                continue;
            };
            Some(Charge {
                store: rate.store + basis.fixed_total,
                cart: rate.cart,
            })
        };
        let (cost, handling) = match charge {
            None => (Money::ZERO, Money::ZERO),
            Some(c) => {
                let cost = c.in_cart_currency(currency).max(Decimal::ZERO);
                let fees = if m.handling_fees.is_zero() {
                    &zone.handling_fees
                } else {
                    &m.handling_fees
                };
                let handling = fees.fixed_surcharge.amount().max(Decimal::ZERO)
                    * currency.exchange_rate
                    + cost * fees.percentage_surcharge.max(Decimal::ZERO) / Decimal::ONE_HUNDRED;
                (
                    currency.round(Money::new(cost)),
                    currency.round(Money::new(handling.max(Decimal::ZERO))),
                )
            }
        };
        out.push(ShippingQuote {
            id: format!("{}-{}", zone.id, m.id),
            method_id: m.id,
            zone_id: zone.id,
            description: m.name.clone(),
            kind: m.method_type.checkout_type().to_string(),
            cost,
            handling,
            transit_time: String::new(),
            tax_class_id: m.tax_class_id,
            is_recommended: false,
            display_handling_separately: zone.handling_fees.display_separately,
        });
    }
    if let Some(best) = out
        .iter_mut()
        .enumerate()
        .min_by_key(|(i, q)| (q.cost + q.handling, *i))
        .map(|(_, q)| q)
    {
        best.is_recommended = true;
    }
    out
}

// ---------------------------------------------------------------- changes and validation

/// Fields of a zone location as sent.
#[derive(Clone, Debug, Default)]
pub struct ZoneLocationInput {
    pub id: Option<i64>,
    pub country_iso2: Option<String>,
    pub state_iso2: Option<String>,
    pub zip: Option<String>,
}

/// A handling fee as sent; replaces the previous fee as a whole.
#[derive(Clone, Debug, Default)]
pub struct HandlingFeesInput {
    pub fixed_surcharge: Option<Decimal>,
    pub percentage_surcharge: Option<Decimal>,
    pub display_separately: Option<bool>,
}

/// Free-shipping fields as sent; those omitted keep their value.
#[derive(Clone, Debug, Default)]
pub struct FreeShippingInput {
    pub enabled: Option<bool>,
    pub minimum_sub_total: Option<Decimal>,
    pub exclude_fixed_shipping_products: Option<bool>,
}

/// A zone to create, or the fields of one to change.
#[derive(Clone, Debug, Default)]
pub struct ZoneInput {
    pub name: Option<String>,
    pub zone_type: Option<String>,
    /// Replaces every location when sent.
    pub locations: Option<Vec<ZoneLocationInput>>,
    pub enabled: Option<bool>,
    pub handling_fees: Option<HandlingFeesInput>,
    pub free_shipping: Option<FreeShippingInput>,
}

/// A rate-table row as sent.
#[derive(Clone, Debug, Default)]
pub struct RateRangeInput {
    pub lower_limit: Option<Decimal>,
    pub upper_limit: Option<Decimal>,
    pub shipping_cost: Option<Decimal>,
}

/// Method settings as sent; replace the previous settings as a whole.
#[derive(Clone, Debug, Default)]
pub struct MethodSettingsInput {
    pub rate: Option<Decimal>,
    pub default_cost: Option<Decimal>,
    pub default_cost_type: Option<String>,
    pub ranges: Option<Vec<RateRangeInput>>,
}

/// A method to create, or the fields of one to change.
#[derive(Clone, Debug, Default)]
pub struct MethodInput {
    pub name: Option<String>,
    pub method_type: Option<String>,
    pub settings: Option<MethodSettingsInput>,
    pub enabled: Option<bool>,
    pub handling_fees: Option<HandlingFeesInput>,
    pub is_fallback: Option<bool>,
    pub channel_ids: Option<Vec<i64>>,
    /// `Some(None)` makes shipping by this method not taxable.
    pub tax_class_id: Option<Option<i64>>,
}

fn required(field: &str) -> DomainError {
    DomainError::field(field, format!("The field `{field}` is required."))
}

fn non_negative(field: &str, d: Decimal) -> Result<Decimal, DomainError> {
    if d.is_sign_negative() && !d.is_zero() {
        Err(DomainError::field(
            field,
            format!("The field `{field}` must not be negative."),
        ))
    } else {
        Ok(d)
    }
}

fn name_of(field: &str, name: &str) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` must not be blank."),
        ));
    }
    if n.chars().count() > 255 {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` is longer than 255 characters."),
        ));
    }
    Ok(n.to_string())
}

fn handling_from(input: &HandlingFeesInput, field: &str) -> Result<HandlingFees, DomainError> {
    Ok(HandlingFees {
        fixed_surcharge: Money::new(non_negative(
            &format!("{field}.fixed_surcharge"),
            input.fixed_surcharge.unwrap_or_default(),
        )?),
        percentage_surcharge: non_negative(
            &format!("{field}.percentage_surcharge"),
            input.percentage_surcharge.unwrap_or_default(),
        )?,
        display_separately: input.display_separately.unwrap_or(false),
    })
}

/// How many new location ids a zone change may use.
pub fn location_ids_needed(input: &ZoneInput) -> i64 {
    input.locations.as_ref().map_or(0, |l| l.len() as i64)
}

/// Builds a new zone (`existing` = `None`) or the changed one. New locations are
/// numbered from `first_location_id`; a sent location keeping the id of an existing one
/// keeps that id.
pub fn build_zone(
    existing: Option<&ShippingZone>,
    id: i64,
    input: &ZoneInput,
    first_location_id: i64,
) -> Result<ShippingZone, DomainError> {
    let name = match (&input.name, existing) {
        (Some(n), _) => name_of("name", n)?,
        (None, Some(z)) => z.name.clone(),
        (None, None) => return Err(required("name")),
    };
    let zone_type = match (&input.zone_type, existing) {
        (Some(t), _) => ZoneType::parse(t).ok_or_else(|| {
            DomainError::field(
                "type",
                "The field `type` must be one of zip, country, state, global.",
            )
        })?,
        (None, Some(z)) => z.zone_type,
        (None, None) => return Err(required("type")),
    };
    let locations = match &input.locations {
        Some(list) => {
            let mut next = first_location_id;
            let mut out = Vec::with_capacity(list.len());
            for l in list {
                let keep = l.id.filter(|lid| {
                    existing.is_some_and(|z| z.locations.iter().any(|o| o.id == *lid))
                        && !out.iter().any(|o: &ZoneLocation| o.id == *lid)
                });
                let lid = keep.unwrap_or_else(|| {
                    next += 1;
                    next - 1
                });
                out.push(ZoneLocation {
                    id: lid,
                    country_iso2: l
                        .country_iso2
                        .as_deref()
                        .unwrap_or("")
                        .trim()
                        .to_uppercase(),
                    state_iso2: strip_country_prefix(l.state_iso2.as_deref().unwrap_or("").trim())
                        .to_uppercase(),
                    zip: l.zip.as_deref().unwrap_or("").trim().to_uppercase(),
                });
            }
            out
        }
        None => existing.map(|z| z.locations.clone()).unwrap_or_default(),
    };
    let handling_fees = match (&input.handling_fees, existing) {
        (Some(h), _) => handling_from(h, "handling_fees")?,
        (None, Some(z)) => z.handling_fees.clone(),
        (None, None) => HandlingFees::default(),
    };
    let mut free_shipping = existing
        .map(|z| z.free_shipping.clone())
        .unwrap_or_default();
    if let Some(f) = &input.free_shipping {
        if let Some(e) = f.enabled {
            free_shipping.enabled = e;
        }
        if let Some(m) = f.minimum_sub_total {
            free_shipping.minimum_sub_total =
                Money::new(non_negative("free_shipping.minimum_sub_total", m)?);
        }
        if let Some(x) = f.exclude_fixed_shipping_products {
            free_shipping.exclude_fixed_shipping_products = x;
        }
    }
    let zone = ShippingZone {
        id,
        name,
        zone_type,
        locations,
        enabled: input
            .enabled
            .unwrap_or_else(|| existing.is_none_or(|z| z.enabled)),
        handling_fees,
        free_shipping,
    };
    validate_locations(&zone)?;
    Ok(zone)
}

fn validate_locations(zone: &ShippingZone) -> Result<(), DomainError> {
    if zone.zone_type == ZoneType::Global {
        if !zone.locations.is_empty() {
            return Err(DomainError::field(
                "locations",
                "The field `locations` must be empty for a global zone.",
            ));
        }
        return Ok(());
    }
    if zone.locations.is_empty() {
        return Err(DomainError::field(
            "locations",
            format!(
                "The field `locations` needs at least one location for a {} zone.",
                zone.zone_type.as_str()
            ),
        ));
    }
    for (i, l) in zone.locations.iter().enumerate() {
        let f = |name: &str| format!("locations[{i}].{name}");
        if l.country_iso2.len() != 2 || !l.country_iso2.chars().all(|c| c.is_ascii_alphabetic()) {
            let field = f("country_iso2");
            return Err(DomainError::field(
                &field,
                format!("The field `{field}` must be a 2-letter ISO 3166-1 country code."),
            ));
        }
        match zone.zone_type {
            ZoneType::State => {
                let ok = (1..=3).contains(&l.state_iso2.len())
                    && l.state_iso2.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    let field = f("state_iso2");
                    return Err(DomainError::field(
                        &field,
                        format!(
                            "The field `{field}` must be an ISO 3166-2 subdivision code (like `TX`)."
                        ),
                    ));
                }
            }
            ZoneType::Zip => {
                let field = f("zip");
                let z = normalize_postcode(&l.zip);
                let ok = !z.is_empty()
                    && z.len() <= 40
                    && z.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*');
                if !ok {
                    return Err(DomainError::field(
                        &field,
                        format!(
                            "The field `{field}` must be a postcode, a pattern with `*` wildcards, or a range like `90000-90999`."
                        ),
                    ));
                }
                if let ZipPattern::Range(low, high) = zip_pattern(&z)
                    && low > high
                {
                    return Err(DomainError::field(
                        &field,
                        format!("The field `{field}` is a range whose start is after its end."),
                    ));
                }
            }
            ZoneType::Country | ZoneType::Global => {}
        }
    }
    Ok(())
}

fn settings_from(
    input: &MethodSettingsInput,
    method_type: MethodType,
) -> Result<MethodSettings, DomainError> {
    let mut s = MethodSettings::default();
    if method_type.has_rate() {
        let rate = input.rate.ok_or_else(|| required("settings.rate"))?;
        s.rate = Money::new(non_negative("settings.rate", rate)?);
    }
    if method_type.has_ranges() {
        if let Some(d) = input.default_cost {
            s.default_cost = Some(non_negative("settings.default_cost", d)?);
        }
        if let Some(t) = &input.default_cost_type {
            s.default_cost_type = DefaultCostType::parse(t).ok_or_else(|| {
                DomainError::field(
                    "settings.default_cost_type",
                    "The field `settings.default_cost_type` must be fixed_amount or percentage_of_total.",
                )
            })?;
        }
        for (i, r) in input.ranges.iter().flatten().enumerate() {
            let f = |name: &str| format!("settings.range[{i}].{name}");
            let lower = non_negative(
                &f("lower_limit"),
                r.lower_limit.ok_or_else(|| required(&f("lower_limit")))?,
            )?;
            let upper = r.upper_limit.ok_or_else(|| required(&f("upper_limit")))?;
            if upper < lower {
                let field = f("upper_limit");
                return Err(DomainError::field(
                    &field,
                    format!("The field `{field}` must not be below `lower_limit`."),
                ));
            }
            let cost = non_negative(
                &f("shipping_cost"),
                r.shipping_cost
                    .ok_or_else(|| required(&f("shipping_cost")))?,
            )?;
            s.ranges.push(RateRange {
                lower_limit: lower,
                upper_limit: upper,
                shipping_cost: Money::new(cost),
            });
        }
    }
    Ok(s)
}

/// Builds a new method (`existing` = `None`) or the changed one. Settings are required
/// when creating a `perorder`/`peritem` method or changing a method's type to one.
pub fn build_method(
    existing: Option<&ShippingMethod>,
    id: i64,
    zone_id: i64,
    input: &MethodInput,
) -> Result<ShippingMethod, DomainError> {
    let name = match (&input.name, existing) {
        (Some(n), _) => name_of("name", n)?,
        (None, Some(m)) => m.name.clone(),
        (None, None) => return Err(required("name")),
    };
    let method_type = match (&input.method_type, existing) {
        (Some(t), _) => MethodType::parse(t).ok_or_else(|| {
            let t = t.trim().to_ascii_lowercase();
            if CARRIER_TYPES.contains(&t.as_str()) {
                DomainError::field(
                    "type",
                    format!("The field `type` is `{t}`: real-time carrier quotes are not supported; use perorder, peritem, weight, total or freeshipping."),
                )
            } else {
                DomainError::field(
                    "type",
                    "The field `type` must be one of perorder, peritem, weight, total, freeshipping.",
                )
            }
        })?,
        (None, Some(m)) => m.method_type,
        (None, None) => return Err(required("type")),
    };
    let type_changed = existing.is_none_or(|m| m.method_type != method_type);
    let settings = match (&input.settings, existing) {
        (Some(s), _) => settings_from(s, method_type)?,
        (None, Some(m)) if !type_changed => m.settings.clone(),
        (None, _) if method_type.has_rate() => return Err(required("settings.rate")),
        (None, _) => MethodSettings::default(),
    };
    let handling_fees = match (&input.handling_fees, existing) {
        (Some(h), _) => {
            let mut h = handling_from(h, "handling_fees")?;
            h.display_separately = false;
            h
        }
        (None, Some(m)) => m.handling_fees.clone(),
        (None, None) => HandlingFees::default(),
    };
    let channel_ids = match (&input.channel_ids, existing) {
        (Some(c), _) => {
            if let Some(bad) = c.iter().find(|c| **c <= 0) {
                return Err(DomainError::field(
                    "channel_ids",
                    format!("The field `channel_ids` holds {bad}, which is not a channel id."),
                ));
            }
            c.clone()
        }
        (None, Some(m)) => m.channel_ids.clone(),
        (None, None) => default_channels(),
    };
    let tax_class_id = match (input.tax_class_id, existing) {
        (Some(Some(t)), _) if t < 0 => {
            return Err(DomainError::field(
                "tax_class_id",
                "The field `tax_class_id` must not be negative.",
            ));
        }
        (Some(t), _) => t,
        (None, Some(m)) => m.tax_class_id,
        (None, None) => default_shipping_tax_class(),
    };
    Ok(ShippingMethod {
        id,
        zone_id,
        name,
        method_type,
        settings,
        enabled: input
            .enabled
            .unwrap_or_else(|| existing.is_none_or(|m| m.enabled)),
        handling_fees,
        tax_class_id,
        is_fallback: input
            .is_fallback
            .unwrap_or_else(|| existing.is_some_and(|m| m.is_fallback)),
        channel_ids,
    })
}

/// Longest `collection_instructions` / `collection_time_description`, in characters.
pub const MAX_PICKUP_TEXT_LEN: usize = 2000;

/// Checks a pickup location and tidies its fields (every string trimmed).
///
/// - `name` must not be blank (at most 255 characters);
/// - `address.country_code` is required: an ISO 3166-1 alpha-2 code, upper-cased
///   ([`countries::country_name`]), since a pickup consignment is taxed at the location;
/// - where Kassa knows the country's subdivisions, the state is resolved from
///   `state_or_province_code` or `state_or_province` ([`countries::subdivision`]: code,
///   `US-CA` form or name) and both are rewritten to the canonical code and name; a
///   state is required where shipping addresses need one ([`countries::state_required`]).
///   Elsewhere the state is kept as sent, its code upper-cased;
/// - `address.postal_code` must fit the country's format and is written in its usual form
///   (required where the country uses postal codes);
/// - `address.phone`, when given, must be a phone number and is kept without spaces,
///   dashes, dots and parentheses (as checkout addresses are);
/// - single-line fields hold at most 255 characters and no control characters; the two
///   collection texts at most [`MAX_PICKUP_TEXT_LEN`].
///
/// Errors name the field (`name`, `address.country_code`, …).
pub fn validate_pickup_location(mut p: PickupLocation) -> Result<PickupLocation, DomainError> {
    p.name = name_of("name", &p.name)?;
    for (field, text) in [
        ("collection_instructions", &mut p.collection_instructions),
        (
            "collection_time_description",
            &mut p.collection_time_description,
        ),
    ] {
        *text = text.trim().to_string();
        if text.chars().count() > MAX_PICKUP_TEXT_LEN {
            return Err(DomainError::field(
                field,
                format!("The field `{field}` is longer than {MAX_PICKUP_TEXT_LEN} characters."),
            ));
        }
    }
    p.address = validate_pickup_address(p.address)?;
    Ok(p)
}

fn validate_pickup_address(mut a: PickupAddress) -> Result<PickupAddress, DomainError> {
    let err =
        |field: &str, message: String| DomainError::field(format!("address.{field}"), message);
    for (field, text) in [
        ("address1", &mut a.address1),
        ("address2", &mut a.address2),
        ("city", &mut a.city),
        ("state_or_province", &mut a.state_or_province),
        ("state_or_province_code", &mut a.state_or_province_code),
        ("postal_code", &mut a.postal_code),
        ("country_code", &mut a.country_code),
        ("phone", &mut a.phone),
    ] {
        *text = text.trim().to_string();
        if text.chars().count() > 255 {
            return Err(err(
                field,
                format!("The field `address.{field}` is longer than 255 characters."),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(err(
                field,
                format!(
                    "The field `address.{field}` must be a single line without control characters."
                ),
            ));
        }
    }

    a.country_code = a.country_code.to_ascii_uppercase();
    if a.country_code.is_empty() {
        return Err(err(
            "country_code",
            "The field `address.country_code` is required: the ISO 3166-1 alpha-2 code of the \
             country, such as US or DE."
                .into(),
        ));
    }
    let country = match countries::country_name(&a.country_code) {
        Some(_) if a.country_code.len() == 2 => a.country_code.clone(),
        _ => {
            return Err(err(
                "country_code",
                format!(
                    "The field `address.country_code` must be an ISO 3166-1 alpha-2 country code \
                     (such as US, GB or DE), not `{}`.",
                    a.country_code
                ),
            ));
        }
    };

    if countries::has_subdivisions(&country) {
        let kind = countries::subdivision_kind(&country).unwrap_or("subdivisions");
        let by_code = if a.state_or_province_code.is_empty() {
            None
        } else {
            Some(
                countries::subdivision(&country, &a.state_or_province_code).ok_or_else(|| {
                    err(
                        "state_or_province_code",
                        format!(
                            "The field `address.state_or_province_code` must be one of the {kind} \
                             of {country}, not `{}`.",
                            a.state_or_province_code
                        ),
                    )
                })?,
            )
        };
        let by_name = if a.state_or_province.is_empty() {
            None
        } else {
            countries::subdivision(&country, &a.state_or_province)
        };
        let resolved = match (by_code, by_name) {
            (Some(code), Some(name)) if code != name => {
                return Err(err(
                    "state_or_province",
                    format!(
                        "The fields `address.state_or_province` ({}) and \
                         `address.state_or_province_code` ({}) name different {kind}; send one, \
                         or make them agree.",
                        name.1, code.0
                    ),
                ));
            }
            (Some(found), _) | (None, Some(found)) => Some(found),
            (None, None) if !a.state_or_province.is_empty() => {
                return Err(err(
                    "state_or_province",
                    format!(
                        "The field `address.state_or_province` must be one of the {kind} of \
                         {country}, not `{}`.",
                        a.state_or_province
                    ),
                ));
            }
            (None, None) if countries::state_required(&country) => {
                return Err(err(
                    "state_or_province_code",
                    format!(
                        "The field `address.state_or_province_code` is required for \
                         locations in {country}: one of its {kind}."
                    ),
                ));
            }
            (None, None) => None,
        };
        if let Some((code, name)) = resolved {
            a.state_or_province_code = code.to_string();
            a.state_or_province = name.to_string();
        }
    } else {
        a.state_or_province_code = a.state_or_province_code.to_ascii_uppercase();
    }

    if a.postal_code.is_empty() {
        if countries::postal_code_required(&country) {
            return Err(err(
                "postal_code",
                format!(
                    "The field `address.postal_code` is required for locations in {country} \
                     (format: {}).",
                    countries::postal_code_format(&country)
                ),
            ));
        }
    } else {
        a.postal_code =
            countries::canonical_postal_code(&country, &a.postal_code).ok_or_else(|| {
                err(
                    "postal_code",
                    format!(
                        "The field `address.postal_code` `{}` is not a valid postal code for \
                         {country} (format: {}).",
                        a.postal_code,
                        countries::postal_code_format(&country)
                    ),
                )
            })?;
    }

    if !a.phone.is_empty() {
        a.phone = address_rules::phone_digits(&a.phone).ok_or_else(|| {
            err(
                "phone",
                format!(
                    "The field `address.phone` `{}` is not a phone number: expected digits with \
                     an optional leading + and an optional extension (`+14155550123`).",
                    a.phone
                ),
            )
        })?;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::new("USD", 2, Decimal::ONE)
    }

    fn loc<'a>(country: &'a str, state: &'a str, zip: &'a str) -> Location<'a> {
        Location {
            country_code: country,
            state_code: state,
            postal_code: zip,
        }
    }

    fn zone(id: i64, zone_type: ZoneType, locations: Vec<(&str, &str, &str)>) -> ShippingZone {
        ShippingZone {
            id,
            name: format!("zone {id}"),
            zone_type,
            locations: locations
                .into_iter()
                .enumerate()
                .map(|(i, (c, s, z))| ZoneLocation {
                    id: i as i64 + 1,
                    country_iso2: c.into(),
                    state_iso2: s.into(),
                    zip: z.into(),
                })
                .collect(),
            enabled: true,
            handling_fees: HandlingFees::default(),
            free_shipping: FreeShipping::default(),
        }
    }

    fn method(id: i64, zone_id: i64, t: MethodType, settings: MethodSettings) -> ShippingMethod {
        ShippingMethod {
            id,
            zone_id,
            name: format!("method {id}"),
            method_type: t,
            settings,
            enabled: true,
            handling_fees: HandlingFees::default(),
            tax_class_id: Some(0),
            is_fallback: false,
            channel_ids: vec![1],
        }
    }

    fn rate(r: Decimal) -> MethodSettings {
        MethodSettings {
            rate: Money::new(r),
            ..Default::default()
        }
    }

    fn table(
        rows: &[(Decimal, Decimal, Decimal)],
        default_cost: Option<Decimal>,
    ) -> MethodSettings {
        MethodSettings {
            ranges: rows
                .iter()
                .map(|(l, u, c)| RateRange {
                    lower_limit: *l,
                    upper_limit: *u,
                    shipping_cost: Money::new(*c),
                })
                .collect(),
            default_cost,
            ..Default::default()
        }
    }

    fn item(qty: i64, weight: Decimal, price: Decimal) -> ShippableItem {
        ShippableItem {
            quantity: qty,
            unit_weight: weight,
            unit_price: Money::new(price),
            is_free_shipping: false,
            fixed_shipping_price: None,
        }
    }

    fn run(config: &ShippingConfig, items: &[ShippableItem], dest: Location) -> Vec<ShippingQuote> {
        let c = usd();
        quotes(
            config,
            &ShipmentRequest {
                destination: dest,
                items,
                currency: &c,
            },
        )
    }

    fn us_config(methods: Vec<ShippingMethod>) -> ShippingConfig {
        ShippingConfig {
            zones: vec![zone(1, ZoneType::Country, vec![("US", "", "")])],
            methods,
            pickup_locations: vec![],
        }
    }

    fn cost_of(qs: &[ShippingQuote], method_id: i64) -> Option<Money> {
        qs.iter().find(|q| q.method_id == method_id).map(|q| q.cost)
    }

    #[test]
    fn zip_wildcards_ranges_and_exact() {
        assert!(zip_matches("9*", "94105"));
        assert!(!zip_matches("9*", "84105"));
        assert!(zip_matches("941*5", "94105"));
        assert!(zip_matches("SW1A*", "sw1a 1aa"));
        assert!(zip_matches("*", "1"));
        assert!(zip_matches("90000-90999", "90210"));
        assert!(zip_matches("90000-90999", "90000"));
        assert!(zip_matches("90000-90999", "90999"));
        assert!(zip_matches("90000-90999", "90210-1234"));
        assert!(!zip_matches("90000-90999", "91000"));
        assert!(!zip_matches("90000-90999", "8999"));
        assert!(zip_matches("94105", "94105"));
        assert!(zip_matches("94105", "94105-1234"));
        assert!(zip_matches("94105-1234", "94105-1234"));
        assert!(!zip_matches("94105-1234", "94105-9999"));
        assert!(zip_matches("k1a 0b1", "K1A0B1"));
        assert!(!zip_matches("94105", ""));
        assert!(!zip_matches("", "94105"));
    }

    #[test]
    fn most_specific_zone_wins() {
        let zones = vec![
            zone(1, ZoneType::Global, vec![]),
            zone(2, ZoneType::Country, vec![("US", "", "")]),
            zone(3, ZoneType::State, vec![("US", "CA", "")]),
            zone(4, ZoneType::Zip, vec![("US", "", "941*")]),
        ];
        let id = |d| zone_for(&zones, &d).map(|z| z.id);
        assert_eq!(id(loc("US", "CA", "94105")), Some(4));
        assert_eq!(id(loc("US", "CA", "90210")), Some(3));
        assert_eq!(id(loc("US", "NY", "10001")), Some(2));
        assert_eq!(id(loc("DE", "", "10115")), Some(1));
        // The zip pattern needs the country too.
        assert_eq!(id(loc("CA", "", "941AB")), Some(1));
        let mut without_zip = zones.clone();
        without_zip[3].enabled = false;
        assert_eq!(
            zone_for(&without_zip, &loc("US", "CA", "94105")).map(|z| z.id),
            Some(3)
        );
        assert!(zone_for(&zones[1..], &loc("DE", "", "")).is_none());
        // US-CA style state codes match as well.
        let z = zone(9, ZoneType::State, vec![("US", "US-CA", "")]);
        assert!(z.contains(&loc("us", "ca", "")));
        assert!(!z.contains(&loc("US", "", "")));
    }

    #[test]
    fn no_zone_no_quotes() {
        let config = us_config(vec![method(1, 1, MethodType::PerOrder, rate(dec!(5)))]);
        assert!(run(&config, &[item(1, dec!(1), dec!(10))], loc("DE", "", "")).is_empty());
    }

    #[test]
    fn each_method_type() {
        let config = us_config(vec![
            method(1, 1, MethodType::PerOrder, rate(dec!(7.50))),
            method(2, 1, MethodType::PerItem, rate(dec!(2))),
            method(
                3,
                1,
                MethodType::Weight,
                table(
                    &[
                        (dec!(0), dec!(1), dec!(5)),
                        (dec!(1), dec!(5), dec!(9)),
                        (dec!(5), dec!(20), dec!(15)),
                    ],
                    None,
                ),
            ),
            method(
                4,
                1,
                MethodType::Total,
                table(
                    &[
                        (dec!(0), dec!(49.99), dec!(6)),
                        (dec!(50), dec!(1000), dec!(3)),
                    ],
                    None,
                ),
            ),
            method(5, 1, MethodType::FreeShipping, MethodSettings::default()),
        ]);
        // 3 units × 0.8 kg = 2.4 kg, subtotal 60.
        let items = [item(3, dec!(0.8), dec!(20))];
        let qs = run(&config, &items, loc("US", "CA", "94105"));
        assert_eq!(qs.len(), 5);
        assert_eq!(cost_of(&qs, 1), Some(Money::new(dec!(7.50))));
        assert_eq!(cost_of(&qs, 2), Some(Money::new(dec!(6))));
        assert_eq!(cost_of(&qs, 3), Some(Money::new(dec!(9))));
        assert_eq!(cost_of(&qs, 4), Some(Money::new(dec!(3))));
        assert_eq!(cost_of(&qs, 5), Some(Money::ZERO));
        let kinds: Vec<&str> = qs.iter().map(|q| q.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "shipping_flatrate",
                "shipping_peritem",
                "shipping_byweight",
                "shipping_bytotal",
                "freeshipping"
            ]
        );
        assert_eq!(qs[0].id, "1-1");
        // Only the free one is recommended.
        assert_eq!(
            qs.iter()
                .filter(|q| q.is_recommended)
                .map(|q| q.method_id)
                .collect::<Vec<_>>(),
            [5]
        );

        // Exactly 1 kg is in the first range (upper limits are inclusive).
        let qs = run(&config, &[item(1, dec!(1), dec!(10))], loc("US", "", ""));
        assert_eq!(cost_of(&qs, 3), Some(Money::new(dec!(5))));
        // Above every range and no default cost: not offered.
        let qs = run(&config, &[item(1, dec!(25), dec!(10))], loc("US", "", ""));
        assert_eq!(cost_of(&qs, 3), None);
        assert_eq!(qs.len(), 4);
    }

    #[test]
    fn default_cost_applies_outside_ranges() {
        let mut pct = table(&[(dec!(0), dec!(1), dec!(5))], Some(dec!(10)));
        pct.default_cost_type = DefaultCostType::PercentageOfTotal;
        let config = us_config(vec![
            method(
                1,
                1,
                MethodType::Weight,
                table(&[(dec!(0), dec!(1), dec!(5))], Some(dec!(12))),
            ),
            method(2, 1, MethodType::Weight, pct),
        ]);
        let qs = run(&config, &[item(2, dec!(3), dec!(33.33))], loc("US", "", ""));
        assert_eq!(cost_of(&qs, 1), Some(Money::new(dec!(12))));
        // 10 % of 66.66 = 6.666 → 6.67
        assert_eq!(cost_of(&qs, 2), Some(Money::new(dec!(6.67))));
    }

    #[test]
    fn handling_fees_zone_or_method() {
        let mut config = us_config(vec![
            method(1, 1, MethodType::PerOrder, rate(dec!(10))),
            method(2, 1, MethodType::PerOrder, rate(dec!(10))),
        ]);
        config.zones[0].handling_fees = HandlingFees {
            fixed_surcharge: Money::new(dec!(1)),
            percentage_surcharge: dec!(5),
            display_separately: true,
        };
        config.methods[1].handling_fees.fixed_surcharge = Money::new(dec!(3));
        let qs = run(&config, &[item(1, dec!(1), dec!(10))], loc("US", "", ""));
        assert_eq!(qs[0].handling, Money::new(dec!(1.50)));
        assert_eq!(qs[1].handling, Money::new(dec!(3)));
        assert!(qs[0].display_handling_separately);
        assert!(qs[0].is_recommended);
    }

    #[test]
    fn free_and_fixed_price_items() {
        let mut config = us_config(vec![
            method(1, 1, MethodType::PerItem, rate(dec!(2))),
            method(
                2,
                1,
                MethodType::Weight,
                table(
                    &[(dec!(0), dec!(1), dec!(5)), (dec!(1), dec!(10), dec!(9))],
                    None,
                ),
            ),
        ]);
        config.zones[0].handling_fees.fixed_surcharge = Money::new(dec!(1));
        let mut free = item(5, dec!(4), dec!(10));
        free.is_free_shipping = true;
        let mut fixed = item(2, dec!(4), dec!(10));
        fixed.fixed_shipping_price = Some(Money::new(dec!(3)));
        let plain = item(1, dec!(0.5), dec!(10));

        // Free items count for nothing: 1 rated unit of 0.5 kg.
        let qs = run(&config, &[free.clone(), plain.clone()], loc("US", "", ""));
        assert_eq!(cost_of(&qs, 1), Some(Money::new(dec!(2))));
        assert_eq!(cost_of(&qs, 2), Some(Money::new(dec!(5))));
        // Fixed-price items add 2 × 3.00 and no weight.
        let qs = run(&config, &[fixed.clone(), plain], loc("US", "", ""));
        assert_eq!(cost_of(&qs, 1), Some(Money::new(dec!(8))));
        assert_eq!(cost_of(&qs, 2), Some(Money::new(dec!(11))));
        // Only fixed-price items: their price, whatever the method.
        let qs = run(&config, std::slice::from_ref(&fixed), loc("US", "", ""));
        assert_eq!(cost_of(&qs, 1), Some(Money::new(dec!(6))));
        assert_eq!(cost_of(&qs, 2), Some(Money::new(dec!(6))));
        assert_eq!(qs[0].handling, Money::new(dec!(1)));
        // Only free items: free, and no handling.
        let qs = run(&config, &[free], loc("US", "", ""));
        assert!(
            qs.iter()
                .all(|q| q.cost.amount().is_zero() && q.handling.amount().is_zero())
        );
        assert_eq!(qs.len(), 2);
    }

    #[test]
    fn zone_free_shipping_threshold() {
        let mut config = us_config(vec![method(1, 1, MethodType::PerOrder, rate(dec!(7.5)))]);
        config.zones[0].handling_fees.fixed_surcharge = Money::new(dec!(1));
        config.zones[0].free_shipping = FreeShipping {
            enabled: true,
            minimum_sub_total: Money::new(dec!(100)),
            exclude_fixed_shipping_products: true,
        };
        let q = |config: &ShippingConfig, items: &[ShippableItem]| {
            run(config, items, loc("US", "", ""))[0].clone()
        };
        let below = q(&config, &[item(1, dec!(1), dec!(99.99))]);
        assert_eq!(
            (below.cost, below.handling),
            (Money::new(dec!(7.5)), Money::new(dec!(1)))
        );
        let at = q(&config, &[item(1, dec!(1), dec!(100))]);
        assert_eq!((at.cost, at.handling), (Money::ZERO, Money::ZERO));
        // Excluded fixed-price products neither reach the minimum nor ship free.
        let mut fixed = item(1, dec!(1), dec!(200));
        fixed.fixed_shipping_price = Some(Money::new(dec!(4)));
        let q1 = q(&config, &[fixed.clone(), item(1, dec!(1), dec!(50))]);
        assert_eq!(q1.cost, Money::new(dec!(11.5)));
        let q2 = q(&config, &[fixed.clone(), item(1, dec!(1), dec!(100))]);
        assert_eq!(
            (q2.cost, q2.handling),
            (Money::new(dec!(4)), Money::new(dec!(1)))
        );
        config.zones[0]
            .free_shipping
            .exclude_fixed_shipping_products = false;
        let q3 = q(&config, &[fixed, item(1, dec!(1), dec!(1))]);
        assert_eq!((q3.cost, q3.handling), (Money::ZERO, Money::ZERO));
    }

    #[test]
    fn converts_into_the_cart_currency() {
        let mut config = us_config(vec![
            method(1, 1, MethodType::PerOrder, rate(dec!(7.50))),
            method(
                2,
                1,
                MethodType::Total,
                table(
                    &[
                        (dec!(0), dec!(50), dec!(8)),
                        (dec!(50.01), dec!(1000), dec!(4)),
                    ],
                    None,
                ),
            ),
        ]);
        config.zones[0].handling_fees.fixed_surcharge = Money::new(dec!(1));
        config.zones[0].free_shipping = FreeShipping {
            enabled: true,
            minimum_sub_total: Money::new(dec!(100)),
            exclude_fixed_shipping_products: false,
        };
        let eur = Currency::new("EUR", 2, dec!(0.92));
        let ask = |price: Decimal, c: &Currency| {
            let items = [item(1, dec!(1), price)];
            quotes(
                &config,
                &ShipmentRequest {
                    destination: loc("US", "", ""),
                    items: &items,
                    currency: c,
                },
            )
        };
        // 47 EUR is above 50 USD × 0.92 = 46 EUR: the second range.
        let qs = ask(dec!(47), &eur);
        assert_eq!(qs[0].cost, Money::new(dec!(6.90)));
        assert_eq!(qs[0].handling, Money::new(dec!(0.92)));
        assert_eq!(qs[1].cost, Money::new(dec!(3.68)));
        // 92 EUR reaches the 100 USD threshold.
        assert!(
            ask(dec!(92), &eur)
                .iter()
                .all(|q| q.cost.amount().is_zero())
        );
        let jpy = Currency::new("JPY", 0, dec!(150));
        let qs = ask(dec!(1000), &jpy);
        assert_eq!(qs[0].cost, Money::new(dec!(1125)));
        assert_eq!(qs[0].handling, Money::new(dec!(150)));
    }

    #[test]
    fn disabled_methods_and_zones_are_skipped() {
        let mut config = us_config(vec![
            method(1, 1, MethodType::PerOrder, rate(dec!(5))),
            method(2, 1, MethodType::PerOrder, rate(dec!(6))),
            method(3, 7, MethodType::PerOrder, rate(dec!(1))),
        ]);
        config.methods[0].enabled = false;
        let qs = run(&config, &[item(1, dec!(1), dec!(1))], loc("US", "", ""));
        assert_eq!(qs.iter().map(|q| q.method_id).collect::<Vec<_>>(), [2]);
        config.zones[0].enabled = false;
        assert!(run(&config, &[item(1, dec!(1), dec!(1))], loc("US", "", "")).is_empty());
    }

    #[test]
    fn building_zones_and_methods_validates_fields() {
        let input = ZoneInput {
            name: Some("US".into()),
            zone_type: Some("zip".into()),
            locations: Some(vec![ZoneLocationInput {
                country_iso2: Some("us".into()),
                zip: Some("90999-90000".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let err = build_zone(None, 1, &input, 1).unwrap_err();
        assert!(err.to_string().contains("locations[0].zip"), "{err}");
        let err = build_zone(None, 1, &ZoneInput::default(), 1).unwrap_err();
        assert!(err.to_string().contains("`name`"));
        let ok = build_zone(
            None,
            4,
            &ZoneInput {
                name: Some(" Texas ".into()),
                zone_type: Some("state".into()),
                locations: Some(vec![ZoneLocationInput {
                    country_iso2: Some("us".into()),
                    state_iso2: Some("us-tx".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            10,
        )
        .unwrap();
        assert_eq!(ok.name, "Texas");
        assert_eq!(ok.locations[0].id, 10);
        assert_eq!(ok.locations[0].state_iso2, "TX");
        assert!(ok.enabled);

        let err = build_method(
            None,
            1,
            1,
            &MethodInput {
                name: Some("UPS".into()),
                method_type: Some("upsready".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("`type`"));
        let err = build_method(
            None,
            1,
            1,
            &MethodInput {
                name: Some("Flat".into()),
                method_type: Some("perorder".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("settings.rate"));
        let err = build_method(
            None,
            1,
            1,
            &MethodInput {
                name: Some("W".into()),
                method_type: Some("weight".into()),
                settings: Some(MethodSettingsInput {
                    ranges: Some(vec![RateRangeInput {
                        lower_limit: Some(dec!(5)),
                        upper_limit: Some(dec!(1)),
                        shipping_cost: Some(dec!(1)),
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("settings.range[0].upper_limit"));
    }

    // ---------- properties ----------

    fn arb_item() -> impl Strategy<Value = ShippableItem> {
        (
            0i64..20,
            0u32..5000,
            0u32..50000,
            any::<bool>(),
            prop::option::of(0u32..3000),
        )
            .prop_map(|(q, w, p, free, fixed)| ShippableItem {
                quantity: q,
                unit_weight: Decimal::new(w.into(), 3),
                unit_price: Money::new(Decimal::new(p.into(), 2)),
                is_free_shipping: free,
                fixed_shipping_price: fixed.map(|f| Money::new(Decimal::new(f.into(), 2))),
            })
    }

    /// Contiguous ranges from 0 with non-decreasing costs.
    fn arb_monotone_table() -> impl Strategy<Value = MethodSettings> {
        (
            prop::collection::vec((1u32..5000, 0u32..2000), 1..6),
            prop::option::of(0u32..5000),
        )
            .prop_map(|(rows, default_cost)| {
                let mut lower = Decimal::ZERO;
                let mut cost = Decimal::ZERO;
                let mut ranges = Vec::new();
                for (width, step) in rows {
                    let upper = lower + Decimal::new(width.into(), 3);
                    cost += Decimal::new(step.into(), 2);
                    ranges.push(RateRange {
                        lower_limit: lower,
                        upper_limit: upper,
                        shipping_cost: Money::new(cost),
                    });
                    lower = upper;
                }
                // A default cost above every range keeps the table monotone.
                let default_cost = default_cost.map(|d| cost + Decimal::new(d.into(), 2));
                MethodSettings {
                    ranges,
                    default_cost,
                    ..Default::default()
                }
            })
    }

    fn arb_method(id: i64) -> impl Strategy<Value = ShippingMethod> {
        (
            0usize..5,
            0u32..5000,
            arb_monotone_table(),
            0u32..500,
            0u32..3000,
        )
            .prop_map(move |(t, r, tbl, fixed, pct)| {
                let t = [
                    MethodType::PerOrder,
                    MethodType::PerItem,
                    MethodType::Weight,
                    MethodType::Total,
                    MethodType::FreeShipping,
                ][t];
                let mut settings = tbl;
                settings.rate = Money::new(Decimal::new(r.into(), 2));
                let mut m = method(id, 1, t, settings);
                m.handling_fees = HandlingFees {
                    fixed_surcharge: Money::new(Decimal::new(fixed.into(), 2)),
                    percentage_surcharge: Decimal::new(pct.into(), 2),
                    display_separately: false,
                };
                m
            })
    }

    fn arb_currency() -> impl Strategy<Value = Currency> {
        (0u32..4, 1u32..200000)
            .prop_map(|(dp, r)| Currency::new("XXX", dp, Decimal::new(r.into(), 4)))
    }

    proptest! {
        #[test]
        fn quotes_are_never_negative_and_ids_stable(
            methods in prop::collection::vec(arb_method(0), 0..5),
            items in prop::collection::vec(arb_item(), 0..6),
            currency in arb_currency(),
            free in any::<bool>(),
            min in 0u32..100000,
        ) {
            let methods: Vec<ShippingMethod> = methods
                .into_iter()
                .enumerate()
                .map(|(i, mut m)| { m.id = i as i64 + 1; m })
                .collect();
            let mut config = us_config(methods.clone());
            config.zones[0].free_shipping = FreeShipping {
                enabled: free,
                minimum_sub_total: Money::new(Decimal::new(min.into(), 2)),
                exclude_fixed_shipping_products: min % 2 == 0,
            };
            let req = ShipmentRequest { destination: loc("US", "CA", "94105"), items: &items, currency: &currency };
            let qs = quotes(&config, &req);
            for q in &qs {
                prop_assert!(!q.cost.is_negative());
                prop_assert!(!q.handling.is_negative());
                prop_assert_eq!(&q.id, &format!("{}-{}", q.zone_id, q.method_id));
                prop_assert_eq!(currency.round(q.cost), q.cost);
            }
            prop_assert!(qs.len() <= methods.len());
            prop_assert_eq!(qs.iter().filter(|q| q.is_recommended).count(), usize::from(!qs.is_empty()));
            // Same inputs, same answer; other items, same ids for the methods on offer.
            prop_assert_eq!(&quotes(&config, &req), &qs);
            let other = [item(1, Decimal::ONE, Decimal::ONE)];
            let again = quotes(&config, &ShipmentRequest { items: &other, ..req });
            for q in &again {
                let expected = format!("1-{}", q.method_id);
                prop_assert_eq!(&q.id, &expected);
            }
        }

        #[test]
        fn more_weight_never_costs_less(
            tbl in arb_monotone_table(),
            items in prop::collection::vec(arb_item(), 1..5),
            extra in 1u32..10000,
            currency in arb_currency(),
        ) {
            let config = us_config(vec![method(1, 1, MethodType::Weight, tbl)]);
            let req = ShipmentRequest { destination: loc("US", "", ""), items: &items, currency: &currency };
            let before = quotes(&config, &req);
            let mut heavier = items.clone();
            heavier.push(ShippableItem {
                quantity: 1,
                unit_weight: Decimal::new(extra.into(), 3),
                unit_price: Money::ZERO,
                is_free_shipping: false,
                fixed_shipping_price: None,
            });
            let after = quotes(&config, &ShipmentRequest { items: &heavier, ..req });
            if let (Some(b), Some(a)) = (before.first(), after.first()) {
                prop_assert!(a.cost >= b.cost, "{:?} -> {:?}", b.cost, a.cost);
            }
        }
    }

    fn pickup(country: &str, state_code: &str, state: &str, zip: &str) -> PickupLocation {
        PickupLocation {
            id: 0,
            name: "  Depot ".into(),
            address: PickupAddress {
                address1: "1 Main St".into(),
                city: "Springfield".into(),
                state_or_province: state.into(),
                state_or_province_code: state_code.into(),
                postal_code: zip.into(),
                country_code: country.into(),
                ..Default::default()
            },
            collection_instructions: String::new(),
            collection_time_description: String::new(),
            enabled: true,
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Unprocessable { errors, .. } => errors[0].0.clone(),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn pickup_locations_are_tidied_and_checked() {
        let p = validate_pickup_location(pickup("us", "ca", "", "94105")).expect("valid");
        assert_eq!(p.name, "Depot");
        assert_eq!(p.address.country_code, "US");
        assert_eq!(p.address.state_or_province_code, "CA");
        assert_eq!(p.address.state_or_province, "California");
        // Idempotent.
        assert_eq!(validate_pickup_location(p.clone()), Ok(p));
        // A state by name only is resolved to its code.
        let p = validate_pickup_location(pickup("US", "", "New York", "10004")).expect("valid");
        assert_eq!(p.address.state_or_province_code, "NY");
        // Countries without known subdivisions keep what was sent.
        let p = validate_pickup_location(pickup("NZ", "", "Auckland", "1010")).expect("valid");
        assert_eq!(p.address.state_or_province, "Auckland");

        let cases = [
            (pickup("", "", "", ""), "address.country_code"),
            (pickup("XX", "", "", ""), "address.country_code"),
            (pickup("USA", "", "", ""), "address.country_code"),
            (
                pickup("US", "ZZ", "", "94105"),
                "address.state_or_province_code",
            ),
            (
                pickup("US", "", "", "94105"),
                "address.state_or_province_code",
            ),
            (
                pickup("US", "", "Narnia", "94105"),
                "address.state_or_province",
            ),
            (
                pickup("US", "CA", "New York", "94105"),
                "address.state_or_province",
            ),
            (pickup("US", "CA", "", ""), "address.postal_code"),
            (pickup("US", "CA", "", "ABC"), "address.postal_code"),
        ];
        for (p, field) in cases {
            let got = validate_pickup_location(p.clone()).expect_err("invalid");
            assert_eq!(field_of(got), field, "{p:?}");
        }
        let mut blank = pickup("US", "CA", "", "94105");
        blank.name = " ".into();
        assert_eq!(
            field_of(validate_pickup_location(blank).unwrap_err()),
            "name"
        );
        let mut long = pickup("US", "CA", "", "94105");
        long.collection_instructions = "x".repeat(MAX_PICKUP_TEXT_LEN + 1);
        assert_eq!(
            field_of(validate_pickup_location(long).unwrap_err()),
            "collection_instructions"
        );
    }
}
