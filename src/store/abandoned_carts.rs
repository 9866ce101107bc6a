//! Abandoned carts: marking carts abandoned (once each, with their event), the recovery
//! token lookup, and the abandoned-cart settings documents.

use super::outbox::{OutboxEvent, insert_outbox};
use super::{Store, StoreResult, on_pool};
use uuid::Uuid;

impl Store {
    /// Live carts not changed since `cutoff` and not yet marked abandoned, oldest first:
    /// (store id, cart id).
    pub async fn abandonment_candidates(
        &self,
        cutoff: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        on_pool!(self, read, |p| {
            Ok(sqlx::query_as(
                "SELECT store_id, id FROM carts
                 WHERE abandoned_at = 0 AND updated_at <= $1 AND expires_at > $2
                 ORDER BY updated_at LIMIT $3",
            )
            .bind(cutoff)
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await?)
        })
    }

    /// Marks a cart abandoned with its recovery token and records `events`, if nobody
    /// (another node) marked it first and it is still untouched since `cutoff`.
    pub async fn mark_cart_abandoned(
        &self,
        store_id: i64,
        cart_id: &str,
        cutoff: i64,
        now: i64,
        token: Uuid,
        events: &[OutboxEvent],
    ) -> StoreResult<bool> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE carts SET abandoned_at = $1, abandoned_token = $2
                 WHERE id = $3 AND store_id = $4 AND abandoned_at = 0 AND updated_at <= $5",
            )
            .bind(now)
            .bind(token.to_string())
            .bind(cart_id)
            .bind(store_id)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                // Waits (on SQLite) for the batch that holds the winner to commit, so
                // the caller's replay reads the winner's version.
                tx.rollback().await?;
                return Ok(false);
            }
            insert_outbox!(tx, store_id, now, events);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The recovery token of a cart marked abandoned (for the link sent to the shopper).
    pub async fn abandoned_cart_token(
        &self,
        store_id: i64,
        cart_id: &str,
    ) -> StoreResult<Option<String>> {
        let token: Option<Option<String>> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT abandoned_token FROM carts WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(cart_id)
                .fetch_optional(p)
                .await?
        });
        Ok(token.flatten())
    }

    /// The live cart an abandoned-cart token points to.
    pub async fn abandoned_cart_by_token(
        &self,
        store_id: i64,
        token: Uuid,
        now: i64,
    ) -> StoreResult<Option<String>> {
        on_pool!(self, read, |p| {
            Ok(sqlx::query_scalar(
                "SELECT id FROM carts WHERE store_id = $1 AND abandoned_token = $2 AND expires_at > $3",
            )
            .bind(store_id)
            .bind(token.to_string())
            .bind(now)
            .fetch_optional(p)
            .await?)
        })
    }

    /// The settings set for a channel (0 = store-wide), as a JSON object.
    pub async fn abandoned_cart_settings(
        &self,
        store_id: i64,
        channel_id: i64,
    ) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT doc FROM abandoned_cart_settings WHERE store_id = $1 AND channel_id = $2",
            )
            .bind(store_id)
            .bind(channel_id)
            .fetch_optional(p)
            .await?
        });
        Ok(match doc {
            Some(d) => serde_json::from_str(&d)?,
            None => serde_json::Map::new(),
        })
    }

    pub async fn set_abandoned_cart_settings(
        &self,
        store_id: i64,
        channel_id: i64,
        doc: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        let doc = serde_json::to_string(doc)?;
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO abandoned_cart_settings (store_id, channel_id, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (store_id, channel_id) DO UPDATE SET doc = excluded.doc",
            )
            .bind(store_id)
            .bind(channel_id)
            .bind(&doc)
            .execute(p)
            .await?;
        });
        Ok(())
    }
}
