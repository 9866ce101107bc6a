//! Queries for metafields of carts and orders (one table, `resource_type` tells them
//! apart). A cart's metafield is visible only while its cart is live (exists in the store
//! and has not expired), so every read and write of one checks the cart. Orders are never
//! removed (only archived), so an order's metafield lives as long as its row.

use super::{StoreResult, on_pool};
use crate::domain::metafield::{MetafieldPatch, MetafieldResource};
use crate::store::Store;
use uuid::Uuid;

/// One stored metafield.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetafieldRecord {
    pub id: i64,
    /// The cart's UUID or the order's id, as text.
    pub resource_id: String,
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub permission_set: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The client id of the API account that created it (`""` for ones made before
    /// Kassa recorded it).
    pub owner_client_id: String,
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
    String,
);

impl From<MetafieldRow> for MetafieldRecord {
    fn from(r: MetafieldRow) -> Self {
        MetafieldRecord {
            id: r.0,
            resource_id: r.1,
            namespace: r.2,
            key: r.3,
            value: r.4,
            permission_set: r.5,
            description: r.6,
            created_at: r.7,
            updated_at: r.8,
            owner_client_id: r.9,
        }
    }
}

const COLS: &str = "id, resource_id, namespace, key, value, permission_set, description, created_at, updated_at, owner_client_id";

/// The condition a `metafields` row of this resource type must meet to be seen; `$2` is
/// now (bound for every query, used only by carts).
fn live(resource: MetafieldResource) -> &'static str {
    match resource {
        MetafieldResource::Cart => {
            "metafields.resource_type = 'cart' AND EXISTS (SELECT 1 FROM carts c \
             WHERE c.id = metafields.resource_id AND c.store_id = metafields.store_id \
             AND c.expires_at > $2)"
        }
        MetafieldResource::Order => "metafields.resource_type = 'order'",
    }
}

/// A metafield to insert, its id already reserved.
#[derive(Clone, Debug)]
pub struct NewMetafieldRow {
    pub id: i64,
    /// The resource's canonical id (see `MetafieldResource::canonical_id`).
    pub resource_id: String,
    pub namespace: String,
    pub key: String,
    pub value: String,
    pub permission_set: String,
    pub description: String,
    /// The client id of the API account creating it.
    pub owner_client_id: String,
}

/// What happened to one item of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetafieldWrite {
    Done(MetafieldRecord),
    /// The metafield (or, on create, its resource) does not exist for this store.
    NotFound,
    /// Another metafield of the resource already has this namespace and key.
    Duplicate,
    /// The resource already holds as many metafields as it may.
    LimitReached,
}

/// Which metafields a list returns. Empty lists mean "any".
#[derive(Clone, Debug, Default)]
pub struct MetafieldFilter {
    /// One resource's metafields only (its canonical id).
    pub resource_id: Option<String>,
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

    /// True when the order exists in this store (archived orders included: they stay readable).
    pub async fn order_exists(&self, store_id: i64, order_id: i64) -> StoreResult<bool> {
        let found: Option<i64> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT id FROM orders WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(order_id)
                .fetch_optional(p)
                .await?
        });
        Ok(found.is_some())
    }

    /// One page of a store's metafields of one resource type (ordered by id) and the
    /// total matching.
    pub async fn list_metafields(
        &self,
        store_id: i64,
        now: i64,
        resource: MetafieldResource,
        filter: &MetafieldFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<MetafieldRecord>, i64)> {
        // Text parameters start at $3; numbers we produced are inlined.
        let mut conds = format!("store_id = $1 AND {}", live(resource));
        let mut params: Vec<String> = Vec::new();
        if let Some(id) = &filter.resource_id {
            let ph = placeholder(&mut params, id.clone());
            conds.push_str(&format!(" AND resource_id = {ph}"));
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
        let count_sql = format!("SELECT COUNT(*) FROM metafields WHERE {conds}");
        let page_sql = format!(
            "SELECT {COLS} FROM metafields WHERE {conds} ORDER BY id {order} LIMIT {limit} OFFSET {offset}"
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

    /// A visible metafield of this store and resource type; with `owner` (a canonical
    /// resource id), only if it hangs off that resource.
    pub async fn get_metafield(
        &self,
        store_id: i64,
        now: i64,
        resource: MetafieldResource,
        owner: Option<&str>,
        id: i64,
    ) -> StoreResult<Option<MetafieldRecord>> {
        let sql = format!(
            "SELECT {COLS} FROM metafields WHERE store_id = $1 AND {} \
             AND id = $3 AND ($4 = '' OR resource_id = $4)",
            live(resource)
        );
        let owner = owner.unwrap_or_default().to_string();
        let row: Option<MetafieldRow> = on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(store_id)
                .bind(now)
                .bind(id)
                .bind(&owner)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(Into::into))
    }

    /// Inserts metafields in one transaction. Each item is created, or reported as
    /// `NotFound` (its resource is not there), `Duplicate` (namespace and key taken) or
    /// `LimitReached` (the resource holds as many as it may).
    pub async fn insert_metafields(
        &self,
        store_id: i64,
        now: i64,
        resource: MetafieldResource,
        rows: &[NewMetafieldRow],
    ) -> StoreResult<Vec<MetafieldWrite>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut owners: Vec<String> = rows.iter().map(|r| r.resource_id.clone()).collect();
        owners.sort();
        owners.dedup();
        // Resource ids are canonical UUIDs or integers we produced, so inlining them is safe.
        let list = owners
            .iter()
            .map(|c| format!("'{}'", c.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(",");
        let present_sql = match resource {
            MetafieldResource::Cart => format!(
                "SELECT id FROM carts WHERE store_id = $1 AND expires_at > $2 AND id IN ({list})"
            ),
            // `$2` is bound for both; an order is there whatever the time. The order
            // rows are locked (a no-op UPDATE, as refunds do) before their metafields
            // are counted, so concurrent creates queue and never pass the limit.
            MetafieldResource::Order => format!(
                "UPDATE orders SET date_modified = date_modified WHERE store_id = $1 AND $2 = $2 \
                 AND CAST(id AS TEXT) IN ({list}) RETURNING CAST(id AS TEXT)"
            ),
        };
        let count_sql = "SELECT COUNT(*) FROM metafields \
             WHERE resource_id = $1 AND resource_type = $2 AND store_id = $3";
        let insert_sql = format!(
            "INSERT INTO metafields ({COLS}, store_id, resource_type)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $11, $9, $10)
             ON CONFLICT DO NOTHING RETURNING {COLS}"
        );
        let limit = resource.max_per_resource();
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let present: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(present_sql.clone()))
                .bind(store_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                if !present.contains(&r.resource_id) {
                    out.push(MetafieldWrite::NotFound);
                    continue;
                }
                if let Some(max) = limit {
                    let held: i64 = sqlx::query_scalar(count_sql)
                        .bind(&r.resource_id)
                        .bind(resource.as_str())
                        .bind(store_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if held >= max {
                        out.push(MetafieldWrite::LimitReached);
                        continue;
                    }
                }
                let row: Option<MetafieldRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(insert_sql.clone()))
                        .bind(r.id)
                        .bind(&r.resource_id)
                        .bind(&r.namespace)
                        .bind(&r.key)
                        .bind(&r.value)
                        .bind(&r.permission_set)
                        .bind(&r.description)
                        .bind(now)
                        .bind(store_id)
                        .bind(resource.as_str())
                        .bind(&r.owner_client_id)
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

    /// Applies partial changes in one transaction. With `owner`, each metafield must
    /// hang off that resource. Fields a patch leaves out keep their stored value.
    pub async fn update_metafields(
        &self,
        store_id: i64,
        now: i64,
        resource: MetafieldResource,
        owner: Option<&str>,
        changes: &[(i64, MetafieldPatch)],
    ) -> StoreResult<Vec<MetafieldWrite>> {
        let owner = owner.unwrap_or_default().to_string();
        let find_sql = format!(
            "SELECT {COLS} FROM metafields WHERE store_id = $1 AND {} \
             AND id = $3 AND ($4 = '' OR resource_id = $4)",
            live(resource)
        );
        let taken_sql = "SELECT COUNT(*) FROM metafields
             WHERE resource_id = $1 AND resource_type = $2 AND store_id = $3
               AND namespace = $4 AND key = $5 AND id <> $6";
        let update_sql = format!(
            "UPDATE metafields SET namespace = COALESCE($3, namespace), key = COALESCE($4, key),
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
                        .bind(&owner)
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
                        .bind(&current.resource_id)
                        .bind(resource.as_str())
                        .bind(store_id)
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
    pub async fn delete_metafields(
        &self,
        store_id: i64,
        now: i64,
        resource: MetafieldResource,
        owner: Option<&str>,
        ids: &[i64],
    ) -> StoreResult<Vec<bool>> {
        let owner = owner.unwrap_or_default().to_string();
        let sql = format!(
            "DELETE FROM metafields WHERE store_id = $1 AND {} \
             AND id = $3 AND ($4 = '' OR resource_id = $4)",
            live(resource)
        );
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(store_id)
                    .bind(now)
                    .bind(*id)
                    .bind(&owner)
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
