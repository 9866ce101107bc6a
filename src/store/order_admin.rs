//! Merchant changes to placed orders (V2 Orders writes) and their shipments. Every
//! change is one UPDATE of the order guarded by the revision and status it was read
//! at, so two concurrent changes never both apply from the same state; everything the
//! change implies (stock given back, shipment rows, webhook events) is written in the
//! same transaction. Rows are locked in placement's order: the order, then products,
//! then uses, balances and counters.

use super::catalog::decode;
use super::orders::{
    Held, PAYMENT_HOLD_SECS, PlaceOrderError, StockChanges, add_stock, change_stock, give_back,
    return_held,
};
use super::outbox::{OutboxEvent, insert_outbox};
use super::payments::{insert_transaction, transaction_event};
use super::{Store, StoreResult, TransactionRow, on_pool};
use serde_json::Value;

/// An order as a change starts from.
#[derive(Clone, Debug)]
pub struct OrderState {
    pub status_id: i64,
    pub revision: i64,
    pub released: bool,
    pub is_deleted: bool,
    pub payment_started_at: i64,
    pub date_modified: i64,
    /// Sum of the order's refunds, ten-thousandths.
    pub refunded_e4: i64,
    pub doc: Value,
}

/// What happens to shipment rows with an order change.
#[derive(Clone, Debug, Default)]
pub enum ShipmentWrite {
    #[default]
    None,
    /// A new shipment; its id is taken from the store's `shipment` counter and set
    /// as `id` in the document.
    Insert(Value),
    Update(i64, Value),
    /// These shipments are deleted.
    Delete(Vec<i64>),
}

/// One change to an order, applied only if it is still at `revision` and `status_id`.
#[derive(Clone, Debug)]
pub struct OrderChange {
    pub order_id: i64,
    pub revision: i64,
    pub status_id: i64,
    pub new_status_id: i64,
    pub doc: Value,
    /// Give back what the order holds (it must not have been given back yet, and no
    /// payment may be in progress).
    pub release: bool,
    pub archive: bool,
    pub shipment: ShipmentWrite,
    /// The total of a re-priced order (ten-thousandths); `None` = unchanged. A change
    /// that re-prices never applies while a payment for the order is at the gateway.
    pub total_inc_tax_e4: Option<i64>,
    /// Stock the change takes (positive) or puts back (negative), per product.
    pub stock: StockChanges,
    /// A payment the change records as received (the merchant marking an order paid
    /// by an offline method): kept as a transaction, and added to what the order was
    /// authorized and paid, as an approved payment is.
    pub payment: Option<TransactionRow>,
    pub now: i64,
    pub events: Vec<OutboxEvent>,
}

impl OrderChange {
    /// A change of order `order_id` that starts from `st` and leaves the order as it
    /// is, for callers to fill in.
    pub fn from_state(order_id: i64, st: &OrderState, now: i64) -> OrderChange {
        OrderChange {
            order_id,
            revision: st.revision,
            status_id: st.status_id,
            new_status_id: st.status_id,
            doc: st.doc.clone(),
            release: false,
            archive: false,
            shipment: ShipmentWrite::None,
            total_inc_tax_e4: None,
            stock: Default::default(),
            payment: None,
            now,
            events: Vec::new(),
        }
    }
}

/// What applying a change did.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeOutcome {
    Applied {
        shipment_id: Option<i64>,
    },
    /// The order changed since it was read (or a payment started); read it again.
    Stale,
}

/// One shipment row.
#[derive(Clone, Debug)]
pub struct ShipmentRow {
    pub id: i64,
    pub order_id: i64,
    pub date_created: i64,
    pub doc: Value,
}

macro_rules! change_on {
    ($pool:expr, $store_id:expr, $c:expr) => {{
        let mut tx = $pool.begin().await?;
        let hold_before = $c.now - PAYMENT_HOLD_SECS;
        let n = sqlx::query(
            "UPDATE orders SET status_id = $3, doc = $4, date_modified = $5,
                    revision = revision + 1,
                    released = CASE WHEN $6 = 1 THEN 1 ELSE released END,
                    reserved_until = CASE WHEN $6 = 1 THEN 0 ELSE reserved_until END,
                    is_deleted = CASE WHEN $7 = 1 THEN 1 ELSE is_deleted END,
                    total_inc_tax_e4 = COALESCE($11, total_inc_tax_e4),
                    authorized_e4 = authorized_e4 + $12, paid_e4 = paid_e4 + $12
             WHERE store_id = $1 AND id = $2 AND revision = $8 AND status_id = $9
               AND ($6 = 0 OR (released = 0 AND payment_started_at < $10))
               AND ($11 IS NULL OR payment_started_at < $10)",
        )
        .bind($store_id)
        .bind($c.order_id)
        .bind($c.new_status_id)
        .bind(serde_json::to_string(&$c.doc)?)
        .bind($c.now)
        .bind(i64::from($c.release))
        .bind(i64::from($c.archive))
        .bind($c.revision)
        .bind($c.status_id)
        .bind(hold_before)
        .bind($c.total_inc_tax_e4)
        .bind($c.payment.as_ref().map_or(0, |t| t.amount_e4))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(ChangeOutcome::Stale);
        }
        if $c.release {
            let doc = serde_json::to_string(&$c.doc)?;
            give_back!(tx, $store_id, &doc, $c.status_id == 0, $c.now);
        }
        // After the order row: rows are locked in placement's order.
        if let Some(why) = change_stock!(tx, $store_id, $c.stock) {
            tx.rollback().await?;
            return Err(PlaceOrderError::Refused(why));
        }
        let mut events = $c.events.clone();
        let mut shipment_id = None;
        match &$c.shipment {
            ShipmentWrite::None => {}
            ShipmentWrite::Insert(doc) => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO counters (store_id, name, value) VALUES ($1, 'shipment', 1)
                     ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + 1
                     RETURNING value",
                )
                .bind($store_id)
                .fetch_one(&mut *tx)
                .await?;
                let mut doc = doc.clone();
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert("id".into(), Value::from(id));
                }
                sqlx::query(
                    "INSERT INTO order_shipments (store_id, id, order_id, date_created, doc)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($store_id)
                .bind(id)
                .bind($c.order_id)
                .bind($c.now)
                .bind(serde_json::to_string(&doc)?)
                .execute(&mut *tx)
                .await?;
                events.push(shipment_event("store/shipment/created", id, $c.order_id));
                shipment_id = Some(id);
            }
            ShipmentWrite::Update(id, doc) => {
                sqlx::query(
                    "UPDATE order_shipments SET doc = $4
                     WHERE store_id = $1 AND order_id = $2 AND id = $3",
                )
                .bind($store_id)
                .bind($c.order_id)
                .bind(*id)
                .bind(serde_json::to_string(doc)?)
                .execute(&mut *tx)
                .await?;
                events.push(shipment_event("store/shipment/updated", *id, $c.order_id));
            }
            ShipmentWrite::Delete(ids) => {
                for id in ids {
                    sqlx::query(
                        "DELETE FROM order_shipments WHERE store_id = $1 AND order_id = $2 AND id = $3",
                    )
                    .bind($store_id)
                    .bind($c.order_id)
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
                    events.push(shipment_event("store/shipment/deleted", *id, $c.order_id));
                }
            }
        }
        if let Some(t) = &$c.payment {
            let number = insert_transaction!(&mut *tx, $store_id, t);
            events.push(transaction_event(t.order_id, number));
        }
        insert_outbox!(tx, $store_id, $c.now, &events);
        tx.commit().await?;
        ChangeOutcome::Applied { shipment_id }
    }};
}

fn shipment_event(scope: &str, id: i64, order_id: i64) -> OutboxEvent {
    OutboxEvent::new(
        scope,
        id,
        serde_json::json!({"type": "shipment", "id": id, "orderId": order_id}),
    )
}

macro_rules! archive_all_on {
    ($pool:expr, $store_id:expr, $now:expr) => {{
        let mut tx = $pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE orders SET is_deleted = 1, revision = revision + 1, date_modified = $2
             WHERE store_id = $1 AND is_deleted = 0 RETURNING id",
        )
        .bind($store_id)
        .bind($now)
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = ids;
        ids.sort_unstable();
        let events: Vec<OutboxEvent> = ids
            .iter()
            .map(|id| {
                OutboxEvent::new(
                    "store/order/archived",
                    *id,
                    serde_json::json!({"type": "order", "id": id}),
                )
            })
            .collect();
        insert_outbox!(tx, $store_id, $now, &events);
        tx.commit().await?;
        ids.len()
    }};
}

impl Store {
    /// An order as a change starts from; None when this store has no such order.
    pub async fn order_state(&self, store_id: i64, id: i64) -> StoreResult<Option<OrderState>> {
        type Row = (i64, i64, i64, i64, i64, i64, i64, String);
        let row: Option<Row> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT status_id, revision, released, is_deleted, payment_started_at,
                        date_modified, refunded_e4, doc
                 FROM orders WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        row.map(
            |(status_id, revision, released, is_deleted, started, modified, refunded_e4, doc)| {
                Ok(OrderState {
                    status_id,
                    revision,
                    released: released != 0,
                    is_deleted: is_deleted != 0,
                    payment_started_at: started,
                    date_modified: modified,
                    refunded_e4,
                    doc: serde_json::from_str(&doc)?,
                })
            },
        )
        .transpose()
    }

    /// Applies one change atomically, or reports it `Stale`.
    pub async fn change_order(
        &self,
        store_id: i64,
        c: &OrderChange,
    ) -> Result<ChangeOutcome, PlaceOrderError> {
        Ok(on_pool!(self, write, |p| change_on!(p, store_id, c)))
    }

    /// Archives every order of the store not archived yet; how many.
    pub async fn archive_all_orders(&self, store_id: i64, now: i64) -> StoreResult<usize> {
        Ok(on_pool!(self, write, |p| archive_all_on!(p, store_id, now)))
    }

    /// An order's shipments, oldest first.
    pub async fn shipments(&self, store_id: i64, order_id: i64) -> StoreResult<Vec<ShipmentRow>> {
        let rows: Vec<(i64, i64, i64, String)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, order_id, date_created, doc FROM order_shipments
                 WHERE store_id = $1 AND order_id = $2 ORDER BY id",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(id, order_id, date_created, doc)| {
                Ok(ShipmentRow {
                    id,
                    order_id,
                    date_created,
                    doc: serde_json::from_str(&doc)?,
                })
            })
            .collect()
    }

    /// Webhook events of a store, oldest first: (scope, data). For tests and support.
    pub async fn recorded_events(&self, store_id: i64) -> StoreResult<Vec<(String, Value)>> {
        let rows: Vec<(String, String)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT scope, data FROM webhook_outbox WHERE store_id = $1 ORDER BY seq",
            )
            .bind(store_id)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(scope, data)| Ok((scope, serde_json::from_str(&data)?)))
            .collect()
    }
}
