//! Queries for stores, API tokens, id counters, products and carts.

use super::statement::stmt;
use super::{StoreResult, on_pool, read_on};
use crate::domain::cart::{Cart, ProductsById};
use crate::domain::catalog::Product;
use crate::domain::settings::StoreSettings;
use crate::store::{Db, Store};
use sqlx::Row;
use std::sync::Arc;
use uuid::Uuid;

/// PostgreSQL: takes `$3` ids from counter `$2` of store `$1` and returns the last one.
/// The statement commits without waiting for the WAL flush (see `Store::next_ids`).
const TAKE_IDS_WITHOUT_FLUSH_WAIT: &str = "INSERT INTO counters (store_id, name, value)
     SELECT $1, $2, $3
     FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
     ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + excluded.value
     RETURNING value";

/// PostgreSQL: what creating a cart reads (see `Store::cart_start_reads`): the channel's
/// override, the configuration version, and the products `$3` with their row versions,
/// each document only when the node does not hold it at that version (`$4`, `$5`).
const CART_START_READS: &str =
    "SELECT ch.allow_purchasing, s.config_version, named.ids, named.versions, named.docs
     FROM stores s
     LEFT JOIN channel_cart_settings ch ON ch.store_id = s.id AND ch.channel_id = $2
     LEFT JOIN LATERAL (
         SELECT array_agg(p.id) AS ids, array_agg(v.version) AS versions,
                array_agg(CASE WHEN NOT EXISTS (
                    SELECT 1 FROM unnest($4::bigint[], $5::bigint[]) AS k(id, version)
                    WHERE k.id = p.id AND k.version = v.version) THEN p.doc END) AS docs
         FROM products p, LATERAL (SELECT p.xmin::text::bigint AS version) v
         WHERE p.store_id = s.id AND p.id = ANY($3)
     ) named ON true
     WHERE s.id = $1";

/// A merchant's store (a tenant).
#[derive(Clone, Debug, PartialEq)]
pub struct StoreRecord {
    pub id: i64,
    pub hash: String,
    pub name: String,
    pub settings: StoreSettings,
    pub config_version: i64,
}

/// What an API token grants.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    pub store: StoreRecord,
    pub scopes: String,
    /// The API account's client id.
    pub client_id: String,
}

/// Filters for listing products (a subset of Catalog V3's query parameters).
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    pub ids: Option<Vec<i64>>,
    pub name: Option<String>,
    pub name_like: Option<String>,
    pub sku: Option<String>,
}

/// What creating a cart needs read ([`Store::cart_start_reads`]).
pub struct CartStartReads {
    /// The channel's `allow_purchasing` override, if it has one.
    pub channel_override: Option<bool>,
    /// The store's configuration version, for `store_rules_at`.
    pub config_version: i64,
    /// The named products that exist.
    pub products: Vec<Arc<Product>>,
}

/// A cart read to be changed, with what the change needs that was read alongside it.
pub struct CartToChange {
    /// Shared with the cart cache on a hit: the change clones it once, into its new cart.
    pub cart: Arc<Cart>,
    /// The store's configuration version, read no earlier than the cart.
    pub config_version: i64,
    /// The cart's products where they came with it (PostgreSQL); the rest are read apart.
    pub products: ProductsById,
}

/// PostgreSQL: what a change made from this node's copy of a cart assumed without reading
/// it (see [`Store::cart_copy_to_change`]); its write checks each point and refuses when
/// one no longer holds.
#[derive(Clone, Debug)]
pub struct Assumed {
    /// The store's configuration version the change's rules came from.
    pub config_version: i64,
    /// (product id, row version) of every product the change used.
    pub products: Vec<(i64, i64)>,
}

/// How a write of a change made from a copy went ([`Store::save_cart_if_current`]).
pub enum CopyWrite {
    Saved,
    /// Something assumed no longer held; nothing was written. The cart as the same
    /// statement read it, to change again; `None` when it is gone or expired.
    Refused(Option<CartToChange>),
}

impl Store {
    pub async fn create_store(
        &self,
        hash: &str,
        name: &str,
        settings: &StoreSettings,
        now: i64,
    ) -> StoreResult<StoreRecord> {
        let settings_json = serde_json::to_string(settings)?;
        let id: i64 = on_pool!(self, write, |p| {
            sqlx::query_scalar(
                "INSERT INTO stores (hash, name, settings, created_at, storefront_domain) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(hash)
            .bind(name)
            .bind(&settings_json)
            .bind(now)
            .bind(settings.normalized_domain())
            .fetch_one(p)
            .await?
        });
        Ok(StoreRecord {
            id,
            hash: hash.to_string(),
            name: name.to_string(),
            settings: settings.clone(),
            config_version: 1,
        })
    }

    pub async fn find_store(&self, hash: &str) -> StoreResult<Option<StoreRecord>> {
        let row: Option<(i64, String, String, String, i64)> = read_on!(self, |c| {
            stmt("SELECT id, hash, name, settings, config_version FROM stores WHERE hash = $1")
                .bind(hash)
                .fetch_optional(c)
                .await?
        })?;
        row.map(|(id, hash, name, settings, config_version)| {
            Ok(StoreRecord {
                id,
                hash,
                name,
                settings: serde_json::from_str(&settings)?,
                config_version,
            })
        })
        .transpose()
    }

    pub async fn list_stores(&self) -> StoreResult<Vec<(String, String)>> {
        on_pool!(self, read, |p| {
            let rows = sqlx::query("SELECT hash, name FROM stores ORDER BY id")
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("hash")?, r.try_get("name")?)))
                .collect()
        })
    }

    pub async fn update_store_settings(
        &self,
        store_id: i64,
        settings: &StoreSettings,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(settings)?;
        on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE stores SET settings = $1, config_version = config_version + 1, storefront_domain = $3 WHERE id = $2",
            )
            .bind(&json)
            .bind(store_id)
            .bind(settings.normalized_domain())
            .execute(p)
            .await?;
        });
        self.config_written();
        Ok(())
    }

    pub async fn insert_token(
        &self,
        store_id: i64,
        token_hash: &str,
        client_id: &str,
        label: &str,
        scopes: &str,
        now: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO api_tokens (store_id, token_hash, client_id, label, scopes, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (token_hash) DO UPDATE SET scopes = excluded.scopes, store_id = excluded.store_id",
            )
            .bind(store_id)
            .bind(token_hash)
            .bind(client_id)
            .bind(label)
            .bind(scopes)
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    pub async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenGrant>> {
        on_pool!(self, read, |p| {
            let row = sqlx::query(
                "SELECT s.id, s.hash, s.name, s.settings, s.config_version, t.scopes, t.client_id
                 FROM api_tokens t JOIN stores s ON s.id = t.store_id WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await?;
            row.map(|r| -> StoreResult<_> {
                let settings: String = r.try_get(3)?;
                Ok(TokenGrant {
                    store: StoreRecord {
                        id: r.try_get(0)?,
                        hash: r.try_get(1)?,
                        name: r.try_get(2)?,
                        settings: serde_json::from_str(&settings)?,
                        config_version: r.try_get(4)?,
                    },
                    scopes: r.try_get(5)?,
                    client_id: r.try_get(6)?,
                })
            })
            .transpose()
        })
    }

    /// Reserves `count` consecutive ids of a per-store sequence and returns the first.
    pub async fn next_ids(&self, store_id: i64, name: &str, count: i64) -> StoreResult<i64> {
        let last: i64 = match &self.db {
            // Every order on every node takes its id from one counter row, locked until
            // its transaction commits. Committing without waiting for the WAL flush lets
            // the next node have it at once, and loses nothing: a write that uses the id
            // commits later with the flush, which makes the counter's change durable too
            // (the WAL is flushed in order); should the server crash before, no durable
            // write used the id. `set_config(…, true)` is `SET LOCAL` inside the
            // statement's own transaction, so this stays one prepared statement.
            Db::Postgres(_) => {
                self.with_hot(async |c| {
                    Ok(sqlx::query_scalar(TAKE_IDS_WITHOUT_FLUSH_WAIT)
                        .bind(store_id)
                        .bind(name)
                        .bind(count)
                        .fetch_one(c)
                        .await?)
                })
                .await?
            }
            Db::Sqlite { write, .. } => {
                sqlx::query_scalar(
                    "INSERT INTO counters (store_id, name, value) VALUES ($1, $2, $3)
                 ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + excluded.value
                 RETURNING value",
                )
                .bind(store_id)
                .bind(name)
                .bind(count)
                .fetch_one(write)
                .await?
            }
        };
        Ok(last - count + 1)
    }

    pub async fn insert_product(&self, store_id: i64, product: &Product) -> StoreResult<()> {
        let doc = serde_json::to_string(product)?;
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO products (store_id, id, name, sku, doc, date_modified) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(store_id)
            .bind(product.id)
            .bind(&product.name)
            .bind(&product.sku)
            .bind(&doc)
            .bind(product.date_modified)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Replaces a product; false when it no longer exists.
    pub async fn update_product(&self, store_id: i64, product: &Product) -> StoreResult<bool> {
        let doc = serde_json::to_string(product)?;
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE products SET name = $3, sku = $4, doc = $5, date_modified = $6 WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(product.id)
            .bind(&product.name)
            .bind(&product.sku)
            .bind(&doc)
            .bind(product.date_modified)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn delete_product(&self, store_id: i64, id: i64) -> StoreResult<bool> {
        let n = on_pool!(self, write, |p| {
            sqlx::query("DELETE FROM products WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The products with these ids that exist, in one query. A server that owns its
    /// SQLite file answers from memory, reading only the products it does not hold.
    pub async fn get_products(&self, store_id: i64, ids: &[i64]) -> StoreResult<Vec<Arc<Product>>> {
        use std::sync::atomic::Ordering::Relaxed;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let memory = &self.product_docs;
        if let Db::Postgres(p) = &self.db {
            memory.figures.reads.fetch_add(1, Relaxed);
            // One array parameter: one prepared statement whatever the ids. With the row
            // version, so that the next cart read knows this node holds it.
            let docs: Vec<(i64, i64, String)> = sqlx::query_as(
                "SELECT id, xmin::text::bigint, doc FROM products
                 WHERE store_id = $1 AND id = ANY($2)",
            )
            .bind(store_id)
            .bind(ids)
            .fetch_all(p)
            .await?;
            return docs
                .iter()
                .map(|(id, version, doc)| Ok(memory.product_at(store_id, *id, *version, doc)?))
                .collect();
        }
        // Taken before reading, so that nothing read before a write committed is kept.
        let read_at = memory.generation();
        let mut products = Vec::with_capacity(ids.len());
        let mut unread = Vec::new();
        for id in ids {
            match memory.known(store_id, *id) {
                Some(p) => products.push(p),
                None => unread.push(id.to_string()),
            }
        }
        if unread.is_empty() {
            memory.figures.hits.fetch_add(1, Relaxed);
            return Ok(products);
        }
        memory.figures.reads.fetch_add(1, Relaxed);
        // Ids are integers we parsed, so inlining them is safe (SQLite has no arrays).
        let sql = format!(
            "SELECT rowid, id, doc FROM products WHERE store_id = $1 AND id IN ({})",
            unread.join(",")
        );
        let docs: Vec<(i64, i64, String)> =
            read_on!(self, |c| stmt(sql).bind(store_id).fetch_all(c).await?)?;
        for (rowid, id, doc) in &docs {
            products.push(memory.fill(store_id, *id, *rowid, doc, read_at)?);
        }
        Ok(products)
    }

    /// What creating a cart reads before it prices: the channel's `allow_purchasing`
    /// override, the store's configuration version and the products named. One
    /// statement on PostgreSQL; on SQLite each comes from memory when it can.
    pub async fn cart_start_reads(
        &self,
        store_id: i64,
        channel_id: i64,
        product_ids: &[i64],
    ) -> StoreResult<CartStartReads> {
        let Db::Postgres(_) = &self.db else {
            return Ok(CartStartReads {
                channel_override: self.channel_allow_purchasing(store_id, channel_id).await?,
                config_version: self.config_version(store_id).await?,
                products: self.get_products(store_id, product_ids).await?,
            });
        };
        type PgRow = (
            Option<bool>,
            i64,
            Option<Vec<i64>>,
            Option<Vec<i64>>,
            Option<Vec<Option<String>>>,
        );
        let known = self
            .product_docs
            .versions(store_id, product_ids, product_ids.len());
        let row: Option<PgRow> = self
            .with_hot(async |c| {
                Ok(sqlx::query_as(CART_START_READS)
                    .bind(store_id)
                    .bind(channel_id)
                    .bind(product_ids)
                    .bind(&known.0)
                    .bind(&known.1)
                    .fetch_optional(c)
                    .await?)
            })
            .await?;
        if let (Some(reads), Some(row)) = (&self.cart_reads, &row) {
            reads.saw_config(store_id, row.1);
        }
        let (channel_override, config_version, ids, versions, docs) =
            row.unwrap_or((None, 0, None, None, None));
        self.channel_overrides
            .reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rows = ids
            .unwrap_or_default()
            .into_iter()
            .zip(versions.unwrap_or_default())
            .zip(docs.unwrap_or_default());
        let (held, missing) = self.products_at_versions(store_id, rows)?;
        let mut products: Vec<Arc<Product>> = held.into_values().collect();
        if !missing.is_empty() {
            products.extend(self.get_products(store_id, &missing).await?);
        }
        Ok(CartStartReads {
            channel_override,
            config_version,
            products,
        })
    }

    /// PostgreSQL: a cart to change from what a statement read alongside it (see
    /// `get_cart_to_change`): its document unless at the version of `copy`, the
    /// configuration version, and "id:version" of each product its lines name.
    pub(super) fn cart_read_to_change(
        &self,
        store_id: i64,
        copy: Option<Arc<Cart>>,
        doc: Option<String>,
        config_version: Option<i64>,
        named: &[String],
    ) -> StoreResult<CartToChange> {
        let Some(reads) = self.cart_reads.as_deref() else {
            return Err(super::StoreError::Database(sqlx::Error::PoolClosed));
        };
        let cart = reads.current(store_id, copy, doc)?;
        if let Some(v) = config_version {
            reads.saw_config(store_id, v);
        }
        let held_or_missing = named.iter().filter_map(|pair| {
            let (id, version) = pair.split_once(':')?;
            Some(((id.parse().ok()?, version.parse().ok()?), None))
        });
        Ok(CartToChange {
            cart,
            config_version: config_version.unwrap_or(0),
            products: self.products_at_versions(store_id, held_or_missing)?.0,
        })
    }

    /// PostgreSQL: the cart as this node last wrote or read it, to change without reading
    /// it, with the store's configuration version the last cart read found and the
    /// products (its lines' and `adding`) as this node holds them; and what that assumes,
    /// for [`Store::save_cart_if_current`] to check. `None` when the node lacks any of
    /// them, or while this node's copies keep being refused (see `CartReads::try_copy`):
    /// the change then reads first. With one node, or a load balancer that keeps a cart's
    /// requests on one node, the copy is nearly always current, and a change is one
    /// statement instead of two.
    pub fn cart_copy_to_change(
        &self,
        store_id: i64,
        id: Uuid,
        adding: &[i64],
    ) -> Option<(CartToChange, Assumed)> {
        let reads = self.cart_reads.as_deref()?;
        let config_version = reads.config_seen(store_id)?;
        let cart = reads.copies.copy(store_id, id)?;
        if !reads.try_copy() {
            return None;
        }
        let mut products = ProductsById::new();
        let mut versions = Vec::new();
        for product_id in cart.product_ids().into_iter().chain(adding.iter().copied()) {
            if products.contains_key(&product_id) {
                continue;
            }
            let (version, product) = self.product_docs.held(store_id, product_id)?;
            products.insert(product_id, product);
            versions.push((product_id, version));
        }
        if !products.is_empty() {
            let hits = &self.product_docs.figures.hits;
            hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Some((
            CartToChange {
                cart,
                config_version,
                products,
            },
            Assumed {
                config_version,
                products: versions,
            },
        ))
    }

    /// The products a PostgreSQL read returned as ((id, row version), document), the
    /// document None where the node is to hold that version; and the ids of those it
    /// does not hold (never read, changed since, or memory started over), to read apart.
    fn products_at_versions(
        &self,
        store_id: i64,
        rows: impl IntoIterator<Item = ((i64, i64), Option<String>)>,
    ) -> StoreResult<(ProductsById, Vec<i64>)> {
        use std::sync::atomic::Ordering::Relaxed;
        let memory = &self.product_docs;
        let mut products = ProductsById::new();
        let mut missing = Vec::new();
        let (mut hits, mut reads) = (0, 0);
        for ((id, version), doc) in rows {
            let product = match doc {
                Some(doc) => {
                    reads += 1;
                    Some(memory.product_at(store_id, id, version, &doc)?)
                }
                None => {
                    let held = memory.at_version(store_id, id, version);
                    hits += usize::from(held.is_some());
                    held
                }
            };
            match product {
                Some(product) => {
                    products.insert(id, product);
                }
                None => missing.push(id),
            }
        }
        if reads > 0 {
            memory.figures.reads.fetch_add(1, Relaxed);
        } else if hits > 0 {
            memory.figures.hits.fetch_add(1, Relaxed);
        }
        Ok((products, missing))
    }

    /// One page of products, ordered by id, and the total matching the filter.
    pub async fn list_products(
        &self,
        store_id: i64,
        filter: &ProductFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Product>, i64)> {
        let mut conds = String::from("store_id = $1");
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            conds.push_str(&format!(" AND id IN ({list})"));
        }
        if filter.name.is_some() {
            conds.push_str(" AND name = $2");
        }
        if filter.name_like.is_some() {
            conds.push_str(" AND LOWER(name) LIKE $3");
        }
        if filter.sku.is_some() {
            conds.push_str(" AND sku = $4");
        }
        let name = filter.name.clone().unwrap_or_default();
        let like = format!(
            "%{}%",
            filter.name_like.clone().unwrap_or_default().to_lowercase()
        );
        let sku = filter.sku.clone().unwrap_or_default();
        // Unused parameters are still bound, so both backends see the same four.
        let guard = "AND ($2 = $2 AND $3 = $3 AND $4 = $4)";
        let count_sql = format!("SELECT COUNT(*) FROM products WHERE {conds} {guard}");
        let page_sql = format!(
            "SELECT doc FROM products WHERE {conds} {guard} ORDER BY id LIMIT {limit} OFFSET {offset}"
        );
        let (total, docs): (i64, Vec<String>) = on_pool!(self, read, |p| {
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
                .bind(store_id)
                .bind(&name)
                .bind(&like)
                .bind(&sku)
                .fetch_one(p)
                .await?;
            let docs: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(page_sql.clone()))
                .bind(store_id)
                .bind(&name)
                .bind(&like)
                .bind(&sku)
                .fetch_all(p)
                .await?;
            (total, docs)
        });
        let products = docs
            .iter()
            .map(|d| Ok(serde_json::from_str(d)?))
            .collect::<StoreResult<Vec<Product>>>()?;
        Ok((products, total))
    }

    pub async fn insert_cart(&self, store_id: i64, cart: &Cart) -> StoreResult<()> {
        self.insert_cart_emitting(store_id, cart, &[]).await
    }

    /// A live (unexpired) cart of this store.
    pub async fn get_cart(&self, store_id: i64, id: Uuid, now: i64) -> StoreResult<Option<Cart>> {
        Ok(self
            .get_cart_shared(store_id, id, now)
            .await?
            .map(std::sync::Arc::unwrap_or_clone))
    }

    /// The cart without copying it when it is in memory: for reads that only render it.
    pub async fn get_cart_shared(
        &self,
        store_id: i64,
        id: Uuid,
        now: i64,
    ) -> StoreResult<Option<std::sync::Arc<Cart>>> {
        if let Some(cache) = self.cart_cache()
            && let Some(cart) = cache.get(store_id, id, now)
        {
            return Ok(cart);
        }
        if let Some(reads) = &self.cart_reads {
            return reads.get(store_id, id, now).await;
        }
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT doc FROM carts WHERE id = $1 AND store_id = $2 AND expires_at > $3",
            )
            .bind(id.to_string())
            .bind(store_id)
            .bind(now)
            .fetch_optional(p)
            .await?
        });
        doc.map(|d| Ok(std::sync::Arc::new(serde_json::from_str(&d)?)))
            .transpose()
    }

    /// A live cart to change, with what the change needs read in the same statement.
    pub async fn get_cart_to_change(
        &self,
        store_id: i64,
        id: Uuid,
        now: i64,
    ) -> StoreResult<Option<CartToChange>> {
        if let Some(cache) = self.cart_cache()
            && let Some(cart) = cache.get(store_id, id, now)
        {
            return match cart {
                Some(c) => Ok(Some(CartToChange {
                    cart: c,
                    config_version: self.config_version(store_id).await?,
                    products: ProductsById::new(),
                })),
                None => Ok(None),
            };
        }
        if let (Db::Postgres(_), Some(reads)) = (&self.db, &self.cart_reads) {
            // One round trip for the cart, the version and the (id, row version) of each
            // product its lines name: a product this node holds at that version comes
            // from memory, any other is read apart by the caller. Product documents never
            // come with it, which halves the statement's cost, and the cart's only when
            // this node's copy is not at its version (BENCHMARKS.md, 2026-11-25).
            type PgRow = (Option<String>, Option<i64>, Vec<String>);
            let copy = reads.copies.copy(store_id, id);
            let row: Option<PgRow> = self
                .with_hot(async |c| {
                    Ok(sqlx::query_as(
                        "SELECT CASE WHEN c.version = $4 THEN NULL ELSE c.doc END,
                        (SELECT config_version FROM stores WHERE id = c.store_id),
                        ARRAY(SELECT p.id::text || ':' || p.xmin::text FROM products p
                              WHERE p.store_id = c.store_id
                                AND p.id = ANY(string_to_array(NULLIF(c.product_ids, ''),
                                                               ',')::bigint[]))
                 FROM carts c
                 WHERE c.id = $1 AND c.store_id = $2 AND c.expires_at > $3",
                    )
                    .bind(id.to_string())
                    .bind(store_id)
                    .bind(now)
                    .bind(copy.as_ref().map_or(-1, |c| c.version))
                    .fetch_optional(c)
                    .await?)
                })
                .await?;
            let Some((doc, version, named)) = row else {
                return Ok(None);
            };
            return self
                .cart_read_to_change(store_id, copy, doc, version, &named)
                .map(Some);
        }
        let row: Option<(String, Option<i64>)> = read_on!(self, |c| {
            stmt(
                "SELECT doc, (SELECT config_version FROM stores WHERE id = $2) FROM carts
                 WHERE id = $1 AND store_id = $2 AND expires_at > $3",
            )
            .bind(id.to_string())
            .bind(store_id)
            .bind(now)
            .fetch_optional(c)
            .await?
        })?;
        row.map(|(doc, version)| {
            Ok(CartToChange {
                cart: Arc::new(serde_json::from_str(&doc)?),
                config_version: version.unwrap_or(0),
                products: ProductsById::new(),
            })
        })
        .transpose()
    }

    /// Saves a changed cart if nobody else changed it since `expected_version`.
    /// False means a concurrent writer won.
    pub async fn save_cart(
        &self,
        store_id: i64,
        cart: &Cart,
        expected_version: i64,
    ) -> StoreResult<bool> {
        self.save_cart_emitting(store_id, cart, expected_version, &[])
            .await
    }

    /// Deletes a cart (and what hangs off it) if it is still at `expected_version`,
    /// or whatever its version when `None`. False when there was nothing to delete.
    pub async fn delete_cart(
        &self,
        store_id: i64,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> StoreResult<bool> {
        self.delete_cart_emitting(store_id, id, expected_version, 0, &[])
            .await
    }

    pub async fn insert_redirect_token(
        &self,
        store_id: i64,
        cart_id: Uuid,
        kind: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO cart_redirect_tokens (token_hash, store_id, cart_id, kind, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(store_id)
            .bind(cart_id.to_string())
            .bind(kind)
            .bind(expires_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Marks a redirect token used and returns its cart, once: a second use, an
    /// expired token or an unknown one gives `None`.
    pub async fn redeem_redirect_token(
        &self,
        token_hash: &str,
        kind: &str,
        now: i64,
    ) -> StoreResult<Option<(i64, Uuid)>> {
        let row: Option<(i64, String)> = on_pool!(self, write, |p| {
            let r = sqlx::query(
                "UPDATE cart_redirect_tokens SET used_at = $1
                 WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1
                 RETURNING store_id, cart_id",
            )
            .bind(now)
            .bind(token_hash)
            .bind(kind)
            .fetch_optional(p)
            .await?;
            r.map(|r| -> StoreResult<_> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?
        });
        Ok(row.and_then(|(s, c)| Uuid::parse_str(&c).ok().map(|u| (s, u))))
    }
}

impl Store {
    /// Deletes carts (and their metafields, redirect and checkout tokens) that expired before
    /// `now`, at most `limit` at a time. Returns how many carts went.
    pub async fn purge_expired_carts(&self, now: i64, limit: i64) -> StoreResult<u64> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM carts WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                for sql in [
                    "DELETE FROM metafields WHERE resource_type = 'cart' AND resource_id = $1",
                    "DELETE FROM cart_redirect_tokens WHERE cart_id = $1",
                    "DELETE FROM checkout_tokens WHERE cart_id = $1",
                    "DELETE FROM carts WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(ids.len() as u64)
        })
    }
}
