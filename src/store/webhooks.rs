//! Webhook subscriptions and their delivery state.
//!
//! Delivery has two steps, both safe with many nodes on one database:
//! 1. fan-out: outbox events not yet fanned out become one delivery row per matching
//!    active hook, then are marked fanned out, in one transaction (on PostgreSQL under a
//!    transaction-level advisory lock, so two nodes never fan out concurrently and
//!    delivery rows of one resource are created in `seq` order);
//! 2. delivery: a node leases a due delivery row that is the oldest pending one of its
//!    (hook, resource) with a conditional update (`lease_until <= now`), so only one node
//!    sends it at a time and a crashed node's lease simply lapses.

use super::outbox::{OutboxEvent, insert_outbox};
use super::{Db, Store, StoreResult, on_pool};
use crate::domain::webhook::scope_matches;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub store_id: i64,
    pub client_id: String,
    pub scope: String,
    pub destination: String,
    pub headers: Option<BTreeMap<String, String>>,
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Filters of `GET /v3/hooks`.
#[derive(Clone, Debug, Default)]
pub struct WebhookFilter {
    pub is_active: Option<bool>,
    pub scope: Option<String>,
    pub destination: Option<String>,
}

/// A delivery leased by this node: where to send what.
#[derive(Clone, Debug)]
pub struct LeasedDelivery {
    pub id: i64,
    pub hook_id: i64,
    pub destination: String,
    pub headers: BTreeMap<String, String>,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How a delivery attempt ended.
#[derive(Clone, Debug)]
pub enum DeliveryOutcome {
    Delivered {
        at_ms: i64,
    },
    /// Try again at `next_attempt_at` (ms).
    Retry {
        next_attempt_at: i64,
        error: String,
    },
    /// Out of attempts: the delivery is given up and its hook deactivated, as
    /// BigCommerce does after its last retry.
    GiveUp {
        error: String,
    },
}

const HOOK_COLUMNS: &str =
    "id, store_id, client_id, scope, destination, headers, is_active, created_at, updated_at";

type HookRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
);

fn hook_from_row(r: HookRow) -> StoreResult<WebhookRecord> {
    let (id, store_id, client_id, scope, destination, headers, is_active, created_at, updated_at) =
        r;
    Ok(WebhookRecord {
        id,
        store_id,
        client_id,
        scope,
        destination,
        headers: headers.map(|h| serde_json::from_str(&h)).transpose()?,
        is_active: is_active != 0,
        created_at,
        updated_at,
    })
}

fn headers_json(h: &Option<BTreeMap<String, String>>) -> Option<String> {
    h.as_ref()
        .map(|h| serde_json::to_string(h).unwrap_or_else(|_| "{}".into()))
}

impl Store {
    pub async fn insert_webhook(&self, hook: &WebhookRecord) -> StoreResult<i64> {
        on_pool!(self, write, |p| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO webhooks (store_id, client_id, scope, destination, headers, is_active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(hook.store_id)
            .bind(&hook.client_id)
            .bind(&hook.scope)
            .bind(&hook.destination)
            .bind(headers_json(&hook.headers))
            .bind(i64::from(hook.is_active))
            .bind(hook.created_at)
            .bind(hook.updated_at)
            .fetch_one(p)
            .await?;
            Ok(id)
        })
    }

    pub async fn get_webhook(&self, store_id: i64, id: i64) -> StoreResult<Option<WebhookRecord>> {
        on_pool!(self, read, |p| {
            let row: Option<HookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {HOOK_COLUMNS} FROM webhooks WHERE store_id = $1 AND id = $2"
            )))
            .bind(store_id)
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.map(hook_from_row).transpose()
        })
    }

    /// One page of a store's hooks, oldest first, and how many match in all.
    pub async fn list_webhooks(
        &self,
        store_id: i64,
        filter: &WebhookFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<WebhookRecord>, i64)> {
        let active = filter.is_active.map(i64::from).unwrap_or(-1);
        let scope = filter.scope.clone().unwrap_or_default();
        let destination = filter.destination.clone().unwrap_or_default();
        let cond = "store_id = $1 AND ($2 < 0 OR is_active = $2) AND ($3 = '' OR scope = $3)
                    AND ($4 = '' OR destination = $4)";
        on_pool!(self, read, |p| {
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM webhooks WHERE {cond}"
            )))
            .bind(store_id)
            .bind(active)
            .bind(&scope)
            .bind(&destination)
            .fetch_one(p)
            .await?;
            let rows: Vec<HookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {HOOK_COLUMNS} FROM webhooks WHERE {cond} ORDER BY id LIMIT $5 OFFSET $6"
            )))
            .bind(store_id)
            .bind(active)
            .bind(&scope)
            .bind(&destination)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await?;
            let hooks = rows
                .into_iter()
                .map(hook_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((hooks, total))
        })
    }

    pub async fn update_webhook(&self, hook: &WebhookRecord) -> StoreResult<bool> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE webhooks SET scope = $1, destination = $2, headers = $3, is_active = $4, updated_at = $5
                 WHERE store_id = $6 AND id = $7",
            )
            .bind(&hook.scope)
            .bind(&hook.destination)
            .bind(headers_json(&hook.headers))
            .bind(i64::from(hook.is_active))
            .bind(hook.updated_at)
            .bind(hook.store_id)
            .bind(hook.id)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes a hook and its pending deliveries.
    pub async fn delete_webhook(&self, store_id: i64, id: i64) -> StoreResult<bool> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE hook_id = $1 AND store_id = $2")
                .bind(id)
                .bind(store_id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM webhooks WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// The scopes of a store's active hooks (for the "is anyone listening" check).
    pub async fn active_webhook_scopes(&self, store_id: i64) -> StoreResult<Vec<String>> {
        on_pool!(self, read, |p| {
            Ok(sqlx::query_scalar(
                "SELECT DISTINCT scope FROM webhooks WHERE store_id = $1 AND is_active = 1",
            )
            .bind(store_id)
            .fetch_all(p)
            .await?)
        })
    }

    pub async fn webhook_emails(&self, store_id: i64) -> StoreResult<Vec<String>> {
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT emails FROM webhook_admin WHERE store_id = $1")
                .bind(store_id)
                .fetch_optional(p)
                .await?
        });
        Ok(match doc {
            Some(d) => serde_json::from_str(&d)?,
            None => Vec::new(),
        })
    }

    pub async fn set_webhook_emails(&self, store_id: i64, emails: &[String]) -> StoreResult<()> {
        let doc = serde_json::to_string(emails)?;
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO webhook_admin (store_id, emails) VALUES ($1, $2)
                 ON CONFLICT (store_id) DO UPDATE SET emails = excluded.emails",
            )
            .bind(store_id)
            .bind(&doc)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Writes events on their own (for changes with no other row to write).
    pub async fn insert_events(
        &self,
        store_id: i64,
        now: i64,
        events: &[OutboxEvent],
    ) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            insert_outbox!(tx, store_id, now, events);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turns up to `limit` outbox events into delivery rows, oldest first. Returns how
    /// many events were fanned out (0 also when another node is fanning out right now).
    pub async fn fan_out_events(&self, limit: i64, now_ms: i64) -> StoreResult<usize> {
        // The common case, nothing new, costs one indexed read and no write transaction.
        let pending: Option<i64> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT seq FROM webhook_outbox WHERE fanned_out = 0 LIMIT 1")
                .fetch_optional(p)
                .await?
        });
        if pending.is_none() {
            return Ok(0);
        }
        macro_rules! fan_out {
            ($tx:ident) => {{
                let rows = sqlx::query(
                    "SELECT o.seq, CAST(o.store_id AS BIGINT) AS store_id, o.scope, o.resource_id,
                            o.data, o.created_at, s.hash
                     FROM webhook_outbox o JOIN stores s ON s.id = o.store_id
                     WHERE o.fanned_out = 0 ORDER BY o.seq LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&mut *$tx)
                .await?;
                let mut hooks: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
                let mut fanned: Vec<String> = Vec::with_capacity(rows.len());
                for r in &rows {
                    let seq: i64 = r.try_get("seq")?;
                    let store_id: i64 = r.try_get("store_id")?;
                    let scope: String = r.try_get("scope")?;
                    let resource_id: String = r.try_get("resource_id")?;
                    let data: String = r.try_get("data")?;
                    let created_at: i64 = r.try_get("created_at")?;
                    let hash: String = r.try_get("hash")?;
                    if !hooks.contains_key(&store_id) {
                        let list: Vec<(i64, String)> = sqlx::query_as(
                            "SELECT id, scope FROM webhooks WHERE store_id = $1 AND is_active = 1 ORDER BY id",
                        )
                        .bind(store_id)
                        .fetch_all(&mut *$tx)
                        .await?;
                        hooks.insert(store_id, list);
                    }
                    let data: serde_json::Value = serde_json::from_str(&data)?;
                    let payload =
                        crate::domain::webhook::payload(&scope, store_id, &hash, data, created_at);
                    for (hook_id, hook_scope) in hooks.get(&store_id).into_iter().flatten() {
                        if !scope_matches(hook_scope, &scope) {
                            continue;
                        }
                        sqlx::query(
                            "INSERT INTO webhook_deliveries (hook_id, store_id, seq, resource_id, payload, next_attempt_at)
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hook_id, seq) DO NOTHING",
                        )
                        .bind(hook_id)
                        .bind(store_id)
                        .bind(seq)
                        .bind(&resource_id)
                        .bind(&payload)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?;
                    }
                    fanned.push(seq.to_string());
                }
                // One statement for the round, naming each event (never a range: on
                // PostgreSQL an event of a lower seq may commit after this read).
                // The seqs are integers read above, so inlining them is safe.
                if !fanned.is_empty() {
                    let sql = format!(
                        "UPDATE webhook_outbox SET fanned_out = 1 WHERE seq IN ({})",
                        fanned.join(",")
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *$tx)
                        .await?;
                }
                rows.len()
            }};
        }
        match &self.db {
            Db::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                let n = fan_out!(tx);
                tx.commit().await?;
                Ok(n)
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                // One fan-out at a time across nodes; the others skip this round.
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(74616)")
                    .fetch_one(&mut *tx)
                    .await?;
                if !locked {
                    return Ok(0);
                }
                let n = fan_out!(tx);
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    /// Leases up to `limit` due deliveries that are each the oldest pending one of their
    /// (hook, resource), for `lease_ms`, to `owner`.
    pub async fn lease_deliveries(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<LeasedDelivery>> {
        on_pool!(self, write, |p| {
            let rows = sqlx::query(
                "SELECT d.id, d.hook_id, d.payload, d.attempts, w.destination, w.headers
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.hook_id
                 WHERE d.state = 0 AND d.next_attempt_at <= $1 AND d.lease_until <= $1
                   AND w.is_active = 1
                   AND NOT EXISTS (
                     SELECT 1 FROM webhook_deliveries e
                     WHERE e.hook_id = d.hook_id AND e.resource_id = d.resource_id
                       AND e.state = 0 AND e.seq < d.seq)
                 ORDER BY d.seq LIMIT $2",
            )
            .bind(now_ms)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let mut leased = Vec::with_capacity(rows.len());
            for r in rows {
                let id: i64 = r.try_get("id")?;
                // Only one node wins a row: the condition is re-checked under its lock.
                let won = sqlx::query(
                    "UPDATE webhook_deliveries SET lease_until = $1, lease_owner = $2
                     WHERE id = $3 AND state = 0 AND lease_until <= $4",
                )
                .bind(now_ms + lease_ms)
                .bind(owner)
                .bind(id)
                .bind(now_ms)
                .execute(p)
                .await?
                .rows_affected()
                    == 1;
                if !won {
                    continue;
                }
                let headers: Option<String> = r.try_get("headers")?;
                leased.push(LeasedDelivery {
                    id,
                    hook_id: r.try_get("hook_id")?,
                    destination: r.try_get("destination")?,
                    headers: headers
                        .map(|h| serde_json::from_str(&h))
                        .transpose()?
                        .unwrap_or_default(),
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                });
            }
            Ok(leased)
        })
    }

    /// Records how an attempt ended, if `owner` still holds the lease.
    pub async fn finish_delivery(
        &self,
        id: i64,
        hook_id: i64,
        owner: &str,
        outcome: &DeliveryOutcome,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            match outcome {
                DeliveryOutcome::Delivered { at_ms } => {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = 1, delivered_at = $1, attempts = attempts + 1,
                                lease_until = 0, last_error = ''
                         WHERE id = $2 AND lease_owner = $3 AND state = 0",
                    )
                    .bind(at_ms)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?;
                }
                DeliveryOutcome::Retry {
                    next_attempt_at,
                    error,
                } => {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1,
                                lease_until = 0, last_error = $2
                         WHERE id = $3 AND lease_owner = $4 AND state = 0",
                    )
                    .bind(next_attempt_at)
                    .bind(error)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?;
                }
                DeliveryOutcome::GiveUp { error } => {
                    let n = sqlx::query(
                        "UPDATE webhook_deliveries SET state = 2, attempts = attempts + 1,
                                lease_until = 0, last_error = $1
                         WHERE id = $2 AND lease_owner = $3 AND state = 0",
                    )
                    .bind(error)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        sqlx::query("UPDATE webhooks SET is_active = 0 WHERE id = $1")
                            .bind(hook_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Forgets finished deliveries last scheduled before `before_ms` and fanned-out
    /// events created before `before_secs`. Pending deliveries are never touched.
    pub async fn purge_webhook_history(
        &self,
        before_ms: i64,
        before_secs: i64,
    ) -> StoreResult<u64> {
        on_pool!(self, write, |p| {
            let a = sqlx::query(
                "DELETE FROM webhook_deliveries WHERE state <> 0 AND next_attempt_at < $1",
            )
            .bind(before_ms)
            .execute(p)
            .await?
            .rows_affected();
            let b =
                sqlx::query("DELETE FROM webhook_outbox WHERE fanned_out = 1 AND created_at < $1")
                    .bind(before_secs)
                    .execute(p)
                    .await?
                    .rows_affected();
            Ok(a + b)
        })
    }

    /// How many events the outbox holds (delivered ones included).
    pub async fn outbox_len(&self) -> StoreResult<i64> {
        on_pool!(self, read, |p| {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox")
                .fetch_one(p)
                .await?)
        })
    }

    /// Deliveries of a hook, oldest first: (seq, state, attempts, last error), for tests
    /// and operators.
    pub async fn webhook_delivery_states(
        &self,
        hook_id: i64,
    ) -> StoreResult<Vec<(i64, i64, i64, String)>> {
        on_pool!(self, read, |p| {
            Ok(sqlx::query_as(
                "SELECT seq, state, attempts, last_error FROM webhook_deliveries WHERE hook_id = $1 ORDER BY seq",
            )
            .bind(hook_id)
            .fetch_all(p)
            .await?)
        })
    }
}
