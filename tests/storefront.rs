//! The Storefront API as a shopper's browser uses it: store from `Host`, the session
//! cookie, CSRF, CORS, and one shopper never reaching another's cart.

mod common;

use common::{Browser, TestApp, flow};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SF: &str = "/api/storefront";

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A storefront cart with one lamp (19.99); returns its id.
async fn lamp_cart(b: &Browser<'_>) -> String {
    let r = b
        .post(
            &format!("{SF}/carts"),
            json!({"lineItems": [{"productId": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["id"].as_str().expect("cart id").to_string()
}

/// Billing address, one consignment to California with "Standard" selected; returns
/// the checkout as the last step answered it.
async fn ready_to_order(b: &Browser<'_>, id: &str) -> Value {
    ready_to_order_at(b, id, address(), address()).await
}

/// [`ready_to_order`] with these billing and shipping addresses (camelCase bodies).
async fn ready_to_order_at(b: &Browser<'_>, id: &str, billing: Value, shipping: Value) -> Value {
    let r = b
        .post(
            &format!("{SF}/checkouts/{id}/billing-address"),
            billing.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["billingAddress"]["firstName"], billing["firstName"]);
    let items: Vec<Value> = r.body["cart"]["lineItems"]["physicalItems"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| json!({"itemId": i["id"], "quantity": i["quantity"]}))
        .collect();
    let r = b
        .post(
            &format!(
                "{SF}/checkouts/{id}/consignments?include=consignments.availableShippingOptions"
            ),
            json!([{"address": shipping, "lineItems": items}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let consignment = &r.body["consignments"][0];
    let cid = consignment["id"].as_str().unwrap().to_string();
    let standard = consignment["availableShippingOptions"]
        .as_array()
        .expect("options")
        .iter()
        .find(|o| o["description"] == "Standard")
        .unwrap_or_else(|| panic!("no Standard option: {consignment}"))["id"]
        .clone();
    let r = b
        .put(
            &format!("{SF}/checkouts/{id}/consignments/{cid}"),
            json!({"shippingOptionId": standard}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["consignments"][0]["selectedShippingOption"]["description"],
        "Standard"
    );
    r.body
}

fn address() -> Value {
    json!({"firstName": "Pat", "lastName": "Buyer", "email": "pat@example.com", "address1": "1 Main St",
           "city": "Somewhere", "stateOrProvinceCode": "CA", "countryCode": "US", "postalCode": "94105"})
}

/// Storefront errors: the status, a title, and the `errors` list.
fn assert_sf_error(r: &common::Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].is_string(), "{}", r.body);
    assert_eq!(r.body["errors"][0]["status"], status.as_u16(), "{}", r.body);
}

async fn whole_flow_to_the_cent(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let r = b
        .post(
            &format!("{SF}/carts"),
            json!({"lineItems": [{"productId": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The session cookie is opaque, HttpOnly, SameSite=Lax, not Secure over plain HTTP.
    let set: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("SHOP_SESSION_TOKEN="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(session.contains("Path=/") && !session.contains("Secure"));
    assert!(b.cookie("XSRF-TOKEN").is_some());
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(num(&r.body["cartAmount"]), 19.99);
    assert_eq!(r.body["currency"]["code"], "USD");
    assert_eq!(r.body["currency"]["decimalPlaces"], 2);
    assert_eq!(r.body["lineItems"]["physicalItems"][0]["productId"], 940);
    assert!(r.body.get("data").is_none(), "no envelope");

    let r = b.get(&format!("{SF}/carts")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(r.body[0]["id"], id.as_str());

    let r = ready_to_order(&b, &id).await;
    // Lamp 19.99 + Standard 7.50 + California tax, as the v3 API prices it.
    assert_eq!(num(&r["grandTotal"]), 30.55, "{r}");

    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Five off", "code": "FIVE", "type": "per_total_discount", "amount": "5.00",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = b
        .post(
            &format!("{SF}/checkouts/{id}/coupons"),
            json!({"couponCode": "FIVE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["coupons"][0]["code"], "FIVE", "{}", r.body);
    let grand = num(&r.body["grandTotal"]);
    assert!(grand < 30.55, "{}", r.body);
    // The storefront and the management API see the same checkout to the cent.
    let v3 = app.get(&format!("{}/{id}", flow::CHECKOUTS)).await;
    assert_eq!(num(&v3.data()["grand_total"]), grand);

    let r = b
        .put(
            &format!("{SF}/checkouts/{id}"),
            json!({"customerMessage": "Leave at the door"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customerMessage"], "Leave at the door");

    let placed = flow::place(&app, &id).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    let order_id = placed.data()["id"].as_i64().unwrap();
    let r = b.get(&format!("{SF}/orders/{order_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["orderId"], order_id);
    assert_eq!(r.body["cartId"], id.as_str());
    assert_eq!(num(&r.body["orderAmount"]), grand);
    assert_eq!(
        r.body["orderAmountAsInteger"].as_i64(),
        Some((grand * 100.0).round() as i64)
    );
    assert_eq!(r.body["coupons"][0]["code"], "FIVE");
    assert_eq!(r.body["customerMessage"], "Leave at the door");
    let v2 = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(v2.status, StatusCode::OK, "{}", v2.body);
    assert_eq!(
        v2.body["total_inc_tax"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", v2.body))
            .parse::<f64>()
            .unwrap(),
        grand
    );
}

async fn one_shopper_never_reaches_another(app: TestApp) {
    let app = app.with_fixtures().await;
    let a = app.browser();
    let b = app.browser();
    let a_cart = lamp_cart(&a).await;
    let b_cart = lamp_cart(&b).await;
    assert_ne!(
        a.cookie("SHOP_SESSION_TOKEN"),
        b.cookie("SHOP_SESSION_TOKEN")
    );

    let r = b.get(&format!("{SF}/checkouts/{a_cart}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let r = b
        .post(
            &format!("{SF}/carts/{a_cart}/items"),
            json!({"lineItems": [{"productId": 940, "quantity": 1}]}),
        )
        .await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let r = b
        .post(
            &format!("{SF}/checkouts/{a_cart}/billing-address"),
            address(),
        )
        .await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let r = b.delete(&format!("{SF}/carts/{a_cart}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let r = b.get(&format!("{SF}/carts")).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    assert_eq!(r.body[0]["id"], b_cart.as_str());
    // A's cart is untouched.
    let r = a.get(&format!("{SF}/checkouts/{a_cart}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["cart"]["lineItems"]["physicalItems"][0]["quantity"],
        1
    );

    // A's order is A's alone; no cookie sees nothing.
    ready_to_order(&a, &a_cart).await;
    let placed = flow::place(&app, &a_cart).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    let order = placed.data()["id"].as_i64().unwrap();
    assert_eq!(
        a.get(&format!("{SF}/orders/{order}")).await.status,
        StatusCode::OK
    );
    assert_sf_error(
        &b.get(&format!("{SF}/orders/{order}")).await,
        StatusCode::NOT_FOUND,
    );
    let stranger = app.browser();
    assert_sf_error(
        &stranger.get(&format!("{SF}/checkouts/{b_cart}")).await,
        StatusCode::NOT_FOUND,
    );
    let r = stranger.get(&format!("{SF}/carts")).await;
    assert_eq!(r.body, json!([]));

    // A management-API cart is nobody's until a redirect URL attaches it.
    let r = app
        .post(
            flow::CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
        )
        .await;
    let server_cart = r.data()["id"].as_str().unwrap().to_string();
    assert_sf_error(
        &b.get(&format!("{SF}/checkouts/{server_cart}")).await,
        StatusCode::NOT_FOUND,
    );
    let store = app.kassa.find_store("demo").await.unwrap();
    let token = b.cookie("SHOP_SESSION_TOKEN").unwrap();
    let (kept, _) = app
        .kassa
        .attach_cart_to_shopper(&store, Some(&token), server_cart.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(kept, token, "an existing session is reused");
    let r = b.get(&format!("{SF}/checkouts/{server_cart}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(num(&r.body["cart"]["baseAmount"]), 39.98);
}

async fn writes_need_the_csrf_token(app: TestApp) {
    let app = app.with_fixtures().await;
    let mut a = app.browser();
    let id = lamp_cart(&a).await;
    let add = json!({"lineItems": [{"productId": 940, "quantity": 1}]});
    a.send_csrf = false;
    let r = a.post(&format!("{SF}/carts/{id}/items"), add.clone()).await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    assert!(r.body["title"].as_str().unwrap().contains("X-XSRF-TOKEN"));
    let r = a
        .send(
            Method::POST,
            &format!("{SF}/carts/{id}/items"),
            Some(add.clone()),
            &[("X-XSRF-TOKEN", "forged")],
        )
        .await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    let r = a
        .send(Method::DELETE, &format!("{SF}/carts/{id}"), None, &[])
        .await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    // Nothing changed.
    a.send_csrf = true;
    let r = a.get(&format!("{SF}/carts")).await;
    assert_eq!(r.body[0]["lineItems"]["physicalItems"][0]["quantity"], 1);
    let r = a.post(&format!("{SF}/carts/{id}/items"), add.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["lineItems"]["physicalItems"][0]["quantity"], 2);
    // Another shopper's token does not open this session.
    let b = app.browser();
    lamp_cart(&b).await;
    a.send_csrf = false;
    let r = a
        .send(
            Method::POST,
            &format!("{SF}/carts/{id}/items"),
            Some(add.clone()),
            &[("X-XSRF-TOKEN", &b.cookie("XSRF-TOKEN").unwrap())],
        )
        .await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    // A foreign page cannot start a session either.
    let c = app.browser();
    let r = c
        .send(
            Method::POST,
            &format!("{SF}/carts"),
            Some(add.clone()),
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    assert!(c.cookie("SHOP_SESSION_TOKEN").is_none());
    // A shopper may not set prices.
    let r = c
        .post(
            &format!("{SF}/carts"),
            json!({"lineItems": [{"productId": 940, "quantity": 1, "listPrice": 0.01}]}),
        )
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn cors_for_configured_origins_only(app: TestApp) {
    app.kassa
        .set_storefront(
            "demo",
            Some("localhost".into()),
            vec!["https://shop.example".into()],
        )
        .await
        .unwrap();
    let b = app.browser();
    let preflight = |origin: &'static str| {
        let b = &b;
        async move {
            b.send(
                Method::OPTIONS,
                &format!("{SF}/carts"),
                None,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    (
                        "Access-Control-Request-Headers",
                        "content-type,x-xsrf-token",
                    ),
                ],
            )
            .await
        }
    };
    let r = preflight("https://shop.example").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    assert!(
        r.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("X-XSRF-TOKEN")
    );
    let r = preflight("https://evil.example").await;
    assert_sf_error(&r, StatusCode::FORBIDDEN);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    // Actual requests: CORS headers for the allowed origin only.
    let r = b
        .send(
            Method::GET,
            &format!("{SF}/carts"),
            None,
            &[("Origin", "https://shop.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    let r = b
        .send(
            Method::GET,
            &format!("{SF}/carts"),
            None,
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

async fn store_from_host(app: TestApp) {
    let app = app.with_fixtures().await;
    // One store: any host serves it.
    let mut b = app.browser();
    b.host = Some("anything.example".into());
    assert_eq!(b.get(&format!("{SF}/carts")).await.status, StatusCode::OK);
    app.kassa
        .create_store("second", "Second", Default::default())
        .await
        .unwrap();
    app.kassa
        .set_storefront("second", Some("Second.Example".into()), vec![])
        .await
        .unwrap();
    // Two stores: an unknown host is nobody's.
    assert_sf_error(&b.get(&format!("{SF}/carts")).await, StatusCode::NOT_FOUND);
    // The demo store is `localhost`; the port does not matter.
    let mut demo = app.browser();
    demo.host = Some("localhost:4000".into());
    let id = lamp_cart(&demo).await;
    // The same cookies sent to the second store's domain open nothing there.
    let mut second = app.browser();
    second.host = Some("second.example:8443".into());
    *second.cookies.lock().unwrap() = demo.cookies.lock().unwrap().clone();
    let r = second.get(&format!("{SF}/carts")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!([]));
    assert_sf_error(
        &second.get(&format!("{SF}/checkouts/{id}")).await,
        StatusCode::NOT_FOUND,
    );
    // A product of the demo catalog is not the second store's.
    let r = second
        .post(
            &format!("{SF}/carts"),
            json!({"lineItems": [{"productId": 940, "quantity": 1}]}),
        )
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn currency_change_and_line_items_through_checkout(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    let r = b
        .post(
            &format!("{SF}/carts/{id}/currency"),
            json!({"currencyCode": "EUR"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["currency"]["code"], "EUR");
    // 19.99 USD at 0.92 EUR per USD.
    assert_eq!(num(&r.body[0]["cartAmount"]), 18.39, "{}", r.body);
    let r = b
        .post(
            &format!("{SF}/carts/{id}/currency"),
            json!({"currencyCode": "XYZ"}),
        )
        .await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let item = r.body["errors"][0]["title"].clone();
    assert!(item.as_str().unwrap().contains("XYZ"));
    let checkout = b.get(&format!("{SF}/checkouts/{id}")).await;
    let item = checkout.body["cart"]["lineItems"]["physicalItems"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .put(
            &format!("{SF}/checkouts/{id}/carts/{id}/items/{item}"),
            json!({"lineItem": {"productId": 940, "quantity": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["cart"]["lineItems"]["physicalItems"][0]["quantity"],
        3
    );
    // Store credit needs a signed-in customer.
    let r = b
        .post(&format!("{SF}/checkouts/{id}/store-credit"), json!({}))
        .await;
    assert_sf_error(&r, StatusCode::BAD_REQUEST);
    // Repeated bad codes lock code entry until the human check passes.
    for _ in 0..5 {
        let r = b
            .post(
                &format!("{SF}/checkouts/{id}/coupons"),
                json!({"couponCode": "NOPE"}),
            )
            .await;
        assert!(r.status.is_client_error(), "{}", r.body);
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let r = b
        .post(
            &format!("{SF}/checkouts/{id}/coupons"),
            json!({"couponCode": "NOPE"}),
        )
        .await;
    assert_sf_error(&r, StatusCode::TOO_MANY_REQUESTS);
    let r = b.get(&format!("{SF}/checkouts/{id}")).await;
    assert_eq!(r.body["shouldExecuteSpamCheck"], true);
    let r = b
        .post(
            &format!("{SF}/checkouts/{id}/spam-protection"),
            json!({"token": "not-a-human"}),
        )
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
    // Removing the last item through the checkout deletes the cart.
    let r = b
        .send(
            Method::DELETE,
            &format!("{SF}/checkouts/{id}/carts/{id}/items/{item}"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(b.get(&format!("{SF}/carts")).await.body, json!([]));
}

/// Every storefront operation of the three specs is in Kassa's own OpenAPI document.
async fn openapi_lists_every_storefront_operation(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let mut ops = Vec::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        if let Some(rest) = path.strip_prefix(SF) {
            for method in item.as_object().unwrap().keys() {
                ops.push(format!("{method} {rest}"));
            }
        }
    }
    // carts.sf.yml 7 + checkouts.sf.yml 16 + orders.sf.yml 1, then what the Checkout
    // SDK calls besides: the singular checkout (GET, PUT), checkout settings, form
    // fields, payment methods (list, one), account and address creation.
    assert_eq!(ops.len(), 24 + 8, "{ops:?}");
    for op in [
        "post /internalapi/v1/checkout/order",
        "post /api/public/v1/orders/payments",
        "get /internalapi/v1/store/countries",
    ] {
        let (method, path) = op.split_once(' ').unwrap();
        assert!(
            r.body["paths"][path][method].is_object(),
            "{op} is not listed"
        );
    }
    assert!(ops.contains(&"post /checkouts/{checkoutId}/spam-protection".to_string()));
}

// ---------- what BigCommerce's Checkout SDK calls beyond the specs ----------

const ORDER: &str = "/internalapi/v1/checkout/order";
const BIGPAY: &str = "/api/public/v1/orders/payments";

async fn offer_offline(app: &TestApp, methods: &[&str]) {
    let mut store = app.kassa.find_store("demo").await.expect("demo store");
    store.settings.offline_payment_methods = methods.iter().map(|m| m.to_string()).collect();
    app.kassa
        .store
        .update_store_settings(store.id, &store.settings)
        .await
        .expect("store settings");
}

fn card(number: &str) -> Value {
    json!({"payment": {"gateway": "testgateway.card", "method": "credit-card",
        "credit_card": {"account_name": "Pat Buyer", "number": number, "month": 12,
                        "year": 2040, "verification_value": "123"}}})
}

async fn sdk_settings_fields_countries_and_methods(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;

    let r = b
        .get(&format!("{SF}/checkout-settings?checkoutId={id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["context"]["checkoutId"], id.as_str());
    // Card payments come back to this very storefront.
    let cfg = &r.body["storeConfig"];
    assert_eq!(cfg["paymentSettings"]["bigpayBaseUrl"], app.base.as_str());
    assert_eq!(cfg["currency"]["code"], "USD");
    assert_eq!(cfg["storeProfile"]["storeHash"], "demo");
    assert_eq!(cfg["checkoutSettings"]["features"], json!({}));
    // Without a checkout named, the shopper's newest cart.
    let r = b.get(&format!("{SF}/checkout-settings")).await;
    assert_eq!(r.body["context"]["checkoutId"], id.as_str());
    // Someone else's checkout is not found.
    let other = app.browser();
    let r = other
        .get(&format!("{SF}/checkout-settings?checkoutId={id}"))
        .await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    let r = b
        .get(&format!("{SF}/checkout-settings?checkoutId=nope"))
        .await;
    assert_eq!(r.status.as_u16() / 100, 4, "{}", r.body);

    let r = b.get(&format!("{SF}/form-fields")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r.body["billingAddress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"countryCode") && names.contains(&"postalCode"),
        "{names:?}"
    );

    let r = b.get("/internalapi/v1/store/countries").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let us = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "US")
        .expect("US");
    assert_eq!(us["name"], "United States");
    assert_eq!(us["requiresState"], true);
    assert!(
        us["subdivisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["code"] == "CA")
    );

    // The singular path the SDK loads from, with the fields it reads.
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["customer"]["isGuest"], true);
    assert_eq!(r.body["customer"]["addresses"], json!([]));
    assert_eq!(num(&r.body["subtotal"]), 19.99);
    assert_eq!(r.body["payments"], json!([]));
    let r = other.get(&format!("{SF}/checkout/{id}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);

    // Payment methods: the test card; offline methods once the store offers them.
    let r = b.get(&format!("{SF}/payments?cartId={id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(r.body[0]["id"], "testgateway.card");
    assert_eq!(r.body[0]["type"], "PAYMENT_TYPE_API");
    offer_offline(&app, &["cod", "bankdeposit"]).await;
    let r = b.get(&format!("{SF}/payments?cartId={id}")).await;
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["testgateway.card", "cod", "bankdeposit"]);
    assert_eq!(r.body[1]["type"], "PAYMENT_TYPE_OFFLINE");
    assert_eq!(r.body[1]["config"]["displayName"], "Cash on Delivery");
    let r = b.get(&format!("{SF}/payments/cod?cartId={id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], "cod");
    assert_sf_error(
        &b.get(&format!("{SF}/payments/cheque?cartId={id}")).await,
        StatusCode::NOT_FOUND,
    );
    assert_sf_error(
        &b.get(&format!("{SF}/payments")).await,
        StatusCode::BAD_REQUEST,
    );
    assert_sf_error(
        &other.get(&format!("{SF}/payments?cartId={id}")).await,
        StatusCode::NOT_FOUND,
    );
}

async fn sdk_order_then_card_payment_to_the_cent(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    ready_to_order(&b, &id).await;

    // Refusals leave no order behind.
    assert_sf_error(
        &b.post(ORDER, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_sf_error(
        &b.post(ORDER, json!({"cartId": "x"})).await,
        StatusCode::NOT_FOUND,
    );
    let r = b
        .post(ORDER, json!({"cartId": id, "payment": {"name": "cod"}}))
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("testgateway.card"),
        "{}",
        r.body
    );
    let r = b
        .post(
            ORDER,
            json!({"cartId": id, "payment": {"name": "testgateway.card",
            "paymentData": {"ccNumber": "4111111111111111"}}}),
        )
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_sf_error(
        &app.browser().post(ORDER, json!({"cartId": id})).await,
        StatusCode::NOT_FOUND,
    );
    let mut forged = app.browser();
    forged.cookies = std::sync::Mutex::new(b.cookies.lock().unwrap().clone());
    forged.send_csrf = false;
    assert_sf_error(
        &forged.post(ORDER, json!({"cartId": id})).await,
        StatusCode::FORBIDDEN,
    );
    let r = b.get(&format!("{SF}/checkout/{id}")).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the checkout is still open: {}",
        r.body
    );

    let r = b
        .post(
            ORDER,
            json!({"cartId": id, "customerMessage": "Ring twice"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let order = r.body["data"]["order"]["orderId"]
        .as_i64()
        .expect("orderId");
    assert_eq!(r.body["data"]["order"]["status"], "INCOMPLETE");
    let token = r.headers["token"].to_str().unwrap().to_string();

    // The order as the SDK reads it: line items as an object, what stored value paid.
    let r = b
        .get(&format!(
            "{SF}/orders/{order}?include=payments%2ClineItems.physicalItems.options"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(num(&r.body["orderAmount"]), 30.55);
    assert_eq!(r.body["lineItems"]["physicalItems"][0]["productId"], 940);
    assert_eq!(r.body["payments"], json!([]));
    assert_eq!(r.body["customerMessage"], "Ring twice");

    // The SDK's payment client: bare token, snake_case card.
    let pay = |auth: Option<String>, body: Value| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(format!("{}{BIGPAY}", app.base))
                .header("Content-Type", "application/json")
                .body(body.to_string());
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            TestApp::reply(req.send().await.expect("request")).await
        }
    };
    assert_eq!(
        pay(None, card("4111111111111111")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        pay(Some("nope".into()), card("4111111111111111"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = pay(
        Some(token.clone()),
        json!({"payment": {"gateway": "testgateway.card"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = pay(Some(token.clone()), card("4000000000000002")).await;
    assert_eq!(r.status.as_u16() / 100, 4, "declined: {}", r.body);
    let r = pay(Some(token.clone()), card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ok");
    let r = pay(Some(token), card("4111111111111111")).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "paid once: {}",
        r.body
    );

    let r = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(r.body["status"], "Awaiting Fulfillment", "{}", r.body);
    assert_eq!(r.body["total_inc_tax"], "30.5500");
    let r = b.get(&format!("{SF}/orders/{order}")).await;
    assert_eq!(r.body["status"], "AWAITING_FULFILLMENT", "{}", r.body);
}

async fn sdk_offline_order_awaits_payment(app: TestApp) {
    let app = app.with_fixtures().await;
    offer_offline(&app, &["cod"]).await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    ready_to_order(&b, &id).await;
    let r = b
        .post(
            ORDER,
            json!({"cartId": id, "payment": {"name": "bankdeposit"}}),
        )
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);

    let r = b
        .post(ORDER, json!({"cartId": id, "payment": {"name": "cod"}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.headers.get("token").is_none(), "nothing to pay by card");
    assert_eq!(r.body["data"]["order"]["status"], "AWAITING_PAYMENT");
    let order = r.body["data"]["order"]["orderId"].as_i64().unwrap();
    let r = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(r.body["status"], "Awaiting Payment", "{}", r.body);
    assert_eq!(r.body["payment_method"], "Cash on Delivery");
    assert_eq!(r.body["total_inc_tax"], "30.5500");
    // The cart became the order.
    assert_eq!(b.get(&format!("{SF}/carts")).await.body, json!([]));
    // Long after the reservation would have lapsed, the order still waits for its money.
    app.clock.advance(3 * 3600);
    app.kassa.release_lapsed_orders(100).await.expect("sweep");
    let r = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(r.body["status"], "Awaiting Payment", "{}", r.body);
}

async fn sdk_offline_order_marked_paid_issues_gift_certificates_once(app: TestApp) {
    let app = app.with_fixtures().await;
    offer_offline(&app, &["cheque"]).await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    let r = app
        .post(
            &format!("/stores/demo/v3/carts/{id}/items"),
            json!({"gift_certificates": [{"name": "Present", "theme": "Birthday", "amount": 25,
                "quantity": 1, "sender": {"name": "Ada", "email": "ada@example.com"},
                "recipient": {"name": "Bo", "email": "bo@example.com"}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ready_to_order(&b, &id).await;
    let r = b
        .post(ORDER, json!({"cartId": id, "payment": {"name": "cheque"}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let order = r.body["data"]["order"]["orderId"].as_i64().unwrap();
    let path = format!("/stores/demo/v2/orders/{order}");
    let r = app.get(&path).await;
    assert_eq!(r.body["status"], "Awaiting Payment", "{}", r.body);
    assert_eq!(r.body["total_inc_tax"], "55.5500");
    let issued = || async {
        let r = app
            .get(&format!(
                "/stores/demo/v2/gift_certificates?order_id={order}"
            ))
            .await;
        r.body.as_array().cloned().unwrap_or_default()
    };
    assert_eq!(issued().await, Vec::<Value>::new(), "not before the money");
    let refunds = format!("/stores/demo/v3/orders/{order}/payment_actions/refund_quotes");
    let quote = |amount: f64| json!({"items": [{"item_type": "ORDER", "item_id": order, "amount": amount}]});
    let r = app.post(&refunds, quote(10.0)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing paid yet: {}",
        r.body
    );

    // The merchant records the cheque twice at once, then moves the order on and back.
    let (x, y) = tokio::join!(
        app.put(&path, json!({"status_id": 11})),
        app.put(&path, json!({"status_id": 11}))
    );
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert_eq!(y.status, StatusCode::OK, "{}", y.body);
    assert_eq!(x.body["status"], "Awaiting Fulfillment");
    for to in [7, 10, 2] {
        let r = app.put(&path, json!({"status_id": to})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let certificates = issued().await;
    assert_eq!(certificates.len(), 1, "{certificates:?}");
    assert_eq!(certificates[0]["balance"], "25.0000");
    assert_eq!(certificates[0]["to_email"], "bo@example.com");
    assert_eq!(certificates[0]["template"], "birthday.html");
    // Recorded as a payment received offline, once.
    let r = app
        .get(&format!("/stores/demo/v3/orders/{order}/transactions"))
        .await;
    let purchases: Vec<&Value> = r.data().as_array().expect("transactions").iter().collect();
    assert_eq!(purchases.len(), 1, "{}", r.body);
    assert_eq!(purchases[0]["event"], "purchase");
    assert_eq!(purchases[0]["method"], "offline");
    assert_eq!(purchases[0]["gateway"], "cheque");
    assert_eq!(purchases[0]["amount"], json!(55.55));
    assert_eq!(purchases[0]["offline"]["display_name"], "Check");
    // What was received can be refunded, to the cent and no more.
    let r = app.post(&refunds, quote(55.55)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.post(&refunds, quote(55.56)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// A merchant's cart with the lamp and its single-use redirect links (paths only).
async fn merchant_cart_links(app: &TestApp) -> (String, Value) {
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.data()["id"].as_str().expect("cart id").to_string();
    let r = app
        .call(
            Method::POST,
            &format!("/stores/demo/v3/carts/{id}/redirect_urls"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut urls = r.data().clone();
    for key in ["cart_url", "checkout_url", "embedded_checkout_url"] {
        let path = urls[key]
            .as_str()
            .unwrap()
            .trim_start_matches(&app.base)
            .to_string();
        urls[key] = json!(path);
    }
    (id, urls)
}

async fn redirect_links_sign_into_the_storefront_session(app: TestApp) {
    let app = app.with_fixtures().await;
    let (id, urls) = merchant_cart_links(&app).await;
    let b = app.browser();
    let link = urls["checkout_url"].as_str().unwrap();
    assert_eq!(b.open_link(link).await, StatusCode::SEE_OTHER);
    assert!(b.cookie("SHOP_SESSION_TOKEN").is_some(), "signed in");
    // The Storefront API sees the cart with the same cookie, as the SDK would.
    let r = b.get(&format!("{SF}/carts")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["id"], id.as_str(), "{}", r.body);
    assert_eq!(num(&r.body[0]["baseAmount"]), 39.98);
    let r = b.get(&format!("{SF}/checkouts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(num(&r.body["subtotal"]), 39.98);
    // ...and may change it (its CSRF token came with the session).
    let r = b
        .post(&format!("{SF}/checkouts/{id}/billing-address"), address())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Another shopper sees nothing of it.
    let other = app.browser();
    let r = other.get(&format!("{SF}/checkouts/{id}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("{SF}/carts")).await.body, json!([]));
    // The link was single-use: replaying it signs no one in.
    assert_eq!(other.open_link(link).await, StatusCode::NOT_FOUND);
    assert!(other.cookie("SHOP_SESSION_TOKEN").is_none());
    assert_eq!(other.get(&format!("{SF}/carts")).await.body, json!([]));

    // A shopper who already has a session keeps it and gains the linked cart.
    let own = lamp_cart(&other).await;
    let before = other.cookie("SHOP_SESSION_TOKEN");
    let (second, urls) = merchant_cart_links(&app).await;
    let link = urls["cart_url"].as_str().unwrap();
    assert_eq!(other.open_link(link).await, StatusCode::SEE_OTHER);
    assert_eq!(other.cookie("SHOP_SESSION_TOKEN"), before);
    let r = other.get(&format!("{SF}/carts")).await;
    let mut ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![own.as_str(), second.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    // The first shopper does not see the second's carts.
    let r = b.get(&format!("{SF}/checkouts/{second}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);
}

/// Another browser holding `b`'s cookies as they are now.
fn copy_of<'a>(b: &Browser<'a>) -> Browser<'a> {
    let copy = b.app.browser();
    copy.cookies
        .lock()
        .unwrap()
        .extend(b.cookies.lock().unwrap().clone());
    copy
}

/// A hosted page as the shopper's browser gets it: the status and the HTML.
async fn page(b: &Browser<'_>, path: &str) -> (StatusCode, String) {
    let jar = b.cookies.lock().expect("jar").clone();
    let cookies = jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let res = b
        .app
        .client
        .get(format!("{}{path}", b.app.base))
        .header("Cookie", cookies)
        .send()
        .await
        .expect("page");
    let status = res.status();
    (status, res.text().await.expect("html"))
}

/// The hosted pages know their shopper by the storefront session alone: the link sets
/// no cookie of its own, a sign-in through the SDK (a new session token) keeps the page
/// working, and the old token, another browser or a cart gone open nothing.
async fn hosted_pages_know_the_shopper_by_the_storefront_session(app: TestApp) {
    let app = app.with_fixtures().await;
    customer_with_password(&app, "sam@example.com").await;
    let (id, urls) = merchant_cart_links(&app).await;
    let b = app.browser();
    assert_eq!(
        b.open_link(urls["checkout_url"].as_str().unwrap()).await,
        StatusCode::SEE_OTHER
    );
    let jar: Vec<String> = b.cookies.lock().unwrap().keys().cloned().collect();
    assert_eq!(jar, vec!["SHOP_SESSION_TOKEN", "XSRF-TOKEN"], "{jar:?}");
    let (status, html) = page(&b, "/stores/demo/checkout").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("39.98"), "{html}");
    let (status, html) = page(&b, "/stores/demo/cart").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (status, html) = page(&app.browser(), "/stores/demo/cart").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("session has ended"), "{html}");

    // Signing in replaces the session token; the pages follow it, the old token is dead.
    let stale = copy_of(&b);
    sign_in_sam(&b).await;
    let (status, html) = page(&b, "/stores/demo/cart").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("39.98"), "{html}");
    assert_eq!(
        page(&stale, "/stores/demo/cart").await.0,
        StatusCode::NOT_FOUND
    );

    // A cart the session no longer has is no page either.
    let r = app.delete(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(page(&b, "/stores/demo/cart").await.0, StatusCode::NOT_FOUND);
}

/// A refused order as the Checkout SDK reads it: `type` is the code it acts on, and
/// `errors` the messages (strings) it shows.
fn assert_sdk_refusal(r: &common::Reply, kind: &str, says: &str) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["type"], kind, "{}", r.body);
    assert_eq!(r.body["status"], 422);
    let errors = r.body["errors"].as_array().expect("errors");
    assert!(errors.iter().all(Value::is_string), "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains(says),
        "{}",
        r.body
    );
}

async fn sdk_refusals_carry_the_types_the_sdk_maps(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let r = b
        .post(
            &format!("{SF}/carts"),
            json!({"lineItems": [{"productId": 940, "quantity": 3}]}),
        )
        .await;
    let id = r.body["id"].as_str().expect("cart id").to_string();
    // No shipping address for the lamp yet.
    let r = b
        .post(&format!("{SF}/checkouts/{id}/billing-address"), address())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let item = r.body["cart"]["lineItems"]["physicalItems"][0]["id"].clone();
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_sdk_refusal(&r, "invalid_shipping_address", "no consignment");
    // An address, but no shipping option chosen.
    let r = b
        .post(
            &format!(
                "{SF}/checkouts/{id}/consignments?include=consignments.availableShippingOptions"
            ),
            json!([{"address": address(), "lineItems": [{"itemId": item, "quantity": 3}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let consignment = r.body["consignments"][0].clone();
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_sdk_refusal(&r, "missing_shipping_method", "no shipping option selected");
    let r = b
        .put(
            &format!(
                "{SF}/checkouts/{id}/consignments/{}",
                consignment["id"].as_str().unwrap()
            ),
            json!({"shippingOptionId": consignment["availableShippingOptions"][0]["id"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Another shopper's order takes one of the three lamps in stock first.
    let other = app.browser();
    let first = lamp_cart(&other).await;
    ready_to_order(&other, &first).await;
    let r = other.post(ORDER, json!({"cartId": first})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.headers["token"].to_str().unwrap().to_string();
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_sdk_refusal(&r, "stock_too_low", "Only 2");
    // Nothing was placed: the checkout is still open.
    assert_eq!(
        b.get(&format!("{SF}/checkout/{id}")).await.status,
        StatusCode::OK
    );

    // A declined card, in the payment API's shape the SDK's card strategy reads.
    let r = app
        .client
        .post(format!("{}{BIGPAY}", app.base))
        .header("Authorization", token)
        .header("Content-Type", "application/json")
        .body(card("4000000000000002").to_string())
        .send()
        .await
        .expect("request");
    let r = TestApp::reply(r).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert_eq!(r.body["errors"][0]["code"], "transaction_declined");
    assert_eq!(r.body["errors"][0]["message"], "The card was declined.");
    // Refusals the SDK has no type for keep the storefront's error shape.
    let r = b
        .post(ORDER, json!({"cartId": id, "payment": {"name": "cheque"}}))
        .await;
    assert_sf_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
}

const SIGN_IN: &str = "/internalapi/v1/checkout/customer";
const CUSTOMERS: &str = "/stores/demo/v3/customers";
const SAM_PASSWORD: &str = "kassa-test-42";

/// A customer with a storefront password and 10.00 of store credit; returns its id.
async fn customer_with_password(app: &TestApp, email: &str) -> i64 {
    let r = app
        .post(
            CUSTOMERS,
            json!([{"email": email, "first_name": "Sam", "last_name": "Shopper",
                    "store_credit_amounts": [{"amount": 10}],
                    "authentication": {"new_password": SAM_PASSWORD}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The password is never answered, hashed or not.
    let text = r.body.to_string();
    assert!(
        !text.contains(SAM_PASSWORD) && !text.contains("pbkdf2"),
        "{text}"
    );
    r.body["data"][0]["id"].as_i64().expect("customer id")
}

/// Signs `sam@example.com` in (see [`customer_with_password`]); the answer.
async fn sign_in_sam(b: &Browser<'_>) -> common::Reply {
    let r = b
        .post(
            SIGN_IN,
            json!({"email": "sam@example.com", "password": SAM_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

/// A refused sign-in as the Checkout SDK reads it (the internal API's shape).
fn assert_bad_credentials(r: &common::Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.body["type"], "invalid_credentials", "{}", r.body);
    assert_eq!(
        r.body["errors"],
        json!(["The email address or password you entered is not valid."]),
        "{}",
        r.body
    );
}

async fn sdk_customer_signs_in_and_out(app: TestApp) {
    let app = app.with_fixtures().await;
    // A password must have 8+ characters with letters and digits.
    let r = app
        .post(
            CUSTOMERS,
            json!([{"email": "weak@example.com", "first_name": "W", "last_name": "K",
                    "authentication": {"new_password": "letmein"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("new_password"), "{}", r.body);
    let sam = customer_with_password(&app, "sam@example.com").await;

    let b = app.browser();
    let id = lamp_cart(&b).await;
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.body["customer"]["isGuest"], true, "{}", r.body);
    assert_eq!(r.body["customer"]["id"], 0);

    // A wrong password and an unknown email read exactly alike.
    let wrong = b
        .post(
            SIGN_IN,
            json!({"email": "sam@example.com", "password": "not-it-42"}),
        )
        .await;
    assert_bad_credentials(&wrong);
    let unknown = b
        .post(
            SIGN_IN,
            json!({"email": "nobody@example.com", "password": SAM_PASSWORD}),
        )
        .await;
    assert_bad_credentials(&unknown);
    assert_eq!(wrong.body, unknown.body);
    let r = b.post(SIGN_IN, json!({"email": "sam@example.com"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0], "The field `password` is required.");

    // Signing in (any case of the email) replaces the session and its cookies.
    let before = b.cookie("SHOP_SESSION_TOKEN").expect("session");
    let stale = copy_of(&b);
    let r = b
        .post(
            SIGN_IN,
            json!({"email": "SAM@example.com", "password": SAM_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["customer"]["id"], sam);
    assert_eq!(r.body["data"]["customer"]["isGuest"], false);
    let after = b.cookie("SHOP_SESSION_TOKEN").expect("session");
    assert_ne!(before, after, "the session token changes at sign-in");
    // The token from before sign-in opens nothing any more.
    let r = stale.get(&format!("{SF}/checkout/{id}")).await;
    assert_sf_error(&r, StatusCode::NOT_FOUND);

    // The checkout shows the customer; the cart carries the customer's id.
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body["customer"];
    assert_eq!(c["id"], sam, "{c}");
    assert_eq!(c["isGuest"], false);
    assert_eq!(c["email"], "sam@example.com");
    assert_eq!(c["firstName"], "Sam");
    assert_eq!(c["lastName"], "Shopper");
    assert_eq!(c["fullName"], "Sam Shopper");
    assert_eq!(num(&c["storeCredit"]), 10.0);
    assert_eq!(c["addresses"], json!([]));
    let v3 = app.get(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(v3.body["data"]["customer_id"], sam, "{}", v3.body);
    // A cart started after signing in is the customer's from the start.
    let second = lamp_cart(&b).await;
    let v3 = app.get(&format!("/stores/demo/v3/carts/{second}")).await;
    assert_eq!(v3.body["data"]["customer_id"], sam, "{}", v3.body);

    // Another shopper sees neither the checkout nor the customer.
    let other = app.browser();
    assert_sf_error(
        &other.get(&format!("{SF}/checkout/{id}")).await,
        StatusCode::NOT_FOUND,
    );
    let theirs = lamp_cart(&other).await;
    let r = other.get(&format!("{SF}/checkout/{theirs}")).await;
    assert_eq!(r.body["customer"]["isGuest"], true, "{}", r.body);
    assert_eq!(r.body["customer"]["firstName"], "");

    // The signed-in customer's store credit can be used...
    let r = b
        .post(&format!("{SF}/checkouts/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["isStoreCreditApplied"], true, "{}", r.body);
    // ...and signing out takes it off again: the checkout is a guest's.
    let r = b.delete(SIGN_IN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["customer"]["isGuest"], true);
    assert_ne!(
        b.cookie("SHOP_SESSION_TOKEN").as_deref(),
        Some(after.as_str())
    );
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customer"]["isGuest"], true, "{}", r.body);
    assert_eq!(r.body["customer"]["id"], 0);
    assert_eq!(r.body["customer"]["storeCredit"], 0);
    assert_eq!(r.body["isStoreCreditApplied"], false, "{}", r.body);
    let v3 = app.get(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(v3.body["data"]["customer_id"], 0, "{}", v3.body);
    // Signing out again changes nothing.
    assert_eq!(b.delete(SIGN_IN).await.status, StatusCode::OK);
}

const ACCOUNT: &str = "/api/storefront/customer";
const SAVE_ADDRESS: &str = "/api/storefront/customer-address";

/// Addresses saved through the Customers API show in the signed-in shopper's checkout
/// and sign-in answer, in the shape the Checkout SDK reads.
async fn sdk_saved_addresses_show_in_the_checkout(app: TestApp) {
    let app = app.with_fixtures().await;
    let sam = customer_with_password(&app, "sam@example.com").await;
    let r = app
        .post(
            "/stores/demo/v3/customers/addresses",
            json!([{"customer_id": sam, "first_name": "Sam", "last_name": "Shopper",
                "address1": "1 Main St", "city": "San Francisco", "state_or_province": "California",
                "postal_code": "94105", "country_code": "US", "phone": "+1 415 555 0100"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let address_id = r.body["data"][0]["id"].as_i64().expect("address id");
    let b = app.browser();
    let id = lamp_cart(&b).await;
    let r = sign_in_sam(&b).await;
    let saved = json!([{"id": address_id, "type": "residential", "firstName": "Sam",
        "lastName": "Shopper", "company": "", "address1": "1 Main St", "address2": "",
        "city": "San Francisco", "stateOrProvince": "California", "stateOrProvinceCode": "CA",
        "country": "United States", "countryCode": "US", "postalCode": "94105",
        "phone": "+14155550100", "customFields": []}]);
    assert_eq!(r.body["data"]["customer"]["addresses"], saved, "{}", r.body);
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.body["customer"]["addresses"], saved, "{}", r.body);
    // Signed out, the checkout shows no addresses.
    b.delete(SIGN_IN).await;
    let r = b.get(&format!("{SF}/checkout/{id}")).await;
    assert_eq!(r.body["customer"]["addresses"], json!([]), "{}", r.body);
}

/// The Checkout SDK's `createCustomerAccount` opens an account and signs the shopper in
/// (new session, carts become the customer's); `createCustomerAddress` saves to the
/// signed-in customer's address book.
async fn sdk_creates_account_and_address(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    let before = b.cookie("SHOP_SESSION_TOKEN").expect("session");
    // A guest has no address book.
    let home = json!({"firstName": "Kim", "lastName": "Lee", "company": "", "address1": "55 Market St",
        "address2": "", "city": "San Francisco", "stateOrProvince": "", "stateOrProvinceCode": "CA",
        "countryCode": "US", "postalCode": "94105", "phone": "", "customFields": []});
    let r = b.post(SAVE_ADDRESS, home.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);

    // Refusals name what is wrong; nothing is created.
    for (body, says) in [
        (
            json!({"firstName": "Kim", "lastName": "Lee", "email": "kim@example.com", "password": "short1"}),
            "8 to 128",
        ),
        (
            json!({"firstName": "Kim", "lastName": "Lee", "email": "not-an-email", "password": "kassa-test-42"}),
            "email address",
        ),
        (
            json!({"firstName": "", "lastName": "Lee", "email": "kim@example.com", "password": "kassa-test-42"}),
            "first_name",
        ),
        (
            json!({"firstName": "Kim", "lastName": "Lee", "email": "SAM@example.com", "password": "kassa-test-42"}),
            "already exists",
        ),
    ] {
        if says == "already exists" {
            customer_with_password(&app, "sam@example.com").await;
        }
        let r = b.post(ACCOUNT, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["type"], "invalid_request", "{}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap_or_default().contains(says),
            "{}",
            r.body
        );
    }
    let r = app
        .get(&format!("{CUSTOMERS}?email:in=kim@example.com"))
        .await;
    assert_eq!(r.body["data"], json!([]), "{}", r.body);

    let r = b
        .post(
            ACCOUNT,
            json!({"firstName": "Kim", "lastName": "Lee", "email": "Kim@Example.com",
                "password": "kassa-test-42", "acceptsMarketingEmails": true, "customFields": [],
                "token": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kim = r.body["data"]["customer"]["id"]
        .as_i64()
        .expect("customer id");
    assert_eq!(r.body["data"]["customer"]["isGuest"], false);
    assert_eq!(r.body["data"]["customer"]["fullName"], "Kim Lee");
    assert_ne!(b.cookie("SHOP_SESSION_TOKEN").expect("session"), before);
    // Signed in: the checkout is the new customer's, and the password works for sign-in.
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(r.body["customer"]["id"], kim, "{}", r.body);
    let v3 = app.get(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(v3.body["data"]["customer_id"], kim, "{}", v3.body);
    let r = app
        .post(
            "/stores/demo/v3/customers/validate-credentials",
            json!({"email": "kim@example.com", "password": "kassa-test-42"}),
        )
        .await;
    assert_eq!(r.body, json!({"is_valid": true, "customer_id": kim}));

    // Saving addresses: a bad one is refused, a good one lands in the book (once).
    let mut bad = home.clone();
    bad["postalCode"] = json!("ABCDE");
    let r = b.post(SAVE_ADDRESS, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("postal"),
        "{}",
        r.body
    );
    let r = b.post(SAVE_ADDRESS, home.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The customer itself, which the SDK merges into its own.
    assert_eq!(r.body["id"], kim, "{}", r.body);
    let book = &r.body["addresses"];
    assert_eq!(book.as_array().map(Vec::len), Some(1), "{}", r.body);
    assert_eq!(book[0]["stateOrProvince"], "California");
    assert_eq!(book[0]["city"], "San Francisco");
    let r = b.post(SAVE_ADDRESS, home).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["addresses"].as_array().map(Vec::len), Some(1));
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={kim}"
        ))
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 1, "{}", r.body);
    assert_eq!(r.body["data"][0]["address1"], "55 Market St");
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(
        r.body["customer"]["addresses"][0]["postalCode"], "94105",
        "{}",
        r.body
    );
    // The CSRF token guards these writes like every other.
    let mut b = b;
    b.send_csrf = false;
    let r = b
        .send(
            Method::POST,
            SAVE_ADDRESS,
            Some(json!({})),
            &[("X-XSRF-TOKEN", "nope")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

async fn sdk_sign_in_locks_after_failures(app: TestApp) {
    let app = app.with_fixtures().await;
    customer_with_password(&app, "sam@example.com").await;
    let b = app.browser();
    // Known and unknown emails lock alike, so the lock tells nothing either.
    for email in ["sam@example.com", "ghost@example.com"] {
        for _ in 0..5 {
            let r = b
                .post(SIGN_IN, json!({"email": email, "password": "guess-1234"}))
                .await;
            assert_bad_credentials(&r);
        }
        let r = b
            .post(SIGN_IN, json!({"email": email, "password": SAM_PASSWORD}))
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert_eq!(r.body["type"], "too_many_sign_in_attempts", "{}", r.body);
        assert!(r.body["errors"][0].is_string(), "{}", r.body);
        assert_eq!(r.headers["retry-after"], "900");
    }
    // Another email is not held up by them.
    customer_with_password(&app, "kim@example.com").await;
    let r = b
        .post(
            SIGN_IN,
            json!({"email": "kim@example.com", "password": SAM_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The merchant lowers `customer`'s store credit to 1.00 before the order is placed
/// with more applied: the Checkout SDK is told `cart_has_changed`.
async fn shrink_credit_then_order(app: &TestApp, b: &Browser<'_>, id: &str, customer: i64) {
    let r = app
        .put(
            CUSTOMERS,
            json!([{"id": customer, "store_credit_amounts": [{"amount": 1}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_sdk_refusal(&r, "cart_has_changed", "store credit");
}

/// A signed-in customer's order carries the customer's id and pays with store credit;
/// when the credit shrank meanwhile, the SDK is told `cart_has_changed`.
async fn sdk_signed_in_order_and_cart_has_changed(app: TestApp) {
    let app = app.with_fixtures().await;
    let sam = customer_with_password(&app, "sam@example.com").await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    ready_to_order(&b, &id).await;
    sign_in_sam(&b).await;
    let r = b
        .post(&format!("{SF}/checkouts/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // 30.55 to pay, 10.00 of it by store credit.
    assert_eq!(num(&r.body["grandTotal"]), 30.55, "{}", r.body);
    assert_eq!(num(&r.body["outstandingBalance"]), 20.55, "{}", r.body);
    shrink_credit_then_order(&app, &b, &id, sam).await;
    // Taking the credit off and on again applies what is there now.
    let r = b.delete(&format!("{SF}/checkouts/{id}/store-credit")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = b
        .post(&format!("{SF}/checkouts/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(num(&r.body["outstandingBalance"]), 29.55, "{}", r.body);
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let order = r.body["data"]["order"]["orderId"]
        .as_i64()
        .expect("order id");
    let v2 = app.get(&format!("/stores/demo/v2/orders/{order}")).await;
    assert_eq!(v2.body["customer_id"], sam, "{}", v2.body);
    let r = app
        .get(&format!("{CUSTOMERS}?id:in={sam}&include=storecredit"))
        .await;
    assert_eq!(
        num(&r.body["data"][0]["store_credit_amounts"][0]["amount"]),
        0.0,
        "{}",
        r.body
    );
}

/// An order endpoint call for a checkout left without items answers `empty_cart`.
/// (Kassa deletes a cart whose last item goes, so this is the race where the items
/// went between the SDK's last read and its order: simulated by emptying the stored
/// cart directly.)
async fn sdk_empty_cart_refusal(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    ready_to_order(&b, &id).await;
    let store = app
        .kassa
        .store
        .find_store("demo")
        .await
        .expect("store")
        .expect("demo store");
    let cart_id = uuid::Uuid::parse_str(&id).unwrap();
    let mut cart = app
        .kassa
        .store
        .get_cart(store.id, cart_id, app.kassa.now())
        .await
        .expect("read")
        .expect("cart");
    let version = cart.version;
    cart.line_items.clear();
    cart.touch(app.kassa.now());
    assert!(
        app.kassa
            .store
            .save_cart(store.id, &cart, version)
            .await
            .expect("save")
    );
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_sdk_refusal(&r, "empty_cart", "no items");
}

/// Storefront errors for the Checkout SDK (it sends `X-Checkout-SDK-Version`) carry a
/// string `detail` and no `errors` list, so the SDK shows the message; other callers
/// keep the spec's `errors` list.
async fn sdk_storefront_errors_read_as_messages(app: TestApp) {
    let app = app.with_fixtures().await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    let path = format!("{SF}/checkouts/{id}/coupons");
    let r = b
        .send(
            Method::POST,
            &path,
            Some(json!({"couponCode": "NOPE"})),
            &[("X-Checkout-SDK-Version", "1.983.2")],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_eq!(r.body["status"], r.status.as_u16(), "{}", r.body);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert_eq!(
        r.body["detail"], "The coupon code `NOPE` is not valid for this store.",
        "{}",
        r.body
    );
    assert_eq!(r.body["title"], r.body["detail"]);
    assert!(r.body["type"].is_string());
    // A CSRF refusal reads the same way.
    let mut forged = app.browser();
    forged.send_csrf = false;
    forged
        .cookies
        .lock()
        .unwrap()
        .extend(b.cookies.lock().unwrap().clone());
    let r = forged
        .send(
            Method::POST,
            &path,
            Some(json!({"couponCode": "SAVE5"})),
            &[("X-Checkout-SDK-Version", "1.983.2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("CSRF"),
        "{}",
        r.body
    );
    let r = b.post(&path, json!({"couponCode": "NOPE"})).await;
    assert!(r.body["errors"][0]["title"].is_string(), "{}", r.body);
}

/// The streets of a customer's address book (Customers V3), sorted.
async fn book(app: &TestApp, customer: i64) -> Vec<String> {
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={customer}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut streets: Vec<String> = r.body["data"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| a["address1"].as_str().unwrap_or_default().to_string())
        .collect();
    streets.sort();
    streets
}

/// [`address`] on `street`, with `shouldSaveAddress` as the Checkout SDK sends it.
fn address_at(street: &str, save: bool) -> Value {
    let mut a = address();
    a["address1"] = json!(street);
    a["shouldSaveAddress"] = json!(save);
    a
}

/// Places the shopper's order through the Checkout SDK's endpoint; the V2 order.
async fn sdk_order(app: &TestApp, b: &Browser<'_>, id: &str) -> Value {
    let r = b.post(ORDER, json!({"cartId": id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let order = r.body["data"]["order"]["orderId"]
        .as_i64()
        .expect("order id");
    app.get(&format!("/stores/demo/v2/orders/{order}"))
        .await
        .body
}

/// `shouldSaveAddress` on the billing and shipping addresses: a signed-in customer's
/// order adds them to the customer's address book in the order's own transaction (an
/// order the store refuses saves nothing), once each; a guest's flag is ignored.
async fn sdk_flagged_addresses_join_the_book_with_the_order(app: TestApp) {
    let app = app.with_fixtures().await;
    let sam = customer_with_password(&app, "sam@example.com").await;
    let b = app.browser();
    let id = lamp_cart(&b).await;
    sign_in_sam(&b).await;
    let ck = ready_to_order_at(
        &b,
        &id,
        address_at("1 Main St", true),
        address_at("55 Market St", true),
    )
    .await;
    assert_eq!(ck["billingAddress"]["shouldSaveAddress"], true, "{ck}");
    assert_eq!(
        ck["consignments"][0]["address"]["shouldSaveAddress"], true,
        "{ck}"
    );
    assert!(
        book(&app, sam).await.is_empty(),
        "nothing saved before the order"
    );

    // The store refuses the order (the store credit it used shrank): nothing is saved.
    let r = b
        .post(&format!("{SF}/checkouts/{id}/store-credit"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    shrink_credit_then_order(&app, &b, &id, sam).await;
    assert!(
        book(&app, sam).await.is_empty(),
        "a refused order saves nothing"
    );

    let r = b.delete(&format!("{SF}/checkouts/{id}/store-credit")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = sdk_order(&app, &b, &id).await;
    assert_eq!(order["customer_id"], sam, "{order}");
    assert_eq!(book(&app, sam).await, ["1 Main St", "55 Market St"]);
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={sam}"
        ))
        .await;
    let saved = &r.body["data"][0];
    assert_eq!(saved["first_name"], "Pat", "{saved}");
    assert_eq!(saved["city"], "Somewhere", "{saved}");
    assert_eq!(saved["state_or_province"], "California", "{saved}");
    assert_eq!(saved["postal_code"], "94105", "{saved}");
    assert_eq!(saved["country_code"], "US", "{saved}");
    // The SDK's customer lists them from now on.
    let id = lamp_cart(&b).await;
    let r = b.get(&format!("{SF}/checkout/{id}?include=customer")).await;
    assert_eq!(
        r.body["customer"]["addresses"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );

    // Again: the same billing address (in other letter case) flagged, and a new shipping
    // address not flagged. The book already has the one and is not asked for the other.
    let mut again = address_at("1 MAIN ST", true);
    again["city"] = json!("SOMEWHERE");
    ready_to_order_at(&b, &id, again, address_at("9 Pine St", false)).await;
    let order = sdk_order(&app, &b, &id).await;
    assert_eq!(order["customer_id"], sam, "{order}");
    assert_eq!(book(&app, sam).await, ["1 Main St", "55 Market St"]);

    // A guest has no book: the flag changes nothing, and the order is placed.
    let guest = app.browser();
    let id = lamp_cart(&guest).await;
    ready_to_order_at(
        &guest,
        &id,
        address_at("7 Guest Way", true),
        address_at("7 Guest Way", true),
    )
    .await;
    let order = sdk_order(&app, &guest, &id).await;
    assert_eq!(order["customer_id"], 0, "{order}");
    let r = app.get("/stores/demo/v3/customers/addresses").await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 2, "{}", r.body);
}

/// The value of the hosted checkout form's hidden `name` field.
fn form_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        .to_string()
}

/// The hosted one-page checkout offers a signed-in customer (only) a "Save this address"
/// box per address; a ticked box saves the address with the order.
async fn hosted_checkout_saves_ticked_addresses(app: TestApp) {
    let app = app.with_fixtures().await;
    let sam = customer_with_password(&app, "sam@example.com").await;
    // A guest's checkout has no box.
    let (_, urls) = merchant_cart_links(&app).await;
    let guest = app.browser();
    guest
        .open_link(urls["checkout_url"].as_str().unwrap())
        .await;
    let (status, html) = page(&guest, "/stores/demo/checkout").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("Save this address"), "{html}");

    // The customer's cart, opened through its link.
    let r = app
        .post(
            "/stores/demo/v3/carts?include=redirect_urls",
            json!({"customer_id": sam, "line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.data()["id"].as_str().expect("cart id").to_string();
    let link = r.data()["redirect_urls"]["checkout_url"]
        .as_str()
        .expect("checkout url")
        .trim_start_matches(&app.base)
        .to_string();
    let b = app.browser();
    assert_eq!(b.open_link(&link).await, StatusCode::SEE_OTHER);
    let (status, html) = page(&b, "/stores/demo/checkout").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for prefix in ["bill_", "ship_"] {
        assert!(
            html.contains(&format!(
                "<input type=\"checkbox\" id=\"{prefix}save\" name=\"{prefix}save\" value=\"1\"><label for=\"{prefix}save\">Save this address in my address book</label>"
            )),
            "{html}"
        );
    }
    let csrf = form_value(&html, "csrf");
    let (status, _, html) = b
        .post_form(
            "/stores/demo/checkout/details",
            &[
                ("csrf", &csrf),
                ("email", "sam@example.com"),
                ("bill_first_name", "Sam"),
                ("bill_last_name", "Shopper"),
                ("bill_address1", "1 Market St"),
                ("bill_city", "San Francisco"),
                ("bill_state_or_province", "California"),
                ("bill_postal_code", "94105"),
                ("bill_country_code", "US"),
                ("bill_save", "1"),
                ("same_as_billing", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    // The page shows the box ticked, and the Storefront API the flag.
    let (_, html) = page(&b, "/stores/demo/checkout").await;
    assert!(
        html.contains("id=\"bill_save\" name=\"bill_save\" value=\"1\" checked>"),
        "{html}"
    );
    let r = b.get(&format!("{SF}/checkouts/{id}")).await;
    assert_eq!(
        r.body["billingAddress"]["shouldSaveAddress"], true,
        "{}",
        r.body
    );
    assert!(
        book(&app, sam).await.is_empty(),
        "saved with the order, not before"
    );
    let option = form_value(&html, "option");
    let (status, _, html) = b
        .post_form(
            "/stores/demo/checkout/shipping",
            &[("csrf", &csrf), ("option", &option)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (status, headers, html) = b
        .post_form(
            "/stores/demo/checkout/pay",
            &[
                ("csrf", &csrf),
                ("card_name", "Sam Shopper"),
                ("card_number", "4111 1111 1111 1111"),
                ("exp_month", "12"),
                ("exp_year", "2040"),
                ("cvv", "123"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let location = headers["location"].to_str().unwrap_or_default();
    assert!(location.contains("order-confirmation"), "{location}");
    assert_eq!(book(&app, sam).await, ["1 Market St"]);
}

/// Opens the account `bot{n}@example.com` from a browser with no cookies (as a script
/// would: the limit is not the session's).
async fn open_account(app: &TestApp, n: usize, extra: &[(&str, &str)]) -> common::Reply {
    let body = json!({"firstName": "Bot", "lastName": format!("No {n}"),
        "email": format!("bot{n}@example.com"), "password": "kassa-test-42"});
    app.browser()
        .send(Method::POST, ACCOUNT, Some(body), extra)
        .await
}

/// Opening accounts is limited per client address: five attempts (opened or refused)
/// within 15 minutes, then 429 in the storefront's error shape with `Retry-After` until
/// the window has passed. Another client is not held up.
async fn sdk_account_creation_is_limited_per_client(app: TestApp) {
    let app = app.with_fixtures().await;
    // A refused attempt counts as much as an opened account.
    let b = app.browser();
    let r = b
        .post(
            ACCOUNT,
            json!({"firstName": "Bot", "lastName": "Weak", "email": "weak@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for n in 1..5 {
        let r = open_account(&app, n, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = open_account(&app, 5, &[]).await;
    assert_sf_error(&r, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Too many accounts"),
        "{}",
        r.body
    );
    assert_eq!(r.headers["retry-after"], "900");
    // The Checkout SDK reads the same refusal as a message.
    let r = open_account(&app, 5, &[("X-Checkout-SDK-Version", "1.983.2")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Too many accounts"),
        "{}",
        r.body
    );
    // A spam-protection token proves nothing without a verifier (the default).
    let r = app
        .browser()
        .post(
            ACCOUNT,
            json!({"firstName": "Bot", "lastName": "Five", "email": "bot5@example.com",
                "password": "kassa-test-42", "token": "made-up"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let r = app
        .get(&format!("{CUSTOMERS}?email:in=bot5@example.com"))
        .await;
    assert_eq!(r.body["data"], json!([]), "{}", r.body);

    // Another client, behind the same (loopback) proxy, is not held up.
    let r = open_account(&app, 6, &[("X-Forwarded-For", "203.0.113.9")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // After the window the first client may open accounts again.
    app.clock.advance(15 * 60);
    let r = open_account(&app, 5, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The `Set-Cookie` values of a response, by cookie name.
fn set_cookies(headers: &reqwest::header::HeaderMap) -> std::collections::BTreeMap<String, String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| Some((v.split('=').next()?.to_string(), v.to_string())))
        .collect()
}

/// Over TLS, an embedded checkout's session cookies are `SameSite=None; Secure` whenever
/// they are set: by its link, by a sign-in inside the frame (a new session), and when
/// the CSRF cookie is set again. Plain HTTP stays `Lax`, and so does a checkout that is
/// not embedded.
async fn embedded_checkout_keeps_frame_cookies_through_sign_in(app: TestApp) {
    let app = app.with_fixtures().await;
    customer_with_password(&app, "sam@example.com").await;
    const TLS: (&str, &str) = ("X-Forwarded-Proto", "https");
    let sign_in = json!({"email": "sam@example.com", "password": SAM_PASSWORD});
    for (link, tls, want) in [
        ("embedded_checkout_url", true, "; SameSite=None; Secure"),
        ("embedded_checkout_url", false, "; SameSite=Lax"),
        ("checkout_url", true, "; SameSite=Lax; Secure"),
    ] {
        let extra: &[(&str, &str)] = if tls { &[TLS] } else { &[] };
        let (_, urls) = merchant_cart_links(&app).await;
        let b = app.browser();
        let (status, headers) = b.open_link_with(urls[link].as_str().unwrap(), extra).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{link}");
        let first = b.cookie("SHOP_SESSION_TOKEN");
        let check =
            |what: &str, set: &std::collections::BTreeMap<String, String>, names: &[&str]| {
                for name in names {
                    let c = set.get(*name).unwrap_or_else(|| {
                        panic!("{what} ({link}, tls {tls}) sets no {name}: {set:?}")
                    });
                    assert!(c.ends_with(want), "{what} ({link}, tls {tls}): {c}");
                }
            };
        check(
            "the link",
            &set_cookies(&headers),
            &["SHOP_SESSION_TOKEN", "XSRF-TOKEN"],
        );
        // A sign-in inside the frame replaces the session: the new cookies are the frame's too.
        let r = b
            .send(Method::POST, SIGN_IN, Some(sign_in.clone()), extra)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_ne!(b.cookie("SHOP_SESSION_TOKEN"), first);
        check(
            "sign-in",
            &set_cookies(&r.headers),
            &["SHOP_SESSION_TOKEN", "XSRF-TOKEN"],
        );
        let (status, html) = page(&b, "/stores/demo/checkout").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the page follows the new session: {html}"
        );
        // A CSRF cookie out of step with the session is set again, alike.
        b.cookies.lock().unwrap().remove("XSRF-TOKEN");
        let r = b
            .send(Method::GET, &format!("{SF}/carts"), None, extra)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check("CSRF refresh", &set_cookies(&r.headers), &["XSRF-TOKEN"]);
    }
}

on_both_backends!(
    sdk_flagged_addresses_join_the_book_with_the_order,
    hosted_checkout_saves_ticked_addresses,
    sdk_account_creation_is_limited_per_client,
    embedded_checkout_keeps_frame_cookies_through_sign_in,
    sdk_customer_signs_in_and_out,
    sdk_saved_addresses_show_in_the_checkout,
    sdk_creates_account_and_address,
    sdk_sign_in_locks_after_failures,
    sdk_signed_in_order_and_cart_has_changed,
    sdk_empty_cart_refusal,
    sdk_storefront_errors_read_as_messages,
    sdk_refusals_carry_the_types_the_sdk_maps,
    redirect_links_sign_into_the_storefront_session,
    hosted_pages_know_the_shopper_by_the_storefront_session,
    sdk_offline_order_marked_paid_issues_gift_certificates_once,
    sdk_settings_fields_countries_and_methods,
    sdk_order_then_card_payment_to_the_cent,
    sdk_offline_order_awaits_payment,
    openapi_lists_every_storefront_operation,
    whole_flow_to_the_cent,
    one_shopper_never_reaches_another,
    writes_need_the_csrf_token,
    cors_for_configured_origins_only,
    store_from_host,
    currency_change_and_line_items_through_checkout,
);
