//! A webhook receiver for tests: a real HTTP server on localhost port 0 that records
//! every POST (headers and JSON body) and can be told to fail requests.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
    /// Whether the receiver answered 2xx (a failed request is still recorded).
    pub accepted: bool,
}

#[derive(Default)]
struct Inner {
    all: Vec<Received>,
    /// Answer 500 to this many more requests.
    fail_next: usize,
    /// Answer 500 to every request whose `data.id` is this (to block one resource).
    fail_resource: Option<String>,
    /// Wait this long before answering (to keep requests in flight).
    delay: Duration,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    shutdown: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let delay = {
        let g = inner.lock().expect("receiver lock");
        g.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut g = inner.lock().expect("receiver lock");
    let id = body["data"]["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| body["data"]["id"].as_i64().map(|i| i.to_string()));
    let fail = if g.fail_next > 0 {
        g.fail_next -= 1;
        true
    } else {
        g.fail_resource.is_some() && g.fail_resource == id
    };
    g.all.push(Received {
        headers,
        body,
        accepted: !fail,
    });
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(handle))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Receiver {
            url: format!("http://{addr}/hooks"),
            inner,
            shutdown: Arc::new(Mutex::new(Some(tx))),
        }
    }

    pub fn fail_next(&self, n: usize) {
        self.inner.lock().expect("receiver lock").fail_next = n;
    }

    pub fn fail_resource(&self, id: Option<&str>) {
        self.inner.lock().expect("receiver lock").fail_resource = id.map(str::to_string);
    }

    pub fn delay(&self, d: Duration) {
        self.inner.lock().expect("receiver lock").delay = d;
    }

    /// Every request so far, failed ones included.
    pub fn all(&self) -> Vec<Received> {
        self.inner.lock().expect("receiver lock").all.clone()
    }

    /// The bodies of the requests answered 2xx.
    pub fn accepted(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|r| r.accepted)
            .map(|r| r.body)
            .collect()
    }

    /// Waits (up to `within`) until `pred` holds over the accepted bodies; returns them.
    pub async fn wait_until(
        &self,
        within: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.accepted();
            if pred(&got) || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
