//! The demo store's tax rules as domain values (what `seed_demo_tax` stores), for programs
//! that price checkouts without a database: the pricing benchmark and the property tests.
//! Included with `#[path]`; callers adjust `settings` for their case.
#![allow(dead_code)]

use kassa::domain::tax::{
    self, ClassRate, ShopperTargetSettings, TaxClass, TaxConfig, TaxRate, TaxSettings, TaxZone,
    ZonePriceDisplay,
};
use rust_decimal::Decimal;

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
