//! PostgreSQL going away under a running Kassa: requests are answered 503 with
//! `Retry-After` in the API's own shape, a write attempted during the outage leaves
//! nothing behind, `/ready` reports it, and Kassa recovers by itself once the database
//! is back, with everything acknowledged before the outage intact.
//!
//! The outage is a TCP proxy between Kassa and PostgreSQL that the test unplugs
//! (dropping every connection and refusing new ones) and plugs back in.

mod common;

use common::{AppOptions, Backend, spawn_app, spawn_app_opts};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxy to 127.0.0.1:5432 that can be cut.
struct Proxy {
    port: u16,
    plugged: Arc<AtomicBool>,
    /// Bumped on every unplug: live connections watch it and close.
    generation: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let plugged = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let counter = Arc::new(AtomicU64::new(0));
        let (p, g) = (plugged.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !p.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = g.subscribe();
                let upstream = upstream.clone();
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            plugged,
            generation,
        }
    }

    fn unplug(&self) {
        self.plugged.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn plug(&self) {
        self.plugged.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_503_with_retry_after_and_kassa_recovers_by_itself() {
    // A fresh schema, migrated and seeded, then a second Kassa on it through the proxy.
    let Some(setup) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let direct_url = setup.database_url.clone();
    setup.stop().await;
    let proxy = Proxy::start("127.0.0.1:5432".into()).await;
    let proxied = direct_url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(
        proxied, direct_url,
        "the test database URL must name 127.0.0.1:5432"
    );
    let app = spawn_app_opts(
        Backend::Postgres,
        AppOptions {
            database_url: Some(proxied),
            ..AppOptions::default()
        },
    )
    .await
    .expect("app through the proxy");
    let app = app.with_fixtures().await;

    let cart = app
        .post(
            "/stores/demo/v3/carts",
            json!({"line_items": [{"product_id": 940, "quantity": 2}]}),
        )
        .await;
    assert_eq!(cart.status, StatusCode::CREATED, "{:?}", cart.body);
    let cart_id = cart.data()["id"].as_str().expect("cart id").to_string();
    let total = cart.data()["cart_amount"].clone();

    proxy.unplug();

    let read = app.get(&format!("/stores/demo/v3/carts/{cart_id}")).await;
    assert_eq!(
        read.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        read.body
    );
    assert_eq!(read.body["status"], 503);
    assert_eq!(
        read.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let write = app
        .post(
            &format!("/stores/demo/v3/carts/{cart_id}/items"),
            json!({"line_items": [{"product_id": 940, "quantity": 5}]}),
        )
        .await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    let v2 = app.get("/stores/demo/v2/orders/count").await;
    assert_eq!(v2.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(v2.headers.contains_key("retry-after"));
    let ready = app
        .client
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = app
        .client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .expect("health");
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "liveness does not need the database"
    );

    proxy.plug();

    // Recovery needs no restart: the pool reconnects on its own.
    let mut back = None;
    for _ in 0..60 {
        let r = app.get(&format!("/stores/demo/v3/carts/{cart_id}")).await;
        if r.status == StatusCode::OK {
            back = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let back = back.expect("Kassa answers again once PostgreSQL is back");
    assert_eq!(
        back.data()["cart_amount"],
        total,
        "the outage changed nothing"
    );
    let items = back.data()["line_items"]["physical_items"]
        .as_array()
        .expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["quantity"], 2,
        "the write refused in the outage left nothing"
    );

    let write = app
        .post(
            &format!("/stores/demo/v3/carts/{cart_id}/items"),
            json!({"line_items": [{"product_id": 940, "quantity": 1}]}),
        )
        .await;
    assert_eq!(write.status, StatusCode::CREATED, "{:?}", write.body);
    assert_eq!(
        write.data()["line_items"]["physical_items"][0]["quantity"],
        3
    );
    app.stop().await;
}
