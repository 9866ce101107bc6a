//! The server-to-server Checkout API over real HTTP, on SQLite and PostgreSQL:
//! addresses, consignments, fees, manual discounts, messages and their errors.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    checkout_mirrors_cart,
    billing_address_round_trip,
    billing_address_errors_name_fields,
    consignments_split_items,
    over_allocation_is_refused,
    consignment_errors,
    reducing_cart_quantity_shrinks_consignments,
    customer_message,
    fees_lifecycle,
    manual_discounts_allocate_to_the_cent,
    coupons_apply_and_come_off,
    stale_version_is_409,
    unknown_checkout_is_404,
    scopes_guard_checkouts,
);

const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn us_address() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
           "address1": "1 Market St", "city": "San Francisco", "state_or_province": "California",
           "country_code": "us", "postal_code": "94105", "phone": "+1 415 555 0100"})
}

/// A cart with 3 lamps (19.99, physical), 1 e-book (9.99, digital) and a custom item (5.00 × 2).
async fn cart(app: &TestApp) -> (String, Value) {
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 3}, {"product_id": 930, "quantity": 1}],
                   "custom_items": [{"name": "Gift box", "quantity": 2, "list_price": 5}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.data()["id"].as_str().unwrap().to_string(),
        r.data().clone(),
    )
}

fn item_id(cart: &Value, kind: &str, i: usize) -> String {
    cart["line_items"][kind][i]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn checkout_mirrors_cart(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = r.data();
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["cart"]["id"], id.as_str());
    // 3 × 19.99 + 9.99 + 2 × 5.00 = 79.96, no shipping, no tax without an address.
    assert_eq!(num(&c["subtotal_ex_tax"]), 79.96);
    assert_eq!(num(&c["subtotal_inc_tax"]), 79.96);
    assert_eq!(num(&c["grand_total"]), 79.96);
    assert_eq!(num(&c["tax_total"]), 0.0);
    assert_eq!(num(&c["cart"]["cart_amount_ex_tax"]), 79.96);
    assert_eq!(c["consignments"], json!([]));
    assert_eq!(c["taxes"], json!([]));
    assert!(c["order_id"].is_null());
    assert_eq!(c["cart"]["line_items"]["custom_items"][0]["quantity"], 2);
    assert_eq!(c["version"], 1);
}

async fn billing_address_round_trip(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), us_address())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.data()["billing_address"];
    assert_eq!(b["country_code"], "US");
    assert_eq!(b["state_or_province_code"], "CA");
    assert_eq!(b["state_or_province"], "California");
    assert_eq!(b["email"], "ada@example.com");
    assert_eq!(r.data()["cart"]["email"], "ada@example.com");
    let address_id = b["id"].as_str().unwrap().to_string();
    assert!(!address_id.is_empty());
    let mut changed = us_address();
    changed["city"] = json!("Oakland");
    changed["postal_code"] = json!("94607");
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/billing-address/{address_id}"),
            changed,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["billing_address"]["id"], address_id.as_str());
    assert_eq!(r.data()["billing_address"]["city"], "Oakland");
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/billing-address/nope"),
            us_address(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn billing_address_errors_name_fields(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let path = format!("{CHECKOUTS}/{id}/billing-address");
    let with = |field: &str, value: Value| {
        let mut a = us_address();
        a[field] = value;
        a
    };
    for (body, field) in [
        (with("email", json!("")), "email"),
        (with("email", json!("not-an-email")), "email"),
        (with("country_code", json!("ZZ")), "country_code"),
        (with("country_code", json!("")), "country_code"),
        (
            with("state_or_province", json!("Atlantis")),
            "state_or_province",
        ),
        (with("phone", json!("call me maybe")), "phone"),
        (with("postal_code", json!("ABCDE")), "postal_code"),
        (with("first_name", json!("x".repeat(300))), "first_name"),
    ] {
        let r = app.post(&path, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(
            r.body["errors"][field].is_string(),
            "expected {field}: {}",
            r.body
        );
    }
    // Several problems are reported together.
    let mut many = us_address();
    many["email"] = json!("");
    many["country_code"] = json!("ZZ");
    let r = app.post(&path, many).await;
    assert!(
        r.body["errors"]["email"].is_string() && r.body["errors"]["country_code"].is_string(),
        "{}",
        r.body
    );
    // Nothing was saved.
    assert!(
        app.get(&format!("{CHECKOUTS}/{id}"))
            .await
            .data()
            .get("billing_address")
            .is_none()
    );
}

async fn consignments_split_items(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, c) = cart(&app).await;
    let lamp = item_id(&c, "physical_items", 0);
    let custom = item_id(&c, "custom_items", 0);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([
                {"address": us_address(), "line_items": [{"item_id": lamp, "quantity": 2}, {"item_id": custom, "quantity": 2}]},
                {"address": common::flow::new_york(), "line_items": [{"item_id": lamp, "quantity": 1}]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cons = r.data()["consignments"].as_array().unwrap().clone();
    assert_eq!(cons.len(), 2);
    assert_eq!(cons[0]["line_item_ids"], json!([lamp, custom]));
    assert_eq!(cons[1]["line_item_ids"], json!([lamp]));
    assert_eq!(cons[1]["address"]["state_or_province_code"], "NY");
    // The same address again adds to the existing consignment rather than making a new one.
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": common::flow::new_york(), "line_items": [{"item_id": lamp, "quantity": 0}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("at least 1"),
        "{}",
        r.body
    );
    let cid = cons[1]["id"].as_str().unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["consignments"].as_array().unwrap().len(), 1);
    let r = app
        .call(
            Method::DELETE,
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn over_allocation_is_refused(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, c) = cart(&app).await;
    let lamp = item_id(&c, "physical_items", 0);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([
                {"address": us_address(), "line_items": [{"item_id": lamp, "quantity": 2}]},
                {"address": common::flow::new_york(), "line_items": [{"item_id": lamp, "quantity": 2}]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("cart has 3"),
        "{}",
        r.body
    );
    // Nothing was written.
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.data()["consignments"], json!([]));
    assert_eq!(r.data()["version"], 1);
}

async fn consignment_errors(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, c) = cart(&app).await;
    let lamp = item_id(&c, "physical_items", 0);
    let ebook = item_id(&c, "digital_items", 0);
    let path = format!("{CHECKOUTS}/{id}/consignments");
    // Digital items do not ship.
    let r = app
        .post(
            &path,
            json!([{"address": us_address(), "line_items": [{"item_id": ebook, "quantity": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"].as_str().unwrap().contains("does not ship"),
        "{}",
        r.body
    );
    // An item that is not in the cart.
    let r = app
        .post(&path, json!([{"address": us_address(), "line_items": [{"item_id": "6e193ce6-f327-4dcc-b75e-72cf6738525e", "quantity": 1}]}]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A bad address names the field.
    let mut bad = us_address();
    bad["country_code"] = json!("XX");
    let r = app
        .post(
            &path,
            json!([{"address": bad, "line_items": [{"item_id": lamp, "quantity": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["[0].address.country_code"].is_string(),
        "{}",
        r.body
    );
    // No address and no pickup option.
    let r = app
        .post(
            &path,
            json!([{"line_items": [{"item_id": lamp, "quantity": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Not an array.
    let r = app.post(&path, json!({"address": us_address()})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown consignment.
    let r = app
        .put(
            &format!("{path}/nope"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A pickup location that does not exist, when changing an existing consignment.
    let r = app
        .post(
            &path,
            json!([{"address": us_address(), "line_items": [{"item_id": lamp, "quantity": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cid = r.data()["consignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("{path}/{cid}"),
            json!({"pickup_option": {"pickup_method_id": 999}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["errors"]["pickup_option.pickup_method_id"].is_string(),
        "{}",
        r.body
    );
}

async fn reducing_cart_quantity_shrinks_consignments(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, c) = cart(&app).await;
    let lamp = item_id(&c, "physical_items", 0);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/consignments"),
            json!([{"address": us_address(), "line_items": [{"item_id": lamp, "quantity": 3}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/{lamp}"),
            json!({"line_item": {"quantity": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.data()["consignments"][0]["line_item_ids"], json!([lamp]));
    // Removing the item empties and removes the consignment.
    let r = app.delete(&format!("{CARTS}/{id}/items/{lamp}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.data()["consignments"], json!([]));
}

async fn customer_message(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}"),
            json!({"customer_message": "Leave at the door", "version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["customer_message"], "Leave at the door");
    assert_eq!(r.data()["version"], 2);
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}"),
            json!({"customer_message": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["customer_message"].is_string());
    let r = app.put(&format!("{CHECKOUTS}/{id}"), json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn fees_lifecycle(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let fee = |name: &str, cost: f64| json!({"type": "custom_fee", "name": name, "display_name": format!("{name} fee"), "cost": cost, "source": "test"});
    let path = format!("{CHECKOUTS}/{id}/fees");
    let r = app
        .post(
            &path,
            json!({"fees": [fee("Packaging", 2.5), fee("Insurance", 3.25)]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fees = r.data()["fees"].as_array().unwrap().clone();
    assert_eq!(fees.len(), 2);
    assert_eq!(num(&fees[0]["cost_ex_tax"]), 2.5);
    // 79.96 + 2.50 + 3.25
    assert_eq!(num(&r.data()["grand_total"]), 85.71);
    let first = fees[0]["id"].as_str().unwrap().to_string();
    let mut changed = fee("Packaging", 4.0);
    changed["id"] = json!(first);
    let r = app.put(&path, json!({"fees": [changed]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(num(&r.data()["grand_total"]), 87.21);
    // At most five.
    let r = app
        .post(
            &path,
            json!({"fees": [fee("a", 1.0), fee("b", 1.0), fee("c", 1.0), fee("d", 1.0)]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Validation names the field.
    let r = app.post(&path, json!({"fees": [fee("", 1.0)]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["fees[0].name"].is_string(), "{}", r.body);
    let r = app.post(&path, json!({"fees": [fee("neg", -1.0)]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(Method::DELETE, &path, Some(json!({"ids": [first]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["fees"].as_array().unwrap().len(), 1);
    assert_eq!(num(&r.data()["grand_total"]), 83.21);
    let r = app
        .call(Method::DELETE, &path, Some(json!({"ids": [first]})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn manual_discounts_allocate_to_the_cent(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, c) = cart(&app).await;
    // 10.00 over lamp 59.97, e-book 9.99, box 10.00 (total 79.96).
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": 10}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.data();
    let lamp = num(&d["cart"]["line_items"]["physical_items"][0]["discount_amount"]);
    let ebook = num(&d["cart"]["line_items"]["digital_items"][0]["discount_amount"]);
    // 10 × 59.97/79.96 = 7.4999… → 7.50 after largest remainder; 10 × 9.99/79.96 = 1.2494 → 1.25.
    assert_eq!(lamp, 7.5);
    assert_eq!(ebook, 1.25);
    assert_eq!(num(&d["cart"]["discount_amount"]), 10.0);
    assert_eq!(num(&d["grand_total"]), 69.96);
    assert_eq!(d["cart"]["discounts"][0]["id"], "manual-discount");
    // Per line, and replacing what was there.
    let ebook_id = item_id(&c, "digital_items", 0);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"line_items": [{"id": ebook_id, "discounted_amount": 9.99}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(num(&r.data()["grand_total"]), 69.97);
    // More than the items are worth.
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": 80}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": -1}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn coupons_apply_and_come_off(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/coupons"),
            json!({"coupon_code": "SAVE10"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["title"].as_str().unwrap().contains("SAVE10"));
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/coupons"),
            json!({"coupon_code": "x".repeat(51)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            Method::DELETE,
            &format!("{CHECKOUTS}/{id}/coupons/SAVE10"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A coupon the store defined applies (in any case) and comes off again exactly.
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Ten off", "code": "TENOFF", "type": "per_total_discount", "amount": "10",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let before = app.get(&format!("{CHECKOUTS}/{id}")).await;
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/coupons"),
            json!({"coupon_code": "tenoff"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let coupons = &r.data()["coupons"];
    assert_eq!(coupons[0]["code"], "TENOFF", "{}", r.body);
    assert_eq!(coupons[0]["coupon_type"], "per_total_discount");
    assert_eq!(coupons[0]["discounted_amount"], json!(10));
    assert_eq!(r.data()["cart"]["coupons"], *coupons);
    let total = |v: &Value| v["grand_total"].as_f64().unwrap();
    assert!(
        (total(before.data()) - total(r.data()) - 10.0).abs() < 1e-9,
        "{} vs {}",
        before.body,
        r.body
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("{CHECKOUTS}/{id}/coupons/TenOff"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["grand_total"], before.data()["grand_total"]);
    assert_eq!(r.data()["coupons"], json!([]));
}

async fn stale_version_is_409(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}"),
            json!({"customer_message": "a", "version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut addr = us_address();
    addr["version"] = json!(1);
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{CHECKOUTS}/{id}"),
            json!({"customer_message": "b", "version": 1}),
        ),
        (
            Method::POST,
            format!("{CHECKOUTS}/{id}/billing-address"),
            addr,
        ),
        (
            Method::POST,
            format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": 1}]}, "version": 1}),
        ),
    ] {
        let r = app.call(method, &path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}: {}", r.body);
        assert!(
            r.body["title"]
                .as_str()
                .unwrap()
                .contains("possible conflict")
        );
    }
}

async fn unknown_checkout_is_404(app: TestApp) {
    for path in [
        format!("{CHECKOUTS}/6e193ce6-f327-4dcc-b75e-72cf6738525e"),
        format!("{CHECKOUTS}/not-a-uuid"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body["status"], 404);
    }
    let r = app
        .post(
            &format!("{CHECKOUTS}/6e193ce6-f327-4dcc-b75e-72cf6738525e/billing-address"),
            us_address(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn scopes_guard_checkouts(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, _) = cart(&app).await;
    let read_only = app.token_with_scopes("store_checkouts_read_only").await;
    let r = app
        .call_as(&read_only, Method::GET, &format!("{CHECKOUTS}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(
            &read_only,
            Method::POST,
            &format!("{CHECKOUTS}/{id}/billing-address"),
            Some(us_address()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let cart_only = app.token_with_scopes("store_cart").await;
    let r = app
        .call_as(&cart_only, Method::GET, &format!("{CHECKOUTS}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
