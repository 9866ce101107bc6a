//! Abandoned carts: the sweep that marks carts abandoned after a quiet period (and fires
//! `store/cart/abandoned` once per cart), the recovery-token lookup, and the settings.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::scope::Scope;
use crate::store::OutboxEvent;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// BigCommerce calls a cart abandoned after an hour without changes.
pub const DEFAULT_ABANDON_AFTER_SECS: i64 = 60 * 60;

/// `KASSA_ABANDONED_CART_AFTER_SECS`, or the default.
pub fn abandon_after_from_env() -> anyhow::Result<i64> {
    match std::env::var("KASSA_ABANDONED_CART_AFTER_SECS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                anyhow::anyhow!("KASSA_ABANDONED_CART_AFTER_SECS=`{v}` is not a positive number")
            }),
        _ => Ok(DEFAULT_ABANDON_AFTER_SECS),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Email,
    Frequency,
    DigestCount,
}

/// A setting: its name, kind, and store-wide default.
type Field = (&'static str, Kind, fn() -> Value);

/// The settings, their kinds, and store-wide defaults.
const FIELDS: &[Field] = &[
    ("enable_notification", Kind::Bool, || json!(true)),
    ("email_customer_until_cart_is_recovered", Kind::Bool, || {
        json!(false)
    }),
    (
        "marketing_emails_require_customer_consent",
        Kind::Bool,
        || json!(false),
    ),
    ("email_merchant_when_cart_is_converted", Kind::Bool, || {
        json!(false)
    }),
    ("email_merchant_when_cart_is_abandoned", Kind::Bool, || {
        json!(false)
    }),
    ("merchant_email_address", Kind::Email, || json!("")),
    (
        "merchant_abandoned_cart_email_frequency_type",
        Kind::Frequency,
        || json!("individual"),
    ),
    (
        "merchant_abandoned_cart_digest_email_frequency",
        Kind::DigestCount,
        || json!(2),
    ),
];

fn check_value(name: &str, kind: Kind, v: &Value) -> Result<(), DomainError> {
    let ok = match kind {
        Kind::Bool => v.is_boolean(),
        Kind::Email => v.as_str().is_some_and(|s| {
            s.is_empty()
                || (s.len() <= 500
                    && s.split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.')))
        }),
        Kind::Frequency => matches!(v.as_str(), Some("digest" | "individual")),
        Kind::DigestCount => v.as_i64().is_some_and(|n| (2..=1000).contains(&n)),
    };
    if ok {
        return Ok(());
    }
    let want = match kind {
        Kind::Bool => "true or false",
        Kind::Email => "an email address",
        Kind::Frequency => "`digest` or `individual`",
        Kind::DigestCount => "a whole number from 2 to 1000",
    };
    Err(DomainError::field(name, format!("{name} must be {want}.")))
}

/// BigCommerce documents these endpoints under Information & Settings.
fn require(who: &Principal, scope: Scope) -> ServiceResult<()> {
    who.require(scope)
}

fn check_channel(channel_id: i64) -> ServiceResult<()> {
    if channel_id < 1 {
        return Err(DomainError::field("channel_id", "channel_id must be 1 or more.").into());
    }
    Ok(())
}

impl Kassa {
    /// Marks carts untouched for `after_secs` abandoned, at most `limit` per call, each
    /// once and with its `store/cart/abandoned` event. Safe on many nodes at once.
    pub async fn abandon_idle_carts(&self, after_secs: i64, limit: i64) -> ServiceResult<usize> {
        let now = self.now();
        let cutoff = now - after_secs;
        let mut marked = 0;
        for (store_id, cart_id) in self
            .store
            .abandonment_candidates(cutoff, now, limit)
            .await?
        {
            let events = self
                .wanted(
                    store_id,
                    vec![OutboxEvent::new(
                        "store/cart/abandoned",
                        &cart_id,
                        json!({"type": "cart", "id": cart_id}),
                    )],
                )
                .await;
            if self
                .store
                .mark_cart_abandoned(store_id, &cart_id, cutoff, now, Uuid::new_v4(), &events)
                .await?
            {
                marked += 1;
            }
        }
        Ok(marked)
    }

    /// The cart id behind an abandoned-cart recovery token.
    pub async fn abandoned_cart(&self, who: &Principal, token: Uuid) -> ServiceResult<String> {
        require(who, Scope::V2InformationReadOnly)?;
        self.store
            .abandoned_cart_by_token(who.store.id, token, self.now())
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "No abandoned cart has the token {token} (or its cart has expired)."
                ))
            })
    }

    /// Store-wide settings, every field filled in.
    pub async fn global_abandoned_cart_settings(
        &self,
        who: &Principal,
    ) -> ServiceResult<Map<String, Value>> {
        require(who, Scope::V2InformationReadOnly)?;
        let stored = self.store.abandoned_cart_settings(who.store.id, 0).await?;
        Ok(FIELDS
            .iter()
            .map(|(name, _, default)| {
                let v = stored.get(*name).cloned().unwrap_or_else(default);
                (name.to_string(), v)
            })
            .collect())
    }

    /// Changes the store-wide settings sent (unknown fields are ignored, `null` refused).
    pub async fn set_global_abandoned_cart_settings(
        &self,
        who: &Principal,
        changes: Map<String, Value>,
    ) -> ServiceResult<Map<String, Value>> {
        require(who, Scope::V2Information)?;
        let mut stored = self.store.abandoned_cart_settings(who.store.id, 0).await?;
        for (name, kind, _) in FIELDS {
            if let Some(v) = changes.get(*name) {
                check_value(name, *kind, v)?;
                stored.insert(name.to_string(), v.clone());
            }
        }
        self.store
            .set_abandoned_cart_settings(who.store.id, 0, &stored)
            .await?;
        self.global_abandoned_cart_settings(who).await
    }

    /// A channel's overrides; `null` where the channel follows the store-wide value.
    pub async fn channel_abandoned_cart_settings(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<Map<String, Value>> {
        require(who, Scope::V2InformationReadOnly)?;
        check_channel(channel_id)?;
        let stored = self
            .store
            .abandoned_cart_settings(who.store.id, channel_id)
            .await?;
        Ok(FIELDS
            .iter()
            .map(|(name, _, _)| {
                let v = stored.get(*name).cloned().unwrap_or(Value::Null);
                (name.to_string(), v)
            })
            .collect())
    }

    /// Sets (a value) or clears (`null`) a channel's overrides of the fields sent.
    pub async fn set_channel_abandoned_cart_settings(
        &self,
        who: &Principal,
        channel_id: i64,
        changes: Map<String, Value>,
    ) -> ServiceResult<Map<String, Value>> {
        require(who, Scope::V2Information)?;
        check_channel(channel_id)?;
        let mut stored = self
            .store
            .abandoned_cart_settings(who.store.id, channel_id)
            .await?;
        for (name, kind, _) in FIELDS {
            match changes.get(*name) {
                None => {}
                Some(Value::Null) => {
                    stored.remove(*name);
                }
                Some(v) => {
                    check_value(name, *kind, v)?;
                    stored.insert(name.to_string(), v.clone());
                }
            }
        }
        self.store
            .set_abandoned_cart_settings(who.store.id, channel_id, &stored)
            .await?;
        self.channel_abandoned_cart_settings(who, channel_id).await
    }
}
