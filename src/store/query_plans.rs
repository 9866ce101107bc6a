//! Guards the cost of every fixed SQL statement in the source: SQLite's plan for each
//! must reach its rows through an index on the keys it names. A statement that walks a
//! whole table, or all of a store's rows to honour an ORDER BY, costs more with every
//! order a store takes; such a plan once made each checkout scan the store's orders.

use std::path::Path;

/// Statements allowed to read a whole table, and why.
const WHOLE_TABLE_ALLOWED: &[(&str, &str)] = &[
    (
        "FROM stores",
        "a handful of rows: the stores of this installation",
    ),
    (
        "INSERT INTO stores",
        "a new store: the plan's look for child rows runs only with deferred constraints",
    ),
    (
        "SELECT COUNT(*) FROM webhook_outbox",
        "a metric, over the covering index",
    ),
    (
        "DELETE FROM webhook_deliveries WHERE state <> 0",
        "the periodic sweep of finished deliveries",
    ),
    (
        "SELECT scope, data FROM webhook_outbox",
        "tests and support read events back",
    ),
    (
        "WHERE kind IN ('coupon', 'promotion') ORDER BY kind, store_id, id",
        "migration 21 keys every stored code and coupon name once",
    ),
    (
        "DELETE FROM discount_codes WHERE code_key IS NOT NULL",
        "migration 21 rebuilds the index of codes once",
    ),
    (
        "DELETE FROM coupon_names WHERE name_key IS NOT NULL",
        "migration 21 rebuilds the index of coupon names once",
    ),
];

/// Every SQL string literal in the Rust files under `dir` that is a whole statement
/// (SQL assembled with `format!` is skipped): (file:line, SQL).
fn statements(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            statements(&path, out);
            continue;
        }
        // This file's own examples are not statements Kassa runs.
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("query_plans.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut rest = text.as_str();
        let mut offset = 0;
        while let Some(at) = rest.find('"') {
            let body = &rest[at + 1..];
            let end = body
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let found = c == '"' && !*escaped;
                    *escaped = c == '\\' && !*escaped;
                    Some((i, found))
                })
                .find(|(_, found)| *found)
                .map(|(i, _)| i);
            let Some(end) = end else { break };
            let literal = &body[..end];
            let first = literal.split_whitespace().next().unwrap_or("");
            if ["SELECT", "UPDATE", "DELETE", "INSERT", "WITH"].contains(&first)
                && !literal.contains('{')
            {
                let line = text[..offset + at].lines().count() + 1;
                let sql = literal.replace("\\\n", " ").replace("\\\"", "\"");
                out.push((format!("{}:{line}", path.display()), sql));
            }
            offset += at + 1 + end + 1;
            rest = &body[end + 1..];
        }
    }
}

/// `$1` → `?1`, which SQLite reads the same way.
fn sqlite_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let numbered = c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit());
        out.push(if numbered { '?' } else { c });
    }
    out
}

/// What is wrong with a plan, if anything.
fn fault(sql: &str, plan: &[String]) -> Option<String> {
    let squashed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let wheres = squashed
        .split_once(" WHERE ")
        .map(|(_, w)| w.split(" ORDER BY ").next().unwrap_or(w))
        .unwrap_or("");
    // The source writes parameters `$N` for both backends.
    let keys_named = wheres.matches(" = $").count();
    for step in plan {
        if step.starts_with("SCAN ")
            && !step.contains("CONSTANT ROW")
            && !WHOLE_TABLE_ALLOWED
                .iter()
                .any(|(s, _)| squashed.contains(s))
        {
            return Some(format!("reads a whole table: {step}"));
        }
        // An index used for the store alone, when the statement names more keys: the
        // store's every row is visited.
        if step.starts_with("SEARCH ") && step.ends_with("(store_id=?)") && keys_named > 1 {
            return Some(format!("visits every row of the store: {step}"));
        }
    }
    None
}

#[tokio::test]
async fn every_fixed_statement_reaches_its_rows_through_an_index() {
    let file = std::env::temp_dir().join(format!(
        "kassa-query-plans-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    let store = super::Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let db = rusqlite::Connection::open(&file).unwrap();

    let mut found = Vec::new();
    statements(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    let mut planned = 0;
    let mut faults = Vec::new();
    for (place, sql) in &found {
        let Ok(mut explain) = db.prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite_params(sql)))
        else {
            // A fragment or another backend's dialect: not a statement SQLite runs as is.
            continue;
        };
        let nulls = vec![rusqlite::types::Null; explain.parameter_count()];
        let plan: Vec<String> = explain
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        planned += 1;
        if let Some(why) = fault(sql, &plan) {
            faults.push(format!(
                "{place}: {why}\n    {}",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    let _ = std::fs::remove_file(&file);
    // The source holds well over a hundred statements; finding few means the scan broke.
    assert!(planned > 150, "only {planned} statements were planned");
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn a_store_wide_walk_is_a_fault() {
    let sql = "SELECT id FROM orders WHERE store_id = $1 AND cart_id = $2 ORDER BY id";
    let plan = ["SEARCH orders USING INDEX sqlite_autoindex_orders_1 (store_id=?)".to_string()];
    assert!(fault(sql, &plan).is_some());
    let plan = ["SEARCH orders USING INDEX orders_cart (store_id=? AND cart_id=?)".to_string()];
    assert!(fault(sql, &plan).is_none());
    let plan = ["SCAN orders".to_string()];
    assert!(fault(sql, &plan).is_some());
}
