//! `GET /v2/orders/{id}/taxes` over real HTTP on both backends: rows per shipping
//! address, tax rate and class (items, shipping and handling apart), with
//! `?details=true` per order product too (one per address of a split line), to the cent
//! and adding up to the order's `total_tax`; kept right by `PUT /v2/orders/{id}`; and
//! orders placed before Kassa kept each rate's charge per amount still answer.

mod common;

use common::TestApp;
use common::flow::{CHECKOUTS, checkout_with, place};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    taxes_are_listed_per_address_rate_and_product,
    an_edited_order_lists_the_taxes_it_was_priced_with,
    an_order_placed_before_charges_were_kept_still_lists_its_taxes,
);

const ORDERS: &str = "/stores/demo/v2/orders";

fn dec(v: &Value) -> Decimal {
    let s = v.as_str().unwrap_or_else(|| panic!("not a V2 amount: {v}"));
    Decimal::from_str_exact(s).unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

/// One row as the tests compare it: (order_address_id, order_product_id,
/// line_item_type, name, class, rate, line_amount).
type Row = (i64, Value, String, String, String, String, String);

fn row(t: &Value) -> Row {
    let s = |k: &str| t[k].as_str().unwrap_or("?").to_string();
    assert_eq!(t["priority_amount"], t["line_amount"], "{t}");
    (
        t["order_address_id"].as_i64().unwrap_or(-1),
        t.get("order_product_id")
            .cloned()
            .unwrap_or(json!("absent")),
        s("line_item_type"),
        s("name"),
        s("class"),
        s("rate"),
        s("line_amount"),
    )
}

fn r(
    address: i64,
    product: Value,
    kind: &str,
    name: &str,
    class: &str,
    rate: &str,
    amount: &str,
) -> Row {
    (
        address,
        product,
        kind.into(),
        name.into(),
        class.into(),
        rate.into(),
        amount.into(),
    )
}

/// A shipping or handling row (the shipping class, no product).
fn ship(address: i64, kind: &str, name: &str, rate: &str, amount: &str) -> Row {
    r(address, Value::Null, kind, name, S, rate, amount)
}

/// A fee's row (default class, at the billing address; `handling`, as the spec's line
/// item types have none for fees).
fn fee(name: &str, rate: &str, amount: &str) -> Row {
    r(0, Value::Null, "handling", name, D, rate, amount)
}

async fn tax_list(app: &TestApp, id: i64, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("{ORDERS}/{id}/taxes{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let rows = reply.body.as_array().expect("taxes").clone();
    for (n, t) in rows.iter().enumerate() {
        assert_eq!(t["order_id"], json!(id), "{t}");
        if query.is_empty() || !query.contains("page") {
            assert_eq!(t["id"], json!(n + 1), "{t}");
        }
    }
    rows
}

fn sum(rows: &[Value]) -> Decimal {
    rows.iter().map(|t| dec(&t["line_amount"])).sum()
}

/// A "Clothing" class (4) taxed 5 % in California and 4 % in New York, and a 1 %
/// "SF City Tax" (rate 4) in California on the default and clothing classes only (so
/// not on shipping).
async fn clothing_and_city_tax(app: &TestApp) {
    let reply = app
        .post("/stores/demo/v3/tax/classes", json!([{"name": "Clothing"}]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.data()[0]["id"], json!(4), "{}", reply.body);
    let classes = |rate: f64, clothing: f64| {
        json!([{"rate": rate, "tax_class_id": 0}, {"rate": 0, "tax_class_id": 1},
               {"rate": rate, "tax_class_id": 2}, {"rate": rate, "tax_class_id": 3},
               {"rate": clothing, "tax_class_id": 4}])
    };
    let reply = app
        .put(
            "/stores/demo/v3/tax/rates",
            json!([{"id": 1, "class_rates": classes(7.25, 5.0)},
                   {"id": 2, "class_rates": classes(8.875, 4.0)}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .post(
            "/stores/demo/v3/tax/rates",
            json!([{"name": "SF City Tax", "tax_zone_id": 2, "priority": 1,
                    "class_rates": [{"rate": 1, "tax_class_id": 0}, {"rate": 1, "tax_class_id": 4}]}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.data()[0]["id"], json!(4), "{}", reply.body);
    // The jacket (950, 29.99) is clothing; lamps in stock.
    let reply = app
        .put(
            "/stores/demo/v3/catalog/products/950",
            json!({"tax_class_id": 4}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .put(
            "/stores/demo/v3/catalog/products/940",
            json!({"inventory_level": 20, "inventory_tracking": "product"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// A desk pad called `name` (12.00, default class); returns its product id.
async fn desk_pad(app: &TestApp, name: &str) -> i64 {
    let reply = app
        .post(
            "/stores/demo/v3/catalog/products",
            json!({"name": name, "type": "physical", "weight": 1, "price": 12, "categories": [1]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data()["id"].as_i64().expect("product id")
}

/// A checkout of 3 lamps, 2 jackets, a desk pad and an e-book: 2 lamps, a jacket and the
/// desk pad to San Francisco, a lamp and a jacket to New York (Standard shipping to
/// both), the e-book shipping nowhere; placed. Returns the order id.
async fn two_address_order(app: &TestApp) -> i64 {
    let desk = desk_pad(app, "Desk Pad").await;
    let id = checkout_with(
        app,
        json!({"line_items": [{"product_id": 940, "quantity": 3}, {"product_id": 950, "quantity": 2},
                              {"product_id": desk, "quantity": 1}, {"product_id": 930, "quantity": 1}]}),
    )
    .await;
    let reply = app.get(&format!("{CHECKOUTS}/{id}")).await;
    let physical = reply.data()["cart"]["line_items"]["physical_items"].clone();
    let item = |product: i64| {
        physical
            .as_array()
            .expect("physical items")
            .iter()
            .find(|l| l["product_id"] == json!(product))
            .map(|l| l["id"].clone())
            .expect("line")
    };
    let ny = common::flow::new_york();
    let reply = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": common::flow::billing(), "line_items": [
                        {"item_id": item(940), "quantity": 2}, {"item_id": item(950), "quantity": 1},
                        {"item_id": item(desk), "quantity": 1}]},
                   {"address": ny, "line_items": [
                        {"item_id": item(940), "quantity": 1}, {"item_id": item(950), "quantity": 1}]}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let consignments = reply.data()["consignments"].clone();
    for c in consignments.as_array().expect("consignments") {
        let reply = app
            .put(
                &format!(
                    "{CHECKOUTS}/{id}/consignments/{}",
                    c["id"].as_str().unwrap_or("")
                ),
                json!({"shipping_option_id": "1-1"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let reply = place(app, &id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data()["id"].as_i64().expect("order id")
}

const D: &str = "Default Tax Class";
const C: &str = "Clothing";
const S: &str = "Shipping";

/// The rows of [`two_address_order`] with details. Lamps 19.99, jackets 29.99, desk pad
/// 12.00, e-book 9.99; each amount's tax is rounded, then shared over its rates.
fn two_address_details() -> Vec<Row> {
    let p = |id: i64| json!(id.to_string());
    vec![
        // 2 lamps (39.98) in SF: 2.89855 + 0.3998 → 3.30.
        r(1, p(1), "item", "CA Sales Tax", D, "7.2500", "2.9000"),
        r(1, p(1), "item", "SF City Tax", D, "1.0000", "0.4000"),
        // The lamp in NY: 1.7741… → 1.77.
        r(2, p(2), "item", "NY Sales Tax", D, "8.8750", "1.7700"),
        // The jacket in SF: 1.4995 + 0.2999 → 1.80.
        r(1, p(3), "item", "CA Sales Tax", C, "5.0000", "1.5000"),
        r(1, p(3), "item", "SF City Tax", C, "1.0000", "0.3000"),
        // The jacket in NY: 1.1996 → 1.20.
        r(2, p(4), "item", "NY Sales Tax", C, "4.0000", "1.2000"),
        // The desk pad in SF: 0.87 + 0.12.
        r(1, p(5), "item", "CA Sales Tax", D, "7.2500", "0.8700"),
        r(1, p(5), "item", "SF City Tax", D, "1.0000", "0.1200"),
        // The e-book ships nowhere: taxed at the billing address (SF), 0.824175 → 0.82.
        r(0, p(6), "item", "CA Sales Tax", D, "7.2500", "0.7200"),
        r(0, p(6), "item", "SF City Tax", D, "1.0000", "0.1000"),
        // Shipping 7.50 and handling 1.00 to each address, the shipping class.
        ship(1, "shipping", "CA Sales Tax", "7.2500", "0.5400"),
        ship(1, "handling", "CA Sales Tax", "7.2500", "0.0700"),
        ship(2, "shipping", "NY Sales Tax", "8.8750", "0.6700"),
        ship(2, "handling", "NY Sales Tax", "8.8750", "0.0900"),
    ]
}

async fn taxes_are_listed_per_address_rate_and_product(app: TestApp) {
    let app = app.with_fixtures().await;
    clothing_and_city_tax(&app).await;
    let id = two_address_order(&app).await;
    let o = app.get(&format!("{ORDERS}/{id}")).await.body;
    assert_eq!(o["total_tax"], json!("11.2500"), "{o}");

    // Per product and rate; a line split over two addresses is two products.
    let details = tax_list(&app, id, "?details=true").await;
    let rows: Vec<Row> = details.iter().map(row).collect();
    assert_eq!(rows, two_address_details());
    assert_eq!(sum(&details), dec(&o["total_tax"]));
    let first = &details[0];
    assert_eq!(first["tax_rate_id"], json!(1), "{first}");
    assert_eq!(first["sales_tax_id"], json!("1"), "{first}");
    assert_eq!(first["tax_class_id"], json!(0), "{first}");
    assert_eq!(first["priority"], json!(1), "{first}");
    assert_eq!(details[3]["tax_class_id"], json!(4));
    assert_eq!(details[1]["tax_rate_id"], json!(4));
    assert_eq!(details[10]["tax_class_id"], json!(2));

    // The order products they name are those of the products list, at those addresses.
    let products = app.get(&format!("{ORDERS}/{id}/products")).await.body;
    let products = products.as_array().expect("products");
    let placed: Vec<(i64, i64, i64, &str)> = products
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap_or(0),
                p["product_id"].as_i64().unwrap_or(0),
                p["order_address_id"].as_i64().unwrap_or(-1),
                p["total_tax"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        placed[..4],
        [
            (1, 940, 1, "3.3000"),
            (2, 940, 2, "1.7700"),
            (3, 950, 1, "1.8000"),
            (4, 950, 2, "1.2000")
        ]
    );
    assert_eq!((placed[5].0, placed[5].1, placed[5].2), (6, 930, 0));
    // Each product's rows add up to the tax it was charged; each address's to what its
    // products, shipping and handling were charged.
    for p in products {
        let of_product: Decimal = details
            .iter()
            .filter(|t| t["order_product_id"] == json!(p["id"].to_string()))
            .map(|t| dec(&t["line_amount"]))
            .sum();
        assert_eq!(of_product, dec(&p["total_tax"]), "{p}");
    }
    let addresses = app
        .get(&format!("{ORDERS}/{id}/shipping_addresses"))
        .await
        .body;
    for a in addresses.as_array().expect("addresses") {
        let at = |t: &&Value| t["order_address_id"] == a["id"];
        let charged: Decimal = products
            .iter()
            .filter(|p| p["order_address_id"] == a["id"])
            .map(|p| dec(&p["total_tax"]))
            .sum::<Decimal>()
            + dec(&a["cost_tax"])
            + dec(&a["handling_cost_tax"]);
        let listed: Decimal = details
            .iter()
            .filter(at)
            .map(|t| dec(&t["line_amount"]))
            .sum();
        assert_eq!(listed, charged, "{a}");
    }

    // Without details: added up per address, kind, rate and class, no product named.
    let rows: Vec<Row> = tax_list(&app, id, "").await.iter().map(row).collect();
    let no = || json!("absent");
    assert_eq!(
        rows,
        vec![
            r(1, no(), "item", "CA Sales Tax", D, "7.2500", "3.7700"),
            r(1, no(), "item", "SF City Tax", D, "1.0000", "0.5200"),
            r(1, no(), "item", "CA Sales Tax", C, "5.0000", "1.5000"),
            r(1, no(), "item", "SF City Tax", C, "1.0000", "0.3000"),
            r(1, no(), "shipping", "CA Sales Tax", S, "7.2500", "0.5400"),
            r(1, no(), "handling", "CA Sales Tax", S, "7.2500", "0.0700"),
            r(2, no(), "item", "NY Sales Tax", D, "8.8750", "1.7700"),
            r(2, no(), "item", "NY Sales Tax", C, "4.0000", "1.2000"),
            r(2, no(), "shipping", "NY Sales Tax", S, "8.8750", "0.6700"),
            r(2, no(), "handling", "NY Sales Tax", S, "8.8750", "0.0900"),
            r(0, no(), "item", "CA Sales Tax", D, "7.2500", "0.7200"),
            r(0, no(), "item", "SF City Tax", D, "1.0000", "0.1000"),
        ]
    );
    assert_eq!(tax_list(&app, id, "?details=false").await.len(), 12);

    // Pages as the other sub-lists; a details value that is not true/false is a 400.
    let page = tax_list(&app, id, "?details=true&limit=5&page=2").await;
    let rows: Vec<Row> = page.iter().map(row).collect();
    assert_eq!(rows, two_address_details()[5..10]);
    assert_eq!(page[0]["id"], json!(6));
    assert!(tax_list(&app, id, "?limit=5&page=4").await.is_empty());
    let reply = app.get(&format!("{ORDERS}/{id}/taxes?details=yes")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("details"),
        "{}",
        reply.body
    );

    // The OpenAPI document lists the parameter.
    let doc = app.get("/openapi.json").await.body;
    let params =
        &doc["paths"]["/stores/{store_hash}/v2/orders/{order_id}/taxes"]["get"]["parameters"];
    assert!(
        params
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == json!("details"))),
        "{params}"
    );
}

/// An order created with `POST /v2/orders` to San Francisco (a lamp at 10.00, a jacket, a
/// 5.00 fee taxed in the default class), then edited: its taxes are those of the same
/// order created that way.
async fn an_edited_order_lists_the_taxes_it_was_priced_with(app: TestApp) {
    let app = app.with_fixtures().await;
    clothing_and_city_tax(&app).await;
    let to = json!({"first_name": "Ada", "last_name": "Lovelace", "street_1": "1 Market St",
        "city": "San Francisco", "state": "California", "zip": "94105", "country_iso2": "US",
        "email": "ada@example.com", "shipping_method": "1-1"});
    let create = |products: Value| {
        let mut billing = to.clone();
        billing.as_object_mut().map(|o| o.remove("shipping_method"));
        json!({"status_id": 11, "billing_address": billing, "shipping_addresses": [to.clone()],
               "products": products,
               "fees": [{"type": "custom_fee", "display_name_customer": "Service", "display_name_merchant": "Service",
                         "cost_ex_tax": "5.00", "cost_inc_tax": "5.36", "tax_class_id": 0}]})
    };
    let reply = app
        .post(
            ORDERS,
            create(
                json!([{"product_id": 940, "quantity": 1, "price_ex_tax": "10.00"},
                          {"product_id": 950, "quantity": 1}]),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_i64().expect("id");
    let rows: Vec<Row> = tax_list(&app, id, "?details=true")
        .await
        .iter()
        .map(row)
        .collect();
    let p = |id: i64| json!(id.to_string());
    // Lamp 10.00: 0.725 + 0.10 → 0.83 (0.73 + 0.10); jacket 29.99 → 1.50 + 0.30;
    // the fee 5.00 at the billing address: 0.3625 + 0.05 → 0.41 (0.36 + 0.05).
    let before = vec![
        r(1, p(1), "item", "CA Sales Tax", D, "7.2500", "0.7300"),
        r(1, p(1), "item", "SF City Tax", D, "1.0000", "0.1000"),
        r(1, p(2), "item", "CA Sales Tax", C, "5.0000", "1.5000"),
        r(1, p(2), "item", "SF City Tax", C, "1.0000", "0.3000"),
        ship(1, "shipping", "CA Sales Tax", "7.2500", "0.5400"),
        ship(1, "handling", "CA Sales Tax", "7.2500", "0.0700"),
        fee("CA Sales Tax", "7.2500", "0.3600"),
        fee("SF City Tax", "1.0000", "0.0500"),
    ];
    assert_eq!(rows, before);
    let o = app.get(&format!("{ORDERS}/{id}")).await.body;
    assert_eq!(sum(&tax_list(&app, id, "").await), dec(&o["total_tax"]));

    // Three lamps at 12.00, the jacket removed, a custom engraving added.
    let reply = app
        .put(
            &format!("{ORDERS}/{id}"),
            json!({"products": [
                {"id": 1, "quantity": 3, "price_ex_tax": "12.00"},
                {"id": 2, "quantity": 0},
                {"name": "Engraving", "quantity": 1, "price_ex_tax": "5.00"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let edited = reply.body.clone();
    let details = tax_list(&app, id, "?details=true").await;
    assert_eq!(sum(&details), dec(&edited["total_tax"]), "{edited}");
    let rows: Vec<Row> = details.iter().map(row).collect();
    // Lamps 36.00: 2.61 + 0.36; the engraving (product 3) 5.00: 0.3625 + 0.05 → 0.41.
    assert_eq!(
        rows[..4],
        [
            r(1, p(1), "item", "CA Sales Tax", D, "7.2500", "2.6100"),
            r(1, p(1), "item", "SF City Tax", D, "1.0000", "0.3600"),
            r(1, p(3), "item", "CA Sales Tax", D, "7.2500", "0.3600"),
            r(1, p(3), "item", "SF City Tax", D, "1.0000", "0.0500"),
        ]
    );
    assert_eq!(rows[4..], before[4..]);

    // The same order created that way lists the same taxes (its products numbered anew).
    let reply = app
        .post(
            ORDERS,
            create(
                json!([{"product_id": 940, "quantity": 3, "price_ex_tax": "12.00"},
                          {"name": "Engraving", "quantity": 1, "price_ex_tax": "5.00"}]),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let fresh = reply.body["id"].as_i64().expect("id");
    let strip = |rows: Vec<Value>| -> Vec<Row> {
        rows.iter()
            .map(|t| {
                let mut t = row(t);
                t.1 = Value::Null;
                t
            })
            .collect()
    };
    assert_eq!(
        strip(tax_list(&app, id, "?details=true").await),
        strip(tax_list(&app, fresh, "?details=true").await)
    );
    let rows: Vec<Row> = tax_list(&app, id, "").await.iter().map(row).collect();
    let fresh_rows: Vec<Row> = tax_list(&app, fresh, "").await.iter().map(row).collect();
    assert_eq!(rows, fresh_rows);
}

/// Makes a placed order what orders placed before Kassa kept each rate's charge per
/// taxed amount are in the database.
async fn as_placed_before_charges_were_kept(app: &TestApp, id: i64) {
    app.rewrite_order_doc(id, |doc| {
        assert!(
            doc["cart"]["checkout"]["totals"]["rate_tax"].is_object(),
            "{doc}"
        );
        doc["cart"]["checkout"]["totals"]
            .as_object_mut()
            .map(|t| t.remove("rate_tax"));
    })
    .await;
}

async fn an_order_placed_before_charges_were_kept_still_lists_its_taxes(app: TestApp) {
    let app = app.with_fixtures().await;
    clothing_and_city_tax(&app).await;
    // With several rates, what each charged each product is not known: one row per rate.
    let id = two_address_order(&app).await;
    as_placed_before_charges_were_kept(&app, id).await;
    let o = app.get(&format!("{ORDERS}/{id}")).await.body;
    for query in ["", "?details=true"] {
        let rows: Vec<Row> = tax_list(&app, id, query).await.iter().map(row).collect();
        let product = if query.is_empty() {
            json!("absent")
        } else {
            Value::Null
        };
        let whole =
            |name: &str, amount: &str| r(0, product.clone(), "item", name, "", "0.0000", amount);
        // CA: 2.90 + 1.50 + 0.87 + 0.72 + 0.54 + 0.07; city: 0.40 + 0.30 + 0.12 + 0.10;
        // NY: 1.77 + 1.20 + 0.67 + 0.09.
        assert_eq!(
            rows,
            vec![
                whole("CA Sales Tax", "6.6000"),
                whole("SF City Tax", "0.9200"),
                whole("NY Sales Tax", "3.7300"),
            ]
        );
    }
    assert_eq!(sum(&tax_list(&app, id, "").await), dec(&o["total_tax"]));

    // With one rate, every product's, shipping's and handling's tax is that rate's.
    let reply = app
        .put(
            "/stores/demo/v3/tax/rates",
            json!([{"id": 4, "enabled": false}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let desk = desk_pad(&app, "Large Desk Pad").await;
    let checkout = checkout_with(
        &app,
        json!({"line_items": [{"product_id": 950, "quantity": 1}, {"product_id": desk, "quantity": 2}]}),
    )
    .await;
    let cart = app.get(&format!("{CHECKOUTS}/{checkout}")).await;
    let items: Vec<Value> = cart.data()["cart"]["line_items"]["physical_items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| json!({"item_id": l["id"], "quantity": l["quantity"]}))
        .collect();
    let reply = app
        .post(
            &format!("{CHECKOUTS}/{checkout}/consignments"),
            json!([{"address": common::flow::billing(), "line_items": items}]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let consignment = reply.data()["consignments"][0]["id"]
        .as_str()
        .expect("consignment")
        .to_string();
    let reply = app
        .put(
            &format!("{CHECKOUTS}/{checkout}/consignments/{consignment}"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = place(&app, &checkout).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let single = reply.data()["id"].as_i64().expect("order id");
    let kept: Vec<Row> = tax_list(&app, single, "?details=true")
        .await
        .iter()
        .map(row)
        .collect();
    as_placed_before_charges_were_kept(&app, single).await;
    let derived: Vec<Row> = tax_list(&app, single, "?details=true")
        .await
        .iter()
        .map(row)
        .collect();
    // The same addresses, products, kinds, names and amounts; the class and rate are
    // not known any more.
    let known = |rows: &[Row]| -> Vec<(i64, Value, String, String, String)> {
        rows.iter()
            .map(|t| (t.0, t.1.clone(), t.2.clone(), t.3.clone(), t.6.clone()))
            .collect()
    };
    assert_eq!(known(&derived), known(&kept));
    assert_eq!(
        known(&derived),
        vec![
            (
                1,
                json!("1"),
                "item".into(),
                "CA Sales Tax".into(),
                "1.5000".into()
            ),
            (
                1,
                json!("2"),
                "item".into(),
                "CA Sales Tax".into(),
                "1.7400".into()
            ),
            (
                1,
                Value::Null,
                "shipping".into(),
                "CA Sales Tax".into(),
                "0.5400".into()
            ),
            (
                1,
                Value::Null,
                "handling".into(),
                "CA Sales Tax".into(),
                "0.0700".into()
            ),
        ]
    );
    assert!(derived.iter().all(|t| t.4.is_empty()), "{derived:?}");
    let o = app.get(&format!("{ORDERS}/{single}")).await.body;
    assert_eq!(sum(&tax_list(&app, single, "").await), dec(&o["total_tax"]));
}
