//! Storefront shoppers: which store a browser is talking to, its session, and what
//! it may see.
//!
//! A shopper is an opaque random token (the `SHOP_SESSION_TOKEN` cookie) whose
//! SHA-256 is the key of a `shopper_sessions` row; the row's public `id` (never the
//! token) is what carts and orders record as their owner. A shopper sees only carts
//! whose `shopper_id` is theirs, and orders placed from such carts; everything else
//! answers "not found", so ids of other shoppers' carts leak nothing.
//!
//! Entry points for other storefront code (hosted pages, Checkout SDK endpoints):
//! - [`Kassa::storefront_store`]: the store a `Host` header names;
//! - [`Kassa::shopper_session`]: the live session behind a cookie token;
//! - [`Kassa::start_shopper_session`]: a new session (token returned once);
//! - [`Kassa::attach_cart_to_shopper`]: gives a cart (e.g. one opened through a
//!   redirect URL) to the caller's session, starting a session when there is none;
//! - [`Kassa::shopper_cart`] / [`Kassa::shopper_order`]: reads that answer 404
//!   unless the shopper owns the resource;
//! - [`shopper_principal`]: the [`Principal`] the cart and checkout use cases take.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::cart::Cart;
use crate::domain::order::PlacedOrder;
use crate::domain::scope::Scopes;
use crate::store::{ShopperSessionRow, StoreRecord};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// A session lives as long as a cart can, so a shopper never loses a live cart.
pub const SESSION_LIFETIME_SECS: i64 = crate::domain::cart::CART_LIFETIME_SECS;

/// A shopper's session (without its token).
pub type ShopperSession = ShopperSessionRow;

/// The identity the cart and checkout use cases run under for a shopper: the store,
/// with every scope, because the storefront routes themselves decide what a shopper
/// may do (only its own resources, only the storefront operations).
pub fn shopper_principal(store: &StoreRecord) -> Principal {
    Principal {
        store: std::sync::Arc::new(store.clone()),
        scopes: Scopes::every(),
        client_id: Default::default(),
    }
}

/// The CSRF token of a session: derived from the (secret, `HttpOnly`) session token,
/// so it is bound to the session, needs no storage, and reveals nothing about the token.
pub fn csrf_token(session_token: &str) -> String {
    hash_secret(&format!("kassa-storefront-csrf:{session_token}"))
}

/// The host part of a `Host` header: port and trailing dot removed, lower-case.
pub fn host_domain(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn not_found() -> ServiceError {
    ServiceError::NotFound("No storefront is served at this address.".into())
}

/// Spam protection for code entry (coupons, gift certificates): after
/// [`SPAM_FAILURE_LIMIT`] failed attempts on a checkout within [`SPAM_WINDOW_SECS`],
/// further attempts are refused until `POST …/spam-protection` passes the
/// configured [`SpamCheck`]. The default check has no external verifier and passes
/// nothing, so the lock simply lasts out the window; a deployment plugs in a real
/// verifier (a CAPTCHA service) by replacing it.
pub const SPAM_FAILURE_LIMIT: u32 = 5;
pub const SPAM_WINDOW_SECS: i64 = 15 * 60;

/// Verifies the token a shopper's browser obtained from a human check.
pub trait SpamCheck: Send + Sync + std::fmt::Debug {
    fn verify(&self, token: &str) -> bool;
}

/// The default: no verifier configured, so no token proves anything.
#[derive(Debug, Default)]
pub struct NoVerifier;

impl SpamCheck for NoVerifier {
    fn verify(&self, _token: &str) -> bool {
        false
    }
}

#[derive(Debug)]
pub struct SpamGuard {
    /// (store, checkout) -> (failures, first failure at).
    failures: Mutex<HashMap<(i64, Uuid), (u32, i64)>>,
    pub check: Box<dyn SpamCheck>,
}

impl Default for SpamGuard {
    fn default() -> Self {
        SpamGuard {
            failures: Mutex::default(),
            check: Box::new(NoVerifier),
        }
    }
}

impl SpamGuard {
    /// True when this key (a checkout; for sign-ins, an email's key; for new accounts,
    /// a client address's key) is locked.
    pub fn required(&self, store_id: i64, checkout: Uuid, now: i64) -> bool {
        let Ok(map) = self.failures.lock() else {
            return false;
        };
        map.get(&(store_id, checkout))
            .is_some_and(|(n, at)| *n >= SPAM_FAILURE_LIMIT && now - at < SPAM_WINDOW_SECS)
    }

    pub fn failed(&self, store_id: i64, checkout: Uuid, now: i64) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, at)| now - *at < SPAM_WINDOW_SECS);
            }
            let e = map.entry((store_id, checkout)).or_insert((0, now));
            if now - e.1 >= SPAM_WINDOW_SECS {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    pub(crate) fn clear(&self, store_id: i64, checkout: Uuid) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&(store_id, checkout));
        }
    }
}

impl Kassa {
    /// The store a storefront request is for: the one whose storefront domain is the
    /// `Host` (port ignored); else, in a single-store deployment, that store.
    pub async fn storefront_store(&self, host: &str) -> ServiceResult<StoreRecord> {
        let domain = host_domain(host);
        if !domain.is_empty()
            && let Some(s) = self.store.find_store_by_domain(&domain).await?
        {
            return Ok(s);
        }
        self.store.sole_store().await?.ok_or_else(not_found)
    }

    /// The live session of this store behind a cookie token, if any.
    pub async fn shopper_session(
        &self,
        store: &StoreRecord,
        token: &str,
    ) -> ServiceResult<Option<ShopperSession>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self
            .store
            .find_shopper_session(store.id, &hash_secret(token), self.now())
            .await?)
    }

    /// Starts a session; the token is returned once and only its hash is kept.
    pub async fn start_shopper_session(
        &self,
        store: &StoreRecord,
    ) -> ServiceResult<(String, ShopperSession)> {
        let token = random_secret();
        let now = self.now();
        let row = ShopperSessionRow {
            id: Uuid::new_v4(),
            store_id: store.id,
            customer_id: 0,
            expires_at: now + SESSION_LIFETIME_SECS,
        };
        self.store
            .insert_shopper_session(&hash_secret(&token), &row, now)
            .await?;
        Ok((token, row))
    }

    /// Gives a cart of this store to the shopper behind `session_token`, starting a
    /// session when the token is missing or no longer live. Returns the session's
    /// token (the given one, or a new one to set as the cookie) and the session.
    pub async fn attach_cart_to_shopper(
        &self,
        store: &StoreRecord,
        session_token: Option<&str>,
        cart_id: Uuid,
    ) -> ServiceResult<(String, ShopperSession)> {
        let existing = match session_token {
            Some(t) => self
                .shopper_session(store, t)
                .await?
                .map(|s| (t.to_string(), s)),
            None => None,
        };
        let (token, session) = match existing {
            Some(found) => found,
            None => self.start_shopper_session(store).await?,
        };
        self.claim_cart(store, &session, cart_id).await?;
        Ok((token, session))
    }

    /// Records the shopper as the owner of a cart (404 when the cart is gone).
    pub async fn claim_cart(
        &self,
        store: &StoreRecord,
        session: &ShopperSession,
        cart_id: Uuid,
    ) -> ServiceResult<()> {
        if self
            .store
            .set_cart_shopper(store.id, cart_id, session.id, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(super::carts::cart_not_found(cart_id))
        }
    }

    /// Fails with "not found" unless the shopper owns this live cart.
    pub async fn ensure_shoppers_cart(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        cart_id: Uuid,
    ) -> ServiceResult<()> {
        match session {
            Some(s)
                if self
                    .store
                    .cart_is_shoppers(store.id, cart_id, s.id, self.now())
                    .await? =>
            {
                Ok(())
            }
            _ => Err(super::carts::cart_not_found(cart_id)),
        }
    }

    /// A cart of this shopper (404 for anyone else's, or none).
    pub async fn shopper_cart(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        cart_id: Uuid,
    ) -> ServiceResult<Cart> {
        self.ensure_shoppers_cart(store, session, cart_id).await?;
        self.get_cart(&shopper_principal(store), cart_id).await
    }

    /// The shopper's live carts, newest first.
    pub async fn shopper_carts(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
    ) -> ServiceResult<Vec<Cart>> {
        let Some(s) = session else {
            return Ok(Vec::new());
        };
        let who = shopper_principal(store);
        let mut out = Vec::new();
        for id in self
            .store
            .shopper_cart_ids(store.id, s.id, self.now())
            .await?
        {
            match self.get_cart(&who, id).await {
                Ok(c) => out.push(c),
                Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// An order placed from one of this shopper's carts (404 otherwise).
    pub async fn shopper_order(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        order_id: i64,
    ) -> ServiceResult<PlacedOrder> {
        let missing = || ServiceError::NotFound(format!("Order {order_id} does not exist."));
        let Some(s) = session else {
            return Err(missing());
        };
        if !self
            .store
            .order_is_shoppers(store.id, order_id, s.id)
            .await?
        {
            return Err(missing());
        }
        self.get_order(store, order_id).await
    }

    /// Whether code entry on this checkout is locked behind the human check.
    pub fn spam_check_required(&self, store: &StoreRecord, checkout: Uuid) -> bool {
        self.spam.required(store.id, checkout, self.now())
    }

    /// Counts a failed code attempt towards the spam lock.
    pub fn spam_failure(&self, store: &StoreRecord, checkout: Uuid) {
        self.spam.failed(store.id, checkout, self.now());
    }

    /// Runs the pluggable human check; a pass lifts the lock.
    pub fn verify_spam_token(&self, store: &StoreRecord, checkout: Uuid, token: &str) -> bool {
        let ok = !token.trim().is_empty() && self.spam.check.verify(token);
        if ok {
            self.spam.clear(store.id, checkout);
        }
        ok
    }

    /// Sets the storefront domain and origins of a store (where its settings are set).
    pub async fn set_storefront(
        &self,
        store_hash: &str,
        domain: Option<String>,
        origins: Vec<String>,
    ) -> ServiceResult<StoreRecord> {
        let mut store = self.find_store(store_hash).await?;
        store.settings.storefront_domain = domain;
        store.settings.storefront_origins = origins
            .into_iter()
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        store.settings.storefront_domain = store.settings.normalized_domain();
        match self
            .store
            .update_store_settings(store.id, &store.settings)
            .await
        {
            Ok(()) => {}
            Err(e) if e.unique_violation() => {
                return Err(ServiceError::BadRequest(
                    "another store already serves that storefront domain".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.auth_cache.clear();
        self.find_store(store_hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_domain_drops_port_and_case() {
        assert_eq!(host_domain("Shop.Example:8080"), "shop.example");
        assert_eq!(host_domain("localhost"), "localhost");
        assert_eq!(host_domain("[::1]:3000"), "::1");
        assert_eq!(host_domain("shop.example."), "shop.example");
    }
}
