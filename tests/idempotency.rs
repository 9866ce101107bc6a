//! `Idempotency-Key` on POSTs, over real HTTP on both backends: a retry replays the
//! first answer and does nothing twice; the same key with another request is a 422; a
//! key is per store; concurrent retries place one order and charge once; answers that
//! are not final (401, 409, 5xx) are not kept; a claim left by a request that died is
//! taken over; bad keys are a 400.

mod common;

use common::flow::checkout_with;
use common::{Reply, TOKEN, TestApp};
use futures_util::future::join_all;
use kassa::http::idempotency::{ABANDONED_AFTER_SECS, KEY_LIFETIME_SECS, fingerprint};
use kassa::store::idempotency::{ClaimClock, Claimed};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_retry_replays_the_first_answer_and_does_nothing_twice,
    the_same_key_with_another_request_is_refused,
    keys_belong_to_one_store,
    concurrent_retries_of_one_order_place_exactly_one,
    hundred_payment_attempts_each_retried_charge_once,
    a_claim_in_flight_is_409_until_it_is_abandoned,
    an_order_placed_by_a_request_that_died_is_found_by_its_retry,
    answers_that_are_not_final_are_not_kept,
    keys_expire_after_a_day,
    malformed_keys_are_refused,
);

const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";

/// A response with its raw body, to compare replays byte for byte.
struct Raw {
    reply: Reply,
    text: String,
}

impl Raw {
    fn replayed(&self) -> bool {
        self.reply
            .headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true")
    }
}

/// POSTs `body` with `X-Auth-Token: token` and, when given, `Idempotency-Key: key`.
async fn post_keyed(
    app: &TestApp,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> Raw {
    let mut req = app
        .client
        .request(Method::POST, format!("{}{}", app.base, path))
        .header("X-Auth-Token", token)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    raw(req.send().await.expect("request")).await
}

async fn raw(res: reqwest::Response) -> Raw {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("non-JSON ({e}) {status}: {text}"))
    };
    Raw {
        reply: Reply {
            status,
            body,
            headers,
        },
        text,
    }
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> Raw {
    post_keyed(app, TOKEN, path, Some(key), &body).await
}

fn title(r: &Raw) -> String {
    r.reply.body["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A complete checkout (an e-book, billed to California); returns its id.
async fn complete_checkout(app: &TestApp) -> String {
    checkout_with(
        app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await
}

/// The claim clock as the middleware sets it at `now`.
fn claim_clock(now: i64) -> ClaimClock {
    ClaimClock {
        now,
        abandoned_before: now - ABANDONED_AFTER_SECS,
        expired_before: now - KEY_LIFETIME_SECS,
    }
}

async fn order_count(app: &TestApp) -> i64 {
    let r = app.get("/stores/demo/v2/orders/count").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["count"].as_i64().expect("count")
}

async fn a_retry_replays_the_first_answer_and_does_nothing_twice(app: TestApp) {
    let app = app.with_fixtures().await;
    let body = json!({"line_items": [{"product_id": 930, "quantity": 1}]});
    let first = post(&app, CARTS, "cart-1", body.clone()).await;
    assert_eq!(first.reply.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed());
    let again = post(&app, CARTS, "cart-1", body.clone()).await;
    assert_eq!(again.reply.status, StatusCode::CREATED, "{}", again.text);
    assert!(again.replayed(), "{:?}", again.reply.headers);
    assert_eq!(again.text, first.text, "replayed byte for byte");
    assert_eq!(
        again.reply.headers.get("content-type"),
        first.reply.headers.get("content-type")
    );
    let cart = first.reply.body["data"]["id"].as_str().unwrap().to_string();

    // Adding an item twice under one key adds it once.
    let items = format!("{CARTS}/{cart}/items");
    let add = json!({"line_items": [{"product_id": 930, "quantity": 2}]});
    let a = post(&app, &items, "add-1", add.clone()).await;
    let b = post(&app, &items, "add-1", add.clone()).await;
    assert!(a.reply.status.is_success(), "{}", a.text);
    assert_eq!(b.reply.status, a.reply.status);
    assert_eq!(b.text, a.text);
    let got = app.get(&format!("{CARTS}/{cart}")).await;
    let lines = got.data()["line_items"]["digital_items"]
        .as_array()
        .expect("digital items");
    let quantity: i64 = lines.iter().map(|l| l["quantity"].as_i64().unwrap()).sum();
    assert_eq!(quantity, 3, "{}", got.body);
    assert_eq!(
        got.data()["cart_amount"],
        a.reply.body["data"]["cart_amount"]
    );

    // A coupon created twice under one key exists once.
    let coupon = json!({"name": "Ten off", "code": "TENOFF", "type": "per_total_discount",
                        "amount": "10", "applies_to": {"entity": "categories", "ids": [0]}});
    let c1 = post(&app, "/stores/demo/v2/coupons", "coupon-1", coupon.clone()).await;
    let c2 = post(&app, "/stores/demo/v2/coupons", "coupon-1", coupon.clone()).await;
    assert_eq!(c1.reply.status, StatusCode::CREATED, "{}", c1.text);
    assert_eq!(c2.reply.status, StatusCode::CREATED, "{}", c2.text);
    assert!(c2.replayed());
    assert_eq!(c1.text, c2.text);
    let count = app.get("/stores/demo/v2/coupons/count").await;
    assert_eq!(count.body["count"], 1, "{}", count.body);

    // Without a key nothing is remembered: the same POST makes a second cart.
    let plain1 = post_keyed(&app, TOKEN, CARTS, None, &body).await;
    let plain2 = post_keyed(&app, TOKEN, CARTS, None, &body).await;
    assert!(!plain2.replayed());
    assert_ne!(
        plain1.reply.body["data"]["id"],
        plain2.reply.body["data"]["id"]
    );

    // Other methods ignore the header.
    let res = app
        .client
        .get(format!("{}{CARTS}/{cart}", app.base))
        .header("X-Auth-Token", TOKEN)
        .header("Idempotency-Key", "cart-1")
        .send()
        .await
        .unwrap();
    let get = raw(res).await;
    assert_eq!(get.reply.status, StatusCode::OK);
    assert!(!get.replayed());
}

async fn the_same_key_with_another_request_is_refused(app: TestApp) {
    let app = app.with_fixtures().await;
    let first = post(
        &app,
        CARTS,
        "k-1",
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    assert_eq!(first.reply.status, StatusCode::CREATED, "{}", first.text);
    // Another body.
    let other = post(
        &app,
        CARTS,
        "k-1",
        json!({"line_items": [{"product_id": 930, "quantity": 2}]}),
    )
    .await;
    assert_eq!(
        other.reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert!(
        title(&other).contains("different request"),
        "{}",
        other.text
    );
    assert_eq!(other.reply.body["status"], 422);
    assert!(other.reply.body["type"].is_string());
    // Another path.
    let cart = first.reply.body["data"]["id"].as_str().unwrap();
    let elsewhere = post(
        &app,
        &format!("{CARTS}/{cart}/items"),
        "k-1",
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    assert_eq!(elsewhere.reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another caller of the same store never gets this caller's answer.
    let token = app.token_with_scopes("store_cart").await;
    let stranger = post_keyed(
        &app,
        &token,
        CARTS,
        Some("k-1"),
        &json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    assert_eq!(
        stranger.reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stranger.text
    );
    assert!(!stranger.text.contains(cart));
    // The original request still replays.
    let again = post(
        &app,
        CARTS,
        "k-1",
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    assert!(again.replayed());
    assert_eq!(again.text, first.text);
}

async fn keys_belong_to_one_store(app: TestApp) {
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("other store");
    let other_token = app
        .kassa
        .create_token("other", "t", &kassa::domain::scope::Scopes::every(), None)
        .await
        .expect("token");
    let body = json!({"custom_items": [{"sku": "GIFT-WRAP", "name": "Gift wrap", "quantity": 1, "list_price": 5}]});
    let ours = post(&app, CARTS, "shared-key", body.clone()).await;
    assert_eq!(ours.reply.status, StatusCode::CREATED, "{}", ours.text);
    let theirs = post_keyed(
        &app,
        &other_token,
        "/stores/other/v3/carts",
        Some("shared-key"),
        &body,
    )
    .await;
    assert_eq!(theirs.reply.status, StatusCode::CREATED, "{}", theirs.text);
    assert!(!theirs.replayed());
    assert_ne!(
        theirs.reply.body["data"]["id"],
        ours.reply.body["data"]["id"]
    );
    // Each store replays its own.
    let ours_again = post(&app, CARTS, "shared-key", body.clone()).await;
    assert_eq!(ours_again.text, ours.text);
    let theirs_again = post_keyed(
        &app,
        &other_token,
        "/stores/other/v3/carts",
        Some("shared-key"),
        &body,
    )
    .await;
    assert_eq!(theirs_again.text, theirs.text);
}

async fn concurrent_retries_of_one_order_place_exactly_one(app: TestApp) {
    let app = app.with_fixtures().await;
    let id = complete_checkout(&app).await;
    let before = order_count(&app).await;
    let path = format!("{CHECKOUTS}/{id}/orders");
    let replies = join_all((0..20).map(|_| post(&app, &path, "place-once", json!({})))).await;
    let mut fresh = Vec::new();
    let mut replays = Vec::new();
    let mut conflicts = 0;
    for r in &replies {
        match r.reply.status {
            StatusCode::OK if r.replayed() => replays.push(r.reply.body["data"]["id"].clone()),
            StatusCode::OK => fresh.push(r.reply.body["data"]["id"].clone()),
            StatusCode::CONFLICT => {
                assert!(title(r).contains("still being processed"), "{}", r.text);
                assert_eq!(
                    r.reply.headers.get("retry-after"),
                    Some(&HeaderValue::from_static("1"))
                );
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(fresh.len(), 1, "exactly one request placed the order");
    assert_eq!(fresh.len() + replays.len() + conflicts, 20);
    let order_id = fresh[0].as_i64().expect("order id");
    assert!(replays.iter().all(|r| r.as_i64() == Some(order_id)));
    assert_eq!(order_count(&app).await, before + 1);
    // A retry after the dust settles replays the same order.
    let late = post(&app, &path, "place-once", json!({})).await;
    assert!(late.replayed());
    assert_eq!(late.reply.body["data"]["id"], order_id);
    // And the next order placed is the very next id: none was made in between.
    let next = complete_checkout(&app).await;
    let r = app
        .post(&format!("{CHECKOUTS}/{next}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["id"], order_id + 1);
}

async fn hundred_payment_attempts_each_retried_charge_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let id = complete_checkout(&app).await;
    let placed = app
        .post(&format!("{CHECKOUTS}/{id}/orders"), json!({}))
        .await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    let order_id = placed.data()["id"].as_i64().unwrap();
    let r = app
        .post(
            "/stores/demo/v3/payments/access_tokens",
            json!({"order": {"id": order_id}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let pat = r.data()["id"].as_str().unwrap().to_string();
    let card = json!({"payment": {"instrument": {"type": "card", "number": "4111111111111111",
        "cardholder_name": "Ada Lovelace", "expiry_month": 12, "expiry_year": 2040,
        "verification_value": "123"}, "payment_method_id": "testgateway.card"}});
    let pay = |key: String| {
        let req = app
            .client
            .post(format!("{}/stores/demo/payments", app.base))
            .header("Authorization", format!("PAT {pat}"))
            .header("Idempotency-Key", key)
            .json(&card);
        async move { raw(req.send().await.expect("request")).await }
    };
    let first = join_all((0..100).map(|i| pay(format!("attempt-{i}")))).await;
    let retries = join_all((0..100).map(|i| pay(format!("attempt-{i}")))).await;
    let mut charged = Vec::new();
    for (i, (a, b)) in first.iter().zip(&retries).enumerate() {
        match a.reply.status {
            StatusCode::CREATED => charged.push(i),
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {}
            other => panic!("attempt {i}: unexpected {other}: {}", a.text),
        }
        if a.reply.status == StatusCode::CREATED
            || a.reply.status == StatusCode::UNPROCESSABLE_ENTITY
        {
            // A final answer is replayed as it was.
            assert!(b.replayed(), "retry {i}: {}", b.text);
            assert_eq!(b.text, a.text, "retry {i}");
        } else {
            // A 409 was not kept: its retry ran, and found the order paid.
            assert_eq!(
                b.reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                b.text
            );
        }
    }
    assert_eq!(charged.len(), 1, "exactly one attempt charged");
    let store = app.kassa.find_store("demo").await.unwrap();
    let tx = app
        .kassa
        .store
        .order_transactions(store.id, order_id)
        .await
        .unwrap();
    let purchases = tx
        .iter()
        .filter(|(_, event, status, _)| event == "purchase" && status == "ok")
        .count();
    assert_eq!(purchases, 1, "{tx:?}");
}

async fn a_claim_in_flight_is_409_until_it_is_abandoned(app: TestApp) {
    let app = app.with_fixtures().await;
    let body = json!({"line_items": [{"product_id": 930, "quantity": 1}]});
    // A request that claimed the key and then died with the process.
    let mut headers = HeaderMap::new();
    headers.insert("x-auth-token", HeaderValue::from_static(TOKEN));
    let print = fingerprint("POST", CARTS, &headers, body.to_string().as_bytes());
    let clock = claim_clock(app.kassa.now());
    let claimed = app
        .kassa
        .store
        .claim_idempotency_key("store:demo", "died", &print, clock)
        .await
        .unwrap();
    assert!(matches!(claimed, Claimed::Started { .. }), "{claimed:?}");

    let r = post(&app, CARTS, "died", body.clone()).await;
    assert_eq!(r.reply.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(title(&r).contains("still being processed"), "{}", r.text);
    assert_eq!(r.reply.headers.get("retry-after").unwrap(), "1");
    // A different request under that key is still a 422, not a 409.
    let r = post(&app, CARTS, "died", json!({})).await;
    assert_eq!(
        r.reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.text
    );

    // Past the request timeout (with margin) the claim counts as abandoned: the retry runs.
    app.clock.advance(ABANDONED_AFTER_SECS + 1);
    let r = post(&app, CARTS, "died", body.clone()).await;
    assert_eq!(r.reply.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.replayed());
    let again = post(&app, CARTS, "died", body.clone()).await;
    assert!(again.replayed());
    assert_eq!(again.text, r.text);
}

async fn answers_that_are_not_final_are_not_kept(app: TestApp) {
    let app = app.with_fixtures().await;
    let body = json!({"line_items": [{"product_id": 930, "quantity": 1}]});
    // 401: the retry with the right token runs.
    let denied = post_keyed(&app, "wrong-token", CARTS, Some("auth-1"), &body).await;
    assert_eq!(
        denied.reply.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        denied.text
    );
    let ok = post(&app, CARTS, "auth-1", body.clone()).await;
    assert_eq!(ok.reply.status, StatusCode::CREATED, "{}", ok.text);
    assert!(!ok.replayed());

    // 403: neither.
    let weak = app.token_with_scopes("store_v2_orders_read_only").await;
    let r = post_keyed(&app, &weak, CARTS, Some("scope-1"), &body).await;
    assert_eq!(r.reply.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = post(&app, CARTS, "scope-1", body.clone()).await;
    assert_eq!(r.reply.status, StatusCode::CREATED, "{}", r.text);

    // 409 (a duplicate coupon code): once the clash is gone, the retry runs.
    let coupon = json!({"name": "Five off", "code": "FIVE", "type": "per_total_discount",
                        "amount": "5", "applies_to": {"entity": "categories", "ids": [0]}});
    let r = app.post("/stores/demo/v2/coupons", coupon.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let existing = r.body["id"].as_i64().unwrap();
    let clash = post(&app, "/stores/demo/v2/coupons", "coupon-9", coupon.clone()).await;
    assert_eq!(clash.reply.status, StatusCode::CONFLICT, "{}", clash.text);
    let r = app
        .delete(&format!("/stores/demo/v2/coupons/{existing}"))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = post(&app, "/stores/demo/v2/coupons", "coupon-9", coupon.clone()).await;
    assert_eq!(r.reply.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.replayed());

    // 5xx: a coupon document the store cannot read makes coupon writes fail with 503;
    // once it is repaired, the retry under the same key runs.
    let store = app.kassa.find_store("demo").await.unwrap();
    app.kassa
        .store
        .put_config_doc(
            store.id,
            "coupon",
            999,
            &json!({"broken": true}),
            app.kassa.now(),
        )
        .await
        .unwrap();
    let coupon = json!({"name": "Two off", "code": "TWO", "type": "per_total_discount",
                        "amount": "2", "applies_to": {"entity": "categories", "ids": [0]}});
    let failed = post(
        &app,
        "/stores/demo/v2/coupons",
        "coupon-5xx",
        coupon.clone(),
    )
    .await;
    assert!(
        failed.reply.status.is_server_error(),
        "{} {}",
        failed.reply.status,
        failed.text
    );
    app.kassa
        .store
        .delete_config_doc(store.id, "coupon", 999)
        .await
        .unwrap();
    let r = post(
        &app,
        "/stores/demo/v2/coupons",
        "coupon-5xx",
        coupon.clone(),
    )
    .await;
    assert_eq!(r.reply.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.replayed());

    // A final 4xx is kept: a 422 replays even after the cause is gone.
    let bad = json!({"line_items": [{"product_id": 424242, "quantity": 1}]});
    let r1 = post(&app, CARTS, "bad-1", bad.clone()).await;
    assert!(r1.reply.status.is_client_error(), "{}", r1.text);
    let r2 = post(&app, CARTS, "bad-1", bad.clone()).await;
    assert_eq!(r2.reply.status, r1.reply.status);
    assert!(r2.replayed());
    assert_eq!(r2.text, r1.text);
}

async fn keys_expire_after_a_day(app: TestApp) {
    let app = app.with_fixtures().await;
    let one = json!({"line_items": [{"product_id": 930, "quantity": 1}]});
    let two = json!({"line_items": [{"product_id": 930, "quantity": 2}]});
    let first = post(&app, CARTS, "daily", one.clone()).await;
    assert_eq!(first.reply.status, StatusCode::CREATED);
    app.clock.advance(KEY_LIFETIME_SECS - 60);
    assert!(post(&app, CARTS, "daily", one.clone()).await.replayed());
    app.clock.advance(120);
    // Expired: the key is free for a new request, which runs.
    let fresh = post(&app, CARTS, "daily", two.clone()).await;
    assert_eq!(fresh.reply.status, StatusCode::CREATED, "{}", fresh.text);
    assert!(!fresh.replayed());
    assert_ne!(
        fresh.reply.body["data"]["id"],
        first.reply.body["data"]["id"]
    );
    // The sweeper deletes what has expired and nothing else.
    let other = post(&app, CARTS, "other-old", one.clone()).await;
    assert_eq!(other.reply.status, StatusCode::CREATED);
    app.clock.advance(KEY_LIFETIME_SECS + 1);
    let purged = app
        .kassa
        .store
        .purge_idempotency_keys(app.kassa.now() - KEY_LIFETIME_SECS, 500)
        .await
        .unwrap();
    assert_eq!(purged, 2);
    kassa::http::idempotency::purge_expired_keys(&app.kassa).await;
}

async fn malformed_keys_are_refused(app: TestApp) {
    let app = app.with_fixtures().await;
    let body = json!({"line_items": [{"product_id": 930, "quantity": 1}]});
    let long = "k".repeat(256);
    let cases: Vec<Vec<HeaderValue>> = vec![
        vec![HeaderValue::from_static("")],
        vec![HeaderValue::from_str(&long).unwrap()],
        vec![HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()],
        vec![HeaderValue::from_static("a"), HeaderValue::from_static("b")],
    ];
    for values in cases {
        let mut req = app
            .client
            .post(format!("{}{CARTS}", app.base))
            .header("X-Auth-Token", TOKEN)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for v in &values {
            req = req.header("Idempotency-Key", v.clone());
        }
        let r = raw(req.send().await.unwrap()).await;
        assert_eq!(
            r.reply.status,
            StatusCode::BAD_REQUEST,
            "{values:?}: {}",
            r.text
        );
        assert!(title(&r).contains("Idempotency-Key"), "{}", r.text);
        assert_eq!(r.reply.body["status"], 400);
    }
    // 255 characters is fine.
    let r = post(&app, CARTS, &"k".repeat(255), body.clone()).await;
    assert_eq!(r.reply.status, StatusCode::CREATED, "{}", r.text);
}

async fn an_order_placed_by_a_request_that_died_is_found_by_its_retry(app: TestApp) {
    let app = app.with_fixtures().await;
    let id = complete_checkout(&app).await;
    let path = format!("{CHECKOUTS}/{id}/orders");
    let before = order_count(&app).await;
    // The first attempt claims the key and places the order (recording it on the key in
    // the order's own transaction), then dies before its response is saved.
    let mut headers = HeaderMap::new();
    headers.insert("x-auth-token", HeaderValue::from_static(TOKEN));
    let print = fingerprint("POST", &path, &headers, json!({}).to_string().as_bytes());
    let clock = claim_clock(app.kassa.now());
    let claimed = app
        .kassa
        .store
        .claim_idempotency_key("store:demo", "died-placing", &print, clock)
        .await
        .unwrap();
    assert!(matches!(claimed, Claimed::Started { .. }), "{claimed:?}");
    let who = app.kassa.authenticate("demo", TOKEN).await.unwrap();
    let claim = kassa::store::IdempotencyClaim {
        scope: "store:demo".into(),
        key: "died-placing".into(),
        outcome: None,
    };
    let placed = app
        .kassa
        .create_order(&who, id.parse().unwrap(), Some(&claim))
        .await
        .unwrap();
    assert_eq!(order_count(&app).await, before + 1);

    // While the claim looks alive the retry waits; once abandoned it runs, and finds the
    // order its first attempt placed instead of placing another.
    let r = post(&app, &path, "died-placing", json!({})).await;
    assert_eq!(r.reply.status, StatusCode::CONFLICT, "{}", r.text);
    app.clock.advance(ABANDONED_AFTER_SECS + 1);
    let r = post(&app, &path, "died-placing", json!({})).await;
    assert_eq!(r.reply.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.reply.body["data"]["id"], json!(placed), "{}", r.text);
    assert_eq!(order_count(&app).await, before + 1);
    let again = post(&app, &path, "died-placing", json!({})).await;
    assert!(again.replayed());
    assert_eq!(again.reply.body["data"]["id"], json!(placed));
}
