//! Marketing V2 coupons over real HTTP on both backends: CRUD with V2 money strings and
//! RFC 2822 dates, count, list filters, case-insensitive code uniqueness, validation
//! errors naming the field, scopes and 404s; simultaneous creates of one code (coupons
//! and promotions together) leave exactly one owner.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    coupon_crud,
    count_and_list_filters,
    paging,
    duplicate_codes_and_names_are_refused,
    validation_errors_name_the_field,
    scopes_guard_coupons,
    unknown_coupons_are_404,
    delete_collection,
    coupon_by_code_ignores_case,
    openapi_lists_coupon_paths,
    simultaneous_creates_of_one_code_make_one,
    simultaneous_writes_of_one_name_make_one,
);

const COUPONS: &str = "/stores/demo/v2/coupons";

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

/// Asserts a V2 error body: `[{"status": N, "message": "…"}]`, the message mentioning `needle`.
fn assert_v2_error(r: &common::Reply, status: StatusCode, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let list = r.body.as_array().expect("V2 errors are a list");
    assert_eq!(list.len(), 1, "{}", r.body);
    assert_eq!(list[0]["status"], status.as_u16(), "{}", r.body);
    let message = list[0]["message"].as_str().expect("message");
    assert!(
        message.contains(needle),
        "message `{message}` should mention `{needle}`"
    );
}

fn coupon(name: &str, code: &str, kind: &str, amount: &str) -> Value {
    json!({
        "name": name,
        "code": code,
        "type": kind,
        "amount": amount,
        "applies_to": {"entity": "categories", "ids": [0]}
    })
}

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(COUPONS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn coupon_crud(app: TestApp) {
    let r = app
        .post(
            COUPONS,
            json!({
                "name": "Australia Customers Discount",
                "type": "per_item_discount",
                "amount": "5",
                "min_purchase": 25,
                "expires": "Tue, 13 Mar 2040 16:18:59 +0000",
                "enabled": true,
                "code": "S2549JM0Y",
                "applies_to": {"entity": "products", "ids": [910, 920]},
                "max_uses": 25,
                "max_uses_per_customer": 1,
                "restricted_to": {"countries": "au"},
                "shipping_methods": ["shipping_endicia"],
                "num_uses": 99,
                "id": 12345
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let c = r.body.clone();
    let cid = id(&c);
    assert!(cid > 0 && cid != 12345);
    assert_eq!(c["name"], "Australia Customers Discount");
    assert_eq!(c["type"], "per_item_discount");
    assert_eq!(c["amount"], "5.0000");
    assert_eq!(c["min_purchase"], "25.0000");
    assert_eq!(c["expires"], "Tue, 13 Mar 2040 16:18:59 +0000");
    assert_eq!(c["enabled"], true);
    assert_eq!(c["code"], "S2549JM0Y");
    assert_eq!(
        c["applies_to"],
        json!({"entity": "products", "ids": [910, 920]})
    );
    assert_eq!(c["num_uses"], 0, "num_uses is read-only");
    assert_eq!(c["max_uses"], 25);
    assert_eq!(c["max_uses_per_customer"], 1);
    assert_eq!(c["restricted_to"], json!({"countries": "AU"}));
    assert_eq!(c["shipping_methods"], json!(["shipping_endicia"]));
    let created = c["date_created"].as_str().expect("date_created");
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc2822)
            .is_ok(),
        "{created}"
    );

    // GET one and the list.
    let r = app.get(&format!("{COUPONS}/{cid}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, c);
    let r = app.get(COUPONS).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!([c.clone()]));

    // PUT changes what is sent; applies_to left out is cleared (as the spec says).
    let r = app
        .put(
            &format!("{COUPONS}/{cid}"),
            json!({"type": "percentage_discount", "amount": 12.5, "expires": "", "enabled": false,
                   "restricted_to": {"countries": ["NZ", "au"]}, "shipping_methods": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = &r.body;
    assert_eq!(u["id"], cid);
    assert_eq!(u["type"], "percentage_discount");
    assert_eq!(u["amount"], "12.5000");
    assert_eq!(u["min_purchase"], "25.0000");
    assert_eq!(u["expires"], "");
    assert_eq!(u["enabled"], false);
    assert_eq!(u["code"], "S2549JM0Y");
    assert_eq!(u["applies_to"], Value::Null);
    assert_eq!(u["restricted_to"], json!({"countries": "NZ,AU"}));
    assert_eq!(u["shipping_methods"], json!([]));
    assert_eq!(u["date_created"], c["date_created"]);
    // Restoring applies_to, and keeping the own code in another case, are fine.
    let r = app
        .put(
            &format!("{COUPONS}/{cid}"),
            json!({"code": "s2549jm0y", "applies_to": {"entity": "categories", "ids": [0]}, "restricted_to": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["code"], "s2549jm0y");
    assert_eq!(
        r.body["applies_to"],
        json!({"entity": "categories", "ids": [0]})
    );
    assert_eq!(r.body["restricted_to"], json!({}));
    let r = app.get(&format!("{COUPONS}/{cid}")).await;
    assert_eq!(
        r.body["applies_to"],
        json!({"entity": "categories", "ids": [0]})
    );

    // DELETE, then it is gone.
    let r = app.delete(&format!("{COUPONS}/{cid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null);
    let r = app.get(&format!("{COUPONS}/{cid}")).await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, &format!("Coupon {cid}"));
    let r = app.get(COUPONS).await;
    assert_eq!(r.body, json!([]));
}

async fn count_and_list_filters(app: TestApp) {
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"count": 0}));
    let a = id(&create(&app, coupon("Five off", "FIVE", "per_total_discount", "5")).await);
    let b = id(&create(
        &app,
        coupon("Ten percent", "TENPC", "percentage_discount", "10"),
    )
    .await);
    let c = id(&create(&app, coupon("Free ship", "SHIPFREE", "free_shipping", "0")).await);
    let d = id(&create(
        &app,
        coupon("Two per item", "ITEM2", "per_item_discount", "2"),
    )
    .await);
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.body, json!({"count": 4}));

    let ids = |r: &common::Reply| -> Vec<i64> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body.as_array().unwrap().iter().map(id).collect()
    };
    assert_eq!(ids(&app.get(COUPONS).await), vec![a, b, c, d]);
    assert_eq!(ids(&app.get(&format!("{COUPONS}?id={b}")).await), vec![b]);
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?code=tenpc")).await),
        vec![b]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?name=Free%20ship")).await),
        vec![c]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?name=Free+ship")).await),
        vec![c]
    );
    assert_eq!(
        ids(&app
            .get(&format!("{COUPONS}?type=percentage_discount"))
            .await),
        vec![b]
    );
    assert_eq!(
        ids(&app
            .get(&format!("{COUPONS}?exclude_type=free_shipping"))
            .await),
        vec![a, b, d]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?min_id={b}&max_id={c}")).await),
        vec![b, c]
    );
    assert_eq!(
        ids(&app
            .get(&format!("{COUPONS}?min_id={b}&type=per_item_discount"))
            .await),
        vec![d]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?type=promotion")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?code=nope")).await),
        Vec::<i64>::new()
    );

    let r = app.get(&format!("{COUPONS}?type=bogus")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "type");
    let r = app.get(&format!("{COUPONS}?exclude_type=bogus")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "exclude_type");
    let r = app.get(&format!("{COUPONS}?min_id=x")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "min_id");
    let r = app.get(&format!("{COUPONS}?id=abc")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "id");
}

async fn paging(app: TestApp) {
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(id(&create(
            &app,
            coupon(
                &format!("C{i}"),
                &format!("CODE{i}"),
                "per_total_discount",
                "1",
            ),
        )
        .await));
    }
    let ids = |r: &common::Reply| -> Vec<i64> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body.as_array().unwrap().iter().map(id).collect()
    };
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?limit=2")).await),
        all[0..2]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?limit=2&page=2")).await),
        all[2..4]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?limit=2&page=3")).await),
        all[4..5]
    );
    assert_eq!(
        ids(&app.get(&format!("{COUPONS}?limit=2&page=4")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app
            .get(&format!("{COUPONS}?min_id={}&limit=2", all[3]))
            .await),
        all[3..5]
    );
    let r = app.get(&format!("{COUPONS}?limit=0")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "limit");
    let r = app.get(&format!("{COUPONS}?limit=251")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "limit");
    let r = app.get(&format!("{COUPONS}?page=0")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "page");
}

async fn duplicate_codes_and_names_are_refused(app: TestApp) {
    let first = create(
        &app,
        coupon("Summer", "SUMMER-10", "per_total_discount", "10"),
    )
    .await;
    let r = app
        .post(
            COUPONS,
            coupon("Other name", "summer-10", "per_total_discount", "3"),
        )
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    let r = app
        .post(
            COUPONS,
            coupon("SUMMER", "OTHER", "per_total_discount", "3"),
        )
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "name");
    // An update may not take another coupon's code either.
    let second = create(&app, coupon("Winter", "WINTER", "per_total_discount", "3")).await;
    let r = app
        .put(
            &format!("{COUPONS}/{}", id(&second)),
            json!({"code": "Summer-10", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    // Nothing was written by the refused requests.
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.body, json!({"count": 2}));
    let r = app.get(&format!("{COUPONS}/{}", id(&second))).await;
    assert_eq!(r.body["code"], "WINTER");
    // Once the first is deleted its code is free again.
    let r = app.delete(&format!("{COUPONS}/{}", id(&first))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    create(
        &app,
        coupon("Summer again", "summer-10", "per_total_discount", "1"),
    )
    .await;
}

async fn validation_errors_name_the_field(app: TestApp) {
    let base = coupon("Valid", "VALID", "per_total_discount", "5");
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, field) in [
        (without("name"), "name"),
        (without("code"), "code"),
        (without("type"), "type"),
        (without("amount"), "amount"),
        (without("applies_to"), "applies_to"),
        (with("amount", json!("-1")), "amount"),
        (with("amount", json!("abc")), "amount"),
        (with("min_purchase", json!(-5)), "min_purchase"),
        (with("type", json!("bogus")), "type"),
        (with("type", json!("promotion")), "type"),
        (with("code", json!("NO$CASH")), "code"),
        (with("code", json!("X".repeat(51))), "code"),
        (with("code", json!("")), "code"),
        (with("name", json!("N".repeat(101))), "name"),
        (with("expires", json!("2030-01-01")), "expires"),
        (with("max_uses", json!(-1)), "max_uses"),
        (
            with("max_uses_per_customer", json!(-1)),
            "max_uses_per_customer",
        ),
        (
            with("applies_to", json!({"entity": "brands", "ids": [1]})),
            "applies_to.entity",
        ),
        (
            with("applies_to", json!({"entity": "products", "ids": []})),
            "applies_to.ids",
        ),
        (
            with("applies_to", json!({"entity": "products", "ids": [0]})),
            "applies_to.ids[0]",
        ),
        (
            with("restricted_to", json!({"countries": "Narnia"})),
            "restricted_to.countries",
        ),
        (with("restricted_to", json!(5)), "restricted_to"),
        (with("shipping_methods", json!([""])), "shipping_methods[0]"),
    ] {
        let r = app.post(COUPONS, body.clone()).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, field);
    }
    // Percentages stop at 100.
    let r = app
        .post(
            COUPONS,
            coupon("Pct", "PCT", "percentage_discount", "100.01"),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "amount");
    let ok = create(&app, coupon("Pct", "PCT", "percentage_discount", "100")).await;
    assert_eq!(ok["amount"], "100.0000");
    // Changing the type to a percentage re-checks the stored amount.
    let big = create(&app, coupon("Big", "BIG", "per_total_discount", "150")).await;
    let r = app
        .put(
            &format!("{COUPONS}/{}", id(&big)),
            json!({"type": "percentage_discount", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "amount");
    // Malformed JSON is a V2 400 too.
    let r = app.call_raw(Method::POST, COUPONS, b"{not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.is_array(), "{}", r.body);
    // None of the refused requests created anything.
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.body, json!({"count": 2}));
}

async fn scopes_guard_coupons(app: TestApp) {
    let cid = id(&create(&app, coupon("S", "S", "per_total_discount", "1")).await);
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app.token_with_scopes("store_v2_marketing_read_only").await;
    let modify = app.token_with_scopes("store_v2_marketing").await;
    let one = format!("{COUPONS}/{cid}");
    let count = format!("{COUPONS}/count");
    let new = coupon("X", "X", "per_total_discount", "1");

    for (method, path, body) in [
        (Method::GET, COUPONS, None),
        (Method::GET, count.as_str(), None),
        (Method::GET, one.as_str(), None),
        (Method::POST, COUPONS, Some(new.clone())),
        (Method::PUT, one.as_str(), Some(json!({"name": "Y"}))),
        (Method::DELETE, one.as_str(), None),
        (Method::DELETE, COUPONS, None),
    ] {
        let r = app
            .call_as(&cart_only, method.clone(), path, body.clone())
            .await;
        assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_marketing");
    }
    // Read-only reads but does not write.
    for path in [COUPONS, count.as_str(), one.as_str()] {
        let r = app.call_as(&read_only, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    for (method, path, body) in [
        (Method::POST, COUPONS, Some(new.clone())),
        (Method::PUT, one.as_str(), Some(json!({"name": "Y"}))),
        (Method::DELETE, one.as_str(), None),
        (Method::DELETE, COUPONS, None),
    ] {
        let r = app
            .call_as(&read_only, method.clone(), path, body.clone())
            .await;
        assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_marketing");
    }
    // Modify implies read.
    let r = app.call_as(&modify, Method::GET, &one, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.call_as(&modify, Method::POST, COUPONS, Some(new)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // No token at all.
    let r = app.call_as("nope", Method::GET, COUPONS, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.is_array(), "{}", r.body);
}

async fn unknown_coupons_are_404(app: TestApp) {
    for path in [
        format!("{COUPONS}/999"),
        format!("{COUPONS}/0"),
        format!("{COUPONS}/abc"),
    ] {
        let r = app.get(&path).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Coupon");
        let r = app.put(&path, json!({"name": "x"})).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Coupon");
        let r = app.delete(&path).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Coupon");
    }
    // Another store's coupons are not visible, and codes are unique per store only.
    let cid = id(&create(&app, coupon("Mine", "MINE", "per_total_discount", "1")).await);
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("other store");
    let scopes = kassa::domain::scope::Scopes::parse_list("store_v2_marketing").expect("scopes");
    let token = app
        .kassa
        .create_token("other", "test", &scopes, None)
        .await
        .expect("token");
    let r = app
        .call_as(
            &token,
            Method::GET,
            &format!("/stores/other/v2/coupons/{cid}"),
            None,
        )
        .await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, "Coupon");
    let r = app
        .call_as(
            &token,
            Method::POST,
            "/stores/other/v2/coupons",
            Some(coupon("Mine", "MINE", "per_total_discount", "1")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call_as(&token, Method::GET, "/stores/other/v2/coupons/count", None)
        .await;
    assert_eq!(r.body, json!({"count": 1}));
}

async fn delete_collection(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(id(&create(
            &app,
            coupon(
                &format!("D{i}"),
                &format!("DEL{i}"),
                "per_total_discount",
                "1",
            ),
        )
        .await));
    }
    let r = app
        .delete(&format!("{COUPONS}?id:in={},{},999", ids[0], ids[2]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(COUPONS).await;
    let left: Vec<i64> = r.body.as_array().unwrap().iter().map(id).collect();
    assert_eq!(left, vec![ids[1], ids[3]]);
    let r = app.delete(&format!("{COUPONS}?id%3Ain=x")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "id:in");
    // An empty `id:in` names nothing.
    let r = app.delete(&format!("{COUPONS}?id:in=")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.body, json!({"count": 2}));
    // Without `id:in`, every coupon goes.
    let r = app.delete(COUPONS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{COUPONS}/count")).await;
    assert_eq!(r.body, json!({"count": 0}));
}

async fn coupon_by_code_ignores_case(app: TestApp) {
    let c = create(
        &app,
        coupon("Lookup", "Spring Sale_1", "percentage_discount", "15"),
    )
    .await;
    let store = app.kassa.find_store("demo").await.expect("demo store");
    let found = app
        .kassa
        .coupon_by_code(store.id, " spring sale_1 ")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, id(&c));
    assert_eq!(found.percent(), Some("15".parse().unwrap()));
    assert!(
        app.kassa
            .coupon_by_code(store.id, "SPRING")
            .await
            .expect("lookup")
            .is_none()
    );
}

async fn openapi_lists_coupon_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = &r.body["paths"];
    for (p, m, op) in [
        ("/stores/{store_hash}/v2/coupons", "get", "getCoupons"),
        ("/stores/{store_hash}/v2/coupons", "post", "createCoupon"),
        ("/stores/{store_hash}/v2/coupons", "delete", "deleteCoupons"),
        (
            "/stores/{store_hash}/v2/coupons/count",
            "get",
            "getCouponsCount",
        ),
        ("/stores/{store_hash}/v2/coupons/{id}", "get", "getCoupon"),
        (
            "/stores/{store_hash}/v2/coupons/{id}",
            "put",
            "updateCoupon",
        ),
        (
            "/stores/{store_hash}/v2/coupons/{id}",
            "delete",
            "deleteCoupon",
        ),
    ] {
        assert_eq!(paths[p][m]["operationId"], op, "{m} {p}");
    }
}

async fn simultaneous_creates_of_one_code_make_one(app: TestApp) {
    // Each round, coupons and V3 promotions ask for one code at once, spelled in
    // different cases; the names differ, so only the code can clash.
    for round in 0..4 {
        let code = format!("flash-{round}");
        let spellings = [
            code.to_uppercase(),
            code.clone(),
            format!(" {code} "),
            code.to_uppercase(),
        ];
        let coupons = spellings.iter().enumerate().map(|(i, c)| {
            app.post(
                COUPONS,
                coupon(&format!("Flash {round}.{i}"), c, "per_total_discount", "5"),
            )
        });
        let promotions = spellings.iter().enumerate().map(|(i, c)| {
            app.post(
                "/stores/demo/v3/promotions",
                json!({"redemption_type": "COUPON", "name": format!("Flash promotion {round}.{i}"),
                       "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "5"}}}}],
                       "codes": {"code": c, "max_uses": 10, "max_uses_per_customer": 1}}),
            )
        });
        let (coupons, promotions) = tokio::join!(
            futures_util::future::join_all(coupons),
            futures_util::future::join_all(promotions)
        );
        let replies: Vec<&common::Reply> = coupons.iter().chain(&promotions).collect();
        let created = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}: {replies:?}");
        for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
            assert!(
                r.body.to_string().contains("already has the code"),
                "{}",
                r.body
            );
        }
        // One owner: the coupon list (any case) and the promotions with the code.
        let r = app.get(&format!("{COUPONS}?code={code}")).await;
        let coupon_owners = r.body.as_array().map_or(0, Vec::len);
        let r = app
            .get(&format!("/stores/demo/v3/promotions?code={code}"))
            .await;
        let promotion_owners = r.body["data"].as_array().map_or(0, Vec::len);
        assert_eq!(
            coupon_owners + promotion_owners,
            1,
            "round {round}: {coupon_owners} coupons, {promotion_owners} promotions"
        );
    }
}

async fn simultaneous_writes_of_one_name_make_one(app: TestApp) {
    // Each round, coupons with codes of their own ask for one name at once, spelled in
    // different cases; then as many existing coupons are renamed to one name at once.
    async fn all_names(app: &TestApp) -> Vec<String> {
        let r = app.get(&format!("{COUPONS}?limit=250")).await;
        r.body
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|c| c["name"].as_str().unwrap_or_default().to_lowercase())
                    .collect()
            })
            .unwrap_or_default()
    }
    let check = |round: String, replies: &[common::Reply]| {
        let created = replies.iter().filter(|r| r.status.is_success()).count();
        assert_eq!(created, 1, "{round}: {replies:?}");
        for r in replies.iter().filter(|r| !r.status.is_success()) {
            assert_v2_error(r, StatusCode::CONFLICT, "already has the name");
        }
    };
    for round in 0..4 {
        let name = format!("Flash sale {round}");
        let creates = (0..6).map(|i| {
            let spelled = if i % 2 == 0 {
                name.to_uppercase()
            } else {
                name.clone()
            };
            app.post(
                COUPONS,
                coupon(
                    &spelled,
                    &format!("name-{round}-{i}"),
                    "per_total_discount",
                    "5",
                ),
            )
        });
        let replies = futures_util::future::join_all(creates).await;
        check(format!("create round {round}"), &replies);
        let names = all_names(&app).await;
        let owners = names.iter().filter(|n| **n == name.to_lowercase()).count();
        assert_eq!(owners, 1, "round {round}: {names:?}");
    }
    let mut ids = Vec::new();
    for i in 0..6 {
        let r = app
            .post(
                COUPONS,
                coupon(
                    &format!("Rename me {i}"),
                    &format!("rename-{i}"),
                    "per_total_discount",
                    "5",
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(id(&r.body));
    }
    let urls: Vec<String> = ids.iter().map(|i| format!("{COUPONS}/{i}")).collect();
    let renames = urls.iter().map(|u| app.put(u, json!({"name": "Renamed"})));
    let replies = futures_util::future::join_all(renames).await;
    check("renames".into(), &replies);
    let names = all_names(&app).await;
    assert_eq!(
        names.iter().filter(|n| *n == "renamed").count(),
        1,
        "{names:?}"
    );
}
