//! Pickup locations over real HTTP on both backends (a Kassa v3 resource: BigCommerce's
//! pickup API is not in the reference specs): CRUD, validation, scopes, 404s, the demo
//! location, and checkout consignments choosing a location created here.

mod common;

use common::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    crud_round_trip,
    list_is_paginated,
    validation_errors_name_the_field,
    scopes_guard_pickup_locations,
    unknown_locations_are_404,
    demo_location_is_listed,
    checkout_consignment_uses_a_new_location,
    disabled_or_deleted_locations_are_refused_by_checkout,
    openapi_lists_pickup_paths,
);

const LOCATIONS: &str = "/stores/demo/v3/pickup/locations";
const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";

fn location_body() -> Value {
    json!({
        "name": "  Downtown Depot ",
        "address": {
            "address1": "350 5th Ave",
            "address2": "Floor 2",
            "city": "New York",
            "state_or_province": "New York",
            "postal_code": "10118",
            "country_code": "us",
            "phone": "+1 (212) 555-0100"
        },
        "collection_instructions": "Ring the bell.",
        "collection_time_description": "Daily 8:00–20:00"
    })
}

/// Asserts a v3 error body with `status` whose `errors` name `field`.
fn assert_field_error(r: &Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].as_str().is_some(), "{}", r.body);
    assert!(r.body["type"].as_str().is_some(), "{}", r.body);
    assert!(
        r.body["errors"].get(field).is_some(),
        "errors should name `{field}`: {}",
        r.body
    );
}

/// Asserts a v3 error body (`status`, `title`, `type`) with this status.
fn assert_v3_error(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].as_str().is_some(), "{}", r.body);
    assert!(r.body["type"].as_str().is_some(), "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(LOCATIONS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data().clone()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

async fn crud_round_trip(app: TestApp) {
    let r = app.post(LOCATIONS, location_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body["meta"].is_object(), "{}", r.body);
    let created = r.data().clone();
    let lid = id(&created);
    assert!(lid > 1, "the demo location is 1: {created}");
    assert_eq!(
        created,
        json!({
            "id": lid,
            "name": "Downtown Depot",
            "address": {
                "address1": "350 5th Ave",
                "address2": "Floor 2",
                "city": "New York",
                "state_or_province": "New York",
                "state_or_province_code": "NY",
                "postal_code": "10118",
                "country_code": "US",
                "phone": "+12125550100"
            },
            "collection_instructions": "Ring the bell.",
            "collection_time_description": "Daily 8:00–20:00",
            "enabled": true
        })
    );

    // GET one, and it is in the list.
    let r = app.get(&format!("{LOCATIONS}/{lid}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &created);
    assert!(r.body["meta"].is_object());
    let r = app.get(LOCATIONS).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.data().as_array().unwrap().contains(&created));

    // PUT is partial: only what is sent changes, address fields one by one; `id` in the
    // body is ignored.
    let r = app
        .put(
            &format!("{LOCATIONS}/{lid}"),
            json!({"id": 999, "name": "Midtown Depot", "enabled": false,
                   "address": {"address2": "", "phone": "212.555.0199"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let updated = r.data().clone();
    assert_eq!(updated["id"], lid);
    assert_eq!(updated["name"], "Midtown Depot");
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["address"]["address2"], "");
    assert_eq!(updated["address"]["phone"], "2125550199");
    assert_eq!(updated["address"]["city"], "New York");
    assert_eq!(updated["address"]["state_or_province_code"], "NY");
    assert_eq!(updated["collection_instructions"], "Ring the bell.");
    let r = app.get(&format!("{LOCATIONS}/{lid}")).await;
    assert_eq!(r.data(), &updated);
    // An empty body changes nothing.
    let r = app.put(&format!("{LOCATIONS}/{lid}"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &updated);
    // Moving country: the state is re-resolved for the new one.
    let r = app
        .put(
            &format!("{LOCATIONS}/{lid}"),
            json!({"address": {"country_code": "CA", "state_or_province": "",
                               "state_or_province_code": "on", "postal_code": "k1a0b1", "city": "Ottawa"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["address"]["country_code"], "CA");
    assert_eq!(r.data()["address"]["state_or_province_code"], "ON");
    assert_eq!(r.data()["address"]["state_or_province"], "Ontario");
    assert_eq!(r.data()["address"]["postal_code"], "K1A 0B1");

    // DELETE answers 204 with no body, then it is gone.
    let r = app.delete(&format!("{LOCATIONS}/{lid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.body, Value::Null);
    let r = app.get(&format!("{LOCATIONS}/{lid}")).await;
    assert_v3_error(&r, StatusCode::NOT_FOUND);
    let r = app.get(LOCATIONS).await;
    assert!(!r.data().as_array().unwrap().iter().any(|l| id(l) == lid));

    // Ids are not reused.
    let again = create(&app, location_body()).await;
    assert!(id(&again) > lid);
}

async fn list_is_paginated(app: TestApp) {
    for i in 0..4 {
        let mut body = location_body();
        body["name"] = json!(format!("Depot {i}"));
        create(&app, body).await;
    }
    // 5 in all with the demo location.
    let r = app.get(&format!("{LOCATIONS}?page=2&limit=2")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Depot 1", "Depot 2"]);
    let p = &r.body["meta"]["pagination"];
    assert_eq!(p["total"], 5);
    assert_eq!(p["count"], 2);
    assert_eq!(p["per_page"], 2);
    assert_eq!(p["current_page"], 2);
    assert_eq!(p["total_pages"], 3);
    assert_eq!(p["links"]["previous"], "?page=1&limit=2");
    assert_eq!(p["links"]["next"], "?page=3&limit=2");

    let r = app.get(&format!("{LOCATIONS}?page=9")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["pagination"]["total"], 5);

    let r = app.get(&format!("{LOCATIONS}?limit=lots")).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "limit");
    let r = app.get(&format!("{LOCATIONS}?page=x")).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "page");
}

async fn validation_errors_name_the_field(app: TestApp) {
    let with = |patch: Value| {
        let mut b = location_body();
        for (k, v) in patch.as_object().unwrap() {
            if k == "address" {
                for (ak, av) in v.as_object().unwrap() {
                    b["address"][ak] = av.clone();
                }
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases = [
        (
            json!({"address": {"country_code": "XX"}}),
            "address.country_code",
        ),
        (
            json!({"address": {"country_code": "USA"}}),
            "address.country_code",
        ),
        (
            json!({"address": {"country_code": ""}}),
            "address.country_code",
        ),
        (
            json!({"address": {"state_or_province_code": "ZZ"}}),
            "address.state_or_province_code",
        ),
        (
            json!({"address": {"state_or_province": "Atlantis"}}),
            "address.state_or_province",
        ),
        (
            json!({"address": {"state_or_province": "", "state_or_province_code": ""}}),
            "address.state_or_province_code",
        ),
        (
            json!({"address": {"state_or_province_code": "CA"}}),
            "address.state_or_province",
        ),
        (
            json!({"address": {"postal_code": "ABCDE"}}),
            "address.postal_code",
        ),
        (
            json!({"address": {"postal_code": ""}}),
            "address.postal_code",
        ),
        (json!({"address": {"phone": "call us"}}), "address.phone"),
        (json!({"address": {"city": "New\nYork"}}), "address.city"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(256)}), "name"),
        (
            json!({"collection_instructions": "x".repeat(2001)}),
            "collection_instructions",
        ),
        // Wrong JSON types are named too.
        (json!({"enabled": "yes"}), "enabled"),
        (json!({"address": {"city": 5}}), "address.city"),
        (json!({"name": ["Depot"]}), "name"),
    ];
    for (patch, field) in cases {
        let r = app.post(LOCATIONS, with(patch.clone())).await;
        assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // `name` and the address's country are required.
    let r = app
        .post(LOCATIONS, json!({"address": {"country_code": "US"}}))
        .await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "name");
    let r = app.post(LOCATIONS, json!({"name": "Somewhere"})).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "address.country_code");
    // Malformed JSON is a 400 in the v3 shape.
    let r = app.call_raw(Method::POST, LOCATIONS, b"{\"name\": ").await;
    assert_v3_error(&r, StatusCode::BAD_REQUEST);
    // A country without known subdivisions keeps its state as sent.
    let r = app
        .post(
            LOCATIONS,
            json!({"name": "Auckland", "address": {"country_code": "nz", "state_or_province": "Auckland", "postal_code": "1010"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.data()["address"]["state_or_province"], "Auckland");

    // Updates are checked the same way, and a refused update changes nothing.
    let loc = create(&app, location_body()).await;
    let path = format!("{LOCATIONS}/{}", id(&loc));
    let r = app
        .put(&path, json!({"address": {"country_code": "Germany"}}))
        .await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "address.country_code");
    let r = app.put(&path, json!({"name": ""})).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "name");
    let r = app.put(&path, json!({"enabled": 1})).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "enabled");
    let r = app.get(&path).await;
    assert_eq!(r.data(), &loc);
}

async fn scopes_guard_pickup_locations(app: TestApp) {
    let loc = create(&app, location_body()).await;
    let one = format!("{LOCATIONS}/{}", id(&loc));
    let cart_only = app.token_with_scopes("store_cart").await;
    let read_only = app
        .token_with_scopes("store_v2_information_read_only")
        .await;
    let modify = app.token_with_scopes("store_v2_information").await;

    let every = [
        (Method::GET, LOCATIONS.to_string(), None),
        (Method::POST, LOCATIONS.to_string(), Some(location_body())),
        (Method::GET, one.clone(), None),
        (Method::PUT, one.clone(), Some(json!({"name": "X"}))),
        (Method::DELETE, one.clone(), None),
    ];
    for (method, path, body) in every.iter().cloned() {
        let r = app.call_as(&cart_only, method.clone(), &path, body).await;
        assert_v3_error(&r, StatusCode::FORBIDDEN);
        assert!(
            r.body["title"]
                .as_str()
                .unwrap()
                .contains("store_v2_information"),
            "{method} {path}: {}",
            r.body
        );
    }
    // No token at all is 401.
    let r = app.call_as("", Method::GET, LOCATIONS, None).await;
    assert_v3_error(&r, StatusCode::UNAUTHORIZED);

    // Read-only reads but does not write.
    for path in [LOCATIONS, one.as_str()] {
        let r = app.call_as(&read_only, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for (method, path, body) in every.iter().skip(1).cloned() {
        if method == Method::GET {
            continue;
        }
        let r = app.call_as(&read_only, method, &path, body).await;
        assert_v3_error(&r, StatusCode::FORBIDDEN);
    }
    // Nothing changed.
    assert_eq!(app.get(&one).await.data(), &loc);

    // Modify reads and writes.
    let r = app.call_as(&modify, Method::GET, LOCATIONS, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call_as(&modify, Method::POST, LOCATIONS, Some(location_body()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call_as(&modify, Method::PUT, &one, Some(json!({"name": "Renamed"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["name"], "Renamed");
    let r = app.call_as(&modify, Method::DELETE, &one, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

async fn unknown_locations_are_404(app: TestApp) {
    for lid in ["999", "0", "-1"] {
        let path = format!("{LOCATIONS}/{lid}");
        let r = app.get(&path).await;
        assert_v3_error(&r, StatusCode::NOT_FOUND);
        let r = app.put(&path, json!({"name": "X"})).await;
        assert_v3_error(&r, StatusCode::NOT_FOUND);
        let r = app.delete(&path).await;
        assert_v3_error(&r, StatusCode::NOT_FOUND);
    }
    // An invalid update of an unknown location is still a 404.
    let r = app
        .put(&format!("{LOCATIONS}/999"), json!({"name": ""}))
        .await;
    assert_v3_error(&r, StatusCode::NOT_FOUND);
    // Deleting twice: the second is a 404.
    let loc = create(&app, location_body()).await;
    let path = format!("{LOCATIONS}/{}", id(&loc));
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_v3_error(&app.delete(&path).await, StatusCode::NOT_FOUND);
    // A location id that is not a number is refused in the v3 shape.
    let r = app.get(&format!("{LOCATIONS}/abc")).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_v3_error(&r, r.status);
    // Another store's locations are not reachable with the demo token.
    let r = app.get("/stores/other/v3/pickup/locations").await;
    assert!(r.status.is_client_error(), "{}", r.body);
}

async fn demo_location_is_listed(app: TestApp) {
    let r = app.get(LOCATIONS).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.data().as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", r.body);
    let demo = &list[0];
    assert_eq!(demo["id"], 1);
    assert_eq!(demo["name"], "Kassa Store");
    assert_eq!(demo["enabled"], true);
    assert_eq!(
        demo["address"],
        json!({"address1": "1 Market St", "address2": "", "city": "San Francisco",
               "state_or_province": "California", "state_or_province_code": "CA",
               "postal_code": "94105", "country_code": "US", "phone": ""})
    );
    assert_eq!(
        demo["collection_instructions"],
        "Collect at the front desk with your order number."
    );
    let p = &r.body["meta"]["pagination"];
    assert_eq!(p["total"], 1);
    assert_eq!(p["count"], 1);
    assert_eq!(p["per_page"], 50);
    assert_eq!(p["current_page"], 1);
    assert_eq!(p["total_pages"], 1);
    let r = app.get(&format!("{LOCATIONS}/1")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data(), demo);
}

/// A cart with one custom item (100.00); its id and the item's id.
async fn desk_cart(app: &TestApp) -> (String, String) {
    let r = app
        .post(
            CARTS,
            json!({"custom_items": [{"name": "Desk", "quantity": 1, "list_price": 100}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data();
    (
        cart["id"].as_str().unwrap().to_string(),
        cart["line_items"]["custom_items"][0]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

async fn pick_up_at(app: &TestApp, cart: &str, item: &str, location: i64) -> Reply {
    app.post(
        &format!("{CHECKOUTS}/{cart}/consignments"),
        json!([{"pickup_option": {"pickup_method_id": location},
                "line_items": [{"item_id": item, "quantity": 1}]}]),
    )
    .await
}

async fn checkout_consignment_uses_a_new_location(app: TestApp) {
    let loc = create(&app, location_body()).await;
    let lid = id(&loc);
    let (cart, item) = desk_cart(&app).await;
    let r = pick_up_at(&app, &cart, &item, lid).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cons = r.data()["consignments"].as_array().unwrap();
    assert_eq!(cons.len(), 1, "{}", r.body);
    assert_eq!(cons[0]["selected_pickup_option"]["pickup_method_id"], lid);
    assert_eq!(cons[0]["line_item_ids"], json!([item]));
    // The consignment is addressed at the location.
    assert_eq!(cons[0]["address"]["city"], "New York", "{}", r.body);
    assert_eq!(cons[0]["address"]["state_or_province_code"], "NY");
    // And the checkout keeps it.
    let r = app.get(&format!("{CHECKOUTS}/{cart}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.data()["consignments"][0]["selected_pickup_option"]["pickup_method_id"],
        lid
    );
}

async fn disabled_or_deleted_locations_are_refused_by_checkout(app: TestApp) {
    let field = "[0].pickup_option.pickup_method_id";
    let disabled = create(&app, location_body()).await;
    let path = format!("{LOCATIONS}/{}", id(&disabled));
    let r = app.put(&path, json!({"enabled": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (cart, item) = desk_cart(&app).await;
    let r = pick_up_at(&app, &cart, &item, id(&disabled)).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);

    // Enabled again, it is accepted.
    let r = app.put(&path, json!({"enabled": true})).await;
    assert_eq!(r.status, StatusCode::OK);
    let (cart2, item2) = desk_cart(&app).await;
    let r = pick_up_at(&app, &cart2, &item2, id(&disabled)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let deleted = create(&app, location_body()).await;
    let r = app.delete(&format!("{LOCATIONS}/{}", id(&deleted))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = pick_up_at(&app, &cart, &item, id(&deleted)).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    // Never existed.
    let r = pick_up_at(&app, &cart, &item, 424242).await;
    assert_field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    // The refused requests left the checkout without consignments.
    let r = app.get(&format!("{CHECKOUTS}/{cart}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.data()["consignments"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{}",
        r.body
    );
}

async fn openapi_lists_pickup_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = &r.body["paths"];
    let list = &paths["/stores/{store_hash}/v3/pickup/locations"];
    assert!(
        list["get"].is_object() && list["post"].is_object(),
        "{list}"
    );
    let one = &paths["/stores/{store_hash}/v3/pickup/locations/{location_id}"];
    for m in ["get", "put", "delete"] {
        assert!(one[m].is_object(), "missing {m}: {one}");
    }
    assert!(
        list["get"]["description"]
            .as_str()
            .or(list["get"]["summary"].as_str())
            .is_some_and(|d| d.contains("Kassa resource")),
        "{}",
        list["get"]
    );
}
