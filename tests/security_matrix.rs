//! The security matrix: every operation Kassa lists in `/openapi.json` × {no token,
//! another store's token, a token without the scope, a read-only token on a write}
//! answers 401/403 in the API's own error shape, never a 2xx or a 5xx, and never says
//! whether the resource exists; a write with a malformed body is refused for the scope
//! first. Then cross-store isolation with real resources.

mod common;

use common::{TestApp, flow, form_encode};
use kassa::domain::scope::{Scope, Scopes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    every_operation_refuses_callers_without_the_right_token_or_scope,
    process_payment_without_a_valid_pat_is_401,
    another_stores_token_finds_none_of_this_stores_resources,
    hosted_pages_carry_security_headers,
);

/// Operations that take no `X-Auth-Token` (tested apart). The Storefront API and the
/// Checkout SDK's `internalapi` are a shopper's: their session cookie, CSRF and CORS rules
/// are tested in `storefront.rs`; the SDK's card payment, like process-payment, takes a
/// payment access token instead.
fn unauthenticated(path: &str, method: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics" | "/openapi.json")
        || path.starts_with("/api/storefront/")
        || path.starts_with("/internalapi/")
        || (path == "/stores/{store_hash}/payments" && method == "post")
        || (path == "/api/public/v1/orders/payments" && method == "post")
}

/// A path with its parameters filled in with plausible values.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                return seg.to_string();
            };
            match name {
                "store_hash" => "demo".to_string(),
                "cart_id" | "checkout_id" | "checkoutId" | "cartId" => {
                    "6e193ce6-f327-4dcc-b75e-72cf6738525e".to_string()
                }
                n if n.contains("uuid") || n == "token" => {
                    "6e193ce6-f327-4dcc-b75e-72cf6738525e".to_string()
                }
                _ => "1".to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// One authenticated operation, ready to send.
struct Operation {
    method: Method,
    /// The path with its parameters (and any required query parameters) filled in.
    url: String,
    template: String,
    /// `[]` where the documented body is an array, else `{}`; none for reads and deletes.
    body: Option<Value>,
}

/// Every authenticated operation `/openapi.json` lists.
async fn operations(app: &TestApp) -> Vec<Operation> {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = &r.body;
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let m = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "delete" => Method::DELETE,
                "patch" => Method::PATCH,
                _ => continue,
            };
            if unauthenticated(path, method) {
                continue;
            }
            // Required query parameters get a plausible value, so the probe is about
            // the token, not a missing parameter.
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .filter_map(|p| p["name"].as_str().map(|n| format!("{n}=1")))
                .collect();
            let mut url = fill(path);
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            let body = if m == Method::GET || m == Method::DELETE && op["requestBody"].is_null() {
                None
            } else {
                let mut schema = &op["requestBody"]["content"]["application/json"]["schema"];
                if let Some(name) = schema["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    schema = &doc["components"]["schemas"][name];
                }
                Some(if schema["type"] == "array" {
                    json!([])
                } else {
                    json!({})
                })
            };
            out.push(Operation {
                method: m,
                url,
                template: path.clone(),
                body,
            });
        }
    }
    assert!(out.len() > 50, "only {} operations listed", out.len());
    out
}

/// A body no JSON parser accepts.
const MALFORMED: &[u8] = b"{\"not json";

fn is_write(m: &Method) -> bool {
    *m != Method::GET
}

/// The error body is the API's own: V2 `[{status, message}]`, V3 `{status, title, type}`.
fn assert_error_shape(what: &str, template: &str, status: StatusCode, body: &Value) -> String {
    if template.contains("/v2/") {
        let first = &body[0];
        assert_eq!(
            first["status"],
            status.as_u16(),
            "{what}: V2 error shape expected, got {body}"
        );
        first["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: V2 message missing in {body}"))
            .to_string()
    } else {
        assert_eq!(
            body["status"],
            status.as_u16(),
            "{what}: V3 error shape expected, got {body}"
        );
        assert!(body["type"].is_string(), "{what}: `type` missing in {body}");
        body["title"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: V3 title missing in {body}"))
            .to_string()
    }
}

/// The 403 body a scopeless token got, to compare an unrelated-scope token's against.
fn app_body_of_403(message: &str, template: &str) -> Value {
    if template.contains("/v2/") {
        json!([{"status": 403, "message": message}])
    } else {
        json!({"status": 403, "title": message,
               "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"})
    }
}

/// The scope named in a 403's message.
fn named_scope(message: &str) -> Option<Scope> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    message[start..start + len].parse().ok()
}

async fn every_operation_refuses_callers_without_the_right_token_or_scope(app: TestApp) {
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("store");
    let other = app
        .kassa
        .create_token("other", "all", &Scopes::every(), None)
        .await
        .expect("token");
    let none = app
        .kassa
        .create_token("demo", "none", &Scopes::new(Vec::new()), None)
        .await
        .expect("token");
    // A scope no operation asks for: it must count for nothing.
    let unrelated = app
        .kassa
        .create_token(
            "demo",
            "unrelated",
            &Scopes::new(vec![Scope::StorefrontApiCustomerImpersonation]),
            None,
        )
        .await
        .expect("token");
    let mut failures = Vec::new();
    let mut checked = 0;
    for Operation {
        method,
        url: path,
        template,
        body,
    } in operations(&app).await
    {
        let op = format!("{method} {template}");

        // No token, and another store's all-scopes token: the same 401, word for word.
        let mut titles = Vec::new();
        for (who, token) in [("no token", ""), ("other store's token", other.as_str())] {
            let r = app
                .call_as(token, method.clone(), &path, body.clone())
                .await;
            if r.status != StatusCode::UNAUTHORIZED {
                failures.push(format!("{op} with {who}: {} {}", r.status, r.body));
                continue;
            }
            titles.push(assert_error_shape(&op, &template, r.status, &r.body));
        }
        if titles.len() == 2 && titles[0] != titles[1] {
            failures.push(format!("{op}: 401s differ: {titles:?}"));
        }

        // A token of this store without any scope: 403 naming the scope needed.
        let r = app
            .call_as(&none, method.clone(), &path, body.clone())
            .await;
        if r.status != StatusCode::FORBIDDEN {
            failures.push(format!("{op} with no scope: {} {}", r.status, r.body));
            continue;
        }
        let message = assert_error_shape(&op, &template, r.status, &r.body);
        let Some(needed) = named_scope(&message) else {
            failures.push(format!("{op}: 403 names no scope: {message}"));
            continue;
        };
        // The scope is checked before the body is read: a malformed body is still a 403,
        // so a caller without the scope learns nothing about the input rules.
        if body.is_some() {
            let r = app
                .call_raw_as(&none, method.clone(), &path, MALFORMED)
                .await;
            if r.status != StatusCode::FORBIDDEN {
                failures.push(format!(
                    "{op} with no scope and a malformed body: {} {}",
                    r.status, r.body
                ));
            }
        }
        let r = app
            .call_as(&unrelated, method.clone(), &path, body.clone())
            .await;
        if r.status != StatusCode::FORBIDDEN || r.body != app_body_of_403(&message, &template) {
            failures.push(format!(
                "{op} with an unrelated scope: {} {}",
                r.status, r.body
            ));
        }

        // A write refused to the read-only twin of the scope it needs.
        if is_write(&method) {
            let Some(twin) = needed.read_only() else {
                // Scopes without a twin (e.g. store_payments_access_token_create) have
                // no read-only variant to try.
                checked += 1;
                continue;
            };
            let ro = app
                .kassa
                .create_token("demo", "ro", &Scopes::new(vec![twin]), None)
                .await
                .expect("token");
            let r = app.call_as(&ro, method.clone(), &path, body.clone()).await;
            if r.status != StatusCode::FORBIDDEN {
                failures.push(format!("{op} with only {twin}: {} {}", r.status, r.body));
                continue;
            }
            if body.is_some() {
                let r = app.call_raw_as(&ro, method.clone(), &path, MALFORMED).await;
                if r.status != StatusCode::FORBIDDEN {
                    failures.push(format!(
                        "{op} with only {twin} and a malformed body: {} {}",
                        r.status, r.body
                    ));
                }
            }
            let message = assert_error_shape(&op, &template, r.status, &r.body);
            if named_scope(&message) != Some(needed) {
                failures.push(format!("{op} with only {twin}: names {message}"));
            }
        } else if needed.read_only().is_some() {
            failures.push(format!("{op}: a read asks for the modify scope {needed}"));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of the operations fail the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 50, "only {checked} operations checked");
}

async fn process_payment_without_a_valid_pat_is_401(app: TestApp) {
    let url = format!("{}/stores/demo/payments", app.base);
    for auth in [
        None,
        Some("PAT bogus-payment-access-token"),
        Some("Bearer x"),
    ] {
        let mut req = app
            .client
            .post(&url)
            .header("Accept", "application/vnd.bc.v1+json")
            .json(&flow::card("4111111111111111"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = TestApp::reply(req.send().await.expect("request")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}: {}", r.body);
        assert_eq!(r.body["status"], 401, "{auth:?}: {}", r.body);
        assert!(r.body["title"].is_string(), "{auth:?}: {}", r.body);
    }
    // An API token is not a payment access token.
    let res = app
        .client
        .post(&url)
        .header("X-Auth-Token", common::TOKEN)
        .json(&flow::card("4111111111111111"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn another_stores_token_finds_none_of_this_stores_resources(app: TestApp) {
    // Store A is `demo`: one resource of each kind. A digital item needs no shipping.
    let app = app.with_fixtures().await;
    let cart = flow::checkout_with(
        &app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let second_cart = app
        .post(
            flow::CARTS,
            json!({"custom_items": [{"name": "Lamp", "quantity": 1, "list_price": 40}]}),
        )
        .await;
    assert_eq!(
        second_cart.status,
        StatusCode::CREATED,
        "{}",
        second_cart.body
    );
    let second_cart = second_cart.data()["id"].as_str().expect("cart").to_string();
    let r = flow::place(&app, &cart).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().expect("order id");
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer = r.data()[0]["id"].as_i64().expect("customer id");
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Ten", "code": "TEN", "type": "per_total_discount", "amount": "10",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let coupon = r.body["id"].as_i64().expect("coupon id");
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"to_name": "Bo", "to_email": "bo@example.com", "from_name": "Al",
                   "from_email": "al@example.com", "amount": "25"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gift = r.body["id"].as_i64().expect("gift certificate id");
    let r = app
        .post(
            "/stores/demo/v3/hooks",
            json!({"scope": "store/cart/*", "destination": "https://example.com/hooks"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hook = r.data()["id"].as_i64().expect("hook id");

    // Store B, with every scope, on its own paths with A's ids.
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("store");
    let b = app
        .kassa
        .create_token("other", "all", &Scopes::every(), None)
        .await
        .expect("token");
    let base = "/stores/other";
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{base}/v3/carts/{second_cart}"), None),
        (
            Method::PUT,
            format!("{base}/v3/carts/{second_cart}"),
            Some(json!({"customer_id": 0})),
        ),
        (
            Method::DELETE,
            format!("{base}/v3/carts/{second_cart}"),
            None,
        ),
        (Method::GET, format!("{base}/v3/checkouts/{cart}"), None),
        (
            Method::POST,
            format!("{base}/v3/checkouts/{cart}/billing-address"),
            Some(flow::billing()),
        ),
        (Method::GET, format!("{base}/v2/orders/{order}"), None),
        (
            Method::PUT,
            format!("{base}/v2/orders/{order}"),
            Some(json!({"status_id": 5})),
        ),
        (Method::GET, format!("{base}/v2/coupons/{coupon}"), None),
        (
            Method::PUT,
            format!("{base}/v2/coupons/{coupon}"),
            Some(json!({"name": "Stolen"})),
        ),
        (Method::DELETE, format!("{base}/v2/coupons/{coupon}"), None),
        (
            Method::GET,
            format!("{base}/v2/gift_certificates/{gift}"),
            None,
        ),
        (
            Method::DELETE,
            format!("{base}/v2/gift_certificates/{gift}"),
            None,
        ),
        (Method::GET, format!("{base}/v3/hooks/{hook}"), None),
        (
            Method::PUT,
            format!("{base}/v3/hooks/{hook}"),
            Some(json!({"is_active": false})),
        ),
        (Method::DELETE, format!("{base}/v3/hooks/{hook}"), None),
    ];
    for (method, path, body) in probes {
        let r = app.call_as(&b, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.body
        );
    }
    // Customers have no per-id path: B's list by A's id is empty, and an update is refused.
    let r = app
        .call_as(
            &b,
            Method::GET,
            &format!("{base}/v3/customers?id:in={customer}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &json!([]));
    let r = app
        .call_as(
            &b,
            Method::PUT,
            &format!("{base}/v3/customers"),
            Some(json!([{"id": customer, "last_name": "Stolen"}])),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);

    // Nothing changed in A.
    let r = app.get(&format!("{}/{second_cart}", flow::CARTS)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("{}/{cart}", flow::CHECKOUTS)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(r.body["status_id"], 5, "{}", r.body);
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Ten");
    let r = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gift}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("/stores/demo/v3/hooks/{hook}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["is_active"], true);
    let r = app
        .get(&format!("/stores/demo/v3/customers?id:in={customer}"))
        .await;
    assert_eq!(r.data()[0]["last_name"], "Lovelace", "{}", r.body);
}

/// A shopper on the hosted pages: a client that follows no redirects and keeps cookies.
struct PageVisitor<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

impl PageVisitor<'_> {
    async fn send(
        &mut self,
        method: Method,
        url: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.app.base)
        };
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = self.client.request(method, &url).header("Cookie", cookie);
        if !form.is_empty() {
            let body = form
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let res = req.send().await.expect("page request");
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().expect("cookie");
            if let Some((k, val)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        res
    }
}

/// Every hosted-page answer: never sniffed, never cached, never a referrer.
fn assert_page_headers(what: &str, res: &reqwest::Response) {
    let h = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
    assert!(
        h("content-security-policy").contains("default-src 'none'"),
        "{what}: {}",
        h("content-security-policy")
    );
}

/// Not framed at all: CSP `frame-ancestors 'none'` and `X-Frame-Options: DENY`.
fn assert_not_framable(what: &str, res: &reqwest::Response) {
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(csp.ends_with("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(res.headers()["x-frame-options"], "DENY", "{what}");
}

/// The cart, checkout, embedded checkout and confirmation pages, their redirects and
/// their error pages carry the headers that keep a shopper's data out of caches,
/// referrers and other sites' frames; only the embedded checkout may be framed, and only
/// by the store's own site.
async fn hosted_pages_carry_security_headers(app: TestApp) {
    let app = app.with_fixtures().await;
    app.kassa
        .set_storefront("demo", None, vec!["https://shop.example.com".into()])
        .await
        .expect("storefront origin");
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    let links = |r: &common::Reply, k: &str| r.data()[k].as_str().expect(k).to_string();
    let r = app
        .post(
            &format!("/stores/demo/v3/carts/{cart}/redirect_urls"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart_url = links(&r, "cart_url");
    let mut shopper = PageVisitor {
        app: &app,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        cookies: Default::default(),
    };

    let res = shopper.send(Method::GET, &cart_url, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_page_headers("cart link", &res);
    let res = shopper.send(Method::GET, "/stores/demo/cart", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_page_headers("cart page", &res);
    assert_not_framable("cart page", &res);
    let res = shopper
        .send(Method::GET, "/stores/demo/checkout", &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_page_headers("checkout page", &res);
    assert_not_framable("checkout page", &res);
    let html = res.text().await.expect("checkout html");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf token")
        .to_string();
    // A form the extractor refuses is a page with the same headers, not bare text.
    let res = shopper
        .client
        .post(format!("{}/stores/demo/checkout/details", app.base))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("bad form");
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_page_headers("refused form", &res);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html"),
        "refused form"
    );

    let res = shopper
        .send(
            Method::POST,
            "/stores/demo/checkout/details",
            &[
                ("csrf", &csrf),
                ("email", "ada@example.com"),
                ("bill_first_name", "Ada"),
                ("bill_last_name", "Lovelace"),
                ("bill_address1", "1 Market St"),
                ("bill_city", "San Francisco"),
                ("bill_state_or_province", "California"),
                ("bill_postal_code", "94105"),
                ("bill_country_code", "US"),
                ("same_as_billing", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_page_headers("details saved", &res);
    let res = shopper
        .send(
            Method::POST,
            "/stores/demo/checkout/pay",
            &[
                ("csrf", &csrf),
                ("card_name", "Ada Lovelace"),
                ("card_number", "4111 1111 1111 1111"),
                ("exp_month", "12"),
                ("exp_year", "2035"),
                ("cvv", "123"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.headers());
    assert_page_headers("paid", &res);
    let confirmation = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let res = shopper.send(Method::GET, &confirmation, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_page_headers("confirmation page", &res);
    assert_not_framable("confirmation page", &res);
    let html = res.text().await.expect("confirmation html");
    assert!(html.contains("Thank you for your order"), "{html}");
    // Another shopper without the receipt gets an error page, with the same headers.
    let mut stranger = PageVisitor {
        app: &app,
        client: shopper.client.clone(),
        cookies: Default::default(),
    };
    let res = stranger.send(Method::GET, &confirmation, &[]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_page_headers("someone else's confirmation", &res);
    assert_not_framable("someone else's confirmation", &res);

    // The embedded checkout (a new cart's link) may be framed by the store's site only.
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    let r = app
        .post(
            &format!("/stores/demo/v3/carts/{cart}/redirect_urls"),
            json!({}),
        )
        .await;
    let embedded_url = links(&r, "embedded_checkout_url");
    let mut framed = PageVisitor {
        app: &app,
        client: shopper.client.clone(),
        cookies: Default::default(),
    };
    let res = framed.send(Method::GET, &embedded_url, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = framed.send(Method::GET, "/stores/demo/checkout", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_page_headers("embedded checkout", &res);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(
        csp.ends_with("frame-ancestors https://shop.example.com"),
        "{csp}"
    );
    assert!(res.headers().get("x-frame-options").is_none());
}
