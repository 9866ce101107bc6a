//! Marketing V2 gift certificates over real HTTP on both backends: CRUD with exact
//! 4-decimal money strings and balances, generated and cut codes, list filters and
//! paging, case-insensitive code uniqueness (409), validation errors naming the field,
//! scopes, 404s, the demo certificates and the lookups checkout will use.

mod common;

use common::TestApp;
use kassa::domain::gift_certificate::GiftCertificateStatus;
use kassa::domain::money::Money;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    gift_certificate_crud,
    codes_are_generated_or_cut_to_20,
    list_filters_and_paging,
    duplicate_codes_are_refused,
    validation_errors_name_the_field,
    scopes_guard_gift_certificates,
    unknown_gift_certificates_are_404,
    demo_certificates_and_checkout_lookups,
    openapi_lists_gift_certificate_paths,
);

const GCS: &str = "/stores/demo/v2/gift_certificates";

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

fn gc(to: &str, amount: &str) -> Value {
    json!({
        "to_name": to,
        "to_email": format!("{}@example.com", to.to_lowercase()),
        "from_name": "Store Admin",
        "from_email": "admin@example.com",
        "amount": amount
    })
}

fn with(mut body: Value, k: &str, v: Value) -> Value {
    body[k] = v;
    body
}

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(GCS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// Removes the demo certificates, so a test sees only its own.
async fn clear(app: &TestApp) {
    let r = app.delete(GCS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.get(GCS).await.body, json!([]));
}

fn ids(r: &common::Reply) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().expect("a list").iter().map(id).collect()
}

async fn gift_certificate_crud(app: TestApp) {
    clear(&app).await;
    let r = app
        .post(
            GCS,
            json!({
                "to_name": "John Doe",
                "to_email": "johndoe@example.com",
                "from_name": "Jane Doe",
                "from_email": "janedoe@example.com",
                "amount": "100.5",
                "balance": 75.25,
                "code": "FFZ-5N4-C7M-S78",
                "status": "active",
                "template": "birthday.html",
                "message": "Happy Birthday!",
                "customer_id": 5,
                "purchase_date": "Mon, 19 Jan 1970 07:21:46 CST",
                "expiry_date": "Tue, 13 Mar 2040 16:18:59 +0000",
                "currency_code": "usd",
                "order_id": 116,
                "id": 999
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let g = r.body.clone();
    let gid = id(&g);
    assert!(gid > 0 && gid != 999, "id is read-only");
    assert_eq!(
        g,
        json!({
            "id": gid,
            "code": "FFZ-5N4-C7M-S78",
            "amount": "100.5000",
            "balance": "75.2500",
            "status": "active",
            "currency_code": "USD",
            "customer_id": 5,
            "order_id": 0,
            "to_name": "John Doe",
            "to_email": "johndoe@example.com",
            "from_name": "Jane Doe",
            "from_email": "janedoe@example.com",
            "template": "birthday.html",
            "message": "Happy Birthday!",
            "purchase_date": "Mon, 19 Jan 1970 13:21:46 +0000",
            "expiry_date": "Tue, 13 Mar 2040 16:18:59 +0000"
        })
    );

    // GET one and the list.
    let one = format!("{GCS}/{gid}");
    let r = app.get(&one).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, g);
    assert_eq!(app.get(GCS).await.body, json!([g.clone()]));

    // PUT changes what is sent and keeps the rest.
    let r = app
        .put(
            &one,
            json!({"balance": "0", "status": "disabled", "expiry_date": "", "message": "Spent",
                   "to_email": "JOHN@example.com", "order_id": 42}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = &r.body;
    assert_eq!(u["id"], gid);
    assert_eq!(u["amount"], "100.5000");
    assert_eq!(u["balance"], "0.0000");
    assert_eq!(u["status"], "disabled");
    assert_eq!(u["expiry_date"], "");
    assert_eq!(u["message"], "Spent");
    assert_eq!(u["to_email"], "JOHN@example.com");
    assert_eq!(u["order_id"], 0, "order_id is read-only");
    assert_eq!(u["code"], "FFZ-5N4-C7M-S78");
    assert_eq!(u["purchase_date"], g["purchase_date"]);
    assert_eq!(app.get(&one).await.body, *u);

    // An unspent certificate's balance follows a new amount.
    let fresh = create(&app, gc("Ann", "20")).await;
    let r = app
        .put(&format!("{GCS}/{}", id(&fresh)), json!({"amount": 30}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["amount"], "30.0000");
    assert_eq!(r.body["balance"], "30.0000");
    assert_eq!(r.body["template"], "general.html");
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["currency_code"], "USD");
    assert_eq!(r.body["expiry_date"], "");

    // DELETE one, then it is gone; DELETE all empties the list.
    let r = app.delete(&one).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null);
    let r = app.get(&one).await;
    assert_v2_error(
        &r,
        StatusCode::NOT_FOUND,
        &format!("Gift certificate {gid}"),
    );
    assert_eq!(ids(&app.get(GCS).await), vec![id(&fresh)]);
    let r = app.delete(GCS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(GCS).await.body, json!([]));
}

async fn codes_are_generated_or_cut_to_20(app: TestApp) {
    let a = create(&app, gc("Ann", "10")).await;
    let b = create(&app, with(gc("Bob", "10"), "code", json!(""))).await;
    for g in [&a, &b] {
        let code = g["code"].as_str().expect("code");
        assert_eq!(code.len(), 15, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(
            groups.iter().all(|p| p.len() == 3
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())),
            "{code}"
        );
    }
    assert_ne!(a["code"], b["code"]);
    // Longer than 20 characters: the first 20 are kept (the spec's rule).
    let long = create(
        &app,
        with(gc("Cy", "10"), "code", json!("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
    )
    .await;
    assert_eq!(long["code"], "ABCDEFGHIJKLMNOPQRST");
    let r = app
        .post(
            GCS,
            with(gc("Di", "10"), "code", json!("abcdefghijklmnopqrst-other")),
        )
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    // A PUT may not blank the code.
    let r = app
        .put(&format!("{GCS}/{}", id(&a)), json!({"code": "  "}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "code");
}

async fn list_filters_and_paging(app: TestApp) {
    clear(&app).await;
    let a = id(&create(&app, with(gc("Ann", "10"), "code", json!("AAA-1"))).await);
    let b = id(&create(
        &app,
        with(
            with(gc("Bob", "20"), "from_name", json!("Shop")),
            "from_email",
            json!("Shop@Example.com"),
        ),
    )
    .await);
    let c = id(&create(&app, gc("Cy", "30")).await);
    let d = id(&create(
        &app,
        with(gc("Ann", "40"), "to_email", json!("other@example.com")),
    )
    .await);

    assert_eq!(ids(&app.get(GCS).await), vec![a, b, c, d]);
    assert_eq!(
        ids(&app.get(&format!("{GCS}?min_id={b}&max_id={c}")).await),
        vec![b, c]
    );
    assert_eq!(ids(&app.get(&format!("{GCS}?code=aaa-1")).await), vec![a]);
    assert_eq!(
        ids(&app.get(&format!("{GCS}?to_name=Ann")).await),
        vec![a, d]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?to_name=ann")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?to_email=ANN%40example.com")).await),
        vec![a]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?from_name=Shop")).await),
        vec![b]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?from_email=shop@example.com")).await),
        vec![b]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?to_name=Ann&min_id={b}")).await),
        vec![d]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?order_id=0")).await),
        vec![a, b, c, d]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?order_id=7")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?sort=id&direction=desc")).await),
        vec![d, c, b, a]
    );
    // Paging.
    assert_eq!(
        ids(&app.get(&format!("{GCS}?limit=3")).await),
        vec![a, b, c]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?limit=3&page=2")).await),
        vec![d]
    );
    assert_eq!(
        ids(&app.get(&format!("{GCS}?limit=3&page=3")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app
            .get(&format!("{GCS}?limit=2&page=1&direction=desc"))
            .await),
        vec![d, c]
    );
    for (q, field) in [
        ("min_id=x", "min_id"),
        ("order_id=1.5", "order_id"),
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("page=0", "page"),
        ("sort=code", "sort"),
        ("direction=up", "direction"),
    ] {
        let r = app.get(&format!("{GCS}?{q}")).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, field);
    }
}

async fn duplicate_codes_are_refused(app: TestApp) {
    let first = create(&app, with(gc("Ann", "10"), "code", json!("Summer-Gift"))).await;
    let r = app
        .post(GCS, with(gc("Bob", "5"), "code", json!("summer-gift")))
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    assert_v2_error(
        &r,
        StatusCode::CONFLICT,
        &format!("gift certificate {}", id(&first)),
    );
    // The demo store's own codes count too.
    let r = app
        .post(GCS, with(gc("Bob", "5"), "code", json!("gift-demo-50")))
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    // An update may not take another certificate's code, but may recase its own.
    let second = create(&app, with(gc("Cy", "5"), "code", json!("WINTER"))).await;
    let r = app
        .put(
            &format!("{GCS}/{}", id(&second)),
            json!({"code": "SUMMER-GIFT"}),
        )
        .await;
    assert_v2_error(&r, StatusCode::CONFLICT, "code");
    let r = app
        .put(&format!("{GCS}/{}", id(&second)), json!({"code": "winter"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["code"], "winter");
    // Nothing was written by the refused requests: 2 demo + 2 here.
    assert_eq!(app.get(GCS).await.body.as_array().map(Vec::len), Some(4));
    // Once the first is deleted its code is free again.
    let r = app.delete(&format!("{GCS}/{}", id(&first))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    create(&app, with(gc("Dee", "1"), "code", json!("SUMMER-gift"))).await;
}

async fn validation_errors_name_the_field(app: TestApp) {
    clear(&app).await;
    let base = gc("Ann", "25");
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    for (body, field) in [
        (without("to_name"), "to_name"),
        (without("to_email"), "to_email"),
        (without("from_name"), "from_name"),
        (without("from_email"), "from_email"),
        (without("amount"), "amount"),
        (with(base.clone(), "amount", json!("0")), "amount"),
        (with(base.clone(), "amount", json!(-5)), "amount"),
        (with(base.clone(), "amount", json!("abc")), "amount"),
        (with(base.clone(), "amount", json!("100000.01")), "amount"),
        (with(base.clone(), "amount", json!("1.001")), "amount"),
        (with(base.clone(), "balance", json!("25.01")), "balance"),
        (with(base.clone(), "balance", json!("-1")), "balance"),
        (
            with(base.clone(), "to_email", json!("not-an-email")),
            "to_email",
        ),
        (with(base.clone(), "from_email", json!("a@b")), "from_email"),
        (with(base.clone(), "to_name", json!("   ")), "to_name"),
        (
            with(base.clone(), "from_name", json!("N".repeat(256))),
            "from_name",
        ),
        (
            with(base.clone(), "template", json!("fancy.html")),
            "template",
        ),
        (
            with(base.clone(), "message", json!("m".repeat(251))),
            "message",
        ),
        (with(base.clone(), "status", json!("gone")), "status"),
        (
            with(base.clone(), "currency_code", json!("XYZ")),
            "currency_code",
        ),
        (with(base.clone(), "customer_id", json!(-1)), "customer_id"),
        (with(base.clone(), "code", json!("X".repeat(256))), "code"),
        (
            with(base.clone(), "purchase_date", json!("2020-01-01")),
            "purchase_date",
        ),
        (
            with(base.clone(), "expiry_date", json!("soon")),
            "expiry_date",
        ),
        (
            with(base.clone(), "expiry_date", json!(true)),
            "expiry_date",
        ),
    ] {
        let r = app.post(GCS, body.clone()).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, field);
    }
    // Malformed JSON is a V2 400 too.
    let r = app.call_raw(Method::POST, GCS, b"{not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.is_array(), "{}", r.body);
    // None of the refused requests created anything.
    assert_eq!(app.get(GCS).await.body, json!([]));
    // Other currencies keep their own precision: JPY has none.
    let r = app
        .post(
            GCS,
            with(
                with(base.clone(), "currency_code", json!("JPY")),
                "amount",
                json!("500.5"),
            ),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "amount");
    let yen = create(
        &app,
        with(
            with(base.clone(), "currency_code", json!("jpy")),
            "amount",
            json!(5000),
        ),
    )
    .await;
    assert_eq!(yen["currency_code"], "JPY");
    assert_eq!(yen["amount"], "5000.0000");
    // An update re-checks the balance against the amount.
    let g = create(&app, with(base.clone(), "balance", json!("10"))).await;
    let r = app
        .put(&format!("{GCS}/{}", id(&g)), json!({"amount": "5"}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "balance");
    let r = app
        .put(
            &format!("{GCS}/{}", id(&g)),
            json!({"amount": "5", "balance": "5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["amount"].clone(), r.body["balance"].clone()),
        (json!("5.0000"), json!("5.0000"))
    );
    // Unix seconds are accepted for dates.
    let r = app
        .put(
            &format!("{GCS}/{}", id(&g)),
            json!({"expiry_date": 2_000_000_000, "purchase_date": "1603306"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["expiry_date"], "Wed, 18 May 2033 03:33:20 +0000");
    assert_eq!(r.body["purchase_date"], "Mon, 19 Jan 1970 13:21:46 +0000");
}

async fn scopes_guard_gift_certificates(app: TestApp) {
    let gid = id(&create(&app, gc("Ann", "1")).await);
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app.token_with_scopes("store_v2_marketing_read_only").await;
    let modify = app.token_with_scopes("store_v2_marketing").await;
    let one = format!("{GCS}/{gid}");
    let new = gc("Bob", "1");

    for (method, path, body) in [
        (Method::GET, GCS, None),
        (Method::GET, one.as_str(), None),
        (Method::POST, GCS, Some(new.clone())),
        (Method::PUT, one.as_str(), Some(json!({"message": "x"}))),
        (Method::DELETE, one.as_str(), None),
        (Method::DELETE, GCS, None),
    ] {
        let r = app
            .call_as(&cart_only, method.clone(), path, body.clone())
            .await;
        assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_marketing");
    }
    for path in [GCS, one.as_str()] {
        let r = app.call_as(&read_only, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    for (method, path, body) in [
        (Method::POST, GCS, Some(new.clone())),
        (Method::PUT, one.as_str(), Some(json!({"message": "x"}))),
        (Method::DELETE, one.as_str(), None),
        (Method::DELETE, GCS, None),
    ] {
        let r = app
            .call_as(&read_only, method.clone(), path, body.clone())
            .await;
        assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_marketing");
    }
    // Nothing went: still the demo pair and ours.
    assert_eq!(app.get(GCS).await.body.as_array().map(Vec::len), Some(3));
    // Modify implies read.
    let r = app.call_as(&modify, Method::GET, &one, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.call_as(&modify, Method::POST, GCS, Some(new)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.call_as("nope", Method::GET, GCS, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.is_array(), "{}", r.body);
}

async fn unknown_gift_certificates_are_404(app: TestApp) {
    for path in [
        format!("{GCS}/999"),
        format!("{GCS}/0"),
        format!("{GCS}/abc"),
    ] {
        let r = app.get(&path).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Gift certificate");
        let r = app.put(&path, json!({"message": "x"})).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Gift certificate");
        let r = app.delete(&path).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Gift certificate");
    }
    // Another store neither sees this store's certificates nor clashes with its codes.
    let gid = id(&create(&app, with(gc("Ann", "1"), "code", json!("MINE"))).await);
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
    let other = "/stores/other/v2/gift_certificates";
    let r = app
        .call_as(&token, Method::GET, &format!("{other}/{gid}"), None)
        .await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, "Gift certificate");
    let r = app
        .call_as(
            &token,
            Method::POST,
            other,
            Some(with(gc("Ann", "1"), "code", json!("mine"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.call_as(&token, Method::DELETE, other, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Deleting all of the other store's left this one's alone.
    let r = app.get(&format!("{GCS}/{gid}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn demo_certificates_and_checkout_lookups(app: TestApp) {
    let r = app.get(GCS).await;
    let list = r.body.as_array().expect("list");
    assert_eq!(list.len(), 2, "{}", r.body);
    assert_eq!(list[0]["code"], "GIFT-DEMO-50");
    assert_eq!(list[0]["amount"], "50.0000");
    assert_eq!(list[0]["balance"], "50.0000");
    assert_eq!(list[1]["code"], "GIFT-DEMO-10");
    assert_eq!(list[1]["amount"], "10.0000");
    assert_eq!(list[1]["status"], "active");

    let store = app.kassa.find_store("demo").await.expect("demo store");
    // Seeding again adds nothing.
    app.kassa
        .seed_demo_gift_certificates(&store)
        .await
        .expect("seed again");
    assert_eq!(app.get(GCS).await.body.as_array().map(Vec::len), Some(2));

    // Lookups by code ignore case and surrounding spaces.
    let g = app
        .kassa
        .store
        .gift_certificate_by_code(store.id, " gift-demo-50 ")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(g.balance, Money::new(50.into()));
    assert_eq!(g.status, GiftCertificateStatus::Active);
    assert!(g.redeemable(app.kassa.now()).is_ok());
    assert!(g.is_in_currency("USD"));
    let same = app
        .kassa
        .store
        .gift_certificate(store.id, g.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(same, g);
    assert!(
        app.kassa
            .store
            .gift_certificate_by_code(store.id, "GIFT-DEMO")
            .await
            .expect("lookup")
            .is_none()
    );

    // A write that expects a stale balance changes nothing (a redemption won the race).
    let mut spent = g.clone();
    spent.balance = Money::new(20.into());
    let wrote = app
        .kassa
        .store
        .update_gift_certificate(store.id, &spent, Money::new(49.into()))
        .await
        .expect("update");
    assert!(!wrote);
    let wrote = app
        .kassa
        .store
        .update_gift_certificate(store.id, &spent, g.balance)
        .await
        .expect("update");
    assert!(wrote);
    let r = app.get(&format!("{GCS}/{}", g.id)).await;
    assert_eq!(r.body["balance"], "20.0000");

    // Why a certificate cannot pay, as checkout will say it.
    let r = app
        .put(&format!("{GCS}/{}", g.id), json!({"status": "disabled"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g = app
        .kassa
        .store
        .gift_certificate_by_code(store.id, "GIFT-DEMO-50")
        .await
        .expect("lookup")
        .expect("found");
    let why = g.redeemable(app.kassa.now()).expect_err("disabled");
    assert!(why.to_string().contains("disabled"), "{why}");
    let r = app
        .put(
            &format!("{GCS}/{}", g.id),
            json!({"status": "active", "expiry_date": app.kassa.now() + 60}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.clock.advance(60);
    let g = app
        .kassa
        .store
        .gift_certificate(store.id, g.id)
        .await
        .expect("read")
        .expect("found");
    let why = g.redeemable(app.kassa.now()).expect_err("expired");
    assert!(why.to_string().contains("expired"), "{why}");
}

async fn openapi_lists_gift_certificate_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = &r.body["paths"];
    for (p, m, op) in [
        (
            "/stores/{store_hash}/v2/gift_certificates",
            "get",
            "getGiftCertificates",
        ),
        (
            "/stores/{store_hash}/v2/gift_certificates",
            "post",
            "createGiftCertificate",
        ),
        (
            "/stores/{store_hash}/v2/gift_certificates",
            "delete",
            "deleteGiftCertificates",
        ),
        (
            "/stores/{store_hash}/v2/gift_certificates/{id}",
            "get",
            "getGiftCertificate",
        ),
        (
            "/stores/{store_hash}/v2/gift_certificates/{id}",
            "put",
            "updateGiftCertificate",
        ),
        (
            "/stores/{store_hash}/v2/gift_certificates/{id}",
            "delete",
            "deleteGiftCertificate",
        ),
    ] {
        assert_eq!(paths[p][m]["operationId"], op, "{m} {p}");
    }
}
