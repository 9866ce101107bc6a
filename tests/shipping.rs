//! Shipping configuration over real HTTP on both backends (zones, methods, V2 error
//! bodies, scopes), and the rate engine run on the demo store's configuration.

mod common;

use common::TestApp;
use kassa::domain::address::Location;
use kassa::domain::money::{Currency, Money};
use kassa::domain::shipping::{ShipmentRequest, ShippableItem, ShippingQuote, quotes};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    zone_crud,
    method_crud,
    deleting_a_zone_deletes_its_methods,
    validation_errors_name_the_field,
    scopes_guard_shipping,
    demo_shipping_is_listed,
    demo_quotes,
    quotes_follow_admin_changes,
    openapi_lists_shipping_paths,
);

const ZONES: &str = "/stores/demo/v2/shipping/zones";

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn money(s: &str) -> Money {
    Money::new(dec(s))
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

/// Asserts a V2 error body: `[{"status": N, "message": "…"}]`, the message mentioning `needle`.
fn assert_v2_error(r: &common::Reply, status: StatusCode, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let list = r.body.as_array().expect("V2 errors are a list");
    assert_eq!(list.len(), 1, "{}", r.body);
    assert_eq!(list[0]["status"], status.as_u16(), "{}", r.body);
    let message = list[0]["message"].as_str().expect("message");
    assert!(
        message.contains(needle),
        "message `{message}` should mention `{needle}`"
    );
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

async fn demo_store_id(app: &TestApp) -> i64 {
    app.kassa.find_store("demo").await.expect("demo store").id
}

async fn seed(app: &TestApp) {
    let store = app.kassa.find_store("demo").await.expect("demo store");
    app.kassa
        .seed_demo_shipping(&store)
        .await
        .expect("seed shipping");
}

async fn zone_crud(app: TestApp) {
    let r = app
        .post(
            ZONES,
            json!({
                "name": "West Coast ZIPs",
                "type": "zip",
                "locations": [{"country_iso2": "us", "zip": "9*"}, {"country_iso2": "US", "zip": "97000-97999"}],
                "free_shipping": {"enabled": true, "minimum_sub_total": "75", "exclude_fixed_shipping_products": true},
                "handling_fees": {"percentage_surcharge": 5, "display_separately": false}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let z = r.body.clone();
    let zid = id(&z);
    assert_eq!(z["name"], "West Coast ZIPs");
    assert_eq!(z["type"], "zip");
    assert_eq!(z["enabled"], true);
    let locs = z["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 2);
    assert_eq!(locs[0]["country_iso2"], "US");
    assert_eq!(locs[0]["zip"], "9*");
    assert_eq!(locs[1]["zip"], "97000-97999");
    assert!(locs[0]["id"].as_i64().unwrap() > 0);
    assert_ne!(locs[0]["id"], locs[1]["id"]);
    assert!(locs[0].get("state_iso2").is_none());
    assert_eq!(
        z["free_shipping"],
        json!({"enabled": true, "minimum_sub_total": "75.0000", "exclude_fixed_shipping_products": true})
    );
    assert_eq!(
        z["handling_fees"],
        json!({"percentage_surcharge": "5.0000", "display_separately": false})
    );

    // GET one and the list.
    let r = app.get(&format!("{ZONES}/{zid}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, z);
    let r = app.get(ZONES).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_array().unwrap().iter().any(|v| v == &z));

    // PUT changes only what is sent; a location keeping its id keeps it.
    let first_loc = locs[0]["id"].clone();
    let r = app
        .put(
            &format!("{ZONES}/{zid}"),
            json!({"name": "West", "enabled": false, "locations": [{"id": first_loc, "country_iso2": "US", "zip": "94105"}],
                   "handling_fees": {"fixed_surcharge": "2.5", "display_separately": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "West");
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["type"], "zip");
    assert_eq!(
        r.body["locations"],
        json!([{"id": first_loc, "country_iso2": "US", "zip": "94105"}])
    );
    assert_eq!(r.body["free_shipping"]["minimum_sub_total"], "75.0000");
    assert_eq!(
        r.body["handling_fees"],
        json!({"fixed_surcharge": "2.5000", "display_separately": true})
    );
    // Changing the type checks the kept locations against it.
    let r = app
        .put(&format!("{ZONES}/{zid}"), json!({"type": "state"}))
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "locations[0].state_iso2");
    let r = app
        .put(
            &format!("{ZONES}/{zid}"),
            json!({"type": "global", "locations": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["locations"], json!([]));

    // DELETE, then 404 everywhere, in the V2 shape.
    let r = app.delete(&format!("{ZONES}/{zid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_null());
    for r in [
        app.get(&format!("{ZONES}/{zid}")).await,
        app.delete(&format!("{ZONES}/{zid}")).await,
        app.put(&format!("{ZONES}/{zid}"), json!({"name": "x"}))
            .await,
        app.get(&format!("{ZONES}/{zid}/methods")).await,
        app.get(&format!("{ZONES}/abc")).await,
    ] {
        assert_v2_error(&r, StatusCode::NOT_FOUND, "does not exist");
    }
}

async fn method_crud(app: TestApp) {
    let r = app
        .post(
            ZONES,
            json!({"name": "Texas", "type": "state", "locations": [{"country_iso2": "US", "state_iso2": "TX"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let zid = id(&r.body);
    assert_eq!(r.body["locations"][0]["state_iso2"], "TX", "{}", r.body);
    let methods = format!("{ZONES}/{zid}/methods");

    let r = app
        .post(
            &methods,
            json!({"name": "Per Order", "type": "perorder", "settings": {"rate": 8}, "enabled": true,
                   "handling_fees": {"fixed_surcharge": "3"}, "channel_ids": [1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let flat = r.body.clone();
    let flat_id = id(&flat);
    assert_eq!(flat["name"], "Per Order");
    assert_eq!(flat["type"], "perorder");
    assert_eq!(flat["settings"], json!({"rate": 8}));
    assert_eq!(flat["enabled"], true);
    assert_eq!(flat["handling_fees"], json!({"fixed_surcharge": "3.0000"}));
    assert_eq!(flat["is_fallback"], false);
    assert_eq!(flat["channel_ids"], json!([1]));
    assert_eq!(flat["tax_class_id"], 0);

    let r = app
        .post(
            &methods,
            json!({"name": "Rate per Weight", "type": "weight",
                   "settings": {"default_cost": 12, "default_cost_type": "fixed_amount",
                                "range": [{"lower_limit": 0, "upper_limit": 20, "shipping_cost": 8},
                                          {"lower_limit": 20, "upper_limit": 40, "shipping_cost": "12.5"}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let weight_id = id(&r.body);
    assert_eq!(
        r.body["settings"],
        json!({"default_cost": 12, "default_cost_type": "fixed_amount",
               "range": [{"lower_limit": 0, "upper_limit": 20, "shipping_cost": 8},
                         {"lower_limit": 20, "upper_limit": 40, "shipping_cost": 12.5}]})
    );
    assert_eq!(
        r.body["handling_fees"],
        json!({"fixed_surcharge": "0.0000"})
    );

    let r = app
        .post(
            &methods,
            json!({"name": "Free", "type": "freeshipping", "tax_class_id": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["settings"], json!({}));
    assert_eq!(r.body["tax_class_id"], Value::Null);
    let free_id = id(&r.body);

    // List in id order; GET one.
    let r = app.get(&methods).await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<i64> = r.body.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![flat_id, weight_id, free_id]);
    let r = app.get(&format!("{methods}/{flat_id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, flat);

    // PUT: partial; settings replaced as a whole; switching type needs its settings.
    let r = app
        .put(
            &format!("{methods}/{flat_id}"),
            json!({"enabled": false, "settings": {"rate": "9.95"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["name"], "Per Order");
    assert_eq!(r.body["settings"], json!({"rate": 9.95}));
    assert_eq!(
        r.body["handling_fees"],
        json!({"fixed_surcharge": "3.0000"})
    );
    let r = app
        .put(
            &format!("{methods}/{weight_id}"),
            json!({"type": "peritem"}),
        )
        .await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "settings.rate");
    let r = app
        .put(
            &format!("{methods}/{weight_id}"),
            json!({"type": "peritem", "settings": {"rate": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["type"], "peritem");
    assert_eq!(r.body["settings"], json!({"rate": 2}));

    // A method is only found under its own zone.
    let r = app
        .post(ZONES, json!({"name": "Elsewhere", "type": "global"}))
        .await;
    let other = id(&r.body);
    assert_v2_error(
        &app.get(&format!("{ZONES}/{other}/methods/{flat_id}")).await,
        StatusCode::NOT_FOUND,
        "does not exist",
    );

    // DELETE.
    let r = app.delete(&format!("{methods}/{free_id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_v2_error(
        &app.get(&format!("{methods}/{free_id}")).await,
        StatusCode::NOT_FOUND,
        "does not exist",
    );
    assert_v2_error(
        &app.delete(&format!("{methods}/{free_id}")).await,
        StatusCode::NOT_FOUND,
        "does not exist",
    );
    assert_v2_error(
        &app.post(
            &format!("{ZONES}/99999/methods"),
            json!({"name": "x", "type": "freeshipping"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "does not exist",
    );
}

async fn deleting_a_zone_deletes_its_methods(app: TestApp) {
    let r = app
        .post(ZONES, json!({"name": "Gone", "type": "global"}))
        .await;
    let zid = id(&r.body);
    let r = app
        .post(
            &format!("{ZONES}/{zid}/methods"),
            json!({"name": "Flat", "type": "perorder", "settings": {"rate": 1}}),
        )
        .await;
    let mid = id(&r.body);
    assert_eq!(
        app.delete(&format!("{ZONES}/{zid}")).await.status,
        StatusCode::NO_CONTENT
    );
    let config = app
        .kassa
        .shipping_config(demo_store_id(&app).await)
        .await
        .unwrap();
    assert!(config.zones.iter().all(|z| z.id != zid));
    assert!(config.methods.iter().all(|m| m.id != mid));
}

async fn validation_errors_name_the_field(app: TestApp) {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "country", "locations": [{"country_iso2": "US"}]}),
            "name",
        ),
        (json!({"name": " ", "type": "global"}), "name"),
        (json!({"name": "Z"}), "type"),
        (json!({"name": "Z", "type": "continent"}), "type"),
        (json!({"name": "Z", "type": "country"}), "locations"),
        (
            json!({"name": "Z", "type": "country", "locations": [{"country_iso2": "USA"}]}),
            "locations[0].country_iso2",
        ),
        (
            json!({"name": "Z", "type": "state", "locations": [{"country_iso2": "US"}]}),
            "locations[0].state_iso2",
        ),
        (
            json!({"name": "Z", "type": "zip", "locations": [{"country_iso2": "US", "zip": "90999-90000"}]}),
            "locations[0].zip",
        ),
        (
            json!({"name": "Z", "type": "zip", "locations": [{"country_iso2": "US", "zip": "9?"}]}),
            "locations[0].zip",
        ),
        (
            json!({"name": "Z", "type": "global", "locations": [{"country_iso2": "US"}]}),
            "locations",
        ),
        (
            json!({"name": "Z", "type": "global", "free_shipping": {"minimum_sub_total": "-1"}}),
            "free_shipping.minimum_sub_total",
        ),
        (
            json!({"name": "Z", "type": "global", "free_shipping": {"minimum_sub_total": "lots"}}),
            "free_shipping.minimum_sub_total",
        ),
        (
            json!({"name": "Z", "type": "global", "handling_fees": {"fixed_surcharge": -2}}),
            "handling_fees.fixed_surcharge",
        ),
        (json!({"name": 7, "type": "global"}), "name"),
    ];
    for (body, field) in cases {
        let r = app.post(ZONES, body.clone()).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, field);
    }
    let r = app.call_raw(Method::POST, ZONES, b"{\"name\": ").await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "not valid JSON");
    let r = app.call_raw(Method::POST, ZONES, b"").await;
    assert_v2_error(&r, StatusCode::BAD_REQUEST, "name");

    let r = app
        .post(ZONES, json!({"name": "V", "type": "global"}))
        .await;
    let methods = format!("{ZONES}/{}/methods", id(&r.body));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"type": "perorder", "settings": {"rate": 1}}), "name"),
        (json!({"name": "M"}), "type"),
        (
            json!({"name": "M", "type": "upsready", "settings": {}}),
            "type",
        ),
        (json!({"name": "M", "type": "teleport"}), "type"),
        (json!({"name": "M", "type": "perorder"}), "settings.rate"),
        (
            json!({"name": "M", "type": "peritem", "settings": {}}),
            "settings.rate",
        ),
        (
            json!({"name": "M", "type": "perorder", "settings": {"rate": -1}}),
            "settings.rate",
        ),
        (
            json!({"name": "M", "type": "perorder", "settings": {"rate": "abc"}}),
            "settings.rate",
        ),
        (
            json!({"name": "M", "type": "weight", "settings": {"range": [{"lower_limit": 5, "upper_limit": 1, "shipping_cost": 1}]}}),
            "settings.range[0].upper_limit",
        ),
        (
            json!({"name": "M", "type": "total", "settings": {"range": [{"lower_limit": 0, "upper_limit": 1}]}}),
            "settings.range[0].shipping_cost",
        ),
        (
            json!({"name": "M", "type": "total", "settings": {"default_cost_type": "sometimes"}}),
            "settings.default_cost_type",
        ),
        (
            json!({"name": "M", "type": "freeshipping", "handling_fees": {"percentage_surcharge": "-5"}}),
            "handling_fees.percentage_surcharge",
        ),
        (
            json!({"name": "M", "type": "freeshipping", "channel_ids": [0]}),
            "channel_ids",
        ),
        (
            json!({"name": "M", "type": "freeshipping", "enabled": "yes"}),
            "enabled",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&methods, body.clone()).await;
        assert_v2_error(&r, StatusCode::BAD_REQUEST, field);
    }
    // Nothing was created by the failures.
    let r = app.get(&methods).await;
    assert_eq!(r.body, json!([]));
}

async fn scopes_guard_shipping(app: TestApp) {
    let r = app
        .post(ZONES, json!({"name": "S", "type": "global"}))
        .await;
    let zid = id(&r.body);
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app
        .token_with_scopes("store_v2_information_read_only")
        .await;
    let modify = app.token_with_scopes("store_v2_information").await;

    for (method, path, body) in [
        (Method::GET, ZONES.to_string(), None),
        (
            Method::POST,
            ZONES.to_string(),
            Some(json!({"name": "X", "type": "global"})),
        ),
        (Method::GET, format!("{ZONES}/{zid}/methods"), None),
        (Method::DELETE, format!("{ZONES}/{zid}"), None),
    ] {
        let r = app
            .call_as(&cart_only, method.clone(), &path, body.clone())
            .await;
        assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_information");
    }
    // Read-only reads but does not write.
    let r = app.call_as(&read_only, Method::GET, ZONES, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(
            &read_only,
            Method::PUT,
            &format!("{ZONES}/{zid}"),
            Some(json!({"name": "Y"})),
        )
        .await;
    assert_v2_error(&r, StatusCode::FORBIDDEN, "store_v2_information");
    // Modify implies read.
    let r = app
        .call_as(&modify, Method::GET, &format!("{ZONES}/{zid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(
            &modify,
            Method::POST,
            &format!("{ZONES}/{zid}/methods"),
            Some(json!({"name": "F", "type": "freeshipping"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // No token at all.
    let r = app.call_as("", Method::GET, ZONES, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body[0]["status"], 401);
}

async fn demo_shipping_is_listed(app: TestApp) {
    seed(&app).await;
    seed(&app).await; // twice changes nothing
    let r = app.get(ZONES).await;
    assert_eq!(r.status, StatusCode::OK);
    let zones = r.body.as_array().unwrap();
    assert_eq!(zones.len(), 2, "{}", r.body);
    let us = &zones[0];
    assert_eq!(us["name"], "United States");
    assert_eq!(us["type"], "country");
    assert_eq!(us["locations"][0]["country_iso2"], "US");
    assert_eq!(
        us["free_shipping"],
        json!({"enabled": true, "minimum_sub_total": "100.0000", "exclude_fixed_shipping_products": false})
    );
    assert_eq!(
        us["handling_fees"],
        json!({"fixed_surcharge": "1.0000", "display_separately": true})
    );
    assert_eq!(zones[1]["type"], "global");

    let r = app.get(&format!("{ZONES}/{}/methods", id(us))).await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Standard", "Ground by weight"]);
    assert_eq!(r.body[0]["settings"], json!({"rate": 7.5}));
    assert_eq!(
        r.body[1]["settings"]["range"][1],
        json!({"lower_limit": 1, "upper_limit": 5, "shipping_cost": 9})
    );

    let config = app
        .kassa
        .shipping_config(demo_store_id(&app).await)
        .await
        .unwrap();
    assert_eq!(config.zones.len(), 2);
    assert_eq!(config.methods.len(), 3);
    assert_eq!(config.pickup_locations.len(), 1);
    let p = &config.pickup_locations[0];
    assert_eq!(p.name, "Kassa Store");
    assert_eq!(p.address.address1, "1 Market St");
    assert_eq!(p.address.city, "San Francisco");
    assert_eq!(p.address.state_or_province_code, "CA");
    assert_eq!(p.address.postal_code, "94105");
    assert!(p.enabled);
}

fn item(qty: i64, kg: &str, price: &str) -> ShippableItem {
    ShippableItem {
        quantity: qty,
        unit_weight: dec(kg),
        unit_price: money(price),
        is_free_shipping: false,
        fixed_shipping_price: None,
    }
}

fn ask(
    config: &kassa::domain::shipping::ShippingConfig,
    country: &str,
    state: &str,
    zip: &str,
    items: &[ShippableItem],
    currency: &Currency,
) -> Vec<ShippingQuote> {
    quotes(
        config,
        &ShipmentRequest {
            destination: Location {
                country_code: country,
                state_code: state,
                postal_code: zip,
            },
            items,
            currency,
        },
    )
}

/// (description, cost, handling) of each quote, for compact assertions.
fn summary(qs: &[ShippingQuote]) -> Vec<(String, Money, Money)> {
    qs.iter()
        .map(|q| (q.description.clone(), q.cost, q.handling))
        .collect()
}

async fn demo_quotes(app: TestApp) {
    seed(&app).await;
    let config = app
        .kassa
        .shipping_config(demo_store_id(&app).await)
        .await
        .unwrap();
    let usd = Currency::new("USD", 2, Decimal::ONE);
    let s = |d: &str, c: &str, h: &str| (d.to_string(), money(c), money(h));

    // US, CA 94105: 2.5 kg, subtotal 60.00.
    let cart = [item(2, "1.25", "30.00")];
    let qs = ask(&config, "US", "CA", "94105", &cart, &usd);
    assert_eq!(
        summary(&qs),
        vec![
            s("Standard", "7.50", "1.00"),
            s("Ground by weight", "9.00", "1.00")
        ]
    );
    let us_zone = config
        .zones
        .iter()
        .find(|z| z.name == "United States")
        .unwrap();
    assert_eq!(qs[0].zone_id, us_zone.id);
    assert_eq!(qs[0].id, format!("{}-{}", qs[0].zone_id, qs[0].method_id));
    assert_eq!(qs[0].kind, "shipping_flatrate");
    assert_eq!(qs[1].kind, "shipping_byweight");
    assert!(qs[0].is_recommended && !qs[1].is_recommended);
    assert_eq!(qs[0].tax_class_id, Some(0));
    assert!(qs[0].display_handling_separately);
    // The same request again: the same ids.
    let again = ask(&config, "US", "CA", "94105", &cart, &usd);
    assert_eq!(
        qs.iter().map(|q| &q.id).collect::<Vec<_>>(),
        again.iter().map(|q| &q.id).collect::<Vec<_>>()
    );

    // 0.8 kg → first range; exactly 5 kg → second (upper limits inclusive); 12 kg → third.
    let qs = ask(&config, "US", "NY", "10001", &[item(1, "0.8", "10")], &usd);
    assert_eq!(qs[1].cost, money("5.00"));
    let qs = ask(&config, "US", "NY", "10001", &[item(1, "5", "10")], &usd);
    assert_eq!(qs[1].cost, money("9.00"));
    let qs = ask(&config, "US", "NY", "10001", &[item(3, "4", "10")], &usd);
    assert_eq!(qs[1].cost, money("15.00"));
    // Over 20 kg: no weight-based option, flat rate still offered.
    let qs = ask(&config, "US", "NY", "10001", &[item(3, "7", "10")], &usd);
    assert_eq!(summary(&qs), vec![s("Standard", "7.50", "1.00")]);

    // Subtotal 120.00 (≥ 100): everything free, no handling.
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        &[item(4, "0.625", "30.00")],
        &usd,
    );
    assert_eq!(
        summary(&qs),
        vec![s("Standard", "0", "0"), s("Ground by weight", "0", "0")]
    );
    // Exactly 100.00 is enough; 99.99 is not.
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        &[item(1, "1", "100.00")],
        &usd,
    );
    assert!(qs.iter().all(|q| q.cost == Money::ZERO));
    let qs = ask(&config, "US", "CA", "94105", &[item(1, "1", "99.99")], &usd);
    assert_eq!(qs[0].cost, money("7.50"));

    // Free-shipping items count for nothing; only those → free.
    let mut sleeve = item(10, "3", "2.50");
    sleeve.is_free_shipping = true;
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        &[sleeve.clone(), item(1, "0.5", "20")],
        &usd,
    );
    assert_eq!(qs[1].cost, money("5.00"));
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        std::slice::from_ref(&sleeve),
        &usd,
    );
    assert!(
        qs.iter()
            .all(|q| q.cost == Money::ZERO && q.handling == Money::ZERO)
    );
    // A fixed shipping price replaces the rate for that item: 2 × 4.00 + 7.50.
    let mut lamp = item(2, "3", "10");
    lamp.fixed_shipping_price = Some(money("4.00"));
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        &[lamp, item(1, "0.5", "20")],
        &usd,
    );
    assert_eq!(
        summary(&qs),
        vec![
            s("Standard", "15.50", "1.00"),
            s("Ground by weight", "13.00", "1.00")
        ]
    );

    // Germany: rest of the world.
    let qs = ask(&config, "DE", "", "10115", &cart, &usd);
    assert_eq!(
        summary(&qs),
        vec![s("International flat rate", "25.00", "0")]
    );
    assert_eq!(qs[0].kind, "shipping_flatrate");
    assert!(qs[0].is_recommended);

    // EUR (0.92 per USD): amounts convert, thresholds too (100 USD = 92 EUR).
    let eur = Currency::new("EUR", 2, dec("0.92"));
    let qs = ask(
        &config,
        "US",
        "CA",
        "94105",
        &[item(2, "1.25", "27.60")],
        &eur,
    );
    assert_eq!(
        summary(&qs),
        vec![
            s("Standard", "6.90", "0.92"),
            s("Ground by weight", "8.28", "0.92")
        ]
    );
    let qs = ask(&config, "US", "CA", "94105", &[item(1, "1", "92.00")], &eur);
    assert!(qs.iter().all(|q| q.cost == Money::ZERO));
    let qs = ask(&config, "DE", "", "", &cart, &eur);
    assert_eq!(qs[0].cost, money("23.00"));
    let jpy = Currency::new("JPY", 0, Decimal::from(150));
    let qs = ask(&config, "DE", "", "", &cart, &jpy);
    assert_eq!(qs[0].cost, money("3750"));
}

async fn quotes_follow_admin_changes(app: TestApp) {
    seed(&app).await;
    let store_id = demo_store_id(&app).await;
    let usd = Currency::new("USD", 2, Decimal::ONE);
    let cart = [item(1, "2", "50")];
    // A California zone is more specific than the US country zone.
    let r = app
        .post(
            ZONES,
            json!({"name": "California", "type": "state", "locations": [{"country_iso2": "US", "state_iso2": "CA"}]}),
        )
        .await;
    let ca = id(&r.body);
    let r = app
        .post(
            &format!("{ZONES}/{ca}/methods"),
            json!({"name": "CA courier", "type": "peritem", "settings": {"rate": "3.25"}, "handling_fees": {"percentage_surcharge": 10}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let config = app.kassa.shipping_config(store_id).await.unwrap();
    let qs = ask(&config, "US", "CA", "94105", &[item(2, "1", "10")], &usd);
    assert_eq!(
        summary(&qs),
        vec![("CA courier".to_string(), money("6.50"), money("0.65"))]
    );
    assert_eq!(qs[0].kind, "shipping_peritem");
    // A ZIP zone beats the state zone.
    let r = app
        .post(
            ZONES,
            json!({"name": "SF", "type": "zip", "locations": [{"country_iso2": "US", "zip": "94100-94199"}]}),
        )
        .await;
    let sf = id(&r.body);
    app.post(
        &format!("{ZONES}/{sf}/methods"),
        json!({"name": "Bike", "type": "total", "settings": {"range": [{"lower_limit": 0, "upper_limit": 1000, "shipping_cost": 4}]}}),
    )
    .await;
    let config = app.kassa.shipping_config(store_id).await.unwrap();
    let qs = ask(&config, "US", "CA", "94105", &cart, &usd);
    assert_eq!(
        summary(&qs),
        vec![("Bike".to_string(), money("4"), Money::ZERO)]
    );
    assert_eq!(qs[0].kind, "shipping_bytotal");
    // Disabled zones are passed over; LA still ships under California.
    app.put(&format!("{ZONES}/{sf}"), json!({"enabled": false}))
        .await;
    let config = app.kassa.shipping_config(store_id).await.unwrap();
    assert_eq!(
        ask(&config, "US", "CA", "94105", &cart, &usd)[0].description,
        "CA courier"
    );
    assert_eq!(
        ask(&config, "US", "TX", "73301", &cart, &usd)[0].description,
        "Standard"
    );
    // No zone at all: no quotes.
    for z in config.zones {
        app.delete(&format!("{ZONES}/{}", z.id)).await;
    }
    let config = app.kassa.shipping_config(store_id).await.unwrap();
    assert!(config.methods.is_empty());
    assert!(ask(&config, "DE", "", "", &cart, &usd).is_empty());
}

async fn openapi_lists_shipping_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    let paths = &r.body["paths"];
    for p in [
        "/stores/{store_hash}/v2/shipping/zones",
        "/stores/{store_hash}/v2/shipping/zones/{zone_id}",
        "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods",
        "/stores/{store_hash}/v2/shipping/zones/{zone_id}/methods/{method_id}",
    ] {
        assert!(paths.get(p).is_some(), "missing {p}");
    }
    assert_eq!(
        paths["/stores/{store_hash}/v2/shipping/zones"]["post"]["operationId"],
        "createShippingZones"
    );
}
