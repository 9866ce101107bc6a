//! Order refunds. A refund is one transaction: the order row is locked first (a no-op
//! UPDATE), its paid and refunded amounts read, the refund checked against them, and
//! then the refund, its transaction row, the order's new refunded amount and status and
//! the `store/order/refund/created` event are written together. Concurrent refunds for
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
    /// The refund's transactions (event `refund`), one per instrument refunded to;
    /// `gift_certificate` and `store_credit` ones are credited back to the balance.
    pub transactions: Vec<TransactionRow>,
}

/// How a refund went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Recorded, with this refund id.
    Done(i64),
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
    pub async fn record_refund(&self, store_id: i64, r: &NewRefund) -> StoreResult<RefundOutcome> {
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
            let (status_id, paid_e4, refunded_e4, customer_id): (i64, i64, i64, i64) =
                sqlx::query_as(
                "SELECT status_id, paid_e4, refunded_e4, customer_id FROM orders WHERE store_id = $1 AND id = $2",
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
            let events: Vec<PaymentEvent> = rows
                .iter()
                .map(|(e, s, g, a, d)| payment_event_of(e, s, g, *a, d))
                .collect();
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
            let new_status = if refunded_e4 + r.total_e4 == paid_e4 {
                STATUS_REFUNDED
            } else {
                STATUS_PARTIALLY_REFUNDED
            };
            sqlx::query(
                "UPDATE orders SET refunded_e4 = refunded_e4 + $3, status_id = $4, date_modified = $5
                 WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(r.order_id)
            .bind(r.total_e4)
            .bind(new_status)
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
            }
            sqlx::query(
                "INSERT INTO order_refunds (store_id, id, order_id, total_e4, created_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(store_id)
            .bind(id)
            .bind(r.order_id)
            .bind(r.total_e4)
            .bind(r.now)
            .bind(doc.to_string())
            .execute(&mut *tx)
            .await?;
            let mut numbers = Vec::with_capacity(r.transactions.len());
            for t in &r.transactions {
                numbers.push(insert_transaction!(&mut *tx, store_id, t));
                let part = payment_event(t);
                match (t.gateway.as_str(), part.gift_certificate) {
                    ("gift_certificate", Some(code)) => {
                        sqlx::query(
                            "UPDATE gift_certificates SET balance_e4 = balance_e4 + $3
                             WHERE store_id = $1 AND code = $2",
                        )
                        .bind(store_id)
                        .bind(code)
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
                        .bind(r.now)
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
                    r.order_id,
                    json!({"type": "order", "id": r.order_id,
                           "status": {"previous_status_id": status_id, "new_status_id": new_status}}),
                ));
            }
            events.push(OutboxEvent::new(
                "store/order/refund/created",
                r.order_id,
                json!({"type": "order", "id": r.order_id, "refund": {"id": id}}),
            ));
            for number in numbers {
                events.push(OutboxEvent::new(
                    "store/order/transaction/created",
                    r.order_id,
                    json!({"type": "order", "id": r.order_id, "transaction": {"id": number}}),
                ));
            }
            insert_outbox!(tx, store_id, r.now, &events);
            tx.commit().await?;
            RefundOutcome::Done(id)
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
