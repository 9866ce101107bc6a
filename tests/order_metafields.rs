//! Order metafields over real HTTP, on both backends: one order's CRUD, listing and
//! pagination, validation, duplicates, unknown and other stores' orders, batches with
//! partial failure, the per-order limit and scopes.

mod common;

use common::TestApp;
use common::flow::{checkout_with, place};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    metafield_crud_on_an_order,
    list_paginates_and_filters,
    duplicate_namespace_and_key_is_409,
    unknown_order_is_404_and_bad_fields_are_422,
    another_stores_order_is_404,
    batch_create_update_delete_with_partial_failure,
    an_order_holds_at_most_250_metafields,
    concurrent_creates_at_249_stop_at_250,
    scopes_are_checked_before_the_body,
    cart_and_order_metafields_stay_apart,
);

const BATCH: &str = "/stores/demo/v3/orders/metafields";

async fn new_order(app: &TestApp) -> i64 {
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().unwrap()
}

fn mf(ns: &str, key: &str, value: &str) -> Value {
    json!({"namespace": ns, "key": key, "value": value, "permission_set": "app_only"})
}

fn base(order: i64) -> String {
    format!("/stores/demo/v3/orders/{order}/metafields")
}

async fn metafield_crud_on_an_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let created = app
        .post(
            &base(order),
            json!({"namespace": "Sales Department", "key": "Staff Name", "value": "Sam",
                   "permission_set": "read", "description": "Who sold it"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let m = created.data().clone();
    let id = m["id"]
        .as_i64()
        .expect("an integer id, as orders.v3.yml types it");
    assert!(id > 0);
    assert_eq!(m["key"], "Staff Name");
    assert_eq!(m["value"], "Sam");
    assert_eq!(m["namespace"], "Sales Department");
    assert_eq!(m["permission_set"], "read");
    assert_eq!(m["resource_type"], "order");
    assert_eq!(m["resource_id"], order);
    assert_eq!(m["description"], "Who sold it");
    // Owned by the API account that created it.
    let owner = app.client_id_of(common::TOKEN).await;
    assert_eq!(owner.len(), 30, "{owner}");
    assert_eq!(m["owner_client_id"], owner.as_str());
    assert!(m["date_created"].as_str().unwrap().contains('T'));

    let one = app.get(&format!("{}/{id}", base(order))).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.data()["value"], "Sam");

    let updated = app
        .put(
            &format!("{}/{id}", base(order)),
            json!({"value": "Alex", "permission_set": "write"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.data()["value"], "Alex");
    assert_eq!(updated.data()["permission_set"], "write");
    assert_eq!(updated.data()["key"], "Staff Name", "unchanged fields stay");

    // Another API account changes it: the owner stays its creator. What that account
    // creates is its own.
    let other = app.token_with_scopes("store_v2_orders").await;
    let other_id = app.client_id_of(&other).await;
    assert_ne!(other_id, owner);
    let r = app
        .call_as(
            &other,
            Method::PUT,
            &format!("{}/{id}", base(order)),
            Some(json!({"description": "Who sold it, checked"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["owner_client_id"], owner.as_str(), "{}", r.body);
    let r = app
        .call_as(
            &other,
            Method::POST,
            &base(order),
            Some(
                json!({"namespace": "Audit", "key": "checked_by", "value": "ops",
                        "permission_set": "app_only"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["owner_client_id"], other_id.as_str(), "{}", r.body);
    let r = app
        .delete(&format!("{}/{}", base(order), r.data()["id"]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let list = app.get(&base(order)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.data().as_array().unwrap().len(), 1);
    assert_eq!(list.body["meta"]["pagination"]["total"], 1);

    let del = app.delete(&format!("{}/{id}", base(order))).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = app.get(&format!("{}/{id}", base(order))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.body["title"],
        format!("Metafield {id} does not exist.")
    );
    let again = app.delete(&format!("{}/{id}", base(order))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let empty = app.get(&base(order)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.data().as_array().unwrap().len(), 0);
}

async fn list_paginates_and_filters(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    for i in 0..5 {
        let ns = if i % 2 == 0 { "even" } else { "odd" };
        let r = app
            .post(&base(order), mf(ns, &format!("k{i}"), &format!("v{i}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let page = app.get(&format!("{}?limit=2&page=2", base(order))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let keys: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["k2", "k3"]);
    let p = &page.body["meta"]["pagination"];
    assert_eq!(p["total"], 5);
    assert_eq!(p["count"], 2);
    assert_eq!(p["per_page"], 2);
    assert_eq!(p["current_page"], 2);
    assert_eq!(p["total_pages"], 3);

    let desc = app
        .get(&format!("{}?direction=desc&limit=1", base(order)))
        .await;
    assert_eq!(desc.data()[0]["key"], "k4");
    let odd = app.get(&format!("{}?namespace=odd", base(order))).await;
    assert_eq!(odd.body["meta"]["pagination"]["total"], 2);
    let some = app.get(&format!("{}?key:in=k0,k4,nope", base(order))).await;
    assert_eq!(some.body["meta"]["pagination"]["total"], 2);

    let bad = app
        .get(&format!("{}?direction=sideways", base(order)))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let bad = app.get(&format!("{}?limit=0", base(order))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

    // The batch list spans orders.
    let other = new_order(&app).await;
    app.post(&base(other), mf("even", "k9", "v")).await;
    let all = app.get(&format!("{BATCH}?namespace=even")).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["meta"]["pagination"]["total"], 4);
    let owners: Vec<i64> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["resource_id"].as_i64().unwrap())
        .collect();
    assert_eq!(owners, vec![order, order, order, other]);
}

async fn duplicate_namespace_and_key_is_409(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let first = app.post(&base(order), mf("ns", "k", "v")).await;
    assert_eq!(first.status, StatusCode::OK);
    let dup = app.post(&base(order), mf("ns", "k", "other")).await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);
    assert!(
        dup.body["title"]
            .as_str()
            .unwrap()
            .contains(&format!("Order {order}")),
        "{}",
        dup.body
    );
    // Another order may use the same namespace and key.
    let other = new_order(&app).await;
    let r = app.post(&base(other), mf("ns", "k", "v")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Renaming onto a taken key is a conflict too, and changes nothing.
    let second = app.post(&base(order), mf("ns", "k2", "v")).await;
    let id = second.data()["id"].as_i64().unwrap();
    let r = app
        .put(&format!("{}/{id}", base(order)), json!({"key": "k"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        app.get(&format!("{}/{id}", base(order))).await.data()["key"],
        "k2"
    );
}

async fn unknown_order_is_404_and_bad_fields_are_422(app: TestApp) {
    let app = app.with_fixtures().await;
    for path in [
        base(999_999),
        "/stores/demo/v3/orders/abc/metafields".into(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(r.body["title"].as_str().unwrap().starts_with("Order "));
        let r = app.post(&path, mf("ns", "k", "v")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let r = app.get(&format!("{}/1", base(999_999))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["title"], "Order 999999 does not exist.");

    let order = new_order(&app).await;
    let r = app
        .post(
            &base(order),
            json!({"namespace": "", "key": "k", "permission_set": "everyone"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let errors = r.body["errors"].as_object().unwrap();
    for field in ["namespace", "value", "permission_set"] {
        assert!(errors.contains_key(field), "{field} named: {}", r.body);
    }
    let r = app
        .post(
            &base(order),
            json!({"namespace": "n", "key": "k", "value": "v".repeat(65_536), "permission_set": "read"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["value"]
            .as_str()
            .unwrap()
            .contains("65535")
    );
    let r = app.get(&base(order)).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 0, "nothing written");
}

async fn another_stores_order_is_404(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let id = app.post(&base(order), mf("ns", "k", "v")).await.data()["id"]
        .as_i64()
        .unwrap();
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .unwrap();
    let other = app
        .kassa
        .create_token("other", "t", &kassa::domain::scope::Scopes::every(), None)
        .await
        .unwrap();
    let theirs = format!("/stores/other/v3/orders/{order}/metafields");
    for (method, path, body) in [
        (Method::GET, theirs.clone(), None),
        (Method::POST, theirs.clone(), Some(mf("ns", "x", "y"))),
        (Method::GET, format!("{theirs}/{id}"), None),
        (
            Method::PUT,
            format!("{theirs}/{id}"),
            Some(json!({"value": "stolen"})),
        ),
        (Method::DELETE, format!("{theirs}/{id}"), None),
    ] {
        let r = app.call_as(&other, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.body
        );
    }
    let all = app
        .call_as(
            &other,
            Method::GET,
            "/stores/other/v3/orders/metafields",
            None,
        )
        .await;
    assert_eq!(all.body["meta"]["pagination"]["total"], 0);
    let r = app
        .call_as(
            &other,
            Method::PUT,
            "/stores/other/v3/orders/metafields",
            Some(json!([{"id": id, "value": "stolen"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["meta"]["failed"], 1);
    let r = app
        .call_as(
            &other,
            Method::POST,
            "/stores/other/v3/orders/metafields",
            Some(json!([{"resource_id": order, "namespace": "n", "key": "k", "value": "v", "permission_set": "read"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["status"], 404);
    let mine = app.get(&format!("{}/{id}", base(order))).await;
    assert_eq!(mine.data()["value"], "v");
}

async fn batch_create_update_delete_with_partial_failure(app: TestApp) {
    let app = app.with_fixtures().await;
    let a = new_order(&app).await;
    let b = new_order(&app).await;
    let r = app
        .post(
            BATCH,
            json!([
                {"resource_id": a, "namespace": "n", "key": "k", "value": "1", "permission_set": "read"},
                {"resource_id": 999_999, "namespace": "n", "key": "k", "value": "2", "permission_set": "read"},
                {"resource_id": b, "namespace": "n", "key": "k", "value": "3", "permission_set": "read"},
                {"resource_id": a, "namespace": "n", "key": "k", "value": "4", "permission_set": "read"},
                {"resource_id": b, "namespace": "n", "key": "j", "value": "5"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "success": 2, "failed": 3})
    );
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data[0]["resource_id"], a);
    assert_eq!(data[1]["resource_id"], b);
    let statuses: Vec<i64> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![404, 409, 422]);
    assert!(
        r.body["errors"][2]["title"]
            .as_str()
            .unwrap()
            .starts_with("Item 4 of the request")
    );
    let ida = data[0]["id"].as_i64().unwrap();
    let idb = data[1]["id"].as_i64().unwrap();

    let all_ok = app
        .post(
            BATCH,
            json!([{"resource_id": a.to_string(), "namespace": "n", "key": "other", "value": "x", "permission_set": "write"}]),
        )
        .await;
    assert_eq!(all_ok.status, StatusCode::OK, "{}", all_ok.body);
    assert_eq!(all_ok.body["errors"], json!([]));

    let r = app
        .put(
            BATCH,
            json!([{"id": ida, "value": "one"}, {"id": 987_654, "value": "x"}, {"id": idb, "value": "three"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "success": 2, "failed": 1})
    );
    assert_eq!(
        app.get(&format!("{}/{idb}", base(b))).await.data()["value"],
        "three"
    );

    let r = app
        .call(Method::DELETE, BATCH, Some(json!([ida, 987_654])))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["data"], json!([ida]));
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "success": 1, "failed": 1})
    );
    let r = app.call(Method::DELETE, BATCH, Some(json!([idb]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(
        app.get(&format!("{}/{idb}", base(b))).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app.post(BATCH, json!([])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn an_order_holds_at_most_250_metafields(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let items: Vec<Value> = (0..250)
        .map(|i| json!({"resource_id": order, "namespace": "n", "key": format!("k{i}"), "value": "v", "permission_set": "read"}))
        .collect();
    let r = app.post(BATCH, json!(items)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["meta"]["success"], 250);
    let r = app.post(&base(order), mf("n", "one-more", "v")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("250"),
        "{}",
        r.body
    );
    let list = app.get(&format!("{}?limit=250", base(order))).await;
    assert_eq!(list.body["meta"]["pagination"]["total"], 250);
    // Another order is not affected.
    let other = new_order(&app).await;
    let r = app.post(&base(other), mf("n", "one-more", "v")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn concurrent_creates_at_249_stop_at_250(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let items: Vec<Value> = (0..249)
        .map(|i| json!({"resource_id": order, "namespace": "n", "key": format!("k{i}"), "value": "v", "permission_set": "read"}))
        .collect();
    let r = app.post(BATCH, json!(items)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["meta"]["success"], 249);
    // Twelve creates race for the last place: one by one and in batches of one.
    let url = base(order);
    let singles = (0..6).map(|i| app.post(&url, mf("race", &format!("single{i}"), "v")));
    let batches = (0..6).map(|i| {
        app.post(
            BATCH,
            json!([{"resource_id": order, "namespace": "race", "key": format!("batch{i}"),
                    "value": "v", "permission_set": "read"}]),
        )
    });
    let (singles, batches) = tokio::join!(join_all(singles), join_all(batches));
    let mut created = 0;
    for r in &singles {
        match r.status {
            StatusCode::OK => created += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {}
            other => panic!("single create: {other} {}", r.body),
        }
    }
    for r in &batches {
        assert!(
            matches!(
                r.status,
                StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::MULTI_STATUS
            ),
            "batch create: {} {}",
            r.status,
            r.body
        );
        created += r.body["meta"]["success"].as_i64().unwrap_or(0);
    }
    assert_eq!(created, 1, "exactly one create takes the last place");
    let list = app.get(&format!("{url}?limit=250")).await;
    assert_eq!(list.body["meta"]["pagination"]["total"], 250);
}

async fn scopes_are_checked_before_the_body(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let id = app.post(&base(order), mf("ns", "k", "v")).await.data()["id"]
        .as_i64()
        .unwrap();
    let ro = app.token_with_scopes("store_v2_orders_read_only").await;
    for path in [
        base(order),
        format!("{}/{id}", base(order)),
        BATCH.to_string(),
    ] {
        let r = app.call_as(&ro, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let carts = app.token_with_scopes("store_cart").await;
    // Bodies that are not even JSON of the right shape: the scope answers first.
    let writes = [
        (Method::POST, base(order), Some(json!("not an object"))),
        (
            Method::PUT,
            format!("{}/{id}", base(order)),
            Some(json!(42)),
        ),
        (Method::DELETE, format!("{}/{id}", base(order)), None),
        (
            Method::POST,
            BATCH.to_string(),
            Some(json!({"no": "array"})),
        ),
        (Method::PUT, BATCH.to_string(), Some(json!("x"))),
        (Method::DELETE, BATCH.to_string(), Some(json!({}))),
    ];
    for (token, name) in [(&ro, "read-only"), (&carts, "cart")] {
        for (method, path, body) in writes.clone() {
            let r = app.call_as(token, method.clone(), &path, body).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{name} {method} {path}: {}",
                r.body
            );
            assert!(
                r.body["title"]
                    .as_str()
                    .unwrap()
                    .contains("store_v2_orders")
            );
        }
    }
    let r = app.call_as(&carts, Method::GET, BATCH, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("{}/{id}", base(order))).await.data()["value"],
        "v"
    );
}

async fn cart_and_order_metafields_stay_apart(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = new_order(&app).await;
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    let cart = r.data()["id"].as_str().unwrap().to_string();
    let cart_mf = app
        .post(
            &format!("/stores/demo/v3/carts/{cart}/metafields"),
            mf("ns", "k", "v"),
        )
        .await;
    assert_eq!(cart_mf.status, StatusCode::OK, "{}", cart_mf.body);
    let cart_mf_id = cart_mf.data()["id"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let order_mf = app.post(&base(order), mf("ns", "k", "v")).await;
    assert_eq!(order_mf.status, StatusCode::OK, "{}", order_mf.body);

    let orders = app.get(BATCH).await;
    assert_eq!(orders.body["meta"]["pagination"]["total"], 1);
    assert_eq!(orders.data()[0]["resource_type"], "order");
    let carts = app.get("/stores/demo/v3/carts/metafields").await;
    assert_eq!(carts.body["meta"]["pagination"]["total"], 1);
    assert_eq!(carts.data()[0]["resource_type"], "cart");
    // A cart's metafield id is not an order's.
    let r = app.get(&format!("{}/{cart_mf_id}", base(order))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(Method::DELETE, BATCH, Some(json!([cart_mf_id])))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .get(&format!(
            "/stores/demo/v3/carts/{cart}/metafields/{cart_mf_id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
