//! Placing orders from checkouts (`POST /checkouts/{id}/orders`) over real HTTP on both
//! backends: what a checkout must have first, increasing order ids, and the limits that
//! must hold when many shoppers finish at once — coupon uses (in total and per
//! customer), gift-certificate balances and store credit are taken exactly once, when
//! the order is placed, and never beyond what exists.

mod common;

use common::TestApp;
use common::flow::{CARTS, CHECKOUTS, billing, checkout_with, place};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    incomplete_checkouts_are_refused_naming_what_is_missing,
    orders_get_increasing_ids_and_the_cart_stays_until_paid,
    limited_coupon_lets_exactly_k_orders_through,
    per_customer_coupon_limit_holds,
    gift_certificate_balance_is_spent_once,
    gift_certificate_and_store_credit_pay_in_full,
    wrong_gift_certificate_codes_are_rate_limited,
    bought_gift_certificates_are_issued_when_paid,
    placing_again_gives_the_unpaid_orders_coupon_use_to_the_new_one,
    unlimited_coupon_counts_every_use_and_a_limit_set_later_counts_them_all,
);

/// A checkout of `items` for `customer_id` with a billing address; returns its id.
async fn checkout(app: &TestApp, items: Value, customer_id: i64) -> String {
    checkout_with(
        app,
        json!({"customer_id": customer_id, "line_items": items}),
    )
    .await
}

/// An e-book checkout (digital: nothing to ship).
async fn ebook_checkout(app: &TestApp, customer_id: i64) -> String {
    checkout(
        app,
        json!([{"product_id": 930, "quantity": 1}]),
        customer_id,
    )
    .await
}

async fn create_coupon(app: &TestApp, code: &str, extra: Value) -> i64 {
    let mut body = json!({"name": format!("Coupon {code}"), "code": code, "type": "per_total_discount",
                          "amount": "1", "applies_to": {"entity": "categories", "ids": [0]}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = app.post("/stores/demo/v2/coupons", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().expect("coupon id")
}

async fn apply(app: &TestApp, id: &str, code: &str) -> common::Reply {
    app.post(
        &format!("{CHECKOUTS}/{id}/coupons"),
        json!({"coupon_code": code}),
    )
    .await
}

fn title(r: &common::Reply) -> String {
    r.body["title"].as_str().unwrap_or_default().to_string()
}

async fn incomplete_checkouts_are_refused_naming_what_is_missing(app: TestApp) {
    let app = app.with_fixtures().await;
    // No billing address.
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    let id = r.data()["id"].as_str().unwrap().to_string();
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("billing"), "{}", r.body);

    // A lamp in no consignment.
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), billing())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("consignment"), "{}", r.body);

    // A consignment without a shipping option.
    let item =
        app.get(&format!("{CARTS}/{id}")).await.data()["line_items"]["physical_items"][0]["id"]
            .clone();
    let mut address = billing();
    address["state_or_province_code"] = json!("CA");
    let r = app
        .post(
            &format!(
                "{CHECKOUTS}/{id}/consignments?include=consignments.available_shipping_options"
            ),
            json!([{"address": address, "line_items": [{"item_id": item, "quantity": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("shipping option"), "{}", r.body);

    // Nothing was written: the first order placed still gets id 1.
    let consignment = app
        .get(&format!(
            "{CHECKOUTS}/{id}?include=consignments.available_shipping_options"
        ))
        .await;
    let cid = consignment.data()["consignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let option =
        consignment.data()["consignments"][0]["available_shipping_options"][0]["id"].clone();
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            json!({"shipping_option_id": option}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["id"], json!(1));
}

async fn orders_get_increasing_ids_and_the_cart_stays_until_paid(app: TestApp) {
    let app = app.with_fixtures().await;
    let id = ebook_checkout(&app, 0).await;
    let first = place(&app, &id).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = place(&app, &id).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let (a, b) = (
        first.data()["id"].as_i64().unwrap(),
        second.data()["id"].as_i64().unwrap(),
    );
    assert!(b > a, "order ids increase: {a} then {b}");
    // Unpaid orders leave the cart in place.
    assert_eq!(
        app.get(&format!("{CHECKOUTS}/{id}")).await.status,
        StatusCode::OK
    );
}

async fn limited_coupon_lets_exactly_k_orders_through(app: TestApp) {
    let app = app.with_fixtures().await;
    const K: usize = 3;
    const N: usize = 10;
    let coupon = create_coupon(&app, "LIMITED3", json!({"max_uses": K})).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        let id = ebook_checkout(&app, 0).await;
        // Applying takes no use: all N may apply it.
        let r = apply(&app, &id, "limited3").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.data()["coupons"][0]["discounted_amount"], json!(1));
        ids.push(id);
    }
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, K, "exactly K orders carry the coupon");
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(title(r).contains("maximum number of times"), "{}", r.body);
    }
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    assert_eq!(r.body["num_uses"], json!(K), "{}", r.body);
    // Once used up, applying it anew is refused too.
    let id = ebook_checkout(&app, 0).await;
    let r = apply(&app, &id, "LIMITED3").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(title(&r).contains("maximum number of times"), "{}", r.body);
}

async fn per_customer_coupon_limit_holds(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "limit@example.com", "first_name": "Lim", "last_name": "It"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer = r.body["data"][0]["id"].as_i64().expect("customer id");
    create_coupon(&app, "ONCEEACH", json!({"max_uses_per_customer": 1})).await;
    let ids = [
        ebook_checkout(&app, customer).await,
        ebook_checkout(&app, customer).await,
        ebook_checkout(&app, 0).await,
    ];
    for id in &ids {
        assert_eq!(apply(&app, id, "ONCEEACH").await.status, StatusCode::OK);
    }
    let replies = join_all(ids[..2].iter().map(|id| place(&app, id))).await;
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count(),
        1,
        "one use per customer"
    );
    // A guest is not that customer.
    assert_eq!(place(&app, &ids[2]).await.status, StatusCode::OK);
}

async fn gift_certificate_balance_is_spent_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "RACE-25", "amount": "25.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gc = r.body["id"].as_i64().expect("gift certificate id");
    // Each order wants 9.99 + CA tax on it, so the 25.00 covers two of them, not three.
    let mut ids = Vec::new();
    let mut wanted = Vec::new();
    for _ in 0..5 {
        let id = ebook_checkout(&app, 0).await;
        let r = app
            .post(
                &format!("{CHECKOUTS}/{id}/gift-certificates"),
                json!({"gift_certificate_code": "race-25"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.data()["outstanding_balance"], json!(0), "{}", r.body);
        wanted.push(r.data()["grand_total"].as_f64().unwrap());
        ids.push(id);
    }
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        2,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(title(r).contains("RACE-25"), "{}", r.body);
    }
    let r = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gc}"))
        .await;
    let left: f64 = r.body["balance"].as_str().unwrap().parse().unwrap();
    let spent = 25.0 - left;
    assert!(
        (spent - 2.0 * wanted[0]).abs() < 1e-9,
        "balance {left} after two orders of {}",
        wanted[0]
    );
}

async fn gift_certificate_and_store_credit_pay_in_full(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "credit@example.com", "first_name": "Cre", "last_name": "Dit",
                    "store_credit_amounts": [{"amount": 20}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer = r.body["data"][0]["id"].as_i64().expect("customer id");
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "HALF-5", "amount": "5.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Two e-books: 19.98 + 7.25 % CA tax 1.45 = 21.43; the certificate pays 5.00,
    // store credit the other 16.43 of the customer's 20.00.
    let id = checkout(&app, json!([{"product_id": 930, "quantity": 2}]), customer).await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/gift-certificates"),
            json!({"gift_certificate_code": "HALF-5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["grand_total"], json!(21.43), "{}", r.body);
    assert_eq!(r.data()["outstanding_balance"], json!(16.43));
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["store_credit_used"], json!(16.43));
    assert_eq!(r.data()["outstanding_balance"], json!(0));
    // The taxable amount is untouched by stored value.
    assert_eq!(r.data()["tax_total"], json!(1.45));
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Paid in full: the cart is gone, the balances are spent.
    assert_eq!(
        app.get(&format!("{CHECKOUTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers?id:in={customer}&include=storecredit"
        ))
        .await;
    assert_eq!(
        r.body["data"][0]["store_credit_amounts"][0]["amount"],
        json!(3.57),
        "{}",
        r.body
    );
}

async fn wrong_gift_certificate_codes_are_rate_limited(app: TestApp) {
    let app = app.with_fixtures().await;
    let id = ebook_checkout(&app, 0).await;
    let try_code = |code: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.post(
                &format!("{CHECKOUTS}/{id}/gift-certificates"),
                json!({"gift_certificate_code": code}),
            )
            .await
        }
    };
    // The storefront spec's limit: 20 distinct wrong codes an hour.
    for i in 0..20 {
        let r = try_code(format!("WRONG-{i}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    }
    // At the limit every further attempt is refused with when to retry…
    let r = try_code("wrong-3".into()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait: i64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(r.headers["x-retry-after"], r.headers["retry-after"]);
    // …and a right code is refused while the limit holds, too.
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "RIGHT-1", "amount": "5.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        try_code("RIGHT-1".into()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // An hour later the checkout may try again.
    app.clock.advance(3601);
    let r = try_code("RIGHT-1".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["gift_certificates"][0]["code"], "RIGHT-1");
}

async fn bought_gift_certificates_are_issued_when_paid(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "giver@example.com", "first_name": "Gi", "last_name": "Ver",
                    "store_credit_amounts": [{"amount": 60}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let customer = r.body["data"][0]["id"].as_i64().expect("customer id");
    let r = app
        .post(
            CARTS,
            json!({"customer_id": customer, "gift_certificates": [{"name": "Present", "theme": "Birthday",
                "amount": 25, "quantity": 2, "message": "Happy birthday",
                "sender": {"name": "Gi Ver", "email": "giver@example.com"},
                "recipient": {"name": "Max", "email": "max@example.com"}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.data()["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), billing())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A gift certificate cannot pay for gift certificates…
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/gift-certificates"),
            json!({"gift_certificate_code": "GIFT-DEMO-50"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // …store credit can: 2 × 25.00, untaxed, leaves 10.00 of the 60.00.
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["grand_total"], json!(50));
    assert_eq!(r.data()["outstanding_balance"], json!(0));
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().unwrap();
    let r = app
        .get(&format!(
            "/stores/demo/v2/gift_certificates?order_id={order}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let issued = r.body.as_array().expect("a list");
    assert_eq!(issued.len(), 2, "{}", r.body);
    for g in issued {
        assert_eq!(g["amount"], "25.0000");
        assert_eq!(g["balance"], "25.0000");
        assert_eq!(g["status"], "active");
        assert_eq!(g["to_email"], "max@example.com");
        assert_eq!(g["template"], "birthday.html");
        assert_eq!(g["order_id"], json!(order));
    }
    assert_ne!(issued[0]["code"], issued[1]["code"]);
}

/// A checkout of items that count no stock placed again: its unpaid order is replaced,
/// and the one use a coupon allows passes from the old order to the new one, which
/// alone can be paid.
async fn placing_again_gives_the_unpaid_orders_coupon_use_to_the_new_one(app: TestApp) {
    let app = app.with_fixtures().await;
    let coupon = create_coupon(&app, "ONCEONLY", json!({"max_uses": 1})).await;
    let id = ebook_checkout(&app, 0).await;
    let r = apply(&app, &id, "ONCEONLY").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = place(&app, &id).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = place(&app, &id).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let (a, b) = (
        first.data()["id"].as_i64().expect("order id"),
        second.data()["id"].as_i64().expect("order id"),
    );
    assert!(b > a, "order ids increase: {a} then {b}");
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    assert_eq!(r.body["num_uses"], json!(1), "{}", r.body);
    let r = common::flow::token(&app, a).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = common::flow::token(&app, b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Another checkout finds the one use taken.
    let other = ebook_checkout(&app, 0).await;
    let r = apply(&app, &other, "ONCEONLY").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(title(&r).contains("maximum number of times"), "{}", r.body);
}

/// Orders placed at once with a coupon without a limit all count (PostgreSQL spreads
/// those uses over several counter rows); an unpaid order replaced gives its use back;
/// a limit the merchant sets afterwards is checked against every use so far.
async fn unlimited_coupon_counts_every_use_and_a_limit_set_later_counts_them_all(app: TestApp) {
    let app = app.with_fixtures().await;
    const N: usize = 20;
    let coupon = create_coupon(&app, "EVERYONE", json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        let id = ebook_checkout(&app, 0).await;
        let r = apply(&app, &id, "EVERYONE").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        ids.push(id);
    }
    let replies = join_all(ids.iter().map(|id| place(&app, id))).await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    async fn uses(app: &TestApp, coupon: i64) -> Value {
        let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
        r.body["num_uses"].clone()
    }
    assert_eq!(uses(&app, coupon).await, json!(N));
    // Placing a checkout again replaces its unpaid order: the use passes on, not doubles.
    let again = place(&app, &ids[0]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(uses(&app, coupon).await, json!(N));

    let r = app
        .put(
            &format!("/stores/demo/v2/coupons/{coupon}"),
            json!({"max_uses": N + 2, "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut late = Vec::new();
    for _ in 0..5 {
        let id = ebook_checkout(&app, 0).await;
        let r = apply(&app, &id, "EVERYONE").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        late.push(id);
    }
    let replies = join_all(late.iter().map(|id| place(&app, id))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 2, "only the two uses left under the new limit");
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(title(r).contains("maximum number of times"), "{}", r.body);
    }
    assert_eq!(uses(&app, coupon).await, json!(N + 2));
}
