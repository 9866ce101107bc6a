//! Many writers at once, over real HTTP on both backends. On SQLite their transactions
//! share commits (group commit); each must still be atomic and durable on its own:
//! every 2xx is readable afterwards, a refused order among successful ones leaves no
//! trace, and racing writes to one cart all land.

mod common;

use common::TestApp;
use common::flow::{CARTS, checkout_with, place, stock_level, tracked_product};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

on_both_backends!(
    concurrent_orders_all_commit_and_a_refused_one_leaves_nothing,
    racing_adds_to_one_cart_all_land,
);

async fn concurrent_orders_all_commit_and_a_refused_one_leaves_nothing(app: TestApp) {
    let app = app.with_fixtures().await;
    // One unit left and two buyers: one of them is refused mid-transaction.
    let scarce = tracked_product(&app, "Last one", 1).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(
            checkout_with(
                &app,
                json!({"line_items": [{"product_id": 930, "quantity": 2}]}),
            )
            .await,
        );
    }
    for _ in 0..2 {
        ids.push(
            checkout_with(
                &app,
                json!({"line_items": [{"product_id": scarce, "quantity": 1}]}),
            )
            .await,
        );
    }
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    let mut orders = BTreeSet::new();
    let mut refused = 0;
    for r in &replies {
        match r.status {
            StatusCode::OK => {
                orders.insert(r.data()["id"].as_i64().expect("order id"));
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert!(r.body.to_string().contains("out of stock"), "{}", r.body);
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(refused, 1);
    assert_eq!(orders.len(), 13, "every placed order has its own id");
    assert_eq!(stock_level(&app, scarce).await, 0);
    // Every 2xx is there to read, at the price it was placed at.
    for id in &orders {
        let r = app.get(&format!("/stores/demo/v2/orders/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let subtotal = r.body["subtotal_ex_tax"].as_str().expect("subtotal");
        assert!(subtotal == "19.9800" || subtotal == "20.0000", "{}", r.body);
    }
    // Nothing of the refused attempt was kept: no 14th order.
    let r = app.get("/stores/demo/v2/orders/count").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["count"], json!(13), "{}", r.body);
    if app.backend == common::Backend::Sqlite {
        let figure = app.metrics().await;
        assert!(figure("kassa_sqlite_commit_batches_total{outcome=\"committed\"}") > 0);
        assert_eq!(
            figure("kassa_sqlite_commit_batches_total{outcome=\"failed\"}"),
            0
        );
        // At least the 13 orders were committed jobs.
        assert!(figure("kassa_sqlite_commit_batch_jobs_sum") >= 13);
        // Every committed job waited once for the connection and once for its COMMIT.
        assert!(figure("kassa_sqlite_write_lease_wait_seconds_count") >= 13);
        assert!(figure("kassa_sqlite_write_commit_wait_seconds_count") >= 13);
        assert!(figure("kassa_sqlite_write_job_hold_seconds_count") >= 13);
        assert_eq!(
            figure("kassa_sqlite_commit_duration_seconds_count"),
            figure("kassa_sqlite_commit_batches_total{outcome=\"committed\"}")
                + figure("kassa_sqlite_commit_batches_total{outcome=\"failed\"}")
        );
        // The test database is a file: its WAL was synced beside the writer, at most
        // once per committed batch (batches that queued behind a sync share the next).
        let syncs = figure("kassa_sqlite_wal_sync_duration_seconds_count");
        assert!(syncs >= 1, "no fsync of the WAL beside the writer");
        assert!(syncs <= figure("kassa_sqlite_commit_batches_total{outcome=\"committed\"}"));
    }
}

async fn racing_adds_to_one_cart_all_land(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    // Each loses the version race to some others and is replayed on the newer cart.
    let items = format!("{CARTS}/{cart}/items");
    let adds = join_all((0..10).map(|_| {
        app.post(
            &items,
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
    }))
    .await;
    for r in &adds {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app.get(&format!("{CARTS}/{cart}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let quantity: i64 = r.data()["line_items"]["digital_items"]
        .as_array()
        .expect("digital items")
        .iter()
        .filter_map(|l| l["quantity"].as_i64())
        .sum();
    assert_eq!(quantity, 11, "{}", r.body);
    assert_eq!(r.data()["base_amount"], json!(109.89), "{}", r.body);
}
