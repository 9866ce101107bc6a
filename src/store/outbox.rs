//! The transactional outbox: webhook events are inserted by the same database
//! transaction as the change they describe, so an event exists exactly when its change
//! was committed. Delivery reads them afterwards.

use serde_json::Value;
use std::sync::Arc;

/// The scopes a store's active hooks subscribe to, as the service knew them when a write
/// began. Writes that make their events inside the store (an order placed, a payment
/// recorded) leave out the events no hook listens to: nobody would ever receive them.
#[derive(Clone, Debug)]
pub enum Listeners {
    /// Every event is written (the hooks could not be read; an unneeded event is harmless).
    All,
    Scopes(Arc<[String]>),
}

impl Listeners {
    pub fn wants(&self, scope: &str) -> bool {
        match self {
            Listeners::All => true,
            Listeners::Scopes(hooks) => hooks
                .iter()
                .any(|h| crate::domain::webhook::scope_matches(h, scope)),
        }
    }

    /// `events` without those nobody listens to.
    pub fn keep_wanted(&self, mut events: Vec<OutboxEvent>) -> Vec<OutboxEvent> {
        events.retain(|e| self.wants(&e.scope));
        events
    }
}

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
    "INSERT INTO webhook_outbox (store_id, created_at, scope, resource_id, data)
     VALUES ($1, $2, $3, $4, $5)";

/// Events written by one statement at most (three parameters each).
pub(crate) const OUTBOX_ROWS_PER_STATEMENT: usize = 64;

/// The INSERT of `rows` events: the store is `$1`, the time `$2`, then each event's
/// scope, resource id and data. One row is [`INSERT_OUTBOX`]; more are one multi-row
/// statement (one round trip), whose rows take their `seq` in the order written.
pub(crate) fn insert_outbox_sql(rows: usize) -> std::borrow::Cow<'static, str> {
    if rows <= 1 {
        return std::borrow::Cow::Borrowed(INSERT_OUTBOX);
    }
    let mut sql = String::from(INSERT_OUTBOX);
    for i in 1..rows {
        let p = 3 + 3 * i;
        sql.push_str(&format!(", ($1, $2, ${p}, ${}, ${})", p + 1, p + 2));
    }
    std::borrow::Cow::Owned(sql)
}

/// Events as the arrays a PostgreSQL statement writes them from in one go
/// (`unnest($scopes::text[], $resource_ids::text[], $data::text[]) WITH ORDINALITY`):
/// scopes, resource ids and data, in order.
pub(crate) type OutboxColumns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<String>);

pub(crate) fn outbox_columns(events: &[OutboxEvent]) -> OutboxColumns<'_> {
    (
        events.iter().map(|e| e.scope.as_str()).collect(),
        events.iter().map(|e| e.resource_id.as_str()).collect(),
        events.iter().map(|e| e.data.to_string()).collect(),
    )
}

/// Inserts `$events` (an iterator of `&OutboxEvent`) on `$exec` (a transaction), in
/// order, up to [`OUTBOX_ROWS_PER_STATEMENT`] per statement.
macro_rules! insert_outbox {
    ($exec:expr, $store_id:expr, $now:expr, $events:expr) => {{
        let events: Vec<&$crate::store::outbox::OutboxEvent> = ($events).into_iter().collect();
        for chunk in events.chunks($crate::store::outbox::OUTBOX_ROWS_PER_STATEMENT) {
            let mut s = $crate::store::statement::stmt($crate::store::outbox::insert_outbox_sql(
                chunk.len(),
            ))
            .bind($store_id)
            .bind($now);
            for e in chunk {
                s = s
                    .bind(&e.scope)
                    .bind(&e.resource_id)
                    .bind(e.data.to_string());
            }
            s.execute(&mut *$exec).await?;
        }
    }};
}
pub(crate) use insert_outbox;
