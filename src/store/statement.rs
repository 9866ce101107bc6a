//! One statement API over the three connections a write runs on: a PostgreSQL
//! transaction, a SQLite transaction leased from the writer, and a SQLite *direct* job
//! (run by the writer itself on the connection's handle, see `group_commit`).
//!
//! Code written with [`stmt`] — `stmt(SQL).bind(a).execute(&mut *tx).await?` — runs
//! unchanged on all three. On a direct job every statement completes before its
//! `.await` is polled, so a whole transaction body runs in one poll, without a task
//! switch per statement; [`DirectPool`] gives that body the `begin`/`commit` it expects.
//! Parameters are written `$N` for both backends.

use super::group_commit::{Direct, direct_error, execute_numbered, prepare_numbered};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, SqliteConnection};
use std::borrow::Cow;
use std::cell::Cell;
use std::future::Future;
use std::ops::{Deref, DerefMut};

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Int(i64),
    Text(Cow<'a, str>),
    /// SQL NULL where an integer may stand.
    NullInt,
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}

impl<'a> Arg<'a> {
    pub fn text(s: impl Into<Cow<'a, str>>) -> Self {
        Arg::Text(s.into())
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Arg::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::NullInt => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A statement and its parameters, not yet run.
#[must_use = "a statement does nothing until it is executed or fetched"]
pub struct Stmt<'a> {
    sql: Cow<'static, str>,
    args: Vec<Arg<'a>>,
}

/// `$N` SQL both backends accept (a `String` only for SQL built from values Kassa
/// parsed itself, such as integer id lists).
pub fn stmt<'a>(sql: impl Into<Cow<'static, str>>) -> Stmt<'a> {
    Stmt {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// What a write statement did.
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// A row type every connection can read: tuples of integers and texts.
pub trait Row:
    Sized + Send + Unpin + for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow>
{
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! tuple_rows {
    ($(($($t:ident $i:tt),+)),+ $(,)?) => {$(
        impl<$($t),+> Row for ($($t,)+)
        where
            $($t: rusqlite::types::FromSql + Send + Unpin
                + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>
                + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,)+
        {
            fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    )+};
}
tuple_rows!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10),
);

/// A connection a [`Stmt`] runs on.
pub trait Conn {
    fn execute(&mut self, s: Stmt<'_>) -> impl Future<Output = Result<Done, sqlx::Error>> + Send;
    fn fetch_all<R: Row>(
        &mut self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Vec<R>, sqlx::Error>> + Send;
}

impl<'a> Stmt<'a> {
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub async fn execute<C: Conn + ?Sized>(self, conn: &mut C) -> Result<Done, sqlx::Error> {
        conn.execute(self).await
    }

    pub async fn fetch_all<R: Row, C: Conn + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Vec<R>, sqlx::Error> {
        conn.fetch_all(self).await
    }

    pub async fn fetch_optional<R: Row, C: Conn + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Option<R>, sqlx::Error> {
        Ok(conn.fetch_all(self).await?.into_iter().next())
    }

    pub async fn fetch_one<R: Row, C: Conn + ?Sized>(self, conn: &mut C) -> Result<R, sqlx::Error> {
        self.fetch_optional(conn)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row, if there is a row.
    pub async fn fetch_optional_scalar<T, C: Conn + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Option<T>, sqlx::Error>
    where
        (T,): Row,
    {
        Ok(self.fetch_optional::<(T,), C>(conn).await?.map(|(v,)| v))
    }

    /// The first column of the first row.
    pub async fn fetch_one_scalar<T, C: Conn + ?Sized>(self, conn: &mut C) -> Result<T, sqlx::Error>
    where
        (T,): Row,
    {
        Ok(self.fetch_one::<(T,), C>(conn).await?.0)
    }
}

/// Binds every [`Arg`] of `$args` (a `Vec`) to a sqlx query, in order.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        use $crate::store::statement::Arg;
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(t) => q.bind(t.as_ref()),
                Arg::NullInt => q.bind(None::<i64>),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

macro_rules! sqlx_conn {
    ($conn:ty, $db:ty) => {
        impl Conn for $conn {
            async fn execute(&mut self, s: Stmt<'_>) -> Result<Done, sqlx::Error> {
                let q = bind_args!(
                    sqlx::query::<$db>(sqlx::AssertSqlSafe(s.sql.clone())),
                    s.args
                );
                Ok(Done {
                    rows: q.execute(self).await?.rows_affected(),
                })
            }

            async fn fetch_all<R: Row>(&mut self, s: Stmt<'_>) -> Result<Vec<R>, sqlx::Error> {
                let q = bind_args!(
                    sqlx::query_as::<$db, R>(sqlx::AssertSqlSafe(s.sql.clone())),
                    s.args
                );
                q.fetch_all(self).await
            }
        }
    };
}
sqlx_conn!(PgConnection, sqlx::Postgres);
sqlx_conn!(SqliteConnection, sqlx::Sqlite);

/// The write connection inside a direct job.
pub struct DirectConn<'c> {
    db: &'c rusqlite::Connection,
}

impl DirectConn<'_> {
    fn args<'s>(s: &'s Stmt<'_>) -> Vec<&'s dyn rusqlite::ToSql> {
        s.args.iter().map(|a| a as &dyn rusqlite::ToSql).collect()
    }

    fn run_execute(&self, s: &Stmt<'_>) -> rusqlite::Result<u64> {
        execute_numbered(self.db, &s.sql, &Self::args(s))
    }

    fn run_fetch<R: Row>(&self, s: &Stmt<'_>) -> rusqlite::Result<Vec<R>> {
        let mut prepared = prepare_numbered(self.db, &s.sql, &Self::args(s))?;
        let mut rows = prepared.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(R::from_direct(row)?);
        }
        Ok(out)
    }
}

// These futures are ready when created (the statement has run), so they hold no
// reference to the connection and are Send.
impl Conn for DirectConn<'_> {
    fn execute(&mut self, s: Stmt<'_>) -> impl Future<Output = Result<Done, sqlx::Error>> + Send {
        let done = self
            .run_execute(&s)
            .map(|rows| Done { rows })
            .map_err(direct_error);
        std::future::ready(done)
    }

    fn fetch_all<R: Row>(
        &mut self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Vec<R>, sqlx::Error>> + Send {
        std::future::ready(self.run_fetch(&s).map_err(direct_error))
    }
}

impl super::Store {
    /// One write statement, atomic on its own: on PostgreSQL in autocommit (one round
    /// trip), on SQLite as a direct job of the writer.
    pub(crate) async fn execute_write(&self, s: Stmt<'static>) -> super::StoreResult<u64> {
        match &self.db {
            super::Db::Postgres(_) => self.with_hot(async |c| Ok(s.execute(c).await?.rows)).await,
            super::Db::Sqlite { write, .. } => Ok(write
                .run(move |db| {
                    let rows = DirectConn { db }.run_execute(&s)?;
                    Ok(Direct::Keep(rows))
                })
                .await?),
        }
    }
}

/// Stands in for a pool inside a direct job, so a transaction body written as
/// `let mut tx = pool.begin().await?; …; tx.commit().await?` runs there unchanged.
pub struct DirectPool<'c> {
    db: &'c rusqlite::Connection,
    /// Set by `commit`: the job's writes are kept only then.
    committed: Cell<bool>,
}

impl<'c> DirectPool<'c> {
    pub fn new(db: &'c rusqlite::Connection) -> Self {
        DirectPool {
            db,
            committed: Cell::new(false),
        }
    }

    pub async fn begin(&self) -> Result<DirectTx<'_>, sqlx::Error> {
        Ok(DirectTx {
            conn: DirectConn { db: self.db },
            committed: &self.committed,
        })
    }

    /// Runs a transaction body (whose statements all run on this pool) to its end, and
    /// says whether the writer keeps its writes: only if it committed.
    pub fn run<T, E>(
        &self,
        body: impl Future<Output = Result<T, E>>,
        stalled: impl FnOnce() -> E,
    ) -> Direct<Result<T, E>> {
        use futures_util::FutureExt;
        let out = body.now_or_never().unwrap_or_else(|| Err(stalled()));
        if out.is_ok() && self.committed.get() {
            Direct::Keep(out)
        } else {
            Direct::Undo(out)
        }
    }
}

/// A transaction inside a direct job: its statements run at once; `commit` marks its
/// writes as kept (the batch's COMMIT makes them durable), dropping it undoes them.
pub struct DirectTx<'p> {
    conn: DirectConn<'p>,
    committed: &'p Cell<bool>,
}

impl DirectTx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.committed.set(true);
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.committed.set(false);
        Ok(())
    }
}

impl<'p> Deref for DirectTx<'p> {
    type Target = DirectConn<'p>;
    fn deref(&self) -> &DirectConn<'p> {
        &self.conn
    }
}

impl<'p> DerefMut for DirectTx<'p> {
    fn deref_mut(&mut self) -> &mut DirectConn<'p> {
        &mut self.conn
    }
}

/// SQLite connections for reads run in place, on the calling thread: a read of a few
/// indexed rows takes microseconds, less than handing it to a connection's own thread
/// and waking the caller afterwards (which is how the pooled connections read).
pub struct DirectReaders {
    /// What `sqlite3_open_v2` is given: the file's path, or the URI of a shared
    /// in-memory database.
    target: String,
    flags: rusqlite::OpenFlags,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl std::fmt::Debug for DirectReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReaders")
            .field("target", &self.target)
            .finish()
    }
}

/// Connections kept open between reads; more are opened while all are in use.
const IDLE_READERS: usize = 8;

impl DirectReaders {
    /// Readers of the database the writer's `options` open.
    pub fn new(options: &sqlx::sqlite::SqliteConnectOptions) -> DirectReaders {
        use rusqlite::OpenFlags;
        let filename = options.get_filename().to_string_lossy().into_owned();
        // sqlx names an in-memory database `file:sqlx-in-memory-N` and shares its cache.
        let (target, flags) = if filename.starts_with("file:") {
            (
                format!("{filename}?mode=memory&cache=shared"),
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            (filename, OpenFlags::SQLITE_OPEN_READ_ONLY)
        };
        DirectReaders {
            target,
            flags: flags | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let db = rusqlite::Connection::open_with_flags(&self.target, self.flags)?;
        db.busy_timeout(std::time::Duration::from_secs(30))?;
        // As the pooled connections: pages from a shared map, a larger page cache.
        db.execute_batch(
            "PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384; PRAGMA query_only = 1",
        )?;
        db.set_prepared_statement_cache_capacity(64);
        Ok(db)
    }

    /// Closes the idle connections (the server is stopping).
    pub fn close(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Runs `body` on an idle connection (opening one when none is), polled once: every
    /// statement on it completes when called.
    pub fn read<T>(
        &self,
        body: impl FnOnce(&mut DirectConn<'_>) -> Option<super::StoreResult<T>>,
    ) -> super::StoreResult<T> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let db = match taken {
            Some(db) => db,
            None => self.open().map_err(direct_error)?,
        };
        let out = body(&mut DirectConn { db: &db });
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(db);
        }
        drop(idle);
        out.unwrap_or_else(|| {
            Err(sqlx::Error::Protocol(
                "a direct read waited for something other than SQLite".into(),
            )
            .into())
        })
    }
}

/// Runs a read body on the live backend and evaluates to `StoreResult<T>`: on
/// PostgreSQL on a pooled connection, on SQLite in place on a direct reader. The body
/// gets `$conn`, runs its statements with [`stmt`] (`.await?`) and evaluates to `T`.
macro_rules! read_on {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Postgres(_) => {
                $store
                    .with_hot(async |$conn| Ok::<_, $crate::store::StoreError>($body))
                    .await
            }
            $crate::store::Db::Sqlite { readers, .. } => readers.read(|$conn| {
                futures_util::FutureExt::now_or_never(async {
                    Ok::<_, $crate::store::StoreError>($body)
                })
            }),
        }
    };
}
pub(crate) use read_on;

#[cfg(test)]
mod tests {
    use crate::domain::settings::StoreSettings;
    use crate::store::Store;

    /// Direct readers see what the writer committed, on a file and in memory alike.
    #[tokio::test]
    async fn direct_reads_see_committed_writes() {
        let file = std::env::temp_dir().join(format!(
            "kassa-direct-read-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        for url in [
            format!("sqlite://{}", file.display()),
            "sqlite::memory:".into(),
        ] {
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            assert!(store.find_store("shop").await.unwrap().is_none());
            let made = store
                .create_store("shop", "Shop", &StoreSettings::default(), 1)
                .await
                .unwrap();
            // Twice: the second read reuses the first one's connection.
            for _ in 0..2 {
                let found = store.find_store("shop").await.unwrap().unwrap();
                assert_eq!((found.id, found.name.as_str()), (made.id, "Shop"));
            }
            store.close().await;
        }
        let _ = std::fs::remove_file(&file);
    }
}
