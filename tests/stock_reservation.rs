//! Stock reservation over real HTTP on both backends: placing an order takes its units
//! out of stock for a while (the store's reservation time), paying keeps them taken,
//! and a lapsed reservation or a newer order from the same checkout gives back what the
//! unpaid order held — stock, coupon uses and gift-certificate balance — exactly once.
//! N buyers racing for the last K units: exactly K orders.

mod common;

use common::TestApp;
use common::flow::{
    CHECKOUTS, checkout_with, pay_by_card, place, stock_level, token, tracked_product,
};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    placing_takes_stock_and_a_newer_order_replaces_the_unpaid_one,
    paying_keeps_the_units_taken,
    a_lapsed_reservation_gives_back_stock_uses_and_balance,
    exactly_k_of_n_buyers_get_the_last_units,
    variant_stock_is_counted_per_variant,
    a_product_that_starts_counting_stock_after_it_is_in_carts_is_counted,
);

async fn checkout(app: &TestApp, product: i64, quantity: i64) -> String {
    checkout_with(
        app,
        json!({"line_items": [{"product_id": product, "quantity": quantity}]}),
    )
    .await
}

async fn placed(app: &TestApp, checkout: &str) -> i64 {
    let r = place(app, checkout).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("order id")
}

async fn pay(app: &TestApp, order_id: i64) -> common::Reply {
    pay_by_card(app, order_id).await
}

fn detail(r: &common::Reply) -> String {
    r.body.to_string()
}

/// How many of racing placements got an order; every other one must have been refused
/// for want of stock.
fn placed_or_out_of_stock(replies: &[common::Reply]) -> usize {
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(detail(r).contains("out of stock"), "{}", r.body);
    }
    replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count()
}

async fn placing_takes_stock_and_a_newer_order_replaces_the_unpaid_one(app: TestApp) {
    let app = app.with_fixtures().await;
    let product = tracked_product(&app, "Limited print", 3).await;
    let a = checkout(&app, product, 2).await;
    let first = placed(&app, &a).await;
    assert_eq!(stock_level(&app, product).await, 1);

    // Two more shoppers want the one left.
    let b = checkout(&app, product, 1).await;
    let b2 = checkout(&app, product, 1).await;
    let _ = placed(&app, &b2).await;
    assert_eq!(stock_level(&app, product).await, 0);
    let r = place(&app, &b).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(detail(&r).contains("out of stock"), "{}", r.body);

    // The first checkout places again: its earlier order gives its two units back to
    // the new one, and can no longer be paid.
    let second = placed(&app, &a).await;
    assert!(second > first);
    assert_eq!(stock_level(&app, product).await, 0);
    let r = token(&app, first).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(detail(&r).contains("can no longer be paid"), "{}", r.body);
    let r = pay(&app, second).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The replaced order stays Incomplete, as BigCommerce keeps unfinished orders.
    let r = app.get(&format!("/stores/demo/v2/orders/{first}")).await;
    assert_eq!(r.body["status_id"], json!(0), "{}", r.body);
}

async fn paying_keeps_the_units_taken(app: TestApp) {
    let app = app.with_fixtures().await;
    let product = tracked_product(&app, "Signed copy", 2).await;
    let a = checkout(&app, product, 2).await;
    let other = checkout(&app, product, 1).await;
    let order = placed(&app, &a).await;
    let r = pay(&app, order).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Long after the reservation time, a paid order's units stay sold.
    app.clock.advance(3 * 3600);
    let r = place(&app, &other).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(stock_level(&app, product).await, 0);
    let r = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(r.body["status_id"], json!(11), "{}", r.body);
}

async fn a_lapsed_reservation_gives_back_stock_uses_and_balance(app: TestApp) {
    let app = app.with_fixtures().await;
    let product = tracked_product(&app, "Last poster", 1).await;
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Once", "code": "ONCE", "type": "per_total_discount", "amount": "1",
                   "max_uses": 1, "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let coupon = r.body["id"].as_i64().expect("coupon id");
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "LAPSE-5", "amount": "5.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gc = r.body["id"].as_i64().expect("gift certificate id");

    let a = checkout(&app, product, 1).await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{a}/coupons"),
            json!({"coupon_code": "ONCE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{a}/gift-certificates"),
            json!({"gift_certificate_code": "LAPSE-5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A second shopper puts the poster in a cart while it is still there.
    let b = checkout(&app, product, 1).await;
    let unpaid = placed(&app, &a).await;
    assert_eq!(stock_level(&app, product).await, 0);
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    assert_eq!(r.body["num_uses"], json!(1), "{}", r.body);
    let r = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gc}"))
        .await;
    assert_eq!(r.body["balance"], json!("0.0000"), "{}", r.body);

    // Within the hour, nobody else gets the poster.
    app.clock.advance(59 * 60);
    assert_eq!(
        place(&app, &b).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // After it, the unpaid order gives everything back, once.
    app.clock.advance(2 * 60);
    let r = token(&app, unpaid).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(detail(&r).contains("can no longer be paid"), "{}", r.body);
    let taken = placed(&app, &b).await;
    assert!(taken > unpaid);
    assert_eq!(stock_level(&app, product).await, 0);
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    assert_eq!(r.body["num_uses"], json!(0), "{}", r.body);
    let r = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gc}"))
        .await;
    assert_eq!(r.body["balance"], json!("5.0000"), "{}", r.body);
    // The lapsed order cannot come back to life by being paid.
    let r = app.get(&format!("/stores/demo/v2/orders/{unpaid}")).await;
    assert_eq!(r.body["status_id"], json!(0), "{}", r.body);
}

async fn exactly_k_of_n_buyers_get_the_last_units(app: TestApp) {
    let app = app.with_fixtures().await;
    const K: i64 = 4;
    const N: usize = 16;
    let product = tracked_product(&app, "Drop sneaker", K).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        ids.push(checkout(&app, product, 1).await);
    }
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    assert_eq!(
        placed_or_out_of_stock(&replies) as i64,
        K,
        "exactly K orders get the last units"
    );
    assert_eq!(stock_level(&app, product).await, 0);
    // Paying them all keeps the count exact.
    let orders: Vec<i64> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.data()["id"].as_i64().expect("order id"))
        .collect();
    for o in orders {
        assert_eq!(pay(&app, o).await.status, StatusCode::CREATED);
    }
    assert_eq!(stock_level(&app, product).await, 0);
}

async fn variant_stock_is_counted_per_variant(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/catalog/products",
            json!({"name": "Sized tee", "type": "digital", "price": 15, "weight": 0,
                   "inventory_tracking": "variant", "categories": [1],
                   "variants": [
                       {"sku": "TEE-S", "inventory_level": 1, "option_values": [{"option_display_name": "Size", "label": "S"}]},
                       {"sku": "TEE-M", "inventory_level": 5, "option_values": [{"option_display_name": "Size", "label": "M"}]}
                   ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let product = r.data()["id"].as_i64().expect("product id");
    let variants = r.data()["variants"].as_array().cloned().unwrap_or_default();
    let small = variants
        .iter()
        .find(|v| v["sku"] == json!("TEE-S"))
        .and_then(|v| v["id"].as_i64())
        .expect("small variant");
    let body = json!({"line_items": [{"product_id": product, "variant_id": small, "quantity": 1}]});
    let a = checkout_with(&app, body.clone()).await;
    let b = checkout_with(&app, body).await;
    let first = place(&app, &a).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = place(&app, &b).await;
    assert_eq!(
        second.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        second.body
    );
    let r = app
        .get(&format!(
            "/stores/demo/v3/catalog/products/{product}/variants"
        ))
        .await;
    let levels: Vec<(String, i64)> = r
        .data()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| {
            (
                v["sku"].as_str().unwrap_or_default().to_string(),
                v["inventory_level"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert!(levels.contains(&("TEE-S".to_string(), 0)), "{levels:?}");
    assert!(levels.contains(&("TEE-M".to_string(), 5)), "{levels:?}");
}

/// Placement trusts what the cart read says about a product's stock only when that is
/// "not counted"; a product the merchant starts counting while it sits in carts is
/// counted (and locked) by the placements that follow: one unit, one order.
async fn a_product_that_starts_counting_stock_after_it_is_in_carts_is_counted(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/catalog/products",
            json!({"name": "Zine", "type": "digital", "price": 8, "weight": 0,
                   "inventory_tracking": "none", "categories": [1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let product = r.data()["id"].as_i64().expect("product id");
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(checkout(&app, product, 1).await);
    }
    let r = app
        .put(
            &format!("/stores/demo/v3/catalog/products/{product}"),
            json!({"inventory_tracking": "product", "inventory_level": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    assert_eq!(placed_or_out_of_stock(&replies), 1, "one unit, one order");
    assert_eq!(stock_level(&app, product).await, 0);
}
