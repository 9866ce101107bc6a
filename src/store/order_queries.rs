//! Reading orders: filtered, sorted and paged lists. The filter becomes a WHERE clause
//! of `$N` parameters both backends accept; the sort column comes from a fixed list,
//! so the SQL text holds no caller input (hence `AssertSqlSafe`).

use super::{Store, StoreResult, on_pool};
use sqlx::{AssertSqlSafe, Row};

/// Columns an order list can be sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderSort {
    #[default]
    Id,
    CustomerId,
    DateCreated,
    DateModified,
    StatusId,
}

impl OrderSort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => OrderSort::Id,
            "customer_id" => OrderSort::CustomerId,
            "date_created" => OrderSort::DateCreated,
            "date_modified" => OrderSort::DateModified,
            "status_id" => OrderSort::StatusId,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            OrderSort::Id => "id",
            OrderSort::CustomerId => "customer_id",
            OrderSort::DateCreated => "date_created",
            OrderSort::DateModified => "date_modified",
            OrderSort::StatusId => "status_id",
        }
    }
}

/// What to list: every bound is inclusive; `None` = no bound.
#[derive(Clone, Debug, Default)]
pub struct OrderQuery {
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub status_id: Option<i64>,
    /// Ten-thousandths, compared with the total including tax.
    pub min_total_e4: Option<i64>,
    pub max_total_e4: Option<i64>,
    pub min_date_created: Option<i64>,
    pub max_date_created: Option<i64>,
    pub min_date_modified: Option<i64>,
    pub max_date_modified: Option<i64>,
    pub cart_id: Option<String>,
    /// 1 = archived orders only, 0 = those not archived; `None` = both.
    pub is_deleted: Option<i64>,
    pub sort: OrderSort,
    pub descending: bool,
    /// `(limit, offset)`; `None` = every match.
    pub page: Option<(i64, i64)>,
}

/// One stored order.
#[derive(Clone, Debug)]
pub struct OrderRow {
    pub id: i64,
    pub status_id: i64,
    pub date_modified: i64,
    pub doc: String,
    pub is_deleted: bool,
    /// Sum of the order's refunds, ten-thousandths.
    pub refunded_e4: i64,
}

enum Bind {
    Int(i64),
    Text(String),
}

fn where_clause(store_id: i64, q: &OrderQuery) -> (String, Vec<Bind>) {
    let mut sql = String::from("store_id = $1");
    let mut binds = vec![Bind::Int(store_id)];
    let ints = [
        ("id >=", q.min_id),
        ("id <=", q.max_id),
        ("customer_id =", q.customer_id),
        ("status_id =", q.status_id),
        ("total_inc_tax_e4 >=", q.min_total_e4),
        ("total_inc_tax_e4 <=", q.max_total_e4),
        ("date_created >=", q.min_date_created),
        ("date_created <=", q.max_date_created),
        ("date_modified >=", q.min_date_modified),
        ("date_modified <=", q.max_date_modified),
        ("is_deleted =", q.is_deleted),
    ];
    for (cond, value) in ints {
        if let Some(v) = value {
            binds.push(Bind::Int(v));
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        }
    }
    if let Some(c) = &q.cart_id {
        binds.push(Bind::Text(c.clone()));
        sql.push_str(&format!(" AND cart_id = ${}", binds.len()));
    }
    (sql, binds)
}

impl Store {
    /// The orders matching `q`, sorted (ties by id) and paged.
    pub async fn list_orders(&self, store_id: i64, q: &OrderQuery) -> StoreResult<Vec<OrderRow>> {
        let (cond, binds) = where_clause(store_id, q);
        let dir = if q.descending { "DESC" } else { "ASC" };
        let mut sql = format!(
            "SELECT id, status_id, date_modified, doc, is_deleted, refunded_e4 FROM orders WHERE {cond} ORDER BY {} {dir}, id {dir}",
            q.sort.column()
        );
        if let Some((limit, offset)) = q.page {
            sql.push_str(&format!(" LIMIT {} OFFSET {}", limit.max(0), offset.max(0)));
        }
        on_pool!(self, read, |p| {
            let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
            for b in &binds {
                query = match b {
                    Bind::Int(v) => query.bind(*v),
                    Bind::Text(v) => query.bind(v.clone()),
                };
            }
            let rows = query.fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(OrderRow {
                        id: r.try_get("id")?,
                        status_id: r.try_get("status_id")?,
                        date_modified: r.try_get("date_modified")?,
                        doc: r.try_get("doc")?,
                        is_deleted: r.try_get::<i64, _>("is_deleted")? != 0,
                        refunded_e4: r.try_get("refunded_e4")?,
                    })
                })
                .collect()
        })
    }

    /// How many orders match `q`, per status id (statuses with none left out).
    pub async fn count_orders_by_status(
        &self,
        store_id: i64,
        q: &OrderQuery,
    ) -> StoreResult<Vec<(i64, i64)>> {
        let (cond, binds) = where_clause(store_id, q);
        let sql = format!(
            "SELECT status_id, COUNT(*) AS n FROM orders WHERE {cond} GROUP BY status_id ORDER BY status_id"
        );
        on_pool!(self, read, |p| {
            let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
            for b in &binds {
                query = match b {
                    Bind::Int(v) => query.bind(*v),
                    Bind::Text(v) => query.bind(v.clone()),
                };
            }
            let rows = query.fetch_all(p).await?;
            rows.iter()
                .map(|r| Ok((r.try_get("status_id")?, r.try_get("n")?)))
                .collect()
        })
    }

    /// One order's row.
    pub async fn order_row(&self, store_id: i64, id: i64) -> StoreResult<Option<OrderRow>> {
        let q = OrderQuery {
            min_id: Some(id),
            max_id: Some(id),
            ..OrderQuery::default()
        };
        Ok(self.list_orders(store_id, &q).await?.into_iter().next())
    }
}
