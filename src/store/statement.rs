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
tuple_rows!((A 0), (A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3));

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
            super::Db::Postgres(pool) => Ok(s.execute(&mut *pool.acquire().await?).await?.rows),
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
