//! Store configuration documents (shipping, tax, …): one JSON document per object,
//! grouped by `kind`. Every write bumps the store's `config_version`, so caches of
//! configuration on other nodes can tell they are stale.

use super::{Store, StoreResult, on_pool};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a remembered `config_version` is trusted without a configuration write of
/// this process: covers a CLI command that changed the file from another process.
const REMEMBERED_FOR: Duration = Duration::from_secs(1);

/// Each store's `config_version` as last read, for the server that owns its SQLite file
/// (pricing asks for it several times per request). An entry is good while no
/// configuration write of this process has committed since it was read: writers bump
/// `writes` after their commit, and an entry read before that bump no longer matches.
#[derive(Debug, Default)]
pub struct ConfigVersions {
    writes: AtomicU64,
    map: Mutex<HashMap<i64, (i64, u64, Instant)>>,
}

impl ConfigVersions {
    fn get(&self, store_id: i64, writes: u64) -> Option<i64> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&store_id)
            .filter(|(_, w, at)| *w == writes && at.elapsed() < REMEMBERED_FOR)
            .map(|(v, _, _)| *v)
    }

    fn put(&self, store_id: i64, version: i64, writes: u64) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(store_id, (version, writes, Instant::now()));
    }

    /// Called after a configuration write committed.
    pub(super) fn written(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }
}

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
        self.config_written();
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
        self.config_written();
        Ok(n > 0)
    }
}

impl Store {
    /// The store's configuration version: it moves on with every configuration write.
    pub async fn config_version(&self, store_id: i64) -> StoreResult<i64> {
        let remembered = self.config_versions.as_deref();
        let writes = remembered.map(|c| c.writes.load(Ordering::Acquire));
        if let (Some(c), Some(w)) = (remembered, writes)
            && let Some(v) = c.get(store_id, w)
        {
            return Ok(v);
        }
        let v: Option<i64> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT config_version FROM stores WHERE id = $1")
                .bind(store_id)
                .fetch_optional(p)
                .await?
        });
        let v = v.unwrap_or(0);
        if let (Some(c), Some(w)) = (remembered, writes) {
            c.put(store_id, v, w);
        }
        Ok(v)
    }

    /// A configuration write has committed: forget the remembered versions.
    pub(super) fn config_written(&self) {
        if let Some(c) = &self.config_versions {
            c.written();
        }
    }
}
