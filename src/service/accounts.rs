//! Stores (tenants) and their API accounts.

use super::{Kassa, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::scope::{Scope, Scopes};
use crate::domain::settings::StoreSettings;
use crate::store::StoreRecord;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a node trusts what it learned about a token (its store, settings, scopes).
/// Other nodes see a settings change or a revoked token within this time.
const AUTH_CACHE_TTL: Duration = Duration::from_secs(2);
const AUTH_CACHE_MAX: usize = 10_000;

/// Recently authenticated tokens, by hash, so a request is one query, not two; and
/// recently found stores, by hash, for requests a payment access token authorizes
/// (`POST /stores/{hash}/payments`), which would otherwise read the store every time.
/// Both trust what they hold for the same short time, so a store's record is never
/// staler than an API token's principal already may be.
#[derive(Debug, Default)]
pub struct AuthCache {
    tokens: Timed<Principal>,
    stores: Timed<Arc<StoreRecord>>,
}

/// Values by key, each trusted for `AUTH_CACHE_TTL` after it was put.
#[derive(Debug)]
struct Timed<T>(RwLock<HashMap<String, (T, Instant)>>);

impl<T> Default for Timed<T> {
    fn default() -> Self {
        Timed(RwLock::default())
    }
}

impl<T: Clone> Timed<T> {
    fn get(&self, key: &str) -> Option<T> {
        let map = self.0.read().ok()?;
        let (v, at) = map.get(key)?;
        (at.elapsed() < AUTH_CACHE_TTL).then(|| v.clone())
    }

    fn put(&self, key: String, v: T) {
        if let Ok(mut map) = self.0.write() {
            if map.len() >= AUTH_CACHE_MAX {
                map.clear();
            }
            map.insert(key, (v, Instant::now()));
        }
    }

    fn clear(&self) {
        if let Ok(mut map) = self.0.write() {
            map.clear();
        }
    }
}

impl AuthCache {
    fn get(&self, token_hash: &str) -> Option<Principal> {
        self.tokens.get(token_hash)
    }

    fn put(&self, token_hash: String, p: Principal) {
        self.tokens.put(token_hash, p);
    }

    /// Forgets everything; called after this node changes a store's settings.
    pub fn clear(&self) {
        self.tokens.clear();
        self.stores.clear();
    }
}

/// Who is calling: an API account of one store, with its scopes.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Shared: every request of a token clones its principal from the cache.
    pub store: Arc<StoreRecord>,
    pub scopes: Scopes,
    /// The API account's client id, recorded as the owner of what it creates
    /// (`owner_client_id`, a hook's `client_id`); empty for Kassa's own and shoppers' work.
    pub client_id: Arc<str>,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> ServiceResult<()> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(scope))
        }
    }
}

/// A new API account's client id: 30 random lower-case hex characters, like the opaque
/// ids BigCommerce gives API accounts. Not a secret: it names who created a resource.
fn new_client_id() -> String {
    let mut id = random_secret();
    id.truncate(30);
    id
}

/// Store hashes are what BigCommerce uses: short, lower-case, URL-safe.
pub fn valid_store_hash(hash: &str) -> bool {
    !hash.is_empty()
        && hash.len() <= 64
        && hash
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl Kassa {
    pub async fn create_store(
        &self,
        hash: &str,
        name: &str,
        settings: StoreSettings,
    ) -> ServiceResult<StoreRecord> {
        if !valid_store_hash(hash) {
            return Err(ServiceError::BadRequest(format!(
                "store hash `{hash}` must be 1-64 characters of a-z, 0-9, - and _"
            )));
        }
        match self
            .store
            .create_store(hash, name, &settings, self.now())
            .await
        {
            Ok(s) => Ok(s),
            Err(e) if e.unique_violation() => Err(ServiceError::BadRequest(format!(
                "a store with hash `{hash}` already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find_store(&self, hash: &str) -> ServiceResult<StoreRecord> {
        self.store
            .find_store(hash)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no store with hash `{hash}`")))
    }

    /// [`Kassa::find_store`], answered from the auth cache when this node found the
    /// store moments ago (see [`AuthCache`]). For requests that need only the store's
    /// identity and settings, with the staleness an API token's principal has.
    pub async fn find_store_cached(&self, hash: &str) -> ServiceResult<Arc<StoreRecord>> {
        if let Some(store) = self.auth_cache.stores.get(hash) {
            return Ok(store);
        }
        let store = Arc::new(self.find_store(hash).await?);
        self.auth_cache.stores.put(hash.to_string(), store.clone());
        Ok(store)
    }

    /// Mints an API token for a store. The plain token is returned once and only its hash is kept.
    pub async fn create_token(
        &self,
        store_hash: &str,
        label: &str,
        scopes: &Scopes,
        token: Option<String>,
    ) -> ServiceResult<String> {
        let store = self.find_store(store_hash).await?;
        let token = token.unwrap_or_else(random_secret);
        if token.len() < 16 {
            return Err(ServiceError::BadRequest(
                "an API token must be at least 16 characters".into(),
            ));
        }
        self.store
            .insert_token(
                store.id,
                &hash_secret(&token),
                &new_client_id(),
                label,
                &scopes.to_list(),
                self.now(),
            )
            .await?;
        Ok(token)
    }

    /// Resolves `X-Auth-Token` for the store named in the path. A token of another
    /// store is as unknown as a made-up one.
    pub async fn authenticate(&self, store_hash: &str, token: &str) -> ServiceResult<Principal> {
        if token.is_empty() || token.len() > 512 {
            return Err(ServiceError::Unauthorized);
        }
        let token_hash = hash_secret(token);
        let principal = match self.auth_cache.get(&token_hash) {
            Some(p) => p,
            None => {
                let grant = self
                    .store
                    .find_token(&token_hash)
                    .await?
                    .ok_or(ServiceError::Unauthorized)?;
                let p = Principal {
                    scopes: Scopes::parse_list(&grant.scopes).unwrap_or_default(),
                    store: Arc::new(grant.store),
                    client_id: Arc::from(grant.client_id),
                };
                self.auth_cache.put(token_hash, p.clone());
                p
            }
        };
        if principal.store.hash != store_hash {
            return Err(ServiceError::Unauthorized);
        }
        Ok(principal)
    }
}
