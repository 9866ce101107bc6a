//! Payment access tokens, order transactions, and the order's payment hold: a payment
//! first holds its order (one UPDATE guarded by status and hold), so two payments for
//! one order are never sent to the gateway; the approved one then marks the token used,
//! moves the order on and records the transaction in one transaction. PostgreSQL does
//! each step in one statement that commits by itself (`HOLD_BY_TOKEN`,
//! `RECORD_PAYMENT`, `RELEASE_HOLD_RECORDING`), SQLite statement by statement in its
//! one writer, where a round trip costs little.

use super::cart_events::{CartWrite, delete_cart_belongings};
use super::catalog::decode;
use super::orders::{Held, StockChanges, add_stock, change_stock, give_back, return_held};
use super::outbox::{Listeners, OutboxEvent, insert_outbox};
use super::statement::stmt;
use super::{Store, StoreError, StoreResult, on_pool, read_on, write_tx};
use serde_json::json;

/// One row of `order_transactions`.
#[derive(Clone, Debug)]
pub struct TransactionRow {
    pub id: String,
    /// The integer id Orders V3 shows; given when the row is written (0 before).
    pub number: i64,
    pub order_id: i64,
    pub event: String,
    pub status: String,
    pub amount_e4: i64,
    pub currency_code: String,
    pub gateway: String,
    pub created_at: i64,
    pub doc: String,
}

/// An order as paying it needs to see it.
#[derive(Clone, Debug)]
pub struct PayableOrder {
    pub status_id: i64,
    pub total_inc_tax_e4: i64,
    pub currency_code: String,
    pub cart_id: String,
    pub payment_started_at: i64,
    /// Its reservation lapsed or it was replaced or cancelled: it can no longer be paid.
    pub released: bool,
    /// Unix seconds after which an unpaid order's reservation lapses (0 = none).
    pub reserved_until: i64,
    pub customer_id: i64,
    /// Authorized, captured and refunded so far through payment instruments.
    pub authorized_e4: i64,
    pub paid_e4: i64,
    pub refunded_e4: i64,
}

impl PayableOrder {
    /// Incomplete, or Pending with part paid: more payment is expected.
    pub fn awaits_payment(&self) -> bool {
        self.status_id == 0 || self.status_id == 1
    }

    /// Whether what the order holds has been (or is about to be) given back.
    pub fn lapsed(&self, now: i64) -> bool {
        self.released || (self.reserved_until > 0 && self.reserved_until < now)
    }
}

/// What a payment reads before it holds its order ([`Store::payment_context`]).
#[derive(Clone, Debug)]
pub struct PaymentContext {
    /// The token's store, order, expiry and use.
    pub store_id: i64,
    pub order_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The order the token is bound to; None when it does not exist.
    pub order: Option<PaymentOrder>,
    /// The store's payment setting (None until set).
    pub transaction_type: Option<String>,
}

/// An order as a payment sees it.
#[derive(Clone, Debug)]
pub struct PaymentOrder {
    pub status_id: i64,
    pub total_inc_tax_e4: i64,
    pub currency_code: String,
    pub customer_id: i64,
    /// Authorized so far through payment instruments.
    pub authorized_e4: i64,
    /// The order's document as stored: the payment reads only its cart, straight from
    /// the text (a `Value` of the whole order first was 4 % of a checkout's CPU).
    pub doc: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    Held,
    /// Another payment for this order is with the gateway.
    Busy,
    /// The order is no longer awaiting payment (or does not exist).
    NotPayable,
    /// The order's reservation lapsed, or a newer order from its cart replaced it.
    Lapsed,
}

/// Stored value a payment debits, guarded by its balance.
#[derive(Clone, Debug)]
pub enum StoredValueDebit {
    GiftCertificate { id: i64, amount_e4: i64 },
    StoreCredit { customer_id: i64, amount_e4: i64 },
}

/// A card kept for later payments: a token, never the number.
#[derive(Clone, Debug)]
pub struct NewStoredCard {
    pub token: String,
    pub customer_id: i64,
    pub doc: String,
}

/// Everything an approved payment writes.
#[derive(Clone, Debug)]
pub struct ApprovedPayment {
    pub transaction: TransactionRow,
    pub previous_status: i64,
    pub new_status: i64,
    /// Added to the order's authorized and captured amounts.
    pub authorized_e4: i64,
    pub paid_e4: i64,
    pub debit: Option<StoredValueDebit>,
    pub stored_card: Option<NewStoredCard>,
    /// The order's cart, deleted in the same transaction when this payment completes
    /// the order, with its events (`store/cart/converted`).
    pub close_cart: Option<(uuid::Uuid, Vec<OutboxEvent>)>,
    /// The events the store's hooks listen to; the others are not written.
    pub listeners: Listeners,
}

/// `store/order/statusUpdated` (when the status changes) and
/// `store/order/transaction/created`, those a hook listens to.
fn status_and_transaction_events(
    t: &TransactionRow,
    number: i64,
    from: i64,
    to: i64,
    listeners: &Listeners,
) -> Vec<OutboxEvent> {
    let mut events = Vec::new();
    if from != to {
        events.push(OutboxEvent::new(
            "store/order/statusUpdated",
            t.order_id,
            json!({"type": "order", "id": t.order_id,
                   "status": {"previous_status_id": from, "new_status_id": to}}),
        ));
    }
    events.push(transaction_event(t.order_id, number));
    listeners.keep_wanted(events)
}

const TRANSACTION_CREATED: &str = "store/order/transaction/created";

/// The webhook event of a transaction recorded for an order.
pub(super) fn transaction_event(order_id: i64, number: i64) -> OutboxEvent {
    OutboxEvent::new(
        TRANSACTION_CREATED,
        order_id,
        json!({"type": "order", "id": order_id, "transaction": {"id": number}}),
    )
}

/// How recording an approved payment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Done,
    /// The token was spent or the order moved on meanwhile; nothing written.
    AlreadyPaid,
    /// The gift certificate or store credit no longer covers the amount; nothing written.
    NoBalance,
}

/// Spends a payment access token ($1 its hash, $2 the time).
const SPEND_TOKEN: &str = "UPDATE payment_access_tokens SET used_at = $2
     WHERE token_hash = $1 AND used_at IS NULL";

/// Moves a paid order on from `$7` to `$3` at `$4`, adding `$5` authorized and `$6`
/// captured; a partly paid order (Pending, 1) keeps its reservation, any other move
/// ends it.
const MOVE_PAID_ORDER: &str =
    "UPDATE orders SET status_id = $3, payment_started_at = 0, date_modified = $4,
            reserved_until = CASE WHEN $3 = 1 THEN reserved_until ELSE 0 END,
            authorized_e4 = authorized_e4 + $5, paid_e4 = paid_e4 + $6
     WHERE store_id = $1 AND id = $2 AND status_id = $7 AND released = 0";

/// PostgreSQL: [`Store::payment_context`] and [`Store::hold_order_for_payment`] in one
/// statement. The token (`$1`, of store `$2`, live at `$3`, unused) is locked and the
/// order it is bound to held (the hold's guard as `hold_order_for_payment`'s, `$4` the
/// oldest hold still standing); the order is read as the hold left it, in
/// `payment_context`'s columns. No row when nothing was held. The token's lock is
/// waited for, so a payment that just spent it is seen: a hold never starts on a token
/// spent meanwhile.
const HOLD_BY_TOKEN: &str = "WITH token AS (
         SELECT order_id, expires_at FROM payment_access_tokens
         WHERE token_hash = $1 AND store_id = $2 AND expires_at > $3 AND used_at IS NULL
         FOR NO KEY UPDATE
     ), held AS (
         UPDATE orders o SET payment_started_at = $3
         FROM token t
         WHERE o.store_id = $2 AND o.id = t.order_id AND o.status_id IN (0, 1)
           AND o.released = 0 AND o.payment_started_at < $4
           AND (o.reserved_until = 0 OR o.reserved_until >= $3)
         RETURNING o.id, t.expires_at, o.status_id, o.total_inc_tax_e4, o.currency_code,
                   o.customer_id, o.authorized_e4, o.doc
     )
     SELECT $2::bigint, h.id, h.expires_at, NULL::bigint, h.status_id, h.total_inc_tax_e4,
            h.currency_code, h.customer_id, h.authorized_e4, h.doc,
            (SELECT transaction_type FROM payment_settings WHERE store_id = $2)
     FROM held h";

/// PostgreSQL: everything [`Store::record_payment`] writes, in one statement that
/// commits by itself. The rows whose state decides are locked and checked first — the
/// token (`$8`) unused, the order still at `$7` and not released, the gift certificate
/// (`$9`) or customer's store credit (`$10`, 0 = none) still covering `$11` — and only
/// when all hold (`go`) does anything change: the token is spent, the order moved on
/// (as [`MOVE_PAID_ORDER`]), the stored value debited, a card kept (`$12`–`$14`, token
/// NULL = none), the transaction recorded (`$15`–`$21`, numbered as `insert_transaction!`),
/// the cart `$22` (NULL = none) deleted with what hangs off it, and the events written
/// (`$23`–`$26`: the transaction's own event, whose data is NULL, gets its number here;
/// those marked as the cart's only when the cart was there). The writes find their rows
/// by key alone: locked above, they cannot have changed since the checks. (payable,
/// covered) comes back; either false means nothing was written.
const RECORD_PAYMENT: &str = r#"WITH token AS (
         SELECT 1 FROM payment_access_tokens WHERE token_hash = $8 AND used_at IS NULL
         FOR NO KEY UPDATE
     ), unpaid AS (
         SELECT 1 FROM orders WHERE store_id = $1 AND id = $2 AND status_id = $7 AND released = 0
         FOR NO KEY UPDATE
     ), gift_balance AS (
         SELECT 1 FROM gift_certificates
         WHERE $9 > 0 AND store_id = $1 AND id = $9 AND balance_e4 >= $11
         FOR NO KEY UPDATE
     ), credit_balance AS (
         SELECT 1 FROM customers
         WHERE $10 > 0 AND store_id = $1 AND id = $10 AND store_credit_e4 >= $11
         FOR NO KEY UPDATE
     ), checked AS (
         SELECT EXISTS (SELECT 1 FROM token) AND EXISTS (SELECT 1 FROM unpaid) AS payable,
                ($9 = 0 AND $10 = 0) OR EXISTS (SELECT 1 FROM gift_balance)
                    OR EXISTS (SELECT 1 FROM credit_balance) AS covered
     ), go AS (
         SELECT 1 FROM checked WHERE payable AND covered
     ), spent AS (
         UPDATE payment_access_tokens SET used_at = $4
         WHERE token_hash = $8 AND EXISTS (SELECT 1 FROM go)
     ), moved AS (
         UPDATE orders SET status_id = $3, payment_started_at = 0, date_modified = $4,
                reserved_until = CASE WHEN $3 = 1 THEN reserved_until ELSE 0 END,
                authorized_e4 = authorized_e4 + $5, paid_e4 = paid_e4 + $6
         WHERE store_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM go)
     ), gift_debited AS (
         UPDATE gift_certificates SET balance_e4 = balance_e4 - $11
         WHERE store_id = $1 AND id = $9 AND EXISTS (SELECT 1 FROM go)
     ), credit_debited AS (
         UPDATE customers SET store_credit_e4 = store_credit_e4 - $11, date_modified = $4
         WHERE store_id = $1 AND id = $10 AND EXISTS (SELECT 1 FROM go)
     ), card_kept AS (
         INSERT INTO stored_instruments (store_id, token, customer_id, created_at, doc)
         SELECT $1, $12, $13, $4, $14 FROM go WHERE $12::text IS NOT NULL
     ), cart_gone AS (
         DELETE FROM carts WHERE id = $22 AND store_id = $1 AND EXISTS (SELECT 1 FROM go)
         RETURNING id
     ), metafields_gone AS (
         DELETE FROM metafields
         WHERE resource_type = 'cart' AND resource_id = $22 AND store_id = $1
           AND EXISTS (SELECT 1 FROM cart_gone)
     ), redirects_gone AS (
         DELETE FROM cart_redirect_tokens WHERE cart_id = $22 AND store_id = $1
           AND EXISTS (SELECT 1 FROM cart_gone)
     ), checkout_tokens_gone AS (
         DELETE FROM checkout_tokens WHERE cart_id = $22 AND store_id = $1
           AND EXISTS (SELECT 1 FROM cart_gone)
     ), recorded AS (
         INSERT INTO order_transactions (store_id, id, order_id, event, status, amount_e4,
             currency_code, gateway, created_at, doc, number)
         SELECT $1, $15, $2, $16, $17, $18, $19, $20, $4, $21,
                $2 * 1000 + 1 + (SELECT COUNT(*) FROM order_transactions
                                 WHERE store_id = $1 AND order_id = $2)
         FROM go
         RETURNING number
     ), events AS (
         INSERT INTO webhook_outbox (store_id, created_at, scope, resource_id, data)
         SELECT $1, $4, e.scope, e.resource_id,
                COALESCE(e.data, '{"id":' || $2 || ',"transaction":{"id":' || r.number
                                 || '},"type":"order"}')
         FROM recorded r,
              unnest($23::text[], $24::text[], $25::text[], $26::bool[]) WITH ORDINALITY
                  AS e(scope, resource_id, data, of_cart, n)
         WHERE NOT e.of_cart OR EXISTS (SELECT 1 FROM cart_gone)
         ORDER BY e.n
     )
     SELECT payable, covered FROM checked"#;

/// PostgreSQL: [`Store::release_payment_hold`] in one statement, the failed attempt
/// recorded as `insert_transaction!` records it ($1–$10).
const RELEASE_HOLD_RECORDING: &str = "WITH released AS (
         UPDATE orders SET payment_started_at = 0 WHERE store_id = $1 AND id = $3
     )
     INSERT INTO order_transactions (store_id, id, order_id, event, status, amount_e4,
         currency_code, gateway, created_at, doc, number)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
             $3 * 1000 + 1 + (SELECT COUNT(*) FROM order_transactions
                              WHERE store_id = $1 AND order_id = $3))";

/// Binds an approved payment's move of its order, `$1`–`$7` of [`MOVE_PAID_ORDER`] and
/// [`RECORD_PAYMENT`], on either backend's statement.
macro_rules! bind_order_move {
    ($q:expr, $store_id:expr, $p:expr) => {
        $q.bind($store_id)
            .bind($p.transaction.order_id)
            .bind($p.new_status)
            .bind($p.transaction.created_at)
            .bind($p.authorized_e4)
            .bind($p.paid_e4)
            .bind($p.previous_status)
    };
}

/// How long a hold stays valid if its request died (seconds).
const HOLD_SECS: i64 = super::orders::PAYMENT_HOLD_SECS;

/// Writes a transaction and returns its number: the order id × 1000 plus its place among
/// the order's transactions (written while the order is held or locked, so never twice).
macro_rules! insert_transaction {
    ($exec:expr, $store_id:expr, $t:expr) => {
        $crate::store::statement::stmt(
            "INSERT INTO order_transactions (store_id, id, order_id, event, status, amount_e4,
                currency_code, gateway, created_at, doc, number)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                     $3 * 1000 + 1 + (SELECT COUNT(*) FROM order_transactions
                                      WHERE store_id = $1 AND order_id = $3))
             RETURNING number",
        )
        .bind($store_id)
        .bind(&$t.id)
        .bind($t.order_id)
        .bind(&$t.event)
        .bind(&$t.status)
        .bind($t.amount_e4)
        .bind(&$t.currency_code)
        .bind(&$t.gateway)
        .bind($t.created_at)
        .bind(&$t.doc)
        .fetch_one_scalar::<i64, _>($exec)
        .await?
    };
}
pub(super) use insert_transaction;

impl Store {
    /// Keeps a new payment access token for an order that awaits payment (Incomplete or
    /// Pending, not released, its reservation not lapsed at `now`), checking the order
    /// and inserting the token in one statement. False, with nothing written, when the
    /// order does not exist or cannot be paid.
    pub async fn insert_payment_token_if_payable(
        &self,
        token_hash: &str,
        store_id: i64,
        order_id: i64,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let n = self
            .execute_write(
                stmt(
                    "INSERT INTO payment_access_tokens (token_hash, store_id, order_id, expires_at)
                     SELECT $1, $2, $3, $4 FROM orders
                     WHERE store_id = $2 AND id = $3 AND status_id IN (0, 1) AND released = 0
                       AND (reserved_until <= 0 OR reserved_until >= $5)",
                )
                .bind(token_hash.to_string())
                .bind(store_id)
                .bind(order_id)
                .bind(expires_at)
                .bind(now),
            )
            .await?;
        Ok(n == 1)
    }

    /// (store id, order id, expires at, used at) of a token.
    pub async fn payment_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(i64, i64, i64, Option<i64>)>> {
        read_on!(self, |c| {
            stmt(
                "SELECT store_id, order_id, expires_at, used_at FROM payment_access_tokens
                 WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(c)
            .await?
        })
    }

    /// Everything a payment reads before it holds the order, in one query: the token,
    /// the order it is bound to (`order` None when the order does not exist), the
    /// order's document and the store's payment transaction type. None for an unknown
    /// token.
    pub async fn payment_context(&self, token_hash: &str) -> StoreResult<Option<PaymentContext>> {
        let row: Option<ContextRow> = read_on!(self, |c| {
            stmt(
                "SELECT t.store_id, t.order_id, t.expires_at, t.used_at, o.status_id,
                        o.total_inc_tax_e4, o.currency_code, o.customer_id, o.authorized_e4,
                        o.doc,
                        (SELECT transaction_type FROM payment_settings WHERE store_id = t.store_id)
                 FROM payment_access_tokens t
                 LEFT JOIN orders o ON o.store_id = t.store_id AND o.id = t.order_id
                 WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(c)
            .await?
        })?;
        row.map(context_of).transpose()
    }

    pub async fn payable_order(
        &self,
        store_id: i64,
        order_id: i64,
    ) -> StoreResult<Option<PayableOrder>> {
        type Row = (i64, i64, String, String, i64, i64, i64, i64, i64, i64, i64);
        let row: Option<Row> = read_on!(self, |c| {
            stmt(
                "SELECT status_id, total_inc_tax_e4, currency_code, cart_id, payment_started_at,
                        released, reserved_until, customer_id, authorized_e4, paid_e4, refunded_e4
                 FROM orders WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_optional(c)
            .await?
        })?;
        Ok(row.map(
            |(
                status_id,
                total_inc_tax_e4,
                currency_code,
                cart_id,
                payment_started_at,
                released,
                reserved_until,
                customer_id,
                authorized_e4,
                paid_e4,
                refunded_e4,
            )| {
                PayableOrder {
                    status_id,
                    total_inc_tax_e4,
                    currency_code,
                    cart_id,
                    payment_started_at,
                    released: released != 0,
                    reserved_until,
                    customer_id,
                    authorized_e4,
                    paid_e4,
                    refunded_e4,
                }
            },
        ))
    }

    /// Holds an order awaiting payment (status 0) for one payment attempt, paid with the
    /// token `token_hash`, and only as the payment read it (`as_read`: its status and
    /// the amount authorized). A payment that completed between that read and this hold
    /// would otherwise leave this one charging what was due before it; the token still
    /// unused keeps a token spent meanwhile from paying twice. An order that moved on
    /// but still awaits payment is reported `Busy`: trying again reads it afresh.
    pub async fn hold_order_for_payment(
        &self,
        store_id: i64,
        order_id: i64,
        token_hash: &str,
        as_read: (i64, i64),
        now: i64,
    ) -> StoreResult<Hold> {
        let n = self
            .execute_write(
                stmt(
                    "UPDATE orders SET payment_started_at = $3
                     WHERE store_id = $1 AND id = $2 AND status_id IN (0, 1) AND released = 0
                       AND payment_started_at < $4 AND (reserved_until = 0 OR reserved_until >= $3)
                       AND status_id = $5 AND authorized_e4 = $6
                       AND EXISTS (SELECT 1 FROM payment_access_tokens
                                   WHERE token_hash = $7 AND used_at IS NULL)",
                )
                .bind(store_id)
                .bind(order_id)
                .bind(now)
                .bind(now - HOLD_SECS)
                .bind(as_read.0)
                .bind(as_read.1)
                .bind(token_hash.to_string()),
            )
            .await?;
        if n == 1 {
            return Ok(Hold::Held);
        }
        Ok(match self.payable_order(store_id, order_id).await? {
            Some(o) if o.awaits_payment() && o.lapsed(now) => Hold::Lapsed,
            Some(o) if o.awaits_payment() => Hold::Busy,
            _ => Hold::NotPayable,
        })
    }

    /// PostgreSQL: reads what a payment needs and holds its order in one statement
    /// ([`HOLD_BY_TOKEN`]), for a token of `store_id` that is live at `now` and unused,
    /// bound to an order that can be held. The context comes back only when the order
    /// was held; None when it was not, and always on SQLite (its statements are calls
    /// in process): the caller then goes the long way (`payment_context`,
    /// `hold_order_for_payment`), which tells why.
    pub async fn hold_order_by_token(
        &self,
        token_hash: &str,
        store_id: i64,
        now: i64,
    ) -> StoreResult<Option<PaymentContext>> {
        let super::Db::Postgres(_) = &self.db else {
            return Ok(None);
        };
        let row: Option<ContextRow> = self
            .with_hot(async |c| {
                Ok(sqlx::query_as(HOLD_BY_TOKEN)
                    .bind(token_hash)
                    .bind(store_id)
                    .bind(now)
                    .bind(now - HOLD_SECS)
                    .fetch_optional(c)
                    .await?)
            })
            .await?;
        row.map(context_of).transpose()
    }

    /// Ends a hold taken at `held_at` that no payment followed, recording nothing.
    pub async fn drop_payment_hold(
        &self,
        store_id: i64,
        order_id: i64,
        held_at: i64,
    ) -> StoreResult<()> {
        self.execute_write(
            stmt(
                "UPDATE orders SET payment_started_at = 0
                 WHERE store_id = $1 AND id = $2 AND payment_started_at = $3",
            )
            .bind(store_id)
            .bind(order_id)
            .bind(held_at),
        )
        .await?;
        Ok(())
    }

    /// Ends a hold after a failed attempt, recording the attempt.
    pub async fn release_payment_hold(
        &self,
        store_id: i64,
        failed: &TransactionRow,
    ) -> StoreResult<()> {
        if let super::Db::Postgres(pool) = &self.db {
            let t = failed;
            sqlx::query(RELEASE_HOLD_RECORDING)
                .bind(store_id)
                .bind(&t.id)
                .bind(t.order_id)
                .bind(&t.event)
                .bind(&t.status)
                .bind(t.amount_e4)
                .bind(&t.currency_code)
                .bind(&t.gateway)
                .bind(t.created_at)
                .bind(&t.doc)
                .execute(pool)
                .await?;
            return Ok(());
        }
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let _ = insert_transaction!(&mut *tx, store_id, failed);
            sqlx::query("UPDATE orders SET payment_started_at = 0 WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(failed.order_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records an approved payment in one transaction: the token is spent, stored value
    /// used as the instrument is debited (guarded by its balance), a card to keep is
    /// stored, the order moves on, the transaction is kept and the events are written.
    pub async fn record_payment(
        &self,
        store_id: i64,
        token_hash: &str,
        p: &ApprovedPayment,
    ) -> StoreResult<Recorded> {
        // PostgreSQL writes it all in one statement that commits by itself; SQLite,
        // whose statements are calls in process, runs them one by one in a
        // transaction, as it has no data-modifying WITH.
        let recorded = match &self.db {
            super::Db::Postgres(_) => {
                self.with_hot(async |c| record_on_postgres(c, store_id, token_hash, p).await)
                    .await
            }
            super::Db::Sqlite { .. } => self.record_on_sqlite(store_id, token_hash, p).await,
        };
        // The cart is gone once the payment is committed; after a failure it may or may
        // not be, so the cache forgets it.
        if let Some((cart_id, _)) = &p.close_cart
            && !matches!(recorded, Ok(Recorded::AlreadyPaid | Recorded::NoBalance))
        {
            self.cache_cart_write(recorded.is_ok(), *cart_id, CartWrite::Gone);
        }
        recorded
    }

    /// [`Store::record_payment`] on SQLite: one transaction, statement by statement.
    async fn record_on_sqlite(
        &self,
        store_id: i64,
        token_hash: &str,
        p: &ApprovedPayment,
    ) -> StoreResult<Recorded> {
        let token_hash = token_hash.to_string();
        let payment = p.clone();
        write_tx!(self, StoreError, |pool| {
            let p = &payment;
            let t = &p.transaction;
            let mut tx = pool.begin().await?;
            // The token is spent and the order moved on together, or neither: a spent
            // token (or an order that moved meanwhile) writes nothing.
            let spent = stmt(SPEND_TOKEN)
                .bind(&token_hash)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let moved = if spent == 1 {
                bind_order_move!(stmt(MOVE_PAID_ORDER), store_id, p)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            } else {
                0
            };
            if spent != 1 || moved != 1 {
                tx.rollback().await?;
                return Ok(Recorded::AlreadyPaid);
            }
            let debited = match &p.debit {
                None => 1,
                Some(StoredValueDebit::GiftCertificate { id, amount_e4 }) => stmt(
                    "UPDATE gift_certificates SET balance_e4 = balance_e4 - $3
                     WHERE store_id = $1 AND id = $2 AND balance_e4 >= $3",
                )
                .bind(store_id)
                .bind(*id)
                .bind(*amount_e4)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(StoredValueDebit::StoreCredit {
                    customer_id,
                    amount_e4,
                }) => stmt(
                    "UPDATE customers SET store_credit_e4 = store_credit_e4 - $3, date_modified = $4
                     WHERE store_id = $1 AND id = $2 AND store_credit_e4 >= $3",
                )
                .bind(store_id)
                .bind(*customer_id)
                .bind(*amount_e4)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if debited != 1 {
                tx.rollback().await?;
                return Ok(Recorded::NoBalance);
            }
            if let Some(card) = &p.stored_card {
                stmt(
                    "INSERT INTO stored_instruments (store_id, token, customer_id, created_at, doc)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(store_id)
                .bind(&card.token)
                .bind(card.customer_id)
                .bind(t.created_at)
                .bind(&card.doc)
                .execute(&mut *tx)
                .await?;
            }
            // The transaction, and the cart this payment completes deleted with what
            // hangs off it (a cart deleted meanwhile by its owner fires no second event).
            let (number, cart_gone) = match &p.close_cart {
                Some((cart_id, _)) => {
                    let number = insert_transaction!(&mut *tx, store_id, t);
                    let id = cart_id.to_string();
                    let gone = stmt("DELETE FROM carts WHERE id = $1 AND store_id = $2")
                        .bind(&id)
                        .bind(store_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if gone == 1 {
                        delete_cart_belongings!(tx, store_id, &id);
                    }
                    (number, gone as i64)
                }
                None => (insert_transaction!(&mut *tx, store_id, t), 0),
            };
            let mut events = status_and_transaction_events(
                t,
                number,
                p.previous_status,
                p.new_status,
                &p.listeners,
            );
            if let Some((_, cart_events)) = &p.close_cart
                && cart_gone == 1
            {
                events.extend(cart_events.iter().cloned());
            }
            insert_outbox!(tx, store_id, t.created_at, &events);
            tx.commit().await?;
            Recorded::Done
        })
    }

    /// The store's payment transaction type (`authorization` or
    /// `authorization_and_capture`); None until set.
    pub async fn payment_transaction_type(&self, store_id: i64) -> StoreResult<Option<String>> {
        read_on!(self, |c| {
            stmt("SELECT transaction_type FROM payment_settings WHERE store_id = $1")
                .bind(store_id)
                .fetch_optional_scalar(c)
                .await?
        })
    }

    pub async fn set_payment_transaction_type(&self, store_id: i64, kind: &str) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO payment_settings (store_id, transaction_type) VALUES ($1, $2)
                 ON CONFLICT (store_id) DO UPDATE SET transaction_type = excluded.transaction_type",
            )
            .bind(store_id)
            .bind(kind)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Stored cards of a customer, oldest first: (token, doc).
    pub async fn stored_instruments(
        &self,
        store_id: i64,
        customer_id: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT token, doc FROM stored_instruments WHERE store_id = $1 AND customer_id = $2
                 ORDER BY created_at, token",
            )
            .bind(store_id)
            .bind(customer_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// One stored card: (customer id, doc).
    pub async fn stored_instrument(
        &self,
        store_id: i64,
        token: &str,
    ) -> StoreResult<Option<(i64, String)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT customer_id, doc FROM stored_instruments WHERE store_id = $1 AND token = $2",
            )
            .bind(store_id)
            .bind(token)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Captures an authorized order (Awaiting Payment → Awaiting Fulfillment). False
    /// when the order is not awaiting capture.
    pub async fn capture_payment(
        &self,
        store_id: i64,
        t: &TransactionRow,
        listeners: &Listeners,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE orders SET status_id = 11, paid_e4 = authorized_e4, date_modified = $3
                 WHERE store_id = $1 AND id = $2 AND status_id = 7 AND released = 0
                   AND authorized_e4 > paid_e4",
            )
            .bind(store_id)
            .bind(t.order_id)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            let number = insert_transaction!(&mut *tx, store_id, t);
            let events = status_and_transaction_events(t, number, 7, 11, listeners);
            insert_outbox!(tx, store_id, t.created_at, &events);
            tx.commit().await?;
            true
        }))
    }

    /// Voids an authorized order: it moves to Cancelled and what it holds (stock, coupon
    /// uses, balances applied at checkout) is given back by `give_back!`, once. False when the order is not awaiting capture.
    pub async fn void_payment(
        &self,
        store_id: i64,
        t: &TransactionRow,
        listeners: &Listeners,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE orders SET status_id = 5, released = 1, reserved_until = 0,
                        authorized_e4 = 0, date_modified = $3
                 WHERE store_id = $1 AND id = $2 AND status_id = 7 AND released = 0
                   AND paid_e4 = 0",
            )
            .bind(store_id)
            .bind(t.order_id)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            let doc: String =
                sqlx::query_scalar("SELECT doc FROM orders WHERE store_id = $1 AND id = $2")
                    .bind(store_id)
                    .bind(t.order_id)
                    .fetch_one(&mut *tx)
                    .await?;
            // Nothing was captured (`paid_e4 = 0` above): the order is released as an
            // unpaid one, so stock, uses and balances applied at checkout all come back.
            give_back!(tx, store_id, &doc, true, t.created_at);
            let number = insert_transaction!(&mut *tx, store_id, t);
            let events = status_and_transaction_events(t, number, 7, 5, listeners);
            insert_outbox!(tx, store_id, t.created_at, &events);
            tx.commit().await?;
            true
        }))
    }

    /// Status of each transaction of an order, oldest first: (id, event, status, amount_e4).
    pub async fn order_transactions(
        &self,
        store_id: i64,
        order_id: i64,
    ) -> StoreResult<Vec<(String, String, String, i64)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, event, status, amount_e4 FROM order_transactions
                 WHERE store_id = $1 AND order_id = $2 ORDER BY created_at, id",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_all(p)
            .await?
        }))
    }
}

impl Store {
    /// Every transaction of an order, oldest first.
    pub async fn order_transaction_rows(
        &self,
        store_id: i64,
        order_id: i64,
    ) -> StoreResult<Vec<TransactionRow>> {
        type Row = (
            String,
            i64,
            String,
            String,
            i64,
            String,
            String,
            i64,
            String,
            i64,
        );
        let rows: Vec<Row> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, order_id, event, status, amount_e4, currency_code, gateway, created_at, doc,
                        number
                 FROM order_transactions WHERE store_id = $1 AND order_id = $2
                 ORDER BY number, created_at, id",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    order_id,
                    event,
                    status,
                    amount_e4,
                    currency_code,
                    gateway,
                    created_at,
                    doc,
                    number,
                )| {
                    TransactionRow {
                        id,
                        number,
                        order_id,
                        event,
                        status,
                        amount_e4,
                        currency_code,
                        gateway,
                        created_at,
                        doc,
                    }
                },
            )
            .collect())
    }
}

impl Store {
    /// The webhook events written about an order, oldest first: (scope, data).
    pub async fn order_outbox_events(
        &self,
        store_id: i64,
        order_id: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT scope, data FROM webhook_outbox WHERE store_id = $1 AND resource_id = $2
                 ORDER BY seq",
            )
            .bind(store_id)
            .bind(order_id.to_string())
            .fetch_all(p)
            .await?
        }))
    }
}

/// [`Store::record_payment`] on PostgreSQL: [`RECORD_PAYMENT`], one statement that
/// commits by itself (no BEGIN or COMMIT round trips).
async fn record_on_postgres(
    conn: &mut sqlx::PgConnection,
    store_id: i64,
    token_hash: &str,
    p: &ApprovedPayment,
) -> StoreResult<Recorded> {
    let t = &p.transaction;
    let (gift_certificate, credit_customer, debit_e4) = match &p.debit {
        None => (0, 0, 0),
        Some(StoredValueDebit::GiftCertificate { id, amount_e4 }) => (*id, 0, *amount_e4),
        Some(StoredValueDebit::StoreCredit {
            customer_id,
            amount_e4,
        }) => (0, *customer_id, *amount_e4),
    };
    // The events in order: the status change, the transaction's own (its data NULL: the
    // statement numbers the transaction), then the cart's, written only with the cart.
    let order_events =
        status_and_transaction_events(t, 0, p.previous_status, p.new_status, &p.listeners);
    let cart_events = p.close_cart.iter().flat_map(|(_, e)| e.iter());
    let events: Vec<(&OutboxEvent, bool)> = order_events
        .iter()
        .map(|e| (e, false))
        .chain(cart_events.map(|e| (e, true)))
        .collect();
    let card = p.stored_card.as_ref();
    let record = sqlx::query_as(RECORD_PAYMENT);
    let (payable, covered): (bool, bool) = bind_order_move!(record, store_id, p)
        .bind(token_hash)
        .bind(gift_certificate)
        .bind(credit_customer)
        .bind(debit_e4)
        .bind(card.map(|c| c.token.as_str()))
        .bind(card.map_or(0, |c| c.customer_id))
        .bind(card.map(|c| c.doc.as_str()))
        .bind(&t.id)
        .bind(&t.event)
        .bind(&t.status)
        .bind(t.amount_e4)
        .bind(&t.currency_code)
        .bind(&t.gateway)
        .bind(&t.doc)
        .bind(p.close_cart.as_ref().map(|(id, _)| id.to_string()))
        .bind(
            events
                .iter()
                .map(|(e, _)| e.scope.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|(e, _)| e.resource_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|(e, of_cart)| {
                    (*of_cart || e.scope != TRANSACTION_CREATED).then(|| e.data.to_string())
                })
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|(_, of_cart)| *of_cart)
                .collect::<Vec<_>>(),
        )
        .fetch_one(conn)
        .await?;
    Ok(if !payable {
        Recorded::AlreadyPaid
    } else if !covered {
        Recorded::NoBalance
    } else {
        Recorded::Done
    })
}

/// A payment's context as [`Store::payment_context`] and [`HOLD_BY_TOKEN`] read it: the
/// token's store, order, expiry and use, the order's columns (NULL when the order does
/// not exist), its document and the store's payment setting.
type ContextRow = (
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn context_of(row: ContextRow) -> StoreResult<PaymentContext> {
    let (
        store_id,
        order_id,
        expires_at,
        used_at,
        status_id,
        total_inc_tax_e4,
        currency_code,
        customer_id,
        authorized_e4,
        doc,
        transaction_type,
    ) = row;
    // The order's columns are NOT NULL: all set when the order was found.
    let order = match (status_id, doc) {
        (Some(status_id), Some(doc)) => Some(PaymentOrder {
            status_id,
            total_inc_tax_e4: total_inc_tax_e4.unwrap_or_default(),
            currency_code: currency_code.unwrap_or_default(),
            customer_id: customer_id.unwrap_or_default(),
            authorized_e4: authorized_e4.unwrap_or_default(),
            doc,
        }),
        _ => None,
    };
    Ok(PaymentContext {
        store_id,
        order_id,
        expires_at,
        used_at,
        order,
        transaction_type,
    })
}
