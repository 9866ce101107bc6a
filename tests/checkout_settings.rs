//! Checkout settings (store-wide and per channel) and checkout tokens over real HTTP,
//! on both backends.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    settings_defaults_and_round_trip,
    settings_validation_names_fields,
    channel_settings_override_and_follow_the_store,
    channel_settings_validation,
    settings_scopes,
    settings_route_is_not_a_checkout,
    token_creation,
    token_request_validation_and_scopes,
    token_redeems_max_uses_times,
    token_expires,
    token_dies_with_its_cart,
);

const GLOBAL: &str = "/stores/demo/v3/checkouts/settings";

fn channel(id: &str) -> String {
    format!("{GLOBAL}/channels/{id}")
}

fn token_path(checkout_id: &str) -> String {
    format!("/stores/demo/v3/checkouts/{checkout_id}/token")
}

const SHA256: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const SHA384: &str = "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb";

fn defaults() -> Value {
    json!({
        "custom_checkout_script_url": "",
        "order_confirmation_use_custom_checkout_script": false,
        "custom_order_confirmation_script_url": "",
        "custom_checkout_supports_uco_settings": false,
        "custom_checkout_sri_hash": "",
        "custom_order_confirmation_sri_hash": ""
    })
}

fn channel_defaults() -> Value {
    let mut v = defaults();
    let extra = json!({
        "checkout_type": "optimized",
        "guest_checkout_type": "guest_checkout",
        "guest_checkout_for_existing_accounts": "allow_guest",
        "policy_consent": "none",
        "order_confirmation_contact_email": "",
        "is_order_terms_and_conditions_enabled": false,
        "order_terms_and_conditions_type": "",
        "order_terms_and_conditions_link": "",
        "order_terms_and_conditions_textarea": "",
        "should_redirect_to_storefront_for_auth": false
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// The error fields of a 422, sorted.
fn error_fields(r: &common::Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut f: Vec<String> = r.body["errors"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    f.sort();
    f
}

async fn new_cart(app: &TestApp) -> String {
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data()["id"].as_str().unwrap().to_string()
}

async fn settings_defaults_and_round_trip(app: TestApp) {
    let r = app.get(GLOBAL).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"data": defaults(), "meta": {}}));
    assert_eq!(r.headers["content-type"], "application/json");

    let r = app
        .put(
            GLOBAL,
            json!({
                "custom_checkout_script_url": "https://example.com/custom-checkout-script.js",
                "custom_order_confirmation_script_url": "webdav:vtz-order-confirmation/dist/auto-loader.js",
                "custom_checkout_supports_uco_settings": true,
                "custom_checkout_sri_hash": SHA256,
                "custom_order_confirmation_sri_hash": SHA384
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let expected = json!({
        "custom_checkout_script_url": "https://example.com/custom-checkout-script.js",
        "order_confirmation_use_custom_checkout_script": false,
        "custom_order_confirmation_script_url": "webdav:vtz-order-confirmation/dist/auto-loader.js",
        "custom_checkout_supports_uco_settings": true,
        "custom_checkout_sri_hash": SHA256,
        "custom_order_confirmation_sri_hash": SHA384
    });
    assert_eq!(r.body, json!({"data": expected, "meta": {}}));
    assert_eq!(app.get(GLOBAL).await.data(), &expected);

    // Fields left out keep their values; an empty body changes nothing.
    let r = app
        .put(
            GLOBAL,
            json!({"custom_checkout_supports_uco_settings": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.data()["custom_checkout_script_url"],
        "https://example.com/custom-checkout-script.js"
    );
    assert_eq!(r.data()["custom_checkout_supports_uco_settings"], false);
    let r = app.call_raw(Method::PUT, GLOBAL, b"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["custom_checkout_sri_hash"], SHA256);

    // The confirmation page using the checkout script has no script of its own.
    let r = app
        .put(
            GLOBAL,
            json!({"order_confirmation_use_custom_checkout_script": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.data()["order_confirmation_use_custom_checkout_script"],
        true
    );
    assert_eq!(r.data()["custom_order_confirmation_script_url"], "");
    assert_eq!(r.data()["custom_order_confirmation_sri_hash"], "");

    // Empty strings go back to the optimized one-page checkout; null resets too.
    let r = app
        .put(
            GLOBAL,
            json!({
                "custom_checkout_script_url": "",
                "custom_checkout_sri_hash": null,
                "order_confirmation_use_custom_checkout_script": null
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"data": defaults(), "meta": {}}));
    assert_eq!(app.get(GLOBAL).await.data(), &defaults());
}

async fn settings_validation_names_fields(app: TestApp) {
    app.put(
        GLOBAL,
        json!({"custom_checkout_script_url": "https://example.com/a.js"}),
    )
    .await;
    let long = format!("https://example.com/{}.js", "a".repeat(2048));
    let cases = [
        (
            json!({"custom_checkout_script_url": "ftp://example.com/a.js"}),
            vec!["custom_checkout_script_url"],
        ),
        (
            json!({"custom_checkout_script_url": "javascript:alert(1)"}),
            vec!["custom_checkout_script_url"],
        ),
        (
            json!({"custom_order_confirmation_script_url": long}),
            vec!["custom_order_confirmation_script_url"],
        ),
        (
            json!({"custom_checkout_sri_hash": "sha256-1234567890"}),
            vec!["custom_checkout_sri_hash"],
        ),
        (
            json!({"custom_order_confirmation_sri_hash": "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk="}),
            vec!["custom_order_confirmation_sri_hash"],
        ),
        (
            json!({"custom_checkout_supports_uco_settings": "yes"}),
            vec!["custom_checkout_supports_uco_settings"],
        ),
        (
            json!({"custom_checkout_script_url": 5}),
            vec!["custom_checkout_script_url"],
        ),
        (
            json!({
                "order_confirmation_use_custom_checkout_script": true,
                "custom_order_confirmation_script_url": "https://example.com/o.js"
            }),
            vec!["custom_order_confirmation_script_url"],
        ),
        (
            json!({
                "custom_checkout_script_url": "http://",
                "custom_checkout_sri_hash": "sha512-abc"
            }),
            vec!["custom_checkout_script_url", "custom_checkout_sri_hash"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.put(GLOBAL, body.clone()).await;
        assert_eq!(error_fields(&r), fields, "{body}");
        assert!(r.body["title"].is_string());
    }
    let r = app.call_raw(Method::PUT, GLOBAL, b"{oops").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Nothing was written by the refused requests.
    let r = app.get(GLOBAL).await;
    assert_eq!(
        r.data()["custom_checkout_script_url"],
        "https://example.com/a.js"
    );
    assert_eq!(r.data()["custom_checkout_sri_hash"], "");
}

async fn channel_settings_override_and_follow_the_store(app: TestApp) {
    let r = app.get(&channel("1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"data": channel_defaults(), "meta": {}}));

    let r = app
        .put(
            &channel("1"),
            json!({
                "checkout_type": "custom",
                "guest_checkout_type": "no_guest_checkout",
                "guest_checkout_for_existing_accounts": "require_login",
                "policy_consent": "express",
                "order_confirmation_contact_email": "orders@example.com",
                "is_order_terms_and_conditions_enabled": true,
                "order_terms_and_conditions_type": "link",
                "order_terms_and_conditions_link": "https://example.com/terms",
                "should_redirect_to_storefront_for_auth": true,
                "custom_checkout_script_url": "https://channel.example/c.js",
                "custom_checkout_sri_hash": SHA256
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut expected = channel_defaults();
    for (k, v) in [
        ("checkout_type", json!("custom")),
        ("guest_checkout_type", json!("no_guest_checkout")),
        (
            "guest_checkout_for_existing_accounts",
            json!("require_login"),
        ),
        ("policy_consent", json!("express")),
        (
            "order_confirmation_contact_email",
            json!("orders@example.com"),
        ),
        ("is_order_terms_and_conditions_enabled", json!(true)),
        ("order_terms_and_conditions_type", json!("link")),
        (
            "order_terms_and_conditions_link",
            json!("https://example.com/terms"),
        ),
        ("should_redirect_to_storefront_for_auth", json!(true)),
        (
            "custom_checkout_script_url",
            json!("https://channel.example/c.js"),
        ),
        ("custom_checkout_sri_hash", json!(SHA256)),
    ] {
        expected[k] = v;
    }
    assert_eq!(r.data(), &expected);
    assert_eq!(app.get(&channel("1")).await.data(), &expected);
    // Other channels and the store-wide settings are untouched.
    assert_eq!(app.get(&channel("2")).await.data(), &channel_defaults());
    assert_eq!(app.get(GLOBAL).await.data(), &defaults());

    // Store-wide values show through where the channel has no override of its own.
    app.put(
        GLOBAL,
        json!({
            "custom_checkout_script_url": "https://store.example/c.js",
            "custom_checkout_supports_uco_settings": true
        }),
    )
    .await;
    let one = app.get(&channel("1")).await;
    assert_eq!(
        one.data()["custom_checkout_script_url"],
        "https://channel.example/c.js"
    );
    assert_eq!(one.data()["custom_checkout_supports_uco_settings"], true);
    let two = app.get(&channel("2")).await;
    assert_eq!(
        two.data()["custom_checkout_script_url"],
        "https://store.example/c.js"
    );

    // Fields left out are unchanged; null makes the channel follow the store again.
    let r = app
        .put(
            &channel("1"),
            json!({"custom_checkout_script_url": null, "policy_consent": null, "checkout_type": "optimized"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.data()["custom_checkout_script_url"],
        "https://store.example/c.js"
    );
    assert_eq!(r.data()["policy_consent"], "none");
    assert_eq!(r.data()["checkout_type"], "optimized");
    assert_eq!(r.data()["guest_checkout_type"], "no_guest_checkout");
    assert_eq!(r.data()["custom_checkout_sri_hash"], SHA256);

    // A channel following a store that uses the checkout script for order
    // confirmation cannot set a confirmation script without switching that off.
    app.put(
        GLOBAL,
        json!({"order_confirmation_use_custom_checkout_script": true}),
    )
    .await;
    let r = app
        .put(
            &channel("3"),
            json!({"custom_order_confirmation_script_url": "https://channel.example/o.js"}),
        )
        .await;
    assert_eq!(error_fields(&r), ["custom_order_confirmation_script_url"]);
    let r = app
        .put(
            &channel("3"),
            json!({"custom_order_confirmation_script_url": "https://channel.example/o.js",
                   "order_confirmation_use_custom_checkout_script": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.data()["custom_order_confirmation_script_url"],
        "https://channel.example/o.js"
    );
    app.put(
        GLOBAL,
        json!({"order_confirmation_use_custom_checkout_script": false}),
    )
    .await;

    // An empty string is an override too: this channel uses the default checkout.
    let r = app
        .put(&channel("2"), json!({"custom_checkout_script_url": ""}))
        .await;
    assert_eq!(r.data()["custom_checkout_script_url"], "");
    assert_eq!(
        app.get(GLOBAL).await.data()["custom_checkout_script_url"],
        "https://store.example/c.js"
    );

    // The use case the storefront will call.
    let store = app.kassa.find_store("demo").await.unwrap();
    let eff = app
        .kassa
        .effective_checkout_settings(store.id, 1)
        .await
        .unwrap();
    assert_eq!(
        eff.guest_checkout_type,
        kassa::domain::checkout_settings::GuestCheckoutType::NoGuestCheckout
    );
}

async fn channel_settings_validation(app: TestApp) {
    let r = app
        .put(
            &channel("1"),
            json!({
                "checkout_type": "fancy",
                "guest_checkout_type": "GUEST_CHECKOUT",
                "guest_checkout_for_existing_accounts": "maybe",
                "policy_consent": "",
                "order_terms_and_conditions_type": "pdf",
                "order_confirmation_contact_email": "nobody",
                "order_terms_and_conditions_link": "webdav:terms.html",
                "custom_order_confirmation_script_url": "ftp://x.example/o.js",
                "custom_order_confirmation_sri_hash": "sha256-1234567890"
            }),
        )
        .await;
    assert_eq!(
        error_fields(&r),
        [
            "checkout_type",
            "custom_order_confirmation_script_url",
            "custom_order_confirmation_sri_hash",
            "guest_checkout_for_existing_accounts",
            "guest_checkout_type",
            "order_confirmation_contact_email",
            "order_terms_and_conditions_link",
            "order_terms_and_conditions_type",
            "policy_consent",
        ]
    );
    let msg = r.body["errors"]["checkout_type"].as_str().unwrap();
    assert!(
        msg.contains("`optimized`") && msg.contains("`custom`"),
        "{msg}"
    );

    // Terms switched on need a type and its content.
    let r = app
        .put(
            &channel("1"),
            json!({"is_order_terms_and_conditions_enabled": true}),
        )
        .await;
    assert_eq!(error_fields(&r), ["order_terms_and_conditions_type"]);
    let r = app
        .put(
            &channel("1"),
            json!({"is_order_terms_and_conditions_enabled": true, "order_terms_and_conditions_type": "textarea"}),
        )
        .await;
    assert_eq!(error_fields(&r), ["order_terms_and_conditions_textarea"]);
    let r = app
        .put(
            &channel("1"),
            json!({"is_order_terms_and_conditions_enabled": true, "order_terms_and_conditions_type": "textarea",
                   "order_terms_and_conditions_textarea": "Be nice."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // ...and cannot lose it afterwards.
    let r = app
        .put(
            &channel("1"),
            json!({"order_terms_and_conditions_textarea": null}),
        )
        .await;
    assert_eq!(error_fields(&r), ["order_terms_and_conditions_textarea"]);
    let r = app
        .put(
            &channel("1"),
            json!({"should_redirect_to_storefront_for_auth": "no"}),
        )
        .await;
    assert_eq!(error_fields(&r), ["should_redirect_to_storefront_for_auth"]);

    for bad in ["0", "-3", "abc"] {
        let r = app.get(&channel(bad)).await;
        assert_eq!(error_fields(&r), ["channel_id"], "{bad}");
        let r = app.put(&channel(bad), json!({})).await;
        assert_eq!(error_fields(&r), ["channel_id"], "{bad}");
    }
    // The refused writes left the channel as it was.
    let r = app.get(&channel("1")).await;
    assert_eq!(r.data()["checkout_type"], "optimized");
    assert_eq!(r.data()["order_terms_and_conditions_textarea"], "Be nice.");
}

async fn settings_scopes(app: TestApp) {
    let cart_only = app.token_with_scopes("store_cart").await;
    for (method, path) in [
        (Method::GET, GLOBAL.to_string()),
        (Method::PUT, GLOBAL.to_string()),
        (Method::GET, channel("1")),
        (Method::PUT, channel("1")),
    ] {
        let body = (method == Method::PUT).then(|| json!({}));
        let r = app.call_as(&cart_only, method.clone(), &path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert!(
            r.body["title"]
                .as_str()
                .unwrap()
                .contains("store_checkouts"),
            "{}",
            r.body
        );
    }

    let ro = app.token_with_scopes("store_checkouts_read_only").await;
    assert_eq!(
        app.call_as(&ro, Method::GET, GLOBAL, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call_as(&ro, Method::GET, &channel("1"), None)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .call_as(
            &ro,
            Method::PUT,
            GLOBAL,
            Some(json!({"custom_checkout_script_url": "https://x.example/c.js"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("`store_checkouts`")
    );
    let r = app
        .call_as(
            &ro,
            Method::PUT,
            &channel("1"),
            Some(json!({"checkout_type": "custom"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The modify scope reads and writes.
    let rw = app.token_with_scopes("store_checkouts").await;
    let r = app
        .call_as(
            &rw,
            Method::PUT,
            &channel("4"),
            Some(json!({"policy_consent": "standard"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call_as(&rw, Method::GET, &channel("4"), None).await;
    assert_eq!(r.data()["policy_consent"], "standard");

    let r = app.call_as("nope", Method::GET, GLOBAL, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Nothing the refused callers sent was written.
    assert_eq!(app.get(GLOBAL).await.data(), &defaults());
    assert_eq!(app.get(&channel("1")).await.data(), &channel_defaults());
}

async fn settings_route_is_not_a_checkout(app: TestApp) {
    // `/checkouts/settings` is its own route, not a checkout id.
    let r = app.get(GLOBAL).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.data().get("custom_checkout_script_url").is_some());
    let r = app.get(&channel("1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.data().get("checkout_type").is_some());
    let r = app.delete(GLOBAL).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = app.post(GLOBAL, json!({})).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Real checkout ids still reach the checkout routes.
    let id = new_cart(&app).await;
    let r = app.get(&format!("/stores/demo/v3/checkouts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["id"], id.as_str());
    let r = app
        .get("/stores/demo/v3/checkouts/0b4a4d0c-7a5e-4f57-9d2c-3f1f0c6f2b11")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The spec's operation ids are in the OpenAPI document.
    let doc = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    let doc: Value = doc.json().await.unwrap();
    let paths = &doc["paths"];
    assert_eq!(
        paths["/stores/{store_hash}/v3/checkouts/settings"]["get"]["operationId"],
        "getCheckoutSettings"
    );
    assert_eq!(
        paths["/stores/{store_hash}/v3/checkouts/settings"]["put"]["operationId"],
        "updateCheckoutSettings"
    );
    assert_eq!(
        paths["/stores/{store_hash}/v3/checkouts/settings/channels/{channel_id}"]["put"]["operationId"],
        "put-channel-checkout-settings"
    );
    assert_eq!(
        paths["/stores/{store_hash}/v3/checkouts/{checkout_id}/token"]["post"]["operationId"],
        "createCheckoutToken"
    );
}

fn is_token(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn token_creation(app: TestApp) {
    let id = new_cart(&app).await;
    // No body at all: the defaults.
    let r = app.call(Method::POST, &token_path(&id), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    let obj = r.body.as_object().unwrap();
    assert_eq!(obj.len(), 2, "{}", r.body);
    assert!(is_token(&r.body["checkoutToken"]), "{}", r.body);
    assert_eq!(r.body["meta"], json!({}));
    assert!(r.body.get("data").is_none());

    let r2 = app
        .post(&token_path(&id), json!({"maxUses": 1, "ttl": 2}))
        .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.body);
    assert!(is_token(&r2.body["checkoutToken"]));
    assert_ne!(r2.body["checkoutToken"], r.body["checkoutToken"]);
    // Whole numbers written as decimals, and null, are accepted.
    let r3 = app
        .post(&token_path(&id), json!({"maxUses": 2.0, "ttl": null}))
        .await;
    assert_eq!(r3.status, StatusCode::OK, "{}", r3.body);

    let r = app
        .post(
            &token_path("0b4a4d0c-7a5e-4f57-9d2c-3f1f0c6f2b11"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.post(&token_path("not-a-checkout"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.delete(&token_path(&id)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

async fn token_request_validation_and_scopes(app: TestApp) {
    let id = new_cart(&app).await;
    for (body, field) in [
        (json!({"ttl": 0}), "ttl"),
        (json!({"ttl": -5}), "ttl"),
        (json!({"ttl": 2_592_001}), "ttl"),
        (json!({"ttl": 1.5}), "ttl"),
        (json!({"ttl": "60"}), "ttl"),
        (json!({"maxUses": 0}), "maxUses"),
        (json!({"maxUses": 101}), "maxUses"),
        (json!({"maxUses": 0.5}), "maxUses"),
        (json!({"maxUses": true}), "maxUses"),
    ] {
        let r = app.post(&token_path(&id), body.clone()).await;
        assert_eq!(error_fields(&r), [field], "{body}");
    }
    let r = app
        .post(&token_path(&id), json!({"maxUses": 0, "ttl": 0}))
        .await;
    assert_eq!(error_fields(&r), ["maxUses", "ttl"]);
    let r = app
        .post(&token_path(&id), json!({"maxUses": 100, "ttl": 2_592_000}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call_raw(Method::POST, &token_path(&id), b"{oops").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let ro = app.token_with_scopes("store_checkouts_read_only").await;
    let r = app
        .call_as(&ro, Method::POST, &token_path(&id), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let cart = app.token_with_scopes("store_cart").await;
    let r = app
        .call_as(&cart, Method::POST, &token_path(&id), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rw = app.token_with_scopes("store_checkouts").await;
    let r = app
        .call_as(&rw, Method::POST, &token_path(&id), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn create_token(app: &TestApp, id: &str, body: Value) -> String {
    let r = app.post(&token_path(id), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["checkoutToken"].as_str().unwrap().to_string()
}

async fn token_redeems_max_uses_times(app: TestApp) {
    let store = app.kassa.find_store("demo").await.unwrap();
    let id = new_cart(&app).await;
    let cart_id = uuid::Uuid::parse_str(&id).unwrap();

    let three = create_token(&app, &id, json!({"maxUses": 3})).await;
    for _ in 0..3 {
        let got = app.kassa.redeem_checkout_token(&three).await.unwrap();
        assert_eq!(got, Some((store.id, cart_id)));
    }
    assert_eq!(app.kassa.redeem_checkout_token(&three).await.unwrap(), None);

    // The default is single use.
    let once = create_token(&app, &id, json!({})).await;
    assert_eq!(
        app.kassa.redeem_checkout_token(&once).await.unwrap(),
        Some((store.id, cart_id))
    );
    assert_eq!(app.kassa.redeem_checkout_token(&once).await.unwrap(), None);

    // Concurrent redemptions never exceed max uses.
    let five = create_token(&app, &id, json!({"maxUses": 5})).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let kassa = app.kassa.clone();
        let t = five.clone();
        tasks.push(tokio::spawn(async move {
            kassa.redeem_checkout_token(&t).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);

    // Unknown or malformed tokens are simply not valid.
    for bad in [
        String::new(),
        "abc".to_string(),
        "0".repeat(64),
        format!("{three}x"),
    ] {
        assert_eq!(app.kassa.redeem_checkout_token(&bad).await.unwrap(), None);
    }
}

async fn token_expires(app: TestApp) {
    let id = new_cart(&app).await;
    let short = create_token(&app, &id, json!({"maxUses": 5, "ttl": 60})).await;
    let long = create_token(&app, &id, json!({"maxUses": 5})).await;
    assert!(
        app.kassa
            .redeem_checkout_token(&short)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.advance(59);
    assert!(
        app.kassa
            .redeem_checkout_token(&short)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.advance(1);
    assert_eq!(app.kassa.redeem_checkout_token(&short).await.unwrap(), None);
    // The one-day default outlives it.
    assert!(
        app.kassa
            .redeem_checkout_token(&long)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.advance(86_400);
    assert_eq!(app.kassa.redeem_checkout_token(&long).await.unwrap(), None);
}

async fn token_dies_with_its_cart(app: TestApp) {
    let id = new_cart(&app).await;
    let other = new_cart(&app).await;
    let token = create_token(&app, &id, json!({"maxUses": 5})).await;
    let keep = create_token(&app, &other, json!({"maxUses": 5})).await;
    assert!(
        app.kassa
            .redeem_checkout_token(&token)
            .await
            .unwrap()
            .is_some()
    );
    let r = app.delete(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.kassa.redeem_checkout_token(&token).await.unwrap(), None);
    // A deleted checkout gets no new tokens either.
    let r = app.post(&token_path(&id), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Other carts' tokens are untouched.
    assert!(
        app.kassa
            .redeem_checkout_token(&keep)
            .await
            .unwrap()
            .is_some()
    );

    // Expired carts are swept together with their tokens.
    let later = create_token(&app, &other, json!({"maxUses": 5, "ttl": 2_592_000})).await;
    app.clock.advance(400 * 86_400);
    assert_eq!(app.kassa.redeem_checkout_token(&later).await.unwrap(), None);
    let swept = app
        .kassa
        .store
        .purge_expired_carts(app.kassa.now(), 100)
        .await
        .unwrap();
    assert!(swept >= 1);
    assert_eq!(app.kassa.redeem_checkout_token(&later).await.unwrap(), None);
}
