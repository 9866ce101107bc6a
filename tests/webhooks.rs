//! Webhooks: the `/v3/hooks` API, and delivery from the transactional outbox to a real
//! HTTP receiver (custom headers, retries, order per resource, restarts, two nodes).

mod common;
#[path = "support/receiver.rs"]
mod receiver;

use common::flow::{CARTS, CHECKOUTS, billing, checkout_with, pay_by_card, place};
use common::{AppOptions, Backend, TestApp, fast_dispatcher, spawn_app_opts};
use kassa::clock::Clock;
use receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const HOOKS: &str = "/stores/demo/v3/hooks";
const WAIT: Duration = Duration::from_secs(20);

/// Each scenario `async fn NAME(backend)` runs as `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if crate::common::postgres_url().is_some() {
                        super::$name(super::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    hooks_crud_and_validation,
    cart_events_arrive_with_custom_headers,
    order_created_is_delivered,
    failing_receiver_gets_every_event_in_order,
    a_failing_resource_blocks_only_itself,
    events_survive_a_restart,
    rolled_back_changes_send_nothing,
    two_dispatchers_deliver_each_event_once_at_a_time,
    no_hook_no_event,
    order_events_only_when_listened_to,
    the_last_failed_attempt_deactivates_the_hook,
    private_destinations_are_refused_unless_allowed,
    private_destinations_are_refused_when_a_hook_is_saved,
);

/// An app with the demo store and fixture catalog, dispatching fast.
async fn app_with_dispatcher(backend: Backend) -> Option<TestApp> {
    app_dispatching(backend, fast_dispatcher()).await
}

/// An app with the demo store and fixture catalog, dispatching with `config`.
async fn app_dispatching(
    backend: Backend,
    config: kassa::dispatcher::DispatcherConfig,
) -> Option<TestApp> {
    let app = spawn_app_opts(
        backend,
        AppOptions {
            dispatcher: Some(config),
            ..AppOptions::default()
        },
    )
    .await?;
    Some(app.with_fixtures().await)
}

/// Waits (until `deadline`) for the dispatcher to deactivate `hook`, and fails if it
/// does not.
async fn wait_until_deactivated(app: &TestApp, hook: i64, deadline: tokio::time::Instant) {
    loop {
        let r = app.get(&format!("{HOOKS}/{hook}")).await;
        if r.data()["is_active"] == false || tokio::time::Instant::now() >= deadline {
            assert_eq!(r.data()["is_active"], false, "{}", r.body);
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_hook(app: &TestApp, scope: &str, destination: &str, headers: Value) -> i64 {
    let r = app
        .post(
            HOOKS,
            json!({"scope": scope, "destination": destination, "is_active": true, "headers": headers}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data()["id"].as_i64().expect("hook id")
}

async fn new_cart(app: &TestApp, items: Value) -> Value {
    let r = app.post(CARTS, json!({ "line_items": items })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.data().clone()
}

fn scopes(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| b["scope"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn hooks_crud_and_validation(backend: Backend) {
    let Some(app) = common::spawn_app(backend).await else {
        return;
    };
    // Create.
    let r = app
        .post(
            HOOKS,
            json!({"scope": "store/cart/*", "destination": "https://example.com/hooks",
                   "headers": {"X-Secret": "s3cret"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hook = r.data().clone();
    let id = hook["id"].as_i64().unwrap();
    assert_eq!(hook["scope"], "store/cart/*");
    assert_eq!(hook["destination"], "https://example.com/hooks");
    assert_eq!(hook["is_active"], true);
    assert_eq!(hook["store_hash"], "demo");
    assert_eq!(hook["headers"]["X-Secret"], "s3cret");
    assert_eq!(hook["created_at"], app.clock.now());
    // The API account that created it.
    assert_eq!(
        hook["client_id"],
        app.client_id_of(common::TOKEN).await.as_str()
    );
    let second = create_hook(
        &app,
        "store/order/statusUpdated",
        "http://127.0.0.1:9/x",
        Value::Null,
    )
    .await;

    // Read and list, with filters and pagination.
    let r = app.get(&format!("{HOOKS}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data()["scope"], "store/cart/*");
    let r = app.get(HOOKS).await;
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    assert_eq!(r.body["meta"]["pagination"]["total"], 2);
    let r = app
        .get(&format!("{HOOKS}?scope=store%2Forder%2FstatusUpdated"))
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["id"], second);
    let r = app.get(&format!("{HOOKS}?limit=1&page=2")).await;
    assert_eq!(r.data()[0]["id"], second);

    // Update: deactivate and drop the headers.
    let r = app
        .put(
            &format!("{HOOKS}/{id}"),
            json!({"is_active": false, "headers": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["is_active"], false);
    assert_eq!(r.data()["headers"], Value::Null);
    assert_eq!(r.data()["scope"], "store/cart/*");
    let r = app.get(&format!("{HOOKS}?is_active=false")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);

    // Validation, in the v3 error shape.
    for (body, field) in [
        (
            json!({"scope": "store/cart/everything", "destination": "https://e.com/h"}),
            "scope",
        ),
        (json!({"destination": "https://e.com/h"}), "scope"),
        (json!({"scope": "store/order/created"}), "destination"),
        (
            json!({"scope": "store/order/created", "destination": "ftp://e.com/h"}),
            "destination",
        ),
        (
            json!({"scope": "store/order/created", "destination": "file:///etc/passwd"}),
            "destination",
        ),
        (
            json!({"scope": "store/order/created", "destination": "gopher://127.0.0.1:6379/_"}),
            "destination",
        ),
        (
            json!({"scope": "store/order/created", "destination": "https://e.com/h",
                   "headers": {"Bad Header": "x"}}),
            "headers",
        ),
    ] {
        let r = app.post(HOOKS, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["status"], 422);
        assert!(r.body["errors"][field].is_string(), "{body}: {}", r.body);
    }
    let r = app.post(HOOKS, json!({"scope": 5})).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    let r = app.put(&format!("{HOOKS}/{id}"), json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.get(&format!("{HOOKS}/999999")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["title"].as_str().unwrap().contains("999999"));
    let r = app.get(&format!("{HOOKS}/abc")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Admin: emails and the hook list.
    let r = app
        .put(
            &format!("{HOOKS}/admin"),
            json!({"emails": ["ops@example.com"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.get(&format!("{HOOKS}/admin")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.data()["emails"], json!(["ops@example.com"]));
    assert_eq!(r.data()["hooks_list"].as_array().unwrap().len(), 2);
    let r = app.get(&format!("{HOOKS}/admin?is_active=true")).await;
    assert_eq!(r.data()["hooks_list"][0]["status"], "active");
    assert_eq!(r.data()["hooks_list"].as_array().unwrap().len(), 1);
    let r = app
        .put(&format!("{HOOKS}/admin"), json!({"emails": ["nope"]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Delete answers the deleted hook; then it is gone.
    let r = app.delete(&format!("{HOOKS}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data()["id"], id);
    let r = app.get(&format!("{HOOKS}/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.delete(&format!("{HOOKS}/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn cart_events_arrive_with_custom_headers(backend: Backend) {
    let Some(app) = app_with_dispatcher(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    create_hook(
        &app,
        "store/cart/*",
        &rx.url,
        json!({"X-Shared-Secret": "s3cret"}),
    )
    .await;
    let cart = new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let cart_id = cart["id"].as_str().unwrap().to_string();
    let item = cart["line_items"]["physical_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("{CARTS}/{cart_id}/items/{item}"),
            json!({"line_item": {"quantity": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.delete(&format!("{CARTS}/{cart_id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let got = rx.wait_until(WAIT, |b| b.len() >= 6).await;
    assert_eq!(
        scopes(&got),
        [
            "store/cart/created",
            "store/cart/lineItem/created",
            "store/cart/updated",
            "store/cart/lineItem/updated",
            "store/cart/updated",
            "store/cart/deleted",
        ]
    );
    assert_eq!(got[0]["data"], json!({"type": "cart", "id": cart_id}));
    assert_eq!(
        got[1]["data"],
        json!({"type": "cart_line_item", "id": item, "cartId": cart_id})
    );
    let store_id = app.kassa.find_store("demo").await.unwrap().id;
    for b in &got {
        assert_eq!(b["producer"], "stores/demo");
        assert_eq!(b["store_id"], store_id.to_string());
        assert_eq!(b["hash"].as_str().unwrap().len(), 40);
        assert!(b["created_at"].is_i64());
    }
    for r in rx.all() {
        assert_eq!(r.headers["x-shared-secret"], "s3cret");
        assert_eq!(r.headers["content-type"], "application/json");
    }
}

/// Places an order for one e-book (nothing to ship); returns (cart id, order id).
async fn place_order(app: &TestApp) -> (String, i64) {
    let cart = new_cart(app, json!([{"product_id": 930, "quantity": 1}])).await;
    let id = cart["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/billing-address"), billing())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = common::flow::place(app, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (id, r.data()["id"].as_i64().unwrap())
}

async fn order_created_is_delivered(backend: Backend) {
    let Some(app) = app_with_dispatcher(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    create_hook(&app, "store/order/created", &rx.url, Value::Null).await;
    create_hook(&app, "store/cart/converted", &rx.url, Value::Null).await;
    let (cart_id, order_id) = place_order(&app).await;
    let r = common::flow::pay_by_card(&app, order_id).await;
    assert!(r.status.is_success(), "{}", r.body);
    let got = rx.wait_until(WAIT, |b| b.len() >= 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let created = got
        .iter()
        .find(|b| b["scope"] == "store/order/created")
        .expect("order created");
    assert_eq!(created["data"], json!({"type": "order", "id": order_id}));
    let converted = got
        .iter()
        .find(|b| b["scope"] == "store/cart/converted")
        .expect("cart converted");
    assert_eq!(
        converted["data"],
        json!({"type": "cart", "id": cart_id, "orderId": order_id})
    );
}

async fn failing_receiver_gets_every_event_in_order(backend: Backend) {
    let Some(app) = app_with_dispatcher(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.fail_next(4);
    create_hook(&app, "store/cart/lineItem/*", &rx.url, Value::Null).await;
    let cart = new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let cart_id = cart["id"].as_str().unwrap().to_string();
    let first = cart["line_items"]["physical_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Three more changes to the same cart: add, change, remove.
    let r = app
        .post(
            &format!("{CARTS}/{cart_id}/items"),
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .put(
            &format!("{CARTS}/{cart_id}/items/{first}"),
            json!({"line_item": {"quantity": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .delete(&format!("{CARTS}/{cart_id}/items/{first}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let got = rx.wait_until(WAIT, |b| b.len() >= 4).await;
    assert_eq!(
        scopes(&got),
        [
            "store/cart/lineItem/created",
            "store/cart/lineItem/created",
            "store/cart/lineItem/updated",
            "store/cart/lineItem/deleted",
        ]
    );
    assert_eq!(got[0]["data"]["id"], first.as_str());
    assert_eq!(got[3]["data"]["id"], first.as_str());
    // The first event was refused four times before it went through, and nothing
    // overtook it.
    let all = rx.all();
    assert_eq!(all.iter().filter(|r| !r.accepted).count(), 4);
    assert!(all[..4].iter().all(|r| r.body == all[0].body));

    // Old history can be purged; nothing pending is lost by it.
    app.kassa
        .store
        .purge_webhook_history(i64::MAX, i64::MAX)
        .await
        .unwrap();
    assert_eq!(app.kassa.store.outbox_len().await.unwrap(), 0);
}

async fn the_last_failed_attempt_deactivates_the_hook(backend: Backend) {
    let config = kassa::dispatcher::DispatcherConfig {
        max_attempts: 3,
        retry_base: Duration::from_millis(10),
        ..fast_dispatcher()
    };
    let Some(app) = app_dispatching(backend, config).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.fail_next(1_000);
    let hook = create_hook(&app, "store/cart/created", &rx.url, Value::Null).await;
    new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    wait_until_deactivated(&app, hook, tokio::time::Instant::now() + WAIT).await;
    assert_eq!(rx.all().len(), 3);
    // Given up (state 2) after three attempts.
    let states = app.kassa.store.webhook_delivery_states(hook).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!((states[0].1, states[0].2), (2, 3));
}

async fn a_failing_resource_blocks_only_itself(backend: Backend) {
    let Some(app) = app_with_dispatcher(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    create_hook(&app, "store/cart/created", &rx.url, Value::Null).await;
    // Cart A's event is refused from its first attempt on.
    rx.fail_next(1_000);
    let a = new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let a_id = a["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    while rx.all().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rx.fail_resource(Some(&a_id));
    rx.fail_next(0);
    let b = new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let got = rx.wait_until(WAIT, |got| !got.is_empty()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["id"], b["id"]);
    // Once the receiver takes cart A again, its event arrives too.
    rx.fail_resource(None);
    let got = rx.wait_until(WAIT, |got| got.len() >= 2).await;
    assert_eq!(got[1]["data"]["id"], a_id.as_str());
}

async fn events_survive_a_restart(backend: Backend) {
    // First life: no dispatcher; the change commits and the app stops.
    let Some(first) = common::spawn_app(backend).await else {
        return;
    };
    let first = first.with_fixtures().await;
    let rx = Receiver::start().await;
    create_hook(&first, "store/cart/created", &rx.url, Value::Null).await;
    let cart = new_cart(&first, json!([{"product_id": 940, "quantity": 1}])).await;
    let url = first.database_url.clone();
    first.stop().await;
    assert!(rx.all().is_empty());

    // Second life on the same database: the event is delivered.
    let second = common::spawn_app_on(
        backend,
        &url,
        AppOptions {
            dispatcher: Some(fast_dispatcher()),
            ..AppOptions::default()
        },
    )
    .await;
    let got = rx.wait_until(WAIT, |b| !b.is_empty()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["id"], cart["id"]);
    drop(second);
}

async fn rolled_back_changes_send_nothing(backend: Backend) {
    let Some(app) = app_with_dispatcher(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    create_hook(&app, "store/cart/*", &rx.url, Value::Null).await;
    let cart = new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let cart_id = cart["id"].as_str().unwrap().to_string();
    let version = cart["version"].as_i64().unwrap_or(1);
    // A change refused by the version check writes nothing, event included.
    let item = cart["line_items"]["physical_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .put(
            &format!("{CARTS}/{cart_id}/items/{item}"),
            json!({"line_item": {"quantity": 2}, "version": version + 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // A change the catalog refuses writes nothing either.
    let r = app
        .post(
            &format!("{CARTS}/{cart_id}/items"),
            json!({"line_items": [{"product_id": 999999, "quantity": 1}]}),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    // A lost race at the store layer: the save is refused and rolls back its events.
    let store_id = app.kassa.find_store("demo").await.unwrap().id;
    let stale = app
        .kassa
        .store
        .get_cart(store_id, cart_id.parse().unwrap(), app.clock.now())
        .await
        .unwrap()
        .expect("cart");
    let event = kassa::store::OutboxEvent::new(
        "store/cart/updated",
        &cart_id,
        json!({"type": "cart", "id": cart_id}),
    );
    let saved = app
        .kassa
        .store
        .save_cart_emitting(store_id, &stale, stale.version + 50, &[event])
        .await
        .unwrap();
    assert!(!saved);

    let got = rx.wait_until(WAIT, |b| b.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_later = rx.accepted();
    assert_eq!(
        scopes(&got),
        [
            "store/cart/created",
            "store/cart/lineItem/created",
            "store/cart/updated"
        ]
    );
    assert_eq!(got_later.len(), 3, "{got_later:?}");
}

async fn two_dispatchers_deliver_each_event_once_at_a_time(backend: Backend) {
    let Some(one) = app_with_dispatcher(backend).await else {
        return;
    };
    // On PostgreSQL the second node is a whole server; a SQLite file serves one server
    // process, so there the second dispatcher runs on its own connection beside it.
    let (two, _second_dispatcher) = match backend {
        Backend::Postgres => {
            let two = common::spawn_app_on(
                backend,
                &one.database_url,
                AppOptions {
                    dispatcher: Some(fast_dispatcher()),
                    ..AppOptions::default()
                },
            )
            .await;
            (Some(two), None)
        }
        Backend::Sqlite => (None, Some(common::side_dispatcher(&one.database_url).await)),
    };
    let rx = Receiver::start().await;
    // Slow answers keep deliveries in flight while the other node polls.
    rx.delay(Duration::from_millis(100));
    create_hook(&one, "store/cart/created", &rx.url, Value::Null).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let node = match &two {
            Some(two) if i % 2 == 1 => two,
            _ => &one,
        };
        let cart = new_cart(node, json!([{"product_id": 940, "quantity": 1}])).await;
        ids.push(cart["id"].as_str().unwrap().to_string());
    }
    let got = rx.wait_until(WAIT, |b| b.len() >= 8).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = rx.accepted();
    assert_eq!(got.len(), 8);
    // Each event arrived, and exactly once (no lease lapsed, so no resend).
    let mut seen: Vec<String> = all
        .iter()
        .map(|b| b["data"]["id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
}

async fn no_hook_no_event(backend: Backend) {
    let Some(app) = common::spawn_app(backend).await else {
        return;
    };
    let app = app.with_fixtures().await;
    new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    // Nobody subscribed: the write skipped the outbox.
    assert_eq!(app.kassa.store.outbox_len().await.unwrap(), 0);
    let rx = Receiver::start().await;
    create_hook(&app, "store/order/*", &rx.url, Value::Null).await;
    new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    assert_eq!(app.kassa.store.outbox_len().await.unwrap(), 0);
    create_hook(&app, "store/cart/created", &rx.url, Value::Null).await;
    new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    assert_eq!(app.kassa.store.outbox_len().await.unwrap(), 1);
}

/// An order placed and paid writes only the events a hook listens to: none without a
/// hook, then only `store/order/created` for a hook of that one scope, then all three
/// for `store/order/*`, each naming the order (the transaction event its number).
async fn order_events_only_when_listened_to(backend: Backend) {
    let Some(app) = common::spawn_app(backend).await else {
        return;
    };
    let app = app.with_fixtures().await;
    let placed_and_paid = async || {
        let checkout = checkout_with(
            &app,
            json!({"line_items": [{"product_id": 930, "quantity": 1}]}),
        )
        .await;
        let r = place(&app, &checkout).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let order = r.data()["id"].as_i64().expect("order id");
        let r = pay_by_card(&app, order).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        order
    };
    let order = placed_and_paid().await;
    assert_eq!(app.order_events(order).await, []);
    assert_eq!(app.kassa.store.outbox_len().await.unwrap(), 0);

    app.listen_to("store/order/created").await;
    let order = placed_and_paid().await;
    assert_eq!(
        app.order_events(order).await,
        [(
            "store/order/created".to_string(),
            json!({"type": "order", "id": order})
        )]
    );

    app.listen_to("store/order/*").await;
    let order = placed_and_paid().await;
    assert_eq!(
        app.order_events(order).await,
        [
            (
                "store/order/created".to_string(),
                json!({"type": "order", "id": order})
            ),
            (
                "store/order/statusUpdated".to_string(),
                json!({"type": "order", "id": order,
                       "status": {"previous_status_id": 0, "new_status_id": 11}})
            ),
            (
                "store/order/transaction/created".to_string(),
                json!({"type": "order", "id": order, "transaction": {"id": order * 1000 + 1}})
            ),
        ]
    );
}

/// Without `KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow`, nothing is delivered to loopback or
/// link-local addresses, whether the destination names the address or a host name that
/// resolves to it; each delivery's error says why and how to allow it. (Every other test
/// here runs with private destinations allowed and delivers to 127.0.0.1.) The hooks are
/// saved while the API still allows them, as hooks saved before the operator stopped
/// allowing private destinations are: the dispatcher refuses them all the same.
async fn private_destinations_are_refused_unless_allowed(backend: Backend) {
    let config = kassa::dispatcher::DispatcherConfig {
        max_attempts: 2,
        retry_base: Duration::from_millis(10),
        private_destinations: false,
        ..fast_dispatcher()
    };
    let Some(app) = app_dispatching(backend, config).await else {
        return;
    };
    let rx = Receiver::start().await;
    let hooks = [
        create_hook(&app, "store/cart/created", &rx.url, Value::Null).await,
        create_hook(
            &app,
            "store/cart/created",
            &rx.url.replace("127.0.0.1", "localhost"),
            Value::Null,
        )
        .await,
        create_hook(
            &app,
            "store/cart/created",
            "http://169.254.169.254/latest/meta-data/",
            Value::Null,
        )
        .await,
        create_hook(
            &app,
            "store/cart/created",
            &rx.url.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
            Value::Null,
        )
        .await,
    ];
    new_cart(&app, json!([{"product_id": 940, "quantity": 1}])).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    for hook in hooks {
        wait_until_deactivated(&app, hook, deadline).await;
        let states = app.kassa.store.webhook_delivery_states(hook).await.unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!((states[0].1, states[0].2), (2, 2));
        assert!(
            states[0]
                .3
                .contains("unless KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow"),
            "{}",
            states[0].3
        );
    }
    assert!(rx.all().is_empty(), "{:?}", rx.all());
}

/// Without `KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow`, `/v3/hooks` refuses a destination
/// deliveries would be refused for, when the hook is created or changed: an internal IP
/// address however it is written, a host name that resolves only to such addresses, and
/// a host name that does not resolve at all. A public address is saved.
async fn private_destinations_are_refused_when_a_hook_is_saved(backend: Backend) {
    let Some(app) = spawn_app_opts(
        backend,
        AppOptions {
            refuse_private_webhook_destinations: true,
            ..AppOptions::default()
        },
    )
    .await
    else {
        return;
    };
    let create = |destination: &str| {
        app.post(
            HOOKS,
            json!({"scope": "store/order/created", "destination": destination}),
        )
    };
    let refused = |r: &common::Reply, destination: &str, why: &str| {
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{destination}: {}",
            r.body
        );
        assert_eq!(r.body["status"], 422, "{}", r.body);
        let message = r.body["errors"]["destination"].as_str().unwrap_or_default();
        assert!(
            message.contains(why),
            "{destination}: `{why}` not in {}",
            r.body
        );
    };
    const ALLOW: &str = "unless KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow";
    for destination in [
        "http://127.0.0.1:8080/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/hooks",
        "https://[fd00::5]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        // 127.0.0.1 written as one number: URLs read it as the address it is.
        "http://2130706433/hooks",
        "http://0.0.0.0:9000/hooks",
        // A name that resolves only to loopback addresses.
        "http://localhost:8080/hooks",
    ] {
        refused(&create(destination).await, destination, ALLOW);
    }
    let nowhere = "https://kassa-no-such-host.invalid/hooks";
    refused(&create(nowhere).await, nowhere, "does not resolve");
    let r = app.get(HOOKS).await;
    assert_eq!(r.data().as_array().map(Vec::len), Some(0), "{}", r.body);

    // A public address is saved; changing it to an internal one is refused and the
    // hook keeps its destination.
    let public = "https://93.184.216.34/hooks";
    let r = create(public).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.data()["id"].as_i64().unwrap();
    for destination in ["http://172.16.0.1/hooks", "http://localhost/hooks"] {
        let r = app
            .put(
                &format!("{HOOKS}/{id}"),
                json!({"destination": destination}),
            )
            .await;
        refused(&r, destination, ALLOW);
    }
    let r = app
        .put(&format!("{HOOKS}/{id}"), json!({"is_active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.get(&format!("{HOOKS}/{id}")).await;
    assert_eq!(r.data()["destination"], public, "{}", r.body);
    assert_eq!(r.data()["is_active"], false, "{}", r.body);
}
