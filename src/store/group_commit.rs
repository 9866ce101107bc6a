//! Group commit for SQLite. With `synchronous=FULL` every COMMIT costs an fsync of the
//! WAL, and a disk gives a few hundred of those a second; one writer that commits each
//! use case on its own is bounded by them. Here one task owns the single write
//! connection and runs the transactions that are waiting inside one SQLite transaction:
//!
//! - each job runs inside its own `SAVEPOINT`, so it stays atomic: a job that fails (or
//!   is dropped) is rolled back to its savepoint and the others go on;
//! - a job's `commit()` returns only after the batch's `COMMIT` has returned, so no reply
//!   (and no HTTP 2xx) leaves before its writes are durable; if the `COMMIT` fails,
//!   every job of the batch gets the error;
//! - a batch admits jobs while they are waiting, at most a set number and for at most
//!   a set time ([`Limits`]), so a long job cannot hold the others' replies for long.
//!
//! - with a WAL file to sync ([`SqliteWriter::start`] given its path), the COMMIT itself
//!   does not fsync (the write connection runs `synchronous=NORMAL`): the batch's jobs are
//!   handed to a sync thread that fsyncs the WAL and only then tells them, while the
//!   writer already runs the next batch. Replies still leave only after their writes are
//!   on disk; what changes is that other connections may read a batch between its COMMIT
//!   and its fsync (a power cut there loses it, and no one was told it was saved).
//!
//! `SqliteWriter::begin` stands in for `SqlitePool::begin`, and `BatchTx` derefs to the
//! connection like `sqlx::Transaction` does, so store code is the same for both backends.
//!
//! Every statement a `BatchTx` runs is a hand-off to the connection's thread and back to
//! the job's task, and under load each of those waits for a busy tokio worker: the
//! writer's time per job was mostly these waits, not SQL. The hottest writes therefore
//! run as *direct* jobs ([`SqliteWriter::run`]): a closure the writer calls itself, on the
//! connection's handle (locked out of sqlx's thread), start to end without a switch.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How far a batch may grow.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// At most this many jobs share one COMMIT.
    pub max_jobs: usize,
    /// A batch admits no new job once it has been open this long, so one slow job
    /// delays the replies of at most the jobs already in its batch.
    pub max_open: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // 64 jobs of ~100 µs each fill about 6 ms: about the cost of the fsync they share.
        Limits {
            max_jobs: 64,
            max_open: Duration::from_millis(10),
        }
    }
}

impl Limits {
    /// The defaults, overridden by `KASSA_SQLITE_GROUP_COMMIT_MAX_JOBS` (1 commits every
    /// transaction on its own, for A/B benchmarks) and `KASSA_SQLITE_GROUP_COMMIT_MAX_OPEN_MS`.
    /// Neither weakens durability: every job still waits for its batch's COMMIT.
    pub fn from_env() -> Limits {
        let mut limits = Limits::default();
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(n) = number("KASSA_SQLITE_GROUP_COMMIT_MAX_JOBS") {
            limits.max_jobs = usize::try_from(n.max(1)).unwrap_or(limits.max_jobs);
        }
        if let Some(ms) = number("KASSA_SQLITE_GROUP_COMMIT_MAX_OPEN_MS") {
            limits.max_open = Duration::from_millis(ms);
        }
        limits
    }
}

/// Upper bounds of the jobs-per-batch histogram.
pub const JOB_BOUNDS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Upper bounds of the writer's duration histograms, in microseconds: fine around one
/// fsync (a few ms on a disk), where a write's latency is decided.
pub const DURATION_BOUNDS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 25_000, 50_000, 100_000,
    1_000_000,
];

/// A histogram of durations with [`DURATION_BOUNDS_US`].
#[derive(Debug, Default)]
pub struct DurationHistogram {
    /// Per bucket (not cumulative); past the last bound only `count` moves.
    pub buckets: [AtomicU64; DURATION_BOUNDS_US.len()],
    pub count: AtomicU64,
    pub sum_us: AtomicU64,
}

impl DurationHistogram {
    fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        if let Some(i) = DURATION_BOUNDS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Figures for `/metrics`, bumped by the writer task and by the jobs. A write's time
/// in the writer is `lease_wait` (queued behind the batch that is running or
/// committing), its own statements (`job_hold`), then `commit_wait` (the rest of its
/// batch and the batch's COMMIT with its fsync).
#[derive(Debug, Default)]
pub struct BatchFigures {
    pub batches: AtomicU64,
    pub failed_batches: AtomicU64,
    pub jobs: AtomicU64,
    pub rolled_back_jobs: AtomicU64,
    pub jobs_buckets: [AtomicU64; JOB_BOUNDS.len()],
    pub commit: DurationHistogram,
    pub lease_wait: DurationHistogram,
    pub commit_wait: DurationHistogram,
    /// From handing a job the connection to getting it back: the writer's time per job
    /// (the job's statements and the task switches around them).
    pub job_hold: DurationHistogram,
    /// The part of `job_hold` that direct jobs took (no task switches in them).
    pub direct_hold: DurationHistogram,
    /// The WAL's fsyncs when they run beside the writer (one per group of batches).
    pub wal_sync: DurationHistogram,
}

impl BatchFigures {
    fn record(&self, jobs: usize, took: Duration, ok: bool) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        let jobs = jobs as u64;
        self.jobs.fetch_add(jobs, Ordering::Relaxed);
        if let Some(i) = JOB_BOUNDS.iter().position(|b| jobs <= *b) {
            self.jobs_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.commit.observe(took);
    }
}

/// Told when each batch is over, right after its COMMIT (or ROLLBACK) returned and before
/// any of its jobs hears back: what this process keeps in memory about rows the batch
/// wrote (reported by an update hook on the connection) is dropped there.
pub trait AfterBatch: Send + Sync {
    fn batch_over(&self);
}

/// What a job gets: the batch's connection, inside a fresh savepoint.
type Lease = Result<BatchTx, sqlx::Error>;

/// Called once the batch is over, with how its COMMIT went.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A direct job as the writer sees it: runs on the connection, says whether to keep its
/// writes, and what to do once the batch is over.
/// Given `None`, it is told it will not run (the batch failed first).
type DirectJob = Box<dyn FnOnce(Option<&rusqlite::Connection>) -> (bool, Finish) + Send>;

/// What waits in the writer's queue.
enum Job {
    /// Wants the connection handed over (`begin`).
    Lease(oneshot::Sender<Lease>),
    /// Runs on the writer itself (`run`).
    Direct(DirectJob),
}

/// How a direct job ends: keep its writes (its value is returned once they are
/// committed), or undo them (its value is returned once the batch is over).
pub enum Direct<T> {
    Keep(T),
    Undo(T),
}

fn tell(sender: oneshot::Sender<Result<(), String>>) -> Finish {
    Box::new(move |outcome| {
        let _ = sender.send(outcome);
    })
}

/// How a job hands the connection back.
enum End {
    /// Keep its writes; tell it how the batch's COMMIT went.
    Commit(oneshot::Sender<Result<(), String>>),
    /// Undo its writes; tell it (if it waits) when the batch is over.
    Rollback(Option<oneshot::Sender<Result<(), String>>>),
}

struct Returned {
    conn: PoolConnection<Sqlite>,
    end: End,
}

/// The SQLite write side: a handle on the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteWriter {
    pool: SqlitePool,
    queue: mpsc::UnboundedSender<Job>,
    figures: Arc<BatchFigures>,
}

impl SqliteWriter {
    /// Starts the writer task on the current runtime. `pool` should hold one connection.
    /// With `wal`, the path of the database's WAL file, the pool's connection must run
    /// `synchronous=NORMAL`: the writer's own sync thread makes each batch durable.
    /// `after_batch` is told when each batch is over.
    pub fn start(
        pool: SqlitePool,
        limits: Limits,
        wal: Option<PathBuf>,
        after_batch: Option<Arc<dyn AfterBatch>>,
    ) -> SqliteWriter {
        let (queue, rx) = mpsc::unbounded_channel();
        let figures = Arc::new(BatchFigures::default());
        let syncer = wal.map(|wal| WalSyncer::start(wal, figures.clone()));
        tokio::spawn(write_loop(
            pool.clone(),
            rx,
            figures.clone(),
            limits,
            syncer,
            after_batch,
        ));
        SqliteWriter {
            pool,
            queue,
            figures,
        }
    }

    /// The underlying pool, for work that runs before serving (migrations).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn figures(&self) -> &BatchFigures {
        &self.figures
    }

    /// Waits for a place in a batch. Use like `sqlx::Transaction`: run statements on
    /// `&mut *tx`, then `commit()`; dropping it undoes this job's writes only.
    pub async fn begin(&self) -> Result<BatchTx, sqlx::Error> {
        let asked = Instant::now();
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Job::Lease(tx))
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let lease = rx.await.map_err(|_| sqlx::Error::PoolClosed)??;
        self.figures.lease_wait.observe(asked.elapsed());
        Ok(lease)
    }

    /// Runs `job` as one atomic write on the writer itself, inside the batch that is
    /// open, and returns its value once the outcome is durable: after the batch's COMMIT
    /// for `Direct::Keep`, after the batch is over for `Direct::Undo`. An error from the
    /// job undoes its writes and is returned. The job must only run statements (it holds
    /// the writer while it runs); bind parameters with [`bind_numbered`].
    pub async fn run<T, F>(&self, job: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<Direct<T>, rusqlite::Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, sqlx::Error>>();
        let figures = self.figures.clone();
        let queued = Instant::now();
        let direct: DirectJob = Box::new(move |db| {
            let Some(db) = db else {
                let finish: Finish = Box::new(move |outcome| {
                    let why = outcome.err().unwrap_or_else(|| "the batch failed".into());
                    let _ = tx.send(Err(batch_error(&why)));
                });
                return (false, finish);
            };
            figures.lease_wait.observe(queued.elapsed());
            let started = Instant::now();
            // A panic must not take the writer (and every later write) with it.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(db)));
            figures.job_hold.observe(started.elapsed());
            figures.direct_hold.observe(started.elapsed());
            let ended = Instant::now();
            let (keep, value) = match ran {
                Ok(Ok(Direct::Keep(v))) => (true, Ok(v)),
                Ok(Ok(Direct::Undo(v))) => (false, Ok(v)),
                Ok(Err(e)) => (false, Err(direct_error(e))),
                Err(_) => (false, Err(batch_error("a direct write panicked"))),
            };
            let finish: Finish = Box::new(move |outcome| {
                figures.commit_wait.observe(ended.elapsed());
                let told = match (keep, outcome, value) {
                    (true, Err(e), _) => Err(batch_error(&e)),
                    (_, _, value) => value,
                };
                let _ = tx.send(told);
            });
            (keep, finish)
        });
        self.queue
            .send(Job::Direct(direct))
            .map_err(|_| sqlx::Error::PoolClosed)?;
        rx.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

impl SqliteWriter {
    /// Runs a transaction body written against a pool (`pool.begin()`, statements with
    /// [`stmt`](super::statement::stmt), `tx.commit()`) as a direct job: the writer keeps
    /// its writes if it committed and returned Ok. The body's own result comes back once
    /// that is durable; the outer error is the batch's.
    pub async fn run_tx<T, E, F>(&self, body: F) -> Result<Result<T, E>, sqlx::Error>
    where
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
        F: AsyncFnOnce(&super::statement::DirectPool<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(move |db| {
            let pool = super::statement::DirectPool::new(db);
            let body = body(&pool);
            Ok(pool.run(body, || {
                E::from(sqlx::Error::Protocol(
                    "a direct write waited on something other than its statements".into(),
                ))
            }))
        })
        .await
    }
}

/// Binds `args` to a statement written with `$N` parameters (the SQL both backends
/// share): SQLite numbers named parameters by first appearance, so each is bound by the
/// number in its name.
fn bind_numbered(
    stmt: &mut rusqlite::Statement<'_>,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<()> {
    for index in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(index);
        let arg = args
            .get(n.wrapping_sub(1))
            .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(())
}

/// A `$N` statement from the connection's statement cache, with `args` bound.
pub(crate) fn prepare_numbered<'c>(
    db: &'c rusqlite::Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = db.prepare_cached(sql)?;
    bind_numbered(&mut stmt, args)?;
    Ok(stmt)
}

/// Runs a `$N` statement with `args`; the number of rows it changed. Stepped like a
/// query, so a statement with `RETURNING` runs too.
pub(crate) fn execute_numbered(
    db: &rusqlite::Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<u64> {
    let mut stmt = prepare_numbered(db, sql, args)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(db.changes())
}

/// A SQLite error from a direct job, in sqlx's form, so callers see one error type
/// (with the extended result code sqlx reports, e.g. 13 for a full disk, 2067 for a
/// unique violation).
#[derive(Debug)]
struct DirectSqliteError {
    code: Option<i32>,
    message: String,
}

impl std::fmt::Display for DirectSqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DirectSqliteError {}

impl sqlx::error::DatabaseError for DirectSqliteError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.code.map(|c| c.to_string().into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                sqlx::error::ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => sqlx::error::ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => sqlx::error::ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

pub(crate) fn direct_error(e: rusqlite::Error) -> sqlx::Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
        _ => None,
    };
    sqlx::Error::Database(Box::new(DirectSqliteError {
        code,
        message: e.to_string(),
    }))
}

/// One job's share of a batch transaction.
pub struct BatchTx {
    conn: Option<PoolConnection<Sqlite>>,
    back: Option<oneshot::Sender<Returned>>,
    /// The writer's figures, to time the wait for the batch's COMMIT.
    figures: Arc<BatchFigures>,
}

impl std::fmt::Debug for BatchTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchTx")
    }
}

impl BatchTx {
    fn hand_back(&mut self, end: End) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.back.take()) {
            // If the writer is gone the connection just drops: its pool rolls it back.
            let _ = back.send(Returned { conn, end });
        }
    }

    /// Keeps this job's writes and waits until the batch holding them is committed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let (tx, rx) = oneshot::channel();
        let handed = Instant::now();
        self.hand_back(End::Commit(tx));
        let told = rx.await;
        self.figures.commit_wait.observe(handed.elapsed());
        match told {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(batch_error(&e)),
            Err(_) => Err(sqlx::Error::PoolClosed),
        }
    }

    /// Undoes this job's writes, then waits until the batch it ran in is over, so a
    /// read that follows (e.g. a retry after a `version` conflict) sees what the
    /// other jobs of the batch committed.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let (tx, rx) = oneshot::channel();
        self.hand_back(End::Rollback(Some(tx)));
        let _ = rx.await;
        Ok(())
    }
}

impl Deref for BatchTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        // Present from creation until commit/rollback, which consume self.
        self.conn.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for BatchTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for BatchTx {
    fn drop(&mut self) {
        self.hand_back(End::Rollback(None));
    }
}

fn batch_error(msg: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!("group commit failed: {msg}")))
}

/// How one job ended, as seen by the writer.
enum JobEnd {
    Committed(oneshot::Sender<Result<(), String>>),
    RolledBack(Option<oneshot::Sender<Result<(), String>>>),
    /// The job went away before it got the connection.
    Gone,
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sql).execute(conn).await.map(|_| ())
}

/// The batch's savepoint between two jobs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Savepoint {
    /// None is open.
    Closed,
    /// One is open and nothing was written inside it: the next job can use it as it is.
    Fresh,
    /// A kept job's is open: released together with the next job's `SAVEPOINT`.
    Kept,
}

/// Runs one job inside a savepoint. On Err the connection may be lost and the batch
/// transaction is no longer trustworthy.
///
/// Savepoints are opened and released with as few statements as can be, since each is a
/// hand-off to the connection's thread: the batch opens the first with its `BEGIN`, a
/// kept job's savepoint is released with the next job's `SAVEPOINT` (or by the batch's
/// COMMIT), and a job that never got the connection leaves its savepoint fresh for the
/// next one.
async fn run_job(
    conn: PoolConnection<Sqlite>,
    job: oneshot::Sender<Lease>,
    figures: &Arc<BatchFigures>,
    savepoint: &mut Savepoint,
) -> (Option<PoolConnection<Sqlite>>, Result<JobEnd, String>) {
    let mut conn = conn;
    let begin = match *savepoint {
        Savepoint::Fresh => None,
        Savepoint::Kept => Some("RELEASE kassa_job; SAVEPOINT kassa_job"),
        Savepoint::Closed => Some("SAVEPOINT kassa_job"),
    };
    *savepoint = Savepoint::Closed;
    if let Some(begin) = begin
        && let Err(e) = exec(&mut conn, begin).await
    {
        let _ = job.send(Err(batch_error(&e.to_string())));
        return (Some(conn), Err(e.to_string()));
    }
    let (back, returned) = oneshot::channel();
    let lease = BatchTx {
        conn: Some(conn),
        back: Some(back),
        figures: figures.clone(),
    };
    if let Err(Ok(mut lease)) = job.send(Ok(lease)) {
        // The job was cancelled while it waited: take the connection back unused.
        let conn = lease.conn.take();
        lease.back.take();
        let Some(conn) = conn else {
            return (None, Err("connection lost".into()));
        };
        *savepoint = Savepoint::Fresh;
        return (Some(conn), Ok(JobEnd::Gone));
    }
    let leased = Instant::now();
    let Ok(Returned { mut conn, end }) = returned.await else {
        return (None, Err("a job lost the write connection".into()));
    };
    figures.job_hold.observe(leased.elapsed());
    let done = match end {
        End::Commit(tell) => {
            *savepoint = Savepoint::Kept;
            Ok(JobEnd::Committed(tell))
        }
        End::Rollback(tell) => {
            match exec(&mut conn, "ROLLBACK TO kassa_job; RELEASE kassa_job").await {
                Ok(()) => Ok(JobEnd::RolledBack(tell)),
                Err(e) => {
                    if let Some(t) = tell {
                        let _ = t.send(Err(e.to_string()));
                    }
                    Err(e)
                }
            }
        }
    };
    (Some(conn), done.map_err(|e| e.to_string()))
}

/// Opens the batch transaction with the first job's savepoint in it; a connection left
/// inside a transaction (a job that vanished with it) is rolled back first.
async fn open(pool: &SqlitePool) -> Result<PoolConnection<Sqlite>, sqlx::Error> {
    const BEGIN: &str = "BEGIN IMMEDIATE; SAVEPOINT kassa_job";
    let mut conn = pool.acquire().await?;
    if exec(&mut conn, BEGIN).await.is_ok() {
        return Ok(conn);
    }
    let _ = exec(&mut conn, "ROLLBACK").await;
    match exec(&mut conn, BEGIN).await {
        Ok(()) => Ok(conn),
        Err(e) => {
            conn.close_on_drop();
            Err(e)
        }
    }
}

/// The batch being built.
struct Batch {
    opened: Instant,
    /// Kept jobs, told the COMMIT's outcome.
    committed: Vec<Finish>,
    /// Undone jobs that wait for the batch to be over.
    waiting: Vec<Finish>,
    savepoint: Savepoint,
}

impl Batch {
    fn full(&self, limits: &Limits) -> bool {
        self.committed.len() >= limits.max_jobs || self.opened.elapsed() >= limits.max_open
    }
}

impl Job {
    /// Tells a job that never ran that its write failed.
    fn fail(self, why: sqlx::Error) {
        match self {
            Job::Lease(job) => {
                let _ = job.send(Err(why));
            }
            Job::Direct(job) => {
                let why = why.to_string();
                let (_, finish) = job(None);
                finish(Err(why));
            }
        }
    }
}

/// Runs a direct job and the direct jobs queued right behind it, on the connection's
/// handle, locked from sqlx's thread once for all of them. Returns the next job it took
/// from the queue that is not direct; on Err the batch transaction is not trustworthy.
async fn run_direct(
    conn: &mut SqliteConnection,
    first: DirectJob,
    queue: &mut mpsc::UnboundedReceiver<Job>,
    batch: &mut Batch,
    figures: &BatchFigures,
    limits: &Limits,
) -> Result<Option<Job>, String> {
    let mut job = first;
    let mut handle = match conn.lock_handle().await {
        Ok(h) => h,
        Err(e) => {
            Job::Direct(job).fail(batch_error(&e.to_string()));
            return Err(e.to_string());
        }
    };
    // SAFETY: the handle stays locked (sqlx's thread does not touch it) until `handle`
    // drops, after `db`; `db` does not own the handle, so dropping it only finalizes the
    // statements it prepared.
    let db = match unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr()) } {
        Ok(db) => db,
        Err(e) => {
            Job::Direct(job).fail(batch_error(&e.to_string()));
            return Err(e.to_string());
        }
    };
    loop {
        let begin = match batch.savepoint {
            Savepoint::Fresh => None,
            Savepoint::Kept => Some("RELEASE kassa_job; SAVEPOINT kassa_job"),
            Savepoint::Closed => Some("SAVEPOINT kassa_job"),
        };
        if let Some(begin) = begin
            && let Err(e) = db.execute_batch(begin)
        {
            Job::Direct(job).fail(batch_error(&e.to_string()));
            return Err(e.to_string());
        }
        batch.savepoint = Savepoint::Fresh;
        let (keep, finish) = job(Some(&db));
        if keep {
            batch.savepoint = Savepoint::Kept;
            batch.committed.push(finish);
        } else {
            figures.rolled_back_jobs.fetch_add(1, Ordering::Relaxed);
            batch.waiting.push(finish);
            // The savepoint stays open, empty again, for the next job.
            db.execute_batch("ROLLBACK TO kassa_job")
                .map_err(|e| e.to_string())?;
        }
        if batch.full(limits) {
            return Ok(None);
        }
        match queue.try_recv() {
            Ok(Job::Direct(next)) => job = next,
            Ok(other) => return Ok(Some(other)),
            Err(_) => return Ok(None),
        }
    }
}

/// The thread that makes committed batches durable when their COMMIT did not: it
/// fsyncs the WAL once for every batch that queued while the previous fsync ran, then
/// tells their jobs, in commit order.
struct WalSyncer {
    queue: std::sync::mpsc::Sender<Vec<Finish>>,
}

impl WalSyncer {
    fn start(wal: PathBuf, figures: Arc<BatchFigures>) -> WalSyncer {
        let (queue, rx) = std::sync::mpsc::channel::<Vec<Finish>>();
        let spawned = std::thread::Builder::new()
            .name("kassa-wal-sync".into())
            .spawn(move || {
                // The WAL's directory entry, once: a file created by a COMMIT that did
                // not sync is only durable with it.
                let mut dir_synced = false;
                while let Ok(mut group) = rx.recv() {
                    while let Ok(more) = rx.try_recv() {
                        group.extend(more);
                    }
                    let started = Instant::now();
                    let outcome = sync_wal(&wal, &mut dir_synced);
                    figures.wal_sync.observe(started.elapsed());
                    if let Err(e) = &outcome {
                        tracing::error!(error = %e, "fsync of the SQLite WAL failed");
                    }
                    for finish in group {
                        finish(outcome.clone());
                    }
                }
            });
        if let Err(e) = spawned {
            // Without the thread every batch is told of the failure, not left waiting.
            tracing::error!(error = %e, "the WAL sync thread did not start");
        }
        WalSyncer { queue }
    }

    /// Hands a committed batch's jobs over; they hear back once it is on disk.
    fn durable_then_tell(&self, committed: Vec<Finish>) {
        if let Err(std::sync::mpsc::SendError(committed)) = self.queue.send(committed) {
            for finish in committed {
                finish(Err("the WAL sync thread is gone".into()));
            }
        }
    }
}

/// fdatasync of the WAL (opened afresh: SQLite may delete and recreate it). A WAL that
/// is gone was checkpointed into the database, and synced with it, first.
fn sync_wal(wal: &std::path::Path, dir_synced: &mut bool) -> Result<(), String> {
    let file = match std::fs::File::open(wal) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("opening {}: {e}", wal.display())),
    };
    file.sync_data()
        .map_err(|e| format!("syncing {}: {e}", wal.display()))?;
    if !*dir_synced {
        if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| format!("syncing {}: {e}", dir.display()))?;
        }
        *dir_synced = true;
    }
    Ok(())
}

async fn write_loop(
    pool: SqlitePool,
    mut queue: mpsc::UnboundedReceiver<Job>,
    figures: Arc<BatchFigures>,
    limits: Limits,
    syncer: Option<WalSyncer>,
    after_batch: Option<Arc<dyn AfterBatch>>,
) {
    // A job taken from the queue when its batch was already full starts the next one.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let conn = match open(&pool).await {
            Ok(c) => c,
            Err(e) => {
                first.fail(e);
                continue;
            }
        };
        let mut batch = Batch {
            opened: Instant::now(),
            committed: Vec::new(),
            waiting: Vec::new(),
            // COMMIT (or ROLLBACK) ends a savepoint still open with the transaction.
            savepoint: Savepoint::Fresh,
        };
        let mut broken: Option<String> = None;
        let mut next = Some(first);
        let mut held = Some(conn);
        while let Some(job) = next.take() {
            // Every Ok path gives the connection back, so it is here whenever another
            // job was taken from the queue.
            let Some(mut conn) = held.take() else {
                job.fail(batch_error("the write connection was lost"));
                break;
            };
            let pulled = match job {
                Job::Lease(job) => {
                    let (back, end) = run_job(conn, job, &figures, &mut batch.savepoint).await;
                    held = back;
                    match end {
                        Ok(JobEnd::Committed(t)) => batch.committed.push(tell(t)),
                        Ok(JobEnd::RolledBack(t)) => {
                            figures.rolled_back_jobs.fetch_add(1, Ordering::Relaxed);
                            batch.waiting.extend(t.map(tell));
                        }
                        Ok(JobEnd::Gone) => {}
                        Err(e) => {
                            broken = Some(e);
                            break;
                        }
                    }
                    None
                }
                Job::Direct(job) => {
                    let ran =
                        run_direct(&mut conn, job, &mut queue, &mut batch, &figures, &limits).await;
                    held = Some(conn);
                    match ran {
                        Ok(pulled) => pulled,
                        Err(e) => {
                            broken = Some(e);
                            break;
                        }
                    }
                }
            };
            if batch.full(&limits) {
                carried = pulled;
                break;
            }
            next = pulled.or_else(|| queue.try_recv().ok());
        }
        let started = Instant::now();
        let outcome = match (broken, held.as_mut()) {
            (None, Some(conn)) => exec(conn, "COMMIT").await.map_err(|e| e.to_string()),
            (Some(e), _) => Err(e),
            (None, None) => Err("the write connection was lost".to_string()),
        };
        if outcome.is_err()
            && let Some(conn) = held.as_mut()
            && exec(conn, "ROLLBACK").await.is_err()
        {
            // Leave no half-open transaction behind: close it so the pool opens a clean one.
            tracing::error!("group commit: write connection discarded after a failed batch");
            if let Some(mut c) = held.take() {
                c.close_on_drop();
            }
        }
        figures.record(batch.committed.len(), started.elapsed(), outcome.is_ok());
        // Committed or not, the batch's writes are settled: memory of them goes before
        // anyone hears back (after a ROLLBACK it forgets rows that did not change, harmless).
        if let Some(after) = &after_batch {
            after.batch_over();
        }
        // Back to the pool before anyone hears back, so the next batch can start at once.
        drop(held);
        match (&outcome, &syncer) {
            (Ok(()), Some(syncer)) => {
                // Undone jobs only wait to see the batch's writes: those are visible now.
                for finish in batch.waiting {
                    finish(Ok(()));
                }
                syncer.durable_then_tell(batch.committed);
            }
            _ => {
                for finish in batch.committed.into_iter().chain(batch.waiting) {
                    finish(outcome.clone());
                }
            }
        }
    }
}

/// A statement run straight on the writer (no `begin()`) is a job of its own, as it
/// was its own autocommit transaction on the plain pool: atomic, batched, durable
/// before it returns.
impl<'p> sqlx::Executor<'p> for &'_ SqliteWriter {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<sqlx::Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Sqlite>,
    {
        let writer = self.clone();
        // Collected first: nothing may reach the caller before the COMMIT returns.
        let all = async move {
            let mut tx = writer.begin().await?;
            let rows: Vec<_> = tx.fetch_many(query).try_collect().await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        };
        Box::pin(
            stream::once(all)
                .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
                .try_flatten(),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Sqlite>,
    {
        let writer = self.clone();
        Box::pin(async move {
            let mut tx = writer.begin().await?;
            let row = tx.fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: sqlx::SqlStr,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.pool.clone();
        Box::pin(async move { pool.acquire().await?.prepare_with(sql, parameters).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };

    /// A writer on a fresh file, with limits wide enough that batches are decided by
    /// what is waiting, not by the clock; it syncs the WAL beside its COMMITs, as a
    /// server's does.
    async fn writer() -> (SqliteWriter, SqlitePool, std::path::PathBuf) {
        writer_syncing(true).await
    }

    /// `overlap` false: every COMMIT fsyncs (`KASSA_SQLITE_OVERLAP_SYNC=0`).
    async fn writer_syncing(overlap: bool) -> (SqliteWriter, SqlitePool, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("kassa-gc-{}.db", uuid::Uuid::new_v4()));
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let wal = overlap.then(|| {
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            std::path::PathBuf::from(wal)
        });
        let write_opts = match wal {
            Some(_) => opts.clone().synchronous(SqliteSynchronous::Normal),
            None => opts.clone(),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_opts)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER
               REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .execute(&pool)
        .await
        .unwrap();
        let read = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .unwrap();
        let limits = Limits {
            max_jobs: 1_000,
            max_open: Duration::from_secs(60),
        };
        (SqliteWriter::start(pool, limits, wal, None), read, path)
    }

    async fn ids(read: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(read)
            .await
            .unwrap()
    }

    async fn insert(w: &SqliteWriter, id: i64) -> Result<(), sqlx::Error> {
        let mut tx = w.begin().await?;
        sqlx::query("INSERT INTO t (id) VALUES ($1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Lets every spawned task run up to its first real wait (here: its place in the queue).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn waiting_jobs_share_one_commit_and_all_are_durable() {
        for overlap in [true, false] {
            jobs_share_one_commit(overlap).await;
        }
    }

    async fn jobs_share_one_commit(overlap: bool) {
        let (w, read, path) = writer_syncing(overlap).await;
        // Hold the batch open with a first job so the others queue behind it.
        let mut gate = w.begin().await.unwrap();
        sqlx::query("INSERT INTO t (id) VALUES (0)")
            .execute(&mut *gate)
            .await
            .unwrap();
        let jobs: Vec<_> = (1..=20)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move { insert(&w, i).await })
            })
            .collect();
        settle().await;
        gate.commit().await.unwrap();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert_eq!(ids(&read).await, (0..=20).collect::<Vec<_>>());
        let f = w.figures();
        assert_eq!(f.jobs.load(Ordering::Relaxed), 21);
        // The 20 that waited joined the gate's batch: one COMMIT for all 21.
        assert_eq!(f.batches.load(Ordering::Relaxed), 1);
        // With the sync beside the writer, they heard back after its fsync of the WAL.
        let syncs = f.wal_sync.count.load(Ordering::Relaxed);
        assert_eq!(syncs, u64::from(overlap), "WAL fsyncs");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_job_hears_back_only_after_the_wal_holding_it_is_synced() {
        let (w, read, path) = writer().await;
        for id in 1..=5 {
            insert(&w, id).await.unwrap();
            // One after another, each write is a batch of its own, told only after an
            // fsync of its own, and readable once told.
            let syncs = w.figures().wal_sync.count.load(Ordering::Relaxed);
            assert_eq!(syncs, u64::try_from(id).unwrap(), "fsyncs of the WAL");
            assert!(ids(&read).await.contains(&id));
        }
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn kept_rolled_back_and_abandoned_jobs_interleave_in_one_batch() {
        // Kept jobs leave their savepoint open for the next job to release; a rollback
        // in between must undo only its own job, and an abandoned job nothing.
        let (w, read, path) = writer().await;
        let gate = w.begin().await.unwrap();
        let kept_1 = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 1).await }
        });
        let undone = tokio::spawn({
            let w = w.clone();
            async move {
                let mut tx = w.begin().await?;
                sqlx::query("INSERT INTO t (id) VALUES (2)")
                    .execute(&mut *tx)
                    .await?;
                tx.rollback().await
            }
        });
        let kept_3 = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 3).await }
        });
        let abandoned = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 4).await }
        });
        settle().await;
        abandoned.abort();
        let kept_5 = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 5).await }
        });
        settle().await;
        gate.commit().await.unwrap();
        kept_1.await.unwrap().unwrap();
        undone.await.unwrap().unwrap();
        kept_3.await.unwrap().unwrap();
        kept_5.await.unwrap().unwrap();
        assert_eq!(ids(&read).await, vec![1, 3, 5]);
        // The next batch starts clean: its own rollback leaves the first batch alone.
        let mut tx = w.begin().await.unwrap();
        sqlx::query("INSERT INTO t (id) VALUES (6)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        insert(&w, 7).await.unwrap();
        assert_eq!(ids(&read).await, vec![1, 3, 5, 7]);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone_and_the_others_commit() {
        let (w, read, path) = writer().await;
        let gate = w.begin().await.unwrap();
        let a = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 1).await }
        });
        // Writes two rows, then fails on a duplicate key: both must go.
        let b = tokio::spawn({
            let w = w.clone();
            async move {
                let mut tx = w.begin().await?;
                for id in [2, 3, 1] {
                    sqlx::query("INSERT INTO t (id) VALUES ($1)")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }
        });
        let c = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 4).await }
        });
        settle().await;
        gate.commit().await.unwrap();
        a.await.unwrap().unwrap();
        let err = b.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        c.await.unwrap().unwrap();
        assert_eq!(ids(&read).await, vec![1, 4]);
        let f = w.figures();
        assert_eq!(f.batches.load(Ordering::Relaxed), 1);
        assert_eq!(f.rolled_back_jobs.load(Ordering::Relaxed), 1);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_commit_fails_every_job_of_the_batch_and_writes_nothing() {
        let (w, read, path) = writer().await;
        let gate = w.begin().await.unwrap();
        let good = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 1).await }
        });
        // A deferred foreign key is only checked at COMMIT, so the whole batch fails there.
        let bad = tokio::spawn({
            let w = w.clone();
            async move {
                let mut tx = w.begin().await?;
                sqlx::query("INSERT INTO t (id, parent) VALUES (2, 99)")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
        });
        settle().await;
        gate.commit().await.unwrap_err();
        good.await.unwrap().unwrap_err();
        bad.await.unwrap().unwrap_err();
        assert!(ids(&read).await.is_empty());
        assert_eq!(w.figures().failed_batches.load(Ordering::Relaxed), 1);
        // The writer goes on with a clean transaction.
        insert(&w, 5).await.unwrap();
        assert_eq!(ids(&read).await, vec![5]);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_statement_straight_on_the_writer_is_its_own_committed_job() {
        let (w, read, path) = writer().await;
        sqlx::query("INSERT INTO t (id) VALUES (7)")
            .execute(&w)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&w)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(ids(&read).await, vec![7]);
        // A job dropped without commit leaves nothing.
        {
            let mut tx = w.begin().await.unwrap();
            sqlx::query("INSERT INTO t (id) VALUES (8)")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        insert(&w, 9).await.unwrap();
        assert_eq!(ids(&read).await, vec![7, 9]);
        let _ = std::fs::remove_file(path);
    }

    async fn insert_direct(w: &SqliteWriter, id: i64) -> Result<(), sqlx::Error> {
        w.run(move |db| {
            execute_numbered(db, "INSERT INTO t (id) VALUES ($1)", &[&id])?;
            Ok(Direct::Keep(()))
        })
        .await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn direct_and_leased_jobs_share_a_batch_and_each_failure_is_its_own() {
        let (w, read, path) = writer().await;
        let gate = w.begin().await.unwrap();
        let spawn_direct = |id: i64| {
            let w = w.clone();
            tokio::spawn(async move { insert_direct(&w, id).await })
        };
        let d1 = spawn_direct(1);
        let d2 = spawn_direct(2);
        let leased = tokio::spawn({
            let w = w.clone();
            async move { insert(&w, 3).await }
        });
        // Writes a row, then fails on a duplicate key: its row must go, the others stay.
        let failing = tokio::spawn({
            let w = w.clone();
            async move {
                w.run(|db| {
                    execute_numbered(db, "INSERT INTO t (id) VALUES ($1)", &[&10_i64])?;
                    execute_numbered(db, "INSERT INTO t (id) VALUES ($1)", &[&1_i64])?;
                    Ok(Direct::Keep(()))
                })
                .await
            }
        });
        let undone = tokio::spawn({
            let w = w.clone();
            async move {
                w.run(|db| {
                    execute_numbered(db, "INSERT INTO t (id) VALUES ($1)", &[&11_i64])?;
                    Ok(Direct::Undo("undone"))
                })
                .await
            }
        });
        let panicking = tokio::spawn({
            let w = w.clone();
            async move {
                w.run(|db| -> Result<Direct<()>, rusqlite::Error> {
                    execute_numbered(db, "INSERT INTO t (id) VALUES ($1)", &[&12_i64])?;
                    panic!("a bug in a direct job")
                })
                .await
            }
        });
        let d4 = spawn_direct(4);
        settle().await;
        gate.commit().await.unwrap();
        for j in [d1, d2, leased, d4] {
            j.await.unwrap().unwrap();
        }
        let err = failing.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        assert!(
            err.as_database_error()
                .is_some_and(|e| e.is_unique_violation()),
            "{err:?}"
        );
        assert_eq!(undone.await.unwrap().unwrap(), "undone");
        panicking.await.unwrap().unwrap_err();
        assert_eq!(ids(&read).await, vec![1, 2, 3, 4]);
        let f = w.figures();
        assert_eq!(f.batches.load(Ordering::Relaxed), 1);
        assert_eq!(f.rolled_back_jobs.load(Ordering::Relaxed), 3);
        // The writer goes on after the panic, with direct and leased jobs.
        insert_direct(&w, 5).await.unwrap();
        insert(&w, 6).await.unwrap();
        assert_eq!(ids(&read).await, vec![1, 2, 3, 4, 5, 6]);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_direct_job_binds_numbered_parameters_by_their_number() {
        let (w, read, path) = writer().await;
        insert_direct(&w, 1).await.unwrap();
        // $2 appears before $1, and $1 twice: SQLite would number them 1, 2 by appearance.
        let n = w
            .run(|db| {
                let n = execute_numbered(
                    db,
                    "UPDATE t SET id = $2 WHERE id = $1 AND $1 > 0",
                    &[&1_i64, &40_i64],
                )?;
                Ok(Direct::Keep(n))
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(ids(&read).await, vec![40]);
        let err = w
            .run(|db| {
                execute_numbered(db, "UPDATE t SET id = $2 WHERE id = $1", &[&1_i64])?;
                Ok(Direct::Keep(()))
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("parameter"), "{err}");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_commit_fails_the_direct_jobs_of_the_batch_too() {
        let (w, read, path) = writer().await;
        let gate = w.begin().await.unwrap();
        let good = tokio::spawn({
            let w = w.clone();
            async move { insert_direct(&w, 1).await }
        });
        // A deferred foreign key is only checked at COMMIT.
        let bad = tokio::spawn({
            let w = w.clone();
            async move {
                w.run(|db| {
                    execute_numbered(db, "INSERT INTO t (id, parent) VALUES (2, 99)", &[])?;
                    Ok(Direct::Keep(()))
                })
                .await
            }
        });
        settle().await;
        gate.commit().await.unwrap_err();
        good.await.unwrap().unwrap_err();
        bad.await.unwrap().unwrap_err();
        assert!(ids(&read).await.is_empty());
        insert_direct(&w, 5).await.unwrap();
        assert_eq!(ids(&read).await, vec![5]);
        let _ = std::fs::remove_file(path);
    }
}
