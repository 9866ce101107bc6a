//! Request quotas per API client and per store, over real HTTP: BigCommerce's
//! `X-Rate-Limit-*` headers count down, the request past the quota is a 429 in the
//! shape of its API with `X-Retry-After`, other clients keep their own quota until the
//! store's is spent, and a quota of 0 means no limit and no headers.

mod common;

use common::{AppOptions, Backend, Reply, TestApp, spawn_app_opts};
use kassa::http::rate_limit::RateLimitConfig;
use reqwest::{Method, StatusCode};
use std::time::Duration;

async fn app(backend: Backend, client_quota: u64, store_quota: u64) -> Option<TestApp> {
    spawn_app_opts(
        backend,
        AppOptions {
            rate_limits: RateLimitConfig {
                window: Duration::from_secs(600),
                client_quota,
                store_quota,
            },
            ..AppOptions::default()
        },
    )
    .await
}

fn header(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn left(r: &Reply) -> u64 {
    header(r, "x-rate-limit-requests-left")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no X-Rate-Limit-Requests-Left on {r:?}"))
}

async fn a_client_is_refused_past_its_quota_in_the_api_shape(backend: Backend) {
    let Some(app) = app(backend, 3, 0).await else {
        return;
    };
    let mut lefts = Vec::new();
    for _ in 0..3 {
        let r = app.get("/stores/demo/v3/carts/settings").await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(
            header(&r, "x-rate-limit-requests-quota").as_deref(),
            Some("3")
        );
        assert_eq!(
            header(&r, "x-rate-limit-time-window-ms").as_deref(),
            Some("600000")
        );
        let reset: u64 = header(&r, "x-rate-limit-time-reset-ms")
            .and_then(|v| v.parse().ok())
            .expect("reset header");
        assert!(reset > 0 && reset <= 600_000, "reset {reset}");
        lefts.push(left(&r));
    }
    assert_eq!(lefts, vec![2, 1, 0]);

    let refused = app.get("/stores/demo/v3/carts/settings").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["status"], 429);
    assert!(
        refused.body["title"]
            .as_str()
            .is_some_and(|t| t.contains("quota")),
        "{:?}",
        refused.body
    );
    let wait: u64 = header(&refused, "x-retry-after")
        .and_then(|v| v.parse().ok())
        .expect("X-Retry-After");
    assert!((1..=600).contains(&wait), "wait {wait}");
    assert_eq!(left(&refused), 0);

    // V2 answers in its own error shape.
    let v2 = app.get("/stores/demo/v2/orders/count").await;
    assert_eq!(v2.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v2.body[0]["status"], 429, "{:?}", v2.body);

    // Health and the spec are not metered.
    let health = app.client.get(format!("{}/health", app.base)).send().await;
    assert_eq!(health.expect("health").status(), StatusCode::OK);
    app.stop().await;
}

async fn clients_share_the_store_quota(backend: Backend) {
    let Some(app) = app(backend, 2, 3).await else {
        return;
    };
    let other = app.token_with_scopes("store_cart").await;
    for _ in 0..2 {
        let r = app.get("/stores/demo/v3/carts/settings").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(
        app.get("/stores/demo/v3/carts/settings").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "first client spent its 2"
    );
    let r = app
        .call_as(&other, Method::GET, "/stores/demo/v3/carts/settings", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "store had 1 left: {r:?}");
    let r = app
        .call_as(&other, Method::GET, "/stores/demo/v3/carts/settings", None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "store spent its 3");
    app.stop().await;
}

async fn no_quota_means_no_limit_and_no_headers(backend: Backend) {
    let Some(app) = app(backend, 0, 0).await else {
        return;
    };
    for _ in 0..20 {
        let r = app.get("/stores/demo/v3/carts/settings").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(header(&r, "x-rate-limit-requests-quota"), None);
    }
    app.stop().await;
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await }
        )* }
    };
}

both!(
    a_client_is_refused_past_its_quota_in_the_api_shape,
    clients_share_the_store_quota,
    no_quota_means_no_limit_and_no_headers
);
