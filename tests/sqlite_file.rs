//! One Kassa server per SQLite file: the server keeps the carts it writes in memory,
//! which is only right while no other process writes them, so a second server on the
//! same file refuses to start, and starts once the first has stopped.

mod common;

use common::{Backend, spawn_app};
use kassa::startup::{Application, Settings};
use reqwest::StatusCode;
use serde_json::json;

fn settings_on(database_url: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.to_string(),
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let Some(first) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let first = first.with_fixtures().await;
    let url = first.database_url.clone();

    let refused = Application::build(&settings_on(&url)).await;
    let message = match refused {
        Ok(_) => panic!("a second server started on a SQLite file in use"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("another Kassa server is using") && message.contains("PostgreSQL"),
        "{message}"
    );

    // The first server is unaffected: it still reads back what it wrote.
    let created = first
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let read = first.get(&format!("/stores/demo/v3/carts/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        read.data()["line_items"]["physical_items"][0]["quantity"],
        2
    );

    // Once it stops, the file is free, and the next server sees the same cart.
    first.stop().await;
    let second = Application::build(&settings_on(&url)).await;
    let second = match second {
        Ok(app) => app,
        Err(e) => panic!("the file should be free after the first server stopped: {e}"),
    };
    let store = second
        .kassa
        .find_store("demo")
        .await
        .map(|s| s.id)
        .unwrap_or_default();
    let cart = second
        .kassa
        .store
        .get_cart(store, id.parse().unwrap_or_default(), i64::MAX / 4)
        .await;
    assert!(matches!(cart, Ok(None)), "the cart has expired by then");
    let cart = second
        .kassa
        .store
        .get_cart(store, id.parse().unwrap_or_default(), 0)
        .await
        .ok()
        .flatten()
        .expect("the cart the first server wrote");
    assert_eq!(cart.line_items.len(), 1);
}
