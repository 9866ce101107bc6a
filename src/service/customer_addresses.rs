//! Customers' address books (Customers V3 `/customers/addresses`, and the addresses a
//! signed-in shopper saves through the Checkout SDK). Ids come from the
//! `customer_address` counter. Creates and updates take up to ten addresses and are
//! all-or-nothing on validation: one bad entry refuses the batch with a 422 naming it
//! (`[1].city`). As the spec says, an address its customer already has is not saved
//! again and is left out of the answer (a create), or is left unchanged and out of the
//! answer (an update that would make it another saved address).

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::customer_address::{
    CustomerAddress, CustomerAddressInput, build_customer_address, in_batch,
};
use crate::store::StoreRecord;
use crate::store::customer_addresses::AddressFilter;
use std::collections::HashMap;

pub const ADDRESS_COUNTER: &str = "customer_address";

fn none_sent() -> ServiceError {
    DomainError::field("body", "Send a list of at least one address.").into()
}

/// The id an entry names in `field`, which must be a positive whole number.
fn entry_id(field: &str, what: &str, id: Option<i64>, index: usize) -> ServiceResult<i64> {
    match id {
        Some(id) if id > 0 => Ok(id),
        Some(id) => Err(in_batch(
            DomainError::field(
                field,
                format!("The field `{field}` must be {what}, not {id}."),
            ),
            index,
        )
        .into()),
        None => Err(in_batch(
            DomainError::field(field, format!("The field `{field}` is required.")),
            index,
        )
        .into()),
    }
}

/// The answer to a write: the addresses the store reports written, in the order given.
fn kept(addresses: Vec<CustomerAddress>, written: &[bool]) -> Vec<CustomerAddress> {
    addresses
        .into_iter()
        .zip(written)
        .filter(|(_, w)| **w)
        .map(|(a, _)| a)
        .collect()
}

impl Kassa {
    /// One page (`page` from 1) of the addresses matching `filter`, and the total.
    pub async fn list_customer_addresses(
        &self,
        store: &StoreRecord,
        filter: &AddressFilter,
        page: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<CustomerAddress>, i64)> {
        let offset = page.saturating_sub(1).max(0).saturating_mul(limit);
        Ok(self
            .store
            .list_customer_addresses(store.id, filter, limit, offset)
            .await?)
    }

    /// Every saved address of these customers, grouped by customer.
    pub async fn saved_addresses(
        &self,
        store: &StoreRecord,
        customer_ids: &[i64],
    ) -> ServiceResult<HashMap<i64, Vec<CustomerAddress>>> {
        let mut by_customer: HashMap<i64, Vec<CustomerAddress>> = HashMap::new();
        if customer_ids.is_empty() {
            return Ok(by_customer);
        }
        for a in self
            .store
            .addresses_of_customers(store.id, customer_ids)
            .await?
        {
            by_customer.entry(a.customer_id).or_default().push(a);
        }
        Ok(by_customer)
    }

    /// How many addresses each of these customers has saved (absent: none).
    pub async fn address_counts(
        &self,
        store: &StoreRecord,
        customer_ids: &[i64],
    ) -> ServiceResult<HashMap<i64, i64>> {
        Ok(self.store.address_counts(store.id, customer_ids).await?)
    }

    /// Saves addresses for the customers each entry names (see the module docs); returns
    /// those saved, in the order given.
    pub async fn create_customer_addresses(
        &self,
        store: &StoreRecord,
        entries: &[(Option<i64>, CustomerAddressInput)],
    ) -> ServiceResult<Vec<CustomerAddress>> {
        if entries.is_empty() {
            return Err(none_sent());
        }
        let mut drafts = Vec::with_capacity(entries.len());
        for (i, (customer, input)) in entries.iter().enumerate() {
            let customer = entry_id("customer_id", "a customer id", *customer, i)?;
            drafts.push(
                build_customer_address(None, 0, customer, input).map_err(|e| in_batch(e, i))?,
            );
        }
        let mut customer_ids: Vec<i64> = drafts.iter().map(|a| a.customer_id).collect();
        customer_ids.sort_unstable();
        customer_ids.dedup();
        let known = self.store.customers_by_ids(store.id, &customer_ids).await?;
        for (i, a) in drafts.iter().enumerate() {
            if !known.iter().any(|c| c.id == a.customer_id) {
                return Err(in_batch(
                    DomainError::field(
                        "customer_id",
                        format!("Customer {} does not exist.", a.customer_id),
                    ),
                    i,
                )
                .into());
            }
        }
        self.save_new_addresses(store, drafts).await
    }

    /// Gives the drafts ids and writes them; a customer deleted meanwhile is a 422.
    async fn save_new_addresses(
        &self,
        store: &StoreRecord,
        drafts: Vec<CustomerAddress>,
    ) -> ServiceResult<Vec<CustomerAddress>> {
        let count = i64::try_from(drafts.len()).unwrap_or(i64::MAX);
        let first = self
            .store
            .next_ids(store.id, ADDRESS_COUNTER, count)
            .await?;
        let addresses: Vec<CustomerAddress> = drafts
            .into_iter()
            .zip(first..)
            .map(|(a, id)| CustomerAddress { id, ..a })
            .collect();
        match self
            .store
            .insert_customer_addresses(store.id, &addresses)
            .await
        {
            Ok(written) => Ok(kept(addresses, &written)),
            Err(e) if e.foreign_key_violation() => Err(DomainError::field(
                "customer_id",
                "A customer of these addresses was deleted meanwhile; nothing was saved.",
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes addresses by id (each entry's `id`), all or none on validation; returns
    /// those changed, in the order given (see the module docs). An unknown id is a 422
    /// naming the entry.
    pub async fn update_customer_addresses(
        &self,
        store: &StoreRecord,
        entries: &[(Option<i64>, CustomerAddressInput)],
    ) -> ServiceResult<Vec<CustomerAddress>> {
        if entries.is_empty() {
            return Err(none_sent());
        }
        let mut ids: Vec<i64> = Vec::with_capacity(entries.len());
        for (i, (id, _)) in entries.iter().enumerate() {
            let id = entry_id("id", "an address id", *id, i)?;
            if let Some(first) = ids.iter().position(|x| *x == id) {
                return Err(in_batch(
                    DomainError::field(
                        "id",
                        format!("Address {id} is also changed by entry [{first}] of this request."),
                    ),
                    i,
                )
                .into());
            }
            ids.push(id);
        }
        let filter = AddressFilter {
            ids: Some(ids.clone()),
            ..Default::default()
        };
        let (existing, _) = self
            .store
            .list_customer_addresses(store.id, &filter, ids.len() as i64, 0)
            .await?;
        let mut changed = Vec::with_capacity(entries.len());
        for (i, ((_, input), id)) in entries.iter().zip(&ids).enumerate() {
            let old = existing.iter().find(|a| a.id == *id).ok_or_else(|| {
                in_batch(
                    DomainError::field("id", format!("Address {id} does not exist.")),
                    i,
                )
            })?;
            changed.push(
                build_customer_address(Some(old), *id, old.customer_id, input)
                    .map_err(|e| in_batch(e, i))?,
            );
        }
        match self
            .store
            .update_customer_addresses(store.id, &changed)
            .await
        {
            Ok(written) => Ok(kept(changed, &written)),
            // Another request saved the same address meanwhile.
            Err(e) if e.unique_violation() => Err(ServiceError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the addresses with these ids (unknown ones are skipped); returns how many went.
    pub async fn delete_customer_addresses(
        &self,
        store: &StoreRecord,
        ids: &[i64],
    ) -> ServiceResult<u64> {
        Ok(self.store.delete_customer_addresses(store.id, ids).await?)
    }

    /// Saves an address for a signed-in shopper (the Checkout SDK's
    /// `createCustomerAddress`); an address the customer has already is not saved twice.
    pub async fn save_shopper_address(
        &self,
        store: &StoreRecord,
        customer_id: i64,
        input: &CustomerAddressInput,
    ) -> ServiceResult<()> {
        let draft = build_customer_address(None, 0, customer_id, input)?;
        self.save_new_addresses(store, vec![draft]).await?;
        Ok(())
    }
}
