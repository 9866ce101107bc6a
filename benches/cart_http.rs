//! Cart API over HTTP, compared with a trivial handler in the same process.
//!
//! ```text
//! cargo bench --bench cart_http
//! cargo bench --bench cart_http -- --connections 64 --seconds 10 --database sqlite
//! cargo bench --bench cart_http -- --database postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! Starts Kassa in-process on 127.0.0.1:0 (a fresh SQLite file in a temporary directory,
//! or a fresh schema in the PostgreSQL database named by `--database` or
//! `KASSA_BENCH_DATABASE_URL`) with the demo store, and next to it a bare axum server whose
//! one handler returns a fixed in-memory copy of a real GET-cart response body. Then, with
//! N concurrent keep-alive connections (one HTTP/1.1 client per worker), it runs four phases
//! for a fixed time each: create-cart, add-item, get-cart and the trivial handler, and
//! prints a markdown table (requests, errors, throughput, latency percentiles) and the ratio
//! of get-cart to the trivial handler. Everything runs on one tokio runtime, so client and
//! servers share the machine's cores. Results and their interpretation: `BENCHMARKS.md`.

use axum::body::Bytes;
use kassa::startup::{Application, Settings};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use support::{FreshDatabase, client, ms, percentile};

const TOKEN: &str = "bench-token-all-scopes-0001";
const STORE: &str = "/stores/demo/v3";
/// Error responses kept (per phase) to show what went wrong.
const ERROR_SAMPLES: usize = 5;
/// A phase ends after its duration or after this many requests, whichever comes first.
const MAX_REQUESTS_PER_PHASE: usize = 5_000_000;

struct Options {
    connections: usize,
    seconds: f64,
    warmup: f64,
    database: String,
}

fn usage() -> &'static str {
    "cargo bench --bench cart_http -- [--connections N] [--seconds S] [--warmup S] [--database sqlite|postgres://…]\n\
     \n\
     --connections N   concurrent keep-alive connections (default 64)\n\
     --seconds S       measured duration of each of the four phases (default 10)\n\
     --warmup S        unmeasured warm-up before each phase (default 1)\n\
     --database D      `sqlite` (a fresh file in a temp dir, the default) or a PostgreSQL URL\n\
                       (a fresh schema is created in it and dropped afterwards);\n\
                       also read from KASSA_BENCH_DATABASE_URL"
}

fn parse_options() -> Options {
    let mut o = Options {
        connections: 64,
        seconds: 10.0,
        warmup: 1.0,
        database: std::env::var("KASSA_BENCH_DATABASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "sqlite".to_string()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> String {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| panic!("{name} needs a value\n\n{}", usage()))
        };
        match flag.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--connections" | "-c" => {
                o.connections = value("--connections")
                    .parse()
                    .expect("--connections must be a positive integer");
            }
            "--seconds" | "-s" => {
                o.seconds = value("--seconds")
                    .parse()
                    .expect("--seconds must be a number");
            }
            "--warmup" => {
                o.warmup = value("--warmup")
                    .parse()
                    .expect("--warmup must be a number");
            }
            "--database" | "-d" => o.database = value("--database"),
            "--help" | "-h" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}`\n\n{}", usage()),
        }
    }
    assert!(
        (1..=1024).contains(&o.connections),
        "--connections must be 1..=1024"
    );
    assert!(
        o.seconds > 0.0 && o.seconds <= 600.0,
        "--seconds must be in (0, 600]"
    );
    assert!(
        (0.0..=60.0).contains(&o.warmup),
        "--warmup must be in [0, 60]"
    );
    o
}

// ---------- load generation ----------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    CreateCart,
    AddItem,
    GetCart,
    Trivial,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::CreateCart => "create-cart `POST /carts`",
            Op::AddItem => "add-item `POST /carts/{id}/items`",
            Op::GetCart => "get-cart `GET /carts/{id}`",
            Op::Trivial => "trivial handler (same body size)",
        }
    }
}

/// What every worker needs to build its requests.
struct Target {
    kassa: String,
    trivial: String,
    create_body: Bytes,
    add_body: Bytes,
    carts: Vec<String>,
}

#[derive(Default)]
struct WorkerResult {
    /// Latency of every measured request, in microseconds.
    latencies_us: Vec<u32>,
    ok: u64,
    errors: u64,
    error_samples: Vec<String>,
    response_bytes: u64,
    /// Carts created (warm-up included), for the later phases.
    cart_ids: Vec<String>,
    /// When this worker's last measured request completed.
    last_done: Option<Instant>,
}

fn cart_id_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Data {
        id: String,
    }
    #[derive(serde::Deserialize)]
    struct Envelope {
        data: Data,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.data.id)
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    op: Op,
    index: usize,
    connections: usize,
    client: reqwest::Client,
    target: Arc<Target>,
    measure_from: Instant,
    deadline: Instant,
    max_requests: usize,
) -> WorkerResult {
    let mut r = WorkerResult::default();
    // Worker i uses carts i, i+N, i+2N, …: no two connections write to the same cart.
    let mut k = 0usize;
    let mut measured = 0usize;
    loop {
        let start = Instant::now();
        if start >= deadline || measured >= max_requests {
            break;
        }
        let req = match op {
            Op::CreateCart => client
                .post(format!("{}{STORE}/carts", target.kassa))
                .header("content-type", "application/json")
                .body(target.create_body.clone()),
            Op::AddItem | Op::GetCart => {
                let n = target.carts.len();
                let cart = &target.carts[(index + k * connections) % n];
                k += 1;
                if op == Op::AddItem {
                    client
                        .post(format!("{}{STORE}/carts/{cart}/items", target.kassa))
                        .header("content-type", "application/json")
                        .body(target.add_body.clone())
                } else {
                    client.get(format!("{}{STORE}/carts/{cart}", target.kassa))
                }
            }
            Op::Trivial => client.get(&target.trivial),
        }
        .header("x-auth-token", TOKEN)
        .header("accept", "application/json");
        let outcome = match req.send().await {
            Ok(res) => {
                let status = res.status();
                res.bytes()
                    .await
                    .map(|b| (status, b))
                    .map_err(|e| format!("reading body: {e}"))
            }
            Err(e) => Err(format!("request: {e}")),
        };
        let done = Instant::now();
        let measuring = start >= measure_from;
        if measuring {
            measured += 1;
            let us = done.duration_since(start).as_micros();
            r.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            r.last_done = Some(done);
        }
        match outcome {
            Ok((status, body)) if status.is_success() => {
                if op == Op::CreateCart {
                    match cart_id_of(&body) {
                        Some(id) => r.cart_ids.push(id),
                        None => {
                            // A 2xx without a cart id is an error too.
                            if measuring {
                                r.errors += 1;
                            }
                            if r.error_samples.len() < ERROR_SAMPLES {
                                r.error_samples.push(format!(
                                    "{status} without data.id: {}",
                                    String::from_utf8_lossy(&body[..body.len().min(200)])
                                ));
                            }
                            continue;
                        }
                    }
                }
                if measuring {
                    r.ok += 1;
                    r.response_bytes += body.len() as u64;
                }
            }
            Ok((status, body)) => {
                if measuring {
                    r.errors += 1;
                }
                if r.error_samples.len() < ERROR_SAMPLES {
                    r.error_samples.push(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            Err(e) => {
                if measuring {
                    r.errors += 1;
                }
                if r.error_samples.len() < ERROR_SAMPLES {
                    r.error_samples.push(e);
                }
                // Do not spin on a dead server.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    r
}

struct PhaseResult {
    op: Op,
    requests: u64,
    errors: u64,
    seconds: f64,
    throughput: f64,
    p50: u32,
    p90: u32,
    p99: u32,
    max: u32,
    mean_body: f64,
    error_samples: Vec<String>,
    cart_ids: Vec<String>,
}

async fn run_phase(
    op: Op,
    opts: &Options,
    clients: &[reqwest::Client],
    target: &Arc<Target>,
) -> PhaseResult {
    eprintln!(
        "phase {:<12} {} connections, {:.1}s warm-up + {:.1}s",
        format!("{op:?}"),
        opts.connections,
        opts.warmup,
        opts.seconds
    );
    let measure_from = Instant::now() + Duration::from_secs_f64(opts.warmup);
    let deadline = measure_from + Duration::from_secs_f64(opts.seconds);
    let per_worker = MAX_REQUESTS_PER_PHASE / opts.connections;
    let handles: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(worker(
                op,
                i,
                opts.connections,
                c.clone(),
                target.clone(),
                measure_from,
                deadline,
                per_worker,
            ))
        })
        .collect();
    let mut all = Vec::new();
    let (mut ok, mut errors, mut bytes) = (0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    let mut cart_ids = Vec::new();
    let mut last_done = measure_from;
    for h in handles {
        let r = h.await.expect("benchmark worker panicked");
        all.extend_from_slice(&r.latencies_us);
        ok += r.ok;
        errors += r.errors;
        bytes += r.response_bytes;
        cart_ids.extend(r.cart_ids);
        for s in r.error_samples {
            if samples.len() < ERROR_SAMPLES {
                samples.push(s);
            }
        }
        if let Some(d) = r.last_done {
            last_done = last_done.max(d);
        }
    }
    all.sort_unstable();
    let seconds = last_done.duration_since(measure_from).as_secs_f64();
    let result = PhaseResult {
        op,
        requests: all.len() as u64,
        errors,
        seconds,
        throughput: if seconds > 0.0 {
            ok as f64 / seconds
        } else {
            0.0
        },
        p50: percentile(&all, 0.50),
        p90: percentile(&all, 0.90),
        p99: percentile(&all, 0.99),
        max: all.last().copied().unwrap_or(0),
        mean_body: if ok > 0 {
            bytes as f64 / ok as f64
        } else {
            0.0
        },
        error_samples: samples,
        cart_ids,
    };
    eprintln!(
        "  {} requests in {:.2}s, {} errors, {:.0} req/s, p50 {}",
        result.requests,
        result.seconds,
        result.errors,
        result.throughput,
        ms(result.p50)
    );
    for s in &result.error_samples {
        eprintln!("  error sample: {s}");
    }
    result
}

// ---------- setup helpers ----------

/// One request outside the measured phases, for setup.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> (reqwest::StatusCode, Bytes) {
    let mut req = client.request(method, url).header("x-auth-token", TOKEN);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.expect("setup request");
    let status = res.status();
    let body = res.bytes().await.expect("setup response body");
    (status, body)
}

/// The item the create-cart phase puts in each cart: a catalog product when the catalog
/// API lists one that a cart accepts, otherwise a custom item.
async fn choose_item(client: &reqwest::Client, kassa: &str) -> (Value, String) {
    let custom = json!({ "custom_items": [{
        "sku": "BENCH-1", "name": "Benchmark item", "quantity": 1, "list_price": 19.99
    }]});
    let (status, body) = call(
        client,
        reqwest::Method::GET,
        &format!("{kassa}{STORE}/catalog/products?limit=1&include=variants"),
        None,
    )
    .await;
    let product = if status.is_success() {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["data"].get(0).cloned())
    } else {
        None
    };
    let Some(product) = product else {
        return (
            custom,
            format!("custom item (catalog list answered {status} with no product)"),
        );
    };
    let Some(product_id) = product["id"].as_i64() else {
        return (custom, "custom item (catalog product has no id)".into());
    };
    let mut candidates = vec![json!({ "product_id": product_id, "quantity": 1 })];
    if let Some(variant_id) = product["variants"].get(0).and_then(|v| v["id"].as_i64()) {
        candidates
            .push(json!({ "product_id": product_id, "variant_id": variant_id, "quantity": 1 }));
    }
    for line in candidates {
        let create = json!({ "line_items": [line] });
        let (status, _) = call(
            client,
            reqwest::Method::POST,
            &format!("{kassa}{STORE}/carts"),
            Some(&create),
        )
        .await;
        if status.is_success() {
            return (create, format!("catalog product {line}"));
        }
    }
    (
        custom,
        format!("custom item (a cart refused catalog product {product_id})"),
    )
}

/// A real GET-cart body of the median size among some of the carts, served verbatim by
/// the trivial handler.
async fn typical_cart_body(client: &reqwest::Client, kassa: &str, carts: &[String]) -> Bytes {
    let step = (carts.len() / 31).max(1);
    let mut bodies = Vec::new();
    for cart in carts.iter().step_by(step).take(31) {
        let (status, body) = call(
            client,
            reqwest::Method::GET,
            &format!("{kassa}{STORE}/carts/{cart}"),
            None,
        )
        .await;
        assert!(
            status.is_success(),
            "GET cart {cart} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        bodies.push(body);
    }
    bodies.sort_by_key(|b| b.len());
    bodies[bodies.len() / 2].clone()
}

// ---------- main ----------

#[tokio::main]
async fn main() {
    let opts = parse_options();
    let started = Instant::now();
    let db = FreshDatabase::create(&opts.database).await;

    // Kassa, in this process.
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: db.url().to_string(),
        public_url: None,
        tls: None,
        ..Default::default()
    };
    let app = Application::build(&settings)
        .await
        .expect("build the Kassa application");
    app.kassa
        .ensure_demo_store(Some(TOKEN.to_string()))
        .await
        .expect("create the demo store");
    let kassa_url = format!("http://{}", app.local_addr());
    let (stop_kassa, kassa_stopped) = tokio::sync::oneshot::channel::<()>();
    let kassa_task = tokio::spawn(app.run_until(async {
        let _ = kassa_stopped.await;
    }));

    let setup_client = client();
    let (create, item) = choose_item(&setup_client, &kassa_url).await;
    let add = json!({ "custom_items": [{
        "sku": "BENCH-2", "name": "Benchmark add-on", "quantity": 2, "list_price": 5.25
    }]});
    // Prove both bodies are accepted before measuring anything.
    let (status, body) = call(
        &setup_client,
        reqwest::Method::POST,
        &format!("{kassa_url}{STORE}/carts"),
        Some(&create),
    )
    .await;
    assert!(
        status.is_success(),
        "create cart answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let probe = cart_id_of(&body).expect("create-cart response has data.id");
    let (status, body) = call(
        &setup_client,
        reqwest::Method::POST,
        &format!("{kassa_url}{STORE}/carts/{probe}/items"),
        Some(&add),
    )
    .await;
    assert!(
        status.is_success(),
        "add item answered {status}: {}",
        String::from_utf8_lossy(&body)
    );

    // The trivial server, in this process too; its body is filled in before its phase.
    let trivial_body: Arc<std::sync::OnceLock<Bytes>> = Arc::new(std::sync::OnceLock::new());
    let served = trivial_body.clone();
    let trivial_app = axum::Router::new().route(
        "/trivial",
        axum::routing::get(move || {
            let body = served.get().cloned().unwrap_or_default();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let trivial_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the trivial server");
    let trivial_url = format!(
        "http://{}/trivial",
        trivial_listener
            .local_addr()
            .expect("trivial server address")
    );
    let (stop_trivial, trivial_stopped) = tokio::sync::oneshot::channel::<()>();
    let trivial_task = tokio::spawn(async move {
        axum::serve(trivial_listener, trivial_app)
            .with_graceful_shutdown(async {
                let _ = trivial_stopped.await;
            })
            .await
    });

    let clients: Vec<reqwest::Client> = (0..opts.connections).map(|_| client()).collect();
    let target = |carts: Vec<String>| {
        Arc::new(Target {
            kassa: kassa_url.clone(),
            trivial: trivial_url.clone(),
            create_body: Bytes::from(create.to_string()),
            add_body: Bytes::from(add.to_string()),
            carts,
        })
    };

    // (1) create-cart; the carts it makes feed the other phases.
    let mut created = run_phase(Op::CreateCart, &opts, &clients, &target(Vec::new())).await;
    let carts = std::mem::take(&mut created.cart_ids);
    assert!(
        !carts.is_empty(),
        "the create-cart phase created no cart; errors: {:?}",
        created.error_samples
    );
    let with_carts = target(carts.clone());
    // (2) add-item, (3) get-cart.
    let added = run_phase(Op::AddItem, &opts, &clients, &with_carts).await;
    let body = typical_cart_body(&setup_client, &kassa_url, &carts).await;
    let body_len = body.len();
    trivial_body
        .set(body)
        .expect("the trivial body is set once");
    let got = run_phase(Op::GetCart, &opts, &clients, &with_carts).await;
    // (4) the trivial handler, same body size.
    let trivial = run_phase(Op::Trivial, &opts, &clients, &with_carts).await;

    drop(clients);
    let _ = stop_trivial.send(());
    let _ = stop_kassa.send(());
    if let Ok(Err(e)) = trivial_task.await {
        eprintln!("warning: trivial server: {e}");
    }
    if let Ok(Err(e)) = kassa_task.await {
        eprintln!("warning: Kassa server: {e}");
    }
    let backend = db.backend();
    db.remove().await;

    let phases = [&created, &added, &got, &trivial];
    print!(
        "{}",
        report(&Report {
            backend,
            opts: &opts,
            item: &item,
            carts: carts.len(),
            body_len,
            phases: &phases,
            total: started.elapsed(),
        })
    );
    let errors: u64 = phases.iter().map(|p| p.errors).sum();
    if errors > 0 {
        eprintln!("{errors} requests failed: see the error samples above");
        std::process::exit(1);
    }
}

struct Report<'a> {
    backend: &'a str,
    opts: &'a Options,
    item: &'a str,
    carts: usize,
    body_len: usize,
    phases: &'a [&'a PhaseResult],
    total: Duration,
}

fn report(r: &Report<'_>) -> String {
    let trivial = r.phases.iter().find(|p| p.op == Op::Trivial);
    let get = r.phases.iter().find(|p| p.op == Op::GetCart);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### {} — {} connections, {} s per phase (+{} s warm-up)\n",
        r.backend, r.opts.connections, r.opts.seconds, r.opts.warmup
    );
    let _ = writeln!(
        out,
        "Cart item: {}. Carts created: {}. GET-cart body (median of a sample; the trivial \
         handler serves this exact body): {} bytes. Total run: {:.1} s.\n",
        r.item,
        r.carts,
        r.body_len,
        r.total.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| phase | requests | errors | req/s (2xx) | p50 | p90 | p99 | max | mean body | req/s vs trivial |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in r.phases {
        let vs = match trivial {
            Some(t) if t.throughput > 0.0 => format!("{:.3}", p.throughput / t.throughput),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {:.0} B | {} |",
            p.op.label(),
            p.requests,
            p.errors,
            p.throughput,
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.max),
            p.mean_body,
            vs
        );
    }
    if let (Some(g), Some(t)) = (get, trivial) {
        let _ = writeln!(out);
        if t.throughput > 0.0 && t.p50 > 0 {
            let _ = writeln!(
                out,
                "**get-cart / trivial: throughput ratio {:.3} ({:.0} vs {:.0} req/s), \
                 p50 latency ratio {:.2} ({} vs {}).**",
                g.throughput / t.throughput,
                g.throughput,
                t.throughput,
                f64::from(g.p50) / f64::from(t.p50),
                ms(g.p50),
                ms(t.p50)
            );
        }
    }
    for p in r.phases {
        if p.errors > 0 {
            let _ = writeln!(
                out,
                "\n{} errors in {}; samples: {:?}",
                p.errors,
                p.op.label(),
                p.error_samples
            );
        }
    }
    out
}
