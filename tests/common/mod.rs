//! The one test helper that starts Kassa: a real server on port 0 with a fresh
//! database (its own SQLite file, or its own PostgreSQL schema), the demo store and a
//! client that talks to it over HTTP.
#![allow(dead_code)]

use kassa::clock::ManualClock;
use kassa::service::Kassa;
use kassa::startup::{Application, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
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
    /// The database this app runs on (give it to [`AppOptions`] to start another app on it).
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(d) = self.dispatcher.take() {
            d.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// How to start a test app beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Run on this database (from another app's `database_url`) instead of a fresh one.
    pub database_url: Option<String>,
    /// Start the webhook dispatcher with this configuration.
    pub dispatcher: Option<kassa::dispatcher::DispatcherConfig>,
    /// Request quotas; the default ones are far above what any test sends.
    pub rate_limits: kassa::http::rate_limit::RateLimitConfig,
    /// How long one request may take (Kassa's default when unset).
    pub request_timeout: Option<std::time::Duration>,
    /// Refuse hooks whose destination is a loopback, private or other internal address,
    /// as Kassa does without `KASSA_WEBHOOK_PRIVATE_DESTINATIONS=allow`. By default tests
    /// allow them: their receivers listen on 127.0.0.1.
    pub refuse_private_webhook_destinations: bool,
}

/// A dispatcher configuration fast enough for tests: 20 ms polls, retries from 50 ms,
/// private destinations allowed.
pub fn fast_dispatcher() -> kassa::dispatcher::DispatcherConfig {
    kassa::dispatcher::DispatcherConfig {
        poll: std::time::Duration::from_millis(20),
        retry_base: std::time::Duration::from_millis(50),
        max_attempts: 20,
        timeout: std::time::Duration::from_secs(5),
        batch: 100,
        // Test receivers listen on 127.0.0.1.
        private_destinations: true,
    }
}

/// A webhook dispatcher on its own connection to `database_url`, as a second worker
/// process beside a server would run (a SQLite file serves one server, so a second
/// node there is a dispatcher, not another server). It stops when dropped.
pub async fn side_dispatcher(database_url: &str) -> SideDispatcher {
    let store = kassa::store::Store::connect(database_url)
        .await
        .expect("a second connection to the test database");
    let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
    let kassa = Kassa::new(store, Arc::new(clock), String::new());
    SideDispatcher(
        kassa::dispatcher::spawn_dispatcher(kassa, fast_dispatcher()).expect("start dispatcher"),
    )
}

pub struct SideDispatcher(tokio::task::JoinHandle<()>);

impl Drop for SideDispatcher {
    fn drop(&mut self) {
        self.0.abort();
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

pub fn notice(msg: &str) {
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
    spawn_app_with(backend, None).await
}

/// [`spawn_app`], serving HTTPS with the given certificate and key when `tls` is set.
pub async fn spawn_app_with(
    backend: Backend,
    tls: Option<kassa::startup::TlsFiles>,
) -> Option<TestApp> {
    spawn_app_full(backend, tls, AppOptions::default()).await
}

/// [`spawn_app`] with [`AppOptions`].
pub async fn spawn_app_opts(backend: Backend, opts: AppOptions) -> Option<TestApp> {
    spawn_app_full(backend, None, opts).await
}

/// Another app on an existing database (an app's `database_url`, or one a test made), as
/// a second node or a restarted process is; `opts.database_url` is ignored.
pub async fn spawn_app_on(backend: Backend, database_url: &str, opts: AppOptions) -> TestApp {
    let opts = AppOptions {
        database_url: Some(database_url.to_string()),
        ..opts
    };
    spawn_app_full(backend, None, opts)
        .await
        .expect("an app on an existing database")
}

async fn spawn_app_full(
    backend: Backend,
    tls: Option<kassa::startup::TlsFiles>,
    opts: AppOptions,
) -> Option<TestApp> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let database_url = match opts.database_url {
        Some(url) => url,
        None => fresh_database(backend).await?,
    };
    let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        public_url: None,
        tls,
        rate_limits: opts.rate_limits,
        request_timeout: opts.request_timeout,
        webhook_private_destinations: !opts.refuse_private_webhook_destinations,
    };
    let app = Application::build_with_clock(&settings, Arc::new(clock.clone()))
        .await
        .expect("build app");
    let kassa = app.kassa.clone();
    kassa
        .ensure_demo_store(Some(TOKEN.to_string()))
        .await
        .expect("demo store");
    // The demo store's promotions would discount every scenario that crosses their
    // thresholds, and its coupons would crowd the coupon listings: tests start without
    // them and create the ones they test.
    let store = kassa.find_store("demo").await.expect("demo store");
    for kind in ["promotion", "coupon"] {
        let docs: Vec<serde_json::Value> = kassa
            .store
            .config_docs(store.id, kind)
            .await
            .expect("demo marketing");
        for d in docs {
            let id = d["id"].as_i64().expect("id");
            kassa
                .store
                .delete_config_doc(store.id, kind, id)
                .await
                .expect("delete demo marketing");
        }
    }
    let base = format!("{scheme}://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let dispatcher = opts.dispatcher.map(|config| {
        kassa::dispatcher::spawn_dispatcher(kassa.clone(), config).expect("start dispatcher")
    });
    Some(TestApp {
        base,
        client: {
            kassa::startup::install_tls_provider();
            reqwest::Client::new()
        },
        kassa,
        clock,
        backend,
        database_url,
        shutdown: Some(tx),
        server: Some(server),
        dispatcher,
    })
}

impl TestApp {
    /// Stops the app as a process exit would: the dispatcher at once (whatever it was
    /// doing), then the server after its requests in flight, and its database pools.
    pub async fn stop(mut self) {
        if let Some(d) = self.dispatcher.take() {
            d.abort();
            let _ = d.await;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        self.kassa.store.close().await;
    }

    /// Stops this app as a process exit would and starts a new one on the same database
    /// with `opts`, as a restart does.
    pub async fn restart(self, opts: AppOptions) -> TestApp {
        let (backend, url) = (self.backend, self.database_url.clone());
        self.stop().await;
        spawn_app_on(backend, &url, opts).await
    }

    /// Runs one statement on the app's database from outside Kassa, as an operator (or an
    /// older version of Kassa) would.
    pub async fn sql(&self, sql: &'static str) {
        if self.backend == Backend::Postgres {
            let pool = sqlx::PgPool::connect(&self.database_url)
                .await
                .expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("statement");
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&self.database_url)
                .await
                .expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("statement");
            pool.close().await;
        }
    }

    /// Rewrites the stored document of one order of the demo store with `edit`, through
    /// the store, to make it what an older Kassa left in the database.
    pub async fn rewrite_order_doc(&self, order_id: i64, edit: impl FnOnce(&mut Value)) {
        use kassa::store::order_admin::{ChangeOutcome, OrderChange};
        let store = self.demo_store_id().await;
        let st = self
            .kassa
            .store
            .order_state(store, order_id)
            .await
            .expect("read the order")
            .expect("the order");
        let mut doc = st.doc.clone();
        edit(&mut doc);
        let change = OrderChange {
            doc,
            ..OrderChange::from_state(order_id, &st, st.date_modified)
        };
        let outcome = self.kassa.store.change_order(store, &change).await;
        assert!(
            matches!(outcome, Ok(ChangeOutcome::Applied { .. })),
            "{outcome:?}"
        );
    }

    /// Subscribes a hook of the demo store to `scope`: events no hook listens to are not
    /// written. The destination, in an address range kept for documentation, never
    /// answers; the outbox is what tests read.
    pub async fn listen_to(&self, scope: &str) {
        let r = self
            .post(
                "/stores/demo/v3/hooks",
                json!({"scope": scope, "destination": "https://192.0.2.1/hooks", "is_active": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    /// The webhook events one order of the demo store left in the outbox, in order:
    /// (scope, data).
    pub async fn order_events(&self, order_id: i64) -> Vec<(String, Value)> {
        let store = self.demo_store_id().await;
        let events = self.kassa.store.order_outbox_events(store, order_id).await;
        events
            .expect("outbox")
            .into_iter()
            .map(|(scope, data)| (scope, serde_json::from_str(&data).expect("event JSON")))
            .collect()
    }

    /// Every webhook event the demo store recorded: (scope, data).
    pub async fn store_events(&self) -> Vec<(String, Value)> {
        let store = self.demo_store_id().await;
        self.kassa
            .store
            .recorded_events(store)
            .await
            .expect("outbox")
    }

    async fn demo_store_id(&self) -> i64 {
        let store = self.kassa.store.find_store("demo").await.expect("store");
        store.expect("demo store").id
    }

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
        self.call_raw_as(TOKEN, method, path, body).await
    }

    /// Sends raw bytes with another token.
    pub async fn call_raw_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &'static [u8],
    ) -> Reply {
        let url = format!("{}{}", self.base, path);
        let res = self
            .client
            .request(method, &url)
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        Self::reply(res).await
    }

    pub async fn reply(res: reqwest::Response) -> Reply {
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

    /// This node's /metrics, and a reader of its figures by full name (labels included).
    pub async fn metrics(&self) -> impl Fn(&str) -> u64 + use<> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        move |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} missing from /metrics"))
        }
    }

    /// The client id of the API account `token` belongs to (its resources' `owner_client_id`).
    pub async fn client_id_of(&self, token: &str) -> String {
        self.kassa
            .authenticate("demo", token)
            .await
            .expect("a token of the demo store")
            .client_id
            .to_string()
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

/// Catalog fixtures written straight through the store, so cart tests do not
/// depend on the catalog API's own behaviour.
pub mod fixtures {
    use kassa::domain::catalog::*;
    use kassa::domain::money::Money;
    use rust_decimal::Decimal;

    pub fn money(s: &str) -> Money {
        Money::new(s.parse::<Decimal>().expect("decimal"))
    }

    /// A simple physical product with its base variant (`id * 100`).
    pub fn simple(id: i64, name: &str, price: &str) -> Product {
        Product {
            id,
            name: name.into(),
            product_type: ProductType::Physical,
            sku: format!("SKU-{id}"),
            description: String::new(),
            weight: Decimal::ONE,
            width: Decimal::ZERO,
            depth: Decimal::ZERO,
            height: Decimal::ZERO,
            price: money(price),
            cost_price: Money::ZERO,
            retail_price: Money::ZERO,
            sale_price: Money::ZERO,
            map_price: Money::ZERO,
            tax_class_id: 0,
            categories: vec![1],
            brand_id: 0,
            inventory_level: 0,
            inventory_warning_level: 0,
            inventory_tracking: InventoryTracking::None,
            is_visible: true,
            is_free_shipping: false,
            fixed_cost_shipping_price: Money::ZERO,
            availability: Availability::Available,
            order_quantity_minimum: 0,
            order_quantity_maximum: 0,
            url: format!("/products/{id}/"),
            image_url: String::new(),
            date_created: 0,
            date_modified: 0,
            variants: vec![variant(id * 100, id, vec![])],
            options: vec![],
            modifiers: vec![],
        }
    }

    pub fn variant(id: i64, product_id: i64, option_values: Vec<VariantOptionValueRef>) -> Variant {
        Variant {
            sku: format!("V-{id}"),
            option_values,
            ..Variant::blank(id, product_id)
        }
    }

    /// T-shirt (id 910, 20.00): Size option 11 (S=111, L=112) × Colour option 12
    /// (Red=121, Blue=122). Variants 1001 S/Red, 1002 S/Blue, 1003 L/Red (24.00),
    /// 1004 L/Blue (purchasing disabled).
    pub fn tshirt() -> Product {
        let mut p = simple(910, "T-Shirt", "20.00");
        p.options = vec![
            VariantOption {
                id: 11,
                product_id: 910,
                name: "Size".into(),
                display_name: "Size".into(),
                option_type: "radio_buttons".into(),
                sort_order: 0,
                option_values: vec![ov(111, "S"), ov(112, "L")],
            },
            VariantOption {
                id: 12,
                product_id: 910,
                name: "Colour".into(),
                display_name: "Colour".into(),
                option_type: "swatch".into(),
                sort_order: 1,
                option_values: vec![ov(121, "Red"), ov(122, "Blue")],
            },
        ];
        let r = |id, label: &str, option_id, name: &str| VariantOptionValueRef {
            id,
            label: label.into(),
            option_id,
            option_display_name: name.into(),
        };
        let mut vs = vec![
            variant(
                1001,
                910,
                vec![r(111, "S", 11, "Size"), r(121, "Red", 12, "Colour")],
            ),
            variant(
                1002,
                910,
                vec![r(111, "S", 11, "Size"), r(122, "Blue", 12, "Colour")],
            ),
            variant(
                1003,
                910,
                vec![r(112, "L", 11, "Size"), r(121, "Red", 12, "Colour")],
            ),
            variant(
                1004,
                910,
                vec![r(112, "L", 11, "Size"), r(122, "Blue", 12, "Colour")],
            ),
        ];
        vs[2].price = Some(money("24.00"));
        vs[3].purchasing_disabled = true;
        vs[3].purchasing_disabled_message = "Coming soon.".into();
        p.variants = vs;
        p
    }

    fn ov(id: i64, label: &str) -> OptionValue {
        OptionValue {
            id,
            label: label.into(),
            sort_order: 0,
            is_default: false,
            value_data: None,
        }
    }

    /// Mug (id 920, 40.00) with modifiers: gift wrap 21 (checkbox: Yes=211 +5.00,
    /// No=212), engraving 22 (text, max 10 chars), finish 23 (dropdown, required:
    /// Matte=231 +0, Gold=232 +10%).
    pub fn mug() -> Product {
        let mut p = simple(920, "Mug", "40.00");
        let value = |id, label: &str, price: Option<Adjuster>| ModifierValue {
            id,
            label: label.into(),
            sort_order: 0,
            is_default: false,
            value_data: None,
            adjustments: Adjustments {
                price,
                ..Default::default()
            },
        };
        p.modifiers = vec![
            Modifier {
                id: 21,
                product_id: 920,
                name: "Gift wrap".into(),
                display_name: "Gift wrap".into(),
                modifier_type: ModifierType::Checkbox,
                required: false,
                sort_order: 0,
                config: serde_json::json!({"checkbox_label": "Wrap it"}),
                option_values: vec![
                    value(
                        211,
                        "Yes",
                        Some(Adjuster {
                            adjuster: AdjusterKind::Relative,
                            adjuster_value: "5.00".parse().expect("dec"),
                        }),
                    ),
                    value(212, "No", None),
                ],
            },
            Modifier {
                id: 22,
                product_id: 920,
                name: "Engraving".into(),
                display_name: "Engraving".into(),
                modifier_type: ModifierType::Text,
                required: false,
                sort_order: 1,
                config: serde_json::json!({"text_characters_limited": true, "text_min_length": 1, "text_max_length": 10}),
                option_values: vec![],
            },
            Modifier {
                id: 23,
                product_id: 920,
                name: "Finish".into(),
                display_name: "Finish".into(),
                modifier_type: ModifierType::Dropdown,
                required: true,
                sort_order: 2,
                config: serde_json::json!({}),
                option_values: vec![
                    value(231, "Matte", None),
                    value(
                        232,
                        "Gold",
                        Some(Adjuster {
                            adjuster: AdjusterKind::Percentage,
                            adjuster_value: "10".parse().expect("dec"),
                        }),
                    ),
                ],
            },
        ];
        p
    }

    /// E-book (id 930, 9.99), digital.
    pub fn ebook() -> Product {
        let mut p = simple(930, "E-Book", "9.99");
        p.product_type = ProductType::Digital;
        p.weight = Decimal::ZERO;
        p
    }

    /// Lamp (id 940, 19.99) with 3 in stock, tracked by product.
    pub fn lamp() -> Product {
        let mut p = simple(940, "Lamp", "19.99");
        p.inventory_tracking = InventoryTracking::Product;
        p.inventory_level = 3;
        p
    }

    /// Jacket (id 950) regular 40.00, on sale for 29.99.
    pub fn jacket() -> Product {
        let mut p = simple(950, "Jacket", "40.00");
        p.sale_price = money("29.99");
        p
    }

    /// Old radio (id 960, 5.00), availability disabled.
    pub fn radio() -> Product {
        let mut p = simple(960, "Old Radio", "5.00");
        p.availability = Availability::Disabled;
        p
    }

    pub fn all() -> Vec<Product> {
        vec![tshirt(), mug(), ebook(), lamp(), jacket(), radio()]
    }
}

impl TestApp {
    /// Writes the fixture catalog into the demo store.
    pub async fn with_fixtures(self) -> Self {
        let store = self.kassa.find_store("demo").await.expect("demo store");
        for p in fixtures::all() {
            // The demo catalog may already use these names; the fixtures get their own.
            let mut p = p;
            p.name = format!("{} (fixture)", p.name);
            self.kassa
                .store
                .insert_product(store.id, &p)
                .await
                .expect("insert fixture product");
        }
        self
    }
}

/// The steps of the headless checkout flow that many suites take: a billing address,
/// placing the order, a payment access token and a card payment.
pub mod flow {
    use super::{Reply, TestApp};
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    pub const CARTS: &str = "/stores/demo/v3/carts";
    pub const CHECKOUTS: &str = "/stores/demo/v3/checkouts";

    /// A complete billing address in San Francisco (CA tax applies).
    pub fn billing() -> Value {
        json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
               "address1": "1 Market St", "city": "San Francisco", "state_or_province": "California",
               "country_code": "US", "postal_code": "94105"})
    }

    /// A complete address in New York (a second shipping destination, NY tax).
    pub fn new_york() -> Value {
        json!({"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
               "address1": "2 Broadway", "city": "New York", "state_or_province_code": "NY",
               "country_code": "US", "postal_code": "10004"})
    }

    /// A cart made from `body` with the billing address set; returns the checkout id.
    pub async fn checkout_with(app: &TestApp, body: Value) -> String {
        let r = app.post(CARTS, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.data()["id"].as_str().expect("cart id").to_string();
        let r = app
            .post(&format!("{CHECKOUTS}/{id}/billing-address"), billing())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        id
    }

    /// `POST /checkouts/{id}/coupons` with `code`, which must apply.
    pub async fn apply_coupon(app: &TestApp, checkout: &str, code: &str) {
        let r = app
            .post(
                &format!("{CHECKOUTS}/{checkout}/coupons"),
                json!({"coupon_code": code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    /// `POST /checkouts/{id}/orders`.
    pub async fn place(app: &TestApp, checkout: &str) -> Reply {
        app.post(&format!("{CHECKOUTS}/{checkout}/orders"), json!({}))
            .await
    }

    /// `POST /payments/access_tokens` for an order.
    pub async fn token(app: &TestApp, order_id: i64) -> Reply {
        app.post(
            "/stores/demo/v3/payments/access_tokens",
            json!({"order": {"id": order_id}}),
        )
        .await
    }

    /// A new payment access token for an order that can be paid.
    pub async fn new_pat(app: &TestApp, order_id: i64) -> String {
        let r = token(app, order_id).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.data()["id"].as_str().expect("token").to_string()
    }

    /// A process-payment body paying by card with the test gateway.
    pub fn card(number: &str) -> Value {
        json!({"payment": {"instrument": {"type": "card", "number": number, "cardholder_name": "Ada Lovelace",
            "expiry_month": 12, "expiry_year": 2040, "verification_value": "123"},
            "payment_method_id": "testgateway.card"}})
    }

    /// `POST /stores/demo/payments` with `Authorization: PAT …`.
    pub async fn pay(app: &TestApp, pat: &str, body: Value) -> Reply {
        let res = app
            .client
            .post(format!("{}/stores/demo/payments", app.base))
            .header("Authorization", format!("PAT {pat}"))
            .header("Accept", "application/vnd.bc.v1+json")
            .json(&body)
            .send()
            .await
            .expect("request");
        TestApp::reply(res).await
    }

    /// A digital product whose stock is counted; returns its id.
    pub async fn tracked_product(app: &TestApp, name: &str, level: i64) -> i64 {
        let r = app
            .post(
                "/stores/demo/v3/catalog/products",
                json!({"name": name, "type": "digital", "price": 20, "weight": 0,
                       "inventory_tracking": "product", "inventory_level": level, "categories": [1]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.data()["id"].as_i64().expect("product id")
    }

    /// A product's `inventory_level` as the catalog API shows it.
    pub async fn stock_level(app: &TestApp, product: i64) -> i64 {
        let r = app
            .get(&format!("/stores/demo/v3/catalog/products/{product}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.data()["inventory_level"]
            .as_i64()
            .expect("inventory_level")
    }

    /// Pays an order in full with an approving test card.
    pub async fn pay_by_card(app: &TestApp, order_id: i64) -> Reply {
        let pat = new_pat(app, order_id).await;
        pay(app, &pat, card("4111111111111111")).await
    }
}

/// A shopper's browser for the Storefront API: keeps the cookies the server sets
/// and, like BigCommerce's Checkout SDK, echoes the `XSRF-TOKEN` cookie in the
/// `X-XSRF-TOKEN` header of every request.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    /// The `Host` header to send (default: the server's address).
    pub host: Option<String>,
    /// Send the CSRF header (turn off to act as a forged request).
    pub send_csrf: bool,
}

impl TestApp {
    /// A new shopper with no cookies.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: Default::default(),
            host: None,
            send_csrf: true,
        }
    }
}

impl Browser<'_> {
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("jar").get(name).cloned()
    }

    /// Sends a request with the jar's cookies (and `extra` headers), keeping what it sets.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{}", self.app.base, path);
        let req = self
            .app
            .client
            .request(method, &url)
            .header("Accept", "application/json");
        let mut req = self.with_cookies(req);
        let jar = self.cookies.lock().expect("jar").clone();
        if self.send_csrf
            && let Some(t) = jar.get("XSRF-TOKEN")
        {
            req = req.header("X-XSRF-TOKEN", t);
        }
        if let Some(h) = &self.host {
            req = req.header("Host", h);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.expect("request");
        let reply = TestApp::reply(res).await;
        self.keep_cookies(&reply.headers);
        reply
    }

    /// Opens a hosted-page link as a browser does, without following its redirect (the
    /// test client would drop the cookies it sets), keeping what it sets. The status.
    pub async fn open_link(&self, path: &str) -> StatusCode {
        self.open_link_with(path, &[]).await.0
    }

    /// [`Browser::open_link`] with `extra` headers; the status and the headers.
    pub async fn open_link_with(
        &self,
        path: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut req = self.with_cookies(client.get(format!("{}{path}", self.app.base)));
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        self.keep_cookies(res.headers());
        (res.status(), res.headers().clone())
    }

    fn with_cookies(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let jar = self.cookies.lock().expect("jar");
        if jar.is_empty() {
            return req;
        }
        let header = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        req.header("Cookie", header)
    }

    fn keep_cookies(&self, headers: &reqwest::header::HeaderMap) {
        let mut jar = self.cookies.lock().expect("jar");
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().expect("cookie");
            if let Some((k, val)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                jar.insert(k.trim().to_string(), val.trim().to_string());
            }
        }
    }

    /// Posts a hosted page's form as a browser does (without following the redirect),
    /// keeping the cookies it sets: the status, the headers and the HTML (if any).
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = client
            .post(format!("{}{path}", self.app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        let res = self.with_cookies(req).send().await.expect("form post");
        self.keep_cookies(res.headers());
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.text().await.expect("page"))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }
}

/// A value as `application/x-www-form-urlencoded` writes it.
pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
