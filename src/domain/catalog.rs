//! The catalog as carts see it: products, their variants, the options that pick a
//! variant, and the modifiers that adjust a line's price. Field names follow
//! BigCommerce's Catalog V3.

use super::DomainError;
use super::money::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

    /// Whether any stock of this product is counted.
    pub fn tracks_stock(&self) -> bool {
        self.inventory_tracking != InventoryTracking::None
    }

    /// Takes `quantity` units of a variant out of stock (a negative quantity puts units
    /// back). Untracked stock is never touched. Refused, leaving the product unchanged,
    /// when fewer units are left than asked for.
    pub fn take_stock(&mut self, variant_id: i64, quantity: i64) -> Result<(), DomainError> {
        let level = match self.inventory_tracking {
            InventoryTracking::None => return Ok(()),
            InventoryTracking::Product => &mut self.inventory_level,
            InventoryTracking::Variant => {
                match self.variants.iter_mut().find(|v| v.id == variant_id) {
                    Some(v) => &mut v.inventory_level,
                    // A variant deleted since the order was placed: nothing to count.
                    None if quantity < 0 => return Ok(()),
                    None => {
                        return Err(DomainError::invalid(format!(
                            "{} no longer has the variant {variant_id}; remove it from the cart.",
                            self.name
                        )));
                    }
                }
            }
        };
        if quantity > *level {
            return Err(DomainError::invalid(if *level <= 0 {
                format!("{} is out of stock.", self.name)
            } else {
                format!(
                    "Only {} of {} are in stock; the order asks for {quantity}.",
                    *level, self.name
                )
            }));
        }
        *level -= quantity;
        Ok(())
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

// ---------------------------------------------------------------------------
// Catalog administration: the rules behind the Catalog V3 admin API.
// ---------------------------------------------------------------------------

/// The variant option types BigCommerce accepts.
pub const VARIANT_OPTION_TYPES: &[&str] = &[
    "radio_buttons",
    "rectangles",
    "dropdown",
    "product_list",
    "product_list_with_images",
    "swatch",
];

/// The option type given to options created from a variant's `option_values` labels.
pub const INLINE_OPTION_TYPE: &str = "rectangles";

const MAX_DIMENSION: i64 = 9_999_999_999;
const MAX_INVENTORY: i64 = 2_147_483_647;
const MAX_ORDER_QUANTITY: i64 = 1_000_000_000;

/// Listing and merchandising fields of a product that carts never read. They are
/// kept beside the [`Product`] (in the same stored document) so the cart-facing type
/// stays small; every field has a default so older documents stay readable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductDetails {
    pub is_featured: bool,
    pub related_products: Vec<i64>,
    pub warranty: String,
    pub bin_picking_number: String,
    pub layout_file: String,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    pub search_keywords: String,
    pub availability_description: String,
    pub gift_wrapping_options_type: String,
    pub gift_wrapping_options_list: Vec<i64>,
    pub sort_order: i64,
    pub condition: String,
    pub is_condition_shown: bool,
    pub page_title: String,
    pub meta_keywords: Vec<String>,
    pub meta_description: String,
    pub preorder_release_date: Option<String>,
    pub preorder_message: String,
    pub is_preorder_only: bool,
    pub is_price_hidden: bool,
    pub price_hidden_label: String,
    pub custom_url_is_customized: bool,
    pub open_graph_type: String,
    pub open_graph_title: String,
    pub open_graph_description: String,
    pub open_graph_use_meta_description: bool,
    pub open_graph_use_product_name: bool,
    pub open_graph_use_image: bool,
    pub product_tax_code: String,
    /// Per-variant shipping fields, by variant id.
    pub variants: BTreeMap<i64, VariantDetails>,
    /// Each variant option's free-form `config`, by option id.
    pub option_configs: BTreeMap<i64, serde_json::Value>,
}

impl Default for ProductDetails {
    fn default() -> Self {
        ProductDetails {
            is_featured: false,
            related_products: Vec::new(),
            warranty: String::new(),
            bin_picking_number: String::new(),
            layout_file: String::new(),
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            search_keywords: String::new(),
            availability_description: String::new(),
            gift_wrapping_options_type: "any".into(),
            gift_wrapping_options_list: Vec::new(),
            sort_order: 0,
            condition: "New".into(),
            is_condition_shown: false,
            page_title: String::new(),
            meta_keywords: Vec::new(),
            meta_description: String::new(),
            preorder_release_date: None,
            preorder_message: String::new(),
            is_preorder_only: false,
            is_price_hidden: false,
            price_hidden_label: String::new(),
            custom_url_is_customized: false,
            open_graph_type: "product".into(),
            open_graph_title: String::new(),
            open_graph_description: String::new(),
            open_graph_use_meta_description: true,
            open_graph_use_product_name: true,
            open_graph_use_image: true,
            product_tax_code: String::new(),
            variants: BTreeMap::new(),
            option_configs: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariantDetails {
    pub is_free_shipping: bool,
    pub fixed_cost_shipping_price: Option<Money>,
}

/// A product as the catalog admin sees it: what carts use plus its listing details.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogProduct {
    pub product: Product,
    pub details: ProductDetails,
}

/// Changes to a product (a create is a change to a blank product). `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub product_type: Option<ProductType>,
    pub sku: Option<String>,
    pub description: Option<String>,
    pub weight: Option<Decimal>,
    pub width: Option<Decimal>,
    pub depth: Option<Decimal>,
    pub height: Option<Decimal>,
    pub price: Option<Money>,
    pub cost_price: Option<Money>,
    pub retail_price: Option<Money>,
    pub sale_price: Option<Money>,
    pub map_price: Option<Money>,
    pub tax_class_id: Option<i64>,
    pub categories: Option<Vec<i64>>,
    pub brand_id: Option<i64>,
    pub inventory_level: Option<i64>,
    pub inventory_warning_level: Option<i64>,
    pub inventory_tracking: Option<InventoryTracking>,
    pub is_visible: Option<bool>,
    pub is_free_shipping: Option<bool>,
    pub fixed_cost_shipping_price: Option<Money>,
    pub availability: Option<Availability>,
    pub order_quantity_minimum: Option<i64>,
    pub order_quantity_maximum: Option<i64>,
    /// `custom_url.url` and `custom_url.is_customized`.
    pub custom_url: Option<(String, Option<bool>)>,
    pub details: DetailsInput,
    /// On create: the variants to make (options come from their labels). On update:
    /// changes to existing variants, each naming its `id`.
    pub variants: Option<Vec<VariantInput>>,
}

/// Changes to [`ProductDetails`]; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct DetailsInput {
    pub is_featured: Option<bool>,
    pub related_products: Option<Vec<i64>>,
    pub warranty: Option<String>,
    pub bin_picking_number: Option<String>,
    pub layout_file: Option<String>,
    pub upc: Option<String>,
    pub mpn: Option<String>,
    pub gtin: Option<String>,
    pub search_keywords: Option<String>,
    pub availability_description: Option<String>,
    pub gift_wrapping_options_type: Option<String>,
    pub gift_wrapping_options_list: Option<Vec<i64>>,
    pub sort_order: Option<i64>,
    pub condition: Option<String>,
    pub is_condition_shown: Option<bool>,
    pub page_title: Option<String>,
    pub meta_keywords: Option<Vec<String>>,
    pub meta_description: Option<String>,
    pub preorder_release_date: Option<Option<String>>,
    pub preorder_message: Option<String>,
    pub is_preorder_only: Option<bool>,
    pub is_price_hidden: Option<bool>,
    pub price_hidden_label: Option<String>,
    pub open_graph_type: Option<String>,
    pub open_graph_title: Option<String>,
    pub open_graph_description: Option<String>,
    pub open_graph_use_meta_description: Option<bool>,
    pub open_graph_use_product_name: Option<bool>,
    pub open_graph_use_image: Option<bool>,
    pub product_tax_code: Option<String>,
}

/// Which option value a variant stands for: by ids, or by option name and label.
#[derive(Clone, Debug, Default)]
pub struct OptionValueChoice {
    pub id: Option<i64>,
    pub option_id: Option<i64>,
    pub label: Option<String>,
    pub option_display_name: Option<String>,
}

/// Changes to a variant. The outer `Option` is "sent or not"; an inner `None` on a
/// nullable field means "inherit from the product".
#[derive(Clone, Debug, Default)]
pub struct VariantInput {
    pub id: Option<i64>,
    pub sku: Option<String>,
    pub price: Option<Option<Money>>,
    pub sale_price: Option<Option<Money>>,
    pub retail_price: Option<Option<Money>>,
    pub map_price: Option<Option<Money>>,
    pub cost_price: Option<Option<Money>>,
    pub weight: Option<Option<Decimal>>,
    pub width: Option<Option<Decimal>>,
    pub height: Option<Option<Decimal>>,
    pub depth: Option<Option<Decimal>>,
    pub inventory_level: Option<i64>,
    pub inventory_warning_level: Option<i64>,
    pub purchasing_disabled: Option<bool>,
    pub purchasing_disabled_message: Option<String>,
    pub image_url: Option<String>,
    pub upc: Option<String>,
    pub mpn: Option<String>,
    pub gtin: Option<String>,
    pub bin_picking_number: Option<String>,
    pub is_free_shipping: Option<bool>,
    pub fixed_cost_shipping_price: Option<Option<Money>>,
    pub option_values: Option<Vec<OptionValueChoice>>,
}

#[derive(Clone, Debug, Default)]
pub struct OptionValueInput {
    pub id: Option<i64>,
    pub label: Option<String>,
    pub sort_order: Option<i64>,
    pub is_default: Option<bool>,
    pub value_data: Option<Option<serde_json::Value>>,
}

#[derive(Clone, Debug, Default)]
pub struct OptionInput {
    pub display_name: Option<String>,
    pub option_type: Option<String>,
    pub sort_order: Option<i64>,
    pub config: Option<serde_json::Value>,
    pub option_values: Option<Vec<OptionValueInput>>,
}

#[derive(Clone, Debug, Default)]
pub struct ModifierValueInput {
    pub value: OptionValueInput,
    pub adjusters: Option<Adjustments>,
}

#[derive(Clone, Debug, Default)]
pub struct ModifierInput {
    pub display_name: Option<String>,
    pub modifier_type: Option<ModifierType>,
    pub required: Option<bool>,
    pub sort_order: Option<i64>,
    pub config: Option<serde_json::Value>,
    pub option_values: Option<Vec<ModifierValueInput>>,
}

/// Ids a new product takes, reserved by the caller from the store's counters.
#[derive(Clone, Copy, Debug)]
pub struct NewProductIds {
    pub product: i64,
    pub first_variant: i64,
    pub first_option: i64,
    pub first_option_value: i64,
}

/// How many ids of each kind creating a product will use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdNeeds {
    pub variants: i64,
    pub options: i64,
    pub option_values: i64,
}

/// The options a product's inline variants imply, in order of first appearance:
/// display name and its labels.
fn inline_options(variants: &[VariantInput]) -> Result<Vec<(String, Vec<String>)>, DomainError> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        for (j, c) in v.option_values.iter().flatten().enumerate() {
            let field = format!("variants[{i}].option_values[{j}]");
            let name = c
                .option_display_name
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    DomainError::field(
                        format!("{field}.option_display_name"),
                        "Name the option of each variant value (option_display_name).",
                    )
                })?;
            let label = c
                .label
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    DomainError::field(format!("{field}.label"), "Give each variant value a label.")
                })?;
            check_len(name, 255, &format!("{field}.option_display_name"))?;
            check_len(label, 255, &format!("{field}.label"))?;
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, labels)) => {
                    if !labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                        labels.push(label.to_string());
                    }
                }
                None => out.push((name.to_string(), vec![label.to_string()])),
            }
        }
    }
    Ok(out)
}

/// The ids creating this product needs (so they can be reserved in one step each).
pub fn id_needs(input: &ProductInput) -> Result<IdNeeds, DomainError> {
    let variants = input.variants.as_deref().unwrap_or_default();
    let options = inline_options(variants)?;
    Ok(IdNeeds {
        variants: variants.len().max(1) as i64,
        options: options.len() as i64,
        option_values: options.iter().map(|(_, l)| l.len() as i64).sum(),
    })
}

/// How many new option value ids an option or modifier request needs.
pub fn new_value_count(values: Option<&[OptionValueInput]>) -> i64 {
    values
        .unwrap_or_default()
        .iter()
        .filter(|v| v.id.is_none())
        .count() as i64
}

/// How many value ids a new modifier needs (a checkbox sent without values gets Yes/No).
pub fn modifier_value_ids_needed(input: &ModifierInput) -> i64 {
    let sent = input
        .option_values
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|v| v.value.id.is_none())
        .count() as i64;
    if input.modifier_type == Some(ModifierType::Checkbox) && sent == 0 {
        2
    } else {
        sent
    }
}

fn check_len(s: &str, max: usize, field: &str) -> Result<(), DomainError> {
    if s.chars().count() > max {
        return Err(DomainError::field(
            field,
            format!("{field} must be at most {max} characters."),
        ));
    }
    Ok(())
}

fn check_money(m: Money, field: &str) -> Result<(), DomainError> {
    if m.is_negative() {
        return Err(DomainError::field(
            field,
            format!("{field} cannot be negative."),
        ));
    }
    if m.amount() > Decimal::from(1_000_000_000_000i64) {
        return Err(DomainError::field(field, format!("{field} is too large.")));
    }
    Ok(())
}

fn check_measure(d: Decimal, field: &str) -> Result<(), DomainError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(DomainError::field(
            field,
            format!("{field} cannot be negative."),
        ));
    }
    if d > Decimal::from(MAX_DIMENSION) {
        return Err(DomainError::field(field, format!("{field} is too large.")));
    }
    Ok(())
}

fn check_range(v: i64, min: i64, max: i64, field: &str) -> Result<(), DomainError> {
    if v < min || v > max {
        return Err(DomainError::field(
            field,
            format!("{field} must be between {min} and {max}."),
        ));
    }
    Ok(())
}

fn required<T: Clone>(v: &Option<T>, field: &str) -> Result<T, DomainError> {
    v.clone()
        .ok_or_else(|| DomainError::field(field, format!("{field} is required.")))
}

/// A storefront path made from a product name: `/blue-mug/`.
pub fn url_slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    format!("/{}/", slug.trim_end_matches('-'))
}

impl Product {
    /// A product with nothing set yet but its id, name and times.
    fn blank(id: i64, name: String, now: i64) -> Product {
        Product {
            id,
            url: url_slug(&name),
            name,
            product_type: ProductType::Physical,
            sku: String::new(),
            description: String::new(),
            weight: Decimal::ZERO,
            width: Decimal::ZERO,
            depth: Decimal::ZERO,
            height: Decimal::ZERO,
            price: Money::ZERO,
            cost_price: Money::ZERO,
            retail_price: Money::ZERO,
            sale_price: Money::ZERO,
            map_price: Money::ZERO,
            tax_class_id: 0,
            categories: Vec::new(),
            brand_id: 0,
            inventory_level: 0,
            inventory_warning_level: 0,
            inventory_tracking: InventoryTracking::None,
            is_visible: true,
            is_free_shipping: false,
            fixed_cost_shipping_price: Money::ZERO,
            availability: Availability::Available,
            order_quantity_minimum: 0,
            order_quantity_maximum: 0,
            image_url: String::new(),
            date_created: now,
            date_modified: now,
            variants: Vec::new(),
            options: Vec::new(),
            modifiers: Vec::new(),
        }
    }

    /// The price the storefront shows before modifiers: the sale price when it is
    /// set and below the price.
    pub fn calculated_price(&self) -> Money {
        if self.sale_price > Money::ZERO && self.sale_price < self.price {
            self.sale_price
        } else {
            self.price
        }
    }

    /// Stock as the catalog reports it: the sum over variants when tracked per variant.
    pub fn reported_inventory_level(&self) -> i64 {
        match self.inventory_tracking {
            InventoryTracking::Variant => self
                .variants
                .iter()
                .map(|v| v.inventory_level)
                .sum::<i64>()
                .min(MAX_INVENTORY),
            _ => self.inventory_level,
        }
    }

    pub fn base_variant_id(&self) -> Option<i64> {
        self.base_variant().map(|v| v.id)
    }
}

impl Variant {
    /// A variant with nothing set: it inherits price and weight from its product.
    pub fn blank(id: i64, product_id: i64) -> Variant {
        Variant {
            id,
            product_id,
            sku: String::new(),
            price: None,
            sale_price: None,
            retail_price: None,
            map_price: None,
            cost_price: None,
            weight: None,
            width: None,
            height: None,
            depth: None,
            inventory_level: 0,
            inventory_warning_level: 0,
            purchasing_disabled: false,
            purchasing_disabled_message: String::new(),
            image_url: String::new(),
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            bin_picking_number: String::new(),
            option_values: Vec::new(),
        }
    }
}

fn apply_details(d: &mut ProductDetails, i: &DetailsInput) -> Result<(), DomainError> {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = &i.$f { d.$f = v.clone(); } )* };
    }
    set!(
        is_featured,
        related_products,
        warranty,
        bin_picking_number,
        layout_file,
        upc,
        mpn,
        gtin,
        search_keywords,
        availability_description,
        gift_wrapping_options_list,
        is_condition_shown,
        page_title,
        meta_keywords,
        meta_description,
        preorder_release_date,
        preorder_message,
        is_preorder_only,
        is_price_hidden,
        price_hidden_label,
        open_graph_title,
        open_graph_description,
        open_graph_use_meta_description,
        open_graph_use_product_name,
        open_graph_use_image,
        product_tax_code
    );
    for (v, field, max) in [
        (&i.upc, "upc", 14),
        (&i.gtin, "gtin", 14),
        (&i.bin_picking_number, "bin_picking_number", 255),
        (&i.availability_description, "availability_description", 255),
        (&i.page_title, "page_title", 255),
        (&i.preorder_message, "preorder_message", 255),
        (&i.price_hidden_label, "price_hidden_label", 200),
        (&i.product_tax_code, "product_tax_code", 255),
        (&i.layout_file, "layout_file", 500),
    ] {
        if let Some(s) = v {
            check_len(s, max, field)?;
        }
    }
    if let Some(t) = &i.gift_wrapping_options_type {
        if !["any", "none", "list"].contains(&t.as_str()) {
            return Err(DomainError::field(
                "gift_wrapping_options_type",
                "gift_wrapping_options_type must be one of any, none, list.",
            ));
        }
        d.gift_wrapping_options_type = t.clone();
    }
    if let Some(c) = &i.condition {
        if !["New", "Used", "Refurbished"].contains(&c.as_str()) {
            return Err(DomainError::field(
                "condition",
                "condition must be one of New, Used, Refurbished.",
            ));
        }
        d.condition = c.clone();
    }
    if let Some(t) = &i.open_graph_type {
        const KINDS: &[&str] = &[
            "product", "album", "book", "drink", "food", "game", "movie", "song", "tv_show",
        ];
        if !KINDS.contains(&t.as_str()) {
            return Err(DomainError::field(
                "open_graph_type",
                format!("open_graph_type must be one of {}.", KINDS.join(", ")),
            ));
        }
        d.open_graph_type = t.clone();
    }
    if let Some(s) = i.sort_order {
        check_range(s, i32::MIN.into(), i32::MAX.into(), "sort_order")?;
        d.sort_order = s;
    }
    Ok(())
}

/// Applies the product-level fields of `input` (not its variants), checking each.
fn apply_product_fields(cp: &mut CatalogProduct, input: &ProductInput) -> Result<(), DomainError> {
    let p = &mut cp.product;
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::field("name", "name cannot be empty."));
        }
        check_len(name, 250, "name")?;
        if !cp.details.custom_url_is_customized && input.custom_url.is_none() {
            p.url = url_slug(name);
        }
        p.name = name.to_string();
    }
    if let Some(t) = input.product_type {
        p.product_type = t;
    }
    if let Some(sku) = &input.sku {
        check_len(sku.trim(), 255, "sku")?;
        p.sku = sku.trim().to_string();
    }
    if let Some(d) = &input.description {
        p.description = d.clone();
    }
    for (v, field, target) in [
        (input.weight, "weight", &mut p.weight),
        (input.width, "width", &mut p.width),
        (input.depth, "depth", &mut p.depth),
        (input.height, "height", &mut p.height),
    ] {
        if let Some(v) = v {
            check_measure(v, field)?;
            *target = v;
        }
    }
    for (v, field, target) in [
        (input.price, "price", &mut p.price),
        (input.cost_price, "cost_price", &mut p.cost_price),
        (input.retail_price, "retail_price", &mut p.retail_price),
        (input.sale_price, "sale_price", &mut p.sale_price),
        (input.map_price, "map_price", &mut p.map_price),
        (
            input.fixed_cost_shipping_price,
            "fixed_cost_shipping_price",
            &mut p.fixed_cost_shipping_price,
        ),
    ] {
        if let Some(v) = v {
            check_money(v, field)?;
            *target = v;
        }
    }
    if let Some(t) = input.tax_class_id {
        check_range(t, 0, 255, "tax_class_id")?;
        p.tax_class_id = t;
    }
    if let Some(c) = &input.categories {
        if c.len() > 1000 {
            return Err(DomainError::field(
                "categories",
                "A product can be in at most 1000 categories.",
            ));
        }
        if c.iter().any(|id| *id < 0) {
            return Err(DomainError::field(
                "categories",
                "Category ids cannot be negative.",
            ));
        }
        let mut c = c.clone();
        c.dedup();
        p.categories = c;
    }
    if let Some(b) = input.brand_id {
        check_range(b, 0, 1_000_000_000, "brand_id")?;
        p.brand_id = b;
    }
    if let Some(l) = input.inventory_level {
        check_range(l, 0, MAX_INVENTORY, "inventory_level")?;
        p.inventory_level = l;
    }
    if let Some(l) = input.inventory_warning_level {
        check_range(l, 0, MAX_INVENTORY, "inventory_warning_level")?;
        p.inventory_warning_level = l;
    }
    if let Some(t) = input.inventory_tracking {
        p.inventory_tracking = t;
    }
    if let Some(v) = input.is_visible {
        p.is_visible = v;
    }
    if let Some(v) = input.is_free_shipping {
        p.is_free_shipping = v;
    }
    if let Some(a) = input.availability {
        p.availability = a;
    }
    if let Some(q) = input.order_quantity_minimum {
        check_range(q, 0, MAX_ORDER_QUANTITY, "order_quantity_minimum")?;
        p.order_quantity_minimum = q;
    }
    if let Some(q) = input.order_quantity_maximum {
        check_range(q, 0, MAX_ORDER_QUANTITY, "order_quantity_maximum")?;
        p.order_quantity_maximum = q;
    }
    if p.order_quantity_minimum > 0
        && p.order_quantity_maximum > 0
        && p.order_quantity_minimum > p.order_quantity_maximum
    {
        return Err(DomainError::field(
            "order_quantity_maximum",
            "order_quantity_maximum cannot be below order_quantity_minimum.",
        ));
    }
    if let Some((url, customized)) = &input.custom_url {
        let url = url.trim();
        if url.is_empty() || !url.starts_with('/') {
            return Err(DomainError::field(
                "custom_url.url",
                "custom_url.url must be a path starting with `/`.",
            ));
        }
        check_len(url, 255, "custom_url.url")?;
        p.url = url.to_string();
        cp.details.custom_url_is_customized = customized.unwrap_or(true);
    }
    apply_details(&mut cp.details, &input.details)
}

fn apply_variant(
    v: &mut Variant,
    d: &mut VariantDetails,
    input: &VariantInput,
    field: &str,
) -> Result<(), DomainError> {
    let f = |name: &str| {
        if field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        }
    };
    if let Some(sku) = &input.sku {
        let sku = sku.trim();
        check_len(sku, 255, &f("sku"))?;
        v.sku = sku.to_string();
    }
    for (val, name, target) in [
        (input.price, "price", &mut v.price),
        (input.sale_price, "sale_price", &mut v.sale_price),
        (input.retail_price, "retail_price", &mut v.retail_price),
        (input.map_price, "map_price", &mut v.map_price),
        (input.cost_price, "cost_price", &mut v.cost_price),
    ] {
        if let Some(val) = val {
            if let Some(m) = val {
                check_money(m, &f(name))?;
            }
            *target = val;
        }
    }
    for (val, name, target) in [
        (input.weight, "weight", &mut v.weight),
        (input.width, "width", &mut v.width),
        (input.height, "height", &mut v.height),
        (input.depth, "depth", &mut v.depth),
    ] {
        if let Some(val) = val {
            if let Some(m) = val {
                check_measure(m, &f(name))?;
            }
            *target = val;
        }
    }
    if let Some(l) = input.inventory_level {
        check_range(l, 0, MAX_INVENTORY, &f("inventory_level"))?;
        v.inventory_level = l;
    }
    if let Some(l) = input.inventory_warning_level {
        check_range(l, 0, MAX_INVENTORY, &f("inventory_warning_level"))?;
        v.inventory_warning_level = l;
    }
    if let Some(b) = input.purchasing_disabled {
        v.purchasing_disabled = b;
    }
    for (val, name, max, target) in [
        (
            &input.purchasing_disabled_message,
            "purchasing_disabled_message",
            255,
            &mut v.purchasing_disabled_message,
        ),
        (&input.image_url, "image_url", 2048, &mut v.image_url),
        (&input.upc, "upc", 14, &mut v.upc),
        (&input.mpn, "mpn", 255, &mut v.mpn),
        (&input.gtin, "gtin", 14, &mut v.gtin),
        (
            &input.bin_picking_number,
            "bin_picking_number",
            255,
            &mut v.bin_picking_number,
        ),
    ] {
        if let Some(s) = val {
            check_len(s, max, &f(name))?;
            *target = s.clone();
        }
    }
    if let Some(b) = input.is_free_shipping {
        d.is_free_shipping = b;
    }
    if let Some(val) = input.fixed_cost_shipping_price {
        if let Some(m) = val {
            check_money(m, &f("fixed_cost_shipping_price"))?;
        }
        d.fixed_cost_shipping_price = val;
    }
    Ok(())
}

/// Finds the option value a variant choice names, by ids or by option name and label.
fn resolve_choice(
    options: &[VariantOption],
    c: &OptionValueChoice,
    field: &str,
) -> Result<VariantOptionValueRef, DomainError> {
    let option = match (c.option_id, &c.option_display_name) {
        (Some(oid), _) => options.iter().find(|o| o.id == oid).ok_or_else(|| {
            DomainError::field(
                format!("{field}.option_id"),
                format!("Option {oid} is not an option of this product."),
            )
        })?,
        (None, Some(name)) => options
            .iter()
            .find(|o| o.display_name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                DomainError::field(
                    format!("{field}.option_display_name"),
                    format!("This product has no option named `{name}`."),
                )
            })?,
        (None, None) => {
            // A value id alone is enough: find its option.
            let id = c.id.ok_or_else(|| {
                DomainError::field(
                    format!("{field}.option_id"),
                    "Each option value needs option_id and id (or option_display_name and label).",
                )
            })?;
            options
                .iter()
                .find(|o| o.option_values.iter().any(|v| v.id == id))
                .ok_or_else(|| {
                    DomainError::field(
                        format!("{field}.id"),
                        format!("Option value {id} is not a value of this product's options."),
                    )
                })?
        }
    };
    let value = match (c.id, &c.label) {
        (Some(id), _) => option.option_values.iter().find(|v| v.id == id),
        (None, Some(label)) => option
            .option_values
            .iter()
            .find(|v| v.label.eq_ignore_ascii_case(label.trim())),
        (None, None) => None,
    }
    .ok_or_else(|| {
        DomainError::field(
            format!("{field}.id"),
            format!(
                "The value is not one of the values of option {} ({}).",
                option.id, option.display_name
            ),
        )
    })?;
    Ok(VariantOptionValueRef {
        id: value.id,
        label: value.label.clone(),
        option_id: option.id,
        option_display_name: option.display_name.clone(),
    })
}

/// The invariants every saved product keeps: at least one variant; with no options,
/// exactly one (base) variant; with options, each variant picks one value of every
/// option (the base variant may linger until the first real variant replaces it),
/// no two variants pick the same values, and variant SKUs are distinct.
pub fn check_consistency(p: &Product) -> Result<(), DomainError> {
    if p.variants.is_empty() {
        return Err(DomainError::field(
            "variants",
            "A product needs at least one variant.",
        ));
    }
    if p.options.is_empty() {
        if p.variants.len() != 1 || !p.variants[0].option_values.is_empty() {
            return Err(DomainError::field(
                "variants",
                "A product without options has exactly one variant.",
            ));
        }
    } else {
        let mut combos: Vec<Vec<i64>> = Vec::new();
        for (i, v) in p.variants.iter().enumerate() {
            if v.option_values.is_empty() && p.variants.len() == 1 {
                continue;
            }
            let field = format!("variants[{i}].option_values");
            let mut combo = Vec::new();
            for o in &p.options {
                let picked: Vec<_> = v
                    .option_values
                    .iter()
                    .filter(|ov| ov.option_id == o.id)
                    .collect();
                if picked.len() != 1 {
                    return Err(DomainError::field(
                        field,
                        format!(
                            "Each variant must pick exactly one value of option {} ({}).",
                            o.id, o.display_name
                        ),
                    ));
                }
                if !o.option_values.iter().any(|ov| ov.id == picked[0].id) {
                    return Err(DomainError::field(
                        field,
                        format!("Value {} is not a value of option {}.", picked[0].id, o.id),
                    ));
                }
                combo.push(picked[0].id);
            }
            if v.option_values.len() != p.options.len() {
                return Err(DomainError::field(
                    field,
                    "A variant names a value of an option this product does not have.",
                ));
            }
            if combos.contains(&combo) {
                return Err(DomainError::field(
                    field,
                    "Another variant already has these option values.",
                ));
            }
            combos.push(combo);
        }
    }
    let mut skus: Vec<String> = Vec::new();
    for (i, v) in p.variants.iter().enumerate() {
        if v.sku.is_empty() {
            continue;
        }
        let key = v.sku.to_lowercase();
        if skus.contains(&key) {
            return Err(DomainError::field(
                format!("variants[{i}].sku"),
                format!(
                    "SKU `{}` is used by another variant of this product.",
                    v.sku
                ),
            ));
        }
        skus.push(key);
    }
    Ok(())
}

/// Builds a new product. Required: `name`, `type`, `weight`, `price`, `categories`.
/// Variants sent with `option_values` labels create the options and their values, in
/// order of first appearance, as BigCommerce does.
pub fn new_product(
    ids: NewProductIds,
    input: &ProductInput,
    now: i64,
) -> Result<CatalogProduct, DomainError> {
    let name = required(&input.name, "name")?;
    required(&input.product_type, "type")?;
    required(&input.weight, "weight")?;
    required(&input.price, "price")?;
    required(&input.categories, "categories")?;
    let mut cp = CatalogProduct {
        product: Product::blank(ids.product, name, now),
        details: ProductDetails::default(),
    };
    apply_product_fields(&mut cp, input)?;

    let inputs = input.variants.as_deref().unwrap_or_default();
    let plan = inline_options(inputs)?;
    let mut next_value = ids.first_option_value;
    for (i, (display_name, labels)) in plan.iter().enumerate() {
        let option_id = ids.first_option + i as i64;
        let values = labels
            .iter()
            .enumerate()
            .map(|(k, label)| {
                let id = next_value;
                next_value += 1;
                OptionValue {
                    id,
                    label: label.clone(),
                    sort_order: k as i64,
                    is_default: false,
                    value_data: None,
                }
            })
            .collect();
        cp.product.options.push(VariantOption {
            id: option_id,
            product_id: ids.product,
            name: display_name.clone(),
            display_name: display_name.clone(),
            option_type: INLINE_OPTION_TYPE.into(),
            sort_order: i as i64,
            option_values: values,
        });
    }
    if inputs.is_empty() {
        let mut v = Variant::blank(ids.first_variant, ids.product);
        v.sku = cp.product.sku.clone();
        cp.product.variants.push(v);
    }
    for (i, vi) in inputs.iter().enumerate() {
        let field = format!("variants[{i}]");
        let mut v = Variant::blank(ids.first_variant + i as i64, ids.product);
        let mut d = VariantDetails::default();
        apply_variant(&mut v, &mut d, vi, &field)?;
        if v.sku.is_empty() {
            if inputs.len() == 1 && plan.is_empty() {
                v.sku = cp.product.sku.clone();
            } else {
                return Err(DomainError::field(
                    format!("{field}.sku"),
                    "Each variant needs a sku.",
                ));
            }
        }
        for (j, c) in vi.option_values.iter().flatten().enumerate() {
            let r = resolve_choice(
                &cp.product.options,
                c,
                &format!("{field}.option_values[{j}]"),
            )?;
            v.option_values.push(r);
        }
        if d != VariantDetails::default() {
            cp.details.variants.insert(v.id, d);
        }
        cp.product.variants.push(v);
    }
    check_consistency(&cp.product)?;
    Ok(cp)
}

/// Applies a product update: its own fields, and changes to existing variants named by id.
pub fn update_product(
    cp: &mut CatalogProduct,
    input: &ProductInput,
    now: i64,
) -> Result<(), DomainError> {
    apply_product_fields(cp, input)?;
    for (i, vi) in input.variants.iter().flatten().enumerate() {
        let field = format!("variants[{i}]");
        let id = vi.id.ok_or_else(|| {
            DomainError::field(
                format!("{field}.id"),
                "Variants in a product update must name their id.",
            )
        })?;
        update_variant_at(cp, id, vi, &field)?;
    }
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

fn variant_not_found(p: &Product, id: i64) -> DomainError {
    DomainError::not_found(format!("Variant {id} does not exist on product {}.", p.id))
}

fn update_variant_at(
    cp: &mut CatalogProduct,
    id: i64,
    input: &VariantInput,
    field: &str,
) -> Result<(), DomainError> {
    let options = cp.product.options.clone();
    let pid = cp.product.id;
    let Some(v) = cp.product.variants.iter_mut().find(|v| v.id == id) else {
        return Err(if field.is_empty() {
            variant_not_found(&cp.product, id)
        } else {
            DomainError::field(
                format!("{field}.id"),
                format!("Variant {id} does not exist on product {pid}."),
            )
        });
    };
    let mut d = cp.details.variants.get(&id).cloned().unwrap_or_default();
    apply_variant(v, &mut d, input, field)?;
    if input.sku.as_ref().is_some_and(|s| s.trim().is_empty()) {
        let f = if field.is_empty() {
            "sku".to_string()
        } else {
            format!("{field}.sku")
        };
        return Err(DomainError::field(f, "sku cannot be empty."));
    }
    if let Some(choices) = &input.option_values {
        let prefix = if field.is_empty() {
            "option_values".to_string()
        } else {
            format!("{field}.option_values")
        };
        v.option_values = choices
            .iter()
            .enumerate()
            .map(|(j, c)| resolve_choice(&options, c, &format!("{prefix}[{j}]")))
            .collect::<Result<_, _>>()?;
    }
    if d == VariantDetails::default() {
        cp.details.variants.remove(&id);
    } else {
        cp.details.variants.insert(id, d);
    }
    Ok(())
}

/// Adds a variant (`sku` and `option_values` required). The first real variant
/// replaces a lingering base variant.
pub fn add_variant(
    cp: &mut CatalogProduct,
    id: i64,
    input: &VariantInput,
    now: i64,
) -> Result<(), DomainError> {
    let sku = input
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| DomainError::field("sku", "sku is required."))?;
    let choices = input
        .option_values
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            DomainError::field(
                "option_values",
                "option_values is required: a variant picks one value of each option.",
            )
        })?;
    if cp.product.options.is_empty() {
        return Err(DomainError::field(
            "option_values",
            "This product has no options yet: create its options first.",
        ));
    }
    let mut v = Variant::blank(id, cp.product.id);
    let mut d = VariantDetails::default();
    apply_variant(&mut v, &mut d, input, "")?;
    v.sku = sku.to_string();
    v.option_values = choices
        .iter()
        .enumerate()
        .map(|(j, c)| resolve_choice(&cp.product.options, c, &format!("option_values[{j}]")))
        .collect::<Result<_, _>>()?;
    if cp.product.variants.len() == 1 && cp.product.variants[0].option_values.is_empty() {
        let old = cp.product.variants.remove(0);
        cp.details.variants.remove(&old.id);
    }
    if d != VariantDetails::default() {
        cp.details.variants.insert(id, d);
    }
    cp.product.variants.push(v);
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

pub fn update_variant(
    cp: &mut CatalogProduct,
    id: i64,
    input: &VariantInput,
    now: i64,
) -> Result<(), DomainError> {
    update_variant_at(cp, id, input, "")?;
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

pub fn delete_variant(cp: &mut CatalogProduct, id: i64, now: i64) -> Result<(), DomainError> {
    let idx = cp
        .product
        .variants
        .iter()
        .position(|v| v.id == id)
        .ok_or_else(|| variant_not_found(&cp.product, id))?;
    if cp.product.variants.len() == 1 {
        return Err(DomainError::field(
            "variant_id",
            "A product keeps at least one variant: this is its last.",
        ));
    }
    cp.product.variants.remove(idx);
    cp.details.variants.remove(&id);
    cp.product.date_modified = now;
    Ok(())
}

fn option_not_found(p: &Product, id: i64) -> DomainError {
    DomainError::not_found(format!("Option {id} does not exist on product {}.", p.id))
}

fn modifier_not_found(p: &Product, id: i64) -> DomainError {
    DomainError::not_found(format!("Modifier {id} does not exist on product {}.", p.id))
}

fn value_not_found(option_id: i64, id: i64) -> DomainError {
    DomainError::not_found(format!(
        "Option value {id} does not exist on option {option_id}."
    ))
}

fn clean_name(
    v: &Option<String>,
    field: &str,
    needed: bool,
) -> Result<Option<String>, DomainError> {
    match v {
        Some(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(DomainError::field(
                    field,
                    format!("{field} cannot be empty."),
                ));
            }
            check_len(s, 255, field)?;
            Ok(Some(s.to_string()))
        }
        None if needed => Err(DomainError::field(field, format!("{field} is required."))),
        None => Ok(None),
    }
}

fn check_config(c: &serde_json::Value, field: &str) -> Result<(), DomainError> {
    let Some(obj) = c.as_object() else {
        return Err(DomainError::field(
            field,
            format!("{field} must be an object."),
        ));
    };
    let int = |k: &str| -> Result<Option<i64>, DomainError> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => Ok(Some(n)),
                _ => Err(DomainError::field(
                    format!("{field}.{k}"),
                    format!("{field}.{k} must be a whole number, 0 or more."),
                )),
            },
        }
    };
    for k in ["text_max_lines", "file_max_size"] {
        int(k)?;
    }
    if let (Some(min), Some(max)) = (int("text_min_length")?, int("text_max_length")?)
        && min > max
    {
        return Err(DomainError::field(
            format!("{field}.text_max_length"),
            "text_max_length cannot be below text_min_length.",
        ));
    }
    for k in [
        "text_characters_limited",
        "checked_by_default",
        "date_limited",
        "text_lines_limited",
        "number_limited",
        "number_integers_only",
        "product_list_adjusts_inventory",
        "product_list_adjusts_pricing",
    ] {
        if obj.get(k).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            return Err(DomainError::field(
                format!("{field}.{k}"),
                format!("{field}.{k} must be true or false."),
            ));
        }
    }
    Ok(())
}

fn option_value_from(
    id: i64,
    input: &OptionValueInput,
    field: &str,
    default_sort: i64,
) -> Result<OptionValue, DomainError> {
    let label = clean_name(&input.label, &format!("{field}.label"), true)?.unwrap_or_default();
    let sort_order = input.sort_order.unwrap_or(default_sort);
    check_range(
        sort_order,
        i32::MIN.into(),
        i32::MAX.into(),
        &format!("{field}.sort_order"),
    )?;
    Ok(OptionValue {
        id,
        label,
        sort_order,
        is_default: input.is_default.unwrap_or(false),
        value_data: input.value_data.clone().flatten(),
    })
}

fn patch_option_value(
    v: &mut OptionValue,
    input: &OptionValueInput,
    field: &str,
) -> Result<(), DomainError> {
    if let Some(l) = clean_name(&input.label, &format!("{field}.label"), false)? {
        v.label = l;
    }
    if let Some(s) = input.sort_order {
        check_range(
            s,
            i32::MIN.into(),
            i32::MAX.into(),
            &format!("{field}.sort_order"),
        )?;
        v.sort_order = s;
    }
    if let Some(d) = input.is_default {
        v.is_default = d;
    }
    if let Some(d) = &input.value_data {
        v.value_data = d.clone();
    }
    Ok(())
}

fn check_labels_unique(labels: &[&str], field: &str) -> Result<(), DomainError> {
    for (i, l) in labels.iter().enumerate() {
        if labels[..i].iter().any(|o| o.eq_ignore_ascii_case(l)) {
            return Err(DomainError::field(
                field,
                format!("The value `{l}` appears twice."),
            ));
        }
    }
    Ok(())
}

fn check_option_type(t: &str) -> Result<(), DomainError> {
    if VARIANT_OPTION_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(DomainError::field(
            "type",
            format!("type must be one of {}.", VARIANT_OPTION_TYPES.join(", ")),
        ))
    }
}

/// Keeps the labels and names variants carry in step with their option.
fn sync_variant_refs(p: &mut Product) {
    let options = p.options.clone();
    for v in &mut p.variants {
        for r in &mut v.option_values {
            if let Some(o) = options.iter().find(|o| o.id == r.option_id) {
                r.option_display_name = o.display_name.clone();
                if let Some(ov) = o.option_values.iter().find(|ov| ov.id == r.id) {
                    r.label = ov.label.clone();
                }
            }
        }
    }
}

/// Adds a variant option (`display_name`, `type` and at least one value required).
/// `value_ids` supplies ids for its values, in order.
pub fn add_option(
    cp: &mut CatalogProduct,
    id: i64,
    input: &OptionInput,
    value_ids: &[i64],
    now: i64,
) -> Result<(), DomainError> {
    let display_name = clean_name(&input.display_name, "display_name", true)?.unwrap_or_default();
    let option_type = required(&input.option_type, "type")?;
    check_option_type(&option_type)?;
    if cp
        .product
        .options
        .iter()
        .any(|o| o.display_name.eq_ignore_ascii_case(&display_name))
    {
        return Err(DomainError::field(
            "display_name",
            format!("This product already has an option named `{display_name}`."),
        ));
    }
    let values_in = input
        .option_values
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            DomainError::field("option_values", "An option needs at least one value.")
        })?;
    let mut values = Vec::new();
    for (i, (vi, vid)) in values_in.iter().zip(value_ids).enumerate() {
        values.push(option_value_from(
            *vid,
            vi,
            &format!("option_values[{i}]"),
            i as i64,
        )?);
    }
    let labels: Vec<&str> = values.iter().map(|v| v.label.as_str()).collect();
    check_labels_unique(&labels, "option_values")?;
    if let Some(c) = &input.config {
        check_config(c, "config")?;
        cp.details.option_configs.insert(id, c.clone());
    }
    let sort_order = input.sort_order.unwrap_or(cp.product.options.len() as i64);
    cp.product.options.push(VariantOption {
        id,
        product_id: cp.product.id,
        name: display_name.clone(),
        display_name,
        option_type,
        sort_order,
        option_values: values,
    });
    cp.product.date_modified = now;
    Ok(())
}

/// Updates an option. Values sent with an `id` change that value; values without
/// one are added with ids from `new_value_ids`.
pub fn update_option(
    cp: &mut CatalogProduct,
    id: i64,
    input: &OptionInput,
    new_value_ids: &[i64],
    now: i64,
) -> Result<(), DomainError> {
    let pid_err = option_not_found(&cp.product, id);
    let others_named: Vec<String> = cp
        .product
        .options
        .iter()
        .filter(|o| o.id != id)
        .map(|o| o.display_name.to_lowercase())
        .collect();
    let o = cp
        .product
        .options
        .iter_mut()
        .find(|o| o.id == id)
        .ok_or(pid_err)?;
    if let Some(n) = clean_name(&input.display_name, "display_name", false)? {
        if others_named.contains(&n.to_lowercase()) {
            return Err(DomainError::field(
                "display_name",
                format!("This product already has an option named `{n}`."),
            ));
        }
        o.display_name = n.clone();
        o.name = n;
    }
    if let Some(t) = &input.option_type {
        check_option_type(t)?;
        o.option_type = t.clone();
    }
    if let Some(s) = input.sort_order {
        o.sort_order = s;
    }
    let mut fresh = new_value_ids.iter();
    for (i, vi) in input.option_values.iter().flatten().enumerate() {
        let field = format!("option_values[{i}]");
        match vi.id {
            Some(vid) => {
                let v = o
                    .option_values
                    .iter_mut()
                    .find(|v| v.id == vid)
                    .ok_or_else(|| {
                        DomainError::field(
                            format!("{field}.id"),
                            format!("Option value {vid} does not exist on option {id}."),
                        )
                    })?;
                patch_option_value(v, vi, &field)?;
            }
            None => {
                let vid = fresh.next().copied().ok_or_else(|| {
                    DomainError::invalid("No id was reserved for a new option value.")
                })?;
                let sort = o.option_values.len() as i64;
                o.option_values
                    .push(option_value_from(vid, vi, &field, sort)?);
            }
        }
    }
    let labels: Vec<&str> = o.option_values.iter().map(|v| v.label.as_str()).collect();
    check_labels_unique(&labels, "option_values")?;
    if let Some(c) = &input.config {
        check_config(c, "config")?;
        cp.details.option_configs.insert(id, c.clone());
    }
    sync_variant_refs(&mut cp.product);
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

/// Removes an option. Variants drop their value of it; variants that become
/// identical collapse into the first, and with no options left that one is the base.
pub fn delete_option(cp: &mut CatalogProduct, id: i64, now: i64) -> Result<(), DomainError> {
    let idx = cp
        .product
        .options
        .iter()
        .position(|o| o.id == id)
        .ok_or_else(|| option_not_found(&cp.product, id))?;
    cp.product.options.remove(idx);
    cp.details.option_configs.remove(&id);
    let mut seen: Vec<Vec<i64>> = Vec::new();
    let mut kept = Vec::new();
    for mut v in std::mem::take(&mut cp.product.variants) {
        v.option_values.retain(|r| r.option_id != id);
        let mut combo: Vec<i64> = v.option_values.iter().map(|r| r.id).collect();
        combo.sort_unstable();
        if seen.contains(&combo) {
            cp.details.variants.remove(&v.id);
            continue;
        }
        seen.push(combo);
        kept.push(v);
    }
    if !cp.product.options.is_empty() && kept.len() > 1 {
        // A lingering base variant has no place once real variants remain.
        kept.retain(|v| !v.option_values.is_empty());
    }
    cp.product.variants = kept;
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

pub fn add_option_value(
    cp: &mut CatalogProduct,
    option_id: i64,
    value_id: i64,
    input: &OptionValueInput,
    now: i64,
) -> Result<(), DomainError> {
    let err = option_not_found(&cp.product, option_id);
    let o = cp
        .product
        .options
        .iter_mut()
        .find(|o| o.id == option_id)
        .ok_or(err)?;
    let sort = o.option_values.len() as i64;
    let v = option_value_from(value_id, input, "", sort).map_err(strip_leading_dot)?;
    o.option_values.push(v);
    let labels: Vec<&str> = o.option_values.iter().map(|v| v.label.as_str()).collect();
    check_labels_unique(&labels, "label")?;
    cp.product.date_modified = now;
    Ok(())
}

pub fn update_option_value(
    cp: &mut CatalogProduct,
    option_id: i64,
    value_id: i64,
    input: &OptionValueInput,
    now: i64,
) -> Result<(), DomainError> {
    let err = option_not_found(&cp.product, option_id);
    let o = cp
        .product
        .options
        .iter_mut()
        .find(|o| o.id == option_id)
        .ok_or(err)?;
    let v = o
        .option_values
        .iter_mut()
        .find(|v| v.id == value_id)
        .ok_or_else(|| value_not_found(option_id, value_id))?;
    patch_option_value(v, input, "").map_err(strip_leading_dot)?;
    let labels: Vec<&str> = o.option_values.iter().map(|v| v.label.as_str()).collect();
    check_labels_unique(&labels, "label")?;
    sync_variant_refs(&mut cp.product);
    cp.product.date_modified = now;
    Ok(())
}

/// Removes an option value and the variants that use it. Refused when it is the
/// option's last value or would leave the product without variants.
pub fn delete_option_value(
    cp: &mut CatalogProduct,
    option_id: i64,
    value_id: i64,
    now: i64,
) -> Result<(), DomainError> {
    let err = option_not_found(&cp.product, option_id);
    let o = cp
        .product
        .options
        .iter_mut()
        .find(|o| o.id == option_id)
        .ok_or(err)?;
    let idx = o
        .option_values
        .iter()
        .position(|v| v.id == value_id)
        .ok_or_else(|| value_not_found(option_id, value_id))?;
    if o.option_values.len() == 1 {
        return Err(DomainError::field(
            "value_id",
            "An option keeps at least one value: delete the option instead.",
        ));
    }
    o.option_values.remove(idx);
    let uses = |v: &Variant| {
        v.option_values
            .iter()
            .any(|r| r.option_id == option_id && r.id == value_id)
    };
    if cp.product.variants.iter().all(uses) {
        return Err(DomainError::field(
            "value_id",
            "Every variant of this product uses this value; deleting it would leave none.",
        ));
    }
    let removed: Vec<i64> = cp
        .product
        .variants
        .iter()
        .filter(|v| uses(v))
        .map(|v| v.id)
        .collect();
    cp.product.variants.retain(|v| !uses(v));
    for id in removed {
        cp.details.variants.remove(&id);
    }
    cp.product.date_modified = now;
    check_consistency(&cp.product)
}

fn strip_leading_dot(e: DomainError) -> DomainError {
    match e {
        DomainError::Unprocessable { title, errors } => DomainError::Unprocessable {
            title,
            errors: errors
                .into_iter()
                .map(|(f, m)| (f.trim_start_matches('.').to_string(), m))
                .collect(),
        },
        other => other,
    }
}

fn check_adjusters(a: &Adjustments, field: &str) -> Result<(), DomainError> {
    for (adj, name) in [(&a.price, "price"), (&a.weight, "weight")] {
        if let Some(adj) = adj {
            let f = format!("{field}.{name}.adjuster_value");
            if adj.adjuster == AdjusterKind::Percentage && adj.adjuster_value < Decimal::from(-100)
            {
                return Err(DomainError::field(
                    f,
                    "A percentage adjustment cannot take off more than 100%.",
                ));
            }
            if adj.adjuster_value.abs() > Decimal::from(1_000_000_000i64) {
                return Err(DomainError::field(f, "The adjustment is too large."));
            }
        }
    }
    check_len(
        &a.purchasing_disabled.message,
        255,
        &format!("{field}.purchasing_disabled.message"),
    )
}

fn modifier_value_from(
    id: i64,
    input: &ModifierValueInput,
    field: &str,
    default_sort: i64,
) -> Result<ModifierValue, DomainError> {
    let base = option_value_from(id, &input.value, field, default_sort)?;
    let adjustments = input.adjusters.clone().unwrap_or_default();
    check_adjusters(&adjustments, &join_field(field, "adjusters"))?;
    Ok(ModifierValue {
        id,
        label: base.label,
        sort_order: base.sort_order,
        is_default: base.is_default,
        value_data: base.value_data,
        adjustments,
    })
}

fn join_field(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn patch_modifier_value(
    v: &mut ModifierValue,
    input: &ModifierValueInput,
    field: &str,
) -> Result<(), DomainError> {
    let mut base = OptionValue {
        id: v.id,
        label: v.label.clone(),
        sort_order: v.sort_order,
        is_default: v.is_default,
        value_data: v.value_data.clone(),
    };
    patch_option_value(&mut base, &input.value, field)?;
    v.label = base.label;
    v.sort_order = base.sort_order;
    v.is_default = base.is_default;
    v.value_data = base.value_data;
    if let Some(a) = &input.adjusters {
        check_adjusters(a, &join_field(field, "adjusters"))?;
        v.adjustments = a.clone();
    }
    Ok(())
}

fn check_modifier_values(m: &Modifier) -> Result<(), DomainError> {
    if !m.modifier_type.has_values() && !m.option_values.is_empty() {
        return Err(DomainError::field(
            "option_values",
            "This type of modifier takes no option values.",
        ));
    }
    let labels: Vec<&str> = m.option_values.iter().map(|v| v.label.as_str()).collect();
    check_labels_unique(&labels, "option_values")
}

/// Adds a modifier (`display_name`, `type` and `required` required). A checkbox sent
/// without values gets "Yes" (checked) and "No". `value_ids` supplies value ids in order.
pub fn add_modifier(
    cp: &mut CatalogProduct,
    id: i64,
    input: &ModifierInput,
    value_ids: &[i64],
    now: i64,
) -> Result<(), DomainError> {
    let display_name = clean_name(&input.display_name, "display_name", true)?.unwrap_or_default();
    let modifier_type = required(&input.modifier_type, "type")?;
    let is_required = required(&input.required, "required")?;
    let config = input
        .config
        .clone()
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    check_config(&config, "config")?;
    let mut values = Vec::new();
    let sent = input.option_values.as_deref().unwrap_or_default();
    let mut ids = value_ids.iter().copied();
    for (i, vi) in sent.iter().enumerate() {
        let vid = ids
            .next()
            .ok_or_else(|| DomainError::invalid("No id was reserved for a new modifier value."))?;
        values.push(modifier_value_from(
            vid,
            vi,
            &format!("option_values[{i}]"),
            i as i64,
        )?);
    }
    if modifier_type == ModifierType::Checkbox && sent.is_empty() {
        for (k, (label, checked)) in [("Yes", true), ("No", false)].into_iter().enumerate() {
            let vid = ids.next().ok_or_else(|| {
                DomainError::invalid("No id was reserved for a new modifier value.")
            })?;
            values.push(ModifierValue {
                id: vid,
                label: label.into(),
                sort_order: k as i64,
                is_default: !checked,
                value_data: Some(serde_json::json!({ "checked_value": checked })),
                adjustments: Adjustments::default(),
            });
        }
    }
    let sort_order = input
        .sort_order
        .unwrap_or(cp.product.modifiers.len() as i64);
    let m = Modifier {
        id,
        product_id: cp.product.id,
        name: display_name.clone(),
        display_name,
        modifier_type,
        required: is_required,
        sort_order,
        config,
        option_values: values,
    };
    check_modifier_values(&m)?;
    cp.product.modifiers.push(m);
    cp.product.date_modified = now;
    Ok(())
}

pub fn update_modifier(
    cp: &mut CatalogProduct,
    id: i64,
    input: &ModifierInput,
    new_value_ids: &[i64],
    now: i64,
) -> Result<(), DomainError> {
    let err = modifier_not_found(&cp.product, id);
    let m = cp
        .product
        .modifiers
        .iter_mut()
        .find(|m| m.id == id)
        .ok_or(err)?;
    if let Some(n) = clean_name(&input.display_name, "display_name", false)? {
        m.display_name = n.clone();
        m.name = n;
    }
    if let Some(t) = input.modifier_type {
        m.modifier_type = t;
    }
    if let Some(r) = input.required {
        m.required = r;
    }
    if let Some(s) = input.sort_order {
        m.sort_order = s;
    }
    if let Some(c) = &input.config {
        check_config(c, "config")?;
        m.config = c.clone();
    }
    let mut fresh = new_value_ids.iter();
    for (i, vi) in input.option_values.iter().flatten().enumerate() {
        let field = format!("option_values[{i}]");
        match vi.value.id {
            Some(vid) => {
                let v = m
                    .option_values
                    .iter_mut()
                    .find(|v| v.id == vid)
                    .ok_or_else(|| {
                        DomainError::field(
                            format!("{field}.id"),
                            format!("Value {vid} does not exist on modifier {id}."),
                        )
                    })?;
                patch_modifier_value(v, vi, &field)?;
            }
            None => {
                let vid = fresh.next().copied().ok_or_else(|| {
                    DomainError::invalid("No id was reserved for a new modifier value.")
                })?;
                let sort = m.option_values.len() as i64;
                m.option_values
                    .push(modifier_value_from(vid, vi, &field, sort)?);
            }
        }
    }
    check_modifier_values(m)?;
    cp.product.date_modified = now;
    Ok(())
}

pub fn delete_modifier(cp: &mut CatalogProduct, id: i64, now: i64) -> Result<(), DomainError> {
    let idx = cp
        .product
        .modifiers
        .iter()
        .position(|m| m.id == id)
        .ok_or_else(|| modifier_not_found(&cp.product, id))?;
    cp.product.modifiers.remove(idx);
    cp.product.date_modified = now;
    Ok(())
}

pub fn add_modifier_value(
    cp: &mut CatalogProduct,
    modifier_id: i64,
    value_id: i64,
    input: &ModifierValueInput,
    now: i64,
) -> Result<(), DomainError> {
    let err = modifier_not_found(&cp.product, modifier_id);
    let m = cp
        .product
        .modifiers
        .iter_mut()
        .find(|m| m.id == modifier_id)
        .ok_or(err)?;
    let sort = m.option_values.len() as i64;
    let v = modifier_value_from(value_id, input, "", sort).map_err(strip_leading_dot)?;
    m.option_values.push(v);
    check_modifier_values(m)?;
    cp.product.date_modified = now;
    Ok(())
}

pub fn update_modifier_value(
    cp: &mut CatalogProduct,
    modifier_id: i64,
    value_id: i64,
    input: &ModifierValueInput,
    now: i64,
) -> Result<(), DomainError> {
    let err = modifier_not_found(&cp.product, modifier_id);
    let m = cp
        .product
        .modifiers
        .iter_mut()
        .find(|m| m.id == modifier_id)
        .ok_or(err)?;
    let v = m
        .option_values
        .iter_mut()
        .find(|v| v.id == value_id)
        .ok_or_else(|| value_not_found(modifier_id, value_id))?;
    patch_modifier_value(v, input, "").map_err(strip_leading_dot)?;
    check_modifier_values(m)?;
    cp.product.date_modified = now;
    Ok(())
}

pub fn delete_modifier_value(
    cp: &mut CatalogProduct,
    modifier_id: i64,
    value_id: i64,
    now: i64,
) -> Result<(), DomainError> {
    let err = modifier_not_found(&cp.product, modifier_id);
    let m = cp
        .product
        .modifiers
        .iter_mut()
        .find(|m| m.id == modifier_id)
        .ok_or(err)?;
    let idx = m
        .option_values
        .iter()
        .position(|v| v.id == value_id)
        .ok_or_else(|| value_not_found(modifier_id, value_id))?;
    m.option_values.remove(idx);
    cp.product.date_modified = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(option: &str, label: &str) -> OptionValueChoice {
        OptionValueChoice {
            option_display_name: Some(option.into()),
            label: Some(label.into()),
            ..OptionValueChoice::default()
        }
    }

    fn input_with(variants: Vec<VariantInput>) -> ProductInput {
        ProductInput {
            name: Some("Tee".into()),
            product_type: Some(ProductType::Physical),
            weight: Some(Decimal::ONE),
            price: Some(Money::new(Decimal::from(20))),
            categories: Some(vec![]),
            variants: Some(variants),
            ..ProductInput::default()
        }
    }

    fn tee() -> CatalogProduct {
        let mut vs = Vec::new();
        for size in ["S", "L"] {
            for colour in ["Red", "Blue"] {
                vs.push(VariantInput {
                    sku: Some(format!("{size}-{colour}")),
                    option_values: Some(vec![choice("Size", size), choice("Colour", colour)]),
                    ..VariantInput::default()
                });
            }
        }
        let input = input_with(vs);
        let needs = id_needs(&input).unwrap();
        assert_eq!(
            needs,
            IdNeeds {
                variants: 4,
                options: 2,
                option_values: 4
            }
        );
        let ids = NewProductIds {
            product: 7,
            first_variant: 100,
            first_option: 10,
            first_option_value: 50,
        };
        new_product(ids, &input, 0).unwrap()
    }

    #[test]
    fn inline_labels_create_options_in_order() {
        let cp = tee();
        let p = &cp.product;
        assert_eq!(p.options.len(), 2);
        assert_eq!(p.options[0].display_name, "Size");
        assert_eq!(p.options[0].option_values[1].id, 51);
        assert_eq!(p.options[1].option_values[0].id, 52);
        assert_eq!(p.variants[3].id, 103);
        assert_eq!(p.variants[3].option_values[1].label, "Blue");
        assert_eq!(p.base_variant_id(), None);
        check_consistency(p).unwrap();
    }

    #[test]
    fn deleting_an_option_collapses_variants() {
        let mut cp = tee();
        delete_option(&mut cp, 11, 1).unwrap();
        assert_eq!(cp.product.variants.len(), 2);
        delete_option(&mut cp, 10, 2).unwrap();
        assert_eq!(cp.product.variants.len(), 1);
        assert_eq!(cp.product.base_variant_id(), Some(100));
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut cp = tee();
        let bad = VariantInput {
            price: Some(Some(Money::new(Decimal::from(-1)))),
            ..VariantInput::default()
        };
        match update_variant(&mut cp, 100, &bad, 1) {
            Err(DomainError::Unprocessable { errors, .. }) => assert_eq!(errors[0].0, "price"),
            other => panic!("{other:?}"),
        }
        let dup = VariantInput {
            option_values: Some(vec![choice("Size", "S"), choice("Colour", "Blue")]),
            ..VariantInput::default()
        };
        assert!(update_variant(&mut cp, 100, &dup, 1).is_err());
        assert!(matches!(
            delete_variant(&mut cp, 999, 1),
            Err(DomainError::NotFound(_))
        ));
    }
}
