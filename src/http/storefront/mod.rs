//! The Storefront API (`/api/storefront/...`): what a shopper's browser calls, with
//! no API token.
//!
//! # Who is calling
//! - **Store**: the `Host` header (port ignored) is matched against each store's
//!   `storefront_domain`; with no match, a deployment with exactly one store serves
//!   that store; otherwise 404. See [`Kassa::storefront_store`](crate::service::Kassa::storefront_store).
//! - **Shopper**: the `SHOP_SESSION_TOKEN` cookie (`HttpOnly`, `SameSite=Lax`,
//!   `Path=/`, `Secure` when the request came over TLS: `X-Forwarded-Proto: https`
//!   or an `https` public URL). A session opened by an embedded checkout link gets
//!   `SameSite=None; Secure` over TLS instead, whenever its cookies are set (the link,
//!   a sign-in inside the frame, a refreshed CSRF cookie), so they reach the frame.
//!   It is an opaque random token stored only hashed.
//!   Sessions start lazily: the first write that needs one (creating a cart) starts
//!   it and the response sets the cookie. A shopper sees only its own carts,
//!   checkouts and orders; anything else is 404, never 403.
//!
//! # Using it from other storefront code
//! - Handlers take the [`Shopper`] extractor (store + session, if any) and call
//!   [`Shopper::session_or_start`] when they must own something; the cookies are set
//!   on the way out by [`guard`].
//! - Pages outside `/api/storefront` that should share the session (hosted cart and
//!   checkout) add their path prefix to [`SHOPPER_PATH_PREFIXES`], then use
//!   [`Shopper`] the same way, or call
//!   [`Kassa::attach_cart_to_shopper`](crate::service::Kassa::attach_cart_to_shopper)
//!   and hand the returned token to [`Shopper::adopt`] so the cookie is set.
//!
//! # CSRF (threat model)
//! The attacker is another site the shopper visits: it can make the browser send
//! requests to the storefront (forms, `fetch`) but cannot read responses or cookies
//! of our origin. Defences, in order:
//! 1. `SameSite=Lax` keeps the session cookie off cross-site subresource requests
//!    and form POSTs, and browsers refuse to *set* a Lax cookie from such responses.
//!    (An embedded checkout's session is `SameSite=None` over TLS: for it, points 2
//!    and 3 carry the defence.)
//! 2. Every write (POST/PUT/PATCH/DELETE) with an `Origin` header must come from
//!    the storefront's own origin or an allowed storefront origin (CORS list), else 403.
//! 3. Every write by a shopper that has a session must carry the header
//!    `X-XSRF-TOKEN` equal to the session's CSRF token, else 403. The token is
//!    derived from the session token, so it is bound to the session; it is handed to
//!    the page in the (script-readable) `XSRF-TOKEN` cookie on every response. This is
//!    the cookie/header pair BigCommerce's Checkout SDK already sends, so it works
//!    unchanged.
//! 4. A write with no session yet (the very first `POST /api/storefront/carts` of a
//!    new shopper) needs no token: there is nothing of the shopper's to change, and
//!    point 2 stops a foreign page from planting a session. Its response sets both
//!    cookies, so the next write carries the token.
//!
//! # Errors
//! Every error answer is rewritten into the storefront's shape (`{status, title, type,
//! detail?, errors: [...]}`), except bodies already typed for the Checkout SDK (a `type`
//! such as `cart_has_changed`). A request from the Checkout SDK (header
//! `X-Checkout-SDK-Version`) gets `{status, title, type, detail}` without the `errors`
//! list, the form the SDK shows as a message (see `sdk_error_response`).
//!
//! # CORS
//! Allowed origins are each store's `storefront_origins` setting plus
//! `KASSA_STOREFRONT_ORIGINS` (comma-separated). For those, responses carry
//! `Access-Control-Allow-Origin: <origin>` and `Access-Control-Allow-Credentials: true`,
//! and `OPTIONS` preflights answer 204; a preflight from any other origin is 403
//! without CORS headers.

pub mod carts;
pub mod checkouts;
pub mod orders;
pub mod sdk;
pub mod wire;

use super::AppState;
use super::error::{ApiError, ERROR_TYPE};
use crate::service::Kassa;
use crate::service::accounts::Principal;
use crate::service::storefront::{ShopperSession, csrf_token, shopper_principal};
use crate::store::StoreRecord;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use utoipa_axum::router::OpenApiRouter;

/// The session cookie.
pub const SESSION_COOKIE: &str = "SHOP_SESSION_TOKEN";
/// The cookie the page reads its CSRF token from (the Checkout SDK's name).
pub const XSRF_COOKIE: &str = "XSRF-TOKEN";
/// The header writes carry the CSRF token in (the Checkout SDK's name).
pub const XSRF_HEADER: &str = "x-xsrf-token";
/// Paths [`guard`] serves shoppers on: it resolves the store, the session, CSRF and CORS.
pub const SHOPPER_PATH_PREFIXES: &[&str] = &["/api/storefront/", "/internalapi/"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(carts::router())
        .merge(checkouts::router())
        .merge(orders::router())
        .merge(sdk::router())
}

/// What [`guard`] learned about the request, for [`Shopper`].
#[derive(Clone)]
struct ShopperCtx {
    store: StoreRecord,
    session: Option<ShopperSession>,
    client: String,
    /// A session minted while handling the request (its token to set as the cookie).
    issued: Arc<Mutex<Option<(String, ShopperSession)>>>,
}

/// The store and (if it has one) the session of the shopper making the request.
pub struct Shopper {
    pub store: StoreRecord,
    pub session: Option<ShopperSession>,
    /// The calling client's network address (see [`client_address`]), for limits per client.
    pub client: String,
    issued: Arc<Mutex<Option<(String, ShopperSession)>>>,
}

impl FromRequestParts<AppState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let ctx = parts
            .extensions
            .get::<ShopperCtx>()
            .cloned()
            .ok_or_else(|| ApiError::not_found("No storefront is served at this address."))?;
        Ok(Shopper {
            store: ctx.store,
            session: ctx.session,
            client: ctx.client,
            issued: ctx.issued,
        })
    }
}

impl Shopper {
    /// The identity the cart and checkout use cases run under.
    pub fn principal(&self) -> Principal {
        shopper_principal(&self.store)
    }

    /// The shopper's session, started now (cookie set on the response) if it has none.
    pub async fn session_or_start(&mut self, kassa: &Kassa) -> Result<ShopperSession, ApiError> {
        if let Some(s) = &self.session {
            return Ok(s.clone());
        }
        let (token, session) = kassa.start_shopper_session(&self.store).await?;
        self.adopt(token, session.clone());
        Ok(session)
    }

    /// Makes `token` the shopper's session from now on (its cookies are set on the
    /// response), e.g. after `attach_cart_to_shopper` started one.
    pub fn adopt(&mut self, token: String, session: ShopperSession) {
        if let Ok(mut slot) = self.issued.lock() {
            *slot = Some((token, session.clone()));
        }
        self.session = Some(session);
    }
}

/// The cookies of a request, by name (the first of duplicates wins).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `Set-Cookie` values for a session token: the session itself and its CSRF token, sent
/// also into frames on other sites when `framed` (the embedded checkout): browsers allow
/// that only for `SameSite=None; Secure`, so only over TLS. The CSRF token and origin
/// checks still guard every write.
pub fn session_cookies_for(token: &str, secure: bool, framed: bool) -> Vec<HeaderValue> {
    let max_age = crate::service::storefront::SESSION_LIFETIME_SECS;
    let attrs = cookie_attrs(secure, framed);
    [
        format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly{attrs}"),
        xsrf_cookie(token, secure, framed),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}

/// `SameSite` and `Secure` of every shopper cookie: `None; Secure` only for a frame on
/// another site over TLS (browsers refuse `None` without `Secure`), else `Lax`.
pub(crate) fn cookie_attrs(secure: bool, framed: bool) -> &'static str {
    match (secure, framed) {
        (true, true) => "; SameSite=None; Secure",
        (true, false) => "; SameSite=Lax; Secure",
        (false, _) => "; SameSite=Lax",
    }
}

fn xsrf_cookie(token: &str, secure: bool, framed: bool) -> String {
    // Readable by the page's script on purpose: that is how the token reaches the header.
    format!(
        "{XSRF_COOKIE}={}; Path=/{}",
        csrf_token(token),
        cookie_attrs(secure, framed)
    )
}

/// True when the request arrived over TLS (directly behind a proxy that says so, or
/// a deployment whose public URL is https).
pub(crate) fn is_tls(headers: &HeaderMap, kassa: &Kassa) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        || kassa.public_url.starts_with("https://")
}

/// The address of the client making the request: the connection's peer; when that peer
/// is a loopback or private address (a reverse proxy in front of Kassa) or unknown (the
/// router served without connection info), the address the proxy names last in
/// `X-Forwarded-For` (the one it saw connect; earlier entries are the client's own say).
/// A client connecting from a public address cannot choose its key.
pub fn client_address(req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let behind_proxy = peer.is_none_or(crate::domain::webhook::forbidden_destination_address);
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .and_then(crate::domain::webhook::host_ip);
    match (behind_proxy, forwarded, peer) {
        (true, Some(ip), _) => ip.to_string(),
        (_, _, Some(ip)) => ip.to_string(),
        _ => "unknown".into(),
    }
}

fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host.trim()))
}

fn allowed_origin(kassa: &Kassa, store: &StoreRecord, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    store
        .settings
        .storefront_origins
        .iter()
        .chain(kassa.storefront_origins.iter())
        .any(|o| o.eq_ignore_ascii_case(origin))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn forbidden(title: &str, for_sdk: bool) -> Response {
    if for_sdk {
        sdk_error_response(StatusCode::FORBIDDEN, title, "")
    } else {
        error_response(StatusCode::FORBIDDEN, title, "")
    }
}

/// One entry of the storefront error body's `errors` list: the same fields as the body.
#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StorefrontErrorItem {
    pub status: u16,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The fields at fault and why, when the request named any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The storefront's error body: BigCommerce's `{status, title, type}` with the
/// `errors` array the storefront specs document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StorefrontErrorBody {
    #[serde(flatten)]
    pub error: StorefrontErrorItem,
    pub errors: Vec<StorefrontErrorItem>,
}

/// The header BigCommerce's Checkout SDK sends with every request.
pub const SDK_VERSION_HEADER: &str = "x-checkout-sdk-version";

fn error_response(status: StatusCode, title: &str, detail: &str) -> Response {
    let error = StorefrontErrorItem {
        status: status.as_u16(),
        title: title.to_string(),
        kind: ERROR_TYPE,
        detail: (!detail.is_empty()).then(|| detail.to_string()),
    };
    let body = StorefrontErrorBody {
        errors: vec![error.clone()],
        error,
    };
    let mut res = super::wire::json_response(&body);
    *res.status_mut() = status;
    res
}

/// The storefront error for the Checkout SDK: `{status, title, type, detail}` with
/// `detail` always a string (the title, then `more` when there is more to say) and no
/// `errors` list (which the specs leave optional). The
/// SDK treats any body with an `errors` list as its internal API's, whose entries it
/// joins as strings (so a list of objects would read "[object Object]"); without one,
/// it reads the body as a storefront error and shows `detail`.
fn sdk_error_response(status: StatusCode, title: &str, more: &str) -> Response {
    let detail = if more.is_empty() {
        title.to_string()
    } else {
        format!("{title} {more}")
    };
    let body = StorefrontErrorItem {
        status: status.as_u16(),
        title: title.to_string(),
        kind: ERROR_TYPE,
        detail: Some(detail),
    };
    let mut res = super::wire::json_response(&body);
    *res.status_mut() = status;
    res
}

/// Rewrites any error answer (the v3 shape of [`ApiError`], axum's plain text) into
/// the storefront's, keeping its status, title and field messages; for the Checkout
/// SDK (`for_sdk`), in the form it reads (see [`sdk_error_response`]).
async fn storefront_error(res: Response, for_sdk: bool) -> Response {
    let status = res.status();
    let retry = res.headers().get(header::RETRY_AFTER).cloned();
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    // An answer typed for the Checkout SDK (its `type` a code such as `cart_has_changed`)
    // is already in the shape the SDK reads.
    if parsed
        .as_ref()
        .and_then(|v| v["type"].as_str())
        .is_some_and(|t| t != ERROR_TYPE)
    {
        let mut out = (status, bytes).into_response();
        out.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(r) = retry {
            out.headers_mut().insert(header::RETRY_AFTER, r);
        }
        return out;
    }
    let (title, detail) = match &parsed {
        Some(v) if v["title"].is_string() => (
            v["title"].as_str().unwrap_or_default().to_string(),
            v["errors"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
        ),
        _ => {
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let title = if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("The request was not accepted.")
                    .to_string()
            } else {
                text
            };
            (title, String::new())
        }
    };
    let mut out = if for_sdk {
        // What a person reads: the title, then field messages that say more than it.
        let more: Vec<String> = parsed
            .as_ref()
            .and_then(|v| v["errors"].as_object())
            .map(|m| {
                m.values()
                    .filter_map(|v| v.as_str())
                    .filter(|v| *v != title)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        sdk_error_response(status, &title, &more.join(" "))
    } else {
        error_response(status, &title, &detail)
    };
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}

fn cors_headers(res: &mut Response, origin: &str) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Whether [`guard`] looks after a path: those under [`SHOPPER_PATH_PREFIXES`].
pub fn is_shopper_path(path: &str) -> bool {
    SHOPPER_PATH_PREFIXES
        .iter()
        .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
}

/// The storefront's front door (see the module docs): store, session, CSRF, CORS,
/// cookies, and the storefront error shape, around `next`. Requests outside
/// [`SHOPPER_PATH_PREFIXES`] pass untouched.
pub async fn guard<F, Fut>(state: &AppState, mut req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if !is_shopper_path(req.uri().path()) {
        return next(req).await;
    }
    let kassa = &state.kassa;
    let headers = req.headers().clone();
    let for_sdk = headers.contains_key(SDK_VERSION_HEADER);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let store = match kassa.storefront_store(&host).await {
        Ok(s) => s,
        Err(e) => return storefront_error(ApiError::from(e).into_response(), for_sdk).await,
    };
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A cross-origin caller we trust gets CORS headers; the storefront's own pages need none.
    let cors = origin
        .as_deref()
        .filter(|o| !same_origin(o, &host) && allowed_origin(kassa, &store, o))
        .map(str::to_string);
    let origin_ok = origin
        .as_deref()
        .is_none_or(|o| same_origin(o, &host) || cors.is_some());

    if req.method() == Method::OPTIONS {
        let Some(o) = cors.as_deref().filter(|_| origin.is_some()) else {
            return forbidden(
                "This origin is not allowed to call this storefront's API.",
                for_sdk,
            );
        };
        let mut res = StatusCode::NO_CONTENT.into_response();
        cors_headers(&mut res, o);
        let h = res.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "Accept, Content-Type, X-XSRF-TOKEN, X-Requested-With, X-Checkout-SDK-Version, Idempotency-Key",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return res;
    }

    let token = cookie(&headers, SESSION_COOKIE).map(str::to_string);
    let session = match &token {
        Some(t) => match kassa.shopper_session(&store, t).await {
            Ok(s) => s,
            Err(e) => return storefront_error(ApiError::from(e).into_response(), for_sdk).await,
        },
        None => None,
    };
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if writes {
        if !origin_ok {
            return forbidden(
                "This origin is not allowed to change this storefront's carts.",
                for_sdk,
            );
        }
        if let (Some(_), Some(t)) = (&session, &token) {
            let sent = headers
                .get(XSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !constant_time_eq(sent.trim(), &csrf_token(t)) {
                return forbidden(
                    "Missing or invalid CSRF token: send the XSRF-TOKEN cookie's value in the X-XSRF-TOKEN header.",
                    for_sdk,
                );
            }
        }
    }
    let issued = Arc::new(Mutex::new(None));
    let client = client_address(&req);
    req.extensions_mut().insert(ShopperCtx {
        store,
        session: session.clone(),
        client,
        issued: issued.clone(),
    });
    let mut res = next(req).await;
    if res.status().is_client_error() || res.status().is_server_error() {
        res = storefront_error(res, for_sdk).await;
    }
    let secure = is_tls(&headers, kassa);
    let new_session = issued.lock().ok().and_then(|mut s| s.take());
    let refresh_xsrf = new_session.is_none()
        && session.is_some()
        && token
            .as_deref()
            .is_some_and(|t| cookie(&headers, XSRF_COOKIE) != Some(csrf_token(t).as_str()));
    // A session serving an embedded checkout keeps the frame's cookie attributes when
    // its cookies are set again: a sign-in inside the frame replaces the session, and
    // the hosted-page cart (embedded or not) moves with it, so the new one is asked.
    let framed = match (&new_session, &session) {
        (Some((_, s)), _) if secure => kassa.session_is_embedded(s).await,
        (None, Some(s)) if secure && refresh_xsrf => kassa.session_is_embedded(s).await,
        _ => false,
    };
    if let Some((t, _)) = &new_session {
        for c in session_cookies_for(t, secure, framed) {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    } else if refresh_xsrf
        && let Some(t) = &token
        && let Ok(v) = HeaderValue::from_str(&xsrf_cookie(t, secure, framed))
    {
        // Keep the page's copy of the CSRF token in step with its session.
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(o) = &cors {
        cors_headers(&mut res, o);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    fn request(peer: Option<&str>, forwarded: &[&str]) -> Request {
        let mut req = Request::new(axum::body::Body::empty());
        if let Some(p) = peer {
            let addr: SocketAddr = p.parse().expect("peer address");
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        for f in forwarded {
            req.headers_mut()
                .append("x-forwarded-for", HeaderValue::from_str(f).expect("header"));
        }
        req
    }

    #[test]
    fn the_client_is_the_peer_unless_a_local_proxy_names_it() {
        // A client on a public address cannot pick another key with the header.
        let direct = request(Some("198.51.100.7:5000"), &["203.0.113.9"]);
        assert_eq!(client_address(&direct), "198.51.100.7");
        // A proxy on loopback or a private network names the client it saw, last.
        let proxied = request(Some("127.0.0.1:5000"), &["1.2.3.4, 203.0.113.9"]);
        assert_eq!(client_address(&proxied), "203.0.113.9");
        let two_headers = request(Some("10.0.0.2:5000"), &["1.2.3.4", "203.0.113.10 "]);
        assert_eq!(client_address(&two_headers), "203.0.113.10");
        // Without the header, or with garbage in it, the peer itself.
        assert_eq!(
            client_address(&request(Some("127.0.0.1:1"), &[])),
            "127.0.0.1"
        );
        let junk = request(Some("[::1]:1"), &["not-an-address"]);
        assert_eq!(client_address(&junk), "::1");
        assert_eq!(client_address(&request(None, &[])), "unknown");
    }

    #[test]
    fn cookie_attributes() {
        assert_eq!(cookie_attrs(true, true), "; SameSite=None; Secure");
        assert_eq!(cookie_attrs(true, false), "; SameSite=Lax; Secure");
        assert_eq!(cookie_attrs(false, true), "; SameSite=Lax");
    }
}
