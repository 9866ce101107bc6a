//! Abandoned carts: settings (store-wide and per channel), recovery-token lookup, and
//! the sweep that fires `store/cart/abandoned` once per cart.

mod common;
#[path = "support/receiver.rs"]
mod receiver;

use common::TestApp;
use common::flow::CARTS;
use receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const SETTINGS: &str = "/stores/demo/v3/abandoned-carts/settings";
const HOUR: i64 = 3600;

on_both_backends!(
    global_settings_have_defaults_and_validate,
    channel_settings_override_and_clear,
    abandoned_once_with_token_lookup,
);

async fn global_settings_have_defaults_and_validate(app: TestApp) {
    let r = app.get(SETTINGS).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["enable_notification"], true);
    assert_eq!(r.data()["email_merchant_when_cart_is_abandoned"], false);
    assert_eq!(
        r.data()["merchant_abandoned_cart_email_frequency_type"],
        "individual"
    );
    let r = app
        .put(
            SETTINGS,
            json!({"email_merchant_when_cart_is_abandoned": true,
                   "merchant_email_address": "owner@example.com",
                   "merchant_abandoned_cart_email_frequency_type": "digest",
                   "merchant_abandoned_cart_digest_email_frequency": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["email_merchant_when_cart_is_abandoned"], true);
    assert_eq!(
        r.data()["merchant_abandoned_cart_digest_email_frequency"],
        10
    );
    // Kept across reads; untouched fields keep their defaults.
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["merchant_email_address"], "owner@example.com");
    assert_eq!(r.data()["enable_notification"], true);

    for (body, field) in [
        (json!({"enable_notification": "yes"}), "enable_notification"),
        (
            json!({"merchant_abandoned_cart_digest_email_frequency": 1}),
            "merchant_abandoned_cart_digest_email_frequency",
        ),
        (
            json!({"merchant_abandoned_cart_email_frequency_type": "weekly"}),
            "merchant_abandoned_cart_email_frequency_type",
        ),
        (
            json!({"merchant_email_address": "not-an-email"}),
            "merchant_email_address",
        ),
    ] {
        let r = app.put(SETTINGS, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(r.body["errors"][field].is_string(), "{}", r.body);
    }
    // Nothing of a refused change was written.
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["enable_notification"], true);

    // Information & Settings scopes: read-only may read, not write.
    let ro = app
        .token_with_scopes("store_v2_information_read_only")
        .await;
    let r = app.call_as(&ro, Method::GET, SETTINGS, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(
            &ro,
            Method::PUT,
            SETTINGS,
            Some(json!({"enable_notification": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn channel_settings_override_and_clear(app: TestApp) {
    let url = format!("{SETTINGS}/channels/1");
    let r = app.get(&url).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["enable_notification"], Value::Null);
    let r = app
        .put(
            &url,
            json!({"enable_notification": false, "merchant_email_address": "c1@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["enable_notification"], false);
    assert_eq!(r.data()["merchant_email_address"], "c1@example.com");
    let r = app.put(&url, json!({"enable_notification": null})).await;
    assert_eq!(r.data()["enable_notification"], Value::Null);
    assert_eq!(r.data()["merchant_email_address"], "c1@example.com");
    // Another channel and the store-wide values are untouched.
    let r = app.get(&format!("{SETTINGS}/channels/2")).await;
    assert_eq!(r.data()["merchant_email_address"], Value::Null);
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["enable_notification"], true);
    let r = app.get(&format!("{SETTINGS}/channels/0")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get(&format!("{SETTINGS}/channels/abc")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn abandoned_once_with_token_lookup(app: TestApp) {
    // A dispatcher beside the app delivers; the app's clock drives the sweep.
    let url = app.database_url.clone();
    let app = app.with_fixtures().await;
    let node = common::side_dispatcher(&url).await;
    let rx = Receiver::start().await;
    let r = app
        .post(
            "/stores/demo/v3/hooks",
            json!({"scope": "store/cart/abandoned", "destination": rx.url}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let idle = r.data()["id"].as_str().unwrap().to_string();
    app.clock.advance(HOUR - 10);
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    let fresh = r.data()["id"].as_str().unwrap().to_string();
    // Not yet an hour: nothing is abandoned.
    assert_eq!(app.kassa.abandon_idle_carts(HOUR, 500).await.unwrap(), 0);
    app.clock.advance(20);
    // The idle cart is, once; the recent one is not.
    assert_eq!(app.kassa.abandon_idle_carts(HOUR, 500).await.unwrap(), 1);
    assert_eq!(app.kassa.abandon_idle_carts(HOUR, 500).await.unwrap(), 0);
    app.clock.advance(HOUR);
    assert_eq!(app.kassa.abandon_idle_carts(HOUR, 500).await.unwrap(), 1);
    assert_eq!(app.kassa.abandon_idle_carts(HOUR, 500).await.unwrap(), 0);

    let got = rx
        .wait_until(Duration::from_secs(20), |b| b.len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.accepted().len(), 2);
    assert!(got.iter().all(|b| b["scope"] == "store/cart/abandoned"));
    // Different carts are delivered concurrently, so in any order.
    let mut data: Vec<String> = got.iter().map(|b| b["data"].to_string()).collect();
    data.sort();
    let mut want = vec![
        json!({"type": "cart", "id": idle}).to_string(),
        json!({"type": "cart", "id": fresh}).to_string(),
    ];
    want.sort();
    assert_eq!(data, want);

    // The recovery token finds the cart.
    let store_id = app.kassa.find_store("demo").await.unwrap().id;
    let token = app
        .kassa
        .store
        .abandoned_cart_token(store_id, &idle)
        .await
        .unwrap()
        .expect("token");
    let r = app
        .get(&format!("/stores/demo/v3/abandoned-carts/{token}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["cart_id"], idle.as_str());
    let r = app
        .get(&format!(
            "/stores/demo/v3/abandoned-carts/{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/stores/demo/v3/abandoned-carts/not-a-token").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["token"].is_string());
    drop(node);
}
