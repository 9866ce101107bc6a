//! Gift certificates and store credit as ways to pay a checkout. Applying one only
//! records it on the checkout; pricing works out what it pays, and balances are debited
//! when the order is placed (see `orders.rs`).

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::cart::{Cart, Outcome};
use crate::domain::checkout::AppliedGiftCertificate;
use crate::domain::gift_certificate::code_key;
use crate::domain::money::Money;
use uuid::Uuid;

/// Distinct wrong gift-certificate codes a checkout may try per hour (the storefront
/// API's documented limit).
pub const WRONG_GIFT_CODES_PER_HOUR: i64 = 20;
const HOUR: i64 = 3600;

impl Kassa {
    pub async fn apply_gift_certificate(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        let typed = code.trim();
        if typed.is_empty() || typed.chars().count() > 50 {
            return Err(DomainError::field(
                "gift_certificate_code",
                "A gift certificate code is 1 to 50 characters.",
            )
            .into());
        }
        let cart = self.get_cart(who, id).await?;
        let now = self.now();
        let cart_key = id.to_string();
        let (tried, oldest) = self
            .store
            .wrong_gift_codes_since(who.store.id, &cart_key, now - HOUR)
            .await?;
        if tried >= WRONG_GIFT_CODES_PER_HOUR {
            let wait = oldest.map(|t| t + HOUR - now).unwrap_or(HOUR).max(1);
            return Err(ServiceError::RateLimited(
                format!(
                    "Too many wrong gift certificate codes on this checkout ({WRONG_GIFT_CODES_PER_HOUR} per hour); try again in {wait} seconds."
                ),
                wait,
            ));
        }
        let Some(gc) = self
            .store
            .gift_certificate_by_code(who.store.id, typed)
            .await?
        else {
            self.store
                .record_wrong_gift_code(who.store.id, &cart_key, &code_key(typed), now)
                .await?;
            return Err(ServiceError::NotFound(format!(
                "Gift certificate code `{typed}` was not found."
            )));
        };
        gc.redeemable(now)?;
        if !gc.is_in_currency(&cart.currency.code) {
            return Err(DomainError::field(
                "gift_certificate_code",
                format!(
                    "Gift certificate `{}` is in {}, but this checkout is in {}.",
                    gc.code, gc.currency_code, cart.currency.code
                ),
            )
            .into());
        }
        let applied = AppliedGiftCertificate {
            id: gc.id,
            code: gc.code.clone(),
            balance: gc.balance,
            purchase_date: gc.purchase_date,
            used: Money::ZERO,
        };
        self.change_checkout(who, id, version, |cart, _| {
            if !cart.gift_certificates.is_empty() {
                return Err(DomainError::field(
                    "gift_certificate_code",
                    "Gift certificates cannot pay for gift certificates; this checkout buys one.",
                ));
            }
            if cart
                .checkout
                .gift_certificates
                .iter()
                .any(|g| g.id == applied.id)
            {
                return Err(DomainError::field(
                    "gift_certificate_code",
                    format!(
                        "Gift certificate `{}` is already applied to this checkout.",
                        applied.code
                    ),
                ));
            }
            cart.checkout.gift_certificates.push(applied.clone());
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn remove_gift_certificate(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
    ) -> ServiceResult<Cart> {
        let key = code_key(code);
        let cart = self.get_cart(who, id).await?;
        if !cart
            .checkout
            .gift_certificates
            .iter()
            .any(|g| code_key(&g.code) == key)
        {
            return Err(ServiceError::NotFound(format!(
                "Gift certificate `{}` is not applied to this checkout.",
                code.trim()
            )));
        }
        self.change_checkout(who, id, None, |cart, _| {
            cart.checkout
                .gift_certificates
                .retain(|g| code_key(&g.code) != key);
            Ok(Outcome::Kept)
        })
        .await
    }

    /// Applies all of the customer's store credit (up to what the order costs).
    pub async fn apply_store_credit(&self, who: &Principal, id: Uuid) -> ServiceResult<Cart> {
        let cart = self.get_cart(who, id).await?;
        if cart.customer_id == 0 {
            return Err(DomainError::invalid(
                "Store credit belongs to a customer; this checkout has no customer_id.",
            )
            .into());
        }
        let credit = self
            .store
            .customer(who.store.id, cart.customer_id)
            .await?
            .map(|c| c.store_credit)
            .unwrap_or_default();
        if credit <= Money::ZERO {
            return Err(DomainError::invalid(format!(
                "Customer {} has no store credit to apply.",
                cart.customer_id
            ))
            .into());
        }
        self.change_checkout(who, id, None, |cart, _| {
            cart.checkout.store_credit = Some(credit);
            Ok(Outcome::Kept)
        })
        .await
    }

    pub async fn remove_store_credit(&self, who: &Principal, id: Uuid) -> ServiceResult<Cart> {
        self.change_checkout(who, id, None, |cart, _| {
            cart.checkout.store_credit = None;
            Ok(Outcome::Kept)
        })
        .await
    }
}
