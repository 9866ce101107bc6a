//! Persistence. One `Store` with two backends chosen by the URL scheme: an embedded
//! SQLite file, or PostgreSQL. Queries are written once in SQL both accept
//! (`$N` parameters, `ON CONFLICT`, `RETURNING`) and run on whichever pool is live;
//! the schemas differ only in type names and live in `migrations/{sqlite,postgres}`.

mod abandoned_carts;
pub mod cart_cache;
mod cart_events;
mod cart_reads;
mod cart_settings;
pub mod catalog;
mod checkout_tokens;
mod config_docs;
pub mod customer_addresses;
pub mod customers;
pub mod gift_certificates;
pub mod group_commit;
mod hot_connections;
pub mod idempotency;
mod metafields;
mod migrate;
pub mod order_admin;
pub mod order_queries;
mod orders;
pub mod outbox;
mod payments;
mod product_docs;
#[cfg(test)]
mod query_plans;
pub mod records;
pub mod refunds;
mod shopper_sessions;
pub(crate) mod statement;
mod statistics;
pub mod usage;
pub mod webhooks;
mod written_rows;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub use config_docs::{CodeTaken, DocKeys, code_key};
pub use idempotency::IdempotencyClaim;
pub use metafields::{MetafieldFilter, MetafieldRecord, MetafieldWrite, NewMetafieldRow};
pub use orders::{
    BalanceDebit, Held, NewOrder, OrderDoc, OrderSnapshot, PAYMENT_HOLD_SECS, PlaceOrderError,
    StockChanges, StockTake, UseClaim, stock_delta,
};
pub use outbox::{Listeners, OutboxEvent};
pub use payments::{
    ApprovedPayment, Hold, NewStoredCard, PayableOrder, Recorded, StoredValueDebit, TransactionRow,
};
pub use records::*;
pub use shopper_sessions::ShopperSessionRow;
pub use usage::UseKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored document is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("migration {0} failed: {1}")]
    Migration(String, sqlx::Error),
}

impl StoreError {
    /// Whether the database could not grow: SQLite's `SQLITE_FULL` (no space left on the
    /// file system, or the size cap reached), from a statement or from a shared commit
    /// (which reports it as text), or PostgreSQL's `disk_full` (53100, a table or index
    /// that could not be extended). Nothing of the failed transaction was written.
    pub fn is_full(&self) -> bool {
        const FULL: &str = "database or disk is full";
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("13" | "53100")) || e.message().contains(FULL)
            }
            StoreError::Database(e) => e.to_string().contains(FULL),
            _ => false,
        }
    }

    /// The name of the unique constraint a write ran into, if that is what failed.
    pub fn unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// Whether a write named a row (such as a customer) that is not there (any more).
    pub fn foreign_key_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_foreign_key_violation(),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite allows one writer: one task owns the one write connection and commits
    /// waiting transactions together (group commit, see `group_commit`), while readers
    /// use their own pool under WAL.
    Sqlite {
        read: SqlitePool,
        write: group_commit::SqliteWriter,
        /// Hot-path reads, run in place (see `statement::DirectReaders`).
        readers: std::sync::Arc<statement::DirectReaders>,
    },
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// Carts this process committed (SQLite with the file's lock only; see `cart_cache`).
    carts: Option<std::sync::Arc<cart_cache::CartCache>>,
    /// PostgreSQL: whole-cart reads, batched and checked against this node's copies.
    cart_reads: Option<std::sync::Arc<cart_reads::CartReads>>,
    /// PostgreSQL: connections for the statements every checkout runs.
    hot: Option<std::sync::Arc<hot_connections::HotConnections>>,
    /// Configuration versions as last read (same condition as `carts`).
    config_versions: Option<std::sync::Arc<config_docs::ConfigVersions>>,
    /// Products parsed from their documents, reused while the text is unchanged, and
    /// served without a read under the same condition as `carts` (see `written_rows`).
    product_docs: std::sync::Arc<product_docs::ProductDocs>,
    /// Channels' `allow_purchasing` overrides (used under the same condition as `carts`).
    channel_overrides: std::sync::Arc<cart_settings::ChannelOverrides>,
    /// Held from `keep_carts_in_memory` until `close`.
    file_lock: std::sync::Arc<std::sync::Mutex<Option<cart_cache::SqliteFileLock>>>,
}

/// Runs `$body` with `$pool` bound to the live backend's pool. `read` uses the
/// SQLite reader pool; `write` the single writer.
macro_rules! on_pool {
    ($store:expr, read, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { read, .. } => {
                let $pool = read;
                $body
            }
            $crate::store::Db::Postgres(p) => {
                let $pool = p;
                $body
            }
        }
    };
    ($store:expr, write, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { write, .. } => {
                let $pool = write;
                $body
            }
            $crate::store::Db::Postgres(p) => {
                let $pool = p;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Runs a transaction body on the live backend and evaluates to `Result<T, $err>`: on
/// PostgreSQL on the pool, on SQLite as a direct job of the writer (no task switch per
/// statement). The body gets `$pool`, begins and commits its own transaction, writes its
/// statements with [`statement::stmt`], and evaluates to `T` (`return` leaves the body
/// with a `Result`). On SQLite it runs on the writer, so it may capture only owned values.
macro_rules! write_tx {
    ($store:expr, $err:ty, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Postgres(p) => {
                let $pool = p;
                async { Ok::<_, $err>($body) }.await
            }
            $crate::store::Db::Sqlite { write, .. } => {
                match write.run_tx(async move |$pool| Ok::<_, $err>($body)).await {
                    Ok(done) => done,
                    Err(e) => Err(<$err>::from(e)),
                }
            }
        }
    };
}
pub(crate) use statement::read_on;
pub(crate) use write_tx;

/// How long a statement waits for a PostgreSQL connection before giving up (a prompt 503).
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
const POSTGRES_IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Connections each node keeps to PostgreSQL (`KASSA_POSTGRES_MAX_CONNECTIONS`, default 16).
fn postgres_max_connections() -> u32 {
    std::env::var("KASSA_POSTGRES_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(16)
}

/// The WAL file the SQLite writer syncs itself, overlapping the fsync of one batch with
/// the next batch's statements. None for a database in memory (nothing to sync), and
/// when `KASSA_SQLITE_OVERLAP_SYNC=0` asks for the fsync inside each COMMIT instead
/// (equally durable; kept for comparison).
fn sqlite_wal_to_sync(opts: &SqliteConnectOptions) -> Option<std::path::PathBuf> {
    if std::env::var("KASSA_SQLITE_OVERLAP_SYNC").is_ok_and(|v| v.trim() == "0") {
        return None;
    }
    let file = opts.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return None;
    }
    let absolute = std::path::absolute(file).ok()?;
    let mut wal = absolute.into_os_string();
    wal.push("-wal");
    Some(wal.into())
}

impl Store {
    /// Opens (creating if missing) the database the URL names.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // Pages come from a shared memory map and a larger per-connection cache
                // instead of one pread() per page miss.
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384")
                // The writer's batches run each write in a savepoint, whose journal of
                // pages (the statement journal) would spill to a temporary file past
                // 64 KiB: in memory it is copies instead of file writes. Sorts and
                // temporary indexes of reads stay in memory too.
                .pragma("temp_store", "memory");
            // The writer's COMMITs leave the fsync to its sync thread (see group_commit),
            // unless the database is in memory or KASSA_SQLITE_OVERLAP_SYNC=0.
            let wal = sqlite_wal_to_sync(&opts);
            let write_opts = match wal {
                Some(_) => opts.clone().synchronous(SqliteSynchronous::Normal),
                None => opts.clone(),
            };
            let product_docs = std::sync::Arc::<product_docs::ProductDocs>::default();
            let channel_overrides = std::sync::Arc::<cart_settings::ChannelOverrides>::default();
            let written = std::sync::Arc::new(written_rows::WrittenRows::new(
                product_docs.clone(),
                channel_overrides.clone(),
            ));
            let hooked = written.clone();
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                // The writer task is its only user between batches; a ping per batch is waste.
                .test_before_acquire(false)
                // Every connection the writer ever gets reports the rows it writes. sqlx's
                // hook, kept with its connection until it closes: rusqlite's refuses the
                // handle the writer's direct jobs borrow, which it does not own.
                .after_connect(move |conn, _| {
                    let written = hooked.clone();
                    Box::pin(async move {
                        conn.lock_handle()
                            .await?
                            .set_update_hook(move |row| written.row_written(row.table, row.rowid));
                        Ok(())
                    })
                })
                .connect_with(write_opts)
                .await?;
            let write = group_commit::SqliteWriter::start(
                write,
                group_commit::Limits::from_env(),
                wal,
                Some(written),
            );
            let readers = std::sync::Arc::new(statement::DirectReaders::new(&opts));
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                // A ping per checkout is one more hop to the connection's thread; a local
                // file connection does not go stale like a network one.
                .test_before_acquire(false)
                .connect_with(opts.read_only(false))
                .await?;
            Ok(Store {
                db: Db::Sqlite {
                    read,
                    write,
                    readers,
                },
                carts: None,
                cart_reads: None,
                hot: None,
                config_versions: None,
                product_docs,
                channel_overrides,
                file_lock: Default::default(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            // Short: when PostgreSQL is unreachable, callers get a prompt 503 with
            // Retry-After instead of hanging until the request timeout.
            let size = postgres_max_connections();
            let pool = PgPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                // sqlx's default pings every connection it hands out, a round trip more
                // per statement (a node completes 12 % more checkouts without it). One in
                // steady use is alive (sqlx still pings on release and drops one that
                // fails); only a connection that sat idle a while is checked first.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= POSTGRES_IDLE_BEFORE_PING {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(opts)
                .await?;
            let hot = std::sync::Arc::new(hot_connections::HotConnections::new(pool.clone(), size));
            Ok(Store {
                cart_reads: Some(std::sync::Arc::new(cart_reads::CartReads::new(hot.clone()))),
                hot: Some(hot),
                db: Db::Postgres(pool),
                carts: None,
                config_versions: None,
                product_docs: Default::default(),
                channel_overrides: Default::default(),
                file_lock: Default::default(),
            })
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// For a server process on SQLite: claims the database file and, when no other
    /// process holds it (or the database is in memory), keeps the carts this process
    /// writes in memory. False, and no cache, on PostgreSQL or when the file is taken.
    pub fn keep_carts_in_memory(&mut self, url: &str) -> bool {
        if !matches!(self.db, Db::Sqlite { .. }) {
            return false;
        }
        match cart_cache::SqliteFileLock::try_claim(url) {
            cart_cache::Claim::Held(lock) => {
                *self.file_lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
            }
            cart_cache::Claim::InMemory => {}
            cart_cache::Claim::Taken => return false,
        }
        self.carts = Some(std::sync::Arc::default());
        self.config_versions = Some(std::sync::Arc::default());
        self.product_docs.keep_exact();
        self.channel_overrides.keep_exact();
        true
    }

    pub(crate) fn cart_cache(&self) -> Option<&cart_cache::CartCache> {
        self.carts.as_deref()
    }

    /// PostgreSQL: the carts this node last wrote or read, each checked against the
    /// database's version before use.
    pub(crate) fn cart_copies(&self) -> Option<&cart_cache::CartCache> {
        self.cart_reads.as_deref().map(|r| &r.copies)
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn migrate(&self) -> StoreResult<usize> {
        migrate::run(&self.db).await
    }

    /// (pool name, open connections, idle connections) for each pool.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match &self.db {
            Db::Sqlite { read, write, .. } => vec![
                ("sqlite_read", read.size(), read.num_idle()),
                ("sqlite_write", write.pool().size(), write.pool().num_idle()),
            ],
            Db::Postgres(p) => vec![("postgres", p.size(), p.num_idle())],
        }
    }

    /// Group-commit figures of the SQLite writer (None on PostgreSQL, which batches its own commits).
    pub fn commit_figures(&self) -> Option<&group_commit::BatchFigures> {
        match &self.db {
            Db::Sqlite { write, .. } => Some(write.figures()),
            Db::Postgres(_) => None,
        }
    }

    /// How reads of products and of channels' overrides were answered, for `/metrics`.
    pub fn memory_figures(&self) -> MemoryFigures {
        use std::sync::atomic::Ordering::Relaxed;
        MemoryFigures {
            products_from_memory: self.product_docs.figures.hits.load(Relaxed),
            products_from_database: self.product_docs.figures.reads.load(Relaxed),
            overrides_from_memory: self.channel_overrides.hits.load(Relaxed),
            overrides_from_database: self.channel_overrides.reads.load(Relaxed),
            carts: self.cart_reads.as_deref().map(|r| {
                let f = r.figures();
                CartReadCounts {
                    reads: f.reads.load(Relaxed),
                    statements: f.statements.load(Relaxed),
                    from_copy: f.from_copy.load(Relaxed),
                    from_document: f.from_document.load(Relaxed),
                    changes_from_copy: f.changes_from_copy.load(Relaxed),
                    changes_refused: f.changes_refused.load(Relaxed),
                }
            }),
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        on_pool!(self, read, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .is_ok())
    }

    pub async fn close(&self) {
        // Another server may take the file once this one is done with it.
        self.file_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match &self.db {
            Db::Sqlite {
                read,
                write,
                readers,
            } => {
                readers.close();
                read.close().await;
                write.pool().close().await;
            }
            Db::Postgres(p) => {
                if let Some(hot) = &self.hot {
                    hot.close();
                }
                p.close().await
            }
        }
    }

    /// PostgreSQL: runs `run` on a connection for the statements every checkout runs,
    /// given back without sqlx's round trip per release (see `hot_connections`).
    pub(crate) async fn with_hot<T>(
        &self,
        run: impl AsyncFnOnce(&mut sqlx::PgConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        match &self.hot {
            Some(hot) => hot.with(run).await,
            None => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }
}

/// Products and channel overrides read, by where they came from (see `written_rows`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryFigures {
    pub products_from_memory: u64,
    pub products_from_database: u64,
    pub overrides_from_memory: u64,
    pub overrides_from_database: u64,
    /// PostgreSQL only (see `cart_reads`).
    pub carts: Option<CartReadCounts>,
}

/// PostgreSQL's cart reads: whole-cart reads and the statements that answered them; carts
/// of any read taken from the node's copy, or parsed from a document the database sent;
/// changes made from the copy and written in one statement, or refused by their write.
#[derive(Clone, Copy, Debug, Default)]
pub struct CartReadCounts {
    pub reads: u64,
    pub statements: u64,
    pub from_copy: u64,
    pub from_document: u64,
    pub changes_from_copy: u64,
    pub changes_refused: u64,
}

/// A URL fit for a log line: any password removed.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// A migrated SQLite store in a fresh file, and a PostgreSQL one in a fresh schema when
/// `KASSA_TEST_DATABASE_URL` is set, for the store's unit tests (`name` names the file).
#[cfg(test)]
pub(crate) async fn test_stores(name: &str) -> Vec<Store> {
    let mut out = Vec::new();
    let path = std::env::temp_dir().join(format!(
        "kassa-{name}-unit-{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    out.push(
        Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap(),
    );
    if let Ok(base) = std::env::var("KASSA_TEST_DATABASE_URL")
        && !base.trim().is_empty()
    {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        out.push(
            Store::connect(&format!("{base}{sep}options=-c%20search_path%3D{schema}"))
                .await
                .unwrap(),
        );
    }
    for s in &out {
        s.migrate().await.unwrap();
    }
    out
}
