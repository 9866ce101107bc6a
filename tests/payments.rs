//! The Payments API over real HTTP on both backends: methods, payment access tokens and
//! processing card payments through the test gateway — approval, each refusal, paying
//! twice, racing payments for one order, and what follows payment (cart deleted, bought
//! gift certificates issued), and what a payment leaves behind: the order's status, its
//! transactions to the cent, and no hold when nothing was charged.

mod common;

use common::flow::{CARTS, CHECKOUTS, billing, card, new_pat, pay, token};
use common::{Reply, TestApp};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_card_pays_the_order_once,
    refused_cards_leave_the_order_payable,
    tokens_are_checked,
    racing_payments_charge_once,
    one_token_raced_charges_once,
    paying_issues_bought_gift_certificates,
    a_declined_card_is_recorded_and_a_good_one_pays,
    one_gift_certificate_raced_by_two_orders_pays_one,
    an_order_with_nothing_left_to_pay_is_not_held,
);

async fn order(app: &TestApp, body: Value) -> (String, i64) {
    let r = app.post(CARTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.data()["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), billing())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (id, r.data()["id"].as_i64().unwrap())
}

async fn ebook_order(app: &TestApp) -> (String, i64) {
    order(
        app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await
}

async fn a_card_pays_the_order_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let (cart, order_id) = ebook_order(&app).await;
    let r = app
        .get(&format!(
            "/stores/demo/v3/payments/methods?order_id={order_id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["id"], "testgateway.card");
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4111 1111 1111 1111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["status"], "success");
    assert_eq!(r.data()["transaction_type"], "purchase");
    // Paid: the cart is gone, and the order cannot be paid again in any way.
    cart_gone_and_token_spent(&app, &cart, &pat).await;
    let r = token(&app, order_id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("already been paid")
    );
    let r = app
        .get(&format!(
            "/stores/demo/v3/payments/methods?order_id={order_id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn refused_cards_leave_the_order_payable(app: TestApp) {
    let app = app.with_fixtures().await;
    let (cart, order_id) = ebook_order(&app).await;
    let pat = new_pat(&app, order_id).await;
    for (number, needle) in [
        ("4000000000000002", "declined"),
        ("4000000000009995", "insufficient funds"),
        ("4000000000000119", "nothing was charged"),
        ("4111111111111112", "check digit"),
    ] {
        let r = pay(&app, &pat, card(number)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body["title"].as_str().unwrap().contains(needle),
            "{number}: {}",
            r.body
        );
    }
    let mut expired = card("4111111111111111");
    expired["payment"]["instrument"]["expiry_year"] = json!(2001);
    let r = pay(&app, &pat, expired).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut other = card("4111111111111111");
    other["payment"]["instrument"] = json!({"type": "stored_paypal_account", "token": "x"});
    let r = pay(&app, &pat, other).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Still unpaid: the cart is there and a good card goes through with the same token.
    assert_eq!(
        app.get(&format!("{CHECKOUTS}/{cart}")).await.status,
        StatusCode::OK
    );
    let r = pay(&app, &pat, card("5555555555554444")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn tokens_are_checked(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, order_id) = ebook_order(&app).await;
    assert_eq!(token(&app, 999_999).await.status, StatusCode::NOT_FOUND);
    let r = app
        .post(
            "/stores/demo/v3/payments/access_tokens",
            json!({"order": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // A token needs the payments scope.
    let weak = app.token_with_scopes("store_cart").await;
    let r = app
        .call_as(
            &weak,
            Method::POST,
            "/stores/demo/v3/payments/access_tokens",
            Some(json!({"order": {"id": order_id}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Paying needs a real, live PAT.
    let r = pay(&app, "not-a-token", card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let res = app
        .client
        .post(format!("{}/stores/demo/payments", app.base))
        .json(&card("4111111111111111"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let pat = new_pat(&app, order_id).await;
    app.clock.advance(3601);
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

async fn racing_payments_charge_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, order_id) = ebook_order(&app).await;
    let mut pats = Vec::new();
    for _ in 0..6 {
        pats.push(new_pat(&app, order_id).await);
    }
    let replies = join_all(pats.iter().map(|p| pay(&app, p, card("4111111111111111")))).await;
    one_succeeded(&replies);
}

/// Exactly one reply is a payment made; every other one a refusal (422).
fn one_succeeded(replies: &[Reply]) {
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
}

/// One payment access token sent many times at once: one payment, one transaction
/// recorded, and the token spent (its use and the order's move are one step).
async fn one_token_raced_charges_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let (cart, order_id) = ebook_order(&app).await;
    let pat = new_pat(&app, order_id).await;
    let replies = join_all((0..20).map(|_| pay(&app, &pat, card("4111111111111111")))).await;
    one_succeeded(&replies);
    let r = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let recorded: Vec<(&str, &str)> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["event"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(recorded, [("purchase", "ok")], "{}", r.body);
    // The cart went with the payment, and the spent token pays nothing more.
    cart_gone_and_token_spent(&app, &cart, &pat).await;
}

/// After a payment completed its order: the cart is gone and the token pays no more.
async fn cart_gone_and_token_spent(app: &TestApp, cart: &str, pat: &str) {
    assert_eq!(
        app.get(&format!("{CHECKOUTS}/{cart}")).await.status,
        StatusCode::NOT_FOUND
    );
    let again = pay(app, pat, card("4111111111111111")).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    assert!(
        again.body["title"]
            .as_str()
            .unwrap()
            .contains("already been paid")
    );
}

async fn paying_issues_bought_gift_certificates(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, order_id) = order(
        &app,
        json!({"gift_certificates": [{"name": "Present", "theme": "Celebration", "amount": 30,
            "quantity": 1, "sender": {"name": "Ada", "email": "ada@example.com"},
            "recipient": {"name": "Bo", "email": "bo@example.com"}}]}),
    )
    .await;
    let r = app
        .get(&format!(
            "/stores/demo/v2/gift_certificates?order_id={order_id}"
        ))
        .await;
    assert!(
        r.body.as_array().is_none_or(Vec::is_empty),
        "not before payment: {}",
        r.body
    );
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4242424242424242")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .get(&format!(
            "/stores/demo/v2/gift_certificates?order_id={order_id}"
        ))
        .await;
    let issued = r.body.as_array().expect("issued");
    assert_eq!(issued.len(), 1, "{}", r.body);
    assert_eq!(issued[0]["balance"], "30.0000");
    assert_eq!(issued[0]["template"], "celebration.html");
}

/// An order's V2 view.
async fn v2_order(app: &TestApp, order_id: i64) -> Value {
    let r = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// (event, status, amount, method) of each of an order's transactions, oldest first.
async fn transactions(app: &TestApp, order_id: i64) -> Vec<(String, String, String, String)> {
    let r = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    r.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                text(&t["event"]),
                text(&t["status"]),
                text(&t["amount"]),
                text(&t["method"]),
            )
        })
        .collect()
}

/// The order's total as its V2 view shows it, in cents.
fn cents(v: &Value) -> i64 {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let frac = format!("{frac:0<2}");
    assert!(
        frac[2..].chars().all(|c| c == '0'),
        "{s} is not whole cents"
    );
    whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

/// A declined card is recorded (and its hold ended); the next card pays the whole
/// order: it is Awaiting Fulfillment and its transactions are the two attempts, each
/// for the order's total to the cent.
async fn a_declined_card_is_recorded_and_a_good_one_pays(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, order_id) = ebook_order(&app).await;
    let total = cents(&v2_order(&app, order_id).await["total_inc_tax"]);
    assert_eq!(total, 1071, "9.99 and 7.25% tax");
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4000000000000002")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(v2_order(&app, order_id).await["status_id"], 0);
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let o = v2_order(&app, order_id).await;
    assert_eq!(o["status_id"], 11, "{o}");
    assert_eq!(o["status"], "Awaiting Fulfillment", "{o}");
    let t = transactions(&app, order_id).await;
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!((t[0].0.as_str(), t[0].1.as_str()), ("purchase", "declined"));
    assert_eq!((t[1].0.as_str(), t[1].1.as_str()), ("purchase", "ok"));
    for (_, _, amount, method) in &t {
        assert_eq!(cents(&json!(amount)), total, "{t:?}");
        assert_eq!(method, "credit_card");
    }
}

/// Two orders pay at once with one gift certificate that covers one of them: it pays
/// exactly one (its balance is debited once, to zero), the other is refused with
/// nothing recorded as paid, stays payable, and a card then pays it.
async fn one_gift_certificate_raced_by_two_orders_pays_one(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, first) = ebook_order(&app).await;
    let (_, second) = ebook_order(&app).await;
    let total = v2_order(&app, first).await["total_inc_tax"].clone();
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"to_name": "Ada", "to_email": "ada@example.com", "from_name": "Bob",
                   "from_email": "bob@example.com", "amount": total}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_string();
    let gift = r.body["id"].as_i64().unwrap();
    let body = json!({"payment": {"instrument": {"type": "gift_certificate",
        "gift_certificate_code": code}, "payment_method_id": "bigcommerce.gift_certificate"}});
    let pats = [new_pat(&app, first).await, new_pat(&app, second).await];
    let replies = join_all(pats.iter().map(|p| pay(&app, p, body.clone()))).await;
    one_succeeded(&replies);
    let paid = if replies[0].status == StatusCode::CREATED {
        [first, second]
    } else {
        [second, first]
    };
    let g = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gift}"))
        .await;
    assert_eq!(cents(&g.body["balance"]), 0, "{}", g.body);
    assert_eq!(v2_order(&app, paid[0]).await["status_id"], 11);
    let t = transactions(&app, paid[0]).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(
        (t[0].1.as_str(), t[0].3.as_str()),
        ("ok", "gift_certificate")
    );
    assert_eq!(cents(&json!(t[0].2)), cents(&total));
    // The refused order: nothing paid, and a card pays it whole.
    let unpaid = paid[1];
    assert_eq!(v2_order(&app, unpaid).await["status_id"], 0);
    assert!(
        transactions(&app, unpaid).await.iter().all(|t| t.1 != "ok"),
        "nothing paid"
    );
    let r = pay(&app, &new_pat(&app, unpaid).await, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(v2_order(&app, unpaid).await["status_id"], 11);
    let ok: Vec<_> = transactions(&app, unpaid)
        .await
        .into_iter()
        .filter(|t| t.1 == "ok")
        .collect();
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(cents(&json!(ok[0].2)), cents(&total));
}

/// An order the merchant set back to Pending after it was paid in full has nothing left
/// to pay: a payment is refused before the gateway, and not held, so the same refusal
/// (not "in progress") comes again.
async fn an_order_with_nothing_left_to_pay_is_not_held(app: TestApp) {
    let app = app.with_fixtures().await;
    let (_, order_id) = ebook_order(&app).await;
    let r = pay(
        &app,
        &new_pat(&app, order_id).await,
        card("4111111111111111"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .put(
            &format!("/stores/demo/v2/orders/{order_id}"),
            json!({"status_id": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pat = new_pat(&app, order_id).await;
    for _ in 0..2 {
        let r = pay(&app, &pat, card("4111111111111111")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body["title"]
                .as_str()
                .unwrap()
                .contains("nothing left to pay"),
            "{}",
            r.body
        );
    }
    assert_eq!(transactions(&app, order_id).await.len(), 1);
}
