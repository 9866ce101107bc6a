//! Card payments: checking a card as entered, and Kassa's test gateway, which decides
//! by card number so every outcome can be tried. Card numbers and CVVs are only ever
//! held in memory for the one request; what is kept is the brand and the last four digits.
//!
//! Test cards (any future expiry, any 3–4 digit CVV):
//!
//! | number | outcome |
//! |---|---|
//! | 4111 1111 1111 1111, 4242 4242 4242 4242, 5555 5555 5555 4444 | approved |
//! | 4000 0000 0000 0002 | declined |
//! | 4000 0000 0000 9995 | declined: insufficient funds |
//! | 4000 0000 0000 0119 | gateway error (nothing charged; try again) |
//!
//! Any other number that passes the Luhn check is approved.

use super::DomainError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The payment method id the test gateway's card method has.
pub const TEST_CARD_METHOD: &str = "testgateway.card";

/// An offline payment method: the shopper pays outside the checkout (by cheque,
/// bank transfer, cash on delivery, money order) and the order waits for the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineMethod {
    /// BigCommerce's id for the method.
    pub id: &'static str,
    pub name: &'static str,
    /// What the shopper is told to do.
    pub instructions: &'static str,
}

/// The offline methods a store can offer (store setting `offline_payment_methods`).
pub const OFFLINE_METHODS: &[OfflineMethod] = &[
    OfflineMethod {
        id: "cheque",
        name: "Check",
        instructions: "Mail a check for the order total; the order ships once it clears.",
    },
    OfflineMethod {
        id: "bankdeposit",
        name: "Bank Deposit",
        instructions: "Transfer the order total to the store's bank account, quoting the order number.",
    },
    OfflineMethod {
        id: "cod",
        name: "Cash on Delivery",
        instructions: "Pay the courier the order total on delivery.",
    },
    OfflineMethod {
        id: "moneyorder",
        name: "Money Order",
        instructions: "Send a money order for the order total, quoting the order number.",
    },
];

/// The offline method with this id.
pub fn offline_method(id: &str) -> Option<&'static OfflineMethod> {
    OFFLINE_METHODS.iter().find(|m| m.id == id.trim())
}

/// A card as the shopper typed it. Not `Debug`: it must never reach a log.
pub struct CardInput {
    pub number: String,
    pub cardholder_name: String,
    pub expiry_month: i64,
    pub expiry_year: i64,
    pub verification_value: String,
}

/// What may be kept of a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardSummary {
    pub brand: &'static str,
    pub last_four: String,
    /// The first six digits (issuer identification number), kept as BigCommerce does.
    pub iin: String,
    pub expiry_month: i64,
    pub expiry_year: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayOutcome {
    Approved,
    Declined,
    InsufficientFunds,
    GatewayError,
}

fn luhn_ok(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn brand(digits: &str) -> &'static str {
    match digits.as_bytes().first() {
        Some(b'4') => "visa",
        Some(b'5') | Some(b'2') => "mastercard",
        Some(b'3') => "american_express",
        Some(b'6') => "discover",
        _ => "card",
    }
}

/// Checks a card (number, expiry against `(year, month)` now, CVV, name) and returns
/// what may be kept of it.
pub fn check_card(card: &CardInput, now: (i64, i64)) -> Result<CardSummary, DomainError> {
    let digits: String = card
        .number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let bytes: Option<Vec<u8>> = digits
        .chars()
        .map(|c| c.to_digit(10).and_then(|d| u8::try_from(d).ok()))
        .collect();
    let Some(bytes) = bytes.filter(|b| (12..=19).contains(&b.len())) else {
        return Err(DomainError::field(
            "payment.instrument.number",
            "The card number must be 12 to 19 digits.",
        ));
    };
    if !luhn_ok(&bytes) {
        return Err(DomainError::field(
            "payment.instrument.number",
            "The card number is not valid (check digit).",
        ));
    }
    if !(1..=12).contains(&card.expiry_month) {
        return Err(DomainError::field(
            "payment.instrument.expiry_month",
            "The expiry month must be 1 to 12.",
        ));
    }
    if (card.expiry_year, card.expiry_month) < now {
        return Err(DomainError::field(
            "payment.instrument.expiry_year",
            "The card has expired.",
        ));
    }
    let cvv = card.verification_value.trim();
    if !(3..=4).contains(&cvv.len()) || !cvv.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::field(
            "payment.instrument.verification_value",
            "The card verification value must be 3 or 4 digits.",
        ));
    }
    if card.cardholder_name.trim().is_empty() {
        return Err(DomainError::field(
            "payment.instrument.cardholder_name",
            "The cardholder name is required.",
        ));
    }
    Ok(CardSummary {
        brand: brand(&digits),
        last_four: digits[digits.len() - 4..].to_string(),
        iin: digits[..6].to_string(),
        expiry_month: card.expiry_month,
        expiry_year: card.expiry_year,
    })
}

/// The test gateway's answer for a (checked) card number.
pub fn test_gateway(number: &str) -> GatewayOutcome {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    match digits.as_str() {
        "4000000000000002" => GatewayOutcome::Declined,
        "4000000000009995" => GatewayOutcome::InsufficientFunds,
        "4000000000000119" => GatewayOutcome::GatewayError,
        _ => GatewayOutcome::Approved,
    }
}

/// The payment method ids of stored value used as a payment instrument, as BigCommerce
/// names them.
pub const GIFT_CERTIFICATE_METHOD: &str = "bigcommerce.gift_certificate";
pub const STORE_CREDIT_METHOD: &str = "bigcommerce.store_credit";

/// What a gateway is asked to charge.
pub enum GatewayInstrument<'a> {
    /// A card as entered (checked with `check_card` first).
    Card(&'a CardInput),
    /// A card the gateway stored earlier, by the gateway's own reference.
    StoredCard(&'a str),
}

/// A gateway's answer: the outcome and its reference for the operation (an
/// authorization is later captured or voided by this reference).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayReply {
    pub outcome: GatewayOutcome,
    pub reference: String,
}

/// A payment gateway. Kassa's services talk only to this trait; the gateway a store
/// uses is chosen per store (today every store uses `TestGateway`). Async, because a
/// real gateway is a network call.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The gateway's name, kept on each transaction.
    fn name(&self) -> &'static str;
    /// Authorizes `amount_e4` (ten-thousandths of `currency`), capturing at once when
    /// `capture` is true.
    async fn authorize(
        &self,
        instrument: &GatewayInstrument<'_>,
        amount_e4: i64,
        currency: &str,
        capture: bool,
    ) -> GatewayReply;
    /// Captures an earlier authorization. Asked again with the same `idempotency_key`,
    /// the gateway answers as the first time and captures nothing more.
    async fn capture(
        &self,
        authorization: &str,
        amount_e4: i64,
        idempotency_key: &str,
    ) -> GatewayReply;
    /// Voids an authorization that was not captured (idempotent by key, as `capture`).
    async fn void(&self, authorization: &str, idempotency_key: &str) -> GatewayReply;
    /// Gives back part or all of a captured payment (idempotent by key, as `capture`:
    /// a retry after a lost answer refunds once).
    async fn refund(&self, payment: &str, amount_e4: i64, idempotency_key: &str) -> GatewayReply;
    /// A reference under which the gateway keeps a card for later payments (never the
    /// number itself).
    async fn store_card(&self, card: &CardInput) -> String;
}

/// Kassa's test gateway: approves or refuses by card number (see the table above);
/// stored cards, captures, voids and refunds are approved. Like a real gateway it
/// remembers captures, voids and refunds by idempotency key, so a retry gets the first
/// answer and moves no money again.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestGateway;

/// One operation the test gateway performed: (payment or authorization, amount, answer).
type Performed = (String, i64, GatewayReply);

/// The test gateway's memory of operations by idempotency key (process-wide, as the
/// gateway is one service for every store). Bounded: a real gateway also forgets keys
/// after a while (Stripe after 24 hours).
static PERFORMED: Mutex<BTreeMap<String, Performed>> = Mutex::new(BTreeMap::new());
const PERFORMED_KEPT: usize = 100_000;

/// Payments whose next refund is performed but its answer lost, as when the connection
/// or the process dies after the gateway refunded (a test hook).
static LOSE_NEXT_REFUND_REPLY: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Payments whose next refund is answered with a given outcome without being performed,
/// as a gateway declining it or failing before it refunded would (a test hook).
static NEXT_REFUND_ANSWER: Mutex<BTreeMap<String, GatewayOutcome>> = Mutex::new(BTreeMap::new());

fn performed() -> std::sync::MutexGuard<'static, BTreeMap<String, Performed>> {
    PERFORMED.lock().unwrap_or_else(|e| e.into_inner())
}

impl TestGateway {
    /// The answer for `key`: the one given the first time, or `reply` (remembered).
    fn once(key: &str, target: &str, amount_e4: i64, reply: GatewayReply) -> GatewayReply {
        let mut done = performed();
        if let Some((_, _, first)) = done.get(key) {
            return first.clone();
        }
        if done.len() >= PERFORMED_KEPT {
            done.clear();
        }
        done.insert(
            key.to_string(),
            (target.to_string(), amount_e4, reply.clone()),
        );
        reply
    }

    /// Makes the next refund of `payment` happen at the gateway while its answer is
    /// lost (the caller sees a gateway error), as a crash right after refunding would.
    pub fn lose_next_refund_reply(payment: &str) {
        LOSE_NEXT_REFUND_REPLY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(payment.to_string());
    }

    /// Makes the gateway answer the next refund of `payment` with `outcome` and refund
    /// nothing: `Declined` as a gateway refusing it, `GatewayError` as one that failed
    /// before refunding (asked again later, it refunds as usual).
    pub fn answer_next_refund(payment: &str, outcome: GatewayOutcome) {
        NEXT_REFUND_ANSWER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(payment.to_string(), outcome);
    }

    /// The amounts of the refunds of `payment` the gateway performed (each key once).
    pub fn refunds_of(payment: &str) -> Vec<i64> {
        performed()
            .iter()
            .filter(|(k, (p, _, _))| k.starts_with("refund:") && p == payment)
            .map(|(_, (_, amount, _))| *amount)
            .collect()
    }

    fn reference(kind: &str) -> String {
        format!("tg_{kind}_{}", uuid::Uuid::new_v4().simple())
    }
    fn ok(kind: &str) -> GatewayReply {
        GatewayReply {
            outcome: GatewayOutcome::Approved,
            reference: Self::reference(kind),
        }
    }
}

#[async_trait::async_trait]
impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "testgateway"
    }
    async fn authorize(
        &self,
        instrument: &GatewayInstrument<'_>,
        _amount_e4: i64,
        _currency: &str,
        capture: bool,
    ) -> GatewayReply {
        let outcome = match instrument {
            GatewayInstrument::Card(card) => test_gateway(&card.number),
            GatewayInstrument::StoredCard(_) => GatewayOutcome::Approved,
        };
        GatewayReply {
            outcome,
            reference: Self::reference(if capture { "pay" } else { "auth" }),
        }
    }
    async fn capture(&self, authorization: &str, amount_e4: i64, key: &str) -> GatewayReply {
        Self::once(
            &format!("capture:{key}"),
            authorization,
            amount_e4,
            Self::ok("capture"),
        )
    }
    async fn void(&self, authorization: &str, key: &str) -> GatewayReply {
        Self::once(&format!("void:{key}"), authorization, 0, Self::ok("void"))
    }
    async fn refund(&self, payment: &str, amount_e4: i64, key: &str) -> GatewayReply {
        let scripted = NEXT_REFUND_ANSWER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(payment);
        if let Some(outcome) = scripted {
            return GatewayReply {
                outcome,
                reference: String::new(),
            };
        }
        let reply = Self::once(
            &format!("refund:{key}"),
            payment,
            amount_e4,
            Self::ok("refund"),
        );
        let lost = LOSE_NEXT_REFUND_REPLY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(payment);
        if lost {
            return GatewayReply {
                outcome: GatewayOutcome::GatewayError,
                reference: String::new(),
            };
        }
        reply
    }
    async fn store_card(&self, _card: &CardInput) -> String {
        Self::reference("card")
    }
}

/// One payment event of an order as refunds see it: a successful `purchase` or `capture`
/// pays through `provider`; a successful `refund` gives back through it. Gift certificates
/// are told apart by code, since one order may be paid with several.
#[derive(Clone, Debug)]
pub struct PaymentEvent {
    pub event: String,
    pub ok: bool,
    pub provider: String,
    pub gift_certificate: Option<String>,
    pub amount_e4: i64,
}

/// One instrument that paid an order, and how much of it was refunded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidInstrument {
    pub provider: String,
    pub gift_certificate: Option<String>,
    pub paid_e4: i64,
    pub refunded_e4: i64,
}

impl PaidInstrument {
    pub fn left_e4(&self) -> i64 {
        (self.paid_e4 - self.refunded_e4).max(0)
    }
}

/// The instruments that paid an order, in the order they first paid.
pub fn paid_instruments(events: &[PaymentEvent]) -> Vec<PaidInstrument> {
    let mut out: Vec<PaidInstrument> = Vec::new();
    for e in events.iter().filter(|e| e.ok) {
        let paying = matches!(e.event.as_str(), "purchase" | "capture");
        if !paying && e.event != "refund" {
            continue;
        }
        let i = match out
            .iter()
            .position(|p| p.provider == e.provider && p.gift_certificate == e.gift_certificate)
        {
            Some(i) => i,
            None => {
                out.push(PaidInstrument {
                    provider: e.provider.clone(),
                    gift_certificate: e.gift_certificate.clone(),
                    paid_e4: 0,
                    refunded_e4: 0,
                });
                out.len() - 1
            }
        };
        if paying {
            out[i].paid_e4 += e.amount_e4;
        } else {
            out[i].refunded_e4 += e.amount_e4;
        }
    }
    out
}

/// Splits a refund of `total_e4` over the instruments that paid: (instrument index,
/// amount) parts. With `requested` ((provider id, amount) pairs, as a client sent them),
/// each provider's amount comes from its own instruments; without, the most recent
/// payment is refunded first. Money goes back only where it came from, never more than
/// each instrument paid.
pub fn allocate_refund(
    instruments: &[PaidInstrument],
    total_e4: i64,
    requested: Option<&[(String, i64)]>,
) -> Result<Vec<(usize, i64)>, DomainError> {
    let mut left: Vec<i64> = instruments.iter().map(PaidInstrument::left_e4).collect();
    let mut parts: Vec<(usize, i64)> = Vec::new();
    let mut take = |provider: Option<&str>, mut want: i64, parts: &mut Vec<(usize, i64)>| {
        for i in (0..instruments.len()).rev() {
            if want == 0 {
                break;
            }
            if provider.is_some_and(|p| p != instruments[i].provider) {
                continue;
            }
            let n = want.min(left[i]);
            if n > 0 {
                left[i] -= n;
                want -= n;
                match parts.iter_mut().find(|(j, _)| *j == i) {
                    Some(part) => part.1 += n,
                    None => parts.push((i, n)),
                }
            }
        }
        want
    };
    match requested {
        None => {
            if take(None, total_e4, &mut parts) > 0 {
                return Err(DomainError::invalid(
                    "The refund is more than is left of what the order was paid.",
                ));
            }
        }
        Some(requested) => {
            for (n, (provider, amount_e4)) in requested.iter().enumerate() {
                if !instruments.iter().any(|p| &p.provider == provider) {
                    let used: Vec<&str> = instruments.iter().map(|p| p.provider.as_str()).collect();
                    return Err(DomainError::field(
                        format!("payments[{n}].provider_id"),
                        format!(
                            "The order was not paid with `{provider}`; it was paid with: {}.",
                            used.join(", ")
                        ),
                    ));
                }
                let short = take(Some(provider), *amount_e4, &mut parts);
                if short > 0 {
                    let available = amount_e4 - short;
                    return Err(DomainError::field(
                        format!("payments[{n}].amount"),
                        format!(
                            "Only {} paid with `{provider}` is left to refund.",
                            super::money::Money::from_e4(available).amount()
                        ),
                    ));
                }
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str) -> CardInput {
        CardInput {
            number: number.into(),
            cardholder_name: "Jane Doe".into(),
            expiry_month: 12,
            expiry_year: 2030,
            verification_value: "123".into(),
        }
    }

    #[test]
    fn test_cards_pass_the_check_and_keep_only_the_last_four() {
        for n in [
            "4111111111111111",
            "4242 4242 4242 4242",
            "4000000000000002",
        ] {
            let s = check_card(&card(n), (2026, 11)).expect("valid");
            assert_eq!(s.last_four.len(), 4);
        }
        assert!(check_card(&card("4111111111111112"), (2026, 11)).is_err());
        assert!(check_card(&card("41111"), (2026, 11)).is_err());
        let mut old = card("4111111111111111");
        old.expiry_year = 2026;
        old.expiry_month = 10;
        assert!(check_card(&old, (2026, 11)).is_err());
    }

    #[test]
    fn gateway_outcomes_by_number() {
        assert_eq!(test_gateway("4111111111111111"), GatewayOutcome::Approved);
        assert_eq!(
            test_gateway("4000 0000 0000 0002"),
            GatewayOutcome::Declined
        );
        assert_eq!(
            test_gateway("4000000000009995"),
            GatewayOutcome::InsufficientFunds
        );
        assert_eq!(
            test_gateway("4000000000000119"),
            GatewayOutcome::GatewayError
        );
    }

    fn ev(event: &str, provider: &str, gc: Option<&str>, amount_e4: i64) -> PaymentEvent {
        PaymentEvent {
            event: event.into(),
            ok: true,
            provider: provider.into(),
            gift_certificate: gc.map(Into::into),
            amount_e4,
        }
    }

    #[test]
    fn refunds_go_back_to_each_instrument_most_recent_first() {
        let events = [
            ev("purchase", "gift_certificate", Some("A"), 50_000),
            ev("authorization", "testgateway", None, 150_000),
            ev("capture", "testgateway", None, 150_000),
            ev("refund", "testgateway", None, 20_000),
        ];
        let paid = paid_instruments(&events);
        assert_eq!(paid.len(), 2);
        assert_eq!(paid[1].left_e4(), 130_000);
        assert_eq!(
            allocate_refund(&paid, 150_000, None).unwrap(),
            vec![(1, 130_000), (0, 20_000)]
        );
        assert!(allocate_refund(&paid, 180_001, None).is_err());
        let asked = [("gift_certificate".to_string(), 50_000)];
        assert_eq!(
            allocate_refund(&paid, 50_000, Some(&asked)).unwrap(),
            vec![(0, 50_000)]
        );
        let asked = [("gift_certificate".to_string(), 50_001)];
        assert!(allocate_refund(&paid, 50_001, Some(&asked)).is_err());
        let asked = [("store_credit".to_string(), 1)];
        assert!(allocate_refund(&paid, 1, Some(&asked)).is_err());
    }
}
