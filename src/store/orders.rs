//! Orders, and the one transaction that places an order: it takes the order id, claims
//! every limited use (coupons, promotions, codes), debits gift certificates and store
//! credit, and inserts the order — all or nothing. Each claim is an UPDATE whose WHERE
//! clause holds the limit, so concurrent placements can never exceed it: on SQLite the
//! single writer serializes them, on PostgreSQL the row lock does (READ COMMITTED
//! re-checks the WHERE clause on the locked row).

use super::usage::UseKind;
use super::{Store, StoreError, StoreResult, on_pool};
use serde_json::Value;

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
    /// The order document; its `id` is filled in with the new order id.
    pub doc: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// A limit or balance no longer allows the order; nothing was written.
    #[error("{0}")]
    Refused(String),
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

macro_rules! place_on {
    ($pool:expr, $store_id:expr, $o:expr) => {{
        let mut tx = $pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO counters (store_id, name, value) VALUES ($1, 'order', 1)
             ON CONFLICT (store_id, name) DO UPDATE SET value = counters.value + 1
             RETURNING value",
        )
        .bind($store_id)
        .fetch_one(&mut *tx)
        .await?;
        for c in &$o.claims {
            sqlx::query(
                "INSERT INTO promotion_uses (store_id, kind, ref_id, customer_id, uses)
                 VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
            )
            .bind($store_id)
            .bind(c.kind.as_str())
            .bind(c.ref_id)
            .bind(c.customer_id)
            .execute(&mut *tx)
            .await?;
            let n = sqlx::query(
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
        for g in &$o.gift_certificates {
            let n = sqlx::query(
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
            let n = sqlx::query(
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
        let mut doc = $o.doc.clone();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("id".into(), Value::from(id));
        }
        sqlx::query(
            "INSERT INTO orders (store_id, id, cart_id, status_id, customer_id, currency_code,
                                 total_inc_tax_e4, date_created, date_modified, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind($store_id)
        .bind(id)
        .bind(&$o.cart_id)
        .bind($o.status_id)
        .bind($o.customer_id)
        .bind(&$o.currency_code)
        .bind($o.total_inc_tax_e4)
        .bind($o.now)
        .bind(serde_json::to_string(&doc)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        id
    }};
}

impl Store {
    /// Places an order atomically; `Refused` when a limit or balance stands in the way.
    pub async fn place_order(&self, store_id: i64, o: &NewOrder) -> Result<i64, PlaceOrderError> {
        let id = on_pool!(self, write, |p| place_on!(p, store_id, o));
        Ok(id)
    }

    /// An order's stored document.
    pub async fn order_doc(&self, store_id: i64, id: i64) -> StoreResult<Option<Value>> {
        let doc: Option<String> = on_pool!(self, read, |p| {
            sqlx::query_scalar("SELECT doc FROM orders WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .fetch_optional(p)
                .await?
        });
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
