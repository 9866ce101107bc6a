//! V3 promotions over real HTTP on both backends: CRUD of automatic and coupon
//! promotions, their codes and code generation, code uniqueness against other promotions
//! and V2 coupons, validation errors naming the field, listing, 404s, scopes, bulk
//! deletes and the demo promotions.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    automatic_cart_value_crud,
    bxgy_cart_items_round_trip,
    free_shipping_in_zones,
    coupon_promotion_with_codes,
    bulk_codes_and_codegen,
    codes_are_unique_across_promotions_and_coupons,
    validation_errors_name_the_field,
    list_filters_sort_and_paging,
    unknown_promotions_are_404,
    scopes_guard_promotions,
    bulk_delete,
    demo_promotions_are_seeded,
    openapi_lists_promotion_paths,
);

const PROMOTIONS: &str = "/stores/demo/v3/promotions";

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

/// Asserts a v3 error naming `field` in `errors`.
fn assert_v3_error(r: &common::Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(r.body["title"].is_string(), "{}", r.body);
    assert!(r.body["type"].is_string(), "{}", r.body);
    assert!(
        r.body["errors"].get(field).is_some(),
        "errors should name `{field}`: {}",
        r.body
    );
}

fn cart_value(name: &str) -> Value {
    json!({
        "redemption_type": "AUTOMATIC",
        "name": name,
        "rules": [{
            "action": {"cart_value": {"discount": {"percentage_amount": "10"}}},
            "condition": {"cart": {"minimum_spend": "100"}}
        }]
    })
}

async fn create(app: &TestApp, body: Value) -> Value {
    let r = app.post(PROMOTIONS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data().clone()
}

async fn automatic_cart_value_crud(app: TestApp) {
    let r = app
        .post(
            PROMOTIONS,
            json!({
                "redemption_type": "AUTOMATIC",
                "name": "  Ten percent over 100  ",
                "display_name": "10% off orders over $100",
                "channels": [{"id": 1}],
                "customer": {"group_ids": [1, 2], "minimum_order_count": 1},
                "rules": [{
                    "action": {"cart_value": {"discount": {"percentage_amount": "10"},
                                              "maximum_allowed_discount_amount": "25.50"}},
                    "apply_once": true,
                    "stop": true,
                    "condition": {"cart": {"minimum_spend": "100.00"}}
                }],
                "max_uses": 100,
                "start_date": "2025-01-01T00:00:00+00:00",
                "end_date": "2035-12-31T23:59:59Z",
                "currency_code": "usd",
                "notifications": [{"content": "You saved!", "type": "APPLIED", "locations": ["CART_PAGE"]}],
                "shipping_address": {"countries": [{"iso2_country_code": "US"}, {"iso2_country_code": "CA"}]},
                "id": 999,
                "current_uses": 42
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let p = r.data().clone();
    let pid = id(&p);
    assert!(pid > 0 && pid != 999, "the id is Kassa's: {pid}");
    assert_eq!(p["redemption_type"], "AUTOMATIC");
    assert_eq!(p["name"], "Ten percent over 100");
    assert_eq!(p["display_name"], "10% off orders over $100");
    assert_eq!(p["channels"], json!([{"id": 1}]));
    assert_eq!(
        p["customer"],
        json!({"group_ids": [1, 2], "excluded_group_ids": [], "minimum_order_count": 1})
    );
    assert_eq!(
        p["rules"],
        json!([{
            "action": {"cart_value": {"discount": {"percentage_amount": "10"},
                                      "maximum_allowed_discount_amount": "25.5"}},
            "apply_once": true,
            "stop": true,
            "condition": {"cart": {"minimum_spend": "100"}}
        }])
    );
    assert_eq!(p["current_uses"], 0, "current_uses is read-only");
    assert_eq!(p["max_uses"], 100);
    assert_eq!(p["status"], "ENABLED");
    assert_eq!(p["start_date"], "2025-01-01T00:00:00+00:00");
    assert_eq!(p["end_date"], "2035-12-31T23:59:59+00:00");
    assert_eq!(p["stop"], false);
    assert_eq!(p["can_be_used_with_other_promotions"], true);
    assert_eq!(p["currency_code"], "USD");
    assert_eq!(p["notifications"][0]["type"], "APPLIED");
    assert_eq!(
        p["shipping_address"],
        json!({"countries": [{"iso2_country_code": "US"}, {"iso2_country_code": "CA"}]})
    );
    assert_eq!(p["created_from"], "api");
    assert_eq!(p["priority"], pid, "priority defaults to the id");
    assert!(p.get("coupon_type").is_none());
    assert!(p.get("codes").is_none());

    let r = app.get(&format!("{PROMOTIONS}/{pid}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &p);
    assert_eq!(r.body["meta"], json!({}));

    // PUT changes only what is sent; null end_date and shipping_address clear them.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{pid}"),
            json!({"name": "Renamed", "status": "DISABLED", "end_date": null,
                   "shipping_address": null, "priority": 7,
                   "customer": {"group_ids": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = r.data();
    assert_eq!(u["id"], pid);
    assert_eq!(u["name"], "Renamed");
    assert_eq!(u["status"], "DISABLED");
    assert!(u.get("end_date").is_none(), "{u}");
    assert!(u.get("shipping_address").is_none(), "{u}");
    assert_eq!(u["priority"], 7);
    assert_eq!(u["customer"]["group_ids"], json!([]));
    assert_eq!(u["customer"]["minimum_order_count"], 1);
    assert_eq!(u["rules"], p["rules"]);
    assert_eq!(u["display_name"], p["display_name"]);
    assert_eq!(u["start_date"], p["start_date"]);

    // The pricing side sees it through the service.
    let store = app.kassa.find_store("demo").await.expect("store");
    let all = app.kassa.promotions(store.id).await.expect("promotions");
    let mine = all.iter().find(|x| x.id == pid).expect("listed");
    assert_eq!(mine.priority, 7);
    assert!(
        all.windows(2)
            .all(|w| (w[0].priority, w[0].id) <= (w[1].priority, w[1].id)),
        "sorted by priority, then id: {all:?}"
    );

    let r = app.delete(&format!("{PROMOTIONS}/{pid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PROMOTIONS}/{pid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.body["status"], 404);
}

async fn bxgy_cart_items_round_trip(app: TestApp) {
    let p = create(
        &app,
        json!({
            "redemption_type": "AUTOMATIC",
            "name": "Buy X get Y free",
            "rules": [{
                "action": {"cart_items": {
                    "discount": {"percentage_amount": "100"},
                    "items": {"products": [5]},
                    "quantity": 1
                }},
                "apply_once": false,
                "condition": {"cart": {"items": {"products": [2]}, "minimum_quantity": 1}}
            }]
        }),
    )
    .await;
    assert_eq!(
        p["rules"],
        json!([{
            "action": {"cart_items": {
                "discount": {"percentage_amount": "100"},
                "maximum_allowed_discount_amount": null,
                "as_total": false,
                "items": {"products": [5]},
                "include_items_considered_by_condition": false,
                "exclude_items_on_sale": false,
                "strategy": "LEAST_EXPENSIVE",
                "quantity": 1
            }},
            "apply_once": false,
            "stop": false,
            "condition": {"cart": {"items": {"products": [2]}, "minimum_quantity": 1}}
        }])
    );

    // Nested matchers and an `and` condition survive the round trip.
    let nested = json!({"and": [{"categories": [1]}, {"not": {"brands": [3]}}]});
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", id(&p)),
            json!({"rules": [{
                "action": {"cart_items": {"discount": {"fixed_amount": "5"}, "items": nested,
                                          "strategy": "MOST_EXPENSIVE", "as_total": true,
                                          "include_items_considered_by_condition": true}},
                "condition": {"and": [{"cart": {"minimum_spend": "20"}},
                                      {"cart": {"items": {"variants": [7]}, "minimum_quantity": 2}}]}
            }]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rule = &r.data()["rules"][0];
    assert_eq!(rule["action"]["cart_items"]["items"], nested);
    assert_eq!(
        rule["action"]["cart_items"]["discount"],
        json!({"fixed_amount": "5"})
    );
    assert_eq!(rule["action"]["cart_items"]["strategy"], "MOST_EXPENSIVE");
    assert_eq!(
        rule["action"]["cart_items"]["include_items_considered_by_condition"],
        true
    );
    assert_eq!(rule["apply_once"], true);
    assert_eq!(
        rule["condition"],
        json!({"and": [{"cart": {"minimum_spend": "20"}},
                       {"cart": {"items": {"variants": [7]}, "minimum_quantity": 2}}]})
    );
}

async fn free_shipping_in_zones(app: TestApp) {
    let p = create(
        &app,
        json!({
            "redemption_type": "AUTOMATIC",
            "name": "Free shipping everywhere",
            "rules": [{"action": {"shipping": {"zone_ids": "*"}}}]
        }),
    )
    .await;
    assert_eq!(
        p["rules"][0]["action"],
        json!({"shipping": {"free_shipping": true, "zone_ids": "*"}})
    );
    assert!(p["rules"][0].get("condition").is_none());
    let p = create(
        &app,
        json!({
            "redemption_type": "AUTOMATIC",
            "name": "Free US shipping over 50",
            "rules": [{"action": {"shipping": {"zone_ids": [1], "free_shipping": false}},
                       "condition": {"cart": {"minimum_spend": "50"}}}]
        }),
    )
    .await;
    assert_eq!(p["rules"][0]["action"]["shipping"]["zone_ids"], json!([1]));
    assert_eq!(p["rules"][0]["action"]["shipping"]["free_shipping"], true);

    for bad in [json!("all"), json!([]), json!([0]), json!(null)] {
        let r = app
            .post(
                PROMOTIONS,
                json!({"redemption_type": "AUTOMATIC", "name": "x",
                       "rules": [{"action": {"shipping": {"zone_ids": bad}}}]}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        let keys: Vec<&String> = r.body["errors"]
            .as_object()
            .expect("errors")
            .keys()
            .collect();
        assert!(
            keys[0].starts_with("rules[0].action.shipping.zone_ids"),
            "{keys:?}"
        );
    }
}

fn coupon(name: &str, code: Option<&str>) -> Value {
    let mut v = json!({
        "redemption_type": "COUPON",
        "name": name,
        "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "5"}}}}]
    });
    if let Some(c) = code {
        v["codes"] = json!({"code": c, "max_uses": 10, "max_uses_per_customer": 1});
    }
    v
}

async fn coupon_promotion_with_codes(app: TestApp) {
    let p = create(&app, coupon("Five off", Some("FIVE-OFF"))).await;
    let pid = id(&p);
    assert_eq!(p["redemption_type"], "COUPON");
    assert_eq!(p["coupon_type"], "SINGLE");
    assert_eq!(p["coupon_overrides_other_promotions"], false);
    assert_eq!(p["multiple_codes"], json!({"has_multiple_codes": false}));
    let code = &p["codes"];
    assert_eq!(code["code"], "FIVE-OFF");
    assert_eq!(code["max_uses"], 10);
    assert_eq!(code["max_uses_per_customer"], 1);
    assert_eq!(code["current_uses"], 0);
    assert!(code["id"].as_i64().expect("code id") > 0);
    assert!(
        code["created"]
            .as_str()
            .expect("created")
            .ends_with("+00:00")
    );

    // The lookups pricing uses find it in any case.
    let store = app.kassa.find_store("demo").await.expect("store");
    let (found, c) = app
        .kassa
        .promotion_by_code(store.id, " five-off ")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, pid);
    assert_eq!(c.code, "FIVE-OFF");

    let r = app.get(&format!("{PROMOTIONS}/{pid}/codes")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &json!([code.clone()]));
    assert_eq!(r.body["meta"]["pagination"]["total"], 1);
    assert_eq!(r.body["meta"]["cursor_pagination"]["count"], 1);

    let r = app.get(&format!("{PROMOTIONS}/codes?code=five-off")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data(), &json!([code.clone()]));
    let r = app.get(&format!("{PROMOTIONS}/codes?code=nope")).await;
    assert_eq!(r.data(), &json!([]));
    let r = app.get(&format!("{PROMOTIONS}/codes")).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "code");

    // A SINGLE promotion has one code.
    let r = app
        .post(
            &format!("{PROMOTIONS}/{pid}/codes"),
            json!({"code": "ANOTHER"}),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "code");

    // PUT replaces the single code; the same text keeps the code's id.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{pid}"),
            json!({"codes": {"code": "five-off", "max_uses": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["codes"]["id"], code["id"]);
    assert_eq!(r.data()["codes"]["max_uses"], 3);

    // Delete the code by its text, then add a new one.
    let r = app
        .call(
            Method::DELETE,
            &format!("{PROMOTIONS}/codes?code=FIVE-off"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PROMOTIONS}/{pid}")).await;
    assert!(r.data().get("codes").is_none(), "{}", r.body);
    let r = app
        .post(
            &format!("{PROMOTIONS}/{pid}/codes"),
            json!({"code": "SPRING SALE_2", "max_uses": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let new_code = r.data().clone();
    assert_eq!(new_code["code"], "SPRING SALE_2");
    assert_eq!(new_code["max_uses_per_customer"], 0);
    let r = app
        .delete(&format!("{PROMOTIONS}/{pid}/codes/{}", id(&new_code)))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PROMOTIONS}/{pid}/codes")).await;
    assert_eq!(r.data(), &json!([]));

    // Codes with bad characters or too long are refused, naming the field.
    let r = app
        .post(&format!("{PROMOTIONS}/{pid}/codes"), json!({"code": "NO!"}))
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "code");
    let r = app
        .post(PROMOTIONS, coupon("Long", Some(&"X".repeat(51))))
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "codes.code");

    // Coupon-only fields on an automatic promotion are refused.
    let mut auto = cart_value("Auto");
    auto["codes"] = json!({"code": "AUTO1"});
    let r = app.post(PROMOTIONS, auto).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "codes");

    // coupon_overrides_other_promotions needs can_be_used_with_other_promotions false.
    let mut c = coupon("Override", Some("OVR"));
    c["coupon_overrides_other_promotions"] = json!(true);
    let r = app.post(PROMOTIONS, c.clone()).await;
    assert_v3_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "coupon_overrides_other_promotions",
    );
    c["can_be_used_with_other_promotions"] = json!(false);
    let p = create(&app, c).await;
    assert_eq!(p["coupon_overrides_other_promotions"], true);
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", id(&p)),
            json!({"coupon_type": "BULK"}),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "coupon_type");
}

async fn bulk_codes_and_codegen(app: TestApp) {
    let mut body = coupon("Bulk", None);
    body["coupon_type"] = json!("BULK");
    let p = create(&app, body).await;
    let pid = id(&p);
    assert_eq!(p["coupon_type"], "BULK");
    assert!(p.get("codes").is_none());

    let r = app
        .post(
            &format!("{PROMOTIONS}/{pid}/codegen"),
            json!({"batch_size": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let d = r.data();
    assert_eq!(d["batch_size"], 5);
    assert_eq!(d["max_uses"], 1);
    assert_eq!(d["max_uses_per_customer"], 1);
    let codes: Vec<String> = d["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(codes.len(), 5);
    for c in &codes {
        assert_eq!(c.len(), 16, "{c}");
        assert!(
            c.chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit()),
            "{c}"
        );
    }

    let r = app
        .post(
            &format!("{PROMOTIONS}/{pid}/codegen"),
            json!({"batch_size": 3, "prefix": "PRE", "suffix": "END", "delimiter": "-",
                   "code_length": 6, "exclude_characters": ["0", "O"], "max_uses": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for c in r.data()["codes"].as_array().expect("codes") {
        let c = c["code"].as_str().expect("code");
        assert!(
            c.starts_with("PRE-") && c.ends_with("-END") && c.len() == 14,
            "{c}"
        );
        assert!(!c[4..10].contains(['0', 'O']), "{c}");
    }
    assert_eq!(r.data()["max_uses"], 0);

    // A hand-made code too.
    let r = app
        .post(
            &format!("{PROMOTIONS}/{pid}/codes"),
            json!({"code": "HANDMADE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = app.get(&format!("{PROMOTIONS}/{pid}")).await;
    assert_eq!(r.data()["multiple_codes"]["has_multiple_codes"], true);

    // Cursor paging over 9 codes, 4 at a time.
    let r = app.get(&format!("{PROMOTIONS}/{pid}/codes?limit=4")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data().as_array().expect("list").len(), 4);
    assert_eq!(r.body["meta"]["pagination"]["total"], 9);
    let mut seen: Vec<i64> = r.data().as_array().expect("list").iter().map(id).collect();
    let mut next = r.body["meta"]["cursor_pagination"]["links"]["next"]
        .as_str()
        .map(String::from);
    while let Some(link) = next {
        let r = app.get(&format!("{PROMOTIONS}/{pid}/codes{link}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body["meta"].get("pagination").is_none(),
            "{}",
            r.body["meta"]
        );
        seen.extend(r.data().as_array().expect("list").iter().map(id));
        next = r.body["meta"]["cursor_pagination"]["links"]["next"]
            .as_str()
            .map(String::from);
    }
    assert_eq!(seen.len(), 9);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    let r = app
        .get(&format!("{PROMOTIONS}/{pid}/codes?page=3&limit=4"))
        .await;
    assert_eq!(r.data().as_array().expect("list").len(), 1);
    assert!(r.body["meta"].get("cursor_pagination").is_none());
    let r = app.get(&format!("{PROMOTIONS}/{pid}/codes?after=zz")).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "after");

    // Limits of codegen.
    for (body, field) in [
        (json!({"batch_size": 251}), "batch_size"),
        (json!({}), "batch_size"),
        (json!({"batch_size": 1, "code_length": 17}), "code_length"),
        (json!({"batch_size": 1, "prefix": "bad"}), "prefix"),
        (json!({"batch_size": 1, "delimiter": "+"}), "delimiter"),
        (json!({"batch_size": 1, "max_uses": 100001}), "max_uses"),
    ] {
        let r = app.post(&format!("{PROMOTIONS}/{pid}/codegen"), body).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // Only BULK coupon promotions generate codes.
    let single = create(&app, coupon("Single", Some("ONE"))).await;
    let r = app
        .post(
            &format!("{PROMOTIONS}/{}/codegen", id(&single)),
            json!({"batch_size": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert_eq!(r.body["status"], 405);

    // Bulk code delete: id:in required.
    let r = app.delete(&format!("{PROMOTIONS}/{pid}/codes")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["meta"]["total"], 0);
    let ids = seen[..3]
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let r = app
        .delete(&format!("{PROMOTIONS}/{pid}/codes?id:in={ids}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{PROMOTIONS}/{pid}/codes")).await;
    assert_eq!(r.data().as_array().expect("list").len(), 6);

    // A PUT cannot replace a BULK promotion's codes.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{pid}"),
            json!({"codes": {"code": "X"}}),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "codes");
}

async fn codes_are_unique_across_promotions_and_coupons(app: TestApp) {
    create(&app, coupon("First", Some("SAVE5"))).await;
    // Another promotion, any case.
    let r = app.post(PROMOTIONS, coupon("Second", Some("save5"))).await;
    assert_v3_error(&r, StatusCode::CONFLICT, "codes.code");
    let mut bulk = coupon("Bulk", None);
    bulk["coupon_type"] = json!("BULK");
    let b = create(&app, bulk).await;
    let r = app
        .post(
            &format!("{PROMOTIONS}/{}/codes", id(&b)),
            json!({"code": " Save5 "}),
        )
        .await;
    assert_v3_error(&r, StatusCode::CONFLICT, "code");

    // A V2 coupon's code.
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Legacy", "code": "LEGACY10", "type": "per_total_discount",
                   "amount": "10", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .post(PROMOTIONS, coupon("Third", Some("legacy10")))
        .await;
    assert_v3_error(&r, StatusCode::CONFLICT, "codes.code");
    let r = app
        .post(
            &format!("{PROMOTIONS}/{}/codes", id(&b)),
            json!({"code": "LEGACY10"}),
        )
        .await;
    assert_v3_error(&r, StatusCode::CONFLICT, "code");

    // And the other way round: a V2 coupon cannot take a promotion's code.
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Clash", "code": "Save5", "type": "per_total_discount",
                   "amount": "1", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let coupon_id = {
        let r = app
            .post(
                "/stores/demo/v2/coupons",
                json!({"name": "Other", "code": "OTHER", "type": "per_total_discount",
                       "amount": "1", "applies_to": {"entity": "categories", "ids": [0]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        id(&r.body)
    };
    let r = app
        .put(
            &format!("/stores/demo/v2/coupons/{coupon_id}"),
            json!({"code": "save5", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Codegen never produces a code already in use (checked by reading them back).
    let r = app
        .post(
            &format!("{PROMOTIONS}/{}/codegen", id(&b)),
            json!({"batch_size": 50, "code_length": 6}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut all: Vec<String> = r.data()["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_lowercase())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 50);
}

async fn validation_errors_name_the_field(app: TestApp) {
    let rule = |action: Value| json!([{"action": action}]);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"gift_item": {"quantity": 1, "product_id": 1}}))}),
            "rules[0].action.gift_item",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"fixed_price_set": {"quantity": 2, "fixed_price": "10"}}))}),
            "rules[0].action.fixed_price_set",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_value": {"discount": {"percentage_amount": "150"}}}))}),
            "rules[0].action.cart_value.discount.percentage_amount",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_value": {"discount": {"percentage_amount": "ten"}}}))}),
            "rules[0].action.cart_value.discount.percentage_amount",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_items": {"discount": {"fixed_amount": "-2"}}}))}),
            "rules[0].action.cart_items.discount.fixed_amount",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "customer": {"group_ids": [1], "excluded_group_ids": [2]},
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "customer.excluded_group_ids",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "1"}}},
                              "condition": {"cart": {"items": {"products": [1]}}}}]}),
            "rules[0].condition.cart.minimum_quantity",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_items": {"discount": {"fixed_amount": "1"},
                                        "items": {"product_custom_field": {"name": "ISBN", "values": ["1"]}}}}))}),
            "rules[0].action.cart_items.items.product_custom_field",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "schedule": {"week_frequency": 1, "week_days": ["Monday"],
                                "daily_start_time": "01:00:00", "daily_end_time": "02:00:00"},
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "schedule",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "customer": {"segments": {"id": ["abc"]}},
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "customer.segments",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x", "rules": []}),
            "rules",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}},
                                        "shipping": {"zone_ids": "*"}}))}),
            "rules[0].action",
        ),
        (
            json!({"redemption_type": "AUTOMATIC",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "name",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "y".repeat(256),
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "name",
        ),
        (
            json!({"name": "x", "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "redemption_type",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x", "max_uses": -1,
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "max_uses",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "start_date": "2030-01-01T00:00:00Z", "end_date": "2029-01-01T00:00:00Z",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "end_date",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x", "start_date": "yesterday",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "start_date",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"},
                                        "maximum_allowed_discount_amount": "0"}}))}),
            "rules[0].action.cart_value.maximum_allowed_discount_amount",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "shipping_address": {"not": {"countries": [{"iso2_country_code": "US"}]}},
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "shipping_address.not",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "shipping_address": {"countries": [{"iso2_country_code": "XX"}]},
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "shipping_address.countries[0].iso2_country_code",
        ),
        (
            json!({"redemption_type": "AUTOMATIC", "name": "x", "status": "INVALID",
                   "rules": rule(json!({"cart_value": {"discount": {"fixed_amount": "1"}}}))}),
            "status",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(PROMOTIONS, body).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
        let title = r.body["title"].as_str().expect("title");
        assert!(!title.is_empty());
    }
    // Unsupported features say so.
    let r = app
        .post(
            PROMOTIONS,
            json!({"redemption_type": "AUTOMATIC", "name": "x",
                   "rules": rule(json!({"gift_item": {"quantity": 1}}))}),
        )
        .await;
    let title = r.body["title"].as_str().expect("title");
    assert!(
        title.contains("Kassa does not support") && title.contains("gift_item"),
        "{title}"
    );
    // Malformed JSON is 400.
    let r = app.call_raw(Method::POST, PROMOTIONS, b"{\"name\": ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // PUT validates against the merged promotion.
    let p = create(&app, cart_value("Merge")).await;
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", id(&p)),
            json!({"end_date": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "end_date");
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", id(&p)),
            json!({"redemption_type": "COUPON"}),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "redemption_type");
}

/// Deletes every promotion of the demo store, then seeds the demo promotions; their ids.
async fn demo_promotions(app: &TestApp) -> [i64; 3] {
    let r = app.get(&format!("{PROMOTIONS}?limit=250")).await;
    for p in r.data().as_array().expect("list") {
        let r = app.delete(&format!("{PROMOTIONS}/{}", id(p))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let store = app.kassa.find_store("demo").await.expect("store");
    app.kassa
        .seed_demo_promotions(&store)
        .await
        .expect("seed demo promotions");
    let r = app.get(PROMOTIONS).await;
    let ids: Vec<i64> = r.data().as_array().expect("list").iter().map(id).collect();
    ids.try_into().expect("three demo promotions")
}

async fn list_filters_sort_and_paging(app: TestApp) {
    // Start from the three demo promotions, whatever the test helper left.
    let [d1, d2, d3] = demo_promotions(&app).await;
    let mut a = cart_value("Alpha");
    a["currency_code"] = json!("EUR");
    a["channels"] = json!([{"id": 2}]);
    a["priority"] = json!(50);
    a["start_date"] = json!("2020-01-01T00:00:00Z");
    let a = create(&app, a).await;
    let mut b = coupon("beta", Some("BETA-CODE"));
    b["status"] = json!("DISABLED");
    b["priority"] = json!(0);
    b["start_date"] = json!("2021-01-01T00:00:00Z");
    let b = create(&app, b).await;
    let mut c = cart_value("Gamma");
    c["channels"] = json!([{"id": 3}]);
    c["start_date"] = json!("2019-01-01T00:00:00Z");
    let c = create(&app, c).await;

    let ids = |r: &common::Reply| -> Vec<i64> {
        r.data().as_array().expect("list").iter().map(id).collect()
    };
    let r = app.get(PROMOTIONS).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(&r), vec![d1, d2, d3, id(&a), id(&b), id(&c)]);
    let pg = &r.body["meta"]["pagination"];
    assert_eq!(pg["total"], 6);
    assert_eq!(pg["count"], 6);
    assert_eq!(pg["per_page"], 50);
    assert_eq!(pg["current_page"], 1);
    assert_eq!(pg["total_pages"], 1);

    let q = |s: &str| format!("{PROMOTIONS}?{s}");
    assert_eq!(
        ids(&app.get(&q(&format!("id={}", id(&b)))).await),
        vec![id(&b)]
    );
    assert_eq!(ids(&app.get(&q("name=ALPHA")).await), vec![id(&a)]);
    assert_eq!(ids(&app.get(&q("code=beta-code")).await), vec![id(&b)]);
    assert_eq!(ids(&app.get(&q("currency_code=eur")).await), vec![id(&a)]);
    assert_eq!(
        ids(&app.get(&q("redemption_type=coupon")).await),
        vec![id(&b)]
    );
    assert_eq!(ids(&app.get(&q("status=DISABLED")).await), vec![id(&b)]);
    assert_eq!(
        ids(&app.get(&q("channels=2")).await),
        vec![d1, d2, d3, id(&a), id(&b)],
        "promotions for every channel are included"
    );
    assert_eq!(ids(&app.get(&q("query=code")).await), vec![id(&b)]);
    assert_eq!(ids(&app.get(&q("query=amm")).await), vec![id(&c)]);
    assert_eq!(
        ids(&app
            .get(&q("redemption_type=automatic&channels=3,2&query=a"))
            .await),
        // The third demo promotion ("Free shipping over 200") has no "a" in its name.
        vec![d1, d2, id(&a), id(&c)]
    );

    assert_eq!(
        ids(&app.get(&q("sort=priority")).await),
        vec![id(&b), d1, d2, d3, id(&c), id(&a)]
    );
    assert_eq!(
        ids(&app.get(&q("sort=priority&direction=desc")).await),
        vec![id(&a), id(&c), d3, d2, d1, id(&b)]
    );
    let names: Vec<String> = app
        .get(&q("sort=name"))
        .await
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let r = app.get(&q("sort=start_date&id=0")).await;
    assert_eq!(ids(&r), Vec::<i64>::new());
    let starts = ids(&app
        .get(&q(
            "sort=start_date&redemption_type=automatic&currency_code=*",
        ))
        .await);
    assert_eq!(&starts[..1], &[id(&c)]);

    // Paging.
    let r = app.get(&q("limit=4&page=2")).await;
    assert_eq!(ids(&r), vec![id(&b), id(&c)]);
    let pg = &r.body["meta"]["pagination"];
    assert_eq!(pg["total"], 6);
    assert_eq!(pg["count"], 2);
    assert_eq!(pg["total_pages"], 2);
    assert_eq!(pg["links"]["previous"], "?page=1&limit=4");
    let r = app.get(&q("limit=4&page=9")).await;
    assert_eq!(ids(&r), Vec::<i64>::new());

    for (query, field) in [
        ("sort=colour", "sort"),
        ("direction=up", "direction"),
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("page=0", "page"),
        ("id=x", "id"),
        ("status=ON", "status"),
        ("redemption_type=manual", "redemption_type"),
        ("channels=a", "channels"),
    ] {
        let r = app.get(&q(query)).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
}

async fn unknown_promotions_are_404(app: TestApp) {
    for path in ["/999", "/abc", "/999/codes"] {
        let r = app.get(&format!("{PROMOTIONS}{path}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert_eq!(r.body["status"], 404);
    }
    let r = app
        .put(&format!("{PROMOTIONS}/999"), json!({"name": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(&format!("{PROMOTIONS}/999/codes"), json!({"code": "X"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(
            &format!("{PROMOTIONS}/999/codegen"),
            json!({"batch_size": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Deleting what does not exist is fine, as the spec says.
    let r = app.delete(&format!("{PROMOTIONS}/999")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            Method::DELETE,
            &format!("{PROMOTIONS}/codes?code=NOTHING"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let p = create(&app, coupon("Has code", Some("HAS"))).await;
    let r = app
        .delete(&format!("{PROMOTIONS}/{}/codes/424242", id(&p)))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // An unknown token is refused.
    let r = app
        .call_as("not-a-token", Method::GET, PROMOTIONS, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn scopes_guard_promotions(app: TestApp) {
    let p = create(&app, coupon("Guarded", Some("GUARD"))).await;
    let pid = id(&p);
    let read = app.token_with_scopes("store_v2_marketing_read_only").await;
    let none = app.token_with_scopes("store_cart").await;
    let write = app.token_with_scopes("store_v2_marketing").await;

    for path in [
        PROMOTIONS.to_string(),
        format!("{PROMOTIONS}/{pid}"),
        format!("{PROMOTIONS}/{pid}/codes"),
        format!("{PROMOTIONS}/codes?code=GUARD"),
    ] {
        let r = app.call_as(&read, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        let r = app.call_as(&write, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        let r = app.call_as(&none, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, PROMOTIONS.to_string(), Some(cart_value("No"))),
        (
            Method::PUT,
            format!("{PROMOTIONS}/{pid}"),
            Some(json!({"name": "No"})),
        ),
        (Method::DELETE, format!("{PROMOTIONS}/{pid}"), None),
        (Method::DELETE, format!("{PROMOTIONS}?id:in={pid}"), None),
        (
            Method::POST,
            format!("{PROMOTIONS}/{pid}/codes"),
            Some(json!({"code": "NO"})),
        ),
        (
            Method::POST,
            format!("{PROMOTIONS}/{pid}/codegen"),
            Some(json!({"batch_size": 1})),
        ),
        (
            Method::DELETE,
            format!("{PROMOTIONS}/{pid}/codes?id:in=1"),
            None,
        ),
        (Method::DELETE, format!("{PROMOTIONS}/{pid}/codes/1"), None),
        (
            Method::DELETE,
            format!("{PROMOTIONS}/codes?code=GUARD"),
            None,
        ),
    ];
    for (method, path, body) in writes {
        let r = app.call_as(&read, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.body
        );
        assert!(
            r.body["title"]
                .as_str()
                .is_some_and(|t| t.contains("store_v2_marketing")),
            "{}",
            r.body
        );
    }
    // Nothing changed.
    let r = app.get(&format!("{PROMOTIONS}/{pid}")).await;
    assert_eq!(r.data()["name"], "Guarded");
    assert_eq!(r.data()["codes"]["code"], "GUARD");
    // The modify scope writes.
    let r = app
        .call_as(
            &write,
            Method::PUT,
            &format!("{PROMOTIONS}/{pid}"),
            Some(json!({"name": "Changed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn bulk_delete(app: TestApp) {
    let a = create(&app, cart_value("A")).await;
    let b = create(&app, cart_value("B")).await;
    let c = create(&app, coupon("C", Some("CCODE"))).await;

    let r = app.delete(PROMOTIONS).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["status"], 422);
    assert_eq!(
        r.body["meta"],
        json!({"total": 0, "success": 0, "failed": 0})
    );
    let r = app.delete(&format!("{PROMOTIONS}?id:in=1,x")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // The coupon promotion still has a code: it stays, the others go.
    let r = app
        .delete(&format!(
            "{PROMOTIONS}?id:in={},{},{},777",
            id(&a),
            id(&c),
            id(&b)
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 4, "success": 3, "failed": 1})
    );
    assert!(
        r.body["errors"][0]["errors"].get("1.code").is_some(),
        "{}",
        r.body
    );
    for (p, status) in [
        (&a, StatusCode::NOT_FOUND),
        (&b, StatusCode::NOT_FOUND),
        (&c, StatusCode::OK),
    ] {
        let r = app.get(&format!("{PROMOTIONS}/{}", id(p))).await;
        assert_eq!(r.status, status);
    }
    // Once its code is gone it can be deleted in bulk too.
    let code_id = c["codes"]["id"].as_i64().expect("code id");
    let r = app
        .delete(&format!("{PROMOTIONS}/{}/codes?id:in={code_id}", id(&c)))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.delete(&format!("{PROMOTIONS}?id:in={}", id(&c))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let many = (1..=51)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let r = app.delete(&format!("{PROMOTIONS}?id:in={many}")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // The single delete removes a promotion with its code.
    let d = create(&app, coupon("D", Some("DCODE"))).await;
    let r = app.delete(&format!("{PROMOTIONS}/{}", id(&d))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("{PROMOTIONS}/codes?code=DCODE")).await;
    assert_eq!(r.data(), &json!([]));
}

async fn demo_promotions_are_seeded(app: TestApp) {
    // The test helper removes the demo promotions so pricing scenarios start clean;
    // seed them again into the empty store.
    demo_promotions(&app).await;
    let r = app.get(&format!("{PROMOTIONS}?limit=10")).await;
    let list = r.data().as_array().expect("list").clone();
    assert_eq!(list.len(), 3, "{}", r.body);
    assert_eq!(list[0]["name"], "Spend 150, save 10%");
    assert_eq!(
        list[0]["rules"][0]["action"]["cart_value"]["discount"],
        json!({"percentage_amount": "10"})
    );
    assert_eq!(
        list[0]["rules"][0]["condition"],
        json!({"cart": {"minimum_spend": "150"}})
    );
    assert_eq!(list[1]["name"], "Buy a mug, get a tote 50% off");
    assert_eq!(
        list[1]["rules"][0]["condition"]["cart"]["items"],
        json!({"products": [2]})
    );
    assert_eq!(
        list[1]["rules"][0]["action"]["cart_items"]["items"],
        json!({"products": [5]})
    );
    assert_eq!(
        list[2]["rules"][0]["action"]["shipping"]["zone_ids"],
        json!([1])
    );
    assert_eq!(
        list[2]["rules"][0]["condition"],
        json!({"cart": {"minimum_spend": "200"}})
    );
    // Seeding again changes nothing.
    app.kassa
        .ensure_demo_store(Some(common::TOKEN.to_string()))
        .await
        .expect("demo again");
    let store = app.kassa.find_store("demo").await.expect("store");
    app.kassa
        .seed_demo_promotions(&store)
        .await
        .expect("seed again");
    let r = app.get(PROMOTIONS).await;
    assert_eq!(r.data().as_array().expect("list").len(), 3);
}

async fn openapi_lists_promotion_paths(app: TestApp) {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().expect("paths");
    for (path, methods) in [
        (
            "/stores/{store_hash}/v3/promotions",
            &["get", "post", "delete"][..],
        ),
        (
            "/stores/{store_hash}/v3/promotions/{promotion_id}",
            &["get", "put", "delete"],
        ),
        (
            "/stores/{store_hash}/v3/promotions/{promotion_id}/codes",
            &["get", "post", "delete"],
        ),
        (
            "/stores/{store_hash}/v3/promotions/{promotion_id}/codegen",
            &["post"],
        ),
        (
            "/stores/{store_hash}/v3/promotions/codes",
            &["get", "delete"],
        ),
        (
            "/stores/{store_hash}/v3/promotions/{promotion_id}/codes/{code_id}",
            &["delete"],
        ),
    ] {
        let ops = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        for m in methods {
            assert!(ops.get(*m).is_some(), "{m} {path} missing");
        }
    }
}
