//! Coupon use cases (Marketing V2 coupons), kept as per-store configuration documents of
//! kind `coupon` with ids from the `coupon` counter. Codes are unique per store compared
//! case-insensitively, and so are names (the spec: "The value must be unique").
//!
//! Uniqueness is checked against the stored coupons before writing; two concurrent
//! creates of the same code can both pass that check (configuration writes are rare and
//! come from admins).

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::coupon::{self, Coupon, CouponInput, CouponType, same_code};
use crate::store::StoreRecord;

pub const COUPON_KIND: &str = "coupon";

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Coupon {id} does not exist."))
}

/// Which coupons a listing returns; every set filter must hold.
#[derive(Clone, Debug, Default)]
pub struct CouponFilter {
    pub id: Option<i64>,
    /// Case-insensitive.
    pub code: Option<String>,
    /// Exact, case-insensitive.
    pub name: Option<String>,
    pub coupon_type: Option<CouponType>,
    pub exclude_type: Option<CouponType>,
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
}

impl CouponFilter {
    pub fn matches(&self, c: &Coupon) -> bool {
        self.id.is_none_or(|id| c.id == id)
            && self.code.as_deref().is_none_or(|code| c.has_code(code))
            && self
                .name
                .as_deref()
                .is_none_or(|n| c.name.to_lowercase() == n.trim().to_lowercase())
            && self.coupon_type.is_none_or(|t| c.coupon_type == t)
            && self.exclude_type.is_none_or(|t| c.coupon_type != t)
            && self.min_id.is_none_or(|m| c.id >= m)
            && self.max_id.is_none_or(|m| c.id <= m)
    }
}

impl Kassa {
    async fn all_coupons(&self, store_id: i64) -> ServiceResult<Vec<Coupon>> {
        Ok(self.store.config_docs(store_id, COUPON_KIND).await?)
    }

    /// The coupons matching `filter`, by id, one page (`page` from 1).
    pub async fn list_admin_coupons(
        &self,
        store: &StoreRecord,
        filter: &CouponFilter,
        page: usize,
        limit: usize,
    ) -> ServiceResult<Vec<Coupon>> {
        let skip = page.saturating_sub(1).saturating_mul(limit);
        Ok(self
            .all_coupons(store.id)
            .await?
            .into_iter()
            .filter(|c| filter.matches(c))
            .skip(skip)
            .take(limit)
            .collect())
    }

    pub async fn count_admin_coupons(&self, store: &StoreRecord) -> ServiceResult<usize> {
        Ok(self.all_coupons(store.id).await?.len())
    }

    pub async fn get_admin_coupon(&self, store: &StoreRecord, id: i64) -> ServiceResult<Coupon> {
        self.store
            .config_doc(store.id, COUPON_KIND, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The coupon a shopper's code names (any case), enabled or not; the checkout decides
    /// whether it can be used.
    pub async fn coupon_by_code(&self, store_id: i64, code: &str) -> ServiceResult<Option<Coupon>> {
        Ok(self
            .all_coupons(store_id)
            .await?
            .into_iter()
            .find(|c| c.has_code(code)))
    }

    /// Refuses a code or name another coupon already has (409).
    async fn check_unique(&self, store_id: i64, c: &Coupon) -> ServiceResult<()> {
        for other in self.all_coupons(store_id).await? {
            if other.id == c.id {
                continue;
            }
            if same_code(&other.code, &c.code) {
                return Err(ServiceError::Duplicate(format!(
                    "The field `code`: coupon {} already has the code `{}` (codes are compared without regard to case).",
                    other.id, other.code
                )));
            }
            if other.name.to_lowercase() == c.name.to_lowercase() {
                return Err(ServiceError::Duplicate(format!(
                    "The field `name`: coupon {} already has the name `{}`.",
                    other.id, other.name
                )));
            }
        }
        Ok(())
    }

    pub async fn create_admin_coupon(
        &self,
        store: &StoreRecord,
        input: &CouponInput,
    ) -> ServiceResult<Coupon> {
        let now = self.now();
        // Check first, so a bad request burns no ids.
        let draft = coupon::build_coupon(None, 0, input, now)?;
        self.check_unique(store.id, &draft).await?;
        let id = self.store.next_ids(store.id, COUPON_KIND, 1).await?;
        let c = Coupon { id, ..draft };
        self.store
            .put_config_doc(store.id, COUPON_KIND, id, &c, now)
            .await?;
        Ok(c)
    }

    /// Changes the fields sent; an `applies_to` left out is cleared (see the domain).
    pub async fn update_admin_coupon(
        &self,
        store: &StoreRecord,
        id: i64,
        input: &CouponInput,
    ) -> ServiceResult<Coupon> {
        let existing = self.get_admin_coupon(store, id).await?;
        let c = coupon::build_coupon(Some(&existing), id, input, self.now())?;
        self.check_unique(store.id, &c).await?;
        self.store
            .put_config_doc(store.id, COUPON_KIND, id, &c, self.now())
            .await?;
        Ok(c)
    }

    pub async fn delete_admin_coupon(&self, store: &StoreRecord, id: i64) -> ServiceResult<()> {
        if !self
            .store
            .delete_config_doc(store.id, COUPON_KIND, id)
            .await?
        {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Deletes the coupons with the given ids (unknown ids are skipped), or every coupon
    /// when `ids` is `None`. Returns how many went.
    pub async fn delete_admin_coupons(
        &self,
        store: &StoreRecord,
        ids: Option<&[i64]>,
    ) -> ServiceResult<usize> {
        let targets: Vec<i64> = match ids {
            Some(ids) => ids.to_vec(),
            None => self
                .all_coupons(store.id)
                .await?
                .iter()
                .map(|c| c.id)
                .collect(),
        };
        let mut n = 0;
        for id in targets {
            if self
                .store
                .delete_config_doc(store.id, COUPON_KIND, id)
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}
