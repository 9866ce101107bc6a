//! Coupon use cases (Marketing V2 coupons), kept as per-store configuration documents of
//! kind `coupon` with ids from the `coupon` counter. Codes are unique per store compared
//! case-insensitively, and so are names (the spec: "The value must be unique").
//!
//! Uniqueness is checked against the stored coupons before writing, for a message that
//! names the other coupon; codes are also written to the store's unique index of
//! discount codes with the coupon, and names to the store's unique index of coupon
//! names, so of two concurrent writes of one code or name only one commits and the
//! other gets the same 409.

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::coupon::{self, Coupon, CouponInput, CouponType, same_code};
use crate::store::{CodeTaken, DocKeys, StoreRecord, UseKind};

pub const COUPON_KIND: &str = "coupon";

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Coupon {id} does not exist."))
}

/// The 409 of a name coupon `id` has.
fn name_taken(id: i64, name: &str) -> ServiceError {
    ServiceError::Duplicate(format!(
        "The field `name`: coupon {id} already has the name `{name}`."
    ))
}

/// The 409 of a code written meanwhile by another coupon or promotion (`coupon:5`), as
/// the check before writing words it.
pub(super) fn code_taken(t: CodeTaken) -> ServiceError {
    let owner = match t.owner.split_once(':') {
        Some((COUPON_KIND, id)) => format!("V2 coupon {id}"),
        Some((kind, id)) => format!("{kind} {id}"),
        None => "another coupon or promotion".to_string(),
    };
    ServiceError::Duplicate(format!(
        "The field `code`: {owner} already has the code `{}` (codes are compared without regard to case).",
        t.code
    ))
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
    /// Every coupon with `num_uses` from the usage counters (orders placed with it).
    async fn all_coupons(&self, store_id: i64) -> ServiceResult<Vec<Coupon>> {
        let mut coupons: Vec<Coupon> = self.store.config_docs(store_id, COUPON_KIND).await?;
        self.fill_num_uses(store_id, &mut coupons).await?;
        Ok(coupons)
    }

    async fn fill_num_uses(&self, store_id: i64, coupons: &mut [Coupon]) -> ServiceResult<()> {
        let ids: Vec<i64> = coupons.iter().map(|c| c.id).collect();
        let uses = self
            .store
            .use_counts(store_id, UseKind::Coupon, 0, &ids)
            .await?;
        for c in coupons {
            c.num_uses = uses.get(&c.id).copied().unwrap_or(0);
        }
        Ok(())
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
        let c: Coupon = self
            .store
            .config_doc(store.id, COUPON_KIND, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut one = [c];
        self.fill_num_uses(store.id, &mut one).await?;
        let [c] = one;
        Ok(c)
    }

    /// The demo store's coupons: one of each type BigCommerce has (idempotent by code).
    pub async fn seed_demo_coupons(&self, store: &StoreRecord) -> ServiceResult<()> {
        let all = |ids: Vec<i64>| {
            Some(coupon::AppliesToInput {
                entity: Some("categories".into()),
                ids: Some(ids),
            })
        };
        let products = |ids: Vec<i64>| {
            Some(coupon::AppliesToInput {
                entity: Some("products".into()),
                ids: Some(ids),
            })
        };
        let demo = [
            (
                "Two off each mug",
                "MUG2",
                "per_item_discount",
                2,
                0,
                products(vec![2]),
            ),
            (
                "Ten percent off",
                "TENPERCENT",
                "percentage_discount",
                10,
                0,
                all(vec![0]),
            ),
            (
                "Five off orders over 25",
                "FIVEOFF",
                "per_total_discount",
                5,
                25,
                all(vec![0]),
            ),
            (
                "Five off shipping",
                "SHIP5",
                "shipping_discount",
                5,
                0,
                all(vec![0]),
            ),
            (
                "Free shipping",
                "FREESHIP",
                "free_shipping",
                0,
                0,
                all(vec![0]),
            ),
        ];
        for (name, code, kind, amount, min, applies_to) in demo {
            if self.coupon_by_code(store.id, code).await?.is_some() {
                continue;
            }
            let input = CouponInput {
                name: Some(name.into()),
                coupon_type: Some(kind.into()),
                amount: Some(amount.into()),
                min_purchase: Some(min.into()),
                code: Some(code.into()),
                applies_to,
                enabled: Some(true),
                ..CouponInput::default()
            };
            self.create_admin_coupon(store, &input).await?;
        }
        Ok(())
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

    /// Refuses a code or name another coupon already has, or a code a V3 promotion
    /// already has (409).
    async fn check_unique(&self, store_id: i64, c: &Coupon) -> ServiceResult<()> {
        if let Some((p, code)) = self.promotion_by_code(store_id, &c.code).await? {
            return Err(ServiceError::Duplicate(format!(
                "The field `code`: promotion {} already has the code `{}` (codes are compared without regard to case).",
                p.id, code.code
            )));
        }
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
                return Err(name_taken(other.id, &other.name));
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
        self.put_coupon(store.id, &c, now).await?;
        Ok(c)
    }

    /// Writes a coupon with its code and name (409 when another coupon or promotion has
    /// the code by now, or another coupon the name, worded as the check before writing).
    async fn put_coupon(&self, store_id: i64, c: &Coupon, now: i64) -> ServiceResult<()> {
        let taken = match self
            .store
            .put_coded_doc(
                store_id,
                COUPON_KIND,
                c.id,
                c,
                DocKeys {
                    codes: &[c.code.as_str()],
                    name: Some(&c.name),
                },
                now,
            )
            .await?
        {
            Ok(()) => return Ok(()),
            Err(t) => t,
        };
        if !taken.name {
            return Err(code_taken(taken));
        }
        let other = match taken.owner.split_once(':') {
            Some((COUPON_KIND, id)) => id.parse::<i64>().ok(),
            _ => None,
        };
        let holder = match other {
            Some(id) => self
                .store
                .config_doc::<Coupon>(store_id, COUPON_KIND, id)
                .await?
                .map(|o| (o.id, o.name)),
            None => None,
        };
        let (id, name) = holder.unwrap_or((other.unwrap_or(0), taken.code));
        Err(name_taken(id, &name))
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
        self.put_coupon(store.id, &c, self.now()).await?;
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
