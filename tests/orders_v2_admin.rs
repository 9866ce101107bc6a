//! The V2 Orders API writes over real HTTP on both backends: updating status along the
//! allowed transitions (and the exact refusal otherwise), notes, archiving and the
//! `is_deleted` filter, shipments (partial, full, over-shipping refused), cancelling
//! giving back stock and coupon uses exactly once, concurrent status changes applying
//! once, the remaining reads (messages, fees, consignments, quotes), and the webhook
//! events each change leaves in the outbox.

mod common;

use common::TestApp;
use common::flow::{
    CHECKOUTS, apply_coupon, checkout_with, pay_by_card, place, stock_level, tracked_product,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    status_changes_follow_the_transition_table,
    cancelling_gives_back_stock_and_coupon_use_once,
    archived_orders_leave_lists_but_stay_readable,
    shipments_move_the_order_to_partially_shipped_then_shipped,
    concurrent_status_changes_apply_once,
    remaining_reads_answer_for_every_order,
    merchant_creates_an_order_directly,
    an_edit_keeps_the_coupon_of_products_it_leaves_alone,
    an_edit_keeps_each_coupon_its_own_discount,
);

const ORDERS: &str = "/stores/demo/v2/orders";

fn assert_v2_error(r: &common::Reply, status: StatusCode, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let list = r.body.as_array().expect("V2 errors are a list");
    assert_eq!(list[0]["status"], status.as_u16(), "{}", r.body);
    let message = list[0]["message"].as_str().expect("message");
    assert!(
        message.contains(needle),
        "`{message}` should mention `{needle}`"
    );
}

fn status_updates(events: &[(String, Value)], order: i64) -> Vec<(i64, i64)> {
    events
        .iter()
        .filter(|(s, d)| s == "store/order/statusUpdated" && d["id"] == json!(order))
        .map(|(_, d)| {
            (
                d["status"]["previous_status_id"].as_i64().unwrap_or(-1),
                d["status"]["new_status_id"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Status changes other than payment's (which the payments code reports, or not).
fn merchant_status_updates(events: &[(String, Value)], order: i64) -> Vec<(i64, i64)> {
    status_updates(events, order)
        .into_iter()
        .filter(|u| *u != (0, 11))
        .collect()
}

/// An order of 2 lamps (shipped to one address) and an e-book; returns its id.
async fn lamp_order(app: &TestApp) -> i64 {
    lamp_order_with(app, &[]).await
}

/// `lamp_order`, with coupon codes applied at checkout.
async fn lamp_order_with(app: &TestApp, coupons: &[&str]) -> i64 {
    let r = app
        .put(
            "/stores/demo/v3/catalog/products/940",
            json!({"inventory_level": 1000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": 940, "quantity": 2}, {"product_id": 930, "quantity": 1}]}),
    )
    .await;
    for code in coupons {
        apply_coupon(app, &id, code).await;
    }
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    let lamp = r.data()["cart"]["line_items"]["physical_items"][0]["id"].clone();
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": common::flow::billing(), "line_items": [{"item_id": lamp, "quantity": 2}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cid = r.data()["consignments"][0]["id"]
        .as_str()
        .expect("consignment")
        .to_string();
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("order id")
}

/// A lamp order, paid (Awaiting Fulfillment).
async fn paid_lamp_order(app: &TestApp) -> i64 {
    let order = lamp_order(app).await;
    let r = pay_by_card(app, order).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    order
}

async fn put_status(app: &TestApp, order: i64, status: i64) -> common::Reply {
    app.put(&format!("{ORDERS}/{order}"), json!({"status_id": status}))
        .await
}

async fn status_changes_follow_the_transition_table(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = paid_lamp_order(&app).await;
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(11), "{}", r.body);

    let r = put_status(&app, order, 9).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status_id"], json!(9));
    assert_eq!(r.body["status"], json!("Awaiting Shipment"));

    // Nothing goes back to Incomplete; the refusal says why.
    let r = put_status(&app, order, 0).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "An order cannot move from Awaiting Shipment (9) to Incomplete (0): no order goes back to Incomplete.",
    );
    let r = put_status(&app, order, 42).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "status_id 42 is not an order status",
    );

    // Notes and the customer's message change; the totals do not.
    let r = app
        .put(
            &format!("{ORDERS}/{order}"),
            json!({"staff_notes": "Gift wrap", "customer_message": "Leave at the door"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["staff_notes"], json!("Gift wrap"));
    assert_eq!(r.body["customer_message"], json!("Leave at the door"));
    assert_eq!(r.body["status_id"], json!(9));
    let total = r.body["total_inc_tax"].clone();

    // Fields Kassa does not change are named, not silently ignored.
    let r = app
        .put(
            &format!("{ORDERS}/{order}"),
            json!({"subtotal_ex_tax": "5.00"}),
        )
        .await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`subtotal_ex_tax` cannot be changed",
    );
    let r = app
        .put(
            &format!("{ORDERS}/{order}"),
            json!({"status_id": "shipped"}),
        )
        .await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`status_id` must be an integer",
    );

    // Refunded is final.
    let r = put_status(&app, order, 4).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total_inc_tax"], total);
    let r = put_status(&app, order, 11).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "An order cannot move from Refunded (4) to Awaiting Fulfillment (11): that status is final.",
    );
    // Setting the status it already has changes nothing.
    let r = put_status(&app, order, 4).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = put_status(&app, 999_999, 5).await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, "Order 999999 does not exist.");
    let read_only = app.token_with_scopes("store_v2_orders_read_only").await;
    let r = app
        .call_as(
            &read_only,
            reqwest::Method::PUT,
            &format!("{ORDERS}/{order}"),
            Some(json!({"status_id": 5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let ev = app.store_events().await;
    assert_eq!(
        merchant_status_updates(&ev, order),
        vec![(11, 9), (9, 4)],
        "{ev:?}"
    );
    let updated = ev
        .iter()
        .filter(|(s, d)| s == "store/order/updated" && d == &json!({"type": "order", "id": order}))
        .count();
    assert_eq!(updated, 3, "{ev:?}");
}

async fn coupon_uses(app: &TestApp, coupon: i64) -> Value {
    let r = app.get(&format!("/stores/demo/v2/coupons/{coupon}")).await;
    r.body["num_uses"].clone()
}

async fn cancelling_gives_back_stock_and_coupon_use_once(app: TestApp) {
    let app = app.with_fixtures().await;
    let product = tracked_product(&app, "Numbered print", 3).await;
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Once", "code": "ONCE", "type": "per_total_discount", "amount": "1",
                   "max_uses": 1, "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let coupon = r.body["id"].as_i64().expect("coupon id");
    let id = checkout_with(
        &app,
        json!({"line_items": [{"product_id": product, "quantity": 2}]}),
    )
    .await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/coupons"),
            json!({"coupon_code": "ONCE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = place(&app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().expect("order id");
    assert_eq!(stock_level(&app, product).await, 1);
    assert_eq!(coupon_uses(&app, coupon).await, json!(1));

    let r = put_status(&app, order, 5).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], json!("Cancelled"));
    assert_eq!(stock_level(&app, product).await, 3);
    assert_eq!(coupon_uses(&app, coupon).await, json!(0));

    // Cancelling again, or the reservation lapsing later, gives nothing back twice.
    let r = put_status(&app, order, 5).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.clock.advance(3 * 3600);
    app.kassa.release_lapsed_orders(100).await.expect("sweep");
    assert_eq!(stock_level(&app, product).await, 3);
    assert_eq!(coupon_uses(&app, coupon).await, json!(0));
    let r = put_status(&app, order, 6).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "that status is final");
    // A cancelled order can no longer be paid.
    let r = common::flow::token(&app, order).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let ev = app.store_events().await;
    assert_eq!(status_updates(&ev, order), vec![(0, 5)], "{ev:?}");

    // A paid order declined gives its stock back (its payment is refunded separately).
    let id = checkout_with(
        &app,
        json!({"line_items": [{"product_id": product, "quantity": 1}]}),
    )
    .await;
    let r = place(&app, &id).await;
    let paid = r.data()["id"].as_i64().expect("order id");
    let r = pay_by_card(&app, paid).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(stock_level(&app, product).await, 2);
    let r = put_status(&app, paid, 6).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(stock_level(&app, product).await, 3);
}

async fn list_ids(app: &TestApp, query: &str) -> Vec<i64> {
    let r = app.get(&format!("{ORDERS}{query}")).await;
    if r.status == StatusCode::NO_CONTENT {
        return vec![];
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect()
}

async fn archived_orders_leave_lists_but_stay_readable(app: TestApp) {
    let app = app.with_fixtures().await;
    let a = lamp_order(&app).await;
    let b = lamp_order(&app).await;
    assert_eq!(list_ids(&app, "").await, vec![a, b]);

    let r = app.delete(&format!("{ORDERS}/{a}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(list_ids(&app, "").await, vec![b]);
    assert_eq!(list_ids(&app, "?is_deleted=true").await, vec![a]);
    let r = app.get(&format!("{ORDERS}/{a}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["is_deleted"], json!(true));
    let r = app.get(&format!("{ORDERS}/count")).await;
    assert_eq!(r.body["count"], json!(1), "{}", r.body);
    // Archiving twice is harmless; undoing it is refused.
    let r = app.delete(&format!("{ORDERS}/{a}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .put(&format!("{ORDERS}/{a}"), json!({"is_deleted": false}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "archiving cannot be undone");
    let r = app.get(&format!("{ORDERS}?is_deleted=maybe")).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`is_deleted` must be true or false",
    );
    let r = app.delete(&format!("{ORDERS}/424242")).await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, "Order 424242 does not exist.");

    // Archive all.
    let r = app.delete(ORDERS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(list_ids(&app, "").await, Vec::<i64>::new());
    assert_eq!(list_ids(&app, "?is_deleted=true").await, vec![a, b]);

    let ev = app.store_events().await;
    let archived: Vec<Value> = ev
        .iter()
        .filter(|(s, _)| s == "store/order/archived")
        .map(|(_, d)| d["id"].clone())
        .collect();
    assert_eq!(archived, vec![json!(a), json!(b)], "{ev:?}");
}

async fn shipments_move_the_order_to_partially_shipped_then_shipped(app: TestApp) {
    let app = app.with_fixtures().await;
    let unpaid = lamp_order(&app).await;
    let r = app
        .post(
            &format!("{ORDERS}/{unpaid}/shipments"),
            json!({"order_address_id": 1, "items": [{"order_product_id": 1, "quantity": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "The order is Incomplete (0)");

    let order = paid_lamp_order(&app).await;
    let shipments = format!("{ORDERS}/{order}/shipments");
    let r = app.get(&shipments).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{shipments}/count")).await;
    assert_eq!(r.body["count"], json!(0), "{}", r.body);

    let r = app
        .post(
            &shipments,
            json!({"order_address_id": 1, "tracking_number": "EJ958083578US", "shipping_provider": "usps",
                   "merchant_shipping_cost": "3.5", "items": [{"order_product_id": 1, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let first = r.body["id"].as_i64().expect("shipment id");
    assert_eq!(r.body["order_id"], json!(order));
    assert_eq!(r.body["merchant_shipping_cost"], json!("3.5000"));
    assert_eq!(r.body["shipping_provider_display_name"], json!("USPS"));
    assert_eq!(
        r.body["items"],
        json!([{"order_product_id": 1, "product_id": 940, "quantity": 1}])
    );
    assert_eq!(r.body["shipping_address"]["city"], json!("San Francisco"));
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(3), "{}", r.body);
    assert_eq!(r.body["items_shipped"], json!(1));

    // Over-shipping, the e-book, a product not in the order, a wrong address: refused.
    for (body, needle) in [
        (
            json!({"order_address_id": 1, "items": [{"order_product_id": 1, "quantity": 2}]}),
            "has 1 of 2 units left to ship to address 1; 2 asked",
        ),
        (
            json!({"order_address_id": 1, "items": [{"order_product_id": 2, "quantity": 1}]}),
            "is digital and does not ship",
        ),
        (
            json!({"order_address_id": 1, "items": [{"order_product_id": 7, "quantity": 1}]}),
            "order product 7 is not part of this order",
        ),
        (
            json!({"order_address_id": 2, "items": [{"order_product_id": 1, "quantity": 1}]}),
            "has no shipping address 2",
        ),
        (
            json!({"items": [{"order_product_id": 1, "quantity": 1}]}),
            "order_address_id",
        ),
        (
            json!({"order_address_id": 1, "shipping_provider": "pigeon", "items": [{"order_product_id": 1, "quantity": 1}]}),
            "`pigeon` is not a shipping provider",
        ),
    ] {
        let r = app.post(&shipments, body).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }

    let r = app
        .post(
            &shipments,
            json!({"order_address_id": 1, "items": [{"order_product_id": 1, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let second = r.body["id"].as_i64().expect("shipment id");
    assert!(second > first);
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(2), "{}", r.body);
    assert_eq!(r.body["status"], json!("Shipped"));
    assert!(!r.body["date_shipped"].as_str().unwrap_or("").is_empty());
    let r = app.get(&format!("{ORDERS}/{order}/products/1")).await;
    assert_eq!(r.body["quantity_shipped"], json!(2), "{}", r.body);
    let r = app.get(&format!("{shipments}/count")).await;
    assert_eq!(r.body["count"], json!(2), "{}", r.body);

    let r = app
        .put(
            &format!("{shipments}/{second}"),
            json!({"tracking_number": "1Z999", "shipping_provider": "ups"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["tracking_number"], json!("1Z999"));
    assert_eq!(r.body["items"][0]["quantity"], json!(1));
    let r = app
        .put(
            &format!("{shipments}/{second}"),
            json!({"items": [{"order_product_id": 1, "quantity": 2}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "items cannot change");

    let r = app.delete(&format!("{shipments}/{first}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{shipments}/{first}")).await;
    assert_v2_error(&r, StatusCode::NOT_FOUND, "does not exist");
    let r = app.get(&shipments).await;
    assert_eq!(r.body.as_array().map(|a| a.len()), Some(1), "{}", r.body);
    let r = app.get(&format!("{ORDERS}/{order}/products/1")).await;
    assert_eq!(r.body["quantity_shipped"], json!(1), "{}", r.body);
    // With one of the two units shipped, the order is back to Partially Shipped.
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(3), "{}", r.body);
    assert_eq!(r.body["items_shipped"], json!(1));
    // The unit is shippable again; deleting all leaves none, and the order waits for
    // shipment again.
    let r = app.delete(&shipments).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{shipments}/count")).await;
    assert_eq!(r.body["count"], json!(0), "{}", r.body);
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(9), "{}", r.body);
    assert_eq!(r.body["status"], json!("Awaiting Shipment"));
    assert_eq!(r.body["items_shipped"], json!(0));

    let ev = app.store_events().await;
    let shipment_events: Vec<(String, Value)> = ev
        .iter()
        .filter(|(s, _)| s.starts_with("store/shipment/"))
        .cloned()
        .collect();
    assert_eq!(
        shipment_events,
        vec![
            (
                "store/shipment/created".to_string(),
                json!({"type": "shipment", "id": first, "orderId": order})
            ),
            (
                "store/shipment/created".to_string(),
                json!({"type": "shipment", "id": second, "orderId": order})
            ),
            (
                "store/shipment/updated".to_string(),
                json!({"type": "shipment", "id": second, "orderId": order})
            ),
            (
                "store/shipment/deleted".to_string(),
                json!({"type": "shipment", "id": first, "orderId": order})
            ),
            (
                "store/shipment/deleted".to_string(),
                json!({"type": "shipment", "id": second, "orderId": order})
            ),
        ]
    );
    assert_eq!(
        merchant_status_updates(&ev, order),
        vec![(11, 3), (3, 2), (2, 3), (3, 9)],
        "{ev:?}"
    );
}

async fn concurrent_status_changes_apply_once(app: TestApp) {
    let app = app.with_fixtures().await;
    for _ in 0..3 {
        let order = paid_lamp_order(&app).await;
        let (a, b) = tokio::join!(put_status(&app, order, 5), put_status(&app, order, 6));
        let ok = [&a, &b]
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        assert_eq!(ok, 1, "{} / {}", a.body, b.body);
        let loser = if a.status == StatusCode::OK { &b } else { &a };
        assert_v2_error(loser, StatusCode::BAD_REQUEST, "that status is final");
        let ev = app.store_events().await;
        let from_paid: Vec<(i64, i64)> = status_updates(&ev, order)
            .into_iter()
            .filter(|(from, _)| *from == 11)
            .collect();
        assert_eq!(from_paid.len(), 1, "{ev:?}");
    }
}

async fn remaining_reads_answer_for_every_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let order = lamp_order(&app).await;
    let r = app.get(&format!("{ORDERS}/{order}/messages")).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!([])));
    let r = app.get(&format!("{ORDERS}/{order}/fees")).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!([])));
    let r = app.get(&format!("{ORDERS}/{order}/consignments")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["shipping"][0]["id"], json!(1), "{}", r.body);
    assert_eq!(r.body["shipping"][0]["items_total"], json!(2), "{}", r.body);
    assert_eq!(
        r.body["shipping"][0]["line_items"][0]["resource"],
        json!(format!("/orders/{order}/products/1"))
    );
    let r = app
        .get(&format!(
            "{ORDERS}/{order}/shipping_addresses/1/shipping_quotes"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["uuid"], json!("1-1"), "{}", r.body);
    let r = app
        .get(&format!(
            "{ORDERS}/{order}/consignments/shipping/1/shipping_quotes"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .get(&format!(
            "{ORDERS}/{order}/shipping_addresses/2/shipping_quotes"
        ))
        .await;
    assert_v2_error(
        &r,
        StatusCode::NOT_FOUND,
        "Shipping address 2 does not exist",
    );
    let r = app
        .put(
            &format!("{ORDERS}/{order}/shipping_addresses/1"),
            json!({"street_1": "2 Market St", "phone": "555-0100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["street_1"], json!("2 Market St"));
    assert_eq!(r.body["phone"], json!("555-0100"));
    assert_eq!(r.body["city"], json!("San Francisco"));
    let r = app
        .put(
            &format!("{ORDERS}/{order}/shipping_addresses/1"),
            json!({"country_iso2": "CA"}),
        )
        .await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`country_iso2` cannot be changed",
    );
    let r = app
        .put(
            &format!("{ORDERS}/{order}/shipping_addresses/3"),
            json!({"city": "Oakland"}),
        )
        .await;
    assert_v2_error(
        &r,
        StatusCode::NOT_FOUND,
        "Shipping address 3 does not exist",
    );
    for path in ["messages", "fees", "consignments", "shipments"] {
        let r = app.get(&format!("{ORDERS}/777777/{path}")).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Order 777777 does not exist.");
    }
}

async fn merchant_creates_an_order_directly(app: TestApp) {
    let app = app.with_fixtures().await;
    app.listen_to("store/order/created").await;
    let r = app
        .put(
            "/stores/demo/v3/catalog/products/940",
            json!({"inventory_level": 10, "inventory_tracking": "product"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let address = json!({"first_name": "Ada", "last_name": "Lovelace", "street_1": "1 Market St",
        "city": "San Francisco", "state": "California", "zip": "94105", "country_iso2": "US",
        "email": "ada@example.com"});
    let mut shipping = address.clone();
    shipping["shipping_method"] = json!("1-1");
    let body = json!({"status_id": 11, "customer_message": "Call first", "staff_notes": "Phone order",
        "billing_address": address, "shipping_addresses": [shipping],
        "products": [{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"},
                     {"name": "Engraving", "quantity": 1, "price_ex_tax": 5}]});
    let r = app.post(ORDERS, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let order = r.body["id"].as_i64().expect("order id");
    assert_eq!(r.body["status_id"], json!(11));
    assert_eq!(r.body["subtotal_ex_tax"], json!("25.0000"), "{}", r.body);
    assert_eq!(r.body["items_total"], json!(3));
    assert_eq!(r.body["staff_notes"], json!("Phone order"));
    assert_eq!(r.body["customer_message"], json!("Call first"));
    assert_eq!(r.body["billing_address"]["email"], json!("ada@example.com"));
    let created = r.body["date_created"].clone();
    // The customer's comment is the order's message.
    let messages = format!("{ORDERS}/{order}/messages");
    let r = app.get(&messages).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!([{"id": 1, "order_id": order, "staff_id": 0, "customer_id": 0,
                "type": "customer", "subject": format!("Order #{order}"),
                "message": "Call first", "status": "unread", "is_flagged": false,
                "date_created": created, "customer": {}}])
    );
    for (query, found) in [
        ("status=unread&is_flagged=false&customer_id=0", 1),
        ("status=read", 0),
        ("min_id=2", 0),
        ("is_flagged=true", 0),
        ("min_date_created=2000-01-01", 1),
    ] {
        let r = app.get(&format!("{messages}?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.body.as_array().map(Vec::len), Some(found), "{query}");
    }
    let r = app.get(&format!("{messages}?status=archived")).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "read or unread");
    let r = app.get(&format!("{ORDERS}/{order}/products")).await;
    assert_eq!(r.body.as_array().map(|a| a.len()), Some(2), "{}", r.body);
    // It took the lamps out of stock, as a placed order does.
    let r = app.get("/stores/demo/v3/catalog/products/940").await;
    assert_eq!(r.data()["inventory_level"], json!(8), "{}", r.body);
    // And it ships like any other order.
    let r = app
        .post(
            &format!("{ORDERS}/{order}/shipments"),
            json!({"order_address_id": 1, "items": [{"order_product_id": 1, "quantity": 2}, {"order_product_id": 2, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["status_id"], json!(2), "{}", r.body);

    let mut no_billing = body.clone();
    no_billing
        .as_object_mut()
        .map(|o| o.remove("billing_address"));
    let r = app.post(ORDERS, no_billing).await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "billing_address");
    let mut bad_method = body.clone();
    bad_method["shipping_addresses"][0]["shipping_method"] = json!("9-9");
    let r = app.post(ORDERS, bad_method).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`9-9` is not a shipping option",
    );
    let mut custom_without_price = body.clone();
    custom_without_price["products"] = json!([{"name": "Gift wrap", "quantity": 1}]);
    let r = app.post(ORDERS, custom_without_price).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "needs price_ex_tax or price_inc_tax",
    );
    let mut too_many = body.clone();
    too_many["products"] = json!([{"product_id": 940, "quantity": 9}]);
    let r = app.post(ORDERS, too_many).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app.get("/stores/demo/v3/catalog/products/940").await;
    assert_eq!(r.data()["inventory_level"], json!(8), "{}", r.body);

    let ev = app.store_events().await;
    assert!(
        ev.iter()
            .any(|(s, d)| s == "store/order/created" && d["id"] == json!(order)),
        "{ev:?}"
    );
}

/// (code, discount) of each coupon an order lists, and its `coupon_discount`.
async fn order_coupons(app: &TestApp, order: i64) -> (Vec<(Value, Value)>, Value) {
    let r = app.get(&format!("{ORDERS}/{order}/coupons")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r
        .body
        .as_array()
        .expect("coupons")
        .iter()
        .map(|c| (c["code"].clone(), c["amount"].clone()))
        .collect();
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    (list, r.body["coupon_discount"].clone())
}

/// `PUT /v2/orders/{id}` with `n` lamps (order product 1), which must succeed.
async fn set_lamps(app: &TestApp, order: i64, n: i64) {
    let r = app
        .put(
            &format!("{ORDERS}/{order}"),
            json!({"products": [{"id": 1, "quantity": n}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A V2 coupon on every category, named after its code.
async fn v2_coupon(app: &TestApp, code: &str, kind: &str, amount: &str) {
    v2_coupon_on(
        app,
        code,
        kind,
        amount,
        json!({"entity": "categories", "ids": [0]}),
    )
    .await;
}

/// A V2 coupon named after its code, on what `applies_to` says.
async fn v2_coupon_on(app: &TestApp, code: &str, kind: &str, amount: &str, applies_to: Value) {
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": code, "code": code, "type": kind, "amount": amount,
                   "applies_to": applies_to}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn an_edit_keeps_the_coupon_of_products_it_leaves_alone(app: TestApp) {
    let app = app.with_fixtures().await;
    v2_coupon(&app, "TENOFF", "percentage_discount", "10").await;
    let order = lamp_order_with(&app, &["TENOFF"]).await;
    let (coupons, placed) = order_coupons(&app, order).await;
    assert_eq!(coupons, [(json!("TENOFF"), placed.clone())]);
    assert_ne!(placed, json!("0.0000"));
    let r = app.get(&format!("{ORDERS}/{order}/products/2")).await;
    let ebook_off = r.body["applied_discounts"][0]["amount"].clone();
    assert_eq!(
        r.body["applied_discounts"][0]["code"],
        json!("TENOFF"),
        "{}",
        r.body
    );

    // A change that touches no product keeps the coupon as it was.
    let fee = json!([{"display_name_customer": "Insurance", "cost_ex_tax": "1.00", "cost_inc_tax": "1.00"}]);
    let r = app
        .put(&format!("{ORDERS}/{order}"), json!({"fees": fee}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        order_coupons(&app, order).await,
        (vec![(json!("TENOFF"), placed.clone())], placed.clone())
    );
    let r = app.get(&format!("{ORDERS}/{order}/products/1")).await;
    assert_eq!(
        r.body["applied_discounts"][0]["name"],
        json!("Coupon"),
        "{}",
        r.body
    );

    // One lamp: the lamps lose their share; the e-book keeps its own.
    set_lamps(&app, order, 1).await;
    assert_eq!(
        order_coupons(&app, order).await,
        (vec![(json!("TENOFF"), ebook_off.clone())], ebook_off)
    );
    let r = app.get(&format!("{ORDERS}/{order}/products/1")).await;
    assert_eq!(r.body["applied_discounts"], json!([]), "{}", r.body);

    // Free shipping stays with the address through edits of its products.
    v2_coupon(&app, "SHIPFREE", "free_shipping", "0").await;
    let order = lamp_order_with(&app, &["SHIPFREE"]).await;
    let r = app.get(&format!("{ORDERS}/{order}")).await;
    assert_eq!(r.body["base_shipping_cost"], json!("7.5000"), "{}", r.body);
    assert_eq!(
        r.body["shipping_cost_ex_tax"],
        json!("0.0000"),
        "{}",
        r.body
    );
    let free = (vec![(json!("SHIPFREE"), json!("7.5000"))], json!("7.5000"));
    assert_eq!(order_coupons(&app, order).await, free);
    let r = app
        .put(
            &format!("{ORDERS}/{order}"),
            json!({"products": [{"id": 1, "quantity": 3}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["shipping_cost_ex_tax"],
        json!("0.0000"),
        "{}",
        r.body
    );
    assert_eq!(r.body["items_total"], json!(4));
    assert_eq!(order_coupons(&app, order).await, free);
}

async fn an_edit_keeps_each_coupon_its_own_discount(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .put(
            "/stores/demo/v3/promotions/settings",
            json!({"multiple_coupons": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // One coupon on the lamps, one on the e-book.
    let lamps = json!({"entity": "products", "ids": [940]});
    v2_coupon_on(&app, "LAMPS10", "percentage_discount", "10", lamps).await;
    let ebook = json!({"entity": "products", "ids": [930]});
    v2_coupon_on(&app, "EBOOK50", "percentage_discount", "50", ebook).await;
    let order = lamp_order_with(&app, &["LAMPS10", "EBOOK50"]).await;
    let r = app.get(&format!("{ORDERS}/{order}/products")).await;
    let off = |i: usize| r.body[i]["applied_discounts"][0]["amount"].clone();
    let (lamps_off, ebook_off) = (off(0), off(1));
    assert_ne!(lamps_off, ebook_off, "{}", r.body);
    // Each product names the code that took something off it.
    assert_eq!(r.body[0]["applied_discounts"][0]["code"], json!("LAMPS10"));
    assert_eq!(r.body[1]["applied_discounts"][0]["code"], json!("EBOOK50"));
    let (coupons, placed) = order_coupons(&app, order).await;
    assert_eq!(
        coupons,
        [
            (json!("LAMPS10"), lamps_off.clone()),
            (json!("EBOOK50"), ebook_off.clone())
        ],
        "{placed}"
    );

    // A fee touches no product: both coupons stay exactly as they were.
    let fee = json!([{"display_name_customer": "Insurance", "cost_ex_tax": "1.00", "cost_inc_tax": "1.00"}]);
    let r = app
        .put(&format!("{ORDERS}/{order}"), json!({"fees": fee}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(order_coupons(&app, order).await, (coupons, placed));

    // Three lamps: the lamps lose LAMPS10's discount; the e-book keeps EBOOK50's, all
    // of it (not a share of what is kept split over both codes).
    set_lamps(&app, order, 3).await;
    assert_eq!(
        order_coupons(&app, order).await,
        (vec![(json!("EBOOK50"), ebook_off.clone())], ebook_off)
    );
}
