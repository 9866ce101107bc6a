//! Payment access tokens, order transactions, and the order's payment hold: a payment
//! first holds its order (one UPDATE guarded by status and hold), so two payments for
//! one order are never sent to the gateway; the approved one then marks the token used,
//! moves the order on and records the transaction in one transaction.

use super::{Store, StoreResult, on_pool};

/// One row of `order_transactions`.
#[derive(Clone, Debug)]
pub struct TransactionRow {
    pub id: String,
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
}

impl PayableOrder {
    /// Whether what the order holds has been (or is about to be) given back.
    pub fn lapsed(&self, now: i64) -> bool {
        self.released || (self.reserved_until > 0 && self.reserved_until < now)
    }
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

/// How long a hold stays valid if its request died (seconds).
const HOLD_SECS: i64 = super::orders::PAYMENT_HOLD_SECS;

macro_rules! insert_transaction {
    ($exec:expr, $store_id:expr, $t:expr) => {
        sqlx::query(
            "INSERT INTO order_transactions (store_id, id, order_id, event, status, amount_e4,
                currency_code, gateway, created_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .execute($exec)
        .await?
    };
}

impl Store {
    pub async fn insert_payment_token(
        &self,
        token_hash: &str,
        store_id: i64,
        order_id: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO payment_access_tokens (token_hash, store_id, order_id, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(store_id)
            .bind(order_id)
            .bind(expires_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// (store id, order id, expires at, used at) of a token.
    pub async fn payment_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(i64, i64, i64, Option<i64>)>> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT store_id, order_id, expires_at, used_at FROM payment_access_tokens
                 WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn payable_order(
        &self,
        store_id: i64,
        order_id: i64,
    ) -> StoreResult<Option<PayableOrder>> {
        type Row = (i64, i64, String, String, i64, i64, i64);
        let row: Option<Row> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT status_id, total_inc_tax_e4, currency_code, cart_id, payment_started_at,
                        released, reserved_until
                 FROM orders WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(order_id)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map(
            |(
                status_id,
                total_inc_tax_e4,
                currency_code,
                cart_id,
                payment_started_at,
                released,
                reserved_until,
            )| {
                PayableOrder {
                    status_id,
                    total_inc_tax_e4,
                    currency_code,
                    cart_id,
                    payment_started_at,
                    released: released != 0,
                    reserved_until,
                }
            },
        ))
    }

    /// Holds an order awaiting payment (status 0) for one payment attempt.
    pub async fn hold_order_for_payment(
        &self,
        store_id: i64,
        order_id: i64,
        now: i64,
    ) -> StoreResult<Hold> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE orders SET payment_started_at = $3
                 WHERE store_id = $1 AND id = $2 AND status_id = 0 AND released = 0
                   AND payment_started_at < $4 AND (reserved_until = 0 OR reserved_until >= $3)",
            )
            .bind(store_id)
            .bind(order_id)
            .bind(now)
            .bind(now - HOLD_SECS)
            .execute(p)
            .await?
            .rows_affected()
        });
        if n == 1 {
            return Ok(Hold::Held);
        }
        Ok(match self.payable_order(store_id, order_id).await? {
            Some(o) if o.status_id == 0 && o.lapsed(now) => Hold::Lapsed,
            Some(o) if o.status_id == 0 => Hold::Busy,
            _ => Hold::NotPayable,
        })
    }

    /// Ends a hold after a failed attempt, recording the attempt.
    pub async fn release_payment_hold(
        &self,
        store_id: i64,
        failed: &TransactionRow,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            insert_transaction!(&mut *tx, store_id, failed);
            sqlx::query("UPDATE orders SET payment_started_at = 0 WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(failed.order_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records an approved payment: the token is spent, the order moves to `status_id`,
    /// the transaction is kept. False (nothing written) if the token was already spent
    /// or the order already moved on.
    pub async fn record_payment(
        &self,
        store_id: i64,
        token_hash: &str,
        status_id: i64,
        t: &TransactionRow,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let spent = sqlx::query(
                "UPDATE payment_access_tokens SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(token_hash)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let moved = sqlx::query(
                "UPDATE orders SET status_id = $3, payment_started_at = 0, date_modified = $4,
                        reserved_until = 0
                 WHERE store_id = $1 AND id = $2 AND status_id = 0 AND released = 0",
            )
            .bind(store_id)
            .bind(t.order_id)
            .bind(status_id)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if spent == 1 && moved == 1 {
                insert_transaction!(&mut *tx, store_id, t);
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
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
