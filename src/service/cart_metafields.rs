//! Cart metafields: one cart's (create, read, update, delete) and the batch forms
//! that span all of a store's carts. Batches write in one transaction and report
//! each item that failed without failing the others.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::metafield::{self, MetafieldPatch, RawMetafield};
use crate::domain::scope::Scope;
use crate::store::{MetafieldFilter, MetafieldRecord, MetafieldWrite, NewMetafieldRow};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 250;

/// A page request plus filters; `filter.cart_id` is set by the use case.
#[derive(Clone, Debug)]
pub struct MetafieldQuery {
    pub page: i64,
    pub limit: i64,
    pub filter: MetafieldFilter,
}

impl Default for MetafieldQuery {
    fn default() -> Self {
        MetafieldQuery {
            page: 1,
            limit: DEFAULT_LIMIT,
            filter: MetafieldFilter::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MetafieldPage {
    pub items: Vec<MetafieldRecord>,
    pub total: i64,
    pub page: i64,
    pub limit: i64,
}

/// A batch-create item: the cart it names (as sent) and its fields.
#[derive(Clone, Debug, Default)]
pub struct NewCartMetafield {
    pub resource_id: Option<String>,
    pub fields: RawMetafield,
}

/// A batch-update item: the metafield id (as sent) and the fields to change.
#[derive(Clone, Debug, Default)]
pub struct CartMetafieldChange {
    pub id: Option<String>,
    pub fields: RawMetafield,
}

/// One item of a batch that did not go through, by its position in the request.
#[derive(Debug)]
pub struct BatchFailure {
    pub index: usize,
    /// What the item named (a metafield id or a cart id), when it named one.
    pub subject: Option<String>,
    pub error: ServiceError,
}

#[derive(Debug)]
pub struct BatchOutcome<T> {
    /// What succeeded, in request order.
    pub done: Vec<T>,
    /// What failed, in request order.
    pub failed: Vec<BatchFailure>,
}

impl<T> BatchOutcome<T> {
    pub fn total(&self) -> usize {
        self.done.len() + self.failed.len()
    }
}

fn cart_missing(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("Cart {id} does not exist."))
}

fn metafield_missing(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("Metafield {id} does not exist."))
}

fn duplicate(namespace: &str, key: &str, cart: &str) -> ServiceError {
    ServiceError::Duplicate(format!(
        "Cart {cart} already has a metafield with namespace `{namespace}` and key `{key}`."
    ))
}

/// Metafield ids are positive integers, sent as a JSON number or string.
fn parse_metafield_id(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|i| *i > 0)
}

fn check_page(q: &MetafieldQuery) -> ServiceResult<()> {
    if q.page < 1 {
        return Err(DomainError::field("page", "page must be 1 or more.").into());
    }
    if q.limit < 1 {
        return Err(DomainError::field("limit", "limit must be 1 or more.").into());
    }
    Ok(())
}

impl Kassa {
    /// One page of a cart's metafields. 404 when the cart is not this store's.
    pub async fn list_cart_metafields(
        &self,
        who: &Principal,
        cart_id: Uuid,
        mut q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        who.require(Scope::CartReadOnly)?;
        q.filter.cart_id = Some(cart_id);
        let page = self.metafield_page(who, q).await?;
        // An empty answer may mean there is no such cart; only then is it worth asking.
        if page.total == 0
            && !self
                .store
                .cart_is_live(who.store.id, cart_id, self.now())
                .await?
        {
            return Err(cart_missing(&cart_id.to_string()));
        }
        Ok(page)
    }

    /// One page of the metafields of all the store's carts.
    pub async fn list_all_cart_metafields(
        &self,
        who: &Principal,
        mut q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        who.require(Scope::CartReadOnly)?;
        q.filter.cart_id = None;
        self.metafield_page(who, q).await
    }

    async fn metafield_page(
        &self,
        who: &Principal,
        q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        check_page(&q)?;
        let limit = q.limit.min(MAX_LIMIT);
        let offset = (q.page - 1).saturating_mul(limit);
        let (items, total) = self
            .store
            .list_cart_metafields(who.store.id, self.now(), &q.filter, limit, offset)
            .await?;
        Ok(MetafieldPage {
            items,
            total,
            page: q.page,
            limit,
        })
    }

    pub async fn get_cart_metafield(
        &self,
        who: &Principal,
        cart_id: Uuid,
        id: &str,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(Scope::CartReadOnly)?;
        let Some(n) = parse_metafield_id(id) else {
            return Err(metafield_missing(id));
        };
        self.store
            .get_cart_metafield(who.store.id, self.now(), Some(cart_id), n)
            .await?
            .ok_or_else(|| metafield_missing(id))
    }

    pub async fn create_cart_metafield(
        &self,
        who: &Principal,
        cart_id: Uuid,
        fields: RawMetafield,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(Scope::Cart)?;
        let item = NewCartMetafield {
            resource_id: Some(cart_id.to_string()),
            fields,
        };
        let mut results = self.insert_metafields(who, vec![item]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(ServiceError::BadRequest("Nothing was created.".into())))
    }

    /// Changes the fields sent; the rest keep their values.
    pub async fn update_cart_metafield(
        &self,
        who: &Principal,
        cart_id: Uuid,
        id: &str,
        fields: RawMetafield,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(Scope::Cart)?;
        let item = CartMetafieldChange {
            id: Some(id.to_string()),
            fields,
        };
        let mut results = self.apply_changes(who, Some(cart_id), vec![item]).await?;
        results.pop().unwrap_or_else(|| Err(metafield_missing(id)))
    }

    pub async fn delete_cart_metafield(
        &self,
        who: &Principal,
        cart_id: Uuid,
        id: &str,
    ) -> ServiceResult<()> {
        who.require(Scope::Cart)?;
        let Some(n) = parse_metafield_id(id) else {
            return Err(metafield_missing(id));
        };
        let deleted = self
            .store
            .delete_cart_metafields(who.store.id, self.now(), Some(cart_id), &[n])
            .await?;
        if deleted.first().copied().unwrap_or(false) {
            Ok(())
        } else {
            Err(metafield_missing(id))
        }
    }

    /// Creates metafields on any of the store's carts, each naming its cart in `resource_id`.
    pub async fn create_cart_metafields(
        &self,
        who: &Principal,
        items: Vec<NewCartMetafield>,
    ) -> ServiceResult<BatchOutcome<MetafieldRecord>> {
        who.require(Scope::Cart)?;
        non_empty(items.len())?;
        let subjects: Vec<Option<String>> = items.iter().map(|i| i.resource_id.clone()).collect();
        let results = self.insert_metafields(who, items).await?;
        Ok(collect(results, subjects))
    }

    /// Changes metafields of any of the store's carts, each named by `id`.
    pub async fn update_cart_metafields(
        &self,
        who: &Principal,
        items: Vec<CartMetafieldChange>,
    ) -> ServiceResult<BatchOutcome<MetafieldRecord>> {
        who.require(Scope::Cart)?;
        non_empty(items.len())?;
        let subjects: Vec<Option<String>> = items.iter().map(|i| i.id.clone()).collect();
        let results = self.apply_changes(who, None, items).await?;
        Ok(collect(results, subjects))
    }

    /// Deletes metafields of any of the store's carts by id.
    pub async fn delete_cart_metafields(
        &self,
        who: &Principal,
        ids: Vec<String>,
    ) -> ServiceResult<BatchOutcome<i64>> {
        who.require(Scope::Cart)?;
        non_empty(ids.len())?;
        let parsed: Vec<Option<i64>> = ids.iter().map(|i| parse_metafield_id(i)).collect();
        let valid: Vec<i64> = parsed.iter().flatten().copied().collect();
        let deleted = self
            .store
            .delete_cart_metafields(who.store.id, self.now(), None, &valid)
            .await?;
        let mut deleted = deleted.into_iter();
        let mut out = BatchOutcome {
            done: Vec::new(),
            failed: Vec::new(),
        };
        for (index, (raw, id)) in ids.into_iter().zip(parsed).enumerate() {
            let ok = id.is_some() && deleted.next().unwrap_or(false);
            match id {
                Some(id) if ok => out.done.push(id),
                _ => out.failed.push(BatchFailure {
                    index,
                    error: metafield_missing(&raw),
                    subject: Some(raw),
                }),
            }
        }
        Ok(out)
    }

    /// Validates, reserves ids for, and inserts metafields; one result per item, in order.
    async fn insert_metafields(
        &self,
        who: &Principal,
        items: Vec<NewCartMetafield>,
    ) -> ServiceResult<Vec<ServiceResult<MetafieldRecord>>> {
        // Check everything first, so ids are reserved only for items that can be written.
        let checked: Vec<ServiceResult<(Uuid, metafield::MetafieldDraft)>> = items
            .into_iter()
            .map(|item| {
                let draft = metafield::validate_new(item.fields)?;
                let raw = item.resource_id.ok_or_else(|| {
                    DomainError::field("resource_id", "resource_id (the cart's id) is required.")
                })?;
                let cart = Uuid::parse_str(raw.trim()).map_err(|_| cart_missing(&raw))?;
                Ok((cart, draft))
            })
            .collect();
        let writable = checked.iter().filter(|c| c.is_ok()).count() as i64;
        let mut next_id = if writable > 0 {
            self.store
                .next_ids(who.store.id, "metafield", writable)
                .await?
        } else {
            0
        };
        let mut rows = Vec::new();
        for (cart, d) in checked.iter().flatten() {
            rows.push(NewMetafieldRow {
                id: next_id,
                cart_id: *cart,
                namespace: d.namespace.clone(),
                key: d.key.clone(),
                value: d.value.clone(),
                permission_set: d.permission_set.as_str().to_string(),
                description: d.description.clone(),
            });
            next_id += 1;
        }
        let written = self
            .store
            .insert_cart_metafields(who.store.id, self.now(), &rows)
            .await?;
        let mut written = written.into_iter();
        Ok(checked
            .into_iter()
            .map(|c| {
                let (cart, d) = c?;
                match written.next() {
                    Some(MetafieldWrite::Done(r)) => Ok(r),
                    Some(MetafieldWrite::Duplicate) => {
                        Err(duplicate(&d.namespace, &d.key, &cart.to_string()))
                    }
                    Some(MetafieldWrite::NotFound) | None => Err(cart_missing(&cart.to_string())),
                }
            })
            .collect())
    }

    /// Validates and applies partial changes; one result per item, in order.
    async fn apply_changes(
        &self,
        who: &Principal,
        cart: Option<Uuid>,
        items: Vec<CartMetafieldChange>,
    ) -> ServiceResult<Vec<ServiceResult<MetafieldRecord>>> {
        let checked: Vec<ServiceResult<(i64, MetafieldPatch)>> = items
            .into_iter()
            .map(|item| {
                let raw = item.id.ok_or_else(|| {
                    DomainError::field("id", "id (the metafield's id) is required.")
                })?;
                let id = parse_metafield_id(&raw).ok_or_else(|| metafield_missing(&raw))?;
                let patch = metafield::validate_patch(item.fields)?;
                Ok((id, patch))
            })
            .collect();
        let changes: Vec<(i64, MetafieldPatch)> = checked.iter().flatten().cloned().collect();
        let now = self.now();
        // A patch that changes nothing is a read; the rest are written together.
        let mut written = Vec::with_capacity(changes.len());
        let to_write: Vec<(i64, MetafieldPatch)> = changes
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .cloned()
            .collect();
        let mut stored = self
            .store
            .update_cart_metafields(who.store.id, now, cart, &to_write)
            .await
            .map_err(|e| {
                // Two writers raced to the same namespace and key.
                if e.unique_violation() {
                    ServiceError::Conflict
                } else {
                    e.into()
                }
            })?
            .into_iter();
        for (id, patch) in &changes {
            if patch.is_empty() {
                let found = self
                    .store
                    .get_cart_metafield(who.store.id, now, cart, *id)
                    .await?;
                written.push(match found {
                    Some(r) => MetafieldWrite::Done(r),
                    None => MetafieldWrite::NotFound,
                });
            } else {
                written.push(stored.next().unwrap_or(MetafieldWrite::NotFound));
            }
        }
        let mut written = written.into_iter();
        Ok(checked
            .into_iter()
            .map(|c| {
                let (id, patch) = c?;
                match written.next() {
                    Some(MetafieldWrite::Done(r)) => Ok(r),
                    Some(MetafieldWrite::Duplicate) => Err(ServiceError::Duplicate(format!(
                        "Metafield {id} cannot take namespace `{}` and key `{}`: another \
                         metafield of its cart already has them.",
                        patch.namespace.as_deref().unwrap_or("(unchanged)"),
                        patch.key.as_deref().unwrap_or("(unchanged)")
                    ))),
                    Some(MetafieldWrite::NotFound) | None => {
                        Err(metafield_missing(&id.to_string()))
                    }
                }
            })
            .collect())
    }
}

fn non_empty(n: usize) -> ServiceResult<()> {
    if n == 0 {
        Err(DomainError::invalid("Send at least one item in the request array.").into())
    } else {
        Ok(())
    }
}

fn collect<T>(results: Vec<ServiceResult<T>>, subjects: Vec<Option<String>>) -> BatchOutcome<T> {
    let mut out = BatchOutcome {
        done: Vec::new(),
        failed: Vec::new(),
    };
    for (index, (r, subject)) in results.into_iter().zip(subjects).enumerate() {
        match r {
            Ok(v) => out.done.push(v),
            Err(error) => out.failed.push(BatchFailure {
                index,
                subject,
                error,
            }),
        }
    }
    out
}
