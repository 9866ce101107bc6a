//! Cart use cases: create, read, change items, delete, redirect URLs.

use super::accounts::Principal;
use super::checkouts::{PricingKit, StoreRules};
use super::webhooks::cart_deleted;
use super::{Kassa, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::DomainError;
use crate::domain::cart::{
    Cart, CustomItemSpec, GiftCertificateSpec, ItemKind, LineItemChange, LineItemSpec, NewCart,
    Outcome, ProductsById,
};
use crate::domain::money::Money;
use crate::store::{CartToChange, CopyWrite, OutboxEvent};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How many times a change is retried when concurrent writers keep winning.
const MAX_ATTEMPTS: u32 = 200;

/// The wire-independent request to create a cart.
#[derive(Clone, Debug)]
pub struct CreateCart {
    pub customer_id: i64,
    pub channel_id: i64,
    pub currency_code: Option<String>,
    pub locale: Option<String>,
    pub line_items: Vec<LineItemSpec>,
    pub custom_items: Vec<CustomItemSpec>,
    pub gift_certificates: Vec<GiftCertificateSpec>,
}

/// A change to one item, by what kind of item it is.
#[derive(Clone, Debug)]
pub enum ItemUpdate {
    /// `line_item`: for a catalog line, fields left out keep their values; for a
    /// custom item only quantity and price apply.
    LineItem(LineItemChange),
    /// Quantity (and optionally price) of a custom item.
    Custom {
        quantity: i64,
        list_price: Option<Money>,
    },
    GiftCertificate(GiftCertificateSpec),
}

/// Whether a change puts more on the cart (refused where purchasing is switched off;
/// `adding` names the products it may bring) or only edits what is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose<'a> {
    Purchase { adding: &'a [i64] },
    Edit,
}

/// What a change produced: the saved cart, or nothing because it emptied and was deleted.
pub type Changed = Option<Cart>;

#[derive(Clone, Debug)]
pub struct RedirectUrls {
    pub cart_url: String,
    pub checkout_url: String,
    pub embedded_checkout_url: String,
}

/// Redirect tokens live as long as a cart can.
const REDIRECT_TOKEN_LIFETIME: i64 = crate::domain::cart::CART_LIFETIME_SECS;

impl Kassa {
    pub async fn create_cart(&self, who: &Principal, req: CreateCart) -> ServiceResult<Cart> {
        let settings = &who.store.settings;
        let currency = match &req.currency_code {
            Some(code) => settings.currency(code).ok_or_else(|| {
                DomainError::field(
                    "currency.code",
                    format!(
                        "Currency `{code}` is not one this store accepts ({}).",
                        settings
                            .currencies
                            .iter()
                            .map(|c| c.code.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
            None => settings.default_currency(),
        };
        let locale = match req.locale {
            Some(l) => {
                validate_locale(&l)?;
                l
            }
            None => settings.default_locale.clone(),
        };
        if req.customer_id < 0 {
            return Err(
                DomainError::field("customer_id", "customer_id cannot be negative.").into(),
            );
        }
        if req.channel_id < 1 {
            return Err(DomainError::field("channel_id", "channel_id must be 1 or more.").into());
        }
        let ids = distinct(req.line_items.iter().map(|l| l.product_id));
        let start = self
            .store
            .cart_start_reads(who.store.id, req.channel_id, &ids)
            .await?;
        super::cart_settings::check_purchasing(who, req.channel_id, start.channel_override)?;
        let products: ProductsById = start.products.into_iter().map(|p| (p.id, p)).collect();
        let cart = Cart::create(
            Uuid::new_v4(),
            NewCart {
                customer_id: req.customer_id,
                channel_id: req.channel_id,
                currency,
                locale,
                tax_included: settings.prices_include_tax,
                line_items: req.line_items,
                custom_items: req.custom_items,
                gift_certificates: req.gift_certificates,
            },
            &products,
            self.now(),
            Uuid::new_v4,
        )?;
        let mut cart = cart;
        let rules = self.store_rules_at(who, start.config_version).await?;
        self.pricing_kit_with(who, cart.customer_id, rules)
            .await?
            .price(&mut cart)?;
        let events = self
            .wanted_cart_events(who.store.id, None, Some(&cart))
            .await;
        self.store
            .insert_cart_emitting(who.store.id, &cart, &events)
            .await?;
        Ok(cart)
    }

    pub async fn get_cart(&self, who: &Principal, id: Uuid) -> ServiceResult<Cart> {
        self.store
            .get_cart(who.store.id, id, self.now())
            .await?
            .ok_or_else(|| cart_not_found(id))
    }

    pub async fn update_cart_customer(
        &self,
        who: &Principal,
        id: Uuid,
        customer_id: i64,
        version: Option<i64>,
    ) -> ServiceResult<Cart> {
        if customer_id < 0 {
            return Err(
                DomainError::field("customer_id", "customer_id cannot be negative.").into(),
            );
        }
        let changed = self
            .change_cart(who, id, version, Purpose::Edit, |cart, _, _| {
                cart.customer_id = customer_id;
                Ok(Outcome::Kept)
            })
            .await?;
        changed.ok_or_else(|| cart_not_found(id))
    }

    /// Gives a storefront cart to a customer who signed in (or back to the guest, 0):
    /// its prices follow the customer, and store credit applied for anyone else goes.
    pub async fn set_shopper_cart_customer(
        &self,
        who: &Principal,
        id: Uuid,
        customer_id: i64,
    ) -> ServiceResult<()> {
        let changed = self
            .change_cart(who, id, None, Purpose::Edit, |cart, _, _| {
                if cart.customer_id != customer_id {
                    cart.customer_id = customer_id;
                    cart.checkout.store_credit = None;
                }
                Ok(Outcome::Kept)
            })
            .await?;
        changed.map(|_| ()).ok_or_else(|| cart_not_found(id))
    }

    pub async fn add_cart_items(
        &self,
        who: &Principal,
        id: Uuid,
        version: Option<i64>,
        line_items: Vec<LineItemSpec>,
        custom_items: Vec<CustomItemSpec>,
        gift_certificates: Vec<GiftCertificateSpec>,
    ) -> ServiceResult<Cart> {
        if line_items.is_empty() && custom_items.is_empty() && gift_certificates.is_empty() {
            return Err(DomainError::field(
                "line_items",
                "Send at least one line item, custom item or gift certificate to add.",
            )
            .into());
        }
        let ids: Vec<i64> = line_items.iter().map(|l| l.product_id).collect();
        let changed = self
            .change_cart(
                who,
                id,
                version,
                Purpose::Purchase { adding: &ids },
                |cart, products, _| {
                    cart.add_items(
                        &line_items,
                        &custom_items,
                        &gift_certificates,
                        products,
                        &mut Uuid::new_v4,
                    )?;
                    Ok(Outcome::Kept)
                },
            )
            .await?;
        changed.ok_or_else(|| cart_not_found(id))
    }

    pub async fn update_cart_item(
        &self,
        who: &Principal,
        id: Uuid,
        item_id: Uuid,
        version: Option<i64>,
        update: ItemUpdate,
    ) -> ServiceResult<Changed> {
        let ids: Vec<i64> = match &update {
            ItemUpdate::LineItem(change) => change.product_id.into_iter().collect(),
            _ => Vec::new(),
        };
        self.change_cart(
            who,
            id,
            version,
            Purpose::Purchase { adding: &ids },
            |cart, products, _| {
                let kind = cart.item_kind(item_id).ok_or_else(|| {
                    DomainError::not_found(format!(
                        "Line item {item_id} does not exist on this cart."
                    ))
                })?;
                match (kind, &update) {
                    (ItemKind::Product, ItemUpdate::LineItem(change)) => {
                        cart.update_line_item(item_id, change, products)
                    }
                    (
                        ItemKind::Custom,
                        ItemUpdate::Custom {
                            quantity,
                            list_price,
                        },
                    ) => cart.update_custom_item(item_id, *quantity, *list_price),
                    (ItemKind::Custom, ItemUpdate::LineItem(change)) => {
                        cart.update_custom_item(item_id, change.quantity, change.list_price)
                    }
                    (ItemKind::GiftCertificate, ItemUpdate::GiftCertificate(spec)) => {
                        cart.update_gift_certificate(item_id, spec)
                    }
                    (ItemKind::GiftCertificate, _) => Err(DomainError::field(
                        "gift_certificate",
                        "This item is a gift certificate: send `gift_certificate` to change it.",
                    )),
                    (_, _) => Err(DomainError::field(
                        "line_item",
                        "This item is not a gift certificate: send `line_item` to change it.",
                    )),
                }
            },
        )
        .await
    }

    pub async fn delete_cart_item(
        &self,
        who: &Principal,
        id: Uuid,
        item_id: Uuid,
        version: Option<i64>,
    ) -> ServiceResult<Changed> {
        self.change_cart(who, id, version, Purpose::Edit, |cart, _, _| {
            cart.remove_item(item_id)
        })
        .await
    }

    pub async fn delete_cart(&self, who: &Principal, id: Uuid) -> ServiceResult<()> {
        // A cart past its expiry is gone for the API even if its row lingers.
        self.get_cart(who, id).await?;
        let events = self.wanted(who.store.id, vec![cart_deleted(id)]).await;
        if self
            .store
            .delete_cart_emitting(who.store.id, id, None, self.now(), &events)
            .await?
        {
            Ok(())
        } else {
            Err(cart_not_found(id))
        }
    }

    /// Switches a cart to another of the store's currencies (storefront "currency change").
    pub async fn change_cart_currency(
        &self,
        who: &Principal,
        id: Uuid,
        code: &str,
    ) -> ServiceResult<Cart> {
        let settings = &who.store.settings;
        let currency = settings.currency(code).ok_or_else(|| {
            ServiceError::NotFound(format!(
                "Currency `{code}` is not one this store accepts ({}).",
                settings
                    .currencies
                    .iter()
                    .map(|c| c.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let changed = self
            .change_cart(who, id, None, Purpose::Edit, |cart, products, _| {
                cart.change_currency(currency.clone(), products)?;
                Ok(Outcome::Kept)
            })
            .await?;
        changed.ok_or_else(|| cart_not_found(id))
    }

    /// Issues fresh single-use URLs that open this cart on Kassa's own pages.
    pub async fn create_redirect_urls(
        &self,
        who: &Principal,
        id: Uuid,
        query_params: &[(String, String)],
    ) -> ServiceResult<RedirectUrls> {
        self.get_cart(who, id).await?;
        let expires = self.now() + REDIRECT_TOKEN_LIFETIME;
        let base = self.public_url.trim_end_matches('/');
        let extra: String = query_params
            .iter()
            .map(|(k, v)| format!("&{}={}", url_escape(k), url_escape(v)))
            .collect();
        let mut urls = Vec::with_capacity(3);
        for kind in ["cart", "checkout", "embedded_checkout"] {
            let token = random_secret();
            self.store
                .insert_redirect_token(who.store.id, id, kind, &hash_secret(&token), expires)
                .await?;
            let action = match kind {
                "cart" => "load",
                _ => "loadInCheckout",
            };
            let embedded = if kind == "embedded_checkout" {
                "embedded=1&"
            } else {
                ""
            };
            urls.push(format!(
                "{base}/stores/{}/cart.php?{embedded}action={action}&id={id}&token={token}{extra}",
                who.store.hash
            ));
        }
        let mut it = urls.into_iter();
        Ok(RedirectUrls {
            cart_url: it.next().unwrap_or_default(),
            checkout_url: it.next().unwrap_or_default(),
            embedded_checkout_url: it.next().unwrap_or_default(),
        })
    }

    pub(crate) async fn load_products(
        &self,
        who: &Principal,
        ids: impl Iterator<Item = i64>,
    ) -> ServiceResult<ProductsById> {
        let products = self
            .store
            .get_products(who.store.id, &distinct(ids))
            .await?;
        Ok(products.into_iter().map(|p| (p.id, p)).collect())
    }

    /// Load, change in memory, save only if nobody else saved in between. When the
    /// caller sent a `version` a mismatch is a 409; otherwise the change is replayed
    /// on the newer cart so concurrent changes are never lost.
    pub(crate) async fn change_cart<F>(
        &self,
        who: &Principal,
        id: Uuid,
        expected_version: Option<i64>,
        purpose: Purpose<'_>,
        change: F,
    ) -> ServiceResult<Changed>
    where
        F: Fn(&mut Cart, &ProductsById, &PricingKit) -> Result<Outcome, DomainError>,
    {
        self.change_cart_checked(
            who,
            id,
            expected_version,
            purpose,
            |_, _| std::future::ready(Ok(())),
            change,
        )
        .await
    }

    /// `change_cart` with `check` run, with the customer and rules of each cart read,
    /// before it is changed: for refusals that need the database, such as a coupon's
    /// remaining uses.
    pub(crate) async fn change_cart_checked<C, K, F>(
        &self,
        who: &Principal,
        id: Uuid,
        expected_version: Option<i64>,
        purpose: Purpose<'_>,
        check: C,
        change: F,
    ) -> ServiceResult<Changed>
    where
        C: Fn(i64, Arc<StoreRules>) -> K,
        K: Future<Output = ServiceResult<()>>,
        F: Fn(&mut Cart, &ProductsById, &PricingKit) -> Result<Outcome, DomainError>,
    {
        let adding: &[i64] = match purpose {
            Purpose::Purchase { adding } => adding,
            Purpose::Edit => &[],
        };
        let store_id = who.store.id;
        // PostgreSQL: first from this node's copy, without reading; the write checks that
        // the copy was current. Any other outcome is decided again on the cart as read.
        let mut from_copy = self.store.cart_copy_to_change(store_id, id, adding);
        let mut in_hand: Option<CartToChange> = None;
        let mut purchasing_checked = purpose == Purpose::Edit;
        for attempt in 0..MAX_ATTEMPTS {
            let (read, assumed) = match (from_copy.take(), in_hand.take()) {
                (Some((read, assumed)), _) => (read, Some(assumed)),
                (None, Some(read)) => (read, None),
                (None, None) => (
                    self.store
                        .get_cart_to_change(store_id, id, self.now())
                        .await?
                        .ok_or_else(|| cart_not_found(id))?,
                    None,
                ),
            };
            let made = self
                .make_change(
                    who,
                    read,
                    expected_version,
                    &mut purchasing_checked,
                    adding,
                    &check,
                    &change,
                )
                .await;
            if let Some(assumed) = assumed {
                if let Ok(Made::Kept {
                    current,
                    cart,
                    events,
                }) = made
                {
                    let now = self.now();
                    match self
                        .store
                        .save_cart_if_current(store_id, &cart, current, &assumed, now, &events)
                        .await?
                    {
                        CopyWrite::Saved => return Ok(Some(*cart)),
                        CopyWrite::Refused(None) => return Err(cart_not_found(id)),
                        CopyWrite::Refused(Some(read)) => in_hand = Some(read),
                    }
                }
                continue;
            }
            match made? {
                Made::Emptied { current, events } => {
                    let now = self.now();
                    if self
                        .store
                        .delete_cart_emitting(store_id, id, Some(current.version), now, &events)
                        .await?
                    {
                        return Ok(None);
                    }
                }
                Made::Kept {
                    current,
                    cart,
                    events,
                } => {
                    if self
                        .store
                        .save_cart_emitting(store_id, &cart, current.version, &events)
                        .await?
                    {
                        return Ok(Some(*cart));
                    }
                }
            }
            if expected_version.is_some() {
                return Err(ServiceError::Conflict);
            }
            // Someone else won the race: back off a little, with jitter, and replay.
            self.metrics.count(crate::metrics::Event::CartWriteReplayed);
            let jitter = (rand::random::<u64>() % 5) + u64::from(attempt.min(20));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        Err(ServiceError::Conflict)
    }

    /// One attempt of a change, written nowhere: `check`, then `change` applied to the
    /// cart as `read` and priced, with the events it emits. A cart whose version is not
    /// the caller's `expected_version` is a conflict.
    #[allow(clippy::too_many_arguments)]
    async fn make_change<C, K, F>(
        &self,
        who: &Principal,
        read: CartToChange,
        expected_version: Option<i64>,
        purchasing_checked: &mut bool,
        adding: &[i64],
        check: &C,
        change: &F,
    ) -> ServiceResult<Made>
    where
        C: Fn(i64, Arc<StoreRules>) -> K,
        K: Future<Output = ServiceResult<()>>,
        F: Fn(&mut Cart, &ProductsById, &PricingKit) -> Result<Outcome, DomainError>,
    {
        let current = read.cart;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(ServiceError::Conflict);
        }
        if !*purchasing_checked {
            self.ensure_purchasing_allowed(who, current.channel_id)
                .await?;
            *purchasing_checked = true;
        }
        let rules = self.store_rules_at(who, read.config_version).await?;
        let kit = self
            .pricing_kit_with(who, current.customer_id, rules.clone())
            .await?;
        check(current.customer_id, rules.clone()).await?;
        let mut products = read.products;
        let unread: Vec<i64> = current
            .product_ids()
            .into_iter()
            .chain(adding.iter().copied())
            .filter(|p| !products.contains_key(p))
            .collect();
        if !unread.is_empty() {
            products.extend(self.load_products(who, unread.into_iter()).await?);
        }
        let mut cart = Cart::clone(&current);
        let store_id = who.store.id;
        Ok(match change(&mut cart, &products, &kit)? {
            Outcome::Emptied => {
                let events = self
                    .wanted_cart_events(store_id, Some(&current), None)
                    .await;
                Made::Emptied { current, events }
            }
            Outcome::Kept => {
                cart.touch(self.now());
                if cart.customer_id == current.customer_id {
                    kit.price(&mut cart)?;
                } else {
                    // Prices follow the customer the change gave the cart.
                    self.pricing_kit_with(who, cart.customer_id, rules)
                        .await?
                        .price(&mut cart)?;
                }
                let events = self
                    .wanted_cart_events(store_id, Some(&current), Some(&cart))
                    .await;
                Made::Kept {
                    current,
                    cart: Box::new(cart),
                    events,
                }
            }
        })
    }
}

/// A change made in memory, to write: the cart it changed (at the version it was read
/// at), and what it became.
enum Made {
    Emptied {
        current: Arc<Cart>,
        events: Vec<OutboxEvent>,
    },
    Kept {
        current: Arc<Cart>,
        cart: Box<Cart>,
        events: Vec<OutboxEvent>,
    },
}

/// Product ids once each, in order.
fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub fn cart_not_found(id: Uuid) -> ServiceError {
    ServiceError::NotFound(format!("Cart {id} does not exist."))
}

fn validate_locale(l: &str) -> Result<(), DomainError> {
    let ok = match l.split_once('-') {
        None => l.len() == 2 && l.chars().all(|c| c.is_ascii_alphabetic()),
        Some((lang, region)) => {
            lang.len() == 2
                && lang.chars().all(|c| c.is_ascii_alphabetic())
                && (2..=3).contains(&region.len())
                && region.chars().all(|c| c.is_ascii_alphanumeric())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "locale",
            format!("Locale `{l}` must look like `en` or `en-US`."),
        ))
    }
}

fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
