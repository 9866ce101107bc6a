//! PostgreSQL: a table that has rows but no planner statistics gets its first ANALYZE from
//! Kassa (`store::statistics`), once; tables with statistics are left to autovacuum. On
//! SQLite there is nothing to do.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

on_both_backends!(tables_with_rows_get_their_first_statistics_once);

/// A cart of one custom item, which adds a row to `carts`.
async fn new_cart(app: &TestApp, name: &str, price: i64) {
    let item = json!({"name": name, "sku": name, "quantity": 1, "list_price": price});
    let r = app
        .post("/stores/demo/v3/carts", json!({"custom_items": [item]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn tables_with_rows_get_their_first_statistics_once(app: TestApp) {
    new_cart(&app, "Desk", 100).await;
    let store = &app.kassa.store;
    if store.backend() == "sqlite" {
        let analyzed = store.analyze_tables_without_statistics(1).await;
        assert_eq!(analyzed.expect("nothing to do"), Vec::<String>::new());
        return;
    }

    // A backend that goes idle reports its row counts to the statistics views within
    // 10 seconds (PostgreSQL 15's idle interval).
    let mut analyzed: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let expected = ["carts", "stores", "products"];
    while !expected.iter().all(|e| analyzed.iter().any(|t| t == e)) && Instant::now() < deadline {
        let tables = store
            .analyze_tables_without_statistics(1)
            .await
            .expect("first statistics");
        analyzed.extend(tables);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let once: BTreeSet<&String> = analyzed.iter().collect();
    assert_eq!(once.len(), analyzed.len(), "each table once: {analyzed:?}");
    for table in expected {
        assert!(
            analyzed.iter().any(|t| t == table),
            "{table} in {analyzed:?}"
        );
    }
    assert!(
        !analyzed.iter().any(|t| t == "order_refunds"),
        "an empty table waits for rows: {analyzed:?}"
    );

    let pool = sqlx::PgPool::connect(&app.database_url)
        .await
        .expect("connect");
    let carts_analyzed: bool = sqlx::query_scalar(
        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
         WHERE schemaname = current_schema() AND relname = 'carts'",
    )
    .fetch_one(&pool)
    .await
    .expect("carts' statistics");
    assert!(carts_analyzed);
    pool.close().await;

    // More rows later: the table has statistics now, and autovacuum keeps them.
    new_cart(&app, "Chair", 50).await;
    let again = store
        .analyze_tables_without_statistics(1)
        .await
        .expect("first statistics");
    assert!(!again.iter().any(|t| analyzed.contains(t)), "{again:?}");
}
