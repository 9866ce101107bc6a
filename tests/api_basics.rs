//! Health, auth, error shapes and the OpenAPI document, on both backends.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    health_and_ready,
    unknown_token_is_401_in_v3_shape,
    missing_scope_is_403,
    another_stores_cart_is_404,
    openapi_lists_cart_paths,
    malformed_json_is_400,
    oversized_body_is_413,
    metrics_count_requests_per_route_template,
);

async fn health_and_ready(app: TestApp) {
    let r = app.get("/health").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get("/ready").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ready");
    assert!(r.headers.get("x-request-id").is_some());
}

async fn unknown_token_is_401_in_v3_shape(app: TestApp) {
    let r = app
        .call_as(
            "not-a-real-token",
            Method::GET,
            "/stores/demo/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], 401);
    assert!(r.body["title"].as_str().unwrap().contains("X-Auth-Token"));
    assert_eq!(r.headers["content-type"], "application/json");
    let r = app
        .call_as("", Method::POST, "/stores/demo/v3/carts", Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A valid token used on a store it does not belong to.
    let r = app
        .call(
            Method::GET,
            "/stores/other/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn missing_scope_is_403(app: TestApp) {
    let read_only = app.token_with_scopes("store_cart_read_only").await;
    let r = app
        .call_as(
            &read_only,
            Method::POST,
            "/stores/demo/v3/carts",
            Some(json!({"custom_items": [{"name": "x", "quantity": 1, "list_price": 1}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["title"].as_str().unwrap().contains("store_cart"));
    let orders_only = app.token_with_scopes("store_v2_orders").await;
    let r = app
        .call_as(
            &orders_only,
            Method::GET,
            "/stores/demo/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn another_stores_cart_is_404(app: TestApp) {
    let created = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.data()["id"].as_str().unwrap().to_string();

    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .unwrap();
    let other_token = app
        .kassa
        .create_token("other", "t", &kassa::domain::scope::Scopes::every(), None)
        .await
        .unwrap();
    let theirs = app
        .call_as(
            &other_token,
            Method::GET,
            &format!("/stores/other/v3/carts/{id}"),
            None,
        )
        .await;
    let never = app
        .call_as(
            &other_token,
            Method::GET,
            "/stores/other/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e",
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(never.status, StatusCode::NOT_FOUND);
    // Indistinguishable apart from the id echoed in the title.
    assert_eq!(
        theirs.body["title"].as_str().unwrap().replace(&id, "X"),
        never.body["title"]
            .as_str()
            .unwrap()
            .replace("6e193ce6-f327-4dcc-b75e-72cf6738525e", "X")
    );
    let del = app
        .call_as(
            &other_token,
            Method::DELETE,
            &format!("/stores/other/v3/carts/{id}"),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/stores/demo/v3/carts/{id}")).await.status,
        StatusCode::OK
    );
}

async fn openapi_lists_cart_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/stores/{store_hash}/v3/carts",
        "/stores/{store_hash}/v3/carts/{cart_id}",
        "/stores/{store_hash}/v3/carts/{cart_id}/items",
        "/stores/{store_hash}/v3/carts/{cart_id}/items/{item_id}",
        "/stores/{store_hash}/v3/carts/{cart_id}/redirect_urls",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
}

async fn malformed_json_is_400(app: TestApp) {
    let r = app
        .call_raw(Method::POST, "/stores/demo/v3/carts", b"{\"line_items\": [")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["status"], 400);
    let r = app
        .call_raw(
            Method::POST,
            "/stores/demo/v3/carts",
            b"{\"line_items\": [{\"product_id\": \"abc\", \"quantity\": 1}]}",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["line_items[0].product_id"].is_string(),
        "{}",
        r.body
    );
}

async fn oversized_body_is_413(app: TestApp) {
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": big, "quantity": 1, "list_price": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["status"], 413);
}

async fn metrics_count_requests_per_route_template(app: TestApp) {
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"sku": "M-1", "name": "Thing", "quantity": 1, "list_price": 5}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    for _ in 0..2 {
        let r = app.get(&format!("/stores/demo/v3/carts/{cart}")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app
        .put(
            &format!("/stores/demo/v3/carts/{cart}"),
            json!({"customer_id": 0, "version": 99}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.expect("metrics text");
    let get = "method=\"GET\",route=\"/stores/{store_hash}/v3/carts/{cart_id}\"";
    let put = "method=\"PUT\",route=\"/stores/{store_hash}/v3/carts/{cart_id}\"";
    for line in [
        format!("kassa_http_request_duration_seconds_count{{{get}}} 2"),
        format!("kassa_http_request_duration_seconds_bucket{{{get},le=\"+Inf\"}} 2"),
        format!("kassa_http_responses_total{{{get},status=\"2xx\"}} 2"),
        format!("kassa_conflicts_total{{{put}}} 1"),
        "kassa_orders_placed_total 0".to_string(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(text.contains("kassa_db_pool_connections{pool="), "{text}");
}
