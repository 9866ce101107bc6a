//! Promotions (BigCommerce's V3 promotions): automatic promotions and coupon
//! promotions, each an ordered list of rules (condition → action). This module holds the
//! stored shape; `discount.rs` evaluates promotions and coupons against a cart.
//!
//! Supported actions: `cart_value` (discount on the order subtotal), `cart_items`
//! (discount on matching items, including "buy X get Y" through a condition plus
//! `include_items_considered_by_condition`), and `shipping` (free shipping in zones).
//! `gift_item` and `fixed_price_set` are refused on write with a message saying so.
//!
//! Amounts are in the store's default currency; a promotion with a `currency_code`
//! other than `*` applies only to carts in that currency.

use super::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedemptionType {
    Automatic,
    Coupon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PromotionStatus {
    Enabled,
    Disabled,
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CouponKind {
    Single,
    Bulk,
}

/// A stored promotion. Usage counts live outside the document (`promotion_uses`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    pub id: i64,
    pub redemption_type: RedemptionType,
    pub name: String,
    pub display_name: String,
    /// Channel ids; empty = every channel.
    pub channels: Vec<i64>,
    pub customer: CustomerEligibility,
    pub rules: Vec<Rule>,
    /// 0 = unlimited.
    pub max_uses: i64,
    pub status: PromotionStatus,
    /// Unix seconds.
    pub start_date: i64,
    /// Unix seconds; `None` = never ends.
    pub end_date: Option<i64>,
    /// Stop evaluating promotions further down the priority list once this one applied.
    pub stop: bool,
    pub can_be_used_with_other_promotions: bool,
    /// ISO 4217 code, or `*` for every currency.
    pub currency_code: String,
    pub notifications: Vec<Notification>,
    /// ISO alpha-2 countries the shipping address must be in; empty = anywhere.
    #[serde(default)]
    pub shipping_countries: Vec<String>,
    #[serde(default)]
    pub coupon_type: Option<CouponKind>,
    #[serde(default)]
    pub coupon_overrides_other_promotions: bool,
    /// Codes of a coupon promotion.
    #[serde(default)]
    pub codes: Vec<PromotionCode>,
    /// Lower runs first; ties by id. Kassa's stand-in for the control panel's ordering.
    pub priority: i64,
    pub created_from: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerEligibility {
    /// Empty = any group. Group 0 = guests and customers without a group.
    pub group_ids: Vec<i64>,
    pub excluded_group_ids: Vec<i64>,
    pub minimum_order_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromotionCode {
    pub id: i64,
    pub code: String,
    /// 0 = unlimited.
    pub max_uses: i64,
    /// 0 = unlimited.
    pub max_uses_per_customer: i64,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub content: String,
    /// `UPSELL`, `ELIGIBLE` or `APPLIED`.
    #[serde(rename = "type")]
    pub kind: String,
    pub locations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub action: Action,
    /// False: the rule applies once per time its condition is met (e.g. one free Y per X).
    pub apply_once: bool,
    /// Stop executing this promotion's later rules once this one applied.
    pub stop: bool,
    pub condition: Option<Condition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CartValue {
        discount: Discount,
        maximum_allowed_discount_amount: Option<Money>,
    },
    CartItems(CartItemsAction),
    Shipping {
        /// Shipping zone ids; `None` = every zone (`"*"`).
        zone_ids: Option<Vec<i64>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartItemsAction {
    pub discount: Discount,
    pub maximum_allowed_discount_amount: Option<Money>,
    /// Spread one discount over the matching items by value instead of per item.
    pub as_total: bool,
    /// `None` = every item.
    pub items: Option<ItemMatcher>,
    /// Whether units that satisfied the condition may also be discounted.
    pub include_items_considered_by_condition: bool,
    pub exclude_items_on_sale: bool,
    pub strategy: Strategy,
    /// Units to discount; `None` = every matching unit.
    pub quantity: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Strategy {
    LeastExpensive,
    LeastExpensiveOnly,
    MostExpensive,
    MostExpensiveOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// Percent off (`10` = 10 %), 0–100.
    Percentage(Decimal),
    Fixed(Money),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Cart {
        items: Option<ItemMatcher>,
        minimum_spend: Option<Money>,
        minimum_quantity: Option<i64>,
    },
    And(Vec<Condition>),
}

/// Which cart items a condition or action considers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemMatcher {
    Brands(Vec<i64>),
    Categories(Vec<i64>),
    Products(Vec<i64>),
    Variants(Vec<i64>),
    And(Vec<ItemMatcher>),
    Or(Vec<ItemMatcher>),
    Not(Box<ItemMatcher>),
}

/// What an item matcher can see of a cart line.
#[derive(Clone, Copy, Debug)]
pub struct ItemFacts<'a> {
    pub product_id: i64,
    pub variant_id: i64,
    pub brand_id: i64,
    pub category_ids: &'a [i64],
}

impl ItemMatcher {
    pub fn matches(&self, item: &ItemFacts<'_>) -> bool {
        match self {
            ItemMatcher::Brands(ids) => ids.contains(&item.brand_id),
            ItemMatcher::Categories(ids) => ids.iter().any(|c| item.category_ids.contains(c)),
            ItemMatcher::Products(ids) => ids.contains(&item.product_id),
            ItemMatcher::Variants(ids) => ids.contains(&item.variant_id),
            ItemMatcher::And(all) => all.iter().all(|m| m.matches(item)),
            ItemMatcher::Or(any) => any.iter().any(|m| m.matches(item)),
            ItemMatcher::Not(m) => !m.matches(item),
        }
    }
}

impl Promotion {
    /// Enabled and within its dates (usage limits are checked against the counters).
    pub fn is_live(&self, now: i64) -> bool {
        self.status == PromotionStatus::Enabled
            && now >= self.start_date
            && self.end_date.is_none_or(|end| now < end)
    }

    pub fn applies_to_currency(&self, code: &str) -> bool {
        self.currency_code == "*" || self.currency_code.eq_ignore_ascii_case(code)
    }

    pub fn applies_to_channel(&self, channel_id: i64) -> bool {
        self.channels.is_empty() || self.channels.contains(&channel_id)
    }

    /// The code of a coupon promotion matching what the shopper typed (any case).
    pub fn code(&self, typed: &str) -> Option<&PromotionCode> {
        self.codes
            .iter()
            .find(|c| c.code.trim().eq_ignore_ascii_case(typed.trim()))
    }

    /// Customer-facing name: the display name, else the internal one.
    pub fn shown_name(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }
}

/// Store-wide promotion settings (the control panel's "Promotion settings").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PromotionSettings {
    /// Whether a checkout may carry more than one coupon code.
    #[serde(default)]
    pub multiple_coupons: bool,
}
