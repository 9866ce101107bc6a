//! PostgreSQL: connections for the statements every checkout runs, handed back to a short
//! list of their own instead of to sqlx's pool.
//!
//! sqlx's pool checks each connection it gets back with a `Sync` and waits for PostgreSQL's
//! answer: a round trip per statement, which cost about 15 % of the machine's CPU per
//! checkout (BENCHMARKS.md, 2026-11-25 08:15 UTC). A connection taken from here comes back
//! without it. The round trip stays where it is needed: when something is left to send
//! (a dropped transaction's queued `ROLLBACK`) the connection goes back through sqlx's own
//! release, which sends it, and a connection idle for a second is pinged before use. A
//! statement abandoned half-way (its request cancelled) needs nothing: sqlx reads the
//! rest of its answer before the connection's next statement.
//!
//! The connections are the pool's, checked out: at most half of the pool is taken, so the
//! other statements always have the rest. Statements wait for one of those in the order
//! they came (a fair semaphore): taking a connection from the pool whenever the list was
//! empty let the list's users overtake those queued at the pool, and a few requests then
//! waited 100 ms and more under full load while most waited 3.

use super::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgPool, Postgres};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// A connection idle this long is pinged before it is handed out (as the pool does).
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);
/// How long a statement waits for its turn, as long as the pool waits for a connection.
const ACQUIRE_TIMEOUT: Duration = super::POSTGRES_ACQUIRE_TIMEOUT;

pub(crate) struct HotConnections {
    pool: PgPool,
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    /// One per connection this list may hold; none with a pool of one, which must stay
    /// free for the other statements.
    turns: Option<Semaphore>,
    closed: AtomicBool,
}

impl std::fmt::Debug for HotConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HotConnections")
    }
}

/// A connection from [`HotConnections`]; back to its list when dropped.
pub(crate) struct HotConnection<'a> {
    conn: Option<PoolConnection<Postgres>>,
    home: &'a HotConnections,
    /// Given back after the connection (fields drop in order).
    _turn: Option<SemaphorePermit<'a>>,
}

impl HotConnections {
    pub(crate) fn new(pool: PgPool, pool_size: u32) -> HotConnections {
        HotConnections {
            pool,
            idle: Mutex::default(),
            turns: match pool_size as usize / 2 {
                0 => None,
                n => Some(Semaphore::new(n)),
            },
            closed: AtomicBool::new(false),
        }
    }

    /// The most recently used idle connection, or one from the pool, once it is this
    /// statement's turn (failing as the pool does when none comes in time).
    async fn acquire(&self) -> Result<HotConnection<'_>, sqlx::Error> {
        let turn = match &self.turns {
            Some(turns) => match tokio::time::timeout(ACQUIRE_TIMEOUT, turns.acquire()).await {
                Ok(Ok(turn)) => Some(turn),
                Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            },
            None => None,
        };
        loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut conn, since)) = next else {
                return Ok(HotConnection {
                    conn: Some(self.pool.acquire().await?),
                    home: self,
                    _turn: turn,
                });
            };
            if since.elapsed() < IDLE_BEFORE_PING || conn.ping().await.is_ok() {
                return Ok(HotConnection {
                    conn: Some(conn),
                    home: self,
                    _turn: turn,
                });
            }
            conn.close_on_drop();
        }
    }

    /// Runs `run` on a connection from here. A connection that failed other than by
    /// PostgreSQL refusing a statement (a broken socket, a protocol error) is closed,
    /// and the pool opens another when needed.
    pub(crate) async fn with<T>(
        &self,
        run: impl AsyncFnOnce(&mut sqlx::PgConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.acquire().await?;
        let result = run(&mut conn).await;
        if let Err(StoreError::Database(e)) = &result
            && !matches!(e, sqlx::Error::Database(_))
            && let Some(mut suspect) = conn.conn.take()
        {
            suspect.close_on_drop();
        }
        result
    }

    /// Gives every idle connection back to the pool, and any later one as it is dropped,
    /// so that the pool can close.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl std::ops::Deref for HotConnection<'_> {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &sqlx::PgConnection {
        self.conn
            .as_deref()
            .unwrap_or_else(|| unreachable!("a hot connection is only emptied when dropped"))
    }
}

impl std::ops::DerefMut for HotConnection<'_> {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        self.conn
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a hot connection is only emptied when dropped"))
    }
}

impl Drop for HotConnection<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // Dropped, the connection goes back to the pool the usual way: with the
        // round trip that sends what is queued, or tells a broken connection apart.
        if self.home.turns.is_none()
            || conn.should_flush()
            || self.home.closed.load(Ordering::SeqCst)
        {
            return;
        }
        // As many connections as turns: the list never holds more than half the pool.
        self.home
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((conn, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgPoolOptions;

    /// The list never takes the whole pool: with a pool of two it keeps one connection and
    /// a transaction still gets the other at once, with a pool of one it keeps none. Many
    /// statements at once take their turns on what it keeps, each with its own answer,
    /// and the pool closes once the list is closed. (PostgreSQL only.)
    #[tokio::test]
    async fn half_the_pool_stays_free_and_statements_take_turns() {
        let Ok(url) = std::env::var("KASSA_TEST_DATABASE_URL") else {
            return;
        };
        for size in [1u32, 2] {
            let pool = PgPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(Duration::from_secs(2))
                .connect(&url)
                .await
                .unwrap();
            let hot = HotConnections::new(pool.clone(), size);
            let ask = |n: i32| {
                hot.with(async move |c: &mut sqlx::PgConnection| {
                    Ok(sqlx::query_scalar::<_, i32>("SELECT $1")
                        .bind(n)
                        .fetch_one(c)
                        .await?)
                })
            };
            assert_eq!(ask(7).await.unwrap(), 7);
            let kept = hot.idle.lock().unwrap().len();
            assert_eq!(kept, (size / 2) as usize, "pool of {size}");
            let tx = tokio::time::timeout(Duration::from_secs(1), pool.begin())
                .await
                .unwrap_or_else(|_| panic!("pool of {size}: no connection left for a transaction"))
                .unwrap();
            tx.rollback().await.unwrap();
            let answers = futures_util::future::join_all((0..20).map(ask)).await;
            let answers: Vec<i32> = answers.into_iter().map(|a| a.unwrap()).collect();
            assert_eq!(answers, (0..20).collect::<Vec<_>>());
            hot.close();
            tokio::time::timeout(Duration::from_secs(5), pool.close())
                .await
                .unwrap_or_else(|_| panic!("pool of {size}: a connection was kept from closing"));
        }
    }
}
