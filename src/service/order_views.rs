//! Reading placed orders (V2 Orders API): lists, counts and one order with its parts,
//! each order read back from its snapshot. Another store's order is "not found".

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::money::Money;
use crate::domain::order::{ORDER_STATUSES, PlacedOrder};
use crate::store::StoreRecord;
use crate::store::order_queries::{OrderQuery, OrderRow};

/// What to list, beyond what the store filters on.
#[derive(Clone, Debug, Default)]
pub struct OrderListFilter {
    pub query: OrderQuery,
    /// Compared without regard to case with the billing (else cart) email.
    pub email: Option<String>,
}

/// One status and how many orders have it.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusCount {
    pub id: i64,
    pub count: i64,
}

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Order {id} does not exist."))
}

fn read(row: OrderRow) -> ServiceResult<PlacedOrder> {
    let doc = serde_json::from_str(&row.doc).map_err(crate::store::StoreError::from)?;
    let mut o = PlacedOrder::from_doc(row.id, row.status_id, row.date_modified, doc)
        .map_err(crate::store::StoreError::from)?;
    o.is_deleted = row.is_deleted;
    o.refunded = Money::from_e4(row.refunded_e4);
    Ok(o)
}

impl Kassa {
    /// Orders matching the filter, in the order asked for, one page of them.
    pub async fn list_orders(
        &self,
        store: &StoreRecord,
        filter: &OrderListFilter,
        page: i64,
        limit: i64,
    ) -> ServiceResult<Vec<PlacedOrder>> {
        let offset = (page - 1).max(0).saturating_mul(limit);
        let Some(email) = filter.email.as_deref() else {
            let mut q = filter.query.clone();
            q.page = Some((limit, offset));
            let rows = self.store.list_orders(store.id, &q).await?;
            return rows.into_iter().map(read).collect();
        };
        // The email lives in the snapshot: filter here, then page.
        let mut q = filter.query.clone();
        q.page = None;
        let rows = self.store.list_orders(store.id, &q).await?;
        let mut out = Vec::new();
        for row in rows {
            let o = read(row)?;
            if o.email().eq_ignore_ascii_case(email) {
                out.push(o);
            }
        }
        Ok(out
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect())
    }

    /// Orders per status (all 15, with zeros) for the filter, and the total.
    pub async fn count_orders(
        &self,
        store: &StoreRecord,
        filter: &OrderListFilter,
    ) -> ServiceResult<(Vec<StatusCount>, i64)> {
        let by_status: Vec<(i64, i64)> = if filter.email.is_some() {
            let all = self
                .list_orders(store, filter, 1, i64::from(i32::MAX))
                .await?;
            let mut counts: Vec<(i64, i64)> = Vec::new();
            for o in all {
                match counts.iter_mut().find(|(s, _)| *s == o.status_id) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((o.status_id, 1)),
                }
            }
            counts
        } else {
            self.store
                .count_orders_by_status(store.id, &filter.query)
                .await?
        };
        let statuses = ORDER_STATUSES
            .iter()
            .map(|(id, _, _)| StatusCount {
                id: *id,
                count: by_status
                    .iter()
                    .find(|(s, _)| s == id)
                    .map(|(_, n)| *n)
                    .unwrap_or(0),
            })
            .collect();
        let total = by_status.iter().map(|(_, n)| n).sum();
        Ok((statuses, total))
    }

    /// One order of this store.
    pub async fn get_order(&self, store: &StoreRecord, id: i64) -> ServiceResult<PlacedOrder> {
        match self.store.order_row(store.id, id).await? {
            Some(row) => read(row),
            None => Err(not_found(id)),
        }
    }
}
