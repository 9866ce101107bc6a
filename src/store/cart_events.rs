//! Cart writes that also record their webhook events, in the same transaction, so an
//! event exists exactly when its change was committed.

use super::outbox::{OutboxEvent, insert_outbox, outbox_columns};
use super::records::{Assumed, CopyWrite};
use super::statement::stmt;
use super::{Db, Store, StoreError, StoreResult, write_tx};
use crate::domain::cart::Cart;
use std::sync::Arc;
use uuid::Uuid;

const INSERT_CART: &str =
    "INSERT INTO carts (id, store_id, version, doc, updated_at, expires_at, product_ids)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// PostgreSQL: [`INSERT_CART`] and its events (`$8`–`$10`: scopes, resource ids, data,
/// written in order) in one statement that commits by itself. A cart that cannot be
/// inserted fails the whole statement, so no event is left without its cart.
const INSERT_CART_EMITTING: &str = "WITH inserted AS (
         INSERT INTO carts (id, store_id, version, doc, updated_at, expires_at, product_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
     )
     INSERT INTO webhook_outbox (store_id, created_at, scope, resource_id, data)
     SELECT $2, $5, e.scope, e.resource_id, e.data
     FROM unnest($8::text[], $9::text[], $10::text[]) WITH ORDINALITY
         AS e(scope, resource_id, data, n)
     ORDER BY e.n";
const SAVE_CART: &str = "UPDATE carts SET version = $1, doc = $2, updated_at = $3, expires_at = $4,
     product_ids = $8 WHERE id = $5 AND store_id = $6 AND version = $7";
const DELETE_CART: &str =
    "DELETE FROM carts WHERE id = $1 AND store_id = $2 AND ($3 < 0 OR version = $3)";
/// What hangs off a deleted cart (metafields, redirect and checkout tokens); each takes
/// the cart's id and store.
pub(super) const DELETE_CART_BELONGINGS: [&str; 3] = [
    "DELETE FROM metafields WHERE resource_type = 'cart' AND resource_id = $1 AND store_id = $2",
    "DELETE FROM cart_redirect_tokens WHERE cart_id = $1 AND store_id = $2",
    "DELETE FROM checkout_tokens WHERE cart_id = $1 AND store_id = $2",
];

/// PostgreSQL: [`SAVE_CART`] for a change made from this node's copy, checking in the same
/// statement what the change assumed: the cart still at `$7` and live at `$9`, the store's
/// configuration at `$10`, the products `$11` (ascending) at row versions `$12` (NULL for
/// none). When any check fails nothing is written and the statement's answer is the cart
/// as `get_cart_to_change` reads it (its document only when not at `$7`), so the change is
/// made again without another round trip. That read sees the rows as they were before the
/// statement.
macro_rules! save_cart_if_current {
    ($events:literal) => {
        concat!(
            "WITH saved AS (
                 UPDATE carts SET version = $1, doc = $2, updated_at = $3, expires_at = $4,
                        product_ids = $8
                 WHERE id = $5 AND store_id = $6 AND version = $7 AND expires_at > $9
                   AND (SELECT config_version FROM stores WHERE id = $6) = $10
                   AND (SELECT array_agg(p.xmin::text::bigint ORDER BY p.id) FROM products p
                        WHERE p.store_id = $6 AND p.id = ANY($11)) IS NOT DISTINCT FROM $12
                 RETURNING 1
             )",
            $events,
            // Read only when nothing was saved.
            " SELECT EXISTS (SELECT 1 FROM saved), c.id IS NOT NULL,
                     CASE WHEN c.version = $7 THEN NULL ELSE c.doc END,
                     CASE WHEN c.id IS NOT NULL
                          THEN (SELECT config_version FROM stores WHERE id = $6) END,
                     ARRAY(SELECT p.id::text || ':' || p.xmin::text FROM products p
                           WHERE p.store_id = $6
                             AND p.id = ANY(string_to_array(NULLIF(c.product_ids, ''),
                                                            ',')::bigint[]))
              FROM (SELECT 1) AS one
              LEFT JOIN carts c ON NOT EXISTS (SELECT 1 FROM saved)
                   AND c.id = $5 AND c.store_id = $6 AND c.expires_at > $9"
        )
    };
}
const SAVE_CART_IF_CURRENT: &str = save_cart_if_current!("");
/// [`SAVE_CART_IF_CURRENT`] with events to write (`$13`–`$15`).
const SAVE_CART_IF_CURRENT_EMITTING: &str = save_cart_if_current!(
    ", events AS (
         INSERT INTO webhook_outbox (store_id, created_at, scope, resource_id, data)
         SELECT $6, $3, e.scope, e.resource_id, e.data
         FROM unnest($13::text[], $14::text[], $15::text[]) WITH ORDINALITY
             AS e(scope, resource_id, data, n)
         WHERE EXISTS (SELECT 1 FROM saved)
         ORDER BY e.n
     )"
);

/// The `product_ids` column: the cart's catalog products, comma-separated.
fn product_id_list(cart: &Cart) -> String {
    cart.product_ids()
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    pub async fn insert_cart_emitting(
        &self,
        store_id: i64,
        cart: &Cart,
        events: &[OutboxEvent],
    ) -> StoreResult<()> {
        let now = cart.updated_time;
        let (id, doc, products) = (
            cart.id.to_string(),
            serde_json::to_string(cart)?,
            product_id_list(cart),
        );
        let committed = match &self.db {
            // One statement commits by itself: BEGIN and COMMIT would be two more round
            // trips.
            Db::Postgres(_) => {
                let (scopes, resource_ids, data) = outbox_columns(events);
                self.with_hot(async |c| {
                    sqlx::query(INSERT_CART_EMITTING)
                        .bind(&id)
                        .bind(store_id)
                        .bind(cart.version)
                        .bind(&doc)
                        .bind(now)
                        .bind(cart.expires_at())
                        .bind(&products)
                        .bind(scopes)
                        .bind(resource_ids)
                        .bind(data)
                        .execute(c)
                        .await?;
                    Ok(())
                })
                .await
            }
            Db::Sqlite { .. } => {
                let insert = stmt(INSERT_CART)
                    .bind(id)
                    .bind(store_id)
                    .bind(cart.version)
                    .bind(doc)
                    .bind(now)
                    .bind(cart.expires_at())
                    .bind(products);
                let events = events.to_vec();
                write_tx!(self, StoreError, |pool| {
                    let mut tx = pool.begin().await?;
                    insert.execute(&mut *tx).await?;
                    insert_outbox!(tx, store_id, now, &events);
                    tx.commit().await?;
                })
            }
        };
        self.cache_cart_write(committed.is_ok(), cart.id, CartWrite::Put(store_id, cart));
        committed
    }

    /// Saves a changed cart if nobody else changed it since `expected_version`, with
    /// its events. False means a concurrent writer won (and nothing was written).
    pub async fn save_cart_emitting(
        &self,
        store_id: i64,
        cart: &Cart,
        expected_version: i64,
        events: &[OutboxEvent],
    ) -> StoreResult<bool> {
        let now = cart.updated_time;
        let save = stmt(SAVE_CART)
            .bind(cart.version)
            .bind(serde_json::to_string(cart)?)
            .bind(now)
            .bind(cart.expires_at())
            .bind(cart.id.to_string())
            .bind(store_id)
            .bind(expected_version)
            .bind(product_id_list(cart));
        let events = events.to_vec();
        let saved = match &self.db {
            // As in `insert_cart_emitting`: a lone statement needs no transaction.
            Db::Postgres(_) if events.is_empty() => {
                self.with_hot(async |c| Ok(save.execute(c).await?.rows_affected() == 1))
                    .await
            }
            _ => write_tx!(self, StoreError, |pool| {
                let mut tx = pool.begin().await?;
                let n = save.execute(&mut *tx).await?.rows_affected();
                if n != 1 {
                    // Waits (on SQLite) for the batch that holds the winner to commit, so
                    // the caller's replay reads the winner's version.
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_outbox!(tx, store_id, now, &events);
                tx.commit().await?;
                true
            }),
        };
        match saved {
            Ok(true) => self.cache_cart_write(true, cart.id, CartWrite::Put(store_id, cart)),
            _ => self.cache_cart_write(false, cart.id, CartWrite::Gone),
        }
        saved
    }

    /// PostgreSQL: saves `cart`, a change of `held` (this node's copy) made with what
    /// `assumed` says, with its events, if all of it still holds at `now`; otherwise
    /// writes nothing and returns the cart as it is (see [`SAVE_CART_IF_CURRENT`]).
    pub async fn save_cart_if_current(
        &self,
        store_id: i64,
        cart: &Cart,
        held: Arc<Cart>,
        assumed: &Assumed,
        now: i64,
        events: &[OutboxEvent],
    ) -> StoreResult<CopyWrite> {
        let Some(reads) = self.cart_reads.as_deref() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        type Row = (bool, bool, Option<String>, Option<i64>, Vec<String>);
        let doc = serde_json::to_string(cart)?;
        let mut products = assumed.products.clone();
        products.sort_unstable();
        let (product_ids, versions): (Vec<i64>, Vec<i64>) = products.into_iter().unzip();
        // `array_agg` of no rows is NULL, not an empty array.
        let versions = (!versions.is_empty()).then_some(versions);
        let (scopes, resource_ids, data) = outbox_columns(events);
        let sql = if events.is_empty() {
            SAVE_CART_IF_CURRENT
        } else {
            SAVE_CART_IF_CURRENT_EMITTING
        };
        let row: StoreResult<Row> = self
            .with_hot(async |c| {
                let query = sqlx::query_as(sql)
                    .bind(cart.version)
                    .bind(&doc)
                    .bind(cart.updated_time)
                    .bind(cart.expires_at())
                    .bind(cart.id.to_string())
                    .bind(store_id)
                    .bind(held.version)
                    .bind(product_id_list(cart))
                    .bind(now)
                    .bind(assumed.config_version)
                    .bind(&product_ids)
                    .bind(&versions);
                let query = if events.is_empty() {
                    query
                } else {
                    query.bind(scopes).bind(resource_ids).bind(data)
                };
                Ok(query.fetch_one(c).await?)
            })
            .await;
        let (saved, live, doc, config_version, named) = match row {
            Ok(row) => row,
            Err(e) => {
                self.cache_cart_write(false, cart.id, CartWrite::Gone);
                return Err(e);
            }
        };
        reads.copy_change_written(saved);
        if saved {
            self.cache_cart_write(true, cart.id, CartWrite::Put(store_id, cart));
            return Ok(CopyWrite::Saved);
        }
        if !live {
            self.cache_cart_write(false, cart.id, CartWrite::Gone);
            return Ok(CopyWrite::Refused(None));
        }
        let read = self.cart_read_to_change(store_id, Some(held), doc, config_version, &named)?;
        Ok(CopyWrite::Refused(Some(read)))
    }

    /// Deletes a cart (and what hangs off it) if it is still at `expected_version`,
    /// or whatever its version when `None`, with its events. False when there was
    /// nothing to delete (and nothing was written).
    pub async fn delete_cart_emitting(
        &self,
        store_id: i64,
        id: Uuid,
        expected_version: Option<i64>,
        now: i64,
        events: &[OutboxEvent],
    ) -> StoreResult<bool> {
        let cart_id = id;
        let id = id.to_string();
        let events = events.to_vec();
        let deleted = write_tx!(self, StoreError, |pool| {
            let mut tx = pool.begin().await?;
            let n = stmt(DELETE_CART)
                .bind(&id)
                .bind(store_id)
                .bind(expected_version.unwrap_or(-1))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n != 1 {
                // Waits (on SQLite) for the batch that holds the winner to commit, so
                // the caller's replay reads the winner's version.
                tx.rollback().await?;
                return Ok(false);
            }
            delete_cart_belongings!(tx, store_id, &id);
            insert_outbox!(tx, store_id, now, &events);
            tx.commit().await?;
            true
        });
        self.cache_cart_write(matches!(deleted, Ok(true)), cart_id, CartWrite::Gone);
        deleted
    }
}

/// Deletes what hangs off a deleted cart (metafields, redirect and checkout tokens)
/// inside the caller's transaction.
macro_rules! delete_cart_belongings {
    ($tx:expr, $store_id:expr, $cart_id:expr) => {
        for sql in $crate::store::cart_events::DELETE_CART_BELONGINGS {
            $crate::store::statement::stmt(sql)
                .bind($cart_id)
                .bind($store_id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(super) use delete_cart_belongings;

pub(super) enum CartWrite<'a> {
    Put(i64, &'a Cart),
    Gone,
}

impl Store {
    /// Tells the cart cache what the database holds after a cart write: what it
    /// committed, or (`committed` false) to forget the cart and read the database next.
    pub(super) fn cache_cart_write(&self, committed: bool, id: Uuid, write: CartWrite<'_>) {
        for cache in [self.cart_cache(), self.cart_copies()]
            .into_iter()
            .flatten()
        {
            match (committed, &write) {
                (true, CartWrite::Put(store_id, cart)) => cache.put(*store_id, cart),
                (true, CartWrite::Gone) => cache.gone(id),
                (false, _) => cache.forget(id),
            }
        }
    }
}
