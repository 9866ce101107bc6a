//! The V2 Orders API (reading) over real HTTP on both backends: an order placed from a
//! checkout reads back with the checkout's totals to the cent; lists filter, sort and
//! page (204 when nothing matches); counts per status; 404 for unknown ids and other
//! stores' orders; scopes.

mod common;

use common::TestApp;
use common::flow::apply_coupon;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    order_reads_back_with_the_checkout_totals,
    lists_filter_sort_page_and_count,
    unknown_and_foreign_orders_are_404_and_scopes_hold,
);

const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";
const ORDERS: &str = "/stores/demo/v2/orders";

fn address(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email,
           "address1": "1 Market St", "city": "San Francisco", "state_or_province": "California",
           "state_or_province_code": "CA", "country_code": "US", "postal_code": "94105"})
}

/// An exact decimal from a V3 number or a V2 string.
fn dec(v: &Value) -> Decimal {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Decimal::from_str_exact(&s).unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

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

/// A checkout of 2 lamps and an e-book, shipped to CA with option `1-1`, with the
/// coupon `coupon` if given; returns (checkout id, the checkout as priced).
async fn checkout(
    app: &TestApp,
    customer_id: i64,
    email: &str,
    coupon: Option<&str>,
) -> (String, Value) {
    // Orders take stock; these tests place many, so keep lamps plentiful.
    let r = app
        .put(
            "/stores/demo/v3/catalog/products/940",
            json!({"inventory_level": 1000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            CARTS,
            json!({"customer_id": customer_id, "line_items": [
                {"product_id": 940, "quantity": 2}, {"product_id": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.data()["id"].as_str().expect("cart id").to_string();
    let lamp = r.data()["line_items"]["physical_items"][0]["id"].clone();
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), address(email))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": address(email), "line_items": [{"item_id": lamp, "quantity": 2}]}]),
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
    if let Some(code) = coupon {
        apply_coupon(app, &id, code).await;
    }
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (id, r.data().clone())
}

async fn place(app: &TestApp, id: &str) -> i64 {
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("order id")
}

async fn create_coupon(app: &TestApp, code: &str) -> i64 {
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": format!("Coupon {code}"), "code": code, "type": "per_total_discount",
                   "amount": "5", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().expect("coupon id")
}

async fn order_reads_back_with_the_checkout_totals(app: TestApp) {
    let app = app.with_fixtures().await;
    let coupon_id = create_coupon(&app, "FIVEOFF").await;
    let (cart_id, co) = checkout(&app, 0, "ada@example.com", Some("FIVEOFF")).await;
    let order_id = place(&app, &cart_id).await;

    let r = app.get(&format!("{ORDERS}/{order_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let o = &r.body;
    assert_eq!(o["id"], json!(order_id));
    assert_eq!(o["cart_id"], json!(cart_id));
    assert_eq!(o["status_id"], json!(0));
    assert_eq!(o["status"], json!("Incomplete"));
    assert_eq!(o["customer_id"], json!(0));
    assert_eq!(o["order_source"], json!("external"));
    assert_eq!(o["is_deleted"], json!(false));
    assert_eq!(o["payment_status"], json!(""));
    assert_eq!(o["refunded_amount"], json!("0.0000"));
    assert_eq!(o["items_total"], json!(3));
    assert_eq!(o["items_shipped"], json!(0));
    assert_eq!(o["currency_code"], json!("USD"));
    assert!(
        o["date_created"]
            .as_str()
            .unwrap_or_default()
            .ends_with("+0000"),
        "{o}"
    );
    // Every amount is a 4-decimal string equal to the checkout's.
    assert_eq!(
        dec(&o["total_inc_tax"]),
        dec(&co["grand_total"]),
        "{o}\n{co}"
    );
    assert!(
        o["total_inc_tax"]
            .as_str()
            .unwrap()
            .ends_with(|c: char| c.is_ascii_digit())
    );
    assert_eq!(
        o["total_inc_tax"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .map(str::len),
        Some(4)
    );
    assert_eq!(dec(&o["total_tax"]), dec(&co["tax_total"]));
    assert_eq!(
        dec(&o["total_ex_tax"]),
        dec(&co["grand_total"]) - dec(&co["tax_total"])
    );
    assert_eq!(dec(&o["subtotal_ex_tax"]), dec(&co["subtotal_ex_tax"]));
    assert_eq!(dec(&o["subtotal_inc_tax"]), dec(&co["subtotal_inc_tax"]));
    assert_eq!(
        dec(&o["shipping_cost_inc_tax"]),
        dec(&co["shipping_cost_total_inc_tax"])
    );
    assert_eq!(
        dec(&o["shipping_cost_ex_tax"]),
        dec(&co["shipping_cost_total_ex_tax"])
    );
    assert!(dec(&o["shipping_cost_ex_tax"]) > Decimal::ZERO, "{o}");
    assert_eq!(
        dec(&o["handling_cost_inc_tax"]),
        dec(&co["handling_cost_total_inc_tax"])
    );
    assert_eq!(
        dec(&o["coupon_discount"]),
        dec(&co["coupons"][0]["discounted_amount"])
    );
    assert_eq!(dec(&o["coupon_discount"]), Decimal::from(5));
    assert_eq!(dec(&o["discount_amount"]), Decimal::ZERO);
    assert!(
        dec(&o["total_tax"]) > Decimal::ZERO,
        "CA taxes the order: {o}"
    );
    assert_eq!(o["billing_address"]["street_1"], json!("1 Market St"));
    assert_eq!(o["billing_address"]["zip"], json!("94105"));
    assert_eq!(o["billing_address"]["country_iso2"], json!("US"));
    assert_eq!(o["billing_address"]["email"], json!("ada@example.com"));
    assert_eq!(
        o["products"]["resource"],
        json!(format!("/orders/{order_id}/products"))
    );
    assert!(
        o["coupons"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/stores/demo/v2/orders/{order_id}/coupons"))
    );

    // Products: prices and quantities as in the cart; their taxes add up to the items'.
    let r = app.get(&format!("{ORDERS}/{order_id}/products")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let products = r.body.as_array().expect("products").clone();
    assert_eq!(products.len(), 2, "{}", r.body);
    let lamp = products
        .iter()
        .find(|p| p["product_id"] == json!(940))
        .expect("lamp");
    assert_eq!(lamp["quantity"], json!(2));
    assert_eq!(lamp["type"], json!("physical"));
    assert_eq!(lamp["base_price"], json!("19.9900"));
    assert_eq!(lamp["base_total"], json!("39.9800"));
    assert_eq!(lamp["total_ex_tax"], json!("39.9800"));
    assert_eq!(lamp["order_address_id"], json!(1));
    assert_eq!(
        dec(&lamp["total_inc_tax"]) - dec(&lamp["total_ex_tax"]),
        dec(&lamp["total_tax"])
    );
    let ebook = products
        .iter()
        .find(|p| p["product_id"] == json!(930))
        .expect("e-book");
    assert_eq!(ebook["quantity"], json!(1));
    assert_eq!(ebook["type"], json!("digital"));
    assert_eq!(ebook["base_price"], json!("9.9900"));
    let line_discounts: Decimal = products
        .iter()
        .map(|p| dec(&p["total_inc_tax"]) - dec(&p["discounted_total_inc_tax"]))
        .sum();
    assert_eq!(
        line_discounts,
        Decimal::from(5),
        "the coupon is spread over the lines"
    );
    let one = app
        .get(&format!("{ORDERS}/{order_id}/products/{}", lamp["id"]))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(&one.body, lamp);

    // Shipping address: the consignment, its method and cost.
    let r = app
        .get(&format!("{ORDERS}/{order_id}/shipping_addresses"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let addresses = r.body.as_array().expect("addresses");
    assert_eq!(addresses.len(), 1);
    let a = &addresses[0];
    let consignment = &co["consignments"][0];
    assert_eq!(a["street_1"], json!("1 Market St"));
    assert_eq!(a["state"], json!("California"));
    assert_eq!(a["country_iso2"], json!("US"));
    assert_eq!(a["items_total"], json!(2));
    assert_eq!(
        a["shipping_method"],
        consignment["selected_shipping_option"]["description"]
    );
    assert_eq!(
        dec(&a["cost_inc_tax"]),
        dec(&consignment["shipping_cost_inc_tax"])
    );
    assert_eq!(dec(&a["cost_ex_tax"]), dec(&o["shipping_cost_ex_tax"]));
    let one = app
        .get(&format!("{ORDERS}/{order_id}/shipping_addresses/1"))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(&one.body, a);
    let none = app
        .get(&format!("{ORDERS}/{order_id}/shipping_addresses/2"))
        .await;
    assert_v2_error(&none, StatusCode::NOT_FOUND, "Shipping address 2");

    // Coupons and taxes.
    let r = app.get(&format!("{ORDERS}/{order_id}/coupons")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    let c = &r.body[0];
    assert_eq!(c["coupon_id"], json!(coupon_id));
    assert_eq!(c["order_id"], json!(order_id));
    assert_eq!(c["code"], json!("FIVEOFF"));
    assert_eq!(c["type"], json!(2));
    assert_eq!(dec(&c["discount"]), Decimal::from(5));
    let r = app.get(&format!("{ORDERS}/{order_id}/taxes")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let taxes = r.body.as_array().expect("taxes");
    assert!(!taxes.is_empty(), "{}", r.body);
    let sum: Decimal = taxes.iter().map(|t| dec(&t["line_amount"])).sum();
    assert_eq!(sum, dec(&co["tax_total"]));
    let names: Vec<&Value> = co["taxes"]
        .as_array()
        .expect("checkout taxes")
        .iter()
        .map(|t| &t["name"])
        .collect();
    for t in taxes {
        assert!(names.contains(&&t["name"]), "{t} vs {names:?}");
    }

    // Statuses.
    let r = app.get("/stores/demo/v2/order_statuses").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let statuses = r.body.as_array().expect("statuses");
    assert_eq!(statuses.len(), 15);
    for (i, s) in statuses.iter().enumerate() {
        assert_eq!(s["id"], json!(i));
    }
    assert_eq!(statuses[11]["name"], json!("Awaiting Fulfillment"));
    assert_eq!(statuses[14]["name"], json!("Partially Refunded"));
    let r = app.get("/stores/demo/v2/order_statuses/7").await;
    assert_eq!(r.body["name"], json!("Awaiting Payment"));
    assert_v2_error(
        &app.get("/stores/demo/v2/order_statuses/15").await,
        StatusCode::NOT_FOUND,
        "15",
    );
}

fn ids(r: &common::Reply) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect()
}

async fn lists_filter_sort_page_and_count(app: TestApp) {
    let app = app.with_fixtures().await;
    // Nothing yet: 204 with no body, and zero counts.
    let r = app.get(ORDERS).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(r.body.is_null());
    let r = app.get(&format!("{ORDERS}/count")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["count"], json!(0));
    assert_eq!(r.body["statuses"].as_array().map(Vec::len), Some(15));

    let customer = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"}]),
        )
        .await;
    assert_eq!(customer.status, StatusCode::OK, "{}", customer.body);
    let customer = customer.body["data"][0]["id"]
        .as_i64()
        .expect("customer id");

    let start = app.kassa.now();
    let (c1, _) = checkout(&app, 0, "ada@example.com", None).await;
    let o1 = place(&app, &c1).await;
    app.clock.advance(3600);
    let (c2, co2) = checkout(&app, customer, "grace@example.com", None).await;
    let o2 = place(&app, &c2).await;
    app.clock.advance(3600);
    // A small order: one e-book, paid in full by a gift certificate → Awaiting Fulfillment.
    let r = app
        .post(
            "/stores/demo/v2/gift_certificates",
            json!({"code": "PAYALL", "amount": "100.00", "to_name": "A", "to_email": "a@example.com",
                   "from_name": "B", "from_email": "b@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
    let c3 = r.data()["id"].as_str().expect("cart").to_string();
    app.post(
        &format!("{CHECKOUTS}/{c3}/billing-address"),
        address("Linus@Example.com"),
    )
    .await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{c3}/gift-certificates"),
            json!({"gift_certificate_code": "PAYALL"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let o3 = place(&app, &c3).await;

    assert_eq!(ids(&app.get(ORDERS).await), vec![o1, o2, o3]);
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?sort=id:desc")).await),
        vec![o3, o2, o1]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?sort=date_created:desc")).await),
        vec![o3, o2, o1]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?min_id={o2}")).await),
        vec![o2, o3]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?max_id={o2}")).await),
        vec![o1, o2]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?customer_id={customer}")).await),
        vec![o2]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?status_id=11")).await),
        vec![o3]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?cart_id={c2}")).await),
        vec![o2]
    );
    assert_eq!(
        ids(&app
            .get(&format!("{ORDERS}?email=linus%40example.com"))
            .await),
        vec![o3]
    );
    // Totals: the e-book order is the small one.
    let big = dec(&co2["grand_total"]);
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?max_total=20")).await),
        vec![o3]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?min_total={big}")).await),
        vec![o1, o2]
    );
    // Dates, RFC 2822 and ISO 8601.
    let iso = time::OffsetDateTime::from_unix_timestamp(start + 1800)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    assert_eq!(
        ids(&app
            .get(&format!(
                "{ORDERS}?min_date_created={}",
                iso.replace('+', "%2B")
            ))
            .await),
        vec![o2, o3]
    );
    let rfc = app.get(&format!("{ORDERS}/{o2}")).await.body["date_created"]
        .as_str()
        .expect("date")
        .replace(' ', "%20")
        .replace('+', "%2B")
        .replace(',', "%2C");
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?max_date_created={rfc}")).await),
        vec![o1, o2]
    );
    // Paging.
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?limit=2")).await),
        vec![o1, o2]
    );
    assert_eq!(
        ids(&app.get(&format!("{ORDERS}?limit=2&page=2")).await),
        vec![o3]
    );
    assert_eq!(
        app.get(&format!("{ORDERS}?limit=2&page=3")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("{ORDERS}?customer_id=999999"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // Bad parameters are 400 naming the parameter.
    for (q, needle) in [
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("min_id=x", "min_id"),
        ("sort=total", "sort"),
        ("sort=id:up", "asc or desc"),
        ("min_date_created=yesterday", "min_date_created"),
        ("min_total=abc", "min_total"),
    ] {
        assert_v2_error(
            &app.get(&format!("{ORDERS}?{q}")).await,
            StatusCode::BAD_REQUEST,
            needle,
        );
    }

    // Counts per status.
    let r = app.get(&format!("{ORDERS}/count")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["count"], json!(3));
    let statuses = r.body["statuses"].as_array().expect("statuses");
    assert_eq!(statuses.len(), 15);
    let count_of = |id: i64| {
        statuses
            .iter()
            .find(|s| s["id"] == json!(id))
            .map(|s| s["count"].clone())
    };
    assert_eq!(count_of(0), Some(json!(2)));
    assert_eq!(count_of(11), Some(json!(1)));
    assert_eq!(count_of(5), Some(json!(0)));
    for (i, s) in statuses.iter().enumerate() {
        assert_eq!(s["sort_order"], json!(i));
    }
    let r = app
        .get(&format!("{ORDERS}/count?customer_id={customer}"))
        .await;
    assert_eq!(r.body["count"], json!(1));
    let r = app
        .get(&format!("{ORDERS}/count?email=LINUS@example.com"))
        .await;
    assert_eq!(r.body["count"], json!(1));

    // The paid order shows how it was paid.
    let r = app.get(&format!("{ORDERS}/{o3}")).await;
    assert_eq!(r.body["status"], json!("Awaiting Fulfillment"));
    assert_eq!(r.body["gift_certificate_amount"], r.body["total_inc_tax"]);
    assert_eq!(r.body["order_is_digital"], json!(true));
    let r = app.get(&format!("{ORDERS}/{o3}/shipping_addresses")).await;
    assert_eq!(r.body, json!([]));
}

async fn unknown_and_foreign_orders_are_404_and_scopes_hold(app: TestApp) {
    let app = app.with_fixtures().await;
    let (cart, _) = checkout(&app, 0, "ada@example.com", None).await;
    let order = place(&app, &cart).await;
    for path in [
        format!("{ORDERS}/999"),
        format!("{ORDERS}/abc"),
        format!("{ORDERS}/0"),
        format!("{ORDERS}/999/products"),
        format!("{ORDERS}/999/shipping_addresses"),
        format!("{ORDERS}/999/coupons"),
        format!("{ORDERS}/999/taxes"),
    ] {
        assert_v2_error(&app.get(&path).await, StatusCode::NOT_FOUND, "Order");
    }
    assert_v2_error(
        &app.get(&format!("{ORDERS}/{order}/products/99")).await,
        StatusCode::NOT_FOUND,
        "Order product 99",
    );

    // Another store sees none of this store's orders.
    app.kassa
        .create_store("other", "Other", Default::default())
        .await
        .expect("other store");
    let scopes =
        kassa::domain::scope::Scopes::parse_list("store_v2_orders_read_only").expect("scopes");
    let token = app
        .kassa
        .create_token("other", "test", &scopes, None)
        .await
        .expect("token");
    for path in [
        format!("/stores/other/v2/orders/{order}"),
        format!("/stores/other/v2/orders/{order}/products"),
        format!("/stores/other/v2/orders/{order}/taxes"),
    ] {
        let r = app.call_as(&token, Method::GET, &path, None).await;
        assert_v2_error(&r, StatusCode::NOT_FOUND, "Order");
    }
    let r = app
        .call_as(&token, Method::GET, "/stores/other/v2/orders", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .call_as(&token, Method::GET, "/stores/other/v2/orders/count", None)
        .await;
    assert_eq!(r.body["count"], json!(0), "{}", r.body);

    // Scopes: read-only and full orders scopes read; others are 403; no token is 401.
    for scopes in ["store_v2_orders_read_only", "store_v2_orders"] {
        let token = app.token_with_scopes(scopes).await;
        let r = app
            .call_as(&token, Method::GET, &format!("{ORDERS}/{order}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scopes}: {}", r.body);
    }
    let token = app.token_with_scopes("store_v2_marketing,store_cart").await;
    for path in [
        ORDERS.to_string(),
        format!("{ORDERS}/count"),
        format!("{ORDERS}/{order}"),
        format!("{ORDERS}/{order}/products"),
        "/stores/demo/v2/order_statuses".to_string(),
    ] {
        let r = app.call_as(&token, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert!(r.body.is_array(), "V2 error shape: {}", r.body);
    }
    let r = app
        .call_as("no-such-token", Method::GET, ORDERS, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}
