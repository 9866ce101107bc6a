//! Cart settings over real HTTP, on both backends: the global switch, channel
//! overrides, scopes, and the rule that purchasing switched off refuses cart writes.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    global_settings_read_and_write,
    channel_overrides_set_and_clear,
    settings_scopes,
    settings_route_is_not_a_cart,
    purchasing_rule_follows_channel_then_global,
);

const GLOBAL: &str = "/stores/demo/v3/carts/settings";

fn channel(id: &str) -> String {
    format!("/stores/demo/v3/carts/settings/channels/{id}")
}

async fn global_settings_read_and_write(app: TestApp) {
    let r = app.get(GLOBAL).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"data": {"allow_purchasing": true}, "meta": {}})
    );
    assert_eq!(r.headers["content-type"], "application/json");

    let r = app.put(GLOBAL, json!({"allow_purchasing": false})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"data": {"allow_purchasing": false}, "meta": {}})
    );
    assert_eq!(app.get(GLOBAL).await.data()["allow_purchasing"], false);
    // Other store settings survive the write.
    let store = app.kassa.find_store("demo").await.unwrap();
    assert!(!store.settings.allow_purchasing);
    assert!(!store.settings.currencies.is_empty());

    let r = app.put(GLOBAL, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["allow_purchasing"].is_string());
    let r = app.put(GLOBAL, json!({"allow_purchasing": "yes"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["allow_purchasing"].is_string());
    let r = app.put(GLOBAL, json!({"allow_purchasing": null})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.call_raw(Method::PUT, GLOBAL, b"{oops").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = app.put(GLOBAL, json!({"allow_purchasing": true})).await;
    assert_eq!(r.data()["allow_purchasing"], true);
}

async fn channel_overrides_set_and_clear(app: TestApp) {
    let r = app.get(&channel("1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"data": {"allow_purchasing": null}, "meta": {}})
    );

    let r = app
        .put(&channel("1"), json!({"allow_purchasing": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data()["allow_purchasing"], false);
    assert_eq!(
        app.get(&channel("1")).await.data()["allow_purchasing"],
        false
    );
    // Other channels are untouched.
    assert!(app.get(&channel("2")).await.data()["allow_purchasing"].is_null());

    let r = app
        .put(&channel("1"), json!({"allow_purchasing": true}))
        .await;
    assert_eq!(r.data()["allow_purchasing"], true);
    // Leaving the field out changes nothing.
    let r = app.put(&channel("1"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data()["allow_purchasing"], true);
    // null clears the override.
    let r = app
        .put(&channel("1"), json!({"allow_purchasing": null}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.data()["allow_purchasing"].is_null());
    assert!(app.get(&channel("1")).await.data()["allow_purchasing"].is_null());

    for bad in ["0", "-3", "abc"] {
        let r = app.get(&channel(bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(r.body["errors"]["channel_id"].is_string());
    }
    let r = app.put(&channel("1"), json!({"allow_purchasing": 1})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn settings_scopes(app: TestApp) {
    let ro = app.token_with_scopes("store_cart_read_only").await;
    let r = app.call_as(&ro, Method::GET, GLOBAL, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.call_as(&ro, Method::GET, &channel("1"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(
            &ro,
            Method::PUT,
            GLOBAL,
            Some(json!({"allow_purchasing": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["title"].as_str().unwrap().contains("store_cart"));
    let r = app
        .call_as(&ro, Method::PUT, &channel("1"), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // BigCommerce documents these under Information & Settings: that scope works too.
    let info = app.token_with_scopes("store_v2_information").await;
    let r = app
        .call_as(
            &info,
            Method::PUT,
            &channel("3"),
            Some(json!({"allow_purchasing": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let info_ro = app
        .token_with_scopes("store_v2_information_read_only")
        .await;
    assert_eq!(
        app.call_as(&info_ro, Method::GET, GLOBAL, None)
            .await
            .status,
        StatusCode::OK
    );
    let orders = app.token_with_scopes("store_v2_orders").await;
    let r = app.call_as(&orders, Method::GET, GLOBAL, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(GLOBAL).await.data()["allow_purchasing"], true);
}

async fn settings_route_is_not_a_cart(app: TestApp) {
    // `/carts/settings` and `/carts/metafields` are their own routes, not cart ids.
    let r = app.get(GLOBAL).await;
    assert!(r.data().get("allow_purchasing").is_some(), "{}", r.body);
    let r = app.get("/stores/demo/v3/carts/metafields").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.data().is_array());
    let r = app.delete(GLOBAL).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// The rule itself, through the service. Once `create_cart`/`add_cart_items` call
/// `ensure_purchasing_allowed`/`ensure_cart_purchasable`, the HTTP checks below apply.
async fn purchasing_rule_follows_channel_then_global(app: TestApp) {
    let who = app.kassa.authenticate("demo", common::TOKEN).await.unwrap();
    assert!(app.kassa.purchasing_allowed(&who, 1).await.unwrap());
    app.put(GLOBAL, json!({"allow_purchasing": false})).await;
    app.put(&channel("2"), json!({"allow_purchasing": true}))
        .await;
    let who = app.kassa.authenticate("demo", common::TOKEN).await.unwrap();
    assert!(!app.kassa.purchasing_allowed(&who, 1).await.unwrap());
    assert!(app.kassa.purchasing_allowed(&who, 2).await.unwrap());
    let err = app
        .kassa
        .ensure_purchasing_allowed(&who, 1)
        .await
        .unwrap_err();
    let api: kassa::http::error::ApiError = err.into();
    assert_eq!(api.status.as_u16(), 422);
    assert!(api.title.contains("Purchasing is disabled"));
    assert!(api.errors.contains_key("allow_purchasing"));
    assert!(app.kassa.ensure_purchasing_allowed(&who, 2).await.is_ok());

    app.put(GLOBAL, json!({"allow_purchasing": true})).await;
    app.put(&channel("3"), json!({"allow_purchasing": false}))
        .await;
    let who = app.kassa.authenticate("demo", common::TOKEN).await.unwrap();
    assert!(app.kassa.purchasing_allowed(&who, 1).await.unwrap());
    assert!(!app.kassa.purchasing_allowed(&who, 3).await.unwrap());

    // A cart made on channel 1 while purchasing is allowed there.
    let created = app
        .post(
            "/stores/demo/v3/carts",
            json!({"channel_id": 1, "custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.data()["id"].as_str().unwrap().to_string();
    let item = created.data()["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(&channel("1"), json!({"allow_purchasing": false}))
        .await;

    // Creating on channel 3 and adding to the channel-1 cart are both refused with 422.
    let blocked = app
        .post(
            "/stores/demo/v3/carts",
            json!({"channel_id": 3, "custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    let add = app
        .post(
            &format!("/stores/demo/v3/carts/{id}/items"),
            json!({"custom_items": [{"name": "Lamp", "quantity": 1, "list_price": 20}]}),
        )
        .await;
    {
        assert_eq!(
            blocked.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            blocked.body
        );
        assert!(
            blocked.body["title"]
                .as_str()
                .unwrap()
                .contains("Purchasing is disabled")
        );
        assert_eq!(add.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", add.body);
        // Reading, and taking things out, are still allowed.
        assert_eq!(
            app.get(&format!("/stores/demo/v3/carts/{id}")).await.status,
            StatusCode::OK
        );
        assert_eq!(
            app.delete(&format!("/stores/demo/v3/carts/{id}/items/{item}"))
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
}
