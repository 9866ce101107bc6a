//! Products and channel overrides a SQLite server keeps in memory, over real HTTP on both
//! backends: whatever writes them (catalog API, order placement's stock counts, cart
//! settings), the next cart change sees the write; and a product already read is not
//! read from the database again while unchanged (on PostgreSQL only its row version
//! comes with the cart), nor on SQLite an override (counted in /metrics).

mod common;

use common::TestApp;
use common::flow::{checkout_with, place, stock_level, tracked_product};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    catalog_writes_reach_the_next_cart_change,
    stock_taken_by_an_order_reaches_the_next_cart_add,
    channel_overrides_reach_the_next_cart_add,
);

const PRODUCTS: &str = "/stores/demo/v3/catalog/products";
const CARTS: &str = "/stores/demo/v3/carts";

/// A figure of this node's /metrics.
async fn figure(app: &TestApp, name: &str) -> u64 {
    app.metrics().await(name)
}

const PRODUCTS_FROM_DATABASE: &str = "kassa_product_reads_total{from=\"database\"}";
const PRODUCTS_FROM_MEMORY: &str = "kassa_product_reads_total{from=\"memory\"}";

async fn add(app: &TestApp, cart: &str, product: i64, quantity: i64) -> common::Reply {
    app.post(
        &format!("{CARTS}/{cart}/items"),
        json!({"line_items": [{"product_id": product, "quantity": quantity}]}),
    )
    .await
}

/// A new cart with `quantity` of `product`.
async fn cart_of(app: &TestApp, product: i64, quantity: i64) -> common::Reply {
    app.post(
        CARTS,
        json!({"line_items": [{"product_id": product, "quantity": quantity}]}),
    )
    .await
}

async fn get_cart(app: &TestApp, cart: &str) -> common::Reply {
    app.get(&format!("{CARTS}/{cart}")).await
}

fn line_of(cart: &Value, product: i64) -> Value {
    cart["line_items"]["physical_items"]
        .as_array()
        .expect("physical items")
        .iter()
        .find(|l| l["product_id"] == product)
        .cloned()
        .expect("a line of the product")
}

async fn catalog_writes_reach_the_next_cart_change(app: TestApp) {
    let r = app
        .post(
            PRODUCTS,
            json!({"name": "Brass Test Lamp", "type": "physical", "weight": 1, "price": 10, "categories": [1], "sku": "BRASS-LAMP-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let lamp = r.data()["id"].as_i64().expect("id");

    let r = cart_of(&app, lamp, 1).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    assert_eq!(r.data()["cart_amount"], json!(10));

    // Read once: the same product again is not read from the database on SQLite; on
    // PostgreSQL its row version comes with the cart, and its document does not.
    let from_database = figure(&app, PRODUCTS_FROM_DATABASE).await;
    let from_memory = figure(&app, PRODUCTS_FROM_MEMORY).await;
    let r = add(&app, &cart, lamp, 1).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["cart_amount"], json!(20));
    assert_eq!(figure(&app, PRODUCTS_FROM_DATABASE).await, from_database);
    assert!(figure(&app, PRODUCTS_FROM_MEMORY).await > from_memory);

    // A new price and name through the catalog API: the next cart change prices with
    // them (a line already in a cart keeps the price it was added at).
    let r = app
        .put(
            &format!("{PRODUCTS}/{lamp}"),
            json!({"price": 12.5, "name": "Reading Lamp"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The cart that holds it reads the changed product anew.
    let from_database = figure(&app, PRODUCTS_FROM_DATABASE).await;
    let r = app
        .put(
            &format!(
                "{CARTS}/{cart}/items/{}",
                line_of(get_cart(&app, &cart).await.data(), lamp)["id"]
                    .as_str()
                    .expect("line id")
            ),
            json!({"line_item": {"product_id": lamp, "quantity": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(figure(&app, PRODUCTS_FROM_DATABASE).await > from_database);
    let r = app
        .post(
            CARTS,
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let other = r.data()["id"].as_str().expect("cart id").to_string();
    let r = add(&app, &other, lamp, 2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let line = line_of(r.data(), lamp);
    assert_eq!(line["list_price"], json!(12.5));
    assert_eq!(line["name"], json!("Reading Lamp"));
    assert_eq!(r.data()["cart_amount"], json!(125));
    let r = cart_of(&app, lamp, 1).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["cart_amount"], json!(12.5));

    // Deleted through the catalog API: adding it is refused as for a product that never
    // existed.
    let r = app.delete(&format!("{PRODUCTS}/{lamp}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = cart_of(&app, lamp, 1).await;
    let never = cart_of(&app, 987_654, 1).await;
    assert_eq!(r.status, never.status, "{}", r.body);
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["title"]
            .as_str()
            .map(|t| t.replace(&lamp.to_string(), "N")),
        never.body["title"]
            .as_str()
            .map(|t| t.replace("987654", "N")),
    );
}

async fn stock_taken_by_an_order_reaches_the_next_cart_add(app: TestApp) {
    let product = tracked_product(&app, "Numbered print", 3).await;
    // Read (and on SQLite kept in memory) by the checkout's cart.
    let checkout = checkout_with(
        &app,
        json!({"line_items": [{"product_id": product, "quantity": 2}]}),
    )
    .await;
    let r = place(&app, &checkout).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(stock_level(&app, product).await, 1);

    // The order took two: a new cart may have the one left, not two.
    let r = cart_of(&app, product, 2).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.to_string().contains("Only 1 of Numbered print"),
        "{}",
        r.body
    );
    let r = cart_of(&app, product, 1).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn channel_overrides_reach_the_next_cart_add(app: TestApp) {
    let sqlite = app.backend == common::Backend::Sqlite;
    let custom = json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]});
    let r = app.post(CARTS, custom.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    let items = format!("{CARTS}/{cart}/items");

    // Channel 1's override (none) was read for the cart: the add reads it from memory.
    const FROM_DATABASE: &str = "kassa_channel_override_reads_total{from=\"database\"}";
    let from_database = figure(&app, FROM_DATABASE).await;
    let r = app.post(&items, custom.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let read_again = figure(&app, FROM_DATABASE).await - from_database;
    assert_eq!(read_again, u64::from(!sqlite));

    let channel = "/stores/demo/v3/carts/settings/channels/1";
    let r = app.put(channel, json!({"allow_purchasing": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post(&items, custom.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Purchasing is disabled for channel 1"),
        "{}",
        r.body
    );
    let r = app.put(channel, json!({"allow_purchasing": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post(&items, custom.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Cleared: the global setting (allowed) applies again, then its switch off.
    let r = app.put(channel, json!({"allow_purchasing": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post(&items, custom.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .put(
            "/stores/demo/v3/carts/settings",
            json!({"allow_purchasing": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post(&items, custom).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
