//! The load generator: complete headless checkouts against real Kassa processes.
//!
//! ```text
//! cargo bench --bench checkout_load                                   # SQLite, one node
//! cargo bench --bench checkout_load -- --database postgres://postgres@127.0.0.1:5432/test
//! cargo bench --bench checkout_load -- --database postgres://… --nodes 3
//! cargo bench --bench checkout_load -- --url http://127.0.0.1:8080 --token $TOKEN   # a running Kassa
//! ```
//!
//! Starts `--nodes` Kassa server processes (the `kassa` binary this package builds) on a
//! fresh database — a SQLite file in a temporary directory or a new schema in the
//! PostgreSQL database given — with the demo store, then runs, all in this one process:
//!
//! 0. **statistics** (PostgreSQL only): a second of the flow, then `ANALYZE` of the fresh
//!    schema, so its plans are those of a live database ([`FreshDatabase::analyze`]).
//! 1. **flow**: `--shoppers` concurrent shoppers in a closed loop, each completing the
//!    whole headless checkout: cart with 3 items, billing address, consignment with
//!    `include=consignments.available_shipping_options`, shipping option, coupon, order,
//!    payment access token, card payment. With several nodes each step of a checkout goes
//!    to the next node, so no checkout stays on one process. Every response is checked.
//! 2. **half load**: the same flow paced (open loop) at half the checkouts/s of phase 1,
//!    for the latency of each step when the machine is not saturated.
//! 3. **get-checkout vs baseline**: `GET /checkouts/{id}` on ready checkouts, then the
//!    same number of connections, through the same client, against a minimal HTTP server
//!    in this process (on its own multi-threaded runtime, like a node) that returns a fixed
//!    body of the same size; the ratio of the two throughputs.
//! 4. **big cart**: one cart grown line by line to `--lines` lines (default 1,000),
//!    timing each add and a GET of its checkout at 10, 100 and 1,000 lines.
//! 5. **verification**: every order from phases 1–2 read back through V2 (Awaiting
//!    Fulfillment, the total the checkout showed) and, from the database, no order with
//!    more than one approved payment and no order id given twice.
//!
//! It also reports each node's readiness after start and its resident memory idle and
//! at peak. Results and their interpretation: `BENCHMARKS.md`. Exit status 1 when any
//! request failed or any violation was found.
//!
//! The generator shares the machine with the nodes it measures, so it is built to spend
//! little CPU per checkout: one thread, one keep-alive connection per shopper and node
//! ([`support::Http`]), request bodies serialized once, and responses read into structs
//! holding only the fields the checks need.

mod support;

use axum::body::Bytes;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{
    BASELINE_THREADS, CpuTimes, FreshDatabase, Http, address, cart_body, ms, payment_body,
    percentile, spawn_node,
};

// The generator's many small allocations (bodies, ids, latencies) cost less with it, as in
// the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-token-all-scopes-0001";
const STORE: &str = "/stores/demo";
const ERROR_SAMPLES: usize = 8;
/// Checkouts made ready (up to the coupon) for the GET phase.
const READY_CHECKOUTS: usize = 256;

struct Options {
    database: String,
    nodes: usize,
    shoppers: usize,
    seconds: f64,
    warmup: f64,
    half_seconds: f64,
    get_seconds: f64,
    lines: usize,
    url: Option<String>,
    token: String,
}

fn usage() -> &'static str {
    "cargo bench --bench checkout_load -- [options]\n\
     \n\
     --database D       `sqlite` (a fresh file in a temp dir, the default) or a PostgreSQL URL\n\
                        (a fresh schema in it, dropped afterwards); also KASSA_BENCH_DATABASE_URL\n\
     --nodes N          Kassa processes sharing the database (default 1; >1 needs PostgreSQL)\n\
     --shoppers N       concurrent shoppers in the flow phases (default 64)\n\
     --seconds S        measured seconds of the full-load flow (default 20)\n\
     --warmup S         unmeasured warm-up before it (default 2)\n\
     --half-seconds S   seconds of the half-load flow (default 10; 0 skips it)\n\
     --get-seconds S    seconds of each GET phase (default 5)\n\
     --lines N          size of the big cart (default 1000; 0 skips it)\n\
     --url URL          use a running Kassa instead of starting nodes (no memory figures)\n\
     --token T          its demo-store API token (with --url)"
}

fn parse_options() -> Options {
    let mut o = Options {
        database: std::env::var("KASSA_BENCH_DATABASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "sqlite".to_string()),
        nodes: 1,
        shoppers: 64,
        seconds: 20.0,
        warmup: 2.0,
        half_seconds: 10.0,
        get_seconds: 5.0,
        lines: 1000,
        url: None,
        token: TOKEN.to_string(),
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
        fn num<T: std::str::FromStr>(name: &str, v: String) -> T {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number, not `{v}`"))
        }
        match flag.as_str() {
            "--bench" => {}
            "--database" | "-d" => o.database = value("--database"),
            "--nodes" => o.nodes = num("--nodes", value("--nodes")),
            "--shoppers" | "-c" => o.shoppers = num("--shoppers", value("--shoppers")),
            "--seconds" | "-s" => o.seconds = num("--seconds", value("--seconds")),
            "--warmup" => o.warmup = num("--warmup", value("--warmup")),
            "--half-seconds" => o.half_seconds = num("--half-seconds", value("--half-seconds")),
            "--get-seconds" => o.get_seconds = num("--get-seconds", value("--get-seconds")),
            "--lines" => o.lines = num("--lines", value("--lines")),
            "--url" => o.url = Some(value("--url").trim_end_matches('/').to_string()),
            "--token" => o.token = value("--token"),
            "--help" | "-h" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}`\n\n{}", usage()),
        }
    }
    assert!((1..=16).contains(&o.nodes), "--nodes must be 1..=16");
    assert!(
        o.nodes == 1 || o.database != "sqlite" || o.url.is_some(),
        "several nodes share one database: use --database postgres://…"
    );
    assert!(
        (1..=4096).contains(&o.shoppers),
        "--shoppers must be 1..=4096"
    );
    assert!(
        o.seconds > 0.0 && o.seconds <= 3600.0,
        "--seconds must be in (0, 3600]"
    );
    assert!(o.lines <= 10_000, "--lines must be at most 10000");
    assert!(
        o.url.as_ref().is_none_or(|u| u.starts_with("http://")),
        "--url must be an http:// URL (the load generator speaks plain HTTP/1.1)"
    );
    o
}

// ---------- Kassa nodes ----------

// ---------- the checkout flow ----------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Step {
    CreateCart,
    BillingAddress,
    Consignment,
    ShippingOption,
    Coupon,
    Order,
    PaymentToken,
    Payment,
}

const STEPS: [Step; 8] = [
    Step::CreateCart,
    Step::BillingAddress,
    Step::Consignment,
    Step::ShippingOption,
    Step::Coupon,
    Step::Order,
    Step::PaymentToken,
    Step::Payment,
];

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::CreateCart => "`POST /v3/carts` (3 items)",
            Step::BillingAddress => "`POST /checkouts/{id}/billing-address`",
            Step::Consignment => "`POST /checkouts/{id}/consignments?include=…options`",
            Step::ShippingOption => "`PUT /checkouts/{id}/consignments/{id}`",
            Step::Coupon => "`POST /checkouts/{id}/coupons`",
            Step::Order => "`POST /checkouts/{id}/orders`",
            Step::PaymentToken => "`POST /v3/payments/access_tokens`",
            Step::Payment => "`POST /payments` (test card)",
        }
    }
}

/// What every shopper needs.
struct Target {
    nodes: Vec<String>,
    token: String,
    /// The request bodies every checkout sends unchanged, serialized once.
    cart: Vec<u8>,
    address: Vec<u8>,
    payment: Vec<u8>,
}

impl Target {
    fn new(nodes: Vec<String>, token: String) -> Target {
        let bytes = |v: serde_json::Value| v.to_string().into_bytes();
        Target {
            nodes,
            token,
            cart: bytes(cart_body()),
            address: bytes(address()),
            payment: bytes(payment_body()),
        }
    }

    /// The node for step `k` of checkout `n`: several nodes take turns within one checkout.
    fn node(&self, n: usize, k: usize) -> &str {
        &self.nodes[(n + k) % self.nodes.len()]
    }

    /// The headers of a request with the store's API token.
    fn auth(&self) -> [(&str, &str); 2] {
        [
            ("x-auth-token", self.token.as_str()),
            ("accept", "application/json"),
        ]
    }
}

/// A failed check: which step, and what came back.
struct Failure {
    step: Step,
    what: String,
}

/// A completed checkout: its order and the total its checkout showed.
#[derive(Clone)]
struct Completed {
    order_id: i64,
    grand_total: Decimal,
}

// ---------- the fields the checks read ----------
// serde skips every other field of a response without building it.

/// A string of a response, borrowed from the body unless it holds escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl Text<'_> {
    fn is(t: &Option<Text>, want: &str) -> bool {
        t.as_ref().is_some_and(|t| t.0 == want)
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct CartOut<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    line_items: LineItemsOut<'a>,
    cart_amount: Decimal,
}

#[derive(Deserialize)]
struct LineItemsOut<'a> {
    #[serde(borrow)]
    physical_items: Vec<ItemOut<'a>>,
}

#[derive(Deserialize)]
struct ItemOut<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    quantity: i64,
}

#[derive(Deserialize)]
struct BillingOut<'a> {
    #[serde(borrow)]
    billing_address: Option<EmailOut<'a>>,
}

#[derive(Deserialize)]
struct EmailOut<'a> {
    #[serde(borrow)]
    email: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct ConsignmentsOut<'a> {
    #[serde(borrow)]
    consignments: Vec<ConsignmentOut<'a>>,
}

#[derive(Deserialize)]
struct ConsignmentOut<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    available_shipping_options: Option<Vec<ShippingOptionOut<'a>>>,
    #[serde(borrow)]
    selected_shipping_option: Option<IdText<'a>>,
}

#[derive(Deserialize)]
struct ShippingOptionOut<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    description: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct IdText<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct IdNumber {
    id: Option<i64>,
}

#[derive(Deserialize)]
struct CouponsOut<'a> {
    #[serde(borrow)]
    coupons: Option<Vec<CodeOut<'a>>>,
    grand_total: Decimal,
}

#[derive(Deserialize)]
struct CodeOut<'a> {
    #[serde(borrow)]
    code: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct PaymentOut<'a> {
    #[serde(borrow)]
    status: Option<Text<'a>>,
}

/// Sends one step and checks its status; returns the body's checked fields and the latency.
#[allow(clippy::too_many_arguments)]
async fn step_call<'h, T: Deserialize<'h>>(
    http: &'h mut Http,
    step: Step,
    node: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    want: u16,
) -> Result<(T, u32), Failure> {
    let start = Instant::now();
    let out = http.send(node, method, path, headers, body).await;
    let us = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
    let fail = |what: String| Failure { step, what };
    let res = out.map_err(fail)?;
    if res.status != want {
        return Err(fail(format!(
            "{} (wanted {want}): {}",
            res.status,
            res.snippet(300)
        )));
    }
    let v = serde_json::from_slice(res.body)
        .map_err(|e| fail(format!("unexpected body ({e}): {}", res.snippet(300))))?;
    Ok((v, us))
}

/// The consignment for the cart's items to the billing address, as JSON.
fn consignment_body(address: &[u8], items: &[ItemOut]) -> Vec<u8> {
    let mut b = Vec::with_capacity(address.len() + 128);
    b.extend_from_slice(b"[{\"address\":");
    b.extend_from_slice(address);
    b.extend_from_slice(b",\"line_items\":[");
    for (k, i) in items.iter().enumerate() {
        if k > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"item_id\":");
        json_string(&mut b, &i.id.0);
        b.extend_from_slice(format!(",\"quantity\":{}}}", i.quantity).as_bytes());
    }
    b.extend_from_slice(b"]}]");
    b
}

/// `s` as a JSON string (quoted, escaped).
fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail; a str always serializes.
    let _ = serde_json::to_writer(out, s);
}

/// One whole checkout; latencies go to `lat` by step. Stops at the first failed check.
async fn checkout(
    http: &mut Http,
    t: &Target,
    n: usize,
    lat: &mut BTreeMap<Step, Vec<u32>>,
    stop_after: Option<Step>,
) -> Result<(String, Option<Completed>), Failure> {
    let auth = t.auth();
    let mut record = |s: Step, us: u32| lat.entry(s).or_default().push(us);
    let bad = |step: Step, what: String| Failure { step, what };

    let (v, us) = step_call::<Data<CartOut>>(
        http,
        Step::CreateCart,
        t.node(n, 0),
        "POST",
        &format!("{STORE}/v3/carts"),
        &auth,
        Some(&t.cart),
        201,
    )
    .await?;
    record(Step::CreateCart, us);
    let items = &v.data.line_items.physical_items;
    if items.len() != 3 || v.data.cart_amount != Decimal::new(8195, 2) {
        return Err(bad(
            Step::CreateCart,
            format!(
                "wanted 3 items worth 81.95, got {} items worth {}",
                items.len(),
                v.data.cart_amount
            ),
        ));
    }
    let cart = v.data.id.0.into_owned();
    let consignment = consignment_body(&t.address, items);
    let checkout = format!("{STORE}/v3/checkouts/{cart}");

    let (v, us) = step_call::<Data<BillingOut>>(
        http,
        Step::BillingAddress,
        t.node(n, 1),
        "POST",
        &format!("{checkout}/billing-address"),
        &auth,
        Some(&t.address),
        200,
    )
    .await?;
    record(Step::BillingAddress, us);
    let email = v.data.billing_address.and_then(|a| a.email);
    if !Text::is(&email, "ada@example.com") {
        return Err(bad(Step::BillingAddress, "billing address not set".into()));
    }

    let (v, us) = step_call::<Data<ConsignmentsOut>>(
        http,
        Step::Consignment,
        t.node(n, 2),
        "POST",
        &format!("{checkout}/consignments?include=consignments.available_shipping_options"),
        &auth,
        Some(&consignment),
        200,
    )
    .await?;
    record(Step::Consignment, us);
    let first = v.data.consignments.into_iter().next();
    let consignment_id = first
        .as_ref()
        .and_then(|c| c.id.as_ref())
        .ok_or_else(|| bad(Step::Consignment, "no consignment id".into()))?
        .0
        .to_string();
    let option = first
        .as_ref()
        .and_then(|c| c.available_shipping_options.as_ref())
        .and_then(|o| o.iter().find(|o| Text::is(&o.description, "Standard")))
        .and_then(|o| o.id.as_ref())
        .ok_or_else(|| bad(Step::Consignment, "no Standard shipping option".into()))?
        .0
        .to_string();

    let mut option_body = b"{\"shipping_option_id\":".to_vec();
    json_string(&mut option_body, &option);
    option_body.push(b'}');
    let (v, us) = step_call::<Data<ConsignmentsOut>>(
        http,
        Step::ShippingOption,
        t.node(n, 3),
        "PUT",
        &format!("{checkout}/consignments/{consignment_id}"),
        &auth,
        Some(&option_body),
        200,
    )
    .await?;
    record(Step::ShippingOption, us);
    let selected = v
        .data
        .consignments
        .into_iter()
        .next()
        .and_then(|c| c.selected_shipping_option)
        .and_then(|o| o.id);
    if !Text::is(&selected, &option) {
        return Err(bad(Step::ShippingOption, "option not selected".into()));
    }

    let (v, us) = step_call::<Data<CouponsOut>>(
        http,
        Step::Coupon,
        t.node(n, 4),
        "POST",
        &format!("{checkout}/coupons"),
        &auth,
        Some(br#"{"coupon_code":"TENPERCENT"}"#),
        200,
    )
    .await?;
    record(Step::Coupon, us);
    let code = v
        .data
        .coupons
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.code);
    if !Text::is(&code, "TENPERCENT") {
        return Err(bad(Step::Coupon, "coupon not applied".into()));
    }
    let grand_total = v.data.grand_total;
    if stop_after == Some(Step::Coupon) {
        return Ok((cart, None));
    }

    let (v, us) = step_call::<Data<IdNumber>>(
        http,
        Step::Order,
        t.node(n, 5),
        "POST",
        &format!("{checkout}/orders"),
        &auth,
        None,
        200,
    )
    .await?;
    record(Step::Order, us);
    let order_id = v
        .data
        .id
        .ok_or_else(|| bad(Step::Order, "no order id".into()))?;

    let (v, us) = step_call::<Data<IdText>>(
        http,
        Step::PaymentToken,
        t.node(n, 6),
        "POST",
        &format!("{STORE}/v3/payments/access_tokens"),
        &auth,
        Some(format!(r#"{{"order":{{"id":{order_id}}}}}"#).as_bytes()),
        201,
    )
    .await?;
    record(Step::PaymentToken, us);
    let pat = v
        .data
        .id
        .ok_or_else(|| bad(Step::PaymentToken, "no token".into()))?;

    let pat_header = format!("PAT {}", pat.0);
    let (v, us) = step_call::<Data<PaymentOut>>(
        http,
        Step::Payment,
        t.node(n, 7),
        "POST",
        &format!("{STORE}/payments"),
        &[
            ("authorization", &pat_header),
            ("accept", "application/json"),
        ],
        Some(&t.payment),
        201,
    )
    .await?;
    record(Step::Payment, us);
    if !Text::is(&v.data.status, "success") {
        let status = v.data.status.map(|s| s.0.into_owned());
        return Err(bad(Step::Payment, format!("payment status {status:?}")));
    }
    Ok((
        cart,
        Some(Completed {
            order_id,
            grand_total,
        }),
    ))
}

#[derive(Default)]
struct FlowResult {
    latencies: BTreeMap<Step, Vec<u32>>,
    completed: Vec<Completed>,
    /// Checkouts finished inside the measured window.
    measured_checkouts: u64,
    failures: u64,
    samples: Vec<String>,
    last_done: Option<Instant>,
}

impl FlowResult {
    fn absorb(&mut self, other: FlowResult) {
        for (s, mut v) in other.latencies {
            self.latencies.entry(s).or_default().append(&mut v);
        }
        self.completed.extend(other.completed);
        self.measured_checkouts += other.measured_checkouts;
        self.failures += other.failures;
        for s in other.samples {
            if self.samples.len() < ERROR_SAMPLES {
                self.samples.push(s);
            }
        }
        self.last_done = self.last_done.max(other.last_done);
    }

    fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }
}

/// How shoppers pace themselves: as fast as they can, or one checkout per interval.
#[derive(Clone, Copy)]
enum Pace {
    Closed,
    Every(Duration),
}

async fn shopper(
    // Where in the pacing interval this shopper starts, from 0 to 1.
    phase: f64,
    counter: Arc<AtomicUsize>,
    target: Arc<Target>,
    pace: Pace,
    measure_from: Instant,
    deadline: Instant,
) -> FlowResult {
    let mut http = Http::new();
    let mut r = FlowResult::default();
    // Open-loop shoppers start at staggered offsets so the arrivals are spread evenly.
    let mut next = match pace {
        Pace::Closed => Instant::now(),
        Pace::Every(every) => Instant::now() + every.mul_f64(phase),
    };
    loop {
        if let Pace::Every(every) = pace {
            tokio::time::sleep_until(next.into()).await;
            next += every;
        }
        let start = Instant::now();
        if start >= deadline {
            break;
        }
        let measuring = start >= measure_from;
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let mut lat = BTreeMap::new();
        match checkout(&mut http, &target, n, &mut lat, None).await {
            Ok((_, Some(done))) => {
                if measuring {
                    r.measured_checkouts += 1;
                    r.last_done = Some(Instant::now());
                    for (s, v) in lat {
                        r.latencies.entry(s).or_default().extend(v);
                    }
                }
                r.completed.push(done);
            }
            Ok((_, None)) => {}
            Err(f) => {
                if measuring {
                    r.failures += 1;
                }
                if r.samples.len() < ERROR_SAMPLES {
                    r.samples.push(format!("{:?}: {}", f.step, f.what));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    r
}

async fn run_flow(
    name: &str,
    shoppers: usize,
    target: &Arc<Target>,
    pace: Pace,
    warmup: f64,
    seconds: f64,
) -> (FlowResult, f64) {
    eprintln!("phase {name}: {shoppers} shoppers, {warmup:.1}s warm-up + {seconds:.1}s");
    let counter = Arc::new(AtomicUsize::new(0));
    let measure_from = Instant::now() + Duration::from_secs_f64(warmup);
    let deadline = measure_from + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..shoppers)
        .map(|i| {
            tokio::spawn(shopper(
                i as f64 / shoppers as f64,
                counter.clone(),
                target.clone(),
                pace,
                measure_from,
                deadline,
            ))
        })
        .collect();
    let mut all = FlowResult::default();
    for h in handles {
        all.absorb(h.await.expect("shopper task panicked"));
    }
    let secs = all
        .last_done
        .map(|d| d.duration_since(measure_from).as_secs_f64())
        .unwrap_or(seconds)
        .max(seconds * 0.5);
    for s in &mut all.latencies.values_mut() {
        s.sort_unstable();
    }
    eprintln!(
        "  {} checkouts ({:.0}/s), {} requests, {} failures",
        all.measured_checkouts,
        all.measured_checkouts as f64 / secs,
        all.requests(),
        all.failures
    );
    for s in &all.samples {
        eprintln!("  failure sample: {s}");
    }
    (all, secs)
}

// ---------- GET phases ----------

struct GetResult {
    errors: u64,
    throughput: f64,
    /// CPU used over the measured seconds (after the warm-up), by group.
    cpu: Option<CpuTimes>,
    lat: Vec<u32>,
    mean_body: f64,
    samples: Vec<String>,
}

/// `connections` connections, each getting the next of `urls` (origin, path) in turn.
async fn run_gets(
    name: &str,
    urls: Arc<Vec<(String, String)>>,
    token: &str,
    connections: usize,
    seconds: f64,
    node_pids: &[u32],
) -> GetResult {
    eprintln!("phase {name}: {connections} connections, 1s warm-up + {seconds:.1}s");
    let measure_from = Instant::now() + Duration::from_secs(1);
    let deadline = measure_from + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..connections)
        .map(|i| {
            let urls = urls.clone();
            let token = token.to_string();
            tokio::spawn(async move {
                let mut http = Http::new();
                let headers = [
                    ("x-auth-token", token.as_str()),
                    ("accept", "application/json"),
                ];
                let (mut lat, mut ok, mut errors, mut bytes) = (Vec::new(), 0u64, 0u64, 0u64);
                let mut samples = Vec::new();
                let mut k = i;
                loop {
                    let start = Instant::now();
                    if start >= deadline {
                        break;
                    }
                    let (origin, path) = &urls[k % urls.len()];
                    k += connections;
                    let out = match http.send(origin, "GET", path, &headers, None).await {
                        Ok(r) if (200..300).contains(&r.status) => Ok(r.body.len()),
                        Ok(r) => Err(format!("{}: {}", r.status, r.snippet(200))),
                        Err(e) => Err(e),
                    };
                    if start < measure_from {
                        continue;
                    }
                    lat.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
                    match out {
                        Ok(len) => {
                            ok += 1;
                            bytes += len as u64;
                        }
                        Err(e) => {
                            errors += 1;
                            if samples.len() < 3 {
                                samples.push(e);
                            }
                        }
                    }
                }
                (lat, ok, errors, bytes, samples)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = CpuTimes::now(node_pids);
    tokio::time::sleep_until(deadline.into()).await;
    let cpu = CpuTimes::now(node_pids)
        .zip(cpu_before)
        .map(|(after, before)| after.since(&before));
    let (mut lat, mut ok, mut errors, mut bytes) = (Vec::new(), 0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    for h in handles {
        let (l, o, e, b, s) = h.await.expect("GET task panicked");
        lat.extend(l);
        ok += o;
        errors += e;
        bytes += b;
        samples.extend(s);
    }
    lat.sort_unstable();
    let throughput = ok as f64 / seconds;
    eprintln!("  {ok} ok ({throughput:.0}/s), {errors} errors");
    GetResult {
        errors,
        throughput,
        cpu,
        lat,
        mean_body: if ok > 0 {
            bytes as f64 / ok as f64
        } else {
            0.0
        },
        samples,
    }
}

/// The baseline: a minimal HTTP server answering every GET with `body`, on its own
/// multi-threaded runtime like a Kassa node's (the generator's one thread is the client's),
/// so that the same client meets both servers on equal terms. Returns its origin and path.
fn start_baseline(body: Bytes) -> ((String, String), tokio::sync::oneshot::Sender<()>) {
    let app = axum::Router::new().route(
        "/fixed",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the baseline server");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking baseline socket");
    let origin = format!(
        "http://{}",
        listener.local_addr().expect("baseline address")
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name(BASELINE_THREADS)
            .build()
            .expect("the baseline server's runtime");
        runtime.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).expect("the baseline listener");
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    ((origin, "/fixed".to_string()), stop)
}

// ---------- the big cart ----------

struct BigCart {
    /// (lines in the cart after the add, add latency µs, GET-checkout median µs)
    points: Vec<(usize, u32, u32)>,
    error: Option<String>,
}

async fn big_cart(target: &Target, lines: usize) -> BigCart {
    let mut http = Http::new();
    let node = target.node(0, 0);
    let auth = target.auth();
    let item = |k: usize| {
        json!({"custom_items": [{"sku": format!("BIG-{k}"), "name": format!("Line {k}"),
                                 "quantity": 1, "list_price": "1.25"}]})
        .to_string()
    };
    let mut out = BigCart {
        points: Vec::new(),
        error: None,
    };
    let cart = match http
        .send(
            node,
            "POST",
            &format!("{STORE}/v3/carts"),
            &auth,
            Some(item(1).as_bytes()),
        )
        .await
    {
        Ok(r) if r.status == 201 => serde_json::from_slice::<Data<IdText>>(r.body)
            .ok()
            .and_then(|v| v.data.id)
            .map(|id| id.0.into_owned()),
        Ok(r) => {
            out.error = Some(format!("create: {} {}", r.status, r.snippet(usize::MAX)));
            None
        }
        Err(e) => {
            out.error = Some(e);
            None
        }
    };
    let Some(cart) = cart else { return out };
    let items = format!("{STORE}/v3/carts/{cart}/items");
    let checkout = format!("{STORE}/v3/checkouts/{cart}");
    let marks: HashSet<usize> = [10, 100, 1000, lines].into_iter().collect();
    // Each size reports the median of the adds that reached it (up to 11), like the GETs:
    // one sample shows any preemption of the server on a busy machine.
    let mut adds: Vec<u32> = Vec::new();
    for k in 2..=lines {
        let body = item(k);
        let start = Instant::now();
        let res = http
            .send(node, "POST", &items, &auth, Some(body.as_bytes()))
            .await;
        adds.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
        match res {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => {
                out.error = Some(format!("add line {k}: {} {}", r.status, r.snippet(300)));
                return out;
            }
            Err(e) => {
                out.error = Some(format!("add line {k}: {e}"));
                return out;
            }
        }
        if marks.contains(&k) {
            let mut gets = Vec::new();
            for _ in 0..21 {
                let start = Instant::now();
                match http.send(node, "GET", &checkout, &auth, None).await {
                    Ok(r) if (200..300).contains(&r.status) => {}
                    other => {
                        out.error = Some(format!(
                            "GET checkout at {k} lines: {:?}",
                            other.map(|r| r.status)
                        ));
                        return out;
                    }
                }
                gets.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            gets.sort_unstable();
            let mut last: Vec<u32> = adds[adds.len().saturating_sub(11)..].to_vec();
            last.sort_unstable();
            out.points
                .push((k, last[last.len() / 2], gets[gets.len() / 2]));
        }
    }
    out
}

// ---------- verification ----------

struct Verification {
    orders_checked: usize,
    violations: Vec<String>,
}

async fn verify(
    target: &Target,
    completed: &[Completed],
    db: Option<&FreshDatabase>,
) -> Verification {
    let mut violations = Vec::new();
    let mut ids = HashSet::new();
    for c in completed {
        if !ids.insert(c.order_id) {
            violations.push(format!(
                "order id {} was given to two checkouts",
                c.order_id
            ));
        }
    }
    // Every order, read back through V2, concurrently.
    #[derive(Deserialize)]
    struct V2Order<'a> {
        status_id: Option<i64>,
        #[serde(borrow)]
        total_inc_tax: Option<Text<'a>>,
    }
    let queue = Arc::new(std::sync::Mutex::new(completed.to_vec()));
    let handles: Vec<_> = (0..32)
        .map(|w| {
            let queue = queue.clone();
            let node = target.node(w, 0).to_string();
            let token = target.token.clone();
            tokio::spawn(async move {
                let mut http = Http::new();
                let headers = [
                    ("x-auth-token", token.as_str()),
                    ("accept", "application/json"),
                ];
                let mut bad = Vec::new();
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(done) = next else { break };
                    let path = format!("{STORE}/v2/orders/{}", done.order_id);
                    match http.send(&node, "GET", &path, &headers, None).await {
                        Ok(r) if (200..300).contains(&r.status) => {
                            let (status, total) = match serde_json::from_slice::<V2Order>(r.body) {
                                Ok(v) => (v.status_id, v.total_inc_tax.map(|t| t.0)),
                                Err(_) => (None, None),
                            };
                            let total = total.unwrap_or_default();
                            let want = format!("{:.4}", done.grand_total);
                            if status != Some(11) || total != want {
                                bad.push(format!(
                                    "order {}: status {status:?} total {total}, checkout showed {}",
                                    done.order_id, done.grand_total
                                ));
                            }
                        }
                        other => bad.push(format!(
                            "order {}: {:?}",
                            done.order_id,
                            other.map(|r| r.status)
                        )),
                    }
                }
                bad
            })
        })
        .collect();
    for h in handles {
        violations.extend(h.await.unwrap_or_default());
    }
    // And from the database: no order paid twice, no paid order the shoppers did not see.
    if let Some(db) = db {
        let checked = async {
            let (doubles, paid): (i64, i64) = match db {
                FreshDatabase::Sqlite { .. } => {
                    let pool = sqlx::SqlitePool::connect(db.url()).await?;
                    db_counts!(pool)
                }
                FreshDatabase::Postgres { .. } => {
                    let pool = sqlx::PgPool::connect(db.url()).await?;
                    db_counts!(pool)
                }
            };
            Ok::<_, sqlx::Error>((doubles, paid))
        }
        .await;
        match checked {
            Ok((doubles, paid)) => {
                if doubles > 0 {
                    violations.push(format!(
                        "{doubles} orders have more than one approved payment"
                    ));
                }
                if paid != completed.len() as i64 {
                    violations.push(format!(
                        "{paid} orders are Awaiting Fulfillment, but shoppers completed {}",
                        completed.len()
                    ));
                }
            }
            Err(e) => violations.push(format!("could not query the database: {e}")),
        }
    }
    Verification {
        orders_checked: completed.len(),
        violations,
    }
}

/// (orders with more than one approved payment, orders Awaiting Fulfillment) on a pool.
macro_rules! db_counts {
    ($pool:expr) => {{
        let doubles: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT order_id FROM order_transactions WHERE status = 'ok'
               GROUP BY store_id, order_id HAVING COUNT(*) > 1) d",
        )
        .fetch_one(&$pool)
        .await?;
        let paid: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status_id = 11")
            .fetch_one(&$pool)
            .await?;
        $pool.close().await;
        (doubles.0, paid.0)
    }};
}
use db_counts;

// ---------- main ----------

// One thread: the shoppers' work is small and sequential per request, and a second worker
// only adds wake-ups across threads (the baseline server has its own runtime).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let opts = parse_options();
    let started = Instant::now();
    let db = match &opts.url {
        Some(_) => None,
        None => Some(FreshDatabase::create(&opts.database).await),
    };

    // Nodes: the first creates the schema and the demo store; it is then restarted so
    // that readiness and idle memory are those of an ordinary start.
    let mut nodes = Vec::new();
    let mut first_start = None;
    let mut ready = Vec::new();
    let mut idle_kib = Vec::new();
    if let Some(db) = &db {
        let seed = spawn_node(db.url(), Some(TOKEN), &[]).await;
        first_start = Some(seed.ready);
        seed.stop().await;
        for _ in 0..opts.nodes {
            let n = spawn_node(db.url(), None, &[]).await;
            ready.push(n.ready);
            nodes.push(n);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        idle_kib = nodes.iter().map(|n| n.memory_kib().0).collect();
    }
    let fsync = match &db {
        Some(FreshDatabase::Sqlite { dir, .. }) => Some(probe_fsync(dir.clone()).await),
        _ => None,
    };
    let urls = match &opts.url {
        Some(u) => vec![u.clone()],
        None => nodes.iter().map(|n| n.url.clone()).collect(),
    };
    let target = Arc::new(Target::new(urls, opts.token.clone()));

    // Prove the flow works once before measuring anything.
    let mut probe = Http::new();
    let mut lat = BTreeMap::new();
    let probe_order = match checkout(&mut probe, &target, 0, &mut lat, None).await {
        Ok((_, done)) => done,
        Err(f) => panic!(
            "the checkout flow fails before any load: {:?}: {}",
            f.step, f.what
        ),
    };

    // (0) PostgreSQL: a second of load, so the tables hold rows, then the statistics
    // autovacuum would gather on a live database; the full load's warm-up that follows
    // lets the nodes plan their statements again (`FreshDatabase::analyze`).
    let mut statistics_load = None;
    if let Some(db) = db.as_ref().filter(|d| d.backend() == "PostgreSQL") {
        let (pre, _) = run_flow(
            "statistics load",
            opts.shoppers,
            &target,
            Pace::Closed,
            0.0,
            1.0,
        )
        .await;
        db.analyze().await;
        statistics_load = Some(pre);
    }

    // (1) full load.
    let flow_reads_before = CartReadFigures::of(&mut probe, &target).await;
    let (full, full_secs) = run_flow(
        "flow (full load)",
        opts.shoppers,
        &target,
        Pace::Closed,
        opts.warmup,
        opts.seconds,
    )
    .await;
    let max_rate = full.measured_checkouts as f64 / full_secs;
    let flow_reads = CartReadFigures::of(&mut probe, &target)
        .await
        .since(&flow_reads_before);
    let peak_kib: Vec<u64> = nodes.iter().map(|n| n.memory_kib().1).collect();

    // (2) half load, open loop, with the SQLite writer's histograms over just this phase.
    let writer_before = writer_histograms(&mut probe, &target).await;
    let half = if opts.half_seconds > 0.0 && max_rate > 0.0 {
        let every = Duration::from_secs_f64(opts.shoppers as f64 / (max_rate / 2.0));
        Some(
            run_flow(
                "flow (half load)",
                opts.shoppers,
                &target,
                Pace::Every(every),
                1.0,
                opts.half_seconds,
            )
            .await,
        )
    } else {
        None
    };
    let half_writer = match (writer_before, writer_histograms(&mut probe, &target).await) {
        (Some(before), Some(after)) if half.is_some() => Some(after.since(&before)),
        _ => None,
    };

    // (3) GET checkout against the baseline.
    let mut ready_checkouts = Vec::new();
    for n in 0..READY_CHECKOUTS {
        let mut lat = BTreeMap::new();
        match checkout(&mut probe, &target, n, &mut lat, Some(Step::Coupon)).await {
            Ok((cart, _)) => ready_checkouts.push(cart),
            Err(f) => panic!("preparing checkouts: {:?}: {}", f.step, f.what),
        }
    }
    let get_urls: Arc<Vec<(String, String)>> = Arc::new(
        ready_checkouts
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    target.node(i, 0).to_string(),
                    format!("{STORE}/v3/checkouts/{id}"),
                )
            })
            .collect(),
    );
    let mut sizes = Vec::new();
    for (origin, path) in get_urls.iter().take(31) {
        if let Ok(r) = probe.send(origin, "GET", path, &target.auth(), None).await {
            sizes.push(Bytes::copy_from_slice(r.body));
        }
    }
    sizes.sort_by_key(|b| b.len());
    let body = sizes.get(sizes.len() / 2).cloned().unwrap_or_default();
    let body_len = body.len();
    let node_pids: Vec<u32> = nodes.iter().map(|n| n.pid).collect();
    let reads_before = CartReadFigures::of(&mut probe, &target).await;
    let get = run_gets(
        "get-checkout",
        get_urls,
        &opts.token,
        opts.shoppers,
        opts.get_seconds,
        &node_pids,
    )
    .await;
    let get_reads = CartReadFigures::of(&mut probe, &target)
        .await
        .since(&reads_before);
    let (baseline_url, stop_baseline) = start_baseline(body);
    let baseline = run_gets(
        "baseline (fixed body)",
        Arc::new(vec![baseline_url]),
        &opts.token,
        opts.shoppers,
        opts.get_seconds,
        &node_pids,
    )
    .await;
    let _ = stop_baseline.send(());

    // (4) the big cart.
    let big = if opts.lines > 0 {
        eprintln!("phase big cart: {} lines", opts.lines);
        Some(big_cart(&target, opts.lines).await)
    } else {
        None
    };

    // (5) verification.
    eprintln!("verifying orders");
    let mut completed: Vec<Completed> = probe_order.into_iter().collect();
    if let Some(pre) = &statistics_load {
        completed.extend(pre.completed.iter().cloned());
    }
    completed.extend(full.completed.iter().cloned());
    if let Some((h, _)) = &half {
        completed.extend(h.completed.iter().cloned());
    }
    let verification = if opts.url.is_none() {
        verify(&target, &completed, db.as_ref()).await
    } else {
        verify(&target, &completed, None).await
    };

    let peak_after: Vec<u64> = nodes.iter().map(|n| n.memory_kib().1).collect();
    for n in nodes {
        n.stop().await;
    }
    let backend = match &db {
        Some(d) => d.backend(),
        None => "external",
    };
    if let Some(db) = db {
        db.remove().await;
    }

    let report = Report {
        backend,
        opts: &opts,
        first_start,
        ready: &ready,
        idle_kib: &idle_kib,
        peak_kib: &peak_kib,
        peak_after: &peak_after,
        full: &full,
        full_secs,
        half: half.as_ref(),
        half_writer: half_writer.as_ref(),
        fsync: fsync.as_deref(),
        get: &get,
        get_reads,
        flow_reads,
        baseline: &baseline,
        body_len,
        big: big.as_ref(),
        verification: &verification,
        statistics_load: statistics_load.as_ref().map(|s| s.completed.len()),
        total: started.elapsed(),
    };
    print!("{}", report.render());
    let failed = full.failures
        + statistics_load.as_ref().map(|s| s.failures).unwrap_or(0)
        + half.as_ref().map(|h| h.0.failures).unwrap_or(0)
        + get.errors
        + baseline.errors;
    if failed > 0
        || !verification.violations.is_empty()
        || big.as_ref().is_some_and(|b| b.error.is_some())
    {
        eprintln!(
            "{failed} requests failed; {} violations",
            verification.violations.len()
        );
        std::process::exit(1);
    }
}

/// How long `fdatasync` takes on the database's disk: the floor under every durable write.
/// Sorted microseconds.
async fn probe_fsync(dir: std::path::PathBuf) -> Vec<u32> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Seek, SeekFrom, Write};
        let path = dir.join("fsync-probe.bin");
        let mut file = std::fs::File::create(&path).expect("create the fsync probe file");
        let block = [0x5au8; 8192];
        let mut took = Vec::with_capacity(FSYNC_SAMPLES);
        for i in 0..FSYNC_SAMPLES {
            file.seek(SeekFrom::Start((i % 64) as u64 * 8192))
                .expect("seek the probe file");
            file.write_all(&block).expect("write the probe file");
            let t = Instant::now();
            file.sync_data().expect("fdatasync the probe file");
            took.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
        drop(file);
        let _ = std::fs::remove_file(&path);
        took.sort_unstable();
        took
    })
    .await
    .expect("the fsync probe")
}

const FSYNC_SAMPLES: usize = 1000;

/// One `/metrics` histogram: cumulative counts per upper bound (seconds), then the count.
#[derive(Clone, Debug, Default)]
struct Histogram {
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum_seconds: f64,
}

impl Histogram {
    fn parse(text: &str, name: &str) -> Option<Histogram> {
        let mut h = Histogram::default();
        let bucket = format!("{name}_bucket{{le=\"");
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&bucket) {
                let (le, value) = rest.split_once("\"} ")?;
                if le != "+Inf" {
                    h.buckets
                        .push((le.parse().ok()?, value.trim().parse().ok()?));
                }
            } else if let Some(v) = line.strip_prefix(&format!("{name}_count ")) {
                h.count = v.trim().parse().ok()?;
            } else if let Some(v) = line.strip_prefix(&format!("{name}_sum ")) {
                h.sum_seconds = v.trim().parse().ok()?;
            }
        }
        (!h.buckets.is_empty()).then_some(h)
    }

    fn since(&self, before: &Histogram) -> Histogram {
        Histogram {
            buckets: self
                .buckets
                .iter()
                .zip(&before.buckets)
                .map(|((le, a), (_, b))| (*le, a.saturating_sub(*b)))
                .collect(),
            count: self.count.saturating_sub(before.count),
            sum_seconds: self.sum_seconds - before.sum_seconds,
        }
    }

    /// The upper bound of the bucket holding quantile `q`, in µs (past the last bound: u32::MAX).
    fn quantile_us(&self, q: f64) -> u32 {
        let want = (q * self.count as f64).ceil() as u64;
        self.buckets
            .iter()
            .find(|(_, c)| *c >= want.max(1))
            .map(|(le, _)| (le * 1e6).round() as u32)
            .unwrap_or(u32::MAX)
    }

    fn mean_us(&self) -> u32 {
        (self.sum_seconds * 1e6 / self.count.max(1) as f64).round() as u32
    }
}

/// The SQLite writer's histograms (absent on PostgreSQL).
struct WriterHistograms {
    lease_wait: Histogram,
    commit_wait: Histogram,
    job_hold: Histogram,
    direct_hold: Histogram,
    commit: Histogram,
    wal_sync: Histogram,
    jobs: u64,
    /// Wall time between the two scrapes (set by `since`).
    seconds: f64,
    at: Instant,
}

impl WriterHistograms {
    fn since(&self, before: &WriterHistograms) -> WriterHistograms {
        WriterHistograms {
            lease_wait: self.lease_wait.since(&before.lease_wait),
            commit_wait: self.commit_wait.since(&before.commit_wait),
            job_hold: self.job_hold.since(&before.job_hold),
            direct_hold: self.direct_hold.since(&before.direct_hold),
            commit: self.commit.since(&before.commit),
            wal_sync: self.wal_sync.since(&before.wal_sync),
            jobs: self.jobs.saturating_sub(before.jobs),
            seconds: self.at.duration_since(before.at).as_secs_f64(),
            at: self.at,
        }
    }
}

/// PostgreSQL's whole-cart reads, summed over the nodes' `/metrics`.
#[derive(Clone, Copy, Debug, Default)]
struct CartReadFigures {
    reads: u64,
    statements: u64,
    from_copy: u64,
    from_database: u64,
}

impl CartReadFigures {
    async fn of(http: &mut Http, target: &Target) -> CartReadFigures {
        let mut sum = CartReadFigures::default();
        for node in &target.nodes {
            let Ok(res) = http.send(node, "GET", "/metrics", &[], None).await else {
                continue;
            };
            let text = std::str::from_utf8(res.body).unwrap_or_default();
            let value = |name: &str| -> u64 {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                    .unwrap_or(0)
            };
            sum.reads += value("kassa_cart_reads_total ");
            sum.statements += value("kassa_cart_read_statements_total ");
            sum.from_copy += value("kassa_cart_documents_total{from=\"copy\"} ");
            sum.from_database += value("kassa_cart_documents_total{from=\"database\"} ");
        }
        sum
    }

    fn since(&self, earlier: &CartReadFigures) -> CartReadFigures {
        CartReadFigures {
            reads: self.reads.saturating_sub(earlier.reads),
            statements: self.statements.saturating_sub(earlier.statements),
            from_copy: self.from_copy.saturating_sub(earlier.from_copy),
            from_database: self.from_database.saturating_sub(earlier.from_database),
        }
    }
}

async fn writer_histograms(http: &mut Http, target: &Target) -> Option<WriterHistograms> {
    let res = http
        .send(target.node(0, 0), "GET", "/metrics", &[], None)
        .await
        .ok()?;
    let text = std::str::from_utf8(res.body).ok()?;
    Some(WriterHistograms {
        lease_wait: Histogram::parse(text, "kassa_sqlite_write_lease_wait_seconds")?,
        commit_wait: Histogram::parse(text, "kassa_sqlite_write_commit_wait_seconds")?,
        job_hold: Histogram::parse(text, "kassa_sqlite_write_job_hold_seconds")?,
        direct_hold: Histogram::parse(text, "kassa_sqlite_write_direct_job_seconds")?,
        commit: Histogram::parse(text, "kassa_sqlite_commit_duration_seconds")?,
        wal_sync: Histogram::parse(text, "kassa_sqlite_wal_sync_duration_seconds")?,
        jobs: text.lines().find_map(|l| {
            l.strip_prefix("kassa_sqlite_commit_batch_jobs_sum ")?
                .trim()
                .parse()
                .ok()
        })?,
        seconds: 0.0,
        at: Instant::now(),
    })
}

struct Report<'a> {
    backend: &'a str,
    opts: &'a Options,
    first_start: Option<Duration>,
    ready: &'a [Duration],
    idle_kib: &'a [u64],
    peak_kib: &'a [u64],
    peak_after: &'a [u64],
    full: &'a FlowResult,
    full_secs: f64,
    half: Option<&'a (FlowResult, f64)>,
    half_writer: Option<&'a WriterHistograms>,
    fsync: Option<&'a [u32]>,
    get: &'a GetResult,
    get_reads: CartReadFigures,
    flow_reads: CartReadFigures,
    baseline: &'a GetResult,
    body_len: usize,
    big: Option<&'a BigCart>,
    verification: &'a Verification,
    /// PostgreSQL: checkouts of the second of load before ANALYZE (phase 0).
    statistics_load: Option<usize>,
    total: Duration,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

impl Report<'_> {
    fn render(&self) -> String {
        let o = self.opts;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n### checkout_load — {}, {} node(s), {} shoppers, {} s full load (+{} s warm-up), run took {:.0} s\n",
            self.backend,
            self.ready.len().max(1),
            o.shoppers,
            o.seconds,
            o.warmup,
            self.total.as_secs_f64()
        );
        if let Some(n) = self.statistics_load {
            let _ = writeln!(
                out,
                "Before it: 1 s of load ({n} checkouts), then ANALYZE of the fresh schema, as \
                 autovacuum would on a live database.\n"
            );
        }
        let rate = self.full.measured_checkouts as f64 / self.full_secs;
        let _ = writeln!(
            out,
            "**{:.0} complete checkouts/s**, {:.0} requests/s ({} checkouts, {} failed checks).\n",
            rate,
            self.full.requests() as f64 / self.full_secs,
            self.full.measured_checkouts,
            self.full.failures
        );
        let _ = writeln!(
            out,
            "| step | full load p50 | p99 | p99.9 | half load p50 | p99 | p99.9 |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for s in STEPS {
            let f = self
                .full
                .latencies
                .get(&s)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let h = self
                .half
                .and_then(|h| h.0.latencies.get(&s))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.label(),
                ms(percentile(f, 0.5)),
                ms(percentile(f, 0.99)),
                ms(percentile(f, 0.999)),
                ms(percentile(h, 0.5)),
                ms(percentile(h, 0.99)),
                ms(percentile(h, 0.999)),
            );
        }
        let r = self.flow_reads;
        if r.from_copy + r.from_database > 0 {
            let _ = writeln!(
                out,
                "\nCarts read on PostgreSQL during the full load, to show or to change (the nodes' \
                 `/metrics`): {} from the node's copy at the cart's version, {} documents sent by \
                 the database ({:.0} % from copies).",
                r.from_copy,
                r.from_database,
                100.0 * r.from_copy as f64 / (r.from_copy + r.from_database) as f64
            );
        }
        if let Some((h, secs)) = self.half {
            let _ = writeln!(
                out,
                "\nHalf load: paced at {:.0} checkouts/s, achieved {:.0}/s, {} failed checks.",
                rate / 2.0,
                h.measured_checkouts as f64 / secs,
                h.failures
            );
        }
        if let Some(w) = self.half_writer {
            let _ = writeln!(
                out,
                "\nSQLite writer during the half load (from `/metrics`; a quantile is the upper bound of its bucket):\n\n\
                 | writer figure | count | p50 ≤ | p90 ≤ | p99 ≤ | mean |\n|---|---:|---:|---:|---:|---:|"
            );
            for (name, h) in [
                ("wait for the write connection", &w.lease_wait),
                ("the writer's time on the transaction", &w.job_hold),
                ("… of which direct writes", &w.direct_hold),
                ("wait for the batch's COMMIT", &w.commit_wait),
                ("COMMIT (with its fsync if not beside)", &w.commit),
                ("fsync of the WAL beside the writer", &w.wal_sync),
            ] {
                if h.count == 0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {} |",
                    h.count,
                    ms(h.quantile_us(0.5)),
                    ms(h.quantile_us(0.9)),
                    ms(h.quantile_us(0.99)),
                    ms(h.mean_us()),
                );
            }
            let _ = writeln!(
                out,
                "\n{:.1} write transactions per batch; the writer was busy with transactions {:.0} % and with COMMITs {:.0} % of the phase's {:.1} s.",
                w.jobs as f64 / w.commit.count.max(1) as f64,
                100.0 * w.job_hold.sum_seconds / w.seconds,
                100.0 * w.commit.sum_seconds / w.seconds,
                w.seconds,
            );
        }
        if let Some(f) = self.fsync {
            let _ = writeln!(
                out,
                "\nThe database's disk, before the load: `fdatasync` of an 8 KiB write in the database's directory, {} samples: p50 {}, p90 {}, p99 {}, p99.9 {}, max {}.",
                f.len(),
                ms(percentile(f, 0.5)),
                ms(percentile(f, 0.9)),
                ms(percentile(f, 0.99)),
                ms(percentile(f, 0.999)),
                ms(f.last().copied().unwrap_or(0)),
            );
        }
        let g = self.get;
        let b = self.baseline;
        let _ = writeln!(
            out,
            "\n| GET, {} connections | req/s | p50 | p99 | p99.9 | errors | mean body |",
            o.shoppers
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for (name, r) in [("`GET /checkouts/{id}`", g), ("baseline: fixed body", b)] {
            let _ = writeln!(
                out,
                "| {name} | {:.0} | {} | {} | {} | {} | {:.0} B |",
                r.throughput,
                ms(percentile(&r.lat, 0.5)),
                ms(percentile(&r.lat, 0.99)),
                ms(percentile(&r.lat, 0.999)),
                r.errors,
                r.mean_body
            );
        }
        if b.throughput > 0.0 {
            let _ = writeln!(
                out,
                "\n**GET checkout / baseline throughput: {:.2}** (baseline body {} bytes, the median checkout).",
                g.throughput / b.throughput,
                self.body_len
            );
        }
        if let (Some(gc), Some(bc), None) = (g.cpu, b.cpu, &o.url) {
            let per =
                |ns: u64, r: &GetResult| ns as f64 / 1e3 / (r.throughput * o.get_seconds).max(1.0);
            let idle = |c: CpuTimes| 100.0 * c.idle_ticks as f64 / c.total_ticks.max(1) as f64;
            let _ = writeln!(
                out,
                "\nCPU per request while measured (`/proc`): GET checkout: Kassa {:.1} µs, \
                 PostgreSQL {:.1} µs, generator {:.1} µs, machine idle {:.0} %; baseline: \
                 fixed-body server {:.1} µs, generator {:.1} µs, machine idle {:.0} %.",
                per(gc.nodes, g),
                per(gc.postgres, g),
                per(gc.generator, g),
                idle(gc),
                per(bc.baseline, b),
                per(bc.generator, b),
                idle(bc)
            );
        }
        let r = self.get_reads;
        if r.reads > 0 {
            let _ = writeln!(
                out,
                "\nCart reads during the GET phase (the nodes' `/metrics`): {} reads in {} statements \
                 ({:.1} per statement); carts from the node's copy {}, documents sent by the database {}.",
                r.reads,
                r.statements,
                r.reads as f64 / r.statements.max(1) as f64,
                r.from_copy,
                r.from_database
            );
        }
        for s in g.samples.iter().chain(&b.samples) {
            let _ = writeln!(out, "\nGET error sample: {s}");
        }
        if let Some(big) = self.big {
            let _ = writeln!(
                out,
                "\n| big cart: lines | add a line (median of the last 11) | GET checkout (median of 21) | GET per line |"
            );
            let _ = writeln!(out, "|---:|---:|---:|---:|");
            for (lines, add, get) in &big.points {
                let _ = writeln!(
                    out,
                    "| {lines} | {} | {} | {:.2} µs |",
                    ms(*add),
                    ms(*get),
                    f64::from(*get) / *lines as f64
                );
            }
            if let Some(e) = &big.error {
                let _ = writeln!(out, "\nBig cart failed: {e}");
            }
        }
        if !self.ready.is_empty() {
            let _ = writeln!(
                out,
                "\n| node | ready after start | resident idle | peak under full load | peak overall |"
            );
            let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
            for i in 0..self.ready.len() {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} ms | {} | {} | {} |",
                    i + 1,
                    self.ready[i].as_secs_f64() * 1000.0,
                    mib(self.idle_kib.get(i).copied().unwrap_or(0)),
                    mib(self.peak_kib.get(i).copied().unwrap_or(0)),
                    mib(self.peak_after.get(i).copied().unwrap_or(0)),
                );
            }
            if let Some(f) = self.first_start {
                let _ = writeln!(
                    out,
                    "\nFirst start on an empty database (migrations and the demo store): {:.0} ms.",
                    f.as_secs_f64() * 1000.0
                );
            }
        }
        let v = self.verification;
        let _ = writeln!(
            out,
            "\nVerification: {} orders read back through V2; **{} violations**.",
            v.orders_checked,
            v.violations.len()
        );
        for x in v.violations.iter().take(20) {
            let _ = writeln!(out, "- {x}");
        }
        for s in &self.full.samples {
            let _ = writeln!(out, "\nfailure sample: {s}");
        }
        out
    }
}
