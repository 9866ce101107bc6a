//! The Payments API: payment methods for an order, payment access tokens (PATs), and
//! processing a payment with a PAT.
//!
//! Exactly once: a payment first holds its order (guarded by status and hold in one
//! UPDATE), so no second payment for the order reaches the gateway meanwhile; the
//! approved payment then spends the token, moves the order from Incomplete to Awaiting
//! Fulfillment and records the transaction atomically (on PostgreSQL one statement,
//! as is a card payment's read and hold). An order that is no longer awaiting payment
//! is refused before anything is charged. The amount charged is always what the order
//! has left to pay, never a figure from the request.

use super::accounts::Principal;
use super::orders::STATUS_AWAITING_FULFILLMENT;
use super::{Kassa, Refusal, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::DomainError;
use crate::domain::cart::Cart;
use crate::domain::money::Money;
use crate::domain::payment::{
    CardInput, GIFT_CERTIFICATE_METHOD, GatewayInstrument, GatewayOutcome, PaymentGateway,
    STORE_CREDIT_METHOD, TEST_CARD_METHOD, TestGateway, check_card,
};
use crate::store::{
    ApprovedPayment, Hold, NewStoredCard, Recorded, StoredValueDebit, TransactionRow,
};
use serde_json::json;
use uuid::Uuid;

/// The store payment setting's values.
pub const AUTHORIZATION: &str = "authorization";
pub const AUTHORIZATION_AND_CAPTURE: &str = "authorization_and_capture";

/// Order statuses payments move to: partly paid, authorized (not captured).
pub const STATUS_PENDING: i64 = 1;
pub const STATUS_AWAITING_PAYMENT: i64 = 7;

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
    /// Cards the order's customer stored with this method.
    pub stored_instruments: Vec<serde_json::Value>,
}

/// What a successful payment returns.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: String,
    pub transaction_type: &'static str,
    pub status: &'static str,
}

impl Kassa {
    /// The methods that can pay an order awaiting payment: the test gateway's card
    /// (with the cards the order's customer stored), gift certificates and store credit.
    pub async fn payment_methods(
        &self,
        who: &Principal,
        order_id: i64,
    ) -> ServiceResult<Vec<PaymentMethod>> {
        self.order_awaiting_payment(who.store.id, order_id).await?;
        let customer_id = self
            .store
            .payable_order(who.store.id, order_id)
            .await?
            .map(|o| o.customer_id)
            .unwrap_or(0);
        let stored = if customer_id == 0 {
            Vec::new()
        } else {
            self.store
                .stored_instruments(who.store.id, customer_id)
                .await?
        };
        let count = stored.len();
        let stored_instruments = stored
            .into_iter()
            .enumerate()
            .map(|(i, (token, doc))| {
                let doc: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
                let card = &doc["card"];
                json!({"type": "stored_card", "token": token,
                       "brand": card["brand"].as_str().unwrap_or("card").to_uppercase(),
                       "expiry_month": card["expiry_month"], "expiry_year": card["expiry_year"],
                       "issuer_identification_number": card["iin"], "last_4": card["last_four"],
                       // The most recently stored card is the default.
                       "is_default": i + 1 == count})
            })
            .collect();
        let mut card_instruments = vec!["VISA", "MASTERCARD", "AMEX", "DISCOVER"];
        if customer_id != 0 {
            card_instruments.push("STORED_CARD");
        }
        Ok(vec![
            PaymentMethod {
                id: TEST_CARD_METHOD,
                name: "Kassa test gateway",
                kind: "card",
                supported_instruments: card_instruments,
                test_mode: true,
                stored_instruments,
            },
            PaymentMethod {
                id: GIFT_CERTIFICATE_METHOD,
                name: "Gift Certificate",
                kind: "gift_certificate",
                supported_instruments: Vec::new(),
                test_mode: false,
                stored_instruments: Vec::new(),
            },
            PaymentMethod {
                id: STORE_CREDIT_METHOD,
                name: "Store Credit",
                kind: "store_credit",
                supported_instruments: Vec::new(),
                test_mode: false,
                stored_instruments: Vec::new(),
            },
        ])
    }

    async fn order_awaiting_payment(&self, store_id: i64, order_id: i64) -> ServiceResult<()> {
        match self.store.payable_order(store_id, order_id).await? {
            None => Err(ServiceError::NotFound(format!(
                "Order {order_id} does not exist."
            ))),
            Some(o) if !o.awaits_payment() => Err(DomainError::field(
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
        let token = random_secret();
        let (token_hash, now) = (hash_secret(&token), self.now());
        // The order's check and the token's insert are one statement; only a refusal
        // reads the order, to tell why (or, should it be payable by then, tries again).
        for _ in 0..2 {
            if self
                .store
                .insert_payment_token_if_payable(
                    &token_hash,
                    who.store.id,
                    order_id,
                    now + PAYMENT_TOKEN_SECS,
                    now,
                )
                .await?
            {
                return Ok(token);
            }
            self.order_awaiting_payment(who.store.id, order_id).await?;
        }
        Err(lapsed(order_id))
    }

    /// The gateway a store's payments go through (chosen per store; every store uses
    /// the test gateway today).
    pub fn gateway_for(&self, _store_id: i64) -> &'static dyn PaymentGateway {
        static TEST: TestGateway = TestGateway;
        &TEST
    }

    /// Whether the store authorizes only (`authorization`) or also captures
    /// (`authorization_and_capture`, the default).
    pub async fn payment_transaction_type(&self, store_id: i64) -> ServiceResult<&'static str> {
        Ok(
            match self
                .store
                .payment_transaction_type(store_id)
                .await?
                .as_deref()
            {
                Some(AUTHORIZATION) => AUTHORIZATION,
                _ => AUTHORIZATION_AND_CAPTURE,
            },
        )
    }

    pub async fn set_payment_transaction_type(
        &self,
        who: &Principal,
        kind: &str,
    ) -> ServiceResult<&'static str> {
        let kind = match kind.trim() {
            AUTHORIZATION => AUTHORIZATION,
            AUTHORIZATION_AND_CAPTURE => AUTHORIZATION_AND_CAPTURE,
            other => {
                return Err(DomainError::field(
                    "transaction_type",
                    format!(
                        "`{other}` is not a transaction type; use `{AUTHORIZATION}` or `{AUTHORIZATION_AND_CAPTURE}`."
                    ),
                )
                .into());
            }
        };
        self.store
            .set_payment_transaction_type(who.store.id, kind)
            .await?;
        Ok(kind)
    }

    /// Pays the order a PAT is bound to with one instrument. The amount is what the
    /// order has left to pay, or all the instrument covers when that is less (a gift
    /// certificate or store credit); the order then waits, Pending, for the rest.
    pub async fn process_payment(
        &self,
        store_hash: &str,
        pat: &str,
        payment_method_id: &str,
        instrument: &PaymentInstrument,
    ) -> ServiceResult<Payment> {
        let store = match self.find_store_cached(store_hash).await {
            Ok(s) => s,
            Err(ServiceError::NotFound(_)) => return Err(ServiceError::Unauthorized),
            Err(e) => return Err(e),
        };
        let token_hash = hash_secret(pat.trim());
        let now = self.now();
        let (year, month) = {
            let t = time::OffsetDateTime::from_unix_timestamp(now)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            (i64::from(t.year()), i64::from(u8::from(t.month())))
        };
        // A card payment whose request passes its own checks reads and holds its order in
        // one statement (PostgreSQL; None elsewhere), which holds only when the token and
        // order pass every check below that is about them. Otherwise, and whenever
        // nothing was held, the long way: one read, the checks, then the hold, so every
        // refusal is told as before.
        let well_formed_card = matches!(instrument, PaymentInstrument::Card { card, .. }
            if payment_method_id == instrument.method_id() && check_card(card, (year, month)).is_ok());
        let held = if well_formed_card {
            self.store
                .hold_order_by_token(&token_hash, store.id, now)
                .await?
        } else {
            None
        };
        let already_held = held.is_some();
        // The token, its order, the order's document and the store's setting: one read.
        let context = match held {
            Some(context) => context,
            None => match self.store.payment_context(&token_hash).await? {
                Some(context) => context,
                None => return Err(ServiceError::Unauthorized),
            },
        };
        let order_id = context.order_id;
        if context.store_id != store.id || context.expires_at <= now {
            return Err(ServiceError::Unauthorized);
        }
        if context.used_at.is_some() {
            return Err(DomainError::invalid(format!(
                "Order {order_id} has already been paid with this payment access token."
            ))
            .into());
        }
        let expected = instrument.method_id();
        if payment_method_id != expected {
            return Err(DomainError::field(
                "payment.payment_method_id",
                format!(
                    "`{payment_method_id}` does not pay with a `{}` instrument; use `{expected}`.",
                    instrument.kind()
                ),
            )
            .into());
        }
        let Some(order) = context.order else {
            return Err(ServiceError::NotFound(format!(
                "Order {order_id} does not exist."
            )));
        };
        // What is left to pay: the total less what stored value paid at placement and
        // what earlier payments of this order covered.
        let cart: Option<Cart> = super::order_admin::placed_cart_in(&order.doc);
        let outstanding = cart
            .as_ref()
            .map(|c| c.checkout.payments.outstanding_balance)
            .unwrap_or_else(|| Money::from_e4(order.total_inc_tax_e4));
        let due_e4 = (outstanding.to_e4() - order.authorized_e4).max(0);

        // What the instrument is and covers, checked before anything is held.
        let gateway = self.gateway_for(store.id);
        let capture = context.transaction_type.as_deref() != Some(AUTHORIZATION);
        let mut debit = None;
        let mut method_doc = json!({"payment_method_id": expected});
        let mut stored_reference = None;
        let (amount_e4, summary) = match instrument {
            PaymentInstrument::Card { card, .. } => {
                (due_e4, Some(check_card(card, (year, month))?))
            }
            PaymentInstrument::StoredCard { token } => {
                let found = self.store.stored_instrument(store.id, token.trim()).await?;
                // A stored card pays only its own customer's orders.
                let Some((_, sdoc)) = found
                    .filter(|(owner, _)| *owner == order.customer_id && order.customer_id != 0)
                else {
                    return Err(DomainError::field(
                        "payment.instrument.token",
                        "No stored card with this token belongs to the order's customer.",
                    )
                    .into());
                };
                let sdoc: serde_json::Value = serde_json::from_str(&sdoc).unwrap_or_default();
                stored_reference = sdoc["gateway_reference"].as_str().map(str::to_string);
                method_doc["card"] = sdoc["card"].clone();
                (due_e4, None)
            }
            PaymentInstrument::GiftCertificate { code } => {
                let Some(gc) = self.store.gift_certificate_by_code(store.id, code).await? else {
                    return Err(DomainError::field(
                        "payment.instrument.gift_certificate_code",
                        "No gift certificate has this code.",
                    )
                    .into());
                };
                gc.redeemable(now)?;
                if !gc.is_in_currency(&order.currency_code) {
                    return Err(DomainError::field(
                        "payment.instrument.gift_certificate_code",
                        format!(
                            "The gift certificate is not in the order's currency ({}).",
                            order.currency_code
                        ),
                    )
                    .into());
                }
                let amount = gc.balance.to_e4().min(due_e4);
                if amount <= 0 {
                    return Err(DomainError::field(
                        "payment.instrument.gift_certificate_code",
                        "The gift certificate has no balance left.",
                    )
                    .into());
                }
                debit = Some(StoredValueDebit::GiftCertificate {
                    id: gc.id,
                    amount_e4: amount,
                });
                method_doc["gift_certificate"] = json!({"code": gc.code,
                    "starting_balance_e4": gc.balance.to_e4(),
                    "remaining_balance_e4": gc.balance.to_e4() - amount});
                (amount, None)
            }
            PaymentInstrument::StoreCredit => {
                let customer = if order.customer_id == 0 {
                    None
                } else {
                    self.store.customer(store.id, order.customer_id).await?
                };
                let Some(customer) = customer else {
                    return Err(DomainError::field(
                        "payment.instrument.type",
                        "Store credit pays only orders of a registered customer; this is a guest order.",
                    )
                    .into());
                };
                let amount = customer.store_credit.to_e4().min(due_e4);
                if amount <= 0 {
                    return Err(DomainError::field(
                        "payment.instrument.type",
                        "The customer has no store credit left.",
                    )
                    .into());
                }
                debit = Some(StoredValueDebit::StoreCredit {
                    customer_id: customer.id,
                    amount_e4: amount,
                });
                method_doc["store_credit"] =
                    json!({"remaining_balance_e4": customer.store_credit.to_e4() - amount});
                (amount, None)
            }
        };
        if due_e4 == 0 {
            // The one check the short way's statement cannot make: its hold is ended.
            if already_held {
                self.store
                    .drop_payment_hold(store.id, order_id, now)
                    .await?;
            }
            return Err(
                DomainError::invalid(format!("Order {order_id} has nothing left to pay.")).into(),
            );
        }
        if let Some(s) = &summary {
            method_doc["card"] = json!({"brand": s.brand, "last_four": s.last_four, "iin": s.iin,
                "expiry_month": s.expiry_month, "expiry_year": s.expiry_year});
        }

        let hold = if already_held {
            Hold::Held
        } else {
            self.store
                .hold_order_for_payment(
                    store.id,
                    order_id,
                    &token_hash,
                    (order.status_id, order.authorized_e4),
                    now,
                )
                .await?
        };
        match hold {
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
        // Stored value is taken at once; a card goes to the gateway.
        let stored_value = debit.is_some();
        let captured = capture || stored_value;
        let event = if captured {
            "purchase"
        } else {
            "authorization"
        };
        let (reply, gateway_name) = match instrument {
            PaymentInstrument::Card { card, .. } => (
                Some(
                    gateway
                        .authorize(
                            &GatewayInstrument::Card(card),
                            amount_e4,
                            &order.currency_code,
                            capture,
                        )
                        .await,
                ),
                gateway.name(),
            ),
            PaymentInstrument::StoredCard { .. } => (
                Some(
                    gateway
                        .authorize(
                            &GatewayInstrument::StoredCard(
                                stored_reference.as_deref().unwrap_or(""),
                            ),
                            amount_e4,
                            &order.currency_code,
                            capture,
                        )
                        .await,
                ),
                gateway.name(),
            ),
            PaymentInstrument::GiftCertificate { .. } => (None, "gift_certificate"),
            PaymentInstrument::StoreCredit => (None, "store_credit"),
        };
        if let Some(r) = &reply {
            method_doc["gateway_transaction_id"] = json!(r.reference);
        }
        let record = |status: &str| TransactionRow {
            id: Uuid::now_v7().to_string(),
            number: 0,
            order_id,
            event: event.into(),
            status: status.into(),
            amount_e4,
            currency_code: order.currency_code.clone(),
            gateway: gateway_name.into(),
            created_at: now,
            doc: method_doc.to_string(),
        };
        let refused = match reply.as_ref().map(|r| r.outcome) {
            None | Some(GatewayOutcome::Approved) => None,
            Some(GatewayOutcome::Declined) => Some(("declined", "The card was declined.")),
            Some(GatewayOutcome::InsufficientFunds) => {
                Some(("declined", "The card was declined: insufficient funds."))
            }
            Some(GatewayOutcome::GatewayError) => Some((
                "error",
                "The payment gateway could not process the payment; nothing was charged. Try again.",
            )),
        };
        if let Some((status, why)) = refused {
            self.store
                .release_payment_hold(store.id, &record(status))
                .await?;
            let rule = DomainError::field("payment.instrument", why);
            return Err(if status == "declined" {
                ServiceError::Refused(Refusal::PaymentDeclined, rule)
            } else {
                rule.into()
            });
        }
        let stored_card = match instrument {
            PaymentInstrument::Card { card, save: true } if order.customer_id != 0 => {
                let reference = gateway.store_card(card).await;
                Some(NewStoredCard {
                    token: random_token_hex(),
                    customer_id: order.customer_id,
                    doc:
                        json!({"gateway_reference": reference, "card": method_doc["card"].clone()})
                            .to_string(),
                })
            }
            _ => None,
        };
        let new_status = if amount_e4 < due_e4 {
            STATUS_PENDING
        } else if captured {
            STATUS_AWAITING_FULFILLMENT
        } else {
            STATUS_AWAITING_PAYMENT
        };
        let t = record("ok");
        // A payment that completes the order closes its cart in the same transaction,
        // unless the cart bought gift certificates, which are issued first (order_paid).
        let close_cart = match &cart {
            Some(c) if new_status != STATUS_PENDING && c.gift_certificates.is_empty() => {
                Some((c.id, self.cart_converted(store.id, c.id, order_id).await))
            }
            _ => None,
        };
        let cart_closed = close_cart.is_some();
        let approved = ApprovedPayment {
            transaction: t.clone(),
            previous_status: order.status_id,
            new_status,
            authorized_e4: amount_e4,
            paid_e4: if captured { amount_e4 } else { 0 },
            debit,
            stored_card,
            close_cart,
            listeners: self.listeners(store.id).await,
        };
        match self
            .store
            .record_payment(store.id, &token_hash, &approved)
            .await?
        {
            Recorded::Done => {}
            Recorded::AlreadyPaid => {
                return Err(DomainError::invalid(format!(
                    "Order {order_id} has already been paid."
                ))
                .into());
            }
            Recorded::NoBalance => {
                self.store
                    .release_payment_hold(store.id, &record("declined"))
                    .await?;
                return Err(DomainError::field(
                    "payment.instrument",
                    "The balance changed meanwhile and no longer covers this payment; nothing was charged. Try again.",
                )
                .into());
            }
        }
        if new_status != STATUS_PENDING
            && !cart_closed
            && let Some(cart) = cart
        {
            let who = Principal {
                store: store.clone(),
                scopes: crate::domain::scope::Scopes::every(),
                client_id: Default::default(),
            };
            // The payment stands whatever happens next; a failure here is logged for the
            // merchant rather than reported as a failed payment the client might retry.
            if let Err(e) = self.order_paid(&who, &cart, order_id).await {
                tracing::error!(order_id, error = %e, "order paid, but issuing its gift certificates or deleting its cart failed");
            }
        }
        Ok(Payment {
            id: t.id,
            transaction_type: if captured {
                "purchase"
            } else {
                "authorization"
            },
            status: "success",
        })
    }
}

/// A stored card's token: 64 hex characters, as the spec's stored card token is.
fn random_token_hex() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The instrument a payment is made with. Card numbers live only in this value, for the
/// one request.
pub enum PaymentInstrument {
    Card { card: CardInput, save: bool },
    StoredCard { token: String },
    GiftCertificate { code: String },
    StoreCredit,
}

impl PaymentInstrument {
    /// The payment method that takes this instrument.
    pub fn method_id(&self) -> &'static str {
        match self {
            PaymentInstrument::Card { .. } | PaymentInstrument::StoredCard { .. } => {
                TEST_CARD_METHOD
            }
            PaymentInstrument::GiftCertificate { .. } => GIFT_CERTIFICATE_METHOD,
            PaymentInstrument::StoreCredit => STORE_CREDIT_METHOD,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            PaymentInstrument::Card { .. } => "card",
            PaymentInstrument::StoredCard { .. } => "stored_card",
            PaymentInstrument::GiftCertificate { .. } => "gift_certificate",
            PaymentInstrument::StoreCredit => "store_credit",
        }
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
