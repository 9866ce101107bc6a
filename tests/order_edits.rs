//! Fees and edits of placed orders through the V2 Orders API, over real HTTP on both
//! backends: fees given at `POST /v2/orders` and replaced at `PUT` (kept by id, added
//! without, deleted when left out) count in the totals, taxed by their class; products
//! added, changed and removed, and addresses changed, price the order again exactly as
//! an order placed that way from the start, move its stock, and are refused (changing
//! nothing) once the order shipped or when the stock is not there.

mod common;

use common::TestApp;
use common::flow::{CHECKOUTS, apply_coupon, checkout_with, pay_by_card, place};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    fees_count_in_the_totals_and_put_replaces_them,
    product_edits_price_the_order_as_if_placed_that_way,
    address_edits_price_the_order_again,
    edits_are_refused_without_changing_anything,
    an_order_ships_to_several_addresses,
    products_and_addresses_of_an_order_with_several_change,
    an_edit_keeps_or_sets_discounts_as_documented,
    a_checkout_line_split_over_addresses_changes_per_address,
    a_split_line_is_a_product_per_address_to_the_cent,
    a_split_lines_products_change_one_address_at_a_time,
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

/// An order created directly (Awaiting Fulfillment) shipped to several `addresses`
/// (billed to the first); returns the reply.
async fn create_to(app: &TestApp, products: Value, addresses: Value) -> common::Reply {
    let mut billing = addresses[0].clone();
    billing.as_object_mut().map(|o| o.remove("shipping_method"));
    app.post(
        ORDERS,
        json!({"status_id": 11, "billing_address": billing, "shipping_addresses": addresses,
               "products": products}),
    )
    .await
}

/// Sums the money of orders field by field.
fn sum_money(orders: &[&Value]) -> Vec<(&'static str, Decimal)> {
    let mut total = money(orders[0]);
    for o in &orders[1..] {
        for (t, (_, v)) in total.iter_mut().zip(money(o)) {
            t.1 += v;
        }
    }
    total
}

/// An order's products, as `GET /v2/orders/{id}/products` lists them.
async fn order_products(app: &TestApp, id: i64) -> Vec<Value> {
    let r = app.get(&format!("{ORDERS}/{id}/products")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().expect("products").clone()
}

/// (id, order_address_id, quantity) of each of an order's products.
async fn placement(app: &TestApp, id: i64) -> Vec<(i64, i64, i64)> {
    order_products(app, id)
        .await
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap_or(-1);
            (n("id"), n("order_address_id"), n("quantity"))
        })
        .collect()
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

async fn an_order_ships_to_several_addresses(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 10).await;
    let ca = address("California", "San Francisco", "94105");
    let ny = address("New York", "New York", "10001");
    // Two lamps to San Francisco; a lamp and an engraving to New York.
    let r = create_to(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00", "order_address_id": 1},
               {"product_id": 940, "quantity": 1, "price_ex_tax": "10.00", "order_address_id": 2},
               {"name": "Engraving", "quantity": 1, "price_ex_tax": 5, "order_address_id": 2}]),
        json!([ca, ny]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let o = r.body.clone();
    let id = o["id"].as_i64().expect("id");
    assert_eq!(o["shipping_address_count"], json!(2));
    assert_eq!(o["subtotal_ex_tax"], json!("35.0000"));
    assert_eq!(o["items_total"], json!(4));
    // Each address pays its own shipping: 7.50 and 1.00 handling.
    assert_eq!(o["shipping_cost_ex_tax"], json!("15.0000"));
    assert_eq!(o["handling_cost_ex_tax"], json!("2.0000"));
    assert_eq!(stock(&app).await, 7, "three lamps taken");

    // The same lamp to two addresses is two products, each with its address.
    assert_eq!(placement(&app, id).await, [(1, 1, 2), (2, 2, 1), (3, 2, 1)]);
    let r = app.get(&format!("{ORDERS}/{id}/shipping_addresses")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let addresses: Vec<(Value, Value, Value, Value)> = r
        .body
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| {
            (
                a["id"].clone(),
                a["city"].clone(),
                a["items_total"].clone(),
                a["cost_ex_tax"].clone(),
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            (json!(1), json!("San Francisco"), json!(2), json!("7.5000")),
            (json!(2), json!("New York"), json!(2), json!("7.5000"))
        ]
    );

    // To the cent, it is what the two parts cost as orders of their own: each address
    // taxed at its own rate (7.25 % and 8.875 %).
    let to_ca = create(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00"}]),
        json!([]),
        ca.clone(),
    )
    .await;
    let to_ny = create(
        &app,
        json!([{"product_id": 940, "quantity": 1, "price_ex_tax": "10.00"},
               {"name": "Engraving", "quantity": 1, "price_ex_tax": 5}]),
        json!([]),
        ny.clone(),
    )
    .await;
    assert_eq!(money(&o), sum_money(&[&to_ca, &to_ny]));
    assert_ne!(to_ca["total_tax"], to_ny["total_tax"]);

    // Shipments go to the address a product ships to.
    let shipments = format!("{ORDERS}/{id}/shipments");
    let r = app
        .post(
            &shipments,
            json!({"order_address_id": 1, "items": [{"order_product_id": 2, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app
        .post(
            &shipments,
            json!({"order_address_id": 2, "items": [{"order_product_id": 2, "quantity": 1},
                                                   {"order_product_id": 3, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["shipping_address"]["city"], json!("New York"));
    let r = app.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(r.body["status_id"], json!(3), "{}", r.body);

    // Refused, taking nothing: a product that ships without an address, an address
    // that is not one, an address nothing ships to.
    for (products, needle) in [
        (
            json!([{"product_id": 940, "quantity": 1, "order_address_id": 1},
                   {"name": "Engraving", "quantity": 1, "price_ex_tax": 5}]),
            "products[1].order_address_id",
        ),
        (
            json!([{"product_id": 940, "quantity": 1, "order_address_id": 3},
                   {"name": "Engraving", "quantity": 1, "price_ex_tax": 5, "order_address_id": 2}]),
            "3 is not one of them",
        ),
        (
            json!([{"product_id": 940, "quantity": 1, "order_address_id": 1}]),
            "shipping_addresses[1]: no product ships there",
        ),
    ] {
        let r = create_to(&app, products, json!([ca, ny])).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }
    assert_eq!(stock(&app).await, 4, "refused orders took no lamps");
}

async fn products_and_addresses_of_an_order_with_several_change(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 20).await;
    let ca = address("California", "San Francisco", "94105");
    let ny = address("New York", "New York", "10001");
    let r = create_to(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00", "order_address_id": 1},
               {"product_id": 940, "quantity": 1, "price_ex_tax": "10.00", "order_address_id": 2}]),
        json!([ca, ny]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().expect("id");

    // The New York lamp 1 → 3; an engraving added for San Francisco; a third address
    // (Los Angeles) added, and a lamp sent there.
    let la = address("California", "Los Angeles", "90001");
    let r = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [
                {"id": 2, "quantity": 3},
                {"name": "Engraving", "quantity": 1, "price_ex_tax": 5, "order_address_id": 1},
                {"product_id": 940, "quantity": 1, "price_ex_tax": "10.00", "order_address_id": 3}
            ], "shipping_addresses": [la]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let edited = r.body.clone();
    assert_eq!(edited["shipping_address_count"], json!(3));
    assert_eq!(edited["subtotal_ex_tax"], json!("65.0000"));
    assert_eq!(edited["shipping_cost_ex_tax"], json!("22.5000"));
    assert_eq!(
        placement(&app, id).await,
        [(1, 1, 2), (2, 2, 3), (3, 3, 1), (4, 1, 1)]
    );
    assert_eq!(stock(&app).await, 14, "six lamps held");
    let r = app
        .get(&format!("{ORDERS}/{id}/shipping_addresses/3"))
        .await;
    assert_eq!(r.body["city"], json!("Los Angeles"), "{}", r.body);
    assert_eq!(r.body["items_total"], json!(1));

    // The same order placed that way from the start costs exactly the same.
    let r = create_to(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "10.00", "order_address_id": 1},
               {"product_id": 940, "quantity": 3, "price_ex_tax": "10.00", "order_address_id": 2},
               {"product_id": 940, "quantity": 1, "price_ex_tax": "10.00", "order_address_id": 3},
               {"name": "Engraving", "quantity": 1, "price_ex_tax": 5, "order_address_id": 1}]),
        json!([ca, ny, la]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(money(&edited), money(&r.body));

    // Moving the Los Angeles lamp to New York would leave Los Angeles with nothing;
    // an added lamp must say where it goes; an address nothing ships to is refused.
    for (body, needle) in [
        (
            json!({"products": [{"id": 3, "order_address_id": 2}]}),
            "shipping address 3",
        ),
        (
            json!({"products": [{"product_id": 940, "quantity": 1}]}),
            "order_address_id",
        ),
        (
            json!({"shipping_addresses": [address("New York", "Buffalo", "14201")]}),
            "shipping address 4",
        ),
    ] {
        let r = app.put(&format!("{ORDERS}/{id}"), body).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }
    let r = app.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(money(&r.body), money(&edited), "refusals change nothing");
    assert_eq!(stock(&app).await, 8);
}

/// Checks an order's totals add up to the cent: items less discounts plus shipping,
/// handling and `fees_ex` make the total before tax, and its taxes make the rest.
async fn assert_adds_up(app: &TestApp, o: &Value, fees_ex: Decimal) {
    let before_tax =
        dec(&o["subtotal_ex_tax"]) - dec(&o["discount_amount"]) - dec(&o["coupon_discount"])
            + dec(&o["shipping_cost_ex_tax"])
            + dec(&o["handling_cost_ex_tax"])
            + fees_ex;
    assert_eq!(dec(&o["total_ex_tax"]), before_tax, "{o}");
    assert_eq!(
        dec(&o["total_inc_tax"]) - dec(&o["total_ex_tax"]),
        dec(&o["total_tax"]),
        "{o}"
    );
    let id = o["id"].as_i64().expect("id");
    let taxes = sum_over(app, &format!("{ORDERS}/{id}/taxes"), |t| {
        dec(&t["line_amount"])
    })
    .await;
    assert_eq!(taxes, dec(&o["total_tax"]), "{o}");
}

/// The sum of `f` over the list at `path`.
async fn sum_over(app: &TestApp, path: &str, f: impl Fn(&Value) -> Decimal) -> Decimal {
    let r = app.get(path).await;
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("a list at {path}: {}", r.body))
        .iter()
        .map(f)
        .sum()
}

/// Each product's discounts: (id, [(name, amount)] as listed, everything taken off it).
/// (Custom products list none, but their discount is taken all the same.)
async fn product_discounts(app: &TestApp, id: i64) -> Vec<(i64, Vec<(String, Decimal)>, Decimal)> {
    order_products(app, id)
        .await
        .iter()
        .map(|p| {
            let list = p["applied_discounts"]
                .as_array()
                .expect("applied_discounts")
                .iter()
                .map(|d| {
                    (
                        d["name"].as_str().unwrap_or_default().to_string(),
                        dec(&d["amount"]),
                    )
                })
                .collect();
            let off = dec(&p["total_inc_tax"]) - dec(&p["discounted_total_inc_tax"]);
            (p["id"].as_i64().unwrap_or(0), list, off)
        })
        .collect()
}

/// An automatic promotion taking 10 % off carts worth `minimum_spend` or more; returns
/// the name order products list its discount under.
async fn ten_percent_off_from(app: &TestApp, minimum_spend: &str) -> String {
    let r = app
        .post(
            "/stores/demo/v3/promotions",
            json!({"name": format!("Spend {minimum_spend}, save 10%"), "redemption_type": "AUTOMATIC",
                   "rules": [{"action": {"cart_value": {"discount": {"percentage_amount": "10"}}},
                              "condition": {"cart": {"minimum_spend": minimum_spend}}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    format!("Promotion {}", r.data()["id"])
}

async fn an_edit_keeps_or_sets_discounts_as_documented(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 100).await;
    let promotion = ten_percent_off_from(&app, "150").await;
    let ca = address("California", "San Francisco", "94105");
    // 165.00 of products: "Spend 150, save 10%" takes 16.50 (16.00 off the lamps, 0.50
    // off the engraving).
    let o = create(
        &app,
        json!([{"product_id": 940, "quantity": 2, "price_ex_tax": "80.00"},
               {"name": "Engraving", "quantity": 1, "price_ex_tax": 5}]),
        json!([]),
        ca,
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    let url = format!("{ORDERS}/{id}");
    assert_eq!(o["discount_amount"], json!("16.5000"), "{o}");
    assert_adds_up(&app, &o, Decimal::ZERO).await;
    assert_eq!(
        product_discounts(&app, id).await,
        [
            (1, vec![(promotion.clone(), d("16.00"))], d("16.00")),
            (2, vec![], d("0.50"))
        ]
    );

    // Two engravings: that product loses its discount, the lamps keep theirs, and the
    // promotion is not worked out again (it would take 17.00 of 170.00).
    let r = app
        .put(&url, json!({"products": [{"id": 2, "quantity": 2}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["subtotal_ex_tax"], json!("170.0000"));
    assert_eq!(r.body["discount_amount"], json!("16.0000"), "{}", r.body);
    assert_adds_up(&app, &r.body, Decimal::ZERO).await;
    assert_eq!(
        product_discounts(&app, id).await,
        [
            (1, vec![(promotion.clone(), d("16.00"))], d("16.00")),
            (2, vec![], d("0"))
        ]
    );
    // A fee alone changes no product: the discount stays.
    let fee = json!([{"display_name_customer": "Handling", "cost_ex_tax": "3.00", "cost_inc_tax": "3.00"}]);
    let r = app.put(&url, json!({"fees": fee})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["discount_amount"], json!("16.0000"), "{}", r.body);
    assert_adds_up(&app, &r.body, d("3.00")).await;

    // `discount_amount` sets the order's discount, spread over the products by value
    // (160.00 and 10.00), and the tax follows it.
    let before_tax = dec(&r.body["total_tax"]);
    let r = app.put(&url, json!({"discount_amount": "34.00"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["discount_amount"], json!("34.0000"), "{}", r.body);
    assert_adds_up(&app, &r.body, d("3.00")).await;
    assert!(dec(&r.body["total_tax"]) < before_tax, "{}", r.body);
    let manual = "Manual discount".to_string();
    assert_eq!(
        product_discounts(&app, id).await,
        [
            (1, vec![(manual.clone(), d("32.00"))], d("32.00")),
            (2, vec![], d("2.00"))
        ]
    );
    // Then one lamp: the lamps' share goes with the change, the engravings keep theirs.
    let r = app
        .put(&url, json!({"products": [{"id": 1, "quantity": 1}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["discount_amount"], json!("2.0000"), "{}", r.body);
    assert_eq!(r.body["subtotal_ex_tax"], json!("90.0000"));
    assert_adds_up(&app, &r.body, d("3.00")).await;
    let kept = r.body.clone();

    // Refused, changing nothing: more than the products are worth, not an amount.
    for (body, needle) in [
        (json!({"discount_amount": "90.01"}), "more than"),
        (json!({"discount_amount": "-1"}), "discount_amount"),
        (json!({"discount_amount": "ten"}), "discount_amount"),
    ] {
        let r = app.put(&url, body).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }
    let r = app.get(&url).await;
    assert_eq!(money(&r.body), money(&kept));
    // Zero clears it.
    let r = app.put(&url, json!({"discount_amount": 0})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["discount_amount"], json!("0.0000"), "{}", r.body);
    assert_eq!(
        dec(&r.body["total_ex_tax"]),
        d("93.00") + dec(&r.body["shipping_cost_ex_tax"]) + dec(&r.body["handling_cost_ex_tax"])
    );
}

/// A checkout order (Incomplete, holding its stock) of lamps, one cart line split over
/// San Francisco and New York: `lamps` units to each, with shipping option 1-1 for both.
async fn split_checkout_order(app: &TestApp, lamps: [i64; 2]) -> i64 {
    let id = split_checkout(app, lamps).await;
    let r = place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("order id")
}

/// The checkout of [`split_checkout_order`], ready to place; returns its id.
async fn split_checkout(app: &TestApp, lamps: [i64; 2]) -> String {
    let quantity = lamps[0] + lamps[1];
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": 940, "quantity": quantity}]}),
    )
    .await;
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    let lamp = r.data()["cart"]["line_items"]["physical_items"][0]["id"].clone();
    let ny = common::flow::new_york();
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": common::flow::billing(), "line_items": [{"item_id": lamp, "quantity": lamps[0]}]},
                   {"address": ny, "line_items": [{"item_id": lamp, "quantity": lamps[1]}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let consignments: Vec<String> = r.data()["consignments"]
        .as_array()
        .expect("consignments")
        .iter()
        .map(|c| c["id"].as_str().expect("consignment id").to_string())
        .collect();
    assert_eq!(consignments.len(), 2);
    for c in consignments {
        let r = app
            .put(
                &format!("{CHECKOUTS}/{id}/consignments/{c}"),
                json!({"shipping_option_id": "1-1"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    id
}

/// Makes a placed order what orders placed before Kassa listed a product per shipping
/// address are in the database: without that mark and without the tax of each
/// address's units (a checkout line split over addresses is then one product).
async fn as_placed_before_products_per_address(app: &TestApp, id: i64) {
    app.rewrite_order_doc(id, |doc| {
        assert_eq!(doc["admin"]["products_per_address"], json!(true), "{doc}");
        assert!(
            doc["cart"]["checkout"]["totals"]["part_tax"].is_object(),
            "{doc}"
        );
        doc.as_object_mut().map(|o| o.remove("admin"));
        doc["cart"]["checkout"]["totals"]
            .as_object_mut()
            .map(|t| t.remove("part_tax"));
    })
    .await;
}

/// (order_address_id, line_amount) of each of an order's taxes.
async fn taxes(app: &TestApp, id: i64) -> Vec<(Value, Value)> {
    let r = app.get(&format!("{ORDERS}/{id}/taxes")).await;
    r.body
        .as_array()
        .expect("taxes")
        .iter()
        .map(|t| (t["order_address_id"].clone(), t["line_amount"].clone()))
        .collect()
}

/// `items_shipped` of each shipping address of an order.
async fn items_shipped(app: &TestApp, id: i64) -> Vec<i64> {
    let r = app.get(&format!("{ORDERS}/{id}/shipping_addresses")).await;
    r.body
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| a["items_shipped"].as_i64().unwrap_or(-1))
        .collect()
}

/// (city, items_total) of each shipping address of an order.
async fn units_per_address(app: &TestApp, id: i64) -> Vec<(String, i64)> {
    let r = app.get(&format!("{ORDERS}/{id}/shipping_addresses")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| {
            (
                a["city"].as_str().unwrap_or_default().to_string(),
                a["items_total"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

async fn a_checkout_line_split_over_addresses_changes_per_address(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 20).await;
    // One cart line of 3 lamps: 2 to San Francisco, 1 to New York, in an order placed
    // before Kassa listed a product per address: it still reads and changes as one
    // product.
    let id = split_checkout_order(&app, [2, 1]).await;
    as_placed_before_products_per_address(&app, id).await;
    assert_eq!(placement(&app, id).await, [(1, 1, 3)]);
    let url = format!("{ORDERS}/{id}");
    assert_eq!(stock(&app).await, 17, "the order holds its 3 lamps");
    let sf = "San Francisco".to_string();
    let nyc = "New York".to_string();
    assert_eq!(
        units_per_address(&app, id).await,
        [(sf.clone(), 2), (nyc.clone(), 1)]
    );

    // A new quantity without the address it is for is ambiguous: refused, naming what
    // to send; so is a quantity for an address the product does not ship to.
    let r = app
        .put(&url, json!({"products": [{"id": 1, "quantity": 4}]}))
        .await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "send `order_address_id` (1 or 2)",
    );
    let r = app.get(&url).await;
    let before = money(&r.body);
    // Stopping the San Francisco part would leave that address with nothing to ship.
    let r = app
        .put(
            &url,
            json!({"products": [{"id": 1, "quantity": 0, "order_address_id": 1}]}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "shipping address 1");
    assert_eq!(
        money(&app.get(&url).await.body),
        before,
        "refusals change nothing"
    );
    assert_eq!(stock(&app).await, 17);

    // New York's lamps 1 → 3: San Francisco keeps its 2, two more lamps are held.
    let r = app
        .put(
            &url,
            json!({"products": [{"id": 1, "quantity": 3, "order_address_id": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let edited = r.body.clone();
    assert_eq!(edited["items_total"], json!(5), "{edited}");
    assert_eq!(
        units_per_address(&app, id).await,
        [(sf.clone(), 2), (nyc.clone(), 3)]
    );
    assert_eq!(stock(&app).await, 15, "the order holds 5 lamps");
    assert_adds_up(&app, &edited, Decimal::ZERO).await;

    // To the cent, it costs what the same checkout placed that way costs (each address
    // taxed at its own rate, each paying its own shipping).
    let fresh = split_checkout_order(&app, [2, 3]).await;
    let r = app.get(&format!("{ORDERS}/{fresh}")).await;
    assert_eq!(money(&edited), money(&r.body));
    assert_eq!(taxes(&app, id).await, taxes(&app, fresh).await);
    assert_eq!(stock(&app).await, 10);

    // San Francisco's 2 → 1 (New York keeps 3); then, with no address, 0 removes the
    // product's units everywhere, which an order of one product cannot do.
    let r = app
        .put(
            &url,
            json!({"products": [{"id": 1, "quantity": 1, "order_address_id": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(units_per_address(&app, id).await, [(sf, 1), (nyc, 3)]);
    assert_eq!(stock(&app).await, 11);
    let r = app
        .put(&url, json!({"products": [{"id": 1, "quantity": 0}]}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "no products left");

    // Paid, it ships each address its own units of the one product.
    let r = app.put(&url, json!({"status_id": 11})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let shipments = format!("{url}/shipments");
    let ship = |address: i64, quantity: i64| json!({"order_address_id": address, "items": [{"order_product_id": 1, "quantity": quantity}]});
    let r = app.post(&shipments, ship(1, 2)).await;
    assert_v2_error(
        &r,
        StatusCode::BAD_REQUEST,
        "1 of 1 units left to ship to address 1",
    );
    let r = app.post(&shipments, ship(2, 3)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(items_shipped(&app, id).await, [0, 3]);
    assert_eq!(app.get(&url).await.body["status_id"], json!(3));
    let r = app.post(&shipments, ship(1, 1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(items_shipped(&app, id).await, [1, 3]);
    assert_eq!(
        app.get(&url).await.body["status_id"],
        json!(2),
        "all shipped"
    );
    // Deleting the New York shipment gives its units back to New York.
    let first = r.body["id"].as_i64().expect("shipment id") - 1;
    let r = app.delete(&format!("{shipments}/{first}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(items_shipped(&app, id).await, [1, 0]);
    assert_eq!(app.get(&url).await.body["status_id"], json!(3));
}

/// An amount from a V3 JSON number.
fn num(v: &Value) -> Decimal {
    Decimal::from_str_exact(&v.to_string()).unwrap_or_else(|_| panic!("not a number: {v}"))
}

/// `total` in cents shared over `weights` by largest remainder (ties to the first).
fn share_cents(total: Decimal, weights: [i64; 2]) -> [Decimal; 2] {
    let cents = (total * Decimal::from(100)).round();
    let sum = Decimal::from(weights[0] + weights[1]);
    let exact = weights.map(|w| cents * Decimal::from(w) / sum);
    let mut floor = exact.map(|e| e.floor());
    if floor[0] + floor[1] < cents {
        let k = usize::from(exact[1] - floor[1] > exact[0] - floor[0]);
        floor[k] += Decimal::ONE;
    }
    floor.map(|c| c / Decimal::from(100))
}

/// Tax at `percent`, rounded half up to the cent.
fn tax_at(amount: Decimal, percent: &str) -> Decimal {
    (amount * d(percent) / Decimal::from(100))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

async fn a_split_line_is_a_product_per_address_to_the_cent(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 20).await;
    ten_percent_off_from(&app, "50").await;
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Five off", "code": "FIVEOFF", "type": "per_total_discount",
                   "amount": "5", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // One cart line of 5 lamps (19.99 each): 3 to San Francisco (7.25 % tax), 2 to
    // New York (8.875 %); a promotion and a coupon off the line; placed and paid.
    let checkout = split_checkout(&app, [3, 2]).await;
    apply_coupon(&app, &checkout, "FIVEOFF").await;
    let r = place(&app, &checkout).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.data()["id"].as_i64().expect("order id");
    let r = pay_by_card(&app, id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let url = format!("{ORDERS}/{id}");
    let o = app.get(&url).await.body;
    assert_eq!(o["status_id"], json!(11), "{o}");
    assert_eq!(o["items_total"], json!(5));
    assert_adds_up(&app, &o, Decimal::ZERO).await;
    let promotion = dec(&o["discount_amount"]);
    let coupon = dec(&o["coupon_discount"]);
    assert!(promotion > Decimal::ZERO, "{o}");
    assert_eq!(coupon, d("5.00"), "{o}");

    // Two products, one per address, each with its units and its share of the money:
    // what came off the line shared by units, each address's units taxed at its rate.
    let products = order_products(&app, id).await;
    assert_eq!(placement(&app, id).await, [(1, 1, 3), (2, 2, 2)]);
    let net = share_cents(d("99.95") - promotion - coupon, [3, 2]);
    let base = [d("59.97"), d("39.98")];
    let rates = ["7.25", "8.875"];
    for (k, p) in products.iter().enumerate() {
        let tax = tax_at(net[k], rates[k]);
        assert_eq!(p["product_id"], json!(940), "{p}");
        assert_eq!(p["base_price"], json!("19.9900"), "{p}");
        assert_eq!(p["price_ex_tax"], json!("19.9900"), "{p}");
        assert_eq!(dec(&p["base_total"]), base[k], "{p}");
        assert_eq!(dec(&p["total_ex_tax"]), base[k], "{p}");
        assert_eq!(dec(&p["total_tax"]), tax, "{p}");
        assert_eq!(dec(&p["total_inc_tax"]), base[k] + tax, "{p}");
        assert_eq!(
            dec(&p["discounted_total_inc_tax"]),
            net[k] + tax,
            "what came off it: {p}"
        );
        let off: Decimal = p["applied_discounts"]
            .as_array()
            .expect("applied_discounts")
            .iter()
            .map(|a| dec(&a["amount"]))
            .sum();
        assert_eq!(off, base[k] - net[k], "{p}");
        let one = app.get(&format!("{url}/products/{}", p["id"])).await;
        assert_eq!(&one.body, p);
    }
    assert_ne!(
        dec(&products[0]["total_tax"]) / d("3"),
        dec(&products[1]["total_tax"]) / d("2"),
        "each address is taxed at its own rate"
    );
    // The products add up to the order's totals to the cent.
    let sum = |field: &str| -> Decimal { products.iter().map(|p| dec(&p[field])).sum() };
    assert_eq!(sum("total_ex_tax"), dec(&o["subtotal_ex_tax"]));
    assert_eq!(sum("total_inc_tax"), dec(&o["subtotal_inc_tax"]));
    let shipping_tax = sum_over(&app, &format!("{url}/shipping_addresses"), |a| {
        dec(&a["cost_tax"]) + dec(&a["handling_cost_tax"])
    })
    .await;
    assert_eq!(sum("total_tax") + shipping_tax, dec(&o["total_tax"]));
    let discounts = |coupons: bool| -> Decimal {
        products
            .iter()
            .flat_map(|p| p["applied_discounts"].as_array().expect("discounts"))
            .filter(|a| a["code"].is_string() == coupons)
            .map(|a| dec(&a["amount"]))
            .sum()
    };
    assert_eq!(discounts(false), promotion);
    assert_eq!(discounts(true), coupon);
    let r = app.get(&format!("{url}/coupons")).await;
    assert_eq!(dec(&r.body[0]["amount"]), coupon, "{}", r.body);

    // The consignments list each address's own product.
    let r = app.get(&format!("{url}/consignments")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed: Vec<Value> = r.body["shipping"]
        .as_array()
        .expect("shipping consignments")
        .iter()
        .map(|c| c["line_items"].clone())
        .collect();
    assert_eq!(listed.len(), 2, "{}", r.body);
    for (k, items) in listed.iter().enumerate() {
        let resource = format!("/orders/{id}/products/{}", k + 1);
        assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
        assert_eq!(items[0]["resource"], json!(resource), "{items}");
    }

    // A refund quote for New York's two lamps comes to what they cost.
    let quotes = format!("/stores/demo/v3/orders/{id}/payment_actions/refund_quotes");
    let quote = |quantity: i64| json!({"items": [{"item_type": "PRODUCT", "item_id": 2, "quantity": quantity}]});
    let r = app.post(&quotes, quote(2)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        num(&r.data()["total_refund_amount"]),
        dec(&products[1]["discounted_total_inc_tax"]),
        "{}",
        r.body
    );
    let r = app.post(&quotes, quote(3)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("1 to 2"), "{}", r.body);

    // Shipping from an address takes that address's product, never more than it has.
    let shipments = format!("{url}/shipments");
    let ship = |address: i64, product: i64, quantity: i64| {
        json!({"order_address_id": address,
               "items": [{"order_product_id": product, "quantity": quantity}]})
    };
    let r = app.post(&shipments, ship(1, 1, 3)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for (body, needle) in [
        (ship(1, 1, 1), "0 of 3 units left to ship to address 1"),
        (ship(1, 2, 1), "ships to address 2, not 1"),
        (ship(2, 1, 1), "ships to address 1, not 2"),
        (
            ship(2, 2, 3),
            "2 of 2 units left to ship to address 2; 3 asked",
        ),
    ] {
        let r = app.post(&shipments, body).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }
    assert_eq!(items_shipped(&app, id).await, [3, 0]);
    let r = app.get(&format!("{url}/shipping_addresses/1")).await;
    assert_eq!(
        (&r.body["items_total"], &r.body["items_shipped"]),
        (&json!(3), &json!(3)),
        "{}",
        r.body
    );
    let shipped: Vec<Value> = order_products(&app, id)
        .await
        .iter()
        .map(|p| p["quantity_shipped"].clone())
        .collect();
    assert_eq!(shipped, [json!(3), json!(0)]);
    assert_eq!(app.get(&url).await.body["status_id"], json!(3));
    let r = app.post(&shipments, ship(2, 2, 2)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(items_shipped(&app, id).await, [3, 2]);
    assert_eq!(app.get(&url).await.body["status_id"], json!(2));
}

async fn a_split_lines_products_change_one_address_at_a_time(app: TestApp) {
    let app = app.with_fixtures().await;
    lamps_in_stock(&app, 20).await;
    // One cart line of 3 lamps: 2 to San Francisco (product 1), 1 to New York (2).
    let id = split_checkout_order(&app, [2, 1]).await;
    let url = format!("{ORDERS}/{id}");
    assert_eq!(placement(&app, id).await, [(1, 1, 2), (2, 2, 1)]);
    assert_eq!(stock(&app).await, 17);

    // New York's product 1 → 3 lamps; San Francisco's keeps its 2.
    let r = app
        .put(&url, json!({"products": [{"id": 2, "quantity": 3}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let edited = r.body.clone();
    assert_eq!(placement(&app, id).await, [(1, 1, 2), (2, 2, 3)]);
    assert_eq!(stock(&app).await, 15);
    assert_adds_up(&app, &edited, Decimal::ZERO).await;
    // To the cent what the same checkout placed that way costs, product by product.
    let fresh = split_checkout_order(&app, [2, 3]).await;
    let r = app.get(&format!("{ORDERS}/{fresh}")).await;
    assert_eq!(money(&edited), money(&r.body));
    assert_eq!(taxes(&app, id).await, taxes(&app, fresh).await);
    let mut products = [
        order_products(&app, id).await,
        order_products(&app, fresh).await,
    ];
    for p in products.iter_mut().flatten() {
        p.as_object_mut().map(|o| o.remove("order_id"));
    }
    assert_eq!(products[0], products[1]);
    assert_eq!(stock(&app).await, 10);

    // `PUT` of `products`, which must apply: then the products' (id, address, units)
    // and the lamps left in stock.
    let edit = |products: Value| {
        let (app, url) = (&app, &url);
        async move {
            let r = app.put(url, json!({ "products": products })).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            (placement(app, id).await, stock(app).await)
        }
    };
    // The request written for a split line listed once still works: the
    // `order_address_id` of another address the line goes to sets its units there.
    assert_eq!(
        edit(json!([{"id": 1, "quantity": 1, "order_address_id": 2}])).await,
        (vec![(1, 1, 2), (2, 2, 1)], 12)
    );
    // San Francisco's 2 → 3, by its own product.
    assert_eq!(
        edit(json!([{"id": 1, "quantity": 3, "order_address_id": 1}])).await,
        (vec![(1, 1, 3), (2, 2, 1)], 11)
    );

    // Removing either address's product would leave it with nothing to ship.
    for (body, needle) in [
        (
            json!({"products": [{"id": 1, "quantity": 0}]}),
            "shipping address 1",
        ),
        (
            json!({"products": [{"id": 2, "quantity": 0}]}),
            "shipping address 2",
        ),
    ] {
        let r = app.put(&url, body).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, needle);
    }
    // A third address: New York's lamp moves there, keeping its product id, once an
    // engraving keeps New York busy.
    let la = address("California", "Los Angeles", "90001");
    let r = app
        .put(
            &url,
            json!({"products": [
                {"id": 2, "order_address_id": 3},
                {"name": "Engraving", "quantity": 1, "price_ex_tax": 5, "order_address_id": 2}
            ], "shipping_addresses": [la]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(placement(&app, id).await, [(1, 1, 3), (2, 3, 1), (3, 2, 1)]);
    assert_eq!(stock(&app).await, 11);
    assert_adds_up(&app, &r.body, Decimal::ZERO).await;
}
