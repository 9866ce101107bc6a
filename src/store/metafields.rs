//! Queries for cart metafields. A metafield is visible only while its cart is live
//! (exists in the store and has not expired), so every read and write checks the cart.

use super::{StoreResult, on_pool};
use crate::domain::metafield::MetafieldPatch;
use crate::store::Store;
use uuid::Uuid;

/// One stored cart metafield.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetafieldRecord {
    pub id: i64,
    pub cart_id: String,
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub permission_set: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
}

type MetafieldRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

impl From<MetafieldRow> for MetafieldRecord {
    fn from(r: MetafieldRow) -> Self {
        MetafieldRecord {
            id: r.0,
            cart_id: r.1,
            namespace: r.2,
            key: r.3,
            value: r.4,
            permission_set: r.5,
            description: r.6,
            created_at: r.7,
            updated_at: r.8,
        }
    }
}

const COLS: &str =
    "id, cart_id, namespace, key, value, permission_set, description, created_at, updated_at";

/// `cart_metafields` row belongs to a live cart of its store; `$2` is now.
const LIVE_CART: &str = "EXISTS (SELECT 1 FROM carts c WHERE c.id = cart_metafields.cart_id \
     AND c.store_id = cart_metafields.store_id AND c.expires_at > $2)";

/// A metafield to insert, its id already reserved.
#[derive(Clone, Debug)]
pub struct NewMetafieldRow {
    pub id: i64,
    pub cart_id: Uuid,
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub permission_set: String,
    pub description: String,
}

/// What happened to one item of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetafieldWrite {
    Done(MetafieldRecord),
    /// The metafield (or, on create, its cart) does not exist for this store.
    NotFound,
    /// Another metafield of the cart already has this namespace and key.
    Duplicate,
}

/// Which metafields a list returns. Empty lists mean "any".
#[derive(Clone, Debug, Default)]
pub struct MetafieldFilter {
    pub cart_id: Option<Uuid>,
    pub keys: Vec<String>,
    pub namespaces: Vec<String>,
    pub created_min: Option<i64>,
    pub created_max: Option<i64>,
    pub modified_min: Option<i64>,
    pub modified_max: Option<i64>,
    pub descending: bool,
}

/// Adds a text parameter (numbered after `$1` store and `$2` now) and returns its placeholder.
fn placeholder(params: &mut Vec<String>, v: String) -> String {
    params.push(v);
    format!("${}", params.len() + 2)
}

impl Store {
    /// True when the cart exists in this store and has not expired.
    pub async fn cart_is_live(&self, store_id: i64, cart_id: Uuid, now: i64) -> StoreResult<bool> {
        let found: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT id FROM carts WHERE id = $1 AND store_id = $2 AND expires_at > $3",
            )
            .bind(cart_id.to_string())
            .bind(store_id)
            .bind(now)
            .fetch_optional(p)
            .await?
        });
        Ok(found.is_some())
    }

    /// One page of a store's cart metafields (ordered by id) and the total matching.
    pub async fn list_cart_metafields(
        &self,
        store_id: i64,
        now: i64,
        filter: &MetafieldFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<MetafieldRecord>, i64)> {
        // Text parameters start at $3; numbers we produced are inlined.
        let mut conds = format!("store_id = $1 AND {LIVE_CART}");
        let mut params: Vec<String> = Vec::new();
        if let Some(cart) = filter.cart_id {
            let ph = placeholder(&mut params, cart.to_string());
            conds.push_str(&format!(" AND cart_id = {ph}"));
        }
        for (column, values) in [("key", &filter.keys), ("namespace", &filter.namespaces)] {
            if !values.is_empty() {
                let list = values
                    .iter()
                    .map(|v| placeholder(&mut params, v.clone()))
                    .collect::<Vec<_>>()
                    .join(", ");
                conds.push_str(&format!(" AND {column} IN ({list})"));
            }
        }
        for (bound, column, op) in [
            (filter.created_min, "created_at", ">="),
            (filter.created_max, "created_at", "<="),
            (filter.modified_min, "updated_at", ">="),
            (filter.modified_max, "updated_at", "<="),
        ] {
            if let Some(v) = bound {
                conds.push_str(&format!(" AND {column} {op} {v}"));
            }
        }
        let order = if filter.descending { "DESC" } else { "ASC" };
        let count_sql = format!("SELECT COUNT(*) FROM cart_metafields WHERE {conds}");
        let page_sql = format!(
            "SELECT {COLS} FROM cart_metafields WHERE {conds} ORDER BY id {order} LIMIT {limit} OFFSET {offset}"
        );
        let (total, rows): (i64, Vec<MetafieldRow>) = on_pool!(self, read, |p| {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
                .bind(store_id)
                .bind(now);
            for v in &params {
                q = q.bind(v.clone());
            }
            let total: i64 = q.fetch_one(p).await?;
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(page_sql.clone()))
                .bind(store_id)
                .bind(now);
            for v in &params {
                q = q.bind(v.clone());
            }
            let rows: Vec<MetafieldRow> = q.fetch_all(p).await?;
            (total, rows)
        });
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// A metafield of a live cart of this store; with `cart`, only if it hangs off that cart.
    pub async fn get_cart_metafield(
        &self,
        store_id: i64,
        now: i64,
        cart: Option<Uuid>,
        id: i64,
    ) -> StoreResult<Option<MetafieldRecord>> {
        let sql = format!(
            "SELECT {COLS} FROM cart_metafields WHERE store_id = $1 AND {LIVE_CART} \
             AND id = $3 AND ($4 = '' OR cart_id = $4)"
        );
        let cart = cart.map(|c| c.to_string()).unwrap_or_default();
        let row: Option<MetafieldRow> = on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(store_id)
                .bind(now)
                .bind(id)
                .bind(&cart)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(Into::into))
    }

    /// Inserts metafields in one transaction. Each item is created, or reported as
    /// `NotFound` (its cart is not live) or `Duplicate` (namespace and key taken).
    pub async fn insert_cart_metafields(
        &self,
        store_id: i64,
        now: i64,
        rows: &[NewMetafieldRow],
    ) -> StoreResult<Vec<MetafieldWrite>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut carts: Vec<String> = rows.iter().map(|r| r.cart_id.to_string()).collect();
        carts.sort();
        carts.dedup();
        // Cart ids are UUIDs we parsed, so inlining them is safe.
        let list = carts
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(",");
        let live_sql = format!(
            "SELECT id FROM carts WHERE store_id = $1 AND expires_at > $2 AND id IN ({list})"
        );
        let insert_sql = format!(
            "INSERT INTO cart_metafields ({COLS}, store_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
             ON CONFLICT DO NOTHING RETURNING {COLS}"
        );
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let live: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(live_sql.clone()))
                .bind(store_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let cart = r.cart_id.to_string();
                if !live.contains(&cart) {
                    out.push(MetafieldWrite::NotFound);
                    continue;
                }
                let row: Option<MetafieldRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(insert_sql.clone()))
                        .bind(r.id)
                        .bind(&cart)
                        .bind(&r.namespace)
                        .bind(&r.key)
                        .bind(&r.value)
                        .bind(&r.permission_set)
                        .bind(&r.description)
                        .bind(now)
                        .bind(store_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                out.push(match row {
                    Some(row) => MetafieldWrite::Done(row.into()),
                    None => MetafieldWrite::Duplicate,
                });
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Applies partial changes in one transaction. With `cart`, each metafield must
    /// hang off that cart. Fields a patch leaves out keep their stored value.
    pub async fn update_cart_metafields(
        &self,
        store_id: i64,
        now: i64,
        cart: Option<Uuid>,
        changes: &[(i64, MetafieldPatch)],
    ) -> StoreResult<Vec<MetafieldWrite>> {
        let cart = cart.map(|c| c.to_string()).unwrap_or_default();
        let find_sql = format!(
            "SELECT {COLS} FROM cart_metafields WHERE store_id = $1 AND {LIVE_CART} \
             AND id = $3 AND ($4 = '' OR cart_id = $4)"
        );
        let taken_sql = "SELECT COUNT(*) FROM cart_metafields
             WHERE store_id = $1 AND cart_id = $2 AND namespace = $3 AND key = $4 AND id <> $5";
        let update_sql = format!(
            "UPDATE cart_metafields SET namespace = COALESCE($3, namespace), key = COALESCE($4, key),
               value = COALESCE($5, value), permission_set = COALESCE($6, permission_set),
               description = COALESCE($7, description), updated_at = $8
             WHERE store_id = $1 AND id = $2 RETURNING {COLS}"
        );
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut out = Vec::with_capacity(changes.len());
            for (id, patch) in changes {
                let current: Option<MetafieldRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(find_sql.clone()))
                        .bind(store_id)
                        .bind(now)
                        .bind(*id)
                        .bind(&cart)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(current) = current.map(MetafieldRecord::from) else {
                    out.push(MetafieldWrite::NotFound);
                    continue;
                };
                if patch.namespace.is_some() || patch.key.is_some() {
                    let namespace = patch.namespace.as_ref().unwrap_or(&current.namespace);
                    let key = patch.key.as_ref().unwrap_or(&current.key);
                    let taken: i64 = sqlx::query_scalar(taken_sql)
                        .bind(store_id)
                        .bind(&current.cart_id)
                        .bind(namespace)
                        .bind(key)
                        .bind(*id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if taken > 0 {
                        out.push(MetafieldWrite::Duplicate);
                        continue;
                    }
                }
                let row: Option<MetafieldRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(update_sql.clone()))
                        .bind(store_id)
                        .bind(*id)
                        .bind(patch.namespace.as_deref())
                        .bind(patch.key.as_deref())
                        .bind(patch.value.as_deref())
                        .bind(patch.permission_set.map(|p| p.as_str()))
                        .bind(patch.description.as_deref())
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                out.push(match row {
                    Some(row) => MetafieldWrite::Done(row.into()),
                    None => MetafieldWrite::NotFound,
                });
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Deletes metafields in one transaction; each answer says whether that id was deleted.
    pub async fn delete_cart_metafields(
        &self,
        store_id: i64,
        now: i64,
        cart: Option<Uuid>,
        ids: &[i64],
    ) -> StoreResult<Vec<bool>> {
        let cart = cart.map(|c| c.to_string()).unwrap_or_default();
        let sql = format!(
            "DELETE FROM cart_metafields WHERE store_id = $1 AND {LIVE_CART} \
             AND id = $3 AND ($4 = '' OR cart_id = $4)"
        );
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(store_id)
                    .bind(now)
                    .bind(*id)
                    .bind(&cart)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                out.push(n == 1);
            }
            tx.commit().await?;
            Ok(out)
        })
    }
}
