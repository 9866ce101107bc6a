//! Responses checked against BigCommerce's own schemas in `carts.v3.yml` (read from
//! `../shared/reference/bigcommerce/` beside the repository). The validator covers the
//! OpenAPI 3.0 subset those files use: `$ref`, `type`, `properties`, `required`, `items`,
//! `enum`, `allOf`, `oneOf`, `anyOf`, `nullable`.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

on_both_backends!(
    cart_responses_match_carts_v3,
    checkout_responses_match_checkouts_v3,
    gift_certificate_responses_match_marketing_v2,
    customer_responses_match_customers_v3,
    promotion_responses_match_promotions_v3,
    discounted_checkouts_match_checkouts_and_carts_v3,
    coupon_responses_match_marketing_v2,
    order_responses_match_orders_v2,
    payment_and_order_v3_responses_match_their_specs,
    webhook_and_abandoned_cart_responses_match_their_specs,
    storefront_responses_match_sf_specs
);

fn spec_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../shared/reference/bigcommerce/{name}"))
}

/// The spec as JSON, or `None` (skip, with a notice) when the reference files are absent.
fn load_spec(name: &str) -> Option<Value> {
    let path = spec_path(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_yaml::from_str(&text).expect("spec parses")),
        Err(_) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {} is missing", path.display());
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n*** spec conformance SKIPPED: {} not found ***\n",
                path.display()
            );
            None
        }
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut node = spec;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            resolve(spec, node)
        }
        None => schema,
    }
}

/// Every violation of `schema` by `value`, each with its JSON path.
fn violations(spec: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if value.is_null() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            violations(spec, s, value, path, out);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let matching = alts
                .iter()
                .filter(|s| {
                    let mut v = Vec::new();
                    violations(spec, s, value, path, &mut v);
                    v.is_empty()
                })
                .count();
            let ok = if key == "oneOf" {
                matching == 1
            } else {
                matching >= 1
            };
            if !ok {
                out.push(format!("{path}: matches none of {key}"));
            }
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            out.push(format!("{path}: expected {t}, got {value}"));
            return;
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values
            .iter()
            .any(|e| e == value || e.as_str().is_some_and(|s| Some(s) == value.as_str()))
    {
        out.push(format!("{path}: {value} is not one of {values:?}"));
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (name, sub) in props {
            if let Some(v) = obj.get(name) {
                violations(spec, sub, v, &format!("{path}.{name}"), out);
            }
        }
    }
    if let (Some(req), Some(obj)) = (
        schema.get("required").and_then(Value::as_array),
        value.as_object(),
    ) {
        for r in req.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                out.push(format!("{path}: required field `{r}` is missing"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            violations(spec, items, v, &format!("{path}[{i}]"), out);
        }
    }
}

fn assert_conforms(spec: &Value, schema_ref: &str, body: &Value, what: &str) {
    let schema = json!({ "$ref": schema_ref });
    let mut out = Vec::new();
    violations(spec, &schema, body, "$", &mut out);
    assert!(
        out.is_empty(),
        "{what} does not match {schema_ref}:\n{}\nbody: {body}",
        out.join("\n")
    );
}

/// Validates a response body against the schema the spec gives an operation's status.
/// Reads both layouts the reference files use: Swagger 2 (`responses.200.schema`) and
/// OpenAPI 3 (`content`, JSON or a vendor JSON media type).
fn check_op(spec: &Value, path: &str, method: &str, status: &str, body: &Value) {
    let response = resolve(spec, &spec["paths"][path][method]["responses"][status]);
    let schema = if response["schema"].is_object() {
        &response["schema"]
    } else if response["content"]["application/json"].is_object() {
        &response["content"]["application/json"]["schema"]
    } else {
        response["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(|c| &c["schema"])
            .unwrap_or(&Value::Null)
    };
    assert!(schema.is_object(), "no schema for {method} {path} {status}");
    let mut out = Vec::new();
    violations(spec, schema, body, "$", &mut out);
    assert!(
        out.is_empty(),
        "{method} {path} {status} does not match its schema:\n{}\nbody: {body}",
        out.join("\n")
    );
    if schema["properties"].get("meta").is_some() {
        assert!(body["meta"].is_object(), "{method} {path}: no meta object");
    }
}

async fn cart_responses_match_carts_v3(app: TestApp) {
    let Some(spec) = load_spec("carts.v3.yml") else {
        return;
    };
    let app = app.with_fixtures().await;
    let carts = "/stores/demo/v3/carts";
    let created = app
        .post(
            &format!("{carts}?include=redirect_urls,line_items.physical_items.options,line_items.digital_items.options,promotions.banners"),
            json!({
                "line_items": [
                    {"product_id": 910, "variant_id": 1003, "quantity": 2},
                    {"product_id": 920, "quantity": 1, "option_selections": [{"option_id": 21, "option_value": 211}, {"option_id": 23, "option_value": 232}, {"option_id": 22, "option_value": "Hi"}]},
                    {"product_id": 930, "quantity": 1}
                ],
                "custom_items": [{"sku": "C-1", "name": "Custom", "quantity": 1, "list_price": 10}],
                "gift_certificates": [{"name": "G", "theme": "General", "amount": 20, "quantity": 1,
                    "sender": {"name": "S", "email": "s@example.com"}, "recipient": {"name": "R", "email": "r@example.com"}}]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    check_op(&spec, "/carts", "post", "201", &created.body);
    let id = created.data()["id"].as_str().unwrap().to_string();

    let got = app
        .get(&format!(
            "{carts}/{id}?include=line_items.physical_items.options"
        ))
        .await;
    check_op(&spec, "/carts/{cartId}", "get", "200", &got.body);

    let added = app
        .post(
            &format!("{carts}/{id}/items"),
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    check_op(&spec, "/carts/{cartId}/items", "post", "201", &added.body);

    let item = added.data()["line_items"]["physical_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = app
        .put(
            &format!("{carts}/{id}/items/{item}"),
            json!({"line_item": {"quantity": 3}}),
        )
        .await;
    check_op(
        &spec,
        "/carts/{cartId}/items/{itemId}",
        "put",
        "200",
        &updated.body,
    );

    let redirect = app
        .post(&format!("{carts}/{id}/redirect_urls"), json!({}))
        .await;
    check_op(
        &spec,
        "/carts/{cartId}/redirect_urls",
        "post",
        "201",
        &redirect.body,
    );

    let conflict = app
        .put(
            &format!("{carts}/{id}"),
            json!({"customer_id": 1, "version": 1}),
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_conforms(
        &spec,
        "#/components/schemas/ErrorResponse",
        &conflict.body,
        "409 body",
    );

    let settings = app.get(&format!("{carts}/settings")).await;
    check_op(&spec, "/carts/settings", "get", "200", &settings.body);
    let settings = app
        .put(
            &format!("{carts}/settings"),
            json!({"allow_purchasing": true}),
        )
        .await;
    check_op(&spec, "/carts/settings", "put", "200", &settings.body);
    let channel = app
        .put(
            &format!("{carts}/settings/channels/1"),
            json!({"allow_purchasing": true}),
        )
        .await;
    check_op(
        &spec,
        "/carts/settings/channels/{channel_id}",
        "put",
        "200",
        &channel.body,
    );
    let channel = app.get(&format!("{carts}/settings/channels/1")).await;
    check_op(
        &spec,
        "/carts/settings/channels/{channel_id}",
        "get",
        "200",
        &channel.body,
    );

    let mf = app
        .post(
            &format!("{carts}/{id}/metafields"),
            json!({"namespace": "kassa", "key": "gift", "value": "yes", "permission_set": "read"}),
        )
        .await;
    assert!(mf.status.is_success(), "{}", mf.body);
    check_op(
        &spec,
        "/carts/{cart_id}/metafields",
        "post",
        "200",
        &mf.body,
    );
    let mf_id = match &mf.data()["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // The spec's list response names the single-object schema while describing "an array of
    // metafields"; Kassa answers the array real clients read, so each item is checked.
    let list = app.get(&format!("{carts}/{id}/metafields")).await;
    for item in list.data().as_array().expect("an array of metafields") {
        assert_conforms(
            &spec,
            "#/components/schemas/Metafield",
            item,
            "listed metafield",
        );
    }
    let one = app.get(&format!("{carts}/{id}/metafields/{mf_id}")).await;
    check_op(
        &spec,
        "/carts/{cart_id}/metafields/{metafield_id}",
        "get",
        "200",
        &one.body,
    );
    let batch = app.get(&format!("{carts}/metafields")).await;
    check_op(&spec, "/carts/metafields", "get", "200", &batch.body);

    let bad = app
        .post(
            carts,
            json!({"line_items": [{"product_id": 1, "quantity": 0}]}),
        )
        .await;
    assert_conforms(
        &spec,
        "#/components/schemas/ErrorResponse",
        &bad.body,
        "422 body",
    );
}

/// The validator itself must be able to fail, or the checks above prove nothing.
#[test]
fn validator_catches_mismatches() {
    let Some(spec) = load_spec("carts.v3.yml") else {
        return;
    };
    let response = resolve(
        &spec,
        &spec["paths"]["/carts/{cartId}"]["get"]["responses"]["200"],
    );
    let schema = &response["content"]["application/json"]["schema"];
    let bad = json!({"data": {"id": "x", "cart_amount": "12.00", "line_items": {"physical_items": [{"quantity": 1}]}}, "meta": {}});
    let mut out = Vec::new();
    violations(&spec, schema, &bad, "$", &mut out);
    assert!(
        out.iter().any(|v| v.contains("$.data.cart_amount")),
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|v| v.contains("required field `variant_id`")),
        "{out:?}"
    );

    let Some(checkouts) = load_spec("checkouts.v3.yml") else {
        return;
    };
    let response = resolve(
        &checkouts,
        &checkouts["paths"]["/checkouts/{checkoutId}"]["get"]["responses"]["200"],
    );
    let schema = &response["content"]["application/json"]["schema"];
    let bad = json!({"data": {"grand_total": "1.00", "consignments": [{"shipping_cost_ex_tax": "x"}], "taxes": {}}, "meta": {}});
    let mut out = Vec::new();
    violations(&checkouts, schema, &bad, "$", &mut out);
    assert!(
        out.iter().any(|v| v.contains("$.data.grand_total")),
        "{out:?}"
    );
    assert!(
        out.iter().any(|v| v.contains("shipping_cost_ex_tax")),
        "{out:?}"
    );
    assert!(out.iter().any(|v| v.contains("$.data.taxes")), "{out:?}");
}

async fn checkout_responses_match_checkouts_v3(app: TestApp) {
    let Some(spec) = load_spec("checkouts.v3.yml") else {
        return;
    };
    let app = app.with_fixtures().await;
    let created = app
        .post(
            "/stores/demo/v3/carts",
            json!({
                "line_items": [{"product_id": 940, "quantity": 2}, {"product_id": 930, "quantity": 1},
                               {"product_id": 910, "variant_id": 1003, "quantity": 1}],
                "custom_items": [{"sku": "C-1", "name": "Custom", "quantity": 1, "list_price": 10}],
                "gift_certificates": [{"name": "G", "theme": "General", "amount": 20, "quantity": 1,
                    "sender": {"name": "S", "email": "s@example.com"}, "recipient": {"name": "R", "email": "r@example.com"}}]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.data()["id"].as_str().unwrap().to_string();
    let lamp = created.data()["line_items"]["physical_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/stores/demo/v3/checkouts/{id}");
    let address = json!({"first_name": "Ada", "last_name": "L", "email": "ada@example.com", "address1": "1 Market St",
        "city": "San Francisco", "state_or_province": "California", "country_code": "US", "postal_code": "94105",
        "phone": "+1 415 555 0100"});

    let got = app
        .get(&format!(
            "{base}?include=cart.line_items.physical_items.options,promotions.banners"
        ))
        .await;
    check_op(&spec, "/checkouts/{checkoutId}", "get", "200", &got.body);

    let billing = app
        .post(&format!("{base}/billing-address"), address.clone())
        .await;
    assert_eq!(billing.status, StatusCode::OK, "{}", billing.body);
    check_op(
        &spec,
        "/checkouts/{checkoutId}/billing-address",
        "post",
        "200",
        &billing.body,
    );
    let address_id = billing.data()["billing_address"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = app
        .put(
            &format!("{base}/billing-address/{address_id}"),
            address.clone(),
        )
        .await;
    check_op(
        &spec,
        "/checkouts/{checkoutId}/billing-address/{addressId}",
        "put",
        "200",
        &updated.body,
    );

    let cons = app
        .post(
            &format!("{base}/consignments?include=consignments.available_shipping_options"),
            json!([{"address": address, "line_items": [{"item_id": lamp, "quantity": 2}]}]),
        )
        .await;
    assert_eq!(cons.status, StatusCode::OK, "{}", cons.body);
    check_op(
        &spec,
        "/checkouts/{checkoutId}/consignments",
        "post",
        "200",
        &cons.body,
    );
    let c = &cons.data()["consignments"][0];
    let cid = c["id"].as_str().unwrap().to_string();
    let option = c["available_shipping_options"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let selected = app
        .put(
            &format!("{base}/consignments/{cid}"),
            json!({"shipping_option_id": option}),
        )
        .await;
    assert_eq!(selected.status, StatusCode::OK, "{}", selected.body);
    check_op(
        &spec,
        "/checkouts/{checkoutId}/consignments/{consignmentId}",
        "put",
        "200",
        &selected.body,
    );

    let fees = app
        .post(
            &format!("{base}/fees"),
            json!({"fees": [{"type": "custom_fee", "name": "Wrap", "display_name": "Gift wrap", "cost": 3, "source": "test", "tax_class_id": 0}]}),
        )
        .await;
    assert_eq!(fees.status, StatusCode::OK, "{}", fees.body);
    check_op(
        &spec,
        "/checkouts/{checkoutId}/fees",
        "post",
        "200",
        &fees.body,
    );

    let discounts = app
        .post(
            &format!("{base}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": 5}]}}),
        )
        .await;
    check_op(
        &spec,
        "/checkouts/{checkoutId}/discounts",
        "post",
        "200",
        &discounts.body,
    );

    let message = app.put(&base, json!({"customer_message": "Thanks"})).await;
    check_op(
        &spec,
        "/checkouts/{checkoutId}",
        "put",
        "200",
        &message.body,
    );

    let full = app
        .get(&format!(
            "{base}?include=consignments.available_shipping_options"
        ))
        .await;
    check_op(&spec, "/checkouts/{checkoutId}", "get", "200", &full.body);
    assert!(full.data()["tax_total"].as_f64().unwrap() > 0.0);

    let deleted = app
        .call(
            reqwest::Method::DELETE,
            &format!("{base}/consignments/{cid}"),
            None,
        )
        .await;
    check_op(
        &spec,
        "/checkouts/{checkoutId}/consignments/{consignmentId}",
        "delete",
        "200",
        &deleted.body,
    );

    let conflict = app
        .put(&base, json!({"customer_message": "x", "version": 1}))
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    check_op(
        &spec,
        "/checkouts/{checkoutId}",
        "put",
        "409",
        &conflict.body,
    );
}

async fn gift_certificate_responses_match_marketing_v2(app: TestApp) {
    let Some(spec) = load_spec("admin/marketing.v2.yml") else {
        return;
    };
    let base = "/stores/demo/v2/gift_certificates";
    let created = app
        .post(
            base,
            json!({"to_name": "Sam", "to_email": "sam@example.com", "from_name": "Alex",
                   "from_email": "alex@example.com", "amount": "25", "template": "christmas.html",
                   "message": "Enjoy", "expiry_date": "Tue, 13 Mar 2040 16:18:59 +0000"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    check_op(&spec, "/gift_certificates", "post", "201", &created.body);
    let id = created.body["id"].as_i64().expect("id");
    // One without an expiry date or a message, and with a generated code.
    let plain = app
        .post(
            base,
            json!({"to_name": "Kim", "to_email": "kim@example.com", "from_name": "Lee",
                   "from_email": "lee@example.com", "amount": 5}),
        )
        .await;
    check_op(&spec, "/gift_certificates", "post", "201", &plain.body);

    let one = app.get(&format!("{base}/{id}")).await;
    check_op(&spec, "/gift_certificates/{id}", "get", "200", &one.body);
    let updated = app
        .put(
            &format!("{base}/{id}"),
            json!({"balance": "12.5", "status": "disabled"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    check_op(
        &spec,
        "/gift_certificates/{id}",
        "put",
        "200",
        &updated.body,
    );
    let list = app.get(base).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(4), "{}", list.body);
    check_op(&spec, "/gift_certificates", "get", "200", &list.body);
    // The check can fail: money as a number and an unknown template are caught.
    let mut wrong = one.body.clone();
    wrong["amount"] = json!(25);
    wrong["template"] = json!("nope.html");
    let mut out = Vec::new();
    violations(
        &spec,
        &json!({"$ref": "#/components/schemas/giftCertificate_Full"}),
        &wrong,
        "$",
        &mut out,
    );
    assert!(
        out.iter().any(|v| v.contains("$.amount")) && out.iter().any(|v| v.contains("$.template")),
        "{out:?}"
    );
}

async fn customer_responses_match_customers_v3(app: TestApp) {
    let Some(spec) = load_spec("admin/customers.v3.yml") else {
        return;
    };
    let base = "/stores/demo/v3/customers";
    let created = app
        .post(
            base,
            json!([
                {"email": "ann@example.com", "first_name": "Ann", "last_name": "Adams",
                 "company": "Acme", "phone": "555", "customer_group_id": 1, "channel_ids": [1],
                 "store_credit_amounts": [{"amount": 43.15}],
                 "authentication": {"force_password_reset": true}},
                {"email": "bob@example.com", "first_name": "Bob", "last_name": "Brown"}
            ]),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    check_op(&spec, "/customers", "post", "200", &created.body);
    let id = created.data()[0]["id"].as_i64().expect("id");

    let updated = app
        .put(
            base,
            json!([{"id": id, "notes": "VIP", "store_credit_amounts": [{"amount": 1.5}]}]),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    check_op(&spec, "/customers", "put", "200", &updated.body);

    for query in [
        "",
        "?include=storecredit,addresses,attributes,formfields",
        "?limit=1&page=2&sort=last_name:desc",
    ] {
        let list = app.get(&format!("{base}{query}")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        check_op(&spec, "/customers", "get", "200", &list.body);
    }

    let bad = app
        .post(
            base,
            json!([{"email": "nope", "first_name": "A", "last_name": "B"}]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    check_op(&spec, "/customers", "post", "422", &bad.body);
    let bad = app
        .put(base, json!([{"id": id, "email": "bob@example.com"}]))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    check_op(&spec, "/customers", "put", "422", &bad.body);
    let bad = app.get(&format!("{base}?sort=nonsense")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    check_op(&spec, "/customers", "get", "422", &bad.body);

    // The address book, and customers listed with their addresses.
    let addresses = format!("{base}/addresses");
    let saved = app
        .post(
            &addresses,
            json!([{"customer_id": id, "first_name": "Ann", "last_name": "Adams",
                    "address1": "123 Example Street", "city": "Austin", "state_or_province": "Texas",
                    "postal_code": "78759", "country_code": "US", "phone": "15551234567",
                    "address_type": "residential"}]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    check_op(&spec, "/customers/addresses", "post", "200", &saved.body);
    let address_id = saved.data()[0]["id"].as_i64().expect("address id");
    let changed = app
        .put(&addresses, json!([{"id": address_id, "city": "Dallas"}]))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    check_op(&spec, "/customers/addresses", "put", "200", &changed.body);
    for query in ["", "?include=formfields&customer_id:in=1,2,3&limit=1"] {
        let list = app.get(&format!("{addresses}{query}")).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        check_op(&spec, "/customers/addresses", "get", "200", &list.body);
    }
    let list = app
        .get(&format!("{base}?include=addresses&id:in={id}"))
        .await;
    assert_eq!(
        list.data()[0]["addresses"][0]["city"],
        "Dallas",
        "{}",
        list.body
    );
    check_op(&spec, "/customers", "get", "200", &list.body);
    let bad = app
        .post(
            &addresses,
            json!([{"customer_id": id, "first_name": "Ann"}]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    check_op(&spec, "/customers/addresses", "post", "422", &bad.body);

    let validate = format!("{base}/validate-credentials");
    let made = app
        .post(
            base,
            json!([{"email": "cy@example.com", "first_name": "Cy", "last_name": "Cole",
                    "authentication": {"new_password": "cy-pass-123"}}]),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    check_op(&spec, "/customers", "post", "200", &made.body);
    for password in ["cy-pass-123", "wrong-pass-1"] {
        let r = app
            .post(
                &validate,
                json!({"email": "cy@example.com", "password": password, "channel_id": 1}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check_op(
            &spec,
            "/customers/validate-credentials",
            "post",
            "200",
            &r.body,
        );
    }
    let bad = app
        .post(&validate, json!({"email": "cy@example.com"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    check_op(
        &spec,
        "/customers/validate-credentials",
        "post",
        "422",
        &bad.body,
    );
}

/// `promotions.v3.yml` writes its item matchers, conditions and actions as `oneOf` /
/// `anyOf` alternatives that each hold one property and require none, so under strict
/// `oneOf` `{"products": [1]}` matches every alternative, and under `anyOf` any action
/// passes. Each such alternative is told apart by its one key, which is what the spec
/// means: it is made required here.
fn require_single_keys_of_alternatives(spec: &mut Value) {
    let names: Vec<String> = spec["components"]["schemas"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut targets: Vec<String> = Vec::new();
    for name in &names {
        let schema = &spec["components"]["schemas"][name];
        let alternatives = schema["oneOf"].as_array().into_iter().flatten();
        for alt in alternatives.chain(schema["anyOf"].as_array().into_iter().flatten()) {
            if let Some(r) = alt["$ref"].as_str() {
                targets.push(r.trim_start_matches("#/components/schemas/").to_string());
            }
        }
    }
    for t in targets {
        let schema = &mut spec["components"]["schemas"][&t];
        let keys: Vec<String> = schema["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if keys.len() == 1 && schema.get("required").is_none() {
            schema["required"] = json!(keys);
        }
    }
}

async fn promotion_responses_match_promotions_v3(app: TestApp) {
    let Some(mut spec) = load_spec("admin/promotions.v3.yml") else {
        return;
    };
    require_single_keys_of_alternatives(&mut spec);
    let spec = spec;
    let base = "/stores/demo/v3/promotions";
    let bodies = [
        json!({"redemption_type": "AUTOMATIC", "name": "Ten off", "channels": [{"id": 1}],
               "customer": {"group_ids": [1]}, "end_date": "2040-01-01T00:00:00Z",
               "notifications": [{"content": "Saved", "type": "APPLIED", "locations": ["CART_PAGE"]}],
               "shipping_address": {"countries": [{"iso2_country_code": "US"}]},
               "rules": [{"action": {"cart_value": {"discount": {"percentage_amount": "10"},
                                                    "maximum_allowed_discount_amount": "20"}},
                          "condition": {"cart": {"minimum_spend": "100"}}}]}),
        json!({"redemption_type": "AUTOMATIC", "name": "BXGY",
               "rules": [{"action": {"cart_items": {"discount": {"percentage_amount": "100"},
                                                    "items": {"or": [{"products": [5]}, {"not": {"brands": [1]}}]},
                                                    "quantity": 1}},
                          "apply_once": false,
                          "condition": {"and": [{"cart": {"items": {"products": [2]}, "minimum_quantity": 1}},
                                                {"cart": {"minimum_spend": "10"}}]}}]}),
        json!({"redemption_type": "AUTOMATIC", "name": "Ship",
               "rules": [{"action": {"shipping": {"zone_ids": "*"}}},
                         {"action": {"shipping": {"zone_ids": [1]}}}]}),
        json!({"redemption_type": "COUPON", "name": "Coupon", "codes": {"code": "CONFORM-1", "max_uses": 5},
               "can_be_used_with_other_promotions": false, "coupon_overrides_other_promotions": true,
               "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "5"}}}}]}),
        json!({"redemption_type": "COUPON", "name": "Bulk", "coupon_type": "BULK",
               "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "5"}}}}]}),
    ];
    let mut ids = Vec::new();
    for body in bodies {
        let created = app.post(base, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        check_op(&spec, "/promotions", "post", "201", &created.body);
        ids.push(created.data()["id"].as_i64().expect("id"));
    }
    let (coupon, bulk) = (ids[3], ids[4]);

    let list = app.get(&format!("{base}?limit=50")).await;
    check_op(&spec, "/promotions", "get", "200", &list.body);
    for id in &ids {
        let one = app.get(&format!("{base}/{id}")).await;
        check_op(&spec, "/promotions/{id}", "get", "200", &one.body);
    }
    let updated = app
        .put(
            &format!("{base}/{}", ids[0]),
            json!({"name": "Renamed", "end_date": null}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    check_op(&spec, "/promotions/{id}", "put", "200", &updated.body);

    let code = app
        .post(
            &format!("{base}/{bulk}/codes"),
            json!({"code": "CONFORM-2"}),
        )
        .await;
    assert_eq!(code.status, StatusCode::CREATED, "{}", code.body);
    check_op(
        &spec,
        "/promotions/{promotion_id}/codes",
        "post",
        "201",
        &code.body,
    );
    let generated = app
        .post(&format!("{base}/{bulk}/codegen"), json!({"batch_size": 3}))
        .await;
    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.body);
    check_op(
        &spec,
        "/promotions/{promotion_id}/codegen",
        "post",
        "201",
        &generated.body,
    );
    for query in ["", "?limit=2", "?page=1&limit=2"] {
        let codes = app.get(&format!("{base}/{bulk}/codes{query}")).await;
        check_op(
            &spec,
            "/promotions/{promotion_id}/codes",
            "get",
            "200",
            &codes.body,
        );
    }
    let by_code = app.get(&format!("{base}/codes?code=conform-1")).await;
    assert_eq!(
        by_code.data().as_array().map(Vec::len),
        Some(1),
        "{}",
        by_code.body
    );
    check_op(&spec, "/promotions/codes", "get", "200", &by_code.body);

    let kept = app.delete(&format!("{base}?id:in={coupon}")).await;
    assert_eq!(
        kept.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        kept.body
    );
    check_op(&spec, "/promotions", "delete", "422", &kept.body);
    let missing = app.delete(base).await;
    check_op(&spec, "/promotions", "delete", "422", &missing.body);
    let not_found = app.get(&format!("{base}/424242")).await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    check_op(&spec, "/promotions/{id}", "get", "404", &not_found.body);

    // The check can fail: each of these mistakes alone is caught.
    let good = app.get(&format!("{base}/{}", ids[1])).await.body;
    let response = resolve(
        &spec,
        &spec["paths"]["/promotions/{id}"]["get"]["responses"]["200"],
    );
    let schema = &response["content"]["application/json"]["schema"];
    let mistakes: [(&str, Value); 4] = [
        (
            "/data/rules/0/action/cart_items/discount",
            json!({"percentage_amount": 100}),
        ),
        (
            "/data/rules/0/condition/and/0/cart/items",
            json!({"products": [2], "brands": [1]}),
        ),
        ("/data/rules/0/action", json!({"cart_itemz": {}})),
        ("/data/start_date", json!(1_700_000_000)),
    ];
    for (pointer, value) in mistakes {
        let mut wrong = good.clone();
        *wrong.pointer_mut(pointer).expect("pointer") = value;
        let mut out = Vec::new();
        violations(&spec, schema, &wrong, "$", &mut out);
        assert!(!out.is_empty(), "a wrong {pointer} passed");
    }
    let mut out = Vec::new();
    violations(&spec, schema, &good, "$", &mut out);
    assert!(out.is_empty(), "{out:?}");
}

/// A checkout carrying every kind of discount — an automatic promotion with a banner, a
/// coupon on items, a free-shipping coupon on a consignment, a coupon promotion — and the
/// order placed from it, against `checkouts.v3.yml`; the cart view against `carts.v3.yml`.
async fn discounted_checkouts_match_checkouts_and_carts_v3(app: TestApp) {
    let (Some(spec), Some(carts)) = (load_spec("checkouts.v3.yml"), load_spec("carts.v3.yml"))
    else {
        return;
    };
    let app = app.with_fixtures().await;
    let r = app
        .put(
            "/stores/demo/v3/promotions/settings",
            json!({"multiple_coupons": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for body in [
        json!({"name": "Lamps 10% off", "redemption_type": "AUTOMATIC",
               "notifications": [{"content": "10% off lamps!", "type": "APPLIED", "locations": ["CART_PAGE"]}],
               "rules": [{"action": {"cart_items": {"discount": {"percentage_amount": "10"},
                                                    "items": {"products": [940]}}}}]}),
        json!({"name": "Code promo", "redemption_type": "COUPON", "codes": {"code": "PROMO2", "max_uses": 5},
               "rules": [{"action": {"cart_value": {"discount": {"fixed_amount": "2"}}}}]}),
    ] {
        let r = app.post("/stores/demo/v3/promotions", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    for body in [
        json!({"name": "Five off", "code": "FIVE", "type": "per_total_discount", "amount": "5",
               "applies_to": {"entity": "categories", "ids": [0]}}),
        json!({"name": "Ship free", "code": "SHIPFREE", "type": "free_shipping", "amount": "0",
               "applies_to": {"entity": "categories", "ids": [0]}}),
    ] {
        let r = app.post("/stores/demo/v2/coupons", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let created = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 940, "quantity": 2}, {"product_id": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.data()["id"].as_str().unwrap().to_string();
    let lamp = created.data()["line_items"]["physical_items"][0]["id"].clone();
    let base = format!("/stores/demo/v3/checkouts/{id}");
    let address = json!({"first_name": "Ada", "last_name": "L", "email": "ada@example.com", "address1": "1 Market St",
        "city": "San Francisco", "state_or_province": "California", "country_code": "US", "postal_code": "94105"});
    assert_eq!(
        app.post(&format!("{base}/billing-address"), address.clone())
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .post(
            &format!("{base}/consignments?include=consignments.available_shipping_options"),
            json!([{"address": address, "line_items": [{"item_id": lamp, "quantity": 2}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cid = r.data()["consignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("{base}/consignments/{cid}"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for code in ["FIVE", "SHIPFREE", "promo2"] {
        let r = app
            .post(&format!("{base}/coupons"), json!({"coupon_code": code}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{code}: {}", r.body);
        check_op(
            &spec,
            "/checkouts/{checkoutId}/coupons",
            "post",
            "200",
            &r.body,
        );
    }
    let got = app
        .get(&format!(
            "{base}?include=consignments.available_shipping_options,promotions.banners"
        ))
        .await;
    check_op(&spec, "/checkouts/{checkoutId}", "get", "200", &got.body);
    let data = got.data();
    assert_eq!(data["coupons"].as_array().unwrap().len(), 3, "{}", got.body);
    assert_eq!(
        data["consignments"][0]["coupon_discounts"][0]["code"],
        "SHIPFREE"
    );
    assert_eq!(
        data["promotions"][0]["banners"][0]["text"],
        "10% off lamps!"
    );
    assert!(
        data["cart"]["line_items"]["physical_items"][0]["discounts"]
            .as_array()
            .unwrap()
            .len()
            >= 2,
        "{}",
        got.body
    );
    let cart = app
        .get(&format!(
            "/stores/demo/v3/carts/{id}?include=promotions.banners"
        ))
        .await;
    check_op(&carts, "/carts/{cartId}", "get", "200", &cart.body);

    let removed = app
        .call(
            reqwest::Method::DELETE,
            &format!("{base}/coupons/FIVE"),
            None,
        )
        .await;
    check_op(
        &spec,
        "/checkouts/{checkoutId}/coupons/{couponCode}",
        "delete",
        "200",
        &removed.body,
    );
    let order = app.post(&format!("{base}/orders"), json!({})).await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.body);
    check_op(
        &spec,
        "/checkouts/{checkoutId}/orders",
        "post",
        "200",
        &order.body,
    );
}

/// V2 coupons of every type, before and after an order used one, against `marketing.v2.yml`.
async fn coupon_responses_match_marketing_v2(app: TestApp) {
    let Some(spec) = load_spec("admin/marketing.v2.yml") else {
        return;
    };
    let app = app.with_fixtures().await;
    let base = "/stores/demo/v2/coupons";
    let mut ids = Vec::new();
    for (i, kind) in [
        "per_item_discount",
        "percentage_discount",
        "per_total_discount",
        "shipping_discount",
        "free_shipping",
    ]
    .iter()
    .enumerate()
    {
        let r = app
            .post(
                base,
                json!({"name": format!("C{i}"), "code": format!("CODE{i}"), "type": kind, "amount": "1",
                       "min_purchase": "0", "max_uses": 10, "max_uses_per_customer": 2,
                       "expires": "Tue, 13 Mar 2040 16:18:59 +0000",
                       "restricted_to": {"countries": ["US"]},
                       "shipping_methods": ["Standard"],
                       "applies_to": {"entity": "products", "ids": [930, 940]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        check_op(&spec, "/coupons", "post", "201", &r.body);
        ids.push(r.body["id"].as_i64().expect("id"));
    }
    // Use one in an order so `num_uses` moves.
    let cart = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 930, "quantity": 2}]}),
        )
        .await;
    let id = cart.data()["id"].as_str().unwrap().to_string();
    let address = json!({"first_name": "Ada", "last_name": "L", "email": "ada@example.com", "address1": "1 Market St",
        "city": "San Francisco", "state_or_province": "California", "country_code": "US", "postal_code": "94105"});
    app.post(
        &format!("/stores/demo/v3/checkouts/{id}/billing-address"),
        address,
    )
    .await;
    let r = app
        .post(
            &format!("/stores/demo/v3/checkouts/{id}/coupons"),
            json!({"coupon_code": "code1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(&format!("/stores/demo/v3/checkouts/{id}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let updated = app
        .put(
            &format!("{base}/{}", ids[1]),
            json!({"amount": "15", "enabled": false, "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    check_op(&spec, "/coupons/{id}", "put", "200", &updated.body);
    assert_eq!(updated.body["num_uses"], json!(1));
    let list = app.get(base).await;
    check_op(&spec, "/coupons", "get", "200", &list.body);
    let count = app.get(&format!("{base}/count")).await;
    check_op(&spec, "/coupons/count", "get", "200", &count.body);
}

async fn order_responses_match_orders_v2(app: TestApp) {
    let Some(spec) = load_spec("orders.v2.oas2.yml") else {
        return;
    };
    let app = app.with_fixtures().await;
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Five", "code": "FIVE", "type": "per_total_discount", "amount": "5",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 940, "quantity": 2}, {"product_id": 930, "quantity": 1}]}),
        )
        .await;
    let id = cart.data()["id"].as_str().unwrap().to_string();
    let lamp = cart.data()["line_items"]["physical_items"][0]["id"].clone();
    let address = json!({"first_name": "Ada", "last_name": "L", "email": "ada@example.com", "address1": "1 Market St",
        "city": "San Francisco", "state_or_province": "California", "state_or_province_code": "CA",
        "country_code": "US", "postal_code": "94105"});
    let checkouts = "/stores/demo/v3/checkouts";
    let r = app
        .post(
            &format!("{checkouts}/{id}/billing-address"),
            address.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("{checkouts}/{id}/consignments"),
            json!([{"address": address, "line_items": [{"item_id": lamp, "quantity": 2}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cid = r.data()["consignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("{checkouts}/{id}/consignments/{cid}"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("{checkouts}/{id}/coupons"),
            json!({"coupon_code": "FIVE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(&format!("{checkouts}/{id}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().expect("order id");

    let base = "/stores/demo/v2";
    let list = app.get(&format!("{base}/orders")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    check_op(&spec, "/orders", "get", "200", &list.body);
    let one = app.get(&format!("{base}/orders/{order}")).await;
    check_op(&spec, "/orders/{order_id}", "get", "200", &one.body);
    let count = app.get(&format!("{base}/orders/count")).await;
    check_op(&spec, "/orders/count", "get", "200", &count.body);
    let products = app.get(&format!("{base}/orders/{order}/products")).await;
    assert_eq!(
        products.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        products.body
    );
    check_op(
        &spec,
        "/orders/{order_id}/products",
        "get",
        "200",
        &products.body,
    );
    // `orderProducts` allows no other properties.
    let allowed = spec["components"]["schemas"]["orderProducts"]["properties"]
        .as_object()
        .expect("orderProducts properties");
    for p in products.body.as_array().unwrap() {
        for key in p.as_object().unwrap().keys() {
            assert!(allowed.contains_key(key), "orderProducts has no `{key}`");
        }
    }
    let product = app
        .get(&format!(
            "{base}/orders/{order}/products/{}",
            products.body[0]["id"]
        ))
        .await;
    check_op(
        &spec,
        "/orders/{order_id}/products/{product_id}",
        "get",
        "200",
        &product.body,
    );
    let addresses = app
        .get(&format!("{base}/orders/{order}/shipping_addresses"))
        .await;
    assert_eq!(
        addresses.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        addresses.body
    );
    check_op(
        &spec,
        "/orders/{order_id}/shipping_addresses",
        "get",
        "200",
        &addresses.body,
    );
    let address = app
        .get(&format!("{base}/orders/{order}/shipping_addresses/1"))
        .await;
    check_op(
        &spec,
        "/orders/{order_id}/shipping_addresses/{id}",
        "get",
        "200",
        &address.body,
    );
    let coupons = app.get(&format!("{base}/orders/{order}/coupons")).await;
    assert_eq!(
        coupons.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        coupons.body
    );
    check_op(
        &spec,
        "/orders/{order_id}/coupons",
        "get",
        "200",
        &coupons.body,
    );
    let taxes = app.get(&format!("{base}/orders/{order}/taxes")).await;
    assert!(
        !taxes.body.as_array().expect("taxes").is_empty(),
        "{}",
        taxes.body
    );
    check_op(&spec, "/orders/{order_id}/taxes", "get", "200", &taxes.body);
    let statuses = app.get(&format!("{base}/order_statuses")).await;
    check_op(&spec, "/order_statuses", "get", "200", &statuses.body);
    let status = app.get(&format!("{base}/order_statuses/11")).await;
    check_op(
        &spec,
        "/order_statuses/{status_id}",
        "get",
        "200",
        &status.body,
    );
}

/// Payment methods, access token and process-payment against `payments/*.yml`; then the
/// paid order's transactions, a refund quote, a refund, the refund lists and the order
/// settings against `orders.v3.yml`.
async fn payment_and_order_v3_responses_match_their_specs(app: TestApp) {
    use common::flow::{card, checkout_with, new_pat, pay, place};
    let (Some(methods), Some(tokens), Some(process), Some(orders)) = (
        load_spec("payments/accepted-methods_payments.v3.yml"),
        load_spec("payments/access-tokens_payments.v3.yml"),
        load_spec("payments/process_payments.yml"),
        load_spec("orders.v3.yml"),
    ) else {
        return;
    };
    let app = app.with_fixtures().await;
    let checkout = checkout_with(
        &app,
        json!({"line_items": [{"product_id": 930, "quantity": 2}]}),
    )
    .await;
    let r = place(&app, &checkout).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let order = r.data()["id"].as_i64().expect("order id");

    let r = app
        .get(&format!(
            "/stores/demo/v3/payments/methods?order_id={order}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&methods, "/payments/methods", "get", "200", &r.body);
    let r = common::flow::token(&app, order).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    check_op(&tokens, "/payments/access_tokens", "post", "201", &r.body);
    let pat = new_pat(&app, order).await;
    let r = pay(&app, &pat, card("4111111111111111")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    check_op(&process, "/payments", "post", "201", &r.body);

    let v3 = "/stores/demo/v3/orders";
    let r = app.get(&format!("{v3}/{order}/transactions")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &orders,
        "/orders/{order_id}/transactions",
        "get",
        "200",
        &r.body,
    );
    let refund = json!({"items": [{"item_type": "ORDER", "item_id": order, "amount": 5}]});
    let r = app
        .post(
            &format!("{v3}/{order}/payment_actions/refund_quotes"),
            refund.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    check_op(
        &orders,
        "/orders/{order_id}/payment_actions/refund_quotes",
        "post",
        "201",
        &r.body,
    );
    let r = app
        .post(&format!("{v3}/{order}/payment_actions/refunds"), refund)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    check_op(
        &orders,
        "/orders/{order_id}/payment_actions/refunds",
        "post",
        "201",
        &r.body,
    );
    let refund_id = r.data()["id"].clone();
    let r = app
        .get(&format!("{v3}/{order}/payment_actions/refunds"))
        .await;
    check_op(
        &orders,
        "/orders/{order_id}/payment_actions/refunds",
        "get",
        "200",
        &r.body,
    );
    let r = app.get(&format!("{v3}/payment_actions/refunds")).await;
    check_op(
        &orders,
        "/orders/payment_actions/refunds",
        "get",
        "200",
        &r.body,
    );
    let r = app
        .get(&format!("{v3}/payment_actions/refunds/{refund_id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &orders,
        "/orders/payment_actions/refunds/{refund_id}",
        "get",
        "200",
        &r.body,
    );
    let r = app.get(&format!("{v3}/settings")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&orders, "/orders/settings", "get", "200", &r.body);

    // Order metafields: one order's and the batch operations.
    let mf = json!({"namespace": "Sales Department", "key": "Staff Name", "value": "Sam",
                    "permission_set": "app_only", "description": "Name of staff member"});
    let r = app.post(&format!("{v3}/{order}/metafields"), mf).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &orders,
        "/orders/{order_id}/metafields",
        "post",
        "200",
        &r.body,
    );
    let mf_id = r.data()["id"].as_i64().expect("metafield id");
    let r = app.get(&format!("{v3}/{order}/metafields")).await;
    check_op(
        &orders,
        "/orders/{order_id}/metafields",
        "get",
        "200",
        &r.body,
    );
    let one = format!("{v3}/{order}/metafields/{mf_id}");
    let r = app.get(&one).await;
    check_op(
        &orders,
        "/orders/{order_id}/metafields/{metafield_id}",
        "get",
        "200",
        &r.body,
    );
    let r = app.put(&one, json!({"value": "Alex"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &orders,
        "/orders/{order_id}/metafields/{metafield_id}",
        "put",
        "200",
        &r.body,
    );
    let r = app.get(&format!("{v3}/{order}/metafields/999999")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let batch = format!("{v3}/metafields");
    let r = app
        .post(
            &batch,
            json!([{"resource_id": order, "namespace": "n", "key": "k", "value": "v", "permission_set": "read"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&orders, "/orders/metafields", "post", "200", &r.body);
    let batch_id = r.body["data"][0]["id"].as_i64().expect("metafield id");
    let r = app
        .post(
            &batch,
            json!([{"resource_id": order, "namespace": "n", "key": "k", "value": "v", "permission_set": "read"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    check_op(&orders, "/orders/metafields", "post", "422", &r.body);
    let r = app
        .put(&batch, json!([{"id": batch_id, "value": "w"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&orders, "/orders/metafields", "put", "200", &r.body);
    let r = app.get(&batch).await;
    check_op(&orders, "/orders/metafields", "get", "200", &r.body);
    let r = app
        .call(
            reqwest::Method::DELETE,
            &batch,
            Some(json!([batch_id, 999_999])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    check_op(&orders, "/orders/metafields", "delete", "422", &r.body);
    let r = app
        .call(reqwest::Method::DELETE, &batch, Some(json!([mf_id])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&orders, "/orders/metafields", "delete", "200", &r.body);
}

/// The webhooks API against `admin/webhooks.v3.yml` and abandoned-cart settings against
/// `abandoned_carts.v3.yml`.
async fn webhook_and_abandoned_cart_responses_match_their_specs(app: TestApp) {
    let (Some(hooks), Some(abandoned)) = (
        load_spec("admin/webhooks.v3.yml"),
        load_spec("abandoned_carts.v3.yml"),
    ) else {
        return;
    };
    let base = "/stores/demo/v3/hooks";
    let r = app
        .post(
            base,
            json!({"scope": "store/cart/*", "destination": "https://example.com/hooks",
                   "is_active": true, "headers": {"X-Secret": "s3"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&hooks, "/hooks", "post", "200", &r.body);
    let id = r.data()["id"].clone();
    let r = app.get(base).await;
    check_op(&hooks, "/hooks", "get", "200", &r.body);
    let r = app.get(&format!("{base}/{id}")).await;
    check_op(&hooks, "/hooks/{webhook_id}", "get", "200", &r.body);
    let r = app
        .put(&format!("{base}/{id}"), json!({"is_active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&hooks, "/hooks/{webhook_id}", "put", "200", &r.body);
    let r = app.get(&format!("{base}/admin")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&hooks, "/hooks/admin", "get", "200", &r.body);
    let r = app.delete(&format!("{base}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&hooks, "/hooks/{webhook_id}", "delete", "200", &r.body);

    let r = app.get("/stores/demo/v3/abandoned-carts/settings").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &abandoned,
        "/abandoned-carts/settings",
        "get",
        "200",
        &r.body,
    );
    let r = app
        .get("/stores/demo/v3/abandoned-carts/settings/channels/1")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &abandoned,
        "/abandoned-carts/settings/channels/{channel_id}",
        "get",
        "200",
        &r.body,
    );
}

/// The Storefront API, as a shopper's browser sees it, against `carts.sf.yml`,
/// `checkouts.sf.yml` and `orders.sf.yml` (paths there are relative to `/api/storefront`).
async fn storefront_responses_match_sf_specs(app: TestApp) {
    let (Some(carts), Some(checkouts), Some(orders)) = (
        load_spec("carts.sf.yml"),
        load_spec("checkouts.sf.yml"),
        load_spec("orders.sf.yml"),
    ) else {
        return;
    };
    let app = app.with_fixtures().await;
    let b = app.browser();
    let sf = "/api/storefront";
    let r = b
        .post(
            &format!("{sf}/carts?include=lineItems.physicalItems.options"),
            json!({"lineItems": [{"productId": 940, "quantity": 2}, {"productId": 910, "variantId": 1003, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&carts, "/carts", "post", "200", &r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = b.get(&format!("{sf}/carts")).await;
    check_op(&carts, "/carts", "get", "200", &r.body);
    let r = b
        .post(
            &format!("{sf}/carts/{id}/items"),
            json!({"lineItems": [{"productId": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&carts, "/carts/{cartId}/items", "post", "200", &r.body);
    let lamp = r.body["lineItems"]["physicalItems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["productId"] == 940)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .put(
            &format!("{sf}/carts/{id}/items/{lamp}"),
            json!({"lineItem": {"productId": 940, "quantity": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &carts,
        "/carts/{cartId}/items/{itemId}",
        "put",
        "200",
        &r.body,
    );
    let r = b
        .post(
            &format!("{sf}/carts/{id}/currency"),
            json!({"currencyCode": "EUR"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&carts, "/carts/{cartId}/currency", "post", "200", &r.body);
    let r = b
        .post(
            &format!("{sf}/carts/{id}/currency"),
            json!({"currencyCode": "USD"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Texas has no tax zone in the demo store: the order spec types tax amounts as
    // integers, which only untaxed orders can satisfy. `shouldSaveAddress` is shown back.
    let address = json!({"firstName": "Pat", "lastName": "Buyer", "email": "pat@example.com",
        "address1": "1 Main St", "city": "Austin", "stateOrProvinceCode": "TX",
        "countryCode": "US", "postalCode": "78704", "shouldSaveAddress": true});
    let r = b.get(&format!("{sf}/checkouts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&checkouts, "/checkouts/{checkoutId}", "get", "200", &r.body);
    let r = b
        .post(
            &format!("{sf}/checkouts/{id}/billing-address"),
            address.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/billing-address",
        "post",
        "200",
        &r.body,
    );
    assert_eq!(
        r.body["billingAddress"]["shouldSaveAddress"], true,
        "{}",
        r.body
    );
    let items: Vec<Value> = r.body["cart"]["lineItems"]["physicalItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"itemId": i["id"], "quantity": i["quantity"]}))
        .collect();
    let r = b
        .post(
            &format!(
                "{sf}/checkouts/{id}/consignments?include=consignments.availableShippingOptions"
            ),
            json!([{"address": address, "lineItems": items}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/consignments",
        "post",
        "200",
        &r.body,
    );
    let cid = r.body["consignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let option = r.body["consignments"][0]["availableShippingOptions"][0]["id"].clone();
    let r = b
        .put(
            &format!("{sf}/checkouts/{id}/consignments/{cid}"),
            json!({"shippingOptionId": option}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/consignments/{consignmentId}",
        "put",
        "200",
        &r.body,
    );
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Ten pct", "code": "TENPCT", "type": "percentage_discount", "amount": "10",
                   "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = b
        .post(
            &format!("{sf}/checkouts/{id}/coupons"),
            json!({"couponCode": "TENPCT"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/coupons",
        "post",
        "200",
        &r.body,
    );
    let r = b
        .put(
            &format!("{sf}/checkouts/{id}"),
            json!({"customerMessage": "Thanks"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&checkouts, "/checkouts/{checkoutId}", "put", "200", &r.body);
    let r = b
        .post(
            &format!("{sf}/checkouts/{id}/spam-protection"),
            json!({"token": "t"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/spam-protection",
        "post",
        "200",
        &r.body,
    );

    let placed = app
        .post(&format!("/stores/demo/v3/checkouts/{id}/orders"), json!({}))
        .await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    let order = placed.data()["id"].as_i64().unwrap();
    let r = b.get(&format!("{sf}/orders/{order}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_op(&orders, "/orders/{orderId}", "get", "200", &r.body);

    // Errors in the storefront shape.
    let r = b
        .get(&format!("{sf}/checkouts/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    check_op(&checkouts, "/checkouts/{checkoutId}", "get", "400", &r.body);
    // The form the Checkout SDK gets (no `errors` list) fits the same schemas.
    let r = b
        .send(
            reqwest::Method::GET,
            &format!("{sf}/checkouts/{}", uuid::Uuid::new_v4()),
            None,
            &[("X-Checkout-SDK-Version", "1.983.2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    check_op(&checkouts, "/checkouts/{checkoutId}", "get", "400", &r.body);
    check_op(
        &checkouts,
        "/checkouts/{checkoutId}/coupons",
        "post",
        "409",
        &r.body,
    );
}
