//! Catalog admin API over real HTTP, on both backends: products, variants, options,
//! modifiers, validation, scopes, the demo catalog, and a cart priced from it.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    product_crud_and_list,
    list_pagination_and_filters,
    batch_delete,
    inline_variants_create_options,
    variant_crud,
    option_and_value_crud,
    modifier_and_value_crud,
    validation_errors,
    duplicates_are_409,
    scopes_guard_catalog,
    demo_catalog_is_seeded,
    cart_prices_catalog_variants_and_modifiers,
    openapi_lists_catalog_paths,
);

const PRODUCTS: &str = "/stores/demo/v3/catalog/products";

fn product_body(name: &str, price: f64) -> Value {
    json!({"name": name, "type": "physical", "weight": 1.5, "price": price, "categories": [1], "sku": format!("SKU-{}", name.replace(' ', "-"))})
}

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(PRODUCTS, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data().clone()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

async fn product_crud_and_list(app: TestApp) {
    let p = create(&app, product_body("Test Kettle", 39.99)).await;
    let pid = id(&p);
    assert!(pid > 10, "demo products come first");
    assert_eq!(p["name"], "Test Kettle");
    assert_eq!(p["type"], "physical");
    assert_eq!(p["price"], json!(39.99));
    assert_eq!(p["calculated_price"], json!(39.99));
    assert_eq!(p["weight"], json!(1.5));
    assert_eq!(p["categories"], json!([1]));
    assert_eq!(p["inventory_tracking"], "none");
    assert_eq!(p["availability"], "available");
    assert_eq!(p["custom_url"]["url"], "/test-kettle/");
    assert_eq!(p["custom_url"]["is_customized"], false);
    let variants = p["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 1);
    assert_eq!(p["base_variant_id"], variants[0]["id"]);
    assert_eq!(variants[0]["sku"], "SKU-Test-Kettle");
    assert!(variants[0]["price"].is_null());
    assert_eq!(variants[0]["calculated_price"], json!(39.99));
    assert!(p["date_created"].as_str().unwrap().ends_with("+00:00"));

    // GET, with and without include.
    let r = app.get(&format!("{PRODUCTS}/{pid}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.data().get("variants").is_none());
    let r = app
        .get(&format!(
            "{PRODUCTS}/{pid}?include=variants%2Coptions,modifiers"
        ))
        .await;
    assert_eq!(r.data()["variants"].as_array().unwrap().len(), 1);
    assert_eq!(r.data()["options"], json!([]));
    assert_eq!(r.data()["modifiers"], json!([]));

    // Partial update: only what is sent changes.
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}"),
            json!({"sale_price": 29.5, "is_visible": false, "custom_url": {"url": "/kettles/steel/", "is_customized": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["name"], "Test Kettle");
    assert_eq!(r.data()["price"], json!(39.99));
    assert_eq!(r.data()["sale_price"], json!(29.5));
    assert_eq!(r.data()["calculated_price"], json!(29.5));
    assert_eq!(r.data()["is_visible"], false);
    assert_eq!(r.data()["custom_url"]["url"], "/kettles/steel/");
    assert_eq!(r.data()["custom_url"]["is_customized"], true);
    let r = app.get(&format!("{PRODUCTS}/{pid}")).await;
    assert_eq!(r.data()["sale_price"], json!(29.5));

    // Delete, then 404 everywhere.
    let r = app.delete(&format!("{PRODUCTS}/{pid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for r in [
        app.get(&format!("{PRODUCTS}/{pid}")).await,
        app.delete(&format!("{PRODUCTS}/{pid}")).await,
        app.put(&format!("{PRODUCTS}/{pid}"), json!({"price": 1}))
            .await,
        app.get(&format!("{PRODUCTS}/{pid}/variants")).await,
        app.get(&format!("{PRODUCTS}/abc")).await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(r.body["status"], 404);
    }
}

async fn list_pagination_and_filters(app: TestApp) {
    // The demo store has 10 products (ids 1..10).
    let r = app.get(&format!("{PRODUCTS}?limit=3&page=2")).await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<i64> = r.data().as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![4, 5, 6]);
    let pg = &r.body["meta"]["pagination"];
    assert_eq!(pg["total"], 10);
    assert_eq!(pg["count"], 3);
    assert_eq!(pg["per_page"], 3);
    assert_eq!(pg["current_page"], 2);
    assert_eq!(pg["total_pages"], 4);
    assert_eq!(pg["links"]["next"], "?page=3&limit=3");
    assert_eq!(pg["links"]["previous"], "?page=1&limit=3");

    let r = app.get(PRODUCTS).await;
    assert_eq!(r.body["meta"]["pagination"]["per_page"], 50);
    assert_eq!(r.data().as_array().unwrap().len(), 10);
    let r = app.get(&format!("{PRODUCTS}?limit=1000")).await;
    assert_eq!(r.body["meta"]["pagination"]["per_page"], 250);

    let r = app.get(&format!("{PRODUCTS}?id:in=2,3,99&")).await;
    let ids: Vec<i64> = r.data().as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![2, 3]);
    let r = app.get(&format!("{PRODUCTS}?id=4")).await;
    assert_eq!(r.data()[0]["id"], 4);
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    let r = app.get(&format!("{PRODUCTS}?name=Ceramic%20Mug")).await;
    assert_eq!(r.data()[0]["id"], 2);
    let r = app.get(&format!("{PRODUCTS}?name:like=scarf")).await;
    assert_eq!(r.data()[0]["name"], "Wool Scarf");
    let r = app.get(&format!("{PRODUCTS}?sku=TOTE")).await;
    assert_eq!(r.data()[0]["id"], 5);
    let r = app.get(&format!("{PRODUCTS}?type=digital")).await;
    let ids: Vec<i64> = r.data().as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![3]);
    let r = app
        .get(&format!("{PRODUCTS}?sort=name&direction=desc&limit=1"))
        .await;
    assert_eq!(r.data()[0]["name"], "Wool Scarf");

    app.put(&format!("{PRODUCTS}/9"), json!({"is_visible": false}))
        .await;
    let r = app.get(&format!("{PRODUCTS}?is_visible=false")).await;
    let ids: Vec<i64> = r.data().as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![9]);
    let r = app.get(&format!("{PRODUCTS}?is_visible=true")).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 9);

    let r = app
        .get(&format!("{PRODUCTS}?include=variants,modifiers&id=1"))
        .await;
    assert_eq!(r.data()[0]["variants"].as_array().unwrap().len(), 6);
    let r = app.get(&format!("{PRODUCTS}?type=bogus")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["type"].is_string());
    let r = app.get(&format!("{PRODUCTS}?page=x")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["page"].is_string());
}

async fn batch_delete(app: TestApp) {
    let a = id(&create(&app, product_body("Batch A", 1.0)).await);
    let b = id(&create(&app, product_body("Batch B", 2.0)).await);
    let c = id(&create(&app, product_body("Batch C", 3.0)).await);
    let r = app.delete(&format!("{PRODUCTS}?id:in={a},{b}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{PRODUCTS}/{a}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{PRODUCTS}/{b}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{PRODUCTS}/{c}")).await.status,
        StatusCode::OK
    );
    // Without a filter nothing is deleted.
    let r = app.delete(PRODUCTS).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get(PRODUCTS).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 11);
}

fn tshirt_body(name: &str) -> Value {
    let mut variants = Vec::new();
    for size in ["S", "L"] {
        for colour in ["Red", "Blue"] {
            let mut v = json!({
                "sku": format!("{name}-{size}-{colour}"),
                "option_values": [
                    {"option_display_name": "Size", "label": size},
                    {"option_display_name": "Colour", "label": colour}
                ]
            });
            if size == "L" {
                v["price"] = json!(27.5);
            }
            variants.push(v);
        }
    }
    let mut body = product_body(name, 25.0);
    body["variants"] = Value::Array(variants);
    body
}

async fn inline_variants_create_options(app: TestApp) {
    let p = create(&app, tshirt_body("Inline Tee")).await;
    let pid = id(&p);
    assert!(p["base_variant_id"].is_null());
    let variants = p["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    let r = app.get(&format!("{PRODUCTS}/{pid}/options")).await;
    assert_eq!(r.status, StatusCode::OK);
    let options = r.data().as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options[0]["display_name"], "Size");
    assert_eq!(options[1]["display_name"], "Colour");
    let labels: Vec<&str> = options[0]["option_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["S", "L"]);
    // Variants point at the options' ids.
    let size_l = options[0]["option_values"][1]["id"].as_i64().unwrap();
    let large: Vec<&Value> = variants
        .iter()
        .filter(|v| {
            v["option_values"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ov| ov["id"] == size_l && ov["option_id"] == options[0]["id"])
        })
        .collect();
    assert_eq!(large.len(), 2);
    for v in large {
        assert_eq!(v["price"], json!(27.5));
        assert_eq!(v["calculated_price"], json!(27.5));
    }
    // Two variants with the same values are refused.
    let mut body = tshirt_body("Clashing Tee");
    body["variants"][1]["option_values"] = body["variants"][0]["option_values"].clone();
    let r = app.post(PRODUCTS, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["errors"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("variants"))
    );
}

async fn variant_crud(app: TestApp) {
    let p = create(&app, tshirt_body("Variant Tee")).await;
    let pid = id(&p);
    let opts = app.get(&format!("{PRODUCTS}/{pid}/options")).await;
    let size = &opts.data()[0];
    let colour = &opts.data()[1];
    // Add a value, then a variant that uses it.
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/options/{}/values", size["id"]),
            json!({"label": "XL", "sort_order": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let xl = id(r.data());
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/variants"),
            json!({"sku": "VT-XL-RED", "price": 30, "weight": 2.25, "option_values": [
                {"id": xl, "option_id": size["id"]},
                {"id": colour["option_values"][0]["id"], "option_id": colour["id"]}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.data().clone();
    let vid = id(&v);
    assert_eq!(v["product_id"], pid);
    assert_eq!(v["price"], json!(30));
    assert_eq!(v["calculated_weight"], json!(2.25));
    assert_eq!(v["option_values"][0]["label"], "XL");
    assert_eq!(v["option_values"][0]["option_display_name"], "Size");
    assert!(v["sku_id"].is_null());

    let r = app.get(&format!("{PRODUCTS}/{pid}/variants")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 5);
    assert_eq!(r.body["meta"]["pagination"]["total"], 5);

    // Update: null price inherits the product's; other fields stay.
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/variants/{vid}"),
            json!({"price": null, "sale_price": 20, "purchasing_disabled": true, "purchasing_disabled_message": "Soon", "upc": "123456789012", "inventory_level": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.data()["price"].is_null());
    assert_eq!(r.data()["calculated_price"], json!(20));
    assert_eq!(r.data()["purchasing_disabled"], true);
    assert_eq!(r.data()["inventory_level"], 7);
    assert_eq!(r.data()["sku"], "VT-XL-RED");
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants/{vid}")).await;
    assert_eq!(r.data()["purchasing_disabled_message"], "Soon");
    assert_eq!(r.data()["upc"], "123456789012");

    // Renaming a value shows on the variants that use it.
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/options/{}/values/{xl}", size["id"]),
            json!({"label": "Extra large"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants/{vid}")).await;
    assert_eq!(r.data()["option_values"][0]["label"], "Extra large");

    let r = app
        .delete(&format!("{PRODUCTS}/{pid}/variants/{vid}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants/{vid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants/999999")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A simple product's only variant cannot be deleted; a variant needs options.
    let simple = create(&app, product_body("Solo Item", 5.0)).await;
    let sid = id(&simple);
    let base = simple["base_variant_id"].as_i64().unwrap();
    let r = app
        .delete(&format!("{PRODUCTS}/{sid}/variants/{base}"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(&format!("{PRODUCTS}/{sid}/variants"), json!({"sku": "X"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["option_values"].is_string());
    // The base variant's price can be changed.
    let r = app
        .put(
            &format!("{PRODUCTS}/{sid}/variants/{base}"),
            json!({"price": 6.25}),
        )
        .await;
    assert_eq!(r.data()["calculated_price"], json!(6.25));
}

async fn option_and_value_crud(app: TestApp) {
    let simple = create(&app, product_body("Option Lamp", 50.0)).await;
    let pid = id(&simple);
    let base = simple["base_variant_id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/options"),
            json!({"display_name": "Finish", "type": "dropdown", "config": {"default_value": "Brass"},
                   "option_values": [{"label": "Brass", "sort_order": 0}, {"label": "Chrome", "sort_order": 1, "is_default": true}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let option = r.data().clone();
    let oid = id(&option);
    assert_eq!(option["type"], "dropdown");
    assert_eq!(option["product_id"], pid);
    assert_eq!(option["config"]["default_value"], "Brass");
    assert_eq!(option["option_values"][1]["is_default"], true);
    let brass = id(&option["option_values"][0]);
    let chrome = id(&option["option_values"][1]);

    // The first real variant replaces the base variant.
    for (sku, value) in [("LAMP-BRASS", brass), ("LAMP-CHROME", chrome)] {
        let r = app
            .post(
                &format!("{PRODUCTS}/{pid}/variants"),
                json!({"sku": sku, "option_values": [{"id": value, "option_id": oid}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app.get(&format!("{PRODUCTS}/{pid}?include=variants")).await;
    let variants = r.data()["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert!(variants.iter().all(|v| id(v) != base));
    assert!(r.data()["base_variant_id"].is_null());

    // Update the option: rename, retype, add a value.
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/options/{oid}"),
            json!({"display_name": "Metal", "type": "rectangles", "option_values": [{"label": "Copper", "sort_order": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["display_name"], "Metal");
    assert_eq!(r.data()["option_values"].as_array().unwrap().len(), 3);
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants")).await;
    assert_eq!(
        r.data()[0]["option_values"][0]["option_display_name"],
        "Metal"
    );

    let r = app
        .get(&format!("{PRODUCTS}/{pid}/options/{oid}/values"))
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 3);
    let r = app
        .get(&format!("{PRODUCTS}/{pid}/options/{oid}/values/{chrome}"))
        .await;
    assert_eq!(r.data()["label"], "Chrome");

    // Deleting a value removes the variants that use it.
    let r = app
        .delete(&format!("{PRODUCTS}/{pid}/options/{oid}/values/{chrome}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{PRODUCTS}/{pid}/variants")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["sku"], "LAMP-BRASS");

    // Deleting the option leaves one base variant.
    let r = app.delete(&format!("{PRODUCTS}/{pid}/options/{oid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .get(&format!("{PRODUCTS}/{pid}?include=variants,options"))
        .await;
    assert_eq!(r.data()["options"], json!([]));
    assert_eq!(r.data()["variants"].as_array().unwrap().len(), 1);
    assert_eq!(r.data()["base_variant_id"], r.data()["variants"][0]["id"]);
    assert_eq!(r.data()["variants"][0]["option_values"], json!([]));
    let r = app.get(&format!("{PRODUCTS}/{pid}/options/{oid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Bad option type and missing values.
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/options"),
            json!({"display_name": "Bad", "type": "checkbox", "option_values": [{"label": "x"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["type"].is_string());
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/options"),
            json!({"display_name": "Empty", "type": "dropdown"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["option_values"].is_string());
}

async fn modifier_and_value_crud(app: TestApp) {
    let pid = id(&create(&app, product_body("Modifier Mug", 10.0)).await);
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/modifiers"),
            json!({"display_name": "Size up", "type": "radio_buttons", "required": true,
                   "option_values": [
                       {"label": "Regular", "sort_order": 0, "is_default": true},
                       {"label": "Large", "sort_order": 1, "adjusters": {"price": {"adjuster": "percentage", "adjuster_value": 15}, "weight": {"adjuster": "relative", "adjuster_value": 0.2}}}
                   ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let m = r.data().clone();
    let mid = id(&m);
    assert_eq!(m["type"], "radio_buttons");
    assert_eq!(m["required"], true);
    assert_eq!(
        m["option_values"][1]["adjusters"]["price"]["adjuster"],
        "percentage"
    );
    assert_eq!(
        m["option_values"][1]["adjusters"]["price"]["adjuster_value"],
        json!(15)
    );
    assert_eq!(m["option_values"][1]["option_id"], mid);
    assert!(m["option_values"][0]["adjusters"]["price"]["adjuster"].is_null());
    let large = id(&m["option_values"][1]);

    // A text modifier with config; a checkbox gets Yes/No values by itself.
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/modifiers"),
            json!({"display_name": "Message", "type": "text", "required": false,
                   "config": {"text_characters_limited": true, "text_min_length": 1, "text_max_length": 12}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["config"]["text_max_length"], 12);
    let text_id = id(r.data());
    assert_ne!(text_id, mid);
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/modifiers"),
            json!({"display_name": "Insure", "type": "checkbox", "required": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["option_values"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.data()["option_values"][0]["value_data"]["checked_value"],
        true
    );

    let r = app.get(&format!("{PRODUCTS}/{pid}/modifiers")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 3);

    // Values: add, change, read, delete.
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/modifiers/{mid}/values"),
            json!({"label": "Huge", "sort_order": 2, "adjusters": {"price": {"adjuster": "relative", "adjuster_value": 4.5}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let huge = id(r.data());
    assert_eq!(r.data()["adjusters"]["price"]["adjuster_value"], json!(4.5));
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/modifiers/{mid}/values/{large}"),
            json!({"label": "Big", "adjusters": {"price": {"adjuster": "relative", "adjuster_value": 2}, "purchasing_disabled": {"status": false, "message": ""}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["label"], "Big");
    assert_eq!(r.data()["adjusters"]["price"]["adjuster"], "relative");
    let r = app
        .get(&format!("{PRODUCTS}/{pid}/modifiers/{mid}/values/{large}"))
        .await;
    assert_eq!(r.data()["adjusters"]["price"]["adjuster_value"], json!(2));
    let r = app
        .get(&format!("{PRODUCTS}/{pid}/modifiers/{mid}/values"))
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 3);
    let r = app
        .delete(&format!("{PRODUCTS}/{pid}/modifiers/{mid}/values/{huge}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .get(&format!("{PRODUCTS}/{pid}/modifiers/{mid}/values/{huge}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Update and delete the modifier itself.
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/modifiers/{mid}"),
            json!({"display_name": "Cup size", "required": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["display_name"], "Cup size");
    assert_eq!(r.data()["required"], false);
    let r = app
        .delete(&format!("{PRODUCTS}/{pid}/modifiers/{mid}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PRODUCTS}/{pid}/modifiers/{mid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Invalid modifiers.
    for (body, field) in [
        (json!({"display_name": "X", "type": "text"}), "required"),
        (
            json!({"display_name": "X", "type": "sparkly", "required": true}),
            "type",
        ),
        (json!({"type": "text", "required": true}), "display_name"),
        (
            json!({"display_name": "X", "type": "text", "required": true, "config": {"text_min_length": 5, "text_max_length": 2}}),
            "config.text_max_length",
        ),
        (
            json!({"display_name": "X", "type": "text", "required": true, "option_values": [{"label": "a"}]}),
            "option_values",
        ),
        (
            json!({"display_name": "X", "type": "dropdown", "required": true, "option_values": [{"label": "a", "adjusters": {"price": {"adjuster": "percentage", "adjuster_value": -150}}}]}),
            "option_values[0].adjusters.price.adjuster_value",
        ),
    ] {
        let r = app
            .post(&format!("{PRODUCTS}/{pid}/modifiers"), body.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert!(r.body["errors"][field].is_string(), "{field}: {}", r.body);
    }
}

async fn validation_errors(app: TestApp) {
    let base = product_body("Valid Name", 10.0);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "physical", "weight": 1, "price": 1, "categories": []}),
            "name",
        ),
        (
            json!({"name": "N1", "weight": 1, "price": 1, "categories": []}),
            "type",
        ),
        (
            json!({"name": "N2", "type": "physical", "price": 1, "categories": []}),
            "weight",
        ),
        (
            json!({"name": "N3", "type": "physical", "weight": 1, "categories": []}),
            "price",
        ),
        (
            json!({"name": "N4", "type": "physical", "weight": 1, "price": 1}),
            "categories",
        ),
        (
            json!({"name": "N5", "type": "furniture", "weight": 1, "price": 1, "categories": []}),
            "type",
        ),
        (
            json!({"name": "N6", "type": "physical", "weight": 1, "price": -1, "categories": []}),
            "price",
        ),
        (
            json!({"name": "N7", "type": "physical", "weight": -0.5, "price": 1, "categories": []}),
            "weight",
        ),
        (
            json!({"name": "N8", "type": "physical", "weight": 1, "price": 1, "categories": [], "inventory_level": -3}),
            "inventory_level",
        ),
        (
            json!({"name": "N9", "type": "physical", "weight": 1, "price": 1, "categories": [], "sale_price": -2}),
            "sale_price",
        ),
        (
            json!({"name": "", "type": "physical", "weight": 1, "price": 1, "categories": []}),
            "name",
        ),
        (
            json!({"name": "N10", "type": "physical", "weight": 1, "price": "abc", "categories": []}),
            "price",
        ),
        (
            json!({"name": "N11", "type": "physical", "weight": 1, "price": 1, "categories": [], "inventory_tracking": "sometimes"}),
            "inventory_tracking",
        ),
        (
            json!({"name": "N12", "type": "physical", "weight": 1, "price": 1, "categories": [], "custom_url": {"url": "no-slash"}}),
            "custom_url.url",
        ),
        (
            json!({"name": "N13", "type": "physical", "weight": 1, "price": 1, "categories": [], "order_quantity_minimum": 5, "order_quantity_maximum": 2}),
            "order_quantity_maximum",
        ),
        (
            json!({"name": "N14", "type": "physical", "weight": 1, "price": 1, "categories": [], "variants": [{"sku": "A", "option_values": [{"option_display_name": "Size"}]}]}),
            "variants[0].option_values[0].label",
        ),
        (
            json!({"name": "N15", "type": "physical", "weight": 1, "price": 1, "categories": [], "variants": [{"sku": "A", "price": -1, "option_values": [{"option_display_name": "Size", "label": "S"}]}]}),
            "variants[0].price",
        ),
        (
            json!({"name": "x".repeat(251), "type": "physical", "weight": 1, "price": 1, "categories": []}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(PRODUCTS, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["status"], 422);
        assert!(r.body["title"].is_string());
        assert!(r.body["type"].is_string());
        assert!(r.body["errors"][field].is_string(), "{field}: {}", r.body);
    }
    // Nothing was created, and bad updates change nothing.
    let pid = id(&create(&app, base).await);
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}"),
            json!({"price": 12, "weight": -1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["weight"].is_string());
    let r = app.get(&format!("{PRODUCTS}/{pid}")).await;
    assert_eq!(r.data()["price"], json!(10));
    let base_variant = r.data()["base_variant_id"].as_i64().unwrap();
    let r = app
        .put(
            &format!("{PRODUCTS}/{pid}/variants/{base_variant}"),
            json!({"inventory_level": -1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"]["inventory_level"].is_string());
    let r = app.get(&format!("{PRODUCTS}?limit=250")).await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 11);
    // Malformed JSON is a 400 in the v3 shape.
    let r = app.call_raw(Method::POST, PRODUCTS, b"{\"name\": ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["status"], 400);
}

async fn duplicates_are_409(app: TestApp) {
    create(&app, product_body("Only One", 5.0)).await;
    let mut again = product_body("Only One", 6.0);
    again["sku"] = json!("OTHER-SKU");
    let r = app.post(PRODUCTS, again).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["status"], 409);
    assert!(r.body["errors"]["name"].is_string());
    // Renaming onto another product's name.
    let other = id(&create(&app, product_body("Another One", 5.0)).await);
    let r = app
        .put(&format!("{PRODUCTS}/{other}"), json!({"name": "Only One"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["errors"]["name"].is_string());
    // A demo product's SKU.
    let mut body = product_body("Sku Clash", 5.0);
    body["sku"] = json!("tote");
    let r = app.post(PRODUCTS, body).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["errors"]["sku"].is_string());
}

async fn scopes_guard_catalog(app: TestApp) {
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app.token_with_scopes("store_v2_products_read_only").await;
    let writer = app.token_with_scopes("store_v2_products").await;
    let body = product_body("Scoped", 1.0);
    for (token, method, path, body, want) in [
        (
            &cart_only,
            Method::POST,
            PRODUCTS.to_string(),
            Some(body.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::GET,
            PRODUCTS.to_string(),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::PUT,
            format!("{PRODUCTS}/1"),
            Some(json!({"price": 1})),
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::DELETE,
            format!("{PRODUCTS}/1"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::POST,
            format!("{PRODUCTS}/2/modifiers"),
            Some(json!({})),
            StatusCode::FORBIDDEN,
        ),
        (
            &read_only,
            Method::GET,
            format!("{PRODUCTS}/1/variants"),
            None,
            StatusCode::OK,
        ),
        (
            &read_only,
            Method::POST,
            PRODUCTS.to_string(),
            Some(body.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            &read_only,
            Method::DELETE,
            format!("{PRODUCTS}/1/options/1"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &writer,
            Method::GET,
            format!("{PRODUCTS}/1"),
            None,
            StatusCode::OK,
        ),
        (
            &writer,
            Method::POST,
            PRODUCTS.to_string(),
            Some(body.clone()),
            StatusCode::OK,
        ),
    ] {
        let r = app.call_as(token, method.clone(), &path, body).await;
        assert_eq!(r.status, want, "{method} {path}: {}", r.body);
        if want == StatusCode::FORBIDDEN {
            assert!(
                r.body["title"]
                    .as_str()
                    .unwrap()
                    .contains("store_v2_products")
            );
        }
    }
    let r = app
        .call_as("nope-nope-nope-nope", Method::GET, PRODUCTS, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn demo_catalog_is_seeded(app: TestApp) {
    let r = app
        .get(&format!("{PRODUCTS}?include=variants,options,modifiers"))
        .await;
    let products = r.data().as_array().unwrap();
    assert!(products.len() >= 10);
    let by_id = |i: i64| products.iter().find(|p| id(p) == i).unwrap();

    let tee = by_id(1);
    assert_eq!(tee["name"], "Kassa T-Shirt");
    let variants = tee["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 6);
    let ids: Vec<i64> = variants.iter().map(id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(tee["options"].as_array().unwrap().len(), 2);
    assert_eq!(variants[4]["calculated_price"], json!(24));
    assert_eq!(variants[0]["calculated_price"], json!(20));

    let mug = by_id(2);
    let mods = mug["modifiers"].as_array().unwrap();
    assert_eq!(mods[0]["display_name"], "Gift wrap");
    assert_eq!(mods[0]["type"], "checkbox");
    assert_eq!(
        mods[0]["option_values"][0]["adjusters"]["price"]["adjuster_value"],
        json!(5)
    );
    assert_eq!(mods[1]["display_name"], "Engraving");
    assert_eq!(mods[1]["config"]["text_max_length"], 20);

    assert_eq!(by_id(3)["type"], "digital");
    assert_eq!(by_id(4)["inventory_tracking"], "product");
    assert_eq!(by_id(4)["inventory_level"], 3);
    assert_eq!(by_id(5)["price"], json!(40));
    assert_eq!(by_id(5)["sale_price"], json!(29.99));
    assert_eq!(by_id(5)["calculated_price"], json!(29.99));
    assert!(
        by_id(6)["variants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["purchasing_disabled"] == true)
    );
    assert_eq!(
        by_id(7)["modifiers"][0]["option_values"][2]["adjusters"]["price"]["adjuster"],
        "percentage"
    );
}

async fn cart_prices_catalog_variants_and_modifiers(app: TestApp) {
    // A hoodie: two sizes (L +3.00 via its own price) and a +5.00 gift-wrap modifier.
    let mut body = product_body("Cart Hoodie", 45.0);
    body["variants"] = json!([
        {"sku": "HOOD-M", "option_values": [{"option_display_name": "Size", "label": "M"}]},
        {"sku": "HOOD-L", "price": 48.0, "option_values": [{"option_display_name": "Size", "label": "L"}]}
    ]);
    let p = create(&app, body).await;
    let pid = id(&p);
    let large = p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["sku"] == "HOOD-L")
        .map(id)
        .unwrap();
    let r = app
        .post(
            &format!("{PRODUCTS}/{pid}/modifiers"),
            json!({"display_name": "Gift wrap", "type": "dropdown", "required": false, "option_values": [
                {"label": "No thanks", "sort_order": 0},
                {"label": "Wrap it", "sort_order": 1, "adjusters": {"price": {"adjuster": "relative", "adjuster_value": 5.00}}}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mid = id(r.data());
    let wrap = id(&r.data()["option_values"][1]);

    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [
                {"product_id": pid, "variant_id": large, "quantity": 3,
                 "option_selections": [{"option_id": mid, "option_value": wrap}]}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let item = &r.data()["line_items"]["physical_items"][0];
    assert_eq!(item["variant_id"], large);
    assert_eq!(item["list_price"], json!(53));
    assert_eq!(item["sale_price"], json!(53));
    assert_eq!(item["extended_list_price"], json!(159));
    assert_eq!(item["extended_sale_price"], json!(159));
    assert_eq!(r.data()["cart_amount"], json!(159));

    // The demo tote on sale (29.99) and the demo T-shirt L/Blue (24.00).
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [
                {"product_id": 5, "quantity": 2},
                {"product_id": 1, "variant_id": 6, "quantity": 1}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let items = r.data()["line_items"]["physical_items"].as_array().unwrap();
    assert_eq!(items[0]["sale_price"], json!(29.99));
    assert_eq!(items[0]["extended_sale_price"], json!(59.98));
    assert_eq!(items[1]["sale_price"], json!(24));
    assert_eq!(r.data()["cart_amount"], json!(83.98));

    // A variant disabled through the catalog API can no longer be bought.
    app.put(
        &format!("{PRODUCTS}/{pid}/variants/{large}"),
        json!({"purchasing_disabled": true}),
    )
    .await;
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": pid, "variant_id": large, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn openapi_lists_catalog_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/stores/{store_hash}/v3/catalog/products",
        "/stores/{store_hash}/v3/catalog/products/{product_id}",
        "/stores/{store_hash}/v3/catalog/products/{product_id}/variants/{variant_id}",
        "/stores/{store_hash}/v3/catalog/products/{product_id}/options/{option_id}/values/{value_id}",
        "/stores/{store_hash}/v3/catalog/products/{product_id}/modifiers/{modifier_id}/values/{value_id}",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
}
