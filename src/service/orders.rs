//! Placing an order from a checkout (`POST /checkouts/{id}/orders`).
//!
//! The checkout is priced afresh, checked for completeness, and then placed in one
//! transaction that claims every limited use (coupons, promotions, promotion codes, in
//! total and per customer), debits the gift certificates and store credit the checkout
//! uses, and inserts the order with an immutable snapshot of the priced checkout.
//! Uses and balances are therefore taken when the order is placed — never when a code
//! or certificate is merely applied — and a limit of K uses lets exactly K orders
//! through however many race for it.
//!
//! An order is created Incomplete (awaiting payment); when gift certificates and store
//! credit cover all of it, nothing is left to pay, so it is created Awaiting
//! Fulfillment, the gift certificates it buys are issued and its cart is deleted.

use super::accounts::Principal;
use super::carts::cart_not_found;
use super::checkouts::code_limits;
use super::customer_addresses::ADDRESS_COUNTER;
use super::{Kassa, Refusal, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
use crate::domain::cart::Cart;
use crate::domain::catalog::ProductType;
use crate::domain::customer_address::{
    CustomerAddress, CustomerAddressInput, build_customer_address,
};
use crate::domain::gift_certificate::{
    DEFAULT_TEMPLATE, GiftCertificate, GiftCertificateInput, TEMPLATES,
};
use crate::domain::money::Money;
use crate::store::{
    BalanceDebit, IdempotencyClaim, NewOrder, OrderDoc, OrderSnapshot, PlaceOrderError, StockTake,
    UseClaim, UseKind,
};
use std::collections::HashMap;
use uuid::Uuid;

/// BigCommerce order status ids used here.
pub const STATUS_INCOMPLETE: i64 = 0;
pub const STATUS_AWAITING_FULFILLMENT: i64 = 11;

impl Kassa {
    /// A customer's group and number of completed orders (for promotion eligibility).
    pub(crate) async fn customer_facts(
        &self,
        store_id: i64,
        customer_id: i64,
    ) -> ServiceResult<(i64, i64)> {
        let group = self
            .store
            .customer(store_id, customer_id)
            .await?
            .map(|c| c.customer_group_id)
            .unwrap_or(0);
        let orders = self
            .store
            .completed_order_count(store_id, customer_id)
            .await?;
        Ok((group, orders))
    }

    /// Places an order from a complete checkout; returns the new order id. With an
    /// idempotency key whose earlier attempt died after placing its order, that order.
    pub async fn create_order(
        &self,
        who: &Principal,
        id: Uuid,
        idempotency: Option<&IdempotencyClaim>,
    ) -> ServiceResult<i64> {
        if let Some(order_id) = idempotency
            .and_then(|c| c.outcome.as_deref())
            .and_then(|o| o.strip_prefix("order:"))
            .and_then(|o| o.parse::<i64>().ok())
        {
            return Ok(order_id);
        }
        // The cart and the store's rules version in one read (see `change_cart`).
        let read = self
            .store
            .get_cart_to_change(who.store.id, id, self.now())
            .await?
            .ok_or_else(|| cart_not_found(id))?;
        let mut cart = std::sync::Arc::unwrap_or_clone(read.cart);
        // What the cart read found about its products spares placement reading them again.
        let known = read.products;
        let rules = self.store_rules_at(who, read.config_version).await?;
        let kit = self.pricing_kit_with(who, cart.customer_id, rules).await?;
        kit.price(&mut cart)?;
        check_complete(&cart)?;

        let mut claims = Vec::new();
        let offers = kit.offers(&cart);
        for applied in &cart.checkout.coupons {
            if let Some(why) = &applied.not_applied {
                return Err(DomainError::field(
                    "coupons",
                    format!(
                        "The coupon `{}` no longer applies: it {why}. Remove it to place the order.",
                        applied.code
                    ),
                )
                .into());
            }
        }
        for offer in &offers.codes {
            let used_up = format!(
                "The coupon `{}` has been used the maximum number of times; remove it to place the order.",
                offer.code()
            );
            for (kind, ref_id, max, per_customer) in code_limits(offer) {
                claims.push(UseClaim {
                    kind,
                    ref_id,
                    customer_id: 0,
                    max,
                    label: used_up.clone(),
                });
                if cart.customer_id != 0 {
                    claims.push(UseClaim {
                        kind,
                        ref_id,
                        customer_id: cart.customer_id,
                        max: per_customer,
                        label: format!(
                            "This customer has used the coupon `{}` the maximum number of times.",
                            offer.code()
                        ),
                    });
                }
            }
        }
        let promotions: HashMap<i64, i64> = kit
            .rules()
            .promotions
            .iter()
            .map(|p| (p.id, p.max_uses))
            .collect();
        for (pid, _) in &cart.checkout.promotion_discounts {
            claims.push(UseClaim {
                kind: UseKind::Promotion,
                ref_id: *pid,
                customer_id: 0,
                max: promotions.get(pid).copied().unwrap_or(0),
                label: format!(
                    "Promotion {pid} has reached its usage limit; refresh the checkout to see its new total."
                ),
            });
        }
        let gift_certificates: Vec<BalanceDebit> = cart
            .checkout
            .gift_certificates
            .iter()
            .filter(|g| g.used > Money::ZERO)
            .map(|g| BalanceDebit {
                id: g.id,
                amount_e4: g.used.to_e4(),
                label: format!(
                    "The gift certificate `{}` no longer has {} to spend; remove it and apply it again.",
                    g.code, g.used
                ),
            })
            .collect();
        let payments = &cart.checkout.payments;
        let store_credit_e4 = if payments.store_credit > Money::ZERO {
            // Store credit is kept in the store's default currency.
            let rate = cart.currency.exchange_rate;
            if rate.is_zero() {
                0
            } else {
                Money::new(payments.store_credit.amount() / rate).to_e4()
            }
        } else {
            0
        };
        let paid_in_full = payments.outstanding_balance <= Money::ZERO;
        let status_id = if paid_in_full {
            STATUS_AWAITING_FULFILLMENT
        } else {
            STATUS_INCOMPLETE
        };
        let now = self.now();
        let stock = cart
            .line_items
            .iter()
            .map(|l| StockTake {
                product_id: l.product_id,
                variant_id: l.variant_id,
                quantity: l.quantity,
            })
            .collect();
        let reserved_until = now + 60 * who.store.settings.order_reservation_minutes.max(1);
        // Products are listed per shipping address from the start.
        let admin = crate::domain::order_admin::OrderAdmin {
            products_per_address: true,
            ..Default::default()
        };
        let doc = OrderDoc::of(&OrderSnapshot {
            status_id,
            date_created: now,
            cart: &cart,
            admin: Some(&admin),
        })?;
        let save_addresses = self.addresses_to_save(who, &cart).await?;
        let order = NewOrder {
            cart_id: cart.id.to_string(),
            status_id,
            customer_id: cart.customer_id,
            currency_code: cart.currency.code.clone(),
            total_inc_tax_e4: cart.checkout.totals.grand_total.to_e4(),
            now,
            claims,
            gift_certificates,
            store_credit_e4,
            stock,
            reserved_until,
            doc,
            idempotency: idempotency.cloned(),
            save_addresses,
            listeners: self.listeners(who.store.id).await,
        };
        let mut placed = self
            .store
            .place_order_knowing(who.store.id, &order, &known)
            .await;
        if matches!(
            placed,
            Err(PlaceOrderError::Refused(_) | PlaceOrderError::OutOfStock(_))
        ) {
            // Orders that were never paid may still hold what this one needs; the
            // sweeper would give it back soon, so give it back now and try once more.
            if self.release_lapsed_orders(500).await? > 0 {
                self.metrics
                    .count(crate::metrics::Event::OrderPlacementRetried);
                placed = self
                    .store
                    .place_order_knowing(who.store.id, &order, &known)
                    .await;
            }
        }
        let order_id = match placed {
            Ok(id) => id,
            Err(PlaceOrderError::Refused(why)) => {
                return Err(ServiceError::Refused(
                    Refusal::CartChanged,
                    DomainError::invalid(why),
                ));
            }
            Err(PlaceOrderError::OutOfStock(why)) => {
                return Err(ServiceError::Refused(
                    Refusal::StockTooLow,
                    DomainError::invalid(why),
                ));
            }
            Err(PlaceOrderError::Store(e)) => return Err(e.into()),
        };
        if paid_in_full {
            self.order_paid(who, &cart, order_id).await?;
        }
        Ok(order_id)
    }

    /// The checkout addresses the shopper flagged `shouldSaveAddress`, as entries of the
    /// customer's address book with their ids taken, for the order's transaction to save
    /// (skipping those the customer has). None for a guest. An address the book's rules
    /// refuse (a saved address needs a few more fields than a checkout's) is left out:
    /// it never stops the order.
    async fn addresses_to_save(
        &self,
        who: &Principal,
        cart: &Cart,
    ) -> ServiceResult<Vec<CustomerAddress>> {
        if cart.customer_id == 0 {
            return Ok(Vec::new());
        }
        let flagged = cart
            .checkout
            .billing_address
            .iter()
            .map(|b| &b.address)
            .chain(
                cart.checkout
                    .consignments
                    .iter()
                    .filter(|c| c.pickup_method_id.is_none())
                    .map(|c| &c.address.address),
            )
            .filter(|a| a.should_save);
        let mut drafts: Vec<CustomerAddress> = Vec::new();
        for a in flagged {
            let Ok(draft) =
                build_customer_address(None, 0, cart.customer_id, &CustomerAddressInput::from(a))
            else {
                continue;
            };
            if !drafts.iter().any(|d| d.key() == draft.key()) {
                drafts.push(draft);
            }
        }
        if drafts.is_empty() {
            return Ok(drafts);
        }
        let count = i64::try_from(drafts.len()).unwrap_or(i64::MAX);
        let first = self
            .store
            .next_ids(who.store.id, ADDRESS_COUNTER, count)
            .await?;
        Ok(drafts
            .into_iter()
            .zip(first..)
            .map(|(a, id)| CustomerAddress { id, ..a })
            .collect())
    }

    /// Gives back what unpaid orders whose reservation lapsed hold (stock, coupon uses,
    /// balances); they stay Incomplete but can no longer be paid. Returns how many.
    pub async fn release_lapsed_orders(&self, limit: i64) -> ServiceResult<usize> {
        let now = self.now();
        let mut released = 0;
        for (store_id, order_id) in self.store.lapsed_orders(now, limit).await? {
            if self.release(store_id, order_id, now, None).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Releases one order (see `Store::release_order`), optionally moving it to
    /// `new_status`. False when there was nothing to release.
    pub(crate) async fn release(
        &self,
        store_id: i64,
        order_id: i64,
        now: i64,
        new_status: Option<i64>,
    ) -> ServiceResult<bool> {
        match self
            .store
            .release_order(store_id, order_id, now, new_status)
            .await
        {
            Ok(done) => Ok(done),
            Err(PlaceOrderError::Refused(why) | PlaceOrderError::OutOfStock(why)) => {
                Err(DomainError::invalid(why).into())
            }
            Err(PlaceOrderError::Store(e)) => Err(e.into()),
        }
    }

    /// What follows payment in full: gift certificates bought in the order are issued,
    /// and the cart, having done its job, is deleted (as BigCommerce does on payment).
    pub(crate) async fn order_paid(
        &self,
        who: &Principal,
        cart: &Cart,
        order_id: i64,
    ) -> ServiceResult<()> {
        for item in &cart.gift_certificates {
            let template = format!("{}.html", item.theme.to_lowercase());
            let input = GiftCertificateInput {
                amount: Some(item.amount.amount()),
                currency_code: Some(cart.currency.code.clone()),
                customer_id: Some(cart.customer_id),
                to_name: Some(item.recipient.name.clone()),
                to_email: Some(item.recipient.email.clone()),
                from_name: Some(item.sender.name.clone()),
                from_email: Some(item.sender.email.clone()),
                template: Some(if TEMPLATES.contains(&template.as_str()) {
                    template
                } else {
                    DEFAULT_TEMPLATE.to_string()
                }),
                message: Some(item.message.clone()),
                ..GiftCertificateInput::default()
            };
            for _ in 0..item.quantity {
                let issued = self
                    .create_admin_gift_certificate(&who.store, &input)
                    .await?;
                let bought = GiftCertificate {
                    order_id,
                    ..issued.clone()
                };
                self.store
                    .update_gift_certificate(who.store.id, &bought, issued.balance)
                    .await?;
            }
        }
        self.delete_converted_cart(who.store.id, cart.id, order_id)
            .await?;
        Ok(())
    }
}

/// What an order needs that a checkout may still lack, named field by field.
fn check_complete(cart: &Cart) -> Result<(), ServiceError> {
    if cart.line_items.is_empty()
        && cart.custom_items.is_empty()
        && cart.gift_certificates.is_empty()
    {
        return Err(ServiceError::Refused(
            Refusal::EmptyCart,
            DomainError::invalid("The checkout has no items."),
        ));
    }
    let Some(billing) = &cart.checkout.billing_address else {
        return Err(DomainError::field(
            "billing_address",
            "The checkout has no billing address; add one with POST /checkouts/{id}/billing-address.",
        )
        .into());
    };
    let b = &billing.address;
    for (field, value) in [
        ("first_name", &b.first_name),
        ("last_name", &b.last_name),
        ("email", &b.email),
        ("address1", &b.address1),
        ("city", &b.city),
        ("country_code", &b.country_code),
    ] {
        if value.trim().is_empty() {
            return Err(DomainError::field(
                format!("billing_address.{field}"),
                format!("The billing address needs `{field}` before an order can be placed."),
            )
            .into());
        }
    }
    normalize_and_validate(b.clone(), AddressPurpose::Shipping, "billing_address.")?;

    let mut placed: HashMap<Uuid, i64> = HashMap::new();
    for c in &cart.checkout.consignments {
        for it in &c.items {
            *placed.entry(it.item_id).or_default() += it.quantity;
        }
        if c.pickup_method_id.is_none() && c.selected_option.is_none() {
            return Err(ServiceError::Refused(
                Refusal::MissingShippingMethod,
                DomainError::field(
                    "consignments.selected_shipping_option",
                    format!(
                        "Consignment {} has no shipping option selected; choose one of its available_shipping_options.",
                        c.id
                    ),
                ),
            ));
        }
    }
    let unshipped = cart
        .line_items
        .iter()
        .filter(|l| l.kind == ProductType::Physical)
        .map(|l| (l.id, l.quantity, l.name.as_str()))
        .chain(
            cart.custom_items
                .iter()
                .map(|c| (c.id, c.quantity, c.name.as_str())),
        )
        .find(|(id, qty, _)| placed.get(id).copied().unwrap_or(0) < *qty);
    if let Some((item, qty, name)) = unshipped {
        return Err(ServiceError::Refused(
            Refusal::InvalidShippingAddress,
            DomainError::field(
                "consignments",
                format!(
                    "Item {item} ({name}): {} of {qty} units are in no consignment; every physical item must ship somewhere.",
                    qty - placed.get(&item).copied().unwrap_or(0)
                ),
            ),
        ));
    }
    Ok(())
}
