//! Usage counters of coupons, promotions and promotion codes (`promotion_uses`).
//! Reads here are for display and pre-checks; the authoritative claim happens in the
//! order-placing transaction (see `orders.rs`), guarded by the limit in SQL.

use super::{Store, StoreResult, on_pool};
use std::collections::HashMap;

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UseKind {
    /// A Marketing V2 coupon (ref = coupon id).
    Coupon,
    /// A V3 promotion (ref = promotion id).
    Promotion,
    /// One code of a V3 coupon promotion (ref = code id).
    PromotionCode,
}

impl UseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UseKind::Coupon => "coupon",
            UseKind::Promotion => "promotion",
            UseKind::PromotionCode => "promotion_code",
        }
    }
}

impl Store {
    /// Uses so far of each of `ref_ids` by `customer_id` (0 = everyone together), the
    /// sum of the counter's slots. Ids never used are absent.
    pub async fn use_counts(
        &self,
        store_id: i64,
        kind: UseKind,
        customer_id: i64,
        ref_ids: &[i64],
    ) -> StoreResult<HashMap<i64, i64>> {
        if ref_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, i64)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT ref_id, CAST(SUM(uses) AS BIGINT) FROM promotion_uses
                 WHERE store_id = $1 AND kind = $2 AND customer_id = $3
                 GROUP BY ref_id",
            )
            .bind(store_id)
            .bind(kind.as_str())
            .bind(customer_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter(|(id, _)| ref_ids.contains(id))
            .collect())
    }
}

impl Store {
    /// Remembers a wrong gift-certificate code tried on a cart (each code once).
    pub async fn record_wrong_gift_code(
        &self,
        store_id: i64,
        cart_id: &str,
        code_key: &str,
        now: i64,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO gift_certificate_attempts (store_id, cart_id, code_key, at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (store_id, cart_id, code_key) DO UPDATE SET at = excluded.at",
            )
            .bind(store_id)
            .bind(cart_id)
            .bind(code_key)
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Distinct wrong codes tried on a cart since `since`, and when the oldest was tried.
    pub async fn wrong_gift_codes_since(
        &self,
        store_id: i64,
        cart_id: &str,
        since: i64,
    ) -> StoreResult<(i64, Option<i64>)> {
        let row: (i64, Option<i64>) = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM gift_certificate_attempts
                 WHERE store_id = $1 AND cart_id = $2 AND at >= $3",
            )
            .bind(store_id)
            .bind(cart_id)
            .bind(since)
            .fetch_one(p)
            .await?
        });
        Ok(row)
    }
}
