//! Order refunds, in two steps around the gateway call so that a crash between the
//! gateway refunding and the database recording it can neither lose the refund nor
//! invite a second one. The claim is one transaction: the order row is locked first (a
//! no-op UPDATE), its paid and refunded amounts read, the refund checked against them
//! (pending claims included), the order's refunded amount raised and the refund kept as
//! `pending` with its planned transactions. The gateway is then asked with the planned
//! transaction's id as idempotency key, and the completion writes the transactions, the
//! status and the `store/order/refund/created` event together; a pending refund left by
//! a crash is completed later with the same key (see `service::orders_v3`). Concurrent refunds for
//! one order therefore queue on the order row (PostgreSQL's row lock, SQLite's single
//! writer) and the sum refunded never exceeds what was paid, in all and per instrument.
//! Money refunded to a gift certificate or to store credit is credited back to it in the
//! same transaction.

use super::outbox::{OutboxEvent, insert_outbox};
use super::payments::insert_transaction;
use super::{Store, StoreResult, TransactionRow, on_pool};
use crate::domain::payment::{PaymentEvent, paid_instruments};
use serde_json::json;

/// How a transaction counts for refunds: what paid, or was given back, through which
/// instrument (a gift certificate by its code).
pub fn payment_event(t: &TransactionRow) -> PaymentEvent {
    payment_event_of(&t.event, &t.status, &t.gateway, t.amount_e4, &t.doc)
}

fn payment_event_of(
    event: &str,
    status: &str,
    gateway: &str,
    amount_e4: i64,
    doc: &str,
) -> PaymentEvent {
    let doc: serde_json::Value = serde_json::from_str(doc).unwrap_or_default();
    PaymentEvent {
        event: event.to_string(),
        ok: status == "ok",
        provider: gateway.to_string(),
        gift_certificate: doc["gift_certificate"]["code"].as_str().map(str::to_string),
        amount_e4,
    }
}

/// Order status ids a refund moves to.
pub const STATUS_REFUNDED: i64 = 4;
pub const STATUS_PARTIALLY_REFUNDED: i64 = 14;

/// A refund to record.
#[derive(Clone, Debug)]
pub struct NewRefund {
    pub order_id: i64,
    pub total_e4: i64,
    pub now: i64,
    /// The refund document without `id` (filled in here).
    pub doc: serde_json::Value,
    /// The refund's planned transactions (event `refund`), one per instrument refunded
    /// to; `gift_certificate` and `store_credit` ones are credited back to the balance
    /// when the refund completes.
    pub transactions: Vec<TransactionRow>,
}

/// How a refund went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Claimed (pending), with this refund id.
    Claimed(i64),
    NoOrder,
    /// More than is left to refund: (paid, already refunded), ten-thousandths.
    TooMuch {
        paid_e4: i64,
        refunded_e4: i64,
    },
    /// More than is left of what one instrument paid (a concurrent refund took it).
    InstrumentTooMuch {
        provider: String,
        left_e4: i64,
    },
}

/// One stored refund.
#[derive(Clone, Debug)]
pub struct RefundRow {
    pub id: i64,
    pub order_id: i64,
    pub total_e4: i64,
    pub created_at: i64,
    pub doc: String,
}

/// Store-wide refund filters (`GET /v3/orders/payment_actions/refunds`).
#[derive(Clone, Debug, Default)]
pub struct RefundFilter {
    pub order_ids: Vec<i64>,
    pub ids: Vec<i64>,
    pub created_min: Option<i64>,
    pub created_max: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    /// Claims a refund: checks it against what is left to refund (in all and per
    /// instrument, counting other pending claims), adds it to the order's refunded amount
    /// and keeps it as a `pending` refund holding its planned transactions. Nothing is
    /// asked of a gateway yet; [`Store::complete_refund`] or [`Store::release_refund`]
    /// settles the claim once the gateway answered.
    pub async fn claim_refund(&self, store_id: i64, r: &NewRefund) -> StoreResult<RefundOutcome> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let locked = sqlx::query(
                "UPDATE orders SET date_modified = date_modified WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(r.order_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if locked != 1 {
                tx.rollback().await?;
                return Ok(RefundOutcome::NoOrder);
            }
            let (paid_e4, refunded_e4): (i64, i64) = sqlx::query_as(
                "SELECT paid_e4, refunded_e4 FROM orders WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(r.order_id)
            .fetch_one(&mut *tx)
            .await?;
            if r.total_e4 <= 0 || refunded_e4 + r.total_e4 > paid_e4 {
                tx.rollback().await?;
                return Ok(RefundOutcome::TooMuch {
                    paid_e4,
                    refunded_e4,
                });
            }
            // Checked again under the lock, per instrument: the service split the refund
            // from a read that a concurrent refund may have overtaken.
            let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
                "SELECT event, status, gateway, amount_e4, doc FROM order_transactions
                 WHERE store_id = $1 AND order_id = $2 ORDER BY number, created_at, id",
            )
            .bind(store_id)
            .bind(r.order_id)
            .fetch_all(&mut *tx)
            .await?;
            let pending: Vec<String> = sqlx::query_scalar(
                "SELECT doc FROM order_refunds
                 WHERE store_id = $1 AND order_id = $2 AND state = 'pending'",
            )
            .bind(store_id)
            .bind(r.order_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut events: Vec<PaymentEvent> = rows
                .iter()
                .map(|(e, s, g, a, d)| payment_event_of(e, s, g, *a, d))
                .collect();
            // Pending claims count as refunded: their gateway call may be under way.
            for doc in &pending {
                let doc: serde_json::Value = serde_json::from_str(doc)?;
                events.extend(
                    planned_transactions(&doc, r.order_id)
                        .iter()
                        .map(payment_event),
                );
            }
            let paid = paid_instruments(&events);
            for t in &r.transactions {
                let part = payment_event(t);
                let left_e4 = paid
                    .iter()
                    .find(|p| {
                        p.provider == part.provider && p.gift_certificate == part.gift_certificate
                    })
                    .map(|p| p.left_e4())
                    .unwrap_or(0);
                if part.amount_e4 > left_e4 {
                    tx.rollback().await?;
                    return Ok(RefundOutcome::InstrumentTooMuch {
                        provider: part.provider,
                        left_e4,
                    });
                }
            }
            sqlx::query(
                "UPDATE orders SET refunded_e4 = refunded_e4 + $3, date_modified = $4
                 WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(r.order_id)
            .bind(r.total_e4)
            .bind(r.now)
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO counters (store_id, name, value) VALUES ($1, 'refund', 1)
                 ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + 1
                 RETURNING value",
            )
            .bind(store_id)
            .fetch_one(&mut *tx)
            .await?;
            let mut doc = r.doc.clone();
            if let Some(o) = doc.as_object_mut() {
                o.insert("id".into(), id.into());
                o.insert(
                    PLANNED.into(),
                    r.transactions.iter().map(planned_json).collect(),
                );
            }
            sqlx::query(
                "INSERT INTO order_refunds (store_id, id, order_id, total_e4, created_at, doc, state)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
            )
            .bind(store_id)
            .bind(id)
            .bind(r.order_id)
            .bind(r.total_e4)
            .bind(r.now)
            .bind(doc.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            RefundOutcome::Claimed(id)
        }))
    }

    /// A pending refund: its order and its planned transactions (in the order they were
    /// planned). `None` when the refund is not pending (done, released or unknown).
    pub async fn pending_refund(
        &self,
        store_id: i64,
        refund_id: i64,
    ) -> StoreResult<Option<(i64, Vec<TransactionRow>)>> {
        let row: Option<(i64, String)> = on_pool!(self, write, |p| {
            sqlx::query_as(
                "SELECT order_id, doc FROM order_refunds
                 WHERE store_id = $1 AND id = $2 AND state = 'pending'",
            )
            .bind(store_id)
            .bind(refund_id)
            .fetch_optional(p)
            .await?
        });
        match row {
            Some((order_id, doc)) => {
                let doc: serde_json::Value = serde_json::from_str(&doc)?;
                Ok(Some((order_id, planned_transactions(&doc, order_id))))
            }
            None => Ok(None),
        }
    }

    /// Pending refunds claimed at or before `claimed_by` (seconds), every store's:
    /// (store id, refund id), oldest first.
    pub async fn pending_refunds(
        &self,
        claimed_by: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT store_id, id FROM order_refunds
                 WHERE state = 'pending' AND created_at <= $1 ORDER BY created_at LIMIT $2",
            )
            .bind(claimed_by)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Completes a pending refund with its transactions as the gateway answered them:
    /// they are written, stored value is credited back, the order's status moves to
    /// Refunded or Partially Refunded and the events are queued, in one transaction.
    /// False (and nothing written) when the refund is no longer pending, so completing
    /// twice (a node and recovery at once) records it once.
    pub async fn complete_refund(
        &self,
        store_id: i64,
        refund_id: i64,
        transactions: &[TransactionRow],
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let claimed: Option<(i64, String)> = sqlx::query_as(
                "SELECT order_id, doc FROM order_refunds
                 WHERE store_id = $1 AND id = $2 AND state = 'pending'",
            )
            .bind(store_id)
            .bind(refund_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((order_id, doc)) = claimed else {
                tx.rollback().await?;
                return Ok(false);
            };
            let mut doc: serde_json::Value = serde_json::from_str(&doc)?;
            if let Some(o) = doc.as_object_mut() {
                o.remove(PLANNED);
                o.insert(
                    "transaction_id".into(),
                    transactions.first().map(|t| t.id.clone()).into(),
                );
            }
            let done = sqlx::query(
                "UPDATE order_refunds SET state = 'done', doc = $3
                 WHERE store_id = $1 AND id = $2 AND state = 'pending'",
            )
            .bind(store_id)
            .bind(refund_id)
            .bind(doc.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            let (status_id, paid_e4, refunded_e4, customer_id): (i64, i64, i64, i64) =
                sqlx::query_as(
                "SELECT status_id, paid_e4, refunded_e4, customer_id FROM orders WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
            // Other refunds still pending count in `refunded_e4` (so nothing is refunded
            // twice) but are not refunded yet: the order is Refunded only once the refunds
            // done cover what was paid. A pending one the gateway declines then leaves the
            // status as it is, since it never moved it.
            let pending_e4: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(total_e4), 0) AS BIGINT) FROM order_refunds
                 WHERE store_id = $1 AND order_id = $2 AND state = 'pending'",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_one(&mut *tx)
            .await?;
            let new_status = if refunded_e4 - pending_e4 >= paid_e4 {
                STATUS_REFUNDED
            } else {
                STATUS_PARTIALLY_REFUNDED
            };
            sqlx::query(
                "UPDATE orders SET status_id = $3, date_modified = $4 WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(order_id)
            .bind(new_status)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let mut numbers = Vec::with_capacity(transactions.len());
            for t in transactions {
                numbers.push(insert_transaction!(&mut *tx, store_id, t));
                let part = payment_event(t);
                match (t.gateway.as_str(), part.gift_certificate) {
                    ("gift_certificate", Some(code)) => {
                        sqlx::query(
                            "UPDATE gift_certificates SET balance_e4 = balance_e4 + $3
                             WHERE store_id = $1 AND code_key = $2",
                        )
                        .bind(store_id)
                        .bind(crate::domain::gift_certificate::code_key(&code))
                        .bind(t.amount_e4)
                        .execute(&mut *tx)
                        .await?;
                    }
                    ("store_credit", _) => {
                        sqlx::query(
                            "UPDATE customers SET store_credit_e4 = store_credit_e4 + $3,
                                    date_modified = $4
                             WHERE store_id = $1 AND id = $2",
                        )
                        .bind(store_id)
                        .bind(customer_id)
                        .bind(t.amount_e4)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    _ => {}
                }
            }
            let mut events = Vec::new();
            if new_status != status_id {
                events.push(OutboxEvent::new(
                    "store/order/statusUpdated",
                    order_id,
                    json!({"type": "order", "id": order_id,
                           "status": {"previous_status_id": status_id, "new_status_id": new_status}}),
                ));
            }
            events.push(OutboxEvent::new(
                "store/order/refund/created",
                order_id,
                json!({"type": "order", "id": order_id, "refund": {"id": refund_id}}),
            ));
            for number in numbers {
                events.push(OutboxEvent::new(
                    "store/order/transaction/created",
                    order_id,
                    json!({"type": "order", "id": order_id, "transaction": {"id": number}}),
                ));
            }
            insert_outbox!(tx, store_id, now, &events);
            tx.commit().await?;
            true
        }))
    }

    /// Gives a pending refund's claim back after the gateway declined it: the refund is
    /// deleted and its amount no longer counts as refunded. The order's status stays as
    /// it is: a pending refund never moved it (see [`Store::complete_refund`]), so it is
    /// still what it was before the declined refund was asked for, whether a merchant
    /// set it or refunds completed meanwhile. False when it is not pending.
    pub async fn release_refund(
        &self,
        store_id: i64,
        refund_id: i64,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let claimed: Option<(i64, i64)> = sqlx::query_as(
                "DELETE FROM order_refunds WHERE store_id = $1 AND id = $2 AND state = 'pending'
                 RETURNING order_id, total_e4",
            )
            .bind(store_id)
            .bind(refund_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((order_id, total_e4)) = claimed else {
                tx.rollback().await?;
                return Ok(false);
            };
            sqlx::query(
                "UPDATE orders SET refunded_e4 = refunded_e4 - $3, date_modified = $4
                 WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(order_id)
            .bind(total_e4)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            true
        }))
    }

    /// Refunds matching `f`, by id ascending, and how many match in all. The filters
    /// are SQL: an absent filter is a NULL parameter (or an empty list, passed as JSON
    /// text and matched against the id's text form, which both dialects can do).
    pub async fn refunds(
        &self,
        store_id: i64,
        f: &RefundFilter,
    ) -> StoreResult<(Vec<RefundRow>, i64)> {
        let order_ids = list_param(&f.order_ids);
        let ids = list_param(&f.ids);
        const WHERE: &str = "store_id = $1
                   AND ($2 = '' OR $2 LIKE '%,' || CAST(order_id AS TEXT) || ',%')
                   AND ($3 = '' OR $3 LIKE '%,' || CAST(id AS TEXT) || ',%')
                   AND ($4 < 0 OR created_at >= $4)
                   AND ($5 < 0 OR created_at <= $5)";
        let rows: Vec<(i64, i64, i64, i64, String)> = on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, order_id, total_e4, created_at, doc FROM order_refunds
                 WHERE {WHERE} ORDER BY id LIMIT $6 OFFSET $7"
            )))
            .bind(store_id)
            .bind(&order_ids)
            .bind(&ids)
            .bind(f.created_min.unwrap_or(-1))
            .bind(f.created_max.unwrap_or(-1))
            .bind(f.limit)
            .bind(f.offset)
            .fetch_all(p)
            .await?
        });
        let total: i64 = on_pool!(self, read, |p| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM order_refunds WHERE {WHERE}"
            )))
            .bind(store_id)
            .bind(&order_ids)
            .bind(&ids)
            .bind(f.created_min.unwrap_or(-1))
            .bind(f.created_max.unwrap_or(-1))
            .fetch_one(p)
            .await?
        });
        Ok((
            rows.into_iter()
                .map(|(id, order_id, total_e4, created_at, doc)| RefundRow {
                    id,
                    order_id,
                    total_e4,
                    created_at,
                    doc,
                })
                .collect(),
            total,
        ))
    }
}

/// `,1,2,3,` for a list (so `LIKE '%,2,%'` matches whole ids), '' for none.
fn list_param(ids: &[i64]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!(",{},", joined.join(","))
    }
}

/// The refund document's key for the transactions a pending refund will write.
const PLANNED: &str = "pending_transactions";

fn planned_json(t: &TransactionRow) -> serde_json::Value {
    json!({"id": t.id, "event": t.event, "status": t.status, "amount_e4": t.amount_e4,
           "currency_code": t.currency_code, "gateway": t.gateway,
           "created_at": t.created_at, "doc": t.doc})
}

/// The transactions a pending refund's document plans.
fn planned_transactions(doc: &serde_json::Value, order_id: i64) -> Vec<TransactionRow> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    doc[PLANNED]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| TransactionRow {
                    id: text(&t["id"]),
                    number: 0,
                    order_id,
                    event: text(&t["event"]),
                    status: text(&t["status"]),
                    amount_e4: t["amount_e4"].as_i64().unwrap_or(0),
                    currency_code: text(&t["currency_code"]),
                    gateway: text(&t["gateway"]),
                    created_at: t["created_at"].as_i64().unwrap_or(0),
                    doc: text(&t["doc"]),
                })
                .collect()
        })
        .unwrap_or_default()
}
