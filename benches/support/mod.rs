//! What the benchmark programs share: a fresh database per run, the HTTP client they all
//! use, and latency percentiles. Each program uses part of it.
#![allow(dead_code)]

use axum::body::Bytes;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A database prepared for one run, removed again by [`FreshDatabase::remove`].
pub enum FreshDatabase {
    Sqlite {
        dir: PathBuf,
        url: String,
    },
    Postgres {
        base: String,
        schema: String,
        url: String,
    },
}

impl FreshDatabase {
    /// `sqlite` (a new file in a new temporary directory) or a PostgreSQL URL (a new
    /// schema `bench_<uuid>` in that database, selected through the URL's `search_path`).
    pub async fn create(spec: &str) -> FreshDatabase {
        let id = uuid::Uuid::new_v4().simple().to_string();
        if spec == "sqlite" {
            let dir = std::env::temp_dir().join(format!("kassa-bench-{id}"));
            std::fs::create_dir_all(&dir).expect("create temp dir for the SQLite database");
            let url = format!("sqlite://{}", dir.join("kassa.db").display());
            FreshDatabase::Sqlite { dir, url }
        } else if spec.starts_with("postgres:") || spec.starts_with("postgresql:") {
            let schema = format!("bench_{id}");
            let pool = sqlx::PgPool::connect(spec)
                .await
                .expect("connect to the PostgreSQL benchmark database");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&pool)
                .await
                .expect("create the benchmark schema");
            pool.close().await;
            let sep = if spec.contains('?') { '&' } else { '?' };
            let url = format!("{spec}{sep}options=-c%20search_path%3D{schema}");
            FreshDatabase::Postgres {
                base: spec.to_string(),
                schema,
                url,
            }
        } else {
            panic!("--database must be `sqlite` or a postgres:// URL, not `{spec}`");
        }
    }

    pub fn url(&self) -> &str {
        match self {
            FreshDatabase::Sqlite { url, .. } | FreshDatabase::Postgres { url, .. } => url,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            FreshDatabase::Sqlite { .. } => "SQLite",
            FreshDatabase::Postgres { .. } => "PostgreSQL",
        }
    }

    pub async fn remove(self) {
        match self {
            FreshDatabase::Sqlite { dir, .. } => {
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("warning: could not remove {}: {e}", dir.display());
                }
            }
            FreshDatabase::Postgres { base, schema, .. } => {
                let dropped = async {
                    let pool = sqlx::PgPool::connect(&base).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                        .execute(&pool)
                        .await?;
                    pool.close().await;
                    Ok::<_, sqlx::Error>(())
                }
                .await;
                if let Err(e) = dropped {
                    eprintln!("warning: could not drop schema {schema}: {e}");
                }
            }
        }
    }
}

/// One keep-alive HTTP/1.1 connection's client: no proxy, loopback only.
pub fn client() -> reqwest::Client {
    kassa::startup::install_tls_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("build HTTP client")
}

/// Nearest-rank percentile of sorted latencies.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: u32) -> String {
    format!("{:.2} ms", f64::from(us) / 1000.0)
}

/// One Kassa server process.
pub struct Node {
    pub child: tokio::process::Child,
    pub url: String,
    pub pid: u32,
    /// From spawn to the first 200 from `/ready` (the database answers).
    pub ready: Duration,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

/// Starts `kassa serve` on a free port (the binary `KASSA_BIN` names, else this build's)
/// and waits until `/ready`. `demo_token`: create the demo store with that token.
pub async fn spawn_node(
    database_url: &str,
    demo_token: Option<&str>,
    env: &[(&str, &str)],
) -> Node {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let bin = std::env::var("KASSA_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kassa").into());
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database")
        .arg(database_url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    if let Some(token) = demo_token {
        cmd.arg("--demo").env("KASSA_DEMO_TOKEN", token);
    }
    cmd.envs(env.iter().copied());
    let started = Instant::now();
    let child = cmd.spawn().expect("start the kassa binary");
    let pid = child.id().unwrap_or(0);
    let probe = client();
    loop {
        if let Ok(r) = probe.get(format!("{url}/ready")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Kassa on port {port} was not ready after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Node {
        child,
        url,
        pid,
        ready: started.elapsed(),
    }
}

impl Node {
    /// (resident now, peak resident) in KiB, from /proc.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) {
        if self.pid > 0 {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(self.pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

// ---------- the demo store's checkout ----------

/// The three items of every cart: a T-shirt variant, the desk lamp and a notebook set
/// (none stock-tracked in the demo catalog), 81.95 before discounts.
pub fn cart_body() -> Value {
    json!({"line_items": [
        {"product_id": 1, "variant_id": 5, "quantity": 1},
        {"product_id": 8, "quantity": 1},
        {"product_id": 9, "quantity": 1}
    ]})
}

pub fn address() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
           "address1": "1 Market St", "city": "San Francisco", "state_or_province": "California",
           "state_or_province_code": "CA", "country_code": "US", "postal_code": "94105"})
}

pub fn payment_body() -> Value {
    json!({"payment": {"payment_method_id": "testgateway.card",
        "instrument": {"type": "card", "number": "4111111111111111", "cardholder_name": "Ada Lovelace",
                       "expiry_month": 12, "expiry_year": 2040, "verification_value": "123"}}})
}

/// One request; the status and body, or why no answer came.
pub async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    auth: (&str, &str),
    body: Option<&Value>,
) -> Result<(reqwest::StatusCode, Bytes), String> {
    let mut req = c
        .request(method, url)
        .header(auth.0, auth.1)
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.map_err(|e| format!("request: {e}"))?;
    let status = res.status();
    let bytes = res.bytes().await.map_err(|e| format!("body: {e}"))?;
    Ok((status, bytes))
}
