//! Store configuration documents (shipping, tax, …): one JSON document per object,
//! grouped by `kind`. Every write bumps the store's `config_version`, so caches of
//! configuration on other nodes can tell they are stale.

use super::statement::{Conn, stmt};
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

/// A discount code (or a coupon's name) another document already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeTaken {
    /// The code as keyed (trimmed, lower case); the name when `name` is set.
    pub code: String,
    /// The document that has it: `coupon:5`, `promotion:3`.
    pub owner: String,
    /// It is the document's name (a coupon's) that is taken, not a code.
    pub name: bool,
}

/// What a document must have alone in its store: its discount codes, and its name when
/// that must be unique too (a coupon's).
#[derive(Clone, Copy, Debug)]
pub struct DocKeys<'a> {
    pub codes: &'a [&'a str],
    pub name: Option<&'a str>,
}

/// How a code is keyed: as checkouts match codes, ignoring case and surrounding spaces.
pub fn code_key(code: &str) -> String {
    code.trim().to_lowercase()
}

fn code_owner(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
}

/// Deletes a document's discount codes and name from the store's indexes.
const FREE_KEYS: [&str; 2] = [
    "DELETE FROM discount_codes WHERE store_id = $1 AND owner = $2",
    "DELETE FROM coupon_names WHERE store_id = $1 AND owner = $2",
];

/// Claims `key` for `owner` in the store's index of discount codes (or of coupon names,
/// `name`); the document that has it already, when another does.
async fn claim<C: Conn + ?Sized>(
    conn: &mut C,
    name: bool,
    store_id: i64,
    key: &str,
    owner: &str,
) -> Result<Option<String>, sqlx::Error> {
    let (insert, holder) = if name {
        (
            "INSERT INTO coupon_names (store_id, name_key, owner) VALUES ($1, $2, $3)
             ON CONFLICT (store_id, name_key) DO NOTHING",
            "SELECT owner FROM coupon_names WHERE store_id = $1 AND name_key = $2",
        )
    } else {
        (
            "INSERT INTO discount_codes (store_id, code_key, owner) VALUES ($1, $2, $3)
             ON CONFLICT (store_id, code_key) DO NOTHING",
            "SELECT owner FROM discount_codes WHERE store_id = $1 AND code_key = $2",
        )
    };
    let done = stmt(insert)
        .bind(store_id)
        .bind(key)
        .bind(owner)
        .execute(conn)
        .await?;
    if done.rows_affected() > 0 {
        return Ok(None);
    }
    let other: Option<(String,)> = stmt(holder)
        .bind(store_id)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    Ok(Some(other.map(|o| o.0).unwrap_or_default()))
}

/// Keys every stored discount code and coupon name again, as `code_key` keys them (run
/// by migration 21): SQLite's `lower()` lower-cases only A–Z, so codes indexed by
/// migration 18 with other letters were keyed apart from how checkouts match them. The
/// index is rebuilt from the documents; a code or name two documents share stays with
/// the first (coupons before promotions, then by id), as migration 18 left codes.
pub(super) async fn key_codes_and_names<C: Conn + ?Sized>(conn: &mut C) -> Result<(), sqlx::Error> {
    let docs: Vec<(i64, String, i64, String)> = stmt(
        "SELECT store_id, kind, id, doc FROM config_docs
         WHERE kind IN ('coupon', 'promotion') ORDER BY kind, store_id, id",
    )
    .fetch_all(conn)
    .await?;
    // Every row (the key columns are never null), in words the query-plan guard knows.
    stmt("DELETE FROM discount_codes WHERE code_key IS NOT NULL")
        .execute(conn)
        .await?;
    stmt("DELETE FROM coupon_names WHERE name_key IS NOT NULL")
        .execute(conn)
        .await?;
    for (store_id, kind, id, doc) in &docs {
        // A document that does not parse has no codes the checkout could match either.
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(doc) else {
            continue;
        };
        let owner = code_owner(kind, *id);
        let codes: Vec<&str> = match kind.as_str() {
            "coupon" => doc["code"].as_str().into_iter().collect(),
            _ => doc["codes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["code"].as_str())
                .collect(),
        };
        let name = doc["name"].as_str().filter(|_| kind == "coupon");
        let claims = codes
            .into_iter()
            .map(|c| (c, false))
            .chain(name.map(|n| (n, true)));
        for (text, is_name) in claims {
            claim(conn, is_name, *store_id, &code_key(text), &owner).await?;
        }
    }
    Ok(())
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
        // Without codes nothing can be taken.
        self.write_doc(store_id, kind, id, doc, None, now)
            .await
            .map(|_| ())
    }

    /// Inserts or replaces a document that has discount codes (a coupon, a promotion)
    /// together with its codes, as `code_key` keys them, and its `name` when that must be
    /// unique (a coupon's, keyed the same way). The unique indexes decide between
    /// concurrent writes: when another document has one of the codes (or the name),
    /// nothing is written and the answer names the code and that document.
    pub async fn put_coded_doc<T: Serialize>(
        &self,
        store_id: i64,
        kind: &str,
        id: i64,
        doc: &T,
        keys: DocKeys<'_>,
        now: i64,
    ) -> StoreResult<Result<(), CodeTaken>> {
        self.write_doc(store_id, kind, id, doc, Some(keys), now)
            .await
    }

    /// Writes a document (and, given `keyed`, replaces its discount codes and unique
    /// name first).
    async fn write_doc<T: Serialize>(
        &self,
        store_id: i64,
        kind: &str,
        id: i64,
        doc: &T,
        keyed: Option<DocKeys<'_>>,
        now: i64,
    ) -> StoreResult<Result<(), CodeTaken>> {
        let json = serde_json::to_string(doc)?;
        let owner = code_owner(kind, id);
        let codes = keyed.map(|k| k.codes);
        let name_key = keyed.and_then(|k| k.name).map(code_key);
        let mut keys: Vec<String> = codes
            .unwrap_or_default()
            .iter()
            .map(|c| code_key(c))
            .collect();
        keys.sort();
        keys.dedup();
        // Codes first, then the name, as the check before writing looks at them.
        let claims: Vec<(String, bool)> = keys
            .into_iter()
            .map(|k| (k, false))
            .chain(name_key.map(|k| (k, true)))
            .collect();
        let taken = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            if codes.is_some() {
                for sql in FREE_KEYS {
                    stmt(sql)
                        .bind(store_id)
                        .bind(&owner)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let mut taken = None;
            for (key, name) in &claims {
                if let Some(holder) = claim(&mut *tx, *name, store_id, key, &owner).await? {
                    taken = Some(CodeTaken {
                        code: key.clone(),
                        owner: holder,
                        name: *name,
                    });
                    break;
                }
            }
            if taken.is_some() {
                tx.rollback().await?;
            } else {
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
            }
            taken
        });
        if let Some(t) = taken {
            return Ok(Err(t));
        }
        self.config_written();
        Ok(Ok(()))
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
            // Its discount codes and name (if it had any) are free again.
            for sql in FREE_KEYS {
                stmt(sql)
                    .bind(store_id)
                    .bind(code_owner(kind, id))
                    .execute(&mut *tx)
                    .await?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settings::StoreSettings;
    use serde_json::json;

    /// The codes the store's index holds, as (key, owner), sorted.
    async fn index(store: &Store, store_id: i64) -> Vec<(String, String)> {
        keys(
            store,
            "SELECT code_key, owner FROM discount_codes WHERE store_id = $1",
            store_id,
        )
        .await
    }

    /// The (key, owner) rows `sql` selects for a store, sorted.
    async fn keys(store: &Store, sql: &'static str, store_id: i64) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = on_pool!(store, read, |p| {
            sqlx::query_as(sql)
                .bind(store_id)
                .fetch_all(p)
                .await
                .unwrap()
        });
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn migration_indexes_the_codes_already_stored() {
        for store in crate::store::test_stores("codes").await {
            let s = store
                .create_store("codes", "Codes", &StoreSettings::default(), 0)
                .await
                .unwrap();
            // Written as before the index: coupons (two with one code, in any case) and
            // a promotion with two codes.
            for (kind, id, doc) in [
                ("coupon", 1, json!({"id": 1, "code": " Summer "})),
                ("coupon", 2, json!({"id": 2, "code": "SUMMER"})),
                (
                    "promotion",
                    3,
                    json!({"id": 3, "codes": [{"code": "SAVE5"}, {"code": "save6"}]}),
                ),
                ("promotion", 4, json!({"id": 4})),
            ] {
                store.put_config_doc(s.id, kind, id, &doc, 0).await.unwrap();
            }
            assert_eq!(index(&store, s.id).await, []);
            // The backfill half of migration 18, run again over them.
            let m = super::super::migrate::discount_codes_backfill();
            let sql = match &store.db {
                super::super::Db::Sqlite { .. } => m.0,
                super::super::Db::Postgres(_) => m.1,
            };
            on_pool!(store, write, |p| {
                let mut tx = p.begin().await.unwrap();
                sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            });
            let owned = |k: &str, o: &str| (k.to_string(), o.to_string());
            assert_eq!(
                index(&store, s.id).await,
                [
                    owned("save5", "promotion:3"),
                    owned("save6", "promotion:3"),
                    owned("summer", "coupon:1"),
                ]
            );
            // From then on the index refuses them to anyone else, and frees a deleted
            // document's codes.
            let taken = store
                .put_coded_doc(
                    s.id,
                    "coupon",
                    5,
                    &json!({"id": 5}),
                    DocKeys {
                        codes: &["Save6"],
                        name: None,
                    },
                    0,
                )
                .await
                .unwrap();
            assert_eq!(
                taken,
                Err(CodeTaken {
                    code: "save6".into(),
                    owner: "promotion:3".into(),
                    name: false,
                })
            );
            assert!(store.delete_config_doc(s.id, "promotion", 3).await.unwrap());
            let put = store
                .put_coded_doc(
                    s.id,
                    "coupon",
                    5,
                    &json!({"id": 5}),
                    DocKeys {
                        codes: &["Save6"],
                        name: None,
                    },
                    0,
                )
                .await
                .unwrap();
            assert_eq!(put, Ok(()));
            assert_eq!(
                index(&store, s.id).await,
                [owned("save6", "coupon:5"), owned("summer", "coupon:1")]
            );
        }
    }

    /// The coupon names the store's index holds, as (key, owner), sorted.
    async fn names(store: &Store, store_id: i64) -> Vec<(String, String)> {
        keys(
            store,
            "SELECT name_key, owner FROM coupon_names WHERE store_id = $1",
            store_id,
        )
        .await
    }

    #[tokio::test]
    async fn migration_21_keys_codes_and_names_beyond_ascii() {
        for store in crate::store::test_stores("names").await {
            let s = store
                .create_store("names", "Names", &StoreSettings::default(), 0)
                .await
                .unwrap();
            // Written without keys (as before migration 21): coupons sharing a name in
            // another case, codes with letters beyond ASCII, and a promotion's code.
            for (kind, id, doc) in [
                (
                    "coupon",
                    1,
                    json!({"id": 1, "code": "ÉTÉ", "name": "Été sale"}),
                ),
                (
                    "coupon",
                    2,
                    json!({"id": 2, "code": "winter", "name": "ÉTÉ SALE"}),
                ),
                (
                    "promotion",
                    3,
                    json!({"id": 3, "name": "Été sale", "codes": [{"code": "ÖL"}]}),
                ),
            ] {
                store.put_config_doc(s.id, kind, id, &doc, 0).await.unwrap();
            }
            // What migration 18's SQL lower() wrote on SQLite for the first coupon.
            on_pool!(store, write, |p| {
                sqlx::query("INSERT INTO discount_codes (store_id, code_key, owner) VALUES ($1, 'ÉtÉ', 'coupon:1')")
                    .bind(s.id)
                    .execute(p)
                    .await
                    .unwrap();
            });
            on_pool!(store, write, |p| {
                let mut tx = p.begin().await.unwrap();
                key_codes_and_names(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            });
            let owned = |k: &str, o: &str| (k.to_string(), o.to_string());
            assert_eq!(
                index(&store, s.id).await,
                [
                    owned("winter", "coupon:2"),
                    owned("été", "coupon:1"),
                    owned("öl", "promotion:3"),
                ]
            );
            // The name stays with the first coupon; only coupons' names are unique.
            assert_eq!(names(&store, s.id).await, [owned("été sale", "coupon:1")]);
            // So the checkout's spelling of the code is taken, and so is the name.
            let taken = store
                .put_coded_doc(
                    s.id,
                    "coupon",
                    4,
                    &json!({"id": 4}),
                    DocKeys {
                        codes: &["été"],
                        name: Some("x"),
                    },
                    0,
                )
                .await
                .unwrap();
            assert_eq!(taken.map_err(|t| t.owner), Err("coupon:1".to_string()));
            let taken = store
                .put_coded_doc(
                    s.id,
                    "coupon",
                    4,
                    &json!({"id": 4}),
                    DocKeys {
                        codes: &["new"],
                        name: Some(" été SALE "),
                    },
                    0,
                )
                .await
                .unwrap();
            assert_eq!(
                taken,
                Err(CodeTaken {
                    code: "été sale".into(),
                    owner: "coupon:1".into(),
                    name: true,
                })
            );
            // A refused write keeps nothing; deleting the coupon frees its name.
            assert_eq!(names(&store, s.id).await, [owned("été sale", "coupon:1")]);
            assert!(store.delete_config_doc(s.id, "coupon", 1).await.unwrap());
            let put = store
                .put_coded_doc(
                    s.id,
                    "coupon",
                    4,
                    &json!({"id": 4}),
                    DocKeys {
                        codes: &["new"],
                        name: Some("Été Sale"),
                    },
                    0,
                )
                .await
                .unwrap();
            assert_eq!(put, Ok(()));
            assert_eq!(names(&store, s.id).await, [owned("été sale", "coupon:4")]);
        }
    }
}
