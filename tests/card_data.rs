//! Card numbers and security codes never reach the database or the logs. Card payments
//! are made (declined, approved, and approved with the card saved for a customer) with
//! every log line of Kassa at DEBUG captured; then the whole database — the SQLite file
//! and its WAL byte for byte, or every PostgreSQL table as text — and the captured logs
//! are searched for the numbers and for any security-code field.

mod common;

use common::TestApp;
use common::flow::{card, checkout_with, new_pat, pay, place};
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

on_both_backends!(card_numbers_and_codes_are_in_neither_the_database_nor_the_logs);

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // sqlx logs the SQL text of each statement, never bound values; that text is
        // the project's own (migrations mention card codes in comments), so it is left out.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug,sqlx=warn"))
            .with_writer(|| Capture)
            .with_ansi(false)
            .try_init();
    });
}

const NUMBERS: [&str; 4] = [
    "4000000000000002",
    "4111111111111111",
    "4111 1111 1111 1111",
    "4242424242424242",
];
/// The request field that carries the security code, and the names it goes by. In the
/// database only the field name is searched: three letters would turn up by chance in
/// a file's binary pages.
const CODE_FIELDS: [&str; 3] = ["verification_value", "cvv", "cvc"];

async fn order(app: &TestApp, customer_id: i64) -> i64 {
    let id = checkout_with(
        app,
        json!({"customer_id": customer_id, "line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("order id")
}

/// Everything the database holds, as one searchable text.
async fn database_contents(app: &TestApp) -> String {
    let url = &app.database_url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut all = Vec::new();
        for file in [path.to_string(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                all.extend_from_slice(&bytes);
            }
        }
        assert!(all.len() > 4096, "read the SQLite database at {path}");
        String::from_utf8_lossy(&all).into_owned()
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .expect("tables");
        assert!(tables.len() > 10, "found the schema's tables: {tables:?}");
        let mut all = String::new();
        for (table,) in tables {
            let sql =
                format!("SELECT coalesce(string_agg(t::text, chr(10)), '') FROM \"{table}\" t");
            let (text,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .expect("table contents");
            all.push_str(&text);
            all.push('\n');
        }
        pool.close().await;
        all
    }
}

async fn card_numbers_and_codes_are_in_neither_the_database_nor_the_logs(app: TestApp) {
    capture_logs();
    let app = app.with_fixtures().await;

    let guest = order(&app, 0).await;
    let pat = new_pat(&app, guest).await;
    let declined = pay(&app, &pat, card("4000000000000002")).await;
    assert_eq!(
        declined.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        declined.body
    );
    let approved = pay(&app, &pat, card("4111 1111 1111 1111")).await;
    assert_eq!(approved.status, StatusCode::CREATED, "{}", approved.body);

    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "cards@example.com", "first_name": "Ada", "last_name": "Lovelace"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer = r.data()[0]["id"].as_i64().expect("customer id");
    let saved = order(&app, customer).await;
    let pat = new_pat(&app, saved).await;
    let mut body = card("4242424242424242");
    body["payment"]["save_instrument"] = json!(true);
    let r = pay(&app, &pat, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // What may be kept: the last four digits of the saved card, to show the shopper.
    let methods = app
        .get(&format!(
            "/stores/demo/v3/payments/methods?order_id={}",
            order(&app, customer).await
        ))
        .await;
    assert_eq!(methods.status, StatusCode::OK, "{}", methods.body);
    let stored = &methods.data()[0]["stored_instruments"][0];
    assert_eq!(stored["last_4"], "4242", "{stored}");

    let db = database_contents(&app).await;
    assert!(db.contains("cards@example.com"), "the scan sees real rows");
    let logs =
        String::from_utf8_lossy(&LOGS.lock().map(|l| l.clone()).unwrap_or_default()).into_owned();
    assert!(
        logs.contains("/payments"),
        "the log capture saw the payment requests"
    );
    for (what, text) in [("database", &db), ("logs", &logs)] {
        let lower = text.to_lowercase();
        for n in NUMBERS {
            assert!(!text.contains(n), "card number {n} found in the {what}");
        }
        let fields = if what == "logs" {
            &CODE_FIELDS[..]
        } else {
            &CODE_FIELDS[..1]
        };
        for f in fields {
            let line = lower.lines().find(|l| l.contains(f)).unwrap_or_default();
            assert!(
                !lower.contains(f),
                "a security-code field `{f}` found in the {what}: {}",
                line.chars().take(400).collect::<String>()
            );
        }
    }
    app.stop().await;
}
