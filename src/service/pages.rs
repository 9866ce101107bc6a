//! Use cases behind Kassa's hosted cart and checkout pages: a shopper arrives with a
//! single-use redirect link, which signs them into the cart's storefront session; the
//! pages then know the shopper by that session alone and act on the cart the link named.

use super::accounts::Principal;
use super::payments::{Payment, PaymentInstrument};
use super::storefront::ShopperSession;
use super::{Kassa, ServiceError, ServiceResult, hash_secret};
use crate::domain::payment::CardInput;
use crate::domain::scope::{Scope, Scopes};
use crate::domain::{DomainError, order::PlacedOrder};
use crate::store::records::StoreRecord;
use uuid::Uuid;

/// How long the order confirmation cookie (the receipt) lasts.
pub const PAGE_SESSION_SECS: i64 = 24 * 3600;

/// What a redirect link opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Cart,
    Checkout,
    EmbeddedCheckout,
}

impl PageKind {
    fn token_kind(self) -> &'static str {
        match self {
            PageKind::Cart => "cart",
            PageKind::Checkout => "checkout",
            PageKind::EmbeddedCheckout => "embedded_checkout",
        }
    }
}

/// A shopper on the hosted pages: the store, and the one cart their link opened.
#[derive(Clone, Debug)]
pub struct PageShopper {
    pub who: Principal,
    pub cart_id: Uuid,
    pub embedded: bool,
}

/// A shopper may do to their own cart what a storefront may, nothing of the store's.
fn shopper_principal(store: StoreRecord) -> Principal {
    Principal {
        store: std::sync::Arc::new(store),
        scopes: Scopes::new(vec![
            Scope::Cart,
            Scope::Checkouts,
            Scope::PaymentsAccessTokenCreate,
        ]),
        client_id: Default::default(),
    }
}

fn link_refused() -> ServiceError {
    ServiceError::NotFound(
        "This link has expired or was already used. Ask the shop for a new cart or checkout link."
            .into(),
    )
}

impl Kassa {
    /// Uses a redirect link once, signs the shopper into the cart's storefront session
    /// (the one behind `session_token`, or a new one) and makes the cart the one that
    /// session's hosted pages show. Returns the shopper and the session's token (to set
    /// as the storefront cookie). The link cannot be replayed.
    pub async fn open_page_link(
        &self,
        store_hash: &str,
        kind: PageKind,
        cart_id: Uuid,
        token: &str,
        session_token: Option<&str>,
    ) -> ServiceResult<(PageShopper, String)> {
        let store = self
            .find_store(store_hash)
            .await
            .map_err(|_| link_refused())?;
        let (store_id, cart) = self
            .store
            .redeem_redirect_token(&hash_secret(token.trim()), kind.token_kind(), self.now())
            .await?
            .ok_or_else(link_refused)?;
        if store_id != store.id || cart != cart_id {
            return Err(link_refused());
        }
        let embedded = kind == PageKind::EmbeddedCheckout;
        let (session_token, session) = self
            .attach_cart_to_shopper(&store, session_token, cart_id)
            .await?;
        self.store
            .set_page_cart(store.id, session.id, cart_id, embedded)
            .await?;
        Ok((
            PageShopper {
                who: shopper_principal(store),
                cart_id,
                embedded,
            },
            session_token,
        ))
    }

    /// The hosted-page shopper behind this storefront session token: the cart its last
    /// opened link named, while the session still owns it.
    pub async fn page_session(
        &self,
        store_hash: &str,
        session_token: &str,
    ) -> ServiceResult<Option<PageShopper>> {
        let store = match self.find_store(store_hash).await {
            Ok(s) => s,
            Err(ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(session) = self.shopper_session(&store, session_token).await? else {
            return Ok(None);
        };
        let Some((cart_id, embedded)) = self.store.page_cart(store.id, session.id).await? else {
            return Ok(None);
        };
        match self
            .ensure_shoppers_cart(&store, Some(&session), cart_id)
            .await
        {
            Ok(()) => {}
            Err(ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        Ok(Some(PageShopper {
            who: shopper_principal(store),
            cart_id,
            embedded,
        }))
    }

    /// Whether this storefront session's hosted pages are the embedded checkout (so its
    /// cookies must reach a frame on another site). A failed read answers no: the
    /// cookies are then `Lax`, as for any other page.
    pub async fn session_is_embedded(&self, session: &ShopperSession) -> bool {
        matches!(
            self.store.page_cart(session.store_id, session.id).await,
            Ok(Some((_, true)))
        )
    }

    /// Places the order for the shopper's checkout and pays it in full by card with
    /// the store's gateway. Returns the order id and the payment access token, which
    /// the confirmation page accepts as the shopper's receipt.
    pub async fn place_and_pay_by_card(
        &self,
        shopper: &PageShopper,
        card: CardInput,
    ) -> ServiceResult<(i64, String, Payment)> {
        let order_id = self
            .create_order(&shopper.who, shopper.cart_id, None)
            .await?;
        let pat = self.create_payment_token(&shopper.who, order_id).await?;
        let payment = self
            .process_payment(
                &shopper.who.store.hash,
                &pat,
                crate::domain::payment::TEST_CARD_METHOD,
                &PaymentInstrument::Card { card, save: false },
            )
            .await?;
        Ok((order_id, pat, payment))
    }

    /// The order a receipt (the payment access token that paid it) stands for, for an
    /// hour after the payment.
    pub async fn page_receipt(
        &self,
        store_hash: &str,
        order_id: i64,
        receipt: &str,
    ) -> ServiceResult<PlacedOrder> {
        let refused = || ServiceError::NotFound(format!("Order {order_id} does not exist."));
        if receipt.is_empty() || receipt.len() > 128 {
            return Err(refused());
        }
        let store = self.find_store(store_hash).await?;
        let Some((store_id, paid_order, expires_at, used_at)) =
            self.store.payment_token(&hash_secret(receipt)).await?
        else {
            return Err(refused());
        };
        if store_id != store.id || paid_order != order_id || used_at.is_none() {
            return Err(refused());
        }
        if expires_at <= self.now() {
            return Err(DomainError::invalid(
                "This confirmation page has expired; your order email has the details.",
            )
            .into());
        }
        self.get_order(&store, order_id).await
    }

    /// The sites that may frame the store's embedded checkout and hear that its order
    /// completed: the store's storefront origins. Anything that is not a plain
    /// `scheme://host[:port]` is left out, so a setting can never widen the page's CSP.
    pub fn embed_origins(&self, store: &StoreRecord) -> Vec<String> {
        store
            .settings
            .storefront_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| plain_origin(o))
            .collect()
    }
}

fn plain_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}
