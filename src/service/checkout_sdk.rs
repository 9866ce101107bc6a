//! What BigCommerce's Checkout JS SDK needs beyond the Storefront API specs: the
//! payment methods a shopper's checkout can use, and placing its order the way the
//! SDK's order endpoint does (`POST /internalapi/v1/checkout/order`).
//!
//! Placing goes through [`Kassa::create_order`] like every other order, then:
//! - **card** (the test gateway; the SDK names no method for it when placing): a
//!   payment access token is issued for the new order, and the SDK pays with it
//!   through the payment endpoint it calls "bigpay", which is [`Kassa::process_payment`];
//! - **offline** methods the store offers (cheque, bank deposit, cash on delivery,
//!   money order): the order waits, Awaiting Payment, for the merchant to record the
//!   money (BigCommerce's behaviour); its cart is closed, as for a paid order;
//! - **nothing due** (gift certificates or store credit cover it): no method is needed.

use super::storefront::{ShopperSession, shopper_principal};
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::money::Money;
use crate::domain::payment::{OFFLINE_METHODS, TEST_CARD_METHOD, offline_method};
use crate::store::StoreRecord;
use uuid::Uuid;

/// How a storefront payment method takes the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorefrontMethodKind {
    /// Card details go to the payment endpoint after the order is placed.
    Card,
    /// The shopper pays outside the checkout; the order waits for it.
    Offline,
}

/// A payment method as the storefront offers it.
#[derive(Clone, Debug)]
pub struct StorefrontPaymentMethod {
    pub id: &'static str,
    pub display_name: &'static str,
    pub kind: StorefrontMethodKind,
    /// Instructions shown to the shopper (offline methods).
    pub help_text: &'static str,
    pub test_mode: bool,
}

/// What placing a storefront order gives back.
#[derive(Clone, Debug)]
pub struct StorefrontOrderPlaced {
    pub order_id: i64,
    /// A payment access token for the amount still due, when a card pays it.
    pub payment_token: Option<String>,
}

fn test_card() -> StorefrontPaymentMethod {
    StorefrontPaymentMethod {
        id: TEST_CARD_METHOD,
        display_name: "Credit card (Kassa test gateway)",
        kind: StorefrontMethodKind::Card,
        help_text: "",
        test_mode: true,
    }
}

/// The methods a store offers its shoppers: the test gateway's card, then the
/// offline methods the store enabled, in the store's order.
pub fn storefront_payment_methods(store: &StoreRecord) -> Vec<StorefrontPaymentMethod> {
    let mut out = vec![test_card()];
    for id in &store.settings.offline_payment_methods {
        if let Some(m) = offline_method(id) {
            out.push(StorefrontPaymentMethod {
                id: m.id,
                display_name: m.name,
                kind: StorefrontMethodKind::Offline,
                help_text: m.instructions,
                test_mode: false,
            });
        }
    }
    out
}

/// The method with this id, if the store offers it.
fn find_method(store: &StoreRecord, id: &str) -> Result<StorefrontPaymentMethod, DomainError> {
    let id = id.trim();
    storefront_payment_methods(store)
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| {
            let offered: Vec<&str> = storefront_payment_methods(store)
                .iter()
                .map(|m| m.id)
                .collect();
            DomainError::field(
                "payment.name",
                format!(
                    "This store does not take `{id}`; choose one of: {}.",
                    offered.join(", ")
                ),
            )
        })
}

impl Kassa {
    /// Sets the offline payment methods a store's storefront offers (ids of
    /// [`OFFLINE_METHODS`], in the order shoppers see them; empty turns them off).
    pub async fn set_offline_payment_methods(
        &self,
        store_hash: &str,
        methods: Vec<String>,
    ) -> ServiceResult<StoreRecord> {
        let mut store = self.find_store(store_hash).await?;
        let mut ids: Vec<String> = Vec::new();
        for m in methods {
            let Some(known) = offline_method(&m) else {
                let all: Vec<&str> = OFFLINE_METHODS.iter().map(|m| m.id).collect();
                return Err(ServiceError::BadRequest(format!(
                    "`{}` is not an offline payment method; use one of: {}.",
                    m.trim(),
                    all.join(", ")
                )));
            };
            if !ids.iter().any(|i| i == known.id) {
                ids.push(known.id.to_string());
            }
        }
        store.settings.offline_payment_methods = ids;
        self.store
            .update_store_settings(store.id, &store.settings)
            .await?;
        self.auth_cache.clear();
        self.find_store(store_hash).await
    }

    /// The payment methods a shopper's checkout can use (404 unless it is theirs).
    pub async fn shopper_payment_methods(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        cart_id: Uuid,
    ) -> ServiceResult<Vec<StorefrontPaymentMethod>> {
        self.ensure_shoppers_cart(store, session, cart_id).await?;
        Ok(storefront_payment_methods(store))
    }

    /// Places the order of a shopper's checkout with the chosen method (see the
    /// module docs). `customer_message`, when given, is saved on the checkout first.
    pub async fn place_shopper_order(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        cart_id: Uuid,
        customer_message: Option<String>,
        method_id: Option<&str>,
    ) -> ServiceResult<StorefrontOrderPlaced> {
        self.ensure_shoppers_cart(store, session, cart_id).await?;
        let who = shopper_principal(store);
        let mut cart = self.get_checkout(&who, cart_id).await?;
        if let Some(m) = customer_message.filter(|m| *m != cart.checkout.customer_message) {
            cart = self
                .update_customer_message(&who, cart_id, m, None)
                .await?
                .into();
        }
        let due = cart.checkout.payments.outstanding_balance;
        let method = method_id
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|id| find_method(store, id))
            .transpose()?;
        let order_id = self.create_order(&who, cart_id, None).await?;
        let payment_token = match method {
            // Gift certificates or store credit paid it all: create_order closed it.
            _ if due <= Money::ZERO => None,
            Some(m) if m.kind == StorefrontMethodKind::Offline => {
                self.await_offline_payment(store, order_id, m.display_name)
                    .await?;
                self.delete_converted_cart(store.id, cart_id, order_id)
                    .await?;
                None
            }
            // The card (named, or left for the payment step as the SDK does): the
            // order waits, Incomplete, for a payment with this token.
            _ => Some(self.create_payment_token(&who, order_id).await?),
        };
        Ok(StorefrontOrderPlaced {
            order_id,
            payment_token,
        })
    }
}
