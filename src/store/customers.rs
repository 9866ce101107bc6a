//! Customers (`customers`): the lower-cased email (unique per store), the store credit in
//! ten-thousandths and the dates in columns; the rest of the record in `doc`. Batch writes
//! (the V3 API creates and updates up to ten at once) are one transaction each.

use super::gift_certificates::{Arg, Conds, bind_args};
use super::{Store, StoreResult, on_pool};
use crate::domain::customer::{Customer, email_key};
use crate::domain::money::Money;
use serde::{Deserialize, Serialize};

/// Which customers a listing returns; every set filter must hold, and a list matches
/// any of its values.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    pub ids: Option<Vec<i64>>,
    /// Any case.
    pub emails: Option<Vec<String>>,
    /// `first last`, any case.
    pub names: Option<Vec<String>>,
    /// Substrings of `first last`, any case.
    pub name_like: Option<Vec<String>>,
    /// Exact.
    pub companies: Option<Vec<String>>,
    /// Exact.
    pub phones: Option<Vec<String>>,
    pub customer_group_ids: Option<Vec<i64>>,
    /// Unix seconds, inclusive.
    pub date_created_min: Option<i64>,
    pub date_created_max: Option<i64>,
    pub date_modified_min: Option<i64>,
    pub date_modified_max: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CustomerSortKey {
    #[default]
    Id,
    DateCreated,
    DateModified,
    LastName,
}

/// Listing order; ties (and the default) go by id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CustomerSort {
    pub key: CustomerSortKey,
    pub descending: bool,
}

/// What `doc` holds.
#[derive(Serialize, Deserialize)]
struct CustomerDoc {
    email: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    customer_group_id: i64,
    #[serde(default)]
    tax_exempt_category: String,
    #[serde(default)]
    registration_ip_address: String,
    #[serde(default)]
    accepts_product_review_abandoned_cart_emails: bool,
    #[serde(default)]
    channel_ids: Option<Vec<i64>>,
    #[serde(default = "one")]
    origin_channel_id: i64,
    #[serde(default)]
    force_password_reset: bool,
}

fn one() -> i64 {
    1
}

type CustomerRow = (i64, i64, i64, i64, String);

const COLUMNS: &str = "id, store_credit_e4, date_created, date_modified, doc";

fn from_row(r: CustomerRow) -> StoreResult<Customer> {
    let (id, credit_e4, date_created, date_modified, doc) = r;
    let d: CustomerDoc = serde_json::from_str(&doc)?;
    Ok(Customer {
        id,
        email: d.email,
        first_name: d.first_name,
        last_name: d.last_name,
        company: d.company,
        phone: d.phone,
        notes: d.notes,
        customer_group_id: d.customer_group_id,
        tax_exempt_category: d.tax_exempt_category,
        store_credit: Money::from_e4(credit_e4),
        date_created,
        date_modified,
        registration_ip_address: d.registration_ip_address,
        accepts_product_review_abandoned_cart_emails: d
            .accepts_product_review_abandoned_cart_emails,
        channel_ids: d.channel_ids,
        origin_channel_id: d.origin_channel_id,
        force_password_reset: d.force_password_reset,
    })
}

fn doc_of(c: &Customer) -> StoreResult<String> {
    Ok(serde_json::to_string(&CustomerDoc {
        email: c.email.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        company: c.company.clone(),
        phone: c.phone.clone(),
        notes: c.notes.clone(),
        customer_group_id: c.customer_group_id,
        tax_exempt_category: c.tax_exempt_category.clone(),
        registration_ip_address: c.registration_ip_address.clone(),
        accepts_product_review_abandoned_cart_emails: c
            .accepts_product_review_abandoned_cart_emails,
        channel_ids: c.channel_ids.clone(),
        origin_channel_id: c.origin_channel_id,
        force_password_reset: c.force_password_reset,
    })?)
}

/// `%` and `_` in a `LIKE` pattern taken literally (escape character `\`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Store {
    /// How many rows of `table` match `c`, and one page of them (`columns`, in `order`).
    pub(super) async fn count_and_page<R>(
        &self,
        table: &str,
        columns: &str,
        c: &Conds,
        order: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<R>)>
    where
        R: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let count_sql = format!("SELECT COUNT(*) FROM {table} WHERE {}", c.sql);
        let page_sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {order} LIMIT {} OFFSET {}",
            c.sql,
            limit.max(0),
            offset.max(0)
        );
        Ok(on_pool!(self, read, |p| {
            let total: i64 = bind_args!(
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone())),
                c.args
            )
            .fetch_one(p)
            .await?;
            let rows: Vec<R> = bind_args!(
                sqlx::query_as(sqlx::AssertSqlSafe(page_sql.clone())),
                c.args
            )
            .fetch_all(p)
            .await?;
            (total, rows)
        }))
    }

    pub async fn customer(&self, store_id: i64, id: i64) -> StoreResult<Option<Customer>> {
        let row: Option<CustomerRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, store_credit_e4, date_created, date_modified, doc
                 FROM customers WHERE store_id = $1 AND id = $2",
            )
            .bind(store_id)
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        row.map(from_row).transpose()
    }

    /// The customer with this email, whatever its case.
    pub async fn customer_by_email(
        &self,
        store_id: i64,
        email: &str,
    ) -> StoreResult<Option<Customer>> {
        let key = email_key(email);
        let row: Option<CustomerRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, store_credit_e4, date_created, date_modified, doc
                 FROM customers WHERE store_id = $1 AND email_key = $2",
            )
            .bind(store_id)
            .bind(&key)
            .fetch_optional(p)
            .await?
        });
        row.map(from_row).transpose()
    }

    /// The id and stored password hash (empty: none) of the customer with this email,
    /// whatever its case.
    pub async fn customer_password(
        &self,
        store_id: i64,
        email: &str,
    ) -> StoreResult<Option<(i64, String)>> {
        let key = email_key(email);
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT id, password_hash FROM customers WHERE store_id = $1 AND email_key = $2",
            )
            .bind(store_id)
            .bind(&key)
            .fetch_optional(p)
            .await?
        }))
    }

    /// The customers with these ids that exist, by id, in one query.
    pub async fn customers_by_ids(&self, store_id: i64, ids: &[i64]) -> StoreResult<Vec<Customer>> {
        let filter = CustomerFilter {
            ids: Some(ids.to_vec()),
            ..Default::default()
        };
        let (found, _) = self
            .list_customers(
                store_id,
                &filter,
                CustomerSort::default(),
                ids.len() as i64,
                0,
            )
            .await?;
        Ok(found)
    }

    /// The customers holding any of these emails (any case), in one query.
    pub async fn customers_by_emails(
        &self,
        store_id: i64,
        emails: &[String],
    ) -> StoreResult<Vec<Customer>> {
        let filter = CustomerFilter {
            emails: Some(emails.to_vec()),
            ..Default::default()
        };
        let (found, _) = self
            .list_customers(
                store_id,
                &filter,
                CustomerSort::default(),
                emails.len() as i64,
                0,
            )
            .await?;
        Ok(found)
    }

    /// One page of the customers matching `filter`, and how many match in all.
    pub async fn list_customers(
        &self,
        store_id: i64,
        filter: &CustomerFilter,
        sort: CustomerSort,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Customer>, i64)> {
        let mut c = Conds::for_store(store_id);
        if let Some(ids) = &filter.ids {
            c.and_in("id", ids.iter().map(|i| Arg::Int(*i)).collect());
        }
        if let Some(emails) = &filter.emails {
            c.and_in(
                "email_key",
                emails.iter().map(|e| Arg::text(email_key(e))).collect(),
            );
        }
        let full_name = format!(
            "LOWER({} || ' ' || {})",
            self.doc_text("first_name"),
            self.doc_text("last_name")
        );
        if let Some(names) = &filter.names {
            c.and_in(
                &full_name,
                names
                    .iter()
                    .map(|n| Arg::text(n.trim().to_lowercase()))
                    .collect(),
            );
        }
        if let Some(parts) = &filter.name_like {
            if parts.is_empty() {
                c.and("1 = 0");
            } else {
                let alts = parts
                    .iter()
                    .map(|s| {
                        let p = c.param(Arg::text(format!(
                            "%{}%",
                            like_escape(&s.trim().to_lowercase())
                        )));
                        format!("{full_name} LIKE {p} ESCAPE '\\'")
                    })
                    .collect::<Vec<_>>()
                    .join(" OR ");
                c.and(&alts);
            }
        }
        if let Some(v) = &filter.companies {
            c.and_in(
                &self.doc_text("company"),
                v.iter().map(|s| Arg::text(s.trim().to_string())).collect(),
            );
        }
        if let Some(v) = &filter.phones {
            c.and_in(
                &self.doc_text("phone"),
                v.iter().map(|s| Arg::text(s.trim().to_string())).collect(),
            );
        }
        if let Some(v) = &filter.customer_group_ids {
            c.and_in(
                &self.doc_int("customer_group_id"),
                v.iter().map(|g| Arg::Int(*g)).collect(),
            );
        }
        for (column, op, value) in [
            ("date_created", ">=", filter.date_created_min),
            ("date_created", "<=", filter.date_created_max),
            ("date_modified", ">=", filter.date_modified_min),
            ("date_modified", "<=", filter.date_modified_max),
        ] {
            if let Some(v) = value {
                let p = c.param(Arg::Int(v));
                c.and(&format!("{column} {op} {p}"));
            }
        }
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let order = match sort.key {
            CustomerSortKey::Id => format!("id {dir}"),
            CustomerSortKey::DateCreated => format!("date_created {dir}, id {dir}"),
            CustomerSortKey::DateModified => format!("date_modified {dir}, id {dir}"),
            CustomerSortKey::LastName => {
                format!("LOWER({}) {dir}, id {dir}", self.doc_text("last_name"))
            }
        };
        let (total, rows): (i64, Vec<CustomerRow>) = self
            .count_and_page("customers", COLUMNS, &c, &order, limit, offset)
            .await?;
        let customers = rows
            .into_iter()
            .map(from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((customers, total))
    }

    /// Inserts customers in one transaction: all or none. An email another customer of
    /// the store has (any case) fails with [`super::StoreError::unique_violation`].
    /// `passwords[i]`, when given, is the stored password hash of `customers[i]`.
    pub async fn insert_customers(
        &self,
        store_id: i64,
        customers: &[Customer],
        passwords: &[Option<String>],
    ) -> StoreResult<()> {
        let docs = customers
            .iter()
            .map(doc_of)
            .collect::<StoreResult<Vec<_>>>()?;
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            for (i, (c, doc)) in customers.iter().zip(&docs).enumerate() {
                let password = passwords.get(i).cloned().flatten().unwrap_or_default();
                sqlx::query(
                    "INSERT INTO customers (store_id, id, email_key, store_credit_e4, date_created, date_modified, doc, password_hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(store_id)
                .bind(c.id)
                .bind(email_key(&c.email))
                .bind(c.store_credit.to_e4())
                .bind(c.date_created)
                .bind(c.date_modified)
                .bind(doc)
                .bind(password)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Replaces customers in one transaction, each only if its store credit is still the
    /// expected amount (a checkout spending credit in between must not be overwritten).
    /// False, with nothing written, when one is gone or its credit moved. An email
    /// another customer has fails with [`super::StoreError::unique_violation`].
    /// `passwords[i]`, when given, replaces the password hash of `updates[i]`.
    pub async fn update_customers(
        &self,
        store_id: i64,
        updates: &[(Customer, Money)],
        passwords: &[Option<String>],
    ) -> StoreResult<bool> {
        let docs = updates
            .iter()
            .map(|(c, _)| doc_of(c))
            .collect::<StoreResult<Vec<_>>>()?;
        let all = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut all = true;
            for (i, ((c, expected), doc)) in updates.iter().zip(&docs).enumerate() {
                // An empty string keeps the password the customer has.
                let password = passwords.get(i).cloned().flatten().unwrap_or_default();
                let n = sqlx::query(
                    "UPDATE customers SET email_key = $3, store_credit_e4 = $4, date_modified = $5, doc = $6,
                            password_hash = CASE WHEN $8 = '' THEN password_hash ELSE $8 END
                     WHERE store_id = $1 AND id = $2 AND store_credit_e4 = $7",
                )
                .bind(store_id)
                .bind(c.id)
                .bind(email_key(&c.email))
                .bind(c.store_credit.to_e4())
                .bind(c.date_modified)
                .bind(doc)
                .bind(expected.to_e4())
                .bind(password)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    all = false;
                    break;
                }
            }
            if all {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            all
        });
        Ok(all)
    }

    /// Deletes the customers with these ids (unknown ones are skipped); returns how many went.
    pub async fn delete_customers(&self, store_id: i64, ids: &[i64]) -> StoreResult<u64> {
        self.delete_by_ids("customers", store_id, ids).await
    }

    /// Deletes the rows of `table` with these ids; returns how many went.
    pub(super) async fn delete_by_ids(
        &self,
        table: &str,
        store_id: i64,
        ids: &[i64],
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut c = Conds::for_store(store_id);
        c.and_in("id", ids.iter().map(|i| Arg::Int(*i)).collect());
        let sql = format!("DELETE FROM {table} WHERE {}", c.sql);
        Ok(on_pool!(self, write, |p| {
            bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), c.args)
                .execute(p)
                .await?
                .rows_affected()
        }))
    }
}
