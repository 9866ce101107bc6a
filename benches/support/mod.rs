//! What the benchmark programs share: a fresh database per run, the HTTP clients they
//! use, and latency percentiles. Each program uses part of it.
#![allow(dead_code)]

use axum::body::Bytes;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

    /// PostgreSQL: gathers the planner's statistics of the schema's tables, as
    /// autovacuum's first pass would on a live database (within `autovacuum_naptime`, a
    /// minute by default). A fresh schema has none, and a node's connections keep the
    /// generic plans PostgreSQL chose while its tables held a few rows: plans that, with
    /// no statistics, can look an order up by its store alone and then filter every
    /// order the store has. ANALYZE invalidates them, so they are planned again. False
    /// on SQLite, which has nothing to do.
    pub async fn analyze(&self) -> bool {
        let FreshDatabase::Postgres { url, .. } = self else {
            return false;
        };
        // Kassa's own first statistics, for every table of the schema whatever its rows.
        let store = kassa::store::Store::connect(url)
            .await
            .expect("connect to the PostgreSQL benchmark database");
        store
            .analyze_tables_without_statistics(0)
            .await
            .expect("ANALYZE the benchmark schema");
        store.close().await;
        true
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

// ---------- the load generator's HTTP/1.1 client ----------

/// A lean HTTP/1.1 client: one keep-alive connection per origin (`http://host:port`), each
/// request written from one reused buffer in one `write`, each response read into a reused
/// buffer and parsed by `httparse` (hyper's parser), its body handed out as a slice of that
/// buffer. The load generator runs on the machine it measures, so its CPU is taken from the
/// server: reqwest's per-request work (URL parsing, header maps, pool, its connection
/// tasks) was most of the generator's own CPU.
///
/// A request once written is never sent again, not even on a connection the server closed
/// meanwhile (it may have been a payment): that is a failed request, as with reqwest.
pub struct Http {
    conns: Vec<Conn>,
    /// The request being written.
    out: Vec<u8>,
    timeout: Duration,
}

/// A response: its status and body (de-chunked), valid until the next request.
pub struct Response<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

impl Response<'_> {
    /// Up to `max` bytes of the body as text, for error messages.
    pub fn snippet(&self, max: usize) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body[..self.body.len().min(max)])
    }
}

struct Conn {
    origin: String,
    stream: Option<TcpStream>,
    /// Received bytes are `buf[..filled]`; the last response ended at `consumed`.
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
    /// A chunked body, decoded.
    chunked: Vec<u8>,
    last_used: Instant,
}

/// Where a response's body is.
enum BodyAt {
    Buf(usize, usize),
    Chunked,
}

/// A parsed response head.
struct Head {
    status: u16,
    len: usize,
    framing: Framing,
    close: bool,
}

enum Framing {
    Length(usize),
    Chunked,
    /// Until the server closes the connection.
    Eof,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    pub fn new() -> Http {
        Http {
            conns: Vec::new(),
            out: Vec::with_capacity(2048),
            timeout: Duration::from_secs(60),
        }
    }

    /// `method` `path` on `origin` (`http://host:port`), with `headers` and, when given,
    /// a JSON `body`.
    pub async fn send(
        &mut self,
        origin: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response<'_>, String> {
        let host = origin
            .strip_prefix("http://")
            .ok_or_else(|| format!("request: only http:// origins, not `{origin}`"))?;
        let out = &mut self.out;
        out.clear();
        for part in [method, " ", path, " HTTP/1.1\r\nhost: ", host, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        for (name, value) in headers {
            for part in [*name, ": ", *value, "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        if let Some(b) = body {
            use std::io::Write as _;
            let _ = write!(
                out,
                "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
                b.len()
            );
            out.extend_from_slice(b);
        } else {
            out.extend_from_slice(b"\r\n");
        }
        let i = match self.conns.iter().position(|c| c.origin == origin) {
            Some(i) => i,
            None => {
                self.conns.push(Conn::new(origin));
                self.conns.len() - 1
            }
        };
        let conn = &mut self.conns[i];
        let done = tokio::time::timeout(self.timeout, conn.exchange(host, &self.out)).await;
        match done {
            Ok(Ok((status, at))) => Ok(Response {
                status,
                body: match at {
                    BodyAt::Buf(from, to) => &conn.buf[from..to],
                    BodyAt::Chunked => &conn.chunked,
                },
            }),
            Ok(Err(e)) => {
                conn.stream = None;
                Err(e)
            }
            Err(_) => {
                conn.stream = None;
                Err(format!("request: no response after {:?}", self.timeout))
            }
        }
    }
}

impl Conn {
    fn new(origin: &str) -> Conn {
        Conn {
            origin: origin.to_string(),
            stream: None,
            buf: vec![0; 16 * 1024],
            filled: 0,
            consumed: 0,
            chunked: Vec::new(),
            last_used: Instant::now(),
        }
    }

    /// Writes `request`, reads the whole response.
    async fn exchange(&mut self, host: &str, request: &[u8]) -> Result<(u16, BodyAt), String> {
        // The server may have closed a connection idle for a while; find out before writing
        // rather than after (the request would then have to be sent twice or fail).
        if self.last_used.elapsed() > Duration::from_millis(500)
            && let Some(s) = &self.stream
        {
            let mut probe = [0u8; 1];
            match s.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                _ => self.stream = None,
            }
        }
        if self.stream.is_none() {
            let s = TcpStream::connect(host)
                .await
                .map_err(|e| format!("request: connect to {host}: {e}"))?;
            s.set_nodelay(true)
                .map_err(|e| format!("request: nodelay: {e}"))?;
            self.stream = Some(s);
            self.filled = 0;
            self.consumed = 0;
        }
        // Bytes after the previous response (none unless the server sent too much) stay.
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        let Some(stream) = self.stream.as_mut() else {
            return Err("request: no connection".into());
        };
        stream
            .write_all(request)
            .await
            .map_err(|e| format!("request: write: {e}"))?;
        let head = loop {
            match parse_head(&self.buf[..self.filled])? {
                Some(h) if (100..200).contains(&h.status) => {
                    // An interim response: the real one follows.
                    self.buf.copy_within(h.len..self.filled, 0);
                    self.filled -= h.len;
                }
                Some(h) => break h,
                None => self.fill().await?,
            }
        };
        let at = match head.framing {
            _ if head.status == 204 || head.status == 304 => {
                self.consumed = head.len;
                BodyAt::Buf(head.len, head.len)
            }
            Framing::Length(n) => {
                let end = head.len + n;
                if self.buf.len() < end {
                    self.buf.resize(end, 0);
                }
                while self.filled < end {
                    self.fill().await?;
                }
                self.consumed = end;
                BodyAt::Buf(head.len, end)
            }
            Framing::Chunked => {
                self.read_chunked(head.len).await?;
                BodyAt::Chunked
            }
            Framing::Eof => {
                while self.read_more().await? > 0 {}
                self.consumed = self.filled;
                self.stream = None;
                BodyAt::Buf(head.len, self.filled)
            }
        };
        if head.close {
            self.stream = None;
        }
        self.last_used = Instant::now();
        Ok((head.status, at))
    }

    /// Reads more bytes; the end of the connection is an error.
    async fn fill(&mut self) -> Result<(), String> {
        match self.read_more().await? {
            0 => Err("request: connection closed before the response was complete".into()),
            _ => Ok(()),
        }
    }

    /// Reads more bytes (0: the server closed the connection), growing the buffer if full.
    async fn read_more(&mut self) -> Result<usize, String> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err("request: no connection".into());
        };
        let n = stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(|e| format!("request: read: {e}"))?;
        self.filled += n;
        Ok(n)
    }

    /// Decodes a chunked body starting at `pos` into `self.chunked`.
    async fn read_chunked(&mut self, mut pos: usize) -> Result<(), String> {
        self.chunked.clear();
        loop {
            let (used, size) = match httparse::parse_chunk_size(&self.buf[pos..self.filled]) {
                Ok(httparse::Status::Complete((used, size))) => (used, size),
                Ok(httparse::Status::Partial) => {
                    self.fill().await?;
                    continue;
                }
                Err(_) => return Err("response: bad chunk size".into()),
            };
            let size = usize::try_from(size).map_err(|_| "response: chunk too large")?;
            if size == 0 {
                // The last chunk, then trailers (ignored) up to an empty line.
                pos += used;
                loop {
                    let rest = &self.buf[pos..self.filled];
                    if rest.starts_with(b"\r\n") {
                        self.consumed = pos + 2;
                        return Ok(());
                    }
                    if let Some(i) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
                        self.consumed = pos + i + 4;
                        return Ok(());
                    }
                    self.fill().await?;
                }
            }
            let end = pos + used + size + 2;
            while self.filled < end {
                self.fill().await?;
            }
            if &self.buf[end - 2..end] != b"\r\n" {
                return Err("response: chunk not followed by CRLF".into());
            }
            self.chunked
                .extend_from_slice(&self.buf[pos + used..end - 2]);
            pos = end;
        }
    }
}

/// The response head at the start of `bytes`, if all of it is there.
fn parse_head(bytes: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let len = match r.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("response: bad head: {e}")),
    };
    let status = r.code.unwrap_or(0);
    // HTTP/1.0 closes unless told otherwise; HTTP/1.1 keeps the connection.
    let mut close = r.version == Some(0);
    let mut framing = Framing::Eof;
    for h in r.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            if !matches!(framing, Framing::Chunked) {
                framing = Framing::Length(
                    value
                        .parse()
                        .map_err(|_| format!("response: bad content-length `{value}`"))?,
                );
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',') {
                if token.trim().eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.trim().eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    Ok(Some(Head {
        status,
        len,
        framing,
        close,
    }))
}

/// `http://host:port/path?query` as (`http://host:port`, `/path?query`).
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, "/"),
    }
}

/// CPU time used so far, in nanoseconds, by the groups of processes a run puts on the
/// machine, from the scheduler's per-thread counters in `/proc` (Linux). `None` elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    /// Every thread of the Kassa nodes.
    pub nodes: u64,
    /// Every process named `postgres` (backends and background workers).
    pub postgres: u64,
    /// This process's threads, but for the baseline server's.
    pub generator: u64,
    /// This process's threads named `baseline…` (the fixed-body server).
    pub baseline: u64,
    /// The machine's idle and total time, in clock ticks (`/proc/stat`).
    pub idle_ticks: u64,
    pub total_ticks: u64,
}

/// Thread name prefix of the fixed-body server's runtime, so [`cpu_times`] counts it apart.
pub const BASELINE_THREADS: &str = "baseline";

impl CpuTimes {
    pub fn now(node_pids: &[u32]) -> Option<CpuTimes> {
        let ran = |schedstat: &str| -> u64 {
            std::fs::read_to_string(schedstat)
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let threads = |pid: &str| -> Vec<(String, u64)> {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|t| {
                    let dir = t.path();
                    let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                    (name, ran(&dir.join("schedstat").to_string_lossy()))
                })
                .collect()
        };
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let mut times = CpuTimes {
            idle_ticks: *ticks.get(3)?,
            total_ticks: ticks.iter().sum(),
            ..CpuTimes::default()
        };
        for pid in node_pids {
            times.nodes += threads(&pid.to_string()).iter().map(|t| t.1).sum::<u64>();
        }
        for (name, ns) in threads("self") {
            if name.starts_with(BASELINE_THREADS) {
                times.baseline += ns;
            } else {
                times.generator += ns;
            }
        }
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name();
            let pid = pid.to_string_lossy();
            if pid.bytes().all(|b| b.is_ascii_digit())
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == "postgres")
            {
                times.postgres += ran(&format!("/proc/{pid}/schedstat"));
            }
        }
        Some(times)
    }

    /// What was used from `earlier` to `self`.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            nodes: self.nodes.saturating_sub(earlier.nodes),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            generator: self.generator.saturating_sub(earlier.generator),
            baseline: self.baseline.saturating_sub(earlier.baseline),
            idle_ticks: self.idle_ticks.saturating_sub(earlier.idle_ticks),
            total_ticks: self.total_ticks.saturating_sub(earlier.total_ticks),
        }
    }
}
