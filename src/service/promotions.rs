//! V3 promotions use cases: automatic and coupon promotions kept as per-store
//! configuration documents of kind `promotion` (ids from the `promotion` counter), their
//! coupon codes inside the document (ids from the `promotion_code` counter), and the
//! demo store's promotions.
//!
//! A coupon code is unique per store without regard to case, across every promotion and
//! the Marketing V2 coupons; the V2 coupon use cases check the other direction. As with
//! coupons, uniqueness is checked before writing (for a message naming the other owner)
//! and the codes are written with the promotion to the store's unique index of discount
//! codes, so of two concurrent writes of one code only one commits. Two concurrent
//! changes to one promotion's codes can still lose one of them.
//!
//! Usage counts (`current_uses`) are never stored in the document: they come from
//! `promotion_uses` through [`Kassa::promotion_use_counts`].
//!
//! # The demo promotions
//!
//! [`Kassa::seed_demo_promotions`] gives a store without promotions these (ids in a
//! fresh store):
//!
//! | id | name | what |
//! |----|------|------|
//! | 1 | Spend 150, save 10% | automatic; 10 % off the order from a 150.00 subtotal |
//! | 2 | Buy a mug, get a tote 50% off | automatic; with a Ceramic Mug (product 2) in the cart, one Canvas Tote Bag (product 5) at half price |
//! | 3 | Free shipping over 200 | automatic; free shipping in zone 1 (United States) from a 200.00 subtotal |

use super::coupons::{COUPON_KIND, code_taken};
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::coupon::Coupon;
use crate::domain::promotion::{
    CouponKind, Promotion, PromotionCode, PromotionStatus, RedemptionType,
};
use crate::domain::promotion_rules::{self, CodeInput, CodegenInput, CodegenSpec, PromotionInput};
use crate::store::usage::UseKind;
use crate::store::{DocKeys, StoreRecord, code_key};
use std::collections::{HashMap, HashSet};

pub const PROMOTION_KIND: &str = "promotion";
/// Counter of coupon-code ids.
pub const PROMOTION_CODE_COUNTER: &str = "promotion_code";
/// At most this many promotions per bulk delete (the spec's limit).
pub const MAX_BULK_DELETE: usize = 50;
/// At most this many codes per bulk code delete (the spec's limit).
pub const MAX_BULK_CODE_DELETE: usize = 250;

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Promotion {id} does not exist."))
}

/// Which promotions a listing returns; every filter set must hold.
#[derive(Clone, Debug, Default)]
pub struct PromotionFilter {
    pub id: Option<i64>,
    /// Exact, without regard to case.
    pub name: Option<String>,
    /// Promotions with this code (any case).
    pub code: Option<String>,
    /// The stored currency code (`*` included), without regard to case.
    pub currency_code: Option<String>,
    pub redemption_type: Option<RedemptionType>,
    pub status: Option<PromotionStatus>,
    /// Promotions targeting any of these channels, or every channel.
    pub channels: Option<Vec<i64>>,
    /// Part of the name or of a code, without regard to case.
    pub query: Option<String>,
}

impl PromotionFilter {
    pub fn matches(&self, p: &Promotion) -> bool {
        let lower = |s: &str| s.trim().to_lowercase();
        self.id.is_none_or(|id| p.id == id)
            && self
                .name
                .as_deref()
                .is_none_or(|n| lower(&p.name) == lower(n))
            && self.code.as_deref().is_none_or(|c| p.code(c).is_some())
            && self
                .currency_code
                .as_deref()
                .is_none_or(|c| p.currency_code.eq_ignore_ascii_case(c.trim()))
            && self.redemption_type.is_none_or(|t| p.redemption_type == t)
            && self.status.is_none_or(|s| p.status == s)
            && self.channels.as_deref().is_none_or(|chs| {
                p.channels.is_empty() || chs.iter().any(|c| p.channels.contains(c))
            })
            && self.query.as_deref().is_none_or(|q| {
                let q = lower(q);
                p.name.to_lowercase().contains(&q)
                    || p.codes.iter().any(|c| c.code.to_lowercase().contains(&q))
            })
    }
}

/// Sort order of a listing; ties go by id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PromotionSort {
    #[default]
    Id,
    Name,
    Priority,
    StartDate,
}

/// What a bulk delete did: `failures` are (index in the request, error key, message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkDeleteOutcome {
    pub total: usize,
    pub deleted: usize,
    pub failures: Vec<(usize, String, String)>,
}

/// The answer to a codegen request.
#[derive(Clone, Debug, PartialEq)]
pub enum CodegenOutcome {
    Generated(Vec<PromotionCode>),
    /// The promotion is not a BULK coupon promotion (the spec answers 405).
    NotBulk,
}

impl Kassa {
    async fn promotion_docs(&self, store_id: i64) -> ServiceResult<Vec<Promotion>> {
        Ok(self.store.config_docs(store_id, PROMOTION_KIND).await?)
    }

    /// Every promotion of the store in the order pricing runs them: by `priority`,
    /// then id.
    pub async fn promotions(&self, store_id: i64) -> ServiceResult<Vec<Promotion>> {
        let mut all = self.promotion_docs(store_id).await?;
        all.sort_by_key(|p| (p.priority, p.id));
        Ok(all)
    }

    /// The coupon promotion and code a shopper's code names (any case), whatever the
    /// promotion's status; the checkout decides whether it can be used.
    pub async fn promotion_by_code(
        &self,
        store_id: i64,
        code: &str,
    ) -> ServiceResult<Option<(Promotion, PromotionCode)>> {
        Ok(self
            .promotion_docs(store_id)
            .await?
            .into_iter()
            .find_map(|p| {
                let c = p.code(code).cloned()?;
                Some((p, c))
            }))
    }

    /// Uses so far of the promotions and of their codes (everyone together), for
    /// `current_uses`: (by promotion id, by code id).
    pub async fn promotion_use_counts(
        &self,
        store_id: i64,
        promotions: &[Promotion],
    ) -> ServiceResult<(HashMap<i64, i64>, HashMap<i64, i64>)> {
        let ids: Vec<i64> = promotions.iter().map(|p| p.id).collect();
        let code_ids: Vec<i64> = promotions
            .iter()
            .flat_map(|p| p.codes.iter().map(|c| c.id))
            .collect();
        let by_promotion = self
            .store
            .use_counts(store_id, UseKind::Promotion, 0, &ids)
            .await?;
        let by_code = self
            .store
            .use_counts(store_id, UseKind::PromotionCode, 0, &code_ids)
            .await?;
        Ok((by_promotion, by_code))
    }

    /// One page (`page` from 1) of the promotions matching `filter`, and how many match.
    pub async fn list_promotions(
        &self,
        store: &StoreRecord,
        filter: &PromotionFilter,
        sort: PromotionSort,
        descending: bool,
        page: usize,
        limit: usize,
    ) -> ServiceResult<(Vec<Promotion>, usize)> {
        let mut all: Vec<Promotion> = self
            .promotion_docs(store.id)
            .await?
            .into_iter()
            .filter(|p| filter.matches(p))
            .collect();
        match sort {
            PromotionSort::Id => all.sort_by_key(|p| p.id),
            PromotionSort::Name => all.sort_by_key(|p| (p.name.to_lowercase(), p.id)),
            PromotionSort::Priority => all.sort_by_key(|p| (p.priority, p.id)),
            PromotionSort::StartDate => all.sort_by_key(|p| (p.start_date, p.id)),
        }
        if descending {
            all.reverse();
        }
        let total = all.len();
        let skip = page.saturating_sub(1).saturating_mul(limit);
        Ok((all.into_iter().skip(skip).take(limit).collect(), total))
    }

    pub async fn get_promotion(&self, store: &StoreRecord, id: i64) -> ServiceResult<Promotion> {
        self.store
            .config_doc(store.id, PROMOTION_KIND, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The lower-cased codes in use in the store outside promotion `except` (0 = none
    /// excepted): every other promotion's codes and every V2 coupon's, each with who has it.
    async fn codes_in_use(
        &self,
        store_id: i64,
        except: i64,
    ) -> ServiceResult<HashMap<String, String>> {
        let mut used = HashMap::new();
        for p in self.promotion_docs(store_id).await? {
            if p.id == except {
                continue;
            }
            for c in &p.codes {
                used.insert(code_key(&c.code), format!("promotion {}", p.id));
            }
        }
        let coupons: Vec<Coupon> = self.store.config_docs(store_id, COUPON_KIND).await?;
        for c in coupons {
            used.insert(code_key(&c.code), format!("V2 coupon {}", c.id));
        }
        Ok(used)
    }

    /// Refuses (409) any of `codes` that another promotion or a V2 coupon already has.
    async fn check_codes_free(
        &self,
        store_id: i64,
        except: i64,
        codes: &[&str],
    ) -> ServiceResult<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let used = self.codes_in_use(store_id, except).await?;
        for code in codes {
            if let Some(owner) = used.get(&code_key(code)) {
                return Err(ServiceError::Duplicate(format!(
                    "The field `code`: {owner} already has the code `{}` (codes are compared without regard to case).",
                    code.trim()
                )));
            }
        }
        Ok(())
    }

    /// Gives codes still at id 0 ids from the `promotion_code` counter.
    async fn assign_code_ids(
        &self,
        store_id: i64,
        codes: &mut [PromotionCode],
    ) -> ServiceResult<()> {
        let new = codes.iter().filter(|c| c.id == 0).count();
        if new == 0 {
            return Ok(());
        }
        let mut next = self
            .store
            .next_ids(store_id, PROMOTION_CODE_COUNTER, new as i64)
            .await?;
        for c in codes.iter_mut().filter(|c| c.id == 0) {
            c.id = next;
            next += 1;
        }
        Ok(())
    }

    pub async fn create_promotion(
        &self,
        store: &StoreRecord,
        input: &PromotionInput,
    ) -> ServiceResult<Promotion> {
        let now = self.now();
        // Everything is checked before an id is taken, so a bad request burns none.
        let mut p = promotion_rules::build_promotion(input, None, now)?;
        let codes: Vec<&str> = p.codes.iter().map(|c| c.code.as_str()).collect();
        self.check_codes_free(store.id, 0, &codes).await?;
        let id = self.store.next_ids(store.id, PROMOTION_KIND, 1).await?;
        promotion_rules::assign_id(&mut p, id, input.priority.is_some());
        self.assign_code_ids(store.id, &mut p.codes).await?;
        self.put_promotion(store.id, &p, now).await?;
        Ok(p)
    }

    /// Changes the fields sent (PATCH semantics, as the spec's `Patch…Promotion`).
    pub async fn update_promotion(
        &self,
        store: &StoreRecord,
        id: i64,
        input: &PromotionInput,
    ) -> ServiceResult<Promotion> {
        let existing = self.get_promotion(store, id).await?;
        let now = self.now();
        let mut p = promotion_rules::build_promotion(input, Some(&existing), now)?;
        let codes: Vec<&str> = p.codes.iter().map(|c| c.code.as_str()).collect();
        self.check_codes_free(store.id, id, &codes).await?;
        self.assign_code_ids(store.id, &mut p.codes).await?;
        self.put_promotion(store.id, &p, now).await?;
        Ok(p)
    }

    /// Writes a promotion with its codes (409 when another promotion or a coupon has
    /// one of them by now).
    async fn put_promotion(&self, store_id: i64, p: &Promotion, now: i64) -> ServiceResult<()> {
        let codes: Vec<&str> = p.codes.iter().map(|c| c.code.as_str()).collect();
        self.store
            .put_coded_doc(
                store_id,
                PROMOTION_KIND,
                p.id,
                p,
                DocKeys {
                    codes: &codes,
                    name: None,
                },
                now,
            )
            .await?
            .map_err(code_taken)
    }

    /// Deletes a promotion and its codes; a promotion that does not exist is fine.
    pub async fn delete_promotion(&self, store: &StoreRecord, id: i64) -> ServiceResult<bool> {
        Ok(self
            .store
            .delete_config_doc(store.id, PROMOTION_KIND, id)
            .await?)
    }

    /// Deletes the promotions listed (at most [`MAX_BULK_DELETE`]). Unknown ids count as
    /// deleted; a promotion that still has coupon codes is not deleted (the spec) and is
    /// reported under `"{index}.code"`.
    pub async fn delete_promotions(
        &self,
        store: &StoreRecord,
        ids: &[i64],
    ) -> ServiceResult<BulkDeleteOutcome> {
        if ids.len() > MAX_BULK_DELETE {
            return Err(DomainError::field(
                "id:in",
                format!(
                    "The query parameter `id:in` lists {} promotions; at most {MAX_BULK_DELETE} can be deleted at once.",
                    ids.len()
                ),
            )
            .into());
        }
        let all: HashMap<i64, Promotion> = self
            .promotion_docs(store.id)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut out = BulkDeleteOutcome {
            total: ids.len(),
            ..Default::default()
        };
        for (i, id) in ids.iter().enumerate() {
            match all.get(id) {
                Some(p) if !p.codes.is_empty() => out.failures.push((
                    i,
                    format!("{i}.code"),
                    format!(
                        "Promotion {id} was not deleted: it still has {} coupon code(s); delete them first.",
                        p.codes.len()
                    ),
                )),
                Some(_) => {
                    self.store
                        .delete_config_doc(store.id, PROMOTION_KIND, *id)
                        .await?;
                    out.deleted += 1;
                }
                None => out.deleted += 1,
            }
        }
        Ok(out)
    }

    // ---------- codes ----------

    /// A promotion's codes, by id.
    pub async fn promotion_codes(
        &self,
        store: &StoreRecord,
        promotion_id: i64,
    ) -> ServiceResult<Vec<PromotionCode>> {
        let mut codes = self.get_promotion(store, promotion_id).await?.codes;
        codes.sort_by_key(|c| c.id);
        Ok(codes)
    }

    /// Adds one code to a coupon promotion (a SINGLE one only while it has none).
    pub async fn create_promotion_code(
        &self,
        store: &StoreRecord,
        promotion_id: i64,
        input: &CodeInput,
    ) -> ServiceResult<PromotionCode> {
        let mut p = self.get_promotion(store, promotion_id).await?;
        let now = self.now();
        let mut code = promotion_rules::build_code("", input, now)?;
        promotion_rules::check_can_add_code(&p)?;
        self.check_codes_free(store.id, 0, &[code.code.as_str()])
            .await?;
        code.id = self
            .store
            .next_ids(store.id, PROMOTION_CODE_COUNTER, 1)
            .await?;
        p.codes.push(code.clone());
        self.put_promotion(store.id, &p, now).await?;
        Ok(code)
    }

    /// Generates a batch of random codes for a BULK coupon promotion; none collides with
    /// a code in use in the store.
    pub async fn generate_promotion_codes(
        &self,
        store: &StoreRecord,
        promotion_id: i64,
        input: &CodegenInput,
    ) -> ServiceResult<CodegenOutcome> {
        let mut p = self.get_promotion(store, promotion_id).await?;
        if p.redemption_type != RedemptionType::Coupon || p.coupon_type != Some(CouponKind::Bulk) {
            return Ok(CodegenOutcome::NotBulk);
        }
        let spec = promotion_rules::validate_codegen(input)?;
        let now = self.now();
        let mut taken: HashSet<String> =
            self.codes_in_use(store.id, 0).await?.into_keys().collect();
        let texts = random_codes(&spec, &mut taken)?;
        let first = self
            .store
            .next_ids(store.id, PROMOTION_CODE_COUNTER, texts.len() as i64)
            .await?;
        let codes: Vec<PromotionCode> = texts
            .into_iter()
            .zip(first..)
            .map(|(code, id)| PromotionCode {
                id,
                code,
                max_uses: spec.max_uses,
                max_uses_per_customer: spec.max_uses_per_customer,
                created: now,
            })
            .collect();
        p.codes.extend(codes.iter().cloned());
        self.put_promotion(store.id, &p, now).await?;
        Ok(CodegenOutcome::Generated(codes))
    }

    /// Deletes the listed codes of one promotion (at most [`MAX_BULK_CODE_DELETE`]);
    /// ids it does not have count as deleted.
    pub async fn delete_promotion_codes(
        &self,
        store: &StoreRecord,
        promotion_id: i64,
        code_ids: &[i64],
    ) -> ServiceResult<usize> {
        if code_ids.len() > MAX_BULK_CODE_DELETE {
            return Err(DomainError::field(
                "id:in",
                format!(
                    "The query parameter `id:in` lists {} codes; at most {MAX_BULK_CODE_DELETE} can be deleted at once.",
                    code_ids.len()
                ),
            )
            .into());
        }
        let mut p = self.get_promotion(store, promotion_id).await?;
        let before = p.codes.len();
        p.codes.retain(|c| !code_ids.contains(&c.id));
        let removed = before - p.codes.len();
        if removed > 0 {
            self.put_promotion(store.id, &p, self.now()).await?;
        }
        Ok(removed)
    }

    /// Deletes the code with this text (any case), wherever it is; false when none has it.
    pub async fn delete_promotion_code_by_code(
        &self,
        store: &StoreRecord,
        code: &str,
    ) -> ServiceResult<bool> {
        let Some((mut p, c)) = self.promotion_by_code(store.id, code).await? else {
            return Ok(false);
        };
        p.codes.retain(|k| k.id != c.id);
        self.put_promotion(store.id, &p, self.now()).await?;
        Ok(true)
    }

    // ---------- demo ----------

    /// Creates the demo promotions (see the module docs) in a store that has none.
    pub async fn seed_demo_promotions(&self, store: &StoreRecord) -> ServiceResult<()> {
        if !self.promotion_docs(store.id).await?.is_empty() {
            return Ok(());
        }
        let demo = [
            serde_json::json!({
                "redemption_type": "AUTOMATIC",
                "name": "Spend 150, save 10%",
                "display_name": "10% off orders of 150 or more",
                "rules": [{
                    "action": {"cart_value": {"discount": {"percentage_amount": "10"}}},
                    "condition": {"cart": {"minimum_spend": "150"}}
                }]
            }),
            serde_json::json!({
                "redemption_type": "AUTOMATIC",
                "name": "Buy a mug, get a tote 50% off",
                "display_name": "Half-price tote with your mug",
                "rules": [{
                    "action": {"cart_items": {
                        "discount": {"percentage_amount": "50"},
                        "items": {"products": [5]},
                        "quantity": 1
                    }},
                    "condition": {"cart": {"items": {"products": [2]}, "minimum_quantity": 1}}
                }]
            }),
            serde_json::json!({
                "redemption_type": "AUTOMATIC",
                "name": "Free shipping over 200",
                "display_name": "Free US shipping on orders over 200",
                "rules": [{
                    "action": {"shipping": {"zone_ids": [1]}},
                    "condition": {"cart": {"minimum_spend": "200"}}
                }]
            }),
        ];
        for body in demo {
            let input: PromotionInput = serde_json::from_value(body).map_err(|e| {
                ServiceError::BadRequest(format!("demo promotion does not parse: {e}"))
            })?;
            self.create_promotion(store, &input).await?;
        }
        Ok(())
    }
}

/// `spec.batch_size` distinct random codes not in `taken` (which they are added to).
fn random_codes(spec: &CodegenSpec, taken: &mut HashSet<String>) -> ServiceResult<Vec<String>> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(spec.batch_size);
    // With 36^6 or more possible random parts a collision is rare; give up only if the
    // alphabet is tiny and the space is nearly used up.
    let mut attempts = spec.batch_size.saturating_mul(20) + 100;
    while out.len() < spec.batch_size {
        if attempts == 0 {
            return Err(DomainError::field(
                "exclude_characters",
                "Not enough distinct codes can be generated from the characters left; exclude fewer characters or make codes longer.",
            )
            .into());
        }
        attempts -= 1;
        let random: String = (0..spec.code_length)
            .map(|_| spec.alphabet[rng.gen_range(0..spec.alphabet.len())])
            .collect();
        let code = spec.code(&random);
        if taken.insert(code_key(&code)) {
            out.push(code);
        }
    }
    Ok(out)
}
