//! Orders V3 payment actions: an order's transactions, capturing or voiding an
//! authorization, refund quotes and refunds.
//!
//! Refunds go back through the instrument that paid (the store's gateway for cards).
//! The sum refunded never exceeds what was paid through payment instruments: the check
//! and the claim are one transaction that locks the order row (see store/refunds.rs),
//! so concurrent refunds of one order serialize in the database. The claim is committed
//! before the gateway is asked (with the refund transaction's id as idempotency key) and
//! the refund completed after, so a crash in between leaves a pending refund that
//! startup or the sweeper completes with the same key: recorded once, refunded once.
//! Captures and voids are keyed by the authorization for the same reason.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::money::Money;
use crate::domain::order::PlacedOrder;
use crate::domain::payment::{GatewayOutcome, PaidInstrument, allocate_refund, paid_instruments};
use crate::domain::scope::Scope;
use crate::store::refunds::{NewRefund, RefundFilter, RefundOutcome, RefundRow, payment_event};
use crate::store::{PayableOrder, TransactionRow};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

/// One item of a refund quote or refund request.
#[derive(Clone, Debug)]
pub struct RefundItemInput {
    pub item_type: String,
    pub item_id: i64,
    pub amount: Option<Decimal>,
    pub quantity: Option<i64>,
    pub reason: Option<String>,
}

/// A refund request: items, and optionally the payments it is split into (their sum
/// must be the items' total) or a merchant-calculated total.
#[derive(Clone, Debug, Default)]
pub struct RefundInput {
    pub items: Vec<RefundItemInput>,
    /// (provider id, amount).
    pub payments: Option<Vec<(String, Decimal)>>,
    pub override_total: Option<Decimal>,
    pub reason: Option<String>,
}

/// What a quote returns: the total to refund and the one refund method Kassa offers:
/// back to what paid, split over the instruments (most recent payment first).
#[derive(Clone, Debug)]
pub struct RefundQuote {
    pub order_id: i64,
    pub total: Money,
    /// (provider id, amount) of each part of the refund method.
    pub parts: Vec<(String, Money)>,
    /// What is still refundable.
    pub refundable: Money,
}

const ITEM_TYPES: [&str; 6] = [
    "ORDER",
    "PRODUCT",
    "SHIPPING",
    "HANDLING",
    "GIFT_WRAPPING",
    "TAX",
];

fn money_of(d: Decimal) -> Money {
    Money::new(d.round_dp(4))
}

/// (index into the paid instruments, ten-thousandths refunded to it).
type RefundParts = Vec<(usize, i64)>;

impl Kassa {
    async fn v3_order(&self, store_id: i64, order_id: i64) -> ServiceResult<PayableOrder> {
        self.store
            .payable_order(store_id, order_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Order {order_id} does not exist.")))
    }

    /// Every transaction of an order, oldest first.
    pub async fn order_transactions_v3(
        &self,
        who: &Principal,
        order_id: i64,
    ) -> ServiceResult<Vec<TransactionRow>> {
        who.require(Scope::TransactionsReadOnly)?;
        self.v3_order(who.store.id, order_id).await?;
        Ok(self
            .store
            .order_transaction_rows(who.store.id, order_id)
            .await?)
    }

    /// The authorization transaction an authorized order is waiting on.
    async fn authorization_of(
        &self,
        who: &Principal,
        order_id: i64,
        action: &str,
    ) -> ServiceResult<(PayableOrder, TransactionRow)> {
        let order = self.v3_order(who.store.id, order_id).await?;
        let auth = self
            .store
            .order_transaction_rows(who.store.id, order_id)
            .await?
            .into_iter()
            .rfind(|t| t.event == "authorization" && t.status == "ok");
        match auth {
            Some(t) if order.status_id == 7 && !order.released => Ok((order, t)),
            _ => Err(DomainError::field(
                "order_id",
                format!(
                    "Order {order_id} has no authorized payment to {action}: only an order in Awaiting Payment (7) with an authorization (store setting transaction_type = authorization) can be."
                ),
            )
            .into()),
        }
    }

    fn action_row(
        auth: &TransactionRow,
        event: &str,
        gateway: &str,
        reference: &str,
        amount_e4: i64,
        now: i64,
    ) -> TransactionRow {
        let auth_doc: serde_json::Value = serde_json::from_str(&auth.doc).unwrap_or_default();
        let mut doc = auth_doc.clone();
        doc["gateway_transaction_id"] = json!(reference);
        doc["reference_transaction_id"] = json!(auth.number);
        TransactionRow {
            id: Uuid::now_v7().to_string(),
            number: 0,
            order_id: auth.order_id,
            event: event.into(),
            status: "ok".into(),
            amount_e4,
            currency_code: auth.currency_code.clone(),
            gateway: gateway.into(),
            created_at: now,
            doc: doc.to_string(),
        }
    }

    /// Captures an order's authorization: Awaiting Payment → Awaiting Fulfillment.
    pub async fn capture_order_payment(&self, who: &Principal, order_id: i64) -> ServiceResult<()> {
        who.require(Scope::Transactions)?;
        let (order, auth) = self.authorization_of(who, order_id, "capture").await?;
        let gateway = self.gateway_for(who.store.id);
        let amount_e4 = order.authorized_e4 - order.paid_e4;
        let reply = gateway
            .capture(
                serde_json::from_str::<serde_json::Value>(&auth.doc).unwrap_or_default()["gateway_transaction_id"]
                    .as_str()
                    .unwrap_or(""),
                amount_e4,
                // One capture per authorization: a retry after a crash between the
                // gateway and the database gets the first answer, not a second capture.
                &auth.id,
            )
            .await;
        if reply.outcome != GatewayOutcome::Approved {
            return Err(DomainError::invalid(
                "The payment gateway refused the capture; nothing changed.",
            )
            .into());
        }
        let t = Self::action_row(
            &auth,
            "capture",
            gateway.name(),
            &reply.reference,
            amount_e4,
            self.now(),
        );
        let listeners = self.listeners(who.store.id).await;
        if !self
            .store
            .capture_payment(who.store.id, &t, &listeners)
            .await?
        {
            return Err(DomainError::invalid(format!(
                "Order {order_id} was captured or voided meanwhile."
            ))
            .into());
        }
        Ok(())
    }

    /// Voids an order's authorization: the order is Cancelled and its stock given back.
    pub async fn void_order_payment(&self, who: &Principal, order_id: i64) -> ServiceResult<()> {
        who.require(Scope::Transactions)?;
        let (order, auth) = self.authorization_of(who, order_id, "void").await?;
        if order.paid_e4 > 0 {
            return Err(DomainError::field(
                "order_id",
                format!("Part of order {order_id} was already paid with stored value; refund it instead of voiding."),
            )
            .into());
        }
        let gateway = self.gateway_for(who.store.id);
        let auth_ref = serde_json::from_str::<serde_json::Value>(&auth.doc).unwrap_or_default()
            ["gateway_transaction_id"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // Keyed by the authorization, as the capture: retrying after a crash voids once.
        let reply = gateway.void(&auth_ref, &auth.id).await;
        if reply.outcome != GatewayOutcome::Approved {
            return Err(DomainError::invalid(
                "The payment gateway refused the void; nothing changed.",
            )
            .into());
        }
        let t = Self::action_row(
            &auth,
            "void",
            gateway.name(),
            &reply.reference,
            order.authorized_e4,
            self.now(),
        );
        let listeners = self.listeners(who.store.id).await;
        if !self
            .store
            .void_payment(who.store.id, &t, &listeners)
            .await?
        {
            return Err(DomainError::invalid(format!(
                "Order {order_id} was captured or voided meanwhile."
            ))
            .into());
        }
        Ok(())
    }

    /// The amount the refund items stand for, checked against the order.
    async fn refund_items_total(
        &self,
        store_id: i64,
        order_id: i64,
        items: &[RefundItemInput],
    ) -> ServiceResult<Money> {
        if items.is_empty() {
            return Err(DomainError::field("items", "Name at least one item to refund.").into());
        }
        let doc = self.store.order_doc(store_id, order_id).await?;
        let lines = doc
            .and_then(|d| PlacedOrder::from_doc(order_id, 0, 0, d).ok())
            .map(|o| o.products())
            .unwrap_or_default();
        let mut total = Money::ZERO;
        for (i, item) in items.iter().enumerate() {
            let field = format!("items[{i}]");
            let kind = item.item_type.trim().to_uppercase();
            if !ITEM_TYPES.contains(&kind.as_str()) {
                return Err(DomainError::field(
                    format!("{field}.item_type"),
                    format!(
                        "`{}` is not an item type; use one of {}.",
                        item.item_type,
                        ITEM_TYPES.join(", ")
                    ),
                )
                .into());
            }
            let amount = match (item.amount, item.quantity) {
                (Some(a), _) => {
                    if a <= Decimal::ZERO {
                        return Err(DomainError::field(
                            format!("{field}.amount"),
                            "The amount must be greater than 0.",
                        )
                        .into());
                    }
                    money_of(a)
                }
                (None, Some(q)) if kind == "PRODUCT" => {
                    let Some(line) = lines.iter().find(|l| l.id == item.item_id) else {
                        return Err(DomainError::field(
                            format!("{field}.item_id"),
                            format!("Order {order_id} has no product {}.", item.item_id),
                        )
                        .into());
                    };
                    if q <= 0 || q > line.quantity {
                        return Err(DomainError::field(
                            format!("{field}.quantity"),
                            format!(
                                "The quantity must be 1 to {} (what was ordered).",
                                line.quantity
                            ),
                        )
                        .into());
                    }
                    let line_total = line.discounted_total_inc_tax().amount();
                    money_of(
                        (line_total * Decimal::from(q) / Decimal::from(line.quantity)).round_dp(2),
                    )
                }
                _ => {
                    return Err(DomainError::field(
                        format!("{field}.amount"),
                        "Give the `amount` to refund (or, for a PRODUCT, the `quantity`).",
                    )
                    .into());
                }
            };
            total += amount;
        }
        Ok(total)
    }

    /// The instruments that paid the order and the refund split over them (see
    /// `payment::allocate_refund`).
    fn split_refund(
        txs: &[TransactionRow],
        total: Money,
        requested: Option<&[(String, Decimal)]>,
    ) -> ServiceResult<(Vec<PaidInstrument>, RefundParts)> {
        let events: Vec<_> = txs.iter().map(payment_event).collect();
        let paid = paid_instruments(&events);
        let requested: Option<Vec<(String, i64)>> = requested.map(|ps| {
            ps.iter()
                .map(|(p, d)| (p.trim().to_string(), money_of(*d).to_e4()))
                .collect()
        });
        let parts = allocate_refund(&paid, total.to_e4(), requested.as_deref())?;
        Ok((paid, parts))
    }

    fn refundable_or_refuse(order: &PayableOrder, total: Money) -> ServiceResult<Money> {
        let refundable = Money::from_e4(order.paid_e4 - order.refunded_e4);
        if total > refundable {
            return Err(too_much(total, order.paid_e4, order.refunded_e4));
        }
        Ok(refundable)
    }

    /// What refunding `items` would come to, and how it can be refunded.
    pub async fn refund_quote(
        &self,
        who: &Principal,
        order_id: i64,
        items: &[RefundItemInput],
    ) -> ServiceResult<RefundQuote> {
        who.require(Scope::Transactions)?;
        let order = self.v3_order(who.store.id, order_id).await?;
        let total = self
            .refund_items_total(who.store.id, order_id, items)
            .await?;
        let refundable = Self::refundable_or_refuse(&order, total)?;
        let txs = self
            .store
            .order_transaction_rows(who.store.id, order_id)
            .await?;
        let (paid, parts) = Self::split_refund(&txs, total, None)?;
        Ok(RefundQuote {
            order_id,
            total,
            parts: parts
                .into_iter()
                .map(|(i, e4)| (paid[i].provider.clone(), Money::from_e4(e4)))
                .collect(),
            refundable,
        })
    }

    /// Refunds part or all of what an order was paid. The order moves to Partially
    /// Refunded (14) or, when everything paid is refunded, Refunded (4).
    pub async fn create_refund(
        &self,
        who: &Principal,
        order_id: i64,
        input: &RefundInput,
    ) -> ServiceResult<RefundRow> {
        who.require(Scope::Transactions)?;
        let order = self.v3_order(who.store.id, order_id).await?;
        let items_total = self
            .refund_items_total(who.store.id, order_id, &input.items)
            .await?;
        let total = input.override_total.map(money_of).unwrap_or(items_total);
        if total <= Money::ZERO {
            return Err(DomainError::field(
                "merchant_calculated_override.total_amount",
                "The refund total must be greater than 0.",
            )
            .into());
        }
        if let Some(payments) = &input.payments {
            let sum = payments
                .iter()
                .fold(Money::ZERO, |a, (_, d)| a + money_of(*d));
            if sum != total {
                return Err(DomainError::field(
                    "payments",
                    format!(
                        "The payments add up to {} but the refund comes to {}; use the amount from POST /v3/orders/{order_id}/payment_actions/refund_quotes.",
                        sum.amount(),
                        total.amount()
                    ),
                )
                .into());
            }
        }
        Self::refundable_or_refuse(&order, total)?;
        let now = self.now();
        let txs = self
            .store
            .order_transaction_rows(who.store.id, order_id)
            .await?;
        let (paid, parts) = Self::split_refund(&txs, total, input.payments.as_deref())?;
        let gateway = self.gateway_for(who.store.id);
        let mut transactions = Vec::with_capacity(parts.len());
        let mut payments_doc = Vec::with_capacity(parts.len());
        for (i, amount_e4) in &parts {
            let instrument = &paid[*i];
            let mut doc = json!({"gateway_transaction_id": ""});
            if let Some(code) = &instrument.gift_certificate {
                // Credited back to this certificate when the refund is recorded.
                doc["gift_certificate"] = json!({"code": code});
            } else if instrument.provider == gateway.name() {
                // The gateway payment this part goes back to, kept for the gateway call
                // (and a retry of it after a crash).
                doc[REFUNDED_PAYMENT] = json!(
                    txs.iter()
                        .rfind(|t| {
                            t.status == "ok"
                                && t.gateway == instrument.provider
                                && (t.event == "purchase" || t.event == "capture")
                        })
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t.doc).ok())
                        .and_then(|d| d["gateway_transaction_id"].as_str().map(str::to_string))
                        .unwrap_or_default()
                );
            }
            transactions.push(TransactionRow {
                id: Uuid::now_v7().to_string(),
                number: 0,
                order_id,
                event: "refund".into(),
                status: "ok".into(),
                amount_e4: *amount_e4,
                currency_code: order.currency_code.clone(),
                gateway: instrument.provider.clone(),
                created_at: now,
                doc: doc.to_string(),
            });
            payments_doc.push(json!({"provider_id": instrument.provider, "amount_e4": amount_e4}));
        }
        let provider = paid
            .get(parts.first().map(|(i, _)| *i).unwrap_or(0))
            .map(|p| p.provider.clone())
            .unwrap_or_else(|| gateway.name().to_string());
        let doc = json!({
            "order_id": order_id,
            "user_id": 0,
            "created": now,
            "reason": input.reason.clone().or_else(|| input.items.iter().find_map(|i| i.reason.clone())).unwrap_or_default(),
            "total_amount_e4": total.to_e4(),
            "uses_merchant_override_values": input.override_total.is_some(),
            "transaction_id": transactions.first().map(|t| t.id.clone()),
            "provider_id": provider,
            "payments": payments_doc,
            "items": input.items.iter().map(|i| json!({
                "item_type": i.item_type.trim().to_uppercase(), "item_id": i.item_id,
                "quantity": i.quantity, "reason": i.reason,
                "requested_amount": i.amount.map(|a| a.to_string()),
            })).collect::<Vec<_>>(),
        });
        let refund = NewRefund {
            order_id,
            total_e4: total.to_e4(),
            now,
            doc,
            transactions,
        };
        let id = match self.store.claim_refund(who.store.id, &refund).await? {
            RefundOutcome::Claimed(id) => id,
            RefundOutcome::NoOrder => {
                return Err(ServiceError::NotFound(format!(
                    "Order {order_id} does not exist."
                )));
            }
            RefundOutcome::TooMuch {
                paid_e4,
                refunded_e4,
            } => return Err(too_much(total, paid_e4, refunded_e4)),
            RefundOutcome::InstrumentTooMuch { provider, left_e4 } => {
                return Err(DomainError::field(
                    "payments",
                    format!(
                        "Only {} paid with `{provider}` is left to refund; another refund took the rest.",
                        Money::from_e4(left_e4).amount()
                    ),
                )
                .into());
            }
        };
        match self.settle_refund(who.store.id, id).await? {
            Settled::Done => {}
            Settled::Declined => {
                return Err(DomainError::invalid(
                    "The payment gateway refused the refund; nothing was refunded.",
                )
                .into());
            }
            Settled::Pending => {
                return Err(ServiceError::Gateway(format!(
                    "The payment gateway did not answer. Refund {id} is held as pending (its amount counts as refunded) and Kassa completes it by itself, asking the gateway again under the same idempotency key; do not send it again."
                )));
            }
        }
        let (rows, _) = self
            .store
            .refunds(
                who.store.id,
                &RefundFilter {
                    ids: vec![id],
                    limit: 1,
                    ..RefundFilter::default()
                },
            )
            .await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| ServiceError::NotFound(format!("Refund {id} does not exist.")))
    }

    /// Asks the gateway for a pending refund's gateway part (the planned transaction's
    /// id is the idempotency key, so asking again after a crash or a lost answer refunds
    /// once) and completes the refund, or releases its claim on a definite decline.
    async fn settle_refund(&self, store_id: i64, refund_id: i64) -> ServiceResult<Settled> {
        let Some((_, mut transactions)) = self.store.pending_refund(store_id, refund_id).await?
        else {
            // Completed or released meanwhile (by another node or recovery).
            return Ok(Settled::Done);
        };
        let gateway = self.gateway_for(store_id);
        for t in transactions.iter_mut() {
            let mut doc: serde_json::Value = serde_json::from_str(&t.doc).unwrap_or_default();
            let Some(payment) = doc[REFUNDED_PAYMENT].as_str().map(str::to_string) else {
                continue;
            };
            let reply = gateway.refund(&payment, t.amount_e4, &t.id).await;
            match reply.outcome {
                GatewayOutcome::Approved => {
                    doc["gateway_transaction_id"] = json!(reply.reference);
                    t.doc = doc.to_string();
                }
                GatewayOutcome::Declined | GatewayOutcome::InsufficientFunds => {
                    self.store
                        .release_refund(store_id, refund_id, self.now())
                        .await?;
                    return Ok(Settled::Declined);
                }
                GatewayOutcome::GatewayError => {
                    tracing::warn!(
                        store_id,
                        refund_id,
                        "payment gateway did not answer a refund; it stays pending"
                    );
                    return Ok(Settled::Pending);
                }
            }
        }
        self.store
            .complete_refund(store_id, refund_id, &transactions, self.now())
            .await?;
        Ok(Settled::Done)
    }

    /// Completes (or releases) refunds left pending by a crash or a gateway that did not
    /// answer, claimed at least `older_than_secs` ago; returns how many were settled.
    /// Safe beside live requests and on several nodes: the gateway call is idempotent by
    /// key and completion is conditional on the refund still being pending.
    pub async fn finish_pending_refunds(&self, older_than_secs: i64) -> ServiceResult<usize> {
        let pending = self
            .store
            .pending_refunds(self.now() - older_than_secs, 500)
            .await?;
        let mut settled = 0;
        for (store_id, refund_id) in pending {
            if self.settle_refund(store_id, refund_id).await? != Settled::Pending {
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Refunds matching a filter (store-wide, or one order's).
    pub async fn list_refunds(
        &self,
        who: &Principal,
        filter: &RefundFilter,
    ) -> ServiceResult<(Vec<RefundRow>, i64)> {
        who.require(Scope::TransactionsReadOnly)?;
        Ok(self.store.refunds(who.store.id, filter).await?)
    }

    /// One order's refunds, oldest first; 404 for an unknown order.
    pub async fn order_refunds(
        &self,
        who: &Principal,
        order_id: i64,
    ) -> ServiceResult<Vec<RefundRow>> {
        who.require(Scope::TransactionsReadOnly)?;
        self.v3_order(who.store.id, order_id).await?;
        let (rows, _) = self
            .store
            .refunds(
                who.store.id,
                &RefundFilter {
                    order_ids: vec![order_id],
                    limit: i64::MAX / 2,
                    ..RefundFilter::default()
                },
            )
            .await?;
        Ok(rows)
    }
}

/// The key of a refund transaction's document naming the gateway payment it refunds.
const REFUNDED_PAYMENT: &str = "refunded_payment_reference";

/// Where a pending refund stands after asking the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settled {
    Done,
    Declined,
    /// The gateway did not answer; the refund stays pending for recovery.
    Pending,
}

/// Why a refund is refused: it is more than is left to refund.
fn too_much(total: Money, paid_e4: i64, refunded_e4: i64) -> ServiceError {
    DomainError::field(
        "items",
        format!(
            "The refund of {} is more than the order has left to refund ({} paid, {} already refunded).",
            total.amount().round_dp(2),
            Money::from_e4(paid_e4).amount().round_dp(2),
            Money::from_e4(refunded_e4).amount().round_dp(2)
        ),
    )
    .into()
}

/// Order settings (`/v3/orders/settings`): who is emailed when an order is placed and
/// who gets a copy of invoices. For a channel, `None` means "as the store's global".
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderSettings {
    pub order_placed: Option<Vec<String>>,
    pub forward_invoice: Option<Vec<String>>,
}

const ORDER_SETTINGS: &str = "order_settings";

fn check_emails(field: &str, emails: &Option<Vec<String>>) -> ServiceResult<()> {
    for (i, e) in emails.iter().flatten().enumerate() {
        let e = e.trim();
        let ok = e
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !e.contains(' '));
        if !ok {
            return Err(DomainError::field(
                format!("{field}.email_addresses[{i}]"),
                format!("`{e}` is not an email address."),
            )
            .into());
        }
    }
    Ok(())
}

impl Kassa {
    /// The store's order settings (channel 0) or a channel's (1 and up).
    pub async fn order_settings(
        &self,
        who: &Principal,
        channel_id: i64,
    ) -> ServiceResult<OrderSettings> {
        who.require(Scope::V2OrdersReadOnly)?;
        let found: Option<OrderSettings> = self
            .store
            .config_doc(who.store.id, ORDER_SETTINGS, channel_id)
            .await?;
        Ok(found.unwrap_or_else(|| {
            if channel_id == 0 {
                OrderSettings {
                    order_placed: Some(Vec::new()),
                    forward_invoice: Some(Vec::new()),
                }
            } else {
                OrderSettings::default()
            }
        }))
    }

    /// Changes the fields given (for a channel, `Some(None)` clears a field back to the
    /// global value); returns the settings as saved.
    pub async fn update_order_settings(
        &self,
        who: &Principal,
        channel_id: i64,
        order_placed: Option<Option<Vec<String>>>,
        forward_invoice: Option<Option<Vec<String>>>,
    ) -> ServiceResult<OrderSettings> {
        who.require(Scope::V2Orders)?;
        let mut s = self.order_settings(who, channel_id).await?;
        if let Some(v) = order_placed {
            check_emails("notifications.order_placed", &v)?;
            s.order_placed = if channel_id == 0 {
                Some(v.unwrap_or_default())
            } else {
                v
            };
        }
        if let Some(v) = forward_invoice {
            check_emails("notifications.forward_invoice", &v)?;
            s.forward_invoice = if channel_id == 0 {
                Some(v.unwrap_or_default())
            } else {
                v
            };
        }
        self.store
            .put_config_doc(who.store.id, ORDER_SETTINGS, channel_id, &s, self.now())
            .await?;
        Ok(s)
    }
}
