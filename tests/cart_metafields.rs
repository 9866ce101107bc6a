//! Cart metafields over real HTTP, on both backends: one cart's CRUD, listing and
//! filters, validation, duplicates, batches with partial failure, tenancy and scopes.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    metafield_crud_on_a_cart,
    list_paginates_and_filters,
    duplicate_namespace_and_key_is_409,
    validation_names_the_field,
    batch_create_update_delete_with_partial_failure,
    batch_list_spans_carts_and_filters,
    another_stores_cart_metafields_are_404,
    read_only_token_can_read_but_not_write,
    deleting_the_cart_removes_its_metafields,
    metafield_paths_are_in_openapi,
);

async fn new_cart(app: &TestApp) -> String {
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data()["id"].as_str().unwrap().to_string()
}

fn mf(ns: &str, key: &str, value: &str) -> Value {
    json!({"namespace": ns, "key": key, "value": value, "permission_set": "app_only"})
}

async fn metafield_crud_on_a_cart(app: TestApp) {
    let cart = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    let created = app
        .post(
            &base,
            json!({"namespace": "Sales Department", "key": "Staff Name", "value": "Sam",
                   "permission_set": "read", "description": "Who sold it"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.headers["content-type"], "application/json");
    let m = created.data().clone();
    let id = m["id"].as_str().unwrap().to_string();
    assert!(id.parse::<i64>().unwrap() > 0);
    assert_eq!(m["key"], "Staff Name");
    assert_eq!(m["value"], "Sam");
    assert_eq!(m["namespace"], "Sales Department");
    assert_eq!(m["permission_set"], "read");
    assert_eq!(m["resource_type"], "cart");
    assert_eq!(m["resource_id"], cart.as_str());
    assert_eq!(m["description"], "Who sold it");
    // Owned by the API account that created it.
    let owner = app.client_id_of(common::TOKEN).await;
    assert_eq!(owner.len(), 30, "{owner}");
    assert_eq!(m["owner_client_id"], owner.as_str());
    assert!(m["date_created"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(m["date_created"], m["date_modified"]);
    assert_eq!(created.body["meta"], json!({}));

    let got = app.get(&format!("{base}/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.data(), &m);

    // A partial update keeps what it does not name.
    app.clock.advance(60);
    let put = app
        .put(&format!("{base}/{id}"), json!({"value": "Alex"}))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.data()["value"], "Alex");
    assert_eq!(put.data()["key"], "Staff Name");
    assert_eq!(put.data()["permission_set"], "read");
    assert_eq!(put.data()["description"], "Who sold it");
    assert_eq!(put.data()["date_created"], m["date_created"]);
    assert_ne!(put.data()["date_modified"], m["date_modified"]);
    let put = app
        .put(
            &format!("{base}/{id}"),
            json!({"permission_set": "write_and_sf_access", "description": ""}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.data()["permission_set"], "write_and_sf_access");
    assert_eq!(put.data()["description"], "");
    assert_eq!(put.data()["value"], "Alex");

    let list = app.get(&base).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.data().as_array().unwrap().len(), 1);

    let del = app.delete(&format!("{base}/{id}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{base}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let again = app.delete(&format!("{base}/{id}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body["status"], 404);
    let put = app
        .put(&format!("{base}/{id}"), json!({"value": "x"}))
        .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND);
    // Not an id at all.
    assert_eq!(
        app.get(&format!("{base}/abc")).await.status,
        StatusCode::NOT_FOUND
    );
    // An empty list of an existing cart is a 200; of a cart that does not exist, a 404.
    let list = app.get(&base).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.data(), &json!([]));
    let missing = app
        .get("/stores/demo/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e/metafields")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing = app
        .post(
            "/stores/demo/v3/carts/6e193ce6-f327-4dcc-b75e-72cf6738525e/metafields",
            mf("a", "b", "c"),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn list_paginates_and_filters(app: TestApp) {
    let cart = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    let mut ids = Vec::new();
    for i in 0..7 {
        let ns = if i % 2 == 0 { "even" } else { "odd" };
        let r = app
            .post(&base, mf(ns, &format!("k{i}"), &format!("v{i}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        ids.push(r.data()["id"].as_str().unwrap().to_string());
    }
    let r = app.get(&format!("{base}?limit=3&page=2")).await;
    assert_eq!(r.status, StatusCode::OK);
    let got: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        ids[3..6].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let p = &r.body["meta"]["pagination"];
    assert_eq!(p["total"], 7);
    assert_eq!(p["count"], 3);
    assert_eq!(p["per_page"], 3);
    assert_eq!(p["current_page"], 2);
    assert_eq!(p["total_pages"], 3);
    assert_eq!(p["links"]["previous"], "?page=1&limit=3");
    assert_eq!(p["links"]["current"], "?page=2&limit=3");
    assert_eq!(p["links"]["next"], "?page=3&limit=3");

    // Defaults: page 1, limit 50.
    let r = app.get(&base).await;
    assert_eq!(r.body["meta"]["pagination"]["per_page"], 50);
    assert_eq!(r.body["meta"]["pagination"]["total_pages"], 1);
    assert_eq!(r.data().as_array().unwrap().len(), 7);

    let r = app.get(&format!("{base}?direction=desc&limit=2")).await;
    let first = r.data()[0]["id"].as_str().unwrap();
    assert_eq!(first, ids[6]);

    let r = app.get(&format!("{base}?namespace=odd")).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);
    assert!(
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["namespace"] == "odd")
    );
    let r = app.get(&format!("{base}?key=k4")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["value"], "v4");
    let r = app.get(&format!("{base}?key:in=k1,k2%2Ck3&")).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);
    let r = app
        .get(&format!("{base}?key:in=k1,k2,k3&namespace=even"))
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 1);
    assert_eq!(r.data()[0]["key"], "k2");

    let bad = app.get(&format!("{base}?page=0")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["errors"]["page"].is_string());
    let bad = app.get(&format!("{base}?limit=many")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["errors"]["limit"].is_string());
    let bad = app.get(&format!("{base}?direction=sideways")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["errors"]["direction"].is_string());
    // A limit above the maximum is capped.
    let r = app.get(&format!("{base}?limit=1000")).await;
    assert_eq!(r.body["meta"]["pagination"]["per_page"], 250);
}

async fn duplicate_namespace_and_key_is_409(app: TestApp) {
    let cart = new_cart(&app).await;
    let other = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    assert_eq!(
        app.post(&base, mf("ns", "color", "blue")).await.status,
        StatusCode::OK
    );
    let dup = app.post(&base, mf("ns", "color", "red")).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["status"], 409);
    assert!(dup.body["title"].as_str().unwrap().contains("color"));
    // Same key in another namespace, or on another cart, is fine.
    assert_eq!(
        app.post(&base, mf("ns2", "color", "red")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(
            &format!("/stores/demo/v3/carts/{other}/metafields"),
            mf("ns", "color", "red")
        )
        .await
        .status,
        StatusCode::OK
    );
    // Renaming onto a taken namespace+key is a conflict too.
    let size = app.post(&base, mf("ns", "size", "L")).await;
    let id = size.data()["id"].as_str().unwrap();
    let r = app
        .put(&format!("{base}/{id}"), json!({"key": "color"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Renaming to its own namespace and key is not.
    let r = app
        .put(
            &format!("{base}/{id}"),
            json!({"key": "size", "namespace": "ns"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn validation_names_the_field(app: TestApp) {
    let cart = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    let cases = [
        (
            json!({"key": "k", "value": "v", "permission_set": "read"}),
            "namespace",
        ),
        (
            json!({"namespace": "n", "value": "v", "permission_set": "read"}),
            "key",
        ),
        (
            json!({"namespace": "n", "key": "k", "permission_set": "read"}),
            "value",
        ),
        (
            json!({"namespace": "n", "key": "k", "value": "v"}),
            "permission_set",
        ),
        (
            json!({"namespace": "n", "key": "k", "value": "v", "permission_set": "public"}),
            "permission_set",
        ),
        (
            json!({"namespace": "n".repeat(65), "key": "k", "value": "v", "permission_set": "read"}),
            "namespace",
        ),
        (
            json!({"namespace": "n", "key": "", "value": "v", "permission_set": "read"}),
            "key",
        ),
        (
            json!({"namespace": "n", "key": "k", "value": "", "permission_set": "read"}),
            "value",
        ),
        (
            json!({"namespace": "n", "key": "k", "value": "v", "permission_set": "read", "description": "d".repeat(256)}),
            "description",
        ),
        (
            json!({"namespace": "n", "key": "k", "value": 5, "permission_set": "read"}),
            "value",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&base, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.body["errors"][field].is_string(),
            "{field} not named for {body}: {}",
            r.body
        );
        assert!(r.body["title"].as_str().unwrap().contains(field));
    }
    // Everything wrong at once: every field named.
    let r = app.post(&base, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["namespace", "key", "value", "permission_set"] {
        assert!(r.body["errors"][f].is_string(), "{f}: {}", r.body);
    }
    // Maximum lengths are accepted (counted in characters).
    let r = app
        .post(
            &base,
            json!({"namespace": "ü".repeat(64), "key": "k".repeat(64), "value": "v".repeat(65535),
                   "permission_set": "write", "description": "d".repeat(255)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.data()["id"].as_str().unwrap();
    let r = app
        .put(&format!("{base}/{id}"), json!({"namespace": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["namespace"].is_string());
    let r = app.call_raw(Method::POST, &base, b"{\"namespace\": ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn batch_create_update_delete_with_partial_failure(app: TestApp) {
    let a = new_cart(&app).await;
    let b = new_cart(&app).await;
    let batch = "/stores/demo/v3/carts/metafields";
    let mut ok_a = mf("ns", "one", "1");
    ok_a["resource_id"] = json!(a);
    let mut ok_b = mf("ns", "one", "1");
    ok_b["resource_id"] = json!(b);
    let r = app.post(batch, json!([ok_a, ok_b])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "success": 2, "failed": 0})
    );
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(r.data()[0]["resource_id"], a.as_str());
    assert_eq!(r.data()[1]["resource_id"], b.as_str());
    let id_a = r.data()[0]["id"].as_str().unwrap().to_string();
    let id_b = r.data()[1]["id"].as_str().unwrap().to_string();

    // Good, duplicate, invalid, unknown cart, missing resource_id, good.
    let mut good1 = mf("ns", "two", "2");
    good1["resource_id"] = json!(a);
    let mut dup = mf("ns", "one", "again");
    dup["resource_id"] = json!(a);
    let mut invalid = mf("ns", "", "x");
    invalid["resource_id"] = json!(b);
    let mut unknown = mf("ns", "three", "3");
    unknown["resource_id"] = json!("6e193ce6-f327-4dcc-b75e-72cf6738525e");
    let no_cart = mf("ns", "four", "4");
    let mut good2 = mf("ns", "two", "2");
    good2["resource_id"] = json!(b);
    let r = app
        .post(batch, json!([good1, dup, invalid, unknown, no_cart, good2]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 6, "success": 2, "failed": 4})
    );
    let data = r.data().as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["resource_id"], a.as_str());
    assert_eq!(data[1]["resource_id"], b.as_str());
    let errors = r.body["errors"].as_array().unwrap();
    let statuses: Vec<i64> = errors
        .iter()
        .map(|e| e["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![409, 422, 404, 422]);
    assert!(errors[0]["title"].as_str().unwrap().contains("Item 1"));
    assert!(errors[1]["errors"]["key"].is_string());
    assert!(errors[2]["errors"]["resource_id"].is_string());
    assert!(errors[3]["errors"]["resource_id"].is_string());
    for e in errors {
        assert_eq!(
            e["type"],
            "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
        );
    }
    // The good ones were written.
    let list = app
        .get(&format!("/stores/demo/v3/carts/{a}/metafields"))
        .await;
    assert_eq!(list.body["meta"]["pagination"]["total"], 2);

    // Batch update: ids as strings or numbers; one unknown, one invalid, one duplicate.
    let r = app
        .put(
            batch,
            json!([
                {"id": id_a, "value": "uno"},
                {"id": id_b.parse::<i64>().unwrap(), "description": "second"},
                {"id": "999999", "value": "x"},
                {"id": id_a, "permission_set": "nobody"},
                {"id": id_a, "key": "two"},
                {"value": "no id"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 6, "success": 2, "failed": 4})
    );
    assert_eq!(r.data()[0]["value"], "uno");
    assert_eq!(r.data()[0]["key"], "one");
    assert_eq!(r.data()[1]["description"], "second");
    assert_eq!(r.data()[1]["value"], "1");
    let statuses: Vec<i64> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![404, 422, 409, 422]);
    assert!(r.body["errors"][1]["errors"]["permission_set"].is_string());
    assert!(r.body["errors"][3]["errors"]["id"].is_string());
    let r = app.put(batch, json!([{"id": id_b, "value": "b1"}])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(
        r.body["meta"],
        json!({"total": 1, "success": 1, "failed": 0})
    );

    // Batch delete: one unknown.
    let r = app
        .call(
            Method::DELETE,
            batch,
            Some(json!([id_a.parse::<i64>().unwrap(), 999999])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.data(), &json!([id_a.parse::<i64>().unwrap()]));
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "success": 1, "failed": 1})
    );
    assert_eq!(r.body["errors"][0]["status"], 404);
    assert!(r.body["errors"][0]["errors"]["999999"].is_string());
    let r = app.call(Method::DELETE, batch, Some(json!([id_b]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 1, "success": 1, "failed": 0})
    );
    assert_eq!(r.body["errors"], json!([]));

    // An empty batch, or one that is not an array, is refused whole.
    let r = app.post(batch, json!([])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post(batch, json!({"namespace": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn batch_list_spans_carts_and_filters(app: TestApp) {
    let a = new_cart(&app).await;
    let b = new_cart(&app).await;
    for (cart, ns, key) in [
        (&a, "shipping", "gate"),
        (&a, "crm", "lead"),
        (&b, "shipping", "gate"),
        (&b, "erp", "po"),
    ] {
        let r = app
            .post(
                &format!("/stores/demo/v3/carts/{cart}/metafields"),
                mf(ns, key, "v"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let all = app.get("/stores/demo/v3/carts/metafields").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["meta"]["pagination"]["total"], 4);
    let r = app
        .get("/stores/demo/v3/carts/metafields?namespace:in=shipping,erp&limit=2")
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);
    assert_eq!(r.body["meta"]["pagination"]["total_pages"], 2);
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    let r = app
        .get("/stores/demo/v3/carts/metafields?namespace=crm&namespace:in=erp")
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 2);
    let r = app
        .get("/stores/demo/v3/carts/metafields?key=gate&direction=desc")
        .await;
    assert_eq!(r.data()[0]["resource_id"], b.as_str());
    assert_eq!(r.data()[1]["resource_id"], a.as_str());
    // Date bounds.
    let r = app
        .get("/stores/demo/v3/carts/metafields?date_created:min=2000-01-01")
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 4);
    let r = app
        .get("/stores/demo/v3/carts/metafields?date_modified:max=2000-01-01T00:00:00")
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 0);
    let r = app
        .get("/stores/demo/v3/carts/metafields?date_created:min=yesterday")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["date_created:min"].is_string());
}

async fn another_stores_cart_metafields_are_404(app: TestApp) {
    let cart = new_cart(&app).await;
    let created = app
        .post(
            &format!("/stores/demo/v3/carts/{cart}/metafields"),
            mf("ns", "k", "v"),
        )
        .await;
    let id = created.data()["id"].as_str().unwrap().to_string();

    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .unwrap();
    let other = app
        .kassa
        .create_token("other", "t", &kassa::domain::scope::Scopes::every(), None)
        .await
        .unwrap();
    let never = "6e193ce6-f327-4dcc-b75e-72cf6738525e";
    for (method, suffix, body) in [
        (Method::GET, String::new(), None),
        (Method::POST, String::new(), Some(mf("ns", "x", "y"))),
        (Method::GET, format!("/{id}"), None),
        (
            Method::PUT,
            format!("/{id}"),
            Some(json!({"value": "stolen"})),
        ),
        (Method::DELETE, format!("/{id}"), None),
    ] {
        let theirs = app
            .call_as(
                &other,
                method.clone(),
                &format!("/stores/other/v3/carts/{cart}/metafields{suffix}"),
                body.clone(),
            )
            .await;
        let nothing = app
            .call_as(
                &other,
                method.clone(),
                &format!("/stores/other/v3/carts/{never}/metafields{suffix}"),
                body.clone(),
            )
            .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{method} {suffix}");
        assert_eq!(nothing.status, StatusCode::NOT_FOUND, "{method} {suffix}");
        assert_eq!(
            theirs.body["title"].as_str().unwrap().replace(&cart, "X"),
            nothing.body["title"].as_str().unwrap().replace(never, "X"),
        );
    }
    // The batch endpoints do not reach across stores either.
    let r = app
        .call_as(
            &other,
            Method::GET,
            "/stores/other/v3/carts/metafields",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["meta"]["pagination"]["total"], 0);
    let r = app
        .call_as(
            &other,
            Method::PUT,
            "/stores/other/v3/carts/metafields",
            Some(json!([{"id": id, "value": "stolen"}])),
        )
        .await;
    assert_eq!(r.body["meta"]["failed"], 1);
    assert_eq!(r.body["errors"][0]["status"], 404);
    let mut item = mf("ns", "z", "z");
    item["resource_id"] = json!(cart);
    let r = app
        .call_as(
            &other,
            Method::POST,
            "/stores/other/v3/carts/metafields",
            Some(json!([item])),
        )
        .await;
    assert_eq!(r.body["errors"][0]["status"], 404);
    let r = app
        .call_as(
            &other,
            Method::DELETE,
            "/stores/other/v3/carts/metafields",
            Some(json!([id.parse::<i64>().unwrap()])),
        )
        .await;
    assert_eq!(r.body["meta"]["failed"], 1);
    // Still there, unchanged, for its own store.
    let mine = app
        .get(&format!("/stores/demo/v3/carts/{cart}/metafields/{id}"))
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.data()["value"], "v");
}

async fn read_only_token_can_read_but_not_write(app: TestApp) {
    let cart = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    let created = app.post(&base, mf("ns", "k", "v")).await;
    let id = created.data()["id"].as_str().unwrap().to_string();
    let ro = app.token_with_scopes("store_cart_read_only").await;
    for path in [
        base.clone(),
        format!("{base}/{id}"),
        "/stores/demo/v3/carts/metafields".to_string(),
    ] {
        let r = app.call_as(&ro, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    let writes = [
        (Method::POST, base.clone(), json!(mf("ns", "k2", "v"))),
        (Method::PUT, format!("{base}/{id}"), json!({"value": "x"})),
        (Method::DELETE, format!("{base}/{id}"), json!(null)),
        (
            Method::POST,
            "/stores/demo/v3/carts/metafields".to_string(),
            json!([mf("ns", "k3", "v")]),
        ),
        (
            Method::PUT,
            "/stores/demo/v3/carts/metafields".to_string(),
            json!([{"id": id, "value": "x"}]),
        ),
        (
            Method::DELETE,
            "/stores/demo/v3/carts/metafields".to_string(),
            json!([id.parse::<i64>().unwrap()]),
        ),
    ];
    for (method, path, body) in writes {
        let body = if body.is_null() { None } else { Some(body) };
        let r = app.call_as(&ro, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.body
        );
        assert!(r.body["title"].as_str().unwrap().contains("store_cart"));
    }
    let orders = app.token_with_scopes("store_v2_orders").await;
    let r = app.call_as(&orders, Method::GET, &base, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("{base}/{id}")).await.data()["value"], "v");
}

async fn deleting_the_cart_removes_its_metafields(app: TestApp) {
    let cart = new_cart(&app).await;
    let keep = new_cart(&app).await;
    let base = format!("/stores/demo/v3/carts/{cart}/metafields");
    let id = app.post(&base, mf("ns", "k", "v")).await.data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/stores/demo/v3/carts/{keep}/metafields"),
        mf("ns", "k", "v"),
    )
    .await;
    let del = app.delete(&format!("/stores/demo/v3/carts/{cart}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{base}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let all = app.get("/stores/demo/v3/carts/metafields").await;
    assert_eq!(all.body["meta"]["pagination"]["total"], 1);
    assert_eq!(all.data()[0]["resource_id"], keep.as_str());
}

async fn metafield_paths_are_in_openapi(app: TestApp) {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    for (p, methods) in [
        (
            "/stores/{store_hash}/v3/carts/{cart_id}/metafields",
            &["get", "post"][..],
        ),
        (
            "/stores/{store_hash}/v3/carts/{cart_id}/metafields/{metafield_id}",
            &["get", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/carts/metafields",
            &["get", "post", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/orders/{order_id}/metafields",
            &["get", "post"][..],
        ),
        (
            "/stores/{store_hash}/v3/orders/{order_id}/metafields/{metafield_id}",
            &["get", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/orders/metafields",
            &["get", "post", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/carts/settings",
            &["get", "put"][..],
        ),
        (
            "/stores/{store_hash}/v3/carts/settings/channels/{channel_id}",
            &["get", "put"][..],
        ),
    ] {
        let item = paths.get(p).unwrap_or_else(|| panic!("missing {p}"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{p} lacks {m}");
        }
    }
}
