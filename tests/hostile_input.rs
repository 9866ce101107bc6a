//! No input makes Kassa answer 5xx: random JSON, valid bodies with one field swapped
//! for something hostile, and odd paths, against every cart endpoint. Every 4xx must
//! be in the v3 error shape.

mod common;

use common::{AppOptions, TestApp};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    random_bodies_never_cause_5xx,
    hostile_paths_never_cause_5xx,
    huge_configured_amounts_are_refused_and_pricing_survives_the_largest,
    an_oversized_body_is_413_in_each_api_shape,
    oversized_headers_are_431,
    json_nested_too_deeply_is_400,
    a_cart_holds_at_most_1000_lines,
    a_body_that_does_not_arrive_in_time_is_408
);

/// Values that have broken JSON APIs before: huge and tiny numbers, wrong types,
/// long strings, deep nesting, control characters.
fn hostile_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(9_223_372_036_854_775_807i64)),
        Just(json!(-9_223_372_036_854_775_808i64)),
        Just(json!(18_446_744_073_709_551_615u64)),
        Just(json!(0.000_000_000_1)),
        Just(json!(123.456_789_012_345)),
        Just(json!("")),
        Just(json!("\u{0000}\u{001f}\u{202e}")),
        Just(json!("x".repeat(5000))),
        Just(json!([])),
        Just(json!({})),
        Just((0..40).fold(json!(1), |v, _| json!([v]))),
        any::<i64>().prop_map(|i| json!(i)),
        "[a-zA-Z0-9 @.]{0,40}".prop_map(|s| json!(s)),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    hostile_scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("line_items".to_string()),
                    Just("custom_items".to_string()),
                    Just("gift_certificates".to_string()),
                    Just("quantity".to_string()),
                    Just("product_id".to_string()),
                    Just("variant_id".to_string()),
                    Just("option_selections".to_string()),
                    Just("list_price".to_string()),
                    Just("version".to_string()),
                    Just("currency".to_string()),
                    Just("customer_id".to_string()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid bodies for each endpoint, so mutations reach deep validation paths.
fn valid_bodies() -> Vec<Value> {
    vec![
        json!({"line_items": [{"product_id": 1, "variant_id": 1, "quantity": 1}]}),
        json!({"line_items": [{"product_id": 2, "quantity": 1, "option_selections": [{"option_id": 3, "option_value": 6}, {"option_id": 4, "option_value": "Hi"}]}]}),
        json!({"custom_items": [{"sku": "a", "name": "b", "quantity": 1, "list_price": 1}]}),
        json!({"gift_certificates": [{"name": "g", "theme": "Birthday", "amount": 10, "quantity": 1,
            "sender": {"name": "s", "email": "s@example.com"}, "recipient": {"name": "r", "email": "r@example.com"}}]}),
        json!({"line_item": {"quantity": 2}, "version": 1}),
        json!({"customer_id": 1, "version": 1}),
        json!({"first_name": "A", "email": "a@example.com", "country_code": "US", "state_or_province": "CA", "postal_code": "94105", "phone": "+14155550100"}),
        json!([{"address": {"email": "a@example.com", "country_code": "US", "state_or_province": "CA", "postal_code": "94105"}, "line_items": [{"item_id": "x", "quantity": 1}]}]),
        json!({"cart": {"discounts": [{"discounted_amount": 1}]}}),
        json!({"fees": [{"type": "custom_fee", "name": "n", "display_name": "d", "cost": 1, "source": "s"}]}),
        json!({"currency": {"code": "EUR"}, "locale": "en-US", "channel_id": 1, "customer_id": 0,
            "line_items": [{"product_id": 5, "quantity": 1, "list_price": 3.5}]}),
    ]
}

/// Replaces the value at one randomly chosen position of `v` with `with`.
fn mutate(v: &mut Value, path: &[usize], with: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(first % m.len()).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&key) {
                if rest.is_empty() || !(child.is_object() || child.is_array()) {
                    *child = with;
                } else {
                    mutate(child, rest, with);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            let child = &mut a[first % n];
            if rest.is_empty() || !(child.is_object() || child.is_array()) {
                *child = with;
            } else {
                mutate(child, rest, with);
            }
        }
        _ => *v = with,
    }
}

fn assert_sane(what: &str, status: reqwest::StatusCode, body: &Value) {
    assert!(status.as_u16() < 500, "{what} answered {status}: {body}");
    if status.is_client_error() && what.contains("/v2/") {
        // V2's own shape: `[{"status": …, "message": …}]`.
        let first = &body[0];
        assert_eq!(first["status"], status.as_u16(), "{what}: {body}");
        assert!(
            first["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    } else if status.is_client_error() {
        assert_eq!(body["status"], status.as_u16(), "{what}: {body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: {body}"
        );
        assert!(body["type"].is_string(), "{what}: {body}");
    }
}

async fn random_bodies_never_cause_5xx(app: TestApp) {
    let carts = "/stores/demo/v3/carts";
    let seed = app
        .post(
            carts,
            json!({"custom_items": [{"name": "Seed", "quantity": 1, "list_price": 1}]}),
        )
        .await;
    let id = seed.data()["id"].as_str().unwrap().to_string();
    let item = seed.data()["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let endpoints = [
        (Method::POST, carts.to_string()),
        (Method::POST, format!("{carts}/{id}/items")),
        (Method::PUT, format!("{carts}/{id}/items/{item}")),
        (Method::PUT, format!("{carts}/{id}")),
        (Method::DELETE, format!("{carts}/{id}/items/{item}")),
        (Method::POST, format!("{carts}/{id}/redirect_urls")),
        (Method::POST, format!("{carts}/{id}/metafields")),
        (Method::PUT, format!("{carts}/settings")),
        (Method::POST, "/stores/demo/v3/catalog/products".to_string()),
        (
            Method::POST,
            format!("/stores/demo/v3/checkouts/{id}/billing-address"),
        ),
        (
            Method::POST,
            format!("/stores/demo/v3/checkouts/{id}/consignments"),
        ),
        (
            Method::PUT,
            format!("/stores/demo/v3/checkouts/{id}/consignments/abc"),
        ),
        (
            Method::POST,
            format!("/stores/demo/v3/checkouts/{id}/discounts"),
        ),
        (Method::POST, format!("/stores/demo/v3/checkouts/{id}/fees")),
        (Method::PUT, format!("/stores/demo/v3/checkouts/{id}")),
        (Method::POST, "/stores/demo/v2/shipping/zones".to_string()),
        (Method::POST, "/stores/demo/v3/tax/rates".to_string()),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 1,
        ..Config::default()
    });
    let bodies = valid_bodies();
    let random = arbitrary_json();
    let scalar = hostile_scalar();
    let path = proptest::collection::vec(0usize..8, 1..5);
    for round in 0..240 {
        let body = if round % 2 == 0 {
            random.new_tree(&mut runner).unwrap().current()
        } else {
            let mut b = bodies[round % bodies.len()].clone();
            let p = path.new_tree(&mut runner).unwrap().current();
            mutate(&mut b, &p, scalar.new_tree(&mut runner).unwrap().current());
            b
        };
        let (method, target) = &endpoints[round % endpoints.len()];
        // Deletes keep the seed item around only sometimes; recreate the cart when it is gone.
        let r = app.call(method.clone(), target, Some(body.clone())).await;
        assert_sane(&format!("{method} {target} with {body}"), r.status, &r.body);
    }
    // The seed cart is still readable and consistent (or was legitimately emptied).
    let r = app.get(&format!("{carts}/{id}")).await;
    assert_sane("final get", r.status, &r.body);
}

async fn hostile_paths_never_cause_5xx(app: TestApp) {
    for path in [
        "/stores/demo/v3/carts/%00",
        "/stores/demo/v3/carts/..%2F..%2Fetc",
        "/stores/demo/v3/carts/00000000-0000-0000-0000-000000000000/items/%FF",
        "/stores/%F0%9F%92%A9/v3/carts",
        "/stores/demo/v3/carts?include=%ZZ",
        "/stores/demo/v3/catalog/products?page=-1&limit=999999999999999999999",
        "/stores/demo/v3/catalog/products/99999999999999999999999",
        "/stores/demo/v3/carts/metafields?limit=abc",
        "/stores//v3/carts",
        "/stores/demo/v3/",
    ] {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let r = app.call(method.clone(), path, Some(json!({}))).await;
            assert_sane(&format!("{method} {path}"), r.status, &r.body);
        }
    }
}

/// Discounts and minimums beyond any real price are refused; the largest allowed, in a
/// currency worth 150 to the store's one, prices without overflow: it takes everything the
/// items it may discount are worth (two lamps; the third satisfies the condition).
async fn huge_configured_amounts_are_refused_and_pricing_survives_the_largest(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/promotions",
            json!({"name": "Too much", "redemption_type": "AUTOMATIC",
                   "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "1e27"}}}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Too much", "code": "HUGE", "type": "per_item_discount",
                   "amount": "79228162514264337593543950335",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    let r = app
        .post(
            "/stores/demo/v3/promotions",
            json!({"name": "Largest", "redemption_type": "AUTOMATIC",
                   "rules": [{"action": {"cart_items": {"discount": {"fixed_amount": "1000000000000"},
                                                        "as_total": true}},
                              "apply_once": false,
                              "condition": {"cart": {"items": {"products": [940]}, "minimum_quantity": 1}}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"currency": {"code": "JPY"}, "line_items": [{"product_id": 940, "quantity": 3}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["base_amount"], json!(8997), "{}", r.body);
    assert_eq!(r.data()["cart_amount"], json!(2999), "{}", r.body);
}

/// Asserts a refusal in the V3 error shape with `status` and a title containing `says`.
fn assert_refused(r: &common::Reply, status: StatusCode, says: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(
        r.body["title"].as_str().is_some_and(|t| t.contains(says)),
        "expected a title with `{says}`: {}",
        r.body
    );
}

async fn an_oversized_body_is_413_in_each_api_shape(app: TestApp) {
    // Just over 1 MiB of otherwise valid JSON.
    let name = "x".repeat(kassa::http::MAX_BODY_BYTES);
    let body = json!({"custom_items": [{"name": name, "quantity": 1, "list_price": 1}]});
    let r = app.post("/stores/demo/v3/carts", body.clone()).await;
    assert_refused(
        &r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than this API accepts (1048576 bytes)",
    );
    let r = app.post("/stores/demo/v2/orders", body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.body[0]["status"], 413, "{}", r.body);
    // Nothing was created by either.
    let r = app.get("/stores/demo/v2/orders/count").await;
    assert_eq!(r.body["count"], 0, "{}", r.body);
}

async fn oversized_headers_are_431(app: TestApp) {
    // Over Kassa's 16 KiB: refused with 431 in the API's shape, naming the limit.
    let r = app
        .client
        .get(format!("{}/stores/demo/v3/carts/settings", app.base))
        .header("X-Auth-Token", common::TOKEN)
        .header("X-Padding", "p".repeat(20 * 1024))
        .send()
        .await
        .expect("send");
    let r = TestApp::reply(r).await;
    assert_refused(
        &r,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "at most 16384",
    );
    // Just under it the same request is answered.
    let r = app
        .client
        .get(format!("{}/stores/demo/v3/carts/settings", app.base))
        .header("X-Auth-Token", common::TOKEN)
        .header("X-Padding", "p".repeat(15 * 1024))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    // More than 100 headers never reach Kassa: hyper answers 431 itself (empty body).
    let mut req = app
        .client
        .get(format!("{}/stores/demo/v3/carts/settings", app.base))
        .header("X-Auth-Token", common::TOKEN);
    for i in 0..120 {
        req = req.header(format!("x-h{i}"), "1");
    }
    let r = req.send().await.expect("send");
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

async fn json_nested_too_deeply_is_400(app: TestApp) {
    let deep = (0..40).fold(json!(1), |v, _| json!([v]));
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 1, "quantity": 1, "option_selections": deep}]}),
        )
        .await;
    assert_refused(&r, StatusCode::BAD_REQUEST, "deeper than 32 levels");
    // Brackets inside a string are only text.
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": "[".repeat(100), "quantity": 1, "list_price": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["cart_amount"], json!(1), "{}", r.body);
}

async fn a_cart_holds_at_most_1000_lines(app: TestApp) {
    let items = |n: usize| {
        (0..n)
            .map(|i| json!({"name": format!("Item {i}"), "quantity": 1, "list_price": 1}))
            .collect::<Vec<_>>()
    };
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": items(1001)}),
        )
        .await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 1000 line items",
    );
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": items(1000)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["cart_amount"], json!(1000), "{}", r.body);
    let id = r.data()["id"].as_str().expect("cart id").to_string();
    // One more line on the full cart is refused and the cart is unchanged.
    let r = app
        .post(
            &format!("/stores/demo/v3/carts/{id}/items"),
            json!({"custom_items": items(1)}),
        )
        .await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 1000 line items",
    );
    let r = app.get(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(r.data()["cart_amount"], json!(1000), "{}", r.body);
}

/// A client that announces a body and stops sending it is answered 408 when the
/// request's time runs out, in the API's shape, and nothing was written.
async fn a_body_that_does_not_arrive_in_time_is_408(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The same database under a server with a short request time (a SQLite file serves
    // one server at a time, so the first one stops).
    let (backend, url) = (app.backend, app.database_url.clone());
    app.stop().await;
    let slow = common::spawn_app_opts(
        backend,
        AppOptions {
            database_url: Some(url),
            request_timeout: Some(std::time::Duration::from_millis(500)),
            ..AppOptions::default()
        },
    )
    .await
    .expect("second app");
    let addr = slow.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /stores/demo/v3/carts HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {}\r\n\
         Connection: close\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"custom_items\": [",
        common::TOKEN
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "expected 408, got: {answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_default();
    assert_eq!(body["status"], 408, "{answer}");
    assert!(
        body["title"]
            .as_str()
            .is_some_and(|t| t.contains("did not arrive within 0.5 seconds")),
        "{answer}"
    );
    // A prompt request on the same server is answered normally.
    let r = slow.get("/stores/demo/v3/carts/settings").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
