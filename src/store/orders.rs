//! Orders, and the one transaction that places an order: it takes the order id, claims
//! every limited use (coupons, promotions, codes), debits gift certificates and store
//! credit, reserves stock, and inserts the order — all or nothing. Each claim is an
//! UPDATE whose WHERE clause holds the limit, so concurrent placements can never exceed
//! it: on SQLite the single writer serializes them, on PostgreSQL the row lock does
//! (READ COMMITTED re-checks the WHERE clause on the locked row; an upsert's DO UPDATE
//! WHERE likewise). Stock lives in the product documents: a product row is locked
//! first (a no-op UPDATE, or on PostgreSQL's placement `FOR UPDATE`), then read,
//! changed and written back, so concurrent buyers of the last units queue on it.
//! PostgreSQL places most orders in one statement that commits by itself
//! (`place_on_postgres`), SQLite statement by statement in its one writer, where a
//! round trip costs little.
//!
//! What an unpaid order took is listed in its document (`held`). Releasing the order
//! (its reservation lapsed, a newer order from the same cart replaced it, or it was
//! cancelled) gives exactly that back, once (`released`). Rows are always locked in the
//! same order — orders, products by id, uses, gift certificates, customers, the order
//! counter — so PostgreSQL transactions never deadlock on each other.

use super::IdempotencyClaim;
use super::catalog::{decode, encode};
use super::customer_addresses::{address_doc, address_key};
use super::idempotency::record_idempotency_outcome;
use super::outbox::{Listeners, OutboxColumns, OutboxEvent, insert_outbox, outbox_columns};
use super::statement::stmt;
use super::usage::UseKind;
use super::{Store, StoreError, StoreResult, on_pool, read_on};
use crate::domain::cart::ProductsById;
use crate::domain::customer_address::CustomerAddress;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// While a payment is with the gateway its order is held this long (seconds), and
/// nothing may release the order meanwhile.
pub const PAYMENT_HOLD_SECS: i64 = 120;

/// One limited use to claim.
#[derive(Clone, Debug)]
pub struct UseClaim {
    pub kind: UseKind,
    pub ref_id: i64,
    /// 0 = everyone together; otherwise the customer this per-customer limit is about.
    pub customer_id: i64,
    /// 0 = no limit (the use is still counted).
    pub max: i64,
    /// What to tell the shopper when it is used up.
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct BalanceDebit {
    pub id: i64,
    /// Ten-thousandths.
    pub amount_e4: i64,
    pub label: String,
}

/// What an order's document holds besides the `id` and `held` that placing adds: the
/// checkout as it was, and the merchant's changes for an order made by hand.
#[derive(Serialize)]
pub struct OrderSnapshot<'a> {
    pub status_id: i64,
    pub date_created: i64,
    pub cart: &'a crate::domain::cart::Cart,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<&'a crate::domain::order_admin::OrderAdmin>,
}

/// An order's document as serialized once from its [`OrderSnapshot`], straight to text
/// (no JSON tree to build and copy): placing writes `id` and `held` in front of it.
#[derive(Clone, Debug)]
pub struct OrderDoc(String);

impl OrderDoc {
    pub fn of(snapshot: &OrderSnapshot<'_>) -> StoreResult<OrderDoc> {
        Ok(OrderDoc(serde_json::to_string(snapshot)?))
    }

    /// The stored text. A snapshot serializes to an object with members (and neither
    /// `id` nor `held`), so its opening brace is all that goes before its first member.
    fn placed(&self, id: i64, held: &Held) -> StoreResult<String> {
        let members = self.0.strip_prefix('{').unwrap_or(&self.0);
        Ok(format!(
            "{{\"id\":{id},\"held\":{},{members}",
            serde_json::to_string(held)?
        ))
    }
}

/// Everything placing one order writes.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub cart_id: String,
    pub status_id: i64,
    pub customer_id: i64,
    pub currency_code: String,
    pub total_inc_tax_e4: i64,
    pub now: i64,
    pub claims: Vec<UseClaim>,
    pub gift_certificates: Vec<BalanceDebit>,
    /// Store credit of `customer_id`, ten-thousandths (0 = none used).
    pub store_credit_e4: i64,
    /// Stock the order takes (tracked products only are counted).
    pub stock: Vec<StockTake>,
    /// When an unpaid order's reservation lapses (unix seconds).
    pub reserved_until: i64,
    /// The order document; its `id` and `held` are filled in when it is placed.
    pub doc: OrderDoc,
    /// The request's idempotency key: the placed order is recorded on it in the same
    /// transaction, so a retry after a crash finds the order instead of placing another.
    pub idempotency: Option<IdempotencyClaim>,
    /// Addresses (ids taken) to add to the order's customer's address book with the
    /// order; one the customer has already is skipped, as is every one should the
    /// customer be gone.
    pub save_addresses: Vec<CustomerAddress>,
    /// The events the store's hooks listen to; the others are not written.
    pub listeners: Listeners,
}

/// How many rows an unlimited use counter is spread over on PostgreSQL (slots 1 to
/// this): orders placed at once with the same coupon then rarely wait for each other's
/// commit on its row. A limited use is claimed on slot 0, against the sum of all slots.
const USE_SLOTS: i64 = 16;

/// The slot of `claims`' counter row for (kind, ref id, customer) of order `spread_by`
/// (`None`: every use on slot 0, as on SQLite). Unlimited there when no claim of the
/// order on that counter has a limit.
fn use_slot(claims: &[UseClaim], c: &UseClaim, spread_by: Option<i64>) -> i64 {
    let limited = claims.iter().any(|o| {
        o.max > 0 && o.kind == c.kind && o.ref_id == c.ref_id && o.customer_id == c.customer_id
    });
    match spread_by {
        Some(order_id) if !limited => 1 + order_id.rem_euclid(USE_SLOTS),
        _ => 0,
    }
}

impl NewOrder {
    /// What the order holds, its uses counted on the slots `use_slot` gives for
    /// `spread_by`.
    fn held(&self, spread_by: Option<i64>) -> Held {
        let use_slots: Vec<i64> = self
            .claims
            .iter()
            .map(|c| use_slot(&self.claims, c, spread_by))
            .collect();
        Held {
            stock: self.stock.clone(),
            uses: self
                .claims
                .iter()
                .map(|c| (c.kind.as_str().to_string(), c.ref_id, c.customer_id))
                .collect(),
            use_slots: if use_slots.iter().all(|s| *s == 0) {
                Vec::new()
            } else {
                use_slots
            },
            gift_certificates: self
                .gift_certificates
                .iter()
                .map(|g| (g.id, g.amount_e4))
                .collect(),
            store_credit_e4: self.store_credit_e4,
            customer_id: self.customer_id,
        }
    }

    /// The order's events that a hook listens to.
    fn events(&self, id: i64) -> Vec<OutboxEvent> {
        let mut events = vec![OutboxEvent::new(
            "store/order/created",
            id,
            serde_json::json!({"type": "order", "id": id}),
        )];
        if self.status_id != 0 {
            events.push(OutboxEvent::new(
                "store/order/statusUpdated",
                id,
                serde_json::json!({"type": "order", "id": id,
                    "status": {"previous_status_id": 0, "new_status_id": self.status_id}}),
            ));
        }
        self.listeners.keep_wanted(events)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// A limit or balance no longer allows the order; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// Fewer units are in stock than the order takes; nothing was written.
    #[error("{0}")]
    OutOfStock(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PlaceOrderError {
    fn from(e: sqlx::Error) -> Self {
        PlaceOrderError::Store(StoreError::Database(e))
    }
}

impl From<serde_json::Error> for PlaceOrderError {
    fn from(e: serde_json::Error) -> Self {
        PlaceOrderError::Store(StoreError::Corrupt(e))
    }
}

/// Units of one variant an order takes out of stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTake {
    pub product_id: i64,
    pub variant_id: i64,
    pub quantity: i64,
}

/// What an unpaid order holds, as kept in its document under `held`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Held {
    #[serde(default)]
    pub stock: Vec<StockTake>,
    /// (kind, ref id, customer id) of each use claimed.
    #[serde(default)]
    pub uses: Vec<(String, i64, i64)>,
    /// The counter slot of each of `uses`, in the same order; absent (orders placed
    /// before slots, or all on slot 0) means slot 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub use_slots: Vec<i64>,
    /// (gift certificate id, ten-thousandths debited).
    #[serde(default)]
    pub gift_certificates: Vec<(i64, i64)>,
    #[serde(default)]
    pub store_credit_e4: i64,
    #[serde(default)]
    pub customer_id: i64,
}

impl Held {
    pub fn of(doc: &Value) -> Held {
        serde_json::from_value(doc["held"].clone()).unwrap_or_default()
    }
}

/// Stock changes per product: (variant id, units to take; negative puts back).
pub type StockChanges = BTreeMap<i64, Vec<(i64, i64)>>;

/// What an order holding `before` must take (or put back) to hold `after` instead,
/// netted per variant so unchanged lines lock nothing.
pub fn stock_delta(before: &[StockTake], after: &[StockTake]) -> StockChanges {
    let mut net: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for (takes, sign) in [(before, -1), (after, 1)] {
        for t in takes {
            *net.entry((t.product_id, t.variant_id)).or_default() += sign * t.quantity;
        }
    }
    let mut changes = StockChanges::new();
    for ((product_id, variant_id), quantity) in net {
        if quantity != 0 {
            changes
                .entry(product_id)
                .or_default()
                .push((variant_id, quantity));
        }
    }
    changes
}

pub(super) fn add_stock(changes: &mut StockChanges, held: &[StockTake], sign: i64) {
    for t in held {
        changes
            .entry(t.product_id)
            .or_default()
            .push((t.variant_id, sign * t.quantity));
    }
}

/// Applies stock changes product by product, in id order: lock, read, change, write.
/// Puts back before it takes, so a replaced order's units serve its successor.
macro_rules! change_stock {
    ($tx:expr, $store_id:expr, $changes:expr) => {{
        let mut refused: Option<String> = None;
        // Most products do not count stock: one plain read of them all tells, and only a
        // product that counts is locked, so orders of popular untracked products never
        // queue. Ids are integers, so inlining them is safe.
        let ids: Vec<String> = $changes.iter().map(|(id, _)| id.to_string()).collect();
        let mut counting = std::collections::HashSet::new();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT id, doc FROM products WHERE store_id = $1 AND id IN ({})",
                ids.join(",")
            );
            let rows: Vec<(i64, String)> = $crate::store::statement::stmt(sql)
                .bind($store_id)
                .fetch_all(&mut *$tx)
                .await?;
            for (id, doc) in rows {
                if decode(&doc)?.product.tracks_stock() {
                    counting.insert(id);
                }
            }
        }
        for (product_id, changes) in $changes.iter() {
            // Deleted since, or not counting stock: nothing to change.
            if !counting.contains(product_id) {
                continue;
            }
            $crate::store::statement::stmt(
                "UPDATE products SET date_modified = date_modified WHERE store_id = $1 AND id = $2",
            )
            .bind($store_id)
            .bind(*product_id)
            .execute(&mut *$tx)
            .await?;
            // Read again under the lock: the first read may be stale.
            let doc: Option<String> = $crate::store::statement::stmt(
                "SELECT doc FROM products WHERE store_id = $1 AND id = $2",
            )
            .bind($store_id)
            .bind(*product_id)
            .fetch_optional_scalar(&mut *$tx)
            .await?;
            let Some(doc) = doc else { continue };
            let doc = match $crate::store::orders::changed_stock(&doc, changes)? {
                Ok(Some(doc)) => doc,
                Ok(None) => continue,
                Err(why) => {
                    refused = Some(why);
                    break;
                }
            };
            $crate::store::statement::stmt(
                "UPDATE products SET doc = $3 WHERE store_id = $1 AND id = $2",
            )
            .bind($store_id)
            .bind(*product_id)
            .bind(doc)
            .execute(&mut *$tx)
            .await?;
        }
        refused
    }};
}

/// A product document (read under its row lock) with `changes` applied: `None` when the
/// product does not count stock, `Err` (why) when it has too few units. Puts back before
/// it takes, so a replaced order's units serve its successor.
pub(super) fn changed_stock(
    doc: &str,
    changes: &[(i64, i64)],
) -> StoreResult<Result<Option<String>, String>> {
    let mut product = decode(doc)?;
    if !product.product.tracks_stock() {
        return Ok(Ok(None));
    }
    let mut ordered: Vec<(i64, i64)> = changes.to_vec();
    ordered.sort_by_key(|(_, q)| *q);
    for (variant_id, quantity) in ordered {
        if let Err(e) = product.product.take_stock(variant_id, quantity) {
            return Ok(Err(e.to_string()));
        }
    }
    Ok(Ok(Some(encode(&product)?)))
}

/// Gives back the uses and balances in `$held` (stock is given back by `change_stock!`).
macro_rules! return_held {
    ($tx:expr, $store_id:expr, $held:expr, $now:expr) => {{
        for (i, (kind, ref_id, customer_id)) in $held.uses.iter().enumerate() {
            $crate::store::statement::stmt(
                "UPDATE promotion_uses SET uses = uses - 1
                 WHERE store_id = $1 AND kind = $2 AND ref_id = $3 AND customer_id = $4
                   AND slot = $5 AND uses > 0",
            )
            .bind($store_id)
            .bind(kind)
            .bind(*ref_id)
            .bind(*customer_id)
            .bind($held.use_slots.get(i).copied().unwrap_or(0))
            .execute(&mut *$tx)
            .await?;
        }
        for (id, amount_e4) in &$held.gift_certificates {
            $crate::store::statement::stmt(
                "UPDATE gift_certificates SET balance_e4 = balance_e4 + $3 WHERE store_id = $1 AND id = $2",
            )
            .bind($store_id)
            .bind(*id)
            .bind(*amount_e4)
            .execute(&mut *$tx)
            .await?;
        }
        if $held.store_credit_e4 > 0 {
            $crate::store::statement::stmt(
                "UPDATE customers SET store_credit_e4 = store_credit_e4 + $3, date_modified = $4
                 WHERE store_id = $1 AND id = $2",
            )
            .bind($store_id)
            .bind($held.customer_id)
            .bind($held.store_credit_e4)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Gives back what the order document `$doc` (JSON text) says the order holds, inside
/// the transaction that marked it released (lapsed, cancelled, declined or voided): its
/// stock and its coupon and promotion uses always, since the order will never complete;
/// its gift certificate and store credit balances only when `$unpaid` (nothing was paid
/// for it) — money a paid order took comes back by refund, an explicit act. The one path
/// every release takes, so no way out of an order forgets a part.
macro_rules! give_back {
    ($tx:expr, $store_id:expr, $doc:expr, $unpaid:expr, $now:expr) => {{
        let held = Held::of(&serde_json::from_str($doc)?);
        let mut stock = StockChanges::new();
        add_stock(&mut stock, &held.stock, -1);
        // Putting back never refuses.
        let _ = change_stock!($tx, $store_id, stock);
        let held = if $unpaid {
            held
        } else {
            Held {
                uses: held.uses,
                use_slots: held.use_slots,
                ..Held::default()
            }
        };
        return_held!($tx, $store_id, held, $now);
    }};
}
pub(super) use {change_stock, give_back, return_held};

/// The counter order ids come from.
const ORDER_COUNTER: &str = "order";

/// Placing on SQLite, statement by statement (its one writer serializes placements; see
/// `place_on_postgres` for PostgreSQL's few round trips).
macro_rules! place_on {
    ($pool:expr, $store_id:expr, $o:expr, $saves:expr) => {{
        let mut tx = $pool.begin().await?;
        let hold_before = $o.now - PAYMENT_HOLD_SECS;
        // Earlier unpaid orders of this cart are replaced: what they hold comes back
        // first, so the cart's new order can have it.
        let earlier: Vec<(i64, String)> = $crate::store::statement::stmt(
            "SELECT id, doc FROM orders
             WHERE store_id = $1 AND cart_id = $2 AND status_id = 0 AND released = 0
               AND payment_started_at < $3
             ORDER BY id",
        )
        .bind($store_id)
        .bind(&$o.cart_id)
        .bind(hold_before)
        .fetch_all(&mut *tx)
        .await?;
        let mut returned: Vec<Held> = Vec::new();
        for (id, doc) in &earlier {
            let n = $crate::store::statement::stmt(
                "UPDATE orders SET released = 1, reserved_until = 0, date_modified = $3
                 WHERE store_id = $1 AND id = $2 AND status_id = 0 AND released = 0
                   AND payment_started_at < $4",
            )
            .bind($store_id)
            .bind(*id)
            .bind($o.now)
            .bind(hold_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                returned.push(Held::of(&serde_json::from_str(doc)?));
            }
        }
        let mut stock = StockChanges::new();
        for h in &returned {
            add_stock(&mut stock, &h.stock, -1);
        }
        add_stock(&mut stock, &$o.stock, 1);
        if let Some(why) = change_stock!(tx, $store_id, stock) {
            return Err(PlaceOrderError::OutOfStock(why));
        }
        for h in &returned {
            return_held!(tx, $store_id, h, $o.now);
        }
        // A limited use can refuse the order, so it is claimed now; an unlimited one
        // only counts, so it is claimed just before commit: every order of a popular
        // coupon shares its row, and its lock is then held for one statement.
        let (mut claims, mut counts): (Vec<&UseClaim>, Vec<&UseClaim>) =
            $o.claims.iter().partition(|c| c.max > 0);
        claims.sort_by_key(|c| (c.kind.as_str(), c.ref_id, c.customer_id));
        counts.sort_by_key(|c| (c.kind.as_str(), c.ref_id, c.customer_id));
        for c in claims {
            $crate::store::statement::stmt(
                "INSERT INTO promotion_uses (store_id, kind, ref_id, customer_id, uses)
                 VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
            )
            .bind($store_id)
            .bind(c.kind.as_str())
            .bind(c.ref_id)
            .bind(c.customer_id)
            .execute(&mut *tx)
            .await?;
            let n = $crate::store::statement::stmt(
                "UPDATE promotion_uses SET uses = uses + 1
                 WHERE store_id = $1 AND kind = $2 AND ref_id = $3 AND customer_id = $4
                   AND ($5 = 0 OR uses < $5)",
            )
            .bind($store_id)
            .bind(c.kind.as_str())
            .bind(c.ref_id)
            .bind(c.customer_id)
            .bind(c.max)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(PlaceOrderError::Refused(c.label.clone()));
            }
        }
        let mut debits: Vec<&BalanceDebit> = $o.gift_certificates.iter().collect();
        debits.sort_by_key(|g| g.id);
        for g in debits {
            let n = $crate::store::statement::stmt(
                "UPDATE gift_certificates SET balance_e4 = balance_e4 - $3
                 WHERE store_id = $1 AND id = $2 AND status = 'active' AND balance_e4 >= $3
                   AND (expiry_date = 0 OR expiry_date > $4)",
            )
            .bind($store_id)
            .bind(g.id)
            .bind(g.amount_e4)
            .bind($o.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(PlaceOrderError::Refused(g.label.clone()));
            }
        }
        if $o.store_credit_e4 > 0 {
            let n = $crate::store::statement::stmt(
                "UPDATE customers SET store_credit_e4 = store_credit_e4 - $3, date_modified = $4
                 WHERE store_id = $1 AND id = $2 AND store_credit_e4 >= $3",
            )
            .bind($store_id)
            .bind($o.customer_id)
            .bind($o.store_credit_e4)
            .bind($o.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(PlaceOrderError::Refused(
                    "The customer's store credit no longer covers the amount applied; refresh the checkout and try again.".into(),
                ));
            }
        }
        let id: i64 = $crate::store::statement::stmt(
            "INSERT INTO counters (store_id, name, value) VALUES ($1, $2, 1)
             ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + 1
             RETURNING value",
        )
        .bind($store_id)
        .bind(ORDER_COUNTER)
        .fetch_one_scalar(&mut *tx)
        .await?;
        let held = $o.held(None);
        let doc = $o.doc.placed(id, &held)?;
        let reserved_until = if $o.status_id == 0 { $o.reserved_until } else { 0 };
        $crate::store::statement::stmt(
            "INSERT INTO orders (store_id, id, cart_id, status_id, customer_id, currency_code,
                                 total_inc_tax_e4, date_created, date_modified, doc,
                                 reserved_until, shopper_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10,
                     (SELECT shopper_id FROM carts WHERE id = $3 AND store_id = $1))",
        )
        .bind($store_id)
        .bind(id)
        .bind(&$o.cart_id)
        .bind($o.status_id)
        .bind($o.customer_id)
        .bind(&$o.currency_code)
        .bind($o.total_inc_tax_e4)
        .bind($o.now)
        .bind(doc)
        .bind(reserved_until)
        .execute(&mut *tx)
        .await?;
        for (address_id, customer_id, key, doc) in &$saves {
            $crate::store::statement::stmt(
                "INSERT INTO customer_addresses (store_id, id, customer_id, address_key, doc)
                 SELECT $1, $2, $3, $4, $5
                 WHERE EXISTS (SELECT 1 FROM customers WHERE store_id = $1 AND id = $3)
                 ON CONFLICT (store_id, customer_id, address_key) DO NOTHING",
            )
            .bind($store_id)
            .bind(*address_id)
            .bind(*customer_id)
            .bind(key)
            .bind(doc)
            .execute(&mut *tx)
            .await?;
        }
        let events = $o.events(id);
        insert_outbox!(tx, $store_id, $o.now, &events);
        if !record_idempotency_outcome!(tx, $o.idempotency.as_ref(), &format!("order:{id}")) {
            tx.rollback().await?;
            return Err(PlaceOrderError::Refused(
                "This Idempotency-Key has already placed another order; send a new key for a new order.".into(),
            ));
        }
        for c in counts {
            $crate::store::statement::stmt(
                "INSERT INTO promotion_uses (store_id, kind, ref_id, customer_id, uses)
                 VALUES ($1, $2, $3, $4, 1)
                 ON CONFLICT (store_id, kind, ref_id, customer_id)
                 DO UPDATE SET uses = promotion_uses.uses + 1",
            )
            .bind($store_id)
            .bind(c.kind.as_str())
            .bind(c.ref_id)
            .bind(c.customer_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        id
    }};
}

macro_rules! release_on {
    ($pool:expr, $store_id:expr, $order_id:expr, $now:expr, $new_status:expr) => {{
        let mut tx = $pool.begin().await?;
        let row: Option<(i64, String)> = $crate::store::statement::stmt(
            "SELECT status_id, doc FROM orders WHERE store_id = $1 AND id = $2 AND released = 0",
        )
        .bind($store_id)
        .bind($order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status_id, doc)) = row else {
            return Ok(false);
        };
        let new_status: i64 = $new_status.unwrap_or(status_id);
        // An order with a payment at the gateway is never released under it.
        let n = $crate::store::statement::stmt(
            "UPDATE orders SET released = 1, reserved_until = 0, status_id = $3, date_modified = $4
             WHERE store_id = $1 AND id = $2 AND released = 0 AND status_id = $5
               AND payment_started_at < $6",
        )
        .bind($store_id)
        .bind($order_id)
        .bind(new_status)
        .bind($now)
        .bind(status_id)
        .bind($now - PAYMENT_HOLD_SECS)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        give_back!(tx, $store_id, &doc, status_id == 0, $now);
        if new_status != status_id {
            let events = [OutboxEvent::new(
                "store/order/statusUpdated",
                $order_id,
                serde_json::json!({"type": "order", "id": $order_id,
                    "status": {"previous_status_id": status_id, "new_status_id": new_status}}),
            )];
            insert_outbox!(tx, $store_id, $now, &events);
        }
        tx.commit().await?;
        true
    }};
}

impl Store {
    /// Places an order atomically; `Refused` when a limit or balance stands in the way.
    pub async fn place_order(&self, store_id: i64, o: &NewOrder) -> Result<i64, PlaceOrderError> {
        self.place_order_knowing(store_id, o, &ProductsById::new())
            .await
    }

    /// [`Store::place_order`], told the products read with the cart (`known`): on
    /// PostgreSQL one the cart read found not counting stock is neither read nor locked
    /// again. Any other product the order takes is locked and read inside the placement.
    pub async fn place_order_knowing(
        &self,
        store_id: i64,
        o: &NewOrder,
        known: &ProductsById,
    ) -> Result<i64, PlaceOrderError> {
        // The address book rows to write with the order: (id, customer, key, doc).
        let saves = o
            .save_addresses
            .iter()
            .map(|a| Ok((a.id, a.customer_id, address_key(a), address_doc(a)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        match &self.db {
            super::Db::Postgres(pool) => {
                // Several nodes place orders at once: the id comes from the store's
                // counter in its own short transaction, so the counter row is not locked
                // for the whole placement (three nodes queued on it for seconds). A
                // placement that is then refused leaves a gap; ids still increase.
                let id = self.next_ids(store_id, ORDER_COUNTER, 1).await?;
                place_on_postgres(self, pool, store_id, o, id, &saves, known).await
            }
            super::Db::Sqlite { write, .. } => {
                // One writer: no queue on the counter to avoid, the id is taken inside.
                let o = o.clone();
                match write
                    .run_tx(async move |pool| {
                        Ok::<_, PlaceOrderError>(place_on!(pool, store_id, &o, saves))
                    })
                    .await
                {
                    Ok(done) => done,
                    Err(e) => Err(PlaceOrderError::from(e)),
                }
            }
        }
    }

    /// Gives back what an unpaid order holds (stock, uses, balances) — or, for a paid
    /// order, its stock — once, optionally moving it to `new_status`. False when it was
    /// already released, does not exist, or a payment for it is in progress.
    pub async fn release_order(
        &self,
        store_id: i64,
        order_id: i64,
        now: i64,
        new_status: Option<i64>,
    ) -> Result<bool, PlaceOrderError> {
        Ok(on_pool!(self, write, |p| release_on!(
            p, store_id, order_id, now, new_status
        )))
    }

    /// Unpaid orders whose reservation lapsed before `now`, oldest first.
    pub async fn lapsed_orders(&self, now: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT store_id, id FROM orders
                 WHERE reserved_until > 0 AND reserved_until < $1 AND released = 0 AND status_id = 0
                 ORDER BY reserved_until LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// An order's stored document.
    pub async fn order_doc(&self, store_id: i64, id: i64) -> StoreResult<Option<Value>> {
        let doc: Option<String> = read_on!(self, |c| {
            stmt("SELECT doc FROM orders WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .fetch_optional_scalar(c)
                .await?
        })?;
        doc.map(|d| Ok(serde_json::from_str(&d)?)).transpose()
    }

    /// How many orders a customer has placed beyond the incomplete stage.
    pub async fn completed_order_count(&self, store_id: i64, customer_id: i64) -> StoreResult<i64> {
        let n: i64 = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM orders WHERE store_id = $1 AND customer_id = $2 AND status_id <> 0",
            )
            .bind(store_id)
            .bind(customer_id)
            .fetch_one(p)
            .await?
        });
        Ok(n)
    }
}

/// The cart's earlier unpaid orders released (orders are locked first), and the products
/// named locked in id order and read: those in `lock` and whatever the released orders
/// held. One round trip; the released orders come first, as (false, id, doc), then the
/// products as (true, id, doc).
const RELEASE_AND_LOCK: &str = "
WITH released AS (
    UPDATE orders SET released = 1, reserved_until = 0, date_modified = $4
    WHERE store_id = $1 AND cart_id = $2 AND status_id = 0 AND released = 0
      AND payment_started_at < $3
    RETURNING id, doc
), locked AS (
    SELECT id, doc FROM products
    WHERE store_id = $1 AND id = ANY(ARRAY(
        SELECT unnest($5::bigint[])
        UNION
        SELECT (s.value ->> 'product_id')::bigint
        FROM released r, json_array_elements((r.doc::json) -> 'held' -> 'stock') s
    ))
    ORDER BY id
    FOR UPDATE
)
SELECT false, id, doc FROM released
UNION ALL
SELECT true, id, doc FROM locked";

/// Everything else placing writes, in one statement: the uses counted without a limit
/// (on the order's slot; a limited use is claimed before, by [`CLAIM_LIMITED`]), gift
/// certificate and store credit debits, the stock taken,
/// the order, its address book entries, its webhook events and the idempotency key's
/// outcome. What each debit and the key got comes back (the counted uses cannot fall
/// short). With `$11` (placing alone) the statement
/// also looks for the cart's earlier unpaid orders, and fails (SQLSTATE
/// [`PLACEMENT_REFUSED`]) when it finds one or anything fell short, so it can commit by
/// itself: it then either wrote everything or nothing. Without `$11` the caller, in a
/// transaction that gave those orders back first, reads what fell short, refuses and
/// rolls back. The
/// scalar subqueries run in the order written, so rows are locked as everywhere else:
/// orders, uses, gift certificates, customers.
const PLACE: &str = "
WITH released AS (
    UPDATE orders SET released = 1, reserved_until = 0, date_modified = $8
    WHERE $11 AND store_id = $1 AND cart_id = $3 AND status_id = 0 AND released = 0
      AND payment_started_at < $12
    RETURNING id
), uses AS (
    INSERT INTO promotion_uses (store_id, kind, ref_id, customer_id, slot, uses)
    SELECT $1, w.kind, w.ref_id, w.customer_id, w.slot, w.n
    FROM unnest($13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])
        AS w(kind, ref_id, customer_id, n, slot)
    ON CONFLICT (store_id, kind, ref_id, customer_id, slot) DO UPDATE
    SET uses = promotion_uses.uses + excluded.uses
), gifts AS (
    UPDATE gift_certificates g SET balance_e4 = g.balance_e4 - d.amount
    FROM unnest($18::bigint[], $19::bigint[]) AS d(id, amount)
    WHERE g.store_id = $1 AND g.id = d.id AND g.status = 'active' AND g.balance_e4 >= d.amount
      AND (g.expiry_date = 0 OR g.expiry_date > $8)
    RETURNING g.id
), credit AS (
    UPDATE customers SET store_credit_e4 = store_credit_e4 - $20, date_modified = $8
    WHERE $20 > 0 AND store_id = $1 AND id = $5 AND store_credit_e4 >= $20
    RETURNING id
), stock AS (
    UPDATE products p SET doc = s.doc
    FROM unnest($21::bigint[], $22::text[]) AS s(id, doc)
    WHERE p.store_id = $1 AND p.id = s.id
), placed AS (
    INSERT INTO orders (store_id, id, cart_id, status_id, customer_id, currency_code,
                        total_inc_tax_e4, date_created, date_modified, doc,
                        reserved_until, shopper_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10,
            (SELECT shopper_id FROM carts WHERE id = $3 AND store_id = $1))
), addresses AS (
    INSERT INTO customer_addresses (store_id, id, customer_id, address_key, doc)
    SELECT $1, a.id, a.customer_id, a.address_key, a.doc
    FROM unnest($23::bigint[], $24::bigint[], $25::text[], $26::text[])
        AS a(id, customer_id, address_key, doc)
    WHERE EXISTS (SELECT 1 FROM customers c WHERE c.store_id = $1 AND c.id = a.customer_id)
    ON CONFLICT (store_id, customer_id, address_key) DO NOTHING
), events AS (
    INSERT INTO webhook_outbox (store_id, created_at, scope, resource_id, data)
    SELECT $1, $8, e.scope, e.resource_id, e.data
    FROM unnest($27::text[], $28::text[], $29::text[]) WITH ORDINALITY
        AS e(scope, resource_id, data, n)
    ORDER BY e.n
), recorded AS (
    UPDATE idempotency_keys SET outcome = $32
    WHERE scope = $30 AND idem_key = $31 AND (outcome IS NULL OR outcome = $32)
    RETURNING 1
), outcome AS (
    SELECT (SELECT count(*) FROM released) AS released,
           ARRAY(SELECT id FROM gifts) AS gifts,
           (SELECT count(*) FROM credit) AS credit,
           (SELECT count(*) FROM recorded) AS recorded
)
SELECT released, gifts, credit, recorded,
       CASE WHEN NOT $11
              OR (released = 0
                  AND cardinality(gifts) = cardinality($18::bigint[])
                  AND ($20 = 0 OR credit > 0)
                  AND ($30::text IS NULL OR recorded > 0))
            THEN true
            ELSE kassa_refuse_placement()
       END
FROM outcome";

/// Claims `$5` uses of counter (`$2` kind, `$3` ref id, `$4` customer) under its limit
/// `$6`, on slot 0, counting the uses of every slot (unlimited ones are spread over
/// several; see `use_slot`). No row changed means the limit stands in the way. Two
/// placements racing for the last use both pass the first check, and the second then
/// waits on the row the first wrote and checks again against it.
const CLAIM_LIMITED: &str = "
INSERT INTO promotion_uses (store_id, kind, ref_id, customer_id, slot, uses)
SELECT $1, $2, $3, $4, 0, $5
WHERE $5 + (SELECT coalesce(sum(t.uses), 0) FROM promotion_uses t
            WHERE t.store_id = $1 AND t.kind = $2 AND t.ref_id = $3 AND t.customer_id = $4)
      <= $6
ON CONFLICT (store_id, kind, ref_id, customer_id, slot) DO UPDATE
SET uses = promotion_uses.uses + excluded.uses
WHERE promotion_uses.uses + excluded.uses + (
    SELECT coalesce(sum(o.uses), 0) FROM promotion_uses o
    WHERE o.store_id = $1 AND o.kind = $2 AND o.ref_id = $3 AND o.customer_id = $4
      AND o.slot <> 0) <= $6";

/// The SQLSTATE of `kassa_refuse_placement()` (migration 0028): [`PLACE`] alone found
/// something short and wrote nothing.
const PLACEMENT_REFUSED: &str = "KA001";

/// What [`PLACE`] reports: orders released, gift certificates debited, store credit
/// debits, idempotency outcomes recorded (and a constant true, the check that fails the
/// statement alone).
type Placed = (i64, Vec<i64>, i64, i64, bool);

/// What one placement binds to [`PLACE`], whichever way it goes.
struct Placement<'a> {
    store_id: i64,
    id: i64,
    o: &'a NewOrder,
    doc: String,
    reserved_until: i64,
    hold_before: i64,
    /// The uses counted without a limit, claimed by [`PLACE`].
    claims: Vec<ClaimRow<'a>>,
    /// The uses under a limit, claimed first by [`CLAIM_LIMITED`], in the transaction.
    limited: Vec<ClaimRow<'a>>,
    /// One row per certificate (an UPDATE … FROM changes a row once), in id order:
    /// (id, amount, refusal).
    debits: Vec<(i64, i64, &'a str)>,
    saves: &'a [(i64, i64, String, String)],
    events: OutboxColumns<'a>,
    outcome: String,
}

impl<'a> Placement<'a> {
    /// [`PLACE`] bound; `alone` to commit it by itself (see `$11` there).
    fn statement(
        &'a self,
        stock_docs: &'a (Vec<i64>, Vec<String>),
        alone: bool,
    ) -> sqlx::query::QueryAs<'a, sqlx::Postgres, Placed, sqlx::postgres::PgArguments> {
        let (o, claims, saves) = (self.o, &self.claims, self.saves);
        sqlx::query_as(PLACE)
            .bind(self.store_id)
            .bind(self.id)
            .bind(&o.cart_id)
            .bind(o.status_id)
            .bind(o.customer_id)
            .bind(&o.currency_code)
            .bind(o.total_inc_tax_e4)
            .bind(o.now)
            .bind(&self.doc)
            .bind(self.reserved_until)
            .bind(alone)
            .bind(self.hold_before)
            .bind(claims.iter().map(|c| c.kind).collect::<Vec<_>>())
            .bind(claims.iter().map(|c| c.ref_id).collect::<Vec<_>>())
            .bind(claims.iter().map(|c| c.customer_id).collect::<Vec<_>>())
            .bind(claims.iter().map(|c| c.count).collect::<Vec<_>>())
            .bind(claims.iter().map(|c| c.slot).collect::<Vec<_>>())
            .bind(self.debits.iter().map(|d| d.0).collect::<Vec<_>>())
            .bind(self.debits.iter().map(|d| d.1).collect::<Vec<_>>())
            .bind(o.store_credit_e4)
            .bind(&stock_docs.0)
            .bind(&stock_docs.1)
            .bind(saves.iter().map(|s| s.0).collect::<Vec<_>>())
            .bind(saves.iter().map(|s| s.1).collect::<Vec<_>>())
            .bind(saves.iter().map(|s| s.2.as_str()).collect::<Vec<_>>())
            .bind(saves.iter().map(|s| s.3.as_str()).collect::<Vec<_>>())
            .bind(&self.events.0)
            .bind(&self.events.1)
            .bind(&self.events.2)
            .bind(o.idempotency.as_ref().map(|c| c.scope.as_str()))
            .bind(o.idempotency.as_ref().map(|c| c.key.as_str()))
            .bind(&self.outcome)
    }

    /// Why [`PLACE`]'s report refuses the order, if it does.
    fn refusal(&self, placed: &Placed) -> Option<String> {
        let (_, gifts, credit, recorded, _) = placed;
        let o = self.o;
        self.debits
            .iter()
            .find(|d| !gifts.contains(&d.0))
            .map(|d| d.2.to_string())
            .or_else(|| {
                (o.store_credit_e4 > 0 && *credit == 0).then(|| {
                    "The customer's store credit no longer covers the amount applied; refresh the checkout and try again.".to_string()
                })
            })
            .or_else(|| {
                (o.idempotency.is_some() && *recorded == 0).then(|| {
                    "This Idempotency-Key has already placed another order; send a new key for a new order.".to_string()
                })
            })
    }
}

/// Places an order with id `id` on PostgreSQL. When no product the order takes counts
/// stock and no use it claims has a limit, [`PLACE`] alone, committing by itself: a
/// popular coupon's use counter is then one of several rows, locked only until that
/// statement's commit. Should anything fall short there, or the cart have an earlier
/// unpaid order to replace, nothing was written and the placement goes the way that
/// finds out why: in a transaction, products counting stock locked and read first, the
/// earlier order's holdings given back and the limited uses claimed statement by
/// statement. (The limit checks stay out of [`PLACE`]: their subqueries made PostgreSQL
/// plan it anew for every order, 0.86 ms of its CPU each time.) Refusals are decided in
/// the same order as on SQLite: stock, uses, gift certificates, store credit, the key.
async fn place_on_postgres(
    store: &Store,
    pool: &sqlx::PgPool,
    store_id: i64,
    o: &NewOrder,
    id: i64,
    saves: &[(i64, i64, String, String)],
    known: &ProductsById,
) -> Result<i64, PlaceOrderError> {
    // Products that may count stock: all but those the cart read found not to.
    let mut lock: Vec<i64> = o
        .stock
        .iter()
        .map(|t| t.product_id)
        .filter(|p| known.get(p).is_none_or(|p| p.tracks_stock()))
        .collect();
    lock.sort_unstable();
    lock.dedup();
    let mut debits: BTreeMap<i64, (i64, &str)> = BTreeMap::new();
    for g in &o.gift_certificates {
        debits.entry(g.id).or_insert((0, &g.label)).0 += g.amount_e4;
    }
    let events = o.events(id);
    let (limited, claims): (Vec<ClaimRow<'_>>, Vec<ClaimRow<'_>>) = claim_rows(&o.claims, id)?
        .into_iter()
        .partition(|c| c.max > 0);
    let placement = Placement {
        store_id,
        id,
        o,
        doc: o.doc.placed(id, &o.held(Some(id)))?,
        reserved_until: if o.status_id == 0 {
            o.reserved_until
        } else {
            0
        },
        hold_before: o.now - PAYMENT_HOLD_SECS,
        claims,
        limited,
        debits: debits.into_iter().map(|(id, d)| (id, d.0, d.1)).collect(),
        saves,
        events: outbox_columns(&events),
        outcome: format!("order:{id}"),
    };
    let no_stock = (Vec::new(), Vec::new());
    if lock.is_empty() && placement.limited.is_empty() {
        let placed = store
            .with_hot(async |c| Ok(placement.statement(&no_stock, true).fetch_one(c).await?))
            .await;
        match placed {
            Ok(_) => return Ok(id),
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some(PLACEMENT_REFUSED) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut tx = pool.begin().await?;
    let mut stock_docs: (Vec<i64>, Vec<String>) = (Vec::new(), Vec::new());
    let rows: Vec<(bool, i64, String)> = sqlx::query_as(RELEASE_AND_LOCK)
        .bind(store_id)
        .bind(&o.cart_id)
        .bind(placement.hold_before)
        .bind(o.now)
        .bind(&lock)
        .fetch_all(&mut *tx)
        .await?;
    let mut changes = StockChanges::new();
    let mut returned: Vec<Held> = Vec::new();
    for (is_product, _, doc) in &rows {
        if !is_product {
            returned.push(Held::of(&serde_json::from_str(doc)?));
        }
    }
    for h in &returned {
        add_stock(&mut changes, &h.stock, -1);
    }
    add_stock(&mut changes, &o.stock, 1);
    for (is_product, product_id, doc) in &rows {
        let Some(change) = changes.get(product_id).filter(|_| *is_product) else {
            continue;
        };
        match changed_stock(doc, change)? {
            Ok(Some(doc)) => {
                stock_docs.0.push(*product_id);
                stock_docs.1.push(doc);
            }
            Ok(None) => {}
            Err(why) => return Err(PlaceOrderError::OutOfStock(why)),
        }
    }
    for h in &returned {
        return_held!(tx, store_id, h, o.now);
    }
    for c in &placement.limited {
        let claimed = sqlx::query(CLAIM_LIMITED)
            .bind(store_id)
            .bind(c.kind)
            .bind(c.ref_id)
            .bind(c.customer_id)
            .bind(c.count)
            .bind(c.max)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            return Err(PlaceOrderError::Refused(c.label.to_string()));
        }
    }
    let placed = placement
        .statement(&stock_docs, false)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(why) = placement.refusal(&placed) {
        tx.rollback().await?;
        return Err(PlaceOrderError::Refused(why));
    }
    tx.commit().await?;
    Ok(id)
}

/// One row of [`PLACE`]'s claims: the uses an order takes of one (kind, ref id,
/// customer), together, and the tightest limit among them (0 = none).
struct ClaimRow<'a> {
    kind: &'a str,
    ref_id: i64,
    customer_id: i64,
    slot: i64,
    count: i64,
    max: i64,
    label: &'a str,
}

/// The claims as rows sorted as every placement locks them, one per use counter (a
/// multi-row upsert may touch a row once). A counter claimed more often than its limit
/// allows is refused at once.
fn claim_rows(claims: &[UseClaim], order_id: i64) -> Result<Vec<ClaimRow<'_>>, PlaceOrderError> {
    let mut rows: BTreeMap<(&str, i64, i64), ClaimRow<'_>> = BTreeMap::new();
    for c in claims {
        let row = rows
            .entry((c.kind.as_str(), c.ref_id, c.customer_id))
            .or_insert(ClaimRow {
                kind: c.kind.as_str(),
                ref_id: c.ref_id,
                customer_id: c.customer_id,
                slot: use_slot(claims, c, Some(order_id)),
                count: 0,
                max: 0,
                label: &c.label,
            });
        row.count += 1;
        if c.max > 0 && (row.max == 0 || c.max < row.max) {
            row.max = c.max;
            row.label = &c.label;
        }
    }
    if let Some(r) = rows.values().find(|r| r.max > 0 && r.count > r.max) {
        return Err(PlaceOrderError::Refused(r.label.to_string()));
    }
    Ok(rows.into_values().collect())
}
