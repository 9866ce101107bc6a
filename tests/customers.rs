//! Customers V3 over real HTTP on both backends: batch create, update and delete with
//! store credit, `include=storecredit`, filters, sorting and pagination, case-insensitive
//! email uniqueness, validation errors naming the entry and field, scopes, the demo
//! customer and the reads checkout will use.

mod common;

use common::TestApp;
use kassa::domain::money::Money;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    customer_crud_with_store_credit,
    batches_are_all_or_nothing,
    duplicate_emails_are_refused,
    validation_errors_name_the_field,
    list_filters_sort_and_paging,
    scopes_guard_customers,
    demo_customer_and_checkout_reads,
    openapi_lists_customer_paths,
    passwords_and_validate_credentials,
);

const CUSTOMERS: &str = "/stores/demo/v3/customers";

fn customer(first: &str, last: &str, email: &str) -> Value {
    json!({"first_name": first, "last_name": last, "email": email})
}

fn ids(r: &common::Reply) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect()
}

/// Asserts a V3 error: the status, and an `errors` entry for `field`.
fn assert_v3_error(r: &common::Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].is_string(), "{}", r.body);
    assert!(
        r.body["errors"].get(field).is_some(),
        "errors should name `{field}`: {}",
        r.body
    );
}

async fn create(app: &TestApp, list: Value) -> Vec<Value> {
    let r = app.post(CUSTOMERS, list).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data().as_array().expect("data is a list").clone()
}

/// Removes the demo customer, so a test sees only its own.
async fn clear(app: &TestApp) {
    let all = ids(&app.get(CUSTOMERS).await);
    let list = all.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let r = app.delete(&format!("{CUSTOMERS}?id:in={list}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(ids(&app.get(CUSTOMERS).await), Vec::<i64>::new());
}

async fn customer_crud_with_store_credit(app: TestApp) {
    clear(&app).await;
    let r = app
        .post(
            CUSTOMERS,
            json!([{
                "email": "Jane.Smith@Example.com",
                "first_name": "Jane",
                "last_name": "Smith",
                "company": "Acme Corp",
                "phone": "555-123-4567",
                "notes": "Preferred customer",
                "tax_exempt_category": "Non-profit",
                "customer_group_id": 3,
                "authentication": {"force_password_reset": true, "new_password": "SecurePassword123!"},
                "accepts_product_review_abandoned_cart_emails": true,
                "trigger_account_created_notification": true,
                "store_credit_amounts": [{"amount": 43.15}, {"amount": 6.85}],
                "origin_channel_id": 1,
                "channel_ids": [1],
                "addresses": [],
                "registration_ip_address": "10.0.0.1",
                "id": 999
            }]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(r.body["meta"], json!({}));
    let c = r.data()[0].clone();
    let cid = c["id"].as_i64().expect("id");
    assert!(cid > 0 && cid != 999, "id is read-only");
    let created = c["date_created"]
        .as_str()
        .expect("date_created")
        .to_string();
    assert_eq!(
        c,
        json!({
            "id": cid,
            "email": "Jane.Smith@Example.com",
            "first_name": "Jane",
            "last_name": "Smith",
            "company": "Acme Corp",
            "phone": "555-123-4567",
            "registration_ip_address": "",
            "notes": "Preferred customer",
            "tax_exempt_category": "Non-profit",
            "customer_group_id": 3,
            "date_created": created,
            "date_modified": created,
            "address_count": 0,
            "attribute_count": 0,
            "authentication": {"force_password_reset": true},
            "accepts_product_review_abandoned_cart_emails": true,
            "origin_channel_id": 1,
            "channel_ids": [1],
            "store_credit_amounts": [{"amount": 50}]
        })
    );
    assert!(
        time::OffsetDateTime::parse(&created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created}"
    );

    // The list leaves store credit out unless asked; include adds it (and empty sub-lists).
    let r = app.get(CUSTOMERS).await;
    assert_eq!(ids(&r), vec![cid]);
    assert!(
        r.data()[0].get("store_credit_amounts").is_none(),
        "{}",
        r.body
    );
    let r = app
        .get(&format!("{CUSTOMERS}?include=storecredit%2Caddresses"))
        .await;
    assert_eq!(r.data()[0]["store_credit_amounts"], json!([{"amount": 50}]));
    assert_eq!(r.data()[0]["addresses"], json!([]));
    assert_eq!(
        r.body["meta"]["pagination"],
        json!({"total": 1, "count": 1, "per_page": 50, "current_page": 1, "total_pages": 1,
               "links": {"current": "?page=1&limit=50"}})
    );

    // PUT changes what is sent; store credit is replaced by the new sum.
    app.clock.advance(10);
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": cid, "last_name": "Jones", "store_credit_amounts": [{"amount": "12.3456"}],
                    "channel_ids": null, "origin_channel_id": 7, "date_created": "2000-01-01T00:00:00Z"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = &r.data()[0];
    assert_eq!(u["id"], cid);
    assert_eq!(u["last_name"], "Jones");
    assert_eq!(u["first_name"], "Jane");
    assert_eq!(u["email"], "Jane.Smith@Example.com");
    assert_eq!(u["store_credit_amounts"], json!([{"amount": 12.3456}]));
    assert!(u.get("channel_ids").is_none(), "global access: {u}");
    assert_eq!(u["origin_channel_id"], 1, "origin_channel_id is immutable");
    assert_eq!(u["date_created"], created.as_str());
    assert_ne!(u["date_modified"], created.as_str());
    let r = app
        .get(&format!("{CUSTOMERS}?id:in={cid}&include=storecredit"))
        .await;
    assert_eq!(r.data()[0], *u);

    // Zero credit shows as one zero entry.
    let r = app
        .put(CUSTOMERS, json!([{"id": cid, "store_credit_amounts": []}]))
        .await;
    assert_eq!(r.data()[0]["store_credit_amounts"], json!([{"amount": 0}]));

    // DELETE needs id:in; without it nothing happens.
    let r = app.delete(CUSTOMERS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ids(&app.get(CUSTOMERS).await), vec![cid]);
    let r = app.delete(&format!("{CUSTOMERS}?id:in={cid},999")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null);
    assert_eq!(ids(&app.get(CUSTOMERS).await), Vec::<i64>::new());
    let r = app.delete(&format!("{CUSTOMERS}?id:in=abc")).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    // Updating a deleted customer names the entry.
    let r = app.put(CUSTOMERS, json!([{"id": cid, "notes": "x"}])).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
}

async fn batches_are_all_or_nothing(app: TestApp) {
    clear(&app).await;
    let made = create(
        &app,
        json!([
            customer("Ann", "Adams", "ann@example.com"),
            customer("Bob", "Brown", "bob@example.com"),
            customer("Cy", "Clark", "cy@example.com")
        ]),
    )
    .await;
    assert_eq!(made.len(), 3);
    let id_of = |i: usize| made[i]["id"].as_i64().expect("id");
    assert!(id_of(0) < id_of(1) && id_of(1) < id_of(2));
    assert_eq!(made[2]["email"], "cy@example.com");
    assert_eq!(made[0]["store_credit_amounts"], json!([{"amount": 0}]));

    // A bad second entry refuses the whole batch.
    let r = app
        .post(
            CUSTOMERS,
            json!([
                customer("Dee", "Diaz", "dee@example.com"),
                customer("Eve", "Evans", "nope")
            ]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].email");
    assert_eq!(ids(&app.get(CUSTOMERS).await).len(), 3);

    // Updates in one batch, returned in the order sent.
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": id_of(2), "company": "C Co"}, {"id": id_of(0), "company": "A Co"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(&r), vec![id_of(2), id_of(0)]);
    assert_eq!(r.data()[0]["company"], "C Co");
    // One bad entry: nothing changes.
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": id_of(1), "company": "B Co"}, {"id": id_of(0), "first_name": ""}]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].first_name");
    let r = app.get(&format!("{CUSTOMERS}?id:in={}", id_of(1))).await;
    assert_eq!(r.data()[0]["company"], "");
    // The same customer twice in one batch is refused.
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": id_of(1), "notes": "a"}, {"id": id_of(1), "notes": "b"}]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].id");

    // Ten at once is the limit.
    let ten: Vec<Value> = (0..10)
        .map(|i| customer("Many", &format!("M{i}"), &format!("m{i}@example.com")))
        .collect();
    assert_eq!(create(&app, json!(ten)).await.len(), 10);
    let eleven: Vec<Value> = (0..11)
        .map(|i| customer("Too", &format!("T{i}"), &format!("t{i}@example.com")))
        .collect();
    let r = app.post(CUSTOMERS, json!(eleven.clone())).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.body["status"], 413);
    let r = app.put(CUSTOMERS, json!(eleven)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = app
        .delete(&format!("{CUSTOMERS}?id:in={},{}", id_of(0), id_of(1)))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ids(&app.get(CUSTOMERS).await).len(), 11);
}

async fn duplicate_emails_are_refused(app: TestApp) {
    let first = create(&app, json!([customer("Ann", "Adams", "Ann@Example.com")])).await;
    let first_id = first[0]["id"].as_i64().expect("id");
    // Any case; the demo customer counts too.
    for email in ["ann@example.com", " ANN@EXAMPLE.COM ", "JANE@example.com"] {
        let r = app
            .post(CUSTOMERS, json!([customer("Other", "Person", email)]))
            .await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].email");
    }
    let r = app
        .post(
            CUSTOMERS,
            json!([customer("Other", "Person", "ann@example.com")]),
        )
        .await;
    let title = r.body["title"].as_str().expect("title");
    assert!(title.contains(&format!("customer {first_id}")), "{title}");
    // Twice in one batch.
    let r = app
        .post(
            CUSTOMERS,
            json!([
                customer("A", "A", "same@example.com"),
                customer("B", "B", "SAME@example.com")
            ]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].email");
    // An update may not take another customer's email, but may recase its own.
    let second = create(&app, json!([customer("Bob", "Brown", "bob@example.com")])).await;
    let second_id = second[0]["id"].as_i64().expect("id");
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": second_id, "email": "ANN@example.com"}]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].email");
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": first_id, "email": "ANN@EXAMPLE.COM"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["email"], "ANN@EXAMPLE.COM");
    // Nothing else was written: demo + 2.
    assert_eq!(ids(&app.get(CUSTOMERS).await).len(), 3);
    // Once deleted, the email is free again.
    let r = app.delete(&format!("{CUSTOMERS}?id:in={first_id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    create(&app, json!([customer("Ann", "Again", "ann@example.com")])).await;
}

async fn validation_errors_name_the_field(app: TestApp) {
    clear(&app).await;
    let base = customer("Ann", "Adams", "ann@example.com");
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    for (body, field) in [
        (without("email"), "[0].email"),
        (without("first_name"), "[0].first_name"),
        (without("last_name"), "[0].last_name"),
        (with("email", json!("not-an-email")), "[0].email"),
        (
            with("email", json!(format!("{}@example.com", "a".repeat(240)))),
            "[0].email",
        ),
        (with("first_name", json!("")), "[0].first_name"),
        (with("last_name", json!("L".repeat(101))), "[0].last_name"),
        (with("company", json!("C".repeat(256))), "[0].company"),
        (with("phone", json!("5".repeat(51))), "[0].phone"),
        (
            with("customer_group_id", json!(-1)),
            "[0].customer_group_id",
        ),
        (
            with(
                "store_credit_amounts",
                json!([{"amount": 5}, {"amount": -1}]),
            ),
            "[0].store_credit_amounts[1].amount",
        ),
        (
            with("store_credit_amounts", json!([{}])),
            "[0].store_credit_amounts[0].amount",
        ),
        (
            with("store_credit_amounts", json!([{"amount": 0.00001}])),
            "[0].store_credit_amounts[0].amount",
        ),
        (with("channel_ids", json!([])), "[0].channel_ids"),
        (with("channel_ids", json!([1, -2])), "[0].channel_ids[1]"),
        (with("origin_channel_id", json!(0)), "[0].origin_channel_id"),
        (
            with(
                "addresses",
                json!([{"first_name": "A", "last_name": "B", "address1": "1 St", "city": "X", "country_code": "US"}]),
            ),
            "[0].addresses",
        ),
        (
            with(
                "attributes",
                json!([{"attribute_id": 1, "attribute_value": "x"}]),
            ),
            "[0].attributes",
        ),
    ] {
        let r = app.post(CUSTOMERS, json!([body])).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // Wrong JSON types name the path; a bare object is not a list.
    let r = app
        .post(CUSTOMERS, json!([with("customer_group_id", json!("x"))]))
        .await;
    assert_v3_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "[0].customer_group_id",
    );
    let r = app.post(CUSTOMERS, base.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.post(CUSTOMERS, json!([])).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "body");
    let r = app.call_raw(Method::POST, CUSTOMERS, b"[{oops").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // PUT needs an id per entry.
    let r = app.put(CUSTOMERS, json!([{"notes": "x"}])).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    let r = app.put(CUSTOMERS, json!([{"id": 0, "notes": "x"}])).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    let r = app
        .put(CUSTOMERS, json!([{"id": 98765, "notes": "x"}]))
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    // None of the refused requests created anything.
    assert_eq!(ids(&app.get(CUSTOMERS).await), Vec::<i64>::new());
}

async fn list_filters_sort_and_paging(app: TestApp) {
    clear(&app).await;
    let t0 = app.kassa.now();
    let a = create(
        &app,
        json!([{"first_name": "Sherlock", "last_name": "Holmes", "email": "sherlock@example.com",
                "company": "Baker St", "customer_group_id": 1, "phone": "111"}]),
    )
    .await[0]["id"]
        .as_i64()
        .expect("id");
    app.clock.advance(86_400);
    let b = create(
        &app,
        json!([{"first_name": "James", "last_name": "Moriarty", "email": "james@example.com",
                "customer_group_id": 2}]),
    )
    .await[0]["id"]
        .as_i64()
        .expect("id");
    app.clock.advance(86_400);
    let c = create(
        &app,
        json!([{"first_name": "John", "last_name": "Watson", "email": "john@example.com",
                "company": "Baker St", "customer_group_id": 1}]),
    )
    .await[0]["id"]
        .as_i64()
        .expect("id");
    app.clock.advance(10);
    // Touch a, so it is the most recently modified.
    let r = app
        .put(CUSTOMERS, json!([{"id": a, "notes": "touched"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let q = |s: &str| format!("{CUSTOMERS}?{s}");
    assert_eq!(ids(&app.get(CUSTOMERS).await), vec![a, b, c]);
    assert_eq!(
        ids(&app.get(&q(&format!("id:in={c},{a}"))).await),
        vec![a, c]
    );
    assert_eq!(
        ids(&app
            .get(&q("email:in=JAMES@example.com,nobody@example.com"))
            .await),
        vec![b]
    );
    assert_eq!(ids(&app.get(&q("name:in=james%20moriarty")).await), vec![b]);
    assert_eq!(
        ids(&app.get(&q("name:like=moriarty,sherlock")).await),
        vec![a, b]
    );
    assert_eq!(ids(&app.get(&q("name:like=jo")).await), vec![c]);
    assert_eq!(ids(&app.get(&q("name:like=%25")).await), Vec::<i64>::new());
    assert_eq!(ids(&app.get(&q("company:in=Baker%20St")).await), vec![a, c]);
    assert_eq!(ids(&app.get(&q("phone:in=111")).await), vec![a]);
    assert_eq!(ids(&app.get(&q("customer_group_id:in=2")).await), vec![b]);
    assert_eq!(
        ids(&app.get(&q("customer_group_id:in=1&name:like=watson")).await),
        vec![c]
    );
    // Dates: Unix seconds, RFC 3339, or calendar dates (a bare date is its whole day).
    assert_eq!(
        ids(&app.get(&q(&format!("date_created:min={}", t0 + 1))).await),
        vec![b, c]
    );
    assert_eq!(
        ids(&app
            .get(&q(&format!("date_created:max={}", t0 + 86_400)))
            .await),
        vec![a, b]
    );
    let day = |secs: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(secs).expect("time");
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    assert_eq!(
        ids(&app
            .get(&q(&format!("date_created={}", day(t0 + 86_400))))
            .await),
        vec![b]
    );
    assert_eq!(
        ids(&app.get(&q(&format!("date_created:max={}", day(t0)))).await),
        vec![a]
    );
    let stamp = kassa::http::wire::rfc3339(t0 + 86_400);
    assert_eq!(
        ids(&app
            .get(&q(&format!(
                "date_created:min={}",
                stamp.replace('+', "%2B")
            )))
            .await),
        vec![b, c]
    );
    assert_eq!(
        ids(&app
            .get(&q(&format!("date_modified:min={}", t0 + 3 * 86_400)))
            .await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app
            .get(&q(&format!("date_modified:min={}", t0 + 2 * 86_400 + 5)))
            .await),
        vec![a]
    );
    // Sorting.
    assert_eq!(
        ids(&app.get(&q("sort=last_name:desc")).await),
        vec![c, b, a]
    );
    assert_eq!(ids(&app.get(&q("sort=last_name:asc")).await), vec![a, b, c]);
    assert_eq!(
        ids(&app.get(&q("sort=date_created:desc")).await),
        vec![c, b, a]
    );
    assert_eq!(
        ids(&app.get(&q("sort=date_modified:desc")).await),
        vec![a, c, b]
    );
    // Paging.
    let r = app.get(&q("limit=2&page=2")).await;
    assert_eq!(ids(&r), vec![c]);
    assert_eq!(
        r.body["meta"]["pagination"],
        json!({"total": 3, "count": 1, "per_page": 2, "current_page": 2, "total_pages": 2,
               "links": {"previous": "?page=1&limit=2", "current": "?page=2&limit=2"}})
    );
    let r = app.get(&q("limit=2")).await;
    assert_eq!(ids(&r), vec![a, b]);
    assert_eq!(
        r.body["meta"]["pagination"]["links"]["next"],
        "?page=2&limit=2"
    );
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);
    // Bad parameters name themselves.
    for (s, field) in [
        ("id:in=x", "id:in"),
        ("customer_group_id:in=one", "customer_group_id:in"),
        ("date_created:min=yesterday", "date_created:min"),
        ("sort=email:asc", "sort"),
        ("sort=last_name:up", "sort"),
        ("after=abc", "after"),
        ("limit=ten", "limit"),
    ] {
        let r = app.get(&q(s)).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
}

async fn scopes_guard_customers(app: TestApp) {
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app.token_with_scopes("store_v2_customers_read_only").await;
    let modify = app.token_with_scopes("store_v2_customers").await;
    let marketing = app.token_with_scopes("store_v2_marketing").await;
    let jane = ids(&app.get(CUSTOMERS).await)[0];
    let new = json!([customer("New", "One", "new@example.com")]);
    let change = json!([{"id": jane, "notes": "x"}]);
    let delete = format!("{CUSTOMERS}?id:in={jane}");

    for token in [&cart_only, &marketing] {
        for (method, path, body) in [
            (Method::GET, CUSTOMERS, None),
            (Method::POST, CUSTOMERS, Some(new.clone())),
            (Method::PUT, CUSTOMERS, Some(change.clone())),
            (Method::DELETE, delete.as_str(), None),
        ] {
            let r = app.call_as(token, method.clone(), path, body.clone()).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.body
            );
            assert!(
                r.body["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("store_v2_customers")),
                "{}",
                r.body
            );
        }
    }
    let r = app.call_as(&read_only, Method::GET, CUSTOMERS, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (method, path, body) in [
        (Method::POST, CUSTOMERS, Some(new.clone())),
        (Method::PUT, CUSTOMERS, Some(change.clone())),
        (Method::DELETE, delete.as_str(), None),
    ] {
        let r = app
            .call_as(&read_only, method.clone(), path, body.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.body
        );
    }
    assert_eq!(ids(&app.get(CUSTOMERS).await), vec![jane]);
    // Modify implies read.
    let r = app.call_as(&modify, Method::GET, CUSTOMERS, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(&modify, Method::POST, CUSTOMERS, Some(new))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let newcomer = ids(&r)[0];
    let r = app.call_as("nope", Method::GET, CUSTOMERS, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Another store sees none of these customers and may reuse their emails (ids are
    // per store, so its first customer is numbered like this store's first).
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("other store");
    let scopes = kassa::domain::scope::Scopes::parse_list("store_v2_customers").expect("scopes");
    let token = app
        .kassa
        .create_token("other", "test", &scopes, None)
        .await
        .expect("token");
    let other = "/stores/other/v3/customers";
    let r = app.call_as(&token, Method::GET, other, None).await;
    assert_eq!(r.data(), &json!([]));
    let r = app
        .call_as(
            &token,
            Method::POST,
            other,
            Some(json!([customer("Jane", "Doe", "jane@example.com")])),
        )
        .await;
    assert_eq!(ids(&r), vec![jane]);
    let r = app
        .call_as(
            &token,
            Method::PUT,
            other,
            Some(json!([{"id": newcomer, "notes": "x"}])),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    let r = app
        .call_as(
            &token,
            Method::DELETE,
            &format!("{other}?id:in={newcomer},{jane}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // This store's customers are untouched.
    assert_eq!(ids(&app.get(CUSTOMERS).await), vec![jane, newcomer]);
}

async fn demo_customer_and_checkout_reads(app: TestApp) {
    let r = app.get(&format!("{CUSTOMERS}?include=storecredit")).await;
    assert_eq!(r.data().as_array().map(Vec::len), Some(1), "{}", r.body);
    let jane = &r.data()[0];
    assert_eq!(jane["email"], "jane@example.com");
    assert_eq!(jane["first_name"], "Jane");
    assert_eq!(jane["last_name"], "Doe");
    assert_eq!(jane["store_credit_amounts"], json!([{"amount": 25}]));
    let jane_id = jane["id"].as_i64().expect("id");

    let store = app.kassa.find_store("demo").await.expect("demo store");
    app.kassa
        .seed_demo_customers(&store)
        .await
        .expect("seed again");
    assert_eq!(ids(&app.get(CUSTOMERS).await), vec![jane_id]);

    let c = app
        .kassa
        .store
        .customer(store.id, jane_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(c.store_credit, Money::new(25.into()));
    assert_eq!(c.full_name(), "Jane Doe");
    assert!(c.can_use_channel(1));
    let by_email = app
        .kassa
        .store
        .customer_by_email(store.id, " JANE@Example.com")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_email, c);
    assert!(
        app.kassa
            .store
            .customer(store.id, 424_242)
            .await
            .expect("read")
            .is_none()
    );

    // A write expecting stale store credit changes nothing (a checkout spent it first).
    let mut changed = c.clone();
    changed.notes = "edited".into();
    let wrote = app
        .kassa
        .store
        .update_customers(store.id, &[(changed.clone(), Money::new(24.into()))], &[])
        .await
        .expect("update");
    assert!(!wrote);
    let wrote = app
        .kassa
        .store
        .update_customers(store.id, &[(changed, c.store_credit)], &[])
        .await
        .expect("update");
    assert!(wrote);
    let r = app.get(CUSTOMERS).await;
    assert_eq!(r.data()[0]["notes"], "edited");
}

async fn openapi_lists_customer_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = &r.body["paths"];
    for (m, op) in [
        ("get", "getCustomers"),
        ("post", "createCustomers"),
        ("put", "updateCustomers"),
        ("delete", "deleteCustomers"),
    ] {
        assert_eq!(
            paths["/stores/{store_hash}/v3/customers"][m]["operationId"], op,
            "{m}"
        );
    }
}

/// `authentication.new_password` sets a password (checked, never answered) that
/// `validate-credentials` and the storefront sign-in check; a PUT without one keeps it.
async fn passwords_and_validate_credentials(app: TestApp) {
    const VALIDATE: &str = "/stores/demo/v3/customers/validate-credentials";
    for (bad, why) in [
        ("short1", "8 to 128"),
        ("lettersonly", "letters and digits"),
    ] {
        let r = app
            .post(
                CUSTOMERS,
                json!([customer("Ann", "Lee", "ann@example.com"), {"first_name": "Bo", "last_name": "Ng",
                    "email": "bo@example.com", "authentication": {"new_password": bad}}]),
            )
            .await;
        assert_v3_error(
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[1].authentication.new_password",
        );
        assert!(r.body.to_string().contains(why), "{}", r.body);
    }
    // All or nothing: Ann was not created either.
    let r = app
        .get(&format!("{CUSTOMERS}?email:in=ann@example.com"))
        .await;
    assert_eq!(r.data().as_array().map(Vec::len), Some(0), "{}", r.body);

    let made = create(
        &app,
        json!([{"first_name": "Bo", "last_name": "Ng", "email": "bo@example.com",
                "authentication": {"new_password": "first-pass-1"}}]),
    )
    .await;
    let bo = made[0]["id"].as_i64().expect("id");
    assert!(!made[0].to_string().contains("first-pass-1"));
    let check = |email: &str, password: &str| json!({"email": email, "password": password, "channel_id": 1});
    let r = app
        .post(VALIDATE, check("BO@example.com", "first-pass-1"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"is_valid": true, "customer_id": bo}));
    let wrong = app
        .post(VALIDATE, check("bo@example.com", "first-pass-2"))
        .await;
    assert_eq!(wrong.body, json!({"is_valid": false, "customer_id": null}));
    let unknown = app
        .post(VALIDATE, check("nobody@example.com", "first-pass-1"))
        .await;
    assert_eq!(unknown.body, wrong.body);
    // The demo customer has no password: nothing matches it.
    let r = app.post(VALIDATE, check("jane@example.com", "")).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "password");

    // A PUT without a password keeps it; with one, replaces it.
    let r = app
        .put(CUSTOMERS, json!([{"id": bo, "notes": "vip"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(VALIDATE, check("bo@example.com", "first-pass-1"))
        .await;
    assert_eq!(r.body["is_valid"], true, "{}", r.body);
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": bo, "authentication": {"new_password": "second-pass-2"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(VALIDATE, check("bo@example.com", "first-pass-1"))
        .await;
    assert_eq!(r.body["is_valid"], false, "{}", r.body);
    let r = app
        .post(VALIDATE, check("bo@example.com", "second-pass-2"))
        .await;
    assert_eq!(r.body["is_valid"], true, "{}", r.body);
    // A customer limited to channel 2 is not valid on channel 1.
    let r = app
        .put(CUSTOMERS, json!([{"id": bo, "channel_ids": [2]}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(VALIDATE, check("bo@example.com", "second-pass-2"))
        .await;
    assert_eq!(r.body["is_valid"], false, "{}", r.body);
    let r = app
        .post(
            VALIDATE,
            json!({"email": "bo@example.com", "password": "second-pass-2", "channel_id": 2}),
        )
        .await;
    assert_eq!(r.body["is_valid"], true, "{}", r.body);
    // Reading needs a customers scope.
    let cart_only = app.token_with_scopes("store_cart").await;
    let r = app
        .call_as(
            &cart_only,
            Method::POST,
            VALIDATE,
            Some(check("bo@example.com", "x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}
