//! Cart writes that also record their webhook events, in the same transaction, so an
//! event exists exactly when its change was committed.

use super::outbox::{OutboxEvent, insert_outbox, outbox_columns};
use super::statement::stmt;
use super::{Db, Store, StoreError, StoreResult, write_tx};
use crate::domain::cart::Cart;
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
