//! The transactional outbox: webhook events are inserted by the same database
//! transaction as the change they describe, so an event exists exactly when its change
//! was committed. Delivery reads them afterwards.

use serde_json::Value;

/// One event to deliver: a BigCommerce webhook scope (`store/order/created`), the id
/// of the resource it is about (ordering is per resource), and the payload's `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    pub scope: String,
    pub resource_id: String,
    pub data: Value,
}

impl OutboxEvent {
    pub fn new(scope: &str, resource_id: impl ToString, data: Value) -> Self {
        OutboxEvent {
            scope: scope.to_string(),
            resource_id: resource_id.to_string(),
            data,
        }
    }
}

pub(crate) const INSERT_OUTBOX: &str =
    "INSERT INTO webhook_outbox (store_id, scope, resource_id, data, created_at)
     VALUES ($1, $2, $3, $4, $5)";

/// Inserts `$events` (an iterator of `&OutboxEvent`) on `$exec` (a transaction).
macro_rules! insert_outbox {
    ($exec:expr, $store_id:expr, $now:expr, $events:expr) => {
        for e in $events {
            $crate::store::statement::stmt($crate::store::outbox::INSERT_OUTBOX)
                .bind($store_id)
                .bind(&e.scope)
                .bind(&e.resource_id)
                .bind(e.data.to_string())
                .bind($now)
                .execute(&mut *$exec)
                .await?;
        }
    };
}
pub(crate) use insert_outbox;
