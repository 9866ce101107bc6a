//! The catalog as carts see it: products, their variants, the options that pick a
//! variant, and the modifiers that adjust a line's price. Field names follow
//! BigCommerce's Catalog V3.

use super::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProductType {
    #[default]
    Physical,
    Digital,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InventoryTracking {
    #[default]
    None,
    Product,
    Variant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    #[default]
    Available,
    Disabled,
    Preorder,
}

/// A catalog product with everything a cart needs to price and check a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub product_type: ProductType,
    pub sku: String,
    pub description: String,
    pub weight: Decimal,
    pub width: Decimal,
    pub depth: Decimal,
    pub height: Decimal,
    pub price: Money,
    pub cost_price: Money,
    pub retail_price: Money,
    /// Zero means "not on sale", as in BigCommerce.
    pub sale_price: Money,
    pub map_price: Money,
    pub tax_class_id: i64,
    pub categories: Vec<i64>,
    pub brand_id: i64,
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    pub inventory_tracking: InventoryTracking,
    pub is_visible: bool,
    pub is_free_shipping: bool,
    pub fixed_cost_shipping_price: Money,
    pub availability: Availability,
    pub order_quantity_minimum: i64,
    pub order_quantity_maximum: i64,
    pub url: String,
    pub image_url: String,
    pub date_created: i64,
    pub date_modified: i64,
    /// Always at least one: the base variant of a product without options.
    pub variants: Vec<Variant>,
    pub options: Vec<VariantOption>,
    pub modifiers: Vec<Modifier>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    /// `None` inherits the product's price.
    pub price: Option<Money>,
    pub sale_price: Option<Money>,
    pub retail_price: Option<Money>,
    pub map_price: Option<Money>,
    pub cost_price: Option<Money>,
    pub weight: Option<Decimal>,
    pub width: Option<Decimal>,
    pub height: Option<Decimal>,
    pub depth: Option<Decimal>,
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    pub purchasing_disabled: bool,
    pub purchasing_disabled_message: String,
    pub image_url: String,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    pub bin_picking_number: String,
    pub option_values: Vec<VariantOptionValueRef>,
}

/// Which value of which variant option a variant stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantOptionValueRef {
    pub id: i64,
    pub label: String,
    pub option_id: i64,
    pub option_display_name: String,
}

/// A variant option (size, colour): choosing one value of each picks a variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantOption {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub option_type: String,
    pub sort_order: i64,
    pub option_values: Vec<OptionValue>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionValue {
    pub id: i64,
    pub label: String,
    pub sort_order: i64,
    pub is_default: bool,
    #[serde(default)]
    pub value_data: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModifierType {
    Date,
    Checkbox,
    File,
    Text,
    MultiLineText,
    NumbersOnlyText,
    RadioButtons,
    Rectangles,
    Dropdown,
    ProductList,
    ProductListWithImages,
    Swatch,
}

impl ModifierType {
    /// Modifiers whose selection is one of their option values.
    pub fn has_values(self) -> bool {
        matches!(
            self,
            ModifierType::Checkbox
                | ModifierType::RadioButtons
                | ModifierType::Rectangles
                | ModifierType::Dropdown
                | ModifierType::ProductList
                | ModifierType::ProductListWithImages
                | ModifierType::Swatch
        )
    }
}

/// A modifier: a choice that does not pick a variant but may adjust price or weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Modifier {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub modifier_type: ModifierType,
    pub required: bool,
    pub sort_order: i64,
    /// BigCommerce's free-form `config` (text lengths, number limits, checkbox label…).
    #[serde(default)]
    pub config: serde_json::Value,
    pub option_values: Vec<ModifierValue>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModifierValue {
    pub id: i64,
    pub label: String,
    pub sort_order: i64,
    pub is_default: bool,
    #[serde(default)]
    pub value_data: Option<serde_json::Value>,
    #[serde(default)]
    pub adjustments: Adjustments,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Adjustments {
    #[serde(default)]
    pub price: Option<Adjuster>,
    #[serde(default)]
    pub weight: Option<Adjuster>,
    #[serde(default)]
    pub image_url: String,
    #[serde(default)]
    pub purchasing_disabled: PurchasingDisabled,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PurchasingDisabled {
    pub status: bool,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjusterKind {
    Relative,
    Percentage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adjuster {
    pub adjuster: AdjusterKind,
    pub adjuster_value: Decimal,
}

impl Adjuster {
    /// The amount this adjuster adds to `base` (a percentage is of `base`).
    pub fn amount_on(&self, base: Decimal) -> Decimal {
        match self.adjuster {
            AdjusterKind::Relative => self.adjuster_value,
            AdjusterKind::Percentage => base * self.adjuster_value / Decimal::ONE_HUNDRED,
        }
    }
}

impl Product {
    pub fn variant(&self, id: i64) -> Option<&Variant> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// The variant of a product without variant options.
    pub fn base_variant(&self) -> Option<&Variant> {
        if self.options.is_empty() {
            self.variants.first()
        } else {
            None
        }
    }

    /// Regular price of a variant before any sale.
    pub fn variant_price(&self, v: &Variant) -> Money {
        v.price.unwrap_or(self.price)
    }

    /// The price a shopper pays for a variant before modifiers: its sale price when
    /// one is set and below the regular price.
    pub fn variant_selling_price(&self, v: &Variant) -> Money {
        let regular = self.variant_price(v);
        let sale = match v.sale_price {
            Some(s) => s,
            None if v.price.is_none() => self.sale_price,
            None => Money::ZERO,
        };
        if sale > Money::ZERO && sale < regular {
            sale
        } else {
            regular
        }
    }

    pub fn variant_weight(&self, v: &Variant) -> Decimal {
        v.weight.unwrap_or(self.weight)
    }

    /// Units that can still be sold of a variant, or `None` when stock is not tracked.
    pub fn stock_of(&self, v: &Variant) -> Option<i64> {
        match self.inventory_tracking {
            InventoryTracking::None => None,
            InventoryTracking::Product => Some(self.inventory_level),
            InventoryTracking::Variant => Some(v.inventory_level),
        }
    }
}
