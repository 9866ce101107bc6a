//! What the benchmark programs share: a fresh database per run, the HTTP client they all
//! use, and latency percentiles. Each program uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

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
