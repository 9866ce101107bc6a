//! Use cases. Each takes what the HTTP layer parsed, loads what it needs, asks the
//! domain, and persists the outcome in one write.

pub mod abandoned_carts;
pub mod accounts;
pub mod cart_settings;
pub mod carts;
pub mod catalog;
pub mod checkout_sdk;
pub mod checkout_settings;
pub mod checkouts;
pub mod coupons;
pub mod customer_addresses;
pub mod customers;
pub mod demo;
pub mod gift_certificates;
pub mod metafields;
pub mod order_admin;
pub mod order_edits;
pub mod order_views;
pub mod orders;
pub mod orders_v3;
pub mod pages;
pub mod payments;
pub mod promotions;
pub mod shipping;
pub mod shopper_accounts;
pub mod stored_value;
pub mod storefront;
pub mod tax;
pub mod webhooks;

use crate::clock::Clock;
use crate::domain::DomainError;
use crate::domain::scope::Scope;
use crate::store::{Store, StoreError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Rule(#[from] DomainError),
    /// A rule refused an order or payment for a reason clients act on (the Checkout
    /// SDK's error `type`s); answered as the rule itself would be.
    #[error("{1}")]
    Refused(Refusal, DomainError),
    #[error("{0}")]
    NotFound(String),
    /// The caller's `version` is stale, or a concurrent change could not be merged.
    #[error("the request conflicts with a concurrent change")]
    Conflict,
    /// The request would create a second resource where only one may exist (409).
    #[error("{0}")]
    Duplicate(String),
    #[error("missing or unknown API token")]
    Unauthorized,
    #[error("the API token lacks the `{0}` scope")]
    Forbidden(Scope),
    #[error("{0}")]
    BadRequest(String),
    /// Too many attempts; try again after this many seconds.
    #[error("{0}")]
    RateLimited(String, i64),
    /// A payment gateway gave no answer (502); the message says what Kassa does next.
    #[error("{0}")]
    Gateway(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Why an order could not be placed or paid, for clients that act on the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The checkout has no items.
    EmptyCart,
    /// A consignment has no shipping option selected.
    MissingShippingMethod,
    /// Physical items are in no consignment (no shipping address for them).
    InvalidShippingAddress,
    /// Fewer units are in stock than the order asks for.
    StockTooLow,
    /// A coupon's uses or a balance the checkout applied ran out meanwhile.
    CartChanged,
    /// The card was declined.
    PaymentDeclined,
    /// A customer's sign-in: unknown email or wrong password (never told apart).
    InvalidCredentials,
}

/// Everything a use case needs: persistence, time, and how Kassa is reached from outside.
#[derive(Clone, Debug)]
pub struct Kassa {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Base URL shoppers reach this deployment at (for `redirect_urls`).
    pub public_url: String,
    pub(crate) auth_cache: Arc<accounts::AuthCache>,
    pub(crate) rules_cache: Arc<checkouts::RulesCache>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub(crate) hook_cache: Arc<webhooks::HookCache>,
    /// Origins allowed to call the Storefront API of every store (`KASSA_STOREFRONT_ORIGINS`),
    /// on top of each store's own `storefront_origins`.
    pub storefront_origins: Arc<Vec<String>>,
    pub(crate) spam: Arc<storefront::SpamGuard>,
    /// Whether hooks may point at loopback, private and other internal addresses
    /// (`KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow`); refused when a hook is saved otherwise.
    pub webhook_private_destinations: bool,
    /// Failed customer sign-ins, per store and email (see `shopper_accounts`).
    pub(crate) sign_in_guard: Arc<storefront::SpamGuard>,
    /// Accounts opened through the storefront, per store and client address.
    pub(crate) account_guard: Arc<storefront::SpamGuard>,
}

impl Kassa {
    pub fn new(store: Store, clock: Arc<dyn Clock>, public_url: String) -> Self {
        Kassa {
            store,
            clock,
            public_url,
            auth_cache: Arc::default(),
            rules_cache: Arc::default(),
            metrics: Arc::default(),
            hook_cache: Arc::default(),
            storefront_origins: Arc::default(),
            spam: Arc::default(),
            webhook_private_destinations: false,
            sign_in_guard: Arc::default(),
            account_guard: Arc::default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// A random secret as 64 hex characters.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How secrets are kept at rest: SHA-256, hex. Tokens are random, so no salt is needed.
pub fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}
