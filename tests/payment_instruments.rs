//! Payment instruments over real HTTP on both backends: stored cards, gift certificates
//! and store credit (partial amounts leave the order Pending until a second payment
//! completes it), the authorize-only store setting, and the events payments write.
//! Refunds go back to the instruments that paid: a gift certificate or store credit is
//! credited back.

mod common;

use common::TestApp;
use common::flow::{card, checkout_with, new_pat, pay, place};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    a_saved_card_pays_the_customers_next_order,
    gift_certificate_pays_part_and_a_card_the_rest,
    store_credit_pays_a_customers_order,
    authorize_only_waits_for_capture,
    payments_write_status_and_transaction_events,
);

async fn customer(app: &TestApp, email: &str, credit: f64) -> i64 {
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": email, "first_name": "Ada", "last_name": "Lovelace",
                    "store_credit_amounts": [{"amount": credit}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()[0]["id"].as_i64().unwrap()
}

/// An e-book order (9.99 plus California tax) for `customer_id` (0 = guest).
async fn order_for(app: &TestApp, customer_id: i64) -> i64 {
    let id = checkout_with(
        app,
        json!({"customer_id": customer_id, "line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().unwrap()
}

async fn v2_order(app: &TestApp, order_id: i64) -> Value {
    let r = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn dec(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

async fn balance(app: &TestApp, gift_certificate: i64) -> f64 {
    let path = format!("/stores/demo/v2/gift_certificates/{gift_certificate}");
    dec(&app.get(&path).await.body["balance"])
}

async fn transactions(app: &TestApp, order_id: i64) -> Vec<Value> {
    let r = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data().as_array().unwrap().clone()
}

async fn a_saved_card_pays_the_customers_next_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let cid = customer(&app, "saver@example.com", 0.0).await;
    let first = order_for(&app, cid).await;
    let pat = new_pat(&app, first).await;
    let mut body = card("4242424242424242");
    body["payment"]["save_instrument"] = json!(true);
    let r = pay(&app, &pat, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let second = order_for(&app, cid).await;
    let r = app
        .get(&format!(
            "/stores/demo/v3/payments/methods?order_id={second}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let methods = r.data().as_array().unwrap();
    let ids: Vec<&str> = methods.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "testgateway.card",
            "bigcommerce.gift_certificate",
            "bigcommerce.store_credit"
        ]
    );
    let stored = methods[0]["stored_instruments"].as_array().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["type"], "stored_card");
    assert_eq!(stored[0]["last_4"], "4242");
    assert_eq!(stored[0]["brand"], "VISA");
    assert_eq!(stored[0]["is_default"], true);
    let token = stored[0]["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);
    // Never the card number, anywhere in what is kept or shown.
    assert!(!r.body.to_string().contains("4242424242424242"));

    // A guest's order cannot use the customer's card.
    let guest = order_for(&app, 0).await;
    let gpat = new_pat(&app, guest).await;
    let stored_body = json!({"payment": {"instrument": {"type": "stored_card", "token": token,
        "verification_value": "123"}, "payment_method_id": "testgateway.card"}});
    let r = pay(&app, &gpat, stored_body.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("No stored card"), "{}", r.body);

    let pat = new_pat(&app, second).await;
    let r = pay(&app, &pat, stored_body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["transaction_type"], "purchase");
    let o = v2_order(&app, second).await;
    assert_eq!(o["status_id"], 11);
    let t = transactions(&app, second).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["credit_card"]["card_last4"], "4242");
    assert_eq!(dec(&t[0]["amount"]), dec(&o["total_inc_tax"]));
}

async fn gift_certificate_pays_part_and_a_card_the_rest(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"to_name": "Ada", "to_email": "ada@example.com", "from_name": "Bob",
                   "from_email": "bob@example.com", "amount": "4.00"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_string();
    let gid = r.body["id"].as_i64().unwrap();
    let order_id = order_for(&app, 0).await;
    let total = dec(&v2_order(&app, order_id).await["total_inc_tax"]);
    assert!(total > 4.0);

    // A wrong method for the instrument is refused with the right one named.
    let pat = new_pat(&app, order_id).await;
    let r = pay(
        &app,
        &pat,
        json!({"payment": {"instrument": {"type": "gift_certificate", "gift_certificate_code": code},
            "payment_method_id": "testgateway.card"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("bigcommerce.gift_certificate"));

    let r = pay(
        &app,
        &pat,
        json!({"payment": {"instrument": {"type": "gift_certificate", "gift_certificate_code": code},
            "payment_method_id": "bigcommerce.gift_certificate"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        v2_order(&app, order_id).await["status_id"],
        1,
        "Pending: part paid"
    );
    let g = app
        .get(&format!("/stores/demo/v2/gift_certificates/{gid}"))
        .await;
    assert_eq!(dec(&g.body["balance"]), 0.0);

    // The token was spent; a new one pays the rest, and only the rest.
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(v2_order(&app, order_id).await["status_id"], 11);
    let t = transactions(&app, order_id).await;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["method"], "gift_certificate");
    assert_eq!(dec(&t[0]["amount"]), 4.0);
    assert_eq!(t[1]["method"], "credit_card");
    let sum = dec(&t[0]["amount"]) + dec(&t[1]["amount"]);
    assert!((sum - total).abs() < 1e-9, "charged {sum}, total {total}");
    // Nothing is left to pay.
    let r = app
        .post(
            "/stores/demo/v3/payments/access_tokens",
            json!({"order": {"id": order_id}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Refunds go back where the money came from. The quote splits the whole order: the
    // card (the most recent payment) first, then the certificate.
    let card_part = dec(&t[1]["amount"]);
    let actions = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    let items =
        |amount: f64| json!([{"item_type": "ORDER", "item_id": order_id, "amount": amount}]);
    let r = app
        .post(
            &format!("{actions}/refund_quotes"),
            json!({"items": items(total)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let method = r.data()["refund_methods"][0].as_array().unwrap().clone();
    assert_eq!(method.len(), 2, "{}", r.body);
    assert_eq!(method[0]["provider_id"], "testgateway");
    assert_eq!(dec(&method[0]["amount"]), card_part);
    assert_eq!(method[1]["provider_id"], "gift_certificate");
    assert_eq!(dec(&method[1]["amount"]), 4.0);
    // 1.00 more than the card paid: the card's part, then 1.00 back to the certificate.
    let r = app
        .post(
            &format!("{actions}/refunds"),
            json!({"items": items(card_part + 1.0)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let payments = r.data()["payments"].as_array().unwrap().clone();
    assert_eq!(payments.len(), 2, "{}", r.body);
    assert_eq!(payments[0]["provider_id"], "testgateway");
    assert_eq!(dec(&payments[0]["amount"]), card_part);
    assert_eq!(payments[1]["provider_id"], "gift_certificate");
    assert_eq!(dec(&payments[1]["amount"]), 1.0);
    assert_eq!(balance(&app, gid).await, 1.0);
    // Naming a provider: more than it has left is refused, nothing changes.
    let r = app
        .post(
            &format!("{actions}/refunds"),
            json!({"items": items(3.5),
                   "payments": [{"provider_id": "testgateway", "amount": 3.5, "offline": false}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("left to refund"), "{}", r.body);
    let r = app
        .post(
            &format!("{actions}/refunds"),
            json!({"items": items(3.0),
                   "payments": [{"provider_id": "gift_certificate", "amount": 3.0, "offline": false}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(balance(&app, gid).await, 4.0);
    assert_eq!(v2_order(&app, order_id).await["status_id"], 4, "Refunded");
    let t = transactions(&app, order_id).await;
    let refunds: Vec<(String, f64)> = t
        .iter()
        .filter(|t| t["event"] == "refund")
        .map(|t| (t["method"].as_str().unwrap().to_string(), dec(&t["amount"])))
        .collect();
    assert_eq!(
        refunds,
        vec![
            ("credit_card".to_string(), card_part),
            ("gift_certificate".to_string(), 1.0),
            ("gift_certificate".to_string(), 3.0)
        ]
    );
}

async fn store_credit_pays_a_customers_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let cid = customer(&app, "credit@example.com", 100.0).await;
    let order_id = order_for(&app, cid).await;
    let total = dec(&v2_order(&app, order_id).await["total_inc_tax"]);
    let sc = json!({"payment": {"instrument": {"type": "store_credit"},
        "payment_method_id": "bigcommerce.store_credit"}});
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, sc.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(v2_order(&app, order_id).await["status_id"], 11);
    let c = app
        .get(&format!(
            "/stores/demo/v3/customers?id:in={cid}&include=storecredit"
        ))
        .await;
    let left = dec(&c.data()[0]["store_credit_amounts"][0]["amount"]);
    assert!((left - (100.0 - total)).abs() < 1e-9, "left {left}");

    // A refund of the whole order credits the store credit back.
    let r = app
        .post(
            &format!("/stores/demo/v3/orders/{order_id}/payment_actions/refunds"),
            json!({"items": [{"item_type": "ORDER", "item_id": order_id, "amount": total}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["payments"][0]["provider_id"], "store_credit");
    let c = app
        .get(&format!(
            "/stores/demo/v3/customers?id:in={cid}&include=storecredit"
        ))
        .await;
    assert_eq!(
        dec(&c.data()[0]["store_credit_amounts"][0]["amount"]),
        100.0
    );

    // A guest has no store credit.
    let guest = order_for(&app, 0).await;
    let pat = new_pat(&app, guest).await;
    let r = pay(&app, &pat, sc).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("guest"),
        "{}",
        r.body
    );
}

async fn authorize_only_waits_for_capture(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app.get("/stores/demo/v3/payments/settings").await;
    assert_eq!(r.data()["transaction_type"], "authorization_and_capture");
    let r = app
        .put(
            "/stores/demo/v3/payments/settings",
            json!({"transaction_type": "sometimes"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .put(
            "/stores/demo/v3/payments/settings",
            json!({"transaction_type": "authorization"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["transaction_type"], "authorization");

    let order_id = order_for(&app, 0).await;
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["transaction_type"], "authorization");
    assert_eq!(v2_order(&app, order_id).await["status_id"], 7);
    let capture = format!("/stores/demo/v3/orders/{order_id}/payment_actions/capture");
    let r = app.post(&capture, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(v2_order(&app, order_id).await["status_id"], 11);
    let t = transactions(&app, order_id).await;
    let events: Vec<&str> = t.iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["authorization", "capture"]);
    assert_eq!(t[1]["reference_transaction_id"], t[0]["id"]);
    // Captured once only.
    let r = app.post(&capture, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn payments_write_status_and_transaction_events(app: TestApp) {
    let app = app.with_fixtures().await;
    app.listen_to("store/order/*").await;
    let order_id = order_for(&app, 0).await;
    let pat = new_pat(&app, order_id).await;
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The event names the transaction by its Orders V3 id: the order's first transaction.
    let listed = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    let txn = listed.data()[0]["id"]
        .as_i64()
        .expect("integer transaction id");
    assert_eq!(txn, order_id * 1000 + 1, "{}", listed.body);
    let events = app.order_events(order_id).await;
    assert_eq!(events[0].0, "store/order/created");
    assert!(events.contains(&(
        "store/order/statusUpdated".into(),
        json!({"type": "order", "id": order_id,
               "status": {"previous_status_id": 0, "new_status_id": 11}})
    )));
    assert!(events.contains(&(
        "store/order/transaction/created".into(),
        json!({"type": "order", "id": order_id, "transaction": {"id": txn}})
    )));
}
