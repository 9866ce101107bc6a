//! The one test helper that starts Kassa: a real server on port 0 with a fresh
//! database (its own SQLite file, or its own PostgreSQL schema), the demo store and a
//! client that talks to it over HTTP.
#![allow(dead_code)]

use kassa::clock::ManualClock;
use kassa::service::Kassa;
use kassa::startup::{Application, Settings};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Once};

pub const TOKEN: &str = "test-token-all-scopes-0001";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub kassa: Kassa,
    pub clock: ManualClock,
    pub backend: Backend,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response: status and parsed JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The `data` of a v3 envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

static PG_NOTICE: Once = Once::new();

fn notice(msg: &str) {
    // Written past the test harness's capture so a plain `cargo test` shows it.
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***\n");
}

/// The PostgreSQL server tests use, or `None` (skip) when it is not configured.
/// Under `CI=true` a missing database is a failure, not a skip.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KASSA_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but KASSA_TEST_DATABASE_URL is not set: PostgreSQL tests cannot be skipped in CI"
                );
            }
            PG_NOTICE.call_once(|| {
                notice("PostgreSQL tests SKIPPED: set KASSA_TEST_DATABASE_URL=postgres://… to run them")
            });
            None
        }
    }
}

/// A fresh database URL for one test.
async fn fresh_database(backend: Backend) -> Option<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("kassa-test-{id}.db"));
            Some(format!("sqlite://{}", path.display()))
        }
        Backend::Postgres => {
            let base = postgres_url()?;
            let schema = format!("t_{id}");
            let pool = sqlx::PgPool::connect(&base)
                .await
                .expect("connect to KASSA_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&pool)
                .await
                .expect("create test schema");
            pool.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
        }
    }
}

/// Starts Kassa on port 0 against a fresh database with the demo store, whose
/// token is [`TOKEN`]. `None` means the backend is not available and the test is skipped.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let database_url = fresh_database(backend).await?;
    let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url,
        public_url: None,
    };
    let app = Application::build_with_clock(&settings, Arc::new(clock.clone()))
        .await
        .expect("build app");
    let kassa = app.kassa.clone();
    kassa
        .ensure_demo_store(Some(TOKEN.to_string()))
        .await
        .expect("demo store");
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Some(TestApp {
        base,
        client: reqwest::Client::new(),
        kassa,
        clock,
        backend,
        shutdown: Some(tx),
    })
}

impl TestApp {
    /// Calls the API as the demo store's all-scopes account.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(TOKEN, method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .client
            .request(method, &url)
            .header("X-Auth-Token", token);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.expect("request");
        Self::reply(res).await
    }

    /// Sends raw bytes (for malformed-input tests).
    pub async fn call_raw(&self, method: Method, path: &str, body: &'static [u8]) -> Reply {
        let url = format!("{}{}", self.base, path);
        let res = self
            .client
            .request(method, &url)
            .header("X-Auth-Token", TOKEN)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        Self::reply(res).await
    }

    async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("non-JSON body ({e}) with status {status}: {text}"))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Mints a token for the demo store with the given comma-separated scopes.
    pub async fn token_with_scopes(&self, scopes: &str) -> String {
        let scopes = kassa::domain::scope::Scopes::parse_list(scopes).expect("scopes");
        self.kassa
            .create_token("demo", "test", &scopes, None)
            .await
            .expect("token")
    }
}

/// Declares each scenario `async fn NAME(app: TestApp)` as two tests, `sqlite::NAME`
/// and `postgres::NAME`, each with its own fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn_app($crate::common::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn_app($crate::common::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
