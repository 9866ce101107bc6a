//! Catalog admin queries. A product row's `doc` holds the cart-facing [`Product`]
//! with its listing [`ProductDetails`] under one extra key, which `Product` readers
//! (carts) simply ignore.

use super::{Db, StoreResult, on_pool};
use crate::domain::catalog::{Availability, CatalogProduct, Product, ProductDetails, ProductType};
use crate::store::Store;
use serde::Deserialize;

/// The key of the stored document that carries [`ProductDetails`].
const DETAILS_KEY: &str = "catalog_details";

/// One catalog product as stored, with its document text (for compare-and-swap).
#[derive(Clone, Debug)]
pub struct StoredProduct {
    pub product: CatalogProduct,
    pub doc: String,
}

/// Filters for the catalog list (Catalog V3's query parameters Kassa supports).
#[derive(Clone, Debug, Default)]
pub struct CatalogFilter {
    pub ids: Option<Vec<i64>>,
    pub not_ids: Option<Vec<i64>>,
    pub id_min: Option<i64>,
    pub id_max: Option<i64>,
    pub name: Option<String>,
    pub name_like: Option<String>,
    pub sku: Option<String>,
    pub skus: Option<Vec<String>>,
    pub is_visible: Option<bool>,
    pub product_type: Option<ProductType>,
    pub availability: Option<Availability>,
}

impl CatalogFilter {
    pub fn is_empty(&self) -> bool {
        self.ids.is_none()
            && self.not_ids.is_none()
            && self.id_min.is_none()
            && self.id_max.is_none()
            && self.name.is_none()
            && self.name_like.is_none()
            && self.sku.is_none()
            && self.skus.is_none()
            && self.is_visible.is_none()
            && self.product_type.is_none()
            && self.availability.is_none()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatalogSort {
    #[default]
    Id,
    Name,
    Sku,
    DateModified,
}

#[derive(Deserialize)]
struct DetailsOnly {
    #[serde(default)]
    catalog_details: ProductDetails,
}

pub(super) fn encode(p: &CatalogProduct) -> StoreResult<String> {
    let mut v = serde_json::to_value(&p.product)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert(DETAILS_KEY.into(), serde_json::to_value(&p.details)?);
    }
    Ok(serde_json::to_string(&v)?)
}

pub(super) fn decode(doc: &str) -> StoreResult<CatalogProduct> {
    let product: Product = serde_json::from_str(doc)?;
    let details: DetailsOnly = serde_json::from_str(doc)?;
    Ok(CatalogProduct {
        product,
        details: details.catalog_details,
    })
}

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// Inserts a new product; a name another product has fails as a unique violation.
    pub async fn insert_catalog_product(
        &self,
        store_id: i64,
        p: &CatalogProduct,
    ) -> StoreResult<()> {
        let doc = encode(p)?;
        on_pool!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO products (store_id, id, name, sku, doc, date_modified) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(store_id)
            .bind(p.product.id)
            .bind(&p.product.name)
            .bind(&p.product.sku)
            .bind(&doc)
            .bind(p.product.date_modified)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn load_catalog_product(
        &self,
        store_id: i64,
        id: i64,
    ) -> StoreResult<Option<StoredProduct>> {
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT doc FROM products WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        doc.map(|doc| {
            Ok(StoredProduct {
                product: decode(&doc)?,
                doc,
            })
        })
        .transpose()
    }

    /// Replaces a product if its document is still `expected_doc`. False means it
    /// changed (or vanished) since it was read.
    pub async fn replace_catalog_product(
        &self,
        store_id: i64,
        p: &CatalogProduct,
        expected_doc: &str,
    ) -> StoreResult<bool> {
        let doc = encode(p)?;
        let n = on_pool!(self, write, |pool| {
            sqlx::query(
                "UPDATE products SET name = $3, sku = $4, doc = $5, date_modified = $6
                 WHERE store_id = $1 AND id = $2 AND doc = $7",
            )
            .bind(store_id)
            .bind(p.product.id)
            .bind(&p.product.name)
            .bind(&p.product.sku)
            .bind(&doc)
            .bind(p.product.date_modified)
            .bind(expected_doc)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes these products; returns how many existed.
    pub async fn delete_catalog_products(&self, store_id: i64, ids: &[i64]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM products WHERE store_id = $1 AND id IN ({})",
            id_list(ids)
        );
        let n = on_pool!(self, write, |p| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(store_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// True when another product of the store already uses this SKU (any case).
    pub async fn product_sku_taken(
        &self,
        store_id: i64,
        sku: &str,
        except_id: i64,
    ) -> StoreResult<bool> {
        if sku.is_empty() {
            return Ok(false);
        }
        let n: i64 = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM products WHERE store_id = $1 AND LOWER(sku) = LOWER($2) AND id <> $3",
            )
            .bind(store_id)
            .bind(sku)
            .bind(except_id)
            .fetch_one(p)
            .await?
        });
        Ok(n > 0)
    }

    /// One page of catalog products and the total matching the filter.
    pub async fn list_catalog_products(
        &self,
        store_id: i64,
        filter: &CatalogFilter,
        sort: CatalogSort,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<CatalogProduct>, i64)> {
        let sqlite = matches!(self.db, Db::Sqlite { .. });
        let json_text = |key: &str| {
            if sqlite {
                format!("json_extract(doc, '$.{key}')")
            } else {
                format!("(doc::jsonb ->> '{key}')")
            }
        };
        let mut conds = vec!["store_id = $1".to_string()];
        let mut params: Vec<String> = Vec::new();
        let param = |v: String, params: &mut Vec<String>| {
            params.push(v);
            format!("${}", params.len() + 1)
        };
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                return Ok((Vec::new(), 0));
            }
            conds.push(format!("id IN ({})", id_list(ids)));
        }
        if let Some(ids) = filter.not_ids.as_ref().filter(|i| !i.is_empty()) {
            conds.push(format!("id NOT IN ({})", id_list(ids)));
        }
        if let Some(m) = filter.id_min {
            conds.push(format!("id >= {m}"));
        }
        if let Some(m) = filter.id_max {
            conds.push(format!("id <= {m}"));
        }
        if let Some(n) = &filter.name {
            let ph = param(n.clone(), &mut params);
            conds.push(format!("name = {ph}"));
        }
        if let Some(n) = &filter.name_like {
            let ph = param(format!("%{}%", like_escape(&n.to_lowercase())), &mut params);
            conds.push(format!("LOWER(name) LIKE {ph} ESCAPE '\\'"));
        }
        if let Some(s) = &filter.sku {
            let ph = param(s.to_lowercase(), &mut params);
            conds.push(format!("LOWER(sku) = {ph}"));
        }
        if let Some(skus) = &filter.skus {
            if skus.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let phs: Vec<String> = skus
                .iter()
                .map(|s| param(s.to_lowercase(), &mut params))
                .collect();
            conds.push(format!("LOWER(sku) IN ({})", phs.join(", ")));
        }
        if let Some(v) = filter.is_visible {
            let lit = match (sqlite, v) {
                (true, true) => "1",
                (true, false) => "0",
                (false, true) => "'true'",
                (false, false) => "'false'",
            };
            conds.push(format!("{} = {lit}", json_text("is_visible")));
        }
        if let Some(t) = filter.product_type {
            let lit = match t {
                ProductType::Physical => "physical",
                ProductType::Digital => "digital",
            };
            conds.push(format!("{} = '{lit}'", json_text("type")));
        }
        if let Some(a) = filter.availability {
            let lit = match a {
                Availability::Available => "available",
                Availability::Disabled => "disabled",
                Availability::Preorder => "preorder",
            };
            conds.push(format!("{} = '{lit}'", json_text("availability")));
        }
        let where_sql = conds.join(" AND ");
        let dir = if descending { "DESC" } else { "ASC" };
        let order = match sort {
            CatalogSort::Id => format!("id {dir}"),
            CatalogSort::Name => format!("name {dir}, id {dir}"),
            CatalogSort::Sku => format!("sku {dir}, id {dir}"),
            CatalogSort::DateModified => format!("date_modified {dir}, id {dir}"),
        };
        let count_sql = format!("SELECT COUNT(*) FROM products WHERE {where_sql}");
        let page_sql = format!(
            "SELECT doc FROM products WHERE {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let (total, docs): (i64, Vec<String>) = on_pool!(self, read, |p| {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone())).bind(store_id);
            for v in &params {
                q = q.bind(v);
            }
            let total: i64 = q.fetch_one(p).await?;
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(page_sql.clone())).bind(store_id);
            for v in &params {
                q = q.bind(v);
            }
            let docs: Vec<String> = q.fetch_all(p).await?;
            (total, docs)
        });
        let products = docs
            .iter()
            .map(|d| decode(d))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((products, total))
    }
}
