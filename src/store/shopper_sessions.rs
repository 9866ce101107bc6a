//! Queries for storefront shopper sessions, the carts and orders they own, and the
//! store a storefront domain names.

use super::{StoreResult, on_pool};
use crate::store::{Store, StoreRecord};
use uuid::Uuid;

/// A live session as stored (the token itself is never stored, only its hash).
#[derive(Clone, Debug, PartialEq)]
pub struct ShopperSessionRow {
    pub id: Uuid,
    pub store_id: i64,
    pub customer_id: i64,
    pub expires_at: i64,
}

type StoreTuple = (i64, String, String, String, i64);

fn store_record(t: StoreTuple) -> StoreResult<StoreRecord> {
    Ok(StoreRecord {
        id: t.0,
        hash: t.1,
        name: t.2,
        settings: serde_json::from_str(&t.3)?,
        config_version: t.4,
    })
}

/// Inserts a shopper session row on `$exec` (a pool or a transaction).
macro_rules! insert_session {
    ($exec:expr, $token_hash:expr, $row:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO shopper_sessions (token_hash, id, store_id, customer_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($token_hash)
        .bind($row.id.to_string())
        .bind($row.store_id)
        .bind($row.customer_id)
        .bind($now)
        .bind($row.expires_at)
        .execute($exec)
        .await?
    };
}

impl Store {
    /// The store whose storefront domain is `domain` (already lower-case, no port).
    pub async fn find_store_by_domain(&self, domain: &str) -> StoreResult<Option<StoreRecord>> {
        let row: Option<StoreTuple> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, hash, name, settings, config_version FROM stores WHERE storefront_domain = $1",
            )
            .bind(domain)
            .fetch_optional(p)
            .await?
        });
        row.map(store_record).transpose()
    }

    /// The deployment's only store, or `None` when there are none or several.
    pub async fn sole_store(&self) -> StoreResult<Option<StoreRecord>> {
        let rows: Vec<StoreTuple> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, hash, name, settings, config_version FROM stores ORDER BY id LIMIT 2",
            )
            .fetch_all(p)
            .await?
        });
        if rows.len() == 1 {
            rows.into_iter().next().map(store_record).transpose()
        } else {
            Ok(None)
        }
    }

    pub async fn insert_shopper_session(
        &self,
        token_hash: &str,
        row: &ShopperSessionRow,
        now: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            insert_session!(p, token_hash, row, now);
        });
        Ok(())
    }

    /// Replaces a session with a new one (a sign-in or sign-out): the new row is
    /// inserted, the old session's carts (and hosted-page cart) become the new one's, and the old row is
    /// deleted, so its token opens nothing any more. One transaction. (Orders the old
    /// session placed stay with it: reading them needs the session that placed them.)
    pub async fn rotate_shopper_session(
        &self,
        old_id: Uuid,
        token_hash: &str,
        row: &ShopperSessionRow,
        now: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            insert_session!(&mut *tx, token_hash, row, now);
            sqlx::query("UPDATE carts SET shopper_id = $1 WHERE store_id = $2 AND shopper_id = $3")
                .bind(row.id.to_string())
                .bind(row.store_id)
                .bind(old_id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE shopper_page_carts SET session_id = $1 WHERE session_id = $2")
                .bind(row.id.to_string())
                .bind(old_id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM shopper_sessions WHERE id = $1 AND store_id = $2")
                .bind(old_id.to_string())
                .bind(row.store_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A live session of this store by its token's hash.
    pub async fn find_shopper_session(
        &self,
        store_id: i64,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<ShopperSessionRow>> {
        let row: Option<(String, i64, i64)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, customer_id, expires_at FROM shopper_sessions
                 WHERE token_hash = $1 AND store_id = $2 AND expires_at > $3",
            )
            .bind(token_hash)
            .bind(store_id)
            .bind(now)
            .fetch_optional(p)
            .await?
        });
        Ok(row.and_then(|(id, customer_id, expires_at)| {
            Uuid::parse_str(&id).ok().map(|id| ShopperSessionRow {
                id,
                store_id,
                customer_id,
                expires_at,
            })
        }))
    }

    /// Makes `cart_id` the cart the session's hosted pages show (`embedded`: as the
    /// embedded checkout).
    pub async fn set_page_cart(
        &self,
        store_id: i64,
        session_id: Uuid,
        cart_id: Uuid,
        embedded: bool,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO shopper_page_carts (session_id, store_id, cart_id, embedded)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id) DO UPDATE SET cart_id = excluded.cart_id, embedded = excluded.embedded",
            )
            .bind(session_id.to_string())
            .bind(store_id)
            .bind(cart_id.to_string())
            .bind(i64::from(embedded))
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// The cart the session's hosted pages show, and whether as the embedded checkout.
    pub async fn page_cart(
        &self,
        store_id: i64,
        session_id: Uuid,
    ) -> StoreResult<Option<(Uuid, bool)>> {
        let row: Option<(String, i64)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT cart_id, embedded FROM shopper_page_carts WHERE session_id = $1 AND store_id = $2",
            )
            .bind(session_id.to_string())
            .bind(store_id)
            .fetch_optional(p)
            .await?
        });
        Ok(row.and_then(|(c, e)| Uuid::parse_str(&c).ok().map(|c| (c, e != 0))))
    }

    /// Gives a live cart of this store to a shopper. False when there is no such cart.
    pub async fn set_cart_shopper(
        &self,
        store_id: i64,
        cart_id: Uuid,
        shopper_id: Uuid,
        now: i64,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE carts SET shopper_id = $1 WHERE id = $2 AND store_id = $3 AND expires_at > $4",
            )
            .bind(shopper_id.to_string())
            .bind(cart_id.to_string())
            .bind(store_id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// True when this live cart belongs to this shopper.
    pub async fn cart_is_shoppers(
        &self,
        store_id: i64,
        cart_id: Uuid,
        shopper_id: Uuid,
        now: i64,
    ) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM carts
                 WHERE id = $1 AND store_id = $2 AND shopper_id = $3 AND expires_at > $4",
            )
            .bind(cart_id.to_string())
            .bind(store_id)
            .bind(shopper_id.to_string())
            .bind(now)
            .fetch_one(p)
            .await?
        });
        Ok(n == 1)
    }

    /// The ids of a shopper's live carts, newest first.
    pub async fn shopper_cart_ids(
        &self,
        store_id: i64,
        shopper_id: Uuid,
        now: i64,
    ) -> StoreResult<Vec<Uuid>> {
        let ids: Vec<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT id FROM carts WHERE store_id = $1 AND shopper_id = $2 AND expires_at > $3
                 ORDER BY updated_at DESC LIMIT 50",
            )
            .bind(store_id)
            .bind(shopper_id.to_string())
            .bind(now)
            .fetch_all(p)
            .await?
        });
        Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
    }

    /// True when this order was placed from a cart of this shopper.
    pub async fn order_is_shoppers(
        &self,
        store_id: i64,
        order_id: i64,
        shopper_id: Uuid,
    ) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM orders WHERE store_id = $1 AND id = $2 AND shopper_id = $3",
            )
            .bind(store_id)
            .bind(order_id)
            .bind(shopper_id.to_string())
            .fetch_one(p)
            .await?
        });
        Ok(n == 1)
    }
}
