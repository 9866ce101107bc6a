//! Checkout settings (store-wide and per channel) and checkout tokens.
//!
//! Settings live in configuration documents of kind `checkout_settings`: id 0 holds
//! the store-wide settings, id N the overrides of channel N.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::DomainError;
use crate::domain::checkout_settings::{
    ChannelChange, ChannelCheckoutSettings, ChannelOverrides, CheckoutSettings, ScriptsChange,
    token_limits,
};
use crate::domain::scope::Scope;
use uuid::Uuid;

const KIND: &str = "checkout_settings";
const GLOBAL_ID: i64 = 0;

/// A checkout token as created: the secret (shown once) and when it stops working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutToken {
    pub token: String,
    pub expires_at: i64,
    pub max_uses: i64,
}

fn check_channel(channel_id: i64) -> ServiceResult<()> {
    if channel_id < 1 {
        return Err(DomainError::field("channel_id", "channel_id must be 1 or more.").into());
    }
    Ok(())
}

fn checkout_not_found(id: Uuid) -> ServiceError {
    ServiceError::NotFound(format!("Checkout {id} does not exist."))
}

impl Kassa {
    async fn load_checkout_settings(&self, store_id: i64) -> ServiceResult<CheckoutSettings> {
        Ok(self
            .store
            .config_doc(store_id, KIND, GLOBAL_ID)
            .await?
            .unwrap_or_default())
    }

    async fn load_channel_overrides(
        &self,
        store_id: i64,
        channel_id: i64,
    ) -> ServiceResult<ChannelOverrides> {
        Ok(self
            .store
            .config_doc(store_id, KIND, channel_id)
            .await?
            .unwrap_or_default())
    }

    /// The store-wide checkout settings.
    pub async fn checkout_settings(&self, who: &Principal) -> ServiceResult<CheckoutSettings> {
        who.require(Scope::CheckoutsReadOnly)?;
        self.load_checkout_settings(who.store.id).await
    }

    /// Applies a change to the store-wide settings; answers the settings after it.
    pub async fn update_checkout_settings(
        &self,
        who: &Principal,
        change: ScriptsChange,
    ) -> ServiceResult<CheckoutSettings> {
        who.require(Scope::Checkouts)?;
        let current = self.load_checkout_settings(who.store.id).await?;
        let next = current.updated(&change)?;
        if next != current {
            self.store
                .put_config_doc(who.store.id, KIND, GLOBAL_ID, &next, self.now())
                .await?;
        }
        Ok(next)
    }

    /// A channel's checkout settings as they apply (its overrides over the store's).
    pub async fn channel_checkout_settings(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<ChannelCheckoutSettings> {
        who.require(Scope::CheckoutsReadOnly)?;
        check_channel(channel_id)?;
        self.effective_checkout_settings(who.store.id, channel_id)
            .await
    }

    /// Applies a change to a channel's overrides; answers the settings as they now apply.
    pub async fn update_channel_checkout_settings(
        &self,
        who: &Principal,
        channel_id: i64,
        change: ChannelChange,
    ) -> ServiceResult<ChannelCheckoutSettings> {
        who.require(Scope::Checkouts)?;
        check_channel(channel_id)?;
        let global = self.load_checkout_settings(who.store.id).await?;
        let current = self
            .load_channel_overrides(who.store.id, channel_id)
            .await?;
        let next = current.updated(&change, &global)?;
        if next != current {
            if next == ChannelOverrides::default() {
                self.store
                    .delete_config_doc(who.store.id, KIND, channel_id)
                    .await?;
            } else {
                self.store
                    .put_config_doc(who.store.id, KIND, channel_id, &next, self.now())
                    .await?;
            }
        }
        Ok(next.effective(&global))
    }

    /// The checkout settings that apply on a channel, for the storefront (no caller
    /// to authorize: the store comes from the shopper's session).
    pub async fn effective_checkout_settings(
        &self,
        store_id: i64,
        channel_id: i64,
    ) -> ServiceResult<ChannelCheckoutSettings> {
        let global = self.load_checkout_settings(store_id).await?;
        let overrides = self.load_channel_overrides(store_id, channel_id).await?;
        Ok(overrides.effective(&global))
    }

    /// Creates a token for a live checkout: `ttl` seconds (default one day, at most 30
    /// days) and `max_uses` redemptions (default one). Only its hash is kept.
    pub async fn create_checkout_token(
        &self,
        who: &Principal,
        checkout_id: Uuid,
        max_uses: Option<f64>,
        ttl: Option<f64>,
    ) -> ServiceResult<CheckoutToken> {
        who.require(Scope::Checkouts)?;
        let limits = token_limits(max_uses, ttl)?;
        let now = self.now();
        let token = random_secret();
        let expires_at = now + limits.ttl;
        let stored = self
            .store
            .insert_checkout_token(
                who.store.id,
                checkout_id,
                &hash_secret(&token),
                expires_at,
                limits.max_uses,
                now,
            )
            .await?;
        if !stored {
            return Err(checkout_not_found(checkout_id));
        }
        Ok(CheckoutToken {
            token,
            expires_at,
            max_uses: limits.max_uses,
        })
    }

    /// Uses a checkout token once (for the storefront's order confirmation): the store
    /// and cart it was made for, or `None` when it is unknown, used up, expired, or
    /// its cart is gone.
    pub async fn redeem_checkout_token(&self, token: &str) -> ServiceResult<Option<(i64, Uuid)>> {
        let token = token.trim().to_ascii_lowercase();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self
            .store
            .redeem_checkout_token(&hash_secret(&token), self.now())
            .await?)
    }
}
