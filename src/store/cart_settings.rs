//! Queries for per-channel cart settings overrides.

use super::statement::stmt;
use super::{StoreResult, on_pool, read_on};
use crate::store::Store;

impl Store {
    /// The channel's `allow_purchasing` override, or `None` when it has none.
    pub async fn channel_allow_purchasing(
        &self,
        store_id: i64,
        channel_id: i64,
    ) -> StoreResult<Option<bool>> {
        let v: Option<Option<bool>> = read_on!(self, |c| {
            stmt(
                "SELECT allow_purchasing FROM channel_cart_settings WHERE store_id = $1 AND channel_id = $2",
            )
            .bind(store_id)
            .bind(channel_id)
            .fetch_optional_scalar(c)
            .await?
        })?;
        Ok(v.flatten())
    }

    /// Sets the channel's override, or removes it with `None`.
    pub async fn set_channel_allow_purchasing(
        &self,
        store_id: i64,
        channel_id: i64,
        allow: Option<bool>,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            match allow {
                Some(a) => {
                    sqlx::query(
                        "INSERT INTO channel_cart_settings (store_id, channel_id, allow_purchasing) VALUES ($1, $2, $3)
                         ON CONFLICT (store_id, channel_id) DO UPDATE SET allow_purchasing = excluded.allow_purchasing",
                    )
                    .bind(store_id)
                    .bind(channel_id)
                    .bind(a)
                    .execute(p)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM channel_cart_settings WHERE store_id = $1 AND channel_id = $2",
                    )
                    .bind(store_id)
                    .bind(channel_id)
                    .execute(p)
                    .await?;
                }
            }
        });
        Ok(())
    }
}
