//! Kassa's hosted pages: the cart page and the one-page checkout that `redirect_urls`
//! links open, and the order confirmation. Server-rendered HTML whose forms work
//! without JavaScript; `pages.js` only saves round trips and keeps focus in place.
//! Every number shown comes from the same services and pricing the API uses.

use super::AppState;
use super::error::ApiError;
use super::storefront;
use crate::domain::address::Address;
use crate::domain::cart::Cart;
use crate::domain::catalog::ProductType;
use crate::domain::checkout::{ConsignmentChange, ConsignmentItem, ConsignmentSpec};
use crate::domain::money::{Currency, Money};
use crate::domain::payment::CardInput;
use crate::service::pages::{PAGE_SESSION_SECS, PageKind, PageShopper};
use crate::service::{Kassa, ServiceError};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use uuid::Uuid;

const RECEIPT_COOKIE: &str = "KASSA_PAGE_RECEIPT";

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/stores/{store_hash}/cart.php", get(open_link))
        .route("/stores/{store_hash}/cart", get(cart_page))
        .route("/stores/{store_hash}/checkout", get(checkout_page))
        .route("/stores/{store_hash}/checkout/{step}", post(checkout_step))
        .route(
            "/stores/{store_hash}/checkout/order-confirmation/{order_id}",
            get(confirmation_page),
        )
        .route("/assets/kassa-pages.css", get(stylesheet))
        .route("/assets/kassa-pages.js", get(script))
        .layer(axum::middleware::from_fn_with_state(
            state,
            security_headers,
        ))
}

/// The headers every response of the hosted pages carries, whatever produced it: a
/// page, a redirect or an extractor's refusal (which becomes a page too). A page that
/// set its own `Content-Security-Policy` (the embedded checkout's `frame-ancestors`)
/// keeps it; everything else may not be framed at all.
async fn security_headers(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut res = match super::error::plain_rejection(next.run(req).await).await {
        Ok((status, message)) => message_page(status, &message),
        Err(res) => res,
    };
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The links that open these pages carry a token: never hand the URL on.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Pages show a shopper's cart, address and order: no cache may keep them.
    // Only the static assets say otherwise.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure(&state.kassa) {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An amount as a shopper reads it, in the cart's currency and decimal places.
fn money(cur: &Currency, m: Money) -> String {
    let dp = cur.decimal_places as usize;
    let amount = cur.round(m).amount();
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "-"
    } else {
        ""
    };
    let abs = format!("{:.*}", dp, amount.abs());
    match cur.code.as_str() {
        "USD" | "CAD" | "AUD" => format!("{sign}${abs}"),
        "EUR" => format!("{sign}€{abs}"),
        "GBP" => format!("{sign}£{abs}"),
        code => format!("{sign}{abs} {code}"),
    }
}

/// A page with its `Content-Security-Policy`. `frame_ancestors` is `'none'` unless the
/// page is the embedded checkout of a store that named the sites allowed to frame it;
/// [`security_headers`] adds the rest.
fn page_response(status: StatusCode, html: String, frame_ancestors: &str) -> Response {
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frame_ancestors}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if frame_ancestors == "'none'" {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><link rel=\"stylesheet\" href=\"/assets/kassa-pages.css\">\
<script src=\"/assets/kassa-pages.js\" defer></script></head>\
<body><a class=\"skip\" href=\"#main\">Skip to content</a><main id=\"main\">{body}</main></body></html>",
        esc(title)
    )
}

/// A page that explains what went wrong, in the page's own shape.
fn error_page(e: ServiceError) -> Response {
    let api = ApiError::from(e);
    message_page(api.status, &api.title)
}

fn message_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Sorry</h1><div id=\"errors\" class=\"errors\" role=\"alert\" aria-live=\"assertive\"><p>{}</p></div>",
        esc(message)
    );
    page_response(status, layout("Sorry", &body), "'none'")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether shoppers reach Kassa over TLS (then cookies are `Secure`).
fn secure(kassa: &Kassa) -> bool {
    kassa.public_url.starts_with("https://")
}

/// A page cookie with the storefront session's attributes: an embedded checkout lives in
/// a frame on another site, so over TLS its cookies are `SameSite=None; Secure`.
fn set_cookie(tls: bool, store_hash: &str, name: &str, value: &str, embedded: bool) -> String {
    format!(
        "{name}={value}; Path=/stores/{store_hash}/; Max-Age={PAGE_SESSION_SECS}; HttpOnly{}",
        storefront::cookie_attrs(tls, embedded)
    )
}

/// The form token that proves a POST came from a page Kassa rendered for this session.
fn csrf_token(session: &str) -> String {
    hex::encode(Sha256::digest(
        format!("kassa-page-csrf:{session}").as_bytes(),
    ))
}

#[derive(serde::Deserialize)]
struct LinkQuery {
    action: Option<String>,
    id: Option<String>,
    token: Option<String>,
    embedded: Option<String>,
}

/// `cart.php?action=load|loadInCheckout&id=…&token=…`: uses the link once, signs the
/// shopper into the cart's storefront session, and sends them on to a clean URL without
/// the token.
async fn open_link(
    State(state): State<AppState>,
    Path(store_hash): Path<String>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let kassa = &state.kassa;
    let embedded = q.embedded.as_deref() == Some("1");
    let kind = match (q.action.as_deref(), embedded) {
        (Some("load"), _) => PageKind::Cart,
        (Some("loadInCheckout"), false) => PageKind::Checkout,
        (Some("loadInCheckout"), true) => PageKind::EmbeddedCheckout,
        _ => {
            return error_page(ServiceError::BadRequest(
                "This link is incomplete: `action` must be `load` or `loadInCheckout`.".into(),
            ));
        }
    };
    let (Some(id), Some(token)) = (q.id.as_deref(), q.token.as_deref()) else {
        return error_page(ServiceError::BadRequest(
            "This link is incomplete: it needs the cart `id` and its `token`.".into(),
        ));
    };
    let Ok(cart_id) = Uuid::parse_str(id) else {
        return error_page(ServiceError::BadRequest(
            "This link is damaged: the cart id is not valid.".into(),
        ));
    };
    let session = cookie(&headers, storefront::SESSION_COOKIE);
    match kassa
        .open_page_link(&store_hash, kind, cart_id, token, session.as_deref())
        .await
    {
        // The link signs the shopper into the cart's storefront session (the one they
        // already have, or a new one): the pages, the Storefront API and the Checkout
        // SDK all know the shopper by that one cookie.
        Ok((_, session_token)) => {
            let target = match kind {
                PageKind::Cart => format!("/stores/{store_hash}/cart"),
                _ => format!("/stores/{store_hash}/checkout"),
            };
            let mut res = (StatusCode::SEE_OTHER, ()).into_response();
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&target) {
                h.insert(header::LOCATION, v);
            }
            let tls = storefront::is_tls(&headers, kassa);
            for c in storefront::session_cookies_for(&session_token, tls, embedded) {
                h.append(header::SET_COOKIE, c);
            }
            res
        }
        Err(e) => error_page(e),
    }
}

/// The shopper this request's storefront session belongs to, and its token.
async fn shopper(
    kassa: &Kassa,
    store_hash: &str,
    headers: &HeaderMap,
) -> Result<(PageShopper, String), Response> {
    let no_session = || {
        error_page(ServiceError::NotFound(
            "Your cart session has ended. Open the cart or checkout link from the shop again."
                .into(),
        ))
    };
    let Some(session) = cookie(headers, storefront::SESSION_COOKIE) else {
        return Err(no_session());
    };
    match kassa.page_session(store_hash, &session).await {
        Ok(Some(s)) => Ok((s, session)),
        Ok(None) => Err(no_session()),
        Err(e) => Err(error_page(e)),
    }
}

/// `frame-ancestors` for a page: only the embedded checkout may be framed, and only
/// by the store's own sites.
fn frame_ancestors(kassa: &Kassa, shopper: &PageShopper) -> String {
    let origins = if shopper.embedded {
        kassa.embed_origins(&shopper.who.store)
    } else {
        Vec::new()
    };
    if origins.is_empty() {
        "'none'".into()
    } else {
        origins.join(" ")
    }
}

fn line_rows(cart: &Cart) -> String {
    let cur = &cart.currency;
    let mut rows = String::new();
    for l in &cart.line_items {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&l.name),
            l.quantity,
            money(cur, l.pricing.extended_sale_price)
        );
    }
    for c in &cart.custom_items {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&c.name),
            c.quantity,
            money(cur, c.extended_list_price)
        );
    }
    for g in &cart.gift_certificates {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">Gift certificate: {}</th><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&g.name),
            g.quantity,
            money(cur, g.amount.times(u32::try_from(g.quantity).unwrap_or(0)))
        );
    }
    format!(
        "<table class=\"items\"><caption class=\"vh\">Items</caption><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Qty</th><th scope=\"col\" class=\"num\">Price</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

/// The totals block, with the same figures the Checkout API reports.
fn summary(cart: &Cart) -> String {
    let cur = &cart.currency;
    let t = &cart.checkout.totals;
    let mut dl = String::new();
    let mut row = |id: &str, label: &str, value: String| {
        let _ = write!(
            dl,
            "<div class=\"row\"><dt>{}</dt><dd id=\"{id}\" class=\"num\">{value}</dd></div>",
            esc(label)
        );
    };
    // Shown the way the store prices: with tax inside each figure, or before tax with
    // tax on its own line, so the lines always add up to the total.
    let inc = cart.tax_included;
    let pick = |ex: Money, inc_tax: Money| if inc { inc_tax } else { ex };
    row(
        "subtotal",
        "Subtotal",
        money(cur, pick(t.subtotal_ex_tax, t.subtotal_inc_tax)),
    );
    for c in &cart.checkout.coupons {
        row(
            "coupon-discount",
            &format!("Coupon {}", c.code),
            money(cur, -c.discounted_amount),
        );
    }
    if !cart.checkout.consignments.is_empty() {
        row(
            "shipping-total",
            "Shipping",
            money(
                cur,
                pick(
                    t.shipping_cost_total_ex_tax + t.handling_cost_total_ex_tax,
                    t.shipping_cost_total_inc_tax + t.handling_cost_total_inc_tax,
                ),
            ),
        );
    }
    row(
        "tax-total",
        if inc { "Tax included" } else { "Tax" },
        money(cur, t.tax_total),
    );
    row("grand-total", "Total", money(cur, t.grand_total));
    for g in &cart.checkout.gift_certificates {
        row(
            "gift-certificate-used",
            &format!("Gift certificate {}", g.code),
            money(cur, -g.used),
        );
    }
    row(
        "amount-due",
        "To pay",
        money(cur, cart.checkout.payments.outstanding_balance),
    );
    format!(
        "<section id=\"summary\" class=\"card\" aria-labelledby=\"summary-h\" data-region><h2 id=\"summary-h\">Order summary</h2>{}<dl class=\"totals\">{dl}</dl></section>",
        line_rows(cart)
    )
}

async fn cart_page(
    State(state): State<AppState>,
    Path(store_hash): Path<String>,
    headers: HeaderMap,
) -> Response {
    let kassa = &state.kassa;
    let (shopper, _) = match shopper(kassa, &store_hash, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let cart = match kassa.get_checkout(&shopper.who, shopper.cart_id).await {
        Ok(c) => c,
        Err(e) => return error_page(e),
    };
    let body = format!(
        "<h1>Your cart</h1>{}<p><a class=\"button\" id=\"to-checkout\" href=\"/stores/{}/checkout\">Proceed to checkout</a></p>",
        summary(&cart),
        esc(&store_hash)
    );
    let fa = frame_ancestors(kassa, &shopper);
    page_response(StatusCode::OK, layout("Your cart", &body), &fa)
}

/// What the shopper typed, to show again beside the errors it caused.
type Typed = HashMap<String, String>;

fn field(typed: &Typed, saved: &str, name: &str, label: &str, kind: &str, auto: &str) -> String {
    let value = typed.get(name).map(String::as_str).unwrap_or(saved);
    format!(
        "<div class=\"field\"><label for=\"{name}\">{}</label><input id=\"{name}\" name=\"{name}\" type=\"{kind}\" autocomplete=\"{auto}\" value=\"{}\" required></div>",
        esc(label),
        esc(value)
    )
}

fn country_select(typed: &Typed, saved: &str, name: &str, auto: &str) -> String {
    let chosen = typed
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(if saved.is_empty() { "US" } else { saved });
    let mut opts = String::new();
    for (code, cname) in crate::domain::countries::countries() {
        let sel = if *code == chosen { " selected" } else { "" };
        let _ = write!(
            opts,
            "<option value=\"{code}\"{sel}>{}</option>",
            esc(cname)
        );
    }
    format!(
        "<div class=\"field\"><label for=\"{name}\">Country</label><select id=\"{name}\" name=\"{name}\" autocomplete=\"{auto}\" required>{opts}</select></div>"
    )
}

fn address_fields(typed: &Typed, saved: &Address, prefix: &str, section: &str) -> String {
    let n = |f: &str| format!("{prefix}{f}");
    let a = |f: &str| format!("{section} {f}");
    [
        field(
            typed,
            &saved.first_name,
            &n("first_name"),
            "First name",
            "text",
            &a("given-name"),
        ),
        field(
            typed,
            &saved.last_name,
            &n("last_name"),
            "Last name",
            "text",
            &a("family-name"),
        ),
        field(
            typed,
            &saved.address1,
            &n("address1"),
            "Street address",
            "text",
            &a("address-line1"),
        ),
        field(
            typed,
            &saved.city,
            &n("city"),
            "City",
            "text",
            &a("address-level2"),
        ),
        field(
            typed,
            &saved.state_or_province,
            &n("state_or_province"),
            "State or province",
            "text",
            &a("address-level1"),
        ),
        field(
            typed,
            &saved.postal_code,
            &n("postal_code"),
            "Postal code",
            "text",
            &a("postal-code"),
        ),
        country_select(
            typed,
            &saved.country_code,
            &n("country_code"),
            &a("country"),
        ),
    ]
    .concat()
}

/// The box that adds an address to a signed-in customer's address book with the order
/// (`shouldSaveAddress`); guests have no book, so they are not offered it.
fn save_box(cart: &Cart, typed: &Typed, saved: bool, prefix: &str) -> String {
    if cart.customer_id == 0 {
        return String::new();
    }
    let name = format!("{prefix}save");
    let checked = match typed.get(&name) {
        Some(_) => true,
        None if !typed.is_empty() => false,
        None => saved,
    };
    format!(
        "<div class=\"check\"><input type=\"checkbox\" id=\"{name}\" name=\"{name}\" value=\"1\"{}><label for=\"{name}\">Save this address in my address book</label></div>",
        if checked { " checked" } else { "" }
    )
}

fn checkout_html(
    store_hash: &str,
    cart: &Cart,
    csrf: &str,
    errors: &[String],
    typed: &Typed,
) -> String {
    let hash = esc(store_hash);
    let billing = cart
        .checkout
        .billing_address
        .as_ref()
        .map(|b| b.address.clone())
        .unwrap_or_default();
    let consignment = cart.checkout.consignments.first();
    let shipping = consignment.map(|c| c.address.address.clone());
    let needs_shipping = cart
        .line_items
        .iter()
        .any(|l| l.kind == ProductType::Physical)
        || !cart.custom_items.is_empty();
    let hidden = format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">");

    let error_list: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", esc(e)))
        .collect();
    let errors_html = format!(
        "<div id=\"errors\" class=\"errors{}\" role=\"alert\" aria-live=\"assertive\" tabindex=\"-1\" data-region>{}</div>",
        if errors.is_empty() { " empty" } else { "" },
        if errors.is_empty() {
            String::new()
        } else {
            format!("<h2>Please check the following</h2><ul>{error_list}</ul>")
        }
    );

    let same = shipping.as_ref().is_none_or(|s| {
        s.address1 == billing.address1
            && s.postal_code == billing.postal_code
            && s.country_code == billing.country_code
    });
    let same_checked = match typed.get("same_as_billing") {
        Some(_) => " checked",
        None if !typed.is_empty() => "",
        None if same => " checked",
        None => "",
    };
    let shipping_block = if needs_shipping {
        format!(
            "<div class=\"check\"><input type=\"checkbox\" id=\"same_as_billing\" name=\"same_as_billing\" value=\"1\"{same_checked}><label for=\"same_as_billing\">Ship to my billing address</label></div>\
<fieldset id=\"shipping-address\"><legend>Shipping address (used when the box above is not ticked)</legend>{}{}</fieldset>",
            address_fields(
                typed,
                &shipping.clone().unwrap_or_default(),
                "ship_",
                "shipping"
            ),
            save_box(
                cart,
                typed,
                shipping.as_ref().is_some_and(|s| s.should_save),
                "ship_"
            )
        )
    } else {
        String::new()
    };
    let email = if billing.email.is_empty() {
        cart.email.clone()
    } else {
        billing.email.clone()
    };
    let details = format!(
        "<section class=\"card\" aria-labelledby=\"details-h\"><h2 id=\"details-h\">1. Your details</h2>\
<form id=\"details-form\" method=\"post\" action=\"/stores/{hash}/checkout/details\" data-enhance data-autosave>{hidden}\
{}<fieldset><legend>Billing address</legend>{}{}</fieldset>{shipping_block}\
<button type=\"submit\" id=\"save-details\">Save details{}</button></form></section>",
        field(typed, &email, "email", "Email", "email", "email"),
        address_fields(typed, &billing, "bill_", "billing"),
        save_box(cart, typed, billing.should_save, "bill_"),
        if needs_shipping {
            " and show shipping options"
        } else {
            ""
        }
    );

    let shipping_section = if !needs_shipping {
        String::new()
    } else {
        let body = match consignment {
            None => "<p>Enter your address to see shipping options.</p>".to_string(),
            Some(c) if c.available_options.is_empty() => {
                "<p>No shipping options reach this address. Check the address or contact the shop.</p>".to_string()
            }
            Some(c) => {
                let mut radios = String::new();
                for (i, o) in c.available_options.iter().enumerate() {
                    let checked = if c.selected_option_id.as_deref() == Some(o.id.as_str()) {
                        " checked"
                    } else {
                        ""
                    };
                    let _ = write!(
                        radios,
                        "<div class=\"check\"><input type=\"radio\" id=\"ship-opt-{i}\" name=\"option\" value=\"{}\"{checked} required><label for=\"ship-opt-{i}\">{} — {}</label></div>",
                        esc(&o.id),
                        esc(&o.description),
                        money(&cart.currency, o.cost + o.handling)
                    );
                }
                format!(
                    "<form id=\"shipping-form\" method=\"post\" action=\"/stores/{hash}/checkout/shipping\" data-enhance data-autosubmit>{hidden}<fieldset><legend>Shipping method</legend>{radios}</fieldset><button type=\"submit\" id=\"save-shipping\">Use this shipping method</button></form>"
                )
            }
        };
        format!(
            "<section id=\"shipping\" class=\"card\" aria-labelledby=\"shipping-h\" data-region><h2 id=\"shipping-h\">2. Shipping</h2>{body}</section>"
        )
    };

    let codes = format!(
        "<section class=\"card\" aria-labelledby=\"codes-h\"><h2 id=\"codes-h\">3. Coupon or gift certificate</h2>\
<form id=\"coupon-form\" method=\"post\" action=\"/stores/{hash}/checkout/coupon\" data-enhance class=\"inline\">{hidden}<div class=\"field\"><label for=\"coupon_code\">Coupon code</label><input id=\"coupon_code\" name=\"code\" autocomplete=\"off\" required></div><button type=\"submit\" id=\"apply-coupon\">Apply coupon</button></form>\
<form id=\"gift-form\" method=\"post\" action=\"/stores/{hash}/checkout/gift-certificate\" data-enhance class=\"inline\">{hidden}<div class=\"field\"><label for=\"gift_code\">Gift certificate code</label><input id=\"gift_code\" name=\"code\" autocomplete=\"off\" required></div><button type=\"submit\" id=\"apply-gift\">Apply gift certificate</button></form></section>"
    );

    let due = cart.checkout.payments.outstanding_balance;
    let card_fields = if due.amount().is_zero() {
        "<p>Your gift certificates cover the whole order.</p>".to_string()
    } else {
        let t = Typed::new();
        format!(
            "<p class=\"hint\">Test gateway: card 4111 1111 1111 1111 is approved, 4000 0000 0000 0002 is declined.</p>{}{}\
<div class=\"row2\"><div class=\"field\"><label for=\"exp_month\">Expiry month (MM)</label><input id=\"exp_month\" name=\"exp_month\" inputmode=\"numeric\" autocomplete=\"cc-exp-month\" required></div>\
<div class=\"field\"><label for=\"exp_year\">Expiry year (YYYY)</label><input id=\"exp_year\" name=\"exp_year\" inputmode=\"numeric\" autocomplete=\"cc-exp-year\" required></div></div>\
<div class=\"field\"><label for=\"cvv\">Security code (CVV)</label><input id=\"cvv\" name=\"cvv\" inputmode=\"numeric\" autocomplete=\"cc-csc\" required></div>",
            field(&t, "", "card_name", "Name on card", "text", "cc-name"),
            field(&t, "", "card_number", "Card number", "text", "cc-number")
                .replace("type=\"text\"", "type=\"text\" inputmode=\"numeric\""),
        )
    };
    let pay = format!(
        "<section class=\"card\" aria-labelledby=\"pay-h\"><h2 id=\"pay-h\">4. Payment</h2>\
<form id=\"pay-form\" method=\"post\" action=\"/stores/{hash}/checkout/pay\">{hidden}{card_fields}\
<button type=\"submit\" id=\"place-order\" class=\"primary\">Place order and pay {}</button></form></section>",
        money(&cart.currency, due)
    );

    format!(
        "<h1>Checkout</h1>{errors_html}<div class=\"cols\"><div class=\"steps\">{details}{shipping_section}{codes}{pay}</div>{}</div>",
        summary(cart)
    )
}

async fn checkout_page(
    State(state): State<AppState>,
    Path(store_hash): Path<String>,
    headers: HeaderMap,
) -> Response {
    let kassa = &state.kassa;
    let (shopper, session) = match shopper(kassa, &store_hash, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_checkout(
        kassa,
        &store_hash,
        &shopper,
        &session,
        StatusCode::OK,
        &[],
        &Typed::new(),
    )
    .await
}

async fn render_checkout(
    kassa: &Kassa,
    store_hash: &str,
    shopper: &PageShopper,
    session: &str,
    status: StatusCode,
    errors: &[String],
    typed: &Typed,
) -> Response {
    let cart = match kassa.get_checkout(&shopper.who, shopper.cart_id).await {
        Ok(c) => c,
        Err(e) => return error_page(e),
    };
    let html = checkout_html(store_hash, &cart, &csrf_token(session), errors, typed);
    let fa = frame_ancestors(kassa, shopper);
    page_response(status, layout("Checkout", &html), &fa)
}

/// A service refusal as the lines of the page's error summary.
fn messages(e: ServiceError) -> (StatusCode, Vec<String>) {
    let api = ApiError::from(e);
    let lines = api.messages();
    let status = if api.status.is_server_error() {
        api.status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, lines)
}

fn typed_address(form: &Typed, prefix: &str, email: &str) -> Address {
    let g = |f: &str| {
        form.get(&format!("{prefix}{f}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    Address {
        first_name: g("first_name"),
        last_name: g("last_name"),
        email: email.to_string(),
        address1: g("address1"),
        city: g("city"),
        state_or_province: g("state_or_province"),
        postal_code: g("postal_code"),
        country_code: g("country_code"),
        should_save: form.contains_key(&format!("{prefix}save")),
        ..Address::default()
    }
}

fn missing(form: &Typed, names: &[(&str, &str)]) -> Vec<String> {
    names
        .iter()
        .filter(|(n, _)| form.get(*n).is_none_or(|v| v.trim().is_empty()))
        .map(|(_, label)| format!("{label} is required."))
        .collect()
}

/// One step of the checkout form: save it, then show the page again (Post/Redirect/Get),
/// or show the page with what was wrong.
async fn checkout_step(
    State(state): State<AppState>,
    Path((store_hash, step)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Typed>,
) -> Response {
    let kassa = &state.kassa;
    let (shopper, session) = match shopper(kassa, &store_hash, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if form.get("csrf").map(String::as_str) != Some(csrf_token(&session).as_str()) {
        return error_page(ServiceError::BadRequest(
            "This form is out of date. Reload the checkout page and try again.".into(),
        ));
    }
    let who = &shopper.who;
    let id = shopper.cart_id;
    let result: Result<Option<String>, Vec<String>> = match step.as_str() {
        "details" => save_details(kassa, &shopper, &form).await,
        "shipping" => {
            let option = form.get("option").cloned().unwrap_or_default();
            match kassa.get_checkout(who, id).await {
                Err(e) => Err(messages(e).1),
                Ok(cart) => match cart.checkout.consignments.first() {
                    None => Err(vec!["Enter your address before choosing shipping.".into()]),
                    Some(c) if option.is_empty() => {
                        let _ = c;
                        Err(vec!["Choose a shipping method.".into()])
                    }
                    Some(c) => kassa
                        .update_consignment(
                            who,
                            id,
                            &c.id.clone(),
                            ConsignmentChange::default(),
                            Some(option),
                            None,
                        )
                        .await
                        .map(|_| None)
                        .map_err(|e| messages(e).1),
                },
            }
        }
        "coupon" => {
            let code = form.get("code").cloned().unwrap_or_default();
            kassa
                .apply_coupon(who, id, &code, None)
                .await
                .map(|_| None)
                .map_err(|e| messages(e).1)
        }
        "gift-certificate" => {
            let code = form.get("code").cloned().unwrap_or_default();
            kassa
                .apply_gift_certificate(who, id, &code, None)
                .await
                .map(|_| None)
                .map_err(|e| messages(e).1)
        }
        "pay" => pay(kassa, &shopper, &form).await,
        _ => {
            return error_page(ServiceError::NotFound("No such checkout step.".into()));
        }
    };
    match result {
        Ok(Some(receipt_location)) => {
            let (order_path, receipt) = receipt_location
                .split_once('#')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap_or_default();
            let mut res = (StatusCode::SEE_OTHER, ()).into_response();
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&order_path) {
                h.insert(header::LOCATION, v);
            }
            let c = set_cookie(
                storefront::is_tls(&headers, kassa),
                &store_hash,
                RECEIPT_COOKIE,
                &receipt,
                shopper.embedded,
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(None) => {
            let mut res = (StatusCode::SEE_OTHER, ()).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/stores/{store_hash}/checkout")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(errors) => {
            let typed = if step == "details" {
                form
            } else {
                Typed::new()
            };
            render_checkout(
                kassa,
                &store_hash,
                &shopper,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                &typed,
            )
            .await
        }
    }
}

async fn save_details(
    kassa: &Kassa,
    shopper: &PageShopper,
    form: &Typed,
) -> Result<Option<String>, Vec<String>> {
    let who = &shopper.who;
    let id = shopper.cart_id;
    let mut required = vec![
        ("email", "Email"),
        ("bill_first_name", "First name"),
        ("bill_last_name", "Last name"),
        ("bill_address1", "Street address"),
        ("bill_city", "City"),
        ("bill_country_code", "Country"),
    ];
    let ship_separately = !form.contains_key("same_as_billing");
    let cart = kassa
        .get_checkout(who, id)
        .await
        .map_err(|e| messages(e).1)?;
    let needs_shipping = cart
        .line_items
        .iter()
        .any(|l| l.kind == ProductType::Physical)
        || !cart.custom_items.is_empty();
    if needs_shipping && ship_separately {
        required.extend([
            ("ship_first_name", "Shipping first name"),
            ("ship_last_name", "Shipping last name"),
            ("ship_address1", "Shipping street address"),
            ("ship_city", "Shipping city"),
            ("ship_country_code", "Shipping country"),
        ]);
    }
    let absent = missing(form, &required);
    if !absent.is_empty() {
        return Err(absent);
    }
    let email = form.get("email").map(|s| s.trim()).unwrap_or_default();
    let billing = typed_address(form, "bill_", email);
    let current_billing = cart.checkout.billing_address.as_ref().map(|b| b.id.clone());
    kassa
        .set_billing_address(who, id, current_billing.as_deref(), billing.clone(), None)
        .await
        .map_err(|e| messages(e).1)?;
    if !needs_shipping {
        return Ok(None);
    }
    let mut shipping = if ship_separately {
        typed_address(form, "ship_", email)
    } else {
        billing
    };
    shipping.email = email.to_string();
    let items: Vec<ConsignmentItem> = cart
        .line_items
        .iter()
        .filter(|l| l.kind == ProductType::Physical)
        .map(|l| (l.id, l.quantity))
        .chain(cart.custom_items.iter().map(|c| (c.id, c.quantity)))
        .map(|(item_id, quantity)| ConsignmentItem { item_id, quantity })
        .collect();
    let saved = match cart.checkout.consignments.first() {
        None => {
            kassa
                .add_consignments(
                    who,
                    id,
                    vec![ConsignmentSpec {
                        address: Some(shipping),
                        items,
                        pickup_method_id: None,
                    }],
                    None,
                )
                .await
        }
        Some(c) => {
            kassa
                .update_consignment(
                    who,
                    id,
                    &c.id.clone(),
                    ConsignmentChange {
                        address: Some(shipping),
                        items: Some(items),
                        pickup_method_id: None,
                    },
                    None,
                    None,
                )
                .await
        }
    };
    saved.map(|_| None).map_err(|e| messages(e).1)
}

async fn pay(
    kassa: &Kassa,
    shopper: &PageShopper,
    form: &Typed,
) -> Result<Option<String>, Vec<String>> {
    let absent = missing(
        form,
        &[
            ("card_name", "Name on card"),
            ("card_number", "Card number"),
            ("exp_month", "Expiry month"),
            ("exp_year", "Expiry year"),
            ("cvv", "Security code"),
        ],
    );
    if !absent.is_empty() {
        return Err(absent);
    }
    let num = |k: &str| -> Result<i64, Vec<String>> {
        form.get(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| vec![format!("{} must be a number.", k.replace('_', " "))])
    };
    let card = CardInput {
        number: form
            .get("card_number")
            .map(|n| {
                n.chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect()
            })
            .unwrap_or_default(),
        cardholder_name: form.get("card_name").cloned().unwrap_or_default(),
        expiry_month: num("exp_month")?,
        expiry_year: num("exp_year")?,
        verification_value: form.get("cvv").cloned().unwrap_or_default(),
    };
    let (order_id, receipt, _) = kassa
        .place_and_pay_by_card(shopper, card)
        .await
        .map_err(|e| messages(e).1)?;
    Ok(Some(format!(
        "/stores/{}/checkout/order-confirmation/{order_id}{}#{receipt}",
        shopper.who.store.hash,
        if shopper.embedded { "?embedded=1" } else { "" }
    )))
}

#[derive(serde::Deserialize)]
struct ConfirmationQuery {
    embedded: Option<String>,
}

async fn confirmation_page(
    State(state): State<AppState>,
    Path((store_hash, order_id)): Path<(String, String)>,
    Query(q): Query<ConfirmationQuery>,
    headers: HeaderMap,
) -> Response {
    let kassa = &state.kassa;
    let Ok(order_id) = order_id.parse::<i64>() else {
        return error_page(ServiceError::NotFound("No such order.".into()));
    };
    let receipt = cookie(&headers, RECEIPT_COOKIE).unwrap_or_default();
    let order = match kassa.page_receipt(&store_hash, order_id, &receipt).await {
        Ok(o) => o,
        Err(e) => return error_page(e),
    };
    let store = match kassa.find_store(&store_hash).await {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    let cart = &order.cart;
    let body = format!(
        "<h1 id=\"confirmation-h\" tabindex=\"-1\">Thank you for your order</h1>\
<p role=\"status\">Your order number is <strong id=\"order-id\" data-order-id=\"{order_id}\">{order_id}</strong>. A confirmation goes to {}.</p>{}",
        esc(&cart
            .checkout
            .billing_address
            .as_ref()
            .map(|b| b.address.email.clone())
            .unwrap_or_default()),
        summary(cart)
    );
    // Inside the merchant's frame, the page tells the parent (and only the store's own
    // sites) that the order is complete.
    let origins = if q.embedded.as_deref() == Some("1") {
        kassa.embed_origins(&store)
    } else {
        Vec::new()
    };
    let fa = if origins.is_empty() {
        "'none'".to_string()
    } else {
        origins.join(" ")
    };
    let body = format!(
        "{body}<div id=\"order-complete\" hidden data-order-id=\"{order_id}\" data-origins=\"{}\"></div>",
        esc(&origins.join(" "))
    );
    page_response(StatusCode::OK, layout("Order confirmed", &body), &fa)
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("pages/kassa-pages.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("pages/kassa-pages.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
