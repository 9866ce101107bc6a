//! Cart settings: the store-wide `allow_purchasing` switch and its per-channel
//! overrides, and the rule that makes them bite on cart writes.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::scope::Scope;

/// BigCommerce documents these endpoints under the Information & Settings scopes;
/// Kassa also lets the cart scopes in, so a cart-only API account can manage them.
const READ_SCOPES: [Scope; 2] = [Scope::CartReadOnly, Scope::V2InformationReadOnly];
const WRITE_SCOPES: [Scope; 2] = [Scope::Cart, Scope::V2Information];

/// The first of `scopes` is the one named when the caller holds none of them.
fn require_any(who: &Principal, scopes: [Scope; 2]) -> ServiceResult<()> {
    if scopes.iter().any(|s| who.scopes.allows(*s)) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(scopes[0]))
    }
}

/// Whether `who` may change cart settings (checked again by each write).
pub fn require_cart_settings_write(who: &Principal) -> ServiceResult<()> {
    require_any(who, WRITE_SCOPES)
}

/// A channel's override of the global settings (`None` = follow the global value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelCartSettings {
    pub allow_purchasing: Option<bool>,
}

fn check_channel(channel_id: i64) -> ServiceResult<()> {
    if channel_id < 1 {
        return Err(DomainError::field("channel_id", "channel_id must be 1 or more.").into());
    }
    Ok(())
}

impl Kassa {
    /// The store-wide `allow_purchasing`.
    pub fn global_allow_purchasing(&self, who: &Principal) -> ServiceResult<bool> {
        require_any(who, READ_SCOPES)?;
        Ok(who.store.settings.allow_purchasing)
    }

    pub async fn set_global_allow_purchasing(
        &self,
        who: &Principal,
        allow: bool,
    ) -> ServiceResult<bool> {
        require_any(who, WRITE_SCOPES)?;
        // The principal's store row was read for this request, so its settings are current.
        let mut settings = who.store.settings.clone();
        settings.allow_purchasing = allow;
        self.store
            .update_store_settings(who.store.id, &settings)
            .await?;
        self.auth_cache.clear();
        Ok(allow)
    }

    pub async fn channel_cart_settings(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<ChannelCartSettings> {
        require_any(who, READ_SCOPES)?;
        check_channel(channel_id)?;
        let allow_purchasing = self
            .store
            .channel_allow_purchasing(who.store.id, channel_id)
            .await?;
        Ok(ChannelCartSettings { allow_purchasing })
    }

    /// Sets (`Some(Some(_))`) or clears (`Some(None)`) a channel's override; `None`
    /// changes nothing and answers the current override.
    pub async fn set_channel_cart_settings(
        &self,
        who: &Principal,
        channel_id: i64,
        change: Option<Option<bool>>,
    ) -> ServiceResult<ChannelCartSettings> {
        require_any(who, WRITE_SCOPES)?;
        check_channel(channel_id)?;
        let allow_purchasing = match change {
            Some(allow) => {
                self.store
                    .set_channel_allow_purchasing(who.store.id, channel_id, allow)
                    .await?;
                allow
            }
            None => {
                self.store
                    .channel_allow_purchasing(who.store.id, channel_id)
                    .await?
            }
        };
        Ok(ChannelCartSettings { allow_purchasing })
    }

    /// Refuses (422) a cart write on a channel where purchasing is switched off.
    pub async fn ensure_purchasing_allowed(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<()> {
        if self.purchasing_allowed(who, channel_id).await? {
            Ok(())
        } else {
            Err(purchasing_disabled(channel_id).into())
        }
    }

    /// Whether shoppers may buy on this channel: its override, else the global setting.
    pub async fn purchasing_allowed(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<bool> {
        let channel = self
            .store
            .channel_allow_purchasing(who.store.id, channel_id)
            .await?;
        Ok(channel.unwrap_or(who.store.settings.allow_purchasing))
    }
}

/// Refuses (422) a cart write on `channel_id` when its override (`channel`, as read),
/// else the store-wide setting, switches purchasing off.
pub fn check_purchasing(
    who: &Principal,
    channel_id: i64,
    channel: Option<bool>,
) -> ServiceResult<()> {
    if channel.unwrap_or(who.store.settings.allow_purchasing) {
        Ok(())
    } else {
        Err(purchasing_disabled(channel_id).into())
    }
}

fn purchasing_disabled(channel_id: i64) -> DomainError {
    DomainError::Unprocessable {
        title: format!(
            "Purchasing is disabled for channel {channel_id}: the store's cart settings do not \
             allow purchasing, so carts cannot be created or added to. Enable `allow_purchasing` \
             under /carts/settings to change this."
        ),
        errors: vec![(
            "allow_purchasing".to_string(),
            format!("Purchasing is disabled for channel {channel_id}."),
        )],
    }
}
