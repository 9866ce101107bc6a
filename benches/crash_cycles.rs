//! Crash safety: runs the checkout flow against a real `kassa serve`, kills it with
//! SIGKILL at random moments, restarts it, and checks from its own log of acknowledged
//! (2xx) responses that nothing acknowledged was lost or half-written. A last cycle
//! stops Kassa with SIGTERM under load instead. At the end every acknowledged order
//! must have reached a webhook receiver on localhost at least once.
//!
//! ```sh
//! cargo bench --bench crash_cycles                               # SQLite, 20 cycles
//! cargo bench --bench crash_cycles -- --database postgres://postgres@127.0.0.1:5432/test
//! cargo bench --bench crash_cycles -- --cycles 3 --shoppers 8    # the quick version
//! ```
//!
//! Each shopper repeats: cart (3 items) → billing address → consignment → shipping option
//! → coupon → order → payment access token → card payment → partial refund (1.00),
//! logging each acknowledged step. After each restart it verifies, through the API:
//! - every acknowledged cart still exists with its 3 items, or is gone only because an
//!   acknowledged order of it was paid;
//! - every acknowledged order exists with the grand total its checkout showed and its 3
//!   items; paid (status 11) if its payment was acknowledged, else unpaid or paid;
//! - every order has at most one approved payment, exactly one if acknowledged;
//! - a refund acknowledged is recorded once; none is recorded twice; the V2 order's
//!   `refunded_amount` equals the refunds recorded.
//!
//! Requests cut off by the kill have no acknowledgement and may or may not have taken
//! effect; the checks allow both. Exit status 1 on any violation.

#[path = "../tests/support/receiver.rs"]
mod receiver;
mod support;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{FreshDatabase, Node, address, cart_body, client, payment_body, send, spawn_node};

const TOKEN: &str = "crash-token-all-scopes-0001";
const STORE: &str = "/stores/demo";

struct Options {
    database: String,
    cycles: usize,
    shoppers: usize,
    min_ms: u64,
    max_ms: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut o = Options {
        database: std::env::var("KASSA_BENCH_DATABASE_URL").unwrap_or_else(|_| "sqlite".into()),
        cycles: 20,
        shoppers: 16,
        min_ms: 300,
        max_ms: 2_000,
        seed: u64::from(std::process::id()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--database" => o.database = value(),
            "--cycles" => o.cycles = value().parse().expect("--cycles N"),
            "--shoppers" => o.shoppers = value().parse().expect("--shoppers N"),
            "--min-ms" => o.min_ms = value().parse().expect("--min-ms N"),
            "--max-ms" => o.max_ms = value().parse().expect("--max-ms N"),
            "--seed" => o.seed = value().parse().expect("--seed N"),
            "--bench" => {}
            other => panic!(
                "unknown option {other}; options: --database sqlite|postgres://… --cycles N \
                 --shoppers N --min-ms N --max-ms N --seed N"
            ),
        }
    }
    o
}

/// What Kassa acknowledged, per checkout.
#[derive(Clone, Debug, Default)]
struct Acked {
    cart: String,
    order: Option<(i64, Decimal)>,
    paid: bool,
    refunded: bool,
}

#[derive(Default)]
struct Log {
    checkouts: Vec<Acked>,
    /// Answers that were neither the expected 2xx nor a transport error.
    unexpected: Vec<String>,
    cut_off: u64,
}

/// A small deterministic generator for kill delays (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        other => other.to_string().parse().ok(),
    }
}

/// One checkout, appending to `acked` as each step is acknowledged. `Err` carries an
/// unexpected answer; `Ok(false)`: a request got no answer (the node went away).
async fn checkout(c: &reqwest::Client, base: &str, acked: &Mutex<Acked>) -> Result<bool, String> {
    use reqwest::Method;
    let auth = ("x-auth-token", TOKEN);
    macro_rules! call {
        ($method:expr, $path:expr, $body:expr, $want:expr, $auth:expr) => {{
            match send(c, $method, format!("{base}{}", $path), $auth, $body).await {
                Err(_) => return Ok(false),
                Ok((status, bytes)) => {
                    if status.as_u16() != $want {
                        return Err(format!(
                            "{} {}: {status} {}",
                            $method,
                            $path,
                            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                        ));
                    }
                    serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("not JSON: {e}"))?
                }
            }
        }};
    }
    let v = call!(
        Method::POST,
        format!("{STORE}/v3/carts"),
        Some(&cart_body()),
        201,
        auth
    );
    let cart = v["data"]["id"].as_str().ok_or("no cart id")?.to_string();
    if let Ok(mut a) = acked.lock() {
        a.cart = cart.clone();
    }
    let items: Vec<Value> = v["data"]["line_items"]["physical_items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| json!({"item_id": i["id"], "quantity": i["quantity"]}))
                .collect()
        })
        .unwrap_or_default();
    let checkout = format!("{STORE}/v3/checkouts/{cart}");
    call!(
        Method::POST,
        format!("{checkout}/billing-address"),
        Some(&address()),
        200,
        auth
    );
    let v = call!(
        Method::POST,
        format!("{checkout}/consignments?include=consignments.available_shipping_options"),
        Some(&json!([{"address": address(), "line_items": items}])),
        200,
        auth
    );
    let consignment = &v["data"]["consignments"][0];
    let consignment_id = consignment["id"]
        .as_str()
        .ok_or("no consignment")?
        .to_string();
    let option = consignment["available_shipping_options"][0]["id"]
        .as_str()
        .ok_or("no shipping option")?
        .to_string();
    call!(
        Method::PUT,
        format!("{checkout}/consignments/{consignment_id}"),
        Some(&json!({"shipping_option_id": option})),
        200,
        auth
    );
    let v = call!(
        Method::POST,
        format!("{checkout}/coupons"),
        Some(&json!({"coupon_code": "TENPERCENT"})),
        200,
        auth
    );
    let total = decimal(&v["data"]["grand_total"]).ok_or("no grand_total")?;
    let v = call!(Method::POST, format!("{checkout}/orders"), None, 200, auth);
    let order = v["data"]["id"].as_i64().ok_or("no order id")?;
    if let Ok(mut a) = acked.lock() {
        a.order = Some((order, total));
    }
    let v = call!(
        Method::POST,
        format!("{STORE}/v3/payments/access_tokens"),
        Some(&json!({"order": {"id": order}})),
        201,
        auth
    );
    let pat = format!("PAT {}", v["data"]["id"].as_str().ok_or("no token")?);
    call!(
        Method::POST,
        format!("{STORE}/payments"),
        Some(&payment_body()),
        201,
        ("authorization", pat.as_str())
    );
    if let Ok(mut a) = acked.lock() {
        a.paid = true;
    }
    let refund = json!({
        "items": [{"item_type": "ORDER", "item_id": order, "amount": 1.00}],
        "payments": [{"provider_id": "testgateway", "amount": 1.00, "offline": false}]
    });
    call!(
        Method::POST,
        format!("{STORE}/v3/orders/{order}/payment_actions/refunds"),
        Some(&refund),
        201,
        auth
    );
    if let Ok(mut a) = acked.lock() {
        a.refunded = true;
    }
    Ok(true)
}

/// Shoppers loop until `stop`; every checkout's acknowledgements land in the log.
async fn run_load(base: String, shoppers: usize, stop: Arc<AtomicBool>, log: Arc<Mutex<Log>>) {
    let tasks: Vec<_> = (0..shoppers)
        .map(|_| {
            let (base, stop, log) = (base.clone(), stop.clone(), log.clone());
            tokio::spawn(async move {
                let c = client();
                while !stop.load(Ordering::SeqCst) {
                    let acked = Mutex::new(Acked::default());
                    let out = checkout(&c, &base, &acked).await;
                    let a = acked.lock().map(|a| a.clone()).unwrap_or_default();
                    let cut_off = matches!(out, Ok(false));
                    {
                        let Ok(mut l) = log.lock() else { return };
                        if !a.cart.is_empty() {
                            l.checkouts.push(a);
                        }
                        l.cut_off += u64::from(cut_off);
                        if let Err(e) = out
                            && !stop.load(Ordering::SeqCst)
                        {
                            l.unexpected.push(e);
                        }
                    }
                    if cut_off {
                        // The node is gone: wait for the next one rather than spin.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

/// Checks one acknowledged checkout against what the restarted node serves.
async fn verify(c: &reqwest::Client, base: &str, a: &Acked) -> Vec<String> {
    use reqwest::Method;
    let auth = ("x-auth-token", TOKEN);
    let get = |path: String| send(c, Method::GET, format!("{base}{path}"), auth, None);
    let json = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);
    let mut bad = Vec::new();
    let mut paid_now = false;
    if let Some((order, total)) = a.order {
        // What the V2 order says was refunded, checked against the refunds recorded.
        let mut refunded_v2 = None;
        match get(format!("{STORE}/v2/orders/{order}")).await {
            Ok((s, b)) if s.as_u16() == 200 => {
                let o = json(&b);
                if decimal(&o["total_inc_tax"]) != Some(total) {
                    bad.push(format!(
                        "order {order}: total {} ≠ acknowledged {total}",
                        o["total_inc_tax"]
                    ));
                }
                if o["items_total"] != 3 {
                    bad.push(format!("order {order}: {} items, not 3", o["items_total"]));
                }
                let status = o["status_id"].as_i64().unwrap_or(-1);
                // Awaiting Fulfillment, or Partially Refunded after the refund.
                paid_now = status == 11 || status == 14;
                if a.paid && !paid_now {
                    bad.push(format!(
                        "order {order}: payment acknowledged, status {status}"
                    ));
                }
                if !paid_now && status != 0 {
                    bad.push(format!("order {order}: unexpected status {status}"));
                }
                refunded_v2 = decimal(&o["refunded_amount"]);
            }
            other => bad.push(format!(
                "order {order} acknowledged but not served: {:?}",
                other.map(|x| x.0)
            )),
        }
        match get(format!("{STORE}/v3/orders/{order}/transactions")).await {
            Ok((s, b)) if s.as_u16() == 200 => {
                let all = json(&b)["data"].as_array().cloned().unwrap_or_default();
                let count = |event: &str| {
                    all.iter()
                        .filter(|t| t["event"] == event && t["status"] == "ok")
                        .count()
                };
                let approved = count("purchase");
                if approved > 1 || (a.paid && approved != 1) {
                    bad.push(format!("order {order}: {approved} approved payments"));
                }
                // One refund of 1.00 is asked per order: acknowledged means exactly one.
                let refunds = count("refund");
                if refunds > 1 || (a.refunded && refunds != 1) {
                    bad.push(format!("order {order}: {refunds} refunds recorded"));
                }
                let expected = Decimal::from(refunds as i64);
                if refunded_v2.is_some_and(|r| r != expected) {
                    bad.push(format!(
                        "order {order}: V2 refunded_amount {refunded_v2:?} ≠ {expected} recorded"
                    ));
                }
            }
            other => bad.push(format!(
                "order {order}: transactions not served: {:?}",
                other.map(|x| x.0)
            )),
        }
    }
    match get(format!("{STORE}/v3/carts/{}", a.cart)).await {
        Ok((s, b)) if s.as_u16() == 200 => {
            let n = json(&b)["data"]["line_items"]["physical_items"]
                .as_array()
                .map_or(0, Vec::len);
            if n != 3 {
                bad.push(format!("cart {}: {n} items, not 3 (half-written)", a.cart));
            }
            if a.paid {
                bad.push(format!(
                    "cart {}: still there after its order was paid",
                    a.cart
                ));
            }
        }
        Ok((s, _)) if s.as_u16() == 404 && paid_now => {}
        other => bad.push(format!(
            "cart {} acknowledged, gone without a paid order: {:?}",
            a.cart,
            other.map(|x| x.0)
        )),
    }
    bad
}

async fn kill(node: Node, signal: &str) -> Option<std::process::ExitStatus> {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(node.pid.to_string())
        .status();
    let mut child = node.child;
    tokio::time::timeout(Duration::from_secs(40), child.wait())
        .await
        .ok()
        .and_then(Result::ok)
}

#[tokio::main]
async fn main() {
    let o = parse_options();
    let db = FreshDatabase::create(&o.database).await;
    let receiver = receiver::Receiver::start().await;
    let env = [
        ("KASSA_WEBHOOK_POLL_MS", "50"),
        ("KASSA_WEBHOOK_RETRY_BASE_MS", "200"),
        ("KASSA_WEBHOOK_MAX_ATTEMPTS", "1000"),
        // The receiver listens on 127.0.0.1.
        ("KASSA_WEBHOOK_PRIVATE_DESTINATIONS", "allow"),
    ];
    let c = client();
    let node = spawn_node(db.url(), Some(TOKEN), &env).await;
    let hook = send(
        &c,
        reqwest::Method::POST,
        format!("{}{STORE}/v3/hooks", node.url),
        ("x-auth-token", TOKEN),
        Some(&json!({"scope": "store/order/created", "destination": receiver.url, "is_active": true})),
    )
    .await;
    assert!(
        matches!(&hook, Ok((s, _)) if s.is_success()),
        "register the webhook: {hook:?}"
    );
    println!(
        "crash_cycles: {} backend, {} cycles, {} shoppers, kill after {}–{} ms",
        db.backend(),
        o.cycles,
        o.shoppers,
        o.min_ms,
        o.max_ms
    );

    let log = Arc::new(Mutex::new(Log::default()));
    let mut rng = Rng(o.seed | 1);
    let mut node = Some(node);
    let mut violations: Vec<String> = Vec::new();
    let mut verified = 0usize;
    let checked = AtomicU64::new(0);
    let started = Instant::now();
    for cycle in 1..=o.cycles + 1 {
        let n = match node.take() {
            Some(n) => n,
            None => spawn_node(db.url(), None, &env).await,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(run_load(
            n.url.clone(),
            o.shoppers,
            stop.clone(),
            log.clone(),
        ));
        let wait = o.min_ms + rng.next() % (o.max_ms.saturating_sub(o.min_ms) + 1);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        // The last cycle is a graceful stop under the same load.
        let graceful = cycle == o.cycles + 1;
        let exit = kill(n, if graceful { "TERM" } else { "KILL" }).await;
        stop.store(true, Ordering::SeqCst);
        let _ = load.await;
        if graceful && !exit.is_some_and(|s| s.success()) {
            violations.push(format!(
                "SIGTERM under load: exit {exit:?}, not a clean exit"
            ));
        }

        // Restart and check what this cycle acknowledged.
        let fresh = spawn_node(db.url(), None, &env).await;
        let batch: Vec<Acked> = log
            .lock()
            .map(|l| l.checkouts[verified..].to_vec())
            .unwrap_or_default();
        for a in &batch {
            violations.extend(verify(&c, &fresh.url, a).await);
            checked.fetch_add(1, Ordering::Relaxed);
        }
        verified += batch.len();
        println!(
            "cycle {cycle:>2}: {} after {wait} ms; {} checkouts acknowledged in part or whole, ready again in {} ms; violations so far {}",
            if graceful { "SIGTERM" } else { "SIGKILL" },
            batch.len(),
            fresh.ready.as_millis(),
            violations.len()
        );
        node = Some(fresh);
    }

    // Every acknowledged order reaches the receiver at least once.
    let orders: HashSet<i64> = log
        .lock()
        .map(|l| {
            l.checkouts
                .iter()
                .filter_map(|a| a.order.map(|o| o.0))
                .collect()
        })
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut missing: Vec<i64>;
    let mut deliveries;
    loop {
        let got = receiver.all();
        deliveries = got.len();
        let seen: HashSet<i64> = got
            .iter()
            .filter_map(|r| r.body["data"]["id"].as_i64())
            .collect();
        missing = orders
            .iter()
            .filter(|o| !seen.contains(o))
            .copied()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    missing.sort_unstable();
    if !missing.is_empty() {
        violations.push(format!(
            "{} acknowledged orders never reached the webhook receiver (first: {:?})",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
    if let Some(n) = node.take() {
        n.stop().await;
    }

    let l = log
        .lock()
        .map(|l| (l.checkouts.clone(), l.unexpected.clone(), l.cut_off));
    let (checkouts, unexpected, cut_off) = l.unwrap_or_default();
    let mut steps: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &checkouts {
        *steps.entry("carts").or_default() += 1;
        *steps.entry("orders").or_default() += usize::from(a.order.is_some());
        *steps.entry("payments").or_default() += usize::from(a.paid);
        *steps.entry("refunds").or_default() += usize::from(a.refunded);
    }
    println!(
        "\n{} cycles ({} SIGKILL + 1 SIGTERM) in {:.0} s on {}: acknowledged {steps:?}; {} requests cut off by a kill; {} webhook deliveries for {} orders; {} checks",
        o.cycles + 1,
        o.cycles,
        started.elapsed().as_secs_f64(),
        db.backend(),
        cut_off,
        deliveries,
        orders.len(),
        checked.load(Ordering::Relaxed)
    );
    if !unexpected.is_empty() {
        println!(
            "{} unexpected answers while the node was up, e.g.:",
            unexpected.len()
        );
        for u in unexpected.iter().take(5) {
            println!("  {u}");
        }
    }
    db.remove().await;
    if violations.is_empty() {
        println!("violations: 0");
    } else {
        println!("violations: {}", violations.len());
        for v in violations.iter().take(20) {
            println!("  {v}");
        }
        std::process::exit(1);
    }
}
