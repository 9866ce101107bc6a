//! Store configuration documents (shipping, tax, …): one JSON document per object,
//! grouped by `kind`. Every write bumps the store's `config_version`, so caches of
//! configuration on other nodes can tell they are stale.

use super::{Store, StoreResult, on_pool};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl Store {
    /// Every document of one kind, by id.
    pub async fn config_docs<T: DeserializeOwned>(
        &self,
        store_id: i64,
        kind: &str,
    ) -> StoreResult<Vec<T>> {
        let docs: Vec<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT doc FROM config_docs WHERE store_id = $1 AND kind = $2 ORDER BY id",
            )
            .bind(store_id)
            .bind(kind)
            .fetch_all(p)
            .await?
        });
        docs.iter().map(|d| Ok(serde_json::from_str(d)?)).collect()
    }

    pub async fn config_doc<T: DeserializeOwned>(
        &self,
        store_id: i64,
        kind: &str,
        id: i64,
    ) -> StoreResult<Option<T>> {
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT doc FROM config_docs WHERE store_id = $1 AND kind = $2 AND id = $3",
            )
            .bind(store_id)
            .bind(kind)
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        doc.map(|d| Ok(serde_json::from_str(&d)?)).transpose()
    }

    /// Inserts or replaces a document.
    pub async fn put_config_doc<T: Serialize>(
        &self,
        store_id: i64,
        kind: &str,
        id: i64,
        doc: &T,
        now: i64,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(doc)?;
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO config_docs (store_id, kind, id, doc, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (store_id, kind, id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
            )
            .bind(store_id)
            .bind(kind)
            .bind(id)
            .bind(&json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE stores SET config_version = config_version + 1 WHERE id = $1")
                .bind(store_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes a document; false when there was none.
    pub async fn delete_config_doc(&self, store_id: i64, kind: &str, id: i64) -> StoreResult<bool> {
        let n = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "DELETE FROM config_docs WHERE store_id = $1 AND kind = $2 AND id = $3",
            )
            .bind(store_id)
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                sqlx::query("UPDATE stores SET config_version = config_version + 1 WHERE id = $1")
                    .bind(store_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }
}

impl Store {
    /// The store's configuration version: it moves on with every configuration write.
    pub async fn config_version(&self, store_id: i64) -> StoreResult<i64> {
        let v: Option<i64> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT config_version FROM stores WHERE id = $1")
                .bind(store_id)
                .fetch_optional(p)
                .await?
        });
        Ok(v.unwrap_or(0))
    }
}
