//! Orders V3 over real HTTP on both backends: transactions, void, refund quotes,
//! refunds (partial, full, over what was paid, concurrent, cut off after the gateway
//! refunded) and the refund lists.

mod common;

use common::TestApp;
use common::flow::{CHECKOUTS, checkout_with, pay_by_card, place, stock_level, tracked_product};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    void_cancels_an_authorized_order,
    refunds_move_the_order_and_never_exceed_what_was_paid,
    v2_order_shows_the_sum_refunded,
    concurrent_refunds_never_refund_more_than_paid,
    refund_lists_filter_in_the_database,
    bad_refund_requests_are_explained,
    order_settings_global_and_per_channel,
    void_and_cancel_give_back_coupon_uses_once,
    a_refund_cut_off_after_the_gateway_is_completed_once_after_restart,
    a_declined_refund_leaves_the_status_as_it_was,
);

async fn paid_order(app: &TestApp) -> (i64, f64) {
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": 930, "quantity": 2}]}),
    )
    .await;
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order_id = r.data()["id"].as_i64().unwrap();
    let r = pay_by_card(app, order_id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let o = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    (
        order_id,
        o.body["total_inc_tax"].as_str().unwrap().parse().unwrap(),
    )
}

async fn status(app: &TestApp, order_id: i64) -> i64 {
    app.get(&format!("/stores/demo/v2/orders/{order_id}"))
        .await
        .body["status_id"]
        .as_i64()
        .unwrap()
}

fn refund_body(order_id: i64, amount: f64) -> Value {
    json!({"items": [{"item_type": "ORDER", "item_id": order_id, "amount": amount, "reason": "Overcharged"}],
           "payments": [{"provider_id": "testgateway", "amount": amount, "offline": false}]})
}

async fn void_cancels_an_authorized_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .put(
            "/stores/demo/v3/payments/settings",
            json!({"transaction_type": "authorization"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = checkout_with(
        &app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let order_id = place(&app, &id).await.data()["id"].as_i64().unwrap();
    let r = pay_by_card(&app, order_id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 7);
    let void = format!("/stores/demo/v3/orders/{order_id}/payment_actions/void");
    let r = app.post(&void, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 5, "Cancelled");
    let r = app.post(&void, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            &format!("/stores/demo/v3/orders/{order_id}/payment_actions/capture"),
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a voided order cannot be captured"
    );
    let r = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    let events: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["authorization", "void"]);
    // Unknown orders are 404 in the v3 error shape.
    let r = app
        .post(
            "/stores/demo/v3/orders/999999/payment_actions/void",
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["status"], 404);
}

async fn refunds_move_the_order_and_never_exceed_what_was_paid(app: TestApp) {
    let app = app.with_fixtures().await;
    let (order_id, total) = paid_order(&app).await;
    let base = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    let r = app
        .post(
            &format!("{base}/refund_quotes"),
            json!({"items": [{"item_type": "ORDER", "item_id": order_id, "amount": 5}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["total_refund_amount"], json!(5));
    assert_eq!(
        r.data()["refund_methods"][0][0]["provider_id"],
        "testgateway"
    );
    assert_eq!(r.data()["refund_methods"][0][0]["amount"], json!(5));

    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 5.0))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["total_amount"], json!(5));
    assert_eq!(r.data()["order_id"], order_id);
    let first = r.data()["id"].as_i64().unwrap();
    assert_eq!(status(&app, order_id).await, 14, "Partially Refunded");

    // More than is left: 422, with the figures.
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, total))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("more than the order has left to refund"),
        "{}",
        r.body
    );

    let rest = ((total - 5.0) * 100.0).round() / 100.0;
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, rest))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 4, "Refunded");
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 0.01))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = app.get(&format!("{base}/refunds")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<i64> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first, first + 1]);
    let t = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    let refunds: Vec<f64> = t
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["event"] == "refund")
        .map(|t| t["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(refunds.len(), 2);
    assert!((refunds.iter().sum::<f64>() - total).abs() < 1e-9);

    let events = app.order_events(order_id).await;
    let refund_events: Vec<Value> = events
        .iter()
        .filter(|(s, _)| s == "store/order/refund/created")
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(
        refund_events,
        [
            json!({"type": "order", "id": order_id, "refund": {"id": first}}),
            json!({"type": "order", "id": order_id, "refund": {"id": first + 1}}),
        ]
    );
    assert!(events.iter().any(|(s, d)| s == "store/order/statusUpdated"
        && d["status"] == json!({"previous_status_id": 14, "new_status_id": 4})));
}

async fn v2_order_shows_the_sum_refunded(app: TestApp) {
    let app = app.with_fixtures().await;
    let (order_id, _) = paid_order(&app).await;
    let (other, _) = paid_order(&app).await;
    let base = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    for amount in [2.35, 1.1] {
        let r = app
            .post(&format!("{base}/refunds"), refund_body(order_id, amount))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let o = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    assert_eq!(o.body["refunded_amount"], json!("3.4500"));
    assert_eq!(o.body["status_id"], json!(14));
    // The list carries it too, per order (the other order refunded nothing).
    let r = app
        .get(&format!(
            "/stores/demo/v2/orders?min_id={}&sort=id:asc",
            order_id.min(other)
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed: Vec<(i64, Value)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_i64().unwrap(), o["refunded_amount"].clone()))
        .collect();
    assert!(listed.contains(&(order_id, json!("3.4500"))), "{listed:?}");
    assert!(listed.contains(&(other, json!("0.0000"))), "{listed:?}");
}

async fn concurrent_refunds_never_refund_more_than_paid(app: TestApp) {
    let app = app.with_fixtures().await;
    let (order_id, total) = paid_order(&app).await;
    let each = ((total * 0.6) * 100.0).round() / 100.0;
    let url = format!("/stores/demo/v3/orders/{order_id}/payment_actions/refunds");
    let replies = join_all((0..4).map(|_| app.post(&url, refund_body(order_id, each)))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.clone()))
            .collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    let r = app.get(&url).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(status(&app, order_id).await, 14);
}

async fn refund_lists_filter_in_the_database(app: TestApp) {
    let app = app.with_fixtures().await;
    let (a, _) = paid_order(&app).await;
    let (b, _) = paid_order(&app).await;
    for (o, amount) in [(a, 1.0), (b, 2.0), (a, 3.0)] {
        let r = app
            .post(
                &format!("/stores/demo/v3/orders/{o}/payment_actions/refunds"),
                refund_body(o, amount),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let all = app
        .get("/stores/demo/v3/orders/payment_actions/refunds")
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.data().as_array().unwrap().len(), 3);
    assert_eq!(all.body["meta"]["pagination"]["total"], 3);
    let r = app
        .get(&format!(
            "/stores/demo/v3/orders/payment_actions/refunds?order_id:in={a}"
        ))
        .await;
    let amounts: Vec<Value> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["total_amount"].clone())
        .collect();
    assert_eq!(amounts, [json!(1), json!(3)]);
    let id = all.data()[1]["id"].as_i64().unwrap();
    let r = app
        .get(&format!(
            "/stores/demo/v3/orders/payment_actions/refunds?id:in={id}"
        ))
        .await;
    assert_eq!(r.data()[0]["order_id"], b);
    let r = app
        .get("/stores/demo/v3/orders/payment_actions/refunds?limit=2&page=2")
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    let r = app
        .get(&format!(
            "/stores/demo/v3/orders/payment_actions/refunds/{id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["total_amount"], json!(2));
    let r = app
        .get("/stores/demo/v3/orders/payment_actions/refunds/99999")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .get("/stores/demo/v3/orders/payment_actions/refunds?order_id:in=x")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn bad_refund_requests_are_explained(app: TestApp) {
    let app = app.with_fixtures().await;
    let (order_id, _) = paid_order(&app).await;
    let url = format!("/stores/demo/v3/orders/{order_id}/payment_actions/refunds");
    let r = app.post(&url, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            &url,
            json!({"items": [{"item_type": "BOGUS", "item_id": 1, "amount": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("BOGUS"));
    // Payments that do not add up to the refund.
    let mut body = refund_body(order_id, 2.0);
    body["payments"][0]["amount"] = json!(3);
    let r = app.post(&url, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("refund_quotes"), "{}", r.body);
    // Nothing was refunded by any of these.
    assert_eq!(status(&app, order_id).await, 11);
}

async fn order_settings_global_and_per_channel(app: TestApp) {
    let global = "/stores/demo/v3/orders/settings";
    let r = app.get(global).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.data()["notifications"]["order_placed"]["email_addresses"],
        json!([])
    );
    let r = app
        .put(
            global,
            json!({"notifications": {"order_placed": {"email_addresses": ["orders@example.com"]}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(global).await;
    assert_eq!(
        r.data()["notifications"]["order_placed"]["email_addresses"],
        json!(["orders@example.com"])
    );
    assert_eq!(
        r.data()["notifications"]["forward_invoice"]["email_addresses"],
        json!([])
    );
    let r = app
        .put(
            global,
            json!({"notifications": {"forward_invoice": {"email_addresses": ["not an email"]}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("not an email"), "{}", r.body);

    let channel = "/stores/demo/v3/orders/settings/channels/1";
    let r = app.get(channel).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.data()["notifications"]["order_placed"]["email_addresses"],
        Value::Null
    );
    let r = app
        .put(channel, json!({"notifications": {"forward_invoice": {"email_addresses": ["books@example.com"]}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(channel).await;
    assert_eq!(
        r.data()["notifications"]["forward_invoice"]["email_addresses"],
        json!(["books@example.com"])
    );
    let r = app
        .put(
            channel,
            json!({"notifications": {"forward_invoice": {"email_addresses": null}}}),
        )
        .await;
    assert_eq!(
        r.data()["notifications"]["forward_invoice"]["email_addresses"],
        Value::Null
    );
    let r = app.get("/stores/demo/v3/orders/settings/channels/0").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

async fn coupon_uses(app: &TestApp, coupon: i64) -> Value {
    app.get(&format!("/stores/demo/v2/coupons/{coupon}"))
        .await
        .body["num_uses"]
        .clone()
}

/// Places and pays (by card, for what is left) an order of one tracked unit with the
/// coupon `code` and, if given, a gift certificate applied at checkout.
async fn paid_with_coupon(app: &TestApp, product: i64, code: &str, gift: Option<&str>) -> i64 {
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": product, "quantity": 1}]}),
    )
    .await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/coupons"),
            json!({"coupon_code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    if let Some(gift) = gift {
        let r = app
            .post(
                &format!("{CHECKOUTS}/{id}/gift-certificates"),
                json!({"gift_certificate_code": gift}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order_id = r.data()["id"].as_i64().unwrap();
    let r = pay_by_card(app, order_id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    order_id
}

async fn void_and_cancel_give_back_coupon_uses_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let product = tracked_product(&app, "Signed print", 5).await;
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Once", "code": "ONCE", "type": "per_total_discount", "amount": "1",
                   "max_uses": 1, "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let coupon = r.body["id"].as_i64().unwrap();

    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "VOID-2", "amount": "2.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gift = format!("/stores/demo/v2/gift_certificates/{}", r.body["id"]);

    // Authorized, then voided: stock, the coupon's use and the gift certificate's balance
    // applied at checkout come back, since nothing was captured.
    let r = app
        .put(
            "/stores/demo/v3/payments/settings",
            json!({"transaction_type": "authorization"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order_id = paid_with_coupon(&app, product, "ONCE", Some("VOID-2")).await;
    assert_eq!(status(&app, order_id).await, 7);
    assert_eq!(app.get(&gift).await.body["balance"], "0.0000");
    assert_eq!(coupon_uses(&app, coupon).await, json!(1));
    assert_eq!(stock_level(&app, product).await, 4);
    let void = format!("/stores/demo/v3/orders/{order_id}/payment_actions/void");
    let r = app.post(&void, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(coupon_uses(&app, coupon).await, json!(0));
    assert_eq!(stock_level(&app, product).await, 5);
    assert_eq!(app.get(&gift).await.body["balance"], "2.0000");
    // Voiding again, cancelling, or the reservation sweep give nothing back twice.
    let r = app.post(&void, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .put(
            &format!("/stores/demo/v2/orders/{order_id}"),
            json!({"status_id": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.clock.advance(3 * 3600);
    app.kassa.release_lapsed_orders(100).await.expect("sweep");
    assert_eq!(coupon_uses(&app, coupon).await, json!(0));
    assert_eq!(stock_level(&app, product).await, 5);
    assert_eq!(app.get(&gift).await.body["balance"], "2.0000");

    // Captured, then cancelled: the use comes back too, once, so the coupon serves again.
    let r = app
        .put(
            "/stores/demo/v3/payments/settings",
            json!({"transaction_type": "authorization_and_capture"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let paid = paid_with_coupon(&app, product, "ONCE", None).await;
    assert_eq!(status(&app, paid).await, 11);
    assert_eq!(coupon_uses(&app, coupon).await, json!(1));
    for _ in 0..2 {
        let r = app
            .put(
                &format!("/stores/demo/v2/orders/{paid}"),
                json!({"status_id": 5}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(coupon_uses(&app, coupon).await, json!(0));
    assert_eq!(stock_level(&app, product).await, 5);
    let again = paid_with_coupon(&app, product, "ONCE", None).await;
    assert_eq!(status(&app, again).await, 11);
    assert_eq!(coupon_uses(&app, coupon).await, json!(1));
}

/// The gateway refunds but its answer never reaches Kassa (as when the process dies
/// right after the gateway call): the refund stays claimed, and the next start asks the
/// gateway again under the same key, so the money goes back once and is recorded once.
async fn a_refund_cut_off_after_the_gateway_is_completed_once_after_restart(app: TestApp) {
    let app = app.with_fixtures().await;
    let (order_id, total) = paid_order(&app).await;
    let base = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    let payment = gateway_payment(&app, order_id).await;
    kassa::domain::payment::TestGateway::lose_next_refund_reply(&payment);

    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 4.0))
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("do not send it again"),
        "{}",
        r.body
    );
    // The claim holds the amount: only the rest is left to refund meanwhile.
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, total))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        kassa::domain::payment::TestGateway::refunds_of(&payment),
        [40_000]
    );

    let app = app.restart(common::AppOptions::default()).await;

    let r = app.get(&format!("{base}/refunds")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let refunds = r.data().as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{}", r.body);
    assert_eq!(refunds[0]["total_amount"], json!(4));
    let t = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    let refund_txs: Vec<&Value> = t
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["event"] == "refund")
        .collect();
    assert_eq!(refund_txs.len(), 1, "{}", t.body);
    assert_eq!(refund_txs[0]["status"], "ok");
    assert_eq!(refund_txs[0]["amount"], json!(4));
    assert!(
        refund_txs[0]["gateway_transaction_id"]
            .as_str()
            .unwrap()
            .starts_with("tg_refund_")
    );
    // Asked twice, refunded once.
    assert_eq!(
        kassa::domain::payment::TestGateway::refunds_of(&payment),
        [40_000]
    );
    let o = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(o.body["refunded_amount"], json!("4.0000"));
    assert_eq!(o.body["status_id"], json!(14));
    let events = app.order_events(order_id).await;
    assert_eq!(
        events
            .iter()
            .filter(|(s, _)| s == "store/order/refund/created")
            .count(),
        1
    );

    // Everything else is still refundable, and only that.
    let rest = ((total - 4.0) * 100.0).round() / 100.0;
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, rest))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 4);
}

/// The gateway payment of a paid order.
async fn gateway_payment(app: &TestApp, order_id: i64) -> String {
    let t = app
        .get(&format!("/stores/demo/v3/orders/{order_id}/transactions"))
        .await;
    t.data()[0]["gateway_transaction_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A refund still pending counts against what is left to refund, but it is not a refund
/// yet: another one completing meanwhile makes the order Partially Refunded, not Refunded,
/// and when the gateway then declines the pending one the status stays what it was
/// (Partially Refunded, or the Refunded a merchant set), never reset to 14.
async fn a_declined_refund_leaves_the_status_as_it_was(app: TestApp) {
    use kassa::domain::payment::{GatewayOutcome, TestGateway};
    let app = app.with_fixtures().await;
    let (order_id, total) = paid_order(&app).await;
    let base = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    let payment = gateway_payment(&app, order_id).await;
    assert_eq!(status(&app, order_id).await, 11);

    // $4 is held pending: the gateway failed before refunding.
    TestGateway::answer_next_refund(&payment, GatewayOutcome::GatewayError);
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 4.0))
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 11);
    // The rest is refunded: only that much has gone back, so Partially Refunded.
    let rest = ((total - 4.0) * 100.0).round() / 100.0;
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, rest))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 14, "$4 is still pending");
    // The gateway declines the pending $4 when asked again: the status stays.
    TestGateway::answer_next_refund(&payment, GatewayOutcome::Declined);
    assert_eq!(app.kassa.finish_pending_refunds(0).await.unwrap(), 1);
    assert_eq!(status(&app, order_id).await, 14);
    let o = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(
        o.body["refunded_amount"],
        json!(format!("{rest:.4}")),
        "{}",
        o.body
    );
    // $4 is left to refund, and refunding it makes the order Refunded.
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 4.0))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(status(&app, order_id).await, 4);

    // A merchant marked an order Refunded (paid back outside Kassa); a refund is pending
    // when another one is declined: the order stays Refunded.
    let (order_id, _) = paid_order(&app).await;
    let base = format!("/stores/demo/v3/orders/{order_id}/payment_actions");
    let payment = gateway_payment(&app, order_id).await;
    let r = app
        .put(
            &format!("/stores/demo/v2/orders/{order_id}"),
            json!({"status_id": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    TestGateway::answer_next_refund(&payment, GatewayOutcome::GatewayError);
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 4.0))
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    TestGateway::answer_next_refund(&payment, GatewayOutcome::Declined);
    let r = app
        .post(&format!("{base}/refunds"), refund_body(order_id, 5.0))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap_or_default()
            .contains("refused the refund"),
        "{}",
        r.body
    );
    assert_eq!(status(&app, order_id).await, 4, "as the merchant set it");
    let o = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(o.body["refunded_amount"], json!("4.0000"), "{}", o.body);
}
