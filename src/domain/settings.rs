//! A store's own configuration that checkouts depend on.

use super::money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreSettings {
    /// Currencies the store transacts in; the first is the default (catalog) currency.
    pub currencies: Vec<Currency>,
    /// Catalog prices already include tax.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// Global cart setting: whether shoppers may purchase at all.
    #[serde(default = "yes")]
    pub allow_purchasing: bool,
    #[serde(default = "default_locale")]
    pub default_locale: String,
    /// How long an unpaid order keeps its stock, coupon uses and balances (minutes).
    #[serde(default = "default_reservation_minutes")]
    pub order_reservation_minutes: i64,
    /// The host name shoppers reach this store's storefront at (no port); the
    /// Storefront API picks the store whose domain matches the request's `Host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storefront_domain: Option<String>,
    /// Origins (`https://shop.example`) whose pages may call the Storefront API
    /// from the browser with the shopper's cookies (CORS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storefront_origins: Vec<String>,
    /// Offline payment methods (`cheque`, `bankdeposit`, `cod`, `moneyorder`) the
    /// storefront checkout offers besides the card, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offline_payment_methods: Vec<String>,
}

/// BigCommerce-like default: an hour to pay before the order's stock is released.
pub const DEFAULT_RESERVATION_MINUTES: i64 = 60;

fn default_reservation_minutes() -> i64 {
    DEFAULT_RESERVATION_MINUTES
}

fn yes() -> bool {
    true
}

fn default_locale() -> String {
    "en".to_string()
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            currencies: vec![Currency::new("USD", 2, Decimal::ONE)],
            prices_include_tax: false,
            allow_purchasing: true,
            default_locale: default_locale(),
            order_reservation_minutes: DEFAULT_RESERVATION_MINUTES,
            storefront_domain: None,
            storefront_origins: Vec::new(),
            offline_payment_methods: Vec::new(),
        }
    }
}

impl StoreSettings {
    pub fn default_currency(&self) -> Currency {
        self.currencies
            .first()
            .cloned()
            .unwrap_or_else(|| Currency::new("USD", 2, Decimal::ONE))
    }

    /// The storefront domain as stored and matched: lower-case, no port, no trailing dot.
    pub fn normalized_domain(&self) -> Option<String> {
        self.storefront_domain
            .as_deref()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
    }

    /// The store's currency with this ISO code, case-insensitively.
    pub fn currency(&self, code: &str) -> Option<Currency> {
        self.currencies
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code.trim()))
            .cloned()
    }
}
