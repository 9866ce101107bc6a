//! Metafields of carts and orders: one resource's (create, read, update, delete) and the
//! batch forms that span all of a store's resources of that type. Batches write in one
//! transaction and report each item that failed without failing the others. What differs
//! between carts and orders (scopes, id syntax, limits) comes from `MetafieldResource`.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::metafield::{self, MetafieldPatch, MetafieldResource, RawMetafield};
use crate::store::{MetafieldFilter, MetafieldRecord, MetafieldWrite, NewMetafieldRow};
use uuid::Uuid;
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 250;

/// A page request plus filters; `filter.resource_id` is set by the use case.
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

/// A batch-create item: the resource it names (as sent) and its fields.
#[derive(Clone, Debug, Default)]
pub struct NewMetafield {
    pub resource_id: Option<String>,
    pub fields: RawMetafield,
}

/// A batch-update item: the metafield id (as sent) and the fields to change.
#[derive(Clone, Debug, Default)]
pub struct MetafieldChange {
    pub id: Option<String>,
    pub fields: RawMetafield,
}

/// One item of a batch that did not go through, by its position in the request.
#[derive(Debug)]
pub struct BatchFailure {
    pub index: usize,
    /// What the item named (a metafield id or a resource id), when it named one.
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

fn resource_missing(resource: MetafieldResource, id: &str) -> ServiceError {
    ServiceError::NotFound(format!("{} {id} does not exist.", resource.noun()))
}

fn metafield_missing(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("Metafield {id} does not exist."))
}

fn duplicate(resource: MetafieldResource, namespace: &str, key: &str, owner: &str) -> ServiceError {
    ServiceError::Duplicate(format!(
        "{} {owner} already has a metafield with namespace `{namespace}` and key `{key}`.",
        resource.noun()
    ))
}

fn limit_reached(resource: MetafieldResource, owner: &str) -> ServiceError {
    let max = resource.max_per_resource().unwrap_or_default();
    DomainError::field(
        "resource_id",
        format!(
            "{} {owner} already has {max} metafields, the most one {} may hold; delete one first.",
            resource.noun(),
            resource.as_str()
        ),
    )
    .into()
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
    /// The canonical id of the resource a path names, or 404 when it cannot name one.
    fn owner_of(&self, resource: MetafieldResource, raw: &str) -> ServiceResult<String> {
        resource
            .canonical_id(raw)
            .ok_or_else(|| resource_missing(resource, raw))
    }

    /// True when the resource (by canonical id) is there for this store.
    async fn resource_present(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
    ) -> ServiceResult<bool> {
        Ok(match resource {
            MetafieldResource::Cart => match Uuid::parse_str(owner) {
                Ok(cart) => {
                    self.store
                        .cart_is_live(who.store.id, cart, self.now())
                        .await?
                }
                Err(_) => false,
            },
            MetafieldResource::Order => match owner.parse::<i64>() {
                Ok(order) => self.store.order_exists(who.store.id, order).await?,
                Err(_) => false,
            },
        })
    }

    /// The 404 for a metafield not found under a resource: it names the resource when
    /// that is what is missing, so a client knows which id to fix.
    async fn missing_under(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        id: &str,
    ) -> ServiceError {
        match self.resource_present(who, resource, owner).await {
            Ok(false) => resource_missing(resource, owner),
            Ok(true) => metafield_missing(id),
            Err(e) => e,
        }
    }

    /// One page of one resource's metafields. 404 when the resource is not this store's.
    pub async fn list_metafields(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        mut q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        who.require(resource.read_scope())?;
        let owner = self.owner_of(resource, owner)?;
        q.filter.resource_id = Some(owner.clone());
        let page = self.metafield_page(who, resource, q).await?;
        // An empty answer may mean there is no such resource; only then is it worth asking.
        if page.total == 0 && !self.resource_present(who, resource, &owner).await? {
            return Err(resource_missing(resource, &owner));
        }
        Ok(page)
    }

    /// One page of the metafields of all the store's resources of this type.
    pub async fn list_all_metafields(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        mut q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        who.require(resource.read_scope())?;
        q.filter.resource_id = None;
        self.metafield_page(who, resource, q).await
    }

    async fn metafield_page(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        q: MetafieldQuery,
    ) -> ServiceResult<MetafieldPage> {
        check_page(&q)?;
        let limit = q.limit.min(MAX_LIMIT);
        let offset = (q.page - 1).saturating_mul(limit);
        let (items, total) = self
            .store
            .list_metafields(who.store.id, self.now(), resource, &q.filter, limit, offset)
            .await?;
        Ok(MetafieldPage {
            items,
            total,
            page: q.page,
            limit,
        })
    }

    pub async fn get_metafield(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        id: &str,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(resource.read_scope())?;
        let owner = self.owner_of(resource, owner)?;
        let found = match parse_metafield_id(id) {
            Some(n) => {
                self.store
                    .get_metafield(who.store.id, self.now(), resource, Some(&owner), n)
                    .await?
            }
            None => None,
        };
        match found {
            Some(r) => Ok(r),
            None => Err(self.missing_under(who, resource, &owner, id).await),
        }
    }

    pub async fn create_metafield(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        fields: RawMetafield,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(resource.write_scope())?;
        let owner = self.owner_of(resource, owner)?;
        let item = NewMetafield {
            resource_id: Some(owner),
            fields,
        };
        let mut results = self.insert_metafields(who, resource, vec![item]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(ServiceError::BadRequest("Nothing was created.".into())))
    }

    /// Changes the fields sent; the rest keep their values.
    pub async fn update_metafield(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        id: &str,
        fields: RawMetafield,
    ) -> ServiceResult<MetafieldRecord> {
        who.require(resource.write_scope())?;
        let owner = self.owner_of(resource, owner)?;
        let item = MetafieldChange {
            id: Some(id.to_string()),
            fields,
        };
        let result = self
            .apply_changes(who, resource, Some(&owner), vec![item])
            .await?
            .pop()
            .unwrap_or_else(|| Err(metafield_missing(id)));
        match result {
            Err(ServiceError::NotFound(_)) => {
                Err(self.missing_under(who, resource, &owner, id).await)
            }
            other => other,
        }
    }

    pub async fn delete_metafield(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: &str,
        id: &str,
    ) -> ServiceResult<()> {
        who.require(resource.write_scope())?;
        let owner = self.owner_of(resource, owner)?;
        let deleted = match parse_metafield_id(id) {
            Some(n) => self
                .store
                .delete_metafields(who.store.id, self.now(), resource, Some(&owner), &[n])
                .await?
                .first()
                .copied()
                .unwrap_or(false),
            None => false,
        };
        if deleted {
            Ok(())
        } else {
            Err(self.missing_under(who, resource, &owner, id).await)
        }
    }

    /// Creates metafields on any of the store's resources, each naming its own in `resource_id`.
    pub async fn create_metafields(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        items: Vec<NewMetafield>,
    ) -> ServiceResult<BatchOutcome<MetafieldRecord>> {
        who.require(resource.write_scope())?;
        non_empty(items.len())?;
        let subjects: Vec<Option<String>> = items.iter().map(|i| i.resource_id.clone()).collect();
        let results = self.insert_metafields(who, resource, items).await?;
        Ok(collect(results, subjects))
    }

    /// Changes metafields of any of the store's resources, each named by `id`.
    pub async fn update_metafields(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        items: Vec<MetafieldChange>,
    ) -> ServiceResult<BatchOutcome<MetafieldRecord>> {
        who.require(resource.write_scope())?;
        non_empty(items.len())?;
        let subjects: Vec<Option<String>> = items.iter().map(|i| i.id.clone()).collect();
        let results = self.apply_changes(who, resource, None, items).await?;
        Ok(collect(results, subjects))
    }

    /// Deletes metafields of any of the store's resources by id.
    pub async fn delete_metafields(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        ids: Vec<String>,
    ) -> ServiceResult<BatchOutcome<i64>> {
        who.require(resource.write_scope())?;
        non_empty(ids.len())?;
        let parsed: Vec<Option<i64>> = ids.iter().map(|i| parse_metafield_id(i)).collect();
        let valid: Vec<i64> = parsed.iter().flatten().copied().collect();
        let deleted = self
            .store
            .delete_metafields(who.store.id, self.now(), resource, None, &valid)
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
        resource: MetafieldResource,
        items: Vec<NewMetafield>,
    ) -> ServiceResult<Vec<ServiceResult<MetafieldRecord>>> {
        // Check everything first, so ids are reserved only for items that can be written.
        let checked: Vec<ServiceResult<(String, metafield::MetafieldDraft)>> = items
            .into_iter()
            .map(|item| {
                let draft = metafield::validate_new(item.fields)?;
                let raw = item.resource_id.ok_or_else(|| {
                    DomainError::field(
                        "resource_id",
                        format!("resource_id (the {}'s id) is required.", resource.as_str()),
                    )
                })?;
                let owner = resource
                    .canonical_id(&raw)
                    .ok_or_else(|| resource_missing(resource, &raw))?;
                Ok((owner, draft))
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
        for (owner, d) in checked.iter().flatten() {
            rows.push(NewMetafieldRow {
                id: next_id,
                resource_id: owner.clone(),
                namespace: d.namespace.clone(),
                key: d.key.clone(),
                value: d.value.clone(),
                permission_set: d.permission_set.as_str().to_string(),
                description: d.description.clone(),
                owner_client_id: who.client_id.to_string(),
            });
            next_id += 1;
        }
        let written = self
            .store
            .insert_metafields(who.store.id, self.now(), resource, &rows)
            .await?;
        let mut written = written.into_iter();
        Ok(checked
            .into_iter()
            .map(|c| {
                let (owner, d) = c?;
                match written.next() {
                    Some(MetafieldWrite::Done(r)) => Ok(r),
                    Some(MetafieldWrite::Duplicate) => {
                        Err(duplicate(resource, &d.namespace, &d.key, &owner))
                    }
                    Some(MetafieldWrite::LimitReached) => Err(limit_reached(resource, &owner)),
                    Some(MetafieldWrite::NotFound) | None => {
                        Err(resource_missing(resource, &owner))
                    }
                }
            })
            .collect())
    }

    /// Validates and applies partial changes; one result per item, in order.
    async fn apply_changes(
        &self,
        who: &Principal,
        resource: MetafieldResource,
        owner: Option<&str>,
        items: Vec<MetafieldChange>,
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
            .update_metafields(who.store.id, now, resource, owner, &to_write)
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
                    .get_metafield(who.store.id, now, resource, owner, *id)
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
                         metafield of its {} already has them.",
                        patch.namespace.as_deref().unwrap_or("(unchanged)"),
                        patch.key.as_deref().unwrap_or("(unchanged)"),
                        resource.as_str()
                    ))),
                    Some(MetafieldWrite::NotFound | MetafieldWrite::LimitReached) | None => {
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
