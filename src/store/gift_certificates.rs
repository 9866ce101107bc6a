//! Gift certificates (`gift_certificates`): the balance and what queries need in columns
//! (`amount_e4`/`balance_e4` in ten-thousandths, `code_key` lower-cased for the unique
//! index and case-insensitive lookups), the rest (names, emails, template, message) in
//! `doc`.
//!
//! Also the small dynamic-query helpers the customer queries share: conditions built with
//! numbered parameters, and reading a field of the JSON `doc` in each backend's dialect.

pub(super) use super::statement::{Arg, bind_args};
use super::{Db, Store, StoreResult, on_pool};
use crate::domain::gift_certificate::{GiftCertificate, GiftCertificateStatus, code_key};
use crate::domain::money::Money;
use serde::{Deserialize, Serialize};

/// `WHERE` conditions with their parameters, numbered in the order they are added. The
/// first is always the store.
#[derive(Clone, Debug)]
pub(super) struct Conds {
    pub sql: String,
    pub args: Vec<Arg<'static>>,
}

impl Conds {
    pub fn for_store(store_id: i64) -> Self {
        Conds {
            sql: "store_id = $1".to_string(),
            args: vec![Arg::Int(store_id)],
        }
    }

    /// Registers a parameter and returns its placeholder (`$3`).
    pub fn param(&mut self, a: Arg<'static>) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// Adds ` AND (cond)`.
    pub fn and(&mut self, cond: &str) {
        self.sql.push_str(" AND (");
        self.sql.push_str(cond);
        self.sql.push(')');
    }

    /// `expr IN ($a, $b, …)`; an empty list matches nothing.
    pub fn and_in(&mut self, expr: &str, values: Vec<Arg<'static>>) {
        if values.is_empty() {
            self.and("1 = 0");
            return;
        }
        let list = values
            .into_iter()
            .map(|v| self.param(v))
            .collect::<Vec<_>>()
            .join(", ");
        self.and(&format!("{expr} IN ({list})"));
    }
}

impl Store {
    /// SQL reading the string field `field` of the row's JSON `doc`. `field` is a name
    /// from this codebase, never from a request.
    pub(super) fn doc_text(&self, field: &'static str) -> String {
        match self.db {
            Db::Sqlite { .. } => format!("json_extract(doc, '$.{field}')"),
            Db::Postgres(_) => format!("(doc::jsonb ->> '{field}')"),
        }
    }

    /// SQL reading the integer field `field` of the row's JSON `doc`.
    pub(super) fn doc_int(&self, field: &'static str) -> String {
        match self.db {
            Db::Sqlite { .. } => format!("json_extract(doc, '$.{field}')"),
            Db::Postgres(_) => format!("((doc::jsonb ->> '{field}')::bigint)"),
        }
    }
}

/// Which gift certificates a listing returns; every set filter must hold. Listings are
/// by id, ascending unless `descending`.
#[derive(Clone, Debug, Default)]
pub struct GiftCertificateFilter {
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
    /// Any case.
    pub code: Option<String>,
    pub order_id: Option<i64>,
    /// Exact.
    pub to_name: Option<String>,
    /// Any case.
    pub to_email: Option<String>,
    /// Exact.
    pub from_name: Option<String>,
    /// Any case.
    pub from_email: Option<String>,
    pub descending: bool,
}

/// What `doc` holds.
#[derive(Serialize, Deserialize)]
struct GiftDoc {
    to_name: String,
    to_email: String,
    from_name: String,
    from_email: String,
    template: String,
    #[serde(default)]
    message: String,
}

type GiftRow = (
    i64,
    String,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
);

const COLUMNS: &str = "id, code, amount_e4, balance_e4, status, currency_code, customer_id, order_id, purchase_date, expiry_date, doc";

fn from_row(r: GiftRow) -> StoreResult<GiftCertificate> {
    let (
        id,
        code,
        amount_e4,
        balance_e4,
        status,
        currency_code,
        customer_id,
        order_id,
        purchase_date,
        expiry_date,
        doc,
    ) = r;
    let doc: GiftDoc = serde_json::from_str(&doc)?;
    let status: GiftCertificateStatus = serde_json::from_value(serde_json::Value::String(status))?;
    Ok(GiftCertificate {
        id,
        code,
        amount: Money::from_e4(amount_e4),
        balance: Money::from_e4(balance_e4),
        status,
        currency_code,
        customer_id,
        order_id,
        purchase_date,
        expiry_date: (expiry_date != 0).then_some(expiry_date),
        to_name: doc.to_name,
        to_email: doc.to_email,
        from_name: doc.from_name,
        from_email: doc.from_email,
        template: doc.template,
        message: doc.message,
    })
}

fn doc_of(g: &GiftCertificate) -> StoreResult<String> {
    Ok(serde_json::to_string(&GiftDoc {
        to_name: g.to_name.clone(),
        to_email: g.to_email.clone(),
        from_name: g.from_name.clone(),
        from_email: g.from_email.clone(),
        template: g.template.clone(),
        message: g.message.clone(),
    })?)
}

impl Store {
    pub async fn gift_certificate(
        &self,
        store_id: i64,
        id: i64,
    ) -> StoreResult<Option<GiftCertificate>> {
        let row: Option<GiftRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, code, amount_e4, balance_e4, status, currency_code, customer_id, order_id, purchase_date, expiry_date, doc
                 FROM gift_certificates WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        row.map(from_row).transpose()
    }

    /// The certificate a shopper's code names, whatever case it is typed in.
    pub async fn gift_certificate_by_code(
        &self,
        store_id: i64,
        code: &str,
    ) -> StoreResult<Option<GiftCertificate>> {
        let key = code_key(code);
        let row: Option<GiftRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, code, amount_e4, balance_e4, status, currency_code, customer_id, order_id, purchase_date, expiry_date, doc
                 FROM gift_certificates WHERE store_id = $1 AND code_key = $2",
            )
            .bind(store_id)
            .bind(&key)
            .fetch_optional(p)
            .await?
        });
        row.map(from_row).transpose()
    }

    /// One page of the certificates matching `filter`, by id.
    pub async fn list_gift_certificates(
        &self,
        store_id: i64,
        filter: &GiftCertificateFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<GiftCertificate>> {
        let mut c = Conds::for_store(store_id);
        if let Some(v) = filter.min_id {
            let p = c.param(Arg::Int(v));
            c.and(&format!("id >= {p}"));
        }
        if let Some(v) = filter.max_id {
            let p = c.param(Arg::Int(v));
            c.and(&format!("id <= {p}"));
        }
        if let Some(v) = &filter.code {
            let p = c.param(Arg::text(code_key(v)));
            c.and(&format!("code_key = {p}"));
        }
        if let Some(v) = filter.order_id {
            let p = c.param(Arg::Int(v));
            c.and(&format!("order_id = {p}"));
        }
        for (field, value) in [
            ("to_name", &filter.to_name),
            ("from_name", &filter.from_name),
        ] {
            if let Some(v) = value {
                let p = c.param(Arg::text(v.trim().to_string()));
                c.and(&format!("{} = {p}", self.doc_text(field)));
            }
        }
        for (field, value) in [
            ("to_email", &filter.to_email),
            ("from_email", &filter.from_email),
        ] {
            if let Some(v) = value {
                let p = c.param(Arg::text(v.trim().to_lowercase()));
                c.and(&format!("LOWER({}) = {p}", self.doc_text(field)));
            }
        }
        let order = if filter.descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {COLUMNS} FROM gift_certificates WHERE {} ORDER BY id {order} LIMIT {} OFFSET {}",
            c.sql,
            limit.max(0),
            offset.max(0)
        );
        let rows: Vec<GiftRow> = on_pool!(self, read, |p| {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), c.args)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(from_row).collect()
    }

    /// Inserts a certificate. A code another certificate of the store has (any case)
    /// fails with [`super::StoreError::unique_violation`].
    pub async fn insert_gift_certificate(
        &self,
        store_id: i64,
        g: &GiftCertificate,
    ) -> StoreResult<()> {
        let doc = doc_of(g)?;
        on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO gift_certificates (store_id, id, code, code_key, amount_e4, balance_e4, status, currency_code,
                    customer_id, order_id, purchase_date, expiry_date, doc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(store_id)
            .bind(g.id)
            .bind(&g.code)
            .bind(code_key(&g.code))
            .bind(g.amount.to_e4())
            .bind(g.balance.to_e4())
            .bind(g.status.as_str())
            .bind(&g.currency_code)
            .bind(g.customer_id)
            .bind(g.order_id)
            .bind(g.purchase_date)
            .bind(g.expiry_date.unwrap_or(0))
            .bind(&doc)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Replaces a certificate if its balance is still `expected_balance` (a redemption in
    /// between must not be overwritten). False when it is gone or its balance moved.
    pub async fn update_gift_certificate(
        &self,
        store_id: i64,
        g: &GiftCertificate,
        expected_balance: Money,
    ) -> StoreResult<bool> {
        let doc = doc_of(g)?;
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE gift_certificates SET code = $3, code_key = $4, amount_e4 = $5, balance_e4 = $6, status = $7,
                    currency_code = $8, customer_id = $9, order_id = $10, purchase_date = $11, expiry_date = $12, doc = $13
                 WHERE store_id = $1 AND id = $2 AND balance_e4 = $14",
            )
            .bind(store_id)
            .bind(g.id)
            .bind(&g.code)
            .bind(code_key(&g.code))
            .bind(g.amount.to_e4())
            .bind(g.balance.to_e4())
            .bind(g.status.as_str())
            .bind(&g.currency_code)
            .bind(g.customer_id)
            .bind(g.order_id)
            .bind(g.purchase_date)
            .bind(g.expiry_date.unwrap_or(0))
            .bind(&doc)
            .bind(expected_balance.to_e4())
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// False when there was no such certificate.
    pub async fn delete_gift_certificate(&self, store_id: i64, id: i64) -> StoreResult<bool> {
        let n = on_pool!(self, write, |p| {
            sqlx::query("DELETE FROM gift_certificates WHERE store_id = $1 AND id = $2")
                .bind(store_id)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes every certificate of the store; returns how many went.
    pub async fn delete_all_gift_certificates(&self, store_id: i64) -> StoreResult<u64> {
        Ok(on_pool!(self, write, |p| {
            sqlx::query("DELETE FROM gift_certificates WHERE store_id = $1")
                .bind(store_id)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}
