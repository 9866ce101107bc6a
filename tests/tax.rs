//! Tax admin API over real HTTP, on both backends (zones, rates, classes, settings,
//! validation, scopes), and the tax engine run on the demo store's seeded configuration.

mod common;

use common::TestApp;
use kassa::domain::address::Location;
use kassa::domain::money::{Currency, Money};
use kassa::domain::tax::{TaxResult, TaxRoundingStrategy, TaxableAmount, compute_tax};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    demo_tax_is_seeded,
    zone_crud,
    zone_validation,
    rate_crud_and_validation,
    class_crud_and_validation,
    settings_get_and_update,
    scopes_guard_tax,
    seeded_config_taxes_a_checkout,
    openapi_lists_tax_paths,
);

const ZONES: &str = "/stores/demo/v3/tax/zones";
const RATES: &str = "/stores/demo/v3/tax/rates";
const CLASSES: &str = "/stores/demo/v3/tax/classes";
const SETTINGS: &str = "/stores/demo/v3/tax/settings";

/// The demo store with its tax seeded (a no-op when `--demo` seeding already did it).
async fn seeded(app: &TestApp) -> i64 {
    let store = app.kassa.find_store("demo").await.expect("demo store");
    app.kassa.seed_demo_tax(&store).await.expect("seed tax");
    // Twice changes nothing.
    app.kassa.seed_demo_tax(&store).await.expect("seed tax");
    store.id
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x["id"].as_i64().expect("id"))
        .collect()
}

fn assert_error(r: &common::Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].is_string(), "{}", r.body);
    assert!(r.body["type"].is_string(), "{}", r.body);
    assert!(
        r.body["errors"].get(field).is_some(),
        "expected an error naming `{field}`: {}",
        r.body
    );
}

async fn demo_tax_is_seeded(app: TestApp) {
    seeded(&app).await;
    let r = app.get(ZONES).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["meta"], json!({}));
    assert_eq!(ids(r.data()), vec![1, 2, 3, 4]);
    let zones = r.data();
    assert_eq!(zones[0]["name"], "Default Tax Zone");
    assert_eq!(zones[0]["shopper_target_settings"]["locations"], json!([]));
    assert_eq!(zones[1]["name"], "California");
    assert_eq!(
        zones[1]["shopper_target_settings"],
        json!({"locations": [{"country_code": "US", "subdivision_codes": ["CA"], "postal_codes": []}], "customer_groups": []})
    );
    assert_eq!(
        zones[1]["price_display_settings"],
        json!({"show_inclusive": false, "show_both_on_detail_view": false, "show_both_on_list_view": false})
    );
    assert_eq!(zones[3]["name"], "EU VAT");
    assert_eq!(zones[3]["price_display_settings"]["show_inclusive"], true);

    let r = app.get(RATES).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ids(r.data()), vec![1, 2, 3]);
    let ca = &r.data()[0];
    assert_eq!(ca["name"], "CA Sales Tax");
    assert_eq!(ca["tax_zone_id"], 2);
    assert_eq!(ca["priority"], 1);
    assert_eq!(ca["enabled"], true);
    assert_eq!(
        ca["class_rates"][0],
        json!({"rate": 7.25, "tax_class_id": 0})
    );
    assert_eq!(r.data()[1]["class_rates"][0]["rate"], json!(8.875));
    assert_eq!(r.body["meta"]["pagination"]["total"], 3);

    let r = app.get(CLASSES).await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Non-Taxable Products", "Shipping", "Gift Wrapping"]
    );
    assert_eq!(ids(r.data()), vec![1, 2, 3]);
    assert!(
        r.data()[0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );

    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["shipping_tax_class_id"], 2);
    assert_eq!(r.data()["gift_wrapping_tax_class_id"], 3);
}

async fn zone_crud(app: TestApp) {
    seeded(&app).await;
    let r = app
        .post(
            ZONES,
            json!([{
                "name": "Australia",
                "price_display_settings": {"show_inclusive": true},
                "shopper_target_settings": {"locations": [{"country_code": "au", "postal_codes": ["2238", "2173"]}], "customer_groups": [0]}
            }, {"name": "Canada", "enabled": false}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(r.data()), vec![5, 6]);
    let au = &r.data()[0];
    assert_eq!(au["enabled"], true);
    assert_eq!(
        au["price_display_settings"],
        json!({"show_inclusive": true, "show_both_on_detail_view": false, "show_both_on_list_view": false})
    );
    assert_eq!(
        au["shopper_target_settings"],
        json!({"locations": [{"country_code": "AU", "subdivision_codes": [], "postal_codes": ["2238", "2173"]}], "customer_groups": [0]})
    );
    assert_eq!(r.data()[1]["enabled"], false);

    // A rate in the zone, to see it go with the zone.
    let r = app
        .post(
            RATES,
            json!([{"name": "GST", "tax_zone_id": 5, "class_rates": [{"rate": 10, "tax_class_id": 0}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let gst = r.data()[0]["id"].as_i64().unwrap();

    // Partial update: nested fields merge.
    let r = app
        .put(
            ZONES,
            json!([{"id": 5, "price_display_settings": {"show_both_on_list_view": true}}, {"id": 1, "name": "Rest of world"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["name"], "Australia");
    assert_eq!(
        r.data()[0]["price_display_settings"]["show_inclusive"],
        true
    );
    assert_eq!(
        r.data()[0]["price_display_settings"]["show_both_on_list_view"],
        true
    );
    assert_eq!(
        r.data()[0]["shopper_target_settings"]["locations"][0]["postal_codes"],
        json!(["2238", "2173"])
    );
    assert_eq!(r.data()[1]["name"], "Rest of world");

    let r = app.get(&format!("{ZONES}?id:in=5,1")).await;
    assert_eq!(ids(r.data()), vec![1, 5]);
    let r = app.get(&format!("{ZONES}?id%3Ain=6&")).await;
    assert_eq!(ids(r.data()), vec![6]);

    let r = app.delete(&format!("{ZONES}?id:in=5,6")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(ZONES).await;
    assert_eq!(ids(r.data()), vec![1, 2, 3, 4]);
    let r = app.get(&format!("{RATES}?id:in={gst}")).await;
    assert_eq!(r.data(), &json!([]), "the zone's rates went with it");

    // The default zone stays; deletes need ids.
    let r = app.delete(&format!("{ZONES}?id:in=1")).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    let r = app.delete(ZONES).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    let r = app.put(ZONES, json!([{"id": 99, "name": "x"}])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["status"], 404);
}

async fn zone_validation(app: TestApp) {
    seeded(&app).await;
    for (body, field) in [
        (json!([{"enabled": true}]), "[0].name"),
        (json!([{"name": "ok"}, {"name": "  "}]), "[1].name"),
        (
            json!([{"name": "x", "shopper_target_settings": {"locations": [{"country_code": "USA"}]}}]),
            "[0].shopper_target_settings.locations[0].country_code",
        ),
        (
            json!([{"name": "x", "shopper_target_settings": {"locations": [{"subdivision_codes": ["CA"]}]}}]),
            "[0].shopper_target_settings.locations[0]",
        ),
        (
            json!([{"name": "x", "shopper_target_settings": {"customer_groups": [1]}}]),
            "[0].shopper_target_settings.locations",
        ),
        (
            json!([{"name": "x", "price_display_settings": {"show_both_on_list_view": true}}]),
            "[0].price_display_settings.show_inclusive",
        ),
        (json!([{"name": 5}]), "[0].name"),
        (json!({"name": "not an array"}), "body"),
        (json!([]), "body"),
    ] {
        let r = app.post(ZONES, body.clone()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let r = app
        .put(
            ZONES,
            json!([{"id": 1, "shopper_target_settings": {"locations": [{"country_code": "US"}]}}]),
        )
        .await;
    assert_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "[0].shopper_target_settings",
    );
    let r = app.put(ZONES, json!([{"name": "no id"}])).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    let r = app
        .put(
            ZONES,
            json!([{"id": 2, "name": "a"}, {"id": 2, "name": "b"}]),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].id");
    let many: Vec<Value> = (0..51).map(|i| json!({"name": format!("z{i}")})).collect();
    let r = app.post(ZONES, Value::Array(many)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = app.get(&format!("{ZONES}?id:in=abc")).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    // Nothing was written by the failed requests.
    let r = app.get(ZONES).await;
    assert_eq!(ids(r.data()), vec![1, 2, 3, 4]);
}

async fn rate_crud_and_validation(app: TestApp) {
    seeded(&app).await;
    let r = app
        .post(
            RATES,
            json!([
                {"name": "County", "tax_zone_id": 2, "priority": 1, "class_rates": [{"rate": 1.25, "tax_class_id": 0}, {"rate": 0, "tax_class_id": 1}]},
                {"name": "Surcharge", "tax_zone_id": 2, "enabled": false, "priority": 2, "class_rates": [{"rate": 0.5, "tax_class_id": 0}]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(r.data()), vec![4, 5]);
    assert_eq!(
        r.data()[0],
        json!({"id": 4, "tax_zone_id": 2, "name": "County", "enabled": true, "priority": 1,
               "class_rates": [{"rate": 1.25, "tax_class_id": 0}, {"rate": 0, "tax_class_id": 1}]})
    );
    assert_eq!(r.data()[1]["enabled"], false);

    let r = app.get(&format!("{RATES}?tax_zone_id:in=2")).await;
    assert_eq!(ids(r.data()), vec![1, 4, 5]);
    let r = app.get(&format!("{RATES}?limit=2&page=2")).await;
    assert_eq!(ids(r.data()), vec![3, 4]);
    let pg = &r.body["meta"]["pagination"];
    assert_eq!(pg["total"], 5);
    assert_eq!(pg["count"], 2);
    assert_eq!(pg["per_page"], 2);
    assert_eq!(pg["current_page"], 2);
    assert_eq!(pg["total_pages"], 3);

    let r = app
        .put(
            RATES,
            json!([{"id": 4, "class_rates": [{"rate": 2, "tax_class_id": 0}]}, {"id": 5, "enabled": true}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["name"], "County");
    assert_eq!(
        r.data()[0]["class_rates"],
        json!([{"rate": 2, "tax_class_id": 0}])
    );
    assert_eq!(r.data()[1]["enabled"], true);
    assert_eq!(r.data()[1]["priority"], 2);

    for (body, field) in [
        (
            json!([{"tax_zone_id": 2, "class_rates": [{"rate": 1, "tax_class_id": 0}]}]),
            "[0].name",
        ),
        (
            json!([{"name": "x", "class_rates": [{"rate": 1, "tax_class_id": 0}]}]),
            "[0].tax_zone_id",
        ),
        (json!([{"name": "x", "tax_zone_id": 2}]), "[0].class_rates"),
        (
            json!([{"name": "x", "tax_zone_id": 99, "class_rates": [{"rate": 1, "tax_class_id": 0}]}]),
            "[0].tax_zone_id",
        ),
        (
            json!([{"name": "x", "tax_zone_id": 2, "class_rates": [{"rate": -1, "tax_class_id": 0}]}]),
            "[0].class_rates[0].rate",
        ),
        (
            json!([{"name": "x", "tax_zone_id": 2, "class_rates": [{"rate": 1, "tax_class_id": 0}, {"rate": 1, "tax_class_id": 42}]}]),
            "[0].class_rates[1].tax_class_id",
        ),
        (
            json!([{"name": "x", "tax_zone_id": 2, "class_rates": []}]),
            "[0].class_rates",
        ),
        (
            json!([{"name": "x", "tax_zone_id": 2, "class_rates": [{"rate": "lots", "tax_class_id": 0}]}]),
            "[0].class_rates[0].rate",
        ),
        (
            json!([{"name": "x", "tax_zone_id": 2, "priority": -1, "class_rates": [{"rate": 1, "tax_class_id": 0}]}]),
            "[0].priority",
        ),
    ] {
        let r = app.post(RATES, body.clone()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let r = app.put(RATES, json!([{"id": 77, "name": "x"}])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let r = app.delete(&format!("{RATES}?id:in=4,5")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(RATES).await;
    assert_eq!(ids(r.data()), vec![1, 2, 3]);
    let r = app.delete(RATES).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
}

async fn class_crud_and_validation(app: TestApp) {
    let store_id = seeded(&app).await;
    let r = app
        .post(CLASSES, json!([{"name": "Food"}, {"name": "Books"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(r.data()), vec![4, 5]);
    assert_eq!(r.data()[0]["name"], "Food");
    assert!(r.data()[0]["updated_at"].is_string());

    // Names are unique ignoring case: against the store 409, within a batch 422.
    let r = app.post(CLASSES, json!([{"name": "food"}])).await;
    assert_error(&r, StatusCode::CONFLICT, "[0].name");
    let r = app
        .post(CLASSES, json!([{"name": "Toys"}, {"name": "TOYS"}]))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].name");
    for (body, field) in [
        (json!([{"name": "Food (hot)"}]), "[0].name"),
        (json!([{"name": ""}]), "[0].name"),
        (json!([{"name": "x".repeat(101)}]), "[0].name"),
        (json!([{}]), "[0]"),
        (json!([{"name": "Extra", "colour": "red"}]), "[0].colour"),
        (json!([]), "body"),
    ] {
        let r = app.post(CLASSES, body.clone()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let many: Vec<Value> = (0..51).map(|i| json!({"name": format!("c{i}")})).collect();
    let r = app.post(CLASSES, Value::Array(many)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    // Renames; two classes may swap names in one batch.
    let r = app
        .put(
            CLASSES,
            json!([{"id": 4, "name": "Books"}, {"id": 5, "name": "Food"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["name"], "Books");
    let r = app
        .put(CLASSES, json!([{"id": 4, "name": "shipping"}]))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "[0].name");
    let r = app.put(CLASSES, json!([{"id": 99, "name": "Nope"}])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app.put(CLASSES, json!([{"id": 0, "name": "Zero"}])).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].id");
    let r = app.put(CLASSES, json!([{"id": 4}])).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].name");
    let r = app
        .put(
            CLASSES,
            json!([{"id": 4, "name": "a"}, {"id": 4, "name": "b"}]),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[1].id");

    // A rate for the class, and a setting naming it: deleting the class cleans both up.
    let r = app
        .put(
            RATES,
            json!([{"id": 1, "class_rates": [{"rate": 7.25, "tax_class_id": 0}, {"rate": 1, "tax_class_id": 4}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .put(SETTINGS, json!({"gift_wrapping_tax_class_id": 4}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = app.delete(&format!("{CLASSES}?id:in=4,99")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = app.delete(CLASSES).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.delete(&format!("{CLASSES}?id:in=0")).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    let r = app.delete(&format!("{CLASSES}?id:in=x")).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
    let r = app.delete(&format!("{CLASSES}?id:in=4")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(CLASSES).await;
    assert_eq!(ids(r.data()), vec![1, 2, 3, 5]);
    let r = app.get(&format!("{RATES}?id:in=1")).await;
    assert_eq!(
        r.data()[0]["class_rates"],
        json!([{"rate": 7.25, "tax_class_id": 0}])
    );
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["gift_wrapping_tax_class_id"], 0);
    // The engine sees the same.
    let config = app.kassa.tax_config(store_id).await.expect("config");
    assert!(config.classes.iter().any(|c| c.id == 0));
    assert!(!config.classes.iter().any(|c| c.id == 4));
}

async fn settings_get_and_update(app: TestApp) {
    let store_id = seeded(&app).await;
    let r = app.get(SETTINGS).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.data(),
        &json!({
            "tax_entered_with_prices": false,
            "price_display_settings": {"control_panel_price_display_strategy": "ZONE", "invoice_price_display_strategy": "ZONE"},
            "fallback_strategy": "FIXED",
            "should_subtract_store_tax": true,
            "should_use_geolocation_to_determine_guest_shopper_tax_zone": false,
            "guest_shopper_tax_zone_id": 1,
            "store_tax_zone_id": 1,
            "document_submission_strategy": "ON_PAYMENT_CAPTURE",
            "rounding_strategy": "RATE_ROUNDING",
            "tax_address": "SHIPPING",
            "shipping_tax_class_id": 2,
            "gift_wrapping_tax_class_id": 3
        })
    );
    let r = app
        .put(
            SETTINGS,
            json!({"rounding_strategy": "NO_ROUNDING", "store_tax_zone_id": 4,
                   "price_display_settings": {"invoice_price_display_strategy": "INCLUSIVE"}, "tax_address": "BILLING"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["rounding_strategy"], "NO_ROUNDING");
    assert_eq!(r.data()["store_tax_zone_id"], 4);
    assert_eq!(r.data()["tax_address"], "BILLING");
    assert_eq!(
        r.data()["price_display_settings"],
        json!({"control_panel_price_display_strategy": "ZONE", "invoice_price_display_strategy": "INCLUSIVE"})
    );
    assert_eq!(r.data()["fallback_strategy"], "FIXED", "unsent fields stay");
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["rounding_strategy"], "NO_ROUNDING");

    for (body, field) in [
        (
            json!({"rounding_strategy": "SOMETIMES"}),
            "rounding_strategy",
        ),
        (json!({"store_tax_zone_id": 99}), "store_tax_zone_id"),
        (
            json!({"guest_shopper_tax_zone_id": 99}),
            "guest_shopper_tax_zone_id",
        ),
        (
            json!({"shipping_tax_class_id": 42}),
            "shipping_tax_class_id",
        ),
        (
            json!({"price_display_settings": {"control_panel_price_display_strategy": "BOTH"}}),
            "price_display_settings.control_panel_price_display_strategy",
        ),
        (
            json!({"should_subtract_store_tax": "yes"}),
            "should_subtract_store_tax",
        ),
    ] {
        let r = app.put(SETTINGS, body.clone()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }

    // Deleting the zone a setting names puts the setting back on the default zone.
    let r = app.post(ZONES, json!([{"name": "Temp"}])).await;
    let temp = r.data()[0]["id"].as_i64().unwrap();
    app.put(SETTINGS, json!({"guest_shopper_tax_zone_id": temp}))
        .await;
    app.delete(&format!("{ZONES}?id:in={temp}")).await;
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["guest_shopper_tax_zone_id"], 1);

    // Prices entered with tax is the store's own setting.
    let r = app
        .put(SETTINGS, json!({"tax_entered_with_prices": true}))
        .await;
    assert_eq!(r.data()["tax_entered_with_prices"], true);
    let store = app.kassa.find_store("demo").await.unwrap();
    assert!(store.settings.prices_include_tax);
    let r = app.get(SETTINGS).await;
    assert_eq!(r.data()["tax_entered_with_prices"], true);
    let config = app.kassa.tax_config(store_id).await.unwrap();
    assert!(config.settings.tax_entered_with_prices);
    assert_eq!(
        config.settings.rounding_strategy,
        TaxRoundingStrategy::NoRounding
    );
}

async fn scopes_guard_tax(app: TestApp) {
    seeded(&app).await;
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app
        .token_with_scopes("store_v2_information_read_only")
        .await;
    let writer = app.token_with_scopes("store_v2_information").await;
    let zone = json!([{"name": "Scoped"}]);
    let class = json!([{"name": "Scoped"}]);
    for (token, method, path, body, want) in [
        (&cart_only, Method::GET, ZONES, None, StatusCode::FORBIDDEN),
        (
            &cart_only,
            Method::POST,
            ZONES,
            Some(zone.clone()),
            StatusCode::FORBIDDEN,
        ),
        (&cart_only, Method::GET, RATES, None, StatusCode::FORBIDDEN),
        (
            &cart_only,
            Method::GET,
            CLASSES,
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::GET,
            SETTINGS,
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::PUT,
            SETTINGS,
            Some(json!({})),
            StatusCode::FORBIDDEN,
        ),
        (
            &cart_only,
            Method::DELETE,
            "/stores/demo/v3/tax/rates?id:in=1",
            None,
            StatusCode::FORBIDDEN,
        ),
        (&read_only, Method::GET, ZONES, None, StatusCode::OK),
        (&read_only, Method::GET, RATES, None, StatusCode::OK),
        (&read_only, Method::GET, CLASSES, None, StatusCode::OK),
        (&read_only, Method::GET, SETTINGS, None, StatusCode::OK),
        (
            &read_only,
            Method::POST,
            ZONES,
            Some(zone.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            &read_only,
            Method::POST,
            CLASSES,
            Some(class.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            &read_only,
            Method::PUT,
            SETTINGS,
            Some(json!({})),
            StatusCode::FORBIDDEN,
        ),
        (
            &read_only,
            Method::DELETE,
            "/stores/demo/v3/tax/zones?id:in=2",
            None,
            StatusCode::FORBIDDEN,
        ),
        (&writer, Method::GET, ZONES, None, StatusCode::OK),
        (
            &writer,
            Method::POST,
            ZONES,
            Some(zone.clone()),
            StatusCode::OK,
        ),
        (
            &writer,
            Method::POST,
            CLASSES,
            Some(class.clone()),
            StatusCode::OK,
        ),
        (
            &writer,
            Method::PUT,
            SETTINGS,
            Some(json!({})),
            StatusCode::OK,
        ),
    ] {
        let r = app.call_as(token, method.clone(), path, body).await;
        assert_eq!(r.status, want, "{method} {path}: {}", r.body);
        if want == StatusCode::FORBIDDEN {
            assert_eq!(r.body["status"], 403);
            assert!(
                r.body["title"]
                    .as_str()
                    .unwrap()
                    .contains("store_v2_information"),
                "{}",
                r.body
            );
        }
    }
    let r = app
        .call_as("nope-nope-nope-nope", Method::GET, ZONES, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn amount(key: &str, class: i64, value: &str) -> TaxableAmount {
    TaxableAmount {
        key: key.into(),
        tax_class_id: class,
        amount: Money::new(d(value)),
    }
}

fn at<'a>(country: &'a str, state: &'a str) -> Option<Location<'a>> {
    Some(Location {
        country_code: country,
        state_code: state,
        postal_code: "",
    })
}

fn check_sums(r: &TaxResult) {
    let lines: Money = r.lines.iter().map(|l| l.tax).sum();
    let rates: Money = r.taxes.iter().map(|t| t.amount).sum();
    assert_eq!(lines, r.total_tax);
    assert_eq!(rates, r.total_tax);
    for l in &r.lines {
        assert_eq!(l.amount_inc_tax, l.amount_ex_tax + l.tax);
    }
}

async fn seeded_config_taxes_a_checkout(app: TestApp) {
    let store_id = seeded(&app).await;
    let config = app.kassa.tax_config(store_id).await.expect("tax config");
    let usd = Currency::new("USD", 2, Decimal::ONE);
    // A T-shirt (20.00), two mugs (25.00), an e-book in the non-taxable class (9.99) and
    // 10.00 shipping in the Shipping class.
    let shipping_class = config.settings.shipping_tax_class_id;
    assert_eq!(shipping_class, 2);
    let amounts = [
        amount("shirt", 0, "20.00"),
        amount("mugs", 0, "25.00"),
        amount("ebook", 1, "9.99"),
        amount("shipping:c1", shipping_class, "10.00"),
    ];
    let tax = |to, amounts: &[TaxableAmount], cur: &Currency| {
        let r = compute_tax(&config, to, amounts, false, cur).expect("tax");
        check_sums(&r);
        r
    };

    // California 7.25%: 1.45 + 1.8125→1.81 + 0 + 0.725→0.73 = 3.99.
    let r = tax(at("US", "CA"), &amounts, &usd);
    let lines: Vec<Money> = r.lines.iter().map(|l| l.tax).collect();
    let m = |s: &str| Money::new(d(s));
    assert_eq!(lines, vec![m("1.45"), m("1.81"), m("0"), m("0.73")]);
    assert_eq!(r.total_tax, m("3.99"));
    assert_eq!(r.taxes.len(), 1);
    assert_eq!(r.taxes[0].name, "CA Sales Tax");
    assert_eq!(r.taxes[0].rate, d("7.25"));
    assert_eq!(r.zone_id, Some(2));
    assert_eq!(r.lines[3].amount_inc_tax, m("10.73"));

    // New York 8.875% per line: 1.775→1.78 + 2.21875→2.22 + 0 + 0.8875→0.89 = 4.89.
    let r = tax(at("US", "NY"), &amounts, &usd);
    assert_eq!(r.total_tax, m("4.89"));

    // Germany, 20% VAT on the prices as entered (exclusive): 4.00 + 5.00 + 0 + 2.00.
    let r = tax(at("DE", ""), &amounts, &usd);
    assert_eq!(r.total_tax, m("11.00"));
    assert_eq!(r.taxes[0].name, "VAT");
    assert_eq!(r.lines[0].amount_inc_tax, m("24.00"));

    // Texas and Japan: no zone but the default one, which has no rates.
    assert_eq!(tax(at("US", "TX"), &amounts, &usd).total_tax, Money::ZERO);
    assert_eq!(tax(at("JP", "13"), &amounts, &usd).total_tax, Money::ZERO);
    assert_eq!(tax(None, &amounts, &usd).total_tax, Money::ZERO);

    // Yen: ¥3,000 × 7.25% = 217.5 → ¥218 (half up).
    let jpy = Currency::new("JPY", 0, d("150"));
    let r = tax(at("US", "CA"), &[amount("shirt", 0, "3000")], &jpy);
    assert_eq!(r.total_tax, m("218"));

    // Per-order rounding, switched on over HTTP: New York is 55.00 × 8.875% = 4.88125 → 4.88.
    let r = app
        .put(SETTINGS, json!({"rounding_strategy": "NO_ROUNDING"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let config = app.kassa.tax_config(store_id).await.expect("tax config");
    let r = compute_tax(&config, at("US", "NY"), &amounts, false, &usd).expect("tax");
    check_sums(&r);
    assert_eq!(r.total_tax, m("4.88"));

    // A rate with a negative percentage is refused at the door, so the engine never sees one;
    // a disabled zone stops taxing.
    let r = app.put(ZONES, json!([{"id": 2, "enabled": false}])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let config = app.kassa.tax_config(store_id).await.expect("tax config");
    let r = compute_tax(&config, at("US", "CA"), &amounts, false, &usd).expect("tax");
    assert_eq!(r.total_tax, Money::ZERO);
    assert_eq!(r.zone_id, Some(1));
}

async fn openapi_lists_tax_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = r.body["paths"].as_object().unwrap();
    for (p, methods) in [
        (
            "/stores/{store_hash}/v3/tax/zones",
            &["get", "post", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/tax/rates",
            &["get", "post", "put", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/tax/classes",
            &["get", "post", "put", "delete"][..],
        ),
        ("/stores/{store_hash}/v3/tax/settings", &["get", "put"][..]),
    ] {
        let item = paths.get(p).unwrap_or_else(|| panic!("missing {p}"));
        for m in methods {
            assert!(item.get(*m).is_some(), "missing {m} {p}");
        }
    }
}
