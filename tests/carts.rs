//! The server-to-server Cart API over real HTTP, on SQLite and PostgreSQL.
//! Amounts are checked to the cent against the fixture catalog in `common::fixtures`.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    simple_product_totals,
    variant_by_id_and_by_options,
    variant_errors,
    modifiers_adjust_price,
    modifier_errors,
    list_price_override_and_name,
    sale_price_is_list_price,
    custom_items_and_gift_certificates,
    gift_certificate_validation,
    digital_items_are_separate,
    adding_the_same_item_merges,
    update_and_delete_items,
    deleting_last_item_deletes_cart,
    stale_version_is_409,
    concurrent_additions_are_never_lost,
    stock_is_enforced,
    changes_see_the_catalog_as_it_is_now,
    disabled_products_are_refused,
    bad_quantities_are_refused,
    unknown_things_are_422,
    currencies_convert_and_round,
    include_options,
    redirect_urls,
    carts_expire_after_30_days,
    update_customer,
    delete_cart,
);

const CARTS: &str = "/stores/demo/v3/carts";

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(CARTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data().clone()
}

fn num(v: &Value) -> f64 {
    // Tests compare to decimal literals; the server never does float arithmetic.
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn physical(cart: &Value, i: usize) -> &Value {
    &cart["line_items"]["physical_items"][i]
}

async fn simple_product_totals(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 940, "quantity": 3}]}),
    )
    .await;
    let line = physical(&cart, 0);
    assert_eq!(line["product_id"], 940);
    assert_eq!(line["variant_id"], 94000);
    assert_eq!(line["name"], "Lamp (fixture)");
    assert_eq!(line["sku"], "V-94000");
    assert_eq!(line["url"], format!("{}/products/940/", app.base));
    assert_eq!(line["quantity"], 3);
    assert_eq!(num(&line["list_price"]), 19.99);
    assert_eq!(num(&line["sale_price"]), 19.99);
    assert_eq!(num(&line["original_price"]), 19.99);
    assert_eq!(num(&line["extended_list_price"]), 59.97);
    assert_eq!(num(&line["extended_sale_price"]), 59.97);
    assert_eq!(line["is_require_shipping"], true);
    assert_eq!(num(&cart["base_amount"]), 59.97);
    assert_eq!(num(&cart["discount_amount"]), 0.0);
    assert_eq!(num(&cart["cart_amount"]), 59.97);
    assert_eq!(cart["currency"]["code"], "USD");
    assert_eq!(cart["channel_id"], 1);
    assert_eq!(cart["customer_id"], 0);
    assert_eq!(cart["version"], 1);
    assert_eq!(cart["tax_included"], false);
    assert!(cart["created_time"].as_str().unwrap().ends_with("+00:00"));
    // Exact JSON numbers: no float noise in the text.
    let id = cart["id"].as_str().unwrap();
    let raw = app
        .client
        .get(format!("{}{CARTS}/{id}", app.base))
        .header("X-Auth-Token", common::TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains("\"extended_list_price\":59.97"), "{raw}");
}

async fn variant_by_id_and_by_options(app: TestApp) {
    let app = app.with_fixtures().await;
    let by_id = create(
        &app,
        json!({"line_items": [{"product_id": 910, "variant_id": 1003, "quantity": 2}]}),
    )
    .await;
    assert_eq!(physical(&by_id, 0)["variant_id"], 1003);
    assert_eq!(num(&physical(&by_id, 0)["list_price"]), 24.0);
    assert_eq!(num(&by_id["cart_amount"]), 48.0);

    let by_options = create(
        &app,
        json!({"line_items": [{"product_id": 910, "quantity": 1, "option_selections": [
            {"option_id": 11, "option_value": 111}, {"option_id": 12, "option_value": "122"}
        ]}]}),
    )
    .await;
    assert_eq!(physical(&by_options, 0)["variant_id"], 1002);
    assert_eq!(num(&physical(&by_options, 0)["list_price"]), 20.0);
}

async fn variant_errors(app: TestApp) {
    let app = app.with_fixtures().await;
    // Options that contradict the variant.
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 910, "variant_id": 1001, "quantity": 1,
            "option_selections": [{"option_id": 11, "option_value": 112}]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("do not match variant 1001"),
        "{}",
        r.body
    );
    // A product with variants needs a variant or all options.
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 910, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["line_items[0].variant_id"].is_string(),
        "{}",
        r.body
    );
    // A variant of another product.
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "variant_id": 1001, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["title"].as_str().unwrap().contains("Variant 1001"));
    // An option value that is not one of the option's values.
    let r = app
        .post(CARTS, json!({"line_items": [{"product_id": 910, "quantity": 1,
            "option_selections": [{"option_id": 11, "option_value": 999}, {"option_id": 12, "option_value": 121}]}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn modifiers_adjust_price(app: TestApp) {
    let app = app.with_fixtures().await;
    // 40.00 + gift wrap 5.00 + gold 10% of 40.00 = 49.00
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 920, "quantity": 2, "option_selections": [
            {"option_id": 21, "option_value": 211},
            {"option_id": 22, "option_value": "For Ann"},
            {"option_id": 23, "option_value": 232}
        ]}]}),
    )
    .await;
    let line = physical(&cart, 0);
    assert_eq!(num(&line["list_price"]), 49.0);
    assert_eq!(num(&line["original_price"]), 49.0);
    assert_eq!(num(&line["extended_list_price"]), 98.0);
    assert_eq!(num(&cart["cart_amount"]), 98.0);

    // The same mug without wrap, matte: 40.00; a different engraving is a different line.
    let id = cart["id"].as_str().unwrap();
    let r = app
        .post(&format!("{CARTS}/{id}/items"), json!({"line_items": [
            {"product_id": 920, "quantity": 1, "option_selections": [{"option_id": 23, "option_value": 231}]},
            {"product_id": 920, "quantity": 1, "option_selections": [
                {"option_id": 21, "option_value": 211}, {"option_id": 22, "option_value": "For Bob"}, {"option_id": 23, "option_value": 232}]}
        ]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let items = r.data()["line_items"]["physical_items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 3);
    assert_eq!(num(&items[1]["list_price"]), 40.0);
    assert_eq!(num(&r.data()["cart_amount"]), 98.0 + 40.0 + 49.0);
}

async fn modifier_errors(app: TestApp) {
    let app = app.with_fixtures().await;
    // Required "Finish" missing.
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 920, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("Finish is required"),
        "{}",
        r.body
    );
    // Engraving too long.
    let r = app
        .post(CARTS, json!({"line_items": [{"product_id": 920, "quantity": 1, "option_selections": [
            {"option_id": 23, "option_value": 231}, {"option_id": 22, "option_value": "much too long text"}]}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"].as_str().unwrap().contains("Engraving"),
        "{}",
        r.body
    );
    // An option id that belongs to another product.
    let r = app
        .post(CARTS, json!({"line_items": [{"product_id": 940, "quantity": 1, "option_selections": [{"option_id": 21, "option_value": 211}]}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn list_price_override_and_name(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 950, "quantity": 4, "list_price": 7.5, "name": "Jacket, special"}]}),
    )
    .await;
    let line = physical(&cart, 0);
    assert_eq!(num(&line["list_price"]), 7.5);
    assert_eq!(num(&line["original_price"]), 40.0);
    assert_eq!(num(&line["extended_sale_price"]), 30.0);
    assert_eq!(line["name"], "Jacket, special");
    assert_eq!(num(&cart["base_amount"]), 30.0);
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 1, "list_price": -1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn sale_price_is_list_price(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 950, "quantity": 3}]}),
    )
    .await;
    let line = physical(&cart, 0);
    assert_eq!(num(&line["original_price"]), 40.0);
    assert_eq!(num(&line["list_price"]), 29.99);
    assert_eq!(num(&line["extended_list_price"]), 89.97);
    assert_eq!(num(&cart["cart_amount"]), 89.97);
}

async fn custom_items_and_gift_certificates(app: TestApp) {
    let cart = create(
        &app,
        json!({
            "custom_items": [{"sku": "TBL-1", "name": "Table", "quantity": 2, "list_price": 149.95, "image_url": "https://example.com/t.png"}],
            "gift_certificates": [{"name": "For Tobi", "theme": "Birthday", "amount": 25, "quantity": 2,
                "sender": {"name": "Brandi", "email": "brandi@example.com"},
                "recipient": {"name": "Tobi", "email": "tobi@example.com"}, "message": "Happy birthday"}]
        }),
    )
    .await;
    let custom = &cart["line_items"]["custom_items"][0];
    assert_eq!(custom["sku"], "TBL-1");
    assert_eq!(custom["quantity"], "2");
    assert_eq!(custom["list_price"], "149.95");
    assert_eq!(num(&custom["extended_list_price"]), 299.9);
    let gc = &cart["line_items"]["gift_certificates"][0];
    assert_eq!(gc["theme"], "Birthday");
    assert_eq!(num(&gc["amount"]), 25.0);
    assert_eq!(gc["taxable"], false);
    assert_eq!(gc["recipient"]["email"], "tobi@example.com");
    assert_eq!(num(&cart["base_amount"]), 349.9);
    assert_eq!(num(&cart["cart_amount"]), 349.9);
}

async fn gift_certificate_validation(app: TestApp) {
    let gc = |amount: Value, theme: &str, email: &str| {
        json!({"gift_certificates": [{"name": "G", "theme": theme, "amount": amount, "quantity": 1,
            "sender": {"name": "S", "email": "s@example.com"}, "recipient": {"name": "R", "email": email}}]})
    };
    for (body, field) in [
        (
            gc(json!(0.5), "Birthday", "r@example.com"),
            "gift_certificates[0].amount",
        ),
        (
            gc(json!(1000.01), "Birthday", "r@example.com"),
            "gift_certificates[0].amount",
        ),
        (
            gc(json!(10), "Wedding", "r@example.com"),
            "gift_certificates[0].theme",
        ),
        (
            gc(json!(10), "Birthday", "not-an-email"),
            "gift_certificates[0].recipient.email",
        ),
    ] {
        let r = app.post(CARTS, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body["errors"][field].is_string(),
            "expected {field}: {}",
            r.body
        );
    }
    let r = app
        .post(CARTS, gc(json!(1000), "Boy", "r@example.com"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

async fn digital_items_are_separate(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 930, "quantity": 1}, {"product_id": 940, "quantity": 1}]}),
    )
    .await;
    let digital = &cart["line_items"]["digital_items"];
    assert_eq!(digital.as_array().unwrap().len(), 1);
    assert_eq!(digital[0]["product_id"], 930);
    assert_eq!(digital[0]["is_require_shipping"], false);
    assert_eq!(
        cart["line_items"]["physical_items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(num(&cart["cart_amount"]), 29.98);
}

async fn adding_the_same_item_merges(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 910, "variant_id": 1001, "quantity": 1}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("{CARTS}/{id}/items"),
            json!({"line_items": [{"product_id": 910, "variant_id": 1001, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let items = r.data()["line_items"]["physical_items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["quantity"], 3);
    assert_eq!(items[0]["id"], physical(&cart, 0)["id"]);
    assert_eq!(r.data()["version"], 2);
    assert_eq!(num(&r.data()["cart_amount"]), 60.0);
}

async fn update_and_delete_items(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 910, "variant_id": 1001, "quantity": 1}, {"product_id": 940, "quantity": 1}],
               "custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let shirt = physical(&cart, 0)["id"].as_str().unwrap().to_string();
    let custom = cart["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Quantity only: product and variant are kept.
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/{shirt}"),
            json!({"line_item": {"quantity": 5}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(physical(r.data(), 0)["quantity"], 5);
    assert_eq!(physical(r.data(), 0)["variant_id"], 1001);
    // Switch variant.
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/{shirt}"),
            json!({"line_item": {"product_id": 910, "variant_id": 1003, "quantity": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(physical(r.data(), 0)["id"], shirt.as_str());
    assert_eq!(num(&physical(r.data(), 0)["extended_list_price"]), 48.0);
    // Custom item quantity.
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/{custom}"),
            json!({"line_item": {"quantity": 4}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["line_items"]["custom_items"][0]["quantity"], "4");
    assert_eq!(num(&r.data()["cart_amount"]), 48.0 + 19.99 + 12.0);
    // Delete one.
    let r = app.delete(&format!("{CARTS}/{id}/items/{shirt}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.data()["line_items"]["physical_items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(num(&r.data()["cart_amount"]), 31.99);
    // Unknown item.
    let r = app.delete(&format!("{CARTS}/{id}/items/{shirt}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/not-a-uuid"),
            json!({"line_item": {"quantity": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn deleting_last_item_deletes_cart(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let item = cart["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap();
    let r = app.delete(&format!("{CARTS}/{id}/items/{item}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Quantity 0 on the last item does the same.
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let item = cart["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap();
    let r = app
        .put(
            &format!("{CARTS}/{id}/items/{item}"),
            json!({"line_item": {"quantity": 0}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn stale_version_is_409(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let item = cart["line_items"]["custom_items"][0]["id"]
        .as_str()
        .unwrap();
    let r = app
        .post(&format!("{CARTS}/{id}/items"), json!({"version": 1, "custom_items": [{"name": "Lid", "quantity": 1, "list_price": 1}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.data()["version"], 2);
    for (method, path, body) in [
        (
            Method::POST,
            format!("{CARTS}/{id}/items"),
            json!({"version": 1, "custom_items": [{"name": "Lid", "quantity": 1, "list_price": 1}]}),
        ),
        (
            Method::PUT,
            format!("{CARTS}/{id}/items/{item}"),
            json!({"version": 1, "line_item": {"quantity": 2}}),
        ),
        (
            Method::DELETE,
            format!("{CARTS}/{id}/items/{item}"),
            json!({"version": 1}),
        ),
        (
            Method::PUT,
            format!("{CARTS}/{id}"),
            json!({"version": 1, "customer_id": 5}),
        ),
    ] {
        let r = app.call(method, &path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}: {}", r.body);
        assert_eq!(r.body["status"], 409);
        assert!(
            r.body["title"]
                .as_str()
                .unwrap()
                .contains("possible conflict")
        );
    }
    // Nothing changed.
    let r = app.get(&format!("{CARTS}/{id}")).await;
    assert_eq!(r.data()["version"], 2);
    assert_eq!(num(&r.data()["cart_amount"]), 4.0);
}

async fn concurrent_additions_are_never_lost(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Seed", "quantity": 1, "list_price": 1}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap().to_string();
    let n = 40;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                &format!("{CARTS}/{id}/items"),
                json!({"custom_items": [{"name": format!("Item {i}"), "quantity": 1, "list_price": 2.5}]}),
            )
            .await
            .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let r = app.get(&format!("{CARTS}/{id}")).await;
    assert_eq!(
        r.data()["line_items"]["custom_items"]
            .as_array()
            .unwrap()
            .len(),
        n + 1
    );
    assert_eq!(r.data()["version"], (n + 1) as i64);
    assert_eq!(num(&r.data()["cart_amount"]), 1.0 + 2.5 * n as f64);
}

async fn stock_is_enforced(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 940, "quantity": 4}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"].as_str().unwrap().contains("Only 3"),
        "{}",
        r.body
    );
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("{CARTS}/{id}/items"),
            json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &format!("{CARTS}/{id}/items"),
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(physical(r.data(), 0)["quantity"], 3);
}

/// A cart change reads its products with the cart (on PostgreSQL in one statement):
/// what the catalog says now counts, for carts written before that too.
async fn changes_see_the_catalog_as_it_is_now(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
    )
    .await;
    let items = format!("{CARTS}/{}/items", cart["id"].as_str().unwrap());
    let add_one = json!({"line_items": [{"product_id": 940, "quantity": 1}]});
    let stock = async |level: i64| {
        let r = app
            .put(
                "/stores/demo/v3/catalog/products/940",
                json!({"inventory_level": level}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    };

    stock(2).await;
    let r = app.post(&items, add_one.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("Only 2"),
        "{}",
        r.body
    );

    stock(10).await;
    let r = app.post(&items, add_one.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(physical(r.data(), 0)["quantity"], 3);

    // A cart stored before carts listed their products.
    app.sql("UPDATE carts SET product_ids = ''").await;
    stock(3).await;
    let r = app.post(&items, add_one.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["title"].as_str().unwrap().contains("Only 3"),
        "{}",
        r.body
    );
    stock(4).await;
    let r = app.post(&items, add_one).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(physical(r.data(), 0)["quantity"], 4);
    assert_eq!(r.data()["cart_amount"], json!(79.96));
}

async fn disabled_products_are_refused(app: TestApp) {
    let app = app.with_fixtures().await;
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 960, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("cannot be purchased")
    );
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 910, "variant_id": 1004, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["title"].as_str().unwrap().contains("Coming soon."),
        "{}",
        r.body
    );
}

async fn bad_quantities_are_refused(app: TestApp) {
    let app = app.with_fixtures().await;
    for q in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1_000_000_000),
        json!(1e300),
        json!("many"),
        json!(null),
    ] {
        let r = app
            .post(
                CARTS,
                json!({"line_items": [{"product_id": 940, "quantity": q}]}),
            )
            .await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "quantity {q}: {} {}",
            r.status,
            r.body
        );
        assert_eq!(r.body["status"], r.status.as_u16());
    }
    let r = app
        .post(
            CARTS,
            json!({"custom_items": [{"name": "X", "quantity": 0, "list_price": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["custom_items[0].quantity"].is_string(),
        "{}",
        r.body
    );
}

async fn unknown_things_are_422(app: TestApp) {
    let r = app
        .post(
            CARTS,
            json!({"line_items": [{"product_id": 424242, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"]["line_items[0].product_id"]
            .as_str()
            .unwrap()
            .contains("424242")
    );
    let r = app
        .post(CARTS, json!({"currency": {"code": "XYZ"}, "custom_items": [{"name": "X", "quantity": 1, "list_price": 1}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["currency.code"].is_string());
    let r = app.post(CARTS, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(CARTS, json!({"locale": "english please", "custom_items": [{"name": "X", "quantity": 1, "list_price": 1}]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post(CARTS, json!({"line_items": "nope"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post(CARTS, json!([1, 2])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn currencies_convert_and_round(app: TestApp) {
    let app = app.with_fixtures().await;
    // 19.99 × 0.92 = 18.3908 → 18.39
    let eur = create(
        &app,
        json!({"currency": {"code": "eur"}, "line_items": [{"product_id": 940, "quantity": 3}]}),
    )
    .await;
    assert_eq!(eur["currency"]["code"], "EUR");
    assert_eq!(num(&physical(&eur, 0)["list_price"]), 18.39);
    assert_eq!(num(&eur["cart_amount"]), 55.17);
    // 19.99 × 150 = 2998.5 → 2999 (half up, no decimals)
    let jpy = create(
        &app,
        json!({"currency": {"code": "JPY"}, "line_items": [{"product_id": 940, "quantity": 1}]}),
    )
    .await;
    assert_eq!(num(&physical(&jpy, 0)["list_price"]), 2999.0);
}

async fn include_options(app: TestApp) {
    let app = app.with_fixtures().await;
    let cart = create(
        &app,
        json!({"line_items": [{"product_id": 910, "variant_id": 1002, "quantity": 1}]}),
    )
    .await;
    assert!(physical(&cart, 0).get("options").is_none());
    let id = cart["id"].as_str().unwrap();
    let r = app
        .get(&format!(
            "{CARTS}/{id}?include=line_items.physical_items.options%2Cpromotions.banners&"
        ))
        .await;
    let opts = physical(r.data(), 0)["options"].as_array().unwrap().clone();
    assert_eq!(opts.len(), 2);
    assert_eq!(
        opts[0],
        json!({"name": "Size", "nameId": 11, "value": "S", "valueId": 111})
    );
    assert_eq!(opts[1]["value"], "Blue");
    assert!(r.data()["promotions"].is_object());
}

async fn redirect_urls(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    let r = app
        .call(Method::POST, &format!("{CARTS}/{id}/redirect_urls"), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let urls = r.data();
    for key in ["cart_url", "checkout_url", "embedded_checkout_url"] {
        let u = urls[key].as_str().unwrap();
        assert!(u.starts_with(&app.base), "{u}");
        assert!(u.contains(id), "{u}");
        assert!(u.contains("token="), "{u}");
    }
    assert!(
        urls["embedded_checkout_url"]
            .as_str()
            .unwrap()
            .contains("embedded=1")
    );
    assert_ne!(urls["cart_url"], urls["checkout_url"]);
    // Fresh tokens every time.
    let again = app
        .call(Method::POST, &format!("{CARTS}/{id}/redirect_urls"), None)
        .await;
    assert_ne!(again.data()["cart_url"], urls["cart_url"]);
    let with = app
        .post(
            &format!("{CARTS}?include=redirect_urls"),
            json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
        )
        .await;
    assert!(
        with.data()["redirect_urls"]["checkout_url"]
            .as_str()
            .unwrap()
            .contains("action=loadInCheckout")
    );
    let missing = app
        .call(
            Method::POST,
            &format!("{CARTS}/6e193ce6-f327-4dcc-b75e-72cf6738525e/redirect_urls"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn carts_expire_after_30_days(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    app.clock.advance(29 * 24 * 3600);
    // A change restarts the 30 days.
    let r = app
        .put(&format!("{CARTS}/{id}"), json!({"customer_id": 7}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    app.clock.advance(29 * 24 * 3600);
    assert_eq!(
        app.get(&format!("{CARTS}/{id}")).await.status,
        StatusCode::OK
    );
    app.clock.advance(2 * 24 * 3600);
    assert_eq!(
        app.get(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // The sweeper then removes the row for good.
    let purged = app
        .kassa
        .store
        .purge_expired_carts(app.kassa.now(), 100)
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

async fn update_customer(app: TestApp) {
    let cart = create(
        &app,
        json!({"customer_id": 3, "channel_id": 1, "locale": "en-GB",
        "custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    assert_eq!(cart["customer_id"], 3);
    assert_eq!(cart["locale"], "en-GB");
    let id = cart["id"].as_str().unwrap();
    let r = app
        .put(
            &format!("{CARTS}/{id}"),
            json!({"customer_id": 9, "version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data()["customer_id"], 9);
    assert_eq!(r.data()["version"], 2);
    let r = app
        .put(&format!("{CARTS}/{id}"), json!({"customer_id": -1}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn delete_cart(app: TestApp) {
    let cart = create(
        &app,
        json!({"custom_items": [{"name": "Box", "quantity": 1, "list_price": 3}]}),
    )
    .await;
    let id = cart["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{CARTS}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{CARTS}/not-a-uuid")).await.status,
        StatusCode::NOT_FOUND
    );
}
