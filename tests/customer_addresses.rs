//! Customer address books (Customers V3 `/customers/addresses`) over real HTTP on both
//! backends: saving, normalizing, filtering and paging, duplicates left out as the spec
//! says, updates, deletes (and with the customer), `include=addresses` on `/customers`,
//! validation naming the entry and field, and scopes.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    address_book_crud,
    addresses_show_on_customers,
    validation_and_batches,
    scopes_and_openapi,
);

const CUSTOMERS: &str = "/stores/demo/v3/customers";
const ADDRESSES: &str = "/stores/demo/v3/customers/addresses";

async fn new_customer(app: &TestApp, email: &str) -> i64 {
    let r = app
        .post(
            CUSTOMERS,
            json!([{"first_name": "Ann", "last_name": "Lee", "email": email}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()[0]["id"].as_i64().expect("id")
}

fn austin(customer: i64) -> Value {
    json!({"customer_id": customer, "first_name": " John ", "last_name": "Doe",
        "company": "BigCommerce", "address1": "123 Example Street", "address2": "Building 4",
        "city": "Austin", "state_or_province": "tx", "postal_code": "78759",
        "country_code": "us", "phone": "(512) 555-0100", "address_type": "commercial"})
}

fn london(customer: i64) -> Value {
    json!({"customer_id": customer, "first_name": "Jane", "last_name": "Roe",
        "address1": "10 Downing St", "city": "London", "postal_code": "sw1a2aa",
        "country_code": "GB"})
}

fn ids(r: &common::Reply) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect()
}

fn assert_v3_error(r: &common::Reply, status: StatusCode, field: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
    assert!(
        r.body["errors"].get(field).is_some(),
        "errors should name `{field}`: {}",
        r.body
    );
}

async fn address_book_crud(app: TestApp) {
    let ann = new_customer(&app, "ann@example.com").await;
    let bo = new_customer(&app, "bo@example.com").await;
    let r = app.post(ADDRESSES, json!([austin(ann), london(ann)])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["meta"], json!({}));
    let saved = r.data().as_array().expect("list").clone();
    assert_eq!(saved.len(), 2);
    let (a1, a2) = (
        saved[0]["id"].as_i64().expect("id"),
        saved[1]["id"].as_i64().expect("id"),
    );
    assert_eq!(
        saved[0],
        json!({"id": a1, "customer_id": ann, "first_name": "John", "last_name": "Doe",
            "company": "BigCommerce", "address1": "123 Example Street", "address2": "Building 4",
            "city": "Austin", "state_or_province": "Texas", "postal_code": "78759",
            "country_code": "US", "country": "United States", "phone": "5125550100",
            "address_type": "commercial"})
    );
    assert_eq!(saved[1]["postal_code"], "SW1A 2AA");
    assert_eq!(saved[1]["country"], "United Kingdom");
    assert_eq!(saved[1]["address_type"], "residential");

    // The same address again (any case) is not saved twice and is left out of the answer;
    // another customer may hold it.
    let mut again = austin(ann);
    again["address1"] = json!("123 EXAMPLE STREET");
    let r = app.post(ADDRESSES, json!([again, austin(bo)])).await;
    let added = ids(&r);
    assert_eq!(added.len(), 1, "{}", r.body);
    assert_eq!(r.data()[0]["customer_id"], bo);
    let b1 = added[0];

    // Filters and paging.
    let r = app
        .get(&format!("{ADDRESSES}?customer_id:in={ann}&limit=1&page=2"))
        .await;
    assert_eq!(ids(&r), vec![a2]);
    assert_eq!(
        r.body["meta"]["pagination"],
        json!({"total": 2, "count": 1, "per_page": 1, "current_page": 2, "total_pages": 2,
            "links": {"current": "?page=2&limit=1", "previous": "?page=1&limit=1"}})
    );
    let r = app.get(&format!("{ADDRESSES}?name:in=john%20doe")).await;
    assert_eq!(ids(&r), vec![a1, b1]);
    let r = app
        .get(&format!(
            "{ADDRESSES}?company:in=BigCommerce&id:in={a1},{a2}"
        ))
        .await;
    assert_eq!(ids(&r), vec![a1]);
    let r = app
        .get(&format!("{ADDRESSES}?id:in={a2}&include=formfields"))
        .await;
    assert_eq!(r.data()[0]["form_fields"], json!([]));
    assert!(
        app.get(ADDRESSES).await.data()[0]
            .get("form_fields")
            .is_none()
    );

    // An update changes the fields sent and keeps the rest.
    let r = app
        .put(
            ADDRESSES,
            json!([{"id": a1, "city": "Dallas", "postal_code": "75201"}]),
        )
        .await;
    assert_eq!(ids(&r), vec![a1]);
    assert_eq!(r.data()[0]["city"], "Dallas");
    assert_eq!(r.data()[0]["state_or_province"], "Texas");
    assert_eq!(r.data()[0]["company"], "BigCommerce");
    // Making it the same as the customer's other address changes nothing.
    let mut same = london(ann);
    same["id"] = json!(a1);
    same["address_type"] = json!("residential");
    for blank in ["company", "address2", "phone", "state_or_province"] {
        same[blank] = json!("");
    }
    let r = app.put(ADDRESSES, json!([same])).await;
    assert_eq!(ids(&r), Vec::<i64>::new());
    let r = app.get(&format!("{ADDRESSES}?id:in={a1}")).await;
    assert_eq!(r.data()[0]["city"], "Dallas");

    // Deletes: by id, and with the customer.
    let r = app.delete(&format!("{ADDRESSES}?id:in={a2}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.delete(ADDRESSES).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{ADDRESSES}?customer_id:in={ann}")).await;
    assert_eq!(ids(&r), vec![a1]);
    let r = app.delete(&format!("{CUSTOMERS}?id:in={ann}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(ADDRESSES).await;
    assert_eq!(ids(&r), vec![b1]);
    assert_eq!(r.body["meta"]["pagination"]["total"], 1);
}

async fn addresses_show_on_customers(app: TestApp) {
    let ann = new_customer(&app, "ann@example.com").await;
    let bo = new_customer(&app, "bo@example.com").await;
    let r = app.post(ADDRESSES, json!([austin(ann), london(ann)])).await;
    let saved = ids(&r);
    let list = format!("{CUSTOMERS}?id:in={ann},{bo}");
    let r = app.get(&list).await;
    assert_eq!(r.data()[0]["address_count"], 2);
    assert_eq!(r.data()[1]["address_count"], 0);
    assert!(r.data()[0].get("addresses").is_none(), "{}", r.body);
    let r = app.get(&format!("{list}&include=addresses")).await;
    let book = r.data()[0]["addresses"]
        .as_array()
        .expect("addresses")
        .clone();
    assert_eq!(
        book.iter().map(|a| a["id"].as_i64()).collect::<Vec<_>>(),
        saved.iter().map(|i| Some(*i)).collect::<Vec<_>>()
    );
    assert_eq!(book[0]["state_or_province"], "Texas");
    assert_eq!(book[1]["city"], "London");
    assert_eq!(r.data()[1]["addresses"], json!([]));
    // Create and update answers count them too.
    let r = app
        .put(
            &format!("{CUSTOMERS}?include=addresses"),
            json!([{"id": ann, "notes": "vip"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()[0]["address_count"], 2);
    assert_eq!(r.data()[0]["addresses"][1]["postal_code"], "SW1A 2AA");
    // Addresses are still saved separately, not inside a customer.
    let r = app
        .post(
            CUSTOMERS,
            json!([{"first_name": "C", "last_name": "D", "email": "cd@example.com",
                "addresses": [london(0)]}]),
        )
        .await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "[0].addresses");
    assert!(
        r.body["title"]
            .as_str()
            .unwrap_or_default()
            .contains("/v3/customers/addresses"),
        "{}",
        r.body
    );
}

async fn validation_and_batches(app: TestApp) {
    let ann = new_customer(&app, "ann@example.com").await;
    let mut no_state = austin(ann);
    no_state["state_or_province"] = json!("");
    let mut no_customer = london(ann);
    no_customer
        .as_object_mut()
        .expect("object")
        .remove("customer_id");
    let mut bad_type = london(ann);
    bad_type["address_type"] = json!("office");
    let mut no_city = london(ann);
    no_city["city"] = json!(" ");
    let mut with_fields = london(ann);
    with_fields["form_fields"] = json!([{"name": "size", "value": "L"}]);
    let mut bad_postcode = london(ann);
    bad_postcode["postal_code"] = json!("12345678901");
    for (entry, field) in [
        (no_state, "[1].state_or_province"),
        (no_customer, "[1].customer_id"),
        (london(ann + 1000), "[1].customer_id"),
        (bad_type, "[1].address_type"),
        (no_city, "[1].city"),
        (with_fields, "[1].form_fields"),
        (bad_postcode, "[1].postal_code"),
    ] {
        let r = app.post(ADDRESSES, json!([london(ann), entry])).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // All or nothing: the good first entry was never saved.
    assert_eq!(ids(&app.get(ADDRESSES).await), Vec::<i64>::new());

    let r = app.post(ADDRESSES, json!([])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let eleven: Vec<Value> = (0..11)
        .map(|i| {
            let mut a = london(ann);
            a["address2"] = json!(format!("Flat {i}"));
            a
        })
        .collect();
    let r = app.post(ADDRESSES, json!(eleven)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    let saved = ids(&app.post(ADDRESSES, json!([london(ann)])).await);
    for (body, field) in [
        (json!([{"city": "Leeds"}]), "[0].id"),
        (json!([{"id": saved[0] + 1000, "city": "Leeds"}]), "[0].id"),
        (
            json!([{"id": saved[0], "city": "Leeds"}, {"id": saved[0], "city": "York"}]),
            "[1].id",
        ),
        (
            json!([{"id": saved[0], "country_code": "Germany"}]),
            "[0].country_code",
        ),
    ] {
        let r = app.put(ADDRESSES, body).await;
        assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let r = app.get(ADDRESSES).await;
    assert_eq!(r.data()[0]["city"], "London");
    let r = app.get(&format!("{ADDRESSES}?id:in=x")).await;
    assert_v3_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "id:in");
}

async fn scopes_and_openapi(app: TestApp) {
    let ann = new_customer(&app, "ann@example.com").await;
    let read_only = app.token_with_scopes("store_v2_customers_read_only").await;
    let cart_only = app.token_with_scopes("store_cart").await;
    let r = app
        .call_as(
            &read_only,
            Method::POST,
            ADDRESSES,
            Some(json!([london(ann)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.call_as(&read_only, Method::GET, ADDRESSES, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call_as(&cart_only, Method::GET, ADDRESSES, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let r = app.get("/openapi.json").await;
    let path = &r.body["paths"]["/stores/{store_hash}/v3/customers/addresses"];
    for (m, op) in [
        ("get", "getCustomersAddresses"),
        ("post", "createCustomersAddresses"),
        ("put", "updateCustomersAddresses"),
        ("delete", "deleteCustomersAddresses"),
    ] {
        assert_eq!(path[m]["operationId"], op, "{m}");
    }
}
