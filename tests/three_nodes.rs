//! Three Kassa nodes sharing one PostgreSQL database, each with its own pool and caches,
//! racing on the same resources: the last units of stock, a limited coupon, one order's
//! payment, one `Idempotency-Key`, and one cart. Requests are spread over the nodes, as a
//! load balancer would. Nothing is sold, used, charged or placed more often than allowed,
//! and no acknowledged cart change is lost.

mod common;

use common::flow::{
    CHECKOUTS, card, checkout_with, new_pat, pay, place, stock_level, tracked_product,
};
use common::{AppOptions, Backend, Reply, TestApp, spawn_app, spawn_app_opts};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Three nodes on one fresh database, or `None` without PostgreSQL.
async fn three_nodes() -> Option<Vec<TestApp>> {
    let first = spawn_app(Backend::Postgres).await?.with_fixtures().await;
    let mut nodes = vec![first];
    for _ in 0..2 {
        let url = nodes[0].database_url.clone();
        let node = spawn_app_opts(
            Backend::Postgres,
            AppOptions {
                database_url: Some(url),
                ..AppOptions::default()
            },
        )
        .await?;
        nodes.push(node);
    }
    Some(nodes)
}

async fn stop(nodes: Vec<TestApp>) {
    for n in nodes {
        n.stop().await;
    }
}

/// A cart of `quantity` e-books made on `node`: its `data`.
async fn new_cart(node: &TestApp, quantity: i64) -> Value {
    let r = node
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 930, "quantity": quantity}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data().clone()
}

fn ok_count(replies: &[Reply], status: StatusCode) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_units_are_sold_exactly_once_across_nodes() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    const K: i64 = 3;
    const N: usize = 12;
    let product = tracked_product(&nodes[0], "Last pairs", K).await;
    let mut ids = Vec::new();
    for i in 0..N {
        let body = json!({"line_items": [{"product_id": product, "quantity": 1}]});
        ids.push(checkout_with(&nodes[i % 3], body).await);
    }
    let replies = join_all(
        ids.iter()
            .enumerate()
            .map(|(i, id)| place(&nodes[(i + 1) % 3], id)),
    )
    .await;
    assert_eq!(
        ok_count(&replies, StatusCode::OK) as i64,
        K,
        "exactly K orders"
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    for n in &nodes {
        assert_eq!(stock_level(n, product).await, 0, "every node sees 0 left");
    }
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_coupon_is_used_exactly_its_limit_across_nodes() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    const K: usize = 2;
    let r = nodes[0]
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Two only", "code": "TWOONLY", "type": "per_total_discount", "amount": "1",
                   "applies_to": {"entity": "categories", "ids": [0]}, "max_uses": K}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let coupon = r.body["id"].as_i64().expect("coupon id");
    let mut ids = Vec::new();
    for i in 0..9 {
        let n = &nodes[i % 3];
        let id = checkout_with(
            n,
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
        let r = n
            .post(
                &format!("{CHECKOUTS}/{id}/coupons"),
                json!({"coupon_code": "TWOONLY"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        ids.push(id);
    }
    let replies = join_all(
        ids.iter()
            .enumerate()
            .map(|(i, id)| place(&nodes[(i + 2) % 3], id)),
    )
    .await;
    assert_eq!(
        ok_count(&replies, StatusCode::OK),
        K,
        "exactly K orders carry the coupon"
    );
    let r = nodes[1]
        .get(&format!("/stores/demo/v2/coupons/{coupon}"))
        .await;
    assert_eq!(r.body["num_uses"], json!(K), "{}", r.body);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_is_charged_once_when_paid_on_every_node_at_once() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let id = checkout_with(
        &nodes[0],
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let r = place(&nodes[1], &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().expect("order id");
    let mut pats = Vec::new();
    for i in 0..12 {
        pats.push(new_pat(&nodes[i % 3], order).await);
    }
    let replies = join_all(
        pats.iter()
            .enumerate()
            .map(|(i, pat)| pay(&nodes[(i + 1) % 3], pat, card("4111111111111111"))),
    )
    .await;
    assert_eq!(ok_count(&replies, StatusCode::CREATED), 1, "charged once");
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    }
    let t = nodes[2]
        .get(&format!("/stores/demo/v3/orders/{order}/transactions"))
        .await;
    let approved = t
        .data()
        .as_array()
        .expect("transactions")
        .iter()
        .filter(|t| t["event"] == "purchase" && t["status"] == "ok")
        .count();
    assert_eq!(approved, 1, "{}", t.body);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_places_one_order_across_nodes() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let id = checkout_with(
        &nodes[0],
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let path = format!("{CHECKOUTS}/{id}/orders");
    let replies = join_all((0..12).map(|i| {
        let n = &nodes[i % 3];
        let url = format!("{}{path}", n.base);
        async move {
            let res = n
                .client
                .post(url)
                .header("X-Auth-Token", common::TOKEN)
                .header("Idempotency-Key", "one-order-three-nodes")
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            TestApp::reply(res).await
        }
    }))
    .await;
    let ids: std::collections::HashSet<i64> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .filter_map(|r| r.data()["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 1, "one order id among the answers: {ids:?}");
    for r in &replies {
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::CONFLICT,
            "{} {}",
            r.status,
            r.body
        );
    }
    let count = nodes[1].get("/stores/demo/v2/orders/count").await;
    assert_eq!(count.body["count"], 1, "{}", count.body);
    stop(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_one_cart_on_three_nodes_are_never_lost() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let cart = new_cart(&nodes[0], 1).await["id"]
        .as_str()
        .expect("cart id")
        .to_string();
    let path = format!("/stores/demo/v3/carts/{cart}/items");
    let replies = join_all((0..15).map(|i| {
        nodes[i % 3].call(
            Method::POST,
            &path,
            Some(json!({"line_items": [{"product_id": 930, "quantity": 1}]})),
        )
    }))
    .await;
    let acked = ok_count(&replies, StatusCode::CREATED);
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    }
    let r = nodes[2].get(&format!("/stores/demo/v3/carts/{cart}")).await;
    let quantity = &r.data()["line_items"]["digital_items"][0]["quantity"];
    assert_eq!(
        quantity,
        &Value::from(1 + acked),
        "every acknowledged addition is in the cart, and nothing else"
    );
    stop(nodes).await;
}

/// Each node keeps copies of the carts it read and checks them against the database on
/// every read (`store::cart_reads`): a read on any node shows the last change acknowledged
/// by any other, and a deleted cart is gone everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_read_on_any_node_shows_the_last_change_made_on_another() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let id = new_cart(&nodes[0], 1).await["id"]
        .as_str()
        .expect("cart id")
        .to_string();
    let checkout = format!("{CHECKOUTS}/{id}");
    let read = |n: usize| nodes[n].get(&checkout);
    // Every node now holds the cart as created.
    for n in 0..3 {
        let r = read(n).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.data()["customer_message"], json!(""), "{}", r.body);
    }
    for (writer, message) in [(0, "First note"), (1, "Second note"), (2, "Third note")] {
        let r = nodes[writer]
            .put(&checkout, json!({"customer_message": message}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let version = r.data()["version"].clone();
        for n in 0..3 {
            let r = read(n).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(
                (&r.data()["customer_message"], &r.data()["version"]),
                (&json!(message), &version),
                "node {n} after node {writer}'s change"
            );
        }
    }
    let from_copy = r#"kassa_cart_documents_total{from="copy"}"#;
    let before = nodes[1].metrics().await(from_copy);
    assert_eq!(read(1).await.status, StatusCode::OK);
    assert_eq!(
        nodes[1].metrics().await(from_copy),
        before + 1,
        "an unchanged cart is not sent again"
    );
    let r = nodes[2]
        .delete(&format!("/stores/demo/v3/carts/{id}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    for n in 0..3 {
        let r = read(n).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "node {n}: {}", r.body);
        assert_eq!(
            r.body["title"],
            json!(format!("Cart {id} does not exist.")),
            "{}",
            r.body
        );
    }
    stop(nodes).await;
}

/// Reads that arrive together share statements, and each gets its own cart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkout_reads_share_statements_and_each_gets_its_own_cart() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let mut carts = Vec::new();
    for quantity in 1..=8 {
        let cart = new_cart(&nodes[0], quantity).await;
        let id = cart["id"].as_str().expect("cart id").to_string();
        carts.push((id, cart["cart_amount"].clone()));
    }
    let metrics = nodes[1].metrics().await;
    let (reads, statements) = (
        metrics("kassa_cart_reads_total"),
        metrics("kassa_cart_read_statements_total"),
    );
    const ROUNDS: usize = 25;
    let paths: Vec<String> = (0..ROUNDS)
        .flat_map(|_| carts.iter())
        .map(|(id, _)| format!("{CHECKOUTS}/{id}"))
        .collect();
    let replies = join_all(paths.iter().map(|p| nodes[1].get(p))).await;
    for (r, (id, total)) in replies.iter().zip((0..ROUNDS).flat_map(|_| carts.iter())) {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            (&r.data()["id"], &r.data()["cart"]["cart_amount_inc_tax"]),
            (&json!(id), total)
        );
    }
    let metrics = nodes[1].metrics().await;
    let reads = metrics("kassa_cart_reads_total") - reads;
    let statements = metrics("kassa_cart_read_statements_total") - statements;
    assert_eq!(reads, (ROUNDS * carts.len()) as u64);
    assert!(
        statements < reads,
        "{reads} concurrent reads took {statements} statements"
    );
    stop(nodes).await;
}

/// A node changes a cart it holds a copy of without reading it first, and its one
/// statement checks the copy, the store's configuration and the products it used
/// (`Store::save_cart_if_current`). Whatever another node changed in between (the cart,
/// a product's price, a promotion) is in the result, never lost or priced around.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_from_an_out_of_date_copy_is_made_again_on_what_another_node_wrote() {
    let Some(nodes) = three_nodes().await else {
        return;
    };
    let written = r#"kassa_cart_changes_from_copy_total{outcome="written"}"#;
    let refused = r#"kassa_cart_changes_from_copy_total{outcome="refused"}"#;
    let cart = new_cart(&nodes[0], 1).await;
    let id = cart["id"].as_str().expect("cart id").to_string();
    let item = cart["line_items"]["digital_items"][0]["id"]
        .as_str()
        .expect("line id")
        .to_string();
    let item_path = format!("/stores/demo/v3/carts/{id}/items/{item}");
    let set_quantity = async |quantity: i64| {
        let before = nodes[0].metrics().await;
        let r = nodes[0]
            .put(
                &item_path,
                json!({"line_item": {"product_id": 930, "quantity": quantity}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let after = nodes[0].metrics().await;
        let counts = |m: &dyn Fn(&str) -> u64| (m(written), m(refused));
        let (w0, r0) = counts(&before);
        let (w1, r1) = counts(&after);
        (r.data().clone(), (w1 - w0, r1 - r0))
    };

    // Node 0 holds the cart as it created it: one statement, written.
    let (data, counted) = set_quantity(2).await;
    assert_eq!(counted, (1, 0), "written from the copy");
    assert_eq!(data["cart_amount"], json!(19.98), "{data}");

    // Node 1 changes the cart: node 0's copy is out of date, and its change is made again
    // on node 1's cart, which keeps node 1's message.
    let checkout = format!("{CHECKOUTS}/{id}");
    let r = nodes[1]
        .put(&checkout, json!({"customer_message": "Leave at the door"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (data, counted) = set_quantity(3).await;
    assert_eq!(counted, (0, 1), "refused once, then made on the cart read");
    assert_eq!(data["cart_amount"], json!(29.97), "{data}");
    let r = nodes[2].get(&checkout).await;
    assert_eq!(r.data()["customer_message"], json!("Leave at the door"));
    assert_eq!(
        r.data()["cart"]["line_items"]["digital_items"][0]["quantity"],
        json!(3)
    );

    // A new price set on node 1: node 0 holds the product at its old row version.
    let r = nodes[1]
        .put(
            "/stores/demo/v3/catalog/products/930",
            json!({"price": 12.5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (data, counted) = set_quantity(2).await;
    assert_eq!(counted, (0, 1), "the product's version refused it");
    assert_eq!(data["cart_amount"], json!(25), "priced at 12.50: {data}");

    // A promotion created on node 1 changes the store's configuration version. (It starts
    // in the past: each test node has a clock of its own, set when it started.)
    let r = nodes[1]
        .post(
            "/stores/demo/v3/promotions",
            json!({"redemption_type": "AUTOMATIC", "name": "Tenth off",
                   "start_date": "2020-01-01T00:00:00+00:00",
                   "rules": [{"action": {"cart_value": {"discount": {"percentage_amount": "10"}}}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (data, counted) = set_quantity(4).await;
    assert_eq!(counted, (0, 1), "the configuration's version refused it");
    assert_eq!(data["cart_amount"], json!(45), "50.00 less 10 %: {data}");

    // Nothing changed since: written from the copy again.
    let (data, counted) = set_quantity(1).await;
    assert_eq!(counted, (1, 0));
    assert_eq!(data["cart_amount"], json!(11.25), "{data}");
    stop(nodes).await;
}
