//! The demo store's tax rules as domain values (what `seed_demo_tax` stores), a shipping
//! configuration like the demo store's, and addresses in its zones, for programs that
//! price checkouts without a database: the pricing benchmark and the property tests.
//! Included with `#[path]`; callers adjust `settings` for their case.
#![allow(dead_code)]

use kassa::domain::address::Address;
use kassa::domain::money::Money;
use kassa::domain::shipping::{
    DefaultCostType, FreeShipping, HandlingFees, MethodSettings, MethodType, RateRange,
    ShippingConfig, ShippingMethod, ShippingZone, ZoneLocation, ZoneType,
};
use kassa::domain::tax::{
    self, ClassRate, ShopperTargetSettings, TaxClass, TaxConfig, TaxRate, TaxSettings, TaxZone,
    ZonePriceDisplay,
};
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn money(s: &str) -> Money {
    Money::new(dec(s))
}

pub const NON_TAXABLE_CLASS: i64 = 1;
pub const SHIPPING_CLASS: i64 = 2;
pub const GIFT_WRAPPING_CLASS: i64 = 3;

/// CA 7.25 %, NY 8.875 %, EU VAT 20 % on the default, shipping and gift-wrapping classes,
/// 0 % on the non-taxable class; per-line rounding, prices entered without tax.
pub fn demo_tax_config() -> TaxConfig {
    let us = |state: &str| ShopperTargetSettings {
        locations: vec![tax::ZoneLocation {
            country_code: "US".into(),
            subdivision_codes: vec![state.into()],
            postal_codes: vec![],
        }],
        customer_groups: vec![],
    };
    let zone = |id: i64, name: &str, targets| TaxZone {
        id,
        name: name.into(),
        enabled: true,
        price_display_settings: ZonePriceDisplay::default(),
        shopper_target_settings: targets,
    };
    let rate = |id: i64, name: &str, zone_id: i64, percent: Decimal| TaxRate {
        id,
        name: name.into(),
        enabled: true,
        priority: 1,
        class_rates: [0, SHIPPING_CLASS, GIFT_WRAPPING_CLASS]
            .iter()
            .map(|c| ClassRate {
                tax_class_id: *c,
                rate: percent,
            })
            .chain(std::iter::once(ClassRate {
                tax_class_id: NON_TAXABLE_CLASS,
                rate: Decimal::ZERO,
            }))
            .collect(),
        tax_zone_id: zone_id,
    };
    let class = |id: i64, name: &str| TaxClass {
        id,
        name: name.into(),
        created_at: 0,
        updated_at: 0,
    };
    TaxConfig {
        settings: TaxSettings {
            shipping_tax_class_id: SHIPPING_CLASS,
            gift_wrapping_tax_class_id: GIFT_WRAPPING_CLASS,
            ..TaxSettings::default()
        },
        zones: vec![
            TaxZone::default_zone(),
            zone(2, "California", us("CA")),
            zone(3, "New York", us("NY")),
            zone(
                4,
                "EU VAT",
                ShopperTargetSettings {
                    locations: ["AT", "BE", "DE", "ES", "FR", "IE", "IT", "NL"]
                        .iter()
                        .map(|c| tax::ZoneLocation {
                            country_code: (*c).into(),
                            subdivision_codes: vec![],
                            postal_codes: vec![],
                        })
                        .collect(),
                    customer_groups: vec![],
                },
            ),
        ],
        rates: vec![
            rate(1, "CA Sales Tax", 2, Decimal::new(725, 2)),
            rate(2, "NY Sales Tax", 3, Decimal::new(8875, 3)),
            rate(3, "VAT", 4, Decimal::from(20)),
        ],
        classes: vec![
            class(NON_TAXABLE_CLASS, "Non-Taxable Products"),
            class(SHIPPING_CLASS, "Shipping"),
            class(GIFT_WRAPPING_CLASS, "Gift Wrapping"),
        ],
    }
}

/// The demo store's shipping zones (US: flat, by weight, per item with handling; world:
/// flat), handling shown apart or not.
pub fn shipping_config(display_handling_separately: bool) -> ShippingConfig {
    let method =
        |id: i64, zone_id: i64, name: &str, method_type, settings, handling| ShippingMethod {
            id,
            zone_id,
            name: name.to_string(),
            method_type,
            settings,
            enabled: true,
            handling_fees: handling,
            tax_class_id: Some(0),
            is_fallback: false,
            channel_ids: vec![1],
        };
    let range = |lower: &str, upper: &str, cost: &str| RateRange {
        lower_limit: dec(lower),
        upper_limit: dec(upper),
        shipping_cost: money(cost),
    };
    ShippingConfig {
        zones: vec![
            ShippingZone {
                id: 1,
                name: "United States".into(),
                zone_type: ZoneType::Country,
                locations: vec![ZoneLocation {
                    id: 1,
                    country_iso2: "US".into(),
                    state_iso2: String::new(),
                    zip: String::new(),
                }],
                enabled: true,
                handling_fees: HandlingFees {
                    fixed_surcharge: money("1.00"),
                    percentage_surcharge: Decimal::ZERO,
                    display_separately: display_handling_separately,
                },
                free_shipping: FreeShipping {
                    enabled: true,
                    minimum_sub_total: money("100.00"),
                    exclude_fixed_shipping_products: false,
                },
            },
            ShippingZone {
                id: 2,
                name: "Rest of the world".into(),
                zone_type: ZoneType::Global,
                locations: vec![],
                enabled: true,
                handling_fees: HandlingFees::default(),
                free_shipping: FreeShipping::default(),
            },
        ],
        methods: vec![
            method(
                1,
                1,
                "Standard",
                MethodType::PerOrder,
                MethodSettings {
                    rate: money("7.50"),
                    ..Default::default()
                },
                HandlingFees::default(),
            ),
            // Nothing above 20 kg: heavy consignments are not offered this one.
            method(
                2,
                1,
                "Ground by weight",
                MethodType::Weight,
                MethodSettings {
                    rate: Money::ZERO,
                    default_cost: None,
                    default_cost_type: DefaultCostType::FixedAmount,
                    ranges: vec![
                        range("0", "1", "5.00"),
                        range("1", "5", "9.00"),
                        range("5", "20", "15.00"),
                    ],
                },
                HandlingFees::default(),
            ),
            method(
                3,
                1,
                "Per item",
                MethodType::PerItem,
                MethodSettings {
                    rate: money("1.25"),
                    ..Default::default()
                },
                HandlingFees {
                    fixed_surcharge: money("0.35"),
                    percentage_surcharge: dec("3.3"),
                    display_separately: false,
                },
            ),
            method(
                4,
                2,
                "International flat rate",
                MethodType::PerOrder,
                MethodSettings {
                    rate: money("25.00"),
                    ..Default::default()
                },
                HandlingFees::default(),
            ),
        ],
        pickup_locations: vec![],
    }
}

/// A shopper address: 0 = CA, 1 = NY, 2 = TX, anything else Germany.
pub fn address(place: usize) -> Address {
    let (country, country_name, state, state_name, postal) = match place {
        0 => ("US", "United States", "CA", "California", "94105"),
        1 => ("US", "United States", "NY", "New York", "10004"),
        2 => ("US", "United States", "TX", "Texas", "73301"),
        _ => ("DE", "Germany", "", "", "10115"),
    };
    Address {
        first_name: "Pat".into(),
        last_name: "Buyer".into(),
        email: "pat@example.com".into(),
        address1: "1 Main St".into(),
        city: "Somewhere".into(),
        state_or_province: state_name.into(),
        state_or_province_code: state.into(),
        country_code: country.into(),
        country: country_name.into(),
        postal_code: postal.into(),
        ..Address::default()
    }
}
