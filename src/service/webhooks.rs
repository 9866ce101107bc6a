//! Webhook subscriptions (`/v3/hooks`), the "is anyone listening" check that lets
//! writes skip events nobody subscribed to, and the cart events.

use super::accounts::Principal;
use super::{Kassa, ServiceError, ServiceResult};
use crate::domain::DomainError;
use crate::domain::cart::Cart;
use crate::domain::scope::Scope;
use crate::domain::webhook::{
    PRIVATE_REFUSED, forbidden_destination_address, host_ip, validate_destination, validate_header,
    validate_scope,
};
use crate::store::webhooks::{WebhookFilter, WebhookRecord};
use crate::store::{Listeners, OutboxEvent};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a node trusts its copy of a store's subscribed scopes. Changes made on this
/// node are seen at once; changes made on another node within this time (BigCommerce
/// itself says a new hook can take up to a minute to start firing).
const HOOK_CACHE_TTL: Duration = Duration::from_secs(5);

/// The scopes of a store's active hooks.
type HookScopes = Arc<[String]>;

/// Per store: the scopes of its active hooks, and when they were read.
#[derive(Debug, Default)]
pub struct HookCache {
    entries: Mutex<HashMap<i64, (Instant, HookScopes)>>,
}

impl HookCache {
    fn get(&self, store_id: i64) -> Option<HookScopes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&store_id)
            .filter(|(at, _)| at.elapsed() < HOOK_CACHE_TTL)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, store_id: i64, scopes: HookScopes) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(store_id, (Instant::now(), scopes));
        }
    }

    pub fn forget(&self, store_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&store_id);
        }
    }
}

/// A new subscription, or the fields of one to change (`None` = unchanged).
#[derive(Clone, Debug, Default)]
pub struct HookInput {
    pub scope: Option<String>,
    pub destination: Option<String>,
    pub is_active: Option<bool>,
    /// `Some(None)`: remove the custom headers.
    pub headers: Option<Option<BTreeMap<String, String>>>,
}

fn check_input(input: &HookInput) -> ServiceResult<()> {
    if let Some(scope) = &input.scope {
        validate_scope(scope).map_err(|m| DomainError::field("scope", m))?;
    }
    if let Some(destination) = &input.destination {
        validate_destination(destination).map_err(|m| DomainError::field("destination", m))?;
    }
    if let Some(Some(headers)) = &input.headers {
        for (k, v) in headers {
            validate_header(k, v).map_err(|m| DomainError::field("headers", m))?;
        }
    }
    Ok(())
}

/// How long saving a hook waits for its destination's host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether webhooks could be delivered to `destination` (already checked by
/// [`validate_destination`]): unless private destinations are allowed, its host must be
/// a public IP address or a name that resolves to at least one public address, the same
/// rule the dispatcher applies when it delivers (`forbidden_destination_address`).
/// With private destinations allowed nothing is looked up: the operator trusts the
/// network the hooks point into.
async fn check_destination_address(destination: &str, allow_private: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(destination)
        .map_err(|e| format!("destination `{destination}` is not a valid URL ({e})."))?;
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("destination `{destination}` names no host."));
    };
    if allow_private {
        return Ok(());
    }
    if let Some(ip) = host_ip(host) {
        return if forbidden_destination_address(ip) {
            Err(format!(
                "destination `{destination}`: `{ip}` {PRIVATE_REFUSED}."
            ))
        } else {
            Ok(())
        };
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let unresolved = |why: String| {
        format!(
            "destination `{destination}`: the host name `{host}` does not resolve ({why}); use a host name with a public DNS record."
        )
    };
    let addresses: Vec<std::net::IpAddr> =
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
            Ok(Err(e)) => return Err(unresolved(e.to_string())),
            Err(_) => {
                return Err(unresolved(format!(
                    "no answer within {} seconds",
                    RESOLVE_TIMEOUT.as_secs()
                )));
            }
        };
    if addresses.is_empty() {
        return Err(unresolved("no addresses".into()));
    }
    if addresses
        .iter()
        .all(|ip| forbidden_destination_address(*ip))
    {
        let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        return Err(format!(
            "destination `{destination}`: `{host}` resolves only to {}, and each {PRIVATE_REFUSED}.",
            list.join(", ")
        ));
    }
    Ok(())
}

fn hook_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("Webhook {id} does not exist."))
}

impl Kassa {
    /// What the store's active hooks subscribe to. When they cannot be read the answer is
    /// everything: writing an unneeded event is harmless.
    pub async fn listeners(&self, store_id: i64) -> Listeners {
        if let Some(scopes) = self.hook_cache.get(store_id) {
            return Listeners::Scopes(scopes);
        }
        match self.store.active_webhook_scopes(store_id).await {
            Ok(scopes) => {
                let scopes: HookScopes = scopes.into();
                self.hook_cache.put(store_id, scopes.clone());
                Listeners::Scopes(scopes)
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading webhook scopes failed; recording the event anyway");
                Listeners::All
            }
        }
    }

    /// `events` without those no hook of the store listens to.
    pub async fn wanted(&self, store_id: i64, events: Vec<OutboxEvent>) -> Vec<OutboxEvent> {
        self.listeners(store_id).await.keep_wanted(events)
    }

    /// The events of a cart change (`cart_events`) that a hook of the store listens to.
    /// Comparing the lines of a big cart is work on every change, so it is skipped when
    /// no hook listens to carts at all.
    pub async fn wanted_cart_events(
        &self,
        store_id: i64,
        before: Option<&Cart>,
        after: Option<&Cart>,
    ) -> Vec<OutboxEvent> {
        let listeners = self.listeners(store_id).await;
        if !CART_CHANGE_SCOPES.iter().any(|s| listeners.wants(s)) {
            return Vec::new();
        }
        listeners.keep_wanted(cart_events(before, after))
    }

    /// A destination refused when saved, as deliveries to it would be refused.
    async fn check_destination(&self, destination: &str) -> ServiceResult<()> {
        check_destination_address(destination, self.webhook_private_destinations)
            .await
            .map_err(|m| DomainError::field("destination", m).into())
    }

    pub async fn create_hook(
        &self,
        who: &Principal,
        input: HookInput,
    ) -> ServiceResult<WebhookRecord> {
        require_hooks_write(who)?;
        let scope = input.scope.clone().ok_or_else(|| {
            DomainError::field("scope", "scope is required, e.g. store/order/created.")
        })?;
        let destination = input.destination.clone().ok_or_else(|| {
            DomainError::field(
                "destination",
                "destination is required: the URL events are POSTed to.",
            )
        })?;
        check_input(&input)?;
        self.check_destination(&destination).await?;
        let now = self.now();
        let mut hook = WebhookRecord {
            id: 0,
            store_id: who.store.id,
            client_id: who.client_id.to_string(),
            scope,
            destination,
            headers: input.headers.flatten(),
            is_active: input.is_active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        hook.id = self.store.insert_webhook(&hook).await?;
        self.hook_cache.forget(who.store.id);
        Ok(hook)
    }

    pub async fn get_hook(&self, who: &Principal, id: i64) -> ServiceResult<WebhookRecord> {
        require_hooks_read(who)?;
        self.store
            .get_webhook(who.store.id, id)
            .await?
            .ok_or_else(|| hook_not_found(id))
    }

    pub async fn list_hooks(
        &self,
        who: &Principal,
        filter: &WebhookFilter,
        page: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<WebhookRecord>, i64)> {
        require_hooks_read(who)?;
        Ok(self
            .store
            .list_webhooks(who.store.id, filter, limit, (page - 1) * limit)
            .await?)
    }

    pub async fn update_hook(
        &self,
        who: &Principal,
        id: i64,
        input: HookInput,
    ) -> ServiceResult<WebhookRecord> {
        require_hooks_write(who)?;
        if input.scope.is_none()
            && input.destination.is_none()
            && input.is_active.is_none()
            && input.headers.is_none()
        {
            return Err(DomainError::field(
                "scope",
                "Send at least one of scope, destination, is_active or headers.",
            )
            .into());
        }
        check_input(&input)?;
        if let Some(d) = &input.destination {
            self.check_destination(d).await?;
        }
        let mut hook = self.get_hook(who, id).await?;
        if let Some(s) = input.scope {
            hook.scope = s;
        }
        if let Some(d) = input.destination {
            hook.destination = d;
        }
        if let Some(a) = input.is_active {
            hook.is_active = a;
        }
        if let Some(h) = input.headers {
            hook.headers = h;
        }
        hook.updated_at = self.now();
        if !self.store.update_webhook(&hook).await? {
            return Err(hook_not_found(id));
        }
        self.hook_cache.forget(who.store.id);
        Ok(hook)
    }

    pub async fn delete_hook(&self, who: &Principal, id: i64) -> ServiceResult<WebhookRecord> {
        require_hooks_write(who)?;
        let hook = self.get_hook(who, id).await?;
        if !self.store.delete_webhook(who.store.id, id).await? {
            return Err(hook_not_found(id));
        }
        self.hook_cache.forget(who.store.id);
        Ok(hook)
    }

    pub async fn hook_emails(&self, who: &Principal) -> ServiceResult<Vec<String>> {
        require_hooks_read(who)?;
        Ok(self.store.webhook_emails(who.store.id).await?)
    }

    pub async fn set_hook_emails(&self, who: &Principal, emails: Vec<String>) -> ServiceResult<()> {
        require_hooks_write(who)?;
        for e in &emails {
            let ok = e.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !e.contains(char::is_whitespace)
            });
            if !ok {
                return Err(DomainError::field(
                    "emails",
                    format!("`{e}` is not an email address."),
                )
                .into());
            }
        }
        self.store.set_webhook_emails(who.store.id, &emails).await?;
        Ok(())
    }

    /// Deletes a cart whose order was paid, recording `store/cart/converted` with the
    /// order's id in the same transaction. False when the cart was already gone.
    /// `store/cart/converted` for a paid order's cart, if a hook wants it.
    pub(crate) async fn cart_converted(
        &self,
        store_id: i64,
        cart_id: Uuid,
        order_id: i64,
    ) -> Vec<OutboxEvent> {
        self.wanted(
            store_id,
            vec![OutboxEvent::new(
                "store/cart/converted",
                cart_id,
                json!({"type": "cart", "id": cart_id.to_string(), "orderId": order_id}),
            )],
        )
        .await
    }

    pub async fn delete_converted_cart(
        &self,
        store_id: i64,
        cart_id: Uuid,
        order_id: i64,
    ) -> ServiceResult<bool> {
        let events = self.cart_converted(store_id, cart_id, order_id).await;
        Ok(self
            .store
            .delete_cart_emitting(store_id, cart_id, None, self.now(), &events)
            .await?)
    }
}

/// The event of a cart deleted on request.
pub fn cart_deleted(cart_id: Uuid) -> OutboxEvent {
    OutboxEvent::new(
        "store/cart/deleted",
        cart_id,
        json!({"type": "cart", "id": cart_id.to_string()}),
    )
}

/// Every scope `cart_events` emits.
const CART_CHANGE_SCOPES: &[&str] = &[
    "store/cart/created",
    "store/cart/updated",
    "store/cart/deleted",
    "store/cart/lineItem/created",
    "store/cart/lineItem/updated",
    "store/cart/lineItem/deleted",
];

/// The events of a cart change, all about the cart (so they are delivered in order per
/// cart): `before` `None` is a creation, `after` `None` a deletion. Line items of every
/// kind (catalog, custom, gift certificate) are `cart_line_item`s.
pub fn cart_events(before: Option<&Cart>, after: Option<&Cart>) -> Vec<OutboxEvent> {
    let Some(cart_id) = after.or(before).map(|c| c.id) else {
        return Vec::new();
    };
    let cart = |scope: &str| {
        OutboxEvent::new(
            scope,
            cart_id,
            json!({"type": "cart", "id": cart_id.to_string()}),
        )
    };
    let item = |scope: &str, id: Uuid| {
        OutboxEvent::new(
            scope,
            cart_id,
            json!({"type": "cart_line_item", "id": id.to_string(), "cartId": cart_id.to_string()}),
        )
    };
    let items = |c: Option<&Cart>| -> BTreeMap<Uuid, i64> {
        let mut m = BTreeMap::new();
        if let Some(c) = c {
            m.extend(c.line_items.iter().map(|i| (i.id, i.quantity)));
            m.extend(c.custom_items.iter().map(|i| (i.id, i.quantity)));
            m.extend(c.gift_certificates.iter().map(|i| (i.id, i.quantity)));
        }
        m
    };
    let (old, new) = (items(before), items(after));
    let mut events = Vec::new();
    if before.is_none() {
        events.push(cart("store/cart/created"));
    }
    for (id, q) in &new {
        match old.get(id) {
            None => events.push(item("store/cart/lineItem/created", *id)),
            Some(p) if p != q => events.push(item("store/cart/lineItem/updated", *id)),
            Some(_) => {}
        }
    }
    for id in old.keys().filter(|id| !new.contains_key(id)) {
        events.push(item("store/cart/lineItem/deleted", *id));
    }
    // BigCommerce fires `updated` with a creation, and when the last item goes.
    if after.is_some() || !old.is_empty() {
        events.push(cart("store/cart/updated"));
    }
    if after.is_none() {
        events.push(cart("store/cart/deleted"));
    }
    events
}

/// Webhooks carry every resource's events, so Kassa guards them with the store-wide
/// Information & Settings scope: its read-only twin to read, the modify scope to write.
/// (BigCommerce also accepts the subscribed resource's scope; one scope keeps the
/// check independent of the body, so it runs before the body is read.)
pub fn require_hooks_read(who: &Principal) -> ServiceResult<()> {
    who.require(Scope::V2InformationReadOnly)
}

pub fn require_hooks_write(who: &Principal) -> ServiceResult<()> {
    who.require(Scope::V2Information)
}
