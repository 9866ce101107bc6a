//! Gift certificate use cases (Marketing V2 `/gift_certificates`). Ids come from the
//! `gift_certificate` counter. Codes are unique per store without regard to case: the
//! service checks first for a helpful message, and the database's unique index settles
//! races (a second writer gets the same 409).

use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::gift_certificate::{self, GiftCertificate, GiftCertificateInput, generate_code};
use crate::store::gift_certificates::GiftCertificateFilter;
use crate::store::{StoreError, StoreRecord};

pub const GIFT_CERTIFICATE_COUNTER: &str = "gift_certificate";
/// Generated codes are retried this many times if one happens to be taken.
const CODE_ATTEMPTS: usize = 5;

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Gift certificate {id} does not exist."))
}

fn fresh_code() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    generate_code(&bytes)
}

fn duplicate(code: &str, holder: Option<&GiftCertificate>) -> ServiceError {
    ServiceError::Duplicate(match holder {
        Some(h) => format!(
            "The field `code`: gift certificate {} already has the code `{}` (codes are compared without regard to case).",
            h.id, h.code
        ),
        None => {
            format!("The field `code`: another gift certificate already has the code `{code}`.")
        }
    })
}

impl Kassa {
    /// The certificates matching `filter`, one page (`page` from 1).
    pub async fn list_admin_gift_certificates(
        &self,
        store: &StoreRecord,
        filter: &GiftCertificateFilter,
        page: usize,
        limit: usize,
    ) -> ServiceResult<Vec<GiftCertificate>> {
        let offset = page.saturating_sub(1).saturating_mul(limit);
        Ok(self
            .store
            .list_gift_certificates(
                store.id,
                filter,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX),
            )
            .await?)
    }

    pub async fn get_admin_gift_certificate(
        &self,
        store: &StoreRecord,
        id: i64,
    ) -> ServiceResult<GiftCertificate> {
        self.store
            .gift_certificate(store.id, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The certificate a code names (any case), usable or not; the checkout asks
    /// [`GiftCertificate::redeemable`] next.
    pub async fn gift_certificate_by_code(
        &self,
        store_id: i64,
        code: &str,
    ) -> ServiceResult<Option<GiftCertificate>> {
        Ok(self.store.gift_certificate_by_code(store_id, code).await?)
    }

    /// A code's holder other than `id`, for a 409 before writing.
    async fn check_code_free(&self, store_id: i64, code: &str, id: i64) -> ServiceResult<()> {
        match self.store.gift_certificate_by_code(store_id, code).await? {
            Some(h) if h.id != id => Err(duplicate(code, Some(&h))),
            _ => Ok(()),
        }
    }

    async fn on_taken_code(&self, store_id: i64, code: &str, e: StoreError) -> ServiceError {
        if e.unique_violation() {
            let holder = self
                .store
                .gift_certificate_by_code(store_id, code)
                .await
                .ok()
                .flatten();
            duplicate(code, holder.as_ref())
        } else {
            e.into()
        }
    }

    pub async fn create_admin_gift_certificate(
        &self,
        store: &StoreRecord,
        input: &GiftCertificateInput,
    ) -> ServiceResult<GiftCertificate> {
        let now = self.now();
        // Check everything first, so a bad request burns no id.
        let draft = gift_certificate::build_gift_certificate(
            None,
            0,
            input,
            &store.settings,
            &fresh_code(),
            now,
        )?;
        let generated = input.code.as_deref().is_none_or(|c| c.trim().is_empty());
        if !generated {
            self.check_code_free(store.id, &draft.code, 0).await?;
        }
        let id = self
            .store
            .next_ids(store.id, GIFT_CERTIFICATE_COUNTER, 1)
            .await?;
        let mut g = GiftCertificate { id, ..draft };
        let mut attempt = 1;
        loop {
            match self.store.insert_gift_certificate(store.id, &g).await {
                Ok(()) => return Ok(g),
                Err(e) if generated && e.unique_violation() && attempt < CODE_ATTEMPTS => {
                    attempt += 1;
                    g.code = fresh_code();
                }
                Err(e) => return Err(self.on_taken_code(store.id, &g.code, e).await),
            }
        }
    }

    /// Changes the fields sent. A redemption that lands between reading and writing makes
    /// this a 409 rather than be overwritten.
    pub async fn update_admin_gift_certificate(
        &self,
        store: &StoreRecord,
        id: i64,
        input: &GiftCertificateInput,
    ) -> ServiceResult<GiftCertificate> {
        let existing = self.get_admin_gift_certificate(store, id).await?;
        let g = gift_certificate::build_gift_certificate(
            Some(&existing),
            id,
            input,
            &store.settings,
            &existing.code,
            self.now(),
        )?;
        if !existing.has_code(&g.code) {
            self.check_code_free(store.id, &g.code, id).await?;
        }
        match self
            .store
            .update_gift_certificate(store.id, &g, existing.balance)
            .await
        {
            Ok(true) => Ok(g),
            Ok(false) => match self.store.gift_certificate(store.id, id).await? {
                None => Err(not_found(id)),
                Some(_) => Err(ServiceError::Conflict),
            },
            Err(e) => Err(self.on_taken_code(store.id, &g.code, e).await),
        }
    }

    pub async fn delete_admin_gift_certificate(
        &self,
        store: &StoreRecord,
        id: i64,
    ) -> ServiceResult<()> {
        if self.store.delete_gift_certificate(store.id, id).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Deletes every certificate of the store; returns how many went.
    pub async fn delete_all_admin_gift_certificates(
        &self,
        store: &StoreRecord,
    ) -> ServiceResult<u64> {
        Ok(self.store.delete_all_gift_certificates(store.id).await?)
    }
}

/// The demo store's certificates: code and amount in the default currency.
pub const DEMO_GIFT_CERTIFICATES: [(&str, i64); 2] = [("GIFT-DEMO-50", 50), ("GIFT-DEMO-10", 10)];

impl Kassa {
    /// Creates the demo certificates that do not exist yet (by code); running it again
    /// changes nothing.
    pub async fn seed_demo_gift_certificates(&self, store: &StoreRecord) -> ServiceResult<()> {
        for (code, amount) in DEMO_GIFT_CERTIFICATES {
            if self
                .store
                .gift_certificate_by_code(store.id, code)
                .await?
                .is_some()
            {
                continue;
            }
            let input = GiftCertificateInput {
                code: Some(code.to_string()),
                amount: Some(rust_decimal::Decimal::from(amount)),
                to_name: Some("Demo Shopper".into()),
                to_email: Some("shopper@example.com".into()),
                from_name: Some("Kassa Demo Store".into()),
                from_email: Some("store@example.com".into()),
                template: Some("celebration.html".into()),
                message: Some("Enjoy a gift on the demo store.".into()),
                ..Default::default()
            };
            self.create_admin_gift_certificate(store, &input).await?;
        }
        Ok(())
    }
}
