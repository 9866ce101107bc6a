//! Catalog admin API (`products_catalog.v3.yml`, `product-variants_catalog.v3.yml`,
//! `product-variant-options_catalog.v3.yml`, `product-modifiers_catalog.v3.yml`):
//! routes, wire types and their mapping onto the domain.

use super::AppState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Auth, Includes, JsonBody, percent_decode};
use super::wire::{Envelope, pagination_meta, rfc3339};
use crate::domain::catalog::{
    Adjuster, AdjusterKind, Adjustments, Availability, CatalogProduct, DetailsInput,
    InventoryTracking, Modifier, ModifierInput, ModifierType, ModifierValue, ModifierValueInput,
    OptionValue, OptionValueChoice, OptionValueInput, Product, ProductInput, ProductType,
    PurchasingDisabled, Variant, VariantInput, VariantOption,
};
use crate::domain::money::{Money, json_number};
use crate::domain::scope::Scope;
use crate::service::catalog::{CatalogError, ProductQuery};
use crate::store::catalog::{CatalogFilter, CatalogSort};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product, delete_products))
        .routes(routes!(get_product, update_product, delete_product))
        .routes(routes!(list_variants, create_variant))
        .routes(routes!(get_variant, update_variant, delete_variant))
        .routes(routes!(list_options, create_option))
        .routes(routes!(get_option, update_option, delete_option))
        .routes(routes!(list_option_values, create_option_value))
        .routes(routes!(
            get_option_value,
            update_option_value,
            delete_option_value
        ))
        .routes(routes!(list_modifiers, create_modifier))
        .routes(routes!(get_modifier, update_modifier, delete_modifier))
        .routes(routes!(list_modifier_values, create_modifier_value))
        .routes(routes!(
            get_modifier_value,
            update_modifier_value,
            delete_modifier_value
        ))
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Service(s) => s.into(),
            CatalogError::Duplicate { field, message } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, message.clone());
                err.errors.insert(field, message);
                err
            }
        }
    }
}

/// Reads `null` as `Some(None)` so "sent as null" and "not sent" differ.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn money(d: Option<Decimal>) -> Option<Money> {
    d.map(Money::new)
}

fn money2(d: Option<Option<Decimal>>) -> Option<Option<Money>> {
    d.map(|o| o.map(Money::new))
}

fn num(d: Decimal) -> serde_json::Number {
    json_number(d)
}

// ---------- requests ----------

#[derive(Deserialize, ToSchema, Default)]
pub struct CustomUrlRequest {
    pub url: String,
    #[serde(default)]
    pub is_customized: Option<bool>,
}

/// A product to create, or the fields of one to change.
#[derive(Deserialize, ToSchema, Default)]
pub struct ProductRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<String>)]
    pub product_type: Option<ProductType>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub weight: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub width: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub depth: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub height: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cost_price: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub retail_price: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub sale_price: Option<Decimal>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub map_price: Option<Decimal>,
    #[serde(default)]
    pub tax_class_id: Option<i64>,
    #[serde(default)]
    pub product_tax_code: Option<String>,
    #[serde(default)]
    pub categories: Option<Vec<i64>>,
    #[serde(default)]
    pub brand_id: Option<i64>,
    #[serde(default)]
    pub inventory_level: Option<i64>,
    #[serde(default)]
    pub inventory_warning_level: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub inventory_tracking: Option<InventoryTracking>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub fixed_cost_shipping_price: Option<Decimal>,
    #[serde(default)]
    pub is_free_shipping: Option<bool>,
    #[serde(default)]
    pub is_visible: Option<bool>,
    #[serde(default)]
    pub is_featured: Option<bool>,
    #[serde(default)]
    pub related_products: Option<Vec<i64>>,
    #[serde(default)]
    pub warranty: Option<String>,
    #[serde(default)]
    pub bin_picking_number: Option<String>,
    #[serde(default)]
    pub layout_file: Option<String>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub gtin: Option<String>,
    #[serde(default)]
    pub search_keywords: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub availability: Option<Availability>,
    #[serde(default)]
    pub availability_description: Option<String>,
    #[serde(default)]
    pub gift_wrapping_options_type: Option<String>,
    #[serde(default)]
    pub gift_wrapping_options_list: Option<Vec<i64>>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub is_condition_shown: Option<bool>,
    #[serde(default)]
    pub order_quantity_minimum: Option<i64>,
    #[serde(default)]
    pub order_quantity_maximum: Option<i64>,
    #[serde(default)]
    pub page_title: Option<String>,
    #[serde(default)]
    pub meta_keywords: Option<Vec<String>>,
    #[serde(default)]
    pub meta_description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub preorder_release_date: Option<Option<String>>,
    #[serde(default)]
    pub preorder_message: Option<String>,
    #[serde(default)]
    pub is_preorder_only: Option<bool>,
    #[serde(default)]
    pub is_price_hidden: Option<bool>,
    #[serde(default)]
    pub price_hidden_label: Option<String>,
    #[serde(default)]
    pub custom_url: Option<CustomUrlRequest>,
    #[serde(default)]
    pub open_graph_type: Option<String>,
    #[serde(default)]
    pub open_graph_title: Option<String>,
    #[serde(default)]
    pub open_graph_description: Option<String>,
    #[serde(default)]
    pub open_graph_use_meta_description: Option<bool>,
    #[serde(default)]
    pub open_graph_use_product_name: Option<bool>,
    #[serde(default)]
    pub open_graph_use_image: Option<bool>,
    /// On create: variants to make; `option_values` labels create the options.
    /// On update: changes to existing variants, each with its `id`.
    #[serde(default)]
    pub variants: Option<Vec<VariantRequest>>,
}

impl ProductRequest {
    fn into_input(self) -> ProductInput {
        ProductInput {
            name: self.name,
            product_type: self.product_type,
            sku: self.sku,
            description: self.description,
            weight: self.weight,
            width: self.width,
            depth: self.depth,
            height: self.height,
            price: money(self.price),
            cost_price: money(self.cost_price),
            retail_price: money(self.retail_price),
            sale_price: money(self.sale_price),
            map_price: money(self.map_price),
            tax_class_id: self.tax_class_id,
            categories: self.categories,
            brand_id: self.brand_id,
            inventory_level: self.inventory_level,
            inventory_warning_level: self.inventory_warning_level,
            inventory_tracking: self.inventory_tracking,
            is_visible: self.is_visible,
            is_free_shipping: self.is_free_shipping,
            fixed_cost_shipping_price: money(self.fixed_cost_shipping_price),
            availability: self.availability,
            order_quantity_minimum: self.order_quantity_minimum,
            order_quantity_maximum: self.order_quantity_maximum,
            custom_url: self.custom_url.map(|c| (c.url, c.is_customized)),
            details: DetailsInput {
                is_featured: self.is_featured,
                related_products: self.related_products,
                warranty: self.warranty,
                bin_picking_number: self.bin_picking_number,
                layout_file: self.layout_file,
                upc: self.upc,
                mpn: self.mpn,
                gtin: self.gtin,
                search_keywords: self.search_keywords,
                availability_description: self.availability_description,
                gift_wrapping_options_type: self.gift_wrapping_options_type,
                gift_wrapping_options_list: self.gift_wrapping_options_list,
                sort_order: self.sort_order,
                condition: self.condition,
                is_condition_shown: self.is_condition_shown,
                page_title: self.page_title,
                meta_keywords: self.meta_keywords,
                meta_description: self.meta_description,
                preorder_release_date: self.preorder_release_date,
                preorder_message: self.preorder_message,
                is_preorder_only: self.is_preorder_only,
                is_price_hidden: self.is_price_hidden,
                price_hidden_label: self.price_hidden_label,
                open_graph_type: self.open_graph_type,
                open_graph_title: self.open_graph_title,
                open_graph_description: self.open_graph_description,
                open_graph_use_meta_description: self.open_graph_use_meta_description,
                open_graph_use_product_name: self.open_graph_use_product_name,
                open_graph_use_image: self.open_graph_use_image,
                product_tax_code: self.product_tax_code,
            },
            variants: self
                .variants
                .map(|vs| vs.into_iter().map(VariantRequest::into_input).collect()),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OptionValueRefRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub option_id: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub option_display_name: Option<String>,
}

/// A variant to create, or the fields of one to change. `null` on a price or
/// dimension makes it follow the product's.
#[derive(Deserialize, ToSchema, Default)]
pub struct VariantRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub sale_price: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub retail_price: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub map_price: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub cost_price: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub weight: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub width: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub height: Option<Option<Decimal>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub depth: Option<Option<Decimal>>,
    #[serde(default)]
    pub is_free_shipping: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub fixed_cost_shipping_price: Option<Option<Decimal>>,
    #[serde(default)]
    pub inventory_level: Option<i64>,
    #[serde(default)]
    pub inventory_warning_level: Option<i64>,
    #[serde(default)]
    pub purchasing_disabled: Option<bool>,
    #[serde(default)]
    pub purchasing_disabled_message: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub upc: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
    #[serde(default)]
    pub gtin: Option<String>,
    #[serde(default)]
    pub bin_picking_number: Option<String>,
    #[serde(default)]
    pub option_values: Option<Vec<OptionValueRefRequest>>,
}

impl VariantRequest {
    fn into_input(self) -> VariantInput {
        VariantInput {
            id: self.id,
            sku: self.sku,
            price: money2(self.price),
            sale_price: money2(self.sale_price),
            retail_price: money2(self.retail_price),
            map_price: money2(self.map_price),
            cost_price: money2(self.cost_price),
            weight: self.weight,
            width: self.width,
            height: self.height,
            depth: self.depth,
            inventory_level: self.inventory_level,
            inventory_warning_level: self.inventory_warning_level,
            purchasing_disabled: self.purchasing_disabled,
            purchasing_disabled_message: self.purchasing_disabled_message,
            image_url: self.image_url,
            upc: self.upc,
            mpn: self.mpn,
            gtin: self.gtin,
            bin_picking_number: self.bin_picking_number,
            is_free_shipping: self.is_free_shipping,
            fixed_cost_shipping_price: money2(self.fixed_cost_shipping_price),
            option_values: self.option_values.map(|vs| {
                vs.into_iter()
                    .map(|v| OptionValueChoice {
                        id: v.id,
                        option_id: v.option_id,
                        label: v.label,
                        option_display_name: v.option_display_name,
                    })
                    .collect()
            }),
        }
    }
}

/// A value of a variant option or modifier.
#[derive(Deserialize, ToSchema, Default)]
pub struct OptionValueRequest {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub is_default: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub value_data: Option<Option<serde_json::Value>>,
    /// Modifier values only (`adjustments` is accepted too).
    #[serde(default, alias = "adjustments")]
    pub adjusters: Option<AdjustersWire>,
}

impl OptionValueRequest {
    fn into_input(self) -> OptionValueInput {
        OptionValueInput {
            id: self.id,
            label: self.label,
            sort_order: self.sort_order,
            is_default: self.is_default,
            value_data: self.value_data,
        }
    }

    fn into_modifier_input(mut self) -> ModifierValueInput {
        let adjusters = self.adjusters.take().map(AdjustersWire::into_domain);
        ModifierValueInput {
            value: self.into_input(),
            adjusters,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OptionRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub option_type: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub option_values: Option<Vec<OptionValueRequest>>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ModifierRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<String>)]
    pub modifier_type: Option<ModifierType>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub option_values: Option<Vec<OptionValueRequest>>,
}

// ---------- shared wire pieces ----------

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct AdjusterWire {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub adjuster: Option<AdjusterKind>,
    #[serde(default, serialize_with = "decimal_as_number")]
    #[schema(value_type = Option<f64>)]
    pub adjuster_value: Option<Decimal>,
}

/// Decimals leave as exact JSON numbers (rust_decimal alone would write strings).
fn decimal_as_number<S: serde::Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    d.map(num).serialize(s)
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct PurchasingDisabledWire {
    #[serde(default)]
    pub status: bool,
    #[serde(default)]
    pub message: String,
}

/// How choosing a modifier value changes the line.
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct AdjustersWire {
    #[serde(default)]
    pub price: Option<AdjusterWire>,
    #[serde(default)]
    pub weight: Option<AdjusterWire>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub purchasing_disabled: Option<PurchasingDisabledWire>,
}

impl AdjustersWire {
    fn into_domain(self) -> Adjustments {
        let adj = |a: Option<AdjusterWire>| {
            a.and_then(|a| {
                a.adjuster.map(|kind| Adjuster {
                    adjuster: kind,
                    adjuster_value: a.adjuster_value.unwrap_or_default(),
                })
            })
        };
        Adjustments {
            price: adj(self.price),
            weight: adj(self.weight),
            image_url: self.image_url.unwrap_or_default(),
            purchasing_disabled: self
                .purchasing_disabled
                .map(|p| PurchasingDisabled {
                    status: p.status,
                    message: p.message,
                })
                .unwrap_or_default(),
        }
    }

    fn from_domain(a: &Adjustments) -> Self {
        let adj = |a: &Option<Adjuster>| {
            Some(match a {
                Some(a) => AdjusterWire {
                    adjuster: Some(a.adjuster),
                    adjuster_value: Some(a.adjuster_value.normalize()),
                },
                None => AdjusterWire {
                    adjuster: None,
                    adjuster_value: Some(Decimal::ZERO),
                },
            })
        };
        AdjustersWire {
            price: adj(&a.price),
            weight: adj(&a.weight),
            image_url: Some(a.image_url.clone()),
            purchasing_disabled: Some(PurchasingDisabledWire {
                status: a.purchasing_disabled.status,
                message: a.purchasing_disabled.message.clone(),
            }),
        }
    }
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct CustomUrlWire {
    pub url: String,
    pub is_customized: bool,
}

#[derive(Serialize, ToSchema)]
pub struct VariantOptionValueWire {
    pub id: i64,
    pub label: String,
    pub option_id: i64,
    pub option_display_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct VariantWire {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub sku_id: Option<i64>,
    #[schema(value_type = Option<f64>)]
    pub price: Option<Money>,
    #[schema(value_type = f64)]
    pub calculated_price: Money,
    #[schema(value_type = Option<f64>)]
    pub sale_price: Option<Money>,
    #[schema(value_type = Option<f64>)]
    pub retail_price: Option<Money>,
    #[schema(value_type = Option<f64>)]
    pub map_price: Option<Money>,
    #[schema(value_type = Option<f64>)]
    pub cost_price: Option<Money>,
    #[schema(value_type = Option<f64>)]
    pub weight: Option<serde_json::Number>,
    #[schema(value_type = f64)]
    pub calculated_weight: serde_json::Number,
    #[schema(value_type = Option<f64>)]
    pub width: Option<serde_json::Number>,
    #[schema(value_type = Option<f64>)]
    pub height: Option<serde_json::Number>,
    #[schema(value_type = Option<f64>)]
    pub depth: Option<serde_json::Number>,
    pub is_free_shipping: bool,
    #[schema(value_type = Option<f64>)]
    pub fixed_cost_shipping_price: Option<Money>,
    pub purchasing_disabled: bool,
    pub purchasing_disabled_message: String,
    pub image_url: String,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    pub bin_picking_number: String,
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    pub option_values: Vec<VariantOptionValueWire>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionValueWire {
    pub id: i64,
    pub label: String,
    pub sort_order: i64,
    pub is_default: bool,
    #[schema(value_type = Option<Object>)]
    pub value_data: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionWire {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub option_type: String,
    pub sort_order: i64,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub option_values: Vec<OptionValueWire>,
}

#[derive(Serialize, ToSchema)]
pub struct ModifierValueWire {
    pub id: i64,
    pub option_id: i64,
    pub label: String,
    pub sort_order: i64,
    pub is_default: bool,
    #[schema(value_type = Option<Object>)]
    pub value_data: Option<serde_json::Value>,
    pub adjusters: AdjustersWire,
}

#[derive(Serialize, ToSchema)]
pub struct ModifierWire {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub display_name: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub modifier_type: ModifierType,
    pub required: bool,
    pub sort_order: i64,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub option_values: Vec<ModifierValueWire>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductWire {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub product_type: ProductType,
    pub sku: String,
    pub description: String,
    #[schema(value_type = f64)]
    pub weight: serde_json::Number,
    #[schema(value_type = f64)]
    pub width: serde_json::Number,
    #[schema(value_type = f64)]
    pub depth: serde_json::Number,
    #[schema(value_type = f64)]
    pub height: serde_json::Number,
    #[schema(value_type = f64)]
    pub price: Money,
    #[schema(value_type = f64)]
    pub cost_price: Money,
    #[schema(value_type = f64)]
    pub retail_price: Money,
    #[schema(value_type = f64)]
    pub sale_price: Money,
    #[schema(value_type = f64)]
    pub map_price: Money,
    #[schema(value_type = f64)]
    pub calculated_price: Money,
    pub tax_class_id: i64,
    pub product_tax_code: String,
    pub categories: Vec<i64>,
    pub brand_id: i64,
    pub option_set_id: Option<i64>,
    pub option_set_display: String,
    pub inventory_level: i64,
    pub inventory_warning_level: i64,
    #[schema(value_type = String)]
    pub inventory_tracking: InventoryTracking,
    pub reviews_rating_sum: i64,
    pub reviews_count: i64,
    pub total_sold: i64,
    #[schema(value_type = f64)]
    pub fixed_cost_shipping_price: Money,
    pub is_free_shipping: bool,
    pub is_visible: bool,
    pub is_featured: bool,
    pub related_products: Vec<i64>,
    pub warranty: String,
    pub bin_picking_number: String,
    pub layout_file: String,
    pub upc: String,
    pub mpn: String,
    pub gtin: String,
    pub date_last_imported: Option<String>,
    pub search_keywords: String,
    #[schema(value_type = String)]
    pub availability: Availability,
    pub availability_description: String,
    pub gift_wrapping_options_type: String,
    pub gift_wrapping_options_list: Vec<i64>,
    pub sort_order: i64,
    pub condition: String,
    pub is_condition_shown: bool,
    pub order_quantity_minimum: i64,
    pub order_quantity_maximum: i64,
    pub page_title: String,
    pub meta_keywords: Vec<String>,
    pub meta_description: String,
    pub date_created: String,
    pub date_modified: String,
    pub view_count: i64,
    pub preorder_release_date: Option<String>,
    pub preorder_message: String,
    pub is_preorder_only: bool,
    pub is_price_hidden: bool,
    pub price_hidden_label: String,
    pub custom_url: CustomUrlWire,
    pub base_variant_id: Option<i64>,
    pub open_graph_type: String,
    pub open_graph_title: String,
    pub open_graph_description: String,
    pub open_graph_use_meta_description: bool,
    pub open_graph_use_product_name: bool,
    pub open_graph_use_image: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<VariantWire>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionWire>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modifiers: Option<Vec<ModifierWire>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub images: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub custom_fields: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub bulk_pricing_rules: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub videos: Option<Vec<serde_json::Value>>,
}

fn variant_wire(cp: &CatalogProduct, v: &Variant) -> VariantWire {
    let p = &cp.product;
    let d = cp.details.variants.get(&v.id).cloned().unwrap_or_default();
    VariantWire {
        id: v.id,
        product_id: p.id,
        sku: v.sku.clone(),
        sku_id: None,
        price: v.price,
        calculated_price: p.variant_selling_price(v),
        sale_price: v.sale_price,
        retail_price: v.retail_price,
        map_price: v.map_price,
        cost_price: v.cost_price,
        weight: v.weight.map(num),
        calculated_weight: num(p.variant_weight(v)),
        width: v.width.map(num),
        height: v.height.map(num),
        depth: v.depth.map(num),
        is_free_shipping: d.is_free_shipping,
        fixed_cost_shipping_price: d.fixed_cost_shipping_price,
        purchasing_disabled: v.purchasing_disabled,
        purchasing_disabled_message: v.purchasing_disabled_message.clone(),
        image_url: v.image_url.clone(),
        upc: v.upc.clone(),
        mpn: v.mpn.clone(),
        gtin: v.gtin.clone(),
        bin_picking_number: v.bin_picking_number.clone(),
        inventory_level: v.inventory_level,
        inventory_warning_level: v.inventory_warning_level,
        option_values: v
            .option_values
            .iter()
            .map(|r| VariantOptionValueWire {
                id: r.id,
                label: r.label.clone(),
                option_id: r.option_id,
                option_display_name: r.option_display_name.clone(),
            })
            .collect(),
    }
}

fn option_value_wire(v: &OptionValue) -> OptionValueWire {
    OptionValueWire {
        id: v.id,
        label: v.label.clone(),
        sort_order: v.sort_order,
        is_default: v.is_default,
        value_data: v.value_data.clone(),
    }
}

fn option_wire(cp: &CatalogProduct, o: &VariantOption) -> OptionWire {
    OptionWire {
        id: o.id,
        product_id: cp.product.id,
        name: o.name.clone(),
        display_name: o.display_name.clone(),
        option_type: o.option_type.clone(),
        sort_order: o.sort_order,
        config: cp
            .details
            .option_configs
            .get(&o.id)
            .cloned()
            .unwrap_or_else(|| serde_json::json!({})),
        option_values: o.option_values.iter().map(option_value_wire).collect(),
    }
}

fn modifier_value_wire(m: &Modifier, v: &ModifierValue) -> ModifierValueWire {
    ModifierValueWire {
        id: v.id,
        option_id: m.id,
        label: v.label.clone(),
        sort_order: v.sort_order,
        is_default: v.is_default,
        value_data: v.value_data.clone(),
        adjusters: AdjustersWire::from_domain(&v.adjustments),
    }
}

fn modifier_wire(m: &Modifier) -> ModifierWire {
    ModifierWire {
        id: m.id,
        product_id: m.product_id,
        name: m.name.clone(),
        display_name: m.display_name.clone(),
        modifier_type: m.modifier_type,
        required: m.required,
        sort_order: m.sort_order,
        config: if m.config.is_null() {
            serde_json::json!({})
        } else {
            m.config.clone()
        },
        option_values: m
            .option_values
            .iter()
            .map(|v| modifier_value_wire(m, v))
            .collect(),
    }
}

fn product_wire(cp: &CatalogProduct, inc: &Includes) -> ProductWire {
    let p: &Product = &cp.product;
    let d = &cp.details;
    ProductWire {
        id: p.id,
        name: p.name.clone(),
        product_type: p.product_type,
        sku: p.sku.clone(),
        description: p.description.clone(),
        weight: num(p.weight),
        width: num(p.width),
        depth: num(p.depth),
        height: num(p.height),
        price: p.price,
        cost_price: p.cost_price,
        retail_price: p.retail_price,
        sale_price: p.sale_price,
        map_price: p.map_price,
        calculated_price: p.calculated_price(),
        tax_class_id: p.tax_class_id,
        product_tax_code: d.product_tax_code.clone(),
        categories: p.categories.clone(),
        brand_id: p.brand_id,
        option_set_id: None,
        option_set_display: "right".into(),
        inventory_level: p.reported_inventory_level(),
        inventory_warning_level: p.inventory_warning_level,
        inventory_tracking: p.inventory_tracking,
        reviews_rating_sum: 0,
        reviews_count: 0,
        total_sold: 0,
        fixed_cost_shipping_price: p.fixed_cost_shipping_price,
        is_free_shipping: p.is_free_shipping,
        is_visible: p.is_visible,
        is_featured: d.is_featured,
        related_products: d.related_products.clone(),
        warranty: d.warranty.clone(),
        bin_picking_number: d.bin_picking_number.clone(),
        layout_file: d.layout_file.clone(),
        upc: d.upc.clone(),
        mpn: d.mpn.clone(),
        gtin: d.gtin.clone(),
        date_last_imported: None,
        search_keywords: d.search_keywords.clone(),
        availability: p.availability,
        availability_description: d.availability_description.clone(),
        gift_wrapping_options_type: d.gift_wrapping_options_type.clone(),
        gift_wrapping_options_list: d.gift_wrapping_options_list.clone(),
        sort_order: d.sort_order,
        condition: d.condition.clone(),
        is_condition_shown: d.is_condition_shown,
        order_quantity_minimum: p.order_quantity_minimum,
        order_quantity_maximum: p.order_quantity_maximum,
        page_title: d.page_title.clone(),
        meta_keywords: d.meta_keywords.clone(),
        meta_description: d.meta_description.clone(),
        date_created: rfc3339(p.date_created),
        date_modified: rfc3339(p.date_modified),
        view_count: 0,
        preorder_release_date: d.preorder_release_date.clone(),
        preorder_message: d.preorder_message.clone(),
        is_preorder_only: d.is_preorder_only,
        is_price_hidden: d.is_price_hidden,
        price_hidden_label: d.price_hidden_label.clone(),
        custom_url: CustomUrlWire {
            url: p.url.clone(),
            is_customized: d.custom_url_is_customized,
        },
        base_variant_id: p.base_variant_id(),
        open_graph_type: d.open_graph_type.clone(),
        open_graph_title: d.open_graph_title.clone(),
        open_graph_description: d.open_graph_description.clone(),
        open_graph_use_meta_description: d.open_graph_use_meta_description,
        open_graph_use_product_name: d.open_graph_use_product_name,
        open_graph_use_image: d.open_graph_use_image,
        variants: inc
            .has("variants")
            .then(|| p.variants.iter().map(|v| variant_wire(cp, v)).collect()),
        options: inc
            .has("options")
            .then(|| p.options.iter().map(|o| option_wire(cp, o)).collect()),
        modifiers: inc
            .has("modifiers")
            .then(|| p.modifiers.iter().map(modifier_wire).collect()),
        images: inc.has("images").then(Vec::new),
        custom_fields: inc.has("custom_fields").then(Vec::new),
        bulk_pricing_rules: inc.has("bulk_pricing_rules").then(Vec::new),
        videos: inc.has("videos").then(Vec::new),
    }
}

// ---------- query strings and paths ----------

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn parse_int(v: &str, field: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::unprocessable(field, format!("`{field}` must be a whole number.")))
}

fn parse_ids(v: &str, field: &str) -> ApiResult<Vec<i64>> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_int(s, field))
        .collect()
}

fn parse_bool(v: &str, field: &str) -> ApiResult<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::unprocessable(
            field,
            format!("`{field}` must be true or false."),
        )),
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(v: &str, field: &str) -> ApiResult<T> {
    serde_json::from_value(serde_json::Value::String(v.trim().to_string())).map_err(|_| {
        ApiError::unprocessable(field, format!("`{v}` is not a valid value for `{field}`."))
    })
}

/// Product filters from a query string (shared by list and batch delete).
fn product_filter(pairs: &[(String, String)]) -> ApiResult<CatalogFilter> {
    let mut f = CatalogFilter::default();
    for (k, v) in pairs {
        match k.as_str() {
            "id" => {
                let id = parse_int(v, "id")?;
                f.ids = Some(match f.ids.take() {
                    Some(ids) if ids.contains(&id) => vec![id],
                    Some(_) => Vec::new(),
                    None => vec![id],
                });
            }
            "id:in" => {
                let ids = parse_ids(v, "id:in")?;
                f.ids = Some(match f.ids.take() {
                    Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
                    None => ids,
                });
            }
            "id:not_in" => f.not_ids = Some(parse_ids(v, "id:not_in")?),
            "id:min" => f.id_min = Some(parse_int(v, "id:min")?),
            "id:max" => f.id_max = Some(parse_int(v, "id:max")?),
            "id:greater" => f.id_min = Some(parse_int(v, "id:greater")?.saturating_add(1)),
            "id:less" => f.id_max = Some(parse_int(v, "id:less")?.saturating_sub(1)),
            "name" => f.name = Some(v.clone()),
            "name:like" => f.name_like = Some(v.clone()),
            "sku" => f.sku = Some(v.clone()),
            "sku:in" => {
                f.skus = Some(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                )
            }
            "is_visible" => f.is_visible = Some(parse_bool(v, "is_visible")?),
            "type" => f.product_type = Some(parse_enum(v, "type")?),
            "availability" => f.availability = Some(parse_enum(v, "availability")?),
            _ => {}
        }
    }
    Ok(f)
}

/// `page` (from 1) and `limit` (default 50, at most 250).
fn paging(pairs: &[(String, String)]) -> ApiResult<(i64, i64)> {
    let mut page = 1;
    let mut limit = 50;
    for (k, v) in pairs {
        match k.as_str() {
            "page" => page = parse_int(v, "page")?.max(1),
            "limit" => limit = parse_int(v, "limit")?.clamp(1, 250),
            _ => {}
        }
    }
    Ok((page, limit))
}

fn sorting(pairs: &[(String, String)]) -> ApiResult<(CatalogSort, bool)> {
    let mut sort = CatalogSort::Id;
    let mut desc = false;
    for (k, v) in pairs {
        match (k.as_str(), v.as_str()) {
            ("sort", "id") => sort = CatalogSort::Id,
            ("sort", "name") => sort = CatalogSort::Name,
            ("sort", "sku") => sort = CatalogSort::Sku,
            ("sort", "date_modified") => sort = CatalogSort::DateModified,
            ("sort", other) => {
                return Err(ApiError::unprocessable(
                    "sort",
                    format!(
                        "Sorting by `{other}` is not supported (id, name, sku, date_modified)."
                    ),
                ));
            }
            ("direction", "asc") => desc = false,
            ("direction", "desc") => desc = true,
            ("direction", _) => {
                return Err(ApiError::unprocessable(
                    "direction",
                    "direction must be asc or desc.",
                ));
            }
            _ => {}
        }
    }
    Ok((sort, desc))
}

fn id_or_404(s: &str, what: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("{what} {s} does not exist.")))
}

fn ok<T: Serialize>(data: T) -> Response {
    (StatusCode::OK, Envelope::new(data)).into_response()
}

/// A page of an in-memory list, with BigCommerce's pagination meta.
fn page_of<T: Serialize>(items: Vec<T>, q: Option<&str>) -> ApiResult<Response> {
    let (page, limit) = paging(&query_pairs(q))?;
    let total = items.len() as i64;
    let start = ((page - 1).saturating_mul(limit)).min(total) as usize;
    let data: Vec<T> = items.into_iter().skip(start).take(limit as usize).collect();
    let meta = pagination_meta(total, data.len(), limit, page);
    Ok((StatusCode::OK, Envelope::with_meta(data, meta)).into_response())
}

fn find_variant(cp: &CatalogProduct, id: i64) -> ApiResult<&Variant> {
    cp.product.variant(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "Variant {id} does not exist on product {}.",
            cp.product.id
        ))
    })
}

fn find_option(cp: &CatalogProduct, id: i64) -> ApiResult<&VariantOption> {
    cp.product
        .options
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Option {id} does not exist on product {}.",
                cp.product.id
            ))
        })
}

fn find_modifier(cp: &CatalogProduct, id: i64) -> ApiResult<&Modifier> {
    cp.product
        .modifiers
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Modifier {id} does not exist on product {}.",
                cp.product.id
            ))
        })
}

fn value_404(owner: i64, id: i64) -> ApiError {
    ApiError::not_found(format!("Value {id} does not exist on option {owner}."))
}

// ---------- product handlers ----------

/// List products, filtered and paginated.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products", tag = "Catalog",
    params(("store_hash" = String, Path),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "default 50, at most 250"),
        ("id" = Option<i64>, Query), ("id:in" = Option<String>, Query), ("name" = Option<String>, Query),
        ("name:like" = Option<String>, Query), ("sku" = Option<String>, Query), ("is_visible" = Option<bool>, Query),
        ("type" = Option<String>, Query), ("include" = Option<String>, Query, description = "variants, options, modifiers")),
    responses((status = 200, body = inline(Envelope<Vec<ProductWire>>)), (status = 422, body = ErrorBody)))]
async fn list_products(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let (page, limit) = paging(&pairs)?;
    let (sort, descending) = sorting(&pairs)?;
    let query = ProductQuery {
        filter: product_filter(&pairs)?,
        sort,
        descending,
        page,
        limit,
    };
    let (products, total) = state
        .kassa
        .list_catalog_products(&who.store, &query)
        .await?;
    let inc = Includes::from_query(q.as_deref());
    let data: Vec<ProductWire> = products.iter().map(|p| product_wire(p, &inc)).collect();
    let meta = pagination_meta(total, data.len(), limit, page);
    Ok((StatusCode::OK, Envelope::with_meta(data, meta)).into_response())
}

/// Create a product, optionally with variants whose option values create its options.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products", tag = "Catalog",
    params(("store_hash" = String, Path), ("include" = Option<String>, Query)),
    request_body = ProductRequest,
    responses((status = 200, body = inline(Envelope<ProductWire>)), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<ProductRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let cp = state
        .kassa
        .create_product(&who.store, &body.into_input())
        .await?;
    Ok(ok(product_wire(&cp, &write_includes(q.as_deref()))))
}

/// Create and update answers always carry the variants, so callers learn their ids.
fn write_includes(q: Option<&str>) -> Includes {
    let extra = match q {
        Some(q) if !q.is_empty() => format!("{q}&include=variants"),
        _ => "include=variants".to_string(),
    };
    Includes::from_query(Some(&extra))
}

/// Delete the products a filter names (at least one filter, e.g. `id:in`).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products", tag = "Catalog",
    params(("store_hash" = String, Path), ("id:in" = Option<String>, Query), ("name" = Option<String>, Query), ("sku" = Option<String>, Query)),
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn delete_products(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let filter = product_filter(&query_pairs(q.as_deref()))?;
    state
        .kassa
        .delete_catalog_products(&who.store, &filter)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get a product.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("include" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<ProductWire>)), (status = 404, body = ErrorBody)))]
async fn get_product(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    Ok(ok(product_wire(&cp, &Includes::from_query(q.as_deref()))))
}

/// Update a product: only the fields sent change.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("include" = Option<String>, Query)),
    request_body = ProductRequest,
    responses((status = 200, body = inline(Envelope<ProductWire>)), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_product(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Result<JsonBody<ProductRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let cp = state
        .kassa
        .update_catalog_product(&who.store, id, &body.into_input())
        .await?;
    Ok(ok(product_wire(&cp, &write_includes(q.as_deref()))))
}

/// Delete a product.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_product(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    state.kassa.delete_catalog_product(&who.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- variant handlers ----------

/// List a product's variants.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/variants", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<VariantWire>>)), (status = 404, body = ErrorBody)))]
async fn list_variants(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let items = cp
        .product
        .variants
        .iter()
        .map(|v| variant_wire(&cp, v))
        .collect();
    page_of(items, q.as_deref())
}

/// Create a variant (`sku` and `option_values` required).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/variants", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path)),
    request_body = VariantRequest,
    responses((status = 200, body = inline(Envelope<VariantWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_variant(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<VariantRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let (cp, vid) = state
        .kassa
        .create_variant(&who.store, id, &body.into_input())
        .await?;
    Ok(ok(variant_wire(&cp, find_variant(&cp, vid)?)))
}

/// Get a variant.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/variants/{variant_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("variant_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<VariantWire>)), (status = 404, body = ErrorBody)))]
async fn get_variant(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let vid = id_or_404(&path.2, "Variant")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    Ok(ok(variant_wire(&cp, find_variant(&cp, vid)?)))
}

/// Update a variant; `null` prices and dimensions follow the product's.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/variants/{variant_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("variant_id" = i64, Path)),
    request_body = VariantRequest,
    responses((status = 200, body = inline(Envelope<VariantWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_variant(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<VariantRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let vid = id_or_404(&path.2, "Variant")?;
    let cp = state
        .kassa
        .update_variant(&who.store, id, vid, &body.into_input())
        .await?;
    Ok(ok(variant_wire(&cp, find_variant(&cp, vid)?)))
}

/// Delete a variant (not a product's last).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/variants/{variant_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("variant_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_variant(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    let vid = id_or_404(&path.2, "Variant")?;
    state.kassa.delete_variant(&who.store, id, vid).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- variant option handlers ----------

/// List a product's variant options.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<OptionWire>>)), (status = 404, body = ErrorBody)))]
async fn list_options(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let items = cp
        .product
        .options
        .iter()
        .map(|o| option_wire(&cp, o))
        .collect();
    page_of(items, q.as_deref())
}

/// Create a variant option (`display_name`, `type`, `option_values` required).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path)),
    request_body = OptionRequest,
    responses((status = 200, body = inline(Envelope<OptionWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_option(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<OptionRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let (cp, oid) = state
        .kassa
        .create_option(&who.store, id, &option_input(body))
        .await?;
    Ok(ok(option_wire(&cp, find_option(&cp, oid)?)))
}

fn option_input(body: OptionRequest) -> crate::domain::catalog::OptionInput {
    crate::domain::catalog::OptionInput {
        display_name: body.display_name,
        option_type: body.option_type,
        sort_order: body.sort_order,
        config: body.config,
        option_values: body
            .option_values
            .map(|vs| vs.into_iter().map(OptionValueRequest::into_input).collect()),
    }
}

/// Get a variant option.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<OptionWire>)), (status = 404, body = ErrorBody)))]
async fn get_option(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    Ok(ok(option_wire(&cp, find_option(&cp, oid)?)))
}

/// Update a variant option; values with an `id` change, values without one are added.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path)),
    request_body = OptionRequest,
    responses((status = 200, body = inline(Envelope<OptionWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_option(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<OptionRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let cp = state
        .kassa
        .update_option(&who.store, id, oid, &option_input(body))
        .await?;
    Ok(ok(option_wire(&cp, find_option(&cp, oid)?)))
}

/// Delete a variant option; variants drop its values.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_option(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    state.kassa.delete_option(&who.store, id, oid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a variant option's values.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<OptionValueWire>>)), (status = 404, body = ErrorBody)))]
async fn list_option_values(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let items = find_option(&cp, oid)?
        .option_values
        .iter()
        .map(option_value_wire)
        .collect();
    page_of(items, q.as_deref())
}

/// Add a value to a variant option (`label` required).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path)),
    request_body = OptionValueRequest,
    responses((status = 200, body = inline(Envelope<OptionValueWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_option_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<OptionValueRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let (cp, vid) = state
        .kassa
        .create_option_value(&who.store, id, oid, &body.into_input())
        .await?;
    let o = find_option(&cp, oid)?;
    let v = o
        .option_values
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| value_404(oid, vid))?;
    Ok(ok(option_value_wire(v)))
}

/// Get a variant option value.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path), ("value_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<OptionValueWire>)), (status = 404, body = ErrorBody)))]
async fn get_option_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let vid = id_or_404(&path.3, "Value")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let o = find_option(&cp, oid)?;
    let v = o
        .option_values
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| value_404(oid, vid))?;
    Ok(ok(option_value_wire(v)))
}

/// Update a variant option value (its new label shows on the variants using it).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path), ("value_id" = i64, Path)),
    request_body = OptionValueRequest,
    responses((status = 200, body = inline(Envelope<OptionValueWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_option_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
    body: Result<JsonBody<OptionValueRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let vid = id_or_404(&path.3, "Value")?;
    let cp = state
        .kassa
        .update_option_value(&who.store, id, oid, vid, &body.into_input())
        .await?;
    let o = find_option(&cp, oid)?;
    let v = o
        .option_values
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| value_404(oid, vid))?;
    Ok(ok(option_value_wire(v)))
}

/// Delete a variant option value and the variants that use it.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("option_id" = i64, Path), ("value_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_option_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    let oid = id_or_404(&path.2, "Option")?;
    let vid = id_or_404(&path.3, "Value")?;
    state
        .kassa
        .delete_option_value(&who.store, id, oid, vid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- modifier handlers ----------

fn modifier_input(body: ModifierRequest) -> ModifierInput {
    ModifierInput {
        display_name: body.display_name,
        modifier_type: body.modifier_type,
        required: body.required,
        sort_order: body.sort_order,
        config: body.config,
        option_values: body.option_values.map(|vs| {
            vs.into_iter()
                .map(OptionValueRequest::into_modifier_input)
                .collect()
        }),
    }
}

/// List a product's modifiers.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<ModifierWire>>)), (status = 404, body = ErrorBody)))]
async fn list_modifiers(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let items = cp.product.modifiers.iter().map(modifier_wire).collect();
    page_of(items, q.as_deref())
}

/// Create a modifier (`display_name`, `type`, `required` required).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path)),
    request_body = ModifierRequest,
    responses((status = 200, body = inline(Envelope<ModifierWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_modifier(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<ModifierRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let (cp, mid) = state
        .kassa
        .create_modifier(&who.store, id, &modifier_input(body))
        .await?;
    Ok(ok(modifier_wire(find_modifier(&cp, mid)?)))
}

/// Get a modifier.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<ModifierWire>)), (status = 404, body = ErrorBody)))]
async fn get_modifier(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    Ok(ok(modifier_wire(find_modifier(&cp, mid)?)))
}

/// Update a modifier; values with an `id` change, values without one are added.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path)),
    request_body = ModifierRequest,
    responses((status = 200, body = inline(Envelope<ModifierWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_modifier(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<ModifierRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let cp = state
        .kassa
        .update_modifier(&who.store, id, mid, &modifier_input(body))
        .await?;
    Ok(ok(modifier_wire(find_modifier(&cp, mid)?)))
}

/// Delete a modifier.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_modifier(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    state.kassa.delete_modifier(&who.store, id, mid).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn find_modifier_value(m: &Modifier, vid: i64) -> ApiResult<&ModifierValue> {
    m.option_values
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| value_404(m.id, vid))
}

/// List a modifier's values.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path), ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<ModifierValueWire>>)), (status = 404, body = ErrorBody)))]
async fn list_modifier_values(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let m = find_modifier(&cp, mid)?;
    let items = m
        .option_values
        .iter()
        .map(|v| modifier_value_wire(m, v))
        .collect();
    page_of(items, q.as_deref())
}

/// Add a value to a modifier (`label` required).
#[utoipa::path(post, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path)),
    request_body = OptionValueRequest,
    responses((status = 200, body = inline(Envelope<ModifierValueWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_modifier_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
    body: Result<JsonBody<OptionValueRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let (cp, vid) = state
        .kassa
        .create_modifier_value(&who.store, id, mid, &body.into_modifier_input())
        .await?;
    let m = find_modifier(&cp, mid)?;
    Ok(ok(modifier_value_wire(m, find_modifier_value(m, vid)?)))
}

/// Get a modifier value.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path), ("value_id" = i64, Path)),
    responses((status = 200, body = inline(Envelope<ModifierValueWire>)), (status = 404, body = ErrorBody)))]
async fn get_modifier_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    who.require(Scope::V2ProductsReadOnly)?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let vid = id_or_404(&path.3, "Value")?;
    let cp = state.kassa.get_catalog_product(&who.store, id).await?;
    let m = find_modifier(&cp, mid)?;
    Ok(ok(modifier_value_wire(m, find_modifier_value(m, vid)?)))
}

/// Update a modifier value (label, adjusters, …).
#[utoipa::path(put, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path), ("value_id" = i64, Path)),
    request_body = OptionValueRequest,
    responses((status = 200, body = inline(Envelope<ModifierValueWire>)), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_modifier_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
    body: Result<JsonBody<OptionValueRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Products)?;
    let JsonBody(body) = body?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let vid = id_or_404(&path.3, "Value")?;
    let cp = state
        .kassa
        .update_modifier_value(&who.store, id, mid, vid, &body.into_modifier_input())
        .await?;
    let m = find_modifier(&cp, mid)?;
    Ok(ok(modifier_value_wire(m, find_modifier_value(m, vid)?)))
}

/// Delete a modifier value.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values/{value_id}", tag = "Catalog",
    params(("store_hash" = String, Path), ("product_id" = i64, Path), ("modifier_id" = i64, Path), ("value_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_modifier_value(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Products)?;
    let id = id_or_404(&path.1, "Product")?;
    let mid = id_or_404(&path.2, "Modifier")?;
    let vid = id_or_404(&path.3, "Value")?;
    state
        .kassa
        .delete_modifier_value(&who.store, id, mid, vid)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
