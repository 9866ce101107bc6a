//! Customer use cases (Customers V3 `/customers`). Ids come from the `customer` counter.
//! Creates and updates take up to ten customers and are all-or-nothing: one bad entry
//! refuses the whole batch with a 422 naming it (`[2].email`). Emails are unique per
//! store without regard to case; the service checks first for a helpful message and the
//! database's unique index settles races. The spec answers a taken email with 422.

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::customer::{self, Customer, CustomerInput, email_key, in_batch};
use crate::domain::money::Money;
use crate::domain::password::validate_new_password;
use crate::service::shopper_accounts::hash_new_password;
use crate::store::StoreRecord;
use crate::store::customers::{CustomerFilter, CustomerSort};
use std::collections::HashMap;

pub const CUSTOMER_COUNTER: &str = "customer";

/// Checks and hashes the new passwords of a batch (index-aligned; `None` = unchanged).
async fn batch_passwords<'a>(
    passwords: impl Iterator<Item = Option<&'a String>>,
) -> ServiceResult<Vec<Option<String>>> {
    let mut out = Vec::new();
    for (i, p) in passwords.enumerate() {
        out.push(match p {
            Some(p) => {
                validate_new_password("authentication.new_password", p)
                    .map_err(|e| in_batch(e, i))?;
                Some(hash_new_password(p.clone()).await)
            }
            None => None,
        });
    }
    Ok(out)
}

fn email_taken(index: usize, email: &str, holder: Option<i64>) -> DomainError {
    let msg = match holder {
        Some(id) => format!(
            "The email address `{email}` is already used by customer {id} (emails are compared without regard to case)."
        ),
        None => format!("The email address `{email}` is already used by another customer."),
    };
    in_batch(DomainError::field("email", msg), index)
}

/// Refuses two entries of one batch with the same email.
fn check_batch_emails(customers: &[Customer]) -> Result<(), DomainError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, c) in customers.iter().enumerate() {
        if let Some(first) = seen.insert(email_key(&c.email), i) {
            return Err(in_batch(
                DomainError::field(
                    "email",
                    format!(
                        "The email address `{}` is also given to entry [{first}] of this request.",
                        c.email
                    ),
                ),
                i,
            ));
        }
    }
    Ok(())
}

impl Kassa {
    /// One page (`page` from 1) of the customers matching `filter`, and the total.
    pub async fn list_admin_customers(
        &self,
        store: &StoreRecord,
        filter: &CustomerFilter,
        sort: CustomerSort,
        page: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<Customer>, i64)> {
        let offset = page.saturating_sub(1).max(0).saturating_mul(limit);
        Ok(self
            .store
            .list_customers(store.id, filter, sort, limit, offset)
            .await?)
    }

    /// Refuses an email another customer (not the entry itself) already holds.
    async fn check_emails_free(&self, store_id: i64, customers: &[Customer]) -> ServiceResult<()> {
        let emails: Vec<String> = customers.iter().map(|c| c.email.clone()).collect();
        let holders = self.store.customers_by_emails(store_id, &emails).await?;
        for (i, c) in customers.iter().enumerate() {
            let key = email_key(&c.email);
            if let Some(h) = holders
                .iter()
                .find(|h| h.id != c.id && email_key(&h.email) == key)
            {
                return Err(email_taken(i, &c.email, Some(h.id)).into());
            }
        }
        Ok(())
    }

    /// Creates customers, all or none, and returns them in the order given.
    pub async fn create_admin_customers(
        &self,
        store: &StoreRecord,
        inputs: &[CustomerInput],
    ) -> ServiceResult<Vec<Customer>> {
        if inputs.is_empty() {
            return Err(DomainError::field("body", "Send at least one customer.").into());
        }
        let now = self.now();
        let mut drafts = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            drafts.push(customer::build_customer(None, 0, input, now).map_err(|e| in_batch(e, i))?);
        }
        check_batch_emails(&drafts)?;
        self.check_emails_free(store.id, &drafts).await?;
        let passwords = batch_passwords(inputs.iter().map(|i| i.new_password.as_ref())).await?;
        let count = i64::try_from(drafts.len()).unwrap_or(i64::MAX);
        let first = self
            .store
            .next_ids(store.id, CUSTOMER_COUNTER, count)
            .await?;
        let customers: Vec<Customer> = drafts
            .into_iter()
            .zip(first..)
            .map(|(c, id)| Customer { id, ..c })
            .collect();
        match self
            .store
            .insert_customers(store.id, &customers, &passwords)
            .await {
            Ok(()) => Ok(customers),
            // Another request took one of the emails since the check above.
            Err(e) if e.unique_violation() => Err(DomainError::field(
                "email",
                "One of the email addresses was taken by another customer meanwhile; nothing was created.",
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Updates customers by id (each entry's `id`), all or none, and returns them in the
    /// order given. An unknown id is a 422 naming the entry.
    pub async fn update_admin_customers(
        &self,
        store: &StoreRecord,
        updates: &[(Option<i64>, CustomerInput)],
    ) -> ServiceResult<Vec<Customer>> {
        if updates.is_empty() {
            return Err(DomainError::field("body", "Send at least one customer.").into());
        }
        let mut ids = Vec::with_capacity(updates.len());
        for (i, (id, _)) in updates.iter().enumerate() {
            let id = match id {
                Some(id) if *id > 0 => *id,
                Some(id) => {
                    return Err(in_batch(
                        DomainError::field(
                            "id",
                            format!("The field `id` must be a customer id, not {id}."),
                        ),
                        i,
                    )
                    .into());
                }
                None => {
                    return Err(in_batch(
                        DomainError::field("id", "The field `id` is required."),
                        i,
                    )
                    .into());
                }
            };
            if let Some(first) = ids.iter().position(|x| *x == id) {
                return Err(in_batch(
                    DomainError::field(
                        "id",
                        format!(
                            "Customer {id} is also updated by entry [{first}] of this request."
                        ),
                    ),
                    i,
                )
                .into());
            }
            ids.push(id);
        }
        let existing = self.store.customers_by_ids(store.id, &ids).await?;
        let now = self.now();
        let mut changed: Vec<(Customer, Money)> = Vec::with_capacity(updates.len());
        for (i, ((_, input), id)) in updates.iter().zip(&ids).enumerate() {
            let old = existing.iter().find(|c| c.id == *id).ok_or_else(|| {
                in_batch(
                    DomainError::field("id", format!("Customer {id} does not exist.")),
                    i,
                )
            })?;
            let c =
                customer::build_customer(Some(old), *id, input, now).map_err(|e| in_batch(e, i))?;
            changed.push((c, old.store_credit));
        }
        let customers: Vec<Customer> = changed.iter().map(|(c, _)| c.clone()).collect();
        check_batch_emails(&customers)?;
        self.check_emails_free(store.id, &customers).await?;
        let passwords =
            batch_passwords(updates.iter().map(|(_, i)| i.new_password.as_ref())).await?;
        match self
            .store
            .update_customers(store.id, &changed, &passwords)
            .await
        {
            Ok(true) => Ok(customers),
            Ok(false) => Err(ServiceError::Conflict),
            Err(e) if e.unique_violation() => Err(DomainError::field(
                "email",
                "One of the email addresses was taken by another customer meanwhile; nothing was changed.",
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the customers with these ids (unknown ones are skipped); returns how many went.
    pub async fn delete_admin_customers(
        &self,
        store: &StoreRecord,
        ids: &[i64],
    ) -> ServiceResult<u64> {
        Ok(self.store.delete_customers(store.id, ids).await?)
    }
}

pub const DEMO_CUSTOMER_EMAIL: &str = "jane@example.com";

impl Kassa {
    /// Creates the demo customer (Jane Doe, 25.00 of store credit) unless a customer with
    /// that email exists; running it again changes nothing.
    pub async fn seed_demo_customers(&self, store: &StoreRecord) -> ServiceResult<()> {
        if self
            .store
            .customer_by_email(store.id, DEMO_CUSTOMER_EMAIL)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let input = CustomerInput {
            email: Some(DEMO_CUSTOMER_EMAIL.into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            store_credit_amounts: Some(vec![Some(rust_decimal::Decimal::from(25))]),
            accepts_product_review_abandoned_cart_emails: Some(true),
            ..Default::default()
        };
        self.create_admin_customers(store, &[input]).await?;
        Ok(())
    }
}
