//! Checkout tokens: hashed, bound to a cart, limited in time and in uses. They go
//! with their cart (`delete_cart`, `purge_expired_carts`).

use super::{Store, StoreResult, on_pool};
use sqlx::Row;
use uuid::Uuid;

impl Store {
    /// Stores a token for a live cart of this store, and drops the cart's tokens that
    /// have expired. False (nothing stored) when there is no such live cart.
    pub async fn insert_checkout_token(
        &self,
        store_id: i64,
        cart_id: Uuid,
        token_hash: &str,
        expires_at: i64,
        max_uses: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let cart_id = cart_id.to_string();
        let n = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO checkout_tokens (token_hash, store_id, cart_id, expires_at, max_uses, uses)
                 SELECT $1, $2, $3, $4, $5, 0 WHERE EXISTS
                   (SELECT 1 FROM carts WHERE id = $3 AND store_id = $2 AND expires_at > $6)",
            )
            .bind(token_hash)
            .bind(store_id)
            .bind(&cart_id)
            .bind(expires_at)
            .bind(max_uses)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query(
                    "DELETE FROM checkout_tokens WHERE cart_id = $1 AND store_id = $2 AND expires_at <= $3",
                )
                .bind(&cart_id)
                .bind(store_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    /// Uses a token once: one conditional update that counts the use only while the
    /// token has uses left, has not expired and its cart is still live. Returns the
    /// token's store and cart; `None` for an unknown, used-up or expired token.
    pub async fn redeem_checkout_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(i64, Uuid)>> {
        let row: Option<(i64, String)> = on_pool!(self, write, |p| {
            let r = sqlx::query(
                "UPDATE checkout_tokens SET uses = uses + 1
                 WHERE token_hash = $1 AND uses < max_uses AND expires_at > $2
                   AND EXISTS (SELECT 1 FROM carts
                               WHERE carts.id = checkout_tokens.cart_id
                                 AND carts.store_id = checkout_tokens.store_id
                                 AND carts.expires_at > $2)
                 RETURNING store_id, cart_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await?;
            r.map(|r| -> StoreResult<_> { Ok((r.try_get(0)?, r.try_get(1)?)) })
                .transpose()?
        });
        Ok(row.and_then(|(s, c)| Uuid::parse_str(&c).ok().map(|u| (s, u))))
    }
}
