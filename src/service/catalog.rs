//! Catalog use cases: products, variants, variant options and modifiers, and the
//! demo store's catalog.
//!
//! Changes to one product (its variants, options, modifiers) load the product, change
//! it in memory through the pure rules in `domain::catalog`, and save it only if the
//! stored document is unchanged since it was read, replaying the change otherwise.
//!
//! # The demo catalog
//!
//! [`Kassa::seed_demo_catalog`] creates these products in a fresh demo store (ids are
//! deterministic: products, variants, options/modifiers and their values each count
//! from 1 in creation order). Prices are USD.
//!
//! | id | product | price | variants | options / modifiers (value ids) |
//! |----|---------|-------|----------|---------------------------------|
//! | 1 | Kassa T-Shirt | 20.00 (L: 24.00) | 1 S/Red, 2 S/Blue, 3 M/Red, 4 M/Blue, 5 L/Red, 6 L/Blue | option 1 Size (S=1, M=2, L=3), option 2 Colour (Red=4, Blue=5) |
//! | 2 | Ceramic Mug | 12.50 | 7 | modifier 3 Gift wrap, checkbox (Yes=6 +5.00, No=7); modifier 4 Engraving, text, optional, max 20 chars |
//! | 3 | The Headless Commerce Handbook (e-book, digital) | 9.99 | 8 | — |
//! | 4 | Limited Edition Print (inventory_tracking=product, 3 in stock) | 75.00 | 9 | — |
//! | 5 | Canvas Tote Bag (on sale) | 40.00, sale 29.99 | 10 | — |
//! | 6 | Wool Scarf | 35.00 | 11 Grey, 12 Navy (purchasing disabled: "Back in stock soon.") | option 5 Colour (Grey=8, Navy=9) |
//! | 7 | Espresso Beans 1kg | 18.00 | 13 | modifier 6 Grind, dropdown, required (Whole bean=10 +0, Fine=11 +0, Gift tin=12 +10%) |
//! | 8 | Desk Lamp | 49.95 | 14 | — |
//! | 9 | Notebook Set | 8.00 | 15 | — |
//! | 10 | Gift Card Sleeve (free shipping) | 2.50 | 16 | — |
//!
//! Every product is in category 1; options and modifiers share one id sequence, as do
//! their values.

use super::{Kassa, ServiceError};
use crate::domain::DomainError;
use crate::domain::catalog::{
    self, Adjuster, AdjusterKind, Adjustments, CatalogProduct, IdNeeds, ModifierInput,
    ModifierType, ModifierValueInput, NewProductIds, OptionInput, OptionValueChoice,
    OptionValueInput, ProductInput, ProductType, VariantInput,
};
use crate::domain::catalog::{Availability, InventoryTracking};
use crate::domain::money::Money;
use crate::store::catalog::{CatalogFilter, CatalogSort};
use crate::store::{StoreError, StoreRecord};
use rust_decimal::Decimal;
use std::time::Duration;

/// How many times a product change is replayed when concurrent writers keep winning.
const MAX_ATTEMPTS: u32 = 100;

/// At most this many products go in one batch delete, as in BigCommerce.
pub const MAX_BATCH_DELETE: i64 = 250;

/// What can go wrong in a catalog use case: the common failures, or a product whose
/// name or SKU another product already has (BigCommerce answers 409 with the field).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{message}")]
    Duplicate { field: String, message: String },
}

impl From<DomainError> for CatalogError {
    fn from(e: DomainError) -> Self {
        CatalogError::Service(e.into())
    }
}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        CatalogError::Service(e.into())
    }
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// A list request: filter, order and page.
#[derive(Clone, Debug)]
pub struct ProductQuery {
    pub filter: CatalogFilter,
    pub sort: CatalogSort,
    pub descending: bool,
    pub page: i64,
    pub limit: i64,
}

fn product_not_found(id: i64) -> CatalogError {
    ServiceError::NotFound(format!("Product {id} does not exist.")).into()
}

fn duplicate_name(name: &str) -> CatalogError {
    CatalogError::Duplicate {
        field: "name".into(),
        message: format!("The product name `{name}` is a duplicate: another product has it."),
    }
}

impl Kassa {
    async fn reserve(&self, store: &StoreRecord, counter: &str, n: i64) -> CatalogResult<i64> {
        if n <= 0 {
            return Ok(0);
        }
        Ok(self.store.next_ids(store.id, counter, n).await?)
    }

    async fn reserve_list(
        &self,
        store: &StoreRecord,
        counter: &str,
        n: i64,
    ) -> CatalogResult<Vec<i64>> {
        let first = self.reserve(store, counter, n).await?;
        Ok((0..n).map(|i| first + i).collect())
    }

    async fn check_sku_free(
        &self,
        store: &StoreRecord,
        sku: &str,
        except_id: i64,
    ) -> CatalogResult<()> {
        if self
            .store
            .product_sku_taken(store.id, sku, except_id)
            .await?
        {
            return Err(CatalogError::Duplicate {
                field: "sku".into(),
                message: format!("The SKU `{sku}` is a duplicate: another product has it."),
            });
        }
        Ok(())
    }

    pub async fn create_product(
        &self,
        store: &StoreRecord,
        input: &ProductInput,
    ) -> CatalogResult<CatalogProduct> {
        // Check everything that needs no ids first, so bad requests burn none.
        catalog::new_product(
            NewProductIds {
                product: 0,
                first_variant: 0,
                first_option: 0,
                first_option_value: 0,
            },
            input,
            self.now(),
        )?;
        if let Some(sku) = &input.sku {
            self.check_sku_free(store, sku.trim(), 0).await?;
        }
        let IdNeeds {
            variants,
            options,
            option_values,
        } = catalog::id_needs(input)?;
        let ids = NewProductIds {
            product: self.reserve(store, "product", 1).await?,
            first_variant: self.reserve(store, "variant", variants).await?,
            first_option: self.reserve(store, "option", options).await?,
            first_option_value: self.reserve(store, "option_value", option_values).await?,
        };
        let cp = catalog::new_product(ids, input, self.now())?;
        match self.store.insert_catalog_product(store.id, &cp).await {
            Ok(()) => Ok(cp),
            Err(e) if e.unique_violation() => Err(duplicate_name(&cp.product.name)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_catalog_product(
        &self,
        store: &StoreRecord,
        id: i64,
    ) -> CatalogResult<CatalogProduct> {
        self.store
            .load_catalog_product(store.id, id)
            .await?
            .map(|s| s.product)
            .ok_or_else(|| product_not_found(id))
    }

    /// One page of products and the total that match.
    pub async fn list_catalog_products(
        &self,
        store: &StoreRecord,
        q: &ProductQuery,
    ) -> CatalogResult<(Vec<CatalogProduct>, i64)> {
        let offset = (q.page - 1).saturating_mul(q.limit);
        Ok(self
            .store
            .list_catalog_products(store.id, &q.filter, q.sort, q.descending, q.limit, offset)
            .await?)
    }

    pub async fn update_catalog_product(
        &self,
        store: &StoreRecord,
        id: i64,
        input: &ProductInput,
    ) -> CatalogResult<CatalogProduct> {
        if let Some(sku) = &input.sku {
            self.check_sku_free(store, sku.trim(), id).await?;
        }
        self.change_product(store, id, 0, |cp, _, now| {
            catalog::update_product(cp, input, now)
        })
        .await
    }

    pub async fn delete_catalog_product(&self, store: &StoreRecord, id: i64) -> CatalogResult<()> {
        if self.store.delete_catalog_products(store.id, &[id]).await? == 0 {
            return Err(product_not_found(id));
        }
        Ok(())
    }

    /// Deletes up to [`MAX_BATCH_DELETE`] products matching a (non-empty) filter.
    pub async fn delete_catalog_products(
        &self,
        store: &StoreRecord,
        filter: &CatalogFilter,
    ) -> CatalogResult<u64> {
        if filter.is_empty() {
            return Err(DomainError::field(
                "id:in",
                "Name the products to delete with a filter such as id:in.",
            )
            .into());
        }
        let (found, _) = self
            .store
            .list_catalog_products(
                store.id,
                filter,
                CatalogSort::Id,
                false,
                MAX_BATCH_DELETE,
                0,
            )
            .await?;
        let ids: Vec<i64> = found.iter().map(|p| p.product.id).collect();
        Ok(self.store.delete_catalog_products(store.id, &ids).await?)
    }

    /// Load, change, save if unchanged since read; replay on a concurrent change.
    /// `new_ids` ids are reserved from `counter` once, before the first attempt.
    async fn change_product_with<F>(
        &self,
        store: &StoreRecord,
        id: i64,
        counter: &str,
        new_ids: i64,
        change: F,
    ) -> CatalogResult<CatalogProduct>
    where
        F: Fn(&mut CatalogProduct, &[i64], i64) -> Result<(), DomainError>,
    {
        // Fail fast on a missing product or a bad request before reserving ids.
        let first = self
            .store
            .load_catalog_product(store.id, id)
            .await?
            .ok_or_else(|| product_not_found(id))?;
        let placeholder: Vec<i64> = (0..new_ids).map(|i| -1 - i).collect();
        let mut probe = first.product.clone();
        change(&mut probe, &placeholder, self.now())?;
        let ids = self.reserve_list(store, counter, new_ids).await?;
        let mut current = first;
        for attempt in 0..MAX_ATTEMPTS {
            let mut cp = current.product.clone();
            change(&mut cp, &ids, self.now())?;
            match self
                .store
                .replace_catalog_product(store.id, &cp, &current.doc)
                .await
            {
                Ok(true) => return Ok(cp),
                Ok(false) => {}
                Err(e) if e.unique_violation() => return Err(duplicate_name(&cp.product.name)),
                Err(e) => return Err(e.into()),
            }
            let jitter = (rand::random::<u64>() % 5) + u64::from(attempt.min(20));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
            current = self
                .store
                .load_catalog_product(store.id, id)
                .await?
                .ok_or_else(|| product_not_found(id))?;
        }
        Err(ServiceError::Conflict.into())
    }

    async fn change_product<F>(
        &self,
        store: &StoreRecord,
        id: i64,
        new_ids: i64,
        change: F,
    ) -> CatalogResult<CatalogProduct>
    where
        F: Fn(&mut CatalogProduct, &[i64], i64) -> Result<(), DomainError>,
    {
        self.change_product_with(store, id, "variant", new_ids, change)
            .await
    }

    // ---------- variants ----------

    /// Returns the product and the new variant's id.
    pub async fn create_variant(
        &self,
        store: &StoreRecord,
        product_id: i64,
        input: &VariantInput,
    ) -> CatalogResult<(CatalogProduct, i64)> {
        let cp = self
            .change_product(store, product_id, 1, |cp, ids, now| {
                catalog::add_variant(cp, ids[0], input, now)
            })
            .await?;
        let id = cp.product.variants.last().map(|v| v.id).unwrap_or_default();
        Ok((cp, id))
    }

    pub async fn update_variant(
        &self,
        store: &StoreRecord,
        product_id: i64,
        variant_id: i64,
        input: &VariantInput,
    ) -> CatalogResult<CatalogProduct> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::update_variant(cp, variant_id, input, now)
        })
        .await
    }

    pub async fn delete_variant(
        &self,
        store: &StoreRecord,
        product_id: i64,
        variant_id: i64,
    ) -> CatalogResult<()> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::delete_variant(cp, variant_id, now)
        })
        .await?;
        Ok(())
    }

    // ---------- variant options ----------

    pub async fn create_option(
        &self,
        store: &StoreRecord,
        product_id: i64,
        input: &OptionInput,
    ) -> CatalogResult<(CatalogProduct, i64)> {
        let option_id = self.reserve_option_id_checked(store, product_id).await?;
        let n = catalog::new_value_count(input.option_values.as_deref());
        let cp = self
            .change_product_with(store, product_id, "option_value", n, |cp, ids, now| {
                catalog::add_option(cp, option_id, input, ids, now)
            })
            .await?;
        Ok((cp, option_id))
    }

    /// Reserves an option/modifier id once the product is known to exist.
    async fn reserve_option_id_checked(
        &self,
        store: &StoreRecord,
        product_id: i64,
    ) -> CatalogResult<i64> {
        self.get_catalog_product(store, product_id).await?;
        self.reserve(store, "option", 1).await
    }

    pub async fn update_option(
        &self,
        store: &StoreRecord,
        product_id: i64,
        option_id: i64,
        input: &OptionInput,
    ) -> CatalogResult<CatalogProduct> {
        let n = catalog::new_value_count(input.option_values.as_deref());
        self.change_product_with(store, product_id, "option_value", n, |cp, ids, now| {
            catalog::update_option(cp, option_id, input, ids, now)
        })
        .await
    }

    pub async fn delete_option(
        &self,
        store: &StoreRecord,
        product_id: i64,
        option_id: i64,
    ) -> CatalogResult<()> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::delete_option(cp, option_id, now)
        })
        .await?;
        Ok(())
    }

    pub async fn create_option_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        option_id: i64,
        input: &OptionValueInput,
    ) -> CatalogResult<(CatalogProduct, i64)> {
        let cp = self
            .change_product_with(store, product_id, "option_value", 1, |cp, ids, now| {
                catalog::add_option_value(cp, option_id, ids[0], input, now)
            })
            .await?;
        let id = cp
            .product
            .options
            .iter()
            .find(|o| o.id == option_id)
            .and_then(|o| o.option_values.last())
            .map(|v| v.id)
            .unwrap_or_default();
        Ok((cp, id))
    }

    pub async fn update_option_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        option_id: i64,
        value_id: i64,
        input: &OptionValueInput,
    ) -> CatalogResult<CatalogProduct> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::update_option_value(cp, option_id, value_id, input, now)
        })
        .await
    }

    pub async fn delete_option_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        option_id: i64,
        value_id: i64,
    ) -> CatalogResult<()> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::delete_option_value(cp, option_id, value_id, now)
        })
        .await?;
        Ok(())
    }

    // ---------- modifiers ----------

    pub async fn create_modifier(
        &self,
        store: &StoreRecord,
        product_id: i64,
        input: &ModifierInput,
    ) -> CatalogResult<(CatalogProduct, i64)> {
        let modifier_id = self.reserve_option_id_checked(store, product_id).await?;
        let n = catalog::modifier_value_ids_needed(input);
        let cp = self
            .change_product_with(store, product_id, "option_value", n, |cp, ids, now| {
                catalog::add_modifier(cp, modifier_id, input, ids, now)
            })
            .await?;
        Ok((cp, modifier_id))
    }

    pub async fn update_modifier(
        &self,
        store: &StoreRecord,
        product_id: i64,
        modifier_id: i64,
        input: &ModifierInput,
    ) -> CatalogResult<CatalogProduct> {
        let n = input
            .option_values
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|v| v.value.id.is_none())
            .count() as i64;
        self.change_product_with(store, product_id, "option_value", n, |cp, ids, now| {
            catalog::update_modifier(cp, modifier_id, input, ids, now)
        })
        .await
    }

    pub async fn delete_modifier(
        &self,
        store: &StoreRecord,
        product_id: i64,
        modifier_id: i64,
    ) -> CatalogResult<()> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::delete_modifier(cp, modifier_id, now)
        })
        .await?;
        Ok(())
    }

    pub async fn create_modifier_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        modifier_id: i64,
        input: &ModifierValueInput,
    ) -> CatalogResult<(CatalogProduct, i64)> {
        let cp = self
            .change_product_with(store, product_id, "option_value", 1, |cp, ids, now| {
                catalog::add_modifier_value(cp, modifier_id, ids[0], input, now)
            })
            .await?;
        let id = cp
            .product
            .modifiers
            .iter()
            .find(|m| m.id == modifier_id)
            .and_then(|m| m.option_values.last())
            .map(|v| v.id)
            .unwrap_or_default();
        Ok((cp, id))
    }

    pub async fn update_modifier_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        modifier_id: i64,
        value_id: i64,
        input: &ModifierValueInput,
    ) -> CatalogResult<CatalogProduct> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::update_modifier_value(cp, modifier_id, value_id, input, now)
        })
        .await
    }

    pub async fn delete_modifier_value(
        &self,
        store: &StoreRecord,
        product_id: i64,
        modifier_id: i64,
        value_id: i64,
    ) -> CatalogResult<()> {
        self.change_product(store, product_id, 0, |cp, _, now| {
            catalog::delete_modifier_value(cp, modifier_id, value_id, now)
        })
        .await?;
        Ok(())
    }

    // ---------- demo ----------

    /// Creates the demo catalog (see the module docs for the table of ids).
    pub async fn seed_demo_catalog(&self, store: &StoreRecord) -> super::ServiceResult<()> {
        self.seed(store).await.map_err(|e| match e {
            CatalogError::Service(s) => s,
            CatalogError::Duplicate { message, .. } => ServiceError::BadRequest(message),
        })
    }

    async fn seed(&self, store: &StoreRecord) -> CatalogResult<()> {
        let m = |s: &str| Money::new(s.parse::<Decimal>().unwrap_or_default());
        let base = |name: &str, sku: &str, price: &str, weight: &str| ProductInput {
            name: Some(name.into()),
            product_type: Some(ProductType::Physical),
            sku: Some(sku.into()),
            description: Some(format!("<p>{name} from the Kassa demo store.</p>")),
            weight: Some(weight.parse().unwrap_or_default()),
            price: Some(m(price)),
            categories: Some(vec![1]),
            ..ProductInput::default()
        };
        let pick = |option: &str, label: &str| OptionValueChoice {
            option_display_name: Some(option.into()),
            label: Some(label.into()),
            ..OptionValueChoice::default()
        };

        // 1: T-shirt, Size × Colour, L costs more.
        let mut tshirt = base("Kassa T-Shirt", "TSHIRT", "20.00", "0.3");
        let mut variants = Vec::new();
        for size in ["S", "M", "L"] {
            for colour in ["Red", "Blue"] {
                variants.push(VariantInput {
                    sku: Some(format!("TSHIRT-{size}-{}", colour.to_uppercase())),
                    price: (size == "L").then(|| Some(m("24.00"))),
                    option_values: Some(vec![pick("Size", size), pick("Colour", colour)]),
                    ..VariantInput::default()
                });
            }
        }
        tshirt.variants = Some(variants);
        self.create_product(store, &tshirt).await?;

        // 2: Mug with gift wrap (+5.00) and engraving (text, up to 20 characters).
        let mug = self
            .create_product(store, &base("Ceramic Mug", "MUG", "12.50", "0.4"))
            .await?;
        let value = |label: &str, adj: Option<Adjuster>, sort: i64| ModifierValueInput {
            value: OptionValueInput {
                label: Some(label.into()),
                sort_order: Some(sort),
                ..OptionValueInput::default()
            },
            adjusters: Some(Adjustments {
                price: adj,
                ..Adjustments::default()
            }),
        };
        let relative = |v: &str| Adjuster {
            adjuster: AdjusterKind::Relative,
            adjuster_value: v.parse().unwrap_or_default(),
        };
        let mut yes = value("Yes", Some(relative("5.00")), 0);
        yes.value.value_data = Some(Some(serde_json::json!({"checked_value": true})));
        let mut no = value("No", None, 1);
        no.value.value_data = Some(Some(serde_json::json!({"checked_value": false})));
        no.value.is_default = Some(true);
        self.create_modifier(
            store,
            mug.product.id,
            &ModifierInput {
                display_name: Some("Gift wrap".into()),
                modifier_type: Some(ModifierType::Checkbox),
                required: Some(false),
                sort_order: Some(0),
                config: Some(serde_json::json!({"checkbox_label": "Gift wrap this mug (+$5.00)", "checked_by_default": false})),
                option_values: Some(vec![yes, no]),
            },
        )
        .await?;
        self.create_modifier(
            store,
            mug.product.id,
            &ModifierInput {
                display_name: Some("Engraving".into()),
                modifier_type: Some(ModifierType::Text),
                required: Some(false),
                sort_order: Some(1),
                config: Some(serde_json::json!({
                    "default_value": "",
                    "text_characters_limited": true,
                    "text_min_length": 1,
                    "text_max_length": 20
                })),
                option_values: None,
            },
        )
        .await?;

        // 3: a digital product.
        let mut ebook = base("The Headless Commerce Handbook", "EBOOK-HCH", "9.99", "0");
        ebook.product_type = Some(ProductType::Digital);
        self.create_product(store, &ebook).await?;

        // 4: low stock, tracked per product.
        let mut print = base("Limited Edition Print", "PRINT-LE", "75.00", "0.5");
        print.inventory_tracking = Some(InventoryTracking::Product);
        print.inventory_level = Some(3);
        print.inventory_warning_level = Some(1);
        self.create_product(store, &print).await?;

        // 5: on sale.
        let mut tote = base("Canvas Tote Bag", "TOTE", "40.00", "0.6");
        tote.sale_price = Some(m("29.99"));
        tote.retail_price = Some(m("45.00"));
        self.create_product(store, &tote).await?;

        // 6: a variant that cannot be purchased.
        let mut scarf = base("Wool Scarf", "SCARF", "35.00", "0.2");
        scarf.variants = Some(vec![
            VariantInput {
                sku: Some("SCARF-GREY".into()),
                option_values: Some(vec![pick("Colour", "Grey")]),
                ..VariantInput::default()
            },
            VariantInput {
                sku: Some("SCARF-NAVY".into()),
                purchasing_disabled: Some(true),
                purchasing_disabled_message: Some("Back in stock soon.".into()),
                option_values: Some(vec![pick("Colour", "Navy")]),
                ..VariantInput::default()
            },
        ]);
        self.create_product(store, &scarf).await?;

        // 7: a percentage modifier.
        let beans = self
            .create_product(
                store,
                &base("Espresso Beans 1kg", "BEANS-1KG", "18.00", "1"),
            )
            .await?;
        self.create_modifier(
            store,
            beans.product.id,
            &ModifierInput {
                display_name: Some("Grind".into()),
                modifier_type: Some(ModifierType::Dropdown),
                required: Some(true),
                sort_order: Some(0),
                config: None,
                option_values: Some(vec![
                    value("Whole bean", None, 0),
                    value("Fine", None, 1),
                    value(
                        "Gift tin",
                        Some(Adjuster {
                            adjuster: AdjusterKind::Percentage,
                            adjuster_value: Decimal::from(10),
                        }),
                        2,
                    ),
                ]),
            },
        )
        .await?;

        // 8-10: plain products.
        self.create_product(store, &base("Desk Lamp", "LAMP", "49.95", "1.8"))
            .await?;
        self.create_product(store, &base("Notebook Set", "NOTEBOOKS", "8.00", "0.3"))
            .await?;
        let mut sleeve = base("Gift Card Sleeve", "SLEEVE", "2.50", "0.05");
        sleeve.is_free_shipping = Some(true);
        sleeve.availability = Some(Availability::Available);
        self.create_product(store, &sleeve).await?;
        Ok(())
    }
}
