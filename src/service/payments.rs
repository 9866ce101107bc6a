//! The Payments API: payment methods for an order, payment access tokens (PATs), and
//! processing a payment with a PAT.
//!
//! Exactly once: a payment first holds its order (guarded by status and hold in one
//! UPDATE), so no second payment for the order reaches the gateway meanwhile; the
//! approved payment then spends the token, moves the order from Incomplete to Awaiting
//! Fulfillment and records the transaction in one database transaction. An order that
//! is no longer awaiting payment is refused before anything is charged. The amount
//! charged is always what the order has left to pay, never a figure from the request.

use super::accounts::Principal;
use super::orders::STATUS_AWAITING_FULFILLMENT;
use super::{Kassa, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::DomainError;
use crate::domain::cart::Cart;
use crate::domain::money::Money;
use crate::domain::payment::{
    CardInput, GatewayOutcome, TEST_CARD_METHOD, check_card, test_gateway,
};
use crate::store::{Hold, TransactionRow};
use serde_json::json;
use uuid::Uuid;

/// How long a payment access token lives.
pub const PAYMENT_TOKEN_SECS: i64 = 3600;

/// A payment method an order can be paid with.
#[derive(Clone, Debug)]
pub struct PaymentMethod {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub supported_instruments: Vec<&'static str>,
    pub test_mode: bool,
}

/// What a successful payment returns.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: String,
    pub transaction_type: &'static str,
    pub status: &'static str,
}

impl Kassa {
    /// The methods that can pay an order awaiting payment.
    pub async fn payment_methods(
        &self,
        who: &Principal,
        order_id: i64,
    ) -> ServiceResult<Vec<PaymentMethod>> {
        self.order_awaiting_payment(who.store.id, order_id).await?;
        Ok(vec![PaymentMethod {
            id: TEST_CARD_METHOD,
            name: "Kassa test gateway",
            kind: "card",
            supported_instruments: vec!["VISA", "MASTERCARD", "AMEX", "DISCOVER"],
            test_mode: true,
        }])
    }

    async fn order_awaiting_payment(&self, store_id: i64, order_id: i64) -> ServiceResult<()> {
        match self.store.payable_order(store_id, order_id).await? {
            None => Err(ServiceError::NotFound(format!(
                "Order {order_id} does not exist."
            ))),
            Some(o) if o.status_id != 0 => Err(DomainError::field(
                "order.id",
                format!("Order {order_id} has already been paid."),
            )
            .into()),
            Some(o) if o.lapsed(self.now()) => Err(lapsed(order_id)),
            Some(_) => Ok(()),
        }
    }

    /// A payment access token for one order awaiting payment; valid for an hour and
    /// for one successful payment. Only its hash is kept.
    pub async fn create_payment_token(
        &self,
        who: &Principal,
        order_id: i64,
    ) -> ServiceResult<String> {
        self.order_awaiting_payment(who.store.id, order_id).await?;
        let token = random_secret();
        self.store
            .insert_payment_token(
                &hash_secret(&token),
                who.store.id,
                order_id,
                self.now() + PAYMENT_TOKEN_SECS,
            )
            .await?;
        Ok(token)
    }

    /// Pays the order a PAT is bound to with a card through the test gateway.
    pub async fn process_payment(
        &self,
        store_hash: &str,
        pat: &str,
        payment_method_id: &str,
        card: &CardInput,
    ) -> ServiceResult<Payment> {
        let store = match self.find_store(store_hash).await {
            Ok(s) => s,
            Err(ServiceError::NotFound(_)) => return Err(ServiceError::Unauthorized),
            Err(e) => return Err(e),
        };
        let token_hash = hash_secret(pat.trim());
        let now = self.now();
        let Some((token_store, order_id, expires_at, used_at)) =
            self.store.payment_token(&token_hash).await?
        else {
            return Err(ServiceError::Unauthorized);
        };
        if token_store != store.id || expires_at <= now {
            return Err(ServiceError::Unauthorized);
        }
        if used_at.is_some() {
            return Err(DomainError::invalid(format!(
                "Order {order_id} has already been paid with this payment access token."
            ))
            .into());
        }
        if payment_method_id != TEST_CARD_METHOD {
            return Err(DomainError::field(
                "payment.payment_method_id",
                format!(
                    "`{payment_method_id}` is not a payment method of this store; use `{TEST_CARD_METHOD}`."
                ),
            )
            .into());
        }
        let (year, month) = {
            let t = time::OffsetDateTime::from_unix_timestamp(now)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            (i64::from(t.year()), i64::from(u8::from(t.month())))
        };
        let summary = check_card(card, (year, month))?;
        let Some(order) = self.store.payable_order(store.id, order_id).await? else {
            return Err(ServiceError::NotFound(format!(
                "Order {order_id} does not exist."
            )));
        };
        // What is left to pay: the total less what stored value paid at placement.
        let doc = self.store.order_doc(store.id, order_id).await?;
        let cart: Option<Cart> = doc
            .as_ref()
            .and_then(|d| serde_json::from_value(d["cart"].clone()).ok());
        let amount = cart
            .as_ref()
            .map(|c| c.checkout.payments.outstanding_balance)
            .unwrap_or_else(|| Money::from_e4(order.total_inc_tax_e4));

        match self
            .store
            .hold_order_for_payment(store.id, order_id, now)
            .await?
        {
            Hold::Held => {}
            Hold::Busy => {
                return Err(DomainError::invalid(format!(
                    "A payment for order {order_id} is already in progress; wait for its result."
                ))
                .into());
            }
            Hold::Lapsed => return Err(lapsed(order_id)),
            Hold::NotPayable => {
                return Err(DomainError::invalid(format!(
                    "Order {order_id} has already been paid."
                ))
                .into());
            }
        }
        let outcome = test_gateway(&card.number);
        let record = |status: &str| TransactionRow {
            id: Uuid::new_v4().to_string(),
            order_id,
            event: "purchase".into(),
            status: status.into(),
            amount_e4: amount.to_e4(),
            currency_code: order.currency_code.clone(),
            gateway: "testgateway".into(),
            created_at: now,
            doc: json!({
                "payment_method_id": TEST_CARD_METHOD,
                "card": {"brand": summary.brand, "last_four": summary.last_four,
                         "expiry_month": summary.expiry_month, "expiry_year": summary.expiry_year},
            })
            .to_string(),
        };
        let refused = match outcome {
            GatewayOutcome::Approved => None,
            GatewayOutcome::Declined => Some(("declined", "The card was declined.")),
            GatewayOutcome::InsufficientFunds => {
                Some(("declined", "The card was declined: insufficient funds."))
            }
            GatewayOutcome::GatewayError => Some((
                "error",
                "The payment gateway could not process the payment; nothing was charged. Try again.",
            )),
        };
        if let Some((status, why)) = refused {
            self.store
                .release_payment_hold(store.id, &record(status))
                .await?;
            return Err(DomainError::field("payment.instrument", why).into());
        }
        let t = record("ok");
        if !self
            .store
            .record_payment(store.id, &token_hash, STATUS_AWAITING_FULFILLMENT, &t)
            .await?
        {
            return Err(
                DomainError::invalid(format!("Order {order_id} has already been paid.")).into(),
            );
        }
        if let Some(cart) = cart {
            let who = Principal {
                store: store.clone(),
                scopes: crate::domain::scope::Scopes::every(),
            };
            // The payment stands whatever happens next; a failure here is logged for the
            // merchant rather than reported as a failed payment the client might retry.
            if let Err(e) = self.order_paid(&who, &cart, order_id).await {
                tracing::error!(order_id, error = %e, "order paid, but issuing its gift certificates or deleting its cart failed");
            }
        }
        Ok(Payment {
            id: t.id,
            transaction_type: "purchase",
            status: "success",
        })
    }
}

/// Why an unpaid order can no longer be paid.
fn lapsed(order_id: i64) -> ServiceError {
    DomainError::field(
        "order.id",
        format!(
            "Order {order_id} can no longer be paid: its reservation lapsed or a newer order from the same checkout replaced it. Create the order again with POST /v3/checkouts/{{checkoutId}}/orders."
        ),
    )
    .into()
}
