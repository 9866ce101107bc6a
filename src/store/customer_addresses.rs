//! Customers' saved addresses (`customer_addresses`): the customer and the address's
//! identity key in columns (a unique index keeps one customer from holding an address
//! twice), the address itself in `doc`. Rows go with their customer (`ON DELETE CASCADE`).

use super::gift_certificates::{Arg, Conds, bind_args};
use super::{Store, StoreResult, on_pool};
use crate::domain::address::Address;
use crate::domain::customer_address::{AddressType, CustomerAddress};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which addresses a listing returns; every set filter must hold, and a list matches any
/// of its values.
#[derive(Clone, Debug, Default)]
pub struct AddressFilter {
    pub ids: Option<Vec<i64>>,
    pub customer_ids: Option<Vec<i64>>,
    /// `first last`, any case.
    pub names: Option<Vec<String>>,
    /// Exact.
    pub companies: Option<Vec<String>>,
}

/// What `doc` holds.
#[derive(Serialize, Deserialize)]
struct AddressDoc {
    first_name: String,
    last_name: String,
    company: String,
    address1: String,
    address2: String,
    city: String,
    state_or_province: String,
    state_or_province_code: String,
    country_code: String,
    country: String,
    postal_code: String,
    phone: String,
    address_type: AddressType,
}

type AddressRow = (i64, i64, String);

fn from_row((id, customer_id, doc): AddressRow) -> StoreResult<CustomerAddress> {
    let d: AddressDoc = serde_json::from_str(&doc)?;
    Ok(CustomerAddress {
        id,
        customer_id,
        address_type: d.address_type,
        address: Address {
            first_name: d.first_name,
            last_name: d.last_name,
            company: d.company,
            address1: d.address1,
            address2: d.address2,
            city: d.city,
            state_or_province: d.state_or_province,
            state_or_province_code: d.state_or_province_code,
            country_code: d.country_code,
            country: d.country,
            postal_code: d.postal_code,
            phone: d.phone,
            ..Address::default()
        },
    })
}

pub(super) fn address_doc(c: &CustomerAddress) -> StoreResult<String> {
    let a = &c.address;
    Ok(serde_json::to_string(&AddressDoc {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company: a.company.clone(),
        address1: a.address1.clone(),
        address2: a.address2.clone(),
        city: a.city.clone(),
        state_or_province: a.state_or_province.clone(),
        state_or_province_code: a.state_or_province_code.clone(),
        country_code: a.country_code.clone(),
        country: a.country.clone(),
        postal_code: a.postal_code.clone(),
        phone: a.phone.clone(),
        address_type: c.address_type,
    })?)
}

/// The indexed form of [`CustomerAddress::key`]: fixed length, whatever the address.
pub(super) fn address_key(c: &CustomerAddress) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(c.key().as_bytes()))
}

impl Store {
    /// One page of the addresses matching `filter` (by id), and how many match in all.
    pub async fn list_customer_addresses(
        &self,
        store_id: i64,
        filter: &AddressFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<CustomerAddress>, i64)> {
        let mut c = Conds::for_store(store_id);
        if let Some(ids) = &filter.ids {
            c.and_in("id", ids.iter().map(|i| Arg::Int(*i)).collect());
        }
        if let Some(ids) = &filter.customer_ids {
            c.and_in("customer_id", ids.iter().map(|i| Arg::Int(*i)).collect());
        }
        if let Some(names) = &filter.names {
            let full_name = format!(
                "LOWER({} || ' ' || {})",
                self.doc_text("first_name"),
                self.doc_text("last_name")
            );
            c.and_in(
                &full_name,
                names
                    .iter()
                    .map(|n| Arg::text(n.trim().to_lowercase()))
                    .collect(),
            );
        }
        if let Some(v) = &filter.companies {
            c.and_in(
                &self.doc_text("company"),
                v.iter().map(|s| Arg::text(s.trim().to_string())).collect(),
            );
        }
        let (total, rows): (i64, Vec<AddressRow>) = self
            .count_and_page(
                "customer_addresses",
                "id, customer_id, doc",
                &c,
                "id",
                limit,
                offset,
            )
            .await?;
        let found = rows
            .into_iter()
            .map(from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((found, total))
    }

    /// Every saved address of these customers, by id.
    pub async fn addresses_of_customers(
        &self,
        store_id: i64,
        customer_ids: &[i64],
    ) -> StoreResult<Vec<CustomerAddress>> {
        let filter = AddressFilter {
            customer_ids: Some(customer_ids.to_vec()),
            ..Default::default()
        };
        Ok(self
            .list_customer_addresses(store_id, &filter, i64::MAX / 2, 0)
            .await?
            .0)
    }

    /// How many addresses each of these customers has saved (absent: none).
    pub async fn address_counts(
        &self,
        store_id: i64,
        customer_ids: &[i64],
    ) -> StoreResult<HashMap<i64, i64>> {
        if customer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut c = Conds::for_store(store_id);
        c.and_in(
            "customer_id",
            customer_ids.iter().map(|i| Arg::Int(*i)).collect(),
        );
        let sql = format!(
            "SELECT customer_id, COUNT(*) FROM customer_addresses WHERE {} GROUP BY customer_id",
            c.sql
        );
        let rows: Vec<(i64, i64)> = on_pool!(self, read, |p| {
            bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), c.args)
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Saves addresses in one transaction. An address its customer already has is
    /// skipped: the answer says, index-aligned, which were written.
    pub async fn insert_customer_addresses(
        &self,
        store_id: i64,
        addresses: &[CustomerAddress],
    ) -> StoreResult<Vec<bool>> {
        let docs = addresses
            .iter()
            .map(|a| Ok((address_doc(a)?, address_key(a))))
            .collect::<StoreResult<Vec<_>>>()?;
        let written = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut written = Vec::with_capacity(addresses.len());
            for (a, (doc, key)) in addresses.iter().zip(&docs) {
                let n = sqlx::query(
                    "INSERT INTO customer_addresses (store_id, id, customer_id, address_key, doc)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (store_id, customer_id, address_key) DO NOTHING",
                )
                .bind(store_id)
                .bind(a.id)
                .bind(a.customer_id)
                .bind(key)
                .bind(doc)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                written.push(n == 1);
            }
            tx.commit().await?;
            written
        });
        Ok(written)
    }

    /// Replaces addresses in one transaction. One that would become the same as another
    /// address of its customer, or is gone, is left as it is: the answer says,
    /// index-aligned, which were written.
    pub async fn update_customer_addresses(
        &self,
        store_id: i64,
        addresses: &[CustomerAddress],
    ) -> StoreResult<Vec<bool>> {
        let docs = addresses
            .iter()
            .map(|a| Ok((address_doc(a)?, address_key(a))))
            .collect::<StoreResult<Vec<_>>>()?;
        let written = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut written = Vec::with_capacity(addresses.len());
            for (a, (doc, key)) in addresses.iter().zip(&docs) {
                let n = sqlx::query(
                    "UPDATE customer_addresses SET address_key = $3, doc = $4
                     WHERE store_id = $1 AND id = $2 AND NOT EXISTS (
                         SELECT 1 FROM customer_addresses o
                         WHERE o.store_id = $1 AND o.customer_id = $5 AND o.address_key = $3 AND o.id <> $2)",
                )
                .bind(store_id)
                .bind(a.id)
                .bind(key)
                .bind(doc)
                .bind(a.customer_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                written.push(n == 1);
            }
            tx.commit().await?;
            written
        });
        Ok(written)
    }

    /// Deletes the addresses with these ids (unknown ones are skipped); returns how many went.
    pub async fn delete_customer_addresses(&self, store_id: i64, ids: &[i64]) -> StoreResult<u64> {
        self.delete_by_ids("customer_addresses", store_id, ids)
            .await
    }
}
