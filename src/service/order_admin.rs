//! Changing placed orders (V2 Orders writes): status, notes, archiving, shipments.
//!
//! Each change reads the order, decides with the pure rules in `domain::order_admin`,
//! and applies guarded by the revision and status it read; if another change got there
//! first it reads again and decides again (so two concurrent status changes never both
//! apply from the same status), and after a few lost races answers 409.
//!
//! Cancelling or declining gives back what the order holds (stock; for an unpaid order
//! also its coupon uses and balances) in the same transaction as the status change,
//! once — an order whose reservation already lapsed has nothing left to give — and not
//! while a payment for it is at the gateway.

use super::accounts::Principal;
use super::order_edits::{
    OrderEdits, check_shipping_options, item_specs, new_consignment, shipped_items, stock_of,
};
use super::orders::STATUS_INCOMPLETE;
use super::payments::STATUS_AWAITING_PAYMENT;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::order::PlacedOrder;
use crate::domain::order_admin::{
    OrderAdmin, Shipment, cannot_ship, check_shipment_fields, check_status_change, gives_back,
    says_paid, ship, status_after_shipping, status_after_unshipping,
};
use crate::domain::order_admin::{OrderFeeInput, fee_spec};
use crate::domain::payment::OFFLINE_METHODS;
use crate::store::order_admin::{ChangeOutcome, OrderChange, OrderState, ShipmentWrite};
use crate::store::{
    Held, OutboxEvent, PAYMENT_HOLD_SECS, PlaceOrderError, StoreRecord, TransactionRow,
};
use serde_json::{Value, json};

/// Key of the order document recording when the merchant marked an order placed with
/// an offline method as paid (unix seconds).
const OFFLINE_PAID_AT: &str = "offline_paid_at";

/// How often a change is re-decided after losing a race before answering 409.
const ATTEMPTS: usize = 5;

/// The fields of `PUT /v2/orders/{id}` Kassa changes.
#[derive(Clone, Debug, Default)]
pub struct OrderUpdate {
    pub status_id: Option<i64>,
    pub staff_notes: Option<String>,
    pub customer_message: Option<String>,
    /// `true` archives, as `DELETE /v2/orders/{id}` does.
    pub is_deleted: Option<bool>,
    /// Products, fees and addresses; the order is priced again when any change.
    pub edits: OrderEdits,
}

/// The fields of a shipment a request sets (`None` = left as is).
#[derive(Clone, Debug, Default)]
pub struct ShipmentInput {
    pub order_address_id: Option<i64>,
    pub tracking_number: Option<String>,
    pub tracking_link: Option<String>,
    pub merchant_shipping_cost: Option<crate::domain::money::Money>,
    pub shipping_method: Option<String>,
    pub shipping_provider: Option<String>,
    pub tracking_carrier: Option<String>,
    pub comments: Option<String>,
    /// (order product id, quantity).
    pub items: Option<Vec<(i64, i64)>>,
}

impl ShipmentInput {
    fn apply(&self, s: &mut Shipment) {
        let set = |to: &mut String, from: &Option<String>| {
            if let Some(v) = from {
                *to = v.clone();
            }
        };
        if let Some(a) = self.order_address_id {
            s.order_address_id = a;
        }
        set(&mut s.tracking_number, &self.tracking_number);
        set(&mut s.tracking_link, &self.tracking_link);
        if let Some(c) = self.merchant_shipping_cost {
            s.merchant_shipping_cost = c;
        }
        set(&mut s.shipping_method, &self.shipping_method);
        set(&mut s.shipping_provider, &self.shipping_provider);
        set(&mut s.tracking_carrier, &self.tracking_carrier);
        set(&mut s.comments, &self.comments);
    }
}

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Order {id} does not exist."))
}

pub(super) fn invalid(why: String) -> ServiceError {
    DomainError::invalid(why).into()
}

fn placed(id: i64, st: &OrderState) -> ServiceResult<PlacedOrder> {
    let mut o = PlacedOrder::from_doc(id, st.status_id, st.date_modified, st.doc.clone())
        .map_err(crate::store::StoreError::from)?;
    o.is_deleted = st.is_deleted;
    o.refunded = crate::domain::money::Money::from_e4(st.refunded_e4);
    Ok(o)
}

/// The checkout an order was placed from, as its document keeps it.
pub(super) fn placed_cart(doc: &Value) -> Option<crate::domain::cart::Cart> {
    serde_json::from_value(doc["cart"].clone()).ok()
}

/// [`placed_cart`] read from the document's text, without parsing the rest of the order
/// into a `Value` first.
pub(super) fn placed_cart_in(doc: &str) -> Option<crate::domain::cart::Cart> {
    #[derive(serde::Deserialize)]
    struct Placed {
        cart: Option<crate::domain::cart::Cart>,
    }
    serde_json::from_str::<Placed>(doc).ok()?.cart
}

/// The transaction of the money an order placed with an offline method received: what
/// it had left to pay, under the method's id (refunds of it are recorded, not sent to
/// a gateway).
fn offline_payment(
    order_id: i64,
    doc: &Value,
    cart: Option<&crate::domain::cart::Cart>,
    now: i64,
) -> TransactionRow {
    let name = doc["payment_method"].as_str().unwrap_or_default();
    // The order keeps the method's name (V2 `payment_method`); the id names the gateway.
    let method = OFFLINE_METHODS
        .iter()
        .find(|m| m.name == name)
        .map_or("offline", |m| m.id);
    TransactionRow {
        id: uuid::Uuid::now_v7().to_string(),
        number: 0,
        order_id,
        event: "purchase".into(),
        status: "ok".into(),
        amount_e4: cart.map_or(0, |c| {
            c.checkout.payments.outstanding_balance.to_e4().max(0)
        }),
        currency_code: cart.map(|c| c.currency.code.clone()).unwrap_or_default(),
        gateway: method.into(),
        created_at: now,
        doc: json!({"payment_method_id": method, "offline": {"display_name": name}}).to_string(),
    }
}

fn admin_of(doc: &Value) -> OrderAdmin {
    serde_json::from_value(doc["admin"].clone()).unwrap_or_default()
}

fn with_admin(doc: &Value, admin: &OrderAdmin) -> ServiceResult<Value> {
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "admin".into(),
            serde_json::to_value(admin).map_err(crate::store::StoreError::from)?,
        );
    }
    Ok(doc)
}

fn order_event(scope: &str, id: i64) -> OutboxEvent {
    OutboxEvent::new(scope, id, json!({"type": "order", "id": id}))
}

fn status_event(id: i64, from: i64, to: i64) -> OutboxEvent {
    OutboxEvent::new(
        "store/order/statusUpdated",
        id,
        json!({"type": "order", "id": id,
               "status": {"previous_status_id": from, "new_status_id": to}}),
    )
}

fn shipment_of(v: &Value) -> ServiceResult<Shipment> {
    Ok(serde_json::from_value(v.clone()).map_err(crate::store::StoreError::from)?)
}

impl Kassa {
    async fn order_state(&self, store: &StoreRecord, id: i64) -> ServiceResult<OrderState> {
        self.store
            .order_state(store.id, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Applies a change; `Ok(None)` when it lost a race and must be decided again.
    async fn try_change(
        &self,
        store: &StoreRecord,
        change: &OrderChange,
    ) -> ServiceResult<Option<Option<i64>>> {
        match self.store.change_order(store.id, change).await {
            Ok(ChangeOutcome::Applied { shipment_id }) => Ok(Some(shipment_id)),
            Ok(ChangeOutcome::Stale) => Ok(None),
            Err(PlaceOrderError::Refused(why) | PlaceOrderError::OutOfStock(why)) => {
                Err(invalid(why))
            }
            Err(PlaceOrderError::Store(e)) => Err(e.into()),
        }
    }

    /// A change that starts from `st` and leaves the order as it is, for callers to fill in.
    fn change_from(&self, id: i64, st: &OrderState) -> OrderChange {
        OrderChange::from_state(id, st, self.now())
    }

    /// `PUT /v2/orders/{id}`: status, notes, message, archiving, and products, fees
    /// and addresses (the order is then priced again, and its stock follows its lines).
    pub async fn update_order(
        &self,
        who: &Principal,
        id: i64,
        upd: &OrderUpdate,
    ) -> ServiceResult<PlacedOrder> {
        let store = &who.store;
        let edit = !upd.edits.is_empty();
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, id).await?;
            let mut c = self.change_from(id, &st);
            if let Some(to) = upd.status_id {
                check_status_change(st.status_id, to).map_err(invalid)?;
                c.new_status_id = to;
            }
            let status_changed = c.new_status_id != st.status_id;
            if status_changed && gives_back(c.new_status_id) && !st.released {
                if st.payment_started_at >= c.now - PAYMENT_HOLD_SECS {
                    return Err(ServiceError::Duplicate(format!(
                        "A payment for order {id} is in progress; try again in {PAYMENT_HOLD_SECS} seconds."
                    )));
                }
                c.release = true;
            }
            let mut admin = admin_of(&st.doc);
            let before = admin.clone();
            let mut doc = st.doc.clone();
            // The merchant records the money of an order placed with an offline method;
            // the mark, written with the guarded status change, makes this happen once.
            let marks_paid = status_changed
                && says_paid(c.new_status_id)
                && st.doc["payment_method"].is_string()
                && st.doc[OFFLINE_PAID_AT].is_null();
            let paid_cart = if marks_paid {
                placed_cart(&st.doc)
            } else {
                None
            };
            if marks_paid {
                c.payment = Some(offline_payment(id, &st.doc, paid_cart.as_ref(), c.now));
                if let Some(obj) = doc.as_object_mut() {
                    obj.insert(OFFLINE_PAID_AT.into(), json!(c.now));
                }
            }
            if edit {
                if c.release {
                    return Err(invalid(format!(
                        "Cancel or decline order {id} in a request of its own, without products, fees or addresses."
                    )));
                }
                if st.payment_started_at >= c.now - PAYMENT_HOLD_SECS {
                    return Err(ServiceError::Duplicate(format!(
                        "A payment for order {id} is in progress; try again in {PAYMENT_HOLD_SECS} seconds."
                    )));
                }
                let held = Held::of(&st.doc);
                let e = self
                    .edit_order(who, &placed(id, &st)?, &held, st.released, &upd.edits)
                    .await?;
                admin.product_ids = e.admin.product_ids;
                admin.fee_ids = e.admin.fee_ids;
                c.total_inc_tax_e4 = Some(e.cart.checkout.totals.grand_total.to_e4());
                c.stock = e.stock;
                if let Some(obj) = doc.as_object_mut() {
                    let to_value =
                        |v: serde_json::Result<Value>| v.map_err(crate::store::StoreError::from);
                    obj.insert("cart".into(), to_value(serde_json::to_value(&e.cart))?);
                    obj.insert("held".into(), to_value(serde_json::to_value(&e.held))?);
                }
            }
            if let Some(n) = &upd.staff_notes {
                admin.staff_notes = n.clone();
            }
            if let Some(m) = &upd.customer_message {
                admin.customer_message = Some(m.clone());
            }
            c.doc = with_admin(&doc, &admin)?;
            c.archive = upd.is_deleted == Some(true) && !st.is_deleted;
            if upd.is_deleted == Some(false) && st.is_deleted {
                return Err(invalid(format!(
                    "Order {id} is archived; archiving cannot be undone through the API."
                )));
            }
            if !status_changed && admin == before && !c.archive && !edit {
                return placed(id, &st);
            }
            if status_changed || admin != before || edit {
                c.events.push(order_event("store/order/updated", id));
            }
            if status_changed {
                c.events
                    .push(status_event(id, st.status_id, c.new_status_id));
            }
            if c.archive {
                c.events.push(order_event("store/order/archived", id));
            }
            if self.try_change(store, &c).await?.is_some() {
                if let Some(cart) = paid_cart {
                    // As after a card payment: the status change stands whatever happens
                    // next, so a failure is logged for the merchant, not reported.
                    if let Err(e) = self.order_paid(who, &cart, id).await {
                        tracing::error!(order_id = id, error = %e, "order marked paid, but issuing its gift certificates or deleting its cart failed");
                    }
                }
                return self.get_order(store, id).await;
            }
        }
        Err(ServiceError::Conflict)
    }

    /// Moves a just-placed, unpaid order to Awaiting Payment and records the offline
    /// method the shopper will pay with; the order then no longer lapses.
    pub async fn await_offline_payment(
        &self,
        store: &StoreRecord,
        id: i64,
        method_name: &str,
    ) -> ServiceResult<()> {
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, id).await?;
            if st.status_id != STATUS_INCOMPLETE {
                return Err(invalid(format!(
                    "Order {id} is no longer waiting for a payment method."
                )));
            }
            let mut c = self.change_from(id, &st);
            c.new_status_id = STATUS_AWAITING_PAYMENT;
            if let Some(obj) = c.doc.as_object_mut() {
                obj.insert("payment_method".into(), json!(method_name));
            }
            c.events.push(order_event("store/order/updated", id));
            c.events
                .push(status_event(id, st.status_id, c.new_status_id));
            if self.try_change(store, &c).await?.is_some() {
                return Ok(());
            }
        }
        Err(ServiceError::Conflict)
    }

    /// `DELETE /v2/orders/{id}`: archives the order (it stays readable).
    pub async fn archive_order(&self, who: &Principal, id: i64) -> ServiceResult<()> {
        let upd = OrderUpdate {
            is_deleted: Some(true),
            ..OrderUpdate::default()
        };
        self.update_order(who, id, &upd).await.map(|_| ())
    }

    /// `DELETE /v2/orders`: archives every order; how many were archived.
    pub async fn archive_all_orders(&self, store: &StoreRecord) -> ServiceResult<usize> {
        Ok(self.store.archive_all_orders(store.id, self.now()).await?)
    }

    /// An order's shipments, oldest first.
    pub async fn order_shipments(
        &self,
        store: &StoreRecord,
        order_id: i64,
    ) -> ServiceResult<(PlacedOrder, Vec<(Shipment, i64)>)> {
        let o = self.get_order(store, order_id).await?;
        let rows = self.store.shipments(store.id, order_id).await?;
        let mut out = Vec::new();
        for r in rows {
            let mut s = shipment_of(&r.doc)?;
            s.id = r.id;
            out.push((s, r.date_created));
        }
        Ok((o, out))
    }

    /// `POST /v2/orders/{id}/shipments`; returns the new shipment's id.
    pub async fn create_shipment(
        &self,
        store: &StoreRecord,
        order_id: i64,
        input: &ShipmentInput,
    ) -> ServiceResult<i64> {
        let Some(address_id) = input.order_address_id else {
            return Err(invalid(
                "order_address_id: say which shipping address the shipment goes to (see GET /v2/orders/{id}/shipping_addresses).".into(),
            ));
        };
        let Some(items) = &input.items else {
            return Err(invalid(
                "items: list the {order_product_id, quantity} the shipment contains.".into(),
            ));
        };
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, order_id).await?;
            let o = placed(order_id, &st)?;
            if let Some(why) = cannot_ship(st.status_id) {
                return Err(invalid(why));
            }
            if !o.shipping_addresses().iter().any(|a| a.id == address_id) {
                return Err(invalid(format!(
                    "order_address_id: order {order_id} has no shipping address {address_id}."
                )));
            }
            let products = o.products();
            let mut admin =
                ship(&products, &admin_of(&st.doc), address_id, items).map_err(invalid)?;
            let mut shipment = Shipment::default();
            input.apply(&mut shipment);
            shipment.items = items
                .iter()
                .map(|(op, q)| {
                    let pid = products
                        .iter()
                        .find(|p| p.id == *op)
                        .map(|p| p.product_id)
                        .unwrap_or(0);
                    (*op, pid, *q)
                })
                .collect();
            check_shipment_fields(&shipment).map_err(invalid)?;
            let mut c = self.change_from(order_id, &st);
            admin.date_shipped = c.now;
            c.doc = with_admin(&st.doc, &admin)?;
            c.new_status_id = status_after_shipping(&products, &admin.shipped, st.status_id);
            c.events.push(order_event("store/order/updated", order_id));
            if c.new_status_id != st.status_id {
                c.events
                    .push(status_event(order_id, st.status_id, c.new_status_id));
            }
            c.shipment = ShipmentWrite::Insert(
                serde_json::to_value(&shipment).map_err(crate::store::StoreError::from)?,
            );
            if let Some(id) = self.try_change(store, &c).await? {
                return id.ok_or(ServiceError::Conflict);
            }
        }
        Err(ServiceError::Conflict)
    }

    /// `PUT /v2/orders/{id}/shipments/{shipment_id}`: tracking and notes (items stay).
    pub async fn update_shipment(
        &self,
        store: &StoreRecord,
        order_id: i64,
        shipment_id: i64,
        input: &ShipmentInput,
    ) -> ServiceResult<()> {
        if input.items.is_some() {
            return Err(invalid(
                "items: a shipment's items cannot change; delete the shipment and create a new one.".into(),
            ));
        }
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, order_id).await?;
            let o = placed(order_id, &st)?;
            let rows = self.store.shipments(store.id, order_id).await?;
            let Some(row) = rows.iter().find(|r| r.id == shipment_id) else {
                return Err(ServiceError::NotFound(format!(
                    "Shipment {shipment_id} does not exist in order {order_id}."
                )));
            };
            let mut s = shipment_of(&row.doc)?;
            input.apply(&mut s);
            check_shipment_fields(&s).map_err(invalid)?;
            if let Some(a) = input.order_address_id {
                let ships_there = s.items.iter().all(|(op, _, _)| {
                    o.products()
                        .iter()
                        .any(|p| p.id == *op && p.ships_to.iter().any(|t| t.0 == a))
                });
                if !ships_there {
                    return Err(invalid(format!(
                        "order_address_id: the shipment's items do not ship to address {a}."
                    )));
                }
            }
            let mut c = self.change_from(order_id, &st);
            c.shipment = ShipmentWrite::Update(
                shipment_id,
                serde_json::to_value(&s).map_err(crate::store::StoreError::from)?,
            );
            if self.try_change(store, &c).await?.is_some() {
                return Ok(());
            }
        }
        Err(ServiceError::Conflict)
    }

    /// Deletes one shipment (`Some`) or all of an order's (`None`); what they shipped
    /// counts as unshipped again.
    pub async fn delete_shipments(
        &self,
        store: &StoreRecord,
        order_id: i64,
        shipment_id: Option<i64>,
    ) -> ServiceResult<()> {
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, order_id).await?;
            let rows = self.store.shipments(store.id, order_id).await?;
            let gone: Vec<_> = rows
                .iter()
                .filter(|r| shipment_id.is_none_or(|id| r.id == id))
                .collect();
            if gone.is_empty() {
                return match shipment_id {
                    Some(id) => Err(ServiceError::NotFound(format!(
                        "Shipment {id} does not exist in order {order_id}."
                    ))),
                    None => Ok(()),
                };
            }
            let mut admin = admin_of(&st.doc);
            let products = placed(order_id, &st)?.products();
            for r in &gone {
                let shipment = shipment_of(&r.doc)?;
                for (op, _, q) in shipment.items {
                    if let Some(p) = products.iter().find(|p| p.id == op) {
                        admin.count_shipped(p, shipment.order_address_id, -q);
                    }
                }
            }
            let mut c = self.change_from(order_id, &st);
            c.doc = with_admin(&st.doc, &admin)?;
            c.new_status_id = status_after_unshipping(&products, &admin.shipped, st.status_id);
            c.events.push(order_event("store/order/updated", order_id));
            if c.new_status_id != st.status_id {
                c.events
                    .push(status_event(order_id, st.status_id, c.new_status_id));
            }
            c.shipment = ShipmentWrite::Delete(gone.iter().map(|r| r.id).collect());
            if self.try_change(store, &c).await?.is_some() {
                return Ok(());
            }
        }
        Err(ServiceError::Conflict)
    }
}

/// One product of `POST /v2/orders`: a catalog product (with an optional price that
/// replaces the catalog's) or a custom product with its own name and price.
#[derive(Clone, Debug)]
pub enum NewOrderProduct {
    Catalog {
        product_id: i64,
        variant_id: Option<i64>,
        quantity: i64,
        price: Option<crate::domain::money::Money>,
        /// Variant options and modifiers (`product_options`).
        options: Vec<crate::domain::cart::OptionSelection>,
    },
    Custom {
        name: String,
        sku: String,
        quantity: i64,
        price: crate::domain::money::Money,
    },
}

/// A product of `POST /v2/orders`, or one added at `PUT`, with where it ships.
#[derive(Clone, Debug)]
pub struct NewOrderLine {
    pub product: NewOrderProduct,
    /// The order's shipping address it ships to (1, 2, … as
    /// `GET /v2/orders/{id}/shipping_addresses` numbers them); needed when the order
    /// has several, and ignored for digital products.
    pub order_address_id: Option<i64>,
}

/// `POST /v2/orders`.
#[derive(Clone, Debug, Default)]
pub struct NewAdminOrder {
    pub customer_id: i64,
    pub status_id: Option<i64>,
    pub products: Vec<NewOrderLine>,
    pub billing_address: Option<crate::domain::address::Address>,
    /// Where the physical products ship, each with an optional shipping option id of
    /// the store's zones (`"1-1"`) whose price applies there.
    pub shipping_addresses: Vec<(crate::domain::address::Address, Option<String>)>,
    pub customer_message: String,
    pub staff_notes: String,
    pub fees: Vec<OrderFeeInput>,
}

/// BigCommerce creates a V2 order Pending unless told otherwise.
pub const DEFAULT_NEW_ORDER_STATUS: i64 = 1;

impl Kassa {
    /// `POST /v2/orders`: an order made by the merchant, priced by the same engine as
    /// checkouts (catalog prices unless a price is given, the store's tax, shipping of
    /// the chosen zone option), placed by the same transaction as checkout orders: it
    /// takes stock unless it is created Incomplete, Cancelled or Declined (which hold
    /// nothing), and emits `store/order/created`. Returns the order id.
    pub async fn create_admin_order(
        &self,
        who: &crate::service::accounts::Principal,
        new: NewAdminOrder,
    ) -> ServiceResult<i64> {
        use crate::domain::address_rules::{AddressPurpose, normalize_and_validate};
        use crate::domain::cart::{Cart, NewCart};
        use crate::domain::checkout::{AddressRecord, ConsignmentItem};
        use crate::store::{NewOrder, OrderDoc, OrderSnapshot};
        use uuid::Uuid;

        let status_id = new.status_id.unwrap_or(DEFAULT_NEW_ORDER_STATUS);
        if crate::domain::order::status_name(status_id).is_empty() {
            return Err(invalid(format!(
                "status_id {status_id} is not an order status; use one of 0–14 (see GET /v2/order_statuses)."
            )));
        }
        if new.customer_id < 0 {
            return Err(invalid("customer_id cannot be negative.".into()));
        }
        if new.products.is_empty() {
            return Err(invalid(
                "products: list at least one product (product_id and quantity, or name, quantity and price_ex_tax).".into(),
            ));
        }
        let Some(billing) = new.billing_address.clone() else {
            return Err(invalid(
                "billing_address: an order needs a billing address.".into(),
            ));
        };
        let billing = normalize_and_validate(billing, AddressPurpose::Billing, "billing_address.")?;
        let addresses = new.shipping_addresses.len();
        for (i, l) in new.products.iter().enumerate() {
            if let Some(a) = l.order_address_id
                && !(1..=addresses as i64).contains(&a)
            {
                return Err(invalid(format!(
                    "products[{i}].order_address_id: the order has {addresses} shipping address(es), numbered from 1 in the order of `shipping_addresses`; {a} is not one of them."
                )));
            }
        }
        let mut consignments = Vec::new();
        for (k, (address, option)) in new.shipping_addresses.iter().enumerate() {
            let address = normalize_and_validate(
                address.clone(),
                AddressPurpose::Shipping,
                &format!("shipping_addresses[{k}]."),
            )?;
            consignments.push(new_consignment(address, option.clone()));
        }
        // With several addresses each line is bound for its own, so one product sent to
        // two addresses is two order products.
        let place = |l: &NewOrderLine| -> Option<usize> {
            if addresses == 1 {
                Some(0)
            } else {
                l.order_address_id.map(|a| (a - 1) as usize)
            }
        };
        let lines: Vec<NewOrderProduct> = new.products.iter().map(|l| l.product.clone()).collect();
        let (line_items, custom_items) = item_specs(&lines, 0)?;
        // (position in `products`, address) of the catalog products, then of the custom
        // ones: the order `item_specs` lists them in.
        let placed_as = |custom: bool| -> Vec<(usize, Option<usize>)> {
            new.products
                .iter()
                .enumerate()
                .filter(|(_, l)| matches!(l.product, NewOrderProduct::Custom { .. }) == custom)
                .map(|(i, l)| (i, place(l)))
                .collect()
        };
        let (catalog, custom) = (placed_as(false), placed_as(true));
        let line_places: Vec<Option<String>> = catalog
            .iter()
            .map(|(_, k)| {
                k.filter(|_| addresses > 1)
                    .map(|k| consignments[k].id.clone())
            })
            .collect();
        let settings = &who.store.settings;
        let products = self
            .load_products(who, line_items.iter().map(|l| l.product_id))
            .await?;
        let now = self.now();
        let (mut cart, added) = Cart::create_bound(
            Uuid::new_v4(),
            NewCart {
                customer_id: new.customer_id,
                channel_id: 1,
                currency: settings.default_currency(),
                locale: settings.default_locale.clone(),
                tax_included: settings.prices_include_tax,
                line_items,
                custom_items,
                gift_certificates: Vec::new(),
            },
            &line_places,
            &products,
            now,
            Uuid::new_v4,
        )?;
        cart.email = billing.email.clone();
        cart.checkout.billing_address = Some(AddressRecord {
            id: Uuid::new_v4().to_string(),
            address: billing,
        });
        cart.checkout.customer_message = new.customer_message.clone();
        let mut fees = Vec::new();
        for (i, f) in new.fees.iter().enumerate() {
            let field = format!("fees[{i}]");
            if f.id.is_some() {
                return Err(invalid(format!(
                    "{field}.id: a new order's fees get their ids; leave `id` out."
                )));
            }
            fees.push(fee_spec(f, settings.prices_include_tax, &field).map_err(invalid)?);
        }
        cart.add_fees(&fees)?;
        let shipped = shipped_items(&cart);
        if consignments.is_empty() && !shipped.is_empty() {
            return Err(invalid(
                "shipping_addresses: the order has physical products; say where they ship.".into(),
            ));
        }
        // Each shipped unit goes to its product's address.
        let landed = catalog
            .iter()
            .zip(&added.lines)
            .chain(custom.iter().zip(&added.custom_items));
        for ((i, k), item) in landed {
            let Some(s) = shipped.iter().find(|s| s.item_id == *item) else {
                continue; // digital: nothing ships
            };
            let Some(k) = k else {
                return Err(invalid(format!(
                    "products[{i}].order_address_id: the order ships to {addresses} addresses; say which one (1–{addresses}) this product goes to."
                )));
            };
            let items = &mut consignments[*k].items;
            if !items.iter().any(|it: &ConsignmentItem| it.item_id == *item) {
                items.push(s.clone());
            }
        }
        if let Some(k) = consignments.iter().position(|c| c.items.is_empty())
            && !shipped.is_empty()
        {
            return Err(invalid(format!(
                "shipping_addresses[{k}]: no product ships there; give the products for it `order_address_id` {}.",
                k + 1
            )));
        }
        cart.checkout.consignments = consignments;
        self.price_cart(who, &mut cart).await?;
        check_shipping_options(&cart)?;
        let holds = !matches!(status_id, 0 | 5 | 6);
        let stock = if holds { stock_of(&cart) } else { Vec::new() };
        let admin = OrderAdmin {
            staff_notes: new.staff_notes.clone(),
            products_per_address: true,
            ..OrderAdmin::default()
        };
        let doc = OrderDoc::of(&OrderSnapshot {
            status_id,
            date_created: now,
            cart: &cart,
            admin: Some(&admin),
        })?;
        let order = NewOrder {
            cart_id: cart.id.to_string(),
            status_id,
            customer_id: cart.customer_id,
            currency_code: cart.currency.code.clone(),
            total_inc_tax_e4: cart.checkout.totals.grand_total.to_e4(),
            now,
            claims: Vec::new(),
            gift_certificates: Vec::new(),
            store_credit_e4: 0,
            stock,
            reserved_until: 0,
            doc,
            idempotency: None,
            save_addresses: Vec::new(),
            listeners: self.listeners(who.store.id).await,
        };
        match self.store.place_order(who.store.id, &order).await {
            Ok(id) => Ok(id),
            Err(PlaceOrderError::Refused(why) | PlaceOrderError::OutOfStock(why)) => {
                Err(invalid(why))
            }
            Err(PlaceOrderError::Store(e)) => Err(e.into()),
        }
    }
}

/// V2 shipping-address fields a merchant may correct after the order, and the
/// address field each is kept in. Country, state and postal code are left out: they
/// decide tax and shipping, which the order was priced with.
pub const EDITABLE_ADDRESS_FIELDS: [(&str, &str); 8] = [
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company", "company"),
    ("street_1", "address1"),
    ("street_2", "address2"),
    ("city", "city"),
    ("phone", "phone"),
    ("email", "email"),
];

impl Kassa {
    /// `PUT /v2/orders/{id}/shipping_addresses/{address_id}`: corrects the contact and
    /// street fields of one shipping address; `fields` are V2 names with new values.
    pub async fn update_order_shipping_address(
        &self,
        store: &StoreRecord,
        order_id: i64,
        address_id: i64,
        fields: &[(String, String)],
    ) -> ServiceResult<PlacedOrder> {
        for _ in 0..ATTEMPTS {
            let st = self.order_state(store, order_id).await?;
            let idx = usize::try_from(address_id - 1).ok();
            let mut doc = st.doc.clone();
            let Some(addr) = idx
                .and_then(|i| {
                    doc.pointer_mut(&format!("/cart/checkout/consignments/{i}/address/address"))
                })
                .and_then(Value::as_object_mut)
            else {
                return Err(ServiceError::NotFound(format!(
                    "Shipping address {address_id} does not exist in order {order_id}."
                )));
            };
            let mut changed = false;
            for (name, value) in fields {
                let Some((_, key)) = EDITABLE_ADDRESS_FIELDS.iter().find(|(n, _)| n == name) else {
                    return Err(invalid(format!(
                        "`{name}` cannot be changed on an order's shipping address; Kassa changes {}.",
                        EDITABLE_ADDRESS_FIELDS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                if addr.get(*key).and_then(Value::as_str) != Some(value.as_str()) {
                    addr.insert((*key).to_string(), Value::from(value.clone()));
                    changed = true;
                }
            }
            if !changed {
                return placed(order_id, &st);
            }
            let mut c = self.change_from(order_id, &st);
            c.doc = doc;
            c.events.push(order_event("store/order/updated", order_id));
            if self.try_change(store, &c).await?.is_some() {
                return self.get_order(store, order_id).await;
            }
        }
        Err(ServiceError::Conflict)
    }
}
