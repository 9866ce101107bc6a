//! Fees and edits of placed orders through the V2 Orders API, over real HTTP on both
//! backends: fees given at `POST /v2/orders` and replaced at `PUT` (kept by id, added
//! without, deleted when left out) count in the totals, taxed by their class; products
//! added, changed and removed, and addresses changed, price the order again exactly as
//! an order placed that way from the start, move its stock, and are refused (changing
//! nothing) once the order shipped or when the stock is not there.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    fees_count_in_the_totals_and_put_replaces_them,
    product_edits_price_the_order_as_if_placed_that_way,
    address_edits_price_the_order_again,
    edits_are_refused_without_changing_anything,
);

const ORDERS: &str = "/stores/demo/v2/orders";
const LAMP: &str = "/stores/demo/v3/catalog/products/940";

fn dec(v: &Value) -> Decimal {
    let s = v.as_str().unwrap_or_else(|| panic!("not a V2 amount: {v}"));
    Decimal::from_str_exact(s).unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("decimal")
}

fn assert_v2_error(r: &common::Reply, status: StatusCode, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let message = r.body[0]["message"].as_str().expect("V2 error message");
    assert!(
        message.contains(needle),
        "`{message}` should mention `{needle}`"
    );
}

fn address(state: &str, city: &str, zip: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "street_1": "1 Market St",
        "city": city, "state": state, "zip": zip, "country_iso2": "US",
        "email": "ada@example.com", "shipping_method": "1-1"})
}

/// An order created directly (Awaiting Fulfillment), shipped to `to`; returns the body.
async fn create(app: &TestApp, products: Value, fees: Value, to: Value) -> Value {
    let mut billing = to.clone();
    billing.as_object_mut().map(|o| o.remove("shipping_method"));
    let r = app
        .post(
            ORDERS,
            json!({"status_id": 11, "billing_address": billing, "shipping_addresses": [to],
                   "products": products, "fees": fees}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn stock(app: &TestApp) -> i64 {
    let r = app.get(LAMP).await;
    r.data()["inventory_level"]
        .as_i64()
        .expect("inventory level")
}

async fn lamps_in_stock(app: &TestApp, n: i64) {
    let r = app
        .put(
            LAMP,
            json!({"inventory_level": n, "inventory_tracking": "product"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The order's money as a client checks it.
fn money(o: &Value) -> Vec<(&'static str, Decimal)> {
    [
        "subtotal_ex_tax",
        "subtotal_inc_tax",
        "shipping_cost_inc_tax",
        "handling_cost_inc_tax",
        "total_ex_tax",
        "total_tax",
        "total_inc_tax",
    ]
    .into_iter()
    .map(|k| (k, dec(&o[k])))
    .collect()
}

async fn fees_count_in_the_totals_and_put_replaces_them(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 100).await;
    let products = json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"}]);
    let ca = address("California", "San Francisco", "94105");
    let plain = create(&app, products.clone(), json!([]), ca.clone()).await;
    // 4.00 in the default tax class (7.25 % in California) and 2.00 untaxed.
    let fees = json!([
        {"type": "custom_fee", "display_name_customer": "Package Protection", "source": "AA",
         "cost_ex_tax": "4.00", "cost_inc_tax": "4.29", "tax_class_id": 0},
        {"display_name_merchant": "Handling fee", "cost_ex_tax": 2, "cost_tax": 0}
    ]);
    let o = create(&app, products.clone(), fees, ca.clone()).await;
    let id = o["id"].as_i64().expect("id");
    assert_eq!(o["subtotal_ex_tax"], plain["subtotal_ex_tax"]);
    assert_eq!(
        dec(&o["total_inc_tax"]),
        dec(&plain["total_inc_tax"]) + d("6.29")
    );
    assert_eq!(dec(&o["total_tax"]), dec(&plain["total_tax"]) + d("0.29"));
    assert_eq!(
        dec(&o["total_ex_tax"]),
        dec(&plain["total_ex_tax"]) + d("6.00")
    );
    assert_eq!(
        o["fees"]["resource"],
        json!(format!("/orders/{id}/fees")),
        "{o}"
    );

    let r = app.get(&format!("{ORDERS}/{id}/fees")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!([
            {"id": 1, "type": "custom_fee", "display_name_customer": "Package Protection",
             "display_name_merchant": "Package Protection", "source": "AA",
             "base_cost": "4.0000", "cost_ex_tax": "4.0000", "cost_inc_tax": "4.2900",
             "cost_tax": "0.2900", "tax_class_id": 0},
            {"id": 2, "type": "custom_fee", "display_name_customer": "Handling fee",
             "display_name_merchant": "Handling fee", "source": "v2",
             "base_cost": "2.0000", "cost_ex_tax": "2.0000", "cost_inc_tax": "2.0000",
             "cost_tax": "0.0000", "tax_class_id": null}
        ])
    );

    // PUT replaces them all: fee 2 kept (now 3.00), fee 1 left out (deleted), one added.
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"fees": [
                {"id": 2, "display_name_merchant": "Handling fee", "cost_ex_tax": "3.00", "cost_inc_tax": "3.00"},
                {"display_name_customer": "Insurance", "cost_exc_tax": "8.00", "cost_inc_tax": "8.58", "tax_class_id": 0}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        dec(&r.body["total_inc_tax"]),
        dec(&plain["total_inc_tax"]) + d("11.58")
    );
    assert_eq!(
        dec(&r.body["total_tax"]),
        dec(&plain["total_tax"]) + d("0.58")
    );
    let total = r.body["total_inc_tax"].clone();
    let r = app.get(&format!("{ORDERS}/{id}/fees")).await;
    let ids: Vec<(i64, Value)> = r
        .body
        .as_array()
        .expect("fees")
        .iter()
        .map(|f| (f["id"].as_i64().unwrap_or(0), f["cost_inc_tax"].clone()))
        .collect();
    assert_eq!(ids, [(2, json!("3.0000")), (3, json!("8.5800"))]);
    // The list filters by the new total.
    let t = total.as_str().unwrap_or_default();
    let r = app
        .get(&format!(
            "{ORDERS}?min_total={t}&max_total={t}&min_id={id}&max_id={id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["total_inc_tax"], total);

    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"fees": [{"id": 9, "display_name_customer": "X", "cost_ex_tax": 1, "cost_inc_tax": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "has no fee 9");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"fees": [{"display_name_customer": "X", "cost_ex_tax": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "at least two of cost_ex_tax");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"fees": [{"cost_ex_tax": 1, "cost_inc_tax": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "display_name_customer");
    let r = app.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(r.body["total_inc_tax"], total, "refusals change nothing");

    let r = app
        .put(&format!("{ORDERS}/{id}"), json!({"fees": []}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(money(&r.body), money(&plain));
    let r = app.get(&format!("{ORDERS}/{id}/fees")).await;
    assert_eq!(r.body, json!([]));
}

async fn product_edits_price_the_order_as_if_placed_that_way(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 10).await;
    let ca = address("California", "San Francisco", "94105");
    let o = create(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"},
               {"name": "Engraving", "quantity": 1, "price_ex_tax": 5}]),
        json!([]),
        ca.clone(),
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    assert_eq!(stock(&app).await, 8);

    // Lamps 2 → 3 at 12.00, the engraving removed, gift wrap added.
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [
                {"id": 1, "quantity": 3, "price_ex_tax": "12.00"},
                {"id": 2, "quantity": 0},
                {"name": "Gift wrap", "quantity": 2, "price_ex_tax": "2.50", "price_inc_tax": "2.68"}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let edited = r.body.clone();
    assert_eq!(edited["subtotal_ex_tax"], json!("41.0000"));
    assert_eq!(edited["items_total"], json!(5));
    assert_eq!(stock(&app).await, 7, "the third lamp came out of stock");

    // The same order placed that way from the start costs exactly the same.
    let same = create(
        &app,
        json!([{"product_id": 940, "quantity": 3, "price_ex_tax": "12.00"},
               {"name": "Gift wrap", "quantity": 2, "price_ex_tax": "2.50"}]),
        json!([]),
        ca,
    )
    .await;
    assert_eq!(money(&edited), money(&same));
    assert!(dec(&edited["total_tax"]) > Decimal::ZERO, "{edited}");

    // Product ids stay: the lamp is still 1, the engraving's 2 is not reused.
    let r = app.get(&format!("{ORDERS}/{id}/products")).await;
    let lines: Vec<(i64, String, i64, Value)> = r
        .body
        .as_array()
        .expect("products")
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap_or(0),
                p["name"].as_str().unwrap_or_default().to_string(),
                p["quantity"].as_i64().unwrap_or(0),
                p["price_ex_tax"].clone(),
            )
        })
        .collect();
    assert_eq!(lines[0].0, 1);
    assert_eq!((lines[0].2, lines[0].3.clone()), (3, json!("12.0000")));
    assert_eq!(lines[1].0, 3);
    assert_eq!(
        (lines[1].1.as_str(), lines[1].2, lines[1].3.clone()),
        ("Gift wrap", 2, json!("2.5000"))
    );
    assert_eq!(lines.len(), 2);

    // Back to one lamp: two go back to stock.
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [{"id": 1, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["subtotal_ex_tax"], json!("17.0000"));
    // 7 left after the edit, 3 more taken by the order placed that way, 2 given back.
    assert_eq!(stock(&app).await, 6);
}

async fn address_edits_price_the_order_again(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 100).await;
    let products = json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"}]);
    let ca = address("California", "San Francisco", "94105");
    let ny = address("New York", "New York", "10001");
    let o = create(&app, products.clone(), json!([]), ca).await;
    let id = o["id"].as_i64().expect("id");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"shipping_addresses": [{"id": 1, "city": "New York", "state": "New York", "zip": "10001"}],
                   "billing_address": {"first_name": "Augusta", "email": "augusta@example.com"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let edited = r.body.clone();
    let in_ny = create(&app, products, json!([]), ny).await;
    assert_eq!(money(&edited), money(&in_ny));
    assert_ne!(
        edited["total_tax"], o["total_tax"],
        "New York's tax applies"
    );
    assert_eq!(edited["billing_address"]["first_name"], json!("Augusta"));
    assert_eq!(
        edited["billing_address"]["email"],
        json!("augusta@example.com")
    );
    assert_eq!(edited["billing_address"]["last_name"], json!("Lovelace"));
    let r = app
        .get(&format!("{ORDERS}/{id}/shipping_addresses/1"))
        .await;
    assert_eq!(
        (r.body["state"].clone(), r.body["zip"].clone()),
        (json!("New York"), json!("10001"))
    );

    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"billing_address": {"country_iso2": "XX"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"shipping_addresses": [{"id": 2, "city": "Boston"}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "has no shipping address 2");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"shipping_addresses": [{"id": 1, "shipping_method": "9-9"}]}),
        )
        .await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "`9-9` is not a shipping option",
    );
    let r = app.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(money(&r.body), money(&edited), "refusals change nothing");
}

async fn edits_are_refused_without_changing_anything(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 5).await;
    let ca = address("California", "San Francisco", "94105");
    let o = create(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"}]),
        json!([]),
        ca,
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    assert_eq!(stock(&app).await, 3);

    // More lamps than there are, with a fee in the same request: neither applies.
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [{"id": 1, "quantity": 6}],
                   "fees": [{"display_name_customer": "Fee", "cost_ex_tax": 1, "cost_inc_tax": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(money(&r.body), money(&o));
    assert_eq!(stock(&app).await, 3);
    let r = app.get(&format!("{ORDERS}/{id}/fees")).await;
    assert_eq!(r.body, json!([]));

    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [{"id": 7, "quantity": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "has no product 7");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [{"id": 1, "quantity": 0}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "no products left");

    // Once something shipped, the order's products are settled.
    let r = app
        .post(
            &format!("{ORDERS}/{id}/shipments"),
            json!({"order_address_id": 1, "items": [{"order_product_id": 1, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [{"id": 1, "quantity": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "Partially Shipped (3)");
    let r = app
        .put(&format!("{ORDERS}/{id}"), json!({"fees": []}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "before anything ships");
    assert_eq!(stock(&app).await, 3);
}
